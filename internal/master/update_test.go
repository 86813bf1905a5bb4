package master_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/decnet/decnet/internal/store"
	"github.com/decnet/decnet/internal/testenv"
)

// buildVersion builds decnet with its version (and extra -X settings)
// linked in.
func buildVersion(t *testing.T, dir, version string, extra ...string) string {
	t.Helper()
	out := filepath.Join(dir, "decnet-"+version)
	ld := "-X github.com/decnet/decnet/internal/cli.Version=" + version
	for _, x := range extra {
		ld += " -X " + x
	}
	cmd := exec.Command("go", "build", "-o", out, "-ldflags", ld, "github.com/decnet/decnet/cmd/decnet")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", version, err, b)
	}
	return out
}

type hostRow struct {
	Host     store.Host `json:"host"`
	Liveness string     `json:"liveness"`
}

// TestAgentUpdateAndRollback updates an agent from the master's build:
// the agent reports the new version under the same pid; then a build that
// cannot heartbeat is rolled back by the agent on its own, and the master
// shows why.
func TestAgentUpdateAndRollback(t *testing.T) {
	if testing.Short() {
		t.Skip("builds three binaries")
	}
	dir := t.TempDir()
	one := buildVersion(t, dir, "9.0.0-one")
	two := buildVersion(t, dir, "9.0.0-two")
	broken := buildVersion(t, dir, "9.0.0-broken", "github.com/decnet/decnet/internal/agent.FaultNoHeartbeat=yes")

	data := t.TempDir()
	agentsAddr := fmt.Sprintf("127.0.0.1:%d", 20000+rand.IntN(20000))
	masterArgs := []string{"master", "--data", data, "--agents-listen", agentsAddr, "--api-listen", "127.0.0.1:0",
		"--metrics-listen", "127.0.0.1:0", "--nats-listen", "127.0.0.1:0", "--log-level", "warn"}
	m := start(t, two, masterArgs...)
	testenv.Eventually(t, 60*time.Second, "the master", func() bool { return dial(agentsAddr) })
	var jt struct {
		T string `json:"token"`
		H string `json:"ca_hash"`
	}
	json.Unmarshal(run(t, two, "swarm", "join-token", "--data", data, "--name", "upd-1", "--json"), &jt)
	adir := t.TempDir()
	run(t, one, "agent", "join", "--master", agentsAddr, "--token", jt.T, "--ca-hash", jt.H, "--dir", adir)
	ag := start(t, one, "agent", "--dir", adir, "--socket", filepath.Join(t.TempDir(), "a.sock"), "--driver", "host",
		"--heartbeat", "300ms", "--update-deadline", "6s", "--log-level", "info")
	host := func() hostRow {
		var hosts []hostRow
		json.Unmarshal(run(t, two, "swarm", "hosts", "--data", data, "--json"), &hosts)
		if len(hosts) != 1 {
			t.Fatalf("hosts: %+v", hosts)
		}
		return hosts[0]
	}
	testenv.Eventually(t, 30*time.Second, "the agent reporting 9.0.0-one", func() bool {
		h := host()
		return h.Liveness == "alive" && h.Host.Version == "9.0.0-one" && len(h.Host.BinarySHA256) == 64
	})
	pid := ag.cmd.Process.Pid

	// The update: the agent fetches the master's build, checks it, and
	// restarts into it under the same pid.
	out := run(t, two, "swarm", "update", "--data", data, "--host", "upd-1")
	t.Logf("%s", strings.TrimSpace(string(out)))
	testenv.Eventually(t, 60*time.Second, "the agent reporting 9.0.0-two", func() bool {
		h := host().Host
		return h.Version == "9.0.0-two" && !h.UpdateRequested && h.UpdateError == ""
	})
	exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	if !strings.HasPrefix(exe, filepath.Join(adir, "bin", "decnet-")) {
		t.Fatalf("pid %d runs %q, not the fetched build", pid, exe)
	}
	t.Logf("updated: pid %d now runs %s and reports 9.0.0-two", pid, exe)

	// A master with a build that cannot heartbeat as an agent.
	m.cmd.Process.Signal(syscall.SIGTERM)
	m.cmd.Wait()
	start(t, broken, masterArgs...)
	testenv.Eventually(t, 60*time.Second, "the broken build's master", func() bool { return dial(agentsAddr) })
	run(t, broken, "swarm", "update", "--data", data, "--host", "upd-1")
	var h store.Host
	testenv.Eventually(t, 90*time.Second, "the agent going back to 9.0.0-two and saying why", func() bool {
		h = host().Host
		return h.Version == "9.0.0-two" && !h.UpdateRequested && strings.Contains(h.UpdateError, "rolled back")
	})
	t.Logf("rolled back: %s", h.UpdateError)
	if !strings.Contains(h.UpdateError, "9.0.0-broken") || !strings.Contains(h.UpdateError, "no heartbeat within 6s") {
		t.Fatalf("update error %q", h.UpdateError)
	}
	// The same process, back on the build it came from.
	if now, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); err != nil || now != exe {
		t.Fatalf("after the rollback pid %d runs %q (%v), want %q\n%s", pid, now, err, exe, ag.out.String())
	}
	if !strings.Contains(ag.out.String(), "update failed; going back") {
		t.Fatalf("the agent did not log its rollback:\n%s", ag.out.String())
	}
}
