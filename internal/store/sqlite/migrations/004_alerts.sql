-- Alert rules and the alerts they raise. Written by the API (rules,
-- status changes) and by the alert evaluator, a durable consumer of the
-- event stream; alert_matches references no events row, which may be
-- stored before or after it.

CREATE TABLE alert_rules (
	id         TEXT    PRIMARY KEY,
	name       TEXT    NOT NULL UNIQUE,
	enabled    INTEGER NOT NULL,
	spec       TEXT    NOT NULL,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
);

CREATE TABLE alert_matches (
	rule_id  TEXT    NOT NULL,
	event_id TEXT    NOT NULL,
	source   TEXT    NOT NULL,
	ts       INTEGER NOT NULL,
	PRIMARY KEY (rule_id, event_id)
) WITHOUT ROWID;
CREATE INDEX alert_matches_source ON alert_matches (rule_id, source, ts, event_id);
CREATE INDEX alert_matches_ts ON alert_matches (ts);

CREATE TABLE alerts (
	id         TEXT    PRIMARY KEY,
	key        TEXT    NOT NULL UNIQUE,
	rule_id    TEXT    NOT NULL,
	rule_name  TEXT    NOT NULL,
	severity   INTEGER NOT NULL,
	source     TEXT    NOT NULL,
	status     TEXT    NOT NULL,
	title      TEXT    NOT NULL,
	count      INTEGER NOT NULL,
	event_ids  TEXT    NOT NULL,
	first_seen INTEGER NOT NULL,
	last_seen  INTEGER NOT NULL,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL,
	acked_by   TEXT    NOT NULL DEFAULT '',
	acked_at   INTEGER,
	closed_by  TEXT    NOT NULL DEFAULT '',
	closed_at  INTEGER
);
-- One active alert per rule and source.
CREATE UNIQUE INDEX alerts_active ON alerts (rule_id, source) WHERE status <> 'closed';
CREATE INDEX alerts_rule_source ON alerts (rule_id, source, first_seen);
CREATE INDEX alerts_status ON alerts (status, id);
