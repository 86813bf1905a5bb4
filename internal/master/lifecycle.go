package master

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"sync"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/master/api"
	"github.com/decnet/decnet/internal/pki"
	"github.com/decnet/decnet/internal/store"
	"github.com/decnet/decnet/internal/topology"
)

// Lifecycle owns the topology lifecycle: creating, checking, deploying,
// tearing down, replacing the spec of and deleting topologies, and
// decommissioning hosts. The API, `decnet deploy/teardown --data` and
// `decnet up` all go through it, so a rule holds whichever way a change
// comes in. Every status move is a compare-and-swap in the store; the lock
// keeps the checks that span several rows (one live topology per host,
// subnets reserved across a host's topologies, delete only when not live)
// true until the write, within one master process.
//
// Refusals are *api.Refusal errors matching store.ErrNotFound,
// store.ErrConflict or api.ErrInvalid; api.CodeOf names their code.
type Lifecycle struct {
	st  store.Store
	log *slog.Logger
	mu  sync.Mutex
	// HostCapabilities, when set, tells what a host's driver can build:
	// a topology it cannot is refused here, not at apply.
	HostCapabilities func(host string) (topology.HostCapabilities, bool)
	// OnSpec, when set, learns every spec stored (created or replaced),
	// before it is deployed: the honey credentials of its bait are
	// recorded from it.
	OnSpec func(ctx context.Context, t *store.Topology)
}

// NewLifecycle returns the lifecycle core over a store.
func NewLifecycle(st store.Store, log *slog.Logger) *Lifecycle {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Lifecycle{st: st, log: log.With("component", "lifecycle")}
}

func invalid(format string, a ...any) error { return api.Refuse(api.ErrInvalid, format, a...) }

func conflict(format string, a ...any) error { return api.Refuse(store.ErrConflict, format, a...) }

func notFound(format string, a ...any) error { return api.Refuse(store.ErrNotFound, format, a...) }

// conflictMeanwhile turns a lost compare-and-swap into a refusal that
// says what to do.
func conflictMeanwhile(err error, name string) error {
	if errors.Is(err, store.ErrConflict) {
		return conflict("topology %s changed status meanwhile; read it again", name)
	}
	return err
}

// ShouldRun reports whether a topology in this status should be running
// on its host.
func ShouldRun(status string) bool {
	return status == store.Deploying || status == store.Active || status == store.Degraded
}

// Live reports whether a topology holds its host: it should run or is
// being torn down.
func Live(status string) bool { return ShouldRun(status) || status == store.TearingDown }

// Find looks a topology up by id, then by name.
func (c *Lifecycle) Find(ctx context.Context, key string) (*store.Topology, error) {
	t, err := c.st.Topology(ctx, key)
	if err == nil || !errors.Is(err, store.ErrNotFound) {
		return t, err
	}
	tops, err := c.st.ListTopologies(ctx)
	if err != nil {
		return nil, err
	}
	for i := range tops {
		if tops[i].Name == key {
			return &tops[i], nil
		}
	}
	return nil, notFound("no topology %q", key)
}

