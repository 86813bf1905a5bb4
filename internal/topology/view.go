package topology

import "slices"

// ForDecky returns the part of the spec one decky needs to run: the
// topology's identity, the decky, the LANs it sits on and the custom
// services it uses. It is what a decky process receives, and what a driver
// hashes to decide whether the decky changed. Nil when there is no such
// decky.
func (s *Spec) ForDecky(name string) *Spec {
	d := s.Decky(name)
	if d == nil {
		return nil
	}
	v := &Spec{ID: s.ID, Name: s.Name, Host: s.Host, Seed: s.Seed}
	dc := *d
	dc.UI = nil
	v.Deckies = []Decky{dc}
	for _, a := range d.Addresses {
		if l := s.LAN(a.LAN); l != nil {
			lc := *l
			lc.UI = nil
			v.LANs = append(v.LANs, lc)
		}
	}
	for _, c := range s.Custom {
		if slices.Contains(d.Services, c.Name) {
			v.Custom = append(v.Custom, c)
		}
	}
	return v
}
