package master

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/pki"
	"github.com/decnet/decnet/internal/store"
	"github.com/decnet/decnet/internal/topology"
	"github.com/decnet/decnet/internal/wire"
)

// Reconciler makes every host run what the master wants. It learns each
// host's truth from heartbeats; what to do about a topology is decided by
// Decide, a pure function of the desired topology, what the master knows
// of its host and the time. The loop around it pushes an apply (or a
// teardown): one operation at a time per host, each with a fresh operation
// id the agent refuses to run twice, and exponential backoff after
// failures. Status changes are compare-and-swap.
type Reconciler struct {
	st   store.Store
	ca   *pki.CA
	cert tls.Certificate
	log  *slog.Logger
	now  func() time.Time

	mu    sync.Mutex
	hosts map[string]*HostState
	// kick wakes Run early: a heartbeat from a host that was unreachable.
	kick chan struct{}
	// ops are the operations in flight; Run waits for them.
	ops sync.WaitGroup
}

// HostState is what the reconciler knows of one host.
type HostState struct {
	API string // https://host:port or unix:///path
	// Capabilities are what the host's driver can build, from its
	// heartbeats; nil until one reports them.
	Capabilities *topology.HostCapabilities
	AppliedID    string
	AppliedHash  string
	Inflight     bool
	Failures     int
	NotBefore    time.Time
	// Unreachable is set when the last push could not reach the agent; a
	// heartbeat proves it is back, which ends the backoff.
	Unreachable bool
	// LastOp is the last operation whose result the reconciler got; a
	// heartbeat that does not list it was taken before that operation
	// finished, so its applied hash is stale.
	LastOp string
	// Observed is the engine's last report, nil until one arrives.
	Observed   *wire.Observed
	LastRepair time.Time
}

// RepairInterval spaces re-pushes for missing objects, so a decky that
// keeps dying is not re-created in a tight loop.
const RepairInterval = 30 * time.Second

// MaxApplyFailures is how many failed pushes in a row mark a deploying
// topology failed.
const MaxApplyFailures = 5

// ReconcileInterval is how often the reconciler compares every topology
// with its host when nothing wakes it earlier.
const ReconcileInterval = 2 * time.Second

// Action is what the reconciler does about one topology.
type Action int

// The actions.
const (
	// Wait: nothing to do now (in sync, no host API yet, an operation in
	// flight, or backing off).
	Wait Action = iota
	// Push an apply of the desired hash.
	Push
	// Repair pushes the same hash again: the engine lost deckies.
	Repair
	// Converged moves a deploying topology to active: its host reports
	// the desired hash (the completion arrived by heartbeat).
	Converged
	// Remove pushes a teardown.
	Remove
)

func (a Action) String() string {
	return [...]string{"wait", "push", "repair", "converged", "remove"}[a]
}

// Decide is the reconciler's decision for topology t given what it knows
// of t's host (nil: never heard of) at now. It does no I/O.
func Decide(t *store.Topology, h *HostState, now time.Time) Action {
	if h == nil || h.API == "" || h.Inflight || now.Before(h.NotBefore) {
		return Wait
	}
	switch {
	case ShouldRun(t.Status) && h.AppliedHash != t.Hash:
		return Push
	case (t.Status == store.Active || t.Status == store.Degraded) && h.AppliedID == t.ID &&
		now.Sub(h.LastRepair) > RepairInterval && Missing(t, h.Observed):
		return Repair
	case t.Status == store.Deploying:
		return Converged
	case t.Status == store.TearingDown:
		return Remove
	}
	return Wait
}

// Decky states, from what the host's engine last reported.
const (
	DeckyRunning = "running"
	DeckyMissing = "missing"
)

// deckyNames reads the decky names of a stored spec.
func deckyNames(spec json.RawMessage) ([]string, bool) {
	var sp struct {
		Deckies []struct {
			Name string `json:"name"`
		} `json:"deckies"`
	}
	if json.Unmarshal(spec, &sp) != nil {
		return nil, false
	}
	names := make([]string, len(sp.Deckies))
	for i, d := range sp.Deckies {
		names[i] = d.Name
	}
	return names, true
}

// ParseObserved reads a stored observation; nil when there is none or the
// engine could not be asked.
func ParseObserved(raw json.RawMessage) *wire.Observed {
	var o wire.Observed
	if len(raw) == 0 || json.Unmarshal(raw, &o) != nil || o.Error != "" {
		return nil
	}
	return &o
}

// Missing reports whether an observation shows a decky of t that the
// engine does not run.
func Missing(t *store.Topology, obs *wire.Observed) bool {
	names, ok := deckyNames(t.Spec)
	if obs == nil || !ok {
		return false
	}
	return slices.ContainsFunc(names, func(n string) bool { return !obs.Running(t.ID, n) })
}

