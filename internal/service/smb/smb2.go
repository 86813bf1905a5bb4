package smb

import (
	"bytes"
	"crypto/rand"
	"crypto/sha512"
	"fmt"
	"time"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/service/ntlm"
	"github.com/decnet/decnet/internal/service/serve"
)

// SMB2 commands.
const (
	cmdNegotiate      = 0x00
	cmdSessionSetup   = 0x01
	cmdLogoff         = 0x02
	cmdTreeConnect    = 0x03
	cmdTreeDisconnect = 0x04
	cmdCreate         = 0x05
	cmdClose          = 0x06
	cmdFlush          = 0x07
	cmdRead           = 0x08
	cmdWrite          = 0x09
	cmdLock           = 0x0A
	cmdIoctl          = 0x0B
	cmdCancel         = 0x0C
	cmdEcho           = 0x0D
	cmdQueryDirectory = 0x0E
	cmdChangeNotify   = 0x0F
	cmdQueryInfo      = 0x10
	cmdSetInfo        = 0x11
	cmdOplockBreak    = 0x12
)

// Header flags.
const (
	flagResponse = 0x01
	flagAsync    = 0x02
	flagRelated  = 0x04
	flagSigned   = 0x08
)

const (
	headerSize    = 64
	maxCompound   = 32
	maxSessions   = 16
	maxTrees      = 64
	maxOpens      = 1024
	maxCredits    = 512
	maxFileEvents = 1000
)

var protoSMB2 = []byte{0xfe, 'S', 'M', 'B'}

// conn is one client connection's SMB2 state.
type conn struct {
	s           *Server
	c           *serve.Conn
	negotiated  bool
	dialect     uint16
	clientCaps  uint32
	clientSec   uint16
	clientGUID  []byte
	signAlgo    int
	preauth     []byte // the connection's preauth integrity hash (3.1.1)
	sessions    map[uint64]*session
	nextTree    uint32
	nextFile    uint64
	fileEvents  int
	suppressed  bool
	outstanding int
	cipher      uint16 // the encryption algorithm of 3.x
	encrypting  bool   // answering an encrypted message: no signatures
	// exiting: the answer just sent ends the connection as smbd's
	// exit_server_cleanly does, a process exit after the last write.
	exiting bool
}

func newConn(s *Server, c *serve.Conn) *conn {
	return &conn{s: s, c: c, sessions: map[uint64]*session{}, nextTree: 1, nextFile: 1}
}

// request is one SMB2 message of a (possibly compounded) request.
type request struct {
	raw     []byte
	cmd     uint16
	flags   uint32
	mid     uint64
	tid     uint32
	sid     uint64
	credits uint16
	charge  uint16
	body    []byte
}

// reply is the answer to one request.
type reply struct {
	status uint32
	body   []byte
	tid    uint32
	sid    uint64
	// signWith signs the reply with this session's key even when the
	// session does not sign everything (the final SESSION_SETUP of 3.x).
	signWith *session
	drop     bool // no answer (CANCEL)
}

func smb2Header(cmd uint16, status uint32, mid uint64, credits uint16) []byte {
	h := make([]byte, headerSize)
	copy(h, protoSMB2)
	le.PutUint16(h[4:], headerSize)
	le.PutUint32(h[8:], status)
	le.PutUint16(h[12:], cmd)
	le.PutUint16(h[14:], credits)
	le.PutUint32(h[16:], flagResponse)
	le.PutUint64(h[24:], mid)
	return h
}

