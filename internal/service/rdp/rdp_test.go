package rdp_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"golang.org/x/crypto/md4" //lint:ignore SA1019 NTLM is MD4, and this test checks an NTLM response

	"github.com/decnet/decnet/internal/event"
	_ "github.com/decnet/decnet/internal/service/rdp"
	"github.com/decnet/decnet/internal/service/servicetest"
	"github.com/decnet/decnet/internal/testenv"
)

var windows = servicetest.Options{OS: "windows_server", Distro: "win2019"}

// connectionRequest builds an X.224 Connection Request with a cookie and,
// when protocols >= 0, an RDP_NEG_REQ.
func connectionRequest(cookie string, protocols int) []byte {
	var v []byte
	if cookie != "" {
		v = append(v, "Cookie: mstshash="+cookie+"\r\n"...)
	}
	if protocols >= 0 {
		v = append(v, 1, 0, 8, 0, byte(protocols), 0, 0, 0)
	}
	b := append([]byte{3, 0, 0, 0, byte(6 + len(v)), 0xe0, 0, 0, 0, 0, 0}, v...)
	b[3] = byte(len(b))
	return b
}

// firstAnswer sends req and returns what the server answered before it
// closed or stayed quiet for a second.
func firstAnswer(t *testing.T, addr string, req []byte) []byte {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write(req)
	var out []byte
	buf := make([]byte, 4096)
	// The first answer may be slow on a loaded machine (xrdp forks its
	// session process); the rest of it follows at once.
	wait := 5 * time.Second
	for {
		c.SetReadDeadline(time.Now().Add(wait))
		wait = time.Second
		n, err := c.Read(buf)
		out = append(out, buf[:n]...)
		if err != nil {
			return out
		}
	}
}

func unhex(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

// The Connection Confirm is Windows' for each request: HYBRID chosen when
// offered (the bytes nmap matches as Microsoft Terminal Services), a
// failure code when the client offers less than the server requires.
func TestWindowsNegotiation(t *testing.T) {
	nla := servicetest.Start(t, "rdp", 3389, windows)
	tlsOnly := servicetest.Start(t, "rdp", 3389, servicetest.Options{OS: "windows_server", Distro: "win2022", Config: map[string]any{"nla": false}})
	for _, tc := range []struct {
		name string
		r    *servicetest.Running
		req  []byte
		want string
	}{
		{"nmap cookie probe", nla, []byte("\x03\x00\x00*%\xe0\x00\x00\x00\x00\x00Cookie: mstshash=nmap\r\n\x01\x00\x08\x00\x03\x00\x00\x00"), "03 00 00 13 0e d0 00 00 12 34 00 02 1f 08 00 02 00 00 00"},
		{"hybrid_ex", nla, connectionRequest("bob", 0x0b), "03 00 00 13 0e d0 00 00 12 34 00 02 1f 08 00 08 00 00 00"},
		{"ssl only under nla", nla, connectionRequest("bob", 1), "030000130ed000001234000300080005000000"},
		{"rdp only under nla", nla, connectionRequest("bob", 0), "030000130ed000001234000300080005000000"},
		{"no negotiation", nla, connectionRequest("bob", -1), "0300000b06d00000123400"},
		{"rdp only without nla", tlsOnly, connectionRequest("bob", 0), "030000130ed000001234000300080001000000"},
		{"garbage", nla, []byte("GET / HTTP/1.0\r\n\r\n"), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := firstAnswer(t, tc.r.HostPort(3389), tc.req)
			want := unhex(tc.want)
			if len(want) > 0 && len(got) > len(want) && got[len(want)] == 0x16 {
				got = got[:len(want)] // a TLS client would now send its hello
			}
			if !bytes.Equal(got, want) {
				t.Errorf("answer %x, want %x", got, want)
			}
		})
	}
	e, ok := nla.Events.Wait(5*time.Second, func(e event.Event) bool {
		return e.Type == "rdp.client.hello" && e.Fields["cookie"] == "bob" && e.Fields["selected"] == "hybrid_ex"
	})
	if !ok {
		t.Fatalf("no client.hello for bob: %v", nla.Events.Events())
	}
	if p, _ := e.Fields["requested_protocols"].([]string); strings.Join(p, ",") != "ssl,hybrid,hybrid_ex" {
		t.Errorf("requested_protocols %v", e.Fields["requested_protocols"])
	}
}

