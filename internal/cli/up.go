package cli

import (
	"context"
	"crypto/rand"
	"debug/elf"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/decnet/decnet/internal/agent"
	"github.com/decnet/decnet/internal/agent/shipper"
	"github.com/decnet/decnet/internal/bus"
	"github.com/decnet/decnet/internal/driver"
	"github.com/decnet/decnet/internal/driver/docker"
	"github.com/decnet/decnet/internal/driver/host"
	"github.com/decnet/decnet/internal/master"
	"github.com/decnet/decnet/internal/store"
	"github.com/decnet/decnet/internal/topology"
)

func newUpCmd() *cobra.Command {
	var f masterFlags
	var drv string
	var keep bool
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Run everything on this machine: master, a local agent and a demo topology",
		Long: `Run DECNET on this machine in the foreground: the master (database,
event bus, API), a local agent enrolled automatically over a unix socket,
and a demo topology of four deckies (a web server, an SSH/Telnet gateway, a
database server and an IP camera). Deckies run as Docker containers when
the engine is reachable and this binary is static (CGO_ENABLED=0), and
in-process on loopback addresses otherwise (root binds their low ports).

It prints the API address, the admin password (first start only) and
commands to attack the deckies with. Ctrl-C tears the demo down unless
--keep is given.`,
		Example: `  sudo CGO_ENABLED=0 go run ./cmd/decnet up
  sudo decnet up --driver host --data /tmp/decnet`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return up(cmd, &f, drv, keep)
		},
	}
	f.bind(cmd)
	home, _ := os.UserHomeDir()
	cmd.Flags().Lookup("data").DefValue = filepath.Join(home, ".decnet")
	_ = cmd.Flags().Set("data", filepath.Join(home, ".decnet"))
	_ = cmd.Flags().Set("agents-listen", "127.0.0.1:0")
	_ = cmd.Flags().Set("nats-listen", "127.0.0.1:0")
	cmd.Flags().StringVar(&drv, "driver", "auto", "auto, docker or host")
	cmd.Flags().BoolVar(&keep, "keep", false, "leave the demo running after Ctrl-C")
	return cmd
}

// staticBinary reports whether the running binary has no dynamic loader,
// which a FROM-scratch decky image needs.
func staticBinary() bool {
	exe, err := os.Executable()
	if err != nil {
		return false
	}
	f, err := elf.Open(exe)
	if err != nil {
		return false
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return false
		}
	}
	return true
}

func chooseDriver(ctx context.Context, kind, spool string, log *slog.Logger, out io.Writer) (driver.Driver, string, []netip.Prefix, error) {
	if kind == "auto" || kind == "docker" {
		d, err := docker.New(docker.Options{AgentID: "local", SpoolDir: spool, Logger: log})
		if err == nil {
			pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
			nets, perr := d.EngineSubnets(pctx)
			cancel()
			switch {
			case perr == nil && staticBinary():
				return d, "docker", nets, nil
			case perr == nil:
				fmt.Fprintln(out, "note: this binary is not static (build it with CGO_ENABLED=0 for Docker deckies); running the deckies in-process")
			case kind == "docker":
				return nil, "", nil, fmt.Errorf("the Docker engine is not reachable: %w", perr)
			}
		} else if kind == "docker" {
			return nil, "", nil, err
		}
	}
	return host.New(spool, log), "host", nil, nil
}

