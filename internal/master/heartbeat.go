package master

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/decnet/decnet/internal/store"
	"github.com/decnet/decnet/internal/wire"
)

// desiredFor returns the topology a host should run: the one assigned to
// it in a live status.
func (a *Authority) desiredFor(r *http.Request, host string) (*wire.Desired, error) {
	tops, err := a.Store.ListTopologies(r.Context())
	if err != nil {
		return nil, err
	}
	for _, t := range tops {
		if t.HostID == host && ShouldRun(t.Status) {
			return &wire.Desired{TopologyID: t.ID, VersionHash: t.Hash}, nil
		}
	}
	return nil, nil
}

// AgentHandler serves the agent-facing API: the CA, enrollment (no client
// certificate) and heartbeats (agent certificate required).
func (a *Authority) AgentHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle(wire.PathCA, a.EnrollHandler())
	mux.Handle(wire.PathEnroll, a.EnrollHandler())
	if a.Artifacts != nil {
		mux.HandleFunc("HEAD "+wire.PathArtifactPrefix+"{sha}", a.artifactHandler)
		mux.HandleFunc("PUT "+wire.PathArtifactPrefix+"{sha}", a.artifactHandler)
	}
	mux.HandleFunc("GET "+wire.PathAgentBinary, a.serveBinary)
	mux.HandleFunc("POST "+wire.PathHeartbeat, func(w http.ResponseWriter, r *http.Request) {
		host, err := a.AgentFromRequest(r)
		if err != nil {
			agentError(w, http.StatusForbidden, "FORBIDDEN", err.Error())
			return
		}
		var hb wire.Heartbeat
		if err := json.NewDecoder(io.LimitReader(r.Body, 4<<20)).Decode(&hb); err != nil {
			agentError(w, http.StatusBadRequest, "BAD_REQUEST", err.Error())
			return
		}
		var observed json.RawMessage
		if hb.Observed != nil {
			observed, _ = json.Marshal(hb.Observed)
		}
		err = a.Store.RecordHeartbeat(r.Context(), host, a.now(), hb.AppliedID, hb.AppliedHash, hb.LastError, observed)
		if errors.Is(err, store.ErrNotFound) {
			agentError(w, http.StatusForbidden, "DECOMMISSIONED", "host "+host+" is not enrolled")
			return
		}
		if err != nil {
			agentError(w, http.StatusInternalServerError, "INTERNAL", err.Error())
			return
		}
		if a.OnHeartbeat != nil {
			a.OnHeartbeat(host, &hb)
		}
		want, err := a.desiredFor(r, host)
		if err != nil {
			agentError(w, http.StatusInternalServerError, "INTERNAL", err.Error())
			return
		}
		update, err := a.updateFor(r.Context(), host, &hb)
		if err != nil {
			agentError(w, http.StatusInternalServerError, "INTERNAL", err.Error())
			return
		}
		agentJSON(w, http.StatusOK, wire.HeartbeatReply{Desired: want, Observe: want != nil, Update: update})
	})
	return mux
}
