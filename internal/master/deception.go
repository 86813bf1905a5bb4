package master

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/decnet/decnet/internal/bus"
	"github.com/decnet/decnet/internal/canary"
	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/master/api"
	"github.com/decnet/decnet/internal/persona"
	"github.com/decnet/decnet/internal/service"
	"github.com/decnet/decnet/internal/store"
	"github.com/decnet/decnet/internal/topology"
)

// Live deception controls: tarpits, dropped files and scheduled service
// rotation, per decky. Tarpits and files are desired state in the spec
// (Decky.Live), changed with Lifecycle.EditSpec and pushed like any other
// change; agents apply them to the running decky in place. Rotation
// schedules live in the store; the master's rotator turns a due schedule
// into a spec edit of the decky's services, records it and publishes an
// event. Agents only ever apply what they are pushed.

// Rotation bounds.
const (
	MinRotationEvery = 10 * time.Second
	rotatorTick      = 2 * time.Second
	rotationHistory  = 50
)

const deceptionPath = "/topologies/{id}/deckies/{decky}/deception"

func (m *Master) deceptionRoutes() []api.Route {
	v, a := store.Viewer, store.Admin
	return []api.Route{
		{Method: http.MethodGet, Pattern: deceptionPath, Summary: "A decky's live deception controls: tarpits, dropped files, rotation schedule and history", Role: v, Do: m.getDeception, Response: DeceptionView{}},
		{Method: http.MethodPost, Pattern: deceptionPath + "/tarpits", Summary: "Tarpit a port of a running decky, for every source or one (replaces the tarpit of that port and source)", Role: a, Mutating: true, Do: m.addTarpit, Request: topology.Tarpit{}, Response: DeceptionView{}},
		{Method: http.MethodDelete, Pattern: deceptionPath + "/tarpits", Summary: "Lift a tarpit (?port=, and ?source= for a tarpit of one source)", Role: a, Mutating: true, Do: m.removeTarpit, Response: DeceptionView{}},
		{Method: http.MethodPost, Pattern: deceptionPath + "/files", Summary: "Drop a file (text, base64 or a canary token's document) into a running decky's filesystem (replaces the file at that path)", Role: a, Mutating: true, Do: m.dropFile, Request: dropRequest{}, Response: DeceptionView{}},
		{Method: http.MethodDelete, Pattern: deceptionPath + "/files", Summary: "Withdraw a dropped file (?path=)", Role: a, Mutating: true, Do: m.removeFile, Response: DeceptionView{}},
		{Method: http.MethodPut, Pattern: deceptionPath + "/rotation", Summary: "Set a decky's service rotation schedule", Role: a, Mutating: true, Do: m.putRotation, Request: rotationRequest{}, Response: DeceptionView{}},
		{Method: http.MethodDelete, Pattern: deceptionPath + "/rotation", Summary: "Remove a decky's rotation schedule (its history stays)", Role: a, Mutating: true, Do: m.deleteRotation, Response: DeceptionView{}},
		{Method: http.MethodPost, Pattern: deceptionPath + "/rotation/rotate", Summary: "Rotate a decky's services now, from its schedule's pool", Role: a, Mutating: true, Do: m.rotateNow, Response: DeceptionView{}},
	}
}

// DeceptionView is a decky's live controls as the API shows them.
type DeceptionView struct {
	TopologyID string   `json:"topology_id"`
	Decky      string   `json:"decky"`
	Services   []string `json:"services"`
	// Ports are the decky's TCP ports, where a tarpit can go.
	Ports    []uint16          `json:"ports"`
	Tarpits  []topology.Tarpit `json:"tarpits"`
	Files    []DroppedFile     `json:"files"`
	Rotation *RotationView     `json:"rotation,omitempty"`
	// History holds the decky's latest rotations, newest first.
	History []store.RotationRecord `json:"rotation_history"`
}

// DroppedFile is a dropped file without its content.
type DroppedFile struct {
	Path   string   `json:"path"`
	Mode   string   `json:"mode"` // octal, 0644
	Owner  string   `json:"owner"`
	Size   int      `json:"size"`
	SHA256 string   `json:"sha256"`
	Places []string `json:"places,omitempty"`
}

// RotationView is a rotation schedule with its period spelled out.
type RotationView struct {
	store.Rotation
	Every string `json:"every"`
}

