-- What each agent runs (from its heartbeats) and the update an operator
-- asked for: the agent is to run the master's build until it reports that
-- build's hash, or reports that it went back.
ALTER TABLE hosts ADD COLUMN version TEXT NOT NULL DEFAULT '';
ALTER TABLE hosts ADD COLUMN binary_sha256 TEXT NOT NULL DEFAULT '';
ALTER TABLE hosts ADD COLUMN update_requested BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE hosts ADD COLUMN update_error TEXT NOT NULL DEFAULT '';
