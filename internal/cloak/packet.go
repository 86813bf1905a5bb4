package cloak

import (
	"encoding/binary"
	"sync"
)

// TCP flags.
const (
	flFIN = 0x01
	flSYN = 0x02
	flRST = 0x04
	flPSH = 0x08
	flACK = 0x10
	flURG = 0x20
)

const (
	protoICMP = 1
	protoTCP  = 6
	protoUDP  = 17
	ipDF      = 0x4000
	maxPacket = 65535
)

// ip4 is a bounds-checked view of an IPv4 packet: the header length and
// the total length are within the buffer when parse returns true.
type ip4 struct {
	b     []byte // the packet, cut to its total length
	ihl   int
	proto byte
}

func parseIP4(b []byte) (ip4, bool) {
	if len(b) < 20 || b[0]>>4 != 4 {
		return ip4{}, false
	}
	ihl := int(b[0]&0x0f) * 4
	total := int(binary.BigEndian.Uint16(b[2:4]))
	if ihl < 20 || total < ihl || total > len(b) {
		return ip4{}, false
	}
	return ip4{b: b[:total], ihl: ihl, proto: b[9]}, true
}

func (p ip4) payload() []byte { return p.b[p.ihl:] }
func (p ip4) src() []byte     { return p.b[12:16] }
func (p ip4) dst() []byte     { return p.b[16:20] }
func (p ip4) df() bool        { return binary.BigEndian.Uint16(p.b[6:8])&ipDF != 0 }

func setDF(b []byte, on bool) {
	v := binary.BigEndian.Uint16(b[6:8])
	if on {
		v |= ipDF
	} else {
		v &^= ipDF
	}
	binary.BigEndian.PutUint16(b[6:8], v)
}

// tcpSeg is a bounds-checked view of a TCP segment: the data offset lies
// within it when parseTCP returns true.
type tcpSeg struct {
	b    []byte
	doff int
}

func parseTCP(b []byte) (tcpSeg, bool) {
	if len(b) < 20 {
		return tcpSeg{}, false
	}
	doff := int(b[12]>>4) * 4
	if doff < 20 || doff > len(b) {
		return tcpSeg{}, false
	}
	return tcpSeg{b: b, doff: doff}, true
}

func (t tcpSeg) sport() uint16   { return binary.BigEndian.Uint16(t.b[0:2]) }
func (t tcpSeg) dport() uint16   { return binary.BigEndian.Uint16(t.b[2:4]) }
func (t tcpSeg) seq() uint32     { return binary.BigEndian.Uint32(t.b[4:8]) }
func (t tcpSeg) ack() uint32     { return binary.BigEndian.Uint32(t.b[8:12]) }
func (t tcpSeg) flags() byte     { return t.b[13] }
func (t tcpSeg) options() []byte { return t.b[20:t.doff] }
func (t tcpSeg) data() []byte    { return t.b[t.doff:] }

// tcpOpts are the options a SYN or SYN-ACK carries, with their values.
type tcpOpts struct {
	mss          uint16
	ws           byte
	tsval, tsecr uint32
	have         string // letters of the options present, in M W S T order
}

func parseOptions(o []byte) tcpOpts {
	var r tcpOpts
	var m, w, s, t bool
	for i := 0; i < len(o); {
		kind := o[i]
		if kind == 0 {
			break
		}
		if kind == 1 {
			i++
			continue
		}
		if i+1 >= len(o) {
			break
		}
		l := int(o[i+1])
		if l < 2 || i+l > len(o) {
			break
		}
		v := o[i+2 : i+l]
		switch {
		case kind == 2 && l == 4:
			m, r.mss = true, binary.BigEndian.Uint16(v)
		case kind == 3 && l == 3:
			w, r.ws = true, v[0]
		case kind == 4 && l == 2:
			s = true
		case kind == 8 && l == 10:
			t, r.tsval, r.tsecr = true, binary.BigEndian.Uint32(v[0:4]), binary.BigEndian.Uint32(v[4:8])
		}
		i += l
	}
	for _, x := range []struct {
		on bool
		c  byte
	}{{m, 'M'}, {w, 'W'}, {s, 'S'}, {t, 'T'}} {
		if x.on {
			r.have += string(x.c)
		}
	}
	return r
}

