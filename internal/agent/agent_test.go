package agent

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/decnet/decnet/internal/agent/store"
	"github.com/decnet/decnet/internal/driver/docker"
	"github.com/decnet/decnet/internal/driver/host"
	"github.com/decnet/decnet/internal/service/servicetest"
	"github.com/decnet/decnet/internal/topology"
	"github.com/decnet/decnet/internal/wire"
)

// fakeEngine is a Docker Engine stand-in on a unix socket that records
// every connection and every request. It answers the read-only calls the
// agent may make (ping, network and container lists) with empty results
// and refuses everything else.
type fakeEngine struct {
	mu       sync.Mutex
	conns    int
	requests []string
	sock     string
}

func newFakeEngine(t *testing.T) *fakeEngine {
	t.Helper()
	e := &fakeEngine{sock: filepath.Join(t.TempDir(), "engine.sock")}
	l, err := net.Listen("unix", e.sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(e.serve),
		ConnState: func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				e.mu.Lock()
				e.conns++
				e.mu.Unlock()
			}
		},
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	t.Setenv("DOCKER_HOST", "unix://"+e.sock)
	return e
}

func (e *fakeEngine) serve(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	e.requests = append(e.requests, r.Method+" "+r.URL.Path)
	e.mu.Unlock()
	w.Header().Set("Api-Version", "1.41")
	w.Header().Set("Content-Type", "application/json")
	switch {
	case strings.HasSuffix(r.URL.Path, "/_ping"):
		io.WriteString(w, "OK")
	case r.Method == http.MethodGet && (strings.HasSuffix(r.URL.Path, "/networks") || strings.HasSuffix(r.URL.Path, "/containers/json")):
		io.WriteString(w, "[]")
	default:
		w.WriteHeader(http.StatusNotImplemented)
		io.WriteString(w, `{"message":"fake engine: not a read call"}`)
	}
}

func (e *fakeEngine) snapshot() (int, []string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.conns, append([]string(nil), e.requests...)
}

