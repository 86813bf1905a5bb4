package docker

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"

	"github.com/decnet/decnet/internal/testenv"
	"github.com/decnet/decnet/internal/topology"
)

type harness struct {
	t   *testing.T
	cli *client.Client
	drv *Driver
	id  string
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	testenv.RequireDocker(t)
	bin := testenv.DecnetBinary(t)
	run := testenv.RunID()
	drv, err := New(Options{
		AgentID: "t-" + run, Binary: bin, SpoolDir: t.TempDir(),
		ExtraLabels: map[string]string{testenv.RunLabel: run},
	})
	if err != nil {
		t.Fatal(err)
	}
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, cli: cli, drv: drv, id: run}
	// Cleanups run last-in first-out: teardown first, then a sweep of
	// whatever this run left if an apply failed half way.
	testenv.CleanupDocker(t, testenv.RunLabel+"="+run)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := drv.Teardown(ctx); err != nil {
			t.Errorf("cleanup teardown: %v", err)
		}
		drv.Close()
		cli.Close()
	})
	return h
}

// containers returns this run's decky containers by decky name.
func (h *harness) containers() map[string]container.Summary {
	return h.byDecky(func(c container.Summary) bool { return c.Labels[LabelRole] == "decky" })
}

// cloaks returns this run's cloak containers by decky name.
func (h *harness) cloaks() map[string]container.Summary {
	return h.byDecky(func(c container.Summary) bool { return c.Labels[LabelService] == CloakService })
}

func (h *harness) byDecky(keep func(container.Summary) bool) map[string]container.Summary {
	h.t.Helper()
	ctrs, err := h.cli.ContainerList(context.Background(), container.ListOptions{All: true, Filters: h.drv.ownFilter()})
	if err != nil {
		h.t.Fatal(err)
	}
	out := map[string]container.Summary{}
	for _, c := range ctrs {
		if keep(c) {
			out[c.Labels[LabelDecky]] = c
		}
	}
	return out
}

func (h *harness) networks() []network.Summary {
	h.t.Helper()
	nets, err := h.cli.NetworkList(context.Background(), network.ListOptions{Filters: h.drv.ownFilter()})
	if err != nil {
		h.t.Fatal(err)
	}
	return nets
}

