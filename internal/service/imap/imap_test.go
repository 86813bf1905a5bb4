package imap

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
	return servicetest.Start(t, "imap", Port, servicetest.Options{Distro: "debian", Hostname: "mail.corp.example",
		Config: map[string]any{"users": []any{user + ":" + password}}})
}

var tagged = regexp.MustCompile(`^[^*+ ]+ (OK|NO|BAD) `)

// imapReply is whole at a tagged line, a continuation or BYE.
func imapReply(cmd, reply string) bool {
	for _, l := range strings.Split(reply, "\r\n") {
		if cmd == "" && l != "" || strings.HasPrefix(l, "+ ") || strings.HasPrefix(l, "* BYE") || tagged.MatchString(l) {
			return true
		}
	}
	return false
}

var (
	timings  = regexp.MustCompile(`\(\d\.\d{3} \+ \d\.\d{3}( \+ \d\.\d{3})? secs\)`)
	validity = regexp.MustCompile(`UIDVALIDITY \d+`)
)

// TestRepliesAsDebianDovecot holds one conversation with Debian's Dovecot
// and with a Debian decky, a failed and an accepted login, bad commands
// and the mailbox commands on an empty folder included, and wants the same
// replies line for line (timings and UIDVALIDITY aside).
func TestRepliesAsDebianDovecot(t *testing.T) {
	real := servicetest.StartDovecot(t, user, password)
	r := start(t)
	cmds := []string{
		"a1 CAPABILITY",
		"a2 ID NIL",
		"a3 NOOP",
		"a4 LOGIN bob hunter2",
		"a5 AUTHENTICATE PLAIN AGJvYgBodW50ZXIy",
		"a6 AUTHENTICATE CRAM-MD5",
		"a7 AUTHENTICATE LOGIN",
		"Ym9i",
		"aHVudGVyMg==",
		"a8 SELECT INBOX",
		"b1 LOGIN " + user + " \"" + password + "\"",
		"b2 CAPABILITY",
		"b3 NAMESPACE",
		`b4 LIST "" "*"`,
		`b5 LIST "" "%"`,
		`b6 LIST "" ""`,
		`b7 LSUB "" "*"`,
		"b8 STATUS Trash (MESSAGES UIDNEXT UNSEEN)",
		"b9 EXAMINE Nope",
		"c1 SELECT Trash",
		"c2 SEARCH ALL",
		"c3 XYZZY",
		"c4 UNSELECT",
		"c5 CLOSE",
		"c6 EXAMINE Sent",
		"c7 CLOSE",
		"c8 LOGOUT",
	}
	want := servicetest.Converse(t, real.IMAP, cmds, imapReply)
	got := servicetest.Converse(t, r.HostPort(Port), cmds, imapReply)
	norm := func(s string) string {
		return validity.ReplaceAllString(timings.ReplaceAllString(s, "(T)"), "UIDVALIDITY N")
	}
	for i := range want {
		step := "greeting"
		if i > 0 {
			step = cmds[i-1]
		}
		if i >= len(got) || norm(got[i]) != norm(want[i]) {
			g := ""
			if i < len(got) {
				g = got[i]
			}
			t.Errorf("%s:\n dovecot: %q\n decky:   %q", step, want[i], g)
		}
	}
	for _, typ := range []string{"imap.login.failed", "imap.login.success"} {
		if _, ok := r.Events.Wait(5*time.Second, event.OfType(typ)); !ok {
			t.Errorf("no %s event", typ)
		}
	}
}

// TestNmapNamesAsDebianDovecot: nmap -sV says of the decky what it says of
// Debian's Dovecot.
func TestNmapNamesAsDebianDovecot(t *testing.T) {
	real := servicetest.StartDovecot(t, user, password)
	r := start(t)
	rh, rp, _ := net.SplitHostPort(real.IMAP)
	want := testenv.NmapService(t, rh, rp)
	got := testenv.NmapService(t, r.Addr.String(), r.Port(Port))
	t.Logf("nmap -sV: Dovecot %q, decky %q", want, got)
	if got != want || !strings.Contains(got, "Dovecot imapd") {
		t.Fatalf("nmap -sV differs:\n dovecot: %s\n decky:   %s", want, got)
	}
}

