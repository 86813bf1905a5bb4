// Package agent is the executor on every host that runs deckies. It applies
// what the master pushes through a driver, keeps a passive cache of what it
// applied (package store), and reports the truth. It never decides on its
// own to re-create anything: starting it, even with a populated cache,
// makes no engine call; only master requests (apply, teardown, state,
// status) do.
package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/decnet/decnet/internal/agent/store"
	"github.com/decnet/decnet/internal/driver"
	"github.com/decnet/decnet/internal/topology"
)

// DirEnv names the environment variable that gives the agent directory
// when --dir is not set.
const DirEnv = "DECNET_AGENT_DIR"

// Agent holds the agent's state. Create it with New.
type Agent struct {
	dir    string
	store  *store.Store
	driver driver.Driver
	ops    *opLog
	log    *slog.Logger

	// work outlives the requests that start operations, so a client that
	// hangs up does not leave a half-applied topology behind.
	work   context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New opens the agent directory (creating it) and its store. It starts
// nothing and calls no engine.
func New(dir string, drv driver.Driver, log *slog.Logger) (*Agent, error) {
	if dir == "" {
		return nil, errors.New("agent: no directory: pass --dir or set " + DirEnv)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("agent: create directory: %w", err)
	}
	st, err := store.Open(filepath.Join(dir, "topology.db"))
	if err != nil {
		return nil, fmt.Errorf("agent: %w", err)
	}
	ops, err := loadOpLog(dir)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("agent: %w", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	work, cancel := context.WithCancel(context.Background())
	return &Agent{dir: dir, store: st, driver: drv, ops: ops, log: log.With("component", "agent"), work: work, cancel: cancel}, nil
}

// Close waits for a running operation to finish, then closes the store.
func (a *Agent) Close() error {
	a.wg.Wait()
	a.cancel()
	return a.store.Close()
}

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

// RequestError is a refused request, with a stable code.
type RequestError struct {
	Status int              `json:"-"`
	Code   string           `json:"code"`
	Msg    string           `json:"message"`
	Issues []topology.Issue `json:"issues,omitempty"`
}

func (e *RequestError) Error() string { return e.Code + ": " + e.Msg }

// checkApply verifies a push before anything touches the engine.
func checkApply(req *ApplyRequest) error {
	bad := func(code, format string, a ...any) error {
		return &RequestError{Status: 400, Code: code, Msg: fmt.Sprintf(format, a...)}
	}
	switch {
	case req.OperationID == "":
		return bad("OPERATION_ID_MISSING", "operation_id is required")
	case req.TopologyID == "":
		return bad("TOPOLOGY_ID_MISSING", "topology_id is required")
	case !topology.ValidName(req.TopologyID):
		return bad("TOPOLOGY_ID_INVALID", "topology_id %q has characters that cannot name engine objects", req.TopologyID)
	case req.Spec == nil:
		return bad("SPEC_MISSING", "spec is required")
	case req.Spec.ID != "" && req.Spec.ID != req.TopologyID:
		return bad("TOPOLOGY_ID_MISMATCH", "spec id %q differs from topology_id %q", req.Spec.ID, req.TopologyID)
	}
	req.Spec.ID = req.TopologyID
	if rep := topology.Validate(req.Spec, topology.Options{}); rep.Err() != nil {
		return &RequestError{Status: 400, Code: "SPEC_INVALID", Msg: "the spec does not validate", Issues: rep.Errors()}
	}
	if rep := topology.CheckImplemented(req.Spec); rep.Err() != nil {
		return &RequestError{Status: 400, Code: "SERVICE_NOT_IMPLEMENTED", Msg: "the spec uses services this build does not implement", Issues: rep.Errors()}
	}
	if got := req.Spec.Hash(); got != req.VersionHash {
		return bad("HASH_MISMATCH", "version_hash %q does not match the spec, which hashes to %q", req.VersionHash, got)
	}
	return nil
}

func opError(err error) error {
	switch {
	case errors.Is(err, ErrDuplicateOp):
		return &RequestError{Status: 409, Code: "OPERATION_DUPLICATE", Msg: err.Error()}
	case errors.Is(err, ErrStaleOp):
		return &RequestError{Status: 409, Code: "OPERATION_STALE", Msg: err.Error()}
	case errors.Is(err, ErrBusy):
		return &RequestError{Status: 409, Code: "BUSY", Msg: err.Error()}
	}
	return err
}

// Apply runs one apply operation to completion. It returns a
// *RequestError when the push is refused before any engine call.
func (a *Agent) Apply(req *ApplyRequest, progress driver.ProgressFunc) (FinishedOp, error) {
	if err := checkApply(req); err != nil {
		return FinishedOp{}, err
	}
	if err := a.ops.begin(req.OperationID); err != nil {
		return FinishedOp{}, opError(err)
	}
	done := make(chan FinishedOp, 1)
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		done <- a.apply(req, progress)
	}()
	return <-done, nil
}

func (a *Agent) apply(req *ApplyRequest, progress driver.ProgressFunc) FinishedOp {
	ctx := a.work
	log := a.log.With("topology_id", req.TopologyID, "operation_id", req.OperationID)
	res := FinishedOp{ID: req.OperationID, Kind: "apply", TopologyID: req.TopologyID, Hash: req.VersionHash}
	blob, _ := json.Marshal(req.Spec)
	fail := func(err error) FinishedOp {
		log.Error("apply failed", "err", err)
		if rerr := a.store.RecordError(req.TopologyID, blob, err.Error()); rerr != nil {
			log.Error("record apply error", "err", rerr)
		}
		res.Error = err.Error()
		res.Finished = time.Now().UTC()
		a.ops.finish(res)
		return res
	}
	cur, err := a.store.Current()
	if err != nil {
		return fail(err)
	}
	if cur != nil && cur.TopologyID != req.TopologyID {
		log.Info("tearing down predecessor", "predecessor", cur.TopologyID)
		if err := a.driver.Teardown(ctx); err != nil {
			return fail(fmt.Errorf("tear down predecessor %s: %w", cur.TopologyID, err))
		}
		if err := a.store.Clear(cur.TopologyID); err != nil {
			return fail(err)
		}
	}
	log.Info("applying", "deckies", len(req.Spec.Deckies), "hash", req.VersionHash)
	if err := a.driver.Apply(ctx, req.Spec, progress); err != nil {
		return fail(err)
	}
	res.Finished = time.Now().UTC()
	if err := a.store.Put(req.TopologyID, req.VersionHash, blob, res.Finished); err != nil {
		return fail(err)
	}
	res.OK = true
	a.ops.finish(res)
	log.Info("applied")
	return res
}

// Teardown removes everything the agent runs and forgets the applied
// topology. It is idempotent.
func (a *Agent) Teardown(req *TeardownRequest) (FinishedOp, error) {
	if req.OperationID == "" {
		return FinishedOp{}, &RequestError{Status: 400, Code: "OPERATION_ID_MISSING", Msg: "operation_id is required"}
	}
	if err := a.ops.begin(req.OperationID); err != nil {
		return FinishedOp{}, opError(err)
	}
	done := make(chan FinishedOp, 1)
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		res := FinishedOp{ID: req.OperationID, Kind: "teardown"}
		err := a.driver.Teardown(a.work)
		if err == nil {
			var cur *store.Applied
			if cur, err = a.store.Current(); err == nil && cur != nil {
				res.TopologyID = cur.TopologyID
				err = a.store.Clear(cur.TopologyID)
			}
		}
		if err != nil {
			res.Error = err.Error()
			a.log.Error("teardown failed", "err", err)
		}
		res.OK = err == nil
		res.Finished = time.Now().UTC()
		a.ops.finish(res)
		done <- res
	}()
	return <-done, nil
}