func (h *harness) apply(spec *topology.Spec) {
	h.t.Helper()
	if rep := topology.Validate(spec, topology.Options{}); rep.Err() != nil {
		h.t.Fatal(rep.Err())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := h.drv.Apply(ctx, spec, nil); err != nil {
		h.t.Fatal(err)
	}
}

// sysctl reads a kernel setting inside a container's network namespace.
func (h *harness) sysctl(id, key string) string {
	h.t.Helper()
	info, err := h.cli.ContainerInspect(context.Background(), id)
	if err != nil {
		h.t.Fatal(err)
	}
	path := "/proc/sys/" + strings.ReplaceAll(key, ".", "/")
	out, err := exec.Command("nsenter", "-t", fmt.Sprint(info.State.Pid), "-n", "cat", path).CombinedOutput()
	if err != nil {
		h.t.Fatalf("nsenter: %v: %s", err, out)
	}
	return strings.TrimSpace(string(out))
}

// threeLANs is a 3-LAN, 6-decky topology on subnets of its own, so runs
// that share the engine do not collide.
func threeLANs(id string) *topology.Spec {
	a, b := 200+rand.IntN(50), rand.IntN(250)
	sub := func(i int) string { return fmt.Sprintf("10.%d.%d.0/24", a, b+i) }
	ip := func(i, host int) string { return fmt.Sprintf("10.%d.%d.%d", a, b+i, host) }
	addr := func(lan string, i, host int) topology.Address { return topology.Address{LAN: lan, IP: ip(i, host)} }
	return &topology.Spec{
		ID: id, Name: "it", Seed: "0f1e2d3c4b5a69788796a5b4c3d2e1f0",
		LANs: []topology.LAN{
			{Name: "dmz", Subnet: sub(0), Driver: topology.Bridge, DMZ: true},
			{Name: "office", Subnet: sub(1), Driver: topology.Bridge},
			{Name: "servers", Subnet: sub(2), Driver: topology.Bridge},
		},
		Deckies: []topology.Decky{
			{Name: "web", Persona: topology.Persona{OS: "linux", Distro: "debian", Hostname: "SRV-WEB-42"}, Addresses: []topology.Address{addr("dmz", 0, 10)},
				Services: []string{"http", "ssh"}},
			{Name: "gw", Persona: topology.Persona{OS: "linux", Distro: "ubuntu22"}, ForwardsL3: true,
				Addresses: []topology.Address{addr("dmz", 0, 11), addr("office", 1, 2)}},
			{Name: "ws", Persona: topology.Persona{OS: "windows", Distro: "win10", Hostname: "DESKTOP-7QK2M4X"}, Addresses: []topology.Address{addr("office", 1, 10)}},
			{Name: "core", Persona: topology.Persona{OS: "linux", Distro: "rocky9"}, Addresses: []topology.Address{addr("office", 1, 11), addr("servers", 2, 2)}},
			{Name: "dc", Persona: topology.Persona{OS: "windows_server", Distro: "win2019"}, Addresses: []topology.Address{addr("servers", 2, 10)}},
			{Name: "plc", Persona: topology.Persona{OS: "embedded", Distro: "busybox"}, Addresses: []topology.Address{addr("servers", 2, 11)}},
		},
	}
}

func TestDockerApplyLifecycle(t *testing.T) {
	h := newHarness(t)
	testenv.RequireTool(t, "curl")
	spec := threeLANs("it-" + h.id)
	h.apply(spec)

	// Networks: one per LAN, inner LANs internal, labelled with full ids.
	nets := h.networks()
	if len(nets) != 3 {
		t.Fatalf("networks: %d, want 3", len(nets))
	}
	for _, n := range nets {
		if n.Labels[LabelTopology] != spec.ID {
			t.Errorf("network %s topology label %q", n.Name, n.Labels[LabelTopology])
		}
		lan := spec.LAN(n.Labels[LabelLAN])
		if lan == nil || n.Internal == lan.DMZ {
			t.Errorf("network %s: lan %q internal=%v", n.Name, n.Labels[LabelLAN], n.Internal)
		}
	}
	netLAN := map[string]string{}
	for _, n := range nets {
		netLAN[n.Name] = n.Labels[LabelLAN]
	}

	// Containers: one per decky, running, with the spec's addresses,
	// labels, hostname and the persona's stack.
	first := h.containers()
	if len(first) != 6 {
		t.Fatalf("containers: %d, want 6", len(first))
	}
	for _, dk := range spec.Deckies {
		c, ok := first[dk.Name]
		if !ok {
			t.Fatalf("no container for %s", dk.Name)
		}
		info, err := h.cli.ContainerInspect(context.Background(), c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !info.State.Running {
			t.Errorf("%s is %s: %s", dk.Name, info.State.Status, info.State.Error)
		}
		if c.Labels[LabelTopology] != spec.ID || c.Labels[LabelRole] != "decky" {
			t.Errorf("%s labels %v", dk.Name, c.Labels)
		}
		for _, a := range dk.Addresses {
			var got string
			for name, ep := range info.NetworkSettings.Networks {
				if netLAN[name] == a.LAN {
					got = ep.IPAddress
				}
			}
			if got != a.IP {
				t.Errorf("%s on %s: ip %q, want %s", dk.Name, a.LAN, got, a.IP)
			}
		}
		if dk.Persona.Hostname != "" && info.Config.Hostname != dk.Persona.Hostname {
			t.Errorf("%s hostname %q", dk.Name, info.Config.Hostname)
		}
		if !info.HostConfig.ReadonlyRootfs || info.Config.User == "" || info.Config.User == "0" {
			t.Errorf("%s is not hardened: ro=%v user=%q", dk.Name, info.HostConfig.ReadonlyRootfs, info.Config.User)
		}
		wantTTL := map[string]string{"linux": "64", "windows": "128", "windows_server": "128", "embedded": "255"}[dk.Persona.OS]
		if got := h.sysctl(c.ID, "net.ipv4.ip_default_ttl"); got != wantTTL {
			t.Errorf("%s (%s) ip_default_ttl = %s, want %s", dk.Name, dk.Persona.OS, got, wantTTL)
		}
		wantFwd := "0"
		if dk.ForwardsL3 {
			wantFwd = "1"
		}
		if got := h.sysctl(c.ID, "net.ipv4.ip_forward"); got != wantFwd {
			t.Errorf("%s ip_forward = %s, want %s", dk.Name, got, wantFwd)
		}
	}

	// Each decky process writes its events to its spool on the host.
	for _, dk := range []string{"web", "dc"} {
		dir := filepath.Join(h.drv.opts.SpoolDir, spec.ID, dk)
		deadline := time.Now().Add(20 * time.Second)
		for {
			files, _ := filepath.Glob(filepath.Join(dir, "events-*.jsonl"))
			var data []byte
			if len(files) > 0 {
				data, _ = os.ReadFile(files[0])
			}
			if strings.Contains(string(data), `"type":"decky.lifecycle.started"`) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("decky %s wrote no lifecycle event to %s", dk, dir)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	// Re-applying the same spec recreates nothing.
	h.apply(spec)
	for name, c := range h.containers() {
		if first[name].ID != c.ID {
			t.Errorf("re-apply recreated %s", name)
		}
	}

	// The services run inside the containers, as the unprivileged user, on
	// their real ports.
	webIP := spec.Decky("web").Addresses[0].IP
	var body string
	deadline := time.Now().Add(20 * time.Second)
	for {
		out, err := exec.Command("curl", "-s", "--max-time", "3", "http://"+webIP+"/").CombinedOutput()
		if body = string(out); err == nil && strings.Contains(body, "Welcome to nginx!") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the web decky's http service does not answer: %v %s", err, body)
		}
		time.Sleep(200 * time.Millisecond)
	}

	// Changing one decky's services replaces that decky only.
	changed := threeLANsCopy(spec)
	ws := *changed.Decky("ws")
	ws.Services = []string{"http"}
	for i := range changed.Deckies {
		if changed.Deckies[i].Name == "ws" {
			changed.Deckies[i] = ws
		}
	}
	h.apply(changed)
	for name, c := range h.containers() {
		if same := first[name].ID == c.ID; same == (name == "ws") {
			t.Errorf("after changing ws: %s replaced=%v", name, !same)
		}
	}

	// A different topology supersedes: nothing of the predecessor remains.
	other := &topology.Spec{ID: "it2-" + h.id, Name: "it2", Seed: "aa", LANs: []topology.LAN{{Name: "solo", Subnet: changed.LANs[2].Subnet, DMZ: true}},
		Deckies: []topology.Decky{{Name: "lone", Persona: topology.Persona{OS: "bsd", Distro: "freebsd14"}, Addresses: []topology.Address{{LAN: "solo", IP: strings.TrimSuffix(changed.LANs[2].Subnet, "0/24") + "20"}}}}}
	h.apply(other)
	for _, n := range h.networks() {
		if n.Labels[LabelTopology] != other.ID {
			t.Errorf("predecessor network %s remains", n.Name)
		}
	}
	now := h.containers()
	if len(now) != 1 || now["lone"].Labels[LabelTopology] != other.ID {
		t.Errorf("after supersede: %v", now)
	}
	if got := h.sysctl(now["lone"].ID, "net.ipv4.ip_default_ttl"); got != "64" {
		t.Errorf("bsd ttl %s", got)
	}

	// Teardown leaves nothing labelled, twice.
	for range 2 {
		if err := h.drv.Teardown(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if c, n := h.containers(), h.networks(); len(c) != 0 || len(n) != 0 {
		t.Fatalf("after teardown: %d containers, %d networks", len(c), len(n))
	}
	obs, err := h.drv.Observe(context.Background())
	if err != nil || len(obs.Bridges)+len(obs.Containers) != 0 {
		t.Fatalf("observe after teardown: %+v %v", obs, err)
	}
}

func threeLANsCopy(s *topology.Spec) *topology.Spec {
	c := *s
	c.LANs = append([]topology.LAN(nil), s.LANs...)
	c.Deckies = append([]topology.Decky(nil), s.Deckies...)
	return &c
}

// TestDockerMacvlanShim puts a LAN on a stand-in parent interface with
// macvlan and checks that the host reaches the decky through the shim,
// and that teardown removes the shim.
func TestDockerMacvlanShim(t *testing.T) {
	h := newHarness(t)
	testenv.RequireRoot(t)
	testenv.RequireTool(t, "ip")
	testenv.RequireTool(t, "ping")
	parent := "dnt" + h.id[:8]
	// A veth end stands in for the host NIC (not every kernel has dummy).
	if out, err := exec.Command("ip", "link", "add", parent, "type", "veth", "peer", "name", parent+"p").CombinedOutput(); err != nil {
		t.Fatalf("create parent interface: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "link", "del", parent).Run() })
	exec.Command("ip", "link", "set", parent, "up").Run()
	exec.Command("ip", "link", "set", parent+"p", "up").Run()
	a, b := 200+rand.IntN(50), rand.IntN(250)
	spec := &topology.Spec{ID: "mv-" + h.id, Name: "mv", Seed: "bb",
		LANs: []topology.LAN{{Name: "office", Subnet: fmt.Sprintf("10.%d.%d.0/24", a, b), Driver: topology.Macvlan, Parent: parent, DMZ: true}},
		Deckies: []topology.Decky{{Name: "ws", Persona: topology.Persona{OS: "windows", Distro: "win10"},
			Addresses: []topology.Address{{LAN: "office", IP: fmt.Sprintf("10.%d.%d.30", a, b)}}}}}
	h.apply(spec)
	shim := shimIface(h.drv.opts.AgentID, spec.ID, "office")
	out, err := exec.Command("ip", "route", "get", spec.Deckies[0].Addresses[0].IP).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "dev "+shim) {
		t.Fatalf("no /32 route to the decky through %s: %s %v", shim, out, err)
	}
	if out, err := exec.Command("ping", "-c", "1", "-W", "3", spec.Deckies[0].Addresses[0].IP).CombinedOutput(); err != nil {
		t.Errorf("host cannot reach the decky through the shim: %v\n%s", err, out)
	} else if !strings.Contains(string(out), "ttl=128") {
		t.Errorf("windows decky answered ping without TTL 128: %s", out)
	}
	if err := h.drv.Teardown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if exec.Command("ip", "link", "show", shim).Run() == nil {
		t.Fatalf("teardown left host interface %s", shim)
	}
}

// dyingEngine is the real engine until the nth container start, which
// fails as an engine that went away would. Apply starts containers from
// several goroutines: the count is atomic.
type dyingEngine struct {
	engine
	starts atomic.Int32
	failAt int32
}

func (e *dyingEngine) ContainerStart(ctx context.Context, id string, o container.StartOptions) error {
	if e.starts.Add(1) == e.failAt {
		return errors.New("Cannot connect to the Docker daemon at unix:///var/run/docker.sock")
	}
	return e.engine.ContainerStart(ctx, id, o)
}

// TestDockerApplyAfterEngineFailure: an engine failing in the middle of an
// apply fails the apply with the decky it was on, and the next apply
// against a working engine converges, replacing nothing that is right.
func TestDockerApplyAfterEngineFailure(t *testing.T) {
	h := newHarness(t)
	spec := threeLANs("fail-" + h.id)
	real := h.drv.cli
	h.drv.cli = &dyingEngine{engine: real, failAt: 3}
	err := h.drv.Apply(context.Background(), spec, nil)
	if err == nil || !strings.Contains(err.Error(), "start decky") || !strings.Contains(err.Error(), "Cannot connect") {
		t.Fatalf("apply through a dying engine: %v", err)
	}
	h.drv.cli = real
	before := h.containers()
	h.apply(spec)
	after := h.containers()
	if len(after) != len(spec.Deckies) {
		t.Fatalf("after recovery: %d containers, want %d", len(after), len(spec.Deckies))
	}
	for name, c := range after {
		info, err := h.cli.ContainerInspect(context.Background(), c.ID)
		if err != nil || !info.State.Running {
			t.Errorf("%s not running after recovery: %v", name, err)
		}
		if b, ok := before[name]; ok && b.State == "running" && b.ID != c.ID {
			t.Errorf("%s was running and was replaced", name)
		}
	}
}
