package dns

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/persona"
	"github.com/decnet/decnet/internal/service/serve"
	"github.com/decnet/decnet/internal/testenv"
)

// This file runs Debian's named beside the decky, loaded with the decky's
// own zone, and compares their answers byte for byte (the server half of
// DNS cookies masked, RRset order allowed to differ by retrying).

// zoneText writes z as a master file named can load.
func zoneText(z *zone) string {
	var sb strings.Builder
	for _, n := range z.names {
		for _, set := range z.nodes[n] {
			for _, r := range set.rrs {
				fmt.Fprintf(&sb, "%s %d %s %s %s\n", r.name, r.ttl, className(r.class), typeName(r.rtype), rdataText(r))
			}
		}
	}
	return sb.String()
}

func rdataText(r *rr) string {
	switch r.rtype {
	case typeA, typeAAAA:
		a, _ := netip.AddrFromSlice(r.rdata[0].raw)
		return a.String()
	case typeNS, typeCNAME, typePTR:
		return r.rdata[0].name
	case typeMX:
		return fmt.Sprintf("%d %s", binary.BigEndian.Uint16(r.rdata[0].raw), r.rdata[1].name)
	case typeSRV:
		d := r.rdata[0].raw
		return fmt.Sprintf("%d %d %d %s", binary.BigEndian.Uint16(d), binary.BigEndian.Uint16(d[2:]), binary.BigEndian.Uint16(d[4:]), r.rdata[1].name)
	case typeSOA:
		d := r.rdata[2].raw
		v := func(i int) uint32 { return binary.BigEndian.Uint32(d[4*i:]) }
		return fmt.Sprintf("%s %s %d %d %d %d %d", r.rdata[0].name, r.rdata[1].name, v(0), v(1), v(2), v(3), v(4))
	case typeTXT:
		var parts []string
		d := r.rdata[0].raw
		for len(d) > 0 {
			n := int(d[0])
			s := strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(string(d[1 : 1+n]))
			parts = append(parts, `"`+s+`"`)
			d = d[1+n:]
		}
		return strings.Join(parts, " ")
	}
	panic("rdataText: type " + typeName(r.rtype))
}

// decky runs the DNS service built by New on a 127.x address.
type decky struct {
	srv    *Server
	addr   string
	events *event.Recorder
}

