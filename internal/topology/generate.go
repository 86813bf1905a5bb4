package topology

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"

	"github.com/decnet/decnet/internal/persona"
	"github.com/decnet/decnet/internal/service"
)

// Generator limits keep a typo in depth or branching from producing a
// topology no host can run.
const (
	MaxGeneratedLANs    = 256
	MaxGeneratedDeckies = 1024
)

// GenConfig drives Generate.
type GenConfig struct {
	Name       string `json:"name"`
	Host       string `json:"host,omitempty"`
	Depth      int    `json:"depth"`       // levels of LANs below the DMZ, 0..16
	Branching  int    `json:"branching"`   // at most this many child LANs per LAN, 1..8
	DeckiesMin int    `json:"deckies_min"` // deckies per non-DMZ LAN, 0..32 (at least one is placed)
	DeckiesMax int    `json:"deckies_max"` // 1..32, >= DeckiesMin
	// BridgeForward is the probability that a bridge decky forwards L3.
	BridgeForward float64 `json:"bridge_forward_probability"`
	// CrossEdge is the probability that a LAN gets an extra link to a LAN
	// other than its parent and children.
	CrossEdge  float64 `json:"cross_edge_probability"`
	SubnetBase string  `json:"subnet_base,omitempty"`
	// Reserved subnets are skipped when allocating (other topologies on the
	// host, its routes, engine networks).
	Reserved []netip.Prefix `json:"-"`
	// Services, when set, is the service list of every decky; otherwise each
	// decky takes a random archetype and its services.
	Services []string `json:"services,omitempty"`
	// Seed makes the run reproducible: the same seed gives the same spec,
	// identity seed included, and so the same hash.
	Seed uint64 `json:"seed"`
}

// DefaultGenConfig is the generator's configuration when nothing is given.
var DefaultGenConfig = GenConfig{
	Name: "generated", Depth: 2, Branching: 2, DeckiesMin: 1, DeckiesMax: 3,
	BridgeForward: 1.0, CrossEdge: 0, SubnetBase: DefaultSubnetBase,
}

func (c *GenConfig) check() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if c.Depth < 0 || c.Depth > 16 {
		bad("depth %d is outside 0..16", c.Depth)
	}
	if c.Branching < 1 || c.Branching > 8 {
		bad("branching %d is outside 1..8", c.Branching)
	}
	if c.DeckiesMin < 0 || c.DeckiesMin > 32 {
		bad("deckies-min %d is outside 0..32", c.DeckiesMin)
	}
	if c.DeckiesMax < 1 || c.DeckiesMax > 32 || c.DeckiesMax < c.DeckiesMin {
		bad("deckies-max %d is outside max(1, deckies-min)..32", c.DeckiesMax)
	}
	if c.BridgeForward < 0 || c.BridgeForward > 1 {
		bad("bridge forward probability %g is outside 0..1", c.BridgeForward)
	}
	if c.CrossEdge < 0 || c.CrossEdge > 1 {
		bad("cross-edge probability %g is outside 0..1", c.CrossEdge)
	}
	if !ValidName(c.Name) {
		bad("name %q is not a valid topology name", c.Name)
	}
	for _, s := range c.Services {
		if _, ok := service.Lookup(s); !ok {
			bad("service %q is unknown (see decnet services)", s)
		}
	}
	return errors.Join(errs...)
}

// IdentitySeed derives a topology identity seed from a generator seed.
func IdentitySeed(genSeed uint64) string {
	sum := sha256.Sum256(fmt.Appendf(nil, "decnet/generate/%d", genSeed))
	return hex.EncodeToString(sum[:16])
}

type genLAN struct {
	name     string
	parent   int // index, -1 for the DMZ
	children []int
	deckies  []int
}

// Generate builds a random tree of LANs below a DMZ, with deckies on each
// and bridge deckies linking every LAN to its parent. The result always
// validates; the same config gives the same spec.
func Generate(c GenConfig) (*Spec, error) {
	if err := c.check(); err != nil {
		return nil, fmt.Errorf("generate topology: %w", err)
	}
	r := rand.New(rand.NewPCG(c.Seed, c.Seed^0x9e3779b97f4a7c15))
	s := &Spec{Name: c.Name, Host: c.Host, Seed: IdentitySeed(c.Seed)}

	lans := []genLAN{{name: "LAN-00", parent: -1}}
	frontier := []int{0}
	for level := 1; level <= c.Depth; level++ {
		var next []int
		for _, p := range frontier {
			for range 1 + r.IntN(c.Branching) {
				if len(lans) >= MaxGeneratedLANs {
					return nil, fmt.Errorf("generate topology: more than %d LANs; lower depth or branching", MaxGeneratedLANs)
				}
				idx := len(lans)
				lans = append(lans, genLAN{name: fmt.Sprintf("LAN-%02d", idx), parent: p})
				lans[p].children = append(lans[p].children, idx)
				next = append(next, idx)
			}
		}
		frontier = next
	}
	for i, l := range lans {
		s.LANs = append(s.LANs, LAN{Name: l.name, Driver: Bridge, DMZ: i == 0})
	}

	for i := range lans {
		n := 1
		if i > 0 {
			n = max(1, c.DeckiesMin+r.IntN(c.DeckiesMax-c.DeckiesMin+1))
		}
		for range n {
			if len(s.Deckies) >= MaxGeneratedDeckies {
				return nil, fmt.Errorf("generate topology: more than %d deckies; lower the deckies per LAN", MaxGeneratedDeckies)
			}
			name := fmt.Sprintf("decky-%03d", len(s.Deckies)+1)
			d := Decky{Name: name, Addresses: []Address{{LAN: lans[i].name}}}
			c.persona(r, s.Seed, &d)
			lans[i].deckies = append(lans[i].deckies, len(s.Deckies))
			s.Deckies = append(s.Deckies, d)
		}
	}

	// Bridges: one decky of every non-DMZ LAN also sits on its parent.
	for i := 1; i < len(lans); i++ {
		d := &s.Deckies[lans[i].deckies[r.IntN(len(lans[i].deckies))]]
		d.Addresses = append(d.Addresses, Address{LAN: lans[lans[i].parent].name})
		d.ForwardsL3 = d.ForwardsL3 || r.Float64() < c.BridgeForward
	}
	// Cross edges to a LAN other than self, parent and children.
	if c.CrossEdge > 0 {
		for i := 1; i < len(lans); i++ {
			if r.Float64() >= c.CrossEdge {
				continue
			}
			var peers []int
			for j := range lans {
				if j != i && j != lans[i].parent && !slices.Contains(lans[i].children, j) {
					peers = append(peers, j)
				}
			}
			if len(peers) == 0 {
				continue
			}
			peer := lans[peers[r.IntN(len(peers))]].name
			d := &s.Deckies[lans[i].deckies[r.IntN(len(lans[i].deckies))]]
			if slices.ContainsFunc(d.Addresses, func(a Address) bool { return a.LAN == peer }) {
				continue
			}
			d.Addresses = append(d.Addresses, Address{LAN: peer})
			d.ForwardsL3 = d.ForwardsL3 || r.Float64() < c.BridgeForward
		}
	}

	base := c.SubnetBase
	if base == "" {
		base = DefaultSubnetBase
	}
	if err := Allocate(s, base, c.Reserved); err != nil {
		return nil, fmt.Errorf("generate topology: %w", err)
	}
	if err := Validate(s, Options{}).Err(); err != nil {
		return nil, fmt.Errorf("generate topology: generated spec does not validate (a bug): %w", err)
	}
	return s, nil
}

// persona gives a generated decky a consistent persona and service set.
func (c *GenConfig) persona(r *rand.Rand, seed string, d *Decky) {
	if len(c.Services) > 0 {
		d.Services = slices.Clone(c.Services)
		fam := persona.Linux
		for _, slug := range c.Services {
			if info, _ := service.Lookup(slug); info.WindowsOnly {
				fam = persona.WindowsServer
			}
		}
		distros := persona.DistrosOf(fam)
		d.Persona = Persona{OS: string(fam), Distro: distros[r.IntN(len(distros))]}
	} else {
		all := persona.Archetypes()
		a := all[r.IntN(len(all))]
		d.Services = slices.Clone(a.Services)
		d.Persona = Persona{OS: string(a.Family), Distro: a.PreferredDistros[r.IntN(len(a.PreferredDistros))], Archetype: a.Slug}
	}
	dist, _ := persona.LookupDistro(d.Persona.Distro)
	d.Persona.Hostname = persona.NewIdentity(seed, d.Name).Hostname(dist.HostnameStyle)
}
