// Package wire is every message the master and the agents exchange, in one
// place both sides import: the agent API's requests and results (apply,
// teardown, state, progress), the heartbeat and its reply, what an engine
// runs (deckies identified by their labels, never by names), the error body,
// and the timing both sides share. A field added here reaches both ends at
// once; nothing is marshalled from a map on either side.
package wire

import (
	"encoding/json"
	"time"

	"github.com/decnet/decnet/internal/topology"
)

// HeartbeatInterval is how often an agent reports; StaleAfter is the
// heartbeat age past which the master calls a host stale.
const (
	HeartbeatInterval = 10 * time.Second
	StaleAfter        = 3 * HeartbeatInterval
)

// Paths of the agent API (mutual TLS or the agent's unix socket) and of the
// master's agent listener.
const (
	PathHealth   = "/health"
	PathState    = "/topology/state"
	PathStatus   = "/status"
	PathApply    = "/topology/apply"
	PathTeardown = "/topology/teardown"
	// PathWipe tears everything down, then the agent erases its state
	// (certificates, cache, spools, builds) and exits: decommission with
	// wipe.
	PathWipe      = "/agent/wipe"
	PathHeartbeat = "/agent/v1/heartbeat"
	// PathAgentBinary serves the master's own build to enrolled agents
	// (agent certificate required), for updates.
	PathAgentBinary = "/agent/v1/binary"
	// HeaderBinarySHA256 carries the hex SHA-256 of the served build.
	HeaderBinarySHA256 = "X-Decnet-Binary-Sha256"
	PathEnroll         = "/agent/v1/enroll"
	PathCA             = "/agent/v1/ca"
	PathArtifactPrefix = "/agent/v1/artifacts/"
)

// ApplyRequest is the body of POST /topology/apply.
type ApplyRequest struct {
	TopologyID  string         `json:"topology_id"`
	VersionHash string         `json:"version_hash"`
	OperationID string         `json:"operation_id"`
	Spec        *topology.Spec `json:"spec"`
}

// TeardownRequest is the body of POST /topology/teardown.
type TeardownRequest struct {
	OperationID string `json:"operation_id"`
}

// Operation kinds.
const (
	OpApply    = "apply"
	OpTeardown = "teardown"
)

// OpResult is the outcome of one operation. The agent answers the request
// with it and lists recent ones on every heartbeat, so the master learns it
// even when the answer was lost.
type OpResult struct {
	ID         string    `json:"operation_id"`
	Kind       string    `json:"kind"` // apply, teardown
	TopologyID string    `json:"topology_id,omitempty"`
	Hash       string    `json:"version_hash,omitempty"`
	OK         bool      `json:"ok"`
	Error      string    `json:"error,omitempty"`
	Finished   time.Time `json:"finished_at"`
}

// ProgressLine is one line of an apply's progress stream
// (POST /topology/apply?progress=1): progress steps, then the result.
type ProgressLine struct {
	Progress *Progress `json:"progress,omitempty"`
	Result   *OpResult `json:"result,omitempty"`
}

// Progress is one step of an apply.
type Progress struct {
	Action string `json:"action"` // create, replace, remove, start, keep, network, teardown
	Object string `json:"object"` // "decky web-01", "lan dmz"
	Done   int    `json:"done"`
	Total  int    `json:"total"`
}