// State is the body of GET /topology/state.
type State struct {
	TopologyID  *string        `json:"topology_id"`
	VersionHash *string        `json:"applied_version_hash"`
	AppliedAt   *int64         `json:"applied_at"`
	LastError   *string        `json:"last_error"`
	Observed    map[string]any `json:"observed"`
	Operations  []FinishedOp   `json:"finished_operations"`
}

// State returns the cached applied topology verbatim and what the engine
// runs, observed read-only. It never re-materialises anything.
func (a *Agent) State(ctx context.Context) (State, error) {
	st := State{Operations: a.ops.snapshot()}
	cur, err := a.store.Current()
	if err != nil {
		return st, err
	}
	if cur != nil {
		st.TopologyID, st.VersionHash = &cur.TopologyID, &cur.VersionHash
		at := int64(0)
		if !cur.AppliedAt.IsZero() {
			at = cur.AppliedAt.Unix()
		}
		st.AppliedAt = &at
		if cur.LastError != "" {
			st.LastError = &cur.LastError
		}
	}
	octx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	obs, err := a.driver.Observe(octx)
	if err != nil {
		msg := err.Error()
		if len(msg) > 200 {
			msg = msg[:200]
		}
		st.Observed = map[string]any{"error": msg}
	} else {
		st.Observed = map[string]any{"bridges": obs.Bridges, "containers": obs.Containers}
	}
	return st, nil
}

// Status reports every decky on the host, read-only.
func (a *Agent) Status(ctx context.Context) ([]driver.DeckyStatus, error) {
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return a.driver.Status(sctx)
}
