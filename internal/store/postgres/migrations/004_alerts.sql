-- Alert rules and the alerts they raise. Written by the API (rules,
-- status changes) and by the alert evaluator, a durable consumer of the
-- event stream; alert_matches references no events row, which may be
-- stored before or after it.

CREATE TABLE alert_rules (
	id         text    PRIMARY KEY,
	name       text    NOT NULL UNIQUE,
	enabled    boolean NOT NULL,
	spec       text    NOT NULL,
	created_at timestamptz NOT NULL,
	updated_at timestamptz NOT NULL
);

CREATE TABLE alert_matches (
	rule_id  text    NOT NULL,
	event_id text COLLATE "C" NOT NULL,
	source   text    NOT NULL,
	ts       timestamptz NOT NULL,
	PRIMARY KEY (rule_id, event_id)
);
CREATE INDEX alert_matches_source ON alert_matches (rule_id, source, ts, event_id);
CREATE INDEX alert_matches_ts ON alert_matches (ts);

CREATE TABLE alerts (
	id         text COLLATE "C" PRIMARY KEY,
	key        text    NOT NULL UNIQUE,
	rule_id    text    NOT NULL,
	rule_name  text    NOT NULL,
	severity   integer NOT NULL,
	source     text    NOT NULL,
	status     text    NOT NULL,
	title      text    NOT NULL,
	count      bigint NOT NULL,
	event_ids  text    NOT NULL,
	first_seen timestamptz NOT NULL,
	last_seen  timestamptz NOT NULL,
	created_at timestamptz NOT NULL,
	updated_at timestamptz NOT NULL,
	acked_by   text    NOT NULL DEFAULT '',
	acked_at   timestamptz,
	closed_by  text    NOT NULL DEFAULT '',
	closed_at  timestamptz
);
-- One active alert per rule and source.
CREATE UNIQUE INDEX alerts_active ON alerts (rule_id, source) WHERE status <> 'closed';
CREATE INDEX alerts_rule_source ON alerts (rule_id, source, first_seen);
CREATE INDEX alerts_status ON alerts (status, id);
