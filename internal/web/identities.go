package web

import (
	"fmt"
	"net/http"

	"github.com/decnet/decnet/internal/intel/correlate"
	"github.com/decnet/decnet/internal/master/api"
	"github.com/decnet/decnet/internal/store"
)

func (s *Server) identities(r *http.Request, _ *api.Principal) (string, any, error) {
	ids, err := s.st.ListIdentities(r.Context(), listCap)
	return "Identities", ids, err
}

// groupView is an identity or campaign page: the group, its links with
// their reasons, its indicators, and its sources as attackers.
type groupView struct {
	Identity   *store.IdentityDetail
	Campaign   *store.CampaignDetail
	Links      []store.Link
	Indicators []store.Indicator
	Attackers  []store.Attacker
}

func (s *Server) identity(r *http.Request, _ *api.Principal) (string, any, error) {
	id := r.PathValue("id")
	if !correlate.IsIdentityID(id) {
		return "", nil, fmt.Errorf("%w: %q is not an identity id", errBadRequest, id)
	}
	d, err := s.st.IdentityByID(r.Context(), id)
	if err != nil {
		return "", nil, err
	}
	as, err := s.st.ListAttackers(r.Context(), store.AttackerFilter{Identity: id, Limit: listCap})
	if err != nil {
		return "", nil, err
	}
	return "Identity " + id, groupView{Identity: d, Links: d.Links, Indicators: d.Indicators, Attackers: as}, nil
}

func (s *Server) campaigns(r *http.Request, _ *api.Principal) (string, any, error) {
	cs, err := s.st.ListCampaigns(r.Context(), listCap)
	return "Campaigns", cs, err
}

func (s *Server) campaign(r *http.Request, _ *api.Principal) (string, any, error) {
	id := r.PathValue("id")
	if !correlate.IsCampaignID(id) {
		return "", nil, fmt.Errorf("%w: %q is not a campaign id", errBadRequest, id)
	}
	d, err := s.st.CampaignByID(r.Context(), id)
	if err != nil {
		return "", nil, err
	}
	as, err := s.st.ListAttackers(r.Context(), store.AttackerFilter{Campaign: id, Limit: listCap})
	if err != nil {
		return "", nil, err
	}
	return "Campaign " + id, groupView{Campaign: d, Links: d.Links, Indicators: d.Indicators, Attackers: as}, nil
}
