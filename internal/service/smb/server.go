package smb

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/service/serve"
)

// Ports: SMB over TCP, and over the NetBIOS session service.
const (
	PortDirect  = 445
	PortNetBIOS = 139
)

// Bounds of what the decky keeps for all its connections.
const (
	maxStoredBytes = 64 << 20 // uploaded content kept to be read back
	maxNodesAdded  = 10000
)

// Server is the SMB service of one decky.
type Server struct {
	env    serve.Env
	log    *slog.Logger
	p      *profile
	users  map[string]string // lowercase user -> password
	shares []*share
	mu     sync.Mutex // guards the share trees and the counters below
	stored int64
	added  int
	// treeIDs numbers the tree's nodes; dropGen and dropped are the
	// operator's dropped files the bait share holds (syncDrops).
	treeIDs *uint64
	dropGen uint64
	dropped map[string]*node
}

var _ serve.Server = (*Server)(nil)

// New builds the SMB service of one decky; it starts nothing.
func New(env serve.Env) (serve.Server, error) {
	cfg := serve.SettingsOf(env, defaults)
	s := &Server{env: env, log: env.Logger(), p: newProfile(env, cfg), users: map[string]string{}}
	for _, u := range cfg.Users {
		name, pw, ok := strings.Cut(u, ":")
		if ok && name != "" {
			s.users[strings.ToLower(name)] = pw
		}
	}
	nextID := new(uint64)
	*nextID = 0x0001000000000100
	s.treeIDs = nextID
	base := baitBase(s.p.id.Boot)
	s.shares = buildShares(s.p, cfg, func(purpose string) *treeBuilder {
		return &treeBuilder{r: env.Identity.Rand(purpose), base: base, nextID: nextID, w: s.p.id}
	})
	placeBait(s.shares, env.Bait, &treeBuilder{r: env.Identity.Rand("smb-bait"), base: base, nextID: nextID, w: s.p.id})
	return s, nil
}

// Serve listens on 445 and 139 until ctx is done.
func (s *Server) Serve(ctx context.Context) error {
	return serve.TCPPorts(ctx, s.env, []uint16{PortDirect, PortNetBIOS}, s.serveConn)
}

// NetBIOS session service packet types (RFC 1002).
const (
	nbMessage         = 0x00
	nbSessionRequest  = 0x81
	nbPositive        = 0x82
	nbNegative        = 0x83
	nbKeepAlive       = 0x85
	nbNotPresent      = 0x82 // negative response: called name not present
	nbUnspecifiedErr  = 0x8F
	maxSessionRequest = 512
)

var errFrame = errors.New("bad frame")

// readFrame reads one session packet. Direct TCP carries a 24-bit
// length, NetBIOS 17 bits; anything longer than the negotiated maximum
// plus room for headers ends the connection. The body grows as bytes
// arrive, so a length alone commits no memory.
func readFrame(r io.Reader, netbios bool, max int) (byte, []byte, error) {
	var h [4]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return 0, nil, err
	}
	n := int(h[1])<<16 | int(h[2])<<8 | int(h[3])
	if netbios {
		n &= 0x1ffff
	}
	if n > max {
		return 0, nil, errFrame
	}
	var b bytes.Buffer
	if _, err := io.CopyN(&b, r, int64(n)); err != nil {
		return 0, nil, err
	}
	return h[0], b.Bytes(), nil
}

func frame(typ byte, body []byte) []byte {
	n := len(body)
	return append([]byte{typ, byte(n >> 16), byte(n >> 8), byte(n)}, body...)
}

func (s *Server) serveConn(ctx context.Context, c *serve.Conn, port uint16) {
	cn := newConn(s, c)
	defer cn.closeAll()
	r := bufio.NewReaderSize(c, 64<<10)
	netbios := port == PortNetBIOS
	established := !netbios
	for ctx.Err() == nil {
		typ, body, err := readFrame(r, netbios, int(s.p.maxSize)+64<<10)
		if err != nil {
			if errors.Is(err, errFrame) {
				cn.protocolError("frame length over the maximum")
			}
			return
		}
		switch typ {
		case nbKeepAlive:
			continue
		case nbSessionRequest:
			if !netbios || established {
				return
			}
			code := s.sessionRequest(body)
			if code != 0 {
				c.Write([]byte{nbNegative, 0, 0, 1, code})
				return
			}
			c.Write([]byte{nbPositive, 0, 0, 0})
			established = true
			continue
		case nbMessage:
		default:
			return
		}
		if !established {
			// Windows wants a session request first and says so;
			// Samba serves SMB on 139 without one.
			if !s.p.samba {
				c.Write([]byte{nbNegative, 0, 0, 1, nbUnspecifiedErr})
				return
			}
			established = true
		}
		out, keep := cn.handle(body)
		for _, m := range out {
			if _, err := c.Write(frame(nbMessage, m)); err != nil {
				return
			}
		}
		if !keep {
			c.SetCloseReason("server")
			if cn.exiting {
				smbdExit(ctx)
			}
			return
		}
	}
}

