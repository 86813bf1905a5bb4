package master

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/master/api"
	"github.com/decnet/decnet/internal/pki"
	"github.com/decnet/decnet/internal/store"
	"github.com/decnet/decnet/internal/topology"

	// The master refuses specs with services this build cannot run, so it
	// must know every implementation (topology.CheckImplemented).
	_ "github.com/decnet/decnet/internal/service/all"
)

// The operator API's topology and host routes. Reads need the viewer role,
// writes the admin role. Every status change is a compare-and-swap made
// before the answer: a 202 means the move is recorded and the reconciler
// will do the work, and of two racing requests exactly one wins.

// Liveness of a host, from the age of its last heartbeat (never probed).
const (
	apiHeartbeatInterval = 10 * time.Second
	apiStaleAfter        = 3 * apiHeartbeatInterval

	LivenessAlive     = "alive"
	LivenessStale     = "stale"
	LivenessNeverSeen = "never_seen"
)

// maxJoinTokenTTL bounds the lifetime of a join token made through the API.
const maxJoinTokenTTL = 7 * 24 * time.Hour

// lifecycleMu serialises the API's read-check-write sequences on
// topologies (deploy, teardown, delete, spec replacement, creation): each
// write is a CAS in the store, and the lock also keeps the checks that
// span several rows (one live topology per host, subnets reserved across
// a host's topologies, delete only when not live) true until the write.
var lifecycleMu sync.Mutex

