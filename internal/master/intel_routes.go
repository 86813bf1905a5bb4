package master

import (
	"fmt"
	"net/http"
	"net/netip"
	"time"

	"github.com/decnet/decnet/internal/intel/attack"
	"github.com/decnet/decnet/internal/intel/correlate"
	"github.com/decnet/decnet/internal/master/api"
	"github.com/decnet/decnet/internal/store"
)

// intelRoutes serve the attacker intelligence that is not a plain store
// read: the ATT&CK rules and Navigator layers.
func (m *Master) intelRoutes() []api.Route {
	v := store.Viewer
	return []api.Route{
		{Method: http.MethodGet, Pattern: "/attackers/{ip}/attack-layer", Summary: "An attacker's ATT&CK techniques as an ATT&CK Navigator layer (format 4.5)", Role: v, Do: m.attackerLayer, Response: attack.Layer{}},
		{Method: http.MethodGet, Pattern: "/identities/{id}/attack-layer", Summary: "The ATT&CK techniques of an identity's addresses as an ATT&CK Navigator layer (format 4.5)", Role: v, Do: m.groupLayer("identity"), Response: attack.Layer{}},
		{Method: http.MethodGet, Pattern: "/campaigns/{id}/attack-layer", Summary: "The ATT&CK techniques of a campaign's addresses as an ATT&CK Navigator layer (format 4.5)", Role: v, Do: m.groupLayer("campaign"), Response: attack.Layer{}},
		{Method: http.MethodGet, Pattern: "/attack-layer", Summary: "The ATT&CK techniques of every attacker in a time range (?since, ?until: RFC 3339) as an ATT&CK Navigator layer (format 4.5)", Role: v, Do: m.fleetLayer, Response: attack.Layer{}},
		{Method: http.MethodGet, Pattern: "/attack/rules", Summary: "The ATT&CK tagging rules: version, ATT&CK release, techniques and rules", Role: v, Do: m.attackRules, Response: attack.File{}},
	}
}

func (m *Master) attackerLayer(r *http.Request, _ *api.Principal) (any, error) {
	ip, err := netip.ParseAddr(r.PathValue("ip"))
	if err != nil {
		return nil, fmt.Errorf("%w: %q is not an IP address", api.ErrInvalid, r.PathValue("ip"))
	}
	a, err := m.Store.Attacker(r.Context(), ip.Unmap().String())
	if err != nil {
		return nil, err
	}
	desc := fmt.Sprintf("ATT&CK techniques of %s as tagged by DECNET: %d events from %s to %s.", a.IP, a.Events,
		a.FirstSeen.Format(layerTime), a.LastSeen.Format(layerTime))
	return m.Attack.File().Layer("DECNET attacker "+a.IP, desc, layerCounts(a.Techniques)), nil
}

const layerTime = "2006-01-02 15:04Z07:00"

// groupLayer serves the layer of an identity or a campaign: the
// techniques of its addresses, summed.
func (m *Master) groupLayer(kind string) func(*http.Request, *api.Principal) (any, error) {
	return func(r *http.Request, _ *api.Principal) (any, error) {
		id := r.PathValue("id")
		f := store.AttackerFilter{Limit: 1000}
		switch {
		case kind == "identity" && correlate.IsIdentityID(id):
			f.Identity = id
		case kind == "campaign" && correlate.IsCampaignID(id):
			f.Campaign = id
		default:
			return nil, invalid("%q is not a %s id", id, kind)
		}
		as, err := m.Store.ListAttackers(r.Context(), f)
		if err != nil {
			return nil, err
		}
		if len(as) == 0 {
			return nil, notFound("no %s %s", kind, id)
		}
		sum := map[string]int64{}
		var ids []string
		var events int64
		for _, a := range as {
			events += a.Events
			for _, t := range a.Techniques {
				if _, ok := sum[t.ID]; !ok {
					ids = append(ids, t.ID)
				}
				sum[t.ID] += t.Events
			}
		}
		counts := make([]attack.Count, len(ids))
		for i, t := range ids {
			counts[i] = attack.Count{Technique: t, Events: sum[t]}
		}
		desc := fmt.Sprintf("ATT&CK techniques of DECNET %s %s as tagged by DECNET: %d addresses, %d events.", kind, id, len(as), events)
		return m.Attack.File().Layer("DECNET "+kind+" "+id, desc, counts), nil
	}
}

func layerCounts(ts []store.TechniqueCount) []attack.Count {
	counts := make([]attack.Count, len(ts))
	for i, t := range ts {
		counts[i] = attack.Count{Technique: t.ID, Events: t.Events}
	}
	return counts
}

func (m *Master) fleetLayer(r *http.Request, _ *api.Principal) (any, error) {
	q := r.URL.Query()
	var since, until time.Time
	for k := range q {
		if k != "since" && k != "until" {
			return nil, fmt.Errorf("%w: unknown query parameter %q (since and until are allowed)", api.ErrInvalid, k)
		}
	}
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"since", &since}, {"until", &until}} {
		if v := q.Get(p.name); v != "" {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				return nil, fmt.Errorf("%w: %s must be an RFC 3339 time such as 2026-01-02T15:04:05Z", api.ErrInvalid, p.name)
			}
			*p.dst = t.UTC()
		}
	}
	if !since.IsZero() && !until.IsZero() && !since.Before(until) {
		return nil, fmt.Errorf("%w: since must be before until", api.ErrInvalid)
	}
	counts, err := m.Store.TechniqueCounts(r.Context(), since, until)
	if err != nil {
		return nil, err
	}
	from, to := "the first event", "now"
	if !since.IsZero() {
		from = since.Format(layerTime)
	}
	if !until.IsZero() {
		to = until.Format(layerTime)
	}
	return m.Attack.File().Layer("DECNET fleet", fmt.Sprintf("ATT&CK techniques of every attacker as tagged by DECNET, from %s to %s.", from, to),
		layerCounts(counts)), nil
}

func (m *Master) attackRules(*http.Request, *api.Principal) (any, error) {
	return m.Attack.File(), nil
}