// DeckyStates tells, for each decky of a topology that should run and that
// its host last reported as applied, whether the engine runs it; nil when
// that is not known.
func DeckyStates(t *store.Topology, h *store.Host) map[string]string {
	if h == nil || h.Decommissioned || h.AppliedID != t.ID || !ShouldRun(t.Status) {
		return nil
	}
	obs := ParseObserved(h.Observed)
	names, ok := deckyNames(t.Spec)
	if obs == nil || !ok {
		return nil
	}
	out := make(map[string]string, len(names))
	for _, n := range names {
		out[n] = DeckyMissing
		if obs.Running(t.ID, n) {
			out[n] = DeckyRunning
		}
	}
	return out
}

// NewReconciler returns a reconciler; it starts nothing.
func NewReconciler(st store.Store, ca *pki.CA, cert tls.Certificate, log *slog.Logger) *Reconciler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Reconciler{st: st, ca: ca, cert: cert, log: log.With("component", "reconciler"), now: time.Now,
		hosts: map[string]*HostState{}, kick: make(chan struct{}, 1)}
}

// Observe records a heartbeat's truth.
func (r *Reconciler) Observe(host string, hb *wire.Heartbeat) {
	r.mu.Lock()
	defer r.mu.Unlock()
	h := r.hosts[host]
	if h == nil {
		h = &HostState{}
		r.hosts[host] = h
	}
	if hb.API != "" {
		h.API = hb.API
	}
	if hb.Capabilities != nil {
		h.Capabilities = hb.Capabilities
	}
	// A heartbeat taken before our last operation finished says nothing
	// of what it applied: its hash is the old one and its engine view may
	// be half-built (deckies still starting would read as lost and be
	// re-pushed right after the first apply).
	if h.LastOp != "" && !slices.Contains(hb.OperationIDs(), h.LastOp) {
		return
	}
	if hb.Observed != nil && hb.Observed.Error == "" {
		h.Observed = hb.Observed
	}
	h.AppliedID, h.AppliedHash = hb.AppliedID, hb.AppliedHash
	if h.Unreachable {
		h.Unreachable, h.Failures, h.NotBefore = false, 0, time.Time{}
		select {
		case r.kick <- struct{}{}:
		default:
		}
	}
}

func (r *Reconciler) applied(host, id, hash, op string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if h := r.hosts[host]; h != nil {
		h.AppliedID, h.AppliedHash, h.LastOp = id, hash, op
		// What the engine ran before this operation says nothing now.
		h.Observed = nil
	}
}

// Run reconciles every interval until ctx is done, and returns once the
// operations it started have finished.
func (r *Reconciler) Run(ctx context.Context, interval time.Duration) error {
	defer r.ops.Wait()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := r.Once(ctx); err != nil && ctx.Err() == nil {
			r.log.Warn("reconcile", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-r.kick:
		}
	}
}

// Once compares every topology with what its host reported and starts
// the operations Decide asks for, one per host, in the background (Run
// waits for them).
func (r *Reconciler) Once(ctx context.Context) error {
	tops, err := r.st.ListTopologies(ctx)
	if err != nil {
		return err
	}
	now := r.now()
	for _, t := range tops {
		r.mu.Lock()
		h := r.hosts[t.HostID]
		act := Decide(&t, h, now)
		var api string
		if act != Wait {
			h.Inflight = true
			api = h.API
			if act == Repair {
				h.LastRepair = now
			}
		}
		r.mu.Unlock()
		if act == Wait {
			continue
		}
		top := t
		r.ops.Add(1)
		go func() {
			defer r.ops.Done()
			switch act {
			case Push:
				r.apply(ctx, top.HostID, api, &top)
			case Repair:
				r.log.Info("objects missing on host, re-pushing", "host_id", top.HostID, "topology_id", top.ID)
				r.apply(ctx, top.HostID, api, &top)
			case Converged:
				r.transition(ctx, top.ID, store.Deploying, store.Active, "agent reports the desired hash")
				r.done(top.HostID, nil)
			case Remove:
				r.teardown(ctx, top.HostID, api, &top)
			}
		}()
	}
	return nil
}

func (r *Reconciler) done(host string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	h := r.hosts[host]
	h.Inflight = false
	var te *transportError
	h.Unreachable = errors.As(err, &te)
	if err == nil {
		h.Failures, h.NotBefore = 0, time.Time{}
		return
	}
	h.Failures++
	h.NotBefore = r.now().Add(Backoff(h.Failures))
}

// Backoff is the wait after n failed operations in a row: 2^n seconds, at
// most 5 minutes.
func Backoff(n int) time.Duration {
	return min(time.Second<<min(n, 8), 5*time.Minute)
}

func (r *Reconciler) transition(ctx context.Context, id, from, to, reason string) {
	if err := r.st.Transition(ctx, id, from, to, reason); err != nil && !errors.Is(err, store.ErrConflict) {
		r.log.Error("transition", "topology_id", id, "from", from, "to", to, "err", err)
	}
}

