// Package decky is the decky runtime: one process (or, with the host
// driver, one goroutine tree) per decky that runs every service of that
// decky on its addresses, as its persona. The Docker and host drivers run
// this same code.
package decky

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"path/filepath"

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
		life: event.NewEmitter(sp, spec.ID, name, "decky", "decky", log)}
	dist, _ := persona.LookupDistro(d.Persona.Distro)
	id := persona.NewIdentity(spec.Seed, d.Name)
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
	err := g.Wait()
	fields := map[string]any{}
	if err != nil {
		fields["error"] = err.Error()
	}
	r.life.Emit(event.Event{Type: StoppedType, Fields: fields})
	r.log.Info("decky stopped", "err", err)
	return err
}
