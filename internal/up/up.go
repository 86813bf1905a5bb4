// Package up runs DECNET on one machine, as `decnet up` does: a master, a
// local agent enrolled like any other (over a unix socket), and a demo
// topology deployed through the master's lifecycle. Run owns every
// goroutine of the three; the first failure stops the rest.
package up

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/decnet/decnet/internal/agent"
	"github.com/decnet/decnet/internal/bus"
	"github.com/decnet/decnet/internal/driver"
	"github.com/decnet/decnet/internal/driver/docker"
	"github.com/decnet/decnet/internal/driver/host"
	"github.com/decnet/decnet/internal/master"
	"github.com/decnet/decnet/internal/store"
	"github.com/decnet/decnet/internal/topology"
)

// HostID is the local agent's host id.
const HostID = "local"

// Heartbeat is the local agent's heartbeat interval: short, since the
// demo waits on it and it costs nothing on one machine.
const Heartbeat = 2 * time.Second

// Config is how Run runs.
type Config struct {
	// Master configures the master; its data directory also holds the
	// local agent's (<data>/agent).
	Master master.Config
	// Driver is auto, docker or host.
	Driver string
	// Keep leaves the demo running when ctx ends.
	Keep bool
	// Version is the local agent's reported version.
	Version string
	// Out receives the progress and the banner.
	Out io.Writer
	// LogPath is where the log goes, named in the banner ("" for none).
	LogPath string
	// Terminal redraws the progress line in place instead of adding dots.
	Terminal bool
}

// Run runs the master, the local agent and the demo until ctx is done,
// then tears the demo down (unless Keep) and stops.
func Run(ctx context.Context, c Config) error {
	log := c.Master.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	out := c.Out
	if out == nil {
		out = io.Discard
	}
	// The parts run until the demo is down, not until ctx: tearing down
	// needs the master and the agent.
	runCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	defer stop()
	m, err := master.Open(runCtx, c.Master)
	if err != nil {
		return err
	}
	defer m.Close()
	if err := m.Start(runCtx); err != nil {
		return err
	}
	adir := filepath.Join(c.Master.DataDir, "agent")
	spool := filepath.Join(adir, "spool")
	drv, reserved, err := chooseDriver(runCtx, c.Driver, spool, log, out)
	if err != nil {
		return err
	}
	a, err := agent.New(adir, drv, log)
	if err != nil {
		return err
	}
	defer a.Close()
	pub, err := bus.NewPublisher(m.Bus.ClientURL(), HostID, bus.PublisherOptions{Logger: log})
	if err != nil {
		return err
	}
	defer pub.Close()

	g, gctx := errgroup.WithContext(runCtx)
	g.Go(func() error { return m.Run(gctx) })
	// The agent enrolls like any other, once the master serves, and before
	// the demo names its host.
	en, masterTLS, err := enroll(gctx, m, adir)
	if err != nil {
		stop()
		return errors.Join(err, g.Wait())
	}
	g.Go(func() error {
		return a.Run(gctx, agent.Options{Version: c.Version, Socket: filepath.Join(adir, "agent.sock"), HostID: HostID,
			SpoolDir: spool, Publisher: pub, ShipPoll: 100 * time.Millisecond, Enrollment: en, MasterTLS: masterTLS, Heartbeat: Heartbeat})
	})
	g.Go(func() error {
		defer stop()
		return demo(ctx, gctx, m, c, drv.Name(), reserved, out)
	})
	return g.Wait()
}

// enroll returns the local agent's enrollment, joining the master with a
// fresh join token on first start.
func enroll(ctx context.Context, m *master.Master, dir string) (*agent.Enrollment, *tls.Config, error) {
	en, masterTLS, err := agent.LoadEnrollment(dir)
	if err != nil {
		return nil, nil, err
	}
	if en == nil {
		token, _, err := m.Authority.NewJoinToken(ctx, HostID, time.Minute)
		if err != nil {
			return nil, nil, err
		}
		if _, err := agent.Join(ctx, m.AgentsAddr(), token, m.CA.Hash(), dir); err != nil {
			return nil, nil, fmt.Errorf("enroll the local agent: %w", err)
		}
		if en, masterTLS, err = agent.LoadEnrollment(dir); err != nil {
			return nil, nil, err
		}
	}
	en.Master = m.AgentsAddr() // the listener's port is new at every start
	return en, masterTLS, nil
}

