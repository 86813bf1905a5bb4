package master_test

import (
	"encoding/json"
	"maps"
	"testing"

	"github.com/decnet/decnet/internal/master"
	"github.com/decnet/decnet/internal/store"
)

func TestDeckyStatesFromObservation(t *testing.T) {
	spec := json.RawMessage(`{"deckies":[{"name":"web"},{"name":"db"},{"name":"gw"}]}`)
	top := &store.Topology{ID: "t1", Status: store.Active, Spec: spec}
	// Deckies are known by the labels the driver put on them; a custom
	// service's container, a decky of another topology and a stopped one
	// do not count.
	obs := json.RawMessage(`{"bridges":[],"containers":["decnet-t1-web","decnet-t1-web-custom","gw"],"deckies":[
		{"topology_id":"t1","name":"web","running":true,"state":"running"},
		{"topology_id":"t0","name":"db","running":true,"state":"running"},
		{"topology_id":"t1","name":"gw","running":true,"state":"running"}]}`)
	h := &store.Host{ID: "h", AppliedID: "t1", Observed: obs}
	got := master.DeckyStates(top, h)
	want := map[string]string{"web": master.DeckyRunning, "db": master.DeckyMissing, "gw": master.DeckyRunning}
	if !maps.Equal(got, want) {
		t.Fatalf("states %v, want %v", got, want)
	}
	for name, c := range map[string]struct {
		t *store.Topology
		h *store.Host
	}{
		"no host":           {top, nil},
		"other topology":    {top, &store.Host{AppliedID: "t0", Observed: obs}},
		"not observed":      {top, &store.Host{AppliedID: "t1"}},
		"engine error":      {top, &store.Host{AppliedID: "t1", Observed: json.RawMessage(`{"error":"engine down"}`)}},
		"torn down":         {&store.Topology{ID: "t1", Status: store.TornDown, Spec: spec}, h},
		"decommissioned":    {top, &store.Host{AppliedID: "t1", Observed: obs, Decommissioned: true}},
		"spec not readable": {&store.Topology{ID: "t1", Status: store.Active, Spec: json.RawMessage(`[`)}, h},
	} {
		if got := master.DeckyStates(c.t, c.h); got != nil {
			t.Errorf("%s: states %v, want none", name, got)
		}
	}
}
