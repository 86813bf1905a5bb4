// Package docker is the production driver: one Docker network per LAN and
// one container per decky, created through the Docker Engine API (no
// compose). Every object carries labels with the full topology id, the
// decky name and its role, and apply diffs by those labels, never by name
// prefixes. The decky image is built locally, FROM scratch, from the
// running binary, because sensor hosts have no registry.
package docker

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"

	"github.com/decnet/decnet/internal/driver"
	"github.com/decnet/decnet/internal/topology"
)

// Label keys. Values are full ids, never prefixes.
const (
	LabelManaged  = "io.decnet.managed"  // "true" on every object DECNET creates
	LabelAgent    = "io.decnet.agent"    // the agent (host id) that owns the object
	LabelTopology = "io.decnet.topology" // full topology id
	LabelRole     = "io.decnet.role"     // network, decky, service
	LabelLAN      = "io.decnet.lan"      // LAN name, on networks
	LabelDecky    = "io.decnet.decky"    // decky name, on containers
	LabelService  = "io.decnet.service"  // custom service name, on service containers
	LabelServices = "io.decnet.services" // comma-separated service slugs, on decky containers
	LabelConfig   = "io.decnet.config"   // hash of the object's desired configuration
	LabelShim     = "io.decnet.shim"     // host-side interface of a macvlan/ipvlan network
)

// CloakService is the LabelService value of a decky's packet cloak
// container (no custom service name can hold "@").
const CloakService = "@cloak"

// Options configure the driver.
type Options struct {
	// AgentID scopes every object: an agent only sees and touches objects
	// carrying its id, so several agents can share an engine.
	AgentID string
	// Binary is the decnet binary copied into the decky image; default the
	// running executable. It must be statically linked.
	Binary string
	// SpoolDir is the host directory that receives each decky's event
	// spool (SpoolDir/<topology>/<decky>), bind-mounted into its container.
	SpoolDir string
	// ExtraLabels are added to every object (tests put their run id here).
	ExtraLabels map[string]string
	// ImageRepo names the decky image; default "decnet-decky".
	ImageRepo string
	// Logger receives structured logs; nil discards.
	Logger *slog.Logger
}

// Driver is the Docker driver. Create it with New.
type Driver struct {
	opts Options
	cli  engine
	log  *slog.Logger
}

var _ driver.Driver = (*Driver)(nil)

// New returns a driver for the engine named by DOCKER_HOST (as the docker
// CLI reads it). It does not contact the engine: the first call that does is
// the first Apply, Teardown, Observe or Status.
func New(opts Options) (*Driver, error) {
	if opts.AgentID == "" {
		return nil, errors.New("driver/docker: empty agent id")
	}
	if opts.SpoolDir == "" {
		return nil, errors.New("driver/docker: empty spool directory")
	}
	if opts.ImageRepo == "" {
		opts.ImageRepo = "decnet-decky"
	}
	if opts.Binary == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("driver/docker: locate own binary: %w", err)
		}
		opts.Binary = exe
	}
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("driver/docker: engine client: %w", err)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Driver{opts: opts, cli: cli, log: log.With("component", "driver/docker")}, nil
}

// Name implements driver.Driver.
func (d *Driver) Name() string { return "docker" }

// Capabilities implements driver.Driver: every decky is a container with
// its own network namespace, on bridge, macvlan or ipvlan networks.
func (d *Driver) Capabilities() driver.Capabilities {
	return driver.Capabilities{LANDrivers: []topology.Driver{topology.Bridge, topology.Macvlan, topology.IPvlan}, OwnStack: true, NeedsRoot: true}
}

// Close releases the engine client.
func (d *Driver) Close() error { return d.cli.Close() }

// labels returns the labels every object of topology id carries.
func (d *Driver) labels(topologyID, role string) map[string]string {
	l := map[string]string{LabelManaged: "true", LabelAgent: d.opts.AgentID, LabelTopology: topologyID, LabelRole: role}
	for k, v := range d.opts.ExtraLabels {
		l[k] = v
	}
	return l
}

// ownFilter selects every object of this agent.
func (d *Driver) ownFilter() filters.Args {
	return filters.NewArgs(
		filters.Arg("label", LabelManaged+"=true"),
		filters.Arg("label", LabelAgent+"="+d.opts.AgentID),
	)
}

// short is a stable 10-hex digest used where names have length limits.
func short(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))[:10]
}

func networkName(agent, topo, lan string) string {
	return "decnet-" + short(agent, topo) + "-" + lan
}

func containerName(agent, topo, decky string) string {
	return "decnet-" + short(agent, topo) + "-" + decky
}

// bridgeIface names the host bridge of a LAN (Linux allows 15 bytes).
func bridgeIface(agent, topo, lan string) string { return "dnb" + short(agent, topo, lan) }

// shimIface names the host-side macvlan/ipvlan interface of a LAN.
func shimIface(agent, topo, lan string) string { return "dns" + short(agent, topo, lan) }
