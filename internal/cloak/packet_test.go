package cloak

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/decnet/decnet/internal/persona"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// tcpPacket builds an IPv4 TCP packet from 10.0.0.1:40000 to
// 10.0.0.2:port (or back when out is set) with valid checksums.
func tcpPacket(out bool, port uint16, flags byte, seq, ack uint32, opts []byte) []byte {
	b := make([]byte, 40+len(opts))
	b[0] = 0x45
	binary.BigEndian.PutUint16(b[2:4], uint16(len(b)))
	b[8], b[9] = 64, protoTCP
	src, dst := []byte{10, 0, 0, 1}, []byte{10, 0, 0, 2}
	sport, dport := uint16(40000), port
	if out {
		src, dst, sport, dport = dst, src, port, 40000
		setDF(b, true)
	}
	copy(b[12:16], src)
	copy(b[16:20], dst)
	t := b[20:]
	binary.BigEndian.PutUint16(t[0:2], sport)
	binary.BigEndian.PutUint16(t[2:4], dport)
	binary.BigEndian.PutUint32(t[4:8], seq)
	binary.BigEndian.PutUint32(t[8:12], ack)
	t[12] = byte((20+len(opts))/4) << 4
	t[13] = flags
	binary.BigEndian.PutUint16(t[14:16], 64240)
	copy(t[20:], opts)
	ip, _ := parseIP4(b)
	fixTCP(ip)
	return b
}

// Linux's SYN-ACK options without timestamps: MSS 1460, NOP NOP SACK, NOP WS 8.
var linuxSynAckOpts = []byte{2, 4, 0x05, 0xb4, 1, 1, 4, 2, 1, 3, 3, 8}

func checksumsOK(t *testing.T, b []byte) {
	t.Helper()
	ip, ok := parseIP4(b)
	if !ok {
		t.Fatalf("not an IPv4 packet: % x", b)
	}
	if checksum(0, ip.b[:ip.ihl]) != 0 {
		t.Errorf("bad IP checksum")
	}
	if ip.proto == protoTCP && checksum(pseudoSum(ip, protoTCP), ip.payload()) != 0 {
		t.Errorf("bad TCP checksum")
	}
}

func TestSynAckLikeWindows(t *testing.T) {
	p, _ := Lookup(persona.Windows)
	r := &rewriter{p: p}
	out, ok := r.outbound(tcpPacket(true, 445, flSYN|flACK, 1000, 2001, linuxSynAckOpts))
	if !ok {
		t.Fatal("SYN-ACK left alone")
	}
	checksumsOK(t, out)
	ip, _ := parseIP4(out)
	tc, _ := parseTCP(ip.payload())
	if want := []byte{2, 4, 0x05, 0xb4, 1, 3, 3, 8, 1, 1, 4, 2}; !bytes.Equal(tc.options(), want) {
		t.Errorf("options % x, want % x (MNWNNS, the kernel's values)", tc.options(), want)
	}
	if w := binary.BigEndian.Uint16(tc.b[14:16]); w != 0xffff {
		t.Errorf("window %#x", w)
	}
	if !ip.df() || tc.seq() != 1000 || tc.ack() != 2001 {
		t.Errorf("DF %v seq %d ack %d", ip.df(), tc.seq(), tc.ack())
	}
}

