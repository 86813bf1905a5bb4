package smb

import (
	"bytes"
	"encoding/hex"
	"strings"

	"github.com/decnet/decnet/internal/event"
)

// DCE/RPC packet types (C706 12.6).
const (
	rpcRequest  = 0
	rpcResponse = 2
	rpcFault    = 3
	rpcBind     = 11
	rpcBindAck  = 12
	rpcBindNak  = 13
)

const (
	maxRPCBuffer = 64 << 10
	maxFrag      = 4280
	faultOpRange = 0x1c010002
	faultProto   = 0x1c01000b
)

// uuidWire writes a textual UUID in its little-endian wire form.
func uuidWire(s string) []byte {
	h, _ := hex.DecodeString(strings.ReplaceAll(s, "-", ""))
	return []byte{h[3], h[2], h[1], h[0], h[5], h[4], h[7], h[6], h[8], h[9], h[10], h[11], h[12], h[13], h[14], h[15]}
}

var (
	uuidSrvsvc  = uuidWire("4b324fc8-1670-01d3-1278-5a47bf6ee188")
	uuidWkssvc  = uuidWire("6bffd098-a112-3610-9833-46c3f87e345a")
	uuidNDR     = uuidWire("8a885d04-1ceb-11c9-9fe8-08002b104860")
	bindFeature = uuidWire("6cb71c2c-9812-4540-0000-000000000000")[:8]
)

// pipeInterfaces are the pipes the decky serves and the interface each
// speaks.
var pipeInterfaces = map[string][]byte{"srvsvc": uuidSrvsvc, "wkssvc": uuidWkssvc}

// pipe is an open named pipe: DCE/RPC fragments in, answers queued out.
type pipe struct {
	cn       *conn
	ss       *session
	name     string
	bound    map[uint16]string // context id -> interface name
	in, out  []byte
	overflow bool
}

func newPipe(cn *conn, ss *session, name string) *pipe {
	return &pipe{cn: cn, ss: ss, name: name, bound: map[uint16]string{}}
}

// read returns up to n queued bytes and whether more remain.
func (p *pipe) read(n int) ([]byte, bool) {
	if len(p.out) == 0 {
		return nil, false
	}
	k := min(n, len(p.out))
	data := p.out[:k:k]
	p.out = p.out[k:]
	return data, len(p.out) > 0
}

// write takes client bytes and answers every complete PDU.
func (p *pipe) write(data []byte) {
	if len(p.in)+len(data) > maxRPCBuffer {
		p.in, p.overflow = nil, true
		return
	}
	p.in = append(p.in, data...)
	for len(p.in) >= 16 {
		n := int(u16(p.in, 8))
		if p.in[0] != 5 || n < 16 {
			p.in = nil
			p.cn.protocolError("malformed DCE/RPC PDU")
			return
		}
		if len(p.in) < n {
			return
		}
		pdu := p.in[:n]
		p.in = p.in[n:]
		if out := p.handle(pdu); out != nil && len(p.out)+len(out) <= maxRPCBuffer {
			p.out = append(p.out, out...)
		}
	}
}

func (p *pipe) event(iface, op string, opnum int) {
	f := map[string]any{"pipe": p.name, "interface": iface, "operation": op, "user": event.Text([]byte(p.ss.who()), 512)}
	if opnum >= 0 {
		f["opnum"] = opnum
	}
	p.cn.c.Session.Emit(event.Event{Type: "smb.rpc.call", Fields: f})
}

func rpcHeader(typ byte, callID uint32) buf {
	var w buf
	w.bytes([]byte{5, 0, typ, 3, 0x10, 0, 0, 0})
	w.u16(0) // frag length, set by finish
	w.u16(0)
	w.u32(callID)
	return w
}

func rpcFinish(w buf) []byte {
	w.put16(8, uint16(w.len()))
	return w.b
}

func (p *pipe) handle(pdu []byte) []byte {
	callID := u32(pdu, 12)
	switch pdu[2] {
	case rpcBind:
		return p.bind(pdu, callID)
	case rpcRequest:
		if len(pdu) < 24 {
			return fault(callID, faultProto)
		}
		ctx, opnum := u16(pdu, 20), u16(pdu, 22)
		iface, ok := p.bound[ctx]
		if !ok {
			return fault(callID, faultProto)
		}
		stub := pdu[24:]
		if pdu[3]&0x80 != 0 && len(stub) >= 16 { // object UUID present
			stub = stub[16:]
		}
		name, out := p.call(iface, opnum, stub)
		p.event(iface, name, int(opnum))
		if out == nil {
			return fault(callID, faultOpRange)
		}
		w := rpcHeader(rpcResponse, callID)
		w.u32(uint32(len(out)))
		w.u16(ctx)
		w.u8(0)
		w.u8(0)
		w.bytes(out)
		return rpcFinish(w)
	}
	return nil
}

