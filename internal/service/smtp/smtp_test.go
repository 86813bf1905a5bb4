package smtp

import (
	"bufio"
	"crypto/hmac"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/service/servicetest"
	"github.com/decnet/decnet/internal/testenv"
)

func swaks(t *testing.T, args ...string) string {
	t.Helper()
	bin := testenv.RequireTool(t, "swaks")
	out, _ := exec.Command(bin, append([]string{"--timeout", "15"}, args...)...).CombinedOutput()
	return string(out)
}

func TestSwaksAuthAndRelay(t *testing.T) {
	r := servicetest.Start(t, "smtp", Port, servicetest.Options{Distro: "debian", Hostname: "mail.corp.example",
		Config: map[string]any{"users": []any{"alice:Spring2024!"}}})
	addr := r.Addr.String()
	// AUTH LOGIN with a wrong password: captured in plaintext, refused as
	// Postfix refuses it.
	out := swaks(t, "--server", addr, "--port", r.Port(Port), "--auth", "LOGIN", "--auth-user", "bob", "--auth-password", "hunter2",
		"--to", "alice@corp.example", "--quit-after", "AUTH")
	if !strings.Contains(out, "<-  220 mail.corp.example ESMTP Postfix (Debian/GNU)") ||
		!strings.Contains(out, "<** 535 5.7.8 Error: authentication failed: authentication failure") {
		t.Fatalf("swaks AUTH LOGIN transcript:\n%s", out)
	}
	e, ok := r.Events.Wait(5*time.Second, event.OfType("smtp.login.failed"))
	if !ok || e.Credential.Principal != "bob" || e.Credential.SecretText != "hunter2" || e.Fields["mechanism"] != "LOGIN" {
		t.Fatalf("login event: %+v %v", e.Credential, e.Fields)
	}
	// The configured account gets in with AUTH PLAIN and may relay.
	out = swaks(t, "--server", addr, "--port", r.Port(Port), "--tls", "--auth", "PLAIN", "--auth-user", "alice", "--auth-password", "Spring2024!",
		"--from", "alice@corp.example", "--to", "victim@example.org", "--header", "Subject: quarterly numbers")
	if !strings.Contains(out, "235 2.7.0 Authentication successful") || !strings.Contains(out, "250 2.0.0 Ok: queued as ") {
		t.Fatalf("swaks authenticated relay:\n%s", out)
	}
	if _, ok := r.Events.Wait(5*time.Second, event.OfType("smtp.tls.handshake")); !ok {
		t.Fatal("no tls.handshake event after STARTTLS")
	}
	msg, ok := r.Events.Wait(5*time.Second, event.OfType("smtp.message.received"))
	if !ok || msg.Fields["subject"] != "quarterly numbers" || msg.Fields["relay"] != true {
		t.Fatalf("message event: %v", msg.Fields)
	}
	data, err := os.ReadFile(filepath.Join(r.QuarDir, msg.Fields["sha256"].(string)))
	if err != nil || !strings.Contains(string(data), "Subject: quarterly numbers") {
		t.Fatalf("message not quarantined whole: %v", err)
	}
	// Unauthenticated relaying is refused as Postfix refuses it.
	out = swaks(t, "--server", addr, "--port", r.Port(Port), "--from", "x@example.net", "--to", "someone@example.org")
	if !strings.Contains(out, "<** 454 4.7.1 <someone@example.org>: Relay access denied") {
		t.Fatalf("relay attempt:\n%s", out)
	}
	if e, ok := r.Events.Wait(5*time.Second, event.OfType("smtp.rcpt.refused")); !ok || e.Fields["reason"] != "relay_denied" {
		t.Fatalf("relay refusal event: %v", e.Fields)
	}
}

