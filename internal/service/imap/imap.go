package imap

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/service/mailbox"
	"github.com/decnet/decnet/internal/service/serve"
	"github.com/decnet/decnet/internal/service/textline"
)

// Bounds.
const (
	maxLine       = 8192     // Dovecot's imap_max_line_length is 64k; a login line is short
	maxLiteral    = 64 << 10 // a literal outside APPEND
	maxAppend     = 10 << 20
	maxLiterals   = 16
	maxBadPre     = 3  // imap-login: "Too many invalid IMAP commands."
	maxBadPost    = 20 // imap: the same, after login
	maxSessionMsg = 64 // APPENDed messages kept in one session
)

// Server is the IMAP service of one decky.
type Server struct {
	*mailbox.Access
	env serve.Env
	p   product
}

// New builds the IMAP service of a decky.
func New(env serve.Env) (serve.Server, error) {
	a, err := mailbox.NewAccess(env, "imap")
	if err != nil {
		return nil, err
	}
	p := dovecot
	if a.Settings.Courier() {
		p = courier
	}
	return &Server{Access: a, env: env, p: p}, nil
}

// Serve listens on 143 and 993 until ctx is done.
func (s *Server) Serve(ctx context.Context) error {
	return serve.TCPPorts(ctx, s.env, []uint16{Port, TLSPort}, s.handle)
}

// session is one IMAP connection.
type session struct {
	s    *Server
	l    *textline.Conn
	port uint16
	user string // set once logged in
	bad  int
	// askedCaps: the client sent CAPABILITY before login, so the login
	// reply lists them untagged, as Dovecot does.
	askedCaps bool

	folders  []*folder
	selected *folder
	readOnly bool
}

// folder is one mailbox of the session's view.
type folder struct {
	name     string
	special  string // \Sent, \Trash, ...
	msgs     []*message
	uidNext  uint32
	validity uint32
}

type message struct {
	mailbox.Message
	flags map[string]bool
}

func (s *Server) handle(ctx context.Context, c *serve.Conn, port uint16) {
	ss := &session{s: s, l: textline.New(c, maxLine), port: port}
	if !s.Spawn(ctx) {
		return
	}
	if port == TLSPort && !ss.l.StartTLS(ctx, s.TLS, "imap", port) {
		return
	}
	ss.l.Send("* OK [CAPABILITY " + ss.preCaps() + "] " + s.p.greeting)
	for ctx.Err() == nil {
		line, err := ss.l.ReadLine()
		if errors.Is(err, textline.ErrTooLong) {
			ss.l.Send("* BAD Too long argument.")
			ss.l.SetCloseReason("limit")
			return
		}
		if err != nil {
			return
		}
		if !ss.command(ctx, line) {
			return
		}
		limit := maxBadPre
		if ss.user != "" {
			limit = maxBadPost
		}
		if ss.bad >= limit {
			ss.l.Send("* BYE Too many invalid IMAP commands.")
			ss.l.SetCloseReason("limit")
			return
		}
	}
}

func (ss *session) preCaps() string {
	caps := ss.s.p.preCaps
	if ss.l.TLS {
		caps = strings.Replace(caps, " STARTTLS", "", 1)
	}
	return caps
}

// timing is the suffix Dovecot puts on tagged replies after login.
func (ss *session) timing(lock bool) string {
	if !ss.s.p.timings {
		return "."
	}
	n, _ := rand.Int(rand.Reader, big.NewInt(3))
	if lock {
		return fmt.Sprintf(" (0.00%d + 0.000 + 0.00%d secs).", n.Int64(), n.Int64())
	}
	return fmt.Sprintf(" (0.00%d + 0.000 secs).", n.Int64())
}

// readCommand reads the rest of a command whose first line is line: each
// trailing {n} literal is read (after "+ OK" unless it is {n+}) and the
// next line appended. The text holds a NUL where each literal was.
func (ss *session) readCommand(tag, cmd, line string) (string, [][]byte, bool) {
	var lits [][]byte
	for {
		n, nonSync, ok := literalSize(line)
		if !ok {
			return line, lits, true
		}
		limit := maxLiteral
		if cmd == "APPEND" {
			limit = maxAppend
		}
		if n > limit || len(lits) >= maxLiterals {
			ss.l.Send(tag + " NO [TOOBIG] Literal too large.")
			return "", nil, false
		}
		if !nonSync {
			ss.l.Send("+ OK")
		}
		b, err := ss.l.ReadN(n)
		if err != nil {
			return "", nil, false
		}
		lits = append(lits, b)
		open := strings.LastIndexByte(line, '{')
		next, err := ss.l.ReadLine()
		if err != nil {
			return "", nil, false
		}
		line = line[:open] + "\x00" + next
	}
}

