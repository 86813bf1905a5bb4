-- Canary tokens the operators made, and the honey credentials planted in
-- deckies' bait files. A honey credential outlives its topology: an
-- intruder who read it may use it long after the decky is gone.

CREATE TABLE canary_tokens (
	id             text    PRIMARY KEY,
	kind           text    NOT NULL,
	memo           text    NOT NULL,
	slug           text    NOT NULL UNIQUE,
	rule_id        text    NOT NULL,
	created_by     text    NOT NULL,
	created_at     timestamptz NOT NULL,
	triggers       bigint NOT NULL DEFAULT 0,
	last_triggered timestamptz
);

CREATE TABLE honey_credentials (
	topology_id text    NOT NULL,
	decky       text    NOT NULL,
	service     text    NOT NULL,
	path        text    NOT NULL,
	kind        text    NOT NULL,
	principal   text    NOT NULL,
	secret      text    NOT NULL,
	target      text    NOT NULL,
	placed_at   timestamptz NOT NULL,
	PRIMARY KEY (topology_id, decky, service, path, principal, secret)
);
CREATE INDEX honey_credentials_secret ON honey_credentials (secret);
