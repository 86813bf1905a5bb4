package agent

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"

	"github.com/decnet/decnet/internal/driver/docker"
	"github.com/decnet/decnet/internal/testenv"
	"github.com/decnet/decnet/internal/topology"
	"github.com/decnet/decnet/internal/wire"
)

// TestRestartedAgentRecreatesNothing runs the contract against the real
// engine: after the agent dies and its containers vanish, a new agent on
// the same directory reports the truth and recreates nothing until the
// master pushes again.
func TestRestartedAgentRecreatesNothing(t *testing.T) {
	testenv.RequireDocker(t)
	bin := testenv.DecnetBinary(t)
	run := testenv.RunID()
	agentID := "r-" + run
	opts := docker.Options{AgentID: agentID, Binary: bin, SpoolDir: t.TempDir(), ExtraLabels: map[string]string{testenv.RunLabel: run}}
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	own := filters.NewArgs(filters.Arg("label", docker.LabelAgent+"="+agentID))
	count := func() int {
		ctrs, err := cli.ContainerList(context.Background(), container.ListOptions{All: true, Filters: own})
		if err != nil {
			t.Fatal(err)
		}
		return len(ctrs)
	}
	testenv.CleanupDocker(t, docker.LabelAgent+"="+agentID)
	t.Cleanup(func() { cli.Close() })

	a, b := 200+rand.IntN(50), rand.IntN(250)
	spec := &topology.Spec{ID: "restart-" + run, Name: "restart", Seed: "cc",
		LANs: []topology.LAN{{Name: "dmz", Subnet: fmt.Sprintf("10.%d.%d.0/24", a, b), DMZ: true}},
		Deckies: []topology.Decky{
			{Name: "one", Persona: topology.Persona{OS: "linux", Distro: "debian"}, Addresses: []topology.Address{{LAN: "dmz", IP: fmt.Sprintf("10.%d.%d.10", a, b)}}},
			{Name: "two", Persona: topology.Persona{OS: "windows", Distro: "win11"}, Addresses: []topology.Address{{LAN: "dmz", IP: fmt.Sprintf("10.%d.%d.11", a, b)}}},
		}}
	dir := t.TempDir()
	newAgent := func() *Agent {
		drv, err := docker.New(opts)
		if err != nil {
			t.Fatal(err)
		}
		ag, err := New(dir, drv, nil)
		if err != nil {
			t.Fatal(err)
		}
		return ag
	}
	ag := newAgent()
	if res, err := ag.Apply(&wire.ApplyRequest{TopologyID: spec.ID, VersionHash: spec.Hash(), OperationID: "01", Spec: spec}, nil); err != nil || !res.OK {
		t.Fatalf("apply: %v %+v", err, res)
	}
	if n := count(); n != 3 {
		t.Fatalf("%d containers after apply, want 3 (two deckies and the Windows decky's cloak)", n)
	}
	ag.Close() // the agent dies...
	ctrs, _ := cli.ContainerList(context.Background(), container.ListOptions{All: true, Filters: own})
	for _, c := range ctrs { // ...and its deckies with it
		cli.ContainerRemove(context.Background(), c.ID, container.RemoveOptions{Force: true})
	}

	ag = newAgent()
	defer ag.Close()
	st, err := ag.State(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if *st.TopologyID != spec.ID || *st.VersionHash != spec.Hash() || len(st.Observed.Containers) != 0 {
		t.Fatalf("restarted agent state: %+v", st)
	}
	if _, err := ag.Status(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 0 {
		t.Fatalf("the restarted agent recreated %d containers on its own", n)
	}
	if res, err := ag.Apply(&wire.ApplyRequest{TopologyID: spec.ID, VersionHash: spec.Hash(), OperationID: "02", Spec: spec}, nil); err != nil || !res.OK {
		t.Fatalf("re-push: %v %+v", err, res)
	}
	if n := count(); n != 3 {
		t.Fatalf("%d containers after the master's re-push, want 3", n)
	}
}
