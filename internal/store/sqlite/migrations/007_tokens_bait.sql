-- Canary tokens the operators made, and the honey credentials planted in
-- deckies' bait files. A honey credential outlives its topology: an
-- intruder who read it may use it long after the decky is gone.

CREATE TABLE canary_tokens (
	id             TEXT    PRIMARY KEY,
	kind           TEXT    NOT NULL,
	memo           TEXT    NOT NULL,
	slug           TEXT    NOT NULL UNIQUE,
	rule_id        TEXT    NOT NULL,
	created_by     TEXT    NOT NULL,
	created_at     INTEGER NOT NULL,
	triggers       INTEGER NOT NULL DEFAULT 0,
	last_triggered INTEGER
);

CREATE TABLE honey_credentials (
	topology_id TEXT    NOT NULL,
	decky       TEXT    NOT NULL,
	service     TEXT    NOT NULL,
	path        TEXT    NOT NULL,
	kind        TEXT    NOT NULL,
	principal   TEXT    NOT NULL,
	secret      TEXT    NOT NULL,
	target      TEXT    NOT NULL,
	placed_at   INTEGER NOT NULL,
	PRIMARY KEY (topology_id, decky, service, path, principal, secret)
) WITHOUT ROWID;
CREATE INDEX honey_credentials_secret ON honey_credentials (secret);