func (r *Reconciler) apply(ctx context.Context, host, api string, t *store.Topology) {
	op := event.NewID()
	var spec topology.Spec
	if err := json.Unmarshal(t.Spec, &spec); err != nil {
		r.done(host, err)
		r.log.Error("stored spec unreadable", "topology_id", t.ID, "err", err)
		return
	}
	r.log.Info("pushing topology", "host_id", host, "topology_id", t.ID, "hash", t.Hash, "operation_id", op)
	res, err := r.call(ctx, host, api, wire.PathApply, wire.ApplyRequest{TopologyID: t.ID, VersionHash: t.Hash, OperationID: op, Spec: &spec})
	if err == nil && !res.OK {
		err = errors.New(res.Error)
	}
	r.done(host, err)
	if err != nil {
		r.log.Warn("apply failed", "host_id", host, "topology_id", t.ID, "err", err)
		r.mu.Lock()
		failures := r.hosts[host].Failures
		r.mu.Unlock()
		if failures >= MaxApplyFailures {
			r.transition(ctx, t.ID, store.Deploying, store.Failed, fmt.Sprintf("%d pushes failed: %v", failures, err))
		} else if t.Status == store.Active {
			r.transition(ctx, t.ID, store.Active, store.Degraded, "re-push failed: "+err.Error())
		}
		return
	}
	r.applied(host, t.ID, t.Hash, op)
	switch t.Status {
	case store.Deploying:
		r.transition(ctx, t.ID, store.Deploying, store.Active, "applied by "+host)
	case store.Degraded:
		r.transition(ctx, t.ID, store.Degraded, store.Active, "re-applied by "+host)
	}
}

func (r *Reconciler) teardown(ctx context.Context, host, api string, t *store.Topology) {
	op := event.NewID()
	res, err := r.call(ctx, host, api, wire.PathTeardown, wire.TeardownRequest{OperationID: op})
	if err == nil && !res.OK {
		err = errors.New(res.Error)
	}
	r.done(host, err)
	if err != nil {
		r.log.Warn("teardown failed", "host_id", host, "topology_id", t.ID, "err", err)
		return
	}
	r.applied(host, "", "", op)
	r.transition(ctx, t.ID, store.TearingDown, store.TornDown, "torn down by "+host)
}

// Wipe asks a host's agent to tear everything down and erase its state,
// waiting for any operation in flight on the host first.
func (r *Reconciler) Wipe(ctx context.Context, host string) error {
	for {
		r.mu.Lock()
		h := r.hosts[host]
		if h == nil || h.API == "" {
			r.mu.Unlock()
			return errors.New("the agent has not reported where to reach it")
		}
		if !h.Inflight {
			h.Inflight = true
			api := h.API
			r.mu.Unlock()
			res, err := r.call(ctx, host, api, wire.PathWipe, wire.TeardownRequest{OperationID: event.NewID()})
			if err == nil && !res.OK {
				err = errors.New(res.Error)
			}
			r.done(host, err)
			return err
		}
		r.mu.Unlock()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// transportError is a push that never reached the agent.
type transportError struct{ err error }

func (e *transportError) Error() string { return "agent unreachable: " + e.err.Error() }
func (e *transportError) Unwrap() error { return e.err }

// call runs one agent operation: over mutual TLS with the master's
// certificate, checking the agent's role for that very host, or over the
// unix socket of a same-host agent.
func (r *Reconciler) call(ctx context.Context, host, api, path string, req any) (*wire.OpResult, error) {
	var client *http.Client
	base := api
	if sock, ok := strings.CutPrefix(api, "unix://"); ok {
		client = &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", sock)
		}}}
		base = "http://agent"
	} else {
		client = &http.Client{Transport: &http.Transport{TLSClientConfig: pki.ClientTLSConfig(r.ca.Pool(), r.cert, pki.Only(pki.Agent(host)))}}
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	cctx, cancel := context.WithTimeout(ctx, 15*time.Minute)
	defer cancel()
	hreq, err := http.NewRequestWithContext(cctx, http.MethodPost, base+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	hreq.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(hreq)
	if err != nil {
		return nil, &transportError{err}
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	switch resp.StatusCode {
	case http.StatusOK, http.StatusInternalServerError:
		var res wire.OpResult
		if err := json.Unmarshal(data, &res); err == nil && res.ID != "" {
			return &res, nil
		}
	}
	var refused wire.ErrorBody
	if json.Unmarshal(data, &refused) == nil && refused.Error.Code != "" {
		return nil, fmt.Errorf("agent %s refused (%s): %w", host, resp.Status, &refused.Error)
	}
	return nil, fmt.Errorf("agent %s answered %s: %s", host, resp.Status, bytes.TrimSpace(data))
}

// Capabilities returns what a host's driver can build, when its agent has
// said.
func (r *Reconciler) Capabilities(host string) (topology.HostCapabilities, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if h := r.hosts[host]; h != nil && h.Capabilities != nil {
		return *h.Capabilities, true
	}
	return topology.HostCapabilities{}, false
}
