package pop3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/service/mailbox"
	"github.com/decnet/decnet/internal/service/serve"
	"github.com/decnet/decnet/internal/service/textline"
)

// Bounds.
const (
	maxLine = 512 // RFC 2449 allows 255 octets; Dovecot takes more
	maxBad  = 3   // pop3-login ends the session at the next one
)

// Server is the POP3 service of one decky.
type Server struct {
	*mailbox.Access
	env serve.Env
	p   product
}

// product is what one POP3 server says.
type product struct {
	greeting, loginOK, loginFailed string
	capa                           []string // before STLS and SASL
}

var (
	dovecot = product{greeting: "+OK Dovecot (Debian) ready.", loginOK: "+OK Logged in.", loginFailed: "-ERR [AUTH] Authentication failed.",
		capa: []string{"TOP", "UIDL", "RESP-CODES", "PIPELINING", "AUTH-RESP-CODE"}}
	courier = product{greeting: "+OK Hello there.", loginOK: "+OK logged in.", loginFailed: "-ERR Login failed.",
		capa: []string{"TOP", "UIDL", "PIPELINING", "IMPLEMENTATION Courier Mail Server"}}
)

// New builds the POP3 service of a decky.
func New(env serve.Env) (serve.Server, error) {
	a, err := mailbox.NewAccess(env, "pop3")
	if err != nil {
		return nil, err
	}
	p := dovecot
	if a.Settings.Courier() {
		p = courier
	}
	return &Server{Access: a, env: env, p: p}, nil
}

// Serve listens on 110 and 995 until ctx is done.
func (s *Server) Serve(ctx context.Context) error {
	return serve.TCPPorts(ctx, s.env, []uint16{Port, TLSPort}, s.handle)
}

type session struct {
	s        *Server
	l        *textline.Conn
	port     uint16
	userArg  string // USER given, PASS awaited
	user     string // logged in
	msgs     []mailbox.Message
	deleted  map[int]bool
	validity uint32
	bad      int
}

func (s *Server) handle(ctx context.Context, c *serve.Conn, port uint16) {
	ss := &session{s: s, l: textline.New(c, maxLine), port: port, deleted: map[int]bool{}}
	if !s.Spawn(ctx) {
		return
	}
	if port == TLSPort && !ss.l.StartTLS(ctx, s.TLS, "pop3", port) {
		return
	}
	ss.l.Send(s.p.greeting)
	for ctx.Err() == nil {
		line, err := ss.l.ReadLine()
		if errors.Is(err, textline.ErrTooLong) {
			ss.l.Send("-ERR Input line too long.")
			ss.l.SetCloseReason("limit")
			return
		}
		if err != nil {
			return
		}
		if !ss.command(ctx, line) {
			return
		}
	}
}

func (ss *session) command(ctx context.Context, line string) bool {
	verb, arg, _ := strings.Cut(line, " ")
	verb = strings.ToUpper(verb)
	if ss.user != "" {
		ss.l.Session.Emit(event.Event{Type: "pop3.command.input", Fields: map[string]any{
			"command": event.Text([]byte(verb), 32), "args": event.Text([]byte(arg), 512)}})
		return ss.transaction(verb, arg)
	}
	switch verb {
	case "CAPA":
		lines := append([]string{"+OK", "CAPA"}, ss.s.p.capa...)
		if !ss.l.TLS {
			lines = append(lines, "STLS")
		}
		ss.l.Send(append(lines, "USER", "SASL PLAIN LOGIN", ".")...)
	case "USER":
		ss.userArg = arg
		ss.l.Send("+OK")
	case "PASS":
		if ss.userArg == "" {
			ss.l.Send("-ERR No username given.")
			return true
		}
		ss.login("USER", ss.userArg, arg)
	case "AUTH":
		ss.auth(arg)
	case "APOP":
		ss.l.Send("-ERR APOP not enabled.")
	case "STLS":
		if ss.l.TLS {
			ss.l.Send("-ERR TLS is already active.")
			return true
		}
		ss.l.Send("+OK Begin TLS negotiation now.")
		return ss.l.StartTLS(ctx, ss.s.TLS, "pop3", ss.port)
	case "QUIT":
		ss.l.Send("+OK Logging out")
		ss.l.SetCloseReason("client")
		return false
	default:
		if ss.bad >= maxBad {
			ss.l.Send("-ERR Too many invalid bad commands.")
			ss.l.SetCloseReason("limit")
			return false
		}
		ss.bad++
		ss.l.Send("-ERR Unknown command.")
	}
	return true
}

// auth runs AUTH: the mechanism list, PLAIN or LOGIN.
func (ss *session) auth(arg string) {
	mech, initial, _ := strings.Cut(strings.TrimSpace(arg), " ")
	ask := func(prompt, given string) ([]byte, bool) {
		b, err := ss.l.Answer(prompt, given)
		switch {
		case errors.Is(err, textline.ErrAborted):
			ss.l.Send("-ERR Authentication aborted by client.")
			return nil, false
		case errors.Is(err, textline.ErrDecode):
			ss.l.Send("-ERR Invalid base64 data in continued response")
			return nil, false
		case err != nil:
			return nil, false
		}
		return b, true
	}
	switch strings.ToUpper(mech) {
	case "":
		ss.l.Send("+OK", "PLAIN", "LOGIN", ".")
	case "PLAIN":
		resp, ok := ask("", initial)
		if !ok {
			return
		}
		user, pass, err := textline.Plain(resp)
		if err != nil {
			ss.l.Send(ss.s.p.loginFailed)
			return
		}
		ss.login("PLAIN", user, pass)
	case "LOGIN":
		u, ok := ask("VXNlcm5hbWU6", initial)
		if !ok {
			return
		}
		pw, ok := ask("UGFzc3dvcmQ6", "")
		if !ok {
			return
		}
		ss.login("LOGIN", string(u), string(pw))
	default:
		ss.l.Send("-ERR [AUTH] Unsupported authentication mechanism.")
	}
}

