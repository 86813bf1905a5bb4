package query

import (
	"context"
	"slices"
	"strconv"
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

// GroupReader is what a backend reads identities and campaigns with.
// Groups lists the groups by col ("identity" or "campaign") that have
// at least min members (distinct identities for campaigns), or only the
// group id when id is set; GroupLinks returns the links among sources
// (campaign links too when campaigns); GroupIndicators the sources'
// indicators (campaign-grade only when campaignOnly).
type GroupReader interface {
	Groups(ctx context.Context, col, id string, min, limit int) ([]Group, error)
	GroupLinks(ctx context.Context, sources []string, campaigns bool) ([]store.Link, error)
	GroupIndicators(ctx context.Context, sources []string, campaignOnly bool) ([]store.Indicator, error)
}

// GroupCampaign is the campaign column of a group listed by col: for an
// identity, its campaign when that holds another identity.
func GroupCampaign(col string) string {
	if col != "identity" {
		return "min(m.campaign)"
	}
	return `coalesce((SELECT o.campaign FROM intel_members o JOIN intel_members x ON x.campaign = o.campaign
		WHERE x.identity = m.identity AND o.identity <> m.identity LIMIT 1), '')`
}

// GroupHaving is the HAVING condition of groups with at least min
// members: sources for an identity, identities for a campaign.
func GroupHaving(col string, min int) string {
	if col == "campaign" {
		return "count(DISTINCT m.identity) >= " + strconv.Itoa(min)
	}
	return "count(*) >= " + strconv.Itoa(min)
}

// ListIdentities lists the identities of two or more sources.
func ListIdentities(ctx context.Context, r GroupReader, limit int) ([]store.Identity, error) {
	gs, err := r.Groups(ctx, "identity", "", 2, limit)
	if err != nil {
		return nil, err
	}
	out := []store.Identity{}
	for _, g := range gs {
		ls, err := r.GroupLinks(ctx, g.Sources, false)
		if err != nil {
			return nil, err
		}
		out = append(out, g.AsIdentity(ls))
	}
	return out, nil
}

// IdentityByID reads one identity; store.ErrNotFound when no source has
// it.
func IdentityByID(ctx context.Context, r GroupReader, id string) (*store.IdentityDetail, error) {
	g, links, ins, err := group(ctx, r, "identity", id)
	if err != nil {
		return nil, err
	}
	return &store.IdentityDetail{Identity: g.AsIdentity(links), Links: links, Indicators: ins}, nil
}

// ListCampaigns lists the campaigns of two or more identities.
func ListCampaigns(ctx context.Context, r GroupReader, limit int) ([]store.Campaign, error) {
	gs, err := r.Groups(ctx, "campaign", "", 2, limit)
	if err != nil {
		return nil, err
	}
	out := []store.Campaign{}
	for _, g := range gs {
		ls, err := r.GroupLinks(ctx, g.Sources, true)
		if err != nil {
			return nil, err
		}
		out = append(out, g.AsCampaign(ls))
	}
	return out, nil
}

// CampaignByID reads one campaign; store.ErrNotFound when no source has
// it.
func CampaignByID(ctx context.Context, r GroupReader, id string) (*store.CampaignDetail, error) {
	g, links, ins, err := group(ctx, r, "campaign", id)
	if err != nil {
		return nil, err
	}
	return &store.CampaignDetail{Campaign: g.AsCampaign(links), Links: links, Indicators: ins}, nil
}

func group(ctx context.Context, r GroupReader, col, id string) (Group, []store.Link, []store.Indicator, error) {
	gs, err := r.Groups(ctx, col, id, 1, 1)
	if err == nil && len(gs) == 0 {
		err = store.ErrNotFound
	}
	if err != nil {
		return Group{}, nil, nil, err
	}
	campaign := col == "campaign"
	links, err := r.GroupLinks(ctx, gs[0].Sources, campaign)
	if err != nil {
		return Group{}, nil, nil, err
	}
	ins, err := r.GroupIndicators(ctx, gs[0].Sources, campaign)
	return gs[0], links, ins, err
}
