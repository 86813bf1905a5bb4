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

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/persona"
	"github.com/decnet/decnet/internal/service"
	_ "github.com/decnet/decnet/internal/service/all" // every protocol a decky can run
	"github.com/decnet/decnet/internal/topology"
)

// Runtime runs one decky.
type Runtime struct {
	spec    *topology.Spec
	decky   topology.Decky
	servers map[string]service.Server
	log     *slog.Logger
	spool   *event.Spool
	life    *event.Emitter
}

// Options tune a runtime.
type Options struct {
	// SpoolDir receives the decky's events (and its quarantine, under
	// SpoolDir/quarantine). Required.
	SpoolDir string
	// MaxArtifact caps one quarantined file.
	MaxArtifact int64
	Limits      service.Limits
	Log         *slog.Logger
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
	spool, err := event.OpenSpool(opts.SpoolDir)
	if err != nil {
		return nil, fmt.Errorf("decky %s: %w", name, err)
	}
	quarantine := event.NewQuarantine(filepath.Join(opts.SpoolDir, "quarantine"), opts.MaxArtifact)
	log = log.With("decky", name, "topology_id", spec.ID)
	r := &Runtime{spec: spec, decky: *d, servers: map[string]service.Server{}, log: log, spool: spool,
		life: event.NewEmitter(spool, spec.ID, name, "decky", "decky", log)}
	dist, _ := persona.LookupDistro(d.Persona.Distro)
	id := persona.NewIdentity(spec.Seed, d.Name)
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
	for _, slug := range d.Services {
		if spec.CustomService(slug) != nil {
			continue
		}
		impl, ok := service.Implementation(slug)
		factory, isFactory := impl.(service.Factory)
		if !ok || !isFactory {
			errs = append(errs, fmt.Errorf("service %s is not implemented in this build", slug))
			continue
		}
		srv, err := factory(service.Env{
			Topology: spec.ID, Decky: d.Name, Identity: id, Addrs: addrs, Config: d.ServiceConfig[slug],
			Persona:    service.Persona{Family: persona.Family(d.Persona.OS), Distro: dist, Hostname: hostname, Archetype: d.Persona.Archetype},
			Log:        log.With("service", slug),
			Events:     event.NewEmitter(spool, spec.ID, d.Name, slug, service.Namespace(slug), log.With("service", slug)),
			Quarantine: quarantine,
			Limits:     opts.Limits,
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("service %s: %w", slug, err))
			continue
		}
		r.servers[slug] = srv
	}
	if err := errors.Join(errs...); err != nil {
		spool.Close()
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
	r.life.Emit(event.Event{Type: "decky.lifecycle.started", Fields: map[string]any{"services": r.decky.Services}})
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
	r.life.Emit(event.Event{Type: "decky.lifecycle.stopped", Fields: fields})
	r.log.Info("decky stopped", "err", err)
	return err
}