type dropRequest struct {
	// Path is absolute: /root/passwords.txt.
	Path string `json:"path"`
	// Exactly one of Content (text), ContentBase64 and CanaryToken (the
	// id of a document token: its document is the content).
	Content       string `json:"content,omitempty"`
	ContentBase64 string `json:"content_base64,omitempty"`
	CanaryToken   string `json:"canary_token,omitempty"`
	// Mode is octal ("0600"); default 0644.
	Mode  string `json:"mode,omitempty"`
	Owner string `json:"owner,omitempty"`
	// Places: shell, ftp, smb; default every place the decky serves.
	Places []string `json:"places,omitempty"`
}

type rotationRequest struct {
	// Pool are the services rotated through; the decky's services
	// outside the pool always stay.
	Pool []string `json:"pool"`
	// Count is how many services of the pool are exposed at a time.
	Count int `json:"count"`
	// Every is the period, a Go duration ("6h", "90m").
	Every   string `json:"every"`
	Enabled *bool  `json:"enabled,omitempty"`
}

// deckyOf finds the topology and decky a deception route names.
func (m *Master) deckyOf(r *http.Request) (*store.Topology, *topology.Spec, *topology.Decky, error) {
	t, err := m.Lifecycle.Find(r.Context(), r.PathValue("id"))
	if err != nil {
		return nil, nil, nil, err
	}
	spec, d, err := specDecky(t, r.PathValue("decky"))
	return t, spec, d, err
}

// specDecky decodes a stored topology's spec and finds one of its deckies.
func specDecky(t *store.Topology, name string) (*topology.Spec, *topology.Decky, error) {
	var spec topology.Spec
	if err := json.Unmarshal(t.Spec, &spec); err != nil {
		return nil, nil, fmt.Errorf("stored spec of %s: %w", t.Name, err)
	}
	d := spec.Decky(name)
	if d == nil {
		return nil, nil, notFound("topology %s has no decky %q", t.Name, name)
	}
	return &spec, d, nil
}

func (m *Master) deceptionView(ctx context.Context, topologyID, name string) (DeceptionView, error) {
	t, err := m.Store.Topology(ctx, topologyID)
	if err != nil {
		return DeceptionView{}, err
	}
	_, d, err := specDecky(t, name)
	if err != nil {
		return DeceptionView{}, err
	}
	v := DeceptionView{TopologyID: t.ID, Decky: d.Name, Services: d.Services, Ports: topology.TCPPortsOf(d),
		Tarpits: []topology.Tarpit{}, Files: []DroppedFile{}}
	if d.Live != nil {
		v.Tarpits = append(v.Tarpits, d.Live.Tarpits...)
		for _, f := range d.Live.Files {
			b, _ := f.Bytes()
			sum := sha256.Sum256(b)
			owner := f.Owner
			if owner == "" {
				owner = "root"
			}
			v.Files = append(v.Files, DroppedFile{Path: f.Path, Mode: fmt.Sprintf("%04o", f.FileMode()), Owner: owner, Size: len(b),
				SHA256: hex.EncodeToString(sum[:]), Places: f.Places})
		}
	}
	if rot, err := m.Store.Rotation(ctx, t.ID, d.Name); err == nil {
		v.Rotation = &RotationView{Rotation: *rot, Every: rot.Every.String()}
	} else if !errors.Is(err, store.ErrNotFound) {
		return v, err
	}
	if v.History, err = m.Store.ListRotationRecords(ctx, t.ID, d.Name, rotationHistory); err != nil {
		return v, err
	}
	return v, nil
}

func (m *Master) getDeception(r *http.Request, _ *api.Principal) (any, error) {
	if err := onlyParams(r); err != nil {
		return nil, err
	}
	t, _, d, err := m.deckyOf(r)
	if err != nil {
		return nil, err
	}
	return m.deceptionView(r.Context(), t.ID, d.Name)
}

