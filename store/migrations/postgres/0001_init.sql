-- Times are Unix nanoseconds (INTEGER) in both dialects: exact, and free of
-- driver-specific time parsing.
CREATE TABLE store_meta (
	key   TEXT PRIMARY KEY,
	value BIGINT NOT NULL
);
INSERT INTO store_meta (key, value) VALUES ('revision', 0);

CREATE TABLE incidents (
	id          TEXT PRIMARY KEY,
	repo        TEXT NOT NULL DEFAULT '',
	service     TEXT NOT NULL DEFAULT '',
	env         TEXT NOT NULL DEFAULT '',
	count       BIGINT NOT NULL DEFAULT 0,
	first_seen  BIGINT NOT NULL,
	last_seen   BIGINT NOT NULL,
	resolved_at BIGINT,
	revision    BIGINT NOT NULL DEFAULT 0,
	data        TEXT NOT NULL
);
CREATE INDEX incidents_service ON incidents (service, last_seen);
CREATE INDEX incidents_repo ON incidents (repo, last_seen);
CREATE INDEX incidents_last_seen ON incidents (last_seen);

CREATE TABLE occurrences (
	key         TEXT PRIMARY KEY,
	incident_id TEXT NOT NULL,
	at          BIGINT NOT NULL,
	version     TEXT NOT NULL DEFAULT '',
	message     TEXT NOT NULL DEFAULT '',
	labels      TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX occurrences_incident ON occurrences (incident_id, at);

CREATE TABLE history (
	id          BIGSERIAL PRIMARY KEY,
	incident_id TEXT NOT NULL,
	kind        TEXT NOT NULL,
	at          BIGINT NOT NULL,
	version     TEXT NOT NULL DEFAULT '',
	note        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX history_incident ON history (incident_id, at);

CREATE TABLE fixes (
	incident_id TEXT PRIMARY KEY,
	state       TEXT NOT NULL,
	title       TEXT NOT NULL DEFAULT '',
	pr_url      TEXT NOT NULL DEFAULT '',
	updated_at  BIGINT NOT NULL
);

CREATE TABLE cursors (
	name TEXT PRIMARY KEY,
	at   BIGINT NOT NULL
);
