package pop3

import (
	"net"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/service/mailbox"
	"github.com/decnet/decnet/internal/service/servicetest"
	"github.com/decnet/decnet/internal/testenv"
)

const user, password = "alice", "Spring2024!"

func start(t testing.TB) *servicetest.Running {
	return servicetest.Start(t, "pop3", Port, servicetest.Options{Distro: "debian", Hostname: "mail.corp.example",
		Config: map[string]any{"users": []any{user + ":" + password}}})
}

// pop3Reply is whole after one line, or at the "." of a multi-line answer.
func pop3Reply(cmd, reply string) bool {
	verb, arg, _ := strings.Cut(strings.ToUpper(cmd), " ")
	multi := verb == "CAPA" || verb == "RETR" || verb == "TOP" || (verb == "LIST" || verb == "UIDL" || verb == "AUTH") && arg == ""
	if !multi || !strings.HasPrefix(reply, "+OK") {
		return strings.HasSuffix(reply, "\r\n")
	}
	return strings.HasSuffix(reply, "\r\n.\r\n")
}

// TestRepliesAsDebianDovecot holds one conversation with Debian's Dovecot
// and with a Debian decky and wants the same replies line for line; the
// mailbox's content aside (the decky's holds bait), which is checked for
// its form.
func TestRepliesAsDebianDovecot(t *testing.T) {
	real := servicetest.StartDovecot(t, user, password)
	r := start(t)
	cmds := []string{
		"CAPA",
		"PASS x",
		"USER bob",
		"PASS hunter2",
		"AUTH",
		"AUTH PLAIN AGJvYgBodW50ZXIy",
		"AUTH CRAM-MD5",
		"APOP alice 0123456789abcdef",
		"NOOP",
		"USER " + user,
		"PASS " + password,
		"CAPA",
		"LIST 99",
		"RETR 99",
		"TOP 99 0",
		"DELE 99",
		"UIDL x",
		"NOOP",
		"RSET",
		"BLAH",
		"QUIT",
	}
	want := servicetest.Converse(t, real.POP3, cmds, pop3Reply)
	got := servicetest.Converse(t, r.HostPort(Port), cmds, pop3Reply)
	for i := range want {
		step := "greeting"
		if i > 0 {
			step = cmds[i-1]
		}
		if i >= len(got) || got[i] != want[i] {
			g := ""
			if i < len(got) {
				g = got[i]
			}
			t.Errorf("%s:\n dovecot: %q\n decky:   %q", step, want[i], g)
		}
	}
	// Bad commands before login end the session as Dovecot ends it.
	bad := []string{"FOO", "BAR", "BAZ", "QUX"}
	want = servicetest.Converse(t, real.POP3, bad, pop3Reply)
	got = servicetest.Converse(t, r.HostPort(Port), bad, pop3Reply)
	if strings.Join(got, "") != strings.Join(want, "") {
		t.Errorf("bad commands:\n dovecot: %q\n decky:   %q", want, got)
	}
}

// TestNmapNamesAsDebianDovecot: nmap -sV says of the decky what it says of
// Debian's Dovecot.
func TestNmapNamesAsDebianDovecot(t *testing.T) {
	real := servicetest.StartDovecot(t, user, password)
	r := start(t)
	rh, rp, _ := net.SplitHostPort(real.POP3)
	want := testenv.NmapService(t, rh, rp)
	got := testenv.NmapService(t, r.Addr.String(), r.Port(Port))
	t.Logf("nmap -sV: Dovecot %q, decky %q", want, got)
	if got != want || !strings.Contains(got, "Dovecot pop3d") {
		t.Fatalf("nmap -sV differs:\n dovecot: %s\n decky:   %s", want, got)
	}
}

