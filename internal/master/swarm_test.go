package master_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/decnet/decnet/internal/store"
	"github.com/decnet/decnet/internal/store/sqlite"
	"github.com/decnet/decnet/internal/testenv"
	"github.com/decnet/decnet/internal/topology"
)

// swarmHost is one agent host of the two-host test: a network namespace
// joined to the root namespace by a veth pair on a private /30.
type swarmHost struct {
	name   string // host id on the master
	ns     string // network namespace
	veth   string // root-side interface
	rootIP string // root side of the /30
	nsIP   string // namespace side of the /30
	dir    string // agent directory
	socket string // agent unix socket (reachable from the root namespace)
	log    string // agent output file
	agent  *swarmProc

	topoID string
	hash   string
	lanNet string // 127.x.y (the decky LAN, a /24)
	deckyA string // the first decky's address
}

// swarmNetns creates the namespaces and veth pairs of hosts, each on its
// own /30 in 10.249.0.0/16, and removes them when the test ends.
func swarmNetns(t *testing.T, tag string, hosts []*swarmHost) {
	t.Helper()
	ipcmd := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	existing, _ := exec.Command("ip", "-4", "-o", "addr", "show").Output()
	used := map[string]bool{}
	for _, h := range hosts {
		var base string
		for {
			// A /30 another run already uses shows as its root-side address.
			base = fmt.Sprintf("10.249.%d.%d", mrand.IntN(256), 4*mrand.IntN(64))
			if !used[base] && !strings.Contains(string(existing), " "+swarmAddrPlus(base, 1)+"/") {
				break
			}
		}
		used[base] = true
		h.rootIP, h.nsIP = swarmAddrPlus(base, 1), swarmAddrPlus(base, 2)
		h.ns = fmt.Sprintf("dn-%s-%s", tag, h.name[len(h.name)-1:])
		h.veth = fmt.Sprintf("dn%s%s", tag, h.name[len(h.name)-1:])
	}
	for _, h := range hosts {
		t.Cleanup(func() {
			// Deleting the namespace destroys the namespace end of the
			// veth, and with it the pair; the explicit delete is for a
			// half-made setup.
			exec.Command("ip", "netns", "del", h.ns).Run()
			exec.Command("ip", "link", "del", h.veth).Run()
		})
		ipcmd("netns", "add", h.ns)
		ipcmd("link", "add", h.veth, "type", "veth", "peer", "name", "eth0", "netns", h.ns)
		ipcmd("addr", "add", h.rootIP+"/30", "dev", h.veth)
		ipcmd("link", "set", h.veth, "up")
		ipcmd("-n", h.ns, "addr", "add", h.nsIP+"/30", "dev", "eth0")
		ipcmd("-n", h.ns, "link", "set", "eth0", "up")
		// Deckies of the host driver bind 127.x addresses inside the
		// namespace.
		ipcmd("-n", h.ns, "link", "set", "lo", "up")
		// The master listens on the first host's root-side address; the
		// other namespace reaches it through its own veth (the root
		// namespace delivers it locally, no forwarding involved).
		ipcmd("-n", h.ns, "route", "add", "default", "via", h.rootIP)
	}
}

func swarmAddrPlus(base string, n int) string {
	ip := net.ParseIP(base).To4()
	ip[3] += byte(n)
	return ip.String()
}

// swarmProc is a running process whose output goes to a file (read
// safely while it runs); done is closed when it has exited.
type swarmProc struct {
	cmd  *exec.Cmd
	done chan struct{}
}

func (p *swarmProc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// swarmStart starts a process and kills it when the test ends.
func swarmStart(t *testing.T, logFile string, name string, args ...string) *swarmProc {
	t.Helper()
	f, err := os.OpenFile(logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	p := &swarmProc{cmd: exec.Command(name, args...), done: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = f, f
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	go func() { p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
	})
	return p
}

func swarmRun(t *testing.T, name string, args ...string) []byte {
	t.Helper()
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, out, stderr)
	}
	return out
}

// swarmHTTP reports whether an HTTP server answers at url from inside ns.
func swarmHTTP(ns, url string) bool {
	out, err := exec.Command("ip", "netns", "exec", ns, "curl", "-s", "-m", "3", "-o", "/dev/null", "-w", "%{http_code}", url).Output()
	return err == nil && len(out) == 3 && string(out) != "000"
}

type swarmTopo struct {
	store.Topology
	History []store.StatusChange `json:"history"`
}

