package dns

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"github.com/decnet/decnet/internal/persona"
)

// FuzzAnswer parses any datagram as a request and answers it as a UDP, a
// TCP and a rate-limited client would get it: no panic, every answer
// carries the request's id and a header, and a UDP answer stays within
// what the client can take.
func FuzzAnswer(f *testing.F) {
	for _, p := range probes("acme-corp.com.") {
		if !p.tcp {
			f.Add(p.q)
		}
	}
	f.Add([]byte{0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 0x0c, 0, 1, 0, 1})    // a question pointing at itself
	f.Add([]byte{0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 0x02, 0, 1, 0, 1})    // pointing into the header
	f.Add([]byte{0, 1, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0}) // huge counts
	z, err := buildZone(zoneSpec{domain: "acme-corp.com", hostname: "web01", addrs: []netip.Addr{netip.MustParseAddr("10.1.2.3")},
		id: persona.NewIdentity("fuzz", "d"), now: time.Now()})
	if err != nil {
		f.Fatal(err)
	}
	s := &responder{zone: z, chaos: chaosZones("9.18.49-1~deb12u3-Debian", "web01", "ns-a"), serverID: "ns-a", axfr: true,
		cookieKey: []byte("k"), now: time.Now}
	f.Fuzz(func(t *testing.T, b []byte) {
		req, _ := parseRequest(b)
		if req == nil {
			if len(b) >= headerLen {
				t.Fatal("a message with a header did not parse a header")
			}
			return
		}
		for _, q := range []*query{{req: req}, {req: req, tcp: true}, {req: req, limited: true}, {req: req, recursion: true}} {
			out, _ := s.answer(q)
			if out == nil {
				continue
			}
			if len(out) < headerLen || binary.BigEndian.Uint16(out) != req.id || out[2]&0x80 == 0 {
				t.Fatalf("answer %x to %x lacks a response header", out, b)
			}
			if !q.tcp && len(out) > ednsSize {
				t.Fatalf("UDP answer of %d bytes", len(out))
			}
		}
	})
}