// TestBaitMailbox: STAT, LIST and UIDL agree on the bait, TOP and RETR
// give its messages, and DELE lasts for the session only.
func TestBaitMailbox(t *testing.T) {
	r := start(t)
	cmds := []string{"USER " + user, "PASS " + password, "STAT", "LIST", "UIDL", "TOP 1 0", "RETR 2", "DELE 1", "RETR 1", "STAT", "QUIT"}
	got := servicetest.Converse(t, r.HostPort(Port), cmds, pop3Reply)
	if len(got) != len(cmds)+1 {
		t.Fatalf("conversation cut: %q", got)
	}
	stat := regexp.MustCompile(`^\+OK (\d+) (\d+)\r\n$`).FindStringSubmatch(got[3])
	if stat == nil || stat[1] == "0" {
		t.Fatalf("STAT: %q", got[3])
	}
	if !strings.HasPrefix(got[4], "+OK "+stat[1]+" messages:\r\n1 ") || !regexp.MustCompile(`\r\n1 [0-9a-f]{16}\r\n`).MatchString(got[5]) {
		t.Fatalf("LIST/UIDL: %q %q", got[4], got[5])
	}
	if !strings.Contains(got[6], "\r\nSubject: ") || strings.Contains(got[6], "\r\n\r\nHi") {
		t.Fatalf("TOP 1 0: %q", got[6])
	}
	if !regexp.MustCompile(`^\+OK \d+ octets\r\n`).MatchString(got[7]) || !strings.Contains(got[7], "\r\n\r\n") {
		t.Fatalf("RETR 2: %q", got[7])
	}
	if got[8] != "+OK Marked to be deleted.\r\n" || got[9] != "-ERR Message is deleted.\r\n" || strings.HasPrefix(got[10], "+OK "+stat[1]+" ") {
		t.Fatalf("DELE: %q %q %q", got[8], got[9], got[10])
	}
	again := servicetest.Converse(t, r.HostPort(Port), []string{"USER " + user, "PASS " + password, "STAT"}, pop3Reply)
	if again[3] != got[3] {
		t.Fatalf("a deletion outlived its session: %q then %q", got[3], again[3])
	}
	read, ok := r.Events.Wait(5*time.Second, event.OfType("pop3.message.read"))
	if !ok || read.Fields["subject"] == "" {
		t.Fatalf("read event: %v", read.Fields)
	}
}

// TestCurlRetrievesOverTLS: curl logs in with STLS and retrieves message 1;
// the password and the TLS fingerprint are reported.
func TestCurlRetrievesOverTLS(t *testing.T) {
	curl := testenv.RequireTool(t, "curl")
	r := start(t)
	out, err := exec.Command(curl, "-sS", "--max-time", "20", "--ssl-reqd", "-k", "-u", user+":"+password, "pop3://"+r.HostPort(Port)+"/1").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Subject: ") {
		t.Fatalf("curl: %v\n%s", err, out)
	}
	login, ok := r.Events.Wait(5*time.Second, event.OfType("pop3.login.success"))
	if !ok || login.Credential.SecretText != password {
		t.Fatalf("login event: %+v", login.Credential)
	}
	if _, ok := r.Events.Wait(5*time.Second, event.OfType("pop3.tls.handshake")); !ok {
		t.Fatal("no tls.handshake after STLS")
	}
}

func FuzzTop(f *testing.F) {
	f.Add([]byte("Subject: x\r\n\r\n.a\r\nb\r\n"), 1)
	f.Add([]byte("no header end"), 3)
	f.Fuzz(func(t *testing.T, raw []byte, n int) {
		out := dotStuff(top(raw, n%100))
		if !strings.HasSuffix(string(out), "\r\n") {
			t.Fatalf("unterminated: %q", out)
		}
	})
}

// TestNmapNamesCourier: product = courier is named Courier pop3d.
func TestNmapNamesCourier(t *testing.T) {
	r := servicetest.Start(t, "pop3", Port, servicetest.Options{Distro: "debian", Config: map[string]any{"product": "courier"}})
	if got := testenv.NmapService(t, r.Addr.String(), r.Port(Port)); !strings.Contains(got, "Courier pop3d") {
		t.Fatalf("nmap -sV: %s", got)
	}
}

// FuzzSession: whatever a client sends, no handler panics.
func FuzzSession(f *testing.F) {
	mailbox.FailureDelay = 0 // mutated logins fail: do not wait on each
	f.Cleanup(func() { mailbox.FailureDelay = 2 * time.Second })
	spawn := mailbox.SpawnDelay
	mailbox.SpawnDelay = func() time.Duration { return 0 }
	f.Cleanup(func() { mailbox.SpawnDelay = spawn })
	r := start(f)
	login := "USER " + user + "\r\nPASS " + password + "\r\n"
	servicetest.FuzzSession(f, r, Port,
		login+"STAT\r\nLIST\r\nUIDL 1\r\nTOP 1 -1\r\nTOP 1 3\r\nRETR 0\r\nRETR 1\r\nDELE 1\r\nRETR 1\r\nRSET\r\nQUIT\r\n",
		"CAPA\r\nAUTH\r\nAUTH PLAIN\r\n*\r\nUSER\r\nPASS\r\nSTLS x\r\n",
		login+"LIST 99999999999999999999\r\nTOP x y\r\n\x00\xff\r\n",
	)
}

// TestGreetingTimingLikeDovecot: the greeting comes after a delay spread
// like Debian's Dovecot's, which starts a pop3-login process for every
// connection, not within the same tenth of a millisecond every time.
func TestGreetingTimingLikeDovecot(t *testing.T) {
	real := servicetest.StartDovecot(t, user, password)
	r := start(t)
	servicetest.GreetsLikeDovecot(t, real.POP3, r.HostPort(Port))
}
