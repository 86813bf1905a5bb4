package ftp

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/netip"
	"path"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/decnet/decnet/internal/bait"
	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/service/serve"
)

// Port is the FTP control port.
const Port = 21

// Bounds and timeouts.
const (
	maxLine         = 4096             // vsftpd's VSFTP_MAX_COMMAND_LINE
	maxLoginFails   = 3                // vsftpd max_login_fails, ProFTPD MaxLoginAttempts
	acceptTimeout   = 60 * time.Second // vsftpd accept_timeout
	connectTimeout  = 60 * time.Second // vsftpd connect_timeout
	dataIdle        = 5 * time.Minute  // vsftpd data_connection_timeout
	maxUpload       = 256 << 20        // bytes read from one upload before the data connection is cut
	maxSessionFiles = 100              // uploads remembered per session for listings
)

// Server is the FTP emulation of one decky.
type Server struct {
	env    serve.Env
	log    *slog.Logger
	server server
	banner string
	anon   bool
	users  map[string]string

	// The tree is rebuilt, from the same seed and time, whenever the
	// operator's dropped files change (serve.Live); sessions read the
	// current one.
	configured []string
	built      time.Time
	treeMu     sync.Mutex
	cur        atomic.Pointer[builtTree]
}

type builtTree struct {
	gen uint64 // of the dropped files it holds
	t   *tree
}

var _ serve.Server = (*Server)(nil)

// New builds the FTP service of one decky; it starts nothing.
func New(env serve.Env) (serve.Server, error) {
	log := env.Logger()
	s := &Server{env: env, log: log, users: map[string]string{}}
	srv, ok := servers[env.Persona.Distro.Slug]
	if !ok {
		srv = servers["debian"]
	}
	cfg := serve.SettingsOf(env, defaults)
	banner := strings.TrimSpace(strings.NewReplacer("\r", "", "\n", " ").Replace(cfg.Banner))
	if isProFTPD(banner) {
		srv = server{product: "proftpd", version: proftpdVersions[env.Persona.Distro.Slug]}
		if strings.EqualFold(banner, "proftpd") {
			banner = "" // the default ProFTPD greeting, built per connection
		}
	}
	if banner != "" && !strings.HasPrefix(banner, "220") {
		banner = "220 " + banner
	}
	s.server, s.banner = srv, banner
	if srv.product != "proftpd" {
		// vsftpd's max_per_ip refusal; ProFTPD past MaxInstances closes.
		s.env.Refuse = func(c net.Conn) {
			_, _ = c.Write([]byte("421 There are too many connections from your internet address.\r\n"))
		}
	}
	s.anon = cfg.Anonymous
	var configured []string
	for _, it := range cfg.Users {
		u, p, ok := strings.Cut(it, ":")
		if ok && u != "" {
			s.users[u] = p
			configured = append(configured, u)
		}
	}
	s.configured, s.built = configured, time.Now()
	s.tree()
	return s, nil
}

// tree returns the decky's FTP tree with the files dropped into it so far.
func (s *Server) tree() *tree {
	gen, drops := s.env.Live.Files(bait.FTP)
	if b := s.cur.Load(); b != nil && b.gen == gen {
		return b.t
	}
	s.treeMu.Lock()
	defer s.treeMu.Unlock()
	if b := s.cur.Load(); b != nil && b.gen == gen {
		return b.t
	}
	t := newTree(s.env.Identity, s.env.Persona.Distro, s.env.Persona.Hostname, s.configured, s.built)
	t.place(s.env.Bait, s.built)
	t.place(drops, time.Now())
	s.cur.Store(&builtTree{gen: gen, t: t})
	return t
}

// Serve implements serve.Server.
func (s *Server) Serve(ctx context.Context) error {
	return serve.TCP(ctx, s.env, Port, s.handle)
}