// smbdExit waits as smbd does between its last answer and the close when
// it exits (exit_server_cleanly tears the connection's state down first):
// what the client sent meanwhile is never read, so the close is a reset.
// Debian 12's Samba 4.17 on loopback reset about half of the SMB1
// SESSION_SETUPs sent at once after its "no dialect" (a Go client: 35 of
// 60), a tenth of those sent 0.1 ms later and almost none after 0.3 ms: a
// close at once half the time, else after an exponential wait of mean
// 0.1 ms, capped at 1 ms. A decky closing at once always gave an end of
// file, which potsnitch's smb_limited_session took for Dionaea's limited
// sessions every time.
func smbdExit(ctx context.Context) {
	if rand.IntN(2) == 0 {
		return
	}
	serve.Sleep(ctx, min(time.Duration(rand.ExpFloat64()*float64(100*time.Microsecond)), time.Millisecond))
}

// sessionRequest answers a NetBIOS session request: 0 to accept, or the
// negative response's error code. Samba accepts any called name; Windows
// only its own, *SMBSERVER or an address.
func (s *Server) sessionRequest(body []byte) byte {
	if len(body) < 34 || len(body) > maxSessionRequest || body[0] != 32 {
		return nbUnspecifiedErr
	}
	if s.p.samba {
		return 0
	}
	called := strings.TrimRight(decodeNetBIOSName(body[1:33]), " \x00")
	if len(called) == 16 {
		called = strings.TrimRight(called[:15], " ")
	}
	if strings.EqualFold(called, "*SMBSERVER") || strings.EqualFold(called, s.p.id.NetBIOSName) {
		return 0
	}
	if _, err := netip.ParseAddr(called); err == nil {
		return 0
	}
	return nbNotPresent
}

// decodeNetBIOSName undoes the first-level encoding (RFC 1001 14.1).
func decodeNetBIOSName(b []byte) string {
	out := make([]byte, 0, 16)
	for i := 0; i+1 < len(b); i += 2 {
		out = append(out, (b[i]-'A')<<4|(b[i+1]-'A')&0x0f)
	}
	if len(out) == 16 {
		return strings.TrimRight(string(out[:15]), " ")
	}
	return string(out)
}

// smb1 answers an SMB1 message: only a NEGOTIATE, and only to move the
// client to SMB2, as a server with SMB1 disabled does.
func (cn *conn) smb1(msg []byte) ([][]byte, bool) {
	if len(msg) < 35 || msg[4] != 0x72 || cn.negotiated {
		return nil, false
	}
	wc := int(msg[32])
	at := 33 + 2*wc
	bc := int(u16(msg, at))
	data := slice(msg, at+2, bc)
	if data == nil {
		data = msg[min(at+2, len(msg)):]
	}
	var dialects []string
	for _, d := range bytes.Split(data, []byte{0}) {
		if len(d) > 1 && d[0] == 2 && len(dialects) < 64 {
			dialects = append(dialects, event.Text(d[1:], 64))
		}
	}
	var chosen uint16
	for _, d := range dialects {
		switch d {
		case "SMB 2.002":
			if chosen == 0 {
				chosen = dialect202
			}
		case "SMB 2.???":
			chosen = dialectWild
		}
	}
	fields := map[string]any{"smb1_dialects": dialects, "dialect": "none"}
	if chosen != 0 {
		fields["dialect"] = dialectName(chosen)
	}
	cn.c.Session.Emit(event.Event{Type: "smb.negotiate.request", Fields: fields})
	if chosen == 0 {
		if !cn.s.p.samba {
			return nil, false
		}
		// Samba with SMB1 off answers "no dialect" (index 0xFFFF) and
		// hangs up, its process exiting.
		cn.exiting = true
		r := []byte{0xff, 'S', 'M', 'B', 0x72, 0, 0, 0, 0, 0x88, 0, 0}
		le.PutUint16(r[10:], 0x4013|u16(msg, 10)&0x8000)
		r = append(r, make([]byte, 12)...)
		r = append(r, msg[24:32]...) // TID, PID, UID, MID echoed
		r = append(r, 1, 0xff, 0xff, 0, 0)
		return [][]byte{r}, false
	}
	if chosen == dialect202 {
		cn.dialect, cn.negotiated = dialect202, true
	}
	resp := cn.negotiateResponse(chosen, 0, nil, 0)
	h := smb2Header(cmdNegotiate, statusSuccess, 0, 1)
	return [][]byte{append(h, resp...)}, true
}

// protocolError records a client's protocol violation.
func (cn *conn) protocolError(what string) {
	cn.c.Session.Emit(event.Event{Type: "smb.protocol.error", Fields: map[string]any{"error": what}})
}