// startXrdp runs Debian's xrdp on its own loopback address and port 3389
// with a private configuration, until the test ends.
func startXrdp(t *testing.T) string {
	t.Helper()
	bin := testenv.RequireTool(t, "xrdp")
	testenv.RequireRoot(t)
	dir := t.TempDir()
	ini, err := os.ReadFile("/etc/xrdp/xrdp.ini")
	if err != nil {
		t.Skipf("no xrdp.ini: %v", err)
	}
	addr := fmt.Sprintf("127.%d.%d.%d", 200+time.Now().Nanosecond()%50, os.Getpid()%250, 7)
	conf := regexp.MustCompile(`(?m)^port=.*$`).ReplaceAllString(string(ini), "port=tcp://"+addr+":3389")
	conf = regexp.MustCompile(`(?m)^fork=.*$`).ReplaceAllString(conf, "fork=false")
	path := filepath.Join(dir, "xrdp.ini")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "--nodaemon", "-c", path)
	var log testenv.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		cmd.Wait()
	})
	testenv.Eventually(t, 10*time.Second, "xrdp listening", func() bool {
		c, err := net.Dial("tcp", addr+":3389")
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	return addr
}

// A Linux persona is xrdp 0.9.21 as Debian 12 ships it: the same
// negotiation bytes as the real xrdp beside it, and the same nmap line.
func TestAgainstRealXrdp(t *testing.T) {
	real := startXrdp(t) + ":3389"
	decky := servicetest.Start(t, "rdp", 3389, servicetest.Options{OS: "linux", Distro: "debian"})
	for _, tc := range []struct {
		name string
		req  []byte
	}{
		{"nmap cookie probe", []byte("\x03\x00\x00*%\xe0\x00\x00\x00\x00\x00Cookie: mstshash=nmap\r\n\x01\x00\x08\x00\x03\x00\x00\x00")},
		{"hybrid only", connectionRequest("bob", 2)},
		{"rdp only", connectionRequest("bob", 0)},
		{"no negotiation", connectionRequest("bob", -1)},
		{"tls hello", []byte("\x16\x03\x00\x00\x69\x01\x00\x00\x65\x03\x03U\x1c\xa7\xe4random1random2random3random4")},
		{"bad tpdu", []byte("\x03\x00\x00\x0b\x06\xf0\x00\x00\x00\x00\x00")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := firstAnswer(t, real, tc.req)
			got := firstAnswer(t, decky.HostPort(3389), tc.req)
			if !bytes.Equal(got, want) {
				t.Errorf("decky %x, xrdp %x", got, want)
			}
		})
	}
	if testenv.Short() {
		return
	}
	host, port, _ := net.SplitHostPort(real)
	want := testenv.NmapService(t, host, port)
	got := testenv.NmapService(t, decky.Addr.String(), decky.Port(3389))
	t.Logf("xrdp: %s\ndecky: %s", want, got)
	if got != want || !strings.Contains(got, "xrdp") {
		t.Errorf("nmap names the decky %q, the real xrdp %q", got, want)
	}
}

// nmap names a Windows persona's RDP as Microsoft Terminal Services, and
// its NSE scripts read the persona's names and version.
func TestNmapWindows(t *testing.T) {
	if testenv.Short() {
		t.Skip("nmap is slow")
	}
	r := servicetest.Start(t, "rdp", 3389, windows)
	line := testenv.NmapService(t, r.Addr.String(), r.Port(3389))
	if !strings.Contains(line, "ms-wbt-server Microsoft Terminal Services") {
		t.Errorf("nmap -sV says %q", line)
	}
	bin := testenv.RequireTool(t, "nmap")
	out, err := exec.Command(bin, "-Pn", "-n", "-p", r.Port(3389), "--script", "rdp-ntlm-info,rdp-enum-encryption,ssl-cert", r.Addr.String()).CombinedOutput()
	if err != nil {
		t.Fatalf("nmap: %v\n%s", err, out)
	}
	text := string(out)
	t.Log(text)
	w := r.Env.Windows()
	for _, want := range []string{
		"NetBIOS_Domain_Name: " + w.NetBIOSDomain, "NetBIOS_Computer_Name: " + w.NetBIOSName,
		"DNS_Domain_Name: " + w.DNSDomain, "DNS_Computer_Name: " + w.DNSName, "Product_Version: 10.0.17763",
		"CredSSP (NLA): SUCCESS", "CredSSP with Early User Auth: SUCCESS",
		"Subject: commonName=" + w.NetBIOSName + "." + w.DNSDomain, "Public Key bits: 2048",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("nmap scripts do not show %q", want)
		}
	}
	if strings.Contains(text, "Native RDP: SUCCESS") || strings.Contains(text, "SSL: SUCCESS") {
		t.Errorf("an NLA server accepts less than CredSSP")
	}
	if t.Failed() {
		for _, e := range r.Events.Events() {
			t.Logf("%s %v", e.Type, e.Fields)
		}
	}
}

func utf16le(s string) []byte {
	var b []byte
	for _, c := range utf16.Encode([]rune(s)) {
		b = append(b, byte(c), byte(c>>8))
	}
	return b
}

// checkNetNTLMv2 recomputes a hashcat 5600 line from the password.
func checkNetNTLMv2(t *testing.T, line, password string) {
	t.Helper()
	f := strings.Split(line, ":")
	if len(f) != 6 {
		t.Fatalf("not a 5600 line: %q", line)
	}
	user, domain, chal, proof, blob := f[0], f[2], unhex(f[3]), f[4], unhex(f[5])
	h := md4.New()
	h.Write(utf16le(password))
	m := hmac.New(md5.New, h.Sum(nil))
	m.Write(utf16le(strings.ToUpper(user) + domain))
	m = hmac.New(md5.New, m.Sum(nil))
	m.Write(chal)
	m.Write(blob)
	if got := hex.EncodeToString(m.Sum(nil)); got != proof {
		t.Errorf("NTProofStr %s does not follow from the password (recomputed %s)", proof, got)
	}
}

// xfreerdp completes CredSSP against the NLA decky and reports a logon
// failure, as against Windows; the AUTHENTICATE becomes a hashcat line the
// password recomputes.
func TestXfreerdpAuthOnly(t *testing.T) {
	bin := testenv.RequireTool(t, "xfreerdp")
	// xfreerdp opens an X display even to authenticate only.
	xvfb := testenv.RequireTool(t, "xvfb-run")
	r := servicetest.Start(t, "rdp", 3389, windows)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, xvfb, "-a", bin, "/auth-only", "/u:alice", "/d:CORP", "/p:Winter2024!", "/v:"+r.HostPort(3389), "/cert:ignore", "/log-level:INFO")
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	out, _ := cmd.CombinedOutput()
	text := string(out)
	t.Log(text)
	if !strings.Contains(text, "LOGON_FAILURE") {
		t.Errorf("xfreerdp did not report a logon failure")
	}
	e, ok := r.Events.Wait(5*time.Second, event.OfType("rdp.login.failed"))
	if !ok {
		t.Fatalf("no login.failed: %v", r.Events.Events())
	}
	c := e.Credential
	if c == nil || c.Principal != `CORP\alice` || c.CrackMode != 5600 || c.Kind != "netntlmv2" {
		t.Fatalf("credential %+v", c)
	}
	checkNetNTLMv2(t, c.CrackLine, "Winter2024!")
	if _, ok := r.Events.Wait(time.Second, event.OfType("rdp.tls.handshake")); !ok {
		t.Error("no tls.handshake event")
	}
}