// session is one control connection.
type session struct {
	srv      *Server
	c        *serve.Conn
	w        *bufio.Writer
	r        *[rNum]string
	user     string
	hasUser  bool
	loggedIn bool
	anon     bool
	fails    int
	root     string // chroot of the session ("" or the anonymous root)
	cwd      string // as the client sees it
	binary   bool
	rest     int64
	rnfr     string
	pasv     net.Listener
	port     *net.TCPAddr
	uploads  map[string]int64 // path -> size, this session's uploads
	local    netip.Addr
	remote   netip.Addr
}

func (s *Server) greeting(c *serve.Conn) string {
	if s.banner != "" {
		return s.banner
	}
	if s.server.product == "proftpd" {
		name := "Debian"
		switch s.env.Persona.Distro.Slug {
		case "ubuntu22", "ubuntu20":
			name = "Debian" // Ubuntu ships Debian's proftpd.conf
		case "rocky9", "centos7", "fedora":
			name = "ProFTPD server"
		}
		local := c.LocalAddr().(*net.TCPAddr)
		return fmt.Sprintf("220 ProFTPD Server (%s) [::ffff:%s]", name, local.IP)
	}
	return "220 (vsFTPd " + s.server.version + ")"
}

func (s *Server) handle(ctx context.Context, c *serve.Conn) {
	ss := &session{srv: s, c: c, w: bufio.NewWriter(c), r: s.server.replies(), cwd: "/", uploads: map[string]int64{}}
	if a, ok := c.LocalAddr().(*net.TCPAddr); ok {
		ss.local, _ = netip.AddrFromSlice(a.IP)
		ss.local = ss.local.Unmap()
	}
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		ss.remote, _ = netip.AddrFromSlice(a.IP)
		ss.remote = ss.remote.Unmap()
	}
	defer ss.closeData()
	ss.line(s.greeting(c))
	if ss.flush() != nil {
		return
	}
	br := bufio.NewReaderSize(c, maxLine)
	for ctx.Err() == nil {
		line, err := readLine(br)
		if err != nil {
			return
		}
		verb, arg := parseCommand(line)
		if verb == "" && arg == "" {
			continue // vsftpd ignores empty lines
		}
		if !ss.command(ctx, verb, arg) {
			_ = ss.flush()
			return
		}
		if ss.flush() != nil {
			return
		}
	}
}

// readLine reads one command line, cut at maxLine bytes: the rest of an
// overlong line is read and dropped.
func readLine(br *bufio.Reader) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		out := append([]byte(nil), line...)
		for errors.Is(err, bufio.ErrBufferFull) {
			_, err = br.ReadSlice('\n')
		}
		if err != nil {
			return nil, err
		}
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	return line, nil
}

// parseCommand splits a control line into its verb (upper case) and
// argument, as vsftpd does: the first space separates them, the line
// terminator and any trailing CR are dropped.
func parseCommand(line []byte) (string, string) {
	s := string(line)
	s = strings.TrimRight(s, "\r\n")
	s = strings.TrimSuffix(s, "\r")
	verb, arg, _ := strings.Cut(s, " ")
	if len(verb) > 32 {
		verb = verb[:32]
	}
	return asciiUpper(verb), arg
}

// asciiUpper upper-cases ASCII letters only, as vsftpd's str_upper does;
// other bytes stay as they are, so the length never changes.
func asciiUpper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

func (ss *session) line(s string) {
	_, _ = ss.w.WriteString(s + "\r\n")
}

func (ss *session) raw(s string) { _, _ = ss.w.WriteString(s) }

func (ss *session) flush() error { return ss.w.Flush() }

// reply writes the persona's text for key; args fill the templates that
// take them (the ProFTPD texts echo names, vsftpd's mostly do not).
func (ss *session) reply(key int, args ...any) {
	t := ss.r[key]
	if strings.Contains(t, "%") {
		for i, a := range args {
			if s, ok := a.(string); ok {
				args[i] = clean(s)
			}
		}
		t = fmt.Sprintf(t, args...)
	}
	ss.line(t)
}

