// Package decky is the decky runtime: one process (or, with the host
// driver, one goroutine tree) per decky that runs every service of that
// decky on its addresses, as its persona. The Docker and host drivers run
// this same code.
package decky

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/decnet/decnet/internal/bait"
	"github.com/decnet/decnet/internal/bait/plan"
	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/persona"
	"github.com/decnet/decnet/internal/service"
	_ "github.com/decnet/decnet/internal/service/all" // every protocol a decky can run
	"github.com/decnet/decnet/internal/service/serve"
	"github.com/decnet/decnet/internal/spool"
	"github.com/decnet/decnet/internal/topology"
)

// The decky's own event types.
const (
	StartedType = "decky.lifecycle.started"
	StoppedType = "decky.lifecycle.stopped"
)

func init() {
	event.Declare(
		event.Type{Name: StartedType, Severity: event.Info, Summary: "The decky's runtime started its services.", Fields: []event.FieldDoc{
			event.F("services", "list", "the services it runs"),
		}},
		event.Type{Name: StoppedType, Severity: event.Info, Summary: "The decky's runtime stopped.", Fields: []event.FieldDoc{
			event.F("error", "string", "why, when a service failed"),
		}},
	)
}

// Runtime runs one decky.
type Runtime struct {
	spec    *topology.Spec
	decky   topology.Decky
	servers map[string]serve.Server
	log     *slog.Logger
	spool   *spool.Spool
	life    *event.Emitter
	live    *serve.Live
	// places are the bait places the decky's services serve: where a
	// dropped file without places of its own shows.
	places   []string
	liveFile string
}

// Options tune a runtime.
type Options struct {
	// SpoolDir receives the decky's events (and its quarantine, under
	// SpoolDir/quarantine). Required.
	SpoolDir string
	// MaxArtifact caps one quarantined file.
	MaxArtifact int64
	Limits      serve.Limits
	// Ports moves services off their standard ports (tests without root).
	Ports map[uint16]uint16
	Log   *slog.Logger
	// LiveFile, when set, is a JSON topology.Live the runtime watches
	// while it runs and applies in place (the Docker driver writes it
	// into the decky's spool directory; the host driver calls SetLive).
	LiveFile string
}