// demo deploys the demo, prints the banner, and once the user's ctx ends
// tears the demo down (unless Keep). It returns when that is done, which
// stops the master and the agent.
func demo(userCtx, ctx context.Context, m *master.Master, c Config, drvName string, reserved []netip.Prefix, out io.Writer) error {
	spec, err := ensureDemo(ctx, m, drvName, reserved)
	if err != nil {
		return err
	}
	prog := progress{out: out, terminal: c.Terminal, start: time.Now(),
		what: fmt.Sprintf("Deploying the demo topology (%d deckies, %s driver)", len(spec.Deckies), drvName)}
	prog.draw()
	deadline := time.Now().Add(5 * time.Minute)
	for {
		t, err := m.Store.Topology(ctx, spec.ID)
		if err != nil {
			return err
		}
		if t.Status == store.Active {
			break
		}
		if t.Status == store.Failed || time.Now().After(deadline) {
			h, _ := m.Store.StatusHistory(ctx, spec.ID)
			return fmt.Errorf("the demo did not start (status %s): %v", t.Status, h)
		}
		select {
		case <-userCtx.Done():
			return nil
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
			prog.draw()
		}
	}
	prog.done("ready")
	if u := m.CanaryURL(); u != "" {
		fmt.Fprintf(out, "Canary tokens call home to %s", u)
		if d := m.CanaryDNSAddr(); d != "" {
			fmt.Fprintf(out, " and DNS %s (zone %s)", d, m.Config.Canary.Zone)
		}
		fmt.Fprintln(out, ": make them on the dashboard's Tokens page.")
	}
	PrintBanner(out, m.DashboardURL(), m.AdminPassword(), spec)
	if c.LogPath != "" {
		fmt.Fprintf(out, "Log: %s (decnet up -v also prints it here).\n", c.LogPath)
	}
	select {
	case <-userCtx.Done():
	case <-ctx.Done():
		return nil
	}
	if c.Keep {
		fmt.Fprintln(out, "\nStopping; the demo deckies are kept (--keep).")
		return nil
	}
	fmt.Fprintln(out, "\nTearing the demo down...")
	if _, err := m.Lifecycle.Teardown(ctx, spec.ID, "decnet up"); err != nil && !errors.Is(err, store.ErrConflict) {
		return err
	}
	deadline = time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		if t, err := m.Store.Topology(ctx, spec.ID); err == nil && t.Status == store.TornDown {
			fmt.Fprintln(out, "Done.")
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(500 * time.Millisecond):
		}
	}
	return errors.New("the demo was not torn down in time; run decnet up again and Ctrl-C, or decnet agent teardown")
}

// progress is one line of progress: redrawn in place with the elapsed
// time on a terminal, a dot a second elsewhere (logs, pipes).
type progress struct {
	out      io.Writer
	terminal bool
	start    time.Time
	what     string
	drawn    bool
}

func (p *progress) draw() {
	switch {
	case p.terminal:
		fmt.Fprintf(p.out, "\r%s ... %ds", p.what, int(time.Since(p.start).Seconds()))
	case !p.drawn:
		fmt.Fprint(p.out, p.what)
	default:
		fmt.Fprint(p.out, ".")
	}
	p.drawn = true
}

func (p *progress) done(word string) {
	if p.terminal {
		fmt.Fprintf(p.out, "\r%s ... %s in %s.\033[K\n", p.what, word, time.Since(p.start).Round(100*time.Millisecond))
		return
	}
	fmt.Fprintf(p.out, " %s.\n", word)
}