// clean keeps an attacker string on one reply line.
func clean(s string) string {
	s = strings.NewReplacer("\r", "", "\n", "", "\x00", "").Replace(s)
	if len(s) > 512 {
		s = s[:512]
	}
	return s
}

func (ss *session) emit(verb, arg string) {
	ss.c.Session.Emit(event.Event{Type: "ftp.command.input", Fields: map[string]any{
		"verb": event.Text([]byte(verb), 32), "args": event.Text([]byte(arg), event.MaxField),
		"cwd": event.Text([]byte(ss.cwd), 1024), "logged_in": ss.loggedIn, "user": event.Text([]byte(ss.user), 256),
	}})
}

// command runs one command; false ends the session.
func (ss *session) command(ctx context.Context, verb, arg string) bool {
	s := ss.srv
	if verb != "PASS" {
		ss.emit(verb, arg)
	}
	if !ss.loggedIn && !s.server.preLogin(verb) {
		if s.server.product == "proftpd" && verb != "" && !knownVerb(verb) {
			ss.reply(rUnknown, verb)
		} else {
			ss.reply(rNeedLogin)
		}
		return true
	}
	switch verb {
	case "USER":
		return ss.userCmd(arg)
	case "PASS":
		return ss.passCmd(ctx, arg)
	case "QUIT":
		ss.reply(rQuit)
		return false
	case "FEAT":
		ss.raw(s.server.feat())
	case "OPTS":
		if strings.EqualFold(strings.TrimSpace(arg), "UTF8 ON") {
			ss.reply(rOptsUTF8)
		} else {
			ss.reply(rOptsBad, arg)
		}
	case "SYST":
		ss.line("215 UNIX Type: L8")
	case "HELP":
		ss.raw(s.server.help())
	case "NOOP":
		ss.reply(rNoop)
	case "PWD", "XPWD":
		ss.reply(rPwd, ss.cwd)
	case "CWD", "XCWD":
		ss.cwdCmd(arg)
	case "CDUP", "XCUP":
		ss.cwdCmd("..")
	case "TYPE":
		switch strings.ToUpper(strings.TrimSpace(arg)) {
		case "I", "L 8", "L8":
			ss.binary = true
			ss.reply(rTypeI)
		case "A", "A N":
			ss.binary = false
			ss.reply(rTypeA)
		default:
			ss.reply(rTypeBad, arg)
		}
	case "MODE":
		if strings.EqualFold(arg, "S") {
			ss.reply(rMode)
		} else {
			ss.line("504 Bad MODE command.")
		}
	case "STRU":
		if strings.EqualFold(arg, "F") {
			ss.reply(rStru)
		} else {
			ss.line("504 Bad STRU command.")
		}
	case "ALLO":
		ss.reply(rAllo)
	case "REST":
		n, err := strconv.ParseInt(strings.TrimSpace(arg), 10, 64)
		if err != nil || n < 0 {
			n = 0
		}
		ss.rest = n
		ss.reply(rRest, n)
	case "ABOR":
		ss.reply(rAbor)
	case "PASV":
		ss.pasvCmd(ctx, false)
	case "EPSV":
		if strings.EqualFold(strings.TrimSpace(arg), "ALL") {
			ss.line("200 EPSV ALL ok.")
			return true
		}
		ss.pasvCmd(ctx, true)
	case "PORT":
		ss.portCmd(arg, false)
	case "EPRT":
		ss.portCmd(arg, true)
	case "LIST", "NLST":
		ss.listCmd(ctx, verb, arg)
	case "RETR":
		ss.retrCmd(ctx, arg)
	case "STOR", "APPE", "STOU":
		ss.storCmd(ctx, verb, arg)
	case "SIZE":
		n := ss.lookup(arg)
		switch {
		case n != nil && !n.dir:
			ss.line("213 " + strconv.FormatInt(n.size, 10))
		case ss.uploaded(arg) >= 0:
			ss.line("213 " + strconv.FormatInt(ss.uploaded(arg), 10))
		default:
			ss.reply(rSizeBad, arg)
		}
	case "MDTM":
		if n := ss.lookup(arg); n != nil && !n.dir {
			ss.line("213 " + n.mtime.UTC().Format("20060102150405"))
		} else {
			ss.line("550 Could not get file modification time.")
		}
	case "MKD", "XMKD", "RMD", "XRMD":
		ss.reply(rMkdBad, arg)
	case "DELE":
		p := ss.abs(arg)
		if _, ok := ss.uploads[p]; ok {
			delete(ss.uploads, p)
			ss.reply(rDeleOK)
		} else {
			ss.reply(rDeleBad, arg)
		}
	case "RNFR":
		if ss.lookup(arg) != nil {
			ss.rnfr = arg
			ss.line("350 Ready for RNTO.")
		} else {
			ss.reply(rRnfrBad, arg)
		}
	case "RNTO":
		if ss.rnfr == "" {
			ss.reply(rRntoBad)
		} else {
			ss.rnfr = ""
			ss.line("550 Rename failed.")
		}
	case "SITE":
		ss.siteCmd(arg)
	case "STAT":
		if arg == "" {
			ss.statCmd()
		} else {
			ss.line("213-Status follows:")
			ss.listing(arg, true, false, func(l string) { ss.line(l) })
			ss.line("213 End of status")
		}
	default:
		ss.reply(rUnknown, verb)
	}
	return true
}

