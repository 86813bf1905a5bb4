package ldap

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/persona"
	"github.com/decnet/decnet/internal/service/ntlm"
	"github.com/decnet/decnet/internal/service/serve"
)

// LDAP result codes.
const (
	resSuccess             = 0
	resOperationsError     = 1
	resProtocolError       = 2
	resAuthNotSupported    = 7
	resStrongerAuth        = 8
	resSaslBindInProgress  = 14
	resNoSuchObject        = 32
	resInvalidCredentials  = 49
	resInsufficientAccess  = 50
	applicationConstructed = classApplication | constructed
)

// adVersion ends every Active Directory diagnostic (Server 2016 and 2019).
const adVersion = "v4563"

// Server is the directory of one decky.
type Server struct {
	env   serve.Env
	log   *slog.Logger
	ad    bool
	win   persona.WindowsIdentity
	base  string
	dir   *directory
	users map[string]string
	ntlm  *ntlm.Server
	now   func() time.Time
}

var _ serve.Server = (*Server)(nil)

// New builds the LDAP service of one decky; it starts nothing.
func New(env serve.Env) (serve.Server, error) {
	cfg := serve.SettingsOf(env, defaults)
	s := &Server{env: env, log: env.Logger(), ad: env.Persona.Family.IsWindows(), win: env.Windows(), users: map[string]string{}, now: time.Now}
	domain := s.win.DNSDomain
	if domain == "" {
		// A standalone Linux host: the organisation's name, seeded.
		w := env.Identity.Windows(persona.Distro{Family: persona.WindowsServer}, env.Persona.Hostname, time.Now())
		domain = w.DNSDomain
	}
	s.base = cfg.BaseDN
	if s.base == "" {
		s.base = baseDN(domain, s.ad)
	}
	for _, u := range cfg.Users {
		name, pass, ok := strings.Cut(u, ":")
		if !ok || name == "" {
			return nil, fmt.Errorf("ldap: user %q: want name:password", u)
		}
		s.users[strings.ToLower(name)] = pass
	}
	s.dir = newDirectory(env.Identity, s.win, s.base, s.ad, s.now())
	s.ntlm = &ntlm.Server{ID: s.win}
	return s, nil
}

// Serve implements serve.Server.
func (s *Server) Serve(ctx context.Context) error {
	return serve.TCP(ctx, s.env, Port, s.handle)
}

// conn is one client connection's state.
type conn struct {
	s        *Server
	c        *serve.Conn
	bound    string // the DN bound as; "" is anonymous
	exchange *ntlm.Exchange
}

func (s *Server) handle(ctx context.Context, c *serve.Conn) {
	cn := &conn{s: s, c: c}
	r := bufio.NewReaderSize(c, 8192)
	for ctx.Err() == nil {
		msg, err := readMessage(r)
		if err != nil {
			if err != io.EOF && err != io.ErrUnexpectedEOF {
				c.Session.Emit(event.Event{Type: "ldap.protocol.error", Fields: map[string]any{"error": "malformed LDAP message"}})
			}
			return
		}
		if !cn.serve(msg) {
			return
		}
	}
}

// readMessage reads one LDAPMessage, bounded.
func readMessage(r *bufio.Reader) (*node, error) {
	head, err := r.Peek(2)
	if err != nil {
		return nil, err
	}
	k := 0
	if head[1]&0x80 != 0 {
		k = int(head[1] & 0x7f)
	}
	head, err = r.Peek(2 + k)
	if err != nil {
		return nil, err
	}
	tag, n, start, err := header(head)
	if err != nil || tag != 0x30 {
		return nil, errBER
	}
	buf := make([]byte, start+n)
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, err
	}
	msg, _, err := parse(buf, 0)
	if err != nil || len(msg.kids) < 2 || msg.kids[0].tag != 0x02 {
		return nil, errBER
	}
	return msg, nil
}

func (cn *conn) send(id *node, ops ...*node) bool {
	var out []byte
	for _, op := range ops {
		out = append(out, cons(0x30, id, op).encode(cn.s.ad)...)
	}
	_, err := cn.c.Write(out)
	return err == nil
}

// result is an LDAPResult under the response tag, with extra fields.
func result(tag byte, code int, matched, diag string, extra ...*node) *node {
	return cons(applicationConstructed|tag, append([]*node{enum(code), str(matched), str(diag)}, extra...)...)
}

// diag writes an Active Directory diagnostic as AD does, NUL-terminated;
// OpenLDAP's text is its own.
func (cn *conn) diag(ad, openldap string) string {
	if cn.s.ad {
		return ad + "\x00"
	}
	return openldap
}

