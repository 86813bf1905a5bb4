package mysql

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/service/serve"
)

// Port is the port MySQL listens on.
const Port = 3306

// connectTimeout is the server's connect_timeout: a client that has not
// finished the handshake by then is dropped.
const connectTimeout = 10 * time.Second

// flavor is one server build a persona can run.
type flavor struct {
	version string // as sent in the greeting
	mariadb bool
	charset byte
}

// flavors maps a distro slug to the MySQL or MariaDB its repositories ship.
var flavors = map[string]flavor{
	"debian":   {"5.5.5-10.11.6-MariaDB-0+deb12u1", true, 45},
	"ubuntu22": {"8.0.39-0ubuntu0.22.04.1", false, 255},
	"ubuntu20": {"8.0.39-0ubuntu0.20.04.1", false, 255},
	"rocky9":   {"8.0.36", false, 255},
	"centos7":  {"5.5.68-MariaDB", true, 8},
	"alpine":   {"5.5.5-10.11.6-MariaDB", true, 45},
	"fedora":   {"8.0.39", false, 255},
	"kali":     {"5.5.5-10.11.8-MariaDB-1", true, 45},
	"arch":     {"5.5.5-11.4.2-MariaDB", true, 45},
}

// Server is the MySQL emulation of one decky.
type Server struct {
	env    serve.Env
	log    *slog.Logger
	flavor flavor
	connID atomic.Uint32
}

var _ serve.Server = (*Server)(nil)

// New builds the MySQL service of one decky; it starts nothing.
func New(env serve.Env) (serve.Server, error) {
	log := env.Logger()
	f, ok := flavors[env.Persona.Distro.Slug]
	if !ok {
		f = flavors["debian"]
	}
	if v := serve.SettingsOf(env, defaults).Version; strings.TrimSpace(v) != "" {
		v = strings.TrimSpace(v)
		f = flavor{version: v, mariadb: strings.Contains(strings.ToLower(v), "mariadb"), charset: 255}
		if f.mariadb {
			f.charset = 45
			if !strings.HasPrefix(v, "5.") {
				f.version = "5.5.5-" + v
			}
		}
	}
	s := &Server{env: env, log: log, flavor: f}
	r := env.Identity.Rand("mysql-connection-id")
	s.connID.Store(uint32(8 + r.IntN(2000)))
	return s, nil
}

// Serve implements serve.Server.
func (s *Server) Serve(ctx context.Context) error {
	return serve.TCP(ctx, s.env, Port, s.handle)
}

// salt returns n random printable bytes (33..126), as MariaDB's
// create_random_string and MySQL's generate_user_salt produce: never NUL.
func salt(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = 33 + b[i]%94
	}
	return b
}

func (s *Server) serverCaps() (uint32, uint32) {
	if s.flavor.mariadb {
		if strings.HasPrefix(s.flavor.version, "5.5.5-") {
			// MariaDB 10+: CLIENT_MYSQL (bit 0) is clear to announce the
			// MariaDB extended capabilities in the reserved bytes.
			return 0x81bff7fe, 0x1d
		}
		return 0xa03ff7ff, 0 // MariaDB 5.5
	}
	return 0xdffff7ff, 0
}

func (s *Server) greeting(id uint32, scramble []byte) []byte {
	caps, ext := s.serverCaps()
	plugin := "mysql_native_password"
	if !s.flavor.mariadb && strings.HasPrefix(s.flavor.version, "8.") {
		plugin = "caching_sha2_password"
	}
	b := []byte{10}
	b = append(b, s.flavor.version...)
	b = append(b, 0)
	b = binary.LittleEndian.AppendUint32(b, id)
	b = append(b, scramble[:8]...)
	b = append(b, 0)
	b = binary.LittleEndian.AppendUint16(b, uint16(caps))
	b = append(b, s.flavor.charset)
	b = binary.LittleEndian.AppendUint16(b, 0x0002) // SERVER_STATUS_AUTOCOMMIT
	b = binary.LittleEndian.AppendUint16(b, uint16(caps>>16))
	b = append(b, 21)
	if s.flavor.mariadb {
		b = append(b, make([]byte, 6)...)
		b = binary.LittleEndian.AppendUint32(b, ext)
	} else {
		b = append(b, make([]byte, 10)...)
	}
	b = append(b, scramble[8:]...)
	b = append(b, 0)
	b = append(b, plugin...)
	return append(b, 0)
}