func TestProbeAnswers(t *testing.T) {
	open := func(port uint16) bool { return port == 445 }
	win, _ := Lookup(persona.Windows)
	cisco, _ := Lookup(persona.Cisco)
	bsd, _ := Lookup(persona.BSD)
	for _, tc := range []struct {
		name     string
		p        Profile
		probe    []byte
		drop     bool
		seq, ack uint32 // of the answer, when there is one
		answer   bool
		asSYN    bool
	}{
		{"windows T2 null to open", win, tcpPacket(false, 445, 0, 5000, 77, nil), true, 0, 5000, true, false},
		{"windows T3 SYN+FIN to open", win, tcpPacket(false, 445, flSYN|flFIN|flPSH|flURG, 5000, 77, nil), true, 0, 5002, true, false},
		{"windows SYN to open passes", win, tcpPacket(false, 445, flSYN, 5000, 0, nil), false, 0, 0, false, false},
		{"windows SYN to closed: the kernel answers", win, tcpPacket(false, 443, flSYN, 5000, 77, nil), false, 0, 0, false, false},
		{"cisco T5 SYN to closed", cisco, tcpPacket(false, 443, flSYN, 5000, 77, nil), true, 77, 5001, true, false},
		{"cisco T7 FIN|PSH|URG to closed", cisco, tcpPacket(false, 443, flFIN|flPSH|flURG, 5000, 77, nil), true, 77, 5000, true, false},
		{"cisco T2 to open: silent like IOS", cisco, tcpPacket(false, 445, 0, 5000, 77, nil), false, 0, 0, false, false},
		{"freebsd T3 taken as a SYN", bsd, tcpPacket(false, 445, flSYN|flFIN|flPSH|flURG, 5000, 77, nil), false, 0, 0, false, true},
		{"ACK never touched", win, tcpPacket(false, 445, flACK, 5000, 77, nil), false, 0, 0, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &rewriter{p: tc.p}
			v := r.inbound(tc.probe, open)
			if v.drop != tc.drop || (v.reply != nil) != tc.answer || (v.modified != nil) != tc.asSYN {
				t.Fatalf("drop %v reply %v modified %v", v.drop, v.reply != nil, v.modified != nil)
			}
			if v.modified != nil {
				checksumsOK(t, v.modified)
				ip, _ := parseIP4(v.modified)
				if tcp, _ := parseTCP(ip.payload()); tcp.flags() != flSYN {
					t.Errorf("flags %#x, want a plain SYN", tcp.flags())
				}
			}
			if v.reply == nil {
				return
			}
			checksumsOK(t, v.reply)
			ip, _ := parseIP4(v.reply)
			a, _ := parseTCP(ip.payload())
			if a.flags() != flRST|flACK || a.seq() != tc.seq || a.ack() != tc.ack || ip.b[8] != tc.p.TTL || ip.df() != tc.p.DF {
				t.Errorf("answer flags %#x seq %d ack %d ttl %d df %v", a.flags(), a.seq(), a.ack(), ip.b[8], ip.df())
			}
			pip, _ := parseIP4(tc.probe)
			probe, _ := parseTCP(pip.payload())
			if a.dport() != 40000 || a.sport() != probe.dport() {
				t.Errorf("answer ports %d -> %d", a.sport(), a.dport())
			}
		})
	}
}

func TestIPIDSegments(t *testing.T) {
	g := &ipids{mode: IPIDIncremental, mtu: 1500, next: 100}
	syn := tcpPacket(false, 80, flSYN, 1, 0, []byte{2, 4, 0x05, 0x78}) // MSS 1400
	ip, _ := parseIP4(syn)
	tc, _ := parseTCP(ip.payload())
	g.learn(ip, tc)
	data := tcpPacket(true, 80, flACK|flPSH, 1, 1, nil)
	data = append(data, make([]byte, 2800)...) // two segments of 1400
	binary.BigEndian.PutUint16(data[2:4], uint16(len(data)))
	g.assign(data, true)
	if id := binary.BigEndian.Uint16(data[4:6]); id != 100 || g.next != 102 {
		t.Errorf("id %d, next %d; want 100 and 102", id, g.next)
	}
	g.assign(tcpPacket(true, 80, flACK, 1, 1, nil), false)
	if g.next != 103 {
		t.Errorf("next %d after a plain packet", g.next)
	}
}

func TestParseListeners(t *testing.T) {
	m := map[uint16]bool{}
	parseListeners(strings.NewReader(`  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0
   1: 0200000A:1F90 0100000A:9C40 01 00000000:00000000 00:00000000 00000000     0        0 2 1 0 20 4 30 10 -1
`), m)
	if !m[22] || m[8080] || len(m) != 1 {
		t.Errorf("listeners %v, want only 22", m)
	}
}

// FuzzRewriter feeds arbitrary packets both ways through every profile:
// nothing may panic, and whatever the rewriter sends or gives back parses
// with valid checksums.
func FuzzRewriter(f *testing.F) {
	seedCorpus(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, fam := range Families() {
			p, _ := Lookup(fam)
			r := &rewriter{p: p, ids: ipids{mode: p.IPID, mtu: 1500}}
			if out, ok := r.outbound(b); ok {
				if _, ok := parseIP4(out); !ok {
					t.Fatalf("%s: outbound gave back an unparsable packet", fam)
				}
				r.ids.assign(out, len(out) > 1500)
			}
			c := append([]byte(nil), b...)
			fixL4(c)
			r.ids.assign(c, true)
			v := r.inbound(b, func(p uint16) bool { return p%2 == 0 })
			if v.reply != nil {
				checksumsOK(t, v.reply)
			}
		}
	})
}