// TestCRAMMD5CrackLine verifies the captured CRAM-MD5 line against the
// password the client used.
func TestCRAMMD5CrackLine(t *testing.T) {
	r := servicetest.Start(t, "smtp", Port, servicetest.Options{Distro: "debian"})
	out := swaks(t, "--server", r.Addr.String(), "--port", r.Port(Port), "--auth", "CRAM-MD5", "--auth-user", "admin", "--auth-password", "P@ssw0rd",
		"--quit-after", "AUTH")
	if !strings.Contains(out, "535 5.7.8") {
		t.Fatalf("swaks CRAM-MD5:\n%s", out)
	}
	e, ok := r.Events.Wait(5*time.Second, event.OfType("smtp.login.failed"))
	if !ok || e.Credential.CrackMode != 16400 {
		t.Fatalf("cram-md5 event: %+v", e.Credential)
	}
	parts := strings.Split(e.Credential.CrackLine, "$")
	chal, _ := base64.StdEncoding.DecodeString(parts[2])
	resp, _ := base64.StdEncoding.DecodeString(parts[3])
	mac := hmac.New(md5.New, []byte("P@ssw0rd"))
	mac.Write(chal)
	if want := "admin " + hex.EncodeToString(mac.Sum(nil)); string(resp) != want {
		t.Fatalf("crack line %q does not verify: response %q, want %q", e.Credential.CrackLine, resp, want)
	}
}

// upstream is a minimal SMTP receiver standing for the relay's upstream.
type upstream struct {
	l    net.Listener
	mu   sync.Mutex
	msgs []string
}

func startUpstream(t *testing.T) *upstream {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := &upstream{l: l}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go u.serve(c)
		}
	}()
	return u
}

func (u *upstream) serve(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	fmt.Fprint(c, "220 upstream ESMTP\r\n")
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		switch cmd := strings.ToUpper(strings.Fields(line + " x")[0]); cmd {
		case "EHLO", "HELO":
			fmt.Fprint(c, "250 upstream\r\n")
		case "DATA":
			fmt.Fprint(c, "354 go\r\n")
			var b strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil || l == ".\r\n" {
					break
				}
				b.WriteString(l)
			}
			u.mu.Lock()
			u.msgs = append(u.msgs, b.String())
			u.mu.Unlock()
			fmt.Fprint(c, "250 queued\r\n")
		case "QUIT":
			fmt.Fprint(c, "221 bye\r\n")
			return
		default:
			fmt.Fprint(c, "250 ok\r\n")
		}
	}
}

func (u *upstream) count() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.msgs)
}

// TestOpenRelayProbeLimit: the open relay takes every message and delivers
// none but the first probe of a source, to the configured upstream.
func TestOpenRelayProbeLimit(t *testing.T) {
	up := startUpstream(t)
	host, port, _ := net.SplitHostPort(up.l.Addr().String())
	r := servicetest.Start(t, "smtp_relay", Port, servicetest.Options{Distro: "ubuntu22", Hostname: "mx1",
		Config: map[string]any{"upstream_host": host, "upstream_port": mustAtoi(port), "probe_limit": int64(1)}})
	for i := range 3 {
		out := swaks(t, "--server", r.Addr.String(), "--port", r.Port(Port), "--from", "tester@relay-check.example",
			"--to", fmt.Sprintf("probe%d@relay-check.example", i), "--header", fmt.Sprintf("Subject: relay test %d", i))
		if !strings.Contains(out, "250 2.0.0 Ok: queued as ") || !strings.Contains(out, "220 mx1.localdomain ESMTP Postfix (Ubuntu)") {
			t.Fatalf("message %d through the relay:\n%s", i, out)
		}
	}
	testenv.Eventually(t, 10*time.Second, "three message events", func() bool {
		n := 0
		for _, e := range r.Events.Events() {
			if e.Type == "smtp.message.received" {
				n++
			}
		}
		return n == 3
	})
	if n := up.count(); n != 1 || !strings.Contains(up.msgs[0], "Subject: relay test 0") {
		t.Fatalf("upstream got %d messages, want exactly the first probe: %q", n, up.msgs)
	}
	forwarded := 0
	for _, e := range r.Events.Events() {
		if e.Type == "smtp.message.received" && e.Fields["probe_forwarded"] == true {
			forwarded++
		}
	}
	if forwarded != 1 {
		t.Fatalf("%d messages marked forwarded, want 1", forwarded)
	}
}

func mustAtoi(s string) int64 {
	var n int64
	fmt.Sscan(s, &n)
	return n
}