func knownVerb(v string) bool {
	switch v {
	case "USER", "PASS", "QUIT", "FEAT", "OPTS", "SYST", "HELP", "NOOP", "PWD", "XPWD", "CWD", "XCWD", "CDUP", "XCUP",
		"TYPE", "MODE", "STRU", "ALLO", "REST", "ABOR", "PASV", "EPSV", "PORT", "EPRT", "LIST", "NLST", "RETR", "STOR",
		"APPE", "STOU", "SIZE", "MDTM", "MKD", "XMKD", "RMD", "XRMD", "DELE", "RNFR", "RNTO", "SITE", "STAT", "MLSD", "MLST":
		return true
	}
	return false
}

func (ss *session) userCmd(arg string) bool {
	s := ss.srv
	if ss.loggedIn {
		ss.reply(rUserAfterLogin)
		return true
	}
	if strings.Contains(arg, ":)") {
		ss.c.Session.Emit(event.Event{Type: "ftp.exploit.attempt", Fields: map[string]any{
			"vulnerability_id": "CVE-2011-2523", "rule": "vsftpd_234_backdoor", "user": event.Text([]byte(arg), 256)}})
	}
	ss.user, ss.hasUser = arg, true
	up := strings.ToUpper(arg)
	ss.anon = up == "ANONYMOUS" || up == "FTP"
	if ss.anon && s.server.product == "proftpd" && s.anon {
		ss.reply(rUserAnon)
	} else {
		ss.reply(rUser, arg)
	}
	return true
}

func (ss *session) passCmd(ctx context.Context, pass string) bool {
	s := ss.srv
	if ss.loggedIn {
		ss.reply(rAlreadyIn)
		return true
	}
	if !ss.hasUser {
		ss.reply(rPassNoUser)
		return true
	}
	user := ss.user
	ok := false
	if ss.anon && s.anon {
		ok = true
	} else if want, found := s.users[user]; found && want == pass {
		ok = true
	}
	cred := event.NewCredential("plaintext", "password", user, []byte(pass), true)
	fields := map[string]any{"user": event.Text([]byte(user), 256), "anonymous": ss.anon}
	if ok {
		ss.c.Session.Emit(event.Event{Type: "ftp.login.success", Outcome: "success", Credential: cred, Fields: fields})
		ss.loggedIn, ss.hasUser = true, false
		if ss.anon {
			ss.root, ss.cwd = s.tree().anonDir, "/"
			ss.reply(rLoginOKAnon)
		} else {
			ss.root = ""
			ss.cwd = "/home/" + user
			if s.tree().lookup(ss.cwd) == nil {
				ss.cwd = "/"
			}
			ss.reply(rLoginOK, user)
		}
		return true
	}
	ss.c.Session.Emit(event.Event{Type: "ftp.login.failed", Outcome: "failure", Credential: cred, Fields: fields})
	// PAM and vsftpd's delay_failed_login answer a bad password after a
	// second or more; the wait blocks only this session.
	if !serve.Sleep(ctx, time.Second+jitter(1500*time.Millisecond)) {
		return false
	}
	ss.reply(rLoginBad)
	ss.hasUser = false
	ss.fails++
	if ss.fails >= maxLoginFails {
		ss.c.SetCloseReason("server")
		return false
	}
	return true
}

