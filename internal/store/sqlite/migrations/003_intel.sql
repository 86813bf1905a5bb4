-- Attacker intelligence: enrichment of source addresses and ATT&CK tags.
-- Written by the master's intelligence consumers, each on its own durable
-- position in the event stream, so none of these tables references the
-- events or attackers rows, which may be stored before or after them.

CREATE TABLE attacker_intel (
	ip           TEXT    PRIMARY KEY,
	country      TEXT    NOT NULL DEFAULT '',
	country_name TEXT    NOT NULL DEFAULT '',
	city         TEXT    NOT NULL DEFAULT '',
	asn          INTEGER NOT NULL DEFAULT 0,
	as_org       TEXT    NOT NULL DEFAULT '',
	ptr          TEXT    NOT NULL DEFAULT '',
	updated_at   INTEGER NOT NULL
);
CREATE INDEX attacker_intel_country ON attacker_intel (country);
CREATE INDEX attacker_intel_asn ON attacker_intel (asn);

CREATE TABLE event_tags (
	event_id  TEXT    NOT NULL,
	technique TEXT    NOT NULL,
	rule_id   TEXT    NOT NULL,
	src_ip    TEXT    NOT NULL,
	ts        INTEGER NOT NULL,
	PRIMARY KEY (event_id, technique)
) WITHOUT ROWID;
CREATE INDEX event_tags_technique ON event_tags (technique, event_id);
CREATE INDEX event_tags_ts ON event_tags (ts);

CREATE TABLE attacker_techniques (
	ip         TEXT    NOT NULL,
	technique  TEXT    NOT NULL,
	events     INTEGER NOT NULL,
	first_seen INTEGER NOT NULL,
	last_seen  INTEGER NOT NULL,
	PRIMARY KEY (ip, technique)
) WITHOUT ROWID;
CREATE INDEX attacker_techniques_technique ON attacker_techniques (technique, ip);
