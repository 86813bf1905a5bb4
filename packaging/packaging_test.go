// Package packaging holds the release files (systemd units, default
// settings, the nfpm description, build.sh) and the tests that build and
// install them.
package packaging

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/decnet/decnet/internal/testenv"
)

func run(t *testing.T, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, out, stderr.String())
	}
	return string(out)
}

// buildDeb runs packaging/build.sh once per test process.
func buildDeb(t *testing.T) (deb, bin string) {
	t.Helper()
	testenv.RequireTool(t, "bash")
	testenv.RequireTool(t, "git")
	dir := t.TempDir()
	run(t, []string{"VERSION=1.2.3~test"}, "bash", "packaging/build.sh", dir)
	debs, _ := filepath.Glob(filepath.Join(dir, "*.deb"))
	if len(debs) != 1 {
		t.Fatalf("build.sh made %v", debs)
	}
	return debs[0], filepath.Join(dir, "decnet")
}

// TestDebInstallsIntoAScratchRoot builds the .deb with build.sh (nfpm),
// installs it with dpkg --root into an empty root, and runs what it
// installed; then checks the units with systemd-analyze.
func TestDebInstallsIntoAScratchRoot(t *testing.T) {
	testenv.RequireTool(t, "dpkg")
	analyze := testenv.RequireTool(t, "systemd-analyze")
	deb, _ := buildDeb(t)
	root := t.TempDir()
	for _, d := range []string{"var/lib/dpkg/info", "var/lib/dpkg/updates"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "var/lib/dpkg/status"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	run(t, nil, "dpkg", "--root="+root, "--force-script-chrootless", "--log=/dev/null", "-i", deb)
	status := run(t, nil, "dpkg-query", "--admindir="+filepath.Join(root, "var/lib/dpkg"), "-W", "-f=${Package} ${Version} ${Status}\n", "decnet")
	if strings.TrimSpace(status) != "decnet 1.2.3~test install ok installed" {
		t.Fatalf("dpkg-query: %q", status)
	}
	t.Logf("dpkg --root: %s", strings.TrimSpace(status))
	for _, f := range []string{"usr/bin/decnet", "lib/systemd/system/decnet-master.service", "lib/systemd/system/decnet-agent.service",
		"etc/decnet/master.yaml", "etc/decnet/agent.yaml", "usr/share/man/man1/decnet.1.gz", "usr/share/man/man1/decnet-master.1.gz",
		"usr/share/man/man1/decnet-agent-join.1.gz"} {
		if _, err := os.Stat(filepath.Join(root, f)); err != nil {
			t.Errorf("not installed: %s", f)
		}
	}
	conf := run(t, nil, "dpkg-query", "--admindir="+filepath.Join(root, "var/lib/dpkg"), "-W", "-f=${Conffiles}", "decnet")
	if !strings.Contains(conf, "/etc/decnet/master.yaml") || !strings.Contains(conf, "/etc/decnet/agent.yaml") {
		t.Errorf("the settings files are not conffiles: %q", conf)
	}
	installed := filepath.Join(root, "usr/bin/decnet")
	var v struct{ Version, Commit, BuildDate string }
	out := run(t, nil, installed, "version", "--json")
	if err := json.Unmarshal([]byte(strings.ReplaceAll(out, "build_date", "builddate")), &v); err != nil ||
		v.Version != "1.2.3~test" || len(v.Commit) != 40 || v.BuildDate == "" {
		t.Fatalf("the installed binary's version: %v %s", err, out)
	}
	// The packaged settings are valid for the packaged binary.
	for _, role := range []string{"master", "agent"} {
		run(t, nil, installed, role, "config", "--config", filepath.Join(root, "etc/decnet", role+".yaml"))
	}

	// systemd-analyze checks the units against this systemd; the ExecStart
	// binary must exist, so point it at the installed one.
	units := t.TempDir()
	var paths []string
	for _, u := range []string{"decnet-master.service", "decnet-agent.service"} {
		b, err := os.ReadFile(filepath.Join(root, "lib/systemd/system", u))
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(units, u)
		if err := os.WriteFile(p, bytes.ReplaceAll(b, []byte("/usr/bin/decnet"), []byte(installed)), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	cmd := exec.Command(analyze, append([]string{"verify", "--man=no"}, paths...)...)
	if out, err := cmd.CombinedOutput(); err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
	for _, p := range paths {
		out, _ := exec.Command(analyze, "security", "--offline=yes", p).CombinedOutput()
		m := regexp.MustCompile(`Overall exposure level for \S+: ([0-9.]+) (\w+)`).FindSubmatch(out)
		if m == nil {
			t.Fatalf("systemd-analyze security %s:\n%s", p, out)
		}
		t.Logf("systemd-analyze security %s: exposure %s %s", filepath.Base(p), m[1], m[2])
		if x, _ := strconv.ParseFloat(string(m[1]), 64); x > 5 {
			t.Errorf("%s: exposure %s is above 5 (MEDIUM or worse)", filepath.Base(p), m[1])
		}
	}
}

// TestServerImage builds the FROM-scratch image with `decnet image build`
// and runs the master in it.
func TestServerImage(t *testing.T) {
	testenv.RequireDocker(t)
	bin := testenv.DecnetBinary(t)
	label := fmt.Sprintf("io.decnet.test=image-%d", rand.Uint32())
	testenv.CleanupDocker(t, label)
	tag := fmt.Sprintf("decnet-test-image:%d", rand.Uint32())
	run(t, nil, bin, "image", "build", "--tag", tag, "--binary", bin)
	t.Cleanup(func() { _ = exec.Command("docker", "rmi", "-f", tag).Run() })
	size := strings.TrimSpace(run(t, nil, "docker", "image", "inspect", "--format", "{{.Size}}", tag))
	t.Logf("image %s: %s bytes", tag, size)
	if out := run(t, nil, "docker", "run", "--rm", "--network", "none", "--label", label, tag, "version"); !strings.HasPrefix(out, "decnet ") {
		t.Fatalf("decnet version in the image: %q", out)
	}
	if out := run(t, nil, "docker", "run", "--rm", "--network", "none", "--label", label, tag, "master", "config"); !strings.Contains(out, "data: /var/lib/decnet/master\n") {
		t.Fatalf("the image's master settings:\n%s", out)
	}
	id := strings.TrimSpace(run(t, nil, "docker", "run", "-d", "--network", "none", "--label", label, tag, "master", "--api-listen", "127.0.0.1:8443"))
	deadline := time.Now().Add(60 * time.Second)
	for {
		logs, _ := exec.Command("docker", "logs", id).CombinedOutput()
		if bytes.Contains(logs, []byte(`msg="master running"`)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the master did not start in the image:\n%s", logs)
		}
		time.Sleep(500 * time.Millisecond)
	}
}