func jitter(max time.Duration) time.Duration {
	n, err := rand.Int(rand.Reader, big.NewInt(int64(max)))
	if err != nil {
		return 0
	}
	return time.Duration(n.Int64())
}

// abs returns the client-visible absolute path of arg.
func (ss *session) abs(arg string) string {
	if strings.HasPrefix(arg, "/") {
		return path.Clean(arg)
	}
	return path.Clean(ss.cwd + "/" + arg)
}

// lookup resolves arg inside the session's root.
func (ss *session) lookup(arg string) *node {
	return ss.srv.tree().lookup(path.Join(ss.root, ss.abs(arg)))
}

func (ss *session) uploaded(arg string) int64 {
	if n, ok := ss.uploads[ss.abs(arg)]; ok {
		return n
	}
	return -1
}

func (ss *session) cwdCmd(arg string) {
	n := ss.lookup(arg)
	if n == nil || !n.dir || n.denied {
		ss.reply(rCwdBad, arg)
		return
	}
	ss.cwd = ss.abs(arg)
	ss.reply(rCwdOK)
}

func (ss *session) siteCmd(arg string) {
	sub, rest, _ := strings.Cut(strings.TrimSpace(arg), " ")
	sub = strings.ToUpper(sub)
	if ss.srv.server.product == "proftpd" && (sub == "CPFR" || sub == "CPTO") {
		ss.c.Session.Emit(event.Event{Type: "ftp.exploit.attempt", Fields: map[string]any{
			"vulnerability_id": "CVE-2015-3306", "rule": "proftpd_mod_copy", "site": sub, "path": event.Text([]byte(rest), 1024)}})
		if sub == "CPFR" {
			if ss.lookup(rest) != nil {
				ss.line("350 File or directory exists, ready for destination name")
			} else {
				ss.reply(rRetrBad, rest)
			}
		} else {
			ss.reply(rPermDenied, rest)
		}
		return
	}
	switch sub {
	case "HELP":
		if ss.srv.server.product == "proftpd" {
			ss.line("214-The following SITE commands are recognized (* =>'s unimplemented)")
			ss.line(" CHGRP")
			ss.line(" CHMOD")
			ss.line(" HELP")
			ss.line("214 Direct comments to root@localhost")
		} else {
			ss.line("214 CHMOD UMASK HELP")
		}
	case "CHMOD":
		ss.reply(rPermDenied, rest)
	case "UMASK":
		ss.line("200 UMASK set to 0022 (was 0022).")
	default:
		ss.reply(rSiteBad, sub)
	}
}

func (ss *session) statCmd() {
	s := ss.srv
	if s.server.product == "proftpd" {
		ss.line(fmt.Sprintf("211-Status of '%s'", s.env.Persona.Hostname))
		ss.line(fmt.Sprintf(" Connected from %s (%s)", ss.remote, ss.remote))
		ss.line(fmt.Sprintf(" Logged in as %s", clean(ss.user)))
		ss.line(" TYPE: BINARY, STRUcture: File, Mode: Stream")
		ss.line(" No data connection")
		ss.line("211 End of status")
		return
	}
	mode := "ASCII"
	if ss.binary {
		mode = "BINARY"
	}
	ss.line("211-FTP server status:")
	ss.line("     Connected to " + ss.remote.String())
	ss.line("     Logged in as " + clean(ss.user))
	ss.line("     TYPE: " + mode)
	ss.line("     No session bandwidth limit")
	ss.line("     Session timeout in seconds is 300")
	ss.line("     Control connection is plain text")
	ss.line("     Data connections will be plain text")
	ss.line("     At session startup, client count was 1")
	ss.line("     vsFTPd " + s.server.version + " - secure, fast, stable")
	ss.line("211 End of status")
}