// Routes returns the topology and host routes of the operator API; mount
// them with (*api.Server).Mount.
func (m *Master) Routes() []api.Route {
	v, a := store.Viewer, store.Admin
	routes := []api.Route{
		{Method: http.MethodGet, Pattern: "/topologies", Summary: "List topologies with status, host, hash and needs_resync (?status, ?host, paged)", Role: v, Handler: m.listTopologies},
		{Method: http.MethodPost, Pattern: "/topologies", Summary: "Create a topology from a spec, an INI file or the generator", Role: a, Mutating: true, Handler: m.createTopology},
		{Method: http.MethodPost, Pattern: "/topologies/validate", Summary: "Validate a spec, an INI file or a generator run without storing it", Role: v, Handler: m.validateTopology},
		{Method: http.MethodGet, Pattern: "/topologies/{id}", Summary: "One topology (by id or name) with its spec, status history and needs_resync", Role: v, Handler: m.getTopology},
		{Method: http.MethodGet, Pattern: "/topologies/{id}/spec", Summary: "A topology's spec and the version to replace it with", Role: v, Handler: m.getSpec},
		{Method: http.MethodPut, Pattern: "/topologies/{id}/spec", Summary: "Replace a topology's spec (compare-and-swap on version); a running topology is re-pushed", Role: a, Mutating: true, Handler: m.putSpec},
		{Method: http.MethodPost, Pattern: "/topologies/{id}/deploy", Summary: "Deploy a topology to its host (pending, failed or torn_down -> deploying)", Role: a, Mutating: true, Handler: m.deployTopology},
		{Method: http.MethodPost, Pattern: "/topologies/{id}/teardown", Summary: "Tear a topology down (-> tearing_down; pending -> torn_down)", Role: a, Mutating: true, Handler: m.teardownTopology},
		{Method: http.MethodDelete, Pattern: "/topologies/{id}", Summary: "Delete a pending, torn_down or failed topology", Role: a, Mutating: true, Handler: m.deleteTopology},

		{Method: http.MethodGet, Pattern: "/hosts", Summary: "List enrolled hosts with liveness from heartbeat age", Role: v, Handler: m.listHosts},
		{Method: http.MethodGet, Pattern: "/hosts/{id}", Summary: "One host with its observed state and topologies", Role: v, Handler: m.getHost},
		{Method: http.MethodPost, Pattern: "/hosts/{id}/decommission", Summary: "Decommission a host and revoke its certificate", Role: a, Mutating: true, Handler: m.decommissionHost},
		{Method: http.MethodPost, Pattern: "/hosts/join-token", Summary: "Make a single-use join token and the agent's join command", Role: a, Mutating: true, Handler: m.joinToken},
	}
	routes = append(routes, m.outputRoutes()...)
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

// ShouldRun reports whether a topology in this status should be running
// on its host.
func ShouldRun(status string) bool {
	return status == store.Deploying || status == store.Active || status == store.Degraded
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

// findTopology looks a topology up by id, then by name.
func (m *Master) findTopology(ctx context.Context, key string) (*store.Topology, error) {
	t, err := m.Store.Topology(ctx, key)
	if err == nil || !errors.Is(err, store.ErrNotFound) {
		return t, err
	}
	tops, err := m.Store.ListTopologies(ctx)
	if err != nil {
		return nil, err
	}
	for i := range tops {
		if tops[i].Name == key {
			return &tops[i], nil
		}
	}
	return nil, api.Errorf(http.StatusNotFound, api.CodeNotFound, "no topology %q", key)
}

// onlyParams refuses query parameters the route does not take.
func onlyParams(r *http.Request, allowed ...string) error {
	for k := range r.URL.Query() {
		if !slices.Contains(allowed, k) {
			return api.Errorf(http.StatusBadRequest, api.CodeInvalid, "unknown query parameter %q (allowed: %s)", k, strings.Join(allowed, ", "))
		}
	}
	return nil
}

// ---- reads

func (m *Master) listTopologies(w http.ResponseWriter, r *http.Request, _ *api.Principal) {
	if err := onlyParams(r, "status", "host", "limit", "cursor"); err != nil {
		api.WriteError(w, err)
		return
	}
	p, err := api.ParsePage(r)
	if err != nil {
		api.WriteError(w, err)
		return
	}
	q := r.URL.Query()
	status, host := q.Get("status"), q.Get("host")
	if _, ok := store.Transitions[status]; status != "" && !ok {
		api.WriteError(w, api.Errorf(http.StatusBadRequest, api.CodeInvalid, "unknown status %q", status))
		return
	}
	tops, err := m.Store.ListTopologies(r.Context())
	if err != nil {
		api.WriteError(w, err)
		return
	}
	hosts, err := m.hostIndex(r.Context())
	if err != nil {
		api.WriteError(w, err)
		return
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
	api.WriteJSON(w, http.StatusOK, api.NewList(out, p.Limit, func(v TopologyView) string { return v.Name }))
}

func (m *Master) getTopology(w http.ResponseWriter, r *http.Request, who *api.Principal) {
	t, err := m.findTopology(r.Context(), r.PathValue("id"))
	if err != nil {
		api.WriteError(w, err)
		return
	}
	v, err := m.detail(r.Context(), t.ID)
	if err != nil {
		api.WriteError(w, err)
		return
	}
	v.Spec = specFor(v.Spec, who)
	api.WriteJSON(w, http.StatusOK, v)
}

// SpecView is a topology's spec with the version a replacement must name.
type SpecView struct {
	ID      string          `json:"id"`
	Name    string          `json:"name"`
	Version int64           `json:"version"`
	Hash    string          `json:"version_hash"`
	Spec    json.RawMessage `json:"spec"`
}

func (m *Master) getSpec(w http.ResponseWriter, r *http.Request, who *api.Principal) {
	t, err := m.findTopology(r.Context(), r.PathValue("id"))
	if err != nil {
		api.WriteError(w, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, SpecView{ID: t.ID, Name: t.Name, Version: t.Version, Hash: t.Hash, Spec: specFor(t.Spec, who)})
}

// ---- building a spec from a request

// sourceRequest names where a spec comes from: exactly one of spec, ini
// and generate.
type sourceRequest struct {
	Spec     json.RawMessage `json:"spec,omitempty"`
	INI      *string         `json:"ini,omitempty"`
	Generate json.RawMessage `json:"generate,omitempty"`
	// Name names an INI import ("ini" when empty); Seed is its identity
	// seed (random when empty).
	Name string `json:"name,omitempty"`
	Seed string `json:"seed,omitempty"`
	// Host is the target host; it overrides the spec's.
	Host string `json:"host,omitempty"`
}

func invalid(format string, a ...any) error {
	return api.Errorf(http.StatusBadRequest, api.CodeInvalid, format, a...)
}

// decodeSource turns the request into an unallocated spec. Errors are
// *api.Error for a malformed request, topology decode/import errors for a
// bad document.
// reserve lists the subnets taken on a host, for the generator.
type reserveFunc func(host string) ([]netip.Prefix, error)

func decodeSource(req *sourceRequest, reserve reserveFunc) (*topology.Spec, []topology.Issue, error) {
	n := 0
	for _, set := range []bool{len(req.Spec) > 0 && string(req.Spec) != "null", req.INI != nil, len(req.Generate) > 0 && string(req.Generate) != "null"} {
		if set {
			n++
		}
	}
	if n != 1 {
		return nil, nil, invalid("give exactly one of spec, ini and generate")
	}
	if (req.Name != "" || req.Seed != "") && req.INI == nil {
		return nil, nil, invalid("name and seed go with ini only (a spec and the generator carry their own)")
	}
	var spec *topology.Spec
	var warnings []topology.Issue
	var err error
	switch {
	case req.INI != nil:
		spec, warnings, err = topology.ImportINI(strings.NewReader(*req.INI), topology.INIOptions{Name: req.Name, Seed: req.Seed, Host: req.Host})
		if err != nil {
			return nil, warnings, err
		}
	case len(req.Generate) > 0 && string(req.Generate) != "null":
		if spec, err = generate(req.Generate, req.Host, reserve); err != nil {
			return nil, nil, err
		}
	default:
		doc := []byte(req.Spec)
		switch req.Spec[0] {
		case '{':
		case '"':
			// A YAML or JSON document as text: lines in errors are its own.
			var text string
			if err := json.Unmarshal(req.Spec, &text); err != nil {
				return nil, nil, invalid("spec: %v", err)
			}
			doc = []byte(text)
		default:
			return nil, nil, invalid("spec must be a JSON object, or a YAML or JSON document as a string")
		}
		if spec, err = topology.DecodeBytes(doc); err != nil {
			return nil, nil, err
		}
	}
	if req.Host != "" {
		spec.Host = req.Host
	}
	return spec, warnings, nil
}

func generate(raw json.RawMessage, host string, reserve reserveFunc) (*topology.Spec, error) {
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(raw, &keys); err != nil {
		return nil, invalid("generate must be an object")
	}
	c := topology.DefaultGenConfig
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	var err error
	if err = dec.Decode(&c); err != nil {
		return nil, invalid("generate: %v", err)
	}
	if host != "" {
		c.Host = host
	}
	if c.Host != "" && pki.ValidHostID(c.Host) {
		if c.Reserved, err = reserve(c.Host); err != nil {
			return nil, err
		}
	}
	if _, ok := keys["seed"]; !ok {
		// Without a seed, every generated topology would share one
		// identity seed.
		var b [8]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, err
		}
		c.Seed = binary.LittleEndian.Uint64(b[:])
	}
	s, err := topology.Generate(c)
	if err != nil {
		return nil, invalid("%v", err)
	}
	return s, nil
}

// reservedFor returns the subnets of the host's other topologies.
func (m *Master) reservedFor(ctx context.Context, host, self string) ([]topology.Reserved, error) {
	if host == "" {
		return nil, nil
	}
	tops, err := m.Store.ListTopologies(ctx)
	if err != nil {
		return nil, err
	}
	var out []topology.Reserved
	for _, t := range tops {
		if t.ID == self || t.HostID != host || len(t.Spec) == 0 {
			continue
		}
		var s topology.Spec
		if json.Unmarshal(t.Spec, &s) != nil {
			continue
		}
		for _, l := range s.LANs {
			if p, err := netip.ParsePrefix(l.Subnet); err == nil {
				out = append(out, topology.Reserved{Prefix: p, Owner: "topology " + t.Name})
			}
		}
	}
	return out, nil
}

// reservedPrefixes is reservedFor without the owners.
func (m *Master) reservedPrefixes(ctx context.Context, self string) reserveFunc {
	return func(host string) ([]netip.Prefix, error) {
		rs, err := m.reservedFor(ctx, host, self)
		out := make([]netip.Prefix, 0, len(rs))
		for _, r := range rs {
			out = append(out, r.Prefix)
		}
		return out, err
	}
}

// prepare allocates what the spec leaves empty (avoiding the host's other
// topologies), validates it and checks that this build implements every
// service. It returns every issue found (warnings included) and the first
// error.
func (m *Master) prepare(ctx context.Context, spec *topology.Spec, self string) ([]topology.Issue, error) {
	if spec.Host != "" && !pki.ValidHostID(spec.Host) {
		return nil, invalid("host %q must be 1-63 lowercase letters, digits or '-'", spec.Host)
	}
	reserved, err := m.reservedFor(ctx, spec.Host, self)
	if err != nil {
		return nil, err
	}
	prefixes := make([]netip.Prefix, 0, len(reserved))
	for _, r := range reserved {
		prefixes = append(prefixes, r.Prefix)
	}
	if err := topology.Allocate(spec, "", prefixes); err != nil {
		if errors.Is(err, topology.ErrExhausted) {
			return nil, api.Errorf(http.StatusConflict, api.CodeConflict, "%v", err)
		}
		return nil, invalid("%v", err)
	}
	rep := topology.Validate(spec, topology.Options{Reserved: reserved})
	issues := rep.Issues
	if err := rep.Err(); err != nil {
		return issues, err
	}
	impl := topology.CheckImplemented(spec)
	issues = append(issues, impl.Issues...)
	if err := impl.Err(); err != nil {
		return issues, err
	}
	return issues, nil
}

func warningsOf(issues []topology.Issue) []topology.Issue {
	var out []topology.Issue
	for _, i := range issues {
		if i.Severity == topology.Warning {
			out = append(out, i)
		}
	}
	return out
}

func encodeSpec(spec *topology.Spec) ([]byte, error) {
	blob, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}
	if len(blob) > topology.MaxSpecSize {
		return nil, invalid("the topology is larger than %d bytes", topology.MaxSpecSize)
	}
	return blob, nil
}

// ---- writes

func (m *Master) createTopology(w http.ResponseWriter, r *http.Request, who *api.Principal) {
	var req sourceRequest
	if err := api.DecodeJSON(w, r, &req); err != nil {
		api.WriteError(w, err)
		return
	}
	lifecycleMu.Lock()
	defer lifecycleMu.Unlock()
	ctx := r.Context()
	spec, warnings, err := decodeSource(&req, m.reservedPrefixes(ctx, ""))
	if err != nil {
		api.WriteError(w, err)
		return
	}
	issues, err := m.prepare(ctx, spec, "")
	if err != nil {
		api.WriteError(w, err)
		return
	}
	// The id is chosen first so the stored spec (and its hash) carries it:
	// one insert, no window with an empty spec.
	t := &store.Topology{ID: event.NewID(), Name: spec.Name, HostID: spec.Host}
	spec.ID = t.ID
	blob, err := encodeSpec(spec)
	if err != nil {
		api.WriteError(w, err)
		return
	}
	t.Spec, t.Hash = blob, spec.Hash()
	api.SetAudit(r, "topology/"+spec.Name, "id="+t.ID+" host="+spec.Host)
	if err := m.Store.CreateTopology(ctx, t); err != nil {
		if errors.Is(err, store.ErrConflict) {
			err = api.Errorf(http.StatusConflict, api.CodeConflict, "a topology named %q exists", spec.Name)
		}
		api.WriteError(w, err)
		return
	}
	m.log.Info("topology created", "topology_id", t.ID, "name", t.Name, "host_id", t.HostID, "by", who.Name)
	v, err := m.detail(ctx, t.ID)
	if err != nil {
		api.WriteError(w, err)
		return
	}
	v.Warnings = append(warnings, warningsOf(issues)...)
	api.WriteJSON(w, http.StatusCreated, v)
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
		case interface{ Unwrap() error }:
			walk(e.Unwrap())
		default:
			out = append(out, IssueView{Severity: topology.Error, Code: api.CodeInvalid, Message: err.Error()})
		}
	}
	walk(err)
	return out
}

