package query

import (
	"slices"
	"time"

	"github.com/decnet/decnet/internal/store"
)

// Group is one identity or campaign as both backends read it from the
// members and attackers tables.
type Group struct {
	ID         string
	Campaign   string
	Sources    []string
	Identities []string
	FirstSeen  time.Time
	LastSeen   time.Time
	Events     int64
}

// AsIdentity is the group as an identity, with the kinds of its links.
func (g Group) AsIdentity(links []store.Link) store.Identity {
	slices.Sort(g.Sources)
	return store.Identity{ID: g.ID, Campaign: g.Campaign, Sources: g.Sources, Kinds: LinkKinds(links),
		FirstSeen: g.FirstSeen, LastSeen: g.LastSeen, Events: g.Events}
}

// AsCampaign is the group as a campaign, with the kinds of its links.
func (g Group) AsCampaign(links []store.Link) store.Campaign {
	slices.Sort(g.Sources)
	slices.Sort(g.Identities)
	return store.Campaign{ID: g.ID, Identities: g.Identities, Sources: g.Sources, Kinds: LinkKinds(links),
		FirstSeen: g.FirstSeen, LastSeen: g.LastSeen, Events: g.Events}
}

// LinkKinds returns the indicator kinds the links give as reasons, sorted.
func LinkKinds(links []store.Link) []string {
	kinds := []string{}
	for _, l := range links {
		for _, r := range l.Reasons {
			if !slices.Contains(kinds, r.Kind) {
				kinds = append(kinds, r.Kind)
			}
		}
	}
	slices.Sort(kinds)
	return kinds
}