// FuzzParseNfqMessage: the netlink parser bounds everything it reads.
func FuzzParseNfqMessage(f *testing.F) {
	seedCorpus(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		for len(b) > 0 {
			p, n, err := parseNfqMessage(b)
			if n <= 0 || n > len(b) {
				return
			}
			if err == nil && len(p.payload) > len(b) {
				t.Fatal("payload beyond the message")
			}
			b = b[n:]
		}
	})
}

func FuzzParseListeners(f *testing.F) {
	f.Add([]byte("   0: 00000000:0016 00000000:0000 0A 0\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		parseListeners(bytes.NewReader(b), map[uint16]bool{})
	})
}

// seedCorpus adds the files of testdata/packets (a netlink message
// carrying a SYN-ACK, nmap's probes) and a few built packets.
func seedCorpus(f *testing.F) {
	files, _ := filepath.Glob("testdata/packets/*")
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	f.Add(tcpPacket(true, 445, flSYN|flACK, 1, 2, linuxSynAckOpts))
	f.Add(tcpPacket(false, 445, flSYN|flFIN|flURG|flPSH, 1, 2, nil))
	f.Add(tcpPacket(true, 443, flRST, 1, 0, nil))
}

func TestParseNfqMessage(t *testing.T) {
	b, err := os.ReadFile("testdata/packets/nfq-synack")
	if err != nil {
		t.Fatal(err)
	}
	p, n, err := parseNfqMessage(b)
	if err != nil || n != len(b) || p.id != 7 || p.hook != 3 || !p.gso || p.csumNotReady {
		t.Fatalf("%+v %d %v", p, n, err)
	}
	if ip, ok := parseIP4(p.payload); !ok || ip.proto != protoTCP {
		t.Errorf("payload % x", p.payload)
	}
	if _, _, err := parseNfqMessage(b[:len(b)-30]); err == nil {
		t.Error("a truncated message parsed")
	}
	// A packet longer than the queue copies carries its length apart.
	capped := append([]byte(nil), b...)
	capped = append(capped, 8, 0, nfqaCapLen, 0, 0, 1, 0, 0)
	binary.NativeEndian.PutUint32(capped[0:4], uint32(len(capped)))
	if p, _, err := parseNfqMessage(capped); err != nil || !p.truncated || p.length != 65536 {
		t.Errorf("a capped packet: %+v %d %v", p.truncated, p.length, err)
	}
	if p.length != len(p.payload) || p.queue != binary.BigEndian.Uint16(b[18:20]) {
		t.Errorf("length %d of %d, queue %d", p.length, len(p.payload), p.queue)
	}
	if p.truncated {
		t.Error("a whole packet taken as truncated")
	}
}

// TestIDMark: the mark the cloak gives a header-queue packet carries its
// ID so that the ipid chain's rule (mask 0xffff equal to the tag, then
// the mark in network order, whose first two bytes are written at IP
// header offset 4) writes exactly that ID, on either byte order.
func TestIDMark(t *testing.T) {
	rule := idFromMark()
	mask := rule[1].(*expr.Bitwise).Mask
	tag := rule[2].(*expr.Cmp).Data
	bo := rule[4].(*expr.Byteorder)
	wr := rule[5].(*expr.Payload)
	if bo.Op != expr.ByteorderHton || bo.Size != 4 || wr.OperationType != expr.PayloadWrite ||
		wr.Base != expr.PayloadBaseNetworkHeader || wr.Offset != 4 || wr.Len != 2 || wr.CsumOffset != 10 {
		t.Fatalf("rule %+v %+v", bo, wr)
	}
	for _, id := range []uint16{0, 1, 0x1234, 0xdec0, 0xffff} {
		m := idMark(id)
		reg := binary.NativeEndian.AppendUint32(nil, m) // meta mark => reg 1
		masked := make([]byte, 4)
		for i := range masked {
			masked[i] = reg[i] & mask[i]
		}
		if !bytes.Equal(masked, tag) {
			t.Errorf("mark %#x of id %d does not match the tag", m, id)
		}
		net := binary.BigEndian.AppendUint32(nil, binary.NativeEndian.Uint32(reg)) // hton 4
		if got := binary.BigEndian.Uint16(net[:wr.Len]); got != id {
			t.Errorf("mark %#x writes id %d, want %d", m, got, id)
		}
	}
	// A mark without the tag (the decky's own) is left alone.
	if own := binary.NativeEndian.AppendUint32(nil, 0xdec00001); bytes.Equal([]byte{own[0] & mask[0], own[1] & mask[1], own[2] & mask[2], own[3] & mask[3]}, tag) {
		t.Error("a mark without the tag matches it")
	}
}