func (cn *conn) needBind() string {
	return "000004DC: LdapErr: DSID-0C090A5C, comment: In order to perform this operation a successful bind must be completed on the connection., data 0, " + adVersion
}

// serve answers one message; false ends the connection.
func (cn *conn) serve(msg *node) bool {
	id, op := msg.kids[0], msg.kids[1]
	switch op.tag {
	case applicationConstructed: // bind (operation 0)
		return cn.send(id, cn.bind(op))
	case classApplication | 2: // unbind
		return false
	case applicationConstructed | 3: // search
		return cn.send(id, cn.search(op)...)
	case applicationConstructed | 6, applicationConstructed | 8, classApplication | 10, applicationConstructed | 12, applicationConstructed | 14:
		return cn.send(id, cn.write(op))
	case classApplication | 16: // abandon
		return true
	case applicationConstructed | 23: // extended
		return cn.send(id, cn.extended(op))
	}
	cn.c.Session.Emit(event.Event{Type: "ldap.protocol.error", Fields: map[string]any{"error": fmt.Sprintf("unknown operation 0x%02x", op.tag)}})
	return false
}

func (cn *conn) emitLogin(ok bool, method, dn string, code int, cred *event.Credential) {
	typ := "ldap.login.failed"
	if ok {
		typ = "ldap.login.success"
	}
	cn.c.Session.Emit(event.Event{Type: typ, Credential: cred, Fields: map[string]any{
		"method": method, "dn": event.Text([]byte(dn), 512), "result_code": code}})
}

func (cn *conn) bind(op *node) *node {
	const tag = 1
	if len(op.kids) < 3 {
		return result(tag, resProtocolError, "", cn.diag("00002024: LdapErr: DSID-0C0907E1, comment: Error decoding ldap message, data 0, "+adVersion, "decoding error"))
	}
	version, _ := op.kids[0].integerValue()
	name, auth := string(op.kids[1].data), op.kids[2]
	if version != 3 && (!cn.s.ad || version != 2) {
		return result(tag, resProtocolError, "", cn.diag("00002024: LdapErr: DSID-0C0907E1, comment: Error decoding ldap message, data 0, "+adVersion,
			"historical protocol version requested, use LDAPv3 instead"))
	}
	switch auth.tag {
	case classContext: // simple ([0])
		password := string(auth.data)
		if password == "" {
			cn.bound = ""
			if name != "" {
				cn.emitLogin(true, "simple", name, resSuccess, nil) // an unauthenticated bind
			}
			return result(tag, resSuccess, "", "")
		}
		ok := cn.s.accepts(name, password)
		code := resSuccess
		if !ok {
			code = resInvalidCredentials
		}
		cn.emitLogin(ok, "simple", name, code, event.NewCredential("plaintext", "ldap_simple", name, []byte(password), true))
		if ok {
			cn.bound = name
			return result(tag, resSuccess, "", "")
		}
		return result(tag, resInvalidCredentials, "", cn.diag("80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data 52e, "+adVersion, ""))
	case applicationConstructed | 3, classContext | constructed | 3: // SASL
		mech := ""
		var creds []byte
		if len(auth.kids) > 0 {
			mech = string(auth.kids[0].data)
		}
		if len(auth.kids) > 1 {
			creds = auth.kids[1].data
		}
		if cn.s.ad && strings.EqualFold(mech, "GSS-SPNEGO") {
			return cn.spnego(name, creds)
		}
		cn.emitLogin(false, "sasl "+event.Text([]byte(mech), 64), name, resAuthNotSupported, nil)
		return result(tag, resAuthNotSupported, "", cn.diag("00002028: LdapErr: DSID-0C09020D, comment: The server does not support the requested SASL mechanism, data 0, "+adVersion, "SASL(-4): no mechanism available: "))
	case classContext | 9, classContext | 10, classContext | 11: // Sicily (NTLM)
		if cn.s.ad {
			return cn.sicily(name, auth)
		}
	}
	return result(tag, resAuthNotSupported, "", cn.diag("00002028: LdapErr: DSID-0C09020D, comment: The server does not support the requested authentication method, data 0, "+adVersion, "unknown authentication method"))
}

