// Package host is the engine-less driver: every decky runs in-process as a
// decky runtime bound to its own addresses. On Linux every 127.0.0.0/8
// address is local without configuration, so LANs in that range need no
// setup and each decky owns the real ports (22, 80, ...) of its address.
// It serves machines without Docker and fast tests.
package host

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"path/filepath"
	"slices"
	"sort"
	"sync"

	"github.com/decnet/decnet/internal/decky"
	"github.com/decnet/decnet/internal/driver"
	"github.com/decnet/decnet/internal/topology"
	"github.com/decnet/decnet/internal/wire"
)

// Driver runs deckies as goroutines of the agent.
type Driver struct {
	log      *slog.Logger
	spoolDir string

	mu      sync.Mutex
	topo    string
	running map[string]*instance // by decky name
}

type instance struct {
	rt     *decky.Runtime
	config string
	cancel context.CancelFunc
	done   chan struct{}
	err    error
	svcs   []string
	addrs  []topology.Address
}

var _ driver.Driver = (*Driver)(nil)

// New returns a host driver whose deckies spool their events under
// spoolDir/<topology>/<decky>; it starts nothing.
func New(spoolDir string, log *slog.Logger) *Driver {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Driver{log: log.With("component", "driver/host"), spoolDir: spoolDir, running: map[string]*instance{}}
}

// Apply implements driver.Driver.
func (d *Driver) Apply(ctx context.Context, spec *topology.Spec, progress driver.ProgressFunc) error {
	if spec.ID == "" {
		return fmt.Errorf("driver/host: apply: topology has no id")
	}
	for _, l := range spec.LANs {
		if err := checkLocal(l); err != nil {
			return fmt.Errorf("driver/host: LAN %s: %w", l.Name, err)
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.topo != "" && d.topo != spec.ID {
		d.stopAllLocked()
	}
	d.topo = spec.ID
	want := map[string]string{}
	for _, dk := range spec.Deckies {
		// Live controls are applied in place (Runtime.SetLive): they are
		// not part of what makes a decky restart.
		sum := sha256.Sum256(spec.ForDecky(dk.Name).WithoutLive().Canonical())
		want[dk.Name] = hex.EncodeToString(sum[:])
	}
	var stop, start []string
	for name, in := range d.running {
		if cfg, ok := want[name]; !ok || cfg != in.config || in.exited() {
			stop = append(stop, name)
		}
	}
	for _, dk := range spec.Deckies {
		if in, ok := d.running[dk.Name]; !ok || in.config != want[dk.Name] || in.exited() {
			start = append(start, dk.Name)
		}
	}
	total, done := len(stop)+len(start), 0
	for _, dk := range spec.Deckies {
		if in, ok := d.running[dk.Name]; ok && !slices.Contains(stop, dk.Name) {
			in.rt.SetLive(dk.Live)
		}
	}
	for _, name := range stop {
		d.stopLocked(name)
		done++
		progress.Report(driver.Progress{Action: "remove", Object: "decky " + name, Done: done, Total: total})
	}
	for _, name := range start {
		rt, err := decky.New(spec, name, decky.Options{SpoolDir: filepath.Join(d.spoolDir, spec.ID, name), Log: d.log})
		if err != nil {
			return fmt.Errorf("driver/host: %w", err)
		}
		rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		dk := spec.Decky(name)
		in := &instance{rt: rt, config: want[name], cancel: cancel, done: make(chan struct{}), svcs: dk.Services, addrs: dk.Addresses}
		go func() {
			defer close(in.done)
			in.err = rt.Run(rctx)
			if in.err != nil {
				d.log.Error("decky exited", "decky", name, "err", in.err)
			}
		}()
		d.running[name] = in
		done++
		progress.Report(driver.Progress{Action: "create", Object: "decky " + name, Done: done, Total: total})
	}
	return nil
}

// checkLocal refuses LANs whose addresses this host cannot bind without
// configuration.
func checkLocal(l topology.LAN) error {
	p, err := netip.ParsePrefix(l.Subnet)
	if err != nil {
		return err
	}
	if p.Addr().IsLoopback() {
		return nil
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return err
	}
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(ipn.IP); ok && p.Contains(ip.Unmap()) {
				return nil
			}
		}
	}
	return fmt.Errorf("subnet %s is neither loopback (127.0.0.0/8) nor on a host interface: the host driver cannot bind it", p)
}

func (in *instance) exited() bool {
	select {
	case <-in.done:
		return true
	default:
		return false
	}
}

func (d *Driver) stopLocked(name string) {
	if in, ok := d.running[name]; ok {
		in.cancel()
		<-in.done
		delete(d.running, name)
	}
}

func (d *Driver) stopAllLocked() {
	for name := range d.running {
		d.stopLocked(name)
	}
	d.topo = ""
}

// Teardown implements driver.Driver.
func (d *Driver) Teardown(context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.stopAllLocked()
	return nil
}

// Name implements driver.Driver.
func (d *Driver) Name() string { return "host" }

// Capabilities implements driver.Driver: deckies share the host's stack,
// so they have no MAC, hostname or sysctls of their own.
func (d *Driver) Capabilities() driver.Capabilities {
	return driver.Capabilities{LANDrivers: []topology.Driver{topology.Bridge}, LocalOnly: true}
}

// Observe implements driver.Driver. The host driver has no bridges; its
// "containers" are the running deckies.
func (d *Driver) Observe(context.Context) (wire.Observed, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	obs := wire.Observed{Bridges: []string{}, Containers: []string{}, Deckies: []wire.ObservedDecky{}}
	for name, in := range d.running {
		running := !in.exited()
		if running {
			obs.Containers = append(obs.Containers, name)
		}
		state := "running"
		if !running {
			state = "exited"
		}
		obs.Deckies = append(obs.Deckies, wire.ObservedDecky{Topology: d.topo, Name: name, Running: running, State: state})
	}
	sort.Strings(obs.Containers)
	sort.Slice(obs.Deckies, func(i, j int) bool { return obs.Deckies[i].Name < obs.Deckies[j].Name })
	return obs, nil
}

// Status implements driver.Driver.
func (d *Driver) Status(context.Context) ([]driver.DeckyStatus, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := []driver.DeckyStatus{}
	for name, in := range d.running {
		st := driver.DeckyStatus{Topology: d.topo, Name: name, Running: !in.exited(), State: "running", Services: in.svcs, Addresses: in.addrs}
		if !st.Running {
			st.State = "exited"
		}
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