// handle answers one transport message; false ends the connection.
func (cn *conn) handle(msg []byte) ([][]byte, bool) {
	if len(msg) >= transformSize && bytes.Equal(msg[:4], protoTransform) && !cn.encrypting {
		return cn.handleEncrypted(msg)
	}
	switch {
	case len(msg) >= 4 && bytes.Equal(msg[:4], []byte{0xff, 'S', 'M', 'B'}):
		return cn.smb1(msg)
	case len(msg) >= headerSize && bytes.Equal(msg[:4], protoSMB2) && u16(msg, 4) == headerSize:
	default:
		// Transform (encrypted) and compressed messages are never
		// negotiated here; anything else is not SMB.
		cn.protocolError("not an SMB2 message")
		return nil, false
	}
	var reqs []request
	for rest := msg; len(rest) > 0 && len(reqs) < maxCompound; {
		if len(rest) < headerSize || !bytes.Equal(rest[:4], protoSMB2) {
			cn.protocolError("malformed compound")
			return nil, false
		}
		next := int(u32(rest, 20))
		el := rest
		if next != 0 {
			if next < headerSize || next > len(rest) || next%8 != 0 {
				cn.protocolError("bad NextCommand")
				return nil, false
			}
			el = rest[:next]
		}
		reqs = append(reqs, request{raw: el, cmd: u16(el, 12), flags: u32(el, 16), mid: u64(el, 24),
			tid: u32(el, 36), sid: u64(el, 40), credits: u16(el, 14), charge: u16(el, 6), body: el[headerSize:]})
		if next == 0 {
			break
		}
		rest = rest[next:]
	}
	if !cn.negotiated && reqs[0].cmd != cmdNegotiate {
		return nil, false
	}
	var out [][]byte
	var prev reply
	var lastFile []byte
	for i := range reqs {
		rq := &reqs[i]
		if rq.flags&flagRelated != 0 && i > 0 {
			// Related operations take the session, tree and file of the
			// one before.
			rq.sid, rq.tid = prev.sid, prev.tid
			if prev.status != statusSuccess && prev.status != statusMoreProcessing {
				out = append(out, cn.build(rq, reply{status: prev.status, body: errorBody(), sid: rq.sid, tid: rq.tid}, i < len(reqs)-1))
				continue
			}
		}
		rp, keep := cn.dispatch(rq, &lastFile)
		if !keep {
			if len(out) > 0 {
				return [][]byte{bytes.Join(out, nil)}, false
			}
			if rp.body != nil {
				return [][]byte{cn.build(rq, rp, false)}, false
			}
			return nil, false
		}
		if rp.drop {
			continue
		}
		if rp.sid == 0 && rq.cmd != cmdSessionSetup {
			rp.sid = rq.sid
		}
		if rp.tid == 0 && rq.cmd != cmdTreeConnect {
			rp.tid = rq.tid
		}
		prev = rp
		m := cn.build(rq, rp, i < len(reqs)-1)
		cn.hashResponse(rq, rp, m)
		out = append(out, m)
	}
	if len(out) == 0 {
		return nil, true
	}
	return [][]byte{bytes.Join(out, nil)}, true
}

// build writes one reply: header, body, padding when more follow, then
// the signature.
func (cn *conn) build(rq *request, rp reply, more bool) []byte {
	credits := uint16(1)
	if rq.cmd != cmdNegotiate {
		credits = max(rq.credits, 1)
		if cn.outstanding+int(credits) > maxCredits {
			credits = uint16(max(1, maxCredits-cn.outstanding))
		}
	}
	cn.outstanding = max(0, cn.outstanding-int(max(rq.charge, 1))+int(credits))
	h := smb2Header(rq.cmd, rp.status, rq.mid, credits)
	le.PutUint16(h[6:], rq.charge)
	copy(h[32:36], rq.raw[32:36]) // the client's process id, echoed
	le.PutUint32(h[36:], rp.tid)
	le.PutUint64(h[40:], rp.sid)
	flags := uint32(flagResponse) | rq.flags&flagRelated
	m := append(h, rp.body...)
	if more {
		for len(m)%8 != 0 {
			m = append(m, 0)
		}
		le.PutUint32(m[20:], uint32(len(m)))
	}
	ss := rp.signWith
	if ss == nil {
		if x := cn.sessions[rp.sid]; x != nil && x.key != nil && (x.signing || rq.flags&flagSigned != 0) && rp.status != statusMoreProcessing {
			ss = x
		}
	}
	if ss != nil && ss.key != nil && rq.cmd != cmdNegotiate && !cn.encrypting {
		flags |= flagSigned
		le.PutUint32(m[16:], flags)
		copy(m[48:64], sign(cn.signAlgo, ss.key, m))
	} else {
		le.PutUint32(m[16:], flags)
	}
	return m
}