// New prepares the runtime of decky name from spec: it checks the decky
// exists and builds every built-in service. It listens on nothing yet.
// Custom services run in their own containers beside the decky and are
// not the runtime's.
func New(spec *topology.Spec, name string, opts Options) (*Runtime, error) {
	d := spec.Decky(name)
	if d == nil {
		return nil, fmt.Errorf("decky %q is not in topology %q", name, spec.Name)
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opts.SpoolDir == "" {
		return nil, fmt.Errorf("decky %s: no spool directory", name)
	}
	if opts.MaxArtifact == 0 {
		opts.MaxArtifact = 50 << 20
	}
	sp, err := spool.Open(opts.SpoolDir)
	if err != nil {
		return nil, fmt.Errorf("decky %s: %w", name, err)
	}
	quarantine := spool.NewQuarantine(filepath.Join(opts.SpoolDir, spool.QuarantineDir), opts.MaxArtifact)
	log = log.With("decky", name, "topology_id", spec.ID)
	r := &Runtime{spec: spec, decky: *d, servers: map[string]serve.Server{}, log: log, spool: sp,
		life: event.NewEmitter(sp, spec.ID, name, "decky", "decky", log), live: serve.NewLive(), liveFile: opts.LiveFile}
	for _, slug := range d.Services {
		if p := bait.PlaceOf(slug); p != "" && !slices.Contains(r.places, p) {
			r.places = append(r.places, p)
		}
	}
	r.SetLive(d.Live)
	id := persona.NewIdentity(spec.Seed, d.Name)
	dist := persona.DistroFor(d.Persona.Distro, persona.Family(d.Persona.OS), d.Persona.Archetype, id)
	dist = dist.ForIdentity(id)
	hostname := d.Persona.Hostname
	if hostname == "" {
		hostname = id.Hostname(dist.HostnameStyle)
	}
	var addrs []netip.Addr
	for _, a := range d.Addresses {
		ip, err := netip.ParseAddr(a.IP)
		if err != nil {
			return nil, fmt.Errorf("decky %s: address %q: %w", name, a.IP, err)
		}
		addrs = append(addrs, ip)
	}
	var errs []error
	baits := plan.For(spec, d.Name)
	for _, slug := range d.Services {
		if spec.CustomService(slug) != nil {
			continue
		}
		info, ok := service.Lookup(slug)
		factory, isFactory := info.New.(serve.Factory)
		if !ok || !isFactory {
			errs = append(errs, fmt.Errorf("service %s is not implemented in this build", slug))
			continue
		}
		settings, err := info.Decode(d.ServiceConfig[slug])
		if err != nil {
			errs = append(errs, fmt.Errorf("service %s: settings: %w", slug, err))
			continue
		}
		srv, err := factory(serve.Env{
			Topology: spec.ID, Decky: d.Name, Identity: id, Addrs: addrs, Settings: settings,
			Persona:    serve.Persona{Family: persona.Family(d.Persona.OS), Distro: dist, Hostname: hostname, Archetype: d.Persona.Archetype},
			Log:        log.With("service", slug),
			Events:     event.NewEmitter(sp, spec.ID, d.Name, slug, info.Namespace, log.With("service", slug)),
			Quarantine: quarantine,
			Limits:     opts.Limits,
			Ports:      opts.Ports,
			Bait:       bait.In(baits, bait.PlaceOf(slug)),
			Live:       r.live,
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("service %s: %w", slug, err))
			continue
		}
		r.servers[slug] = srv
	}
	if err := errors.Join(errs...); err != nil {
		sp.Close()
		return nil, fmt.Errorf("decky %s: %w", name, err)
	}
	return r, nil
}

// Run serves every service until ctx is done, then stops them and returns.
// A service that fails stops the others: the decky is one machine, and a
// half-alive machine is a tell.
func (r *Runtime) Run(ctx context.Context) error {
	defer r.spool.Close()
	r.log.Info("decky starting", "services", len(r.servers), "addresses", len(r.decky.Addresses))
	r.life.Emit(event.Event{Type: StartedType, Fields: map[string]any{"services": r.decky.Services}})
	g, gctx := errgroup.WithContext(ctx)
	for slug, srv := range r.servers {
		g.Go(func() error {
			if err := srv.Serve(gctx); err != nil && !errors.Is(err, context.Canceled) {
				return fmt.Errorf("service %s: %w", slug, err)
			}
			return nil
		})
	}
	g.Go(func() error { <-gctx.Done(); return nil })
	if r.liveFile != "" {
		g.Go(func() error { r.watchLive(gctx); return nil })
	}
	err := g.Wait()
	fields := map[string]any{}
	if err != nil {
		fields["error"] = err.Error()
	}
	r.life.Emit(event.Event{Type: StoppedType, Fields: fields})
	r.log.Info("decky stopped", "err", err)
	return err
}

// SetLive applies the decky's live controls in place: tarpits take effect
// on the next read or write of every connection, dropped files on the
// next command or listing of every session. Nil lifts them all.
func (r *Runtime) SetLive(l *topology.Live) {
	if l == nil {
		l = &topology.Live{}
	}
	var rules []serve.TarpitRule
	for _, t := range l.Tarpits {
		rule := serve.TarpitRule{Port: t.Port, Rate: t.BytesPerSecond(), Source: t.Source}
		if t.Source != "" {
			if p, err := netip.ParsePrefix(t.Source); err == nil {
				rule.From = p.Masked()
			} else if a, err := netip.ParseAddr(t.Source); err == nil {
				rule.From = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
			} else {
				continue // validation refuses it; never widen a rule to every source
			}
		}
		rules = append(rules, rule)
	}
	var files []bait.File
	for _, f := range l.Files {
		data, err := f.Bytes()
		if err != nil {
			continue
		}
		places := f.Places
		if len(places) == 0 {
			places = r.places
		}
		for _, p := range places {
			files = append(files, bait.File{Place: p, Path: f.Path, Content: data, Mode: f.FileMode(), Owner: f.Owner})
		}
	}
	r.live.Set(rules, files)
	r.log.Info("live controls applied", "tarpits", len(rules), "files", len(l.Files))
}

// livePoll is how often the runtime looks at its live file.
const livePoll = 500 * time.Millisecond

// watchLive applies the live file whenever its content changes, until ctx
// is done. A file that does not decode is logged and ignored: the
// controls in force stay.
func (r *Runtime) watchLive(ctx context.Context) {
	var last []byte
	t := time.NewTicker(livePoll)
	defer t.Stop()
	for {
		if b, err := readBounded(r.liveFile, topology.MaxSpecSize); err == nil && !bytes.Equal(b, last) {
			last = b
			var l topology.Live
			if err := json.Unmarshal(b, &l); err != nil {
				r.log.Error("live file unreadable", "path", r.liveFile, "err", err)
			} else {
				r.SetLive(&l)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func readBounded(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err == nil && int64(len(b)) > max {
		err = fmt.Errorf("%s: larger than %d bytes", path, max)
	}
	return b, err
}

// LiveFileName is the name of the live file in a decky's spool directory.
const LiveFileName = "live.json"

// WriteLive writes a decky's live controls (nil: none) to path for its
// runtime to pick up, atomically: the runtime never reads half a file.
// The directory belongs to the decky, which faces attackers, so nothing
// in it is trusted: the temporary file is created anew (never through a
// link the decky may have planted) and renamed over path, which replaces
// a link rather than following it.
func WriteLive(path string, l *topology.Live) error {
	if l == nil {
		l = &topology.Live{}
	}
	b, err := json.Marshal(l)
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".live-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(b)
	if err == nil {
		err = f.Chmod(0o644)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}
