// Package store is the master's database: one interface, two real
// backends (SQLite, embedded, the default; PostgreSQL for scale-out), SQL
// migrations embedded and run at open. The same conformance suite
// (storetest) runs against both.
//
// Status changes are compare-and-swap in one statement, never
// read-then-write; event insertion is idempotent on the event id, and the
// attacker and credential aggregates are updated in the same transaction
// and only for events that were new, so replays never double a counter.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/decnet/decnet/internal/event"
)

// Sentinel errors; backends wrap them.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("conflict") // unique name taken, CAS lost, token used
)

// Role is a dashboard/API user's role.
type Role string

// The roles.
const (
	Admin  Role = "admin"
	Viewer Role = "viewer"
)

// User is a dashboard/API account.
type User struct {
	ID           int64     `json:"id"`
	Name         string    `json:"name"`
	Role         Role      `json:"role"`
	PasswordHash string    `json:"-"`
	MustChange   bool      `json:"must_change_password"`
	CreatedAt    time.Time `json:"created_at"`
}

// Session is a server-side browser session; only the token's hash is kept.
type Session struct {
	TokenHash string    `json:"-"`
	UserID    int64     `json:"user_id"`
	CSRF      string    `json:"-"`
	Expires   time.Time `json:"expires_at"`
}

// APIToken is a bearer token for automation; only its hash is kept.
type APIToken struct {
	ID        int64      `json:"id"`
	UserID    int64      `json:"user_id"`
	Name      string     `json:"name"`
	Hash      string     `json:"-"`
	CreatedAt time.Time  `json:"created_at"`
	LastUsed  *time.Time `json:"last_used_at,omitempty"`
}

// AuditEntry is one admin action.
type AuditEntry struct {
	ID     int64     `json:"id"`
	At     time.Time `json:"at"`
	Actor  string    `json:"actor"`
	Action string    `json:"action"`
	Target string    `json:"target"`
	Detail string    `json:"detail,omitempty"`
}

// Host is an enrolled agent.
type Host struct {
	ID             string          `json:"id"`
	Name           string          `json:"name"`
	CertSerial     string          `json:"cert_serial"`
	EnrolledAt     time.Time       `json:"enrolled_at"`
	LastHeartbeat  *time.Time      `json:"last_heartbeat_at,omitempty"`
	AppliedID      string          `json:"applied_topology_id,omitempty"`
	AppliedHash    string          `json:"applied_version_hash,omitempty"`
	LastError      string          `json:"last_error,omitempty"`
	Observed       json.RawMessage `json:"observed,omitempty"`
	Decommissioned bool            `json:"decommissioned"`
	// Version and BinarySHA256 are the agent's build, from its last
	// heartbeat.
	Version      string `json:"version,omitempty"`
	BinarySHA256 string `json:"binary_sha256,omitempty"`
	// UpdateRequested asks the agent to run the master's build;
	// UpdateError is why the last update did not take.
	UpdateRequested bool   `json:"update_requested"`
	UpdateError     string `json:"update_error,omitempty"`
}

// Topology status values and their legal transitions.
const (
	Pending     = "pending"
	Deploying   = "deploying"
	Active      = "active"
	Degraded    = "degraded"
	Failed      = "failed"
	TearingDown = "tearing_down"
	TornDown    = "torn_down"
)

// Transitions lists, for each status, the statuses it may move to.
var Transitions = map[string][]string{
	Pending:     {Deploying, TornDown},
	Deploying:   {Active, Degraded, Failed, TearingDown},
	Active:      {Deploying, Degraded, TearingDown},
	Degraded:    {Deploying, Active, TearingDown},
	Failed:      {Deploying, TearingDown},
	TearingDown: {TornDown, Failed},
	TornDown:    {Deploying},
}

// Topology is a stored topology: its spec (desired state) and status.
type Topology struct {
	ID        string          `json:"id"`
	Name      string          `json:"name"`
	HostID    string          `json:"host_id"`
	Spec      json.RawMessage `json:"spec"`
	Hash      string          `json:"version_hash"`
	Status    string          `json:"status"`
	Version   int64           `json:"version"` // bumped by every write; CAS key
	CreatedAt time.Time       `json:"created_at"`
	UpdatedAt time.Time       `json:"updated_at"`
}

