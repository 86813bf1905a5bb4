package master_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/intel/geo/geotest"
	"github.com/decnet/decnet/internal/spool"
	"github.com/decnet/decnet/internal/store"
	"github.com/decnet/decnet/internal/store/sqlite"
	"github.com/decnet/decnet/internal/testenv"
)

type proc struct {
	cmd *exec.Cmd
	out *testenv.Buffer
}

func start(t *testing.T, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(bin, args...), out: &testenv.Buffer{}}
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		p.cmd.Wait()
		if t.Failed() { // what the process said is the first clue
			t.Logf("output of decnet %s (%v):\n%s", strings.Join(args, " "), p.cmd.ProcessState, p.out.String())
		}
	})
	return p
}

func run(t *testing.T, bin string, args ...string) []byte {
	t.Helper()
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("decnet %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// TestSwarmEndToEnd runs the binaries: a master, a join token, an agent
// joining and heartbeating, and the agent's events reaching the master's
// database through the bus.
func TestSwarmEndToEnd(t *testing.T) {
	bin := testenv.DecnetBinary(t)
	data := t.TempDir()
	agentsPort := 20000 + rand.IntN(20000)
	natsPort := agentsPort + 1
	agentsAddr := fmt.Sprintf("127.0.0.1:%d", agentsPort)
	outFile := filepath.Join(t.TempDir(), "siem.jsonl")
	start(t, bin, "master", "--data", data, "--agents-listen", agentsAddr, "--api-listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0",
		"--output-file", outFile, "--nats-listen", fmt.Sprintf("127.0.0.1:%d", natsPort), "--log-level", "warn")
	testenv.Eventually(t, 60*time.Second, "the master's CA", func() bool {
		_, err := os.Stat(filepath.Join(data, "ca", "ca.crt"))
		return err == nil && dial(agentsAddr)
	})
	var jt struct {
		T       string `json:"token"`
		H       string `json:"ca_hash"`
		Command string `json:"command"`
	}
	json.Unmarshal(run(t, bin, "swarm", "join-token", "--data", data, "--name", "sensor-e2e", "--advertise", agentsAddr, "--json"), &jt)
	if !strings.Contains(jt.Command, "decnet agent join --master "+agentsAddr) {
		t.Fatalf("join command %q", jt.Command)
	}
	adir := t.TempDir()
	run(t, bin, "agent", "join", "--master", agentsAddr, "--token", jt.T, "--ca-hash", jt.H, "--dir", adir)
	agentArgs := []string{"agent", "--dir", adir, "--socket", filepath.Join(t.TempDir(), "a.sock"), "--driver", "host",
		"--heartbeat", "500ms", "--nats-url", fmt.Sprintf("nats://127.0.0.1:%d", natsPort), "--log-level", "warn"}
	ag := start(t, bin, agentArgs...)
	testenv.Eventually(t, 20*time.Second, "a heartbeat", func() bool {
		var hosts []struct {
			Host     store.Host `json:"host"`
			Liveness string     `json:"liveness"`
		}
		json.Unmarshal(run(t, bin, "swarm", "hosts", "--data", data, "--json"), &hosts)
		return len(hosts) == 1 && hosts[0].Liveness == "alive" && hosts[0].Host.ID == "sensor-e2e"
	})

	// A decky's events, spooled on the agent host, end up in the master's DB.
	sp, err := spool.Open(filepath.Join(adir, "spool", "topo", "d1"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 200 {
		sp.Write(&event.Event{Schema: 1, ID: event.NewID(), Time: time.Now().UTC(), Type: "ssh.login.failed", Decky: "d1", Service: "ssh",
			Src: &event.Endpoint{IP: "198.51.100.7", Port: 30000 + i}})
	}
	sp.Close()
	st, err := sqlite.Open(context.Background(), filepath.Join(data, "master.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	testenv.Eventually(t, 30*time.Second, "200 events in the master's database", func() bool {
		n, _ := st.CountEvents(context.Background(), store.EventFilter{})
		return n == 200
	})
	// The SIEM output is its own consumer and gets the same 200.
	testenv.Eventually(t, 30*time.Second, "200 events in the JSON-lines output", func() bool {
		data, _ := os.ReadFile(outFile)
		return bytes.Count(data, []byte("\n")) == 200
	})
	evs, _ := st.ListEvents(context.Background(), store.EventFilter{Limit: 1})
	if len(evs) != 1 || evs[0].Host != "sensor-e2e" {
		t.Fatalf("stored event host %+v", evs)
	}

	// The decky below serves HTTP on its real port 80.
	testenv.RequireLowPorts(t)
	// Deploy through the master: the reconciler pushes the topology to the
	// agent, whose decky then answers, and the status turns active.
	ip := fmt.Sprintf("127.%d.%d.%d", 30+rand.IntN(200), rand.IntN(256), 2+rand.IntN(250))
	spec := fmt.Sprintf(`name: e2e
seed: 0123456789abcdef0123456789abcdef
lans: [{name: lo, subnet: %s.0/24, dmz: true}]
deckies:
  - name: web
    persona: {os: linux, distro: debian, hostname: web01}
    addresses: [{lan: lo, ip: %s}]
    services: [http]
`, ip[:strings.LastIndex(ip, ".")], ip)
	specFile := filepath.Join(t.TempDir(), "e2e.yaml")
	os.WriteFile(specFile, []byte(spec), 0o644)
	run(t, bin, "deploy", "--data", data, "--host", "sensor-e2e", "--config", specFile)
	status := func() string {
		var tops []struct {
			Status  string `json:"status"`
			History []struct {
				To string `json:"to"`
			} `json:"history"`
		}
		json.Unmarshal(run(t, bin, "status", "--data", data, "--json"), &tops)
		if len(tops) != 1 {
			return ""
		}
		return tops[0].Status
	}
	testenv.Eventually(t, 30*time.Second, "the topology to turn active", func() bool { return status() == "active" })
	if !dial(ip + ":80") {
		t.Fatal("the deployed decky does not answer on port 80")
	}

	// The agent dies and its in-process deckies with it. Restarted, it
	// reports the same hash but an engine with nothing running: the master
	// sees the missing objects and re-pushes; the agent itself does not.
	ag.cmd.Process.Kill()
	ag.cmd.Wait()
	testenv.Eventually(t, 10*time.Second, "the decky to die with its agent", func() bool { return !dial(ip + ":80") })
	start(t, bin, agentArgs...)
	testenv.Eventually(t, 60*time.Second, "the master to re-create the missing decky", func() bool { return dial(ip + ":80") })
	run(t, bin, "teardown", "--data", data, "--id", "e2e")
	testenv.Eventually(t, 30*time.Second, "the topology to be torn down", func() bool { return status() == "torn_down" })
	testenv.Eventually(t, 10*time.Second, "the decky to go away", func() bool { return !dial(ip + ":80") })
}

func dial(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err == nil {
		c.Close()
	}
	return err == nil
}

// TestMasterSIGKILLDuringBurst kills the master with SIGKILL while 10,000
// events stream in from an agent, restarts it on the same data directory,
// and wants every event in the database exactly once, and the ATT&CK
// tagger's and the enricher's results as exact: each is its own durable
// consumer of the same stream.
func TestMasterSIGKILLDuringBurst(t *testing.T) {
	bin := testenv.DecnetBinary(t)
	data := t.TempDir()
	city := filepath.Join(t.TempDir(), "GeoLite2-City.mmdb")
	geotest.WriteCity(t, city, geotest.City{Network: "198.51.100.0/24", Country: "NL", CountryName: "Netherlands", City: "Amsterdam"})
	base := 20000 + rand.IntN(20000)
	natsAddr := fmt.Sprintf("127.0.0.1:%d", base+1)
	masterArgs := []string{"master", "--data", data, "--agents-listen", fmt.Sprintf("127.0.0.1:%d", base), "--nats-listen", natsAddr,
		"--api-listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0", "--log-level", "error", "--geoip-city", city}
	m := start(t, bin, masterArgs...)
	testenv.Eventually(t, 20*time.Second, "the bus", func() bool { return dial(natsAddr) })
	adir := t.TempDir()
	start(t, bin, "agent", "--dir", adir, "--socket", filepath.Join(t.TempDir(), "a.sock"), "--driver", "host", "--host-id", "burst",
		"--nats-url", "nats://"+natsAddr, "--log-level", "error")

	const n = 10000
	sp, err := spool.Open(filepath.Join(adir, "spool", "topo", "d1"))
	if err != nil {
		t.Fatal(err)
	}
	written := make(chan struct{})
	go func() {
		defer close(written)
		for i := range n {
			sp.Write(&event.Event{Schema: 1, ID: event.NewID(), Time: time.Now().UTC(), Type: "ssh.login.failed", Decky: "d1", Service: "ssh",
				Src:        &event.Endpoint{IP: fmt.Sprintf("198.51.100.%d", i%200), Port: 1024 + i%60000},
				Credential: event.NewCredential("plaintext", "password", "root", []byte(fmt.Sprint("pw", i%50)), true)})
			if i%100 == 0 {
				time.Sleep(2 * time.Millisecond)
			}
		}
		sp.Close()
	}()
	st, err := sqlite.Open(context.Background(), filepath.Join(data, "master.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	count := func() int64 {
		c, _ := st.CountEvents(context.Background(), store.EventFilter{})
		return c
	}
	testenv.Eventually(t, 30*time.Second, "ingestion to start", func() bool { return count() > n/10 })
	m.cmd.Process.Kill() // SIGKILL
	m.cmd.Wait()
	killedAt := count()
	<-written
	start(t, bin, masterArgs...)
	testenv.Eventually(t, 90*time.Second, "every event after the restart", func() bool { return count() >= n })
	time.Sleep(time.Second) // a doubled batch would show up now
	if c := count(); c != n {
		t.Fatalf("%d events stored, want exactly %d", c, n)
	}
	a, err := st.ListAttackers(context.Background(), store.AttackerFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, x := range a {
		total += x.Events
	}
	if total != n {
		t.Fatalf("attacker counters sum to %d, want %d (a counter was doubled or lost)", total, n)
	}
	// Every event is a password guess: tagged once, whatever the kill.
	tagged := func() (sum int64, enriched int) {
		a, err := st.ListAttackers(context.Background(), store.AttackerFilter{Limit: 1000})
		if err != nil {
			return 0, 0
		}
		for _, x := range a {
			for _, tc := range x.Techniques {
				if tc.ID == "T1110.001" {
					sum += tc.Events
				}
			}
			if x.Intel != nil && x.Intel.Country == "NL" && x.Intel.City == "Amsterdam" {
				enriched++
			}
		}
		return sum, enriched
	}
	testenv.Eventually(t, 60*time.Second, "every event tagged and every address enriched", func() bool {
		sum, enriched := tagged()
		return sum >= n && enriched == len(a)
	})
	time.Sleep(time.Second) // a doubled batch of tags would show up now
	if sum, _ := tagged(); sum != n {
		t.Fatalf("T1110.001 counted on %d events, want exactly %d", sum, n)
	}
	if c, err := st.CountEvents(context.Background(), store.EventFilter{Tag: "T1110"}); err != nil || c != n {
		t.Fatalf("%d events tagged T1110 (%v), want %d", c, err, n)
	}
	// The rebuild command clears the tags and replays the stored events:
	// the same counts.
	out := run(t, bin, "intel", "rebuild", "--data", data, "--log-level", "error")
	if sum, _ := tagged(); sum != n || !strings.Contains(string(out), fmt.Sprintf("of %d stored events", n)) {
		t.Fatalf("after decnet intel rebuild: T1110.001 on %d events, want %d; it said %s", sum, n, out)
	}
	t.Logf("master SIGKILLed with %d of %d events stored; after the restart all %d are stored, tagged and enriched once, counters exact; %s",
		killedAt, n, n, strings.TrimSpace(string(out)))
}