func swarmStatus(t *testing.T, bin, data string) map[string]swarmTopo {
	t.Helper()
	var tops []swarmTopo
	if err := json.Unmarshal(swarmRun(t, bin, "status", "--data", data, "--json"), &tops); err != nil {
		t.Fatal(err)
	}
	out := map[string]swarmTopo{}
	for _, tp := range tops {
		out[tp.ID] = tp
	}
	return out
}

type swarmOp struct {
	ID         string `json:"operation_id"`
	Kind       string `json:"kind"`
	TopologyID string `json:"topology_id"`
	Hash       string `json:"version_hash"`
	OK         bool   `json:"ok"`
	Error      string `json:"error"`
}

type swarmState struct {
	TopologyID *string        `json:"topology_id"`
	Hash       *string        `json:"applied_version_hash"`
	Observed   map[string]any `json:"observed"`
	Operations []swarmOp      `json:"finished_operations"`
}

// swarmAgentState reads GET /topology/state over the agent's unix socket
// (a path socket is reachable across network namespaces).
func swarmAgentState(t *testing.T, socket string) swarmState {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", socket)
	}}}
	resp, err := c.Get("http://agent/topology/state")
	if err != nil {
		t.Fatalf("agent state over %s: %v", socket, err)
	}
	defer resp.Body.Close()
	var st swarmState
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatalf("agent state: %v", err)
	}
	return st
}

func swarmApplies(ops []swarmOp, hash string) (n int, ok int) {
	for _, o := range ops {
		if o.Kind == "apply" && o.Hash == hash {
			n++
			if o.OK {
				ok++
			}
		}
	}
	return n, ok
}

// checkHistory asserts that h is a chain of legal moves (store.Transitions)
// starting at pending, with no repeated entry.
func swarmCheckHistory(t *testing.T, who string, h []store.StatusChange) {
	t.Helper()
	prev := store.Pending
	for i, c := range h {
		if c.From != prev {
			t.Errorf("%s: history entry %d is %s->%s, but the status was %s: %s", who, i, c.From, c.To, prev, swarmHistory(h))
		}
		if !slices.Contains(store.Transitions[c.From], c.To) {
			t.Errorf("%s: history entry %d %s->%s is not a legal move: %s", who, i, c.From, c.To, swarmHistory(h))
		}
		prev = c.To
	}
}

func swarmHistory(h []store.StatusChange) string {
	var s []string
	for _, c := range h {
		s = append(s, fmt.Sprintf("%s->%s (%s)", c.From, c.To, c.Reason))
	}
	return strings.Join(s, ", ")
}

func swarmWait(t *testing.T, what string, d time.Duration, every time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(every)
	}
}