// command runs one command; false ends the session.
func (ss *session) command(ctx context.Context, line string) bool {
	if strings.IndexByte(line, 0) >= 0 {
		ss.bad++
		ss.l.Send("* BAD Error in IMAP command received by server.")
		return true
	}
	tag, rest, _ := strings.Cut(line, " ")
	cmd, argText, _ := strings.Cut(rest, " ")
	cmd = strings.ToUpper(cmd)
	if tag == "" || cmd == "" || strings.ContainsAny(tag, "*+(){%\"\\") {
		ss.bad++
		if tag == "" {
			tag = "*"
		}
		ss.l.Send(tag + " BAD Error in IMAP command received by server.")
		return true
	}
	uid := false
	if cmd == "UID" {
		sub, more, _ := strings.Cut(argText, " ")
		uid, cmd, argText = true, "UID "+strings.ToUpper(sub), more
	}
	argText, lits, ok := ss.readCommand(tag, cmd, argText)
	if !ok {
		return false
	}
	args, err := parseArgs(argText, lits)
	if err != nil {
		ss.bad++
		ss.l.Send(tag + " BAD Error in IMAP command " + cmd + ": Invalid arguments" + ss.timing(false))
		return true
	}
	if ss.user == "" {
		return ss.preLogin(ctx, tag, cmd, args)
	}
	ss.l.Session.Emit(event.Event{Type: "imap.command.input", Fields: map[string]any{
		"command": event.Text([]byte(cmd), 32), "args": event.Text([]byte(argText), 1024), "mailbox": ss.selectedName()}})
	return ss.postLogin(ctx, tag, cmd, args, uid)
}

func (ss *session) selectedName() string {
	if ss.selected == nil {
		return ""
	}
	return ss.selected.name
}

func (ss *session) preLogin(ctx context.Context, tag, cmd string, args []item) bool {
	p := ss.s.p
	switch cmd {
	case "CAPABILITY":
		ss.askedCaps = true
		ss.l.Send("* CAPABILITY "+ss.preCaps(), tag+" OK Pre-login capabilities listed, post-login capabilities have more.")
	case "NOOP":
		ss.l.Send(tag + " OK NOOP completed.")
	case "LOGOUT":
		ss.l.Send("* BYE Logging out", tag+" OK Logout completed.")
		ss.l.SetCloseReason("client")
		return false
	case "ID":
		ss.l.Send(`* ID ("name" "`+p.idName+`")`, tag+" OK ID completed.")
	case "STARTTLS":
		if ss.l.TLS {
			ss.l.Send(tag + " BAD TLS is already active.")
			return true
		}
		ss.l.Send(tag + " OK Begin TLS negotiation now.")
		return ss.l.StartTLS(ctx, ss.s.TLS, "imap", ss.port)
	case "LOGIN":
		if len(args) != 2 || args[0].isList || args[1].isList {
			ss.bad++
			ss.l.Send(tag + " BAD Error in IMAP command received by server.")
			return true
		}
		ss.login(tag, "LOGIN", args[0].s, args[1].s)
	case "AUTHENTICATE":
		return ss.authenticate(tag, args)
	default:
		ss.bad++
		ss.l.Send(tag + " BAD Error in IMAP command received by server.")
	}
	return true
}

// authenticate runs AUTHENTICATE PLAIN or LOGIN, SASL-IR included.
func (ss *session) authenticate(tag string, args []item) bool {
	if len(args) == 0 || args[0].isList {
		ss.bad++
		ss.l.Send(tag + " BAD Error in IMAP command received by server.")
		return true
	}
	mech := strings.ToUpper(args[0].s)
	initial := ""
	if len(args) > 1 {
		initial = args[1].s
	}
	ask := func(prompt, given string) ([]byte, bool) {
		b, err := ss.l.Answer(prompt, given)
		switch {
		case errors.Is(err, textline.ErrAborted):
			ss.l.Send(tag + " BAD Authentication aborted by client.")
			return nil, false
		case errors.Is(err, textline.ErrDecode):
			ss.l.Send(tag + " BAD Invalid base64 data in continued response")
			return nil, false
		case err != nil:
			return nil, false
		}
		return b, true
	}
	switch mech {
	case "PLAIN":
		resp, ok := ask("", initial)
		if !ok {
			return true
		}
		user, pass, err := textline.Plain(resp)
		if err != nil {
			ss.l.Send(tag + " NO [AUTHENTICATIONFAILED] Authentication failed.")
			return true
		}
		ss.login(tag, "PLAIN", user, pass)
	case "LOGIN":
		u, ok := ask("VXNlcm5hbWU6", initial)
		if !ok {
			return true
		}
		pw, ok := ask("UGFzc3dvcmQ6", "")
		if !ok {
			return true
		}
		ss.login(tag, "AUTH=LOGIN", string(u), string(pw))
	default:
		ss.l.Send(tag + " NO [ALERT] Unsupported authentication mechanism.")
	}
	return true
}