// Error is the error of a refused request: a stable code and a message,
// with the validation issues when the spec was at fault. Bodies carry it as
// {"error": {...}}.
type Error struct {
	Code    string           `json:"code"`
	Message string           `json:"message"`
	Issues  []topology.Issue `json:"issues,omitempty"`
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// ErrorBody is the body of every refused request.
type ErrorBody struct {
	Error Error `json:"error"`
}

// Observed is what a host's engine runs for its agent, read without
// changing anything. Deckies are identified by the labels the driver put on
// them (topology id, decky name), so nobody guesses from names. When the
// engine could not be asked, Error says why and nothing else is set.
type Observed struct {
	Bridges    []string        `json:"bridges"`
	Containers []string        `json:"containers"`
	Deckies    []ObservedDecky `json:"deckies"`
	Error      string          `json:"error,omitempty"`
}

// ObservedDecky is one decky the engine runs or keeps.
type ObservedDecky struct {
	Topology string `json:"topology_id"`
	Name     string `json:"name"`
	Running  bool   `json:"running"`
	State    string `json:"state"` // running, exited, created, ...
	// Cloak is the state of the decky's packet cloak (running, exited,
	// restarting, ...), empty when its OS family needs none. A decky whose
	// cloak is not running answers as plain Linux.
	Cloak string `json:"cloak,omitempty"`
}

// MarshalJSON writes {"error": "..."} alone when the engine could not be
// asked; otherwise the bridges and containers (empty lists, never null:
// the shape the agent contract fixes) and the deckies when there are any.
func (o Observed) MarshalJSON() ([]byte, error) {
	if o.Error != "" {
		return json.Marshal(struct {
			Error string `json:"error"`
		}{o.Error})
	}
	p := struct {
		Bridges    []string        `json:"bridges"`
		Containers []string        `json:"containers"`
		Deckies    []ObservedDecky `json:"deckies,omitempty"`
	}{o.Bridges, o.Containers, o.Deckies}
	if p.Bridges == nil {
		p.Bridges = []string{}
	}
	if p.Containers == nil {
		p.Containers = []string{}
	}
	return json.Marshal(p)
}

// Running reports whether the engine runs the decky name of topology id.
func (o *Observed) Running(id, name string) bool {
	for _, d := range o.Deckies {
		if d.Topology == id && d.Name == name {
			return d.Running
		}
	}
	return false
}

// State is the body of GET /topology/state: the cached applied topology
// verbatim, and what the engine runs.
type State struct {
	TopologyID  *string    `json:"topology_id"`
	VersionHash *string    `json:"applied_version_hash"`
	AppliedAt   *int64     `json:"applied_at"`
	LastError   *string    `json:"last_error"`
	Observed    Observed   `json:"observed"`
	Operations  []OpResult `json:"finished_operations"`
}

// Heartbeat is what an agent reports every interval.
type Heartbeat struct {
	AppliedID   string     `json:"applied_topology_id,omitempty"`
	AppliedHash string     `json:"applied_version_hash,omitempty"`
	LastError   string     `json:"last_error,omitempty"`
	Operations  []OpResult `json:"finished_operations,omitempty"`
	// Observed is present only when the master's previous reply asked for
	// it: the agent never calls its engine on its own.
	Observed *Observed `json:"observed,omitempty"`
	// API is where the master reaches the agent's API: https://host:port
	// (mutual TLS) or unix:///path for an agent on the master's host.
	API string `json:"api_url,omitempty"`
	// Version is the agent's build.
	Version string `json:"version,omitempty"`
	// Capabilities say what the agent's driver can build, so that the
	// master refuses at once what the agent would refuse at apply.
	Capabilities *topology.HostCapabilities `json:"capabilities,omitempty"`
	// BinarySHA256 is the hex SHA-256 of the agent's running binary.
	BinarySHA256 string `json:"binary_sha256,omitempty"`
	// UpdateFailed reports an update the agent rolled back, until the
	// master has taken the report.
	UpdateFailed *UpdateFailure `json:"update_failed,omitempty"`
}

// UpdateFailure is an update that did not take: the build it tried and
// why it went back.
type UpdateFailure struct {
	SHA256  string `json:"sha256"`
	Version string `json:"version,omitempty"`
	Error   string `json:"error"`
}

// UpdateOrder asks an agent to run the master's build: fetch it from
// PathAgentBinary, check its SHA-256, switch to it, and go back on its own
// if it cannot heartbeat within its deadline.
type UpdateOrder struct {
	SHA256  string `json:"sha256"`
	Version string `json:"version"`
	Size    int64  `json:"size"`
}

// OperationIDs returns the ids of the finished operations the heartbeat
// lists.
func (hb *Heartbeat) OperationIDs() []string {
	ids := make([]string, len(hb.Operations))
	for i, o := range hb.Operations {
		ids[i] = o.ID
	}
	return ids
}

// HeartbeatReply tells the agent what the master wants of it.
type HeartbeatReply struct {
	// Desired is the topology the host should run (nil: none).
	Desired *Desired `json:"desired"`
	// Observe asks the agent to include what its engine runs next time;
	// the master asks whenever the host should be running something.
	Observe bool `json:"observe"`
	// Update, when set, asks the agent to switch to the master's build.
	Update *UpdateOrder `json:"update,omitempty"`
}

// Desired names a topology and the hash the host should have applied.
type Desired struct {
	TopologyID  string `json:"topology_id"`
	VersionHash string `json:"version_hash"`
}