func fault(callID, status uint32) []byte {
	w := rpcHeader(rpcFault, callID)
	w.u32(32)
	w.u16(0)
	w.u8(0)
	w.u8(0)
	w.u32(status)
	w.u32(0)
	return rpcFinish(w)
}

func (p *pipe) bind(pdu []byte, callID uint32) []byte {
	if len(pdu) < 28 {
		return nil
	}
	n := int(pdu[24])
	type result struct {
		res, reason uint16
		syntax      []byte
	}
	var results []result
	at := 28
	iface := ""
	for i := 0; i < n && i < 16; i++ {
		ctx := u16(pdu, at)
		ns := int(pdu[min(at+2, len(pdu)-1)])
		abstract := slice(pdu, at+4, 16)
		if abstract == nil || ns == 0 {
			break
		}
		name := ""
		for k, u := range pipeInterfaces {
			if bytes.Equal(abstract, u) {
				name = k
			}
		}
		r := result{res: 2, reason: 2, syntax: make([]byte, 20)} // provider rejection: transfer syntax
		for j := 0; j < ns && j < 8; j++ {
			ts := slice(pdu, at+24+20*j, 20)
			switch {
			case ts == nil:
			case bytes.HasPrefix(ts, bindFeature):
				if r.res != 0 {
					r = result{res: 3, reason: 3, syntax: make([]byte, 20)} // negotiate ack: keep the connection on orphan
				}
			case bytes.Equal(ts[:16], uuidNDR) && r.res != 0:
				if name == "" {
					r = result{res: 2, reason: 1, syntax: make([]byte, 20)} // abstract syntax not supported
				} else {
					r = result{res: 0, syntax: ts}
					p.bound[ctx] = name
					iface = name
				}
			}
		}
		results = append(results, r)
		at += 24 + 20*ns
	}
	if iface == "" {
		iface = hex.EncodeToString(slice(pdu, 32, 16))
	}
	p.event(iface, "bind", -1)
	w := rpcHeader(rpcBindAck, callID)
	w.u16(maxFrag)
	w.u16(maxFrag)
	assoc := u32(pdu, 20)
	if assoc == 0 {
		var r [2]byte
		randRead(r[:])
		assoc = 0x00010000 | uint32(le.Uint16(r[:]))
	}
	w.u32(assoc)
	sec := append([]byte(`\PIPE\`+p.name), 0)
	w.u16(uint16(len(sec)))
	w.bytes(sec)
	w.align(4)
	w.u8(byte(len(results)))
	w.zero(3)
	for _, r := range results {
		w.u16(r.res)
		w.u16(r.reason)
		w.bytes(r.syntax)
	}
	return rpcFinish(w)
}

// call runs one operation; a nil answer is a fault (unknown opnum).
func (p *pipe) call(iface string, opnum uint16, stub []byte) (string, []byte) {
	r := &ndrReader{b: stub}
	switch {
	case iface == "srvsvc" && opnum == 15:
		return "NetShareEnumAll", p.netShareEnumAll(r)
	case iface == "srvsvc" && opnum == 16:
		return "NetShareGetInfo", p.netShareGetInfo(r)
	case iface == "srvsvc" && opnum == 21:
		return "NetServerGetInfo", p.netServerGetInfo(r)
	case iface == "wkssvc" && opnum == 0:
		return "NetWkstaGetInfo", p.netWkstaGetInfo(r)
	}
	return "opnum", nil
}

// ndrReader reads NDR20 little-endian data, zero past the end.
type ndrReader struct {
	b   []byte
	off int
}

func (r *ndrReader) align(n int) { r.off = (r.off + n - 1) &^ (n - 1) }

func (r *ndrReader) u32() uint32 {
	r.align(4)
	v := u32(r.b, r.off)
	r.off += 4
	return v
}

// str reads a conformant varying UTF-16 string.
func (r *ndrReader) str() string {
	r.u32()
	r.u32()
	n := int(r.u32())
	if n < 0 || n > 1024 {
		return ""
	}
	s := slice(r.b, r.off, 2*n)
	r.off += 2 * n
	return strings.TrimRight(fromUTF16(s), "\x00")
}

// ndrWriter writes NDR20 with referent ids.
type ndrWriter struct {
	buf
	ref uint32
}

func (w *ndrWriter) ptr() {
	w.ref += 4
	w.align(4)
	w.u32(0x00020000 + w.ref - 4)
}

func (w *ndrWriter) str(s string) {
	u := utf16le(s + "\x00")
	w.align(4)
	w.u32(uint32(len(u) / 2))
	w.u32(0)
	w.u32(uint32(len(u) / 2))
	w.bytes(u)
}

const (
	werrOK              = 0
	werrAccessDenied    = 5
	werrInvalidLevel    = 124
	werrNetNameNotFound = 2310
)

// visible lists the shares srvsvc enumerates.
func (p *pipe) visible() []*share { return p.cn.s.shares }

func (p *pipe) netShareEnumAll(r *ndrReader) []byte {
	if r.u32() != 0 {
		r.str()
	}
	level := r.u32()
	var w ndrWriter
	shares := p.visible()
	switch level {
	case 0, 1:
		w.u32(level)
		w.u32(level)
		w.ptr()
		w.u32(uint32(len(shares)))
		w.ptr()
		w.u32(uint32(len(shares)))
		for _, s := range shares {
			w.ptr()
			if level == 1 {
				w.u32(s.stype)
				w.ptr()
			}
		}
		for _, s := range shares {
			w.str(s.name)
			if level == 1 {
				w.str(s.comment)
			}
		}
		w.align(4)
		w.u32(uint32(len(shares)))
		w.ptr()
		w.u32(0) // resume handle
		w.u32(werrOK)
	default:
		w.u32(level)
		w.u32(level)
		w.u32(0)
		w.u32(0)
		w.u32(0)
		w.u32(werrInvalidLevel)
	}
	return w.b
}

func (p *pipe) netShareGetInfo(r *ndrReader) []byte {
	if r.u32() != 0 {
		r.str()
	}
	name := r.str()
	level := r.u32()
	var w ndrWriter
	w.u32(level)
	s := lookupShare(p.visible(), name)
	switch {
	case s == nil:
		w.u32(0)
		w.u32(werrNetNameNotFound)
	case level == 0 || level == 1:
		w.ptr()
		w.ptr()
		if level == 1 {
			w.u32(s.stype)
			w.ptr()
		}
		w.str(s.name)
		if level == 1 {
			w.str(s.comment)
		}
		w.align(4)
		w.u32(werrOK)
	case level == 2 && (p.ss.admin || p.cn.s.p.samba):
		w.ptr()
		w.ptr()
		w.u32(s.stype)
		w.ptr()
		w.u32(0)          // permissions
		w.u32(0xffffffff) // max uses
		w.u32(1)          // current uses
		w.ptr()
		w.u32(0) // no password
		w.str(s.name)
		w.str(s.comment)
		w.str(s.localPath)
		w.align(4)
		w.u32(werrOK)
	case level == 2 || level == 502:
		w.u32(0)
		w.u32(werrAccessDenied)
	default:
		w.u32(0)
		w.u32(werrInvalidLevel)
	}
	return w.b
}

// Server types of NetServerGetInfo (SV_TYPE_*).
const (
	svWorkstation = 0x00000001
	svServer      = 0x00000002
	svDomainCtrl  = 0x00000008
	svPrintQ      = 0x00000200
	svNT          = 0x00001000
	svServerNT    = 0x00008000
	svPotential   = 0x00010000
	svMaster      = 0x00040000
	svUnixServer  = 0x00000800
)

func (p *pipe) netServerGetInfo(r *ndrReader) []byte {
	if r.u32() != 0 {
		r.str()
	}
	level := r.u32()
	pr := p.cn.s.p
	var w ndrWriter
	w.u32(level)
	if level != 100 && level != 101 {
		w.u32(0)
		w.u32(werrInvalidLevel)
		return w.b
	}
	w.ptr()
	w.u32(500) // PLATFORM_ID_NT
	w.ptr()
	if level == 101 {
		w.u32(pr.osMajor)
		w.u32(pr.osMinor)
		typ := uint32(svWorkstation | svServer | svNT)
		switch {
		case pr.samba:
			typ |= svServerNT | svUnixServer | svPrintQ | svPotential | svMaster
		case pr.dc:
			typ |= svServerNT | svDomainCtrl
		case !pr.desktop:
			typ |= svServerNT
		}
		w.u32(typ)
		w.ptr()
	}
	w.str(pr.id.NetBIOSName)
	if level == 101 {
		comment := ""
		if pr.samba {
			comment = pr.serverString
		}
		w.str(comment)
	}
	w.align(4)
	w.u32(werrOK)
	return w.b
}

func (p *pipe) netWkstaGetInfo(r *ndrReader) []byte {
	if r.u32() != 0 {
		r.str()
	}
	level := r.u32()
	pr := p.cn.s.p
	var w ndrWriter
	w.u32(level)
	if level != 100 {
		w.u32(0)
		w.u32(werrInvalidLevel)
		return w.b
	}
	w.ptr()
	w.u32(500)
	w.ptr()
	w.ptr()
	w.u32(pr.osMajor)
	w.u32(pr.osMinor)
	w.str(pr.id.NetBIOSName)
	w.str(pr.workgroup)
	w.align(4)
	w.u32(werrOK)
	return w.b
}
