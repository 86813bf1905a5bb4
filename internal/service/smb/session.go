package smb

import (
	"bytes"
	"crypto/rand"
	"strings"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/service/ntlm"
)

// Session flags of the SESSION_SETUP response.
const (
	sessionGuest = 0x0001
	sessionNull  = 0x0002
)

// session is one SMB2 session: an NTLM exchange in progress, then a
// logged-on user with its trees.
type session struct {
	id        uint64
	valid     bool
	x         *ntlm.Exchange
	mechTypes []byte // DER of the client's SPNEGO mechTypes, for the MIC
	preauth   []byte
	user      string
	domain    string
	anonymous bool
	guest     bool
	admin     bool
	key       []byte // signing key; nil for null and guest sessions
	encKey    []byte // SMB 3 encryption, server to client
	decKey    []byte // and client to server
	signing   bool
	trees     map[uint32]*tree
}

// who names the session's user in events.
func (ss *session) who() string {
	if ss.anonymous {
		return ""
	}
	if ss.domain != "" {
		return ss.domain + `\` + ss.user
	}
	return ss.user
}

func (cn *conn) newSessionID() uint64 {
	var b [8]byte
	rand.Read(b[:])
	if cn.s.p.samba {
		// Samba's ids are 32-bit.
		return uint64(le.Uint32(b[:])|1) & 0xffffffff
	}
	// Windows': a small sequence in the low bits, a per-boot tag above.
	return uint64(le.Uint16(b[:]))<<32 | uint64(b[2]&0x3f)<<24 | uint64(len(cn.sessions)+1)*9 + 0x41
}

func (cn *conn) sessionSetup(rq *request) reply {
	b := rq.body
	if len(b) < 24 {
		return fail(statusInvalidParameter)
	}
	blob := slice(rq.raw, int(u16(b, 12)), int(u16(b, 14)))
	if blob == nil {
		return fail(statusInvalidParameter)
	}
	ss := cn.sessions[rq.sid]
	switch {
	case rq.sid == 0:
		if len(cn.sessions) >= maxSessions {
			return fail(statusRequestNotAccepted)
		}
		ss = &session{id: cn.newSessionID(), trees: map[uint32]*tree{}, preauth: cn.preauth}
		cn.sessions[ss.id] = ss
	case ss == nil:
		return fail(statusUserSessionDeleted)
	case ss.valid:
		// Re-authentication starts a new exchange on the same id.
		ss.valid, ss.x = false, nil
	}
	if cn.dialect == dialect311 {
		ss.preauth = preauthHash(ss.preauth, rq.raw)
	}
	tok, err := ntlm.ParseToken(blob)
	if err != nil || tok.NTLM == nil {
		if err == nil && tok.OffersNTLM() && ss.x == nil {
			// An empty NegTokenInit: propose NTLM and wait for it.
			return reply{status: statusMoreProcessing, body: setupBody(0, ntlm.Response(ntlm.AcceptIncomplete, true, nil)), sid: ss.id}
		}
		delete(cn.sessions, ss.id)
		return reply{status: statusInvalidParameter, body: errorBody(), sid: ss.id}
	}
	if len(tok.Mechs) > 0 {
		ss.mechTypes = derSeq(tok.Mechs)
	}
	wrap := func(state int, first bool, token []byte) []byte {
		if tok.Raw {
			return token
		}
		return ntlm.Response(state, first, token)
	}
	switch u32(tok.NTLM, 8) {
	case 1:
		x, chal, err := cn.s.p.ntlm.Challenge(tok.NTLM)
		if err != nil {
			delete(cn.sessions, ss.id)
			return reply{status: statusInvalidParameter, body: errorBody(), sid: ss.id}
		}
		ss.x = x
		return reply{status: statusMoreProcessing, body: setupBody(0, wrap(ntlm.AcceptIncomplete, true, chal)), sid: ss.id}
	case 3:
		if ss.x == nil {
			break
		}
		return cn.authenticate(rq, ss, tok, wrap)
	}
	delete(cn.sessions, ss.id)
	return reply{status: statusInvalidParameter, body: errorBody(), sid: ss.id}
}

// authenticate decides an AUTHENTICATE: null sessions pass, accepted
// users whose NTLMv2 response matches pass, Samba maps unknown users to
// guest (map to guest = bad user); everything else is
// STATUS_LOGON_FAILURE, as the real servers answer a wrong password.
func (cn *conn) authenticate(rq *request, ss *session, tok *ntlm.Token, wrap func(int, bool, []byte) []byte) reply {
	a, err := ss.x.Authenticate(tok.NTLM)
	if err != nil {
		delete(cn.sessions, ss.id)
		return reply{status: statusInvalidParameter, body: errorBody(), sid: ss.id}
	}
	cred := ss.x.Credential(a, "ntlm")
	fields := map[string]any{"user": event.Text([]byte(a.User), 256), "domain": event.Text([]byte(a.Domain), 256),
		"workstation": event.Text([]byte(a.Workstation), 256), "anonymous": a.Anonymous, "guest": false, "dialect": dialectName(cn.dialect)}
	ss.user, ss.domain, ss.anonymous = a.User, a.Domain, a.Anonymous
	var flags uint16
	var sessionKey []byte
	status := uint32(statusSuccess)
	pw, known := cn.s.users[strings.ToLower(a.User)]
	switch {
	case a.Anonymous:
		flags = sessionNull
	case known && a.Version == "v2":
		base, ok := verifyNTLMv2(pw, a.User, a.Domain, ss.x.Challenge[:], a.NT)
		if !ok {
			status = statusLogonFailure
			break
		}
		sessionKey = exportedKey(base, authField(tok.NTLM, 52), a.Flags&ntlm.FlagKeyExchange != 0)
		ss.admin = strings.EqualFold(a.User, "administrator") || strings.EqualFold(a.User, "admin")
	case !known && cn.s.p.samba && a.User != "":
		flags = sessionGuest
		ss.guest = true
		fields["guest"] = true
	default:
		status = statusLogonFailure
	}
	fields["status"] = statusName(status)
	typ, outcome := "smb.login.success", "success"
	if status != statusSuccess {
		typ, outcome = "smb.login.failed", "failure"
	}
	cn.c.Session.Emit(event.Event{Type: typ, Outcome: outcome, Credential: cred, Fields: fields})
	if status != statusSuccess {
		delete(cn.sessions, ss.id)
		return reply{status: status, body: errorBody(), sid: ss.id}
	}
	ss.valid, ss.x = true, nil
	var spnego []byte
	if sessionKey != nil && ss.mechTypes != nil && !tok.Raw {
		mic := ntlmsspSign(sessionKey, a.Flags&ntlm.FlagKeyExchange != 0, 0, ss.mechTypes)
		spnego = negTokenRespMIC(mic)
	} else {
		spnego = wrap(ntlm.AcceptCompleted, false, nil)
	}
	rp := reply{body: setupBody(flags, spnego), sid: ss.id}
	if sessionKey != nil {
		ss.key = cn.signingKey(sessionKey, ss.preauth)
		cn.cipherKeys(ss, sessionKey)
		ss.signing = cn.s.p.signingRequired || cn.clientSec&2 != 0
		if cn.dialect >= dialect300 || ss.signing {
			rp.signWith = ss
		}
	}
	return rp
}

// signingKey derives the session's signing key for the dialect.
func (cn *conn) signingKey(sessionKey, preauth []byte) []byte {
	k := make([]byte, 16)
	copy(k, sessionKey)
	switch {
	case cn.dialect == dialect311:
		return kdf(k, "SMBSigningKey\x00", string(preauth))
	case cn.dialect >= dialect300:
		return kdf(k, "SMB2AESCMAC\x00", "SmbSign\x00")
	}
	return k
}

// cipherKeys derives the session's SMB 3 encryption keys.
func (cn *conn) cipherKeys(ss *session, sessionKey []byte) {
	n := 16
	if cn.cipher == cipherAES256CCM || cn.cipher == cipherAES256GCM {
		n = 32
	}
	switch {
	case cn.cipher == 0:
	case cn.dialect == dialect311:
		ss.decKey = kdfN(sessionKey, "SMBC2SCipherKey\x00", string(ss.preauth), n)
		ss.encKey = kdfN(sessionKey, "SMBS2CCipherKey\x00", string(ss.preauth), n)
	case cn.dialect >= dialect300:
		ss.decKey = kdf(sessionKey, "SMB2AESCCM\x00", "ServerIn \x00")
		ss.encKey = kdf(sessionKey, "SMB2AESCCM\x00", "ServerOut\x00")
	}
}

// authField returns a security buffer field of an AUTHENTICATE message.
func authField(msg []byte, at int) []byte {
	return slice(msg, int(u32(msg, at+4)), int(u16(msg, at)))
}

func setupBody(flags uint16, blob []byte) []byte {
	var w buf
	w.u16(9)
	w.u16(flags)
	w.u16(headerSize + 8)
	w.u16(uint16(len(blob)))
	w.bytes(blob)
	return w.b
}

// der writes one DER element.
func der(tag byte, content []byte) []byte {
	n := len(content)
	out := []byte{tag}
	switch {
	case n < 0x80:
		out = append(out, byte(n))
	case n < 0x100:
		out = append(out, 0x81, byte(n))
	default:
		out = append(out, 0x82, byte(n>>8), byte(n))
	}
	return append(out, content...)
}

func derSeq(items [][]byte) []byte { return der(0x30, bytes.Join(items, nil)) }

// negTokenRespMIC is the final NegTokenResp with the server's
// mechListMIC, as Windows and Samba send it.
func negTokenRespMIC(mic []byte) []byte {
	state := der(0xa0, []byte{0x0a, 0x01, ntlm.AcceptCompleted})
	return der(0xa1, der(0x30, append(state, der(0xa3, der(0x04, mic))...)))
}

func (cn *conn) closeSession(ss *session) {
	for _, t := range ss.trees {
		cn.closeTree(ss, t)
	}
	delete(cn.sessions, ss.id)
}

// closeAll reports what the open files did when the connection ends.
func (cn *conn) closeAll() {
	for _, ss := range cn.sessions {
		cn.closeSession(ss)
	}
}