func up(cmd *cobra.Command, f *masterFlags, drvKind string, keep bool) error {
	out := cmd.OutOrStdout()
	f.cfg.Log = newLogger(cmd.ErrOrStderr(), f.logLevel, f.logJSON)
	log := f.cfg.Log
	sigCtx, stopSig := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stopSig()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	m, agentsL, apiURL, password, errc, err := startMaster(ctx, f)
	if err != nil {
		return err
	}
	defer m.Close()

	// The local agent, enrolled like any other.
	adir := filepath.Join(f.cfg.DataDir, "agent")
	en, masterTLS, err := agent.LoadEnrollment(adir)
	if err != nil {
		return err
	}
	if en == nil {
		token, _, err := m.Authority.NewJoinToken(ctx, "local", time.Minute)
		if err != nil {
			return err
		}
		if en, err = agent.Join(ctx, agentsL.Addr().String(), token, m.CA.Hash(), adir); err != nil {
			return fmt.Errorf("enroll the local agent: %w", err)
		}
		if _, masterTLS, err = agent.LoadEnrollment(adir); err != nil {
			return err
		}
	}
	en.Master = agentsL.Addr().String() // the listener's port is new at every start
	spool := filepath.Join(adir, "spool")
	drv, drvName, reserved, err := chooseDriver(ctx, drvKind, spool, log, out)
	if err != nil {
		return err
	}
	a, err := agent.New(adir, drv, log)
	if err != nil {
		return err
	}
	defer a.Close()
	sock := filepath.Join(adir, "agent.sock")
	sl, err := agent.ListenUnix(sock)
	if err != nil {
		return err
	}
	go agent.Serve(ctx, a.Handler(versionString(), nil), sl)
	pub, err := bus.NewPublisher(m.Bus.ClientURL(), "local", bus.PublisherOptions{Logger: log})
	if err != nil {
		return err
	}
	defer pub.Close()
	sh, err := shipper.New(spool, filepath.Join(adir, "shipper.cursor"), "local", pub, log)
	if err != nil {
		return err
	}
	sh.Poll = 100 * time.Millisecond
	sh.Blobs = agent.NewBlobUploader(en, blobClient(masterTLS))
	go sh.Run(ctx)
	hb := a.NewHeartbeater(en, &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: masterTLS}}, 2*time.Second)
	hb.API = "unix://" + sock
	go hb.Run(ctx)

	// The demo topology.
	demo, err := ensureDemo(ctx, m, drvName, reserved)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "Deploying the demo topology (%d deckies, %s driver)", len(demo.Deckies), drvName)
	deadline := time.Now().Add(5 * time.Minute)
	for {
		t, err := m.Store.Topology(ctx, demo.ID)
		if err != nil {
			return err
		}
		if t.Status == store.Active {
			break
		}
		if t.Status == store.Failed || time.Now().After(deadline) {
			h, _ := m.Store.StatusHistory(ctx, demo.ID)
			return fmt.Errorf("the demo did not start (status %s): %v", t.Status, h)
		}
		select {
		case <-sigCtx.Done():
			return nil
		case err := <-errc:
			return err
		case <-time.After(time.Second):
			fmt.Fprint(out, ".")
		}
	}
	fmt.Fprintln(out, " ready.")
	printBanner(out, apiURL, password, demo)

	select {
	case <-sigCtx.Done():
	case err := <-errc:
		return err
	}
	if keep {
		fmt.Fprintln(out, "\nStopping; the demo deckies are kept (--keep).")
		return nil
	}
	fmt.Fprintln(out, "\nTearing the demo down...")
	if err := m.Store.Transition(ctx, demo.ID, store.Active, store.TearingDown, "decnet up stopped"); err != nil && !errors.Is(err, store.ErrConflict) {
		return err
	}
	deadline = time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		if t, err := m.Store.Topology(ctx, demo.ID); err == nil && t.Status == store.TornDown {
			fmt.Fprintln(out, "Done.")
			return nil
		}
		time.Sleep(500 * time.Millisecond)
	}
	return errors.New("the demo was not torn down in time; run decnet up again and Ctrl-C, or decnet agent teardown")
}

// ensureDemo returns the demo topology, creating and deploying it when
// none runs.
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
			spec, err := topology.DecodeBytes(t.Spec)
			return spec, err
		}
		if err := m.Store.DeleteTopology(ctx, t.ID); err != nil && !errors.Is(err, store.ErrConflict) {
			return nil, err
		}
	}
	var seed [16]byte
	rand.Read(seed[:])
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
	if err := topology.Allocate(spec, "", nil); err != nil {
		return nil, err
	}
	if err := topology.Validate(spec, topology.Options{}).Err(); err != nil {
		return nil, err
	}
	t, err := submitTo(ctx, m, spec, "local")
	if err != nil {
		return nil, err
	}
	spec.ID = t.ID
	return spec, nil
}

func printBanner(out io.Writer, dashURL, password string, demo *topology.Spec) {
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
