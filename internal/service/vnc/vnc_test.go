package vnc

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"image/jpeg"
	"io"
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
	"github.com/decnet/decnet/internal/service/servicetest"
	"github.com/decnet/decnet/internal/testenv"
)

// startXvnc runs Debian's TigerVNC Xvnc with password secret on a free
// loopback port, as the reference the decky is compared with.
func startXvnc(t *testing.T, passwdFile string, args ...string) string {
	t.Helper()
	bin := testenv.RequireTool(t, "Xvnc")
	port := testenv.FreePort(t, netip.AddrFrom4([4]byte{127, 0, 0, 1}))
	display := fmt.Sprintf(":%d", 200+port%500)
	cmd := exec.Command(bin, display, "-rfbport", fmt.Sprint(port), "-interface", "127.0.0.1", "-rfbauth", passwdFile,
		"-desktop", "reference:1 (root)", "-nolisten", "tcp")
	cmd.Args = append(cmd.Args, args...)
	t.Cleanup(func() {
		os.Remove("/tmp/.X11-unix/X" + display[1:])
		os.Remove("/tmp/.X" + display[1:] + "-lock")
	})
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	testenv.StartDaemon(t, "Xvnc", cmd, testenv.Dialable(addr))
	return addr
}

// passwdFile writes password in VNC's password file form (DES under the
// fixed key every VNC uses), as vncpasswd -f does.
func passwdFile(t *testing.T, password string) string {
	t.Helper()
	fixed := []byte{23, 82, 107, 6, 35, 78, 88, 7}
	for i, b := range fixed {
		fixed[i] = reverseBits(b)
	}
	plain := make([]byte, 16)
	copy(plain, password)
	enc := vncResponse(fixed, plain)
	path := filepath.Join(t.TempDir(), "passwd")
	if err := os.WriteFile(path, enc[:8], 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func reverseBits(b byte) byte { return desKey(string([]byte{b}))[0] }

// nmapVNC runs nmap -sV with the vnc-info script and returns the port's
// version and the script's lines, the port number left out.
func nmapVNC(t *testing.T, addr string) string {
	t.Helper()
	bin := testenv.RequireTool(t, "nmap")
	host, port, _ := net.SplitHostPort(addr)
	out, err := exec.Command(bin, "-sV", "-Pn", "-n", "-p", port, "--script", "vnc-info", host).CombinedOutput()
	if err != nil {
		t.Fatalf("nmap: %v\n%s", err, out)
	}
	text := string(out)
	if strings.Contains(strings.ToLower(text), "honeypot") {
		t.Fatalf("nmap calls %s a honeypot:\n%s", addr, text)
	}
	var said []string
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, port+"/tcp") {
			said = append(said, strings.Join(strings.Fields(l)[1:], " "))
		} else if strings.HasPrefix(l, "|") {
			said = append(said, l)
		}
	}
	return strings.Join(said, "\n")
}

// The decky and the real TigerVNC look alike to nmap, and answer a wrong
// password, a bad VeNCrypt version and a future RFB version alike.
func TestAgainstRealTigerVNC(t *testing.T) {
	// Both without a blacklist: every probe here fails security, and
	// the comparison is of the answers, not of the lockout.
	ref := startXvnc(t, passwdFile(t, "secret12"), "-BlacklistThreshold", "100000")
	r := servicetest.Start(t, "vnc", Port, servicetest.Options{Config: map[string]any{"password": "secret12", "blacklist_threshold": 0}})
	decky := r.HostPort(Port)
	want, got := nmapVNC(t, ref), nmapVNC(t, decky)
	t.Logf("Xvnc:  %s\ndecky: %s", want, got)
	if want != got || !strings.Contains(got, "VNC (protocol 3.8)") {
		t.Errorf("nmap tells them apart:\nXvnc:\n%s\ndecky:\n%s", want, got)
	}
	zeros := strings.Repeat("00", 16)
	for _, script := range []string{
		"RFB 004.001\n",
		"RFB 003.008\n|02|" + zeros,
		"RFB 003.007\n|02|" + zeros,
		"RFB 003.003\n|" + zeros,
		"RFB 003.005\n|" + zeros,
		"RFB 003.008\n|13|0003",
		"RFB 003.008\n|13|0002|00000002|" + zeros,
	} {
		a, b := rfb(t, ref, script), rfb(t, decky, script)
		if !sameShape(a, b) {
			t.Errorf("%q:\nXvnc:  %x\ndecky: %x", script, a, b)
		}
	}
}