// StatusChange is one entry of a topology's status history.
type StatusChange struct {
	At     time.Time `json:"at"`
	From   string    `json:"from"`
	To     string    `json:"to"`
	Reason string    `json:"reason"`
}

// EventFilter selects events. Zero values match everything.
type EventFilter struct {
	Types   []string
	Decky   string
	Service string
	SrcIP   string
	Text    string // substring of the raw document
	// Tag selects events tagged with an ATT&CK technique: T1110 matches
	// T1110 and its sub-techniques (T1110.001, ...).
	Tag   string
	Since time.Time
	Until time.Time
	// After is the pagination cursor: return events older than this id
	// (ids are UUIDv7, so ordering by id is ordering by time), or newer
	// than it when Oldest is set.
	After string
	// Oldest lists the oldest events first (a rebuild replays them in
	// the order they happened).
	Oldest bool
	Limit  int
}

// Attacker aggregates one source IP.
type Attacker struct {
	IP          string    `json:"ip"`
	FirstSeen   time.Time `json:"first_seen"`
	LastSeen    time.Time `json:"last_seen"`
	Events      int64     `json:"events"`
	Deckies     []string  `json:"deckies"`
	Credentials int64     `json:"credentials"`
	Commands    int64     `json:"commands"`
	// Intel is the enrichment of the address (geolocation, AS, reverse
	// DNS); nil until the enricher has looked it up.
	Intel *AttackerIntel `json:"intel,omitempty"`
	// Techniques are the ATT&CK techniques the attacker's events were
	// tagged with, by id.
	Techniques []TechniqueCount `json:"techniques"`
	// Identity and Campaign are set when the correlator linked the
	// address to others.
	Identity string `json:"identity,omitempty"`
	Campaign string `json:"campaign,omitempty"`
	// Score ranks attackers by what they did (docs/intelligence.md).
	Score int `json:"score"`
}

// AttackerIntel is what operator-supplied databases say about a source
// address. Empty fields are unknown.
type AttackerIntel struct {
	Country     string    `json:"country,omitempty"` // ISO 3166-1 alpha-2
	CountryName string    `json:"country_name,omitempty"`
	City        string    `json:"city,omitempty"`
	ASN         uint32    `json:"asn,omitempty"`
	ASOrg       string    `json:"as_org,omitempty"`
	PTR         string    `json:"ptr,omitempty"` // reverse DNS, when enabled
	UpdatedAt   time.Time `json:"updated_at"`
}

// TechniqueCount is one ATT&CK technique on an attacker: how many of its
// events carry it, and when.
type TechniqueCount struct {
	ID        string    `json:"id"`
	Events    int64     `json:"events"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
}

// EventTag is one ATT&CK technique on one event, and the rule that put
// it there. An event carries a technique once, whatever the number of
// rules that map to it.
type EventTag struct {
	EventID   string    `json:"event_id"`
	Technique string    `json:"technique"`
	Rule      string    `json:"rule"`
	SrcIP     string    `json:"src_ip"`
	Time      time.Time `json:"ts"`
}

// AttackerFilter selects attackers. Zero values match everything.
type AttackerFilter struct {
	// Tag keeps attackers with a technique (T1110 matches its
	// sub-techniques too).
	Tag     string
	Country string // ISO code, as AttackerIntel.Country
	ASN     uint32
	// Identity and Campaign keep the sources the correlator put there.
	Identity string
	Campaign string
	// Query is a case-insensitive substring of the address, the country
	// (code or name), the city, the AS organisation or the reverse name.
	Query string
	// Sort orders the list: last_seen (default, newest first),
	// first_seen, events, score, country or asn.
	Sort  string
	Limit int
}

// AttackerSorts are the orders ListAttackers knows.
var AttackerSorts = []string{"last_seen", "first_seen", "events", "score", "country", "asn"}

// CredentialFilter selects credentials. Zero values match everything.
type CredentialFilter struct {
	// MinDeckies keeps credentials tried on at least this many deckies
	// (2: credentials reused across deckies).
	MinDeckies int
	Limit      int
}

// Credential aggregates one (kind, principal, secret) seen anywhere.
type Credential struct {
	Kind      string    `json:"kind"`
	Principal string    `json:"principal"`
	SecretSHA string    `json:"secret_sha256"`
	SecretB64 string    `json:"secret_b64"`
	CrackLine string    `json:"crack_line,omitempty"`
	Count     int64     `json:"count"`
	Deckies   []string  `json:"deckies"`
	Sources   []string  `json:"sources"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
}

