package master

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/decnet/decnet/internal/master/api"
	"github.com/decnet/decnet/internal/store"
	"github.com/decnet/decnet/internal/topology"
	"github.com/decnet/decnet/internal/wire"

	// The master refuses specs with services this build cannot run, so it
	// must know every implementation (topology.CheckImplemented).
	_ "github.com/decnet/decnet/internal/service/all"
)

// The operator API's topology and host routes. Reads need the viewer role,
// writes the admin role. The rules are the Lifecycle's; a handler reads
// the request, calls it and returns what to answer. Every status change is
// a compare-and-swap made before the answer: a 202 means the move is
// recorded and the reconciler will do the work, and of two racing requests
// exactly one wins.

// Liveness of a host, from the age of its last heartbeat (never probed).
const (
	LivenessAlive     = "alive"
	LivenessStale     = "stale"
	LivenessNeverSeen = "never_seen"
)

// maxJoinTokenTTL bounds the lifetime of a join token made through the API.
const maxJoinTokenTTL = 7 * 24 * time.Hour

// Routes returns the topology and host routes of the operator API; mount
// them with (*api.Server).Mount.
func (m *Master) Routes() []api.Route {
	v, a := store.Viewer, store.Admin
	routes := []api.Route{
		{Method: http.MethodGet, Pattern: "/topologies", Summary: "List topologies with status, host, hash and needs_resync (?status, ?host, paged)", Role: v, Do: m.listTopologies, Response: api.List[TopologyView]{}},
		{Method: http.MethodPost, Pattern: "/topologies", Summary: "Create a topology from a spec, an INI file or the generator", Role: a, Mutating: true, Do: m.createTopology, Request: Source{}, Response: TopologyDetail{}},
		{Method: http.MethodPost, Pattern: "/topologies/validate", Summary: "Validate a spec, an INI file or a generator run without storing it", Role: v, Do: m.validateTopology, Request: Source{}, Response: ValidateResult{}},
		{Method: http.MethodGet, Pattern: "/topologies/{id}", Summary: "One topology (by id or name) with its spec, status history and needs_resync", Role: v, Do: m.getTopology, Response: TopologyDetail{}},
		{Method: http.MethodGet, Pattern: "/topologies/{id}/spec", Summary: "A topology's spec and the version to replace it with", Role: v, Do: m.getSpec, Response: SpecView{}},
		{Method: http.MethodPut, Pattern: "/topologies/{id}/spec", Summary: "Replace a topology's spec (compare-and-swap on version); a running topology is re-pushed", Role: a, Mutating: true, Do: m.putSpec, Request: putSpecRequest{}, Response: TopologyDetail{}},
		{Method: http.MethodPost, Pattern: "/topologies/{id}/deploy", Summary: "Deploy a topology to its host (pending, failed or torn_down -> deploying)", Role: a, Mutating: true, Do: m.deployTopology, Response: TopologyDetail{}},
		{Method: http.MethodPost, Pattern: "/topologies/{id}/teardown", Summary: "Tear a topology down (-> tearing_down; pending -> torn_down)", Role: a, Mutating: true, Do: m.teardownTopology, Response: TopologyDetail{}},
		{Method: http.MethodDelete, Pattern: "/topologies/{id}", Summary: "Delete a pending, torn_down or failed topology", Role: a, Mutating: true, Do: m.deleteTopology},

		{Method: http.MethodGet, Pattern: "/hosts", Summary: "List enrolled hosts with liveness from heartbeat age", Role: v, Do: m.listHosts, Response: api.List[HostView]{}},
		{Method: http.MethodGet, Pattern: "/hosts/{id}", Summary: "One host with its observed state and topologies", Role: v, Do: m.getHost, Response: HostDetail{}},
		{Method: http.MethodPost, Pattern: "/hosts/{id}/decommission", Summary: "Decommission a host and revoke its certificate", Role: a, Mutating: true, Do: m.decommissionHost, Request: decommissionRequest{}, Response: HostDetail{}},
		{Method: http.MethodPost, Pattern: "/hosts/{id}/update", Summary: "Ask a host's agent to run the master's build (it fetches, checks and switches, and goes back on its own if it cannot heartbeat); {cancel: true} withdraws", Role: a, Mutating: true, Do: m.updateHost, Request: updateRequest{}, Response: UpdateResult{}},
		{Method: http.MethodPost, Pattern: "/hosts/update", Summary: "Ask every live host's agent to run the master's build", Role: a, Mutating: true, Do: m.updateAll, Request: updateRequest{}, Response: UpdateResult{}},
		{Method: http.MethodPost, Pattern: "/hosts/join-token", Summary: "Make a single-use join token and the agent's join command", Role: a, Mutating: true, Do: m.joinToken, Request: joinTokenRequest{}, Response: JoinTokenResponse{}},
	}
	routes = append(routes, m.outputRoutes()...)
	routes = append(routes, m.intelRoutes()...)
	routes = append(routes, m.identityRoutes()...)
	routes = append(routes, m.exportRoutes()...)
	routes = append(routes, m.alertRoutes()...)
	routes = append(routes, m.canaryRoutes()...)
	routes = append(routes, m.deceptionRoutes()...)
	return append(routes, m.artifactRoutes()...)
}