// ensureDemo returns the demo topology, creating and deploying it through
// the lifecycle when none runs.
func ensureDemo(ctx context.Context, m *master.Master, drvName string, reserved []netip.Prefix) (*topology.Spec, error) {
	tops, err := m.Store.ListTopologies(ctx)
	if err != nil {
		return nil, err
	}
	for _, t := range tops {
		if t.Name != "demo" {
			continue
		}
		if master.ShouldRun(t.Status) {
			return topology.DecodeBytes(t.Spec)
		}
		if err := m.Lifecycle.Delete(ctx, t.ID, "decnet up"); err != nil && !errors.Is(err, store.ErrConflict) {
			return nil, err
		}
	}
	var seed [16]byte
	if _, err := rand.Read(seed[:]); err != nil {
		return nil, err
	}
	subnet := fmt.Sprintf("127.%d.%d.0/24", 100+int(seed[0])%100, seed[1])
	if drvName == "docker" {
		alloc, err := topology.NewSubnetAllocator(topology.DefaultSubnetBase, reserved)
		if err != nil {
			return nil, err
		}
		p, err := alloc.Next()
		if err != nil {
			return nil, err
		}
		subnet = p.String()
	}
	spec := topology.Demo(hex.EncodeToString(seed[:]), subnet)
	spec.Host = HostID
	if _, _, err := m.Lifecycle.CreateAndDeploy(ctx, spec, "decnet up"); err != nil {
		return nil, err
	}
	return spec, nil
}

// PrintBanner prints where the dashboard is, the admin login and commands
// to attack each decky of the demo.
func PrintBanner(out io.Writer, dashURL, password string, demo *topology.Spec) {
	apiURL := strings.TrimSuffix(dashURL, "/") + "/api/v1"
	fmt.Fprintf(out, "\nDECNET is running.\n\n  Dashboard: %s\n  API:       %s\n", dashURL, apiURL)
	if password != "" {
		fmt.Fprintf(out, "  Login:     admin / %s   (shown once; you must change it at first login)\n", password)
	} else {
		fmt.Fprintln(out, "  Login:     admin (the password printed at the first start)")
	}
	ip := func(name string) string {
		if d := demo.Decky(name); d != nil {
			return d.Addresses[0].IP
		}
		return "?"
	}
	fmt.Fprintf(out, "\nAttack the deckies from another terminal:\n\n")
	fmt.Fprintf(out, "  ssh root@%s              # password toor (gw-01, Ubuntu 22.04)\n", ip("gw-01"))
	fmt.Fprintf(out, "  curl http://%s/wp-login.php   # web-01, Debian, nginx + WordPress\n", ip("web-01"))
	fmt.Fprintf(out, "  redis-cli -h %s info server   # db-01, Rocky 9\n", ip("db-01"))
	fmt.Fprintf(out, "  mysql -h %s -u root -pguess   # db-01\n", ip("db-01"))
	fmt.Fprintf(out, "  telnet %s                     # cam-01, BusyBox (root / xc3511)\n", ip("cam-01"))
	fmt.Fprintf(out, "\nThen: curl -k %s/events after logging in (POST %s/auth/login).\nCtrl-C stops and tears the demo down.\n", apiURL, apiURL)
}

// chooseDriver picks the Docker driver when asked or when the engine
// answers and the binary is static, the host driver otherwise; it returns
// the engine's subnets for the demo to avoid.
func chooseDriver(ctx context.Context, kind, spool string, log *slog.Logger, out io.Writer) (driver.Driver, []netip.Prefix, error) {
	if kind == "auto" || kind == "docker" {
		d, err := docker.New(docker.Options{AgentID: HostID, SpoolDir: spool, Logger: log})
		if err == nil {
			pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
			nets, perr := d.EngineSubnets(pctx)
			cancel()
			switch {
			case perr == nil && docker.StaticBinary(""):
				return d, nets, nil
			case perr == nil:
				fmt.Fprintln(out, "note: this binary is not static (build it with CGO_ENABLED=0 for Docker deckies); running the deckies in-process")
			case kind == "docker":
				return nil, nil, fmt.Errorf("the Docker engine is not reachable: %w", perr)
			}
		} else if kind == "docker" {
			return nil, nil, err
		}
	} else if kind != "host" {
		return nil, nil, fmt.Errorf("--driver %q: want auto, docker or host", kind)
	}
	return host.New(spool, log), nil, nil
}