// OutputRow is a SIEM output made through the API (outputs given as
// command-line flags are not stored). Config is the output's JSON config
// (package output's Config) as the master wrote it: the store keeps it
// opaque, and the master encrypts a webhook secret in it before it gets
// here.
type OutputRow struct {
	Name      string          `json:"name"`
	Kind      string          `json:"kind"`
	Config    json.RawMessage `json:"-"`
	Enabled   bool            `json:"enabled"`
	CreatedAt time.Time       `json:"created_at"`
	UpdatedAt time.Time       `json:"updated_at"`
}

// Store is everything the master keeps. Every method is safe for
// concurrent use.
type Store interface {
	Close() error

	CreateUser(ctx context.Context, u *User) error // fills ID; ErrConflict on a taken name
	UserByName(ctx context.Context, name string) (*User, error)
	UserByID(ctx context.Context, id int64) (*User, error)
	ListUsers(ctx context.Context) ([]User, error)
	SetPassword(ctx context.Context, id int64, hash string, mustChange bool) error
	DeleteUser(ctx context.Context, id int64) error
	CountUsers(ctx context.Context) (int64, error)

	CreateSession(ctx context.Context, s *Session) error
	SessionByHash(ctx context.Context, hash string) (*Session, error) // ErrNotFound when expired
	DeleteSession(ctx context.Context, hash string) error

	CreateAPIToken(ctx context.Context, t *APIToken) error
	APITokenByHash(ctx context.Context, hash string) (*APIToken, error) // updates LastUsed (TokenUseResolution)
	ListAPITokens(ctx context.Context, userID int64) ([]APIToken, error)
	DeleteAPIToken(ctx context.Context, id int64) error

	Audit(ctx context.Context, e AuditEntry) error
	ListAudit(ctx context.Context, before int64, limit int) ([]AuditEntry, error)

	// Join tokens are single use: ConsumeJoinToken succeeds once, before
	// the expiry, in one atomic statement.
	CreateJoinToken(ctx context.Context, hash, hostName string, expires time.Time) error
	ConsumeJoinToken(ctx context.Context, hash string, now time.Time) (hostName string, err error)

	CreateHost(ctx context.Context, h *Host) error
	Host(ctx context.Context, id string) (*Host, error)
	ListHosts(ctx context.Context) ([]Host, error)
	RecordHeartbeat(ctx context.Context, id string, at time.Time, appliedID, appliedHash, lastError string, observed json.RawMessage) error
	// RecordAgentBuild stores the build a host's agent reports running and
	// returns whether an update is asked of it (one statement: it runs on
	// every heartbeat).
	RecordAgentBuild(ctx context.Context, id, version, sha256 string) (updateRequested bool, err error)
	// SetUpdate asks a live host's agent to run the master's build
	// (requested), or ends that request with the reason it did not take
	// (errText, "" when it did); ErrNotFound for an unknown or
	// decommissioned host.
	SetUpdate(ctx context.Context, id string, requested bool, errText string) error
	Decommission(ctx context.Context, id string) error // also revokes its certificate serial
	Revoked(ctx context.Context, serial string) (bool, error)
	RevokedSerials(ctx context.Context) ([]string, error)

	CreateTopology(ctx context.Context, t *Topology) error // status pending, version 1; ErrConflict on a taken name
	Topology(ctx context.Context, id string) (*Topology, error)
	ListTopologies(ctx context.Context) ([]Topology, error)
	// UpdateSpec replaces the spec when the version matches (CAS) and bumps it.
	UpdateSpec(ctx context.Context, id string, version int64, spec json.RawMessage, hash string) error
	// Transition moves status from -> to atomically (only if the row is in
	// from and the move is in Transitions) and appends to the history in
	// the same transaction; ErrConflict otherwise.
	Transition(ctx context.Context, id, from, to, reason string) error
	StatusHistory(ctx context.Context, id string) ([]StatusChange, error)
	DeleteTopology(ctx context.Context, id string) error

	// InsertEvents stores the batch idempotently (unique event id) and
	// updates the aggregates for the events that were new; it returns how
	// many were new.
	InsertEvents(ctx context.Context, events []event.Event) (int, error)
	ListEvents(ctx context.Context, f EventFilter) ([]event.Event, error)
	CountEvents(ctx context.Context, f EventFilter) (int64, error)
	DeleteEventsBefore(ctx context.Context, t time.Time) (int64, error)
	// ListAttackers returns the attackers f selects, most recently seen
	// first.
	ListAttackers(ctx context.Context, f AttackerFilter) ([]Attacker, error)
	Attacker(ctx context.Context, ip string) (*Attacker, error)
	// SetAttackerIntel records the enrichment of each address, in one
	// transaction (upserts: the attacker rows need not exist yet).
	SetAttackerIntel(ctx context.Context, intel map[string]AttackerIntel) error
	// AddEventTags stores tags idempotently (unique on event id and
	// technique) and grows the attackers' technique counts by the tags
	// that were new only; it returns how many were new.
	AddEventTags(ctx context.Context, tags []EventTag) (int, error)
	// EventTags returns the tags of the given events, by event id.
	EventTags(ctx context.Context, ids []string) (map[string][]EventTag, error)
	// TechniqueCounts counts the tagged events per technique, over the
	// events with since <= ts < until (zero times leave that side open),
	// by technique id; the count survives no retention (it reads the
	// stored tags).
	TechniqueCounts(ctx context.Context, since, until time.Time) ([]TechniqueCount, error)
	// ClearEventTags deletes every event tag and every attacker's
	// technique counts, in one transaction, before a rebuild.
	ClearEventTags(ctx context.Context) error
	ListCredentials(ctx context.Context, f CredentialFilter) ([]Credential, error)

	CorrelationStore

	CreateOutput(ctx context.Context, o *OutputRow) error // fills the times; ErrConflict on a taken name
	Output(ctx context.Context, name string) (*OutputRow, error)
	ListOutputs(ctx context.Context) ([]OutputRow, error) // by name
	// UpdateOutput replaces the kind, config and enabled flag of the named
	// output and fills UpdatedAt (CreatedAt too, from the row).
	UpdateOutput(ctx context.Context, o *OutputRow) error
	DeleteOutput(ctx context.Context, name string) error

	CreateAlertRule(ctx context.Context, r *AlertRuleRow) error // fills the times; ErrConflict on a taken name
	AlertRule(ctx context.Context, id string) (*AlertRuleRow, error)
	ListAlertRules(ctx context.Context) ([]AlertRuleRow, error) // by name
	// UpdateAlertRule replaces the name, spec and enabled flag of the rule
	// with r.ID and fills the times.
	UpdateAlertRule(ctx context.Context, r *AlertRuleRow) error
	// DeleteAlertRule deletes the rule and its recorded matches; its
	// alerts stay.
	DeleteAlertRule(ctx context.Context, id string) error

	// AddAlertMatches records that events matched rules, idempotently
	// (unique on rule and event), in one transaction; fresh[i] reports
	// whether ms[i] was new.
	AddAlertMatches(ctx context.Context, ms []AlertMatch) (fresh []bool, err error)
	// AlertSourceStates tells, for each of the sources that has matches of
	// the rule with since <= ts <= until, how many, and whether an alert
	// of the rule for it started at or before until: what lets the
	// evaluator settle a batch's threshold rules in one read.
	AlertSourceStates(ctx context.Context, ruleID string, sources []string, since, until time.Time) (map[string]AlertSourceState, error)
	// AlertMatches counts the matches of a rule from one source with
	// since <= ts <= until and returns the first limit event ids, oldest
	// first, and the time of the oldest.
	AlertMatches(ctx context.Context, ruleID, source string, since, until time.Time, limit int) (n int64, ids []string, first time.Time, err error)
	// EarlierAlertMatch reports whether the rule matched an event from
	// the source before the given one (by time, then id).
	EarlierAlertMatch(ctx context.Context, ruleID, source string, t time.Time, eventID string) (bool, error)
	// OpenAlert stores a new open alert (fills ID when empty, and the
	// times) unless its key is taken or the rule already has an active
	// alert for the source; then a holds the alert that prevented it and
	// created is false.
	OpenAlert(ctx context.Context, a *Alert) (created bool, err error)
	// AlertAt returns the rule's alert for the source that started last
	// at or before t; ErrNotFound when there is none.
	AlertAt(ctx context.Context, ruleID, source string, t time.Time) (*Alert, error)
	// TouchAlert adds a matching event to an active alert: last seen
	// widens and the event id joins the evidence (up to
	// MaxAlertEvidence). The count grows by one when fresh (the match was
	// just recorded, AddAlertMatches said so); otherwise (a redelivery) it
	// becomes the number of the rule's matches from the source since the
	// alert's first event, never less than it was, which repairs a count
	// a crash left behind. A closed alert is left as it is.
	TouchAlert(ctx context.Context, id, eventID string, t time.Time, fresh bool) error
	Alert(ctx context.Context, id string) (*Alert, error)
	// ListAlerts returns the alerts f selects, newest first.
	ListAlerts(ctx context.Context, f AlertFilter) ([]Alert, error)
	// SetAlertStatus moves an alert to status (acknowledged or closed)
	// if it is in one of from, recording who and when; ErrConflict when
	// it is not.
	SetAlertStatus(ctx context.Context, id string, from []string, to, by string, at time.Time) (*Alert, error)
	// ActiveAlertCounts counts the active (open or acknowledged) alerts
	// by severity.
	ActiveAlertCounts(ctx context.Context) (map[int]int64, error)

	CreateCanaryToken(ctx context.Context, t *CanaryToken) error // fills CreatedAt; ErrConflict on a taken slug
	CanaryToken(ctx context.Context, id string) (*CanaryToken, error)
	CanaryTokenBySlug(ctx context.Context, slug string) (*CanaryToken, error)
	ListCanaryTokens(ctx context.Context) ([]CanaryToken, error) // newest first
	DeleteCanaryToken(ctx context.Context, id string) error
	// RecordCanaryTrigger counts one firing of the token at t.
	RecordCanaryTrigger(ctx context.Context, id string, t time.Time) error

	// AddHoneyCredentials records planted credentials idempotently
	// (unique on topology, decky, service, path, principal and secret)
	// and returns how many were new. Nothing deletes them: a credential
	// read from a decky may be tried long after the decky is gone.
	AddHoneyCredentials(ctx context.Context, creds []HoneyCredential) (int, error)
	ListHoneyCredentials(ctx context.Context) ([]HoneyCredential, error)

	// Service rotation schedules, one per decky, and their history. Both
	// go when their topology is deleted.
	PutRotation(ctx context.Context, r *Rotation) error // insert or replace; fills UpdatedAt
	Rotation(ctx context.Context, topologyID, decky string) (*Rotation, error)
	ListRotations(ctx context.Context) ([]Rotation, error) // by topology, then decky
	DeleteRotation(ctx context.Context, topologyID, decky string) error
	// AddRotationRecord appends one rotation to the history; it fills ID.
	AddRotationRecord(ctx context.Context, r *RotationRecord) error
	// ListRotationRecords returns a decky's rotations, newest first.
	ListRotationRecords(ctx context.Context, topologyID, decky string, limit int) ([]RotationRecord, error)
}