func (m *Master) validateTopology(w http.ResponseWriter, r *http.Request, _ *api.Principal) {
	var req sourceRequest
	if err := api.DecodeJSON(w, r, &req); err != nil {
		api.WriteError(w, err)
		return
	}
	spec, warnings, err := decodeSource(&req, m.reservedPrefixes(r.Context(), ""))
	var issues []topology.Issue
	if err == nil {
		issues, err = m.prepare(r.Context(), spec, "")
	}
	var ae *api.Error
	if errors.As(err, &ae) && ae.Status != http.StatusConflict {
		api.WriteError(w, err) // a malformed request, not an invalid topology
		return
	}
	res := ValidateResult{Valid: err == nil, Issues: []IssueView{}}
	if err != nil {
		res.Issues = append(res.Issues, issuesOf(err)...)
	}
	for _, i := range append(warnings, warningsOf(issues)...) {
		obj := i.Object
		res.Issues = append(res.Issues, IssueView{Severity: i.Severity, Code: string(i.Code), Message: i.Message, Object: &obj})
	}
	res.Spec = spec
	if err == nil {
		res.Hash = spec.Hash()
	}
	api.WriteJSON(w, http.StatusOK, res)
}

type putSpecRequest struct {
	Spec    json.RawMessage `json:"spec"`
	Version int64           `json:"version"`
}

