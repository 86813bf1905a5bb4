package shell

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/decnet/decnet/internal/persona"
	"github.com/decnet/decnet/internal/testenv"
)

// botSession is one recorded bot session of the corpus in
// testdata/botsessions: the command lines a bot typed after logging in.
type botSession struct {
	cat, name string
	norms     []string
	known     map[int]string // command line (1-based) -> why the oracle cannot agree
	lines     []string       // a here-document's lines are joined to its command
}

// loadBotSessions reads the corpus: one file per category, `=== name`
// opens a session, `#norm: x` names a normalisation, other lines are
// command lines. A line that opens a here-document takes the lines up to
// its delimiter with it, as bash reads them.
func loadBotSessions(t *testing.T) []botSession {
	t.Helper()
	files, err := filepath.Glob("testdata/botsessions/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus: %v", err)
	}
	heredoc := regexp.MustCompile(`(?:^|[^<])<<-?\s*['"]?([A-Za-z_][A-Za-z0-9_]*)['"]?`) // not <<<
	var out []botSession
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		cat := strings.TrimSuffix(filepath.Base(f), ".txt")
		lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
		for i := 0; i < len(lines); i++ {
			l := lines[i]
			switch {
			case strings.HasPrefix(l, "=== "):
				out = append(out, botSession{cat: cat, name: strings.TrimPrefix(l, "=== ")})
			case len(out) == 0 || out[len(out)-1].cat != cat:
				t.Fatalf("%s:%d: a line outside a session", f, i+1)
			case strings.HasPrefix(l, "#known: "):
				s := &out[len(out)-1]
				var n int
				var why string
				if _, err := fmt.Sscanf(l, "#known: %d", &n); err != nil || n < 1 {
					t.Fatalf("%s:%d: #known: N reason", f, i+1)
				}
				_, why, _ = strings.Cut(strings.TrimPrefix(l, "#known: "), " ")
				if s.known == nil {
					s.known = map[int]string{}
				}
				s.known[n] = why
			case strings.HasPrefix(l, "#norm: "):
				s := &out[len(out)-1]
				s.norms = append(s.norms, strings.TrimPrefix(l, "#norm: "))
			case strings.HasPrefix(l, "#"), l == "":
			default:
				if m := heredoc.FindStringSubmatch(l); m != nil {
					for i+1 < len(lines) {
						i++
						l += "\n" + lines[i]
						if strings.TrimLeft(lines[i], "\t") == m[1] {
							break
						}
					}
				}
				s := &out[len(out)-1]
				s.lines = append(s.lines, l)
			}
		}
	}
	return out
}

// botMachine is the Debian persona the corpus runs on, with the CPU count
// of this host: `nproc` answers from the CPU affinity, which the real side
// cannot be made to fake, so the decky's identity is picked to agree.
func botMachine(t *testing.T) Machine {
	d, ok := persona.LookupDistro("debian")
	if !ok {
		t.Fatal("no debian persona")
	}
	for i := 0; i < 500; i++ {
		m := Machine{Distro: d, Hostname: "web42", Identity: persona.NewIdentity("corpus", fmt.Sprintf("decky-%02d", i))}
		if m.hw().cpus == runtime.NumCPU() {
			return m
		}
	}
	requireRoot(t, fmt.Sprintf("no decky identity with %d CPUs among 500", runtime.NumCPU()))
	return Machine{}
}

// hostEtc are the files of this host's /etc the real tools need to run
// (the loader's cache, the alternatives that name awk, NSS, PAM for
// chpasswd and passwd, useradd's defaults); the persona's own /etc files
// are laid over them.
var hostEtc = []string{"ld.so.cache", "ld.so.conf", "ld.so.conf.d", "alternatives", "nsswitch.conf", "resolv.conf",
	"host.conf", "gai.conf", "pam.d", "pam.conf", "security", "login.defs", "localtime", "timezone", "default", "skel",
	"environment", "gshadow", "subuid", "subgid", "mke2fs.conf"}

