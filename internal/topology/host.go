package topology

import (
	"net/netip"
	"slices"
)

// HostCapabilities is what the agent of a host reports it can build:
// what its driver would otherwise refuse only when asked to apply.
type HostCapabilities struct {
	Driver     string   `json:"driver"`
	LANDrivers []Driver `json:"lan_drivers"`
	// LocalSubnets, when set, are the only networks the driver can put a
	// LAN on (the host driver binds addresses the host already has: the
	// loopback network and its interfaces' networks).
	LocalSubnets []string `json:"local_subnets,omitempty"`
}

// CheckHost reports what of the spec the host cannot build, as the
// errors its agent would answer with.
func CheckHost(s *Spec, c HostCapabilities) *Report {
	r := &Report{}
	var local []netip.Prefix
	for _, l := range c.LocalSubnets {
		if p, err := netip.ParsePrefix(l); err == nil {
			local = append(local, p)
		}
	}
	for _, l := range s.LANs {
		d := l.Driver
		if d == "" {
			d = Bridge
		}
		if !slices.Contains(c.LANDrivers, d) {
			r.errorf(HostLANDriver, Ref{Kind: "lan", Name: l.Name}, "the host's %s driver cannot make %s LANs (it makes %v); use one of those or deploy to another host", c.Driver, d, c.LANDrivers)
		}
		p, err := netip.ParsePrefix(l.Subnet)
		if err != nil || local == nil {
			continue
		}
		if !slices.ContainsFunc(local, func(h netip.Prefix) bool { return h.Overlaps(p) && h.Bits() <= p.Bits() }) {
			r.errorf(HostSubnetNotLocal, Ref{Kind: "lan", Name: l.Name}, "the host's %s driver binds only addresses the host has (%v); subnet %s is not among them: use a 127.0.0.0/8 subnet", c.Driver, c.LocalSubnets, l.Subnet)
		}
	}
	return r
}
