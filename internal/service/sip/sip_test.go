package sip

import (
	"bufio"
	"fmt"
	"net/netip"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/persona"
	"github.com/decnet/decnet/internal/service/serve"
	"github.com/decnet/decnet/internal/service/servicetest"
	"github.com/decnet/decnet/internal/testenv"
)

// nmap names each product over UDP and TCP as it names the real one.
func TestNmapNamesTheProduct(t *testing.T) {
	t.Parallel() // nmap waits out its probes: let the rest of the package run meanwhile
	for _, tc := range []struct{ product, want string }{
		{"asterisk", "Asterisk PBX"},
		{"freepbx", "FreePBX"},
		{"yealink", "Yealink SIP-"},
	} {
		t.Run(tc.product, func(t *testing.T) {
			t.Parallel()
			r := servicetest.Start(t, "sip", Port, servicetest.Options{Config: map[string]any{"product": tc.product}})
			udp := testenv.NmapUDPService(t, r.Addr.String(), r.Port(Port))
			tcp := testenv.NmapService(t, r.Addr.String(), r.Port(Port))
			t.Logf("udp: %s\ntcp: %s", udp, tcp)
			for _, got := range []string{udp, tcp} {
				if !strings.Contains(got, tc.want) {
					t.Errorf("nmap says %q, want %q", got, tc.want)
				}
			}
		})
	}
}

// sipsak registers with a wrong password: the Digest is a hashcat line
// that the password recomputes; with the right one it is registered.
func TestSipsakRegisterCaptured(t *testing.T) {
	bin := testenv.RequireTool(t, "sipsak")
	r := servicetest.Start(t, "sip", Port, servicetest.Options{Config: map[string]any{"accounts": []any{"201:Winter2024"}}})
	register := func(pass string) string {
		out, _ := exec.Command(bin, "-U", "-C", "sip:201@"+r.Addr.String(), "-s", "sip:201@"+r.Addr.String(),
			"-r", r.Port(Port), "-u", "201", "-a", pass, "-x", "60", "-vv").CombinedOutput()
		return string(out)
	}
	out := register("hunter2")
	e, ok := r.Events.Wait(5*time.Second, event.OfType("sip.login.failed"))
	if !ok {
		t.Fatalf("no sip.login.failed; sipsak said:\n%s", out)
	}
	line := e.Credential.CrackLine
	f := strings.Split(line, "*")
	if e.Credential.CrackMode != 11400 || len(f) != 15 || f[0] != "$sip$" || f[3] != "201" || f[4] != "asterisk" || f[5] != "REGISTER" {
		t.Fatalf("crack line %q", line)
	}
	uri := f[7]
	if f[6] != "" {
		uri = f[6] + ":" + f[7]
	}
	if got := digestResponse(f[3], f[4], "hunter2", f[5], uri, f[9], f[11], f[10], f[12]); got != f[14] {
		t.Fatalf("%s is not hunter2's digest (%s)", line, got)
	}
	out = register("Winter2024")
	if _, ok := r.Events.Wait(5*time.Second, event.OfType("sip.login.success")); !ok {
		t.Fatalf("the right password did not register; sipsak said:\n%s", out)
	}
}

// SIPVicious finds the PBX, and gives up walking its extensions as it
// does against Asterisk (every extension is challenged alike); walking a
// phone's, every request is an event and the walk one scan event.
func TestSipviciousScan(t *testing.T) {
	svmap := testenv.RequireTool(t, "svmap")
	svwar := testenv.RequireTool(t, "svwar")
	r := servicetest.Start(t, "sip", Port, servicetest.Options{})
	out, _ := exec.Command(svmap, "-p", r.Port(Port), r.Addr.String()).CombinedOutput()
	if !regexp.MustCompile(`Asterisk PBX`).Match(out) {
		t.Errorf("svmap does not see the PBX:\n%s", out)
	}
	out, _ = exec.Command(svwar, "-m", "REGISTER", "-e", "100-140", "-p", r.Port(Port), r.Addr.String()).CombinedOutput()
	if !strings.Contains(string(out), "authentication request for an unknown extension") {
		t.Errorf("svwar was not stopped as Asterisk stops it:\n%s", out)
	}
	// An extension walk with sipsak, one OPTIONS per extension.
	sipsak := testenv.RequireTool(t, "sipsak")
	for ext := 100; ext < 100+scanThreshold+2; ext++ {
		uri := fmt.Sprintf("sip:%d@%s:%s", ext, r.Addr, r.Port(Port))
		exec.Command(sipsak, "-s", uri).Run()
	}
	e, ok := r.Events.Wait(10*time.Second, event.OfType("sip.scan.detected"))
	if !ok {
		t.Fatal("no sip.scan.detected")
	}
	if n, _ := e.Fields["extensions"].(int); n < scanThreshold {
		t.Errorf("scan event %v", e.Fields)
	}
	if _, ok := r.Events.Wait(3*time.Second, func(e event.Event) bool {
		return e.Type == "sip.request.received" && e.Fields["user_agent"] == "friendly-scanner"
	}); !ok {
		t.Error("svmap's requests do not carry its User-Agent")
	}
}

