package master

import (
	"net/http"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/intel/correlate"
	"github.com/decnet/decnet/internal/master/api"
	"github.com/decnet/decnet/internal/store"
)

// identityRoutes serve what the correlator found: identities, campaigns
// and lateral movement (credential reuse is GET /credentials?reused=true).
func (m *Master) identityRoutes() []api.Route {
	v := store.Viewer
	return []api.Route{
		{Method: http.MethodGet, Pattern: "/identities", Summary: "Identities (source addresses judged one actor), most recently seen first, with the indicator kinds that link them", Role: v, Do: m.listIdentities, Response: api.List[store.Identity]{}},
		{Method: http.MethodGet, Pattern: "/identities/{id}", Summary: "One identity: its sources, the links between them with their reasons, and its indicators", Role: v, Do: m.getIdentity, Response: store.IdentityDetail{}},
		{Method: http.MethodGet, Pattern: "/campaigns", Summary: "Campaigns (identities sharing payloads or infrastructure), most recently seen first", Role: v, Do: m.listCampaigns, Response: api.List[store.Campaign]{}},
		{Method: http.MethodGet, Pattern: "/campaigns/{id}", Summary: "One campaign: its identities and sources, its links with their reasons, and its payloads and infrastructure", Role: v, Do: m.getCampaign, Response: store.CampaignDetail{}},
		{Method: http.MethodGet, Pattern: "/lateral-movement", Summary: "Lateral movement between deckies, newest first (decnet.lateral.movement events, paged)", Role: v, Do: m.listMovement, Response: api.List[event.Event]{}},
	}
}

func (m *Master) listIdentities(r *http.Request, _ *api.Principal) (any, error) {
	if err := onlyParams(r, "limit"); err != nil {
		return nil, err
	}
	p, err := api.ParsePage(r)
	if err != nil {
		return nil, err
	}
	ids, err := m.Store.ListIdentities(r.Context(), p.Limit)
	return api.List[store.Identity]{Items: ids}, err
}

func (m *Master) getIdentity(r *http.Request, _ *api.Principal) (any, error) {
	id := r.PathValue("id")
	if !correlate.IsIdentityID(id) {
		return nil, invalid("%q is not an identity id such as I-0123456789ab", id)
	}
	return m.Store.IdentityByID(r.Context(), id)
}

func (m *Master) listCampaigns(r *http.Request, _ *api.Principal) (any, error) {
	if err := onlyParams(r, "limit"); err != nil {
		return nil, err
	}
	p, err := api.ParsePage(r)
	if err != nil {
		return nil, err
	}
	cs, err := m.Store.ListCampaigns(r.Context(), p.Limit)
	return api.List[store.Campaign]{Items: cs}, err
}

func (m *Master) getCampaign(r *http.Request, _ *api.Principal) (any, error) {
	id := r.PathValue("id")
	if !correlate.IsCampaignID(id) {
		return nil, invalid("%q is not a campaign id such as C-0123456789ab", id)
	}
	return m.Store.CampaignByID(r.Context(), id)
}

func (m *Master) listMovement(r *http.Request, _ *api.Principal) (any, error) {
	if err := onlyParams(r, "limit", "cursor"); err != nil {
		return nil, err
	}
	p, err := api.ParsePage(r)
	if err != nil {
		return nil, err
	}
	evs, err := m.Store.ListEvents(r.Context(), store.EventFilter{Types: []string{correlate.LateralMovementType}, After: p.Cursor, Limit: p.Limit + 1})
	if err != nil {
		return nil, err
	}
	return api.NewList(evs, p.Limit, func(e event.Event) string { return e.ID }), nil
}