// TestCurlReadsBaitMail: curl logs in, lists INBOX and fetches a bait
// message over STARTTLS; the login's password and the read are reported.
func TestCurlReadsBaitMail(t *testing.T) {
	curl := testenv.RequireTool(t, "curl")
	r := start(t)
	base := "imap://" + r.HostPort(Port) + "/"
	run := func(args ...string) string {
		out, err := exec.Command(curl, append([]string{"-sS", "--max-time", "20", "-u", user + ":" + password}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("curl %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	list := run(base)
	if !strings.Contains(list, `* LIST (\HasNoChildren) "." INBOX`) || !strings.Contains(list, `\Sent) "." Sent`) {
		t.Fatalf("LIST:\n%s", list)
	}
	search := run(base+"INBOX", "-X", "SEARCH ALL")
	if !strings.HasPrefix(search, "* SEARCH 1 2") {
		t.Fatalf("SEARCH: %q", search)
	}
	msg := run("--ssl-reqd", "-k", base+"INBOX;UID=1")
	if !strings.Contains(msg, "Subject: ") || !strings.Contains(msg, "@corp.example") || !strings.Contains(msg, "Received: from ") {
		t.Fatalf("message 1:\n%s", msg)
	}
	login, ok := r.Events.Wait(5*time.Second, event.OfType("imap.login.success"))
	if !ok || login.Credential.Principal != user || login.Credential.SecretText != password {
		t.Fatalf("login event: %+v", login.Credential)
	}
	if _, ok := r.Events.Wait(5*time.Second, event.OfType("imap.tls.handshake")); !ok {
		t.Fatal("no tls.handshake after STARTTLS")
	}
	read, ok := r.Events.Wait(5*time.Second, event.OfType("imap.message.read"))
	if !ok || read.Fields["uid"] != float64(1) && read.Fields["uid"] != 1 {
		t.Fatalf("read event: %v", read.Fields)
	}
}

// TestBaitDiffersPerDecky: two deckies' mailboxes for the same user are not
// the same mail, and one decky serves the same mail on every connection.
func TestBaitDiffersPerDecky(t *testing.T) {
	fetch := func(r *servicetest.Running) string {
		out := servicetest.Exchange(t, r.HostPort(Port), "a LOGIN "+user+" "+password+"\r\nb SELECT INBOX\r\nc FETCH 1:* (BODY.PEEK[HEADER.FIELDS (SUBJECT MESSAGE-ID)])\r\nd LOGOUT\r\n", 10*time.Second)
		return timings.ReplaceAllString(out, "")
	}
	a := start(t)
	first, again := fetch(a), fetch(a)
	if !strings.Contains(first, "Message-ID: <") || first != again {
		t.Fatalf("one decky's mail changed between connections:\n%s\n---\n%s", first, again)
	}
	b := servicetest.Start(t, "imap", Port, servicetest.Options{Distro: "debian", Hostname: "mail.corp.example",
		Config: map[string]any{"users": []any{user + ":" + password}}})
	if fetch(b) == first {
		t.Fatal("two deckies serve the same bait mail")
	}
}

func FuzzParseArgs(f *testing.F) {
	for _, s := range []string{`"" "*"`, `1:* (FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)]<0.10>)`, `INBOX (\Seen) "x" ` + "\x00", `((((a))))`, `"a\"b" NIL`, `BODY[`, `)`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		items, err := parseArgs(s, [][]byte{[]byte("lit")})
		if err == nil {
			for _, it := range items {
				_ = it.String()
			}
		}
		literalSize(s)
		parseSeqSet(s, 10)
		if sec, ok := parseSection(s); ok {
			sec.content([]byte("Subject: x\r\n\r\nbody"))
		}
	})
}

func FuzzBodyStructure(f *testing.F) {
	f.Add("Subject: x\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\nhi\r\n--B\r\nContent-Disposition: attachment; filename=a.exe\r\n\r\nMZ\r\n--B--\r\n")
	f.Add("From: \"A\" <a@b>\r\nTo: c@d, e@f\r\n\r\nbody")
	f.Fuzz(func(t *testing.T, raw string) {
		bodyStructure([]byte(raw), 0)
		envelope([]byte(raw))
	})
}

// TestNmapNamesCourier: product = courier is named Courier-IMAP.
func TestNmapNamesCourier(t *testing.T) {
	r := servicetest.Start(t, "imap", Port, servicetest.Options{Distro: "debian", Config: map[string]any{"product": "courier"}})
	if got := testenv.NmapService(t, r.Addr.String(), r.Port(Port)); !strings.Contains(got, "Courier Imapd") {
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
	r := servicetest.Start(f, "imap", Port, servicetest.Options{Distro: "debian", Hostname: "mail.corp.example",
		Config: map[string]any{"users": []any{user + ":" + password}}})
	login := "a LOGIN " + user + " " + password + "\r\n"
	servicetest.FuzzSession(f, r, Port,
		login+"b SELECT INBOX\r\nc FETCH 1:* (FLAGS UID ENVELOPE BODYSTRUCTURE BODY.PEEK[HEADER.FIELDS (SUBJECT)]<0.20> RFC822.SIZE)\r\nd UID SEARCH OR UNSEEN (FROM \"x\" SINCE 1-Jan-2020)\r\n",
		login+"b SELECT INBOX\r\nc STORE 1:3 +FLAGS (\\Deleted)\r\nd EXPUNGE\r\ne MOVE 1 Trash\r\nf APPEND Drafts (\\Seen) {5+}\r\nhello\r\ng UID COPY 1:* Sent\r\n",
		login+"b LIST \"\" \"*%*%\"\r\nc STATUS INBOX (MESSAGES UNSEEN)\r\nd IDLE\r\nDONE\r\ne CREATE a.b\r\nf RENAME a.b c\r\ng DELETE c\r\n",
		"a AUTHENTICATE PLAIN {3}\r\n\x00\x00\x00\r\nb ((((\r\n* x\r\n\x00\r\n",
	)
}

func TestMatch(t *testing.T) {
	for _, tc := range []struct {
		pattern, name string
		want          bool
	}{
		{"*", "INBOX", true}, {"%", "INBOX", true}, {"%", "a.b", false}, {"*", "a.b", true},
		{"inbox", "INBOX", true}, {"I*X", "INBOX", true}, {"I%.b", "Ia.b", true}, {"", "", true}, {"", "x", false},
		{"*%*%*%*%*%*%*%*%x", strings.Repeat("a", 128), false},
	} {
		if got := match(tc.pattern, tc.name); got != tc.want {
			t.Errorf("match(%q, %q) = %v", tc.pattern, tc.name, got)
		}
	}
}

// TestGreetingTimingLikeDovecot: the greeting comes after a delay spread
// like Debian's Dovecot's, which starts a imap-login process for every
// connection, not within the same tenth of a millisecond every time.
func TestGreetingTimingLikeDovecot(t *testing.T) {
	real := servicetest.StartDovecot(t, user, password)
	r := start(t)
	servicetest.GreetsLikeDovecot(t, real.IMAP, r.HostPort(Port))
}