// Data connections.

func (ss *session) closeData() {
	if ss.pasv != nil {
		ss.pasv.Close()
		ss.pasv = nil
	}
	ss.port = nil
}

func (ss *session) pasvCmd(ctx context.Context, extended bool) {
	ss.closeData()
	if !ss.local.IsValid() {
		ss.reply(rDataFail)
		return
	}
	if !extended && !ss.local.Is4() {
		ss.line("500 PASV is not supported for IPv6, use EPSV.")
		return
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", netip.AddrPortFrom(ss.local, 0).String())
	if err != nil {
		ss.srv.log.Warn("passive listen", "err", err)
		ss.reply(rDataFail)
		return
	}
	ss.pasv = ln
	port := ln.Addr().(*net.TCPAddr).Port
	if extended {
		ss.line(fmt.Sprintf("229 Entering Extended Passive Mode (|||%d|)", port))
		return
	}
	ip := ss.local.As4()
	ss.line(fmt.Sprintf("227 Entering Passive Mode (%d,%d,%d,%d,%d,%d).", ip[0], ip[1], ip[2], ip[3], port>>8, port&0xff))
}

// portCmd accepts an active-mode address only when it is the client's
// own IP and an unprivileged port, as vsftpd without port_promiscuous
// does: the decoy never connects to a third party.
func (ss *session) portCmd(arg string, extended bool) {
	ss.closeData()
	ap, ok := parsePort(arg, extended)
	if !ok || ap.Addr().Unmap() != ss.remote || ap.Port() < 1024 {
		ss.reply(rPortBad)
		return
	}
	ss.port = net.TCPAddrFromAddrPort(ap)
	if extended {
		ss.reply(rEprtOK)
	} else {
		ss.reply(rPortOK)
	}
}

// parsePort parses "h1,h2,h3,h4,p1,p2" or "|af|addr|port|".
func parsePort(arg string, extended bool) (netip.AddrPort, bool) {
	arg = strings.TrimSpace(arg)
	if extended {
		if len(arg) < 2 {
			return netip.AddrPort{}, false
		}
		parts := strings.Split(arg[1:], arg[:1])
		if len(parts) != 4 || parts[3] != "" {
			return netip.AddrPort{}, false
		}
		a, err := netip.ParseAddr(parts[1])
		p, err2 := strconv.ParseUint(parts[2], 10, 16)
		if err != nil || err2 != nil || parts[0] != "1" && parts[0] != "2" {
			return netip.AddrPort{}, false
		}
		return netip.AddrPortFrom(a, uint16(p)), true
	}
	f := strings.Split(arg, ",")
	if len(f) != 6 {
		return netip.AddrPort{}, false
	}
	var b [6]byte
	for i, s := range f {
		n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 8)
		if err != nil {
			return netip.AddrPort{}, false
		}
		b[i] = byte(n)
	}
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte{b[0], b[1], b[2], b[3]}), uint16(b[4])<<8|uint16(b[5])), true
}

// openData returns the data connection prepared by PASV or PORT; the
// preparation is used once.
func (ss *session) openData(ctx context.Context) (net.Conn, error) {
	defer ss.closeData()
	switch {
	case ss.pasv != nil:
		ln := ss.pasv
		if tl, ok := ln.(*net.TCPListener); ok {
			_ = tl.SetDeadline(time.Now().Add(acceptTimeout))
		}
		stop := context.AfterFunc(ctx, func() { ln.Close() })
		defer stop()
		dc, err := ln.Accept()
		if err != nil {
			return nil, err
		}
		if ra, ok := dc.RemoteAddr().(*net.TCPAddr); ok {
			if a, ok := netip.AddrFromSlice(ra.IP); ok && a.Unmap() == ss.remote {
				return dc, nil
			}
		}
		dc.Close()
		return nil, errBadIP
	case ss.port != nil:
		d := net.Dialer{Timeout: connectTimeout, LocalAddr: &net.TCPAddr{IP: ss.local.AsSlice()}}
		return d.DialContext(ctx, "tcp", ss.port.String())
	}
	return nil, errNoData
}

