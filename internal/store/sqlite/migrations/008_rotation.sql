-- Scheduled service rotation: per decky, the pool of services the master
-- rotates the decky's exposed set through, and the history of every
-- rotation. Both go with their topology.

CREATE TABLE rotation_schedules (
	topology_id TEXT    NOT NULL REFERENCES topologies (id) ON DELETE CASCADE,
	decky       TEXT    NOT NULL,
	pool        TEXT    NOT NULL, -- JSON list of service slugs
	service_count       INTEGER NOT NULL,
	every_s     INTEGER NOT NULL,
	settings    TEXT    NOT NULL, -- JSON: the settings of pool services not exposed now
	enabled     INTEGER NOT NULL,
	next_at     INTEGER NOT NULL,
	updated_by  TEXT    NOT NULL,
	updated_at  INTEGER NOT NULL,
	PRIMARY KEY (topology_id, decky)
) WITHOUT ROWID;

CREATE TABLE rotation_history (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	topology_id TEXT    NOT NULL REFERENCES topologies (id) ON DELETE CASCADE,
	decky       TEXT    NOT NULL,
	at          INTEGER NOT NULL,
	services_before      TEXT    NOT NULL, -- JSON list of service slugs
	services_after       TEXT    NOT NULL,
	actor          TEXT    NOT NULL
);
CREATE INDEX rotation_history_decky ON rotation_history (topology_id, decky, id);