// encodeLayout writes options in an nmap-letter layout with the values of o.
func encodeLayout(layout string, o tcpOpts) []byte {
	out := make([]byte, 0, 40)
	for i := 0; i < len(layout); i++ {
		switch layout[i] {
		case 'M':
			out = append(out, 2, 4, byte(o.mss>>8), byte(o.mss))
		case 'N':
			out = append(out, 1)
		case 'W':
			out = append(out, 3, 3, o.ws)
		case 'S':
			out = append(out, 4, 2)
		case 'T':
			out = append(out, 8, 10)
			out = binary.BigEndian.AppendUint32(out, o.tsval)
			out = binary.BigEndian.AppendUint32(out, o.tsecr)
		case 'L':
			out = append(out, 0)
		}
	}
	for len(out)%4 != 0 {
		out = append(out, 0)
	}
	return out
}

// memo remembers a little about recent inbound packets for the answers to
// them: the MSS a SYN offered, the DF bit of an echo request.
type memo struct {
	mss bounded[[6]byte, uint16]
	df  bounded[[8]byte, bool]
}

// bounded is a small map that starts over when full, which only costs an
// answer its detail, never memory. A value is taken once.
type bounded[K comparable, V any] struct {
	mu sync.Mutex
	m  map[K]V
}

const memoMax = 4096

func (b *bounded[K, V]) put(k K, v V) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.m == nil || len(b.m) >= memoMax {
		b.m = make(map[K]V)
	}
	b.m[k] = v
}

func (b *bounded[K, V]) take(k K) (V, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	v, ok := b.m[k]
	delete(b.m, k)
	return v, ok
}

func peerKey(ip []byte, port uint16) [6]byte {
	var k [6]byte
	copy(k[:4], ip)
	binary.BigEndian.PutUint16(k[4:], port)
	return k
}

func echoKey(ip []byte, icmp []byte) [8]byte {
	var k [8]byte
	copy(k[:4], ip)
	copy(k[4:], icmp[4:8]) // identifier and sequence number
	return k
}

// rewriter applies a profile to packets. Its methods never panic on any
// input: a packet it cannot parse is left as it is.
type rewriter struct {
	p    Profile
	memo memo
	ids  ipids
}

// outbound rewrites a packet the decky sends. It returns the new packet
// and true when it changed anything.
func (r *rewriter) outbound(b []byte) ([]byte, bool) {
	ip, ok := parseIP4(b)
	if !ok {
		return nil, false
	}
	switch ip.proto {
	case protoTCP:
		t, ok := parseTCP(ip.payload())
		if !ok {
			return nil, false
		}
		f := t.flags()
		switch {
		case f&(flSYN|flACK) == flSYN|flACK:
			return r.synAck(ip, t), true
		case f&flRST != 0 && f&flSYN == 0:
			out := clone(ip.b)
			oi, _ := parseIP4(out)
			ot, _ := parseTCP(oi.payload())
			if r.p.BareRSTAck && f&flACK == 0 && ot.ack() == 0 {
				copy(ot.b[8:12], ot.b[4:8])
			}
			setDF(out, r.p.DF)
			fixTCP(oi)
			return out, true
		}
	case protoICMP:
		return r.icmpOut(ip)
	}
	return nil, false
}

func (r *rewriter) synAck(ip ip4, t tcpSeg) []byte {
	o := parseOptions(t.options())
	if r.p.MSSEcho && o.have != "" && o.have[0] == 'M' {
		if peer, ok := r.memo.mss.take(peerKey(ip.dst(), t.dport())); ok && peer < o.mss {
			o.mss = peer
		}
	}
	opts := t.options()
	if l, ok := r.p.layoutFor(o.have); ok {
		if enc := encodeLayout(l, o); len(enc) <= 40 {
			opts = enc
		}
	}
	hlen := 20 + len(opts)
	out := make([]byte, 0, ip.ihl+hlen+len(t.data()))
	out = append(out, ip.b[:ip.ihl]...)
	out = append(out, t.b[:20]...)
	out = append(out, opts...)
	out = append(out, t.data()...)
	binary.BigEndian.PutUint16(out[2:4], uint16(len(out)))
	setDF(out, r.p.DF)
	oi, _ := parseIP4(out)
	tcp := oi.payload()
	tcp[12] = byte(hlen/4)<<4 | tcp[12]&0x0f
	w := r.p.Window
	if !containsByte(o.have, 'W') {
		w = r.p.WindowNoWS
	}
	if w != 0 {
		binary.BigEndian.PutUint16(tcp[14:16], w)
	}
	fixTCP(oi)
	return out
}

func containsByte(s string, c byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return true
		}
	}
	return false
}

func (r *rewriter) icmpOut(ip ip4) ([]byte, bool) {
	ic := ip.payload()
	if len(ic) < 8 {
		return nil, false
	}
	switch ic[0] {
	case 0: // echo reply
		if !r.p.EchoCodeZero && !r.p.EchoDF {
			return nil, false
		}
		out := clone(ip.b)
		oi, _ := parseIP4(out)
		oic := oi.payload()
		if r.p.EchoCodeZero {
			oic[1] = 0
		}
		if r.p.EchoDF {
			if df, ok := r.memo.df.take(echoKey(ip.dst(), ic)); ok {
				setDF(out, df)
			}
		}
		fixICMP(oi)
		return out, true
	case 3, 11: // destination unreachable, time exceeded
		if !r.p.QuoteHeaderOnly {
			return nil, false
		}
		q, ok := parseIP4Prefix(ic[8:])
		if !ok || len(ic) <= 8+q+8 {
			return nil, false
		}
		n := ip.ihl + 8 + q + 8
		out := clone(ip.b[:n])
		binary.BigEndian.PutUint16(out[2:4], uint16(n))
		oi, _ := parseIP4(out)
		fixICMP(oi)
		return out, true
	}
	return nil, false
}

// parseIP4Prefix returns the header length of a quoted IPv4 header, whose
// total length may exceed what was quoted.
func parseIP4Prefix(b []byte) (int, bool) {
	if len(b) < 20 || b[0]>>4 != 4 {
		return 0, false
	}
	ihl := int(b[0]&0x0f) * 4
	if ihl < 20 || ihl > len(b) {
		return 0, false
	}
	return ihl, true
}

// inVerdict is what to do with an inbound packet: let it through (as it
// is, or as modified), or drop it, and perhaps send an answer.
type inVerdict struct {
	drop     bool
	modified []byte
	reply    []byte
}

// inbound looks at a packet sent to the decky. listening reports whether a
// TCP port has a listener.
func (r *rewriter) inbound(b []byte, listening func(uint16) bool) inVerdict {
	ip, ok := parseIP4(b)
	if !ok {
		return inVerdict{}
	}
	switch ip.proto {
	case protoTCP:
		t, ok := parseTCP(ip.payload())
		if !ok {
			return inVerdict{}
		}
		return r.tcpIn(ip, t, listening)
	case protoICMP:
		ic := ip.payload()
		if len(ic) >= 8 && ic[0] == 8 && r.p.EchoDF {
			r.memo.df.put(echoKey(ip.src(), ic), ip.df())
		}
	}
	return inVerdict{}
}

func (r *rewriter) tcpIn(ip ip4, t tcpSeg, listening func(uint16) bool) inVerdict {
	f := t.flags()
	if f&(flACK|flRST) != 0 {
		return inVerdict{}
	}
	syn, fin := f&flSYN != 0, f&flFIN != 0
	if syn {
		r.ids.learn(ip, t)
	}
	if !listening(t.dport()) {
		if r.p.Closed == nil {
			return inVerdict{}
		}
		seq := uint32(0)
		if r.p.Closed.SeqFromAck {
			seq = t.ack()
		}
		ack := t.seq() + uint32(len(t.data()))
		if syn {
			ack++
		}
		if fin && !r.p.Closed.AckNoFIN {
			ack++
		}
		return inVerdict{drop: true, reply: r.reset(ip, t, seq, ack)}
	}
	switch {
	case syn && fin:
		switch r.p.OpenSYNFIN {
		case AnswerRSTAck:
			return inVerdict{drop: true, reply: r.reset(ip, t, 0, t.seq()+2+uint32(len(t.data())))}
		case AnswerAsSYN:
			out := clone(ip.b)
			oi, _ := parseIP4(out)
			oi.payload()[13] = flSYN | f&^(flFIN|flPSH|flURG|flSYN)
			r.noteSYN(oi)
			fixTCP(oi)
			return inVerdict{modified: out}
		}
	case syn:
		r.noteSYN(ip)
	default:
		if r.p.OpenNoSYN == AnswerRSTAck {
			ack := t.seq() + uint32(len(t.data()))
			if fin {
				ack++
			}
			return inVerdict{drop: true, reply: r.reset(ip, t, 0, ack)}
		}
	}
	return inVerdict{}
}

// noteSYN remembers the MSS a SYN offers, for MSSEcho.
func (r *rewriter) noteSYN(ip ip4) {
	if !r.p.MSSEcho {
		return
	}
	t, ok := parseTCP(ip.payload())
	if !ok {
		return
	}
	if o := parseOptions(t.options()); o.have != "" && o.have[0] == 'M' {
		r.memo.mss.put(peerKey(ip.src(), t.sport()), o.mss)
	}
}

// reset crafts the RST+ACK answering probe ip/t, window 0, no options.
// The IP ID is left 0: the kernel and the IP-ID rule fill it in.
func (r *rewriter) reset(ip ip4, t tcpSeg, seq, ack uint32) []byte {
	out := make([]byte, 40)
	out[0] = 0x45
	binary.BigEndian.PutUint16(out[2:4], 40)
	setDF(out, r.p.DF)
	out[8] = r.p.TTL
	out[9] = protoTCP
	copy(out[12:16], ip.dst())
	copy(out[16:20], ip.src())
	tcp := out[20:]
	binary.BigEndian.PutUint16(tcp[0:2], t.dport())
	binary.BigEndian.PutUint16(tcp[2:4], t.sport())
	binary.BigEndian.PutUint32(tcp[4:8], seq)
	binary.BigEndian.PutUint32(tcp[8:12], ack)
	tcp[12] = 5 << 4
	tcp[13] = flRST | flACK
	oi, _ := parseIP4(out)
	fixTCP(oi)
	return out
}

func clone(b []byte) []byte { return append([]byte(nil), b...) }

// checksum is the Internet checksum of b added to sum.
func checksum(sum uint32, b []byte) uint16 {
	for len(b) >= 2 {
		sum += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		sum += uint32(b[0]) << 8
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

func fixIP(ip ip4) {
	ip.b[10], ip.b[11] = 0, 0
	binary.BigEndian.PutUint16(ip.b[10:12], checksum(0, ip.b[:ip.ihl]))
}

// fixTCP recomputes the TCP and IP checksums of a packet.
func fixTCP(ip ip4) {
	seg := ip.payload()
	if len(seg) < 20 {
		return
	}
	seg[16], seg[17] = 0, 0
	binary.BigEndian.PutUint16(seg[16:18], checksum(pseudoSum(ip, protoTCP), seg))
	fixIP(ip)
}

// pseudoSum is the sum of the IPv4 pseudo-header of a transport segment.
func pseudoSum(ip ip4, proto uint32) uint32 {
	var sum uint32
	for i := 12; i < 20; i += 2 {
		sum += uint32(ip.b[i])<<8 | uint32(ip.b[i+1])
	}
	return sum + proto + uint32(len(ip.payload()))
}

// fixICMP recomputes the ICMP and IP checksums of a packet.
func fixICMP(ip ip4) {
	ic := ip.payload()
	if len(ic) < 4 {
		return
	}
	ic[2], ic[3] = 0, 0
	binary.BigEndian.PutUint16(ic[2:4], checksum(0, ic))
	fixIP(ip)
}

// ipids hands out the IP IDs of everything the decky sends, as the host the
// profile claims does: from one counter (Windows), at random (Cisco), or
// zero on DF packets (FreeBSD). A segmentation-offloaded packet leaves as
// several segments numbered from its ID up, so the counter advances by the
// number of segments; a flow's segment size is learnt from the MSS its SYN
// offered, and when unknown the smallest one (536) is assumed, which can
// leave gaps in the sequence (as other traffic does on a real host) but
// never reuses an ID.
type ipids struct {
	mode IPID
	mtu  int
	next uint16
	rnd  uint64
	mss  bounded[[10]byte, uint16] // (peer address, peer port, own port) -> the MSS the peer offered
}

func flowKey(peer []byte, peerPort, ownPort uint16) [10]byte {
	var k [10]byte
	copy(k[:4], peer)
	binary.BigEndian.PutUint16(k[4:6], peerPort)
	binary.BigEndian.PutUint16(k[6:8], ownPort)
	return k
}

// learn records the MSS of an inbound SYN.
func (g *ipids) learn(ip ip4, t tcpSeg) {
	mss := uint16(536)
	if o := parseOptions(t.options()); o.have != "" && o.have[0] == 'M' {
		mss = o.mss
	}
	g.mss.put(flowKey(ip.src(), t.sport(), t.dport()), mss)
}

// ipHead is what the IP ID needs of an outbound packet: its IPv4 header
// and the start of its transport header, from a copy that may stop there
// (the header queue's), and its whole length.
type ipHead struct {
	b          []byte // the IP header
	l4         []byte // what was copied of the transport header
	proto      byte
	total      int
	df         bool
	dst        []byte
	tcpPorts   [2]uint16 // source, destination (TCP only)
	tcpDoff    int
	tcpHasPort bool
}

// parseIPHead reads the headers of a packet of total bytes from b, its
// first bytes (all of them, or a copy cut after the headers). The IP
// header must lie in b and its total length be at most total, or 0 for a
// segmentation-offloaded packet over 64 KiB (BIG TCP).
func parseIPHead(b []byte, total int) (ipHead, bool) {
	if len(b) < 20 || b[0]>>4 != 4 || total < len(b) {
		return ipHead{}, false
	}
	ihl := int(b[0]&0x0f) * 4
	switch tl := int(binary.BigEndian.Uint16(b[2:4])); {
	case tl != 0 && tl <= total:
		total = tl // what follows the IP packet is not part of it
		b = b[:min(len(b), tl)]
	case tl == 0 && total > maxPacket:
	default:
		return ipHead{}, false
	}
	if ihl < 20 || ihl > len(b) {
		return ipHead{}, false
	}
	h := ipHead{b: b[:ihl], l4: b[ihl:], proto: b[9], total: total,
		df: binary.BigEndian.Uint16(b[6:8])&ipDF != 0, dst: b[16:20]}
	if h.proto == protoTCP && len(h.l4) >= 13 {
		h.tcpPorts = [2]uint16{binary.BigEndian.Uint16(h.l4[0:2]), binary.BigEndian.Uint16(h.l4[2:4])}
		h.tcpDoff = int(h.l4[12]>>4) * 4
		h.tcpHasPort = h.tcpDoff >= 20 && ihl+h.tcpDoff <= total
	}
	return h, true
}

// segments is the number of segments packet h leaves as.
func (g *ipids) segments(h ipHead, gso bool) int {
	if !gso {
		return 1
	}
	mtu := g.mtu
	if mtu <= 0 {
		mtu = 1500
	}
	ihl := len(h.b)
	seg, data := mtu-ihl-8, h.total-ihl-8
	if h.proto == protoTCP {
		if !h.tcpHasPort {
			return 1
		}
		opt := h.tcpDoff - 20
		mss := 536
		g.mss.mu.Lock()
		if v, ok := g.mss.m[flowKey(h.dst, h.tcpPorts[1], h.tcpPorts[0])]; ok {
			mss = int(v)
		}
		g.mss.mu.Unlock()
		seg, data = min(mss, mtu-40)-opt, h.total-ihl-h.tcpDoff
	}
	if seg <= 0 {
		return 1
	}
	return max(1, (data+seg-1)/seg)
}

// draw returns the IP ID of outbound packet h, advancing the counter by
// the segments it leaves as; false when the kernel's ID stays.
func (g *ipids) draw(h ipHead, gso bool) (uint16, bool) {
	var id uint16
	switch g.mode {
	case IPIDKernel:
		return 0, false
	case IPIDZeroDF:
		if !h.df {
			id = g.next
			g.next += uint16(g.segments(h, gso))
		}
	case IPIDRandom:
		g.rnd = g.rnd*6364136223846793005 + 1442695040888963407
		id = uint16(g.rnd >> 48)
	default:
		id = g.next
		g.next += uint16(g.segments(h, gso))
	}
	return id, true
}

// assign sets the IP ID of an outbound packet, whole in b, in place and
// fixes the IP header checksum. The transport checksum does not cover the
// ID.
func (g *ipids) assign(b []byte, gso bool) {
	ip, ok := parseIP4(b)
	if !ok {
		return
	}
	h, ok := parseIPHead(ip.b, len(ip.b))
	if !ok {
		return
	}
	if id, ok := g.draw(h, gso); ok {
		binary.BigEndian.PutUint16(ip.b[4:6], id)
		fixIP(ip)
	}
}

// fixL4 recomputes the transport checksum of a packet whose checksum the
// kernel left for the device to finish (CHECKSUM_PARTIAL): a packet given
// back from the queue goes out as it is.
func fixL4(b []byte) {
	ip, ok := parseIP4(b)
	if !ok {
		return
	}
	switch ip.proto {
	case protoTCP:
		fixTCP(ip)
	case protoUDP:
		u := ip.payload()
		if len(u) < 8 {
			return
		}
		u[6], u[7] = 0, 0
		c := checksum(pseudoSum(ip, protoUDP), u)
		if c == 0 {
			c = 0xffff
		}
		binary.BigEndian.PutUint16(u[6:8], c)
	}
}
