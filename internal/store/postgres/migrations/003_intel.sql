-- Attacker intelligence: enrichment of source addresses and ATT&CK tags.
-- Written by the master's intelligence consumers, each on its own durable
-- position in the event stream, so none of these tables references the
-- events or attackers rows, which may be stored before or after them.

CREATE TABLE attacker_intel (
	ip           text    PRIMARY KEY,
	country      text    NOT NULL DEFAULT '',
	country_name text    NOT NULL DEFAULT '',
	city         text    NOT NULL DEFAULT '',
	asn          bigint NOT NULL DEFAULT 0,
	as_org       text    NOT NULL DEFAULT '',
	ptr          text    NOT NULL DEFAULT '',
	updated_at   timestamptz NOT NULL
);
CREATE INDEX attacker_intel_country ON attacker_intel (country);
CREATE INDEX attacker_intel_asn ON attacker_intel (asn);

CREATE TABLE event_tags (
	event_id  text COLLATE "C" NOT NULL,
	technique text    NOT NULL,
	rule_id   text    NOT NULL,
	src_ip    text    NOT NULL,
	ts        timestamptz NOT NULL,
	PRIMARY KEY (event_id, technique)
);
CREATE INDEX event_tags_technique ON event_tags (technique, event_id);
CREATE INDEX event_tags_ts ON event_tags (ts);

CREATE TABLE attacker_techniques (
	ip         text    NOT NULL,
	technique  text    NOT NULL,
	events     bigint NOT NULL,
	first_seen timestamptz NOT NULL,
	last_seen  timestamptz NOT NULL,
	PRIMARY KEY (ip, technique)
);
CREATE INDEX attacker_techniques_technique ON attacker_techniques (technique, ip);