// login reports an attempt and applies the policy.
func (ss *session) login(tag, mech, user, pass string) {
	if !ss.s.Login(ss.l.Session, "imap", mech, ss.port, user, pass) {
		ss.l.Send(tag + " " + ss.s.p.loginFailed)
		return
	}
	ss.user = user
	ss.open()
	if ss.askedCaps {
		ss.l.Send("* CAPABILITY "+ss.s.p.postCaps, tag+" OK Logged in")
		return
	}
	ss.l.Send(tag + " OK [CAPABILITY " + ss.s.p.postCaps + "] Logged in")
}

// open builds the session's view of the user's mailboxes.
func (ss *session) open() {
	validity := ss.s.Box.UIDValidity(ss.user)
	inbox := &folder{name: "INBOX", validity: validity}
	for _, m := range ss.s.Box.For(ss.user) {
		msg := &message{Message: m, flags: map[string]bool{}}
		if m.Seen {
			msg.flags[`\Seen`] = true
		}
		inbox.msgs = append(inbox.msgs, msg)
	}
	inbox.uidNext = uint32(len(inbox.msgs)) + 1
	// Maildir folders in the order Dovecot read them from disk here.
	for i, sp := range [][2]string{{"Trash", `\Trash`}, {"Sent", `\Sent`}, {"Drafts", `\Drafts`}, {"Junk", `\Junk`}} {
		ss.folders = append(ss.folders, &folder{name: sp[0], special: sp[1], uidNext: 1, validity: validity + uint32(i) + 1})
	}
	ss.folders = append(ss.folders, inbox)
}

func (ss *session) find(name string) *folder {
	for _, f := range ss.folders {
		if f.name == name || strings.EqualFold(name, "INBOX") && f.name == "INBOX" {
			return f
		}
	}
	return nil
}

// bad answers a command the server does not take.
func (ss *session) badCommand(tag, cmd, why string) {
	ss.bad++
	ss.l.Send(tag + " BAD Error in IMAP command " + cmd + ": " + why + ss.timing(false))
}

func (ss *session) postLogin(ctx context.Context, tag, cmd string, args []item, uid bool) bool {
	t := ss.timing(false)
	switch cmd {
	case "CAPABILITY":
		ss.l.Send("* CAPABILITY "+ss.s.p.postCaps, tag+" OK Capability completed"+t)
	case "NOOP", "CHECK":
		ss.l.Send(tag + " OK " + title(cmd) + " completed" + t)
	case "LOGOUT":
		ss.l.Send("* BYE Logging out", tag+" OK Logout completed"+t)
		ss.l.SetCloseReason("client")
		return false
	case "ID":
		ss.l.Send(`* ID ("name" "`+ss.s.p.idName+`")`, tag+" OK ID completed"+t)
	case "ENABLE":
		ss.l.Send("* ENABLED", tag+" OK Enabled"+t)
	case "NAMESPACE":
		ss.l.Send(`* NAMESPACE (("" ".")) NIL NIL`, tag+" OK Namespace completed"+t)
	case "SELECT", "EXAMINE":
		ss.selectFolder(tag, cmd, args)
	case "LIST", "LSUB":
		ss.list(tag, cmd, args)
	case "STATUS":
		ss.status(tag, args)
	case "CREATE", "DELETE", "RENAME", "SUBSCRIBE", "UNSUBSCRIBE":
		ss.manage(tag, cmd, args)
	case "APPEND":
		ss.appendMsg(tag, args)
	case "IDLE":
		ss.l.Send("+ idling")
		for {
			line, err := ss.l.ReadLine()
			if err != nil {
				return false
			}
			if strings.EqualFold(strings.TrimSpace(line), "DONE") {
				break
			}
		}
		ss.l.Send(tag + " OK Idle completed" + ss.timing(true))
	case "CLOSE", "UNSELECT", "EXPUNGE", "FETCH", "UID FETCH", "SEARCH", "UID SEARCH", "STORE", "UID STORE",
		"COPY", "UID COPY", "MOVE", "UID MOVE", "UID EXPUNGE":
		if ss.selected == nil {
			ss.bad++
			ss.l.Send(tag + " BAD No mailbox selected" + t)
			return true
		}
		ss.selectedCommand(ctx, tag, cmd, args, uid)
	default:
		ss.badCommand(tag, cmd, "Unknown command")
	}
	return true
}