// errorBody is the SMB2 ERROR response body.
func errorBody() []byte { return []byte{9, 0, 0, 0, 0, 0, 0, 0, 0} }

func fail(status uint32) reply { return reply{status: status, body: errorBody()} }

func (cn *conn) dispatch(rq *request, lastFile *[]byte) (reply, bool) {
	switch rq.cmd {
	case cmdNegotiate:
		return cn.negotiate(rq)
	case cmdSessionSetup:
		return cn.sessionSetup(rq), true
	case cmdEcho:
		return reply{body: []byte{4, 0, 0, 0}}, true
	case cmdCancel:
		return reply{drop: true}, true
	}
	cn.s.syncDrops()
	ss := cn.sessions[rq.sid]
	if ss == nil || !ss.valid {
		return fail(statusUserSessionDeleted), true
	}
	switch rq.cmd {
	case cmdLogoff:
		cn.closeSession(ss)
		return reply{body: []byte{4, 0, 0, 0}, signWith: ss}, true
	case cmdTreeConnect:
		return cn.treeConnect(rq, ss), true
	}
	t := ss.trees[rq.tid]
	if t == nil {
		return fail(statusNetworkNameDeleted), true
	}
	switch rq.cmd {
	case cmdTreeDisconnect:
		cn.closeTree(ss, t)
		return reply{body: []byte{4, 0, 0, 0}}, true
	case cmdCreate:
		rp := cn.create(rq, ss, t)
		if rp.status == statusSuccess && len(rp.body) >= 80 {
			*lastFile = append([]byte(nil), rp.body[64:80]...)
		}
		return rp, true
	}
	// Every other command names a file by its id; related ones may use
	// the one the compound's CREATE just made.
	fidAt := map[uint16]int{cmdClose: 8, cmdFlush: 8, cmdRead: 16, cmdWrite: 16, cmdLock: 8, cmdIoctl: 8,
		cmdQueryDirectory: 8, cmdChangeNotify: 8, cmdQueryInfo: 24, cmdSetInfo: 16, cmdOplockBreak: 8}
	at, ok := fidAt[rq.cmd]
	if !ok {
		return fail(statusNotSupported), true
	}
	fid := slice(rq.body, at, 16)
	if fid == nil {
		return fail(statusInvalidParameter), true
	}
	if bytes.Equal(fid, bytes.Repeat([]byte{0xff}, 16)) && *lastFile != nil {
		fid = *lastFile
	}
	if rq.cmd == cmdIoctl && u32(rq.body, 4) == fsctlValidateNegotiate {
		return cn.validateNegotiate(rq, ss), true
	}
	o := t.opens[u64(fid, 8)]
	if o == nil || u64(fid, 0) != o.persistent {
		if rq.cmd == cmdIoctl {
			return cn.ioctlNoFile(rq), true
		}
		return fail(statusFileClosed), true
	}
	switch rq.cmd {
	case cmdClose:
		return cn.closeFile(rq, ss, t, o), true
	case cmdFlush:
		return reply{body: []byte{4, 0, 0, 0}}, true
	case cmdRead:
		return cn.read(rq, ss, t, o), true
	case cmdWrite:
		return cn.write(rq, ss, t, o), true
	case cmdIoctl:
		return cn.ioctl(rq, ss, t, o), true
	case cmdQueryDirectory:
		return cn.queryDirectory(rq, ss, t, o), true
	case cmdQueryInfo:
		return cn.queryInfo(rq, ss, t, o), true
	case cmdSetInfo:
		return cn.setInfo(rq, ss, t, o), true
	case cmdLock:
		return reply{body: []byte{4, 0, 0, 0}}, true
	}
	return fail(statusNotSupported), true
}

// Negotiate context types.
const (
	ctxPreauth     = 1
	ctxEncryption  = 2
	ctxCompression = 3
	ctxNetname     = 5
	ctxSigning     = 8
)