// TestCurlSendsAttachment sends a message with an attachment with curl:
// the message and the attachment are quarantined, nothing is delivered.
func TestCurlSendsAttachment(t *testing.T) {
	curl := testenv.RequireTool(t, "curl")
	r := servicetest.Start(t, "smtp", Port, servicetest.Options{Distro: "debian", Hostname: "mail.corp.example"})
	dir := t.TempDir()
	body := "From: a@corp.example\r\nTo: info@corp.example\r\nSubject: invoice\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=XX\r\n\r\n--XX\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n" +
		"--XX\r\nContent-Type: application/octet-stream; name=\"inv.exe\"\r\nContent-Disposition: attachment; filename=\"inv.exe\"\r\n" +
		"Content-Transfer-Encoding: base64\r\n\r\n" + base64.StdEncoding.EncodeToString([]byte("MZ\x90\x00payload")) + "\r\n--XX--\r\n"
	file := filepath.Join(dir, "m.eml")
	os.WriteFile(file, []byte(body), 0o600)
	out, err := exec.Command(curl, "-sS", "--max-time", "15", "smtp://"+r.HostPort(Port), "--mail-from", "a@corp.example",
		"--mail-rcpt", "info@corp.example", "--upload-file", file).CombinedOutput()
	if err != nil {
		t.Fatalf("curl smtp: %v %s", err, out)
	}
	e, ok := r.Events.Wait(5*time.Second, event.OfType("smtp.message.received"))
	if !ok {
		t.Fatal("no message event")
	}
	atts, _ := e.Fields["attachments"].([]any)
	if len(atts) != 1 {
		t.Fatalf("attachments: %v", e.Fields)
	}
	a := atts[0].(map[string]any)
	data, err := os.ReadFile(filepath.Join(r.QuarDir, a["sha256"].(string)))
	if a["name"] != "inv.exe" || err != nil || string(data) != "MZ\x90\x00payload" {
		t.Fatalf("attachment %v not quarantined decoded: %v %q", a, err, data)
	}
}

func FuzzAddress(f *testing.F) {
	for _, s := range []string{"FROM:<a@b>", "FROM: <a@b> SIZE=10", "TO:<>", "FROM:<", "to:x@y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		address(s, "FROM:")
		address(s, "TO:")
	})
}

func FuzzRecord(f *testing.F) {
	f.Add("Subject: x\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\nContent-Disposition: attachment; filename=a\r\n\r\nx\r\n--B--\r\n")
	s := &Server{log: slog.New(slog.DiscardHandler)}
	f.Fuzz(func(t *testing.T, raw string) {
		s.record(&session{}, []byte(raw))
	})
}

// TestNmapNamesEachMTA: the Exim and Exchange personas are named as those
// products, with Exim's version.
func TestNmapNamesEachMTA(t *testing.T) {
	for _, tc := range []struct{ mta, distro, os, want string }{
		{"exim", "debian", "linux", "Exim smtpd 4.96"},
		{"exchange", "win2019", "windows_server", "Microsoft Exchange smtpd"},
	} {
		t.Run(tc.mta, func(t *testing.T) {
			r := servicetest.Start(t, "smtp", Port, servicetest.Options{OS: tc.os, Distro: tc.distro, Hostname: "mx1.corp.example",
				Config: map[string]any{"mta": tc.mta}})
			got := testenv.NmapService(t, r.Addr.String(), r.Port(Port))
			if !strings.Contains(got, tc.want) {
				t.Fatalf("nmap -sV on the %s persona: %s", tc.mta, got)
			}
		})
	}
}

// FuzzSession: whatever a client sends, no handler panics.
func FuzzSession(f *testing.F) {
	r := servicetest.Start(f, "smtp", Port, servicetest.Options{Distro: "debian", Hostname: "mail.corp.example",
		Config: map[string]any{"users": []any{"alice:pw"}}})
	servicetest.FuzzSession(f, r, Port,
		"EHLO x\r\nMAIL FROM:<a@b> SIZE=10\r\nRCPT TO:<postmaster@corp.example>\r\nDATA\r\nSubject: x\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\n\r\nhi\r\n--B--\r\n.\r\nQUIT\r\n",
		"HELO\r\nMAIL FROM:<\r\nRCPT TO:\r\nDATA\r\nVRFY\r\nSTARTTLS x\r\nBDAT 10\r\n",
		"EHLO x\r\nAUTH PLAIN AGFsaWNlAHB3\r\nMAIL FROM:<>\r\nRCPT TO:<x@example.org>\r\nRSET\r\nNOOP\r\n",
		"\x00\xff\r\n\r\n"+strings.Repeat("A", 3000)+"\r\nQUIT\r\n",
	)
}
