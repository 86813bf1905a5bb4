package master

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/decnet/decnet/internal/store"
)

// Heartbeat is what an agent reports every interval.
type Heartbeat struct {
	AppliedID   string          `json:"applied_topology_id,omitempty"`
	AppliedHash string          `json:"applied_version_hash,omitempty"`
	LastError   string          `json:"last_error,omitempty"`
	Operations  json.RawMessage `json:"finished_operations,omitempty"`
	// Observed is present only when the previous reply asked for it: the
	// agent never calls its engine on its own.
	Observed json.RawMessage `json:"observed,omitempty"`
	// API is where the master reaches the agent's API: https://host:port
	// (mutual TLS) or unix:///path for an agent on the master's host.
	API string `json:"api_url,omitempty"`
}

// OperationIDs returns the ids of the finished operations the heartbeat
// lists.
func (hb Heartbeat) OperationIDs() []string {
	var ops []struct {
		ID string `json:"operation_id"`
	}
	if len(hb.Operations) == 0 || json.Unmarshal(hb.Operations, &ops) != nil {
		return nil
	}
	ids := make([]string, 0, len(ops))
	for _, o := range ops {
		ids = append(ids, o.ID)
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
}

// Desired names a topology and the hash the host should have applied.
type Desired struct {
	TopologyID  string `json:"topology_id"`
	VersionHash string `json:"version_hash"`
}

// desiredFor returns the topology a host should run: the one assigned to
// it in a live status.
func (a *Authority) desiredFor(r *http.Request, host string) (*Desired, error) {
	tops, err := a.Store.ListTopologies(r.Context())
	if err != nil {
		return nil, err
	}
	for _, t := range tops {
		if t.HostID == host && ShouldRun(t.Status) {
			return &Desired{TopologyID: t.ID, VersionHash: t.Hash}, nil
		}
	}
	return nil, nil
}

// AgentHandler serves the agent-facing API: the CA, enrollment (no client
// certificate) and heartbeats (agent certificate required).
func (a *Authority) AgentHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/agent/v1/ca", a.EnrollHandler())
	mux.Handle("/agent/v1/enroll", a.EnrollHandler())
	if a.Artifacts != nil {
		mux.HandleFunc("HEAD /agent/v1/artifacts/{sha}", a.artifactHandler)
		mux.HandleFunc("PUT /agent/v1/artifacts/{sha}", a.artifactHandler)
	}
	mux.HandleFunc("POST /agent/v1/heartbeat", func(w http.ResponseWriter, r *http.Request) {
		host, err := a.AgentFromRequest(r)
		if err != nil {
			agentError(w, http.StatusForbidden, "FORBIDDEN", err.Error())
			return
		}
		var hb Heartbeat
		if err := json.NewDecoder(io.LimitReader(r.Body, 4<<20)).Decode(&hb); err != nil {
			agentError(w, http.StatusBadRequest, "BAD_REQUEST", err.Error())
			return
		}
		err = a.Store.RecordHeartbeat(r.Context(), host, a.now(), hb.AppliedID, hb.AppliedHash, hb.LastError, hb.Observed)
		if errors.Is(err, store.ErrNotFound) {
			agentError(w, http.StatusForbidden, "DECOMMISSIONED", "host "+host+" is not enrolled")
			return
		}
		if err != nil {
			agentError(w, http.StatusInternalServerError, "INTERNAL", err.Error())
			return
		}
		if a.OnHeartbeat != nil {
			a.OnHeartbeat(host, hb)
		}
		want, err := a.desiredFor(r, host)
		if err != nil {
			agentError(w, http.StatusInternalServerError, "INTERNAL", err.Error())
			return
		}
		agentJSON(w, http.StatusOK, HeartbeatReply{Desired: want, Observe: want != nil})
	})
	return mux
}