// A source that leaves five times before authenticating is locked out by
// both, at the same connection and with the same words.
func TestLockoutLikeTigerVNC(t *testing.T) {
	ref := startXvnc(t, passwdFile(t, "secret12"))
	r := servicetest.Start(t, "vnc", Port, servicetest.Options{})
	// Each readiness probe is the first quitter: wait until both have
	// counted it (the decky's is counted when its session closes).
	if _, ok := r.Events.Wait(3*time.Second, event.OfType("vnc.session.close")); !ok {
		t.Fatal("the readiness probe's session did not close")
	}
	time.Sleep(200 * time.Millisecond)
	for _, addr := range []string{ref, r.HostPort(Port)} {
		var greetings []string
		for range 6 {
			greetings = append(greetings, servicetest.Exchange(t, addr, "", 300*time.Millisecond))
			time.Sleep(100 * time.Millisecond) // for the server to count the quitter
		}
		// The readiness probe was the first quitter.
		want := "RFB 003.008\n RFB 003.008\n RFB 003.008\n RFB 003.008\n RFB 003.003\n\x00\x00\x00\x00\x00\x00\x00\x1aToo many security failures RFB 003.003\n\x00\x00\x00\x00\x00\x00\x00\x1aToo many security failures"
		if got := strings.Join(greetings, " "); got != want {
			t.Errorf("%s greeted six quitters with %q", addr, got)
		}
	}
	if _, ok := r.Events.Wait(3*time.Second, event.OfType("vnc.source.locked")); !ok {
		t.Fatal("no vnc.source.locked")
	}
	// A locked-out client that speaks first (potsnitch's invalid
	// payloads) gets the refusal and the end of the stream, not a reset.
	for _, addr := range []string{ref, r.HostPort(Port)} {
		for range 3 {
			if end := lockedEnd(t, addr, "\xff\xff\xff\xff"); end != io.EOF {
				t.Errorf("%s: a locked-out client that spoke first read %v after the refusal", addr, end)
			}
		}
	}
}

// lockedEnd connects, sends first, reads to the end and returns how the
// stream ended.
func lockedEnd(t *testing.T, addr, first string) error {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte(first))
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	_, err = io.Copy(io.Discard, c)
	if err == nil {
		return io.EOF
	}
	return err
}

// rfb speaks script (the client's version line, then hex messages split
// by |) after the server's greeting and returns everything answered.
func rfb(t *testing.T, addr, script string) [][]byte {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var out [][]byte
	read := func() { // until the server is quiet for 300ms
		var got []byte
		b := make([]byte, 4096)
		for {
			c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
			n, err := c.Read(b)
			got = append(got, b[:n]...)
			if err != nil {
				break
			}
		}
		out = append(out, got)
	}
	read()
	parts := strings.Split(script, "|")
	c.Write([]byte(parts[0]))
	read()
	for _, p := range parts[1:] {
		b, _ := hex.DecodeString(p)
		c.Write(b)
		read()
	}
	return out
}

// sameShape compares answers, taking a 16-byte challenge ending an
// answer as random.
func sameShape(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if len(x) == len(y) && len(x) >= 16 {
			x, y = x[:len(x)-16], y[:len(y)-16]
		}
		if !bytes.Equal(x, y) {
			return false
		}
	}
	return true
}

