package agent

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/spool"
	"github.com/decnet/decnet/internal/testenv"
)

// TestBinaryHonoursSeedContract checks the seed's invariants from outside,
// on the real binary: a topology.db written by another SQLite client, an
// agent started on it with DOCKER_HOST at a recording fake engine.
func TestBinaryHonoursSeedContract(t *testing.T) {
	sqlite := testenv.RequireTool(t, "sqlite3")
	bin := testenv.DecnetBinary(t)

	dir := t.TempDir()
	db := filepath.Join(dir, "topology.db")
	schema := `CREATE TABLE applied_topology (topology_id TEXT PRIMARY KEY, applied_version_hash TEXT NOT NULL, hydrated_blob_json TEXT NOT NULL, applied_at INTEGER NOT NULL, last_error TEXT);
INSERT INTO applied_topology VALUES ('t-outside', 'h-outside', '{"topology":{"id":"t-outside"}}', 1764000000, NULL);`
	if out, err := exec.Command(sqlite, db, schema).CombinedOutput(); err != nil {
		t.Fatalf("sqlite3: %v %s", err, out)
	}
	before, _ := os.ReadFile(db)

	engine := newFakeEngine(t)
	sock := filepath.Join(t.TempDir(), "agent.sock")
	cmd := exec.Command(bin, "agent", "--dir", dir, "--socket", sock, "--driver", "docker", "--host-id", "outside")
	cmd.Env = append(os.Environ(), "DOCKER_HOST=unix://"+engine.sock)
	var logs bytes.Buffer
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })

	client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}, Timeout: 10 * time.Second}
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := client.Get("http://agent/health")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("agent never answered /health: %v\n%s", err, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if conns, reqs := engine.snapshot(); conns != 0 {
		t.Fatalf("engine contacted before the first API call that needs it: %v", reqs)
	}

	resp, err := client.Get("http://agent/topology/state")
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		TopologyID  string          `json:"topology_id"`
		VersionHash string          `json:"applied_version_hash"`
		Observed    json.RawMessage `json:"observed"`
	}
	json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	if st.TopologyID != "t-outside" || st.VersionHash != "h-outside" || string(st.Observed) != `{"bridges":[],"containers":[]}` {
		t.Fatalf("state: %+v observed %s", st, st.Observed)
	}
	_, reqs := engine.snapshot()
	for _, r := range reqs {
		if !strings.HasPrefix(r, "GET ") && !strings.HasPrefix(r, "HEAD ") {
			t.Errorf("write request reached the engine: %s", r)
		}
	}
	fi, err := os.Stat(sock)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("socket mode %v, want 0600", fi.Mode().Perm())
	}
	cmd.Process.Signal(os.Interrupt)
	cmd.Wait()
	after, _ := os.ReadFile(db)
	if sha256.Sum256(before) != sha256.Sum256(after) {
		t.Fatal("topology.db changed on disk")
	}
}

// TestEventsSurviveAgentSIGKILL writes a burst of events into a decky spool
// while the agent ships them, kills the agent with SIGKILL in the middle,
// restarts it, and checks that the sink holds every event exactly once.
func TestEventsSurviveAgentSIGKILL(t *testing.T) {
	bin := testenv.DecnetBinary(t)
	dir := t.TempDir()
	sock := filepath.Join(t.TempDir(), "agent.sock")
	sinkPath := filepath.Join(dir, "events.jsonl")
	start := func() *exec.Cmd {
		cmd := exec.Command(bin, "agent", "--dir", dir, "--socket", sock, "--driver", "host", "--host-id", "killer", "--log-level", "warn")
		cmd.Stderr = testWriter{t}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	countLines := func() int {
		data, _ := os.ReadFile(sinkPath)
		return bytes.Count(data, []byte("\n"))
	}
	agentCmd := start()
	t.Cleanup(func() { agentCmd.Process.Kill(); agentCmd.Wait() })

	const n = 5000
	spool, err := spool.Open(filepath.Join(dir, "spool", "topo", "decky"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range n {
			e := &event.Event{Schema: 1, ID: event.NewID(), Time: time.Now().UTC(), Type: "ssh.login.failed", Decky: "decky",
				Credential: event.NewCredential("plaintext", "password", fmt.Sprintf("user\n%d\x1b[0m", i), []byte("pw"), true)}
			want[e.ID] = true
			if err := spool.Write(e); err != nil {
				t.Error(err)
				return
			}
			if i%50 == 0 {
				time.Sleep(time.Millisecond) // a burst, not a single write
			}
		}
	}()
	deadline := time.Now().Add(30 * time.Second)
	for countLines() < n/5 {
		if time.Now().After(deadline) {
			t.Fatal("the agent shipped nothing")
		}
		time.Sleep(5 * time.Millisecond)
	}
	agentCmd.Process.Signal(syscall.SIGKILL)
	agentCmd.Wait()
	killedAt := countLines()
	<-done
	spool.Close()
	agentCmd = start()
	deadline = time.Now().Add(60 * time.Second)
	for countLines() < n {
		if time.Now().After(deadline) {
			t.Fatalf("after restart only %d of %d events arrived", countLines(), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // let a doubled batch show up if there were one
	data, _ := os.ReadFile(sinkPath)
	lines := bytes.Split(bytes.TrimSpace(data), []byte("\n"))
	seen := map[string]bool{}
	for _, l := range lines {
		var e event.Event
		if err := json.Unmarshal(l, &e); err != nil {
			t.Fatalf("sink line does not parse (a forged line?): %v: %q", err, l)
		}
		if seen[e.ID] {
			t.Fatalf("event %s shipped twice", e.ID)
		}
		if !want[e.ID] {
			t.Fatalf("unknown event %s", e.ID)
		}
		seen[e.ID] = true
	}
	if len(seen) != n {
		t.Fatalf("%d unique events in the sink, want %d", len(seen), n)
	}
	t.Logf("killed the agent with %d of %d events shipped; all %d arrived exactly once", killedAt, n, n)
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }
