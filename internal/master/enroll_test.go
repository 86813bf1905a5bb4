package master_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/decnet/decnet/internal/agent"
	"github.com/decnet/decnet/internal/driver/host"
	"github.com/decnet/decnet/internal/master"
	"github.com/decnet/decnet/internal/pki"
	"github.com/decnet/decnet/internal/store"
	"github.com/decnet/decnet/internal/store/storetest"
)

type testMaster struct {
	auth *master.Authority
	addr string
}

func startMaster(t *testing.T) *testMaster {
	t.Helper()
	st := storetest.SQLite(t)
	ca, err := pki.NewCA("test CA", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := ca.Issue(pki.Master(), []string{"localhost"}, []net.IP{net.ParseIP("127.0.0.1")}, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	auth := &master.Authority{CA: ca, Store: st, Log: discard()}
	l, err := tls.Listen("tcp", "127.0.0.1:0", master.AgentTLSConfig(ca, cert))
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: auth.AgentHandler(), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return &testMaster{auth: auth, addr: l.Addr().String()}
}

func TestEnrollAndHeartbeat(t *testing.T) {
	ctx := context.Background()
	m := startMaster(t)
	token, _, err := m.auth.NewJoinToken(ctx, "sensor-1", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	// A wrong CA hash is refused before anything is sent.
	if _, err := agent.Join(ctx, m.addr, token, "sha256:0000", t.TempDir()); err == nil || !strings.Contains(err.Error(), "refusing to join") {
		t.Fatalf("wrong CA hash accepted: %v", err)
	}
	dir := t.TempDir()
	en, err := agent.Join(ctx, m.addr, token, m.auth.CA.Hash(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if en.HostID != "sensor-1" {
		t.Fatalf("host id %q", en.HostID)
	}
	// The token was single use.
	if _, err := agent.Join(ctx, m.addr, token, m.auth.CA.Hash(), t.TempDir()); err == nil || !strings.Contains(err.Error(), "BAD_TOKEN") {
		t.Fatalf("token reused: %v", err)
	}
	// The agent heartbeats with its certificate; the master records it.
	_, tlsCfg, err := agent.LoadEnrollment(dir)
	if err != nil {
		t.Fatal(err)
	}
	a, err := agent.New(dir, host.New(t.TempDir(), nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	hb := a.NewHeartbeater(en, &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: tlsCfg}}, time.Second)
	if err := hb.Beat(ctx); err != nil {
		t.Fatal(err)
	}
	h, err := m.auth.Store.Host(ctx, "sensor-1")
	if err != nil || h.LastHeartbeat == nil {
		t.Fatalf("host after heartbeat: %+v %v", h, err)
	}
	// Concurrent joins race for one token: exactly one wins.
	token2, _, _ := m.auth.NewJoinToken(ctx, "sensor-2", time.Minute)
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := agent.Join(ctx, m.addr, token2, m.auth.CA.Hash(), t.TempDir()); err == nil {
				mu.Lock()
				wins++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d joins won one token", wins)
	}
	// Decommission revokes: the next heartbeat is refused.
	if err := m.auth.Store.Decommission(ctx, "sensor-1"); err != nil {
		t.Fatal(err)
	}
	if err := hb.Beat(ctx); err == nil || !strings.Contains(err.Error(), "403") {
		t.Fatalf("revoked agent heartbeat accepted: %v", err)
	}
}

func TestHeartbeatReplyAsksForObservation(t *testing.T) {
	ctx := context.Background()
	m := startMaster(t)
	token, _, _ := m.auth.NewJoinToken(ctx, "sensor-9", time.Minute)
	dir := t.TempDir()
	en, err := agent.Join(ctx, m.addr, token, m.auth.CA.Hash(), dir)
	if err != nil {
		t.Fatal(err)
	}
	top := &store.Topology{Name: "lab", HostID: "sensor-9", Spec: json.RawMessage(`{}`), Hash: "h1"}
	if err := m.auth.Store.CreateTopology(ctx, top); err != nil {
		t.Fatal(err)
	}
	if err := m.auth.Store.Transition(ctx, top.ID, store.Pending, store.Deploying, "test"); err != nil {
		t.Fatal(err)
	}
	_, tlsCfg, _ := agent.LoadEnrollment(dir)
	a, _ := agent.New(dir, host.New(t.TempDir(), nil), nil)
	defer a.Close()
	hb := a.NewHeartbeater(en, &http.Client{Transport: &http.Transport{TLSClientConfig: tlsCfg}}, time.Second)
	hb.Beat(ctx) // the reply asks for observation
	hb.Beat(ctx) // this one carries it
	h, _ := m.auth.Store.Host(ctx, "sensor-9")
	if !strings.Contains(string(h.Observed), "containers") {
		t.Fatalf("observed state not reported after the master asked: %s", h.Observed)
	}
}
