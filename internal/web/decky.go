package web

import (
	"fmt"
	"net/http"
	"net/url"

	"github.com/decnet/decnet/internal/master"
	"github.com/decnet/decnet/internal/master/api"
	"github.com/decnet/decnet/internal/store"
	"github.com/decnet/decnet/internal/topology"
)

// deckyView is the decky page: its facts and the Deception panel, which
// its script fills from the API.
type deckyView struct {
	T      *store.Topology
	D      *topology.Decky
	Ports  []uint16
	Events string
	// Tokens are the canary tokens whose document can be dropped.
	Tokens []master.CanaryToken
}

func (s *Server) decky(r *http.Request, _ *api.Principal) (string, any, error) {
	ctx := r.Context()
	t, spec, err := s.loadTopology(r)
	if err != nil {
		return "", nil, err
	}
	d := spec.Decky(r.PathValue("decky"))
	if d == nil {
		return "", nil, store.ErrNotFound
	}
	v := deckyView{T: t, D: d, Ports: topology.TCPPortsOf(d), Events: "/events?" + url.Values{"decky": {d.Name}}.Encode()}
	if s.tokens != nil {
		ts, err := s.tokens.CanaryTokens(ctx)
		if err != nil {
			return "", nil, err
		}
		for _, tok := range ts {
			if tok.Document != "" {
				v.Tokens = append(v.Tokens, tok)
			}
		}
	}
	return "Decky " + d.Name, v, nil
}

// loadTopology reads the topology a page's path names, with its spec.
func (s *Server) loadTopology(r *http.Request) (*store.Topology, *topology.Spec, error) {
	id := r.PathValue("id")
	if !idRE.MatchString(id) {
		return nil, nil, store.ErrNotFound
	}
	t, err := s.st.Topology(r.Context(), id)
	if err != nil {
		return nil, nil, err
	}
	spec, err := topology.DecodeBytes(t.Spec)
	if err != nil {
		return nil, nil, fmt.Errorf("topology %s: %w", t.ID, err)
	}
	return t, spec, nil
}