func (m *Master) putSpec(w http.ResponseWriter, r *http.Request, who *api.Principal) {
	var req putSpecRequest
	if err := api.DecodeJSON(w, r, &req); err != nil {
		api.WriteError(w, err)
		return
	}
	if req.Version < 1 {
		api.WriteError(w, invalid("version is required: the version the spec was read at (GET .../spec)"))
		return
	}
	if len(req.Spec) == 0 || req.Spec[0] != '{' {
		api.WriteError(w, invalid("spec must be a JSON object"))
		return
	}
	spec, err := topology.DecodeBytes(req.Spec)
	if err != nil {
		api.WriteError(w, err)
		return
	}
	lifecycleMu.Lock()
	defer lifecycleMu.Unlock()
	ctx := r.Context()
	t, err := m.findTopology(ctx, r.PathValue("id"))
	if err != nil {
		api.WriteError(w, err)
		return
	}
	api.SetAudit(r, "topology/"+t.Name, fmt.Sprintf("id=%s version=%d", t.ID, req.Version))
	if t.Status == store.Deploying || t.Status == store.TearingDown {
		api.WriteError(w, api.Errorf(http.StatusConflict, api.CodeConflict, "topology %s is %s; replace its spec once that finishes", t.Name, t.Status))
		return
	}
	var old topology.Spec
	_ = json.Unmarshal(t.Spec, &old)
	switch {
	case spec.ID != "" && spec.ID != t.ID:
		err = invalid("spec id %q is not this topology's (%s)", spec.ID, t.ID)
	case spec.Name != "" && spec.Name != t.Name:
		err = invalid("a topology cannot be renamed (%q to %q); create a new one", t.Name, spec.Name)
	case spec.Host != "" && spec.Host != t.HostID:
		err = invalid("a topology cannot move to another host (%q to %q); create a new one", t.HostID, spec.Host)
	case spec.Seed != "" && old.Seed != "" && spec.Seed != old.Seed:
		err = invalid("the identity seed is kept for the topology's life; leave it out or unchanged")
	}
	if err != nil {
		api.WriteError(w, err)
		return
	}
	spec.ID, spec.Name, spec.Host = t.ID, t.Name, t.HostID
	if spec.Seed == "" {
		spec.Seed = old.Seed
	}
	issues, err := m.prepare(ctx, spec, t.ID)
	if err != nil {
		api.WriteError(w, err)
		return
	}
	blob, err := encodeSpec(spec)
	if err != nil {
		api.WriteError(w, err)
		return
	}
	hash := spec.Hash()
	if err := m.Store.UpdateSpec(ctx, t.ID, req.Version, blob, hash); err != nil {
		if errors.Is(err, store.ErrConflict) {
			cur, _ := m.Store.Topology(ctx, t.ID)
			if cur != nil {
				err = api.Errorf(http.StatusConflict, api.CodeConflict, "stale version %d: the topology is at version %d; read it again", req.Version, cur.Version)
			}
		}
		api.WriteError(w, err)
		return
	}
	if hash != t.Hash {
		// A running topology goes back to deploying: the reconciler pushes
		// the new hash and moves it to active when the host has it.
		for range 3 {
			cur, err := m.Store.Topology(ctx, t.ID)
			if err != nil || (cur.Status != store.Active && cur.Status != store.Degraded) {
				break
			}
			err = m.Store.Transition(ctx, t.ID, cur.Status, store.Deploying, "spec replaced by "+who.Name+": re-push")
			if !errors.Is(err, store.ErrConflict) {
				if err != nil {
					api.WriteError(w, err)
					return
				}
				break
			}
		}
	}
	m.log.Info("topology spec replaced", "topology_id", t.ID, "hash", hash, "by", who.Name)
	v, err := m.detail(ctx, t.ID)
	if err != nil {
		api.WriteError(w, err)
		return
	}
	v.Warnings = warningsOf(issues)
	api.WriteJSON(w, http.StatusOK, v)
}