// editLive changes a decky's live controls through the lifecycle and
// answers the new view.
func (m *Master) editLive(r *http.Request, who *api.Principal, detail string, edit func(l *topology.Live) error) (any, error) {
	t, _, d, err := m.deckyOf(r)
	if err != nil {
		return nil, err
	}
	api.SetAudit(r, "decky/"+t.Name+"/"+d.Name, detail)
	name := d.Name
	_, err = m.Lifecycle.EditSpec(r.Context(), t.ID, who.Name, func(s *topology.Spec) error {
		d := s.Decky(name)
		if d == nil {
			return notFound("topology %s has no decky %q", t.Name, name)
		}
		if d.Live == nil {
			d.Live = &topology.Live{}
		}
		if err := edit(d.Live); err != nil {
			return err
		}
		if len(d.Live.Tarpits)+len(d.Live.Files) == 0 {
			d.Live = nil
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return m.deceptionView(r.Context(), t.ID, name)
}

func (m *Master) addTarpit(r *http.Request, who *api.Principal) (any, error) {
	var req topology.Tarpit
	if err := decodeRequest(r, &req); err != nil {
		return nil, err
	}
	return m.editLive(r, who, fmt.Sprintf("tarpit port=%d source=%q rate=%d", req.Port, req.Source, req.BytesPerSecond()), func(l *topology.Live) error {
		l.Tarpits = slices.DeleteFunc(l.Tarpits, func(t topology.Tarpit) bool { return t.Port == req.Port && t.Source == req.Source })
		l.Tarpits = append(l.Tarpits, req)
		return nil
	})
}

func (m *Master) removeTarpit(r *http.Request, who *api.Principal) (any, error) {
	if err := onlyParams(r, "port", "source"); err != nil {
		return nil, err
	}
	port, err := strconv.ParseUint(r.URL.Query().Get("port"), 10, 16)
	if err != nil {
		return nil, invalid("port must be a TCP port number")
	}
	source := r.URL.Query().Get("source")
	return m.editLive(r, who, fmt.Sprintf("untarpit port=%d source=%q", port, source), func(l *topology.Live) error {
		n := len(l.Tarpits)
		l.Tarpits = slices.DeleteFunc(l.Tarpits, func(t topology.Tarpit) bool { return t.Port == uint16(port) && t.Source == source })
		if len(l.Tarpits) == n {
			return notFound("no tarpit on port %d for source %q", port, source)
		}
		return nil
	})
}

func (m *Master) dropFile(r *http.Request, who *api.Principal) (any, error) {
	var req dropRequest
	if err := decodeRequest(r, &req); err != nil {
		return nil, err
	}
	drop := topology.Drop{Path: req.Path, Owner: req.Owner, Places: req.Places}
	if req.Mode != "" {
		mode, err := strconv.ParseUint(req.Mode, 8, 32)
		if err != nil {
			return nil, invalid("mode %q is not octal permission bits (0644)", req.Mode)
		}
		drop.Mode = uint32(mode)
	}
	given := 0
	for _, s := range []string{req.Content, req.ContentBase64, req.CanaryToken} {
		if s != "" {
			given++
		}
	}
	if given > 1 {
		return nil, invalid("give one of content, content_base64 and canary_token")
	}
	switch {
	case req.ContentBase64 != "":
		drop.Data = req.ContentBase64
	case req.CanaryToken != "":
		data, err := m.canaryContent(r.Context(), req.CanaryToken)
		if err != nil {
			return nil, err
		}
		drop.Data = base64.StdEncoding.EncodeToString(data)
	default:
		drop.Data = base64.StdEncoding.EncodeToString([]byte(req.Content))
	}
	detail := fmt.Sprintf("drop path=%q mode=%04o owner=%q", drop.Path, drop.FileMode(), drop.Owner)
	if req.CanaryToken != "" {
		detail += " canary_token=" + req.CanaryToken
	}
	return m.editLive(r, who, detail, func(l *topology.Live) error {
		l.Files = slices.DeleteFunc(l.Files, func(f topology.Drop) bool { return f.Path == drop.Path })
		l.Files = append(l.Files, drop)
		return nil
	})
}

// canaryContent is a fresh copy of a document token's document.
func (m *Master) canaryContent(ctx context.Context, id string) ([]byte, error) {
	t, err := m.canaryToken(ctx, id)
	if err != nil {
		return nil, err
	}
	if !canary.HasDocument(t.Kind) {
		return nil, invalid("a %s token has no document to drop", t.Kind)
	}
	v := m.canaryView(t)
	d, err := canary.MakeDocument(t.Kind, v.URL, v.Hostname, time.Now())
	if err != nil {
		return nil, err
	}
	return d.Data, nil
}

func (m *Master) removeFile(r *http.Request, who *api.Principal) (any, error) {
	if err := onlyParams(r, "path"); err != nil {
		return nil, err
	}
	p := r.URL.Query().Get("path")
	return m.editLive(r, who, fmt.Sprintf("withdraw path=%q", p), func(l *topology.Live) error {
		n := len(l.Files)
		l.Files = slices.DeleteFunc(l.Files, func(f topology.Drop) bool { return f.Path == p })
		if len(l.Files) == n {
			return notFound("no dropped file at %q", p)
		}
		return nil
	})
}

// checkPool refuses a rotation pool the decky cannot run.
func checkPool(d *topology.Decky, pool []string, count int) error {
	if len(pool) < 2 {
		return invalid("the pool needs at least two services to rotate through")
	}
	if count < 1 || count >= len(pool) {
		return invalid("count must be 1-%d: fewer services exposed than the pool holds", len(pool)-1)
	}
	fam := persona.Family(d.Persona.OS)
	seen := map[string]bool{}
	for _, slug := range pool {
		info, ok := service.Lookup(slug)
		switch {
		case !ok:
			return invalid("unknown service %q in the pool", slug)
		case seen[slug]:
			return invalid("service %s is in the pool twice", slug)
		case !info.Fits(fam) && !d.Force:
			return invalid("service %s does not run on the decky's persona (%s)", slug, fam)
		}
		seen[slug] = true
	}
	return nil
}

func (m *Master) putRotation(r *http.Request, who *api.Principal) (any, error) {
	var req rotationRequest
	if err := decodeRequest(r, &req); err != nil {
		return nil, err
	}
	t, _, d, err := m.deckyOf(r)
	if err != nil {
		return nil, err
	}
	every, err := time.ParseDuration(req.Every)
	if err != nil || every < MinRotationEvery {
		return nil, invalid("every must be a duration of at least %s (\"6h\", \"90m\")", MinRotationEvery)
	}
	if err := checkPool(d, req.Pool, req.Count); err != nil {
		return nil, err
	}
	enabled := req.Enabled == nil || *req.Enabled
	api.SetAudit(r, "decky/"+t.Name+"/"+d.Name, fmt.Sprintf("rotation pool=%s count=%d every=%s enabled=%v", strings.Join(req.Pool, ","), req.Count, every, enabled))
	rot := &store.Rotation{TopologyID: t.ID, Decky: d.Name, Pool: req.Pool, Count: req.Count, Every: every.Truncate(time.Second),
		Enabled: enabled, NextAt: time.Now().Add(every).UTC(), UpdatedBy: who.Name}
	if err := m.Store.PutRotation(r.Context(), rot); err != nil {
		return nil, err
	}
	return m.deceptionView(r.Context(), t.ID, d.Name)
}

func (m *Master) deleteRotation(r *http.Request, _ *api.Principal) (any, error) {
	t, _, d, err := m.deckyOf(r)
	if err != nil {
		return nil, err
	}
	api.SetAudit(r, "decky/"+t.Name+"/"+d.Name, "rotation removed")
	if err := m.Store.DeleteRotation(r.Context(), t.ID, d.Name); errors.Is(err, store.ErrNotFound) {
		return nil, notFound("decky %s has no rotation schedule", d.Name)
	} else if err != nil {
		return nil, err
	}
	return m.deceptionView(r.Context(), t.ID, d.Name)
}

func (m *Master) rotateNow(r *http.Request, who *api.Principal) (any, error) {
	t, _, d, err := m.deckyOf(r)
	if err != nil {
		return nil, err
	}
	rot, err := m.Store.Rotation(r.Context(), t.ID, d.Name)
	if errors.Is(err, store.ErrNotFound) {
		return nil, invalid("decky %s has no rotation schedule: PUT .../rotation first", d.Name)
	} else if err != nil {
		return nil, err
	}
	api.SetAudit(r, "decky/"+t.Name+"/"+d.Name, "rotate now")
	if err := m.rotate(r.Context(), rot, who.Name, time.Now()); err != nil {
		return nil, err
	}
	return m.deceptionView(r.Context(), t.ID, d.Name)
}

// NextServices is a rotation: the decky's services outside the pool stay,
// and count services of the pool, as many as possible not exposed now,
// replace the pool's current ones, in the pool's order.
func NextServices(current, pool []string, count int, r *rand.Rand) []string {
	var keep, fresh, stale []string
	for _, s := range current {
		if !slices.Contains(pool, s) {
			keep = append(keep, s)
		}
	}
	for _, s := range pool {
		if slices.Contains(current, s) {
			stale = append(stale, s)
		} else {
			fresh = append(fresh, s)
		}
	}
	r.Shuffle(len(fresh), func(i, j int) { fresh[i], fresh[j] = fresh[j], fresh[i] })
	r.Shuffle(len(stale), func(i, j int) { stale[i], stale[j] = stale[j], stale[i] })
	chosen := append(fresh, stale...)[:min(count, len(pool))]
	out := keep
	for _, s := range pool {
		if slices.Contains(chosen, s) {
			out = append(out, s)
		}
	}
	return out
}

// rotate applies one rotation of a schedule: the decky's services change
// in the spec (pushed by the reconciler like any change; identity values
// derive from the seed and the decky's name, so they stay), the history
// records it, an event is published and the next time is set.
func (m *Master) rotate(ctx context.Context, rot *store.Rotation, by string, now time.Time) error {
	var before, after []string
	saved := maps.Clone(rot.Settings)
	t, err := m.Store.Topology(ctx, rot.TopologyID)
	if err != nil {
		return err
	}
	_, err = m.Lifecycle.EditSpec(ctx, rot.TopologyID, by, func(s *topology.Spec) error {
		d := s.Decky(rot.Decky)
		if d == nil {
			return notFound("topology %s has no decky %q", t.Name, rot.Decky)
		}
		before = slices.Clone(d.Services)
		after = NextServices(d.Services, rot.Pool, rot.Count, rand.New(rand.NewPCG(uint64(now.UnixNano()), 0x5eed)))
		d.Services = after
		// The settings of a service rotated out wait in the schedule
		// until it rotates back in.
		if rot.Settings == nil {
			rot.Settings = map[string]map[string]any{}
		}
		for _, slug := range rot.Pool {
			in := slices.Contains(after, slug)
			if cfg, ok := d.ServiceConfig[slug]; ok && !in {
				rot.Settings[slug] = cfg
				delete(d.ServiceConfig, slug)
			} else if cfg, ok := rot.Settings[slug]; ok && in {
				if d.ServiceConfig == nil {
					d.ServiceConfig = map[string]map[string]any{}
				}
				d.ServiceConfig[slug] = cfg
				delete(rot.Settings, slug)
			}
		}
		if d.Live != nil {
			// A tarpit on a port the decky no longer serves goes with it.
			ports := topology.TCPPortsOf(d)
			d.Live.Tarpits = slices.DeleteFunc(d.Live.Tarpits, func(tp topology.Tarpit) bool { return !slices.Contains(ports, tp.Port) })
		}
		return nil
	})
	if err != nil {
		rot.Settings = saved
	}
	rot.NextAt = now.Add(rot.Every).UTC()
	rot.UpdatedBy = cmp.Or(rot.UpdatedBy, by)
	if perr := m.Store.PutRotation(ctx, rot); perr != nil && err == nil {
		err = perr
	}
	if err != nil {
		return err
	}
	rec := &store.RotationRecord{TopologyID: rot.TopologyID, Decky: rot.Decky, At: now, Before: before, After: after, By: by}
	if err := m.Store.AddRotationRecord(ctx, rec); err != nil {
		return err
	}
	m.log.Info("decky services rotated", "topology_id", rot.TopologyID, "decky", rot.Decky, "before", before, "after", after, "by", by)
	if m.JS == nil {
		return nil
	}
	ev := event.Event{Schema: event.SchemaVersion, ID: event.NewID(), Time: now.UTC(), Type: topology.RotatedType, Severity: event.Info,
		Topology: rot.TopologyID, Decky: rot.Decky, Service: "decky",
		Fields: map[string]any{"before": anyList(before), "after": anyList(after), "by": by}}
	if err := bus.PublishTo(ctx, m.JS, bus.SubjectPrefix+bus.MasterHost, bus.MasterHost, []event.Event{ev}); err != nil {
		m.log.Error("rotation event not published", "decky", rot.Decky, "err", err)
	}
	return nil
}

func anyList(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// RotateDue rotates every enabled schedule whose time has come; the
// rotator calls it every few seconds. A schedule that fails (its
// topology tearing down, its decky gone) is retried at its next time.
func (m *Master) RotateDue(ctx context.Context, now time.Time) {
	rots, err := m.Store.ListRotations(ctx)
	if err != nil {
		m.log.Warn("rotation schedules unreadable", "err", err)
		return
	}
	for i := range rots {
		rot := &rots[i]
		if !rot.Enabled || now.Before(rot.NextAt) {
			continue
		}
		if err := m.rotate(ctx, rot, "schedule", now); err != nil {
			m.log.Warn("scheduled rotation failed", "topology_id", rot.TopologyID, "decky", rot.Decky, "err", err)
		}
	}
}

// runRotator rotates due schedules until ctx is done.
func (m *Master) runRotator(ctx context.Context) error {
	t := time.NewTicker(rotatorTick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case now := <-t.C:
			m.RotateDue(ctx, now)
		}
	}
}
