-- The same tables, columns and numbering as the SQLite schema. Times are
-- timestamptz (microseconds); ids that are paged or ordered use the "C"
-- collation so text order is byte order in every locale.

CREATE TABLE users (
	id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	name          text        NOT NULL UNIQUE,
	role          text        NOT NULL,
	password_hash text        NOT NULL,
	must_change   boolean     NOT NULL DEFAULT false,
	created_at    timestamptz NOT NULL
);

CREATE TABLE sessions (
	token_hash text        PRIMARY KEY,
	user_id    bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	csrf       text        NOT NULL,
	expires_at timestamptz NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE api_tokens (
	id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	user_id      bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	name         text        NOT NULL,
	hash         text        NOT NULL UNIQUE,
	created_at   timestamptz NOT NULL,
	last_used_at timestamptz
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

CREATE TABLE audit (
	id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	at     timestamptz NOT NULL,
	actor  text        NOT NULL,
	action text        NOT NULL,
	target text        NOT NULL,
	detail text        NOT NULL DEFAULT ''
);

CREATE TABLE join_tokens (
	hash       text        PRIMARY KEY,
	host_name  text        NOT NULL,
	expires_at timestamptz NOT NULL,
	used_at    timestamptz,
	created_at timestamptz NOT NULL
);

CREATE TABLE hosts (
	id                text        PRIMARY KEY,
	name              text        NOT NULL,
	cert_serial       text        NOT NULL,
	enrolled_at       timestamptz NOT NULL,
	last_heartbeat_at timestamptz,
	applied_id        text        NOT NULL DEFAULT '',
	applied_hash      text        NOT NULL DEFAULT '',
	last_error        text        NOT NULL DEFAULT '',
	observed          text,
	decommissioned    boolean     NOT NULL DEFAULT false
);
CREATE UNIQUE INDEX hosts_live_name ON hosts (name) WHERE NOT decommissioned;

CREATE TABLE revoked_serials (
	serial     text        PRIMARY KEY,
	revoked_at timestamptz NOT NULL
);

CREATE TABLE topologies (
	id         text        PRIMARY KEY,
	name       text        NOT NULL UNIQUE,
	host_id    text        NOT NULL,
	spec       text        NOT NULL,
	hash       text        NOT NULL,
	status     text        NOT NULL CHECK (status IN ('pending', 'deploying', 'active', 'degraded', 'failed', 'tearing_down', 'torn_down')),
	version    bigint      NOT NULL,
	created_at timestamptz NOT NULL,
	updated_at timestamptz NOT NULL
);
CREATE INDEX topologies_host ON topologies (host_id);

CREATE TABLE topology_status_history (
	id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	topology_id text        NOT NULL REFERENCES topologies (id) ON DELETE CASCADE,
	at          timestamptz NOT NULL,
	from_status text        NOT NULL,
	to_status   text        NOT NULL,
	reason      text        NOT NULL
);
CREATE INDEX topology_status_history_topology ON topology_status_history (topology_id, id);

CREATE TABLE events (
	id          text COLLATE "C" PRIMARY KEY,
	ts          timestamptz NOT NULL,
	type        text        NOT NULL,
	decky       text        NOT NULL,
	service     text        NOT NULL,
	src_ip      text        NOT NULL,
	session_id  text        NOT NULL,
	topology_id text        NOT NULL,
	host        text        NOT NULL,
	severity    integer     NOT NULL,
	doc         text        NOT NULL
);
CREATE INDEX events_ts ON events (ts);
CREATE INDEX events_type ON events (type, id);
CREATE INDEX events_src_ip ON events (src_ip, id);
CREATE INDEX events_decky ON events (decky, id);

CREATE TABLE attackers (
	ip          text        PRIMARY KEY,
	first_seen  timestamptz NOT NULL,
	last_seen   timestamptz NOT NULL,
	events      bigint      NOT NULL,
	credentials bigint      NOT NULL,
	commands    bigint      NOT NULL
);
CREATE INDEX attackers_last_seen ON attackers (last_seen);

CREATE TABLE attacker_deckies (
	ip    text NOT NULL REFERENCES attackers (ip) ON DELETE CASCADE,
	decky text NOT NULL,
	PRIMARY KEY (ip, decky)
);

-- key is sha256(kind NUL principal NUL secret_sha256): the unique key of
-- (kind, principal, secret_sha256); a principal can exceed the btree row
-- limit, its hash cannot.
CREATE TABLE credentials (
	key           text COLLATE "C" PRIMARY KEY,
	kind          text        NOT NULL,
	principal     text        NOT NULL,
	secret_sha256 text        NOT NULL,
	secret_b64    text        NOT NULL,
	crack_line    text        NOT NULL DEFAULT '',
	count         bigint      NOT NULL,
	first_seen    timestamptz NOT NULL,
	last_seen     timestamptz NOT NULL
);
CREATE INDEX credentials_last_seen ON credentials (last_seen);

CREATE TABLE credential_deckies (
	key   text COLLATE "C" NOT NULL REFERENCES credentials (key) ON DELETE CASCADE,
	decky text NOT NULL,
	PRIMARY KEY (key, decky)
);

CREATE TABLE credential_sources (
	key text COLLATE "C" NOT NULL REFERENCES credentials (key) ON DELETE CASCADE,
	ip  text NOT NULL,
	PRIMARY KEY (key, ip)
);