// enrolledHost returns the host when it is enrolled and not decommissioned.
func (m *Master) enrolledHost(ctx context.Context, id string) (*store.Host, error) {
	h, err := m.Store.Host(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && h.Decommissioned) {
		return nil, api.Errorf(http.StatusNotFound, api.CodeNotFound, "host %q is not enrolled or was decommissioned", id)
	}
	return h, err
}

func (m *Master) deployTopology(w http.ResponseWriter, r *http.Request, who *api.Principal) {
	lifecycleMu.Lock()
	defer lifecycleMu.Unlock()
	ctx := r.Context()
	t, err := m.findTopology(ctx, r.PathValue("id"))
	if err != nil {
		api.WriteError(w, err)
		return
	}
	api.SetAudit(r, "topology/"+t.Name, "id="+t.ID+" host="+t.HostID)
	if t.Status != store.Pending && t.Status != store.Failed && t.Status != store.TornDown {
		api.WriteError(w, api.Errorf(http.StatusConflict, api.CodeConflict, "topology %s is %s; only pending, failed or torn_down topologies deploy", t.Name, t.Status))
		return
	}
	if t.HostID == "" {
		api.WriteError(w, invalid("topology %s has no host; create it with one", t.Name))
		return
	}
	if _, err := m.enrolledHost(ctx, t.HostID); err != nil {
		api.WriteError(w, err)
		return
	}
	// One applied topology per agent (v1): another one live or being torn
	// down on the host would fight over it.
	tops, err := m.Store.ListTopologies(ctx)
	if err != nil {
		api.WriteError(w, err)
		return
	}
	for _, o := range tops {
		if o.ID != t.ID && o.HostID == t.HostID && (ShouldRun(o.Status) || o.Status == store.TearingDown) {
			api.WriteError(w, api.Errorf(http.StatusConflict, api.CodeConflict, "host %s already runs topology %s (%s); tear it down first", t.HostID, o.Name, o.Status))
			return
		}
	}
	var spec topology.Spec
	if err := json.Unmarshal(t.Spec, &spec); err != nil {
		api.WriteError(w, fmt.Errorf("stored spec of %s: %w", t.ID, err))
		return
	}
	if err := topology.CheckImplemented(&spec).Err(); err != nil {
		api.WriteError(w, err)
		return
	}
	if err := m.Store.Transition(ctx, t.ID, t.Status, store.Deploying, "deploy requested by "+who.Name); err != nil {
		if errors.Is(err, store.ErrConflict) {
			err = api.Errorf(http.StatusConflict, api.CodeConflict, "topology %s changed status meanwhile; read it again", t.Name)
		}
		api.WriteError(w, err)
		return
	}
	m.log.Info("deploy requested", "topology_id", t.ID, "host_id", t.HostID, "by", who.Name)
	m.writeDetail(w, r, http.StatusAccepted, t.ID)
}