func title(s string) string { return s[:1] + strings.ToLower(s[1:]) }

func (ss *session) selectFolder(tag, cmd string, args []item) {
	if ss.selected != nil {
		ss.l.Send("* OK [CLOSED] Previous mailbox closed.")
		ss.selected = nil
	}
	if len(args) < 1 || args[0].isList {
		ss.badCommand(tag, cmd, "Invalid arguments")
		return
	}
	f := ss.find(args[0].s)
	if f == nil {
		ss.l.Send(tag + " NO Mailbox doesn't exist: " + args[0].s + ss.timing(false))
		return
	}
	ss.selected, ss.readOnly = f, cmd == "EXAMINE"
	lines := []string{`* FLAGS (\Answered \Flagged \Deleted \Seen \Draft)`}
	if ss.readOnly {
		lines = append(lines, `* OK [PERMANENTFLAGS ()] Read-only mailbox.`)
	} else {
		lines = append(lines, `* OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft \*)] Flags permitted.`)
	}
	lines = append(lines, fmt.Sprintf("* %d EXISTS", len(f.msgs)), "* 0 RECENT")
	for i, m := range f.msgs {
		if !m.flags[`\Seen`] {
			lines = append(lines, fmt.Sprintf("* OK [UNSEEN %d] First unseen.", i+1))
			break
		}
	}
	lines = append(lines, fmt.Sprintf("* OK [UIDVALIDITY %d] UIDs valid", f.validity), fmt.Sprintf("* OK [UIDNEXT %d] Predicted next UID", f.uidNext))
	mode, word := "READ-WRITE", "Select"
	if ss.readOnly {
		mode, word = "READ-ONLY", "Examine"
	}
	lines = append(lines, tag+" OK ["+mode+"] "+word+" completed"+ss.timing(true))
	ss.l.Send(lines...)
}

// match applies a LIST pattern: * matches anything, % anything but the
// hierarchy separator. It runs in time linear in pattern × name (a
// pattern of many wildcards must not be exponential).
func match(pattern, name string) bool {
	// ok[j]: pattern[:i] matches name[:j], row by row.
	ok := make([]bool, len(name)+1)
	ok[0] = true
	for i := 0; i < len(pattern); i++ {
		next := make([]bool, len(name)+1)
		switch c := pattern[i]; c {
		case '*', '%':
			next[0] = ok[0]
			for j := 1; j <= len(name); j++ {
				next[j] = ok[j] || next[j-1] && (c == '*' || name[j-1] != '.')
			}
		default:
			for j := 1; j <= len(name); j++ {
				next[j] = ok[j-1] && strings.EqualFold(pattern[i:i+1], name[j-1:j])
			}
		}
		ok = next
	}
	return ok[len(name)]
}

func (ss *session) list(tag, cmd string, args []item) {
	if len(args) < 2 || args[0].isList || args[1].isList {
		ss.badCommand(tag, cmd, "Invalid arguments")
		return
	}
	pattern := args[0].s + args[1].s
	if len(pattern) > 256 || strings.Count(pattern, "*")+strings.Count(pattern, "%") > 8 {
		ss.badCommand(tag, cmd, "Invalid arguments")
		return
	}
	var lines []string
	if args[1].s == "" && cmd == "LIST" {
		lines = append(lines, `* LIST (\Noselect) "." ""`)
	} else if cmd == "LIST" {
		for _, f := range ss.folders {
			if match(pattern, f.name) {
				attrs := `\HasNoChildren`
				if f.special != "" {
					attrs += " " + f.special
				}
				lines = append(lines, fmt.Sprintf(`* LIST (%s) "." %s`, attrs, quoteName(f.name)))
			}
		}
	}
	word := "List"
	if cmd == "LSUB" {
		word = "Lsub"
	}
	ss.l.Send(append(lines, tag+" OK "+word+" completed"+ss.timing(cmd == "LIST"))...)
}

// quoteName writes a mailbox name as Dovecot does: an atom when it can be.
func quoteName(name string) string {
	if name != "" && !strings.ContainsAny(name, " \"\\(){%*]") {
		return name
	}
	return quote(name)
}

