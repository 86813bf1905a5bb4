package shell

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/decnet/decnet/internal/testenv"
)

// realOut runs a command on this (Debian) host: the reference the decky's
// answer is compared with.
func realOut(t *testing.T, name string, args ...string) string {
	t.Helper()
	testenv.RequireTool(t, name)
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		t.Fatalf("%s %v: %v", name, args, err)
	}
	return string(out)
}

func mustRun(s *Shell, line string) string {
	out, _ := run(s, line)
	return out
}

// TestBotProbesLikeDebian runs what bots send to spot an emulated shell
// and compares each answer with the same command on this Debian host.
func TestBotProbesLikeDebian(t *testing.T) {
	s := newShell(t, "debian")

	// The ELF header (bots read /proc/self/exe to learn the
	// architecture): identification, type, machine, version and the
	// program header layout as Debian's bash has them.
	got, code := run(s, "head -c 64 /proc/self/exe")
	want := realOut(t, "head", "-c", "64", "/usr/bin/bash")
	t.Logf("/proc/self/exe header: %q", got[:24])
	if code != 0 || len(got) != 64 || got[:24] != want[:24] || got[52:60] != want[52:60] {
		t.Errorf("/proc/self/exe header %q, bash %q", got, want)
	}
	if out, _ := run(s, "cat /proc/self/exe | grep -c ld-linux-x86-64"); out != "1\n" {
		t.Errorf("no loader name in /proc/self/exe: %q", out)
	}

	// file(1) and readlink on it, as on the host for bash (BuildID aside).
	buildID := regexp.MustCompile(`BuildID\[sha1\]=[0-9a-f]{40}`)
	got, _ = run(s, "file -L /proc/self/exe")
	want = realOut(t, "file", "-L", "/usr/bin/bash")
	got = buildID.ReplaceAllString(strings.TrimPrefix(got, "/proc/self/exe: "), "BuildID")
	want = buildID.ReplaceAllString(strings.TrimPrefix(want, "/usr/bin/bash: "), "BuildID")
	t.Logf("file -L /proc/self/exe: %s", got)
	if got != want {
		t.Errorf("file -L /proc/self/exe %q, host's bash %q", got, want)
	}
	if got, want := mustRun(s, "readlink -f /bin/bash"), realOut(t, "readlink", "-f", "/bin/bash"); got != want {
		t.Errorf("readlink -f /bin/bash %q, host %q", got, want)
	}
	if got := mustRun(s, "ls -l /proc/self/exe"); !strings.HasPrefix(got, "lrwxrwxrwx") || !strings.HasSuffix(got, " /proc/self/exe -> /usr/bin/bash\n") {
		t.Errorf("ls -l /proc/self/exe %q", got)
	}

	// /proc/net/arp in the kernel's layout, the gateway of `ip route`.
	arp, code := run(s, "cat /proc/net/arp")
	realARP, _ := os.ReadFile("/proc/net/arp")
	header, _, _ := strings.Cut(string(realARP), "\n")
	t.Logf("/proc/net/arp:\n%s", arp)
	lines := strings.Split(strings.TrimSuffix(arp, "\n"), "\n")
	row := regexp.MustCompile(`^(\d+\.\d+\.\d+\.\d+) +0x1 +0x2 +([0-9a-f]{2}:){5}[0-9a-f]{2} +\* +eth0$`)
	route, _ := run(s, "ip route")
	gw := strings.Fields(route)[2]
	if code != 0 || lines[0] != header || len(lines) < 2 || !row.MatchString(lines[1]) || !strings.HasPrefix(lines[1], gw+" ") {
		t.Errorf("/proc/net/arp %q (header %q, gateway %s)", arp, header, gw)
	}

	// free -m: one table, procps's header.
	free, _ := run(s, "free -m")
	realFree := realOut(t, "free", "-m")
	t.Logf("free -m:\n%s", free)
	if strings.Count(free, "Mem:") != 1 || strings.Count(free, "Swap:") != 1 || strings.SplitAfter(free, "\n")[0] != strings.SplitAfter(realFree, "\n")[0] {
		t.Errorf("free -m %q, procps %q", free, realFree)
	}

	// ls -la /: "." and ".." of the root are the same directory.
	ls, _ := run(s, "ls -la /")
	t.Logf("ls -la /:\n%s", strings.Join(strings.SplitAfterN(ls, "\n", 4)[:3], ""))
	l := strings.Split(ls, "\n")
	if strings.Contains(ls, " 0001 ") || strings.TrimSuffix(l[1], ".") != strings.TrimSuffix(l[2], "..") {
		t.Errorf("ls -la /:\n%s", ls)
	}

	// The tools bots check for exist, in the real tools' formats.
	ver, code := run(s, "openssl version")
	shape := regexp.MustCompile(`^OpenSSL 3\.\d+\.\d+ \d{1,2} [A-Z][a-z]{2} \d{4} \(Library: OpenSSL 3\.\d+\.\d+ \d{1,2} [A-Z][a-z]{2} \d{4}\)\n$`)
	if realV := realOut(t, "openssl", "version"); !shape.MatchString(realV) {
		t.Fatalf("the host's openssl prints %q: the shape check is out of date", realV)
	}
	if code != 0 || !shape.MatchString(ver) {
		t.Errorf("openssl version %q", ver)
	}
	for _, c := range []string{"lsof -i", "strace -V", "openssl rand -hex 8"} {
		out, code := run(s, c)
		t.Logf("%s:\n%s", c, out)
		if code != 0 || strings.Contains(out, "not found") || out == "" {
			t.Errorf("%s: %d %q", c, code, out)
		}
	}
}
