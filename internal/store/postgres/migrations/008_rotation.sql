-- Scheduled service rotation: per decky, the pool of services the master
-- rotates the decky's exposed set through, and the history of every
-- rotation. Both go with their topology.

CREATE TABLE rotation_schedules (
	topology_id text        NOT NULL REFERENCES topologies (id) ON DELETE CASCADE,
	decky       text        NOT NULL,
	pool        jsonb       NOT NULL,
	service_count       integer     NOT NULL,
	every_s     bigint      NOT NULL,
	settings    jsonb       NOT NULL,
	enabled     boolean     NOT NULL,
	next_at     timestamptz NOT NULL,
	updated_by  text        NOT NULL,
	updated_at  timestamptz NOT NULL,
	PRIMARY KEY (topology_id, decky)
);

CREATE TABLE rotation_history (
	id          bigserial   PRIMARY KEY,
	topology_id text        NOT NULL REFERENCES topologies (id) ON DELETE CASCADE,
	decky       text        NOT NULL,
	at          timestamptz NOT NULL,
	services_before      jsonb       NOT NULL,
	services_after       jsonb       NOT NULL,
	actor          text        NOT NULL
);
CREATE INDEX rotation_history_decky ON rotation_history (topology_id, decky, id);
