-- Identities and campaigns: what the correlator (a consumer of the event
-- stream, like the tagger) learns about source addresses. Like the other
-- intelligence tables these reference neither events nor attackers.

-- An indicator a source showed: identity grade (campaign = 0) links
-- sources into an identity, campaign grade links identities.
CREATE TABLE intel_indicators (
	kind       text    NOT NULL,
	value      text    NOT NULL,
	src_ip     text    NOT NULL,
	detail     text    NOT NULL DEFAULT '',
	campaign   boolean NOT NULL,
	first_seen timestamptz NOT NULL,
	event_id   text    NOT NULL,
	PRIMARY KEY (kind, value, src_ip)
);
CREATE INDEX intel_indicators_src ON intel_indicators (src_ip);

-- Why two sources were linked: reasons is a JSON list of the shared
-- indicators.
CREATE TABLE intel_links (
	a        text    NOT NULL,
	b        text    NOT NULL,
	campaign boolean NOT NULL,
	reasons  jsonb   NOT NULL,
	ts       timestamptz NOT NULL,
	event_id text    NOT NULL,
	PRIMARY KEY (a, b, campaign)
);
CREATE INDEX intel_links_b ON intel_links (b);

-- The identity and campaign of every linked source.
CREATE TABLE intel_members (
	src_ip   text PRIMARY KEY,
	identity text NOT NULL,
	campaign text NOT NULL
);
CREATE INDEX intel_members_identity ON intel_members (identity);
CREATE INDEX intel_members_campaign ON intel_members (campaign);

-- Sequences in progress (items: JSON list), kept across restarts.
CREATE TABLE intel_sequences (
	key   text    PRIMARY KEY,
	items jsonb   NOT NULL,
	done  boolean NOT NULL
);

-- Plaintext credentials per decky: a credential on a second decky is
-- reused.
CREATE TABLE credential_sightings (
	key    text    NOT NULL,
	decky  text    NOT NULL,
	src_ip text    NOT NULL,
	ts     timestamptz NOT NULL,
	PRIMARY KEY (key, decky)
);
