package agent

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
