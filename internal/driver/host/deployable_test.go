package host

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/decnet/decnet/internal/persona"
	"github.com/decnet/decnet/internal/service"
	"github.com/decnet/decnet/internal/testenv"
	"github.com/decnet/decnet/internal/topology"
)

// Every archetype, and every topology the generator makes from seeds 1
// to 10, deploys on the host driver, and every port of every service of
// every decky answers: nothing in the catalogue is a placeholder.
func TestEveryArchetypeAndGeneratedTopologyDeploys(t *testing.T) {
	testenv.RequireLowPorts(t)
	if testenv.Short() {
		t.Skip("SKIP: deploys ~25 topologies")
	}
	// 127.<b>.0.0/16 of its own for the run: the LANs are /24s in it.
	b := 100 + rand.IntN(100)
	var specs []*topology.Spec
	for i, a := range persona.Archetypes() {
		spec, err := topology.Fleet(topology.FleetConfig{Name: "arch-" + a.Slug, Seed: "deployable-" + a.Slug, Deckies: 1,
			Archetype: a.Slug, Subnet: fmt.Sprintf("127.%d.%d.0/24", b, i+1)})
		if err != nil {
			t.Fatalf("archetype %s: %v", a.Slug, err)
		}
		specs = append(specs, spec)
	}
	for seed := uint64(1); seed <= 10; seed++ {
		c := topology.DefaultGenConfig
		c.Seed, c.Name = seed, fmt.Sprintf("gen-%d", seed)
		c.SubnetBase = fmt.Sprintf("127.%d.%d.0/20", b, 16*int(seed))
		spec, err := topology.Generate(c)
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		specs = append(specs, spec)
	}
	// The original's branch-office INI, moved from its macvlan on eth0 to
	// a loopback bridge the host driver can bind.
	f, err := os.Open(filepath.Join("..", "..", "topology", "testdata", "ini", "full.ini"))
	if err != nil {
		t.Fatal(err)
	}
	ini, _, err := topology.ImportINI(f, topology.INIOptions{Seed: "deployable-ini"})
	f.Close()
	if err != nil {
		t.Fatalf("full.ini: %v", err)
	}
	ini.Name = "original-ini"
	for i, l := range ini.LANs {
		from := strings.TrimSuffix(l.Subnet, "0/24")
		to := fmt.Sprintf("127.%d.%d.", b, 250-i)
		ini.LANs[i].Subnet, ini.LANs[i].Gateway = to+"0/24", strings.Replace(l.Gateway, from, to, 1)
		ini.LANs[i].Driver, ini.LANs[i].Parent = topology.Bridge, ""
		for j := range ini.Deckies {
			for k, a := range ini.Deckies[j].Addresses {
				if a.LAN == l.Name {
					ini.Deckies[j].Addresses[k].IP = strings.Replace(a.IP, from, to, 1)
				}
			}
		}
	}
	specs = append(specs, ini)
	d := New(t.TempDir(), testenv.Logger(t, 0))
	t.Cleanup(func() { d.Teardown(context.Background()) })
	for _, spec := range specs {
		spec.ID = spec.Name + "-" + testenv.RunID()
		if err := topology.Validate(spec, topology.Options{}).Err(); err != nil {
			t.Errorf("%s does not validate: %v", spec.Name, err)
			continue
		}
		if rep := topology.CheckImplemented(spec); rep.Err() != nil {
			var missing []string
			for _, i := range rep.Errors() {
				missing = append(missing, i.Object.Decky+"/"+i.Object.Name)
			}
			t.Errorf("%s is not deployable: %s", spec.Name, strings.Join(missing, ", "))
			continue
		}
		t.Run(spec.Name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := d.Apply(ctx, spec, nil); err != nil {
				t.Fatalf("apply: %v", err)
			}
			for _, dk := range spec.Deckies {
				for _, slug := range dk.Services {
					info, _ := service.Lookup(slug)
					for _, a := range dk.Addresses {
						for _, p := range info.Ports {
							ap := netip.AddrPortFrom(netip.MustParseAddr(a.IP), p.Number)
							testenv.Eventually(t, 20*time.Second, fmt.Sprintf("%s %s on %s/%s", dk.Name, slug, ap, p.Proto), func() bool {
								return answers(ap, p.Proto)
							})
						}
					}
				}
			}
			if err := d.Teardown(context.Background()); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// answers says whether a TCP port accepts or a UDP port is bound.
func answers(ap netip.AddrPort, proto service.Proto) bool {
	if proto == service.UDP {
		return testenv.UDPBound(ap)
	}
	c, err := net.DialTimeout("tcp", ap.String(), time.Second)
	if err == nil {
		c.Close()
	}
	return err == nil
}