// The 401 is written as PJSIP writes it.
func TestChallengeLikeAsterisk(t *testing.T) {
	s, err := New(servicetestEnv())
	if err != nil {
		t.Fatal(err)
	}
	srv := s.(*Server)
	msg := "OPTIONS sip:nm SIP/2.0\r\nVia: SIP/2.0/UDP nm;branch=foo;rport\r\nFrom: <sip:nm@nm>;tag=root\r\nTo: <sip:nm2@nm2>\r\nCall-ID: 50000\r\nCSeq: 42 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\nContact: <sip:nm@nm>\r\nAccept: application/sdp\r\n\r\n"
	req, err := parseRequest(bufio.NewReader(strings.NewReader(msg)), false)
	if err != nil {
		t.Fatal(err)
	}
	src := netip.MustParseAddrPort("192.0.2.7:40000")
	out := srv.handle(req, peer{transport: "UDP", src: src, dst: netip.MustParseAddrPort("192.0.2.1:5060"), emit: func(event.Event) {}})
	want := regexp.MustCompile(`^SIP/2\.0 401 Unauthorized\r\n` +
		`Via: SIP/2\.0/UDP nm;rport=40000;received=192\.0\.2\.7;branch=foo\r\n` +
		`Call-ID: 50000\r\nFrom: <sip:nm@nm>;tag=root\r\nTo: <sip:nm2@nm2>;tag=foo\r\nCSeq: 42 OPTIONS\r\n` +
		`WWW-Authenticate: Digest realm="asterisk",nonce="\d{10}/[0-9a-f]{32}",opaque="[0-9a-f]{16}",algorithm=md5,qop="auth"\r\n` +
		`Server: Asterisk PBX [\d.]+\r\nContent-Length:  0\r\n\r\n$`)
	if len(out) != 1 || !want.Match(out[0]) {
		t.Fatalf("401:\n%s", out)
	}
}

func FuzzParseRequest(f *testing.F) {
	f.Add([]byte("REGISTER sip:10.0.0.1 SIP/2.0\r\nv: SIP/2.0/UDP 1.2.3.4;branch=z9\r\nf: <sip:100@x>;tag=1\r\nt: <sip:100@x>\r\ni: a\r\nCSeq: 1 REGISTER\r\nAuthorization: Digest username=\"100\",nonce=\"1/2\",response=\"x\"\r\nl: 3\r\n\r\nabc"))
	f.Add([]byte("INVITE sip:900441234@x SIP/2.0\r\nContent-Length: 99999999\r\n\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, stream := range []bool{false, true} {
			req, err := parseRequest(bufio.NewReader(strings.NewReader(string(b))), stream)
			if err == nil {
				params(req.get("Authorization"))
				uriUser(req.get("To"))
				displayName(req.get("From"))
				received(req.get("Via"), netip.MustParseAddrPort("192.0.2.1:1"))
			}
		}
	})
}

func FuzzPacket(f *testing.F) {
	r := servicetest.Start(f, "sip", Port, servicetest.Options{Config: map[string]any{"accounts": []any{"100:x"}}})
	servicetest.FuzzPacket(f, r, Port,
		[]byte("OPTIONS sip:nm SIP/2.0\r\nVia: SIP/2.0/UDP nm;branch=foo;rport\r\nFrom: <sip:nm@nm>;tag=root\r\nTo: <sip:nm2@nm2>\r\nCall-ID: 50000\r\nCSeq: 42 OPTIONS\r\n\r\n"),
		[]byte("INVITE sip:100@x SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=b\r\nFrom: \"x\" <sip:1@h>;tag=1\r\nTo: <sip:100@x>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\nAuthorization: Digest username=\"100\",realm=\"asterisk\",nonce=\"1/2\",uri=\"sip:100@x\",response=\"0123456789abcdef0123456789abcdef\",qop=auth,nc=00000001,cnonce=\"z\"\r\n\r\nv=0\r\nm=audio 4000 RTP/AVP 0\r\n"))
}

func FuzzStream(f *testing.F) {
	r := servicetest.Start(f, "sip", Port, servicetest.Options{Config: map[string]any{"product": "yealink"}})
	servicetest.FuzzSession(f, r, Port,
		"OPTIONS sip:nm SIP/2.0\r\nVia: SIP/2.0/TCP nm;branch=foo\r\nFrom: <sip:nm@nm>;tag=root\r\nTo: <sip:nm2@nm2>\r\nCall-ID: 50000\r\nCSeq: 42 OPTIONS\r\nContent-Length: 0\r\n\r\n\r\n\r\nINVITE sip:1@x SIP/2.0\r\n")
}

func servicetestEnv() serve.Env {
	return serve.Env{Identity: persona.NewIdentity("seed", "pbx"), Events: event.NewEmitter(event.NewRecorder(), "t", "d", "sip", "sip", nil)}
}