// stageRoot writes the decky's file system as a directory tree (files,
// directories and links with their modes, owners and times; no /proc,
// /usr or devices), over the host /etc files in hostEtc.
func stageRoot(t *testing.T, m Machine, dir string) {
	t.Helper()
	for _, e := range hostEtc {
		src := "/etc/" + e
		if _, err := os.Lstat(src); err != nil {
			continue
		}
		_ = os.MkdirAll(dir+"/etc", 0o755)
		if out, err := exec.Command("cp", "-a", src, dir+"/etc/").CombinedOutput(); err != nil {
			t.Fatalf("cp %s: %v %s", src, err, out)
		}
	}
	s := New(m, "root")
	var walk func(p string)
	walk = func(p string) {
		nodes, err := s.FS.ReadDir(p)
		if err != nil {
			t.Fatalf("readdir %s: %v", p, err)
		}
		for _, n := range nodes {
			q := path.Join(p, n.Name)
			dst := dir + q
			switch {
			case q == "/proc" || q == "/sys" || q == "/usr" || q == "/dev":
				_ = os.MkdirAll(dst, 0o755)
				continue
			case n.Mode&fs.ModeSymlink != 0:
				_ = os.Remove(dst)
				if err := os.Symlink(n.Link, dst); err != nil {
					t.Fatal(err)
				}
				_ = os.Lchown(dst, n.UID, n.GID)
				continue
			case n.IsDir():
				if err := os.MkdirAll(dst, 0o755); err != nil {
					t.Fatal(err)
				}
				walk(q)
			case n.Gen != nil || n.Sparse > 0 || n.Mode&(fs.ModeDevice|fs.ModeCharDevice) != 0:
				continue
			default:
				if err := os.WriteFile(dst, n.Data, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			_ = os.Chown(dst, n.UID, n.GID)
			_ = os.Chmod(dst, n.Mode.Perm()|sticky(n.Mode))
			_ = os.Chtimes(dst, n.ModTime, n.ModTime)
		}
	}
	walk("/")
	root, _ := s.FS.Stat("/")
	_ = os.Chtimes(dir, root.ModTime, root.ModTime)
}

func sticky(m fs.FileMode) fs.FileMode {
	if m&fs.ModeSticky != 0 {
		return os.ModeSticky
	}
	return 0
}

// rootScript runs as root in private mount, UTS and PID namespaces: it
// mounts a copy of the decky's ext4 image as the root over a /dev named
// udev and sized as the decky's (half its memory), mounted first so that
// df lists it first as on a Debian VM, binds the host's
// /usr read-only, a fresh /proc with the decky's cpuinfo, meminfo and
// version bound over the kernel's (not mounts: it is a link into
// /proc/self), a read-only /sys, and the null, zero and
// random devices, sets the hostname and starts bash as the login shell
// sshd starts (argv[0] "-bash", interactive, no rc files, no line
// editing), reading the session from stdin.
const rootScript = `set -e
img=$1 r=$2 procs=$3 host=$4 rootmtime=$5
mem=$(awk '/^MemTotal:/ {print $2}' "$procs/meminfo")
mkdir -p "$r-udev"
mount -t tmpfs -o "size=$((mem / 2))k,mode=755" udev "$r-udev"
mount -o loop "$img" "$r"
rmdir "$r/lost+found"
mount --move "$r-udev" "$r/dev"
rmdir "$r-udev"
mount --bind /usr "$r/usr"
mount -o remount,bind,ro "$r/usr"
mount -t proc proc "$r/proc"
mount -t sysfs -o ro sysfs "$r/sys"
for f in cpuinfo meminfo version; do mount --bind "$procs/$f" "$r/proc/$f"; done
for d in null zero random urandom; do touch "$r/dev/$d"; mount --bind "/dev/$d" "$r/dev/$d"; done
hostname "$host"
touch -d "@$rootmtime" "$r"
exec chroot "$r" /usr/bin/env -i HOME=/root USER=root LOGNAME=root SHELL=/bin/bash LANG=C.UTF-8 TERM=xterm-256color \
  PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  /usr/bin/bash -c 'cd /root && exec -a -bash /usr/bin/bash --norc --noprofile --noediting +m -i'
`

// Markers the real bash's prompt prints around each command's status.
const markOpen, markClose = "\x1e", "\x1f"

var botNorms = map[string]string{
	"kernel": "the host kernel's `uname -r` and `uname -v` read as the persona's on the real side (uname asks the running kernel)",
	"time":   "every YYYY-MM-DD HH:MM:SS reads TIME on both sides (wget's log lines)",
}

// Always applied, both sides: what differs run to run on any host.
var (
	curlMs  = regexp.MustCompile(`after \d+ ms`)                                             // curl's connect time
	jobLine = regexp.MustCompile(`(?m)^\[(\d+)\] \d+$`)                                      // an interactive bash's job PID
	jobDone = regexp.MustCompile(`(?m)^\[\d+\][+-]? +(Done|Exit \d+|Killed|Terminated).*\n`) // when bash reports a finished job
)

func normalise(s string, norms []string, realSide bool, kernel [2][2]string) string {
	s = curlMs.ReplaceAllString(s, "after N ms")
	s = jobLine.ReplaceAllString(s, "[$1] PID")
	s = jobDone.ReplaceAllString(s, "")
	for _, n := range norms {
		switch n {
		case "kernel":
			if realSide {
				s = strings.ReplaceAll(s, kernel[0][0], kernel[0][1])
				s = strings.ReplaceAll(s, kernel[1][0], kernel[1][1])
			}
		case "time":
			s = regexp.MustCompile(`\d{4}-\d\d-\d\d \d\d:\d\d:\d\d`).ReplaceAllString(s, "TIME")
		}
	}
	return s
}

// TestBotSessionsAgainstRealBash runs every session of the corpus in the
// emulated shell as the SSH service runs it (an interactive login shell
// on a Debian persona) and in the real bash of this Debian host inside a
// root built from the decky's own file system (see rootScript), and
// compares each command line's output and exit status.
func TestBotSessionsAgainstRealBash(t *testing.T) {
	if os.Geteuid() != 0 {
		requireRoot(t, "building the Debian root needs root (mount, unshare, chroot)")
	}
	for _, tool := range []string{"bash", "unshare", "chroot", "mkfs.ext4", "wget", "curl", "tftp", "busybox", "crontab", "chpasswd", "lscpu"} {
		testenv.RequireTool(t, tool)
	}
	sessions := loadBotSessions(t)
	m := botMachine(t)
	// The decky's memory figures drift by the minute; the real side reads
	// the /proc/meminfo captured below, so the clock is held for the run.
	frozen := time.Now()
	memClock = func() time.Time { return frozen }
	t.Cleanup(func() { memClock = time.Now })

	dir := t.TempDir()
	stage := dir + "/stage"
	stageRoot(t, m, stage)
	probe := New(m, "root")
	procs := dir + "/proc"
	_ = os.MkdirAll(procs, 0o755)
	for _, f := range []string{"cpuinfo", "meminfo", "version"} {
		b, err := probe.FS.ReadFile("/proc/" + f)
		if err != nil {
			t.Fatalf("decky /proc/%s: %v", f, err)
		}
		if err := os.WriteFile(procs+"/"+f, b, 0o444); err != nil {
			t.Fatal(err)
		}
	}
	tmpl := dir + "/root.img"
	if out, err := exec.Command("mkfs.ext4", "-q", "-F", "-b", "4096", "-d", stage, tmpl, "96M").CombinedOutput(); err != nil {
		requireRoot(t, fmt.Sprintf("mkfs.ext4 -d: %v %s", err, out))
	}
	hostKernel := [2][2]string{}
	for i, flag := range []string{"-r", "-v"} {
		out, _ := exec.Command("uname", flag).Output()
		hostKernel[i][0] = strings.TrimSpace(string(out))
	}
	hostKernel[0][1], hostKernel[1][1] = m.Distro.Kernel, m.KernelBuild()
	hostname := strings.TrimSpace(mustRun(probe, "hostname"))
	rootNode, _ := probe.FS.Stat("/")
	rootMtime := fmt.Sprint(rootNode.ModTime.Unix())

	// The root needs loop devices and mounts: without them this host
	// cannot be the oracle.
	if _, err := runReal(t, rootScript, tmpl, dir+"/probe", procs, hostname, rootMtime, []string{"true"}); err != nil {
		requireRoot(t, fmt.Sprintf("the Debian root cannot be built here: %v", err))
	}
	cats := map[string][2]int{}
	for i, sess := range sessions {
		for _, n := range sess.norms {
			if botNorms[n] == "" {
				t.Fatalf("%s/%s: unknown normalisation %q", sess.cat, sess.name, n)
			}
		}
		real, err := runReal(t, rootScript, tmpl, fmt.Sprintf("%s/s%d", dir, i), procs, hostname, rootMtime, sess.lines)
		if err != nil {
			t.Fatalf("%s/%s: real bash: %v", sess.cat, sess.name, err)
		}
		s := New(m, "root")
		s.Login = true
		ok := true
		for j, line := range sess.lines {
			got, code := run(s, line)
			got = normalise(got, sess.norms, false, hostKernel)
			want := normalise(real[j].out, sess.norms, true, hostKernel)
			why, isKnown := sess.known[j+1]
			switch {
			case isKnown && got == want && code == real[j].code:
				t.Errorf("%s/%s: %q now agrees with real bash: drop its #known line", sess.cat, sess.name, line)
			case isKnown:
				// Counted as a failure in the pass counts, not failing the
				// test: the root cannot be made to agree (see the corpus).
				ok = false
				t.Logf("%s/%s: %q: known difference (%s)\n emulated: %q\n     real: %q", sess.cat, sess.name, line, why, got, want)
			case got != want || code != real[j].code:
				ok = false
				t.Errorf("%s/%s: %q\n emulated: %q (exit %d)\n     real: %q (exit %d)", sess.cat, sess.name, line, got, code, want, real[j].code)
			}
		}
		c := cats[sess.cat]
		c[1]++
		if ok {
			c[0]++
		}
		cats[sess.cat] = c
	}
	pass, total := 0, 0
	for _, c := range slices.Sorted(maps.Keys(cats)) {
		t.Logf("%-12s %2d/%d sessions as real bash", c, cats[c][0], cats[c][1])
		pass += cats[c][0]
		total += cats[c][1]
	}
	t.Logf("%d/%d bot sessions print and exit as real bash on a Debian root", pass, total)
}

type realResult struct {
	out  string
	code int
}

// runReal runs a session's lines in a fresh copy of the root image and
// splits what the terminal shows at the prompt markers.
func runReal(t *testing.T, script, tmpl, base, procs, hostname, rootMtime string, lines []string) ([]realResult, error) {
	img, mnt := base+".img", base+".mnt"
	if out, err := exec.Command("cp", "--sparse=always", tmpl, img).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("cp: %v %s", err, out)
	}
	defer os.Remove(img)
	if err := os.Mkdir(mnt, 0o755); err != nil {
		return nil, err
	}
	defer os.Remove(mnt)
	var in strings.Builder
	fmt.Fprintf(&in, "PS1='\\036$?\\037'; PS2=''\n")
	for _, l := range lines {
		in.WriteString(l + "\n")
	}
	in.WriteString("exit\n") // a terminal gives no end of input
	cmd := exec.Command("unshare", "--mount", "--uts", "--pid", "--fork", "--propagation", "private",
		"bash", "-c", script, "root", img, mnt, procs, hostname, rootMtime)
	ptm, pts, err := openPTY()
	if err != nil {
		return nil, err
	}
	defer ptm.Close()
	cmd.Stdin, cmd.Stdout, cmd.Stderr = pts, pts, pts
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
	if err := cmd.Start(); err != nil {
		pts.Close()
		return nil, err
	}
	pts.Close()
	go func() { _, _ = io.WriteString(ptm, in.String()) }()
	var out bytes.Buffer
	read := make(chan struct{})
	go func() { _, _ = io.Copy(&out, ptm); close(read) }() // EIO once the last holder of the terminal exits
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		return nil, fmt.Errorf("timed out: %q", out.String())
	}
	select {
	case <-read:
	case <-time.After(5 * time.Second):
	}
	// Before the first marker: job control notices and the PS1 line's
	// status; after the last: bash's "exit" at end of input.
	text := out.String()
	first := strings.Index(text, markOpen)
	if first < 0 {
		return nil, fmt.Errorf("no prompt: %q", text)
	}
	parts := strings.Split(text[first:], markOpen)[1:]
	if len(parts) != len(lines)+1 {
		return nil, fmt.Errorf("%d prompts for %d lines: %q", len(parts), len(lines), text)
	}
	res := make([]realResult, len(lines))
	for i := range lines {
		// parts[i] is "<status of the previous line>\x1f<output of line i>".
		_, body, _ := strings.Cut(parts[i], markClose)
		st, _, _ := strings.Cut(parts[i+1], markClose)
		var code int
		fmt.Sscanf(st, "%d", &code)
		res[i] = realResult{out: body, code: code}
	}
	return res, nil
}