// A real viewer's wrong password leaves a John line that the right
// password reproduces; the right password shows the desktop.
func TestViewerPasswordCaptured(t *testing.T) {
	bin := testenv.RequireTool(t, "vncsnapshot")
	r := servicetest.Start(t, "vnc", Port, servicetest.Options{Config: map[string]any{"password": "s3cret!x"}})
	out := filepath.Join(t.TempDir(), "shot.jpg")
	run := func(pw string) ([]byte, error) {
		// vncsnapshot takes a display number: the port less 5900.
		display := fmt.Sprintf("%s:%d", r.Addr, int(r.Env.Port(Port))-Port)
		cmd := exec.Command(bin, "-passwd", passwdFile(t, pw), "-allowblank", "-quiet", display, out)
		cmd.Stdin = strings.NewReader("")
		return cmd.CombinedOutput()
	}
	msg, err := run("hunter2")
	if err == nil {
		t.Fatalf("a wrong password was accepted: %s", msg)
	}
	e, ok := r.Events.Wait(5*time.Second, event.OfType("vnc.login.failed"))
	if !ok {
		t.Fatalf("no vnc.login.failed; vncsnapshot said %s", msg)
	}
	line := e.Credential.CrackLine
	m := regexp.MustCompile(`^\$vnc\$\*([0-9A-F]{32})\*([0-9A-F]{32})$`).FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("crack line %q", line)
	}
	chal, _ := hex.DecodeString(m[1])
	resp, _ := hex.DecodeString(m[2])
	if vncResponse(desKey("hunter2"), chal) != [16]byte(resp) {
		t.Fatalf("%s is not hunter2's response", line)
	}
	if msg, err := run("s3cret!x"); err != nil {
		t.Fatalf("vncsnapshot with the right password: %v\n%s", err, msg)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := jpeg.Decode(f)
	if err != nil {
		t.Fatalf("snapshot: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 1024 || b.Dy() != 768 {
		t.Fatalf("snapshot is %v, want 1024x768", b)
	}
	if _, ok := r.Events.Wait(5*time.Second, event.OfType("vnc.login.success")); !ok {
		t.Fatal("no vnc.login.success")
	}
	if _, ok := r.Events.Wait(5*time.Second, event.OfType("vnc.desktop.open")); !ok {
		t.Fatal("no vnc.desktop.open")
	}
}

// A common password is named; five failures lock the source out as
// TigerVNC does; typed keys and a pasted clipboard on a no-auth desktop
// are kept.
func TestGuessLockoutAndInput(t *testing.T) {
	r := servicetest.Start(t, "vnc", Port, servicetest.Options{})
	addr := r.HostPort(Port)
	if _, ok := r.Events.Wait(3*time.Second, event.OfType("vnc.session.close")); !ok {
		t.Fatal("the readiness probe's session did not close")
	}
	for i := range 4 { // the readiness probe was the first failure
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		io.ReadFull(c, make([]byte, 12))
		c.Write([]byte("RFB 003.008\n"))
		io.ReadFull(c, make([]byte, 3))
		c.Write([]byte{2})
		chal := make([]byte, 16)
		io.ReadFull(c, chal)
		resp := vncResponse(desKey("password"), chal)
		c.Write(resp[:])
		res, _ := io.ReadAll(c)
		if !bytes.Equal(res, []byte("\x00\x00\x00\x01\x00\x00\x00\x16Authentication failure")) {
			t.Fatalf("attempt %d: result %q", i, res)
		}
		c.Close()
	}
	e, ok := r.Events.Wait(3*time.Second, func(e event.Event) bool {
		return e.Type == "vnc.login.failed" && e.Fields["password_guess"] == "password"
	})
	if !ok {
		t.Fatalf("the common password was not named: %+v", e)
	}
	if _, ok := r.Events.Wait(3*time.Second, event.OfType("vnc.source.locked")); !ok {
		t.Fatal("no vnc.source.locked after five failures")
	}
	got := servicetest.Exchange(t, addr, "", time.Second)
	if got != "RFB 003.003\n\x00\x00\x00\x00\x00\x00\x00\x1aToo many security failures" {
		t.Fatalf("a locked-out source was greeted with %q", got)
	}

	open := servicetest.Start(t, "vnc", Port, servicetest.Options{Config: map[string]any{"auth": "none", "version": "3.7"}})
	keys := ""
	for _, k := range "sudo su\r" {
		sym := uint32(k)
		if k == '\r' {
			sym = 0xff0d
		}
		keys += fmt.Sprintf("\x04\x01\x00\x00%s\x04\x00\x00\x00%s", be32(sym), be32(sym))
	}
	script := "RFB 003.007\n\x01\x01" + keys + "\x06\x00\x00\x00" + be32(11) + "hunter2 pwd"
	servicetest.Exchange(t, open.HostPort(Port), script, time.Second)
	if _, ok := open.Events.Wait(3*time.Second, func(e event.Event) bool { return e.Type == "vnc.input.keys" && e.Fields["text"] == "sudo su" }); !ok {
		t.Fatalf("typed line not recorded: %v", open.Events.Events())
	}
	if _, ok := open.Events.Wait(3*time.Second, func(e event.Event) bool { return e.Type == "vnc.clipboard.paste" && e.Fields["text"] == "hunter2 pwd" }); !ok {
		t.Fatal("clipboard not recorded")
	}
}

func be32(v uint32) string {
	return string([]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

func FuzzSession(f *testing.F) {
	r := servicetest.Start(f, "vnc", Port, servicetest.Options{Config: map[string]any{"auth": "none", "blacklist_threshold": 0}})
	servicetest.FuzzSession(f, r, Port,
		"RFB 003.008\n\x01\x01\x03\x00\x00\x00\x00\x00\x04\x00\x03\x00",
		"RFB 003.008\n\x01\x00\x00\x00\x00\x20\x18\x00\x01\x00\xff\x00\xff\x00\xff\x10\x08\x00\x00\x00\x00\x03\x00\x00\x00\x00\x00\x00\x10\x00\x10",
		"RFB 003.008\n\x01\x01\x02\x00\x00\x02\x00\x00\x00\x02\x00\x00\x00\x00\x06\x00\x00\x00\xff\xff\xff\xff",
		"RFB 004.000\n", "RFB 003.003\n\x01")
}
