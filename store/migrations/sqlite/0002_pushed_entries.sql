-- Log entries received on the correlator's push endpoints (Loki push,
-- OTLP), written before the push is acknowledged and marked processed once
-- the analysis has taken them in. key is a hash of tenant, stream labels,
-- timestamp and line: a re-sent batch inserts nothing new.
CREATE TABLE pushed_entries (
	seq         INTEGER PRIMARY KEY AUTOINCREMENT,
	key         TEXT NOT NULL UNIQUE,
	tenant      TEXT NOT NULL DEFAULT '',
	labels      TEXT NOT NULL DEFAULT '{}',
	at          INTEGER NOT NULL,
	line        TEXT NOT NULL,
	received_at INTEGER NOT NULL,
	processed   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX pushed_entries_pending ON pushed_entries (processed, seq);
CREATE INDEX pushed_entries_received ON pushed_entries (received_at);
