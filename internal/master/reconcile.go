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
)

// Reconciler makes every host run what the master wants. It learns each
// host's truth from heartbeats and pushes an apply (or a teardown) when the
// applied hash differs from the desired one: one operation at a time per
// host, each with a fresh operation id the agent refuses to run twice, and
// exponential backoff after failures. Status changes are compare-and-swap.
type Reconciler struct {
	st   store.Store
	ca   *pki.CA
	cert tls.Certificate
	log  *slog.Logger

	mu    sync.Mutex
	hosts map[string]*hostState
	// kick wakes Run early: a heartbeat from a host that was unreachable.
	kick chan struct{}
}

type hostState struct {
	api         string // https://host:port or unix:///path
	appliedID   string
	appliedHash string
	inflight    bool
	failures    int
	notBefore   time.Time
	// unreachable is set when the last push could not reach the agent; a
	// heartbeat proves it is back, which ends the backoff.
	unreachable bool
	// lastOp is the last operation whose result the reconciler got; a
	// heartbeat that does not list it was taken before that operation
	// finished, so its applied hash is stale.
	lastOp string
	// running is how many deckies the engine reported running (-1: not
	// reported); fewer than the topology has means objects are missing.
	observed   json.RawMessage
	lastRepair time.Time
}

// RepairInterval spaces re-pushes for missing objects, so a decky that
// keeps dying is not re-created in a tight loop.
const RepairInterval = 30 * time.Second

// observedContainers returns the containers an observation lists; false
// when the heartbeat carried none (the engine was not asked, or failed).
func observedContainers(observed json.RawMessage) ([]string, bool) {
	var o struct {
		Containers []string `json:"containers"`
	}
	if len(observed) == 0 || json.Unmarshal(observed, &o) != nil || o.Containers == nil {
		return nil, false
	}
	return o.Containers, true
}

// isDeckyContainer: the docker driver names a decky's container
// <prefix>-<decky>, the host driver by the decky's name alone. Custom
// service containers (<decky container>-<service>) do not match.
func isDeckyContainer(c, decky string) bool {
	return c == decky || strings.HasSuffix(c, "-"+decky)
}

// runningDeckies counts the decky containers an observation lists, or -1.
func runningDeckies(observed json.RawMessage, deckies []string) int {
	cs, ok := observedContainers(observed)
	if !ok {
		return -1
	}
	n := 0
	for _, c := range cs {
		for _, d := range deckies {
			if isDeckyContainer(c, d) {
				n++
				break
			}
		}
	}
	return n
}

// Decky states, from what the host's engine last reported.
const (
	DeckyRunning = "running"
	DeckyMissing = "missing"
)

// DeckyStates tells, for each decky of a topology that should run and that
// its host last reported as applied, whether the engine runs it; nil when
// that is not known.
func DeckyStates(t *store.Topology, h *store.Host) map[string]string {
	if h == nil || h.Decommissioned || h.AppliedID != t.ID || !ShouldRun(t.Status) {
		return nil
	}
	cs, ok := observedContainers(h.Observed)
	if !ok {
		return nil
	}
	var sp struct {
		Deckies []struct {
			Name string `json:"name"`
		} `json:"deckies"`
	}
	if json.Unmarshal(t.Spec, &sp) != nil {
		return nil
	}
	out := make(map[string]string, len(sp.Deckies))
	for _, d := range sp.Deckies {
		out[d.Name] = DeckyMissing
		for _, c := range cs {
			if isDeckyContainer(c, d.Name) {
				out[d.Name] = DeckyRunning
				break
			}
		}
	}
	return out
}

// MaxApplyFailures is how many failed pushes in a row mark a deploying
// topology failed.
const MaxApplyFailures = 5

// NewReconciler returns a reconciler; it starts nothing.
func NewReconciler(st store.Store, ca *pki.CA, cert tls.Certificate, log *slog.Logger) *Reconciler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Reconciler{st: st, ca: ca, cert: cert, log: log.With("component", "reconciler"), hosts: map[string]*hostState{},
		kick: make(chan struct{}, 1)}
}

// Observe records a heartbeat's truth. finishedOps are the ids of the
// operations the agent reports as finished.
func (r *Reconciler) Observe(host, api, appliedID, appliedHash string, finishedOps []string, observed json.RawMessage) {
	r.mu.Lock()
	defer r.mu.Unlock()
	h := r.hosts[host]
	if h == nil {
		h = &hostState{}
		r.hosts[host] = h
	}
	if len(observed) > 0 {
		h.observed = observed
	}
	if api != "" {
		h.api = api
	}
	if h.lastOp != "" && !slices.Contains(finishedOps, h.lastOp) {
		return // taken before our last operation finished
	}
	h.appliedID, h.appliedHash = appliedID, appliedHash
	if h.unreachable {
		h.unreachable, h.failures, h.notBefore = false, 0, time.Time{}
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
		h.appliedID, h.appliedHash, h.lastOp = id, hash, op
	}
}

