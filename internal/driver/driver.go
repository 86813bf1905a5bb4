// Package driver defines how a validated topology becomes running deckies
// on one host, and how a host reports what runs. Implementations live in
// sub-packages: docker (production, the Docker Engine API) and host
// (in-process deckies on loopback addresses, for machines without an
// engine and for fast tests); drivertest is the suite every driver passes.
//
// A driver is passive like the agent that owns it: it calls the engine only
// from Apply, Teardown, Observe and Status, which the agent calls only on
// the master's request.
package driver

import (
	"context"

	"github.com/decnet/decnet/internal/topology"
	"github.com/decnet/decnet/internal/wire"
)

// Driver materialises topologies on one host.
type Driver interface {
	// Name is the driver's name: docker, host.
	Name() string
	// Capabilities says what the driver gives a decky.
	Capabilities() Capabilities
	// Apply makes the host run exactly spec: it diffs against what runs
	// (selected by labels carrying full ids), creates what is missing,
	// replaces what changed, removes what is extra (a predecessor topology
	// included) and leaves everything else alone. spec.ID must be set and
	// the spec valid. progress may be nil.
	Apply(ctx context.Context, spec *topology.Spec, progress ProgressFunc) error
	// Teardown removes everything the driver created on this host:
	// containers, networks, host interfaces. It is idempotent.
	Teardown(ctx context.Context) error
	// Observe reports what runs, read-only, each decky identified by the
	// topology id and name it carries.
	Observe(ctx context.Context) (wire.Observed, error)
	// Status reports each decky that exists on the host, read-only.
	Status(ctx context.Context) ([]DeckyStatus, error)
}

// Capabilities is what a driver gives each decky, as data: validation and
// the conformance suite read it.
type Capabilities struct {
	// LANDrivers are the LAN drivers the driver can materialise.
	LANDrivers []topology.Driver `json:"lan_drivers"`
	// OwnStack: each decky has its own network namespace, so its MAC
	// (the persona's vendor), hostname and TCP/IP sysctls are its own.
	OwnStack bool `json:"own_stack"`
	// NeedsRoot: applying needs root (namespaces, host interfaces).
	NeedsRoot bool `json:"needs_root"`
	// LocalOnly: LANs can only be on networks the host already has
	// (the host driver binds existing addresses).
	LocalOnly bool `json:"local_only"`
}

// DeckyStatus is the state of one decky on the host.
type DeckyStatus struct {
	Topology  string             `json:"topology_id"`
	Name      string             `json:"name"`
	Running   bool               `json:"running"`
	State     string             `json:"state"`
	Services  []string           `json:"services"`
	Addresses []topology.Address `json:"addresses"`
	// Cloak is the state of the decky's packet cloak, empty when it has
	// none (see wire.ObservedDecky).
	Cloak string `json:"cloak,omitempty"`
}

// Progress is one step of an apply.
type Progress = wire.Progress

// ProgressFunc receives apply progress; it must not block.
type ProgressFunc func(Progress)

// Report calls f when it is set.
func (f ProgressFunc) Report(p Progress) {
	if f != nil {
		f(p)
	}
}