// openPTY returns a terminal pair set up as sshd sets up a client's pty
// for the comparison: 80x24, no echo of the input, no CR before LF (the
// emulated shell's output is compared before the SSH service's terminal
// writer adds them).
func openPTY() (ptm, pts *os.File, err error) {
	ptm, err = os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, nil, err
	}
	fd := int(ptm.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		ptm.Close()
		return nil, nil, err
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		ptm.Close()
		return nil, nil, err
	}
	pts, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		ptm.Close()
		return nil, nil, err
	}
	sfd := int(pts.Fd())
	tio, err := unix.IoctlGetTermios(sfd, unix.TCGETS)
	if err == nil {
		tio.Lflag &^= unix.ECHO | unix.ECHOE | unix.ECHOK | unix.ECHONL | unix.ECHOCTL
		tio.Oflag &^= unix.ONLCR
		err = unix.IoctlSetTermios(sfd, unix.TCSETS, tio)
	}
	if err == nil {
		err = unix.IoctlSetWinsize(sfd, unix.TIOCSWINSZ, &unix.Winsize{Row: 24, Col: 80})
	}
	if err != nil {
		ptm.Close()
		pts.Close()
		return nil, nil, err
	}
	return ptm, pts, nil
}

// requireRoot skips the corpus test for a missing part of its Debian
// root, or fails it under DECNET_REQUIRE_TOOLS=1 as testenv does for a
// missing tool.
func requireRoot(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("DECNET_REQUIRE_TOOLS") == "1" {
		t.Fatalf("%s (required because DECNET_REQUIRE_TOOLS=1)", why)
	}
	t.Skipf("SKIP: %s (set DECNET_REQUIRE_TOOLS=1 to make this a failure)", why)
}