// Run reconciles every interval until ctx is done.
func (r *Reconciler) Run(ctx context.Context, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := r.Once(ctx); err != nil {
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
// the operations needed. Operations run in the background, one per host.
func (r *Reconciler) Once(ctx context.Context) error {
	tops, err := r.st.ListTopologies(ctx)
	if err != nil {
		return err
	}
	now := time.Now()
	for _, t := range tops {
		r.mu.Lock()
		h := r.hosts[t.HostID]
		var job func()
		if h != nil && h.api != "" && !h.inflight && !now.Before(h.notBefore) {
			switch {
			case ShouldRun(t.Status) && h.appliedHash != t.Hash:
				top := t
				job = func() { r.apply(ctx, t.HostID, h.api, &top) }
			case (t.Status == store.Active || t.Status == store.Degraded) && h.appliedHash == t.Hash &&
				now.Sub(h.lastRepair) > RepairInterval && missing(t.Spec, h.observed):
				// The engine lost objects (a restarted host, a killed
				// container): the same hash again makes the agent re-create
				// what is missing and touch nothing else.
				h.lastRepair = now
				top := t
				r.log.Info("objects missing on host, re-pushing", "host_id", t.HostID, "topology_id", t.ID)
				job = func() { r.apply(ctx, t.HostID, h.api, &top) }
			case t.Status == store.Deploying && h.appliedHash == t.Hash:
				// Converged: the completion arrived by heartbeat.
				id := t.ID
				job = func() {
					r.transition(ctx, id, store.Deploying, store.Active, "agent reports the desired hash")
					r.done(t.HostID, nil)
				}
			case t.Status == store.TearingDown:
				top := t
				job = func() { r.teardown(ctx, t.HostID, h.api, &top) }
			}
		}
		if job != nil {
			h.inflight = true
		}
		r.mu.Unlock()
		if job != nil {
			go job()
		}
	}
	return nil
}

func (r *Reconciler) done(host string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	h := r.hosts[host]
	h.inflight = false
	var te *transportError
	h.unreachable = errors.As(err, &te)
	if err == nil {
		h.failures, h.notBefore = 0, time.Time{}
		return
	}
	h.failures++
	backoff := min(time.Second<<min(h.failures, 8), 5*time.Minute)
	h.notBefore = time.Now().Add(backoff)
}

func (r *Reconciler) transition(ctx context.Context, id, from, to, reason string) {
	if err := r.st.Transition(ctx, id, from, to, reason); err != nil && !errors.Is(err, store.ErrConflict) {
		r.log.Error("transition", "topology_id", id, "from", from, "to", to, "err", err)
	}
}

func (r *Reconciler) apply(ctx context.Context, host, api string, t *store.Topology) {
	op := event.NewID()
	body, _ := json.Marshal(map[string]any{"topology_id": t.ID, "version_hash": t.Hash, "operation_id": op, "spec": t.Spec})
	r.log.Info("pushing topology", "host_id", host, "topology_id", t.ID, "hash", t.Hash, "operation_id", op)
	res, err := r.call(ctx, host, api, "/topology/apply", body)
	if err == nil && !res.OK {
		err = errors.New(res.Error)
	}
	r.done(host, err)
	if err != nil {
		r.log.Warn("apply failed", "host_id", host, "topology_id", t.ID, "err", err)
		r.mu.Lock()
		failures := r.hosts[host].failures
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
	body, _ := json.Marshal(map[string]any{"operation_id": op})
	res, err := r.call(ctx, host, api, "/topology/teardown", body)
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

// missing reports whether an observation shows fewer running deckies
// than the spec has.
func missing(spec json.RawMessage, observed json.RawMessage) bool {
	var sp struct {
		Deckies []struct {
			Name string `json:"name"`
		} `json:"deckies"`
	}
	if json.Unmarshal(spec, &sp) != nil || len(sp.Deckies) == 0 {
		return false
	}
	names := make([]string, len(sp.Deckies))
	for i, d := range sp.Deckies {
		names[i] = d.Name
	}
	n := runningDeckies(observed, names)
	return n >= 0 && n < len(names)
}

// transportError is a push that never reached the agent.
type transportError struct{ err error }

func (e *transportError) Error() string { return "agent unreachable: " + e.err.Error() }
func (e *transportError) Unwrap() error { return e.err }

type opResult struct {
	OK    bool   `json:"ok"`
	Error string `json:"error"`
}

// call runs one agent operation: over mutual TLS with the master's
// certificate, checking the agent's role for that very host, or over the
// unix socket of a same-host agent.
func (r *Reconciler) call(ctx context.Context, host, api, path string, body []byte) (*opResult, error) {
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
	cctx, cancel := context.WithTimeout(ctx, 15*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(cctx, http.MethodPost, base+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, &transportError{err}
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var res opResult
	if err := json.Unmarshal(data, &res); err != nil || (resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusInternalServerError) {
		return nil, fmt.Errorf("agent %s answered %s: %s", host, resp.Status, bytes.TrimSpace(data))
	}
	return &res, nil
}
