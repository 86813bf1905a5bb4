-- Identities and campaigns: what the correlator (a consumer of the event
-- stream, like the tagger) learns about source addresses. Like the other
-- intelligence tables these reference neither events nor attackers.

-- An indicator a source showed: identity grade (campaign = 0) links
-- sources into an identity, campaign grade links identities.
CREATE TABLE intel_indicators (
	kind       TEXT    NOT NULL,
	value      TEXT    NOT NULL,
	src_ip     TEXT    NOT NULL,
	detail     TEXT    NOT NULL DEFAULT '',
	campaign   INTEGER NOT NULL,
	first_seen INTEGER NOT NULL,
	event_id   TEXT    NOT NULL,
	PRIMARY KEY (kind, value, src_ip)
) WITHOUT ROWID;
CREATE INDEX intel_indicators_src ON intel_indicators (src_ip);

-- Why two sources were linked: reasons is a JSON list of the shared
-- indicators.
CREATE TABLE intel_links (
	a        TEXT    NOT NULL,
	b        TEXT    NOT NULL,
	campaign INTEGER NOT NULL,
	reasons  TEXT    NOT NULL,
	ts       INTEGER NOT NULL,
	event_id TEXT    NOT NULL,
	PRIMARY KEY (a, b, campaign)
) WITHOUT ROWID;
CREATE INDEX intel_links_b ON intel_links (b);

-- The identity and campaign of every linked source.
CREATE TABLE intel_members (
	src_ip   TEXT PRIMARY KEY,
	identity TEXT NOT NULL,
	campaign TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX intel_members_identity ON intel_members (identity);
CREATE INDEX intel_members_campaign ON intel_members (campaign);

-- Sequences in progress (items: JSON list), kept across restarts.
CREATE TABLE intel_sequences (
	key   TEXT    PRIMARY KEY,
	items TEXT    NOT NULL,
	done  INTEGER NOT NULL
) WITHOUT ROWID;

-- Plaintext credentials per decky: a credential on a second decky is
-- reused.
CREATE TABLE credential_sightings (
	key    TEXT    NOT NULL,
	decky  TEXT    NOT NULL,
	src_ip TEXT    NOT NULL,
	ts     INTEGER NOT NULL,
	PRIMARY KEY (key, decky)
) WITHOUT ROWID;