// Rotation is a decky's service rotation schedule: every Every, the
// master replaces the decky's services from Pool by Count others of the
// pool (services outside the pool stay).
type Rotation struct {
	TopologyID string        `json:"topology_id"`
	Decky      string        `json:"decky"`
	Pool       []string      `json:"pool"`
	Count      int           `json:"count"`
	Every      time.Duration `json:"-"`
	// Settings keep the per-service settings of the pool's services the
	// decky does not expose now, until they rotate back in.
	Settings  map[string]map[string]any `json:"settings,omitempty"`
	Enabled   bool                      `json:"enabled"`
	NextAt    time.Time                 `json:"next_at"`
	UpdatedBy string                    `json:"updated_by"`
	UpdatedAt time.Time                 `json:"updated_at"`
}

// RotationRecord is one rotation of a decky's services: the services
// before and after, and who did it ("schedule" or an operator).
type RotationRecord struct {
	ID         int64     `json:"id"`
	TopologyID string    `json:"topology_id"`
	Decky      string    `json:"decky"`
	At         time.Time `json:"at"`
	Before     []string  `json:"before"`
	After      []string  `json:"after"`
	By         string    `json:"by"`
}

// CanaryToken is a canary token an operator made: a URL, a DNS name or a
// document that calls home. Slug is the unguessable part of its URL and
// DNS name; RuleID is the alert rule its firings raise alerts through.
type CanaryToken struct {
	ID            string     `json:"id"`
	Kind          string     `json:"kind"`
	Memo          string     `json:"memo"`
	Slug          string     `json:"-"`
	RuleID        string     `json:"alert_rule_id"`
	CreatedBy     string     `json:"created_by"`
	CreatedAt     time.Time  `json:"created_at"`
	Triggers      int64      `json:"triggers"`
	LastTriggered *time.Time `json:"last_triggered_at,omitempty"`
}