func (cn *conn) negotiate(rq *request) (reply, bool) {
	if cn.negotiated {
		// A second NEGOTIATE ends the connection, as on Windows and Samba.
		return reply{}, false
	}
	b := rq.body
	count := int(u16(b, 2))
	if len(b) < 36 || count == 0 || count > 64 || len(b) < 36+2*count {
		return fail(statusInvalidParameter), true
	}
	cn.clientSec, cn.clientCaps = u16(b, 4), u32(b, 8)
	cn.clientGUID = append([]byte(nil), b[12:28]...)
	var offered []string
	chosen := uint16(0)
	for i := range count {
		d := u16(b, 36+2*i)
		offered = append(offered, dialectName(d))
		for _, ours := range cn.s.p.dialects {
			if d == ours && d > chosen {
				chosen = d
			}
		}
	}
	fields := map[string]any{"dialects": offered, "client_guid": guidString(cn.clientGUID),
		"capabilities": fmt.Sprintf("0x%08x", cn.clientCaps), "security_mode": fmt.Sprintf("0x%04x", cn.clientSec), "dialect": "none"}
	var ctxs []negContext
	if chosen == dialect311 {
		var err error
		ctxs, err = parseContexts(rq.raw, int(u32(b, 28)), int(u16(b, 32)))
		if err != nil || !hasContext(ctxs, ctxPreauth) {
			cn.c.Session.Emit(event.Event{Type: "smb.negotiate.request", Fields: fields})
			return fail(statusInvalidParameter), true
		}
		var types, ciphers []string
		for _, c := range ctxs {
			types = append(types, fmt.Sprint(c.typ))
			switch c.typ {
			case ctxEncryption:
				for i := range min(int(u16(c.data, 0)), 16) {
					ciphers = append(ciphers, fmt.Sprint(u16(c.data, 2+2*i)))
				}
			case ctxNetname:
				fields["client_name"] = event.Text([]byte(fromUTF16(c.data)), 256)
			}
		}
		fields["contexts"], fields["ciphers"] = types, ciphers
	}
	if chosen == 0 {
		cn.c.Session.Emit(event.Event{Type: "smb.negotiate.request", Fields: fields})
		return fail(statusNotSupported), true
	}
	fields["dialect"] = dialectName(chosen)
	cn.c.Session.Emit(event.Event{Type: "smb.negotiate.request", Fields: fields})
	cn.dialect, cn.negotiated = chosen, true
	cn.signAlgo = signHMACSHA256
	if chosen >= dialect300 {
		cn.signAlgo = signAESCMAC
	}
	if chosen == dialect300 || chosen == dialect302 {
		cn.cipher = cipherAES128CCM
	}
	body := cn.negotiateResponse(chosen, cn.clientCaps, ctxs, len(ctxs))
	if chosen == dialect311 {
		cn.preauth = preauthHash(make([]byte, 64), rq.raw)
	}
	return reply{body: body}, true
}

// negContext is one negotiate context of a 3.1.1 NEGOTIATE.
type negContext struct {
	typ  uint16
	data []byte
}

func hasContext(cs []negContext, typ uint16) bool {
	for _, c := range cs {
		if c.typ == typ {
			return true
		}
	}
	return false
}

func parseContexts(msg []byte, off, count int) ([]negContext, error) {
	if count > 32 || off < headerSize || off > len(msg) {
		return nil, fmt.Errorf("bad negotiate contexts")
	}
	var out []negContext
	for range count {
		off = (off + 7) &^ 7
		if off+8 > len(msg) {
			return nil, fmt.Errorf("bad negotiate context")
		}
		n := int(u16(msg, off+2))
		d := slice(msg, off+8, n)
		if d == nil {
			return nil, fmt.Errorf("bad negotiate context length")
		}
		out = append(out, negContext{typ: u16(msg, off), data: d})
		off += 8 + n
	}
	return out, nil
}

