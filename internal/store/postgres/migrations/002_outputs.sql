-- SIEM outputs made through the API, as in the SQLite schema. config is
-- text, not jsonb: the store keeps the master's bytes as they are.
CREATE TABLE outputs (
	name       text COLLATE "C" PRIMARY KEY,
	kind       text        NOT NULL,
	config     text        NOT NULL,
	enabled    boolean     NOT NULL,
	created_at timestamptz NOT NULL,
	updated_at timestamptz NOT NULL
);
