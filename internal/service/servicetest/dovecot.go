package servicetest

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/decnet/decnet/internal/testenv"
)

// Dovecot is Debian's own Dovecot run as a reference beside a decky.
type Dovecot struct {
	IMAP, POP3 string // loopback host:port
	// Maildir is the one user's mail directory, to drop messages in.
	Maildir string
}

// StartDovecot runs Debian's Dovecot on loopback ports with a private
// configuration: plaintext logins allowed (as the decky presents it), one
// account user:password, a Maildir with INBOX, Drafts, Junk, Sent and Trash.
// It is stopped when the test ends.
func StartDovecot(t testing.TB, user, password string) *Dovecot {
	t.Helper()
	bin := testenv.RequireTool(t, "dovecot")
	testenv.RequireRoot(t)
	dir, err := os.MkdirTemp("", "decnet-dovecot-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	free := func() int {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		return l.Addr().(*net.TCPAddr).Port
	}
	imapPort, pop3Port := free(), free()
	home := filepath.Join(dir, "home", user)
	maildir := filepath.Join(home, "Maildir")
	for _, d := range []string{"", ".Drafts", ".Junk", ".Sent", ".Trash"} {
		for _, sub := range []string{"cur", "new", "tmp"} {
			if err := os.MkdirAll(filepath.Join(maildir, d, sub), 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	os.WriteFile(filepath.Join(maildir, "subscriptions"), nil, 0o644)
	if out, err := exec.Command("chown", "-R", "nobody", filepath.Join(dir, "home")).CombinedOutput(); err != nil {
		t.Fatalf("chown: %v %s", err, out)
	}
	passwd := fmt.Sprintf("%s:{PLAIN}%s:65534:65534::%s\n", user, password, home)
	if err := os.WriteFile(filepath.Join(dir, "passwd"), []byte(passwd), 0o644); err != nil {
		t.Fatal(err)
	}
	ssl := "ssl = no\n"
	if _, err := os.Stat("/etc/ssl/private/ssl-cert-snakeoil.key"); err == nil {
		ssl = "ssl = yes\nssl_cert = </etc/ssl/certs/ssl-cert-snakeoil.pem\nssl_key = </etc/ssl/private/ssl-cert-snakeoil.key\n"
	}
	conf := fmt.Sprintf(`base_dir = %[1]s/run
state_dir = %[1]s/state
log_path = %[1]s/log
protocols = imap pop3
listen = 127.0.0.1
%[2]sdisable_plaintext_auth = no
auth_mechanisms = plain login
passdb {
  driver = passwd-file
  args = %[1]s/passwd
}
userdb {
  driver = passwd-file
  args = %[1]s/passwd
}
mail_location = maildir:~/Maildir
namespace inbox {
  inbox = yes
  separator = .
  mailbox Drafts {
    special_use = \Drafts
  }
  mailbox Junk {
    special_use = \Junk
  }
  mailbox Sent {
    special_use = \Sent
  }
  mailbox Trash {
    special_use = \Trash
  }
}
service imap-login {
  inet_listener imap {
    port = %[3]d
  }
  inet_listener imaps {
    port = 0
  }
}
service pop3-login {
  inet_listener pop3 {
    port = %[4]d
  }
  inet_listener pop3s {
    port = 0
  }
}
`, dir, ssl, imapPort, pop3Port)
	for _, d := range []string{"run", "state"} {
		os.MkdirAll(filepath.Join(dir, d), 0o755)
	}
	cfg := filepath.Join(dir, "dovecot.conf")
	if err := os.WriteFile(cfg, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	// Dovecot's daemons keep the output open: no pipes to wait on.
	if err := exec.Command(bin, "-c", cfg).Run(); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "log"))
		t.Fatalf("dovecot: %v\n%s", err, log)
	}
	t.Cleanup(func() { exec.Command(bin, "-c", cfg, "stop").Run() })
	d := &Dovecot{IMAP: "127.0.0.1:" + strconv.Itoa(imapPort), POP3: "127.0.0.1:" + strconv.Itoa(pop3Port), Maildir: maildir}
	for _, a := range []string{d.IMAP, d.POP3} {
		testenv.Eventually(t, 10*time.Second, "Dovecot to listen on "+a, func() bool {
			c, err := net.DialTimeout("tcp", a, time.Second)
			if err == nil {
				c.Close()
			}
			return err == nil
		})
	}
	return d
}

// Converse sends each command in turn and returns the server's whole reply
// to each, the greeting first, so the replies of a decky and of the real
// product line up. complete says when a reply is whole, given the command
// it answers ("" for the greeting) and the lines so far.
func Converse(t testing.TB, addr string, cmds []string, complete func(cmd, reply string) bool) []string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(90 * time.Second))
	br := bufio.NewReader(c)
	read := func(cmd string) string {
		var b strings.Builder
		for {
			line, err := br.ReadString('\n')
			b.WriteString(line)
			if err != nil || complete(cmd, b.String()) {
				return b.String()
			}
		}
	}
	out := []string{read("")}
	for _, cmd := range cmds {
		if _, err := c.Write([]byte(cmd + "\r\n")); err != nil {
			t.Errorf("%s: %v after %q", addr, err, out)
			return out
		}
		out = append(out, read(cmd))
	}
	return out
}

// GreetingTimes times connect to first byte n times, as potsnitch's timing
// probes do (honeyd.py's uniform_timing flags a port whose answers all
// come within a millisecond of each other), and returns the times sorted.
func GreetingTimes(t testing.TB, addr string, n int) []time.Duration {
	t.Helper()
	var out []time.Duration
	for range n {
		start := time.Now()
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Read(make([]byte, 256)); err != nil {
			t.Fatal(err)
		}
		out = append(out, time.Since(start))
		c.Close()
	}
	slices.Sort(out)
	return out
}

// GreetsLikeDovecot fails t unless the greetings at decky come as late
// and as spread as Dovecot's at real: a median at least half of
// Dovecot's, a spread over potsnitch's millisecond.
func GreetsLikeDovecot(t testing.TB, real, decky string) {
	t.Helper()
	const n = 15
	rs, ds := GreetingTimes(t, real, n), GreetingTimes(t, decky, n)
	t.Logf("greeting after: Dovecot %v; decky %v", rs, ds)
	// Half the real median, capped at 5 ms: a loaded machine slows the real
	// process start more than the decky's timer, and no decky without the
	// delay reaches 5 ms.
	if ds[n/2] < min(rs[n/2]/2, 5*time.Millisecond) {
		t.Errorf("the decky greets after %v (median), Dovecot after %v: its login process start is missing", ds[n/2], rs[n/2])
	}
	if spread := ds[n-1] - ds[0]; spread < time.Millisecond {
		t.Errorf("the decky's greeting times spread %v: potsnitch's uniform_timing", spread)
	}
}