func (ss *session) status(tag string, args []item) {
	if len(args) != 2 || args[0].isList || !args[1].isList {
		ss.badCommand(tag, "STATUS", "Invalid arguments")
		return
	}
	f := ss.find(args[0].s)
	if f == nil {
		ss.l.Send(tag + " NO Mailbox doesn't exist: " + args[0].s + ss.timing(false))
		return
	}
	want := map[string]bool{}
	for _, it := range args[1].list {
		want[strings.ToUpper(it.s)] = true
	}
	unseen := 0
	for _, m := range f.msgs {
		if !m.flags[`\Seen`] {
			unseen++
		}
	}
	var parts []string
	for _, k := range []struct {
		key string
		v   uint32
	}{{"MESSAGES", uint32(len(f.msgs))}, {"RECENT", 0}, {"UIDNEXT", f.uidNext}, {"UIDVALIDITY", f.validity}, {"UNSEEN", uint32(unseen)}} {
		if want[k.key] {
			parts = append(parts, fmt.Sprintf("%s %d", k.key, k.v))
		}
	}
	done := tag + " OK Status completed" + ss.timing(false)
	if f == ss.selected {
		done = tag + " OK [CLIENTBUG] Status on selected mailbox completed" + ss.timing(false)
	}
	ss.l.Send(fmt.Sprintf("* STATUS %s (%s)", quoteName(f.name), strings.Join(parts, " ")), done)
}

func (ss *session) manage(tag, cmd string, args []item) {
	if len(args) < 1 || args[0].isList {
		ss.badCommand(tag, cmd, "Invalid arguments")
		return
	}
	name := args[0].s
	switch cmd {
	case "CREATE":
		if ss.find(name) != nil {
			ss.l.Send(tag + " NO [ALREADYEXISTS] Mailbox already exists" + ss.timing(false))
			return
		}
		if len(ss.folders) < 32 && len(name) <= 128 {
			ss.folders = append(ss.folders, &folder{name: name, uidNext: 1, validity: ss.folders[len(ss.folders)-1].validity + uint32(len(ss.folders))})
		}
	case "DELETE":
		f := ss.find(name)
		if f == nil {
			ss.l.Send(tag + " NO Mailbox doesn't exist: " + name + ss.timing(false))
			return
		}
		if f.name == "INBOX" {
			ss.l.Send(tag + " NO INBOX can't be deleted." + ss.timing(false))
			return
		}
		for i, x := range ss.folders {
			if x == f {
				ss.folders = append(ss.folders[:i], ss.folders[i+1:]...)
				break
			}
		}
		if ss.selected == f {
			ss.selected = nil
		}
	case "RENAME":
		f := ss.find(name)
		if len(args) < 2 || f == nil {
			ss.l.Send(tag + " NO Mailbox doesn't exist: " + name + ss.timing(false))
			return
		}
		if f.name != "INBOX" && len(args[1].s) <= 128 {
			f.name = args[1].s
		}
	}
	ss.l.Send(tag + " OK " + title(cmd) + " completed" + ss.timing(false))
}

// appendMsg quarantines an APPENDed message and keeps it in the view.
func (ss *session) appendMsg(tag string, args []item) {
	if len(args) < 2 || args[0].isList || !args[len(args)-1].quoted {
		ss.badCommand(tag, "APPEND", "Invalid arguments")
		return
	}
	f := ss.find(args[0].s)
	msg := []byte(args[len(args)-1].s)
	fields := map[string]any{"mailbox": event.Text([]byte(args[0].s), 256), "size": len(msg)}
	if q := ss.s.env.Quarantine; q != nil {
		if sum, err := q.Put(bytes.NewReader(msg)); err == nil {
			fields["sha256"] = sum.SHA256
		} else {
			ss.s.Log.Warn("quarantine append", "err", err)
		}
	}
	ss.l.Session.Emit(event.Event{Type: "imap.message.append", Fields: fields})
	if f == nil {
		ss.l.Send(tag + " NO [TRYCREATE] Mailbox doesn't exist: " + args[0].s + ss.timing(false))
		return
	}
	uid := f.uidNext
	if len(f.msgs) < 1024+maxSessionMsg {
		m := &message{Message: mailbox.Message{UID: uid, Raw: msg, Internal: time.Now()}, flags: map[string]bool{}}
		for _, it := range args[1 : len(args)-1] {
			if it.isList {
				for _, fl := range it.list {
					m.flags[fl.s] = true
				}
			}
		}
		f.msgs = append(f.msgs, m)
		f.uidNext++
	}
	ss.l.Send(fmt.Sprintf("%s OK [APPENDUID %d %d] Append completed%s", tag, f.validity, uid, ss.timing(false)))
}
