package store

import (
	"context"
	"time"
)

// Indicator is something a source address showed that can tie it to
// other sources: a client key, the list of credentials it tried, a
// payload it dropped, a server it pointed a download at. Identity-grade
// indicators link sources into an identity; campaign-grade ones link
// identities into a campaign.
type Indicator struct {
	Kind  string `json:"kind"`
	Value string `json:"value"`
	// Detail says what the value stands for, for people (the commands of
	// a command sequence, the key type of a key).
	Detail    string    `json:"detail,omitempty"`
	SrcIP     string    `json:"src_ip"`
	Campaign  bool      `json:"campaign"`
	FirstSeen time.Time `json:"first_seen"`
	// EventID is the event that first showed it.
	EventID string `json:"event_id"`
}

// Link says why two sources are one identity or, when Campaign, why
// their identities are one campaign: the indicators they share.
type Link struct {
	A        string       `json:"a"`
	B        string       `json:"b"`
	Campaign bool         `json:"campaign"`
	Reasons  []LinkReason `json:"reasons"`
	Time     time.Time    `json:"ts"`
	// EventID is the event that made the link.
	EventID string `json:"event_id"`
}

// LinkReason is one indicator two linked sources share.
type LinkReason struct {
	Kind   string  `json:"kind"`
	Value  string  `json:"value"`
	Detail string  `json:"detail,omitempty"`
	Weight float64 `json:"weight"`
}

// Membership is the identity and campaign a linked source belongs to.
type Membership struct {
	SrcIP    string `json:"src_ip"`
	Identity string `json:"identity"`
	Campaign string `json:"campaign"`
}

// Sequence is the correlator's progress on an ordered list it hashes into
// an indicator (the first credentials of a source, the first commands of
// a session) or a set it keeps (the deckies a source logged into), so a
// restart resumes it instead of starting over.
type Sequence struct {
	Key   string   `json:"key"`
	Items []string `json:"items"`
	Done  bool     `json:"done"`
}

// CredentialSighting is a plaintext credential tried on a decky: Key is
// the hash of its principal and secret.
type CredentialSighting struct {
	Key   string
	Decky string
	SrcIP string
	Time  time.Time
}

// CorrelationBatch is what the correlator learned from one batch of
// events; it is stored in one transaction, idempotently.
type CorrelationBatch struct {
	Indicators []Indicator
	Links      []Link
	Members    []Membership
	Sequences  []Sequence
	Sightings  []CredentialSighting
}

// Empty reports whether there is nothing to store.
func (b *CorrelationBatch) Empty() bool {
	return len(b.Indicators)+len(b.Links)+len(b.Members)+len(b.Sequences)+len(b.Sightings) == 0
}

// CorrelationState is everything the correlator keeps, as it reads it
// back when it starts.
type CorrelationState struct {
	Indicators []Indicator
	Links      []Link
	Sequences  []Sequence
	Sightings  []CredentialSighting
}

// Identity is a set of source addresses judged to be one actor.
type Identity struct {
	ID       string   `json:"id"`
	Campaign string   `json:"campaign,omitempty"`
	Sources  []string `json:"sources"`
	// Kinds are the indicator kinds that link its sources.
	Kinds     []string  `json:"kinds"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
	Events    int64     `json:"events"`
}

// IdentityDetail is an identity with the links that make it and its
// sources' indicators.
type IdentityDetail struct {
	Identity
	Links      []Link      `json:"links"`
	Indicators []Indicator `json:"indicators"`
}

// Campaign is a set of identities sharing payloads or infrastructure.
type Campaign struct {
	ID         string    `json:"id"`
	Identities []string  `json:"identities"`
	Sources    []string  `json:"sources"`
	Kinds      []string  `json:"kinds"`
	FirstSeen  time.Time `json:"first_seen"`
	LastSeen   time.Time `json:"last_seen"`
	Events     int64     `json:"events"`
}

// CampaignDetail is a campaign with its links (identity and campaign
// grade) and its campaign-grade indicators.
type CampaignDetail struct {
	Campaign
	Links      []Link      `json:"links"`
	Indicators []Indicator `json:"indicators"`
}

// CorrelationStore is what the correlator keeps and the API reads.
type CorrelationStore interface {
	// ApplyCorrelation stores a batch in one transaction: indicators and
	// links are inserted unless stored, memberships and sequences
	// replaced.
	ApplyCorrelation(ctx context.Context, b *CorrelationBatch) error
	LoadCorrelation(ctx context.Context) (*CorrelationState, error)
	// ClearCorrelation deletes everything the correlator keeps, before a
	// rebuild.
	ClearCorrelation(ctx context.Context) error
	// ListIdentities returns the identities of two or more sources, most
	// recently seen first; ListCampaigns the campaigns of two or more
	// identities.
	ListIdentities(ctx context.Context, limit int) ([]Identity, error)
	IdentityByID(ctx context.Context, id string) (*IdentityDetail, error)
	ListCampaigns(ctx context.Context, limit int) ([]Campaign, error)
	CampaignByID(ctx context.Context, id string) (*CampaignDetail, error)
}