func seedStore(t *testing.T, dir, id, hash string) {
	t.Helper()
	s, err := store.Open(filepath.Join(dir, "topology.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put(id, hash, json.RawMessage(`{"topology":{"id":"`+id+`"}}`), time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func startAgent(t *testing.T, dir string) (*Agent, *httptest.Server) {
	t.Helper()
	drv, err := docker.New(docker.Options{AgentID: "seed-test", SpoolDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { drv.Close() })
	a, err := New(dir, drv, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler("test", nil))
	t.Cleanup(func() { srv.Close(); a.Close() })
	return a, srv
}

// Seed invariant (a): starting the agent with a populated cache, and
// serving /health, never contacts the container engine.
func TestStartupDoesNotTouchEngine(t *testing.T) {
	engine := newFakeEngine(t)
	dir := t.TempDir()
	seedStore(t, dir, "stale-tid", "stale-hash")
	_, srv := startAgent(t, dir)
	resp, err := http.Get(srv.URL + "/health")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/health: %s", resp.Status)
	}
	if conns, reqs := engine.snapshot(); conns != 0 {
		t.Fatalf("the engine was contacted during start-up: %d connections, requests %v", conns, reqs)
	}
}

// Seed invariant (b): GET /topology/state returns the cached id and hash
// verbatim, observes the engine read-only, and never re-materialises.
func TestStateReflectsCacheWithoutReplay(t *testing.T) {
	engine := newFakeEngine(t)
	dir := t.TempDir()
	seedStore(t, dir, "t-boot", "h-boot")
	_, srv := startAgent(t, dir)
	resp, err := http.Get(srv.URL + "/topology/state")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("state: %s", resp.Status)
	}
	var body struct {
		TopologyID  string          `json:"topology_id"`
		VersionHash string          `json:"applied_version_hash"`
		Observed    json.RawMessage `json:"observed"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if body.TopologyID != "t-boot" || body.VersionHash != "h-boot" {
		t.Fatalf("got %q %q, want the cached row", body.TopologyID, body.VersionHash)
	}
	if string(body.Observed) != `{"bridges":[],"containers":[]}` {
		t.Fatalf("observed = %s", body.Observed)
	}
	_, reqs := engine.snapshot()
	if len(reqs) == 0 {
		t.Fatal("state did not observe the engine")
	}
	for _, r := range reqs {
		if !strings.HasPrefix(r, "GET ") && !strings.HasPrefix(r, "HEAD ") {
			t.Errorf("write request reached the engine: %s", r)
		}
	}
}

func TestStateReportsUnreachableEngine(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix://"+filepath.Join(t.TempDir(), "nothing.sock"))
	dir := t.TempDir()
	seedStore(t, dir, "t1", "h1")
	a, _ := startAgent(t, dir)
	st, err := a.State(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.Observed.Error == "" || *st.TopologyID != "t1" {
		t.Fatalf("want cached id and an observed error, got %+v", st)
	}
}

func loopbackSpec() *topology.Spec {
	return &topology.Spec{
		Name: "lo", Seed: "00112233445566778899aabbccddeeff",
		LANs: []topology.LAN{{Name: "dmz", Subnet: "127.77.0.0/24", DMZ: true}},
		Deckies: []topology.Decky{
			{Name: "a", Persona: topology.Persona{OS: "linux", Distro: "debian"}, Addresses: []topology.Address{{LAN: "dmz", IP: "127.77.0.10"}}},
		},
	}
}

func TestApplyRefusesBeforeEngine(t *testing.T) {
	engine := newFakeEngine(t)
	dir := t.TempDir()
	_, srv := startAgent(t, dir)
	good := loopbackSpec()
	good.ID = "lo"
	invalid := loopbackSpec()
	invalid.LANs[0].DMZ = false
	unimpl := loopbackSpec()
	servicetest.RegisterPlaceholder()
	unimpl.Deckies[0].Services = []string{servicetest.Placeholder}
	cases := []struct {
		name string
		req  wire.ApplyRequest
		code string
	}{
		{"hash mismatch", wire.ApplyRequest{TopologyID: "lo", VersionHash: "0000", OperationID: "op-1", Spec: good}, "HASH_MISMATCH"},
		{"invalid spec", wire.ApplyRequest{TopologyID: "lo", VersionHash: invalid.Hash(), OperationID: "op-2", Spec: invalid}, "SPEC_INVALID"},
		{"not implemented", wire.ApplyRequest{TopologyID: "lo", VersionHash: unimpl.Hash(), OperationID: "op-3", Spec: unimpl}, "SERVICE_NOT_IMPLEMENTED"},
		{"no operation id", wire.ApplyRequest{TopologyID: "lo", VersionHash: good.Hash(), Spec: good}, "OPERATION_ID_MISSING"},
		{"id mismatch", wire.ApplyRequest{TopologyID: "other", VersionHash: good.Hash(), OperationID: "op-4", Spec: good}, "TOPOLOGY_ID_MISMATCH"},
	}
	for _, tc := range cases {
		for _, query := range []string{"", "?progress=1"} {
			t.Run(tc.name+query, func(t *testing.T) {
				b, _ := json.Marshal(tc.req)
				resp, err := http.Post(srv.URL+"/topology/apply"+query, "application/json", strings.NewReader(string(b)))
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				var body wire.ErrorBody
				json.NewDecoder(resp.Body).Decode(&body)
				if resp.StatusCode != http.StatusBadRequest || body.Error.Code != tc.code {
					t.Fatalf("got %d %s, want 400 %s", resp.StatusCode, body.Error.Code, tc.code)
				}
			})
		}
	}
	if conns, reqs := engine.snapshot(); conns != 0 {
		t.Fatalf("refused pushes reached the engine: %v", reqs)
	}
}

// TestApplyWithHostDriver drives the whole operation flow on the host
// driver: apply, idempotent re-apply, duplicate and stale operation ids,
// supersede, teardown.
func TestApplyWithHostDriver(t *testing.T) {
	dir := t.TempDir()
	a, err := New(dir, host.New(t.TempDir(), nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	spec := loopbackSpec()
	push := func(op string, s *topology.Spec, id string) (wire.OpResult, error) {
		return a.Apply(&wire.ApplyRequest{TopologyID: id, VersionHash: s.Hash(), OperationID: op, Spec: s}, nil)
	}
	spec.ID = "lo"
	res, err := push("0001", spec, "lo")
	if err != nil || !res.OK {
		t.Fatalf("apply: %v %+v", err, res)
	}
	st, _ := a.State(context.Background())
	if *st.TopologyID != "lo" || *st.VersionHash != spec.Hash() || len(st.Observed.Containers) != 1 {
		t.Fatalf("state after apply: %+v", st)
	}
	if _, err := push("0001", spec, "lo"); err == nil || !strings.Contains(err.Error(), "OPERATION_DUPLICATE") {
		t.Fatalf("duplicate op accepted: %v", err)
	}
	if _, err := push("0000", spec, "lo"); err == nil || !strings.Contains(err.Error(), "OPERATION_STALE") {
		t.Fatalf("stale op accepted: %v", err)
	}
	if res, err := push("0002", spec, "lo"); err != nil || !res.OK {
		t.Fatalf("idempotent re-apply: %v %+v", err, res)
	}
	next := loopbackSpec()
	next.Name = "lo2"
	next.ID = "lo2"
	next.Deckies[0].Name = "b"
	if res, err := push("0003", next, "lo2"); err != nil || !res.OK {
		t.Fatalf("supersede: %v %+v", err, res)
	}
	st, _ = a.State(context.Background())
	if *st.TopologyID != "lo2" || st.Observed.Containers[0] != "b" {
		t.Fatalf("state after supersede: %+v", st)
	}
	if res, err := a.Teardown(&wire.TeardownRequest{OperationID: "0004"}); err != nil || !res.OK {
		t.Fatalf("teardown: %v %+v", err, res)
	}
	if res, err := a.Teardown(&wire.TeardownRequest{OperationID: "0005"}); err != nil || !res.OK {
		t.Fatalf("second teardown: %v %+v", err, res)
	}
	st, _ = a.State(context.Background())
	if st.TopologyID != nil || len(st.Observed.Containers) != 0 {
		t.Fatalf("state after teardown: %+v", st)
	}
	if len(st.Operations) != 5 {
		t.Fatalf("finished operations: %d", len(st.Operations))
	}
}