// ---- views

// TopologyView is a topology as the API shows it. NeedsResync is derived
// on every read, never stored.
type TopologyView struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	HostID      string    `json:"host_id"`
	Status      string    `json:"status"`
	Hash        string    `json:"version_hash"`
	Version     int64     `json:"version"`
	NeedsResync bool      `json:"needs_resync"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// TopologyDetail is one topology with its spec and status history, oldest
// first. Warnings holds the validation warnings of a create or a spec
// replacement.
type TopologyDetail struct {
	TopologyView
	Spec     json.RawMessage      `json:"spec"`
	History  []store.StatusChange `json:"status_history"`
	Warnings []topology.Issue     `json:"warnings,omitempty"`
	// DeckyStates maps each decky to "running" or "missing", from the
	// host's last report of what its engine runs; absent when unknown.
	DeckyStates map[string]string `json:"decky_states,omitempty"`
}

// NeedsResync: the topology should run but its host h (nil: unknown) last
// reported another topology or hash, never reported, or is gone.
func NeedsResync(t *store.Topology, h *store.Host) bool {
	if !ShouldRun(t.Status) {
		return false
	}
	return h == nil || h.Decommissioned || h.AppliedID != t.ID || h.AppliedHash != t.Hash
}

func viewOf(t *store.Topology, hosts map[string]*store.Host) TopologyView {
	return TopologyView{ID: t.ID, Name: t.Name, HostID: t.HostID, Status: t.Status, Hash: t.Hash, Version: t.Version,
		NeedsResync: NeedsResync(t, hosts[t.HostID]), CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt}
}

func (m *Master) hostIndex(ctx context.Context) (map[string]*store.Host, error) {
	hs, err := m.Store.ListHosts(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[string]*store.Host, len(hs))
	for i := range hs {
		out[hs[i].ID] = &hs[i]
	}
	return out, nil
}

// detail is the full view of one topology: spec, history, needs_resync.
func (m *Master) detail(ctx context.Context, id string) (*TopologyDetail, error) {
	t, err := m.Store.Topology(ctx, id)
	if err != nil {
		return nil, err
	}
	hosts, err := m.hostIndex(ctx)
	if err != nil {
		return nil, err
	}
	hist, err := m.Store.StatusHistory(ctx, t.ID)
	if err != nil {
		return nil, err
	}
	v := TopologyDetail{TopologyView: viewOf(t, hosts), Spec: t.Spec, History: hist, DeckyStates: DeckyStates(t, hosts[t.HostID])}
	if v.History == nil {
		v.History = []store.StatusChange{}
	}
	return &v, nil
}

// onlyParams refuses query parameters the route does not take.
func onlyParams(r *http.Request, allowed ...string) error {
	for k := range r.URL.Query() {
		if !slices.Contains(allowed, k) {
			return invalid("unknown query parameter %q (allowed: %s)", k, strings.Join(allowed, ", "))
		}
	}
	return nil
}

// ---- reads

func (m *Master) listTopologies(r *http.Request, _ *api.Principal) (any, error) {
	if err := onlyParams(r, "status", "host", "limit", "cursor"); err != nil {
		return nil, err
	}
	p, err := api.ParsePage(r)
	if err != nil {
		return nil, err
	}
	q := r.URL.Query()
	status, host := q.Get("status"), q.Get("host")
	if _, ok := store.Transitions[status]; status != "" && !ok {
		return nil, invalid("unknown status %q", status)
	}
	tops, err := m.Store.ListTopologies(r.Context())
	if err != nil {
		return nil, err
	}
	hosts, err := m.hostIndex(r.Context())
	if err != nil {
		return nil, err
	}
	// The store lists by name, so the cursor is the last name served.
	var out []TopologyView
	for i := range tops {
		t := &tops[i]
		if (status != "" && t.Status != status) || (host != "" && t.HostID != host) || (p.Cursor != "" && t.Name <= p.Cursor) {
			continue
		}
		out = append(out, viewOf(t, hosts))
		if len(out) > p.Limit {
			break
		}
	}
	return api.NewList(out, p.Limit, func(v TopologyView) string { return v.Name }), nil
}

func (m *Master) getTopology(r *http.Request, who *api.Principal) (any, error) {
	t, err := m.Lifecycle.Find(r.Context(), r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	v, err := m.detail(r.Context(), t.ID)
	if err != nil {
		return nil, err
	}
	v.Spec = specFor(v.Spec, who)
	return v, nil
}

// SpecView is a topology's spec with the version a replacement must name.
type SpecView struct {
	ID      string          `json:"id"`
	Name    string          `json:"name"`
	Version int64           `json:"version"`
	Hash    string          `json:"version_hash"`
	Spec    json.RawMessage `json:"spec"`
}

func (m *Master) getSpec(r *http.Request, who *api.Principal) (any, error) {
	t, err := m.Lifecycle.Find(r.Context(), r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	return SpecView{ID: t.ID, Name: t.Name, Version: t.Version, Hash: t.Hash, Spec: specFor(t.Spec, who)}, nil
}

// ---- writes

// decodeRequest reads the JSON body of r into v.
func decodeRequest(r *http.Request, v any) error {
	return api.DecodeJSON(nil, r, v)
}

func (m *Master) createTopology(r *http.Request, who *api.Principal) (any, error) {
	var src Source
	if err := decodeRequest(r, &src); err != nil {
		return nil, err
	}
	ctx := r.Context()
	spec, warnings, err := m.Lifecycle.Decode(ctx, src)
	if err != nil {
		return nil, err
	}
	api.SetAudit(r, "topology/"+spec.Name, "host="+spec.Host)
	t, more, err := m.Lifecycle.Create(ctx, spec, who.Name)
	if err != nil {
		return nil, err
	}
	api.SetAudit(r, "topology/"+spec.Name, "id="+t.ID+" host="+spec.Host)
	v, err := m.detail(ctx, t.ID)
	if err != nil {
		return nil, err
	}
	v.Warnings = append(warnings, more...)
	return api.Reply{Status: http.StatusCreated, Body: v}, nil
}

// ValidateResult is the answer of POST /topologies/validate.
type ValidateResult struct {
	Valid  bool        `json:"valid"`
	Hash   string      `json:"hash,omitempty"`
	Issues []IssueView `json:"issues"`
	// Spec is the spec once decoded, allocated as far as allocation went,
	// also when it is invalid: a client draws the objects the issues name.
	Spec *topology.Spec `json:"spec,omitempty"`
}

// IssueView is a validation issue, or a decoding or INI import problem
// (code DECODE_ERROR or INI_SYNTAX when it has no validation code, with
// the line it is on).
type IssueView struct {
	Severity topology.Severity `json:"severity"`
	Code     string            `json:"code"`
	Message  string            `json:"message"`
	Object   *topology.Ref     `json:"object,omitempty"`
	Line     int               `json:"line,omitempty"`
}

// issuesOf lists every problem in err's tree.
func issuesOf(err error) []IssueView {
	var out []IssueView
	var walk func(error)
	walk = func(err error) {
		switch e := err.(type) {
		case *topology.IssueError:
			obj := e.Issue.Object
			out = append(out, IssueView{Severity: e.Issue.Severity, Code: string(e.Issue.Code), Message: e.Issue.Message, Object: &obj})
		case *topology.INIError:
			code := string(e.Code)
			if code == "" {
				code = "INI_SYNTAX"
			}
			out = append(out, IssueView{Severity: topology.Error, Code: code, Message: e.Msg, Line: e.Line})
		case *topology.DecodeError:
			out = append(out, IssueView{Severity: topology.Error, Code: "DECODE_ERROR", Message: e.Msg, Line: e.Line})
		case interface{ Unwrap() []error }:
			for _, c := range e.Unwrap() {
				walk(c)
			}
		case *api.Refusal:
			out = append(out, IssueView{Severity: topology.Error, Code: api.CodeOf(e), Message: e.Message})
		case interface{ Unwrap() error }:
			walk(e.Unwrap())
		default:
			out = append(out, IssueView{Severity: topology.Error, Code: api.CodeInvalid, Message: err.Error()})
		}
	}
	walk(err)
	return out
}

func (m *Master) validateTopology(r *http.Request, _ *api.Principal) (any, error) {
	var src Source
	if err := decodeRequest(r, &src); err != nil {
		return nil, err
	}
	spec, warnings, err := m.Lifecycle.Check(r.Context(), src)
	if err != nil && errors.Is(err, api.ErrInvalid) {
		return nil, err // a malformed request, not an invalid topology
	}
	res := ValidateResult{Valid: err == nil, Issues: []IssueView{}}
	if err != nil {
		res.Issues = append(res.Issues, issuesOf(err)...)
	}
	for _, i := range warnings {
		obj := i.Object
		res.Issues = append(res.Issues, IssueView{Severity: i.Severity, Code: string(i.Code), Message: i.Message, Object: &obj})
	}
	res.Spec = spec
	if err == nil {
		res.Hash = spec.Hash()
	}
	return res, nil
}

type putSpecRequest struct {
	Spec    json.RawMessage `json:"spec"`
	Version int64           `json:"version"`
}

func (m *Master) putSpec(r *http.Request, who *api.Principal) (any, error) {
	var req putSpecRequest
	if err := decodeRequest(r, &req); err != nil {
		return nil, err
	}
	if req.Version < 1 {
		return nil, invalid("version is required: the version the spec was read at (GET .../spec)")
	}
	if len(req.Spec) == 0 || req.Spec[0] != '{' {
		return nil, invalid("spec must be a JSON object")
	}
	spec, err := topology.DecodeBytes(req.Spec)
	if err != nil {
		return nil, err
	}
	ctx := r.Context()
	t, err := m.Lifecycle.Find(ctx, r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	api.SetAudit(r, "topology/"+t.Name, fmt.Sprintf("id=%s version=%d", t.ID, req.Version))
	warnings, err := m.Lifecycle.ReplaceSpec(ctx, t.ID, req.Version, spec, who.Name)
	if err != nil {
		return nil, err
	}
	v, err := m.detail(ctx, t.ID)
	if err != nil {
		return nil, err
	}
	v.Warnings = warnings
	return v, nil
}

func (m *Master) deployTopology(r *http.Request, who *api.Principal) (any, error) {
	ctx := r.Context()
	t, err := m.Lifecycle.Find(ctx, r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	api.SetAudit(r, "topology/"+t.Name, "id="+t.ID+" host="+t.HostID)
	if _, err := m.Lifecycle.Deploy(ctx, t.ID, who.Name); err != nil {
		return nil, err
	}
	return m.detailReply(ctx, http.StatusAccepted, t.ID)
}

func (m *Master) detailReply(ctx context.Context, status int, id string) (any, error) {
	v, err := m.detail(ctx, id)
	if err != nil {
		return nil, err
	}
	return api.Reply{Status: status, Body: v}, nil
}

func (m *Master) teardownTopology(r *http.Request, who *api.Principal) (any, error) {
	ctx := r.Context()
	t, err := m.Lifecycle.Find(ctx, r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	api.SetAudit(r, "topology/"+t.Name, "id="+t.ID+" from="+t.Status)
	done, err := m.Lifecycle.Teardown(ctx, t.ID, who.Name)
	if err != nil {
		return nil, err
	}
	status := http.StatusAccepted
	if done {
		status = http.StatusOK
	}
	return m.detailReply(ctx, status, t.ID)
}

func (m *Master) deleteTopology(r *http.Request, who *api.Principal) (any, error) {
	ctx := r.Context()
	t, err := m.Lifecycle.Find(ctx, r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	api.SetAudit(r, "topology/"+t.Name, "id="+t.ID+" status="+t.Status)
	if err := m.Lifecycle.Delete(ctx, t.ID, who.Name); err != nil {
		return nil, err
	}
	return api.Reply{Status: http.StatusNoContent}, nil
}

// ---- hosts

// HostView is a host as the API shows it.
type HostView struct {
	ID             string     `json:"id"`
	Name           string     `json:"name"`
	CertSerial     string     `json:"cert_serial"`
	EnrolledAt     time.Time  `json:"enrolled_at"`
	LastHeartbeat  *time.Time `json:"last_heartbeat_at"`
	HeartbeatAge   *float64   `json:"heartbeat_age_seconds,omitempty"`
	Liveness       string     `json:"liveness"`
	AppliedID      string     `json:"applied_topology_id"`
	AppliedHash    string     `json:"applied_version_hash"`
	LastError      string     `json:"last_error"`
	Decommissioned bool       `json:"decommissioned"`
	// Version and BinarySHA256 are the agent's build; UpdateRequested and
	// UpdateError follow an update asked of it.
	Version         string `json:"version"`
	BinarySHA256    string `json:"binary_sha256"`
	UpdateRequested bool   `json:"update_requested"`
	UpdateError     string `json:"update_error"`
}

// HostDetail is one host with what its engine last reported running
// (observed, when the master asked for it) and its topologies.
type HostDetail struct {
	HostView
	Observed   json.RawMessage `json:"observed,omitempty"`
	Topologies []TopologyView  `json:"topologies"`
}

// Liveness says how recent a host's last heartbeat is.
func Liveness(last *time.Time, now time.Time) string {
	switch {
	case last == nil:
		return LivenessNeverSeen
	case now.Sub(*last) <= wire.StaleAfter:
		return LivenessAlive
	default:
		return LivenessStale
	}
}

func hostViewOf(h *store.Host, now time.Time) HostView {
	v := HostView{ID: h.ID, Name: h.Name, CertSerial: h.CertSerial, EnrolledAt: h.EnrolledAt, LastHeartbeat: h.LastHeartbeat,
		Liveness: Liveness(h.LastHeartbeat, now), AppliedID: h.AppliedID, AppliedHash: h.AppliedHash, LastError: h.LastError,
		Decommissioned: h.Decommissioned, Version: h.Version, BinarySHA256: h.BinarySHA256, UpdateRequested: h.UpdateRequested,
		UpdateError: h.UpdateError}
	if h.LastHeartbeat != nil {
		age := max(0, now.Sub(*h.LastHeartbeat).Seconds())
		v.HeartbeatAge = &age
	}
	return v
}

func (m *Master) listHosts(r *http.Request, _ *api.Principal) (any, error) {
	if err := onlyParams(r); err != nil {
		return nil, err
	}
	hs, err := m.Store.ListHosts(r.Context())
	if err != nil {
		return nil, err
	}
	now := time.Now()
	out := make([]HostView, 0, len(hs))
	for i := range hs {
		out = append(out, hostViewOf(&hs[i], now))
	}
	return api.List[HostView]{Items: out}, nil
}

func (m *Master) hostDetail(ctx context.Context, id string) (*HostDetail, error) {
	h, err := m.Store.Host(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound("no host %q", id)
	}
	if err != nil {
		return nil, err
	}
	tops, err := m.Store.ListTopologies(ctx)
	if err != nil {
		return nil, err
	}
	v := HostDetail{HostView: hostViewOf(h, time.Now()), Observed: h.Observed, Topologies: []TopologyView{}}
	idx := map[string]*store.Host{h.ID: h}
	for i := range tops {
		if tops[i].HostID == h.ID {
			v.Topologies = append(v.Topologies, viewOf(&tops[i], idx))
		}
	}
	return &v, nil
}

func (m *Master) getHost(r *http.Request, _ *api.Principal) (any, error) {
	return m.hostDetail(r.Context(), r.PathValue("id"))
}

type decommissionRequest struct {
	// Force decommissions a host that still has live topologies: they
	// are marked torn_down, although nothing was removed on the host.
	Force bool `json:"force"`
	// Wipe first asks the agent to tear everything down and erase its
	// state (it then exits); a wipe that fails stops the decommission.
	Wipe bool `json:"wipe,omitempty"`
}

func (m *Master) decommissionHost(r *http.Request, who *api.Principal) (any, error) {
	var req decommissionRequest
	if r.ContentLength != 0 {
		if err := decodeRequest(r, &req); err != nil {
			return nil, err
		}
	}
	id := r.PathValue("id")
	api.SetAudit(r, "host/"+id, "force="+strconv.FormatBool(req.Force)+" wipe="+strconv.FormatBool(req.Wipe))
	if req.Wipe {
		if _, err := m.Store.Host(r.Context(), id); err != nil {
			return nil, err
		}
		if err := m.Reconciler.Wipe(r.Context(), id); err != nil {
			return nil, api.Errorf(http.StatusServiceUnavailable, api.CodeUnavailable,
				"could not wipe the agent of %s: %v; retry when it heartbeats, or decommission without wipe", id, err)
		}
		req.Force = true // its topologies are gone with everything else
	}
	if err := m.Lifecycle.Decommission(r.Context(), id, req.Force, who.Name); err != nil {
		return nil, err
	}
	return m.hostDetail(r.Context(), id)
}

type joinTokenRequest struct {
	Name       string `json:"name"`
	TTLSeconds int64  `json:"ttl_seconds,omitempty"`
}

// JoinTokenResponse carries a join token (shown once) and the command
// that enrolls the new host with it.
type JoinTokenResponse struct {
	Host      string    `json:"host"`
	Token     string    `json:"token"`
	CAHash    string    `json:"ca_hash"`
	ExpiresAt time.Time `json:"expires_at"`
	Master    string    `json:"master"`
	Command   string    `json:"command"`
}

// AgentAddress is the host:port agents join and heartbeat on, for printed
// join commands: the agent listener's address, with the first configured
// master address (Config.Addresses) as host when the listener has none
// (":7946", "0.0.0.0:7946"), or the placeholder MASTER-ADDRESS.
func (m *Master) AgentAddress() string {
	host, port, err := net.SplitHostPort(m.Config.AgentListen)
	if err != nil || port == "" {
		host, port = "", "7946"
	}
	if ip, err := netip.ParseAddr(host); host == "" || (err == nil && ip.IsUnspecified()) {
		host = "MASTER-ADDRESS"
		if len(m.Config.Addresses) > 0 && m.Config.Addresses[0] != "" {
			host = m.Config.Addresses[0]
		}
	}
	return net.JoinHostPort(host, port)
}

// JoinCommand is the command that enrolls a host with a join token.
func JoinCommand(master, token, caHash string) string {
	return fmt.Sprintf("decnet agent join --master %s --token %s --ca-hash %s --dir /var/lib/decnet/agent", master, token, caHash)
}

func (m *Master) joinToken(r *http.Request, who *api.Principal) (any, error) {
	var req joinTokenRequest
	if err := decodeRequest(r, &req); err != nil {
		return nil, err
	}
	ttl := JoinTokenTTL
	if req.TTLSeconds != 0 {
		if req.TTLSeconds < 60 || time.Duration(req.TTLSeconds)*time.Second > maxJoinTokenTTL {
			return nil, invalid("ttl_seconds must be from 60 to %d", int64(maxJoinTokenTTL/time.Second))
		}
		ttl = time.Duration(req.TTLSeconds) * time.Second
	}
	api.SetAudit(r, "host/"+req.Name, "ttl="+ttl.String())
	token, expires, err := m.Authority.NewJoinToken(r.Context(), req.Name, ttl)
	if err != nil {
		return nil, err
	}
	addr := m.AgentAddress()
	m.log.Info("join token issued", "host_id", req.Name, "expires", expires, "by", who.Name)
	return api.Reply{Status: http.StatusCreated, Body: JoinTokenResponse{Host: req.Name, Token: token, CAHash: m.CA.Hash(), ExpiresAt: expires.UTC(), Master: addr,
		Command: JoinCommand(addr, token, m.CA.Hash())}}, nil
}