// accepts checks a simple bind against the configured users, by DN,
// account name or UPN, as AD resolves them.
func (s *Server) accepts(name, password string) bool {
	n := strings.ToLower(name)
	if p, ok := s.users[n]; ok && p == password {
		return true
	}
	if cn, ok := strings.CutPrefix(n, "cn="); ok {
		cn, _, _ = strings.Cut(cn, ",")
		if p, ok := s.users[cn]; ok && p == password {
			return true
		}
	}
	if user, _, ok := strings.Cut(n, "@"); ok {
		if p, ok := s.users[user]; ok && p == password {
			return true
		}
	}
	if _, user, ok := strings.Cut(n, `\`); ok {
		if p, ok := s.users[user]; ok && p == password {
			return true
		}
	}
	return false
}

// spnego runs NTLM inside SASL GSS-SPNEGO: the challenge goes back as
// saslBindInProgress, the answer is captured and refused.
func (cn *conn) spnego(name string, creds []byte) *node {
	const tag = 1
	tok, err := ntlm.ParseToken(creds)
	if err != nil || tok.NTLM == nil {
		return result(tag, resInvalidCredentials, "", cn.diag("80090308: LdapErr: DSID-0C090569, comment: AcceptSecurityContext error, data 57, "+adVersion, ""))
	}
	if cn.exchange == nil {
		x, challenge, err := cn.s.ntlm.Challenge(tok.NTLM)
		if err != nil {
			return result(tag, resInvalidCredentials, "", cn.diag("80090308: LdapErr: DSID-0C090569, comment: AcceptSecurityContext error, data 57, "+adVersion, ""))
		}
		cn.exchange = x
		return result(tag, resSaslBindInProgress, "", "", prim(classContext|7, ntlm.Response(ntlm.AcceptIncomplete, true, challenge)))
	}
	return cn.ntlmAnswer("sasl GSS-SPNEGO", name, tok.NTLM)
}

// sicily is Active Directory's own NTLM bind: package discovery, then the
// NEGOTIATE whose CHALLENGE goes back in the matchedDN, then the answer.
func (cn *conn) sicily(name string, auth *node) *node {
	const tag = 1
	switch auth.tag & 0x1f {
	case 9:
		return result(tag, resSuccess, "NTLM", "")
	case 10:
		x, challenge, err := cn.s.ntlm.Challenge(auth.data)
		if err != nil {
			return result(tag, resInvalidCredentials, "", cn.diag("80090308: LdapErr: DSID-0C090569, comment: AcceptSecurityContext error, data 57, "+adVersion, ""))
		}
		cn.exchange = x
		return result(tag, resSuccess, string(challenge), "")
	}
	if cn.exchange == nil {
		return result(tag, resOperationsError, "", cn.diag("000004DC: LdapErr: DSID-0C0906E8, comment: Sicily negotiate must precede the response, data 0, "+adVersion, ""))
	}
	return cn.ntlmAnswer("sicily", name, auth.data)
}

// ntlmAnswer captures an AUTHENTICATE and refuses it as a wrong password.
func (cn *conn) ntlmAnswer(method, name string, msg []byte) *node {
	const tag = 1
	x := cn.exchange
	cn.exchange = nil
	a, err := x.Authenticate(msg)
	if err != nil {
		return result(tag, resInvalidCredentials, "", cn.diag("80090308: LdapErr: DSID-0C090569, comment: AcceptSecurityContext error, data 57, "+adVersion, ""))
	}
	dn := name
	if a.User != "" {
		dn = a.Domain + `\` + a.User
	}
	cn.emitLogin(false, method, dn, resInvalidCredentials, x.Credential(a, "ldap_"+strings.Fields(method)[0]))
	return result(tag, resInvalidCredentials, "", cn.diag("8009030C: LdapErr: DSID-0C0906B5, comment: AcceptSecurityContext error, data 52e, "+adVersion, ""))
}

var scopes = []string{"base", "one", "sub"}

func (cn *conn) search(op *node) []*node {
	const done = 5
	if len(op.kids) < 8 {
		return []*node{result(done, resProtocolError, "", cn.diag("00002024: LdapErr: DSID-0C0907E1, comment: Error decoding ldap message, data 0, "+adVersion, "decoding error"))}
	}
	base := string(op.kids[0].data)
	scope, _ := op.kids[1].integerValue()
	sizeLimit, _ := op.kids[3].integerValue()
	count := 0
	f, ok := parseFilter(op.kids[6], &count)
	var attrs []string
	for _, a := range op.kids[7].kids {
		if len(attrs) < 64 {
			attrs = append(attrs, event.Text(a.data, 128))
		}
	}
	if scope < 0 || scope > 2 {
		scope = 0
	}
	fields := map[string]any{"base": event.Text([]byte(base), 512), "scope": scopes[scope], "attributes": attrs, "bound": cn.bound != ""}
	emit := func(entries, code int) {
		fields["entries"], fields["result_code"] = entries, code
		cn.c.Session.Emit(event.Event{Type: "ldap.search.request", Fields: fields})
	}
	if !ok {
		emit(0, resProtocolError)
		return []*node{result(done, resProtocolError, "", cn.diag("00002024: LdapErr: DSID-0C0907E1, comment: Error decoding ldap message, data 0, "+adVersion, "decoding error"))}
	}
	fields["filter"] = event.Text([]byte(f.String()), 1024)
	if base == "" && scope == 0 {
		var out []*node
		if f.match(cn.rootDSE()) {
			out = append(out, cn.entryNode(cn.rootDSE(), attrs, true))
		}
		emit(len(out), resSuccess)
		return append(out, result(done, resSuccess, "", ""))
	}
	if cn.s.ad && cn.bound == "" {
		emit(0, resOperationsError)
		return []*node{result(done, resOperationsError, "", cn.diag(cn.needBind(), ""))}
	}
	if !cn.s.dir.exists(base) {
		emit(0, resNoSuchObject)
		matched := ""
		if strings.HasSuffix(strings.ToLower(base), strings.ToLower(cn.s.base)) {
			matched = cn.s.base
		}
		return []*node{result(done, resNoSuchObject, matched, cn.diag("0000208D: NameErr: DSID-0310028D, problem 2001 (NO_OBJECT), data 0, best match of:\n\t'"+matched+"'\n", ""))}
	}
	entries := cn.s.dir.search(base, scope, f)
	code := resSuccess
	if sizeLimit > 0 && len(entries) > sizeLimit {
		entries, code = entries[:sizeLimit], 4 // sizeLimitExceeded
	}
	out := make([]*node, 0, len(entries)+1)
	for _, e := range entries {
		out = append(out, cn.entryNode(e, attrs, false))
	}
	emit(len(entries), code)
	return append(out, result(done, code, "", ""))
}

// entryNode writes a SearchResultEntry with the attributes asked for:
// none named or "*" gives the user attributes, "+" OpenLDAP's
// operational ones, "1.1" none.
func (cn *conn) entryNode(e *entry, want []string, root bool) *node {
	all, operational := len(want) == 0, false
	names := map[string]bool{}
	for _, w := range want {
		switch w {
		case "*":
			all = true
		case "+":
			operational = true
		default:
			names[strings.ToLower(w)] = true
		}
	}
	list := cons(0x30)
	for _, a := range e.attrs {
		isOp := root && !cn.s.ad && !strings.EqualFold(a.name, "objectClass")
		if !(names[strings.ToLower(a.name)] || all && !isOp || operational && isOp) {
			continue
		}
		vals := cons(0x31)
		for _, v := range a.values {
			vals.kids = append(vals.kids, str(v))
		}
		list.kids = append(list.kids, cons(0x30, str(a.name), vals))
	}
	return cons(applicationConstructed|4, str(e.dn), list)
}

// write refuses a change as the persona's server does.
func (cn *conn) write(op *node) *node {
	kinds := map[byte]string{6: "modify", 8: "add", 10: "delete", 12: "moddn", 14: "compare"}
	num := op.tag & 0x1f
	dn := ""
	if op.isConstructed() && len(op.kids) > 0 {
		dn = string(op.kids[0].data)
	} else {
		dn = string(op.data)
	}
	code, diag := resInsufficientAccess, cn.diag("00000005: SecErr: DSID-03152E29, problem 4003 (INSUFF_ACCESS_RIGHTS), data 0\n", "no write access to parent")
	switch {
	case cn.s.ad && cn.bound == "":
		code, diag = resOperationsError, cn.diag(cn.needBind(), "")
	case !cn.s.ad && cn.bound == "":
		code, diag = resStrongerAuth, "modifications require authentication"
	}
	cn.c.Session.Emit(event.Event{Type: "ldap.write.attempt", Fields: map[string]any{"operation": kinds[num], "dn": event.Text([]byte(dn), 512), "result_code": code}})
	return result(num+1, code, "", diag)
}

func (cn *conn) extended(op *node) *node {
	oid := ""
	if len(op.kids) > 0 {
		oid = string(op.kids[0].data)
	}
	code, diag := resProtocolError, cn.diag("0000203D: LdapErr: DSID-0C090C7D, comment: Unknown extended request OID, data 0, "+adVersion, "unsupported extended operation")
	if oid == "1.3.6.1.4.1.1466.20037" { // StartTLS: no certificate is installed
		code, diag = 52, cn.diag("00000000: LdapErr: DSID-0C091225, comment: Error initializing SSL/TLS, data 0, "+adVersion, "Could not initiate StartTLS: no TLS configured")
	}
	cn.c.Session.Emit(event.Event{Type: "ldap.extended.request", Fields: map[string]any{"oid": event.Text([]byte(oid), 128), "result_code": code}})
	return result(24, code, "", diag, prim(classContext|10, []byte(oid)))
}