func (s *Server) handle(ctx context.Context, c *serve.Conn) {
	// connect_timeout: the whole pre-auth exchange must finish in time.
	timer := time.AfterFunc(connectTimeout, func() {
		c.SetCloseReason("timeout")
		c.Close()
	})
	defer timer.Stop()

	id := s.connID.Add(1 + uint32(randByte()%3))
	scramble := salt(20)
	if err := writePacket(c, 0, s.greeting(id, scramble)); err != nil {
		return
	}
	br := bufio.NewReaderSize(c, 4096)
	p, seq, err := readPacket(br, maxHandshake)
	if err != nil {
		if errors.Is(err, errPacketTooLarge) {
			s.badHandshake(c, seq+1, "packet too large")
		}
		return
	}
	h, err := parseHandshakeResponse(p)
	if err != nil {
		s.badHandshake(c, seq+1, err.Error())
		return
	}
	src := c.Session.Source()
	hello := map[string]any{
		"capabilities": fmt.Sprintf("0x%08x", h.caps), "capability_flags": capList(h.caps),
		"max_packet": h.maxPacket, "charset": int(h.charset), "tls_requested": h.sslRequest,
		"server_version": s.flavor.version, "connection_id": id,
	}
	if !h.sslRequest {
		hello["user"] = event.Text(h.user, 256)
		hello["auth_plugin"] = event.Text([]byte(h.plugin), 64)
		if h.db != nil {
			hello["database"] = event.Text(h.db, 256)
		}
	}
	if len(h.attrs) > 0 {
		attrs := map[string]any{}
		for _, kv := range h.attrs {
			attrs[event.Text([]byte(kv[0]), 128)] = event.Text([]byte(kv[1]), maxAttrLen)
		}
		hello["attributes"] = attrs
		for _, k := range []string{"_client_name", "_client_version", "_os", "_platform", "program_name"} {
			if v, ok := attrs[k]; ok {
				hello[strings.TrimPrefix(k, "_")] = v
			}
		}
	}
	c.Session.Emit(event.Event{Type: "mysql.client.hello", Fields: hello})
	if h.sslRequest {
		// CLIENT_SSL was not offered: a server without TLS reads the
		// 32-byte request as a truncated login and rejects it.
		s.badHandshake(c, seq+1, "ssl request to a server without tls")
		return
	}

	auth, salt20, plugin := h.auth, scramble, h.plugin
	if plugin == "" && h.caps&clientSecureConnection != 0 {
		plugin = "mysql_native_password"
	}
	if plugin != "mysql_native_password" && h.caps&clientPluginAuth != 0 {
		// AuthSwitchRequest to mysql_native_password with a fresh scramble,
		// as for an account created WITH mysql_native_password.
		salt20 = salt(20)
		sw := append([]byte{0xfe}, "mysql_native_password\x00"...)
		sw = append(append(sw, salt20...), 0)
		seq++
		if err := writePacket(c, seq, sw); err != nil {
			return
		}
		p, rseq, err := readPacket(br, maxHandshake)
		if err != nil {
			if errors.Is(err, errPacketTooLarge) {
				s.badHandshake(c, rseq+1, "packet too large")
			}
			return
		}
		seq = rseq
		auth = p
		plugin = "mysql_native_password"
	}
	s.loginFailed(c, h, auth, salt20, plugin, src.IP)
	usingPw := "NO"
	if len(auth) > 0 {
		usingPw = "YES"
	}
	msg := fmt.Sprintf("Access denied for user '%s'@'%s' (using password: %s)", h.user, src.IP, usingPw)
	_ = writePacket(c, seq+1, errPacket(1045, "28000", msg))
}

func (s *Server) loginFailed(c *serve.Conn, h *handshakeResponse, auth, salt20 []byte, plugin, ip string) {
	user := event.Text(h.user, 256)
	kind := "mysql_native"
	if plugin != "mysql_native_password" {
		kind = "mysql_" + strings.ReplaceAll(event.Text([]byte(plugin), 64), "_password", "")
	}
	cred := event.NewCredential(kind, plugin, user, auth, false)
	cred.Challenge = hex.EncodeToString(salt20)
	if kind == "mysql_native" && len(auth) == 20 {
		cred.CrackFormat = "hashcat"
		cred.CrackMode = 11200
		cred.CrackLine = "$mysqlna$" + hex.EncodeToString(salt20) + "*" + hex.EncodeToString(auth)
	}
	f := map[string]any{"user": user, "auth_plugin": event.Text([]byte(plugin), 64), "using_password": len(auth) > 0,
		"error_code": 1045, "client_ip": ip}
	if h.db != nil {
		f["database"] = event.Text(h.db, 256)
	}
	c.Session.Emit(event.Event{Type: "mysql.login.failed", Outcome: "failure", Credential: cred, Fields: f})
}

func (s *Server) badHandshake(c *serve.Conn, seq byte, why string) {
	c.Session.Emit(event.Event{Type: "mysql.protocol.error", Fields: map[string]any{"error": why}})
	_ = writePacket(c, seq, errPacket(1043, "08S01", "Bad handshake"))
	c.SetCloseReason("error")
}

func randByte() byte {
	var b [1]byte
	_, _ = rand.Read(b[:])
	return b[0]
}