// negotiateResponse is the NEGOTIATE response body for a dialect.
func (cn *conn) negotiateResponse(dialect uint16, clientCaps uint32, ctxs []negContext, _ int) []byte {
	p := cn.s.p
	blob := ntlm.InitHint(p.mechs)
	var w buf
	w.u16(65)
	w.u16(p.securityMode())
	w.u16(dialect)
	w.u16(0) // context count, set below
	w.bytes(p.guid[:])
	w.u32(p.capabilities(dialect, clientCaps))
	mx := p.maxFor(dialect)
	w.u32(mx)
	w.u32(mx)
	w.u32(mx)
	w.u64(filetime(time.Now()))
	w.u64(0) // server start time: Windows 10/2016 and later and Samba send none
	w.u16(headerSize + 64)
	w.u16(uint16(len(blob)))
	w.u32(0)
	w.bytes(blob)
	if dialect != dialect311 {
		return w.b
	}
	var out [][]byte
	salt := make([]byte, 32)
	rand.Read(salt)
	pre := []byte{1, 0, 32, 0, 1, 0} // one algorithm, SHA-512, 32-byte salt
	out = append(out, negCtx(ctxPreauth, append(pre, salt...)))
	for _, c := range ctxs {
		switch c.typ {
		case ctxEncryption:
			cn.cipher = p.cipher(c.data)
			out = append(out, negCtx(ctxEncryption, le.AppendUint16([]byte{1, 0}, cn.cipher)))
		case ctxSigning:
			if p.signingCaps {
				a := pickSigning(c.data)
				cn.signAlgo = a
				out = append(out, negCtx(ctxSigning, le.AppendUint16([]byte{1, 0}, uint16(a))))
			}
		}
	}
	w.align(8)
	w.put32(60, uint32(headerSize+w.len()))
	w.put16(6, uint16(len(out)))
	for i, c := range out {
		if i > 0 {
			w.align(8)
		}
		w.bytes(c)
	}
	return w.b
}

func negCtx(typ uint16, data []byte) []byte {
	var w buf
	w.u16(typ)
	w.u16(uint16(len(data)))
	w.u32(0)
	w.bytes(data)
	return w.b
}

// Ciphers of the encryption capabilities context.
const (
	cipherAES128CCM = 1
	cipherAES128GCM = 2
	cipherAES256CCM = 3
	cipherAES256GCM = 4
)

// cipher picks the encryption cipher: Samba takes the client's first it
// knows; Windows its own preference (256-bit ciphers since Server 2022).
func (p *profile) cipher(data []byte) uint16 {
	n := min(int(u16(data, 0)), 16)
	offered := map[uint16]bool{}
	var order []uint16
	for i := range n {
		c := u16(data, 2+2*i)
		offered[c] = true
		order = append(order, c)
	}
	if p.samba {
		for _, c := range order {
			if c >= cipherAES128CCM && c <= cipherAES256GCM {
				return c
			}
		}
		return 0
	}
	prefs := []uint16{cipherAES128GCM, cipherAES128CCM}
	if p.signingCaps {
		prefs = []uint16{cipherAES128GCM, cipherAES128CCM, cipherAES256GCM, cipherAES256CCM}
	}
	for _, c := range prefs {
		if offered[c] {
			return c
		}
	}
	return 0
}

func pickSigning(data []byte) int {
	n := min(int(u16(data, 0)), 16)
	offered := map[uint16]bool{}
	for i := range n {
		offered[u16(data, 2+2*i)] = true
	}
	for _, a := range []uint16{signAESGMAC, signAESCMAC, signHMACSHA256} {
		if offered[a] {
			return int(a)
		}
	}
	return signAESCMAC
}

// FSCTL codes.
const (
	fsctlPipeTransceive     = 0x0011C017
	fsctlValidateNegotiate  = 0x00140204
	fsctlDFSGetReferrals    = 0x00060194
	fsctlDFSGetReferralsEx  = 0x000601B0
	fsctlQueryNetworkIfInfo = 0x001401FC
)

