package vnc

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/service/serve"
)

// Security types and the VeNCrypt subtypes TigerVNC offers.
const (
	secNone       = 1
	secVncAuth    = 2
	secVeNCrypt   = 19
	subTLSVnc     = 258
	authFailure   = "Authentication failure"
	lockedMessage = "Too many security failures"
)

// Server is the VNC emulation of one decky.
type Server struct {
	env      serve.Env
	log      *slog.Logger
	minor    int // 3, 7 or 8: the RFB 3.x version offered
	auth     string
	key      []byte // DES key of the accepted password; nil accepts none
	desktop  string
	screen   screen
	black    *blacklist
	now      func() time.Time
	maxInput int
}

var _ serve.Server = (*Server)(nil)

// New builds the VNC service of one decky; it starts nothing.
func New(env serve.Env) (serve.Server, error) {
	cfg := serve.SettingsOf(env, defaults)
	s := &Server{env: env, log: env.Logger(), auth: cfg.Auth, now: time.Now, maxInput: 1 << 20}
	switch cfg.Version {
	case "3.3":
		s.minor = 3
	case "3.7":
		s.minor = 7
	case "", "3.8":
		s.minor = 8
	default:
		return nil, fmt.Errorf("vnc: version %q: want 3.3, 3.7 or 3.8", cfg.Version)
	}
	if s.auth == "" {
		s.auth = "vnc"
	}
	if cfg.Password != "" {
		s.key = desKey(cfg.Password)
	}
	w, h, err := parseGeometry(cmpOr(cfg.Geometry, "1024x768"))
	if err != nil {
		return nil, err
	}
	s.screen = lockScreen(w, h)
	s.desktop = cfg.Desktop
	if s.desktop == "" {
		s.desktop = env.Persona.Hostname + ":0 (root)"
	}
	s.black = newBlacklist(cfg.Blacklist, 10*time.Second)
	return s, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func parseGeometry(g string) (int, int, error) {
	ws, hs, ok := strings.Cut(g, "x")
	w, err1 := strconv.Atoi(ws)
	h, err2 := strconv.Atoi(hs)
	if !ok || err1 != nil || err2 != nil || w < 64 || h < 64 || w > 8192 || h > 8192 {
		return 0, 0, fmt.Errorf("vnc: geometry %q: want WIDTHxHEIGHT between 64x64 and 8192x8192", g)
	}
	return w, h, nil
}

// Serve implements serve.Server.
func (s *Server) Serve(ctx context.Context) error {
	return serve.TCP(ctx, s.env, Port, s.handle)
}

func (s *Server) emit(c *serve.Conn, typ string, fields map[string]any) {
	c.Session.Emit(event.Event{Type: "vnc." + typ, Fields: fields})
}

// shutdown ends a connection as TigerVNC ends a blacklisted one: shutdown()
// sends the FIN at once and the socket is closed later, so a client whose
// first bytes are still unread sees the end of the stream, not the reset
// an immediate close with unread data gives. What the client sends
// meanwhile is read and dropped, for a second at most.
func shutdown(c *serve.Conn) {
	cw, ok := c.Conn.(interface{ CloseWrite() error })
	if !ok || cw.CloseWrite() != nil {
		return
	}
	c.SetReadDeadline(time.Now().Add(time.Second))
	io.Copy(io.Discard, io.LimitReader(c, 64<<10))
}

func (s *Server) handle(ctx context.Context, c *serve.Conn) {
	src := c.Session.Source().IP
	if s.black.locked(src, s.now()) {
		// TigerVNC greets a blacklisted address as an RFB 3.3 server
		// and fails the connection at once.
		io.WriteString(c, "RFB 003.003\n")
		writeReason(c, []byte{0, 0, 0, 0}, lockedMessage)
		shutdown(c)
		return
	}
	// Xvnc counts every connection that ends before authenticating as a
	// security failure of its address.
	authed := false
	defer func() {
		if !authed {
			s.fail(c, src)
		}
	}()
	fmt.Fprintf(c, "RFB 003.%03d\n", s.minor)
	var cv [12]byte
	if _, err := io.ReadFull(c, cv[:]); err != nil {
		return
	}
	major, minor, ok := parseVersion(cv[:])
	fields := map[string]any{"client_version": event.Text(cv[:], 12), "negotiated": ""}
	if !ok {
		s.emit(c, "client.version", fields)
		return // Xvnc drops a client that does not speak RFB
	}
	if major != 3 {
		s.emit(c, "client.version", fields)
		s.refuse(c, fmt.Sprintf("Client needs protocol version %d.%d, server has 3.%d", major, minor, s.minor))
		return
	}
	// RFB 3.4 to 3.6 are spoken as 3.3, and anything past 3.8 as 3.8.
	switch {
	case minor >= 8:
		minor = 8
	case minor < 7:
		minor = 3
	}
	minor = min(minor, s.minor)
	fields["negotiated"] = fmt.Sprintf("3.%d", minor)
	s.emit(c, "client.version", fields)
	if !s.security(c, src, minor) {
		return
	}
	authed = true
	s.serveDesktop(ctx, c)
}

// refuse fails the connection before security, in the offered version's
// format: RFB 3.3 sends a zero security type, later versions zero types.
func (s *Server) refuse(c io.Writer, reason string) {
	if s.minor == 3 {
		writeReason(c, []byte{0, 0, 0, 0}, reason)
		return
	}
	writeReason(c, []byte{0}, reason)
}

func writeReason(w io.Writer, head []byte, reason string) {
	b := append(head, 0, 0, 0, 0)
	binary.BigEndian.PutUint32(b[len(b)-4:], uint32(len(reason)))
	w.Write(append(b, reason...))
}

func parseVersion(b []byte) (int, int, bool) {
	if len(b) != 12 || string(b[:4]) != "RFB " || b[7] != '.' || b[11] != '\n' {
		return 0, 0, false
	}
	major, err1 := strconv.Atoi(string(b[4:7]))
	minor, err2 := strconv.Atoi(string(b[8:11]))
	if err1 != nil || err2 != nil || major < 0 || minor < 0 {
		return 0, 0, false
	}
	return major, minor, true
}

// security runs the security handshake and says whether the client may
// go on to the desktop.
func (s *Server) security(c *serve.Conn, src string, minor int) bool {
	if minor == 3 {
		// RFB 3.3: the server decides.
		if s.auth == "none" {
			c.Write([]byte{0, 0, 0, secNone})
			return true
		}
		return s.vncAuth(c, minor, "vnc_auth", []byte{0, 0, 0, secVncAuth})
	}
	offered := []byte{secVeNCrypt, secVncAuth}
	if s.auth == "none" {
		offered = []byte{secNone}
	}
	c.Write(append([]byte{byte(len(offered))}, offered...))
	var choice [1]byte
	if _, err := io.ReadFull(c, choice[:]); err != nil {
		return false
	}
	isOffered := strings.IndexByte(string(offered), choice[0]) >= 0
	fields := map[string]any{"type": int(choice[0]), "name": secName(int(choice[0])), "offered": isOffered}
	if !isOffered || choice[0] != secVeNCrypt {
		s.emit(c, "security.choice", fields)
	}
	switch {
	case !isOffered:
		return false // Xvnc closes without a word
	case choice[0] == secNone:
		if minor == 8 {
			c.Write([]byte{0, 0, 0, 0})
		}
		return true
	case choice[0] == secVncAuth:
		return s.vncAuth(c, minor, "vnc_auth", nil)
	default:
		return s.veNCrypt(c, src, minor, fields)
	}
}

func secName(t int) string {
	switch t {
	case secNone:
		return "None"
	case secVncAuth:
		return "VNC Authentication"
	case secVeNCrypt:
		return "VeNCrypt"
	case 5:
		return "RA2"
	case 16:
		return "Tight"
	case 18:
		return "TLS"
	case 30:
		return "Apple Remote Desktop"
	}
	return "unknown"
}

// veNCrypt runs VeNCrypt 0.2 and its subtype. TLS subtypes use anonymous
// Diffie-Hellman, which this server does not speak: the client's choice is
// recorded and the connection ends where its TLS handshake would begin.
func (s *Server) veNCrypt(c *serve.Conn, src string, minor int, fields map[string]any) bool {
	c.Write([]byte{0, 2})
	var v [2]byte
	if _, err := io.ReadFull(c, v[:]); err != nil {
		return false
	}
	if v != [2]byte{0, 2} {
		fields["subtype"] = -1
		s.emit(c, "security.choice", fields)
		s.result(c, minor, authFailure+": The client returned an unsupported VeNCrypt version", 0xff)
		return false
	}
	c.Write([]byte{0, 2, 0, 0, subTLSVnc >> 8, subTLSVnc & 0xff, 0, 0, 0, secVncAuth})
	var sub [4]byte
	if _, err := io.ReadFull(c, sub[:]); err != nil {
		return false
	}
	subtype := binary.BigEndian.Uint32(sub[:])
	fields["subtype"] = int(subtype)
	s.emit(c, "security.choice", fields)
	switch subtype {
	case secVncAuth:
		return s.vncAuth(c, minor, "vencrypt_vnc_auth", nil)
	case subTLSVnc:
		c.Write([]byte{1})
		io.CopyN(io.Discard, c, 16<<10) // its ClientHello, until it gives up
	}
	return false
}

// vncAuth sends a fresh challenge, captures the DES response and answers
// as Xvnc does; head goes out with the challenge, in one segment as Xvnc
// sends it.
func (s *Server) vncAuth(c *serve.Conn, minor int, security string, head []byte) bool {
	challenge := make([]byte, 16)
	rand.Read(challenge)
	c.Write(append(head, challenge...))
	response := make([]byte, 16)
	if _, err := io.ReadFull(c, response); err != nil {
		return false
	}
	ok := s.key != nil && vncResponse(s.key, challenge) == [16]byte(response)
	cred := event.NewCredential("vnc_des", "vnc_auth", "", response, false)
	cred.Challenge = hex.EncodeToString(challenge)
	cred.CrackFormat = "john"
	cred.CrackLine = "$vnc$*" + strings.ToUpper(hex.EncodeToString(challenge)) + "*" + strings.ToUpper(hex.EncodeToString(response))
	fields := map[string]any{"security": security}
	if guess, found := guessPassword(challenge, response); found {
		fields["password_guess"] = guess
	}
	typ := "vnc.login.failed"
	if ok {
		typ = "vnc.login.success"
	}
	c.Session.Emit(event.Event{Type: typ, Credential: cred, Fields: fields})
	if ok {
		c.Write([]byte{0, 0, 0, 0})
		s.black.clear(c.Session.Source().IP)
		return true
	}
	s.result(c, minor, authFailure)
	return false
}

// result sends a failed SecurityResult after head; RFB 3.8 adds the
// reason.
func (s *Server) result(c io.Writer, minor int, reason string, head ...byte) {
	head = append(head, 0, 0, 0, 1)
	if minor < 8 {
		c.Write(head)
		return
	}
	writeReason(c, head, reason)
}

func (s *Server) fail(c *serve.Conn, src string) {
	if failures, timeout, locked := s.black.mark(src, s.now()); locked {
		s.emit(c, "source.locked", map[string]any{"failures": failures, "timeout_s": int(timeout / time.Second)})
	}
}
