package master

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/decnet/decnet/internal/agent"
	"github.com/decnet/decnet/internal/bus"
	"github.com/decnet/decnet/internal/driver/host"
	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/store"
	"github.com/decnet/decnet/internal/testenv"
	"github.com/decnet/decnet/internal/topology"
	"github.com/decnet/decnet/internal/wire"
)

// TestWireBetweenMasterAndAgent runs the real master and the real agent
// (host driver, unix socket, enrolled over mutual TLS) and checks every
// message of the wire package on its way: the apply request and its
// result, the heartbeat with the engine's deckies by label and the reply
// that asks for them, a refusal's error body, the state, the teardown.
func TestWireBetweenMasterAndAgent(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	log := testenv.Logger(t, 0)
	m, err := Open(ctx, Config{DataDir: t.TempDir(), AgentListen: "127.0.0.1:0", NATSListen: "127.0.0.1:0",
		APIListen: "127.0.0.1:0", ReconcileInterval: 100 * time.Millisecond, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 2)
	go func() { done <- m.Run(ctx) }()

	dir := t.TempDir()
	token, _, err := m.Authority.NewJoinToken(ctx, "wire-host", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := agent.Join(ctx, m.AgentsAddr(), token, m.CA.Hash(), dir); err != nil {
		t.Fatal(err)
	}
	en, masterTLS, err := agent.LoadEnrollment(dir)
	if err != nil {
		t.Fatal(err)
	}
	a, err := agent.New(dir, host.New(filepath.Join(dir, "spool"), log), log)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	pub, err := bus.NewPublisher(m.Bus.ClientURL(), "wire-host", bus.PublisherOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	sock := filepath.Join(t.TempDir(), "a.sock")
	agentDone := make(chan error, 1)
	go func() {
		agentDone <- a.Run(ctx, agent.Options{Version: "test", Socket: sock, HostID: "wire-host", Publisher: pub,
			Enrollment: en, MasterTLS: masterTLS, Heartbeat: 100 * time.Millisecond})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("master run: %v", err)
		}
	}()

	// A decky without services: nothing to bind, so no root needed.
	ip := fmt.Sprintf("127.%d.%d.9", 30+rand.IntN(200), rand.IntN(256))
	p, _ := subnetOf(ip)
	spec := &topology.Spec{Name: "wire", Host: "wire-host", Seed: "wire-seed",
		LANs:    []topology.LAN{{Name: "lo", Subnet: p, DMZ: true}},
		Deckies: []topology.Decky{{Name: "d1", Persona: topology.Persona{OS: "linux", Distro: "debian"}, Addresses: []topology.Address{{LAN: "lo", IP: ip}}}}}
	tp, _, err := m.Lifecycle.CreateAndDeploy(ctx, spec, "test")
	if err != nil {
		t.Fatal(err)
	}
	waitStatus(t, m, tp.ID, store.Active)

	// Apply request and result: the agent applied the hash, and the
	// result of that operation rides on its heartbeats.
	testenv.Eventually(t, 30*time.Second, "a heartbeat with the applied hash, the operation and the engine's deckies", func() bool {
		h, err := m.Store.Host(ctx, "wire-host")
		if err != nil || h.AppliedID != tp.ID || h.AppliedHash != tp.Hash {
			return false
		}
		// The reply asked for the engine's view; the deckies come by label.
		obs := ParseObserved(h.Observed)
		return obs != nil && obs.Running(tp.ID, "d1")
	})
	m.Reconciler.mu.Lock()
	hv := *m.Reconciler.hosts["wire-host"]
	m.Reconciler.mu.Unlock()
	if hv.LastOp == "" || hv.API != "unix://"+sock {
		t.Fatalf("reconciler's view of the host: %+v", hv)
	}
	st := agentState(t, sock)
	if st.TopologyID == nil || *st.TopologyID != tp.ID || len(st.Operations) == 0 || !st.Operations[0].OK ||
		st.Operations[0].Kind != wire.OpApply || st.Operations[0].ID != hv.LastOp {
		t.Fatalf("agent state: %+v", st)
	}
	if len(st.Observed.Deckies) != 1 || st.Observed.Deckies[0] != (wire.ObservedDecky{Topology: tp.ID, Name: "d1", Running: true, State: "running"}) {
		t.Fatalf("observed deckies: %+v", st.Observed.Deckies)
	}

	// A refused push comes back as the wire error, code intact.
	var full topology.Spec
	if err := json.Unmarshal(tp.Spec, &full); err != nil {
		t.Fatal(err)
	}
	_, err = m.Reconciler.call(ctx, "wire-host", hv.API, wire.PathApply,
		wire.ApplyRequest{TopologyID: tp.ID, VersionHash: "0000", OperationID: event.NewID(), Spec: &full})
	var werr *wire.Error
	if !errors.As(err, &werr) || werr.Code != "HASH_MISMATCH" {
		t.Fatalf("refused push: %v", err)
	}

	// Teardown request and result.
	if _, err := m.Lifecycle.Teardown(ctx, tp.ID, "test"); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, m, tp.ID, store.TornDown)
	st = agentState(t, sock)
	if st.TopologyID != nil || len(st.Observed.Deckies) != 0 || st.Operations[len(st.Operations)-1].Kind != wire.OpTeardown {
		t.Fatalf("agent state after teardown: %+v", st)
	}

	// Decommission with wipe: deployed again, then the wipe request tears
	// it down, the agent erases its directory and stops, and the host is
	// decommissioned.
	if _, err := m.Lifecycle.Deploy(ctx, tp.ID, "test"); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, m, tp.ID, store.Active)
	if err := m.Reconciler.Wipe(ctx, "wire-host"); err != nil {
		t.Fatal(err)
	}
	if err := m.Lifecycle.Decommission(ctx, "wire-host", true, "test"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-agentDone:
		if !errors.Is(err, agent.ErrWiped) {
			t.Fatalf("the agent after a wipe: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the agent did not stop after the wipe")
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Fatalf("the agent directory still holds %v", left)
	}
	if h, err := m.Store.Host(ctx, "wire-host"); err != nil || !h.Decommissioned {
		t.Fatalf("host after the wipe: %+v %v", h, err)
	}
}

func subnetOf(ip string) (string, error) {
	b := []byte(ip)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] == '.' {
			return string(b[:i]) + ".0/24", nil
		}
	}
	return "", errors.New("not an IPv4 address")
}

func waitStatus(t *testing.T, m *Master, id, status string) {
	t.Helper()
	testenv.Eventually(t, 30*time.Second, "status "+status, func() bool {
		tp, err := m.Store.Topology(context.Background(), id)
		return err == nil && tp.Status == status
	})
}

// agentState reads GET /topology/state over the agent's socket.
func agentState(t *testing.T, sock string) wire.State {
	t.Helper()
	c := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
	resp, err := c.Get("http://agent" + wire.PathState)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st wire.State
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	return st
}
