-- SIEM outputs made through the API. config is the output's JSON config,
-- opaque here; the master encrypts a webhook secret in it before storing.
CREATE TABLE outputs (
	name       TEXT    PRIMARY KEY,
	kind       TEXT    NOT NULL,
	config     TEXT    NOT NULL,
	enabled    INTEGER NOT NULL,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
);