func (m *Master) writeDetail(w http.ResponseWriter, r *http.Request, status int, id string) {
	v, err := m.detail(r.Context(), id)
	if err != nil {
		api.WriteError(w, err)
		return
	}
	api.WriteJSON(w, status, v)
}

func (m *Master) teardownTopology(w http.ResponseWriter, r *http.Request, who *api.Principal) {
	lifecycleMu.Lock()
	defer lifecycleMu.Unlock()
	ctx := r.Context()
	t, err := m.findTopology(ctx, r.PathValue("id"))
	if err != nil {
		api.WriteError(w, err)
		return
	}
	api.SetAudit(r, "topology/"+t.Name, "id="+t.ID+" from="+t.Status)
	reason := "teardown requested by " + who.Name
	conflict := func(err error) error {
		if errors.Is(err, store.ErrConflict) {
			return api.Errorf(http.StatusConflict, api.CodeConflict, "topology %s changed status meanwhile; read it again", t.Name)
		}
		return err
	}
	switch t.Status {
	case store.Pending:
		// Nothing ever ran: done at once.
		if err := m.Store.Transition(ctx, t.ID, store.Pending, store.TornDown, reason+" (never deployed)"); err != nil {
			api.WriteError(w, conflict(err))
			return
		}
		m.writeDetail(w, r, http.StatusOK, t.ID)
		return
	case store.Deploying, store.Active, store.Degraded, store.Failed:
	default:
		api.WriteError(w, api.Errorf(http.StatusConflict, api.CodeConflict, "topology %s is %s; nothing to tear down", t.Name, t.Status))
		return
	}
	if err := m.Store.Transition(ctx, t.ID, t.Status, store.TearingDown, reason); err != nil {
		api.WriteError(w, conflict(err))
		return
	}
	// A host that is gone cannot be reached: the reconciler would wait
	// forever. Say so in the history instead of pretending it was cleaned.
	if _, err := m.enrolledHost(ctx, t.HostID); err != nil {
		var ae *api.Error
		if !errors.As(err, &ae) {
			api.WriteError(w, err)
			return
		}
		if err := m.Store.Transition(ctx, t.ID, store.TearingDown, store.TornDown,
			"host "+t.HostID+" is not enrolled or was decommissioned: nothing could be removed there"); err != nil {
			api.WriteError(w, conflict(err))
			return
		}
		m.writeDetail(w, r, http.StatusOK, t.ID)
		return
	}
	m.log.Info("teardown requested", "topology_id", t.ID, "host_id", t.HostID, "by", who.Name)
	m.writeDetail(w, r, http.StatusAccepted, t.ID)
}

