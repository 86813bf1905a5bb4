// Package testenv gates tests on the parts of the environment they need
// (the Docker engine, external tools) in one place. A missing part skips
// the test with the reason, unless DECNET_REQUIRE_DOCKER=1 or
// DECNET_REQUIRE_TOOLS=1 is set, as CI does: then it fails.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
	"github.com/jackc/pgx/v5"
)

// RunLabel is the label key every Docker object a test creates carries,
// with RunID as its value, so that cleanup can find exactly this run's
// objects on a daemon other runs share.
const RunLabel = "io.decnet.test-run"

var runID = sync.OnceValue(func() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
})

// RunID identifies this test process; use it in names and labels.
func RunID() string { return runID() }

func gate(t testing.TB, env, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv(env) == "1" {
		t.Fatalf("%s (required because %s=1)", msg, env)
	}
	t.Skipf("SKIP: %s (set %s=1 to make this a failure)", msg, env)
}

// RequireTool returns the path of an external program, or skips (or fails
// under DECNET_REQUIRE_TOOLS=1) when it is not installed.
func RequireTool(t testing.TB, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		gate(t, "DECNET_REQUIRE_TOOLS", "%s is not installed", name)
	}
	return path
}

// OptionalTool returns the path of an external program a test can do
// without (it falls back to something weaker), or "" after logging that
// it is missing; under DECNET_REQUIRE_TOOLS=1 a missing one fails.
func OptionalTool(t testing.TB, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("DECNET_REQUIRE_TOOLS") == "1" {
			t.Fatalf("%s is not installed (required because DECNET_REQUIRE_TOOLS=1)", name)
		}
		t.Logf("%s is not installed: falling back", name)
	}
	return path
}

// DockerHost returns the engine endpoint as the docker CLI resolves it.
func DockerHost() string {
	if h := os.Getenv("DOCKER_HOST"); h != "" {
		return h
	}
	return "unix:///var/run/docker.sock"
}

// RequireDocker skips (or fails under DECNET_REQUIRE_DOCKER=1) unless a
// Docker engine answers /_ping at DockerHost.
func RequireDocker(t testing.TB) {
	t.Helper()
	if err := pingDocker(DockerHost()); err != nil {
		gate(t, "DECNET_REQUIRE_DOCKER", "no Docker engine at %s: %v", DockerHost(), err)
	}
}

func pingDocker(host string) error {
	u, err := url.Parse(host)
	if err != nil {
		return err
	}
	tr := &http.Transport{}
	base := "http://docker"
	switch u.Scheme {
	case "unix":
		tr.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", u.Path)
		}
	case "tcp", "http":
		base = "http://" + u.Host
	default:
		return fmt.Errorf("unsupported DOCKER_HOST scheme %q", u.Scheme)
	}
	c := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	resp, err := c.Get(base + "/_ping")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("/_ping answered %s", resp.Status)
	}
	return nil
}

// RequireRoot skips (or fails under DECNET_REQUIRE_DOCKER=1, since the
// tests that need it are the network ones) unless running as root.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		gate(t, "DECNET_REQUIRE_DOCKER", "not running as root")
	}
}

// RequireLowPorts skips (or fails under DECNET_REQUIRE_DOCKER=1, as
// RequireRoot) unless this process may bind ports below 1024: the tests
// that deploy services on their real ports through a driver need it.
func RequireLowPorts(t testing.TB) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:21")
	if err == nil {
		l.Close()
		return
	}
	if errors.Is(err, syscall.EACCES) {
		gate(t, "DECNET_REQUIRE_DOCKER", "this process may not bind ports below 1024 (run as root, or lower net.ipv4.ip_unprivileged_port_start)")
	}
}

// Short reports whether a test should keep to its fast subset.
func Short() bool { return testing.Short() || strings.EqualFold(os.Getenv("DECNET_SHORT"), "1") }

var buildDecnet = sync.OnceValues(func() (string, error) {
	root, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "decnet-bin-")
	if err != nil {
		return "", err
	}
	bin := dir + "/decnet"
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/decnet")
	cmd.Dir = strings.TrimSuffix(strings.TrimSpace(string(root)), "/go.mod")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build decnet: %v\n%s", err, out)
	}
	return bin, nil
})

// DecnetBinary builds the decnet binary, statically as decky images need
// it, once per test process, and returns its path.
func DecnetBinary(t testing.TB) string {
	t.Helper()
	bin, err := buildDecnet()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// CleanupDocker removes, when the test ends, every container and network
// that carries label (a "key=value" filter), even if the test failed half
// way through creating them.
func CleanupDocker(t testing.TB, label string) {
	t.Helper()
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		defer cli.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		f := filters.NewArgs(filters.Arg("label", label))
		ctrs, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: f})
		if err != nil {
			t.Errorf("cleanup: list containers: %v", err)
		}
		for _, c := range ctrs {
			if err := cli.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true}); err != nil {
				t.Errorf("cleanup: remove container %s: %v", c.ID, err)
			}
		}
		nets, err := cli.NetworkList(ctx, network.ListOptions{Filters: f})
		if err != nil {
			t.Errorf("cleanup: list networks: %v", err)
		}
		for _, n := range nets {
			if err := cli.NetworkRemove(ctx, n.ID); err != nil {
				t.Errorf("cleanup: remove network %s: %v", n.Name, err)
			}
		}
	})
}

// Logger returns a logger that writes to t.Log at level and above until
// the test ends (a late write from a goroutine after the test is dropped,
// not a panic).
func Logger(t testing.TB, level slog.Level) *slog.Logger {
	t.Helper()
	w := &testWriter{t: t}
	t.Cleanup(w.stop)
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

type testWriter struct {
	mu   sync.Mutex
	t    testing.TB
	done bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(strings.TrimSpace(string(p)))
	}
	return len(p), nil
}

func (w *testWriter) stop() { w.mu.Lock(); w.done = true; w.mu.Unlock() }

// Eventually polls cond until it holds, failing the test with what when
// within passes first. Tests wait on conditions this way, never on sleeps.
func Eventually(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", within, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// UDPBound says whether a socket is bound to the IPv4 address and UDP port
// ap, from the kernel's table: a UDP service need not answer a probe, and
// binding the port to test it could take it from the service.
func UDPBound(ap netip.AddrPort) bool {
	table, err := os.ReadFile("/proc/net/udp")
	if err != nil {
		return false
	}
	a := ap.Addr().As4()
	want := fmt.Sprintf("%02X%02X%02X%02X:%04X", a[3], a[2], a[1], a[0], ap.Port())
	for _, line := range strings.Split(string(table), "\n") {
		if f := strings.Fields(line); len(f) > 1 && f[1] == want {
			return true
		}
	}
	return false
}

// PostgresSchema creates an empty schema in the PostgreSQL database of
// base (a postgres:// URL), dropped in t.Cleanup, and returns a DSN whose
// search_path is that schema.
func PostgresSchema(t testing.TB, base string) string {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "decnet_test_" + hex.EncodeToString(b[:])
	conn, err := pgx.Connect(context.Background(), base)
	if err != nil {
		t.Fatalf("connect to DECNET_TEST_POSTGRES: %v", err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), `CREATE SCHEMA `+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(context.Background(), base)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(context.Background(), `DROP SCHEMA `+schema+` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		t.Fatalf("DECNET_TEST_POSTGRES must be a postgres:// URL: %q", base)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