func startDecky(t *testing.T, settings *Settings) *decky {
	t.Helper()
	a := netip.AddrFrom4([4]byte{127, 53, byte(time.Now().UnixNano() % 250), 10})
	port := testenv.FreePort(t, a)
	rec := event.NewRecorder()
	dist, _ := persona.LookupDistro("debian")
	env := serve.Env{Decky: "decky-test", Identity: persona.NewIdentity("bind-compare", "decky-test"),
		Addrs: []netip.Addr{a}, Settings: settings, Ports: map[uint16]uint16{Port: port},
		Persona: serve.Persona{Family: persona.Linux, Distro: dist, Hostname: "SRV-PROD-42"},
		Events:  event.NewEmitter(rec, "t", "decky-test", "dns", "dns", slog.New(slog.DiscardHandler))}
	srv, err := New(env)
	if err != nil {
		t.Fatal(err)
	}
	// The comparison sends far more than a scanner would: no rate limit.
	srv.(*Server).limits.Rate, srv.(*Server).limits.Burst = 1e6, 1e6
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	d := &decky{srv: srv.(*Server), addr: net.JoinHostPort(a.String(), strconv.Itoa(int(port))), events: rec}
	testenv.Eventually(t, 5*time.Second, "decky dns listening", func() bool {
		c, err := net.Dial("tcp", d.addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	return d
}

// startNamed runs Debian's named in the foreground with the zone z on a
// free port of 127.0.0.1 (named listens only on configured interface
// addresses), allow-transfer and allow-recursion as a remote client of
// a default Debian install sees them.
func startNamed(t *testing.T, z *zone, hostname, extraOptions string) string {
	t.Helper()
	bin := testenv.RequireTool(t, "named")
	testenv.RequireRoot(t)
	dir, err := os.MkdirTemp("", "named-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o777)
	port := testenv.FreePort(t, netip.AddrFrom4([4]byte{127, 0, 0, 1}))
	conf := fmt.Sprintf(`controls { };
options {
	directory "%s";
	listen-on port %d { 127.0.0.1; };
	listen-on-v6 { none; };
	pid-file none;
	allow-recursion { none; };
	allow-transfer { none; };
	dnssec-validation auto;
	hostname "%s";
	%s
};
zone "%s" { type master; file "%s/db.zone"; };
`, dir, port, hostname, extraOptions, z.origin, dir)
	for name, body := range map[string]string{"named.conf": conf, "db.zone": zoneText(z)} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	user := "bind"
	if _, err := exec.LookPath("id"); err == nil {
		if exec.Command("id", "bind").Run() != nil {
			user = "root"
		}
	}
	cmd := exec.Command(bin, "-g", "-u", user, "-c", filepath.Join(dir, "named.conf"))
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("named log:\n%s", log.String())
		}
	})
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	testenv.Eventually(t, 20*time.Second, "named answering", func() bool {
		b := exchangeUDP(addr, mkQuery(1, 0x0100, "version.bind", typeTXT, classCH, nil))
		return b != nil
	})
	return addr
}

// mkQuery builds a query; opt, when not nil, is the OPT record's
// (size, ttl, options).
type optSpec struct {
	size    uint16
	ttl     uint32
	options []byte
}

func mkQuery(id, flags uint16, name string, qtype, qclass uint16, opt *optSpec) []byte {
	b := binary.BigEndian.AppendUint16(nil, id)
	b = binary.BigEndian.AppendUint16(b, flags)
	qd := uint16(1)
	if name == "" {
		qd = 0
	}
	ar := uint16(0)
	if opt != nil {
		ar = 1
	}
	b = append(b, 0, byte(qd), 0, 0, 0, 0, 0, byte(ar))
	if qd == 1 {
		b = append(b, nameWire(name)...)
		b = binary.BigEndian.AppendUint16(b, qtype)
		b = binary.BigEndian.AppendUint16(b, qclass)
	}
	if opt != nil {
		b = append(b, 0, 0, typeOPT)
		b = binary.BigEndian.AppendUint16(b, opt.size)
		b = binary.BigEndian.AppendUint32(b, opt.ttl)
		b = binary.BigEndian.AppendUint16(b, uint16(len(opt.options)))
		b = append(b, opt.options...)
	}
	return b
}

func option(code uint16, val []byte) []byte {
	b := binary.BigEndian.AppendUint16(nil, code)
	b = binary.BigEndian.AppendUint16(b, uint16(len(val)))
	return append(b, val...)
}

var clientCookie = []byte{0xde, 0xc0, 0x4e, 0x7d, 0x11, 0x22, 0x33, 0x44}

func exchangeUDP(addr string, q []byte) []byte {
	c, err := net.Dial("udp", addr)
	if err != nil {
		return nil
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(700 * time.Millisecond))
	c.Write(q)
	buf := make([]byte, 65535)
	n, err := c.Read(buf)
	if err != nil {
		return nil
	}
	return buf[:n]
}

func exchangeTCP(addr string, q []byte) []byte {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	c.Write(append(binary.BigEndian.AppendUint16(nil, uint16(len(q))), q...))
	var l [2]byte
	if _, err := io.ReadFull(c, l[:]); err != nil {
		return nil
	}
	b := make([]byte, binary.BigEndian.Uint16(l[:]))
	if _, err := io.ReadFull(c, b); err != nil {
		return nil
	}
	return b
}

// maskCookie zeroes the server cookie that follows our client cookie.
func maskCookie(b []byte) []byte {
	b = append([]byte(nil), b...)
	if i := bytes.Index(b, clientCookie); i >= 0 && i+8+16 <= len(b) {
		clear(b[i+8 : i+8+16])
	}
	return b
}

type probe struct {
	name string
	q    []byte
	tcp  bool
}

func probes(origin string) []probe {
	o := strings.TrimSuffix(origin, ".")
	ck := &optSpec{size: 1232, options: option(optCookie, clientCookie)}
	plain := &optSpec{size: 4096}
	var ps []probe
	add := func(name string, q []byte) {
		ps = append(ps, probe{name: name + "/udp", q: q}, probe{name: name + "/tcp", q: q, tcp: true})
	}
	for _, c := range []struct {
		n     string
		t     uint16
		flags uint16
	}{
		{o, typeA, 0x0100}, {o, typeA, 0}, {o, typeMX, 0x0100}, {o, typeMX, 0}, {o, typeNS, 0x0100}, {o, typeNS, 0},
		{o, typeSOA, 0x0100}, {o, typeTXT, 0}, {o, typeAAAA, 0x0100}, {o, typeAAAA, 0},
		{"www." + o, typeA, 0x0100}, {"www." + o, typeA, 0}, {"smtp." + o, typeMX, 0x0100}, {"ns1." + o, typeA, 0},
		{"nope." + o, typeA, 0x0100}, {"nope." + o, typeA, 0}, {"a.b.nope." + o, typeTXT, 0},
		{"_tcp." + o, typeSRV, 0}, {"_autodiscover._tcp." + o, typeSRV, 0x0100}, {"_autodiscover._tcp." + o, typeSRV, 0},
		{"MaIl." + strings.ToUpper(o), typeA, 0x0100}, {"example.org", typeA, 0x0100}, {"example.org", typeA, 0},
		{"com", typeNS, 0}, {".", typeNS, 0x0100}, {o, 0, 0x0100}, {o, 250, 0}, {o, 253, 0}, {o, 65, 0x0100},
		{o, typeA, 0x0110}, {o, typeA, 0x0120}, {o, typeA, 0x0140}, {o, typeA, 0x0500},
	} {
		label := fmt.Sprintf("%s_%s_%04x", c.n, typeName(c.t), c.flags)
		add(label+"_cookie", mkQuery(0x1234, c.flags, c.n, c.t, classIN, ck))
		add(label+"_noedns", mkQuery(0x1234, c.flags, c.n, c.t, classIN, nil))
	}
	for _, c := range []struct {
		n string
		t uint16
	}{{"version.bind", typeTXT}, {"VERSION.BIND", typeTXT}, {"hostname.bind", typeTXT}, {"id.server", typeTXT},
		{"version.bind", typeA}, {"foo.version.bind", typeTXT}, {"foo.bind", typeTXT}, {"version.server", typeTXT},
		{"version.bind", typeSOA}, {"version.bind", typeNS}} {
		add(c.n+"_CH_"+typeName(c.t), mkQuery(7, 0x0100, c.n, c.t, classCH, ck))
		add(c.n+"_CH_"+typeName(c.t)+"_norec", mkQuery(7, 0, c.n, c.t, classCH, nil))
	}
	add("version.bind_IN", mkQuery(7, 0, "version.bind", typeTXT, classIN, nil))
	add("class_ANY", mkQuery(7, 0, o, typeA, classANY, nil))
	add("class_HS", mkQuery(7, 0, o, typeA, 4, nil))
	add("class_NONE", mkQuery(7, 0, o, typeA, 254, nil))
	for _, t := range []uint16{typeAXFR, typeIXFR} {
		for _, n := range []string{o, "www." + o, "example.org"} {
			add(n+"_"+typeName(t), mkQuery(9, 0, n, t, classIN, ck))
		}
	}
	ps = append(ps, probe{name: "any/tcp", q: mkQuery(9, 0, o, typeANY, classIN, nil), tcp: true}) // UDP ANY is minimal by design
	add("edns1", mkQuery(3, 0x0100, o, typeA, classIN, &optSpec{size: 1232, ttl: 1 << 16, options: option(optCookie, clientCookie)}))
	add("edns1_nocookie", mkQuery(3, 0x0100, o, typeA, classIN, &optSpec{size: 1232, ttl: 1 << 16}))
	add("edns_do", mkQuery(3, 0x0100, o, typeMX, classIN, &optSpec{size: 1232, ttl: 0x8000}))
	add("edns_size512", mkQuery(3, 0, o, typeMX, classIN, &optSpec{size: 100}))
	add("edns_plain", mkQuery(3, 0, o, typeA, classIN, plain))
	add("edns_nsid", mkQuery(3, 0, o, typeA, classIN, &optSpec{size: 1232, options: option(optNSID, nil)}))
	add("edns_unknown_opt", mkQuery(3, 0, o, typeA, classIN, &optSpec{size: 1232, options: option(65001, []byte("xy"))}))
	add("cookie_short", mkQuery(3, 0, o, typeA, classIN, &optSpec{size: 1232, options: option(optCookie, clientCookie[:5])}))
	add("cookie_12", mkQuery(3, 0, o, typeA, classIN, &optSpec{size: 1232, options: option(optCookie, append(clientCookie, 1, 2, 3, 4))}))
	add("cookie_bad_server", mkQuery(3, 0, o, typeA, classIN, &optSpec{size: 1232, options: option(optCookie, append(append([]byte{}, clientCookie...), bytes.Repeat([]byte{7}, 16)...))}))
	add("cookie_only", mkQuery(3, 0, "", 0, 0, ck))
	add("no_question", mkQuery(3, 0, "", 0, 0, nil))
	for op := uint16(1); op < 16; op++ {
		add(fmt.Sprintf("opcode%d", op), mkQuery(5, op<<11, o, typeSOA, classIN, nil))
	}
	two := mkQuery(6, 0, o, typeA, classIN, nil)
	two[5] = 2
	two = append(two, mkQuery(0, 0, o, typeMX, classIN, nil)[12:]...)
	add("two_questions", two)
	add("trailing", append(mkQuery(6, 0, o, typeA, classIN, nil), 1, 2, 3))
	add("cut_question", mkQuery(6, 0, o, typeA, classIN, nil)[:20])
	twoOpt := mkQuery(6, 0, o, typeA, classIN, plain)
	twoOpt[11] = 2
	twoOpt = append(twoOpt, twoOpt[len(twoOpt)-11:]...)
	add("two_opt", twoOpt)
	return ps
}

func TestAgainstRealBIND(t *testing.T) {
	d := startDecky(t, &Settings{ZoneMode: "auth", AXFR: "refuse",
		ExtraRecords: []string{"big TXT " + strings.Repeat("x", 250), "dual A 192.0.2.7", "dual AAAA 2001:db8::7", "mx2 MX 20 dual"}})
	z := d.srv.resp.zone
	// named rejects "big TXT" longer than 255 in one string; ours splits
	// it the same way, so the zone files agree.
	named := startNamed(t, z, "SRV-PROD-42", "")
	ps := probes(z.origin)
	ps = append(ps,
		probe{name: "big_noedns", q: mkQuery(8, 0, "big."+z.origin, typeTXT, classIN, nil)},
		probe{name: "dual_mx", q: mkQuery(8, 0x0100, "mx2."+z.origin, typeMX, classIN, nil)},
	)
	for _, p := range ps {
		t.Run(p.name, func(t *testing.T) {
			ex := exchangeUDP
			if p.tcp {
				ex = exchangeTCP
			}
			var want, got []byte
			for range 30 {
				want, got = ex(named, p.q), ex(d.addr, p.q)
				if bytes.Equal(maskCookie(want), maskCookie(got)) {
					return
				}
			}
			t.Errorf("query %x\nnamed: %s\ndecky: %s", p.q, describe(maskCookie(want)), describe(maskCookie(got)))
			_ = hex.EncodeToString
		})
	}
}

// describe prints a message for a failure report.
func describe(b []byte) string {
	if b == nil {
		return "(no answer)"
	}
	if len(b) < 12 {
		return fmt.Sprintf("short %x", b)
	}
	var sb strings.Builder
	fl := binary.BigEndian.Uint16(b[2:])
	fmt.Fprintf(&sb, "id=%d flags=%04x op=%d rcode=%d qd=%d an=%d ns=%d ar=%d\n", binary.BigEndian.Uint16(b), fl, fl>>11&15, fl&15,
		binary.BigEndian.Uint16(b[4:]), binary.BigEndian.Uint16(b[6:]), binary.BigEndian.Uint16(b[8:]), binary.BigEndian.Uint16(b[10:]))
	off := 12
	for i := 0; i < int(binary.BigEndian.Uint16(b[4:])); i++ {
		_, n, next, err := parseName(b, off)
		if err != nil || next+4 > len(b) {
			return sb.String() + "bad question"
		}
		fmt.Fprintf(&sb, "  Q %s %d %d\n", n, binary.BigEndian.Uint16(b[next:]), binary.BigEndian.Uint16(b[next+2:]))
		off = next + 4
	}
	for off < len(b) {
		_, n, next, err := parseName(b, off)
		if err != nil || next+10 > len(b) {
			return sb.String() + fmt.Sprintf("  bad rr at %d: %x", off, b[off:])
		}
		l := int(binary.BigEndian.Uint16(b[next+8:]))
		fmt.Fprintf(&sb, "  RR %s t=%d c=%d ttl=%d rd=%x (wire %x)\n", n, binary.BigEndian.Uint16(b[next:]), binary.BigEndian.Uint16(b[next+2:]),
			binary.BigEndian.Uint32(b[next+4:]), b[next+10:min(len(b), next+10+l)], b[off:next])
		off = next + 10 + l
	}
	return sb.String()
}

// TestNmapLikeBIND compares nmap -sV of the decky and of named, over UDP
// and TCP.
func TestNmapLikeBIND(t *testing.T) {
	t.Parallel() // nmap waits out its probes: let the rest of the package run meanwhile
	if testenv.Short() {
		t.Skip("nmap -sV is slow")
	}
	testenv.RequireTool(t, "nmap")
	d := startDecky(t, &Settings{ZoneMode: "auth", AXFR: "refuse"})
	named := startNamed(t, d.srv.resp.zone, "SRV-PROD-42", "")
	for _, proto := range []string{"udp", "tcp"} {
		nm := testenv.NmapService
		if proto == "udp" {
			nm = testenv.NmapUDPService
		}
		host, port, _ := net.SplitHostPort(named)
		want := nm(t, host, port)
		host, port, _ = net.SplitHostPort(d.addr)
		got := nm(t, host, port)
		t.Logf("nmap -sV %s: named %q, decky %q", proto, want, got)
		if got != want {
			t.Errorf("nmap %s: decky %q, named %q", proto, got, want)
		}
	}
}
