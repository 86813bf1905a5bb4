-- Times are INTEGER microseconds since the Unix epoch (UTC); booleans are
-- 0/1. The PostgreSQL schema has the same tables, columns and numbering.

CREATE TABLE users (
	id            INTEGER PRIMARY KEY AUTOINCREMENT,
	name          TEXT    NOT NULL UNIQUE,
	role          TEXT    NOT NULL,
	password_hash TEXT    NOT NULL,
	must_change   INTEGER NOT NULL DEFAULT 0,
	created_at    INTEGER NOT NULL
);

CREATE TABLE sessions (
	token_hash TEXT    PRIMARY KEY,
	user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	csrf       TEXT    NOT NULL,
	expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE api_tokens (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	name         TEXT    NOT NULL,
	hash         TEXT    NOT NULL UNIQUE,
	created_at   INTEGER NOT NULL,
	last_used_at INTEGER
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

CREATE TABLE audit (
	id     INTEGER PRIMARY KEY AUTOINCREMENT,
	at     INTEGER NOT NULL,
	actor  TEXT    NOT NULL,
	action TEXT    NOT NULL,
	target TEXT    NOT NULL,
	detail TEXT    NOT NULL DEFAULT ''
);

CREATE TABLE join_tokens (
	hash       TEXT    PRIMARY KEY,
	host_name  TEXT    NOT NULL,
	expires_at INTEGER NOT NULL,
	used_at    INTEGER,
	created_at INTEGER NOT NULL
);

CREATE TABLE hosts (
	id                TEXT    PRIMARY KEY,
	name              TEXT    NOT NULL,
	cert_serial       TEXT    NOT NULL,
	enrolled_at       INTEGER NOT NULL,
	last_heartbeat_at INTEGER,
	applied_id        TEXT    NOT NULL DEFAULT '',
	applied_hash      TEXT    NOT NULL DEFAULT '',
	last_error        TEXT    NOT NULL DEFAULT '',
	observed          TEXT,
	decommissioned    INTEGER NOT NULL DEFAULT 0
);
-- A name is unique among live hosts; a decommissioned host's name can be
-- enrolled again.
CREATE UNIQUE INDEX hosts_live_name ON hosts (name) WHERE decommissioned = 0;

CREATE TABLE revoked_serials (
	serial     TEXT    PRIMARY KEY,
	revoked_at INTEGER NOT NULL
);

CREATE TABLE topologies (
	id         TEXT    PRIMARY KEY,
	name       TEXT    NOT NULL UNIQUE,
	host_id    TEXT    NOT NULL,
	spec       TEXT    NOT NULL,
	hash       TEXT    NOT NULL,
	status     TEXT    NOT NULL CHECK (status IN ('pending', 'deploying', 'active', 'degraded', 'failed', 'tearing_down', 'torn_down')),
	version    INTEGER NOT NULL,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
);
CREATE INDEX topologies_host ON topologies (host_id);

CREATE TABLE topology_status_history (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	topology_id TEXT    NOT NULL REFERENCES topologies (id) ON DELETE CASCADE,
	at          INTEGER NOT NULL,
	from_status TEXT    NOT NULL,
	to_status   TEXT    NOT NULL,
	reason      TEXT    NOT NULL
);
CREATE INDEX topology_status_history_topology ON topology_status_history (topology_id, id);

-- Events: the pivots as columns, the whole document as JSON text. Ids are
-- UUIDv7, so id order is time order; pages go newest first by id.
CREATE TABLE events (
	id          TEXT    PRIMARY KEY,
	ts          INTEGER NOT NULL,
	type        TEXT    NOT NULL,
	decky       TEXT    NOT NULL,
	service     TEXT    NOT NULL,
	src_ip      TEXT    NOT NULL,
	session_id  TEXT    NOT NULL,
	topology_id TEXT    NOT NULL,
	host        TEXT    NOT NULL,
	severity    INTEGER NOT NULL,
	doc         TEXT    NOT NULL
);
CREATE INDEX events_ts ON events (ts);
CREATE INDEX events_type ON events (type, id);
CREATE INDEX events_src_ip ON events (src_ip, id);
CREATE INDEX events_decky ON events (decky, id);

CREATE TABLE attackers (
	ip          TEXT    PRIMARY KEY,
	first_seen  INTEGER NOT NULL,
	last_seen   INTEGER NOT NULL,
	events      INTEGER NOT NULL,
	credentials INTEGER NOT NULL,
	commands    INTEGER NOT NULL
);
CREATE INDEX attackers_last_seen ON attackers (last_seen);

CREATE TABLE attacker_deckies (
	ip    TEXT NOT NULL REFERENCES attackers (ip) ON DELETE CASCADE,
	decky TEXT NOT NULL,
	PRIMARY KEY (ip, decky)
) WITHOUT ROWID;

-- key is sha256(kind NUL principal NUL secret_sha256): the unique key of
-- (kind, principal, secret_sha256), short enough to index in PostgreSQL.
CREATE TABLE credentials (
	key           TEXT    PRIMARY KEY,
	kind          TEXT    NOT NULL,
	principal     TEXT    NOT NULL,
	secret_sha256 TEXT    NOT NULL,
	secret_b64    TEXT    NOT NULL,
	crack_line    TEXT    NOT NULL DEFAULT '',
	count         INTEGER NOT NULL,
	first_seen    INTEGER NOT NULL,
	last_seen     INTEGER NOT NULL
);
CREATE INDEX credentials_last_seen ON credentials (last_seen);

CREATE TABLE credential_deckies (
	key   TEXT NOT NULL REFERENCES credentials (key) ON DELETE CASCADE,
	decky TEXT NOT NULL,
	PRIMARY KEY (key, decky)
) WITHOUT ROWID;

CREATE TABLE credential_sources (
	key TEXT NOT NULL REFERENCES credentials (key) ON DELETE CASCADE,
	ip  TEXT NOT NULL,
	PRIMARY KEY (key, ip)
) WITHOUT ROWID;
