package cli

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
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
	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/pki"
	"github.com/decnet/decnet/internal/wire"
)

func newLogger(w io.Writer, level string, asJSON bool) *slog.Logger {
	var lv slog.Level
	_ = lv.UnmarshalText([]byte(level))
	opts := &slog.HandlerOptions{Level: lv}
	if asJSON {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func newAgentCmd() *cobra.Command {
	cmd := agentCmd()
	cmd.AddCommand(newAgentJoinCmd(), newAgentApplyCmd(), newAgentTeardownCmd(), newAgentGetCmd("state", wire.PathState, "Print the applied topology and what the engine runs"),
		newAgentGetCmd("status", wire.PathStatus, "Print every decky on the host"), newAgentGetCmd("health", wire.PathHealth, "Check that the agent answers"),
		newSettingsCmd("AGENT", agentCmd))
	return cmd
}

func agentCmd() *cobra.Command {
	var (
		dir, socket, listen, certFile, keyFile, caFile, drv, hostID, spool, sink, logLevel string
		natsURL, natsCA, natsCert, natsKey                                                 string
		logJSON                                                                            bool
		heartbeat                                                                          time.Duration
		advertise                                                                          string
	)
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Run the agent: the executor that applies topologies on this host",
		Long: `Run the agent. It applies what the master pushes through a driver (docker:
the Docker Engine API named by DOCKER_HOST; host: in-process deckies on
loopback addresses), keeps a passive cache of what it applied in
<dir>/topology.db, and reports the truth. Starting it never contacts the
engine and never re-creates anything on its own.

The API is served over mutual TLS (--listen with --cert, --key, --ca; only a
certificate with the master role may call) and/or on a unix socket (--socket,
mode 0600) for same-host use.

Events the deckies spool are shipped to a local JSON-lines file (--events)
unless --nats-url names the master's NATS JetStream (embedded or an external
cluster): then each event is published to decnet.events.<host id>, and the
shipper advances only when JetStream has acknowledged it. Over tls:// the
agent presents --nats-cert/--nats-key (its agent certificate) and verifies
the server against --nats-ca.`,
		Example: `  decnet agent --dir /var/lib/decnet/agent --socket /run/decnet/agent.sock
  DECNET_AGENT_DIR=/var/lib/decnet/agent decnet agent --listen :8765 --cert agent.crt --key agent.key --ca ca.crt
  decnet agent --config /etc/decnet/agent.yaml
  decnet agent --dir /var/lib/decnet/agent --socket /run/decnet/agent.sock --host-id sensor-1 \
    --nats-url tls://master.example:4222 --nats-ca ca.crt --nats-cert agent.crt --nats-key agent.key
  decnet agent apply --socket /run/decnet/agent.sock lab.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dir == "" {
				dir = os.Getenv(agent.DirEnv)
			}
			if socket == "" && listen == "" {
				return errors.New("nothing to listen on: pass --socket PATH and/or --listen ADDR")
			}
			if dir == "" {
				return errors.New("no agent directory: pass --dir or set " + agent.DirEnv)
			}
			log := newLogger(cmd.ErrOrStderr(), logLevel, logJSON)
			en, masterTLS, err := agent.LoadEnrollment(dir)
			if err != nil {
				return fmt.Errorf("read the enrollment in %s: %w", dir, err)
			}
			if en != nil && certFile == "" {
				// Enrolled: the API listener uses the certificate the
				// master issued, and the bus connection too.
				p := filepath.Join(dir, "pki")
				certFile, keyFile, caFile = filepath.Join(p, "agent.crt"), filepath.Join(p, "agent.key"), filepath.Join(p, "ca.crt")
				if strings.HasPrefix(natsURL, "tls://") && natsCert == "" {
					natsCA, natsCert, natsKey = caFile, certFile, keyFile
				}
				hostID = en.HostID
			}
			if hostID == "" {
				h, err := os.Hostname()
				if err != nil {
					return err
				}
				hostID = strings.ToLower(h)
			}
			if spool == "" {
				spool = filepath.Join(dir, "spool")
			}
			o := agent.Options{Version: versionString(), Socket: socket, Listen: listen, HostID: hostID, SpoolDir: spool,
				EventsFile: sink, Enrollment: en, MasterTLS: masterTLS, Heartbeat: heartbeat, Advertise: advertise}
			if err := selfBuild(&o, dir, log); err != nil {
				return err
			}
			if listen != "" {
				if o.TLS, err = agentTLS(certFile, keyFile, caFile); err != nil {
					return err
				}
			}
			// Events go to the bus when one is named, else to a local
			// JSON-lines file.
			if natsURL != "" {
				tlsCfg, err := natsTLS(natsCA, natsCert, natsKey)
				if err != nil {
					return err
				}
				p, err := bus.NewPublisher(natsURL, hostID, bus.PublisherOptions{TLS: tlsCfg, Logger: log})
				if err != nil {
					return err
				}
				defer p.Close()
				o.Publisher = p
			}
			d, err := newDriver(drv, hostID, spool, log)
			if err != nil {
				return err
			}
			a, err := agent.New(dir, d, log)
			if err != nil {
				return err
			}
			defer a.Close()
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			err = a.Run(ctx, o)
			if errors.Is(err, agent.ErrWiped) {
				fmt.Fprintln(cmd.ErrOrStderr(), "decnet agent: wiped by the master: every decky is gone and "+dir+" is empty; enroll again to reuse this host")
				return nil
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&dir, "dir", "", "state directory (default $"+agent.DirEnv+")")
	f.DurationVar(&heartbeat, "heartbeat", wire.HeartbeatInterval, "interval of heartbeats to the master (when enrolled)")
	f.DurationVar(&agent.UpdateDeadline, "update-deadline", agent.UpdateDeadline, "how long a build the master updated this agent to has to heartbeat before the agent goes back to the old one")
	f.StringVar(&advertise, "advertise", "", "where the master reaches this agent: https://host:port of --listen (default: the unix socket, for a master on this host)")
	f.StringVar(&socket, "socket", "", "serve the API on this unix socket (mode 0600)")
	f.StringVar(&listen, "listen", "", "serve the API over mutual TLS on this address")
	f.StringVar(&certFile, "cert", "", "agent certificate (PEM) for --listen")
	f.StringVar(&keyFile, "key", "", "agent private key (PEM) for --listen")
	f.StringVar(&caFile, "ca", "", "CA certificate (PEM) that signs the master's certificate")
	f.StringVar(&drv, "driver", "docker", "docker or host")
	f.StringVar(&hostID, "host-id", "", "this host's id; scopes engine objects (default: the host name)")
	f.StringVar(&spool, "spool", "", "directory of the deckies' event spools (default <dir>/spool)")
	f.StringVar(&sink, "events", "", "JSON-lines file the shipped events go to (default <dir>/events.jsonl)")
	f.StringVar(&natsURL, "nats-url", "", "ship events to this NATS JetStream (nats:// or tls://, comma-separated for a cluster) instead of --events")
	f.StringVar(&natsCA, "nats-ca", "", "CA certificate (PEM) that signs the NATS server's certificate")
	f.StringVar(&natsCert, "nats-cert", "", "client certificate (PEM) for NATS: this agent's certificate")
	f.StringVar(&natsKey, "nats-key", "", "client private key (PEM) for --nats-cert")
	f.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	f.BoolVar(&logJSON, "log-json", false, "log as JSON lines")
	bindSettings(cmd, "AGENT")
	return cmd
}

func newDriver(kind, hostID, spool string, log *slog.Logger) (driver.Driver, error) {
	switch kind {
	case "host":
		return host.New(spool, log), nil
	case "docker":
		return docker.New(docker.Options{AgentID: hostID, SpoolDir: spool, Logger: log})
	}
	return nil, fmt.Errorf("--driver %q: want docker or host", kind)
}

func agentTLS(certFile, keyFile, caFile string) (*tls.Config, error) {
	if certFile == "" || keyFile == "" || caFile == "" {
		return nil, errors.New("--listen needs --cert, --key and --ca")
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("load agent certificate: %w", err)
	}
	caPEM, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("read CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("%s holds no PEM certificate", caFile)
	}
	// Every certificate of the CA completes the handshake; the role is
	// checked per request, so a wrong role gets a clear 403.
	return pki.ServerTLSConfig(pool, cert, func(pki.Role) bool { return true }), nil
}

// natsTLS is the agent's TLS configuration for the bus, nil when no TLS
// flag is given. The server is verified like any TLS server (its
// certificate must name the host in --nats-url), so the same flags work
// with the master's embedded server and with an external cluster.
func natsTLS(caFile, certFile, keyFile string) (*tls.Config, error) {
	if caFile == "" && certFile == "" && keyFile == "" {
		return nil, nil
	}
	if caFile == "" {
		return nil, errors.New("--nats-cert and --nats-key need --nats-ca")
	}
	if (certFile == "") != (keyFile == "") {
		return nil, errors.New("--nats-cert and --nats-key go together")
	}
	caPEM, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("read NATS CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("%s holds no PEM certificate", caFile)
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool}
	if certFile != "" {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("load NATS client certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// agentClient talks to an agent over its unix socket.
type agentClient struct{ http *http.Client }

func newAgentClient(socket string) (*agentClient, error) {
	if socket == "" {
		return nil, errors.New("--socket is required")
	}
	return &agentClient{http: &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{Timeout: 5 * time.Second}).DialContext(ctx, "unix", socket)
		},
	}}}, nil
}

func (c *agentClient) do(ctx context.Context, method, path string, body any) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://agent"+path, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("agent unreachable: %w", err)
	}
	return resp, nil
}

func agentErr(resp *http.Response) error {
	var body wire.ErrorBody
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if json.Unmarshal(data, &body) == nil && body.Error.Code != "" {
		var b strings.Builder
		fmt.Fprintf(&b, "agent refused (%d %s): %s", resp.StatusCode, body.Error.Code, body.Error.Message)
		for _, i := range body.Error.Issues {
			fmt.Fprintf(&b, "\n  %s", i)
		}
		return errors.New(b.String())
	}
	return fmt.Errorf("agent answered %s: %s", resp.Status, strings.TrimSpace(string(data)))
}

func newAgentApplyCmd() *cobra.Command {
	var socket, id string
	var src specSource
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "apply FILE",
		Short: "Push a topology to a local agent, with live progress",
		Example: `  decnet agent apply --socket /run/decnet/agent.sock lab.yaml
  decnet agent apply --socket /run/decnet/agent.sock --id lab-1 fleet.ini --seed 00ff`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := newAgentClient(socket)
			if err != nil {
				return err
			}
			spec, _, err := src.load(cmd, args[0])
			if err != nil {
				return err
			}
			if id != "" {
				spec.ID = id
			}
			if spec.ID == "" {
				spec.ID = spec.Name
			}
			req := wire.ApplyRequest{TopologyID: spec.ID, VersionHash: spec.Hash(), OperationID: event.NewID(), Spec: spec}
			resp, err := c.do(cmd.Context(), "POST", wire.PathApply+"?progress=1", req)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return agentErr(resp)
			}
			return followApply(cmd, resp.Body, asJSON)
		},
	}
	cmd.Flags().StringVar(&socket, "socket", "", "agent unix socket")
	cmd.Flags().StringVar(&id, "id", "", "topology id (default: the spec's id, else its name)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print progress and result as JSON lines")
	src.flags(cmd)
	return cmd
}

// followApply renders the agent's progress stream: a live line on a
// terminal, one line per step otherwise.
func followApply(cmd *cobra.Command, body io.Reader, asJSON bool) error {
	out := cmd.OutOrStdout()
	tty := isTerminal(out)
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if asJSON {
			fmt.Fprintln(out, sc.Text())
		}
		var msg wire.ProgressLine
		if err := json.Unmarshal(sc.Bytes(), &msg); err != nil {
			return fmt.Errorf("agent sent a malformed progress line: %w", err)
		}
		switch {
		case msg.Progress != nil && !asJSON:
			p := msg.Progress
			line := fmt.Sprintf("[%d/%d] %s %s", p.Done, p.Total, p.Action, p.Object)
			if tty {
				fmt.Fprintf(out, "\r\033[K%s", line)
			} else {
				fmt.Fprintln(out, line)
			}
		case msg.Result != nil:
			if tty && !asJSON {
				fmt.Fprintln(out)
			}
			if !msg.Result.OK {
				return fmt.Errorf("apply failed: %s", msg.Result.Error)
			}
			if !asJSON {
				fmt.Fprintf(out, "applied topology %s (hash %s)\n", msg.Result.TopologyID, msg.Result.Hash)
			}
			return nil
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	return errors.New("the agent closed the stream before reporting a result; see decnet agent state")
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func newAgentTeardownCmd() *cobra.Command {
	var socket string
	cmd := &cobra.Command{
		Use:     "teardown",
		Short:   "Remove everything a local agent runs",
		Example: "  decnet agent teardown --socket /run/decnet/agent.sock",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := newAgentClient(socket)
			if err != nil {
				return err
			}
			resp, err := c.do(cmd.Context(), "POST", wire.PathTeardown, wire.TeardownRequest{OperationID: event.NewID()})
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return agentErr(resp)
			}
			_, err = io.Copy(cmd.OutOrStdout(), io.LimitReader(resp.Body, 1<<20))
			return err
		},
	}
	cmd.Flags().StringVar(&socket, "socket", "", "agent unix socket")
	return cmd
}

func newAgentGetCmd(name, path, short string) *cobra.Command {
	var socket string
	cmd := &cobra.Command{
		Use:     name,
		Short:   short,
		Example: "  decnet agent " + name + " --socket /run/decnet/agent.sock",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := newAgentClient(socket)
			if err != nil {
				return err
			}
			resp, err := c.do(cmd.Context(), "GET", path, nil)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return agentErr(resp)
			}
			_, err = io.Copy(cmd.OutOrStdout(), io.LimitReader(resp.Body, 16<<20))
			return err
		},
	}
	cmd.Flags().StringVar(&socket, "socket", "", "agent unix socket")
	return cmd
}

func newAgentJoinCmd() *cobra.Command {
	var masterAddr, token, caHash, dir string
	cmd := &cobra.Command{
		Use:   "join",
		Short: "Enroll this host with a master (makes its own key; the master signs a CSR)",
		Long: `Enroll this agent with a master using a single-use join token from
"decnet swarm join-token". The master's CA is fetched and checked against
--ca-hash before anything is sent; the key is made here and never leaves
the host. Certificates are written under <dir>/pki; a later "decnet agent"
on the same directory heartbeats to the master.`,
		Example: `  decnet agent join --master master.example:7946 --token TOKEN --ca-hash sha256:... --dir /var/lib/decnet/agent`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dir == "" {
				dir = os.Getenv(agent.DirEnv)
			}
			if masterAddr == "" || token == "" || caHash == "" || dir == "" {
				return errors.New("--master, --token, --ca-hash and --dir are all required")
			}
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), time.Minute)
			defer cancel()
			en, err := agent.Join(ctx, masterAddr, token, caHash, dir)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "enrolled as %s with master %s; start it with: decnet agent --dir %s --listen :8765\n", en.HostID, en.Master, dir)
			return nil
		},
	}
	cmd.Flags().StringVar(&masterAddr, "master", "", "host:port of the master's agent listener")
	cmd.Flags().StringVar(&token, "token", "", "single-use join token")
	cmd.Flags().StringVar(&caHash, "ca-hash", "", "sha256:... hash of the master's CA")
	cmd.Flags().StringVar(&dir, "dir", "", "agent state directory (default $"+agent.DirEnv+")")
	return cmd
}

// reexecEnv marks a process that an agent start already switched to the
// build of an earlier update, so it does not switch again.
const reexecEnv = "DECNET_AGENT_REEXEC"

// selfBuild fills the running build and a pending update into o, or asks
// to restart into the build an earlier update switched this agent to
// (a restart of the service runs the packaged binary again).
func selfBuild(o *agent.Options, dir string, log *slog.Logger) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	if v := os.Getenv(agent.UpdateEnv); v != "" {
		var p agent.PendingUpdate
		if err := json.Unmarshal([]byte(v), &p); err != nil || p.From == "" {
			return fmt.Errorf("%s: %q is not a pending update", agent.UpdateEnv, v)
		}
		o.Pending = &p
	} else if os.Getenv(reexecEnv) == "" {
		if cur := agent.CurrentBinary(dir, self); cur != "" {
			log.Info("running the build an update switched this agent to", "binary", cur)
			return &agent.RestartError{Binary: cur, Env: []string{reexecEnv + "=1"}, Reason: "the build of an earlier update"}
		}
	}
	o.Self = self
	o.SHA256, err = agent.FileSHA256(self)
	return err
}

// The shipper keeps a window of batches in flight with the bus publisher,
// and hands it the spool lines without decoding them.
var _ shipper.RawPublisher = (*bus.Publisher)(nil)