func (m *Master) deleteTopology(w http.ResponseWriter, r *http.Request, who *api.Principal) {
	lifecycleMu.Lock()
	defer lifecycleMu.Unlock()
	ctx := r.Context()
	t, err := m.findTopology(ctx, r.PathValue("id"))
	if err != nil {
		api.WriteError(w, err)
		return
	}
	api.SetAudit(r, "topology/"+t.Name, "id="+t.ID+" status="+t.Status)
	if t.Status != store.Pending && t.Status != store.TornDown && t.Status != store.Failed {
		api.WriteError(w, api.Errorf(http.StatusConflict, api.CodeConflict, "topology %s is %s; tear it down first", t.Name, t.Status))
		return
	}
	if t.Status == store.Failed && t.HostID != "" {
		// A failed apply can leave objects on the host; deleting the row
		// would lose the only record of them.
		if h, err := m.Store.Host(ctx, t.HostID); err == nil && !h.Decommissioned && h.AppliedID == t.ID {
			api.WriteError(w, api.Errorf(http.StatusConflict, api.CodeConflict, "host %s still reports topology %s as applied; tear it down first", t.HostID, t.Name))
			return
		}
	}
	if err := m.Store.DeleteTopology(ctx, t.ID); err != nil {
		api.WriteError(w, err)
		return
	}
	m.log.Info("topology deleted", "topology_id", t.ID, "name", t.Name, "by", who.Name)
	w.WriteHeader(http.StatusNoContent)
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
	case now.Sub(*last) <= apiStaleAfter:
		return LivenessAlive
	default:
		return LivenessStale
	}
}

func hostViewOf(h *store.Host, now time.Time) HostView {
	v := HostView{ID: h.ID, Name: h.Name, CertSerial: h.CertSerial, EnrolledAt: h.EnrolledAt, LastHeartbeat: h.LastHeartbeat,
		Liveness: Liveness(h.LastHeartbeat, now), AppliedID: h.AppliedID, AppliedHash: h.AppliedHash, LastError: h.LastError,
		Decommissioned: h.Decommissioned}
	if h.LastHeartbeat != nil {
		age := max(0, now.Sub(*h.LastHeartbeat).Seconds())
		v.HeartbeatAge = &age
	}
	return v
}

func (m *Master) listHosts(w http.ResponseWriter, r *http.Request, _ *api.Principal) {
	if err := onlyParams(r); err != nil {
		api.WriteError(w, err)
		return
	}
	hs, err := m.Store.ListHosts(r.Context())
	if err != nil {
		api.WriteError(w, err)
		return
	}
	now := time.Now()
	out := make([]HostView, 0, len(hs))
	for i := range hs {
		out = append(out, hostViewOf(&hs[i], now))
	}
	api.WriteJSON(w, http.StatusOK, api.List[HostView]{Items: out})
}

