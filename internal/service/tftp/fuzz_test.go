package tftp

import (
	"testing"

	"github.com/decnet/decnet/internal/persona"
)

// FuzzParseRequest parses any datagram as a request against the bait
// tree: no panic, an acknowledged block size within the protocol's
// bounds, and an OACK that fits a packet.
func FuzzParseRequest(f *testing.F) {
	for _, s := range []string{"\x00\x01startup-config\x00octet\x00blksize\x001400\x00tsize\x000\x00",
		"\x00\x02a/../b\x00NETASCII\x00timeout\x003\x00", "\x00\x01pxelinux.cfg/default\x00netascii\x00rollover\x001\x00",
		"\x00\x01x", "\x00\x01\x00", "\x00\x01a\x00octet\x00blksize2\x00-7\x00utimeout\x00 +20000\x00"} {
		f.Add([]byte(s))
	}
	s := &Server{cfg: *defaults(), tree: newTree(persona.NewIdentity("fuzz", "d"), "web01", nil)}
	f.Fuzz(func(t *testing.T, b []byte) {
		var p params
		r, nak := parseRequest(b, s.validate, &p)
		if r == nil {
			return
		}
		if nak != nil {
			if len(nak.packet()) > pktSize {
				t.Fatal("error packet too long")
			}
			return
		}
		if p.segsize < 8 || p.segsize > maxSegsize {
			t.Fatalf("segsize %d", p.segsize)
		}
		if len(oack(r.acked)) > pktSize {
			t.Fatalf("OACK of %d bytes", len(oack(r.acked)))
		}
	})
}