var (
	errNoData = errors.New("no data connection prepared")
	errBadIP  = errors.New("data connection from another address")
)

func (ss *session) dataError(err error) {
	switch {
	case errors.Is(err, errNoData):
		ss.reply(rNoData)
	case errors.Is(err, errBadIP) && ss.srv.server.product == "vsftpd":
		ss.line("425 Security: Bad IP connecting.")
	default:
		ss.reply(rDataFail)
	}
}

// idleConn extends a data connection's deadline on every read or write.
type idleConn struct{ net.Conn }

func (c idleConn) Read(p []byte) (int, error) {
	_ = c.Conn.SetDeadline(time.Now().Add(dataIdle))
	return c.Conn.Read(p)
}

func (c idleConn) Write(p []byte) (int, error) {
	_ = c.Conn.SetDeadline(time.Now().Add(dataIdle))
	return c.Conn.Write(p)
}

func (ss *session) listCmd(ctx context.Context, verb, arg string) {
	all := false
	var target string
	for _, f := range strings.Fields(arg) {
		if strings.HasPrefix(f, "-") {
			all = all || strings.ContainsAny(f, "aA")
			continue
		}
		target = f
	}
	if ss.pasv == nil && ss.port == nil {
		ss.reply(rNoData)
		return
	}
	ss.reply(rListStart)
	if err := ss.flush(); err != nil {
		return
	}
	dc, err := ss.openData(ctx)
	if err != nil {
		ss.dataError(err)
		return
	}
	bw := bufio.NewWriter(idleConn{dc})
	denied := ss.listing(target, verb == "LIST", all, func(l string) { _, _ = bw.WriteString(l + "\r\n") })
	_ = bw.Flush()
	dc.Close()
	if denied && ss.srv.server.product == "vsftpd" {
		ss.line("226 Transfer done (but failed to open directory).")
		return
	}
	ss.reply(rListDone)
}

// listing writes the entries of target (a directory or a file) in ls -l
// form or as names; it reports whether the directory was unreadable.
func (ss *session) listing(target string, long, all bool, out func(string)) bool {
	n := ss.lookup(target)
	if target == "" {
		n = ss.lookup(".")
	}
	if n == nil {
		return false
	}
	if n.denied {
		return true
	}
	entries := []*node{n}
	if n.dir {
		entries = n.sorted()
	}
	now := time.Now()
	for _, e := range entries {
		if !all && strings.HasPrefix(e.name, ".") {
			continue
		}
		if !long {
			out(e.name)
			continue
		}
		out(ss.longLine(e, now))
	}
	if n.dir {
		dir := ss.abs(target)
		for p, size := range ss.uploads {
			if path.Dir(p) == dir {
				f := &node{name: path.Base(p), mode: "-rw-------", uid: 1000, gid: 1000, size: size, mtime: now}
				if long {
					out(ss.longLine(f, now))
				} else {
					out(f.name)
				}
			}
		}
	}
	return false
}

