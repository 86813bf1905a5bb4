package docker

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/versions"

	"github.com/decnet/decnet/internal/driver/drivertest"
	"github.com/decnet/decnet/internal/persona"
	"github.com/decnet/decnet/internal/testenv"
	"github.com/decnet/decnet/internal/topology"
)

// TestConformance runs the driver suite on the real engine: bridge LANs,
// and macvlan and ipvlan LANs on a stand-in parent interface.
func TestConformance(t *testing.T) {
	h := newHarness(t)
	testenv.RequireRoot(t)
	testenv.RequireTool(t, "nsenter")
	testenv.RequireTool(t, "ip")
	h.cli.NegotiateAPIVersion(context.Background())
	a, b := 200+rand.IntN(50), rand.IntN(200)
	subnets := map[string]int{"dmz": 0, "inner": 1, "office": 2}
	drivertest.Run(t, drivertest.Harness{
		Driver:     h.drv,
		ID:         h.id,
		EngineMACs: !versions.LessThan(h.cli.ClientVersion(), "1.44"),
		LAN: func(t *testing.T, name string, kind topology.Driver, dmz bool) topology.LAN {
			l := topology.LAN{Name: name, Subnet: fmt.Sprintf("10.%d.%d.0/24", a, b+subnets[name]), Driver: kind, DMZ: dmz}
			if kind != topology.Bridge {
				l.Parent = standInNIC(t, h.id)
				if kind == topology.IPvlan && !kernelHas("ipvlan", l.Parent) {
					// Not a missing tool: this machine's kernel cannot make
					// the interface, whatever is installed.
					t.Skipf("SKIP: this kernel has no ipvlan support (ip link add ... type ipvlan fails)")
				}
			}
			return l
		},
		Inspect: func(t *testing.T, spec *topology.Spec, decky string) drivertest.Seen {
			return h.seen(t, spec, decky)
		},
	})
}

// standInNIC makes a veth pair whose first end stands in for a host NIC
// (not every kernel has dummy interfaces) and removes it after the test.
func standInNIC(t *testing.T, id string) string {
	t.Helper()
	name := fmt.Sprintf("dnt%s%d", id[:6], rand.IntN(1000))
	if out, err := exec.Command("ip", "link", "add", name, "type", "veth", "peer", "name", name+"p").CombinedOutput(); err != nil {
		t.Fatalf("create parent interface: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "link", "del", name).Run() })
	exec.Command("ip", "link", "set", name, "up").Run()
	exec.Command("ip", "link", "set", name+"p", "up").Run()
	return name
}

// kernelHas reports whether the kernel makes links of kind on parent.
func kernelHas(kind, parent string) bool {
	name := "dnk" + strconv.Itoa(rand.IntN(100000))
	if exec.Command("ip", "link", "add", name, "link", parent, "type", kind).Run() != nil {
		return false
	}
	exec.Command("ip", "link", "del", name).Run()
	return true
}

var etherRE = regexp.MustCompile(`link/ether ([0-9a-f:]{17})`)

// seen reads a decky as an outsider: the engine's report of each endpoint,
// and inside its namespaces the interfaces' MACs, the hostname and the
// persona's sysctls.
func (h *harness) seen(t *testing.T, spec *topology.Spec, name string) drivertest.Seen {
	t.Helper()
	ctx := context.Background()
	info, err := h.cli.ContainerInspect(ctx, containerName(h.drv.opts.AgentID, spec.ID, name))
	if err != nil {
		t.Fatal(err)
	}
	pid := strconv.Itoa(info.State.Pid)
	in := func(ns string, args ...string) string {
		out, err := exec.Command("nsenter", append([]string{"-t", pid, ns}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("nsenter %s %v: %v: %s", ns, args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	d := spec.Decky(name)
	s := drivertest.Seen{Hostname: in("-u", "hostname"), Sysctls: map[string]string{}}
	for _, a := range d.Addresses {
		ep := drivertest.Endpoint{IP: a.IP}
		if n := info.NetworkSettings.Networks[networkName(h.drv.opts.AgentID, spec.ID, a.LAN)]; n != nil {
			ep.EngineMAC, ep.IP = n.MacAddress, n.IPAddress
		}
		dev, err := ifaceWithAddr(ctx, pid, a.IP)
		if err != nil {
			t.Fatal(err)
		}
		if m := etherRE.FindStringSubmatch(in("-n", "ip", "-o", "link", "show", "dev", dev)); m != nil {
			ep.LinkMAC = m[1]
		}
		if l := spec.LAN(a.LAN); l.Parent != "" {
			mac, _ := os.ReadFile("/sys/class/net/" + l.Parent + "/address")
			ep.ParentMAC = strings.TrimSpace(string(mac))
		}
		s.Endpoints = append(s.Endpoints, ep)
	}
	fam, _ := persona.LookupFamily(persona.Family(d.Persona.OS))
	for _, sc := range fam.Sysctls {
		s.Sysctls[sc.Key] = in("-n", "cat", "/proc/sys/"+strings.ReplaceAll(sc.Key, ".", "/"))
	}
	return s
}

// TestDockerMACOnTheWire asks nmap, from the host's side of each bridge, who
// answers for a decky on two LANs: the persona's vendor, on both.
func TestDockerMACOnTheWire(t *testing.T) {
	h := newHarness(t)
	testenv.RequireRoot(t)
	nmap := testenv.RequireTool(t, "nmap")
	a, b := 200+rand.IntN(50), rand.IntN(200)
	spec := &topology.Spec{ID: "wire-" + h.id, Name: "wire", Seed: "wire-" + h.id,
		LANs: []topology.LAN{
			{Name: "dmz", Subnet: fmt.Sprintf("10.%d.%d.0/24", a, b), DMZ: true},
			{Name: "lab", Subnet: fmt.Sprintf("10.%d.%d.0/24", a, b+1)},
		},
		Deckies: []topology.Decky{{Name: "dc", Persona: topology.Persona{OS: "windows_server", Distro: "win2019"}, Addresses: []topology.Address{
			{LAN: "dmz", IP: fmt.Sprintf("10.%d.%d.20", a, b)}, {LAN: "lab", IP: fmt.Sprintf("10.%d.%d.20", a, b+1)}}}}}
	h.apply(spec)
	id := persona.NewIdentity(spec.Seed, "dc")
	for i, addr := range spec.Deckies[0].Addresses {
		out, err := exec.Command(nmap, "-sn", "-n", addr.IP).CombinedOutput()
		if err != nil {
			t.Fatalf("nmap %s: %v\n%s", addr.IP, err, out)
		}
		m := regexp.MustCompile(`MAC Address: ([0-9A-F:]{17}) \(([^)]*)\)`).FindStringSubmatch(string(out))
		want := strings.ToUpper(id.MACFor(persona.WindowsServer, i))
		if m == nil || m[1] != want || m[2] == "Unknown" {
			t.Fatalf("nmap on LAN %s sees %q, want %s from a known vendor:\n%s", addr.LAN, m, want, out)
		}
		t.Logf("LAN %s: nmap sees %s (%s)", addr.LAN, m[1], m[2])
	}
}
