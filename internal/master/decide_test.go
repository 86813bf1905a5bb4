package master

import (
	"crypto/tls"
	"encoding/json"
	"testing"
	"time"

	"github.com/decnet/decnet/internal/store"
	"github.com/decnet/decnet/internal/wire"
)

func TestDecide(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	spec := json.RawMessage(`{"deckies":[{"name":"web"},{"name":"db"}]}`)
	top := func(status, hash string) *store.Topology {
		return &store.Topology{ID: "t1", HostID: "h", Status: status, Hash: hash, Spec: spec}
	}
	both := &wire.Observed{Deckies: []wire.ObservedDecky{{Topology: "t1", Name: "web", Running: true}, {Topology: "t1", Name: "db", Running: true}}}
	oneGone := &wire.Observed{Deckies: []wire.ObservedDecky{{Topology: "t1", Name: "web", Running: true}, {Topology: "t1", Name: "db", State: "exited"}}}
	otherTopo := &wire.Observed{Deckies: []wire.ObservedDecky{{Topology: "t0", Name: "web", Running: true}, {Topology: "t0", Name: "db", Running: true}}}
	synced := func(obs *wire.Observed) *HostState {
		return &HostState{API: "unix:///a.sock", AppliedID: "t1", AppliedHash: "h1", Observed: obs}
	}
	cases := []struct {
		name string
		t    *store.Topology
		h    *HostState
		want Action
	}{
		{"host never heard of", top(store.Deploying, "h1"), nil, Wait},
		{"host without an API address", top(store.Deploying, "h1"), &HostState{}, Wait},
		{"operation in flight", top(store.Deploying, "h2"), &HostState{API: "x", Inflight: true}, Wait},
		{"backing off", top(store.Deploying, "h2"), &HostState{API: "x", NotBefore: now.Add(time.Second)}, Wait},
		{"backoff over", top(store.Deploying, "h2"), &HostState{API: "x", NotBefore: now.Add(-time.Second)}, Push},
		{"deploying, host has another hash", top(store.Deploying, "h2"), synced(both), Push},
		{"active, host has another hash", top(store.Active, "h2"), synced(both), Push},
		{"degraded, host has another hash", top(store.Degraded, "h2"), synced(both), Push},
		{"deploying, host has it: converged", top(store.Deploying, "h1"), synced(both), Converged},
		{"active and in sync", top(store.Active, "h1"), synced(both), Wait},
		{"active, engine lost a decky", top(store.Active, "h1"), synced(oneGone), Repair},
		{"degraded, engine lost a decky", top(store.Degraded, "h1"), synced(oneGone), Repair},
		{"active, deckies of another topology only", top(store.Active, "h1"), synced(otherTopo), Repair},
		{"active, nothing observed yet", top(store.Active, "h1"), synced(nil), Wait},
		{"active, repaired moments ago", top(store.Active, "h1"), func() *HostState {
			h := synced(oneGone)
			h.LastRepair = now.Add(-RepairInterval / 2)
			return h
		}(), Wait},
		{"tearing down", top(store.TearingDown, "h1"), synced(both), Remove},
		{"torn down", top(store.TornDown, "h1"), synced(both), Wait},
		{"pending", top(store.Pending, "h1"), synced(both), Wait},
		{"failed", top(store.Failed, "h1"), synced(both), Wait},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Decide(c.t, c.h, now); got != c.want {
				t.Fatalf("Decide = %s, want %s", got, c.want)
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	for n, want := range map[int]time.Duration{1: 2 * time.Second, 2: 4 * time.Second, 8: 256 * time.Second, 9: 256 * time.Second, 30: 256 * time.Second} {
		if got := Backoff(n); got != want {
			t.Errorf("Backoff(%d) = %s, want %s", n, got, want)
		}
	}
}

// A heartbeat the agent took while the first apply was still starting
// deckies must not read as "deckies lost": that re-pushed the demo right
// after `decnet up` applied it.
func TestHeartbeatFromBeforeTheApplyIsNotARepair(t *testing.T) {
	r := NewReconciler(nil, nil, tls.Certificate{}, nil)
	spec := json.RawMessage(`{"deckies":[{"name":"web"},{"name":"db"}]}`)
	top := &store.Topology{ID: "t1", HostID: "h", Status: store.Active, Hash: "h1", Spec: spec}
	r.Observe("h", &wire.Heartbeat{API: "unix:///a.sock"})
	r.applied("h", "t1", "h1", "op1")
	halfBuilt := &wire.Observed{Deckies: []wire.ObservedDecky{{Topology: "t1", Name: "web", Running: true}}}
	r.Observe("h", &wire.Heartbeat{API: "unix:///a.sock", Observed: halfBuilt})
	if got := Decide(top, r.hosts["h"], time.Now()); got != Wait {
		t.Fatalf("a heartbeat from before the apply finished: Decide = %s, want %s", got, Wait)
	}
	// Once a heartbeat lists the operation, its view counts.
	r.Observe("h", &wire.Heartbeat{API: "unix:///a.sock", AppliedID: "t1", AppliedHash: "h1", Observed: halfBuilt,
		Operations: []wire.OpResult{{ID: "op1"}}})
	if got := Decide(top, r.hosts["h"], time.Now()); got != Repair {
		t.Fatalf("a later heartbeat missing a decky: Decide = %s, want %s", got, Repair)
	}
}
