-- Log entries received on the correlator's push endpoints (Loki push,
-- OTLP), written before the push is acknowledged and marked processed once
-- the analysis has taken them in. key is a hash of tenant, stream labels,
-- timestamp and line: a re-sent batch inserts nothing new.
CREATE TABLE pushed_entries (
	seq         BIGSERIAL PRIMARY KEY,
	key         TEXT NOT NULL UNIQUE,
	tenant      TEXT NOT NULL DEFAULT '',
	labels      TEXT NOT NULL DEFAULT '{}',
	at          BIGINT NOT NULL,
	line        TEXT NOT NULL,
	received_at BIGINT NOT NULL,
	processed   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX pushed_entries_pending ON pushed_entries (processed, seq);
CREATE INDEX pushed_entries_received ON pushed_entries (received_at);