// Source names where a spec comes from: exactly one of Spec (a JSON object,
// or a YAML or JSON document as a string), INI and Generate.
type Source struct {
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

func present(raw json.RawMessage) bool { return len(raw) > 0 && string(raw) != "null" }

// Decode turns a source into an unallocated spec and the import's
// warnings. A malformed request is refused as invalid; a bad document
// returns the topology decode or import errors.
func (c *Lifecycle) Decode(ctx context.Context, src Source) (*topology.Spec, []topology.Issue, error) {
	n := 0
	for _, set := range []bool{present(src.Spec), src.INI != nil, present(src.Generate)} {
		if set {
			n++
		}
	}
	if n != 1 {
		return nil, nil, invalid("give exactly one of spec, ini and generate")
	}
	if (src.Name != "" || src.Seed != "") && src.INI == nil {
		return nil, nil, invalid("name and seed go with ini only (a spec and the generator carry their own)")
	}
	var spec *topology.Spec
	var warnings []topology.Issue
	var err error
	switch {
	case src.INI != nil:
		spec, warnings, err = topology.ImportINI(strings.NewReader(*src.INI), topology.INIOptions{Name: src.Name, Seed: src.Seed, Host: src.Host})
		if err != nil {
			return nil, warnings, err
		}
	case present(src.Generate):
		if spec, err = c.generate(ctx, src.Generate, src.Host); err != nil {
			return nil, nil, err
		}
	default:
		doc := []byte(src.Spec)
		switch src.Spec[0] {
		case '{':
		case '"':
			// A YAML or JSON document as text: lines in errors are its own.
			var text string
			if err := json.Unmarshal(src.Spec, &text); err != nil {
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
	if src.Host != "" {
		spec.Host = src.Host
	}
	return spec, warnings, nil
}

func (c *Lifecycle) generate(ctx context.Context, raw json.RawMessage, host string) (*topology.Spec, error) {
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(raw, &keys); err != nil {
		return nil, invalid("generate must be an object")
	}
	g := topology.DefaultGenConfig
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&g); err != nil {
		return nil, invalid("generate: %v", err)
	}
	if host != "" {
		g.Host = host
	}
	if g.Host != "" && pki.ValidHostID(g.Host) {
		rs, err := c.reserved(ctx, g.Host, "")
		if err != nil {
			return nil, err
		}
		for _, r := range rs {
			g.Reserved = append(g.Reserved, r.Prefix)
		}
	}
	if _, ok := keys["seed"]; !ok {
		// Without a seed, every generated topology would share one
		// identity seed.
		var b [8]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, err
		}
		g.Seed = binary.LittleEndian.Uint64(b[:])
	}
	s, err := topology.Generate(g)
	if err != nil {
		return nil, invalid("%v", err)
	}
	return s, nil
}

// reserved returns the subnets of the host's other topologies.
func (c *Lifecycle) reserved(ctx context.Context, host, self string) ([]topology.Reserved, error) {
	if host == "" {
		return nil, nil
	}
	tops, err := c.st.ListTopologies(ctx)
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

// prepare allocates what the spec leaves empty (avoiding the host's other
// topologies), validates it and checks that this build implements every
// service. It returns every issue found (warnings included) and the first
// error.
func (c *Lifecycle) prepare(ctx context.Context, spec *topology.Spec, self string) ([]topology.Issue, error) {
	if spec.Host != "" && !pki.ValidHostID(spec.Host) {
		return nil, invalid("host %q must be 1-63 lowercase letters, digits or '-'", spec.Host)
	}
	reserved, err := c.reserved(ctx, spec.Host, self)
	if err != nil {
		return nil, err
	}
	prefixes := make([]netip.Prefix, 0, len(reserved))
	for _, r := range reserved {
		prefixes = append(prefixes, r.Prefix)
	}
	if err := topology.Allocate(spec, "", prefixes); err != nil {
		if errors.Is(err, topology.ErrExhausted) {
			return nil, conflict("%v", err)
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
	if c.HostCapabilities != nil {
		if caps, ok := c.HostCapabilities(spec.Host); ok {
			host := topology.CheckHost(spec, caps)
			issues = append(issues, host.Issues...)
			if err := host.Err(); err != nil {
				return issues, err
			}
		}
	}
	return issues, nil
}

// Warnings returns the warning-severity issues.
func Warnings(issues []topology.Issue) []topology.Issue {
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

// Check decodes, allocates and validates a source without storing
// anything. err is a refusal of the request itself; the topology's own
// problems are in the result.
func (c *Lifecycle) Check(ctx context.Context, src Source) (*topology.Spec, []topology.Issue, error) {
	spec, warnings, err := c.Decode(ctx, src)
	var issues []topology.Issue
	if err == nil {
		issues, err = c.prepare(ctx, spec, "")
	}
	return spec, append(warnings, Warnings(issues)...), err
}

// Create stores a new topology in status pending. The spec is allocated
// and validated first; the id is chosen before the insert, so the stored
// spec and its hash carry it and there is no window with an empty spec.
// It returns the stored topology and the validation warnings.
func (c *Lifecycle) Create(ctx context.Context, spec *topology.Spec, by string) (*store.Topology, []topology.Issue, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.createLocked(ctx, spec, by, nil)
}

// createLocked prepares and stores a topology; before the insert it runs
// also, the caller's further checks.
func (c *Lifecycle) createLocked(ctx context.Context, spec *topology.Spec, by string, also func() error) (*store.Topology, []topology.Issue, error) {
	issues, err := c.prepare(ctx, spec, "")
	if err != nil {
		return nil, issues, err
	}
	t := &store.Topology{ID: event.NewID(), Name: spec.Name, HostID: spec.Host}
	spec.ID = t.ID
	blob, err := encodeSpec(spec)
	if err != nil {
		return nil, issues, err
	}
	if also != nil {
		if err := also(); err != nil {
			return nil, issues, err
		}
	}
	t.Spec, t.Hash = blob, spec.Hash()
	if err := c.st.CreateTopology(ctx, t); err != nil {
		if errors.Is(err, store.ErrConflict) {
			err = conflict("a topology named %q exists", spec.Name)
		}
		return nil, issues, err
	}
	c.log.Info("topology created", "topology_id", t.ID, "name", t.Name, "host_id", t.HostID, "by", by)
	got, err := c.st.Topology(ctx, t.ID)
	if err == nil && c.OnSpec != nil {
		c.OnSpec(ctx, got)
	}
	return got, Warnings(issues), err
}

// CreateAndDeploy stores a new topology and moves it to deploying at
// once, refusing before anything is stored what Deploy would refuse.
func (c *Lifecycle) CreateAndDeploy(ctx context.Context, spec *topology.Spec, by string) (*store.Topology, []topology.Issue, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, warnings, err := c.createLocked(ctx, spec, by, func() error { return c.checkHost(ctx, spec.Host, "") })
	if err != nil {
		return nil, warnings, err
	}
	if err := c.st.Transition(ctx, t.ID, store.Pending, store.Deploying, "deploy requested by "+by); err != nil {
		return nil, warnings, conflictMeanwhile(err, t.Name)
	}
	c.log.Info("deploy requested", "topology_id", t.ID, "host_id", t.HostID, "by", by)
	t, err = c.st.Topology(ctx, t.ID)
	return t, warnings, err
}

// checkHost refuses a deploy to a host that is not enrolled or that holds
// another live topology (one applied topology per agent).
func (c *Lifecycle) checkHost(ctx context.Context, host, self string) error {
	if host == "" {
		return invalid("the topology has no host; say which host runs it")
	}
	if _, err := c.EnrolledHost(ctx, host); err != nil {
		return err
	}
	tops, err := c.st.ListTopologies(ctx)
	if err != nil {
		return err
	}
	for _, o := range tops {
		if o.ID != self && o.HostID == host && Live(o.Status) {
			return conflict("host %s already runs topology %s (%s); tear it down first", host, o.Name, o.Status)
		}
	}
	return nil
}

// EnrolledHost returns the host when it is enrolled and not decommissioned.
func (c *Lifecycle) EnrolledHost(ctx context.Context, id string) (*store.Host, error) {
	h, err := c.st.Host(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && h.Decommissioned) {
		return nil, notFound("host %q is not enrolled or was decommissioned", id)
	}
	return h, err
}

// Deploy moves a pending, failed or torn_down topology to deploying; the
// reconciler then pushes it to its host.
func (c *Lifecycle) Deploy(ctx context.Context, id, by string) (*store.Topology, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, err := c.st.Topology(ctx, id)
	if err != nil {
		return nil, err
	}
	if t.Status != store.Pending && t.Status != store.Failed && t.Status != store.TornDown {
		return nil, conflict("topology %s is %s; only pending, failed or torn_down topologies deploy", t.Name, t.Status)
	}
	if t.HostID == "" {
		return nil, invalid("topology %s has no host; create it with one", t.Name)
	}
	if err := c.checkHost(ctx, t.HostID, t.ID); err != nil {
		return nil, err
	}
	var spec topology.Spec
	if err := json.Unmarshal(t.Spec, &spec); err != nil {
		return nil, err
	}
	if err := topology.CheckImplemented(&spec).Err(); err != nil {
		return nil, err
	}
	if err := c.st.Transition(ctx, t.ID, t.Status, store.Deploying, "deploy requested by "+by); err != nil {
		return nil, conflictMeanwhile(err, t.Name)
	}
	c.log.Info("deploy requested", "topology_id", t.ID, "host_id", t.HostID, "by", by)
	return c.st.Topology(ctx, t.ID)
}

// Teardown asks for a topology's teardown. done is true when nothing is
// left to do on a host (a pending topology, or a host that is gone, which
// the history says); otherwise the reconciler tears it down.
func (c *Lifecycle) Teardown(ctx context.Context, id, by string) (done bool, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, err := c.st.Topology(ctx, id)
	if err != nil {
		return false, err
	}
	reason := "teardown requested by " + by
	switch t.Status {
	case store.Pending:
		// Nothing ever ran: done at once.
		return true, conflictMeanwhile(c.st.Transition(ctx, t.ID, store.Pending, store.TornDown, reason+" (never deployed)"), t.Name)
	case store.Deploying, store.Active, store.Degraded, store.Failed:
	default:
		return false, conflict("topology %s is %s; nothing to tear down", t.Name, t.Status)
	}
	if err := c.st.Transition(ctx, t.ID, t.Status, store.TearingDown, reason); err != nil {
		return false, conflictMeanwhile(err, t.Name)
	}
	// A host that is gone cannot be reached: the reconciler would wait
	// forever. Say so in the history instead of pretending it was cleaned.
	if _, err := c.EnrolledHost(ctx, t.HostID); err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			return false, err
		}
		err := c.st.Transition(ctx, t.ID, store.TearingDown, store.TornDown,
			"host "+t.HostID+" is not enrolled or was decommissioned: nothing could be removed there")
		return true, conflictMeanwhile(err, t.Name)
	}
	c.log.Info("teardown requested", "topology_id", t.ID, "host_id", t.HostID, "by", by)
	return false, nil
}

// ReplaceSpec replaces a topology's spec if it is still at version
// (compare-and-swap). Name, host and seed are the topology's for life; a
// running topology goes back to deploying so that the reconciler pushes
// the new hash. It returns the validation warnings.
func (c *Lifecycle) ReplaceSpec(ctx context.Context, id string, version int64, spec *topology.Spec, by string) ([]topology.Issue, error) {
	if version < 1 {
		return nil, invalid("version is required: the version the spec was read at (GET .../spec)")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	t, err := c.st.Topology(ctx, id)
	if err != nil {
		return nil, err
	}
	if t.Status == store.Deploying || t.Status == store.TearingDown {
		return nil, conflict("topology %s is %s; replace its spec once that finishes", t.Name, t.Status)
	}
	return c.replaceLocked(ctx, t, version, spec, by)
}

// EditSpec changes a topology's stored spec with edit, validates the
// result and stores it as ReplaceSpec does, in one step under the
// lifecycle's lock, so an edit never loses a concurrent one. Unlike a
// whole replacement it is allowed while the topology deploys (live
// controls are changed while a previous change is being pushed; the
// reconciler pushes the newest hash). edit's error is returned as is.
func (c *Lifecycle) EditSpec(ctx context.Context, id, by string, edit func(*topology.Spec) error) ([]topology.Issue, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, err := c.st.Topology(ctx, id)
	if err != nil {
		return nil, err
	}
	if t.Status == store.TearingDown {
		return nil, conflict("topology %s is tearing down", t.Name)
	}
	var spec topology.Spec
	if err := json.Unmarshal(t.Spec, &spec); err != nil {
		return nil, fmt.Errorf("stored spec of %s: %w", t.Name, err)
	}
	if err := edit(&spec); err != nil {
		return nil, err
	}
	return c.replaceLocked(ctx, t, t.Version, &spec, by)
}

// replaceLocked stores spec as t's at version; c.mu is held.
func (c *Lifecycle) replaceLocked(ctx context.Context, t *store.Topology, version int64, spec *topology.Spec, by string) ([]topology.Issue, error) {
	var old topology.Spec
	_ = json.Unmarshal(t.Spec, &old)
	switch {
	case spec.ID != "" && spec.ID != t.ID:
		return nil, invalid("spec id %q is not this topology's (%s)", spec.ID, t.ID)
	case spec.Name != "" && spec.Name != t.Name:
		return nil, invalid("a topology cannot be renamed (%q to %q); create a new one", t.Name, spec.Name)
	case spec.Host != "" && spec.Host != t.HostID:
		return nil, invalid("a topology cannot move to another host (%q to %q); create a new one", t.HostID, spec.Host)
	case spec.Seed != "" && old.Seed != "" && spec.Seed != old.Seed:
		return nil, invalid("the identity seed is kept for the topology's life; leave it out or unchanged")
	}
	spec.ID, spec.Name, spec.Host = t.ID, t.Name, t.HostID
	if spec.Seed == "" {
		spec.Seed = old.Seed
	}
	issues, err := c.prepare(ctx, spec, t.ID)
	if err != nil {
		return issues, err
	}
	blob, err := encodeSpec(spec)
	if err != nil {
		return issues, err
	}
	hash := spec.Hash()
	if err := c.st.UpdateSpec(ctx, t.ID, version, blob, hash); err != nil {
		if errors.Is(err, store.ErrConflict) {
			if cur, _ := c.st.Topology(ctx, t.ID); cur != nil {
				err = conflict("stale version %d: the topology is at version %d; read it again", version, cur.Version)
			}
		}
		return issues, err
	}
	if c.OnSpec != nil {
		stored := *t
		stored.Spec, stored.Hash = blob, hash
		c.OnSpec(ctx, &stored)
	}
	if hash != t.Hash {
		// A running topology goes back to deploying: the reconciler pushes
		// the new hash and moves it to active when the host has it.
		for range 3 {
			cur, err := c.st.Topology(ctx, t.ID)
			if err != nil || (cur.Status != store.Active && cur.Status != store.Degraded) {
				break
			}
			err = c.st.Transition(ctx, t.ID, cur.Status, store.Deploying, "spec replaced by "+by+": re-push")
			if !errors.Is(err, store.ErrConflict) {
				if err != nil {
					return issues, err
				}
				break
			}
		}
	}
	c.log.Info("topology spec replaced", "topology_id", t.ID, "hash", hash, "by", by)
	return Warnings(issues), nil
}

// Delete removes a pending, torn_down or failed topology.
func (c *Lifecycle) Delete(ctx context.Context, id, by string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, err := c.st.Topology(ctx, id)
	if err != nil {
		return err
	}
	if t.Status != store.Pending && t.Status != store.TornDown && t.Status != store.Failed {
		return conflict("topology %s is %s; tear it down first", t.Name, t.Status)
	}
	if t.Status == store.Failed && t.HostID != "" {
		// A failed apply can leave objects on the host; deleting the row
		// would lose the only record of them.
		if h, err := c.st.Host(ctx, t.HostID); err == nil && !h.Decommissioned && h.AppliedID == t.ID {
			return conflict("host %s still reports topology %s as applied; tear it down first", t.HostID, t.Name)
		}
	}
	if err := c.st.DeleteTopology(ctx, t.ID); err != nil {
		return err
	}
	c.log.Info("topology deleted", "topology_id", t.ID, "name", t.Name, "by", by)
	return nil
}

// Decommission revokes a host. A host with live topologies is refused
// unless force is set, for a host that is gone: its topologies are then
// marked torn_down, saying that nothing was removed there.
func (c *Lifecycle) Decommission(ctx context.Context, id string, force bool, by string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, err := c.st.Host(ctx, id); errors.Is(err, store.ErrNotFound) {
		return notFound("no host %q", id)
	} else if err != nil {
		return err
	}
	tops, err := c.st.ListTopologies(ctx)
	if err != nil {
		return err
	}
	var live []store.Topology
	for _, t := range tops {
		if t.HostID == id && Live(t.Status) {
			live = append(live, t)
		}
	}
	if len(live) > 0 && !force {
		names := make([]string, 0, len(live))
		for _, t := range live {
			names = append(names, t.Name+" ("+t.Status+")")
		}
		r := api.Refuse(store.ErrConflict, "host %s still has live topologies; tear them down first, or pass {\"force\": true} for a host that is gone", id)
		r.Details = map[string]any{"topologies": names}
		return r
	}
	if err := c.st.Decommission(ctx, id); err != nil {
		return err
	}
	for _, t := range live {
		reason := "host " + id + " decommissioned by " + by + " (forced): nothing was removed on the host"
		if t.Status != store.TearingDown {
			if err := c.st.Transition(ctx, t.ID, t.Status, store.TearingDown, reason); err != nil {
				c.log.Warn("decommission: transition", "topology_id", t.ID, "err", err)
				continue
			}
		}
		if err := c.st.Transition(ctx, t.ID, store.TearingDown, store.TornDown, reason); err != nil {
			c.log.Warn("decommission: transition", "topology_id", t.ID, "err", err)
		}
	}
	c.log.Info("host decommissioned", "host_id", id, "by", by, "forced_topologies", len(live))
	return nil
}