func (m *Master) hostDetail(ctx context.Context, id string) (*HostDetail, error) {
	h, err := m.Store.Host(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, api.Errorf(http.StatusNotFound, api.CodeNotFound, "no host %q", id)
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

func (m *Master) getHost(w http.ResponseWriter, r *http.Request, _ *api.Principal) {
	v, err := m.hostDetail(r.Context(), r.PathValue("id"))
	if err != nil {
		api.WriteError(w, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, v)
}

type decommissionRequest struct {
	// Force decommissions a host that still has live topologies: they
	// are marked torn_down, although nothing was removed on the host.
	Force bool `json:"force"`
}

func (m *Master) decommissionHost(w http.ResponseWriter, r *http.Request, who *api.Principal) {
	var req decommissionRequest
	if r.ContentLength != 0 {
		if err := api.DecodeJSON(w, r, &req); err != nil {
			api.WriteError(w, err)
			return
		}
	}
	lifecycleMu.Lock()
	defer lifecycleMu.Unlock()
	ctx := r.Context()
	id := r.PathValue("id")
	api.SetAudit(r, "host/"+id, "force="+strconv.FormatBool(req.Force))
	if _, err := m.Store.Host(ctx, id); errors.Is(err, store.ErrNotFound) {
		api.WriteError(w, api.Errorf(http.StatusNotFound, api.CodeNotFound, "no host %q", id))
		return
	} else if err != nil {
		api.WriteError(w, err)
		return
	}
	tops, err := m.Store.ListTopologies(ctx)
	if err != nil {
		api.WriteError(w, err)
		return
	}
	var live []store.Topology
	for _, t := range tops {
		if t.HostID == id && (ShouldRun(t.Status) || t.Status == store.TearingDown) {
			live = append(live, t)
		}
	}
	if len(live) > 0 && !req.Force {
		names := make([]string, 0, len(live))
		for _, t := range live {
			names = append(names, t.Name+" ("+t.Status+")")
		}
		api.WriteError(w, &api.Error{Status: http.StatusConflict, Code: api.CodeConflict,
			Message: "host " + id + " still has live topologies; tear them down first, or pass {\"force\": true} for a host that is gone",
			Details: map[string]any{"topologies": names}})
		return
	}
	if err := m.Store.Decommission(ctx, id); err != nil {
		api.WriteError(w, err)
		return
	}
	// The host cannot be reached any more: record that its topologies are
	// over, saying nothing was removed there.
	for _, t := range live {
		reason := "host " + id + " decommissioned by " + who.Name + " (forced): nothing was removed on the host"
		if t.Status != store.TearingDown {
			if err := m.Store.Transition(ctx, t.ID, t.Status, store.TearingDown, reason); err != nil {
				m.log.Warn("decommission: transition", "topology_id", t.ID, "err", err)
				continue
			}
		}
		if err := m.Store.Transition(ctx, t.ID, store.TearingDown, store.TornDown, reason); err != nil {
			m.log.Warn("decommission: transition", "topology_id", t.ID, "err", err)
		}
	}
	m.log.Info("host decommissioned", "host_id", id, "by", who.Name, "forced_topologies", len(live))
	v, err := m.hostDetail(ctx, id)
	if err != nil {
		api.WriteError(w, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, v)
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

func (m *Master) joinToken(w http.ResponseWriter, r *http.Request, who *api.Principal) {
	var req joinTokenRequest
	if err := api.DecodeJSON(w, r, &req); err != nil {
		api.WriteError(w, err)
		return
	}
	if !pki.ValidHostID(req.Name) {
		api.WriteError(w, invalid("name %q must be 1-63 lowercase letters, digits or '-', starting with a letter or digit", req.Name))
		return
	}
	ttl := JoinTokenTTL
	if req.TTLSeconds != 0 {
		if req.TTLSeconds < 60 || time.Duration(req.TTLSeconds)*time.Second > maxJoinTokenTTL {
			api.WriteError(w, invalid("ttl_seconds must be from 60 to %d", int64(maxJoinTokenTTL/time.Second)))
			return
		}
		ttl = time.Duration(req.TTLSeconds) * time.Second
	}
	api.SetAudit(r, "host/"+req.Name, "ttl="+ttl.String())
	ctx := r.Context()
	// A host id is enrolled once: a decommissioned id stays taken, since
	// its revoked certificate names it.
	if _, err := m.Store.Host(ctx, req.Name); err == nil {
		api.WriteError(w, api.Errorf(http.StatusConflict, api.CodeConflict, "host %q is already enrolled (or was decommissioned); pick another name", req.Name))
		return
	} else if !errors.Is(err, store.ErrNotFound) {
		api.WriteError(w, err)
		return
	}
	token, expires, err := m.Authority.NewJoinToken(ctx, req.Name, ttl)
	if err != nil {
		api.WriteError(w, err)
		return
	}
	addr := m.AgentAddress()
	m.log.Info("join token issued", "host_id", req.Name, "expires", expires, "by", who.Name)
	api.WriteJSON(w, http.StatusCreated, JoinTokenResponse{Host: req.Name, Token: token, CAHash: m.CA.Hash(), ExpiresAt: expires.UTC(), Master: addr,
		Command: fmt.Sprintf("decnet agent join --master %s --token %s --ca-hash %s --dir /var/lib/decnet/agent", addr, token, m.CA.Hash())})
}