// TestVerdictMessages: verdicts sent together are well-formed netlink
// messages back to back, each for its queue, with the mark in network
// order.
func TestVerdictMessages(t *testing.T) {
	q := &nfqueue{num: 4242, header: true}
	q.verdictMark(4243, 7, idMark(0x1234))
	if err := q.verdict(4242, 9, nfDrop, nil); err != nil {
		t.Fatal(err)
	}
	b := q.pending
	type v struct {
		queue    uint16
		id, verd uint32
		mark     uint32
		hasMark  bool
	}
	var got []v
	for len(b) > 0 {
		l := int(binary.NativeEndian.Uint32(b[0:4]))
		if l%4 != 0 || l > len(b) || binary.NativeEndian.Uint16(b[4:6]) != unix.NFNL_SUBSYS_QUEUE<<8|nfqMsgVerdict {
			t.Fatalf("message % x", b)
		}
		x := v{queue: binary.BigEndian.Uint16(b[18:20])}
		for a := b[20:l]; len(a) >= 4; {
			al := int(binary.NativeEndian.Uint16(a[0:2]))
			switch binary.NativeEndian.Uint16(a[2:4]) {
			case nfqaVerdictHdr:
				x.verd, x.id = binary.BigEndian.Uint32(a[4:8]), binary.BigEndian.Uint32(a[8:12])
			case nfqaMark:
				x.mark, x.hasMark = binary.BigEndian.Uint32(a[4:8]), true
			}
			a = a[(al+3)&^3:]
		}
		got = append(got, x)
		b = b[l:]
	}
	want := []v{{4243, 7, nfAccept, 0x1234dec0, true}, {4242, 9, nfDrop, 0, false}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("verdicts %+v, want %+v", got, want)
	}
}

// TestHeaderCopyDrawsAsWhole: the IP ID drawn from a packet's first
// headerCopy bytes and its length (the header queue) is the one drawn
// from the whole packet, segments included.
func TestHeaderCopyDrawsAsWhole(t *testing.T) {
	syn := tcpPacket(false, 80, flSYN, 1, 0, []byte{2, 4, 0x05, 0x78}) // MSS 1400
	ip, _ := parseIP4(syn)
	tc, _ := parseTCP(ip.payload())
	data := tcpPacket(true, 80, flACK|flPSH, 1, 1, []byte{1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2})
	data = append(data, make([]byte, 60000)...)
	binary.BigEndian.PutUint16(data[2:4], uint16(len(data)))
	// 60000 bytes at the flow's MSS 1400 less 12 bytes of options: 44
	// segments; a plain ACK: one.
	for _, tc2 := range []struct {
		pkt  []byte
		next uint16
	}{{data, 144}, {tcpPacket(true, 80, flACK, 1, 1, nil), 101}} {
		whole := &ipids{mode: IPIDIncremental, mtu: 1500, next: 100}
		head := &ipids{mode: IPIDIncremental, mtu: 1500, next: 100}
		whole.learn(ip, tc)
		head.learn(ip, tc)
		whole.assign(append([]byte(nil), tc2.pkt...), true)
		h, ok := parseIPHead(tc2.pkt[:min(len(tc2.pkt), headerCopy)], len(tc2.pkt))
		if !ok {
			t.Fatal("header copy does not parse")
		}
		if id, ok := head.draw(h, true); !ok || id != 100 || head.next != tc2.next || whole.next != tc2.next {
			t.Errorf("header copy: id %d next %d; whole packet: next %d; want next %d", id, head.next, whole.next, tc2.next)
		}
	}
}

// FuzzParseIPHead: the header view bounds what it reads, and a header
// copy draws the ID the whole packet draws.
func FuzzParseIPHead(f *testing.F) {
	seedCorpus(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, total := range []int{len(b), len(b) + 1000, 70000} {
			if h, ok := parseIPHead(b, total); ok {
				g := &ipids{mode: IPIDIncremental, mtu: 1500}
				g.draw(h, true)
			}
		}
		if len(b) <= headerCopy {
			return
		}
		h1, ok1 := parseIPHead(b, len(b))
		h2, ok2 := parseIPHead(b[:headerCopy], len(b))
		if ok1 != ok2 {
			t.Fatalf("whole %v, header copy %v", ok1, ok2)
		}
		if ok1 {
			g1, g2 := &ipids{mode: IPIDIncremental, mtu: 1500}, &ipids{mode: IPIDIncremental, mtu: 1500}
			g1.draw(h1, true)
			g2.draw(h2, true)
			if g1.next != g2.next {
				t.Fatalf("whole packet advances %d, header copy %d", g1.next, g2.next)
			}
		}
	})
}
