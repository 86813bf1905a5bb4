package master

import (
	"fmt"
	"net/http"
	"net/netip"

	"github.com/decnet/decnet/internal/intel/attack"
	"github.com/decnet/decnet/internal/master/api"
	"github.com/decnet/decnet/internal/store"
)

// intelRoutes serve the attacker intelligence that is not a plain store
// read: the ATT&CK rules and Navigator layers.
func (m *Master) intelRoutes() []api.Route {
	v := store.Viewer
	return []api.Route{
		{Method: http.MethodGet, Pattern: "/attackers/{ip}/attack-layer", Summary: "An attacker's ATT&CK techniques as an ATT&CK Navigator layer (format 4.5)", Role: v, Do: m.attackerLayer},
		{Method: http.MethodGet, Pattern: "/attack/rules", Summary: "The ATT&CK tagging rules: version, ATT&CK release, techniques and rules", Role: v, Do: m.attackRules},
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
	counts := make([]attack.Count, len(a.Techniques))
	for i, t := range a.Techniques {
		counts[i] = attack.Count{Technique: t.ID, Events: t.Events}
	}
	desc := fmt.Sprintf("ATT&CK techniques of %s as tagged by DECNET: %d events from %s to %s.", a.IP, a.Events,
		a.FirstSeen.Format("2006-01-02 15:04Z07:00"), a.LastSeen.Format("2006-01-02 15:04Z07:00"))
	return m.Attack.File().Layer("DECNET attacker "+a.IP, desc, counts), nil
}

func (m *Master) attackRules(*http.Request, *api.Principal) (any, error) {
	return m.Attack.File(), nil
}