func (ss *session) longLine(e *node, now time.Time) string {
	nlink := 1
	if e.dir {
		nlink = 2 + len(e.children)
	}
	date := e.mtime.Format("Jan 02 15:04")
	if now.Sub(e.mtime) > 182*24*time.Hour || e.mtime.After(now) {
		date = e.mtime.Format("Jan 02  2006")
	}
	if ss.srv.server.product == "proftpd" {
		date = e.mtime.Format("Jan _2 15:04")
		if now.Sub(e.mtime) > 182*24*time.Hour {
			date = e.mtime.Format("Jan _2  2006")
		}
		owner, group := ss.name(e.uid), ss.name(e.gid)
		return fmt.Sprintf("%s %3d %-8s %-8s %8d %s %s", e.mode, nlink, owner, group, e.size, date, e.name)
	}
	return fmt.Sprintf("%s %4d %-8d %-8d %8d %s %s", e.mode, nlink, e.uid, e.gid, e.size, date, e.name)
}

func (ss *session) name(id int) string {
	switch id {
	case 0:
		return "root"
	case 33:
		return "www-data"
	case 42:
		return "shadow"
	}
	if users := ss.srv.tree().users; id-1000 >= 0 && id-1000 < len(users) {
		return users[id-1000]
	}
	return strconv.Itoa(id)
}

func (ss *session) retrCmd(ctx context.Context, arg string) {
	n := ss.lookup(arg)
	if n == nil || n.dir || n.denied || n.data == nil {
		ss.reply(rRetrBad, arg)
		return
	}
	if ss.pasv == nil && ss.port == nil {
		ss.reply(rNoData)
		return
	}
	mode := "ASCII"
	if ss.binary {
		mode = "BINARY"
	}
	ss.reply(rRetrStart, mode, arg, n.size)
	if err := ss.flush(); err != nil {
		return
	}
	dc, err := ss.openData(ctx)
	if err != nil {
		ss.dataError(err)
		return
	}
	data := n.data()
	off := min(max(ss.rest, 0), int64(len(data)))
	ss.rest = 0
	sent, err := idleConn{dc}.Write(data[off:])
	dc.Close()
	ss.c.Session.Emit(event.Event{Type: "ftp.file.download", Fields: map[string]any{
		"path": event.Text([]byte(ss.abs(arg)), 1024), "bytes": sent, "size": n.size, "complete": err == nil,
	}})
	if err != nil {
		ss.line("426 Failure writing network stream.")
		return
	}
	ss.reply(rXferDone)
}

func (ss *session) storCmd(ctx context.Context, verb, arg string) {
	name := arg
	if verb == "STOU" {
		var b [4]byte
		_, _ = rand.Read(b[:])
		name = fmt.Sprintf("%s.%x", strings.TrimSpace(arg), b)
		if strings.TrimSpace(arg) == "" {
			name = fmt.Sprintf("ftp%x", b)
		}
	}
	p := ss.abs(name)
	if dir := ss.lookup(path.Dir(p)); name == "" || dir == nil || !dir.dir || dir.denied || ss.lookup(p) != nil && ss.lookup(p).dir {
		ss.reply(rStorBad, arg)
		return
	}
	if ss.pasv == nil && ss.port == nil {
		ss.reply(rNoData)
		return
	}
	if verb == "STOU" {
		ss.line("150 FILE: " + clean(name))
	} else {
		ss.reply(rStorStart, name)
	}
	if err := ss.flush(); err != nil {
		return
	}
	dc, err := ss.openData(ctx)
	if err != nil {
		ss.dataError(err)
		return
	}
	r := io.LimitReader(idleConn{dc}, maxUpload)
	fields := map[string]any{"path": event.Text([]byte(p), 1024), "file_name": event.Text([]byte(path.Base(p)), 256), "command": verb}
	q := ss.srv.env.Quarantine
	if q == nil {
		n, _ := io.Copy(io.Discard, r)
		fields["size"] = n
	} else {
		a, err := q.Put(r)
		if err != nil {
			ss.srv.log.Error("quarantine upload", "err", err)
		}
		fields["sha256"], fields["size"], fields["truncated"] = a.SHA256, a.Size, a.Truncated
		if len(ss.uploads) < maxSessionFiles {
			ss.uploads[p] = a.Size
		}
	}
	dc.Close()
	ss.c.Session.Emit(event.Event{Type: "ftp.file.upload", Fields: fields})
	ss.reply(rXferDone)
}
