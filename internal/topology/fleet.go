package topology

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"

	"github.com/decnet/decnet/internal/persona"
	"github.com/decnet/decnet/internal/service"
)

// FleetConfig describes the original system's flat deployment: N deckies on
// one LAN, as `decnet deploy --deckies N ...` makes.
type FleetConfig struct {
	Name    string
	Host    string
	Seed    string
	Deckies int
	// Interface, when set, puts the LAN on that host NIC with macvlan (or
	// ipvlan when IPvlan is set) instead of a bridge.
	Interface string
	IPvlan    bool
	Subnet    string // "" allocates one from DefaultSubnetBase
	Gateway   string
	IPStart   string // first address to hand out
	Services  []string
	// RandomizeServices picks 1-3 services per decky from the seed.
	RandomizeServices bool
	Archetype         string
	// Distros are cycled over the deckies; empty means the archetype's
	// preferred distros, then every distro of the family.
	Distros          []string
	RandomizeDistros bool
	Reserved         []netip.Prefix
}

// Fleet builds a one-LAN topology from a FleetConfig. The result is
// allocated but not validated.
func Fleet(c FleetConfig) (*Spec, error) {
	if c.Deckies < 1 || c.Deckies > MaxGeneratedDeckies {
		return nil, fmt.Errorf("--deckies must be between 1 and %d", MaxGeneratedDeckies)
	}
	if len(c.Services) == 0 && !c.RandomizeServices && c.Archetype == "" {
		return nil, errors.New("say what the deckies run: --services, --archetype or --randomize-services")
	}
	if c.Seed == "" {
		return nil, errors.New("fleet: empty identity seed")
	}
	var arch persona.Archetype
	if c.Archetype != "" {
		var ok bool
		if arch, ok = persona.LookupArchetype(c.Archetype); !ok {
			return nil, fmt.Errorf("archetype %q is unknown (see decnet archetypes)", c.Archetype)
		}
	}
	for _, d := range c.Distros {
		if _, ok := persona.LookupDistro(d); !ok {
			return nil, fmt.Errorf("distro %q is unknown (see decnet distros)", d)
		}
	}
	name := c.Name
	if name == "" {
		name = "fleet"
	}
	lan := LAN{Name: "lan", Subnet: c.Subnet, Gateway: c.Gateway, Driver: Bridge, DMZ: true}
	if c.Interface != "" {
		lan.Driver, lan.Parent = Macvlan, c.Interface
		if c.IPvlan {
			lan.Driver = IPvlan
		}
	}
	s := &Spec{Name: name, Host: c.Host, Seed: c.Seed, LANs: []LAN{lan}}
	width := 2
	if c.Deckies >= 100 {
		width = len(fmt.Sprint(c.Deckies))
	}
	for i := range c.Deckies {
		d := Decky{Name: fmt.Sprintf("decky-%0*d", width, i+1), Addresses: []Address{{LAN: "lan"}}}
		id := persona.NewIdentity(c.Seed, d.Name)
		fam := persona.Linux
		if arch.Slug != "" {
			fam = arch.Family
			d.Persona.Archetype = arch.Slug
		}
		switch {
		case len(c.Services) > 0:
			d.Services = slices.Clone(c.Services)
		case arch.Slug != "":
			d.Services = slices.Clone(arch.Services)
		default:
			d.Services = RandomServices(id, fam)
		}
		for _, slug := range d.Services {
			if info, _ := service.Lookup(slug); info.WindowsOnly && !fam.IsWindows() {
				fam = persona.WindowsServer
			}
		}
		var pool []string
		switch {
		case c.RandomizeDistros:
			pool = persona.DistrosOf(fam)
			pool = []string{pool[id.Rand("distro").IntN(len(pool))]}
		case len(c.Distros) > 0:
			pool = c.Distros
		case arch.Slug != "" && fam == arch.Family:
			pool = arch.PreferredDistros
		default:
			pool = persona.DistrosOf(fam)
		}
		d.Persona.OS = string(fam)
		d.Persona.Distro = pool[i%len(pool)]
		if dist, ok := persona.LookupDistro(d.Persona.Distro); ok {
			d.Persona.Hostname = id.Hostname(dist.HostnameStyle)
		}
		s.Deckies = append(s.Deckies, d)
	}
	if c.IPStart != "" {
		start, err := netip.ParseAddr(c.IPStart)
		if err != nil {
			return nil, fmt.Errorf("--ip-start %q is not an IP address", c.IPStart)
		}
		if err := Allocate(s, "", c.Reserved); err != nil {
			return nil, err
		}
		// Re-allocate from start: clear and walk from the requested address.
		p, _ := netip.ParsePrefix(s.LANs[0].Subnet)
		if !p.Contains(start) {
			return nil, fmt.Errorf("--ip-start %s is outside the subnet %s", start, p)
		}
		gw, _ := netip.ParseAddr(s.LANs[0].Gateway)
		alloc := NewIPAllocator(p, gw)
		alloc.next = start
		for i := range s.Deckies {
			ip, err := alloc.Next()
			if err != nil {
				return nil, fmt.Errorf("allocate address for %s: %w", s.Deckies[i].Name, err)
			}
			s.Deckies[i].Addresses[0].IP = ip.String()
		}
		return s, nil
	}
	return s, Allocate(s, "", c.Reserved)
}

// RandomServices picks 1-3 services for a decky from its identity, leaving
// out services that contradict the family (Windows-only ones elsewhere).
func RandomServices(id persona.Identity, fam persona.Family) []string {
	var pool []string
	for _, info := range service.All() {
		if !info.Fits(fam) {
			continue
		}
		pool = append(pool, info.ID)
	}
	r := id.Rand("services")
	r.Shuffle(len(pool), func(i, j int) { pool[i], pool[j] = pool[j], pool[i] })
	want := 1 + r.IntN(3)
	var out []string
	bound := map[service.Port]bool{}
	for _, slug := range pool {
		info, _ := service.Lookup(slug)
		if slices.ContainsFunc(info.Ports, func(p service.Port) bool { return bound[p] }) {
			continue // two services on one port cannot run together
		}
		for _, p := range info.Ports {
			bound[p] = true
		}
		if out = append(out, slug); len(out) == want {
			break
		}
	}
	slices.Sort(out)
	return out
}