func (ss *session) login(mech, user, pass string) {
	ss.userArg = ""
	if !ss.s.Login(ss.l.Session, "pop3", mech, ss.port, user, pass) {
		ss.l.Send(ss.s.p.loginFailed)
		return
	}
	ss.user, ss.msgs, ss.validity = user, ss.s.Box.For(user), ss.s.Box.UIDValidity(user)
	ss.l.Send(ss.s.p.loginOK)
}

// number reads a message number argument: ok false has been answered.
func (ss *session) number(arg string) (int, bool) {
	n, err := strconv.Atoi(strings.TrimSpace(arg))
	switch {
	case err != nil:
		ss.l.Send("-ERR Invalid message number: " + event.Text([]byte(arg), 64))
		return 0, false
	case n < 1 || n > len(ss.msgs):
		ss.l.Send(fmt.Sprintf("-ERR There's no message %d.", n))
		return 0, false
	case ss.deleted[n]:
		ss.l.Send("-ERR Message is deleted.")
		return 0, false
	}
	return n, true
}

func (ss *session) transaction(verb, arg string) bool {
	switch verb {
	case "CAPA":
		ss.l.Send(append(append([]string{"+OK", "CAPA"}, ss.s.p.capa...), ".")...)
	case "STAT":
		n, size := ss.count()
		ss.l.Send(fmt.Sprintf("+OK %d %d", n, size))
	case "LIST", "UIDL":
		if strings.TrimSpace(arg) != "" {
			n, ok := ss.number(arg)
			if ok {
				ss.l.Send(fmt.Sprintf("+OK %d %s", n, ss.listValue(verb, n)))
			}
			return true
		}
		head := "+OK"
		if verb == "LIST" {
			n, _ := ss.count()
			head = fmt.Sprintf("+OK %d messages:", n)
		}
		lines := []string{head}
		for i := range ss.msgs {
			if !ss.deleted[i+1] {
				lines = append(lines, fmt.Sprintf("%d %s", i+1, ss.listValue(verb, i+1)))
			}
		}
		ss.l.Send(append(lines, ".")...)
	case "RETR", "TOP":
		nArg, linesArg, _ := strings.Cut(strings.TrimSpace(arg), " ")
		n, ok := ss.number(nArg)
		if !ok {
			return true
		}
		m := ss.msgs[n-1]
		body := m.Raw
		head := fmt.Sprintf("+OK %d octets", len(m.Raw))
		if verb == "TOP" {
			keep, err := strconv.Atoi(strings.TrimSpace(linesArg))
			if err != nil || keep < 0 {
				ss.l.Send("-ERR Invalid number of lines: " + event.Text([]byte(linesArg), 64))
				return true
			}
			body, head = top(m.Raw, keep), "+OK"
		}
		ss.l.Session.Emit(event.Event{Type: "pop3.message.read", Fields: map[string]any{
			"command": verb, "number": n, "subject": event.Text([]byte(m.Subject), 256), "from": event.Text([]byte(m.From), 256)}})
		ss.l.Raw([]byte(head + "\r\n"))
		ss.l.Raw(dotStuff(body))
		ss.l.Send(".")
	case "DELE":
		if n, ok := ss.number(arg); ok {
			ss.deleted[n] = true
			ss.l.Send("+OK Marked to be deleted.")
		}
	case "RSET":
		ss.deleted = map[int]bool{}
		ss.l.Send("+OK")
	case "NOOP":
		ss.l.Send("+OK")
	case "QUIT":
		ss.l.Send("+OK Logging out.")
		ss.l.SetCloseReason("client")
		return false
	default:
		ss.l.Send("-ERR Unknown command: " + event.Text([]byte(verb), 64))
	}
	return true
}

func (ss *session) count() (n, size int) {
	for i, m := range ss.msgs {
		if !ss.deleted[i+1] {
			n++
			size += len(m.Raw)
		}
	}
	return n, size
}

func (ss *session) listValue(verb string, n int) string {
	if verb == "LIST" {
		return strconv.Itoa(len(ss.msgs[n-1].Raw))
	}
	// Dovecot's default pop3_uidl_format, %08Xu%08Xv.
	return fmt.Sprintf("%08x%08x", ss.msgs[n-1].UID, ss.validity)
}

// top is the header and the first n lines of the body.
func top(raw []byte, n int) []byte {
	i := bytes.Index(raw, []byte("\r\n\r\n"))
	if i < 0 {
		return raw
	}
	out := append([]byte{}, raw[:i+4]...)
	body := raw[i+4:]
	for ; n > 0 && len(body) > 0; n-- {
		j := bytes.Index(body, []byte("\r\n"))
		if j < 0 {
			out = append(out, body...)
			break
		}
		out = append(out, body[:j+2]...)
		body = body[j+2:]
	}
	return out
}

// dotStuff escapes lines that start with a dot and ends the data with
// CRLF, ready for the terminating ".".
func dotStuff(b []byte) []byte {
	var out bytes.Buffer
	for _, line := range bytes.SplitAfter(b, []byte("\r\n")) {
		if len(line) > 0 && line[0] == '.' {
			out.WriteByte('.')
		}
		out.Write(line)
	}
	if !bytes.HasSuffix(out.Bytes(), []byte("\r\n")) {
		out.WriteString("\r\n")
	}
	return out.Bytes()
}