// HoneyCredential is a credential planted in a decky's bait: where it
// lies (decky, service, path) and what it is. Secret is kept in clear:
// the master checks challenge-responses (MySQL's scramble) against it.
type HoneyCredential struct {
	TopologyID string    `json:"topology_id"`
	Decky      string    `json:"decky"`
	Service    string    `json:"service"` // shell, ftp, smb, mail
	Path       string    `json:"path"`
	Kind       string    `json:"kind"` // password
	Principal  string    `json:"principal"`
	Secret     string    `json:"secret"`
	Target     string    `json:"target,omitempty"` // what the bait says it opens (mysql://db07/...)
	PlacedAt   time.Time `json:"placed_at"`
}

// AlertRuleRow is an alert rule as stored. Spec is the rule's JSON
// (package alert's Rule, without id and times): the store keeps it opaque
// and the master validates it before it gets here.
type AlertRuleRow struct {
	ID        string          `json:"id"`
	Name      string          `json:"name"`
	Enabled   bool            `json:"enabled"`
	Spec      json.RawMessage `json:"-"`
	CreatedAt time.Time       `json:"created_at"`
	UpdatedAt time.Time       `json:"updated_at"`
}

// Alert statuses. An alert is open until someone acknowledges it, and
// active (open or acknowledged) until someone closes it; a rule has at
// most one active alert per source.
const (
	AlertOpen         = "open"
	AlertAcknowledged = "acknowledged"
	AlertClosed       = "closed"
)

