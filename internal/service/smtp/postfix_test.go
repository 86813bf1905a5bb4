package smtp

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/decnet/decnet/internal/service/servicetest"
	"github.com/decnet/decnet/internal/testenv"
)

// startPostfix runs Debian's own Postfix on a loopback port with a private
// configuration and queue, as a reference the decky is compared with. It
// relays for nobody, and is stopped when the test ends.
func startPostfix(t *testing.T, host, domain string) string {
	t.Helper()
	bin := testenv.RequireTool(t, "postfix")
	testenv.RequireRoot(t)
	if _, err := os.Stat("/usr/lib/postfix/sbin/master"); err != nil {
		t.Skipf("SKIP: Postfix's daemons are not installed: %v", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()

	// Postfix's unprivileged daemons must reach the queue: the private
	// tree is world-traversable, as /var/spool/postfix is.
	dir, err := os.MkdirTemp("", "decnet-postfix-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	etc, queue, data := filepath.Join(dir, "etc"), filepath.Join(dir, "queue"), filepath.Join(dir, "data")
	for _, d := range []string{dir, etc, queue, data} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		os.Chmod(d, 0o755)
	}
	if out, err := exec.Command("chown", "postfix", data).CombinedOutput(); err != nil {
		t.Fatalf("chown postfix: %v %s", err, out)
	}
	mainCF := fmt.Sprintf(`compatibility_level = 3.6
queue_directory = %s
data_directory = %s
myhostname = %s
mydomain = %s
mydestination = $myhostname, %s, localhost
smtpd_banner = $myhostname ESMTP $mail_name (Debian/GNU)
biff = no
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 192.0.2.1/32
smtpd_relay_restrictions = permit_mynetworks permit_sasl_authenticated defer_unauth_destination
smtpd_tls_cert_file = /etc/ssl/certs/ssl-cert-snakeoil.pem
smtpd_tls_key_file = /etc/ssl/private/ssl-cert-snakeoil.key
smtpd_tls_security_level = may
maillog_file_prefixes = %s
maillog_file = %s
`, queue, data, host, domain, domain, dir, filepath.Join(dir, "maillog"))
	if _, err := os.Stat("/etc/ssl/private/ssl-cert-snakeoil.key"); err != nil {
		mainCF = strings.ReplaceAll(mainCF, "smtpd_tls_security_level = may", "smtpd_tls_security_level = none")
	}
	// Only what an SMTP conversation needs, none chrooted.
	masterCF := addr + " inet n - n - - smtpd\n" + `cleanup unix n - n - 0 cleanup
qmgr unix n - n 300 1 qmgr
tlsmgr unix - - n 1000? 1 tlsmgr
rewrite unix - - n - - trivial-rewrite
bounce unix - - n - 0 bounce
defer unix - - n - 0 bounce
trace unix - - n - 0 bounce
verify unix - - n - 1 verify
flush unix n - n 1000? 0 flush
proxymap unix - - n - - proxymap
smtp unix - - n - - smtp
showq unix n - n - - showq
error unix - - n - - error
retry unix - - n - - error
discard unix - - n - - discard
local unix - n n - - local
anvil unix - - n - 1 anvil
scache unix - - n - 1 scache
postlog unix-dgram n - n - 1 postlogd
`
	if err := os.WriteFile(filepath.Join(etc, "main.cf"), []byte(mainCF), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(etc, "master.cf"), []byte(masterCF), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "-c", etc, "start").CombinedOutput(); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "maillog"))
		t.Fatalf("postfix start: %v %s\n%s", err, out, log)
	}
	t.Cleanup(func() { exec.Command(bin, "-c", etc, "abort").Run() })
	testenv.Eventually(t, 10*time.Second, "Postfix to listen on "+addr, func() bool {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	return addr
}

// smtpReply is whole at its last line: a code and a space.
func smtpReply(_, reply string) bool {
	lines := strings.Split(strings.TrimSuffix(reply, "\r\n"), "\r\n")
	last := lines[len(lines)-1]
	return len(last) < 4 || last[3] != '-'
}

// TestRepliesAsDebianPostfix holds one conversation, bad sequences,
// unknown commands and a relay attempt included, with Debian's Postfix and
// with a Debian decky, and wants the same replies line for line. AUTH is
// the one known difference: the decky offers it (it is there to capture
// credentials), so the EHLO AUTH line is left out.
func TestRepliesAsDebianPostfix(t *testing.T) {
	const host, domain = "mail.corp.example", "corp.example"
	real := startPostfix(t, host, domain)
	r := servicetest.Start(t, "smtp", Port, servicetest.Options{Distro: "debian", Hostname: host})
	cmds := []string{
		"MAIL FROM:<a@b.example>",
		"RSET",
		"HELO",
		"EHLO",
		"EHLO probe.example",
		"XYZZY",
		"RCPT TO:<postmaster@corp.example>",
		"DATA",
		"MAIL FROM:<bad",
		"MAIL FROM:<a@b.example>",
		"MAIL FROM:<a@b.example>",
		"RCPT TO:<victim@example.org>",
		"RCPT TO:bad",
		"DATA",
		"RCPT TO:<postmaster@corp.example>",
		"RSET",
		"NOOP",
		"STARTTLS now",
		"VRFY",
		"VRFY root",
		"VRFY nonexistent_user_xyz",
		"VRFY <postmaster@corp.example>",
		"VRFY ${jndi:ldap://x}",
		"VRFY victim@example.org",
		"HELP",
		"QUIT",
	}
	want := servicetest.Converse(t, real, cmds, smtpReply)
	got := servicetest.Converse(t, r.HostPort(Port), cmds, smtpReply)
	dropAuth := func(s string) string {
		var keep []string
		for _, l := range strings.SplitAfter(s, "\r\n") {
			if !strings.HasPrefix(l, "250-AUTH ") {
				keep = append(keep, l)
			}
		}
		return strings.Join(keep, "")
	}
	for i := range want {
		step := "greeting"
		if i > 0 {
			step = cmds[i-1]
		}
		if i >= len(got) || dropAuth(got[i]) != dropAuth(want[i]) {
			g := ""
			if i < len(got) {
				g = got[i]
			}
			t.Errorf("%s:\n postfix: %q\n decky:   %q", step, want[i], g)
		}
	}
}

// TestNmapNamesAsDebianPostfix: nmap -sV says of the decky what it says of
// Debian's Postfix.
func TestNmapNamesAsDebianPostfix(t *testing.T) {
	const host, domain = "mail.corp.example", "corp.example"
	real := startPostfix(t, host, domain)
	r := servicetest.Start(t, "smtp", Port, servicetest.Options{Distro: "debian", Hostname: host})
	rh, rp, _ := net.SplitHostPort(real)
	want := testenv.NmapService(t, rh, rp)
	got := testenv.NmapService(t, r.Addr.String(), r.Port(Port))
	t.Logf("nmap -sV: Postfix %q, decky %q", want, got)
	if got != want || !strings.Contains(got, "Postfix smtpd") {
		t.Fatalf("nmap -sV differs:\n postfix: %s\n decky:   %s", want, got)
	}
}