// TestTwoHostReconvergence is the acceptance test of the master: two
// agents in their own network namespaces enroll with a master in the root
// namespace, each runs a topology; one agent is killed, its topology is
// changed on the master, and the restarted agent converges to the new hash
// within two heartbeats, applying it exactly once, with a legal status
// history; the other host is unaffected.
func TestTwoHostReconvergence(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireTool(t, "ip")
	testenv.RequireTool(t, "curl")
	bin := testenv.DecnetBinary(t)
	ctx := context.Background()
	const heartbeat = time.Second

	var tb [4]byte
	rand.Read(tb[:])
	tag := hex.EncodeToString(tb[:])
	hosts := []*swarmHost{{name: "sensor-a"}, {name: "sensor-b"}}
	a, b := hosts[0], hosts[1]
	swarmNetns(t, tag, hosts)
	t.Logf("namespaces %s (%s<->%s) and %s (%s<->%s)", a.ns, a.rootIP, a.nsIP, b.ns, b.rootIP, b.nsIP)

	// The master, in the root namespace, on the first root-side address.
	data := t.TempDir()
	logs := t.TempDir()
	masterLog := filepath.Join(logs, "master.log")
	port := 20000 + mrand.IntN(20000)
	masterAddr := fmt.Sprintf("%s:%d", a.rootIP, port)
	natsAddr := fmt.Sprintf("%s:%d", a.rootIP, port+1)
	master := swarmStart(t, masterLog, bin, "master", "--data", data, "--agents-listen", masterAddr, "--nats-listen", natsAddr,
		"--address", a.rootIP, "--api-listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0", "--log-level", "info")
	t.Cleanup(func() {
		if t.Failed() {
			for _, f := range []string{masterLog, a.log, b.log} {
				if out, err := os.ReadFile(f); err == nil {
					t.Logf("---- %s ----\n%s", filepath.Base(f), swarmTail(out, 60))
				}
			}
		}
	})
	swarmWait(t, "the master's agent listener", 20*time.Second, 100*time.Millisecond, func() bool {
		if master.exited() {
			t.Fatalf("the master exited: %v", master.cmd.ProcessState)
		}
		_, err := os.Stat(filepath.Join(data, "ca", "ca.crt"))
		return err == nil && dial(masterAddr)
	})
	st, err := sqlite.Open(ctx, filepath.Join(data, "master.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	// Enroll each agent from inside its namespace, then run it there.
	agentArgs := func(h *swarmHost) []string {
		return []string{"netns", "exec", h.ns, bin, "agent", "--dir", h.dir, "--socket", h.socket, "--driver", "host",
			"--listen", h.nsIP + ":8765", "--advertise", "https://" + h.nsIP + ":8765", "--heartbeat", heartbeat.String(),
			"--nats-url", "tls://" + natsAddr, "--log-level", "info"}
	}
	for _, h := range hosts {
		var jt struct {
			Token  string `json:"token"`
			CAHash string `json:"ca_hash"`
		}
		if err := json.Unmarshal(swarmRun(t, bin, "swarm", "join-token", "--data", data, "--name", h.name, "--advertise", masterAddr, "--json"), &jt); err != nil {
			t.Fatal(err)
		}
		h.dir = t.TempDir()
		h.socket = filepath.Join(h.dir, "agent.sock")
		h.log = filepath.Join(logs, h.name+".log")
		swarmRun(t, "ip", "netns", "exec", h.ns, bin, "agent", "join", "--master", masterAddr, "--token", jt.Token, "--ca-hash", jt.CAHash, "--dir", h.dir)
		h.agent = swarmStart(t, h.log, "ip", agentArgs(h)...)
	}
	swarmWait(t, "heartbeats from both agents", 30*time.Second, 100*time.Millisecond, func() bool {
		n := 0
		for _, h := range hosts {
			if hh, err := st.Host(ctx, h.name); err == nil && hh.LastHeartbeat != nil {
				n++
			}
		}
		return n == 2
	})

	// A one-decky topology (an http decky on a 127.x/24) for each host.
	lan := 30 + mrand.IntN(200)
	for i, h := range hosts {
		h.lanNet = fmt.Sprintf("127.%d.%d", lan, 10+i)
		h.deckyA = h.lanNet + ".2"
		spec := fmt.Sprintf(`name: two-host-%s
seed: 0123456789abcdef0123456789abcdef
lans: [{name: lo, subnet: %s.0/24, dmz: true}]
deckies:
  - name: web
    persona: {os: linux, distro: debian, hostname: web-%s}
    addresses: [{lan: lo, ip: %s}]
    services: [http]
`, h.name, h.lanNet, h.name, h.deckyA)
		file := filepath.Join(t.TempDir(), h.name+".yaml")
		os.WriteFile(file, []byte(spec), 0o644)
		var top store.Topology
		if err := json.Unmarshal(swarmRun(t, bin, "deploy", "--data", data, "--host", h.name, "--config", file, "--json"), &top); err != nil {
			t.Fatal(err)
		}
		h.topoID, h.hash = top.ID, top.Hash
	}
	swarmWait(t, "both topologies active", 60*time.Second, 200*time.Millisecond, func() bool {
		s := swarmStatus(t, bin, data)
		return s[a.topoID].Status == store.Active && s[b.topoID].Status == store.Active
	})
	for _, h := range hosts {
		if !swarmHTTP(h.ns, "http://"+h.deckyA+"/") {
			t.Fatalf("%s: the decky at %s does not answer inside %s", h.name, h.deckyA, h.ns)
		}
	}
	// Each host's deckies live in its own namespace only.
	if swarmHTTP(a.ns, "http://"+b.deckyA+"/") {
		t.Fatalf("host B's decky %s answers inside host A's namespace", b.deckyA)
	}
	if _, err := os.Stat(filepath.Join(data, "master.db")); err != nil {
		t.Fatal(err)
	}
	aState := swarmAgentState(t, a.socket)
	if aState.Hash == nil || *aState.Hash != a.hash {
		t.Fatalf("agent A applied %v, want %s", aState.Hash, a.hash)
	}

	// Kill agent B; its in-process deckies die with it.
	if err := b.agent.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-b.agent.done
	if swarmHTTP(b.ns, "http://"+b.deckyA+"/") {
		t.Fatal("host B's decky still answers after its agent was killed")
	}

	// Change B's topology on the master, directly in its database: a new
	// hostname and a second decky, then ask for its deployment.
	cur, err := st.Topology(ctx, b.topoID)
	if err != nil {
		t.Fatal(err)
	}
	var spec topology.Spec
	if err := json.Unmarshal(cur.Spec, &spec); err != nil {
		t.Fatal(err)
	}
	spec.ID = b.topoID
	spec.Deckies[0].Persona.Hostname = "web-b-renamed"
	deckyB2 := b.lanNet + ".3"
	spec.Deckies = append(spec.Deckies, topology.Decky{Name: "web2", Persona: topology.Persona{OS: "linux", Distro: "debian", Hostname: "web2-b"},
		Addresses: []topology.Address{{LAN: "lo", IP: deckyB2}}, Services: []string{"http"}})
	if err := topology.Validate(&spec, topology.Options{}).Err(); err != nil {
		t.Fatalf("the changed spec is invalid: %v", err)
	}
	newHash := spec.Hash()
	if newHash == b.hash {
		t.Fatal("the change did not change the hash")
	}
	blob, _ := json.Marshal(&spec)
	for {
		err := st.UpdateSpec(ctx, b.topoID, cur.Version, blob, newHash)
		if err == nil {
			break
		}
		if !errors.Is(err, store.ErrConflict) {
			t.Fatal(err)
		}
		if cur, err = st.Topology(ctx, b.topoID); err != nil {
			t.Fatal(err)
		}
	}
	// The reconciler may have seen the new hash first and marked the
	// topology degraded after failing to reach the dead agent; then the
	// history goes through degraded, still legally.
	wantHistory := []string{"pending->deploying", "deploying->active", "active->deploying", "deploying->active"}
	if err := st.Transition(ctx, b.topoID, store.Active, store.Deploying, "spec changed by the two-host test"); err != nil {
		if !errors.Is(err, store.ErrConflict) {
			t.Fatal(err)
		}
		now, err := st.Topology(ctx, b.topoID)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("the reconciler moved the topology to %s before the test's transition", now.Status)
		if now.Status != store.Degraded {
			t.Fatalf("topology B is %s, want active or degraded", now.Status)
		}
		if err := st.Transition(ctx, b.topoID, store.Degraded, store.Deploying, "spec changed by the two-host test"); err != nil {
			t.Fatal(err)
		}
		wantHistory = []string{"pending->deploying", "deploying->active", "active->degraded", "degraded->deploying", "deploying->active"}
	}

	// B stays down until the master has noticed the change and failed to
	// push it at least once, as it would during any real outage longer
	// than a reconcile round (2 s).
	changed := time.Now()
	swarmWait(t, "the master to try (and fail) to push to the dead agent B", 30*time.Second, 20*time.Millisecond, func() bool {
		return swarmFailedPushes(masterLog, b.name) > 0
	})
	t.Logf("the master failed to push to the dead agent B %s after the change", time.Since(changed).Round(time.Millisecond))

	// Restart agent B on the same directory and measure its convergence
	// on the master's clock: the first heartbeat after the restart, then
	// the first that reports the new hash.
	restart := time.Now()
	b.agent = swarmStart(t, b.log, "ip", agentArgs(b)...)
	var firstBeat, convergedBeat time.Time
	var beats []time.Time
	swarmWait(t, "agent B to report the new hash", 60*time.Second, 10*time.Millisecond, func() bool {
		hh, err := st.Host(ctx, b.name)
		if err != nil || hh.LastHeartbeat == nil || !hh.LastHeartbeat.After(restart) {
			return false
		}
		if n := len(beats); n == 0 || !beats[n-1].Equal(*hh.LastHeartbeat) {
			beats = append(beats, *hh.LastHeartbeat)
		}
		if firstBeat.IsZero() {
			firstBeat = *hh.LastHeartbeat
		}
		if hh.AppliedHash == newHash {
			convergedBeat = *hh.LastHeartbeat
			return true
		}
		return false
	})
	took := convergedBeat.Sub(firstBeat)
	t.Logf("agent B: first heartbeat %s after the restart; new hash reported %s after it (%d heartbeats seen: %s)",
		firstBeat.Sub(restart).Round(time.Millisecond), took.Round(time.Millisecond), len(beats), swarmBeatGaps(beats))
	// Two heartbeat intervals, with slack for the apply itself and
	// scheduling.
	if limit := 2*heartbeat + 500*time.Millisecond; took > limit {
		t.Errorf("agent B converged %s after its first heartbeat, more than two heartbeats (%s, limit %s)", took.Round(time.Millisecond), 2*heartbeat, limit)
	}

	swarmWait(t, "topology B active again", 30*time.Second, 200*time.Millisecond, func() bool {
		return swarmStatus(t, bin, data)[b.topoID].Status == store.Active
	})
	// Let the reconciler run twice more (it ticks every 2 s) and B beat a
	// few times, so a duplicate push would have happened by then.
	swarmWait(t, "agent B to heartbeat 4 s after converging", 30*time.Second, 100*time.Millisecond, func() bool {
		hh, err := st.Host(ctx, b.name)
		return err == nil && hh.LastHeartbeat != nil && hh.LastHeartbeat.Sub(convergedBeat) >= 4*time.Second
	})

	status := swarmStatus(t, bin, data)
	tb2 := status[b.topoID]
	if tb2.Status != store.Active || tb2.Hash != newHash {
		t.Errorf("topology B is %s with hash %s, want active with %s", tb2.Status, tb2.Hash, newHash)
	}
	swarmCheckHistory(t, "topology B", tb2.History)
	var got []string
	for _, c := range tb2.History {
		got = append(got, c.From+"->"+c.To)
	}
	if !slices.Equal(got, wantHistory) {
		t.Errorf("topology B history %v, want %v: %s", got, wantHistory, swarmHistory(tb2.History))
	}

	// No duplicate apply: B's operation log (kept across the restart)
	// shows one apply of the first hash and exactly one of the new one.
	bState := swarmAgentState(t, b.socket)
	if bState.Hash == nil || *bState.Hash != newHash {
		t.Errorf("agent B applied %v, want %s", bState.Hash, newHash)
	}
	if n, ok := swarmApplies(bState.Operations, newHash); n != 1 || ok != 1 {
		t.Errorf("agent B ran %d applies of the new hash (%d ok), want exactly 1: %+v", n, ok, bState.Operations)
	}
	if n, _ := swarmApplies(bState.Operations, b.hash); n != 1 {
		t.Errorf("agent B ran %d applies of the first hash, want 1: %+v", n, bState.Operations)
	}
	if len(bState.Operations) != 2 {
		t.Errorf("agent B finished %d operations, want 2 (two applies): %+v", len(bState.Operations), bState.Operations)
	}
	t.Logf("master pushes to B: %d of the first hash, %d of the new one (failed pushes to the dead agent included)",
		swarmCountPushes(masterLog, b.hash), swarmCountPushes(masterLog, newHash))
	for _, ip := range []string{b.deckyA, deckyB2} {
		if !swarmHTTP(b.ns, "http://"+ip+"/") {
			t.Errorf("host B's decky %s does not answer after the restart", ip)
		}
	}

	// Host A is unaffected.
	ta := status[a.topoID]
	if ta.Status != store.Active || ta.Hash != a.hash {
		t.Errorf("topology A is %s with hash %s, want active with %s", ta.Status, ta.Hash, a.hash)
	}
	swarmCheckHistory(t, "topology A", ta.History)
	if len(ta.History) != 2 {
		t.Errorf("topology A history: %s, want pending->deploying->active", swarmHistory(ta.History))
	}
	if ha, err := st.Host(ctx, a.name); err != nil || ha.AppliedHash != a.hash || time.Since(*ha.LastHeartbeat) > 5*heartbeat {
		t.Errorf("host A on the master: %+v, %v", ha, err)
	}
	aState = swarmAgentState(t, a.socket)
	if aState.Hash == nil || *aState.Hash != a.hash || len(aState.Operations) != 1 {
		t.Errorf("agent A: applied %v, operations %+v; want %s and one apply", aState.Hash, aState.Operations, a.hash)
	}
	if !swarmHTTP(a.ns, "http://"+a.deckyA+"/") {
		t.Error("host A's decky no longer answers")
	}
	if a.agent.exited() || master.exited() {
		t.Errorf("agent A or the master exited: %v, %v", a.agent.cmd.ProcessState, master.cmd.ProcessState)
	}
}

func swarmBeatGaps(beats []time.Time) string {
	var s []string
	for i := 1; i < len(beats); i++ {
		s = append(s, beats[i].Sub(beats[i-1]).Round(time.Millisecond).String())
	}
	return "gaps " + strings.Join(s, " ")
}

func swarmCountPushes(logFile, hash string) int {
	data, _ := os.ReadFile(logFile)
	n := 0
	for _, l := range strings.Split(string(data), "\n") {
		if strings.Contains(l, "pushing topology") && strings.Contains(l, hash) {
			n++
		}
	}
	return n
}

func swarmTail(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// swarmFailedPushes counts the master's "apply failed" log lines for host.
func swarmFailedPushes(logFile, host string) int {
	data, _ := os.ReadFile(logFile)
	n := 0
	for _, l := range strings.Split(string(data), "\n") {
		if strings.Contains(l, `msg="apply failed"`) && strings.Contains(l, "host_id="+host+" ") {
			n++
		}
	}
	return n
}