// Alert is a rule's finding about one source: the evidence that raised
// it (a bounded list of event ids), how many matching events it has
// gathered, and who handled it.
type Alert struct {
	ID string `json:"id"`
	// Key identifies what raised the alert (rule, source and the event
	// that crossed the rule's condition), so a replay of the same events
	// raises nothing new.
	Key      string    `json:"-"`
	RuleID   string    `json:"rule_id"`
	RuleName string    `json:"rule_name"`
	Severity int       `json:"severity"`
	Source   string    `json:"source"` // the source IP, "" for events without one
	Status   string    `json:"status"`
	Title    string    `json:"title"`
	Count    int64     `json:"count"`
	EventIDs []string  `json:"event_ids"`
	First    time.Time `json:"first_seen"`
	Last     time.Time `json:"last_seen"`
	// Times and actors of the status changes.
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`
	AckedBy   string     `json:"acknowledged_by,omitempty"`
	AckedAt   *time.Time `json:"acknowledged_at,omitempty"`
	ClosedBy  string     `json:"closed_by,omitempty"`
	ClosedAt  *time.Time `json:"closed_at,omitempty"`
}

// AlertMatch is one event that matched an alert rule's filter.
type AlertMatch struct {
	RuleID  string
	EventID string
	Source  string
	Time    time.Time
}

// AlertSourceState is what AlertSourceStates knows of one source.
type AlertSourceState struct {
	Matches int64
	Alerted bool
}

// AlertFilter selects alerts. Zero values match everything.
type AlertFilter struct {
	Status string
	RuleID string
	Source string
	// Before is the pagination cursor: alerts with an id below it (ids
	// are UUIDv7: older alerts).
	Before string
	Limit  int
}

// MaxAlertEvidence bounds the event ids an alert keeps as evidence.
const MaxAlertEvidence = 50

// TokenUseResolution is how precisely an API token's LastUsed is kept: a
// use within this long of the recorded one is not written, so that a busy
// client does not make every request a database write.
const TokenUseResolution = time.Minute
