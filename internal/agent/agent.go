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
	// The agent validates every push, so it must know every service this
	// build runs.
	_ "github.com/decnet/decnet/internal/service/all"
	"github.com/decnet/decnet/internal/topology"
	"github.com/decnet/decnet/internal/wire"
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

	// wiped is closed once a wipe tore everything down: Run then stops
	// and erases the directory.
	wiped    chan struct{}
	wipeOnce sync.Once

	closeOnce sync.Once
	closeErr  error
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
	return &Agent{dir: dir, store: st, driver: drv, ops: ops, log: log.With("component", "agent"), work: work, cancel: cancel,
		wiped: make(chan struct{})}, nil
}

// Close waits for a running operation to finish, then closes the store.
func (a *Agent) Close() error {
	a.closeOnce.Do(func() {
		a.wg.Wait()
		a.cancel()
		a.closeErr = a.store.Close()
	})
	return a.closeErr
}

// RequestError is a refused request: the HTTP status and the wire error.
type RequestError struct {
	Status int
	Body   wire.Error
}

func (e *RequestError) Error() string { return e.Body.Error() }

func refuse(status int, code, format string, a ...any) *RequestError {
	return &RequestError{Status: status, Body: wire.Error{Code: code, Message: fmt.Sprintf(format, a...)}}
}

// checkApply verifies a push before anything touches the engine.
func checkApply(req *wire.ApplyRequest) error {
	bad := func(code, format string, a ...any) error { return refuse(400, code, format, a...) }
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
		return &RequestError{Status: 400, Body: wire.Error{Code: "SPEC_INVALID", Message: "the spec does not validate", Issues: rep.Errors()}}
	}
	if rep := topology.CheckImplemented(req.Spec); rep.Err() != nil {
		return &RequestError{Status: 400, Body: wire.Error{Code: "SERVICE_NOT_IMPLEMENTED", Message: "the spec uses services this build does not implement", Issues: rep.Errors()}}
	}
	if got := req.Spec.Hash(); got != req.VersionHash {
		return bad("HASH_MISMATCH", "version_hash %q does not match the spec, which hashes to %q", req.VersionHash, got)
	}
	return nil
}

func opError(err error) error {
	switch {
	case errors.Is(err, ErrDuplicateOp):
		return refuse(409, "OPERATION_DUPLICATE", "%v", err)
	case errors.Is(err, ErrStaleOp):
		return refuse(409, "OPERATION_STALE", "%v", err)
	case errors.Is(err, ErrBusy):
		return refuse(409, "BUSY", "%v", err)
	}
	return err
}

// Apply runs one apply operation to completion. It returns a
// *RequestError when the push is refused before any engine call.
func (a *Agent) Apply(req *wire.ApplyRequest, progress driver.ProgressFunc) (wire.OpResult, error) {
	if err := checkApply(req); err != nil {
		return wire.OpResult{}, err
	}
	return a.operation(req.OperationID, func() wire.OpResult { return a.apply(req, progress) })
}

// operation runs fn as operation id to completion in a goroutine of the
// agent's own (Close waits for it), so a caller that hangs up does not
// leave it half done.
func (a *Agent) operation(id string, fn func() wire.OpResult) (wire.OpResult, error) {
	if err := a.ops.begin(id); err != nil {
		return wire.OpResult{}, opError(err)
	}
	done := make(chan wire.OpResult, 1)
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		done <- fn()
	}()
	return <-done, nil
}

func (a *Agent) apply(req *wire.ApplyRequest, progress driver.ProgressFunc) wire.OpResult {
	ctx := a.work
	log := a.log.With("topology_id", req.TopologyID, "operation_id", req.OperationID)
	res := wire.OpResult{ID: req.OperationID, Kind: wire.OpApply, TopologyID: req.TopologyID, Hash: req.VersionHash}
	blob, _ := json.Marshal(req.Spec)
	fail := func(err error) wire.OpResult {
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
func (a *Agent) Teardown(req *wire.TeardownRequest) (wire.OpResult, error) {
	if req.OperationID == "" {
		return wire.OpResult{}, refuse(400, "OPERATION_ID_MISSING", "operation_id is required")
	}
	return a.operation(req.OperationID, func() wire.OpResult {
		res := wire.OpResult{ID: req.OperationID, Kind: wire.OpTeardown}
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
		return res
	})
}

// State returns the cached applied topology verbatim and what the engine
// runs, observed read-only. It never re-materialises anything.
func (a *Agent) State(ctx context.Context) (wire.State, error) {
	st := wire.State{Operations: a.ops.snapshot()}
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
	st.Observed = a.observe(ctx)
	return st, nil
}

// observe asks the driver what runs, read-only; an engine that cannot be
// asked is reported in the result, never as a failure of the request.
func (a *Agent) observe(ctx context.Context) wire.Observed {
	octx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	obs, err := a.driver.Observe(octx)
	if err != nil {
		msg := err.Error()
		if len(msg) > 200 {
			msg = msg[:200]
		}
		return wire.Observed{Error: msg}
	}
	return obs
}

// Status reports every decky on the host, read-only.
func (a *Agent) Status(ctx context.Context) ([]driver.DeckyStatus, error) {
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return a.driver.Status(sctx)
}