// validateNegotiate answers FSCTL_VALIDATE_NEGOTIATE_INFO with what was
// negotiated; the client checks it against the NEGOTIATE it saw.
func (cn *conn) validateNegotiate(rq *request, ss *session) reply {
	p := cn.s.p
	var d buf
	d.u32(p.capabilities(cn.dialect, cn.clientCaps))
	d.bytes(p.guid[:])
	d.u16(p.securityMode())
	d.u16(cn.dialect)
	return reply{body: ioctlBody(fsctlValidateNegotiate, rq.body[8:24], d.b), signWith: ss}
}

func ioctlBody(code uint32, fid, out []byte) []byte {
	var w buf
	w.u16(49)
	w.u16(0)
	w.u32(code)
	w.bytes(fid)
	w.u32(0) // input offset
	w.u32(0)
	off := uint32(0)
	if len(out) > 0 {
		off = headerSize + 48
	}
	w.u32(off)
	w.u32(uint32(len(out)))
	w.u32(0)
	w.u32(0)
	w.bytes(out)
	return w.b
}

// ioctlNoFile answers FSCTLs sent on no file (DFS referrals, interface
// queries) as the persona's server does without DFS or multichannel.
func (cn *conn) ioctlNoFile(rq *request) reply {
	switch u32(rq.body, 4) {
	case fsctlDFSGetReferrals, fsctlDFSGetReferralsEx:
		if cn.s.p.samba {
			return fail(statusNotFound)
		}
		return fail(statusFSDriverRequired)
	case fsctlQueryNetworkIfInfo:
		return fail(statusNotSupported)
	}
	return fail(statusInvalidDeviceReq)
}

// hashResponse folds a NEGOTIATE response, and a SESSION_SETUP one that
// asks for more, into the 3.1.1 preauth integrity hashes.
func (cn *conn) hashResponse(rq *request, rp reply, m []byte) {
	if cn.dialect != dialect311 {
		return
	}
	switch {
	case rq.cmd == cmdNegotiate && rp.status == statusSuccess:
		cn.preauth = preauthHash(cn.preauth, m)
	case rq.cmd == cmdSessionSetup && rp.status == statusMoreProcessing:
		if ss := cn.sessions[rp.sid]; ss != nil {
			ss.preauth = preauthHash(ss.preauth, m)
		}
	}
}

func preauthHash(prev, msg []byte) []byte {
	h := sha512.New()
	h.Write(prev)
	h.Write(msg)
	return h.Sum(nil)
}

const transformSize = 52

var protoTransform = []byte{0xfd, 'S', 'M', 'B'}

// handleEncrypted opens a TRANSFORM message with its session's key,
// serves what it carries, and seals the answers the same way.
func (cn *conn) handleEncrypted(msg []byte) ([][]byte, bool) {
	ss := cn.sessions[u64(msg, 44)]
	if ss == nil || ss.decKey == nil || u16(msg, 42) != 1 || int(u32(msg, 36)) != len(msg)-transformSize {
		cn.protocolError("undecryptable transform")
		return nil, false
	}
	dec, err := aead(cn.cipher, ss.decKey)
	if err != nil {
		return nil, false
	}
	sealed := append(append([]byte(nil), msg[transformSize:]...), msg[4:20]...)
	plain, err := dec.Open(nil, msg[20:20+dec.NonceSize()], sealed, msg[20:transformSize])
	if err != nil || len(plain) < headerSize || !bytes.Equal(plain[:4], protoSMB2) {
		cn.protocolError("undecryptable transform")
		return nil, false
	}
	cn.encrypting = true
	out, keep := cn.handle(plain)
	cn.encrypting = false
	enc, _ := aead(cn.cipher, ss.encKey)
	for i, m := range out {
		h := make([]byte, transformSize)
		copy(h, protoTransform)
		rand.Read(h[20 : 20+enc.NonceSize()])
		le.PutUint32(h[36:], uint32(len(m)))
		le.PutUint16(h[42:], 1)
		le.PutUint64(h[44:], ss.id)
		sealed := enc.Seal(nil, h[20:20+enc.NonceSize()], m, h[20:transformSize])
		copy(h[4:20], sealed[len(sealed)-16:])
		out[i] = append(h, sealed[:len(sealed)-16]...)
	}
	return out, keep
}
