package ssh

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"

	xssh "github.com/decnet/decnet/internal/service/ssh/internal/transport"

	"github.com/decnet/decnet/internal/bait"
	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/service/authpolicy"
	"github.com/decnet/decnet/internal/service/serve"
	"github.com/decnet/decnet/internal/shell"
)

// Port is the SSH service's port.
const Port = 22

// pamFailDelay is the delay pam_unix asks for after a wrong password;
// Linux-PAM jitters each one around it.
const pamFailDelay = 2 * time.Second

// pamDelay is Linux-PAM's randomised fail delay around base (pam_delay.c,
// _pam_compute_delay): base × (1 + m − ½), m the mean of three uniform
// draws, so between half and one and a half times base, bell-shaped, with
// a standard deviation of base/6.
func pamDelay(base time.Duration, uniform func() float64) time.Duration {
	m := (uniform() + uniform() + uniform()) / 3
	return time.Duration(float64(base) * (0.5 + m))
}

// minimumFailTime is when OpenSSH (7.8 and later, auth2.c's
// ensure_minimum_time_since) answers a failed authentication that took
// elapsed: at a per-user floor of 5-9.3 ms doubled until it exceeds
// elapsed. After PAM's 1-3 s that quantises the reply to two or three
// values per user name (about 2.1 and 4.2 s for one user), which is why
// the real sshd's delay is bimodal and averages more than PAM's 2 s.
func minimumFailTime(elapsed, floor time.Duration) time.Duration {
	if floor <= 0 {
		return elapsed
	}
	t := floor
	for t < elapsed {
		t *= 2
	}
	return t
}

// userFloor is OpenSSH's user_specific_delay: 5 ms plus 0-4.29 ms taken
// from SHA-512 of the server's timing secret (derived from its host keys)
// followed by the user name, so one name always gets the same floor.
func userFloor(secret uint64, user string) time.Duration {
	h := sha512.Sum512([]byte(strconv.FormatUint(secret, 10) + user))
	return 5*time.Millisecond + time.Duration(binary.BigEndian.Uint32(h[:4]))/1000
}

// dropbearDelay is Dropbear's failed-authentication delay: 250 ms plus up
// to 100 ms at random (svr-auth.c), with no PAM behind it.
func dropbearDelay(uniform func() float64) time.Duration {
	return 250*time.Millisecond + time.Duration(uniform()*float64(100*time.Millisecond))
}

// execDelay is how long sshd takes from accepting a connection to its
// banner: it forks and re-executes itself for every connection. Debian
// 12's sshd on this machine answered after 7.5-17 ms (mean 9.8, standard
// deviation 2.0, skewed towards the slow end); a process that answers in a
// tenth of a millisecond every time is what potsnitch's uniform_timing
// looks for. A floor and an exponential tail give that shape.
func execDelay(uniform func() float64) time.Duration {
	return serve.ProcessStart(7300*time.Microsecond, 2500*time.Microsecond, 1, 40*time.Millisecond, uniform)
}

// Server is the SSH service of one decky.
type Server struct {
	env     serve.Env
	prof    profile
	version string
	keys    *hostKeys
	signers []xssh.Signer
	machine shell.Machine
	motd    string
	policy  *authpolicy.Policy

	// delay returns the wait before a failed password reply, greet the
	// wait before the banner; tests may shorten them.
	delay func(user string) time.Duration
	greet func() time.Duration

	startups *startups
}

// startups is sshd's MaxStartups 10:30:100 (Debian's default): of the
// connections that have not finished authenticating, the first 10 are
// served, each further one is dropped before the banner with a
// probability rising from 30% to 100% at 100.
type startups struct {
	begin, rate, full int // sshd's max_startups_begin, _rate, max_startups

	mu sync.Mutex
	n  int
}

// parseMaxStartups reads sshd_config's "start:rate:full" or "count".
func parseMaxStartups(v string) (*startups, error) {
	st := &startups{}
	if n, err := fmt.Sscanf(v, "%d:%d:%d", &st.begin, &st.rate, &st.full); err == nil && n == 3 {
		if st.begin <= 0 || st.rate <= 0 || st.rate > 100 || st.full < st.begin {
			return nil, fmt.Errorf("max_startups %q: want start:rate:full with 0 < rate <= 100 and start <= full", v)
		}
		return st, nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n <= 0 {
		return nil, fmt.Errorf("max_startups %q: want start:rate:full or a count", v)
	}
	return &startups{begin: n, rate: 100, full: n}, nil
}

// admit counts a new connection in, or reports that sshd would drop it
// (sshd's should_drop_connection).
func (st *startups) admit() bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.n >= st.begin {
		if st.n >= st.full || st.rate == 100 {
			return false
		}
		p := (100-st.rate)*(st.n-st.begin)/(st.full-st.begin) + st.rate
		if rand.IntN(100) < p {
			return false
		}
	}
	st.n++
	return true
}

func (st *startups) done() {
	st.mu.Lock()
	st.n--
	st.mu.Unlock()
}

var _ serve.Server = (*Server)(nil)

// New builds the SSH service for one decky: it derives the host keys and
// reads the configuration; it starts nothing.
func New(env serve.Env) (serve.Server, error) {
	if env.Log == nil {
		env.Log = nopLogger()
	}
	cfg := serve.SettingsOf(env, defaults)
	s := &Server{env: env, policy: authpolicy.New(cfg.Logins)}
	s.version = env.Persona.Distro.SSHVersion
	if b := strings.TrimSpace(cfg.Banner); b != "" {
		s.version = strings.TrimPrefix(b, "SSH-2.0-")
	}
	if s.version == "" {
		s.version = "OpenSSH_9.2p1 Debian-2+deb12u7"
	}
	s.prof = profileFor(s.version, env.Persona.Distro.OSReleaseID)
	var err error
	if s.startups, err = parseMaxStartups(cfg.MaxStartups); err != nil {
		return nil, fmt.Errorf("service/ssh: %w", err)
	}
	keys, err := deriveHostKeys(env.Identity)
	if err != nil {
		return nil, fmt.Errorf("service/ssh: %w", err)
	}
	s.keys = keys
	if s.signers, err = keys.signers(s.prof); err != nil {
		return nil, fmt.Errorf("service/ssh: host keys: %w", err)
	}
	s.machine = cfg.Machine(env.Persona.Distro, env.Persona.Hostname, env.Identity, "")
	s.machine.Bait = env.Bait
	s.machine.Drops = func() (uint64, []bait.File) { return env.Live.Files(bait.Shell) }
	s.motd = cfg.Motd
	if b, ok := strings.CutPrefix(s.motd, "b64:"); ok {
		if dec, err := base64.StdEncoding.DecodeString(b); err == nil {
			s.motd = string(dec)
		}
	}
	s.delay = s.failDelay(binary.BigEndian.Uint64(env.Identity.Bytes("ssh-timing-secret", 8)))
	s.greet = func() time.Duration { return execDelay(rand.Float64) }
	return s, nil
}

// failDelay returns how long the claimed product takes to refuse a wrong
// password for a user: Dropbear's fixed window, or PAM's randomised delay
// under OpenSSH's per-user minimum time (OpenSSH before 7.8 answers when
// PAM returns).
func (s *Server) failDelay(secret uint64) func(user string) time.Duration {
	switch {
	case s.prof.Product == "dropbear":
		return func(string) time.Duration { return dropbearDelay(rand.Float64) }
	case s.prof.Major > 7 || s.prof.Major == 7 && s.prof.Minor >= 8:
		return func(user string) time.Duration {
			return minimumFailTime(pamDelay(pamFailDelay, rand.Float64), userFloor(secret, user))
		}
	}
	return func(string) time.Duration { return pamDelay(pamFailDelay, rand.Float64) }
}

// warming lets one RSA host key derivation run in the background at a
// time in a process, so a host starting many deckies keeps a core for
// them.
var warming = make(chan struct{}, 1)

// Serve listens on port 22 of every decky address until ctx is done; the
// RSA host key is derived meanwhile, so a client that picks it does not
// wait.
func (s *Server) Serve(ctx context.Context) error {
	go func() {
		select {
		case warming <- struct{}{}:
			defer func() { <-warming }()
		case <-ctx.Done():
			return
		}
		if _, err := s.keys.rsa(); err != nil {
			s.env.Log.Error("derive the rsa host key", "err", err)
		}
	}()
	return serve.TCP(ctx, s.env, Port, s.handle)
}

// conn is one SSH connection's state.
type conn struct {
	srv     *Server
	ctx     context.Context
	sess    *event.Session
	src     string
	srcPort int
	attempt int
	sc      *xssh.ServerConn
	user    string

	mu     sync.Mutex
	fs     *shell.FS // shared by the connection's channels
	nextCh int
	wg     sync.WaitGroup
}

func (s *Server) handle(ctx context.Context, c *serve.Conn) {
	if !s.startups.admit() {
		// Past MaxStartups: sshd closes before its banner.
		c.SetCloseReason("server")
		return
	}
	// sshd's fork and re-exec before its banner.
	wait := time.NewTimer(s.greet())
	select {
	case <-wait.C:
	case <-ctx.Done():
		wait.Stop()
		return
	}
	src := c.Session.Source()
	cn := &conn{srv: s, ctx: ctx, sess: c.Session, src: src.IP, srcPort: src.Port}
	t := &tap{Conn: c,
		onVersion: func(v string) {
			cn.sess.Emit(event.Event{Type: "ssh.client.version", Fields: map[string]any{
				"client_version": event.Text([]byte(v), 255)}})
		},
		onKex: func(k *KexInit, err error) {
			if err != nil {
				cn.sess.Emit(event.Event{Type: "ssh.protocol.error", Fields: map[string]any{"error": "malformed client kexinit"}})
				return
			}
			cn.sess.Emit(event.Event{Type: "ssh.client.kex", Fields: map[string]any{
				"hassh": k.HASSH(), "hassh_algorithms": event.Text([]byte(k.HASSHAlgorithms()), event.MaxField),
				"kex_algs": textList(k.Kex), "host_key_algs": textList(k.HostKey), "enc_cs": textList(k.EncCS),
				"mac_cs": textList(k.MacCS), "comp_cs": textList(k.CompCS), "lang_cs": textList(k.LangCS),
			}})
		},
	}
	cfg := s.serverConfig(cn)
	sc, chans, reqs, err := xssh.NewServerConn(t, cfg)
	s.startups.done() // authenticated, refused or gone: no longer a startup
	if err != nil {
		var de *xssh.ServerAuthError
		var ie *xssh.IdentError
		switch {
		case errors.As(err, &de):
			c.SetCloseReason("client")
		case errors.As(err, &ie):
			// Refused as sshd refuses it: the reply is sent, close.
			cn.sess.Emit(event.Event{Type: "ssh.protocol.error", Fields: map[string]any{"error": ie.Reply}})
		}
		return
	}
	cn.sc = sc
	cn.user = sc.User()
	defer sc.Close()
	cn.wg.Add(1)
	go func() {
		defer cn.wg.Done()
		cn.globalRequests(reqs)
	}()
	for nc := range chans {
		cn.newChannel(nc)
	}
	cn.wg.Wait()
}

func textList(l []string) []string {
	out := make([]string, 0, len(l))
	for i, a := range l {
		if i >= 64 {
			break
		}
		out = append(out, event.Text([]byte(a), 256))
	}
	return out
}

func (s *Server) serverConfig(cn *conn) *xssh.ServerConfig {
	cfg := &xssh.ServerConfig{
		Config: xssh.Config{
			KeyExchanges:      s.prof.Kex(),
			Ciphers:           s.prof.Ciphers(),
			MACs:              s.prof.MACs(),
			ServerExtInfo:     s.prof.extInfo(),
			ServerCompression: s.prof.Compression(),
		},
		ServerVersion: "SSH-2.0-" + s.version,
		MaxAuthTries:  6,
		PasswordCallback: func(md xssh.ConnMetadata, pw []byte) (*xssh.Permissions, error) {
			return cn.password(md, pw, "password")
		},
		PublicKeyCallback: func(md xssh.ConnMetadata, key xssh.PublicKey) (*xssh.Permissions, error) {
			cn.attempt++
			blob := key.Marshal()
			cred := event.NewCredential("ssh_pubkey", "publickey", md.User(), blob, false)
			cred.Material = map[string]any{"fingerprint": xssh.FingerprintSHA256(key), "key_type": key.Type()}
			cn.sess.Emit(event.Event{Type: "ssh.login.failed", Outcome: "failure", Credential: cred, Fields: map[string]any{
				"method": "publickey", "user": event.Text([]byte(md.User()), event.MaxField), "attempt": cn.attempt}})
			return nil, errors.New("publickey rejected")
		},
	}
	if s.prof.KbdInteractive {
		cfg.KeyboardInteractiveCallback = func(md xssh.ConnMetadata, ch xssh.KeyboardInteractiveChallenge) (*xssh.Permissions, error) {
			ans, err := ch("", "", []string{"Password: "}, []bool{false})
			if err != nil {
				return nil, err
			}
			if len(ans) != 1 {
				return nil, errors.New("keyboard-interactive: bad answer count")
			}
			return cn.password(md, []byte(ans[0]), "keyboard-interactive")
		}
	}
	for _, k := range s.signers {
		cfg.AddHostKey(k)
	}
	return cfg
}

// password records one password attempt and answers it under the accept
// policy, after OpenSSH's delay when it fails.
func (cn *conn) password(md xssh.ConnMetadata, pw []byte, method string) (*xssh.Permissions, error) {
	cn.attempt++
	ok := cn.srv.policy.Accept(cn.src, md.User(), pw)
	typ, outcome := "ssh.login.failed", "failure"
	if ok {
		typ, outcome = "ssh.login.success", "success"
	}
	cn.sess.Emit(event.Event{Type: typ, Outcome: outcome,
		Credential: event.NewCredential("plaintext", method, md.User(), pw, true),
		Fields: map[string]any{"method": method, "user": event.Text([]byte(md.User()), event.MaxField), "attempt": cn.attempt,
			"client_version": event.Text(md.ClientVersion(), 255)}})
	if ok {
		return &xssh.Permissions{}, nil
	}
	serve.Sleep(cn.ctx, cn.srv.delay(md.User()))
	return nil, errors.New("password rejected")
}

// globalRequests answers connection-level requests: port forwarding is
// recorded and refused.
func (cn *conn) globalRequests(reqs <-chan *xssh.Request) {
	for r := range reqs {
		switch r.Type {
		case "tcpip-forward", "cancel-tcpip-forward":
			var p struct {
				Addr string
				Port uint32
			}
			f := map[string]any{"kind": r.Type, "decision": "denied"}
			if xssh.Unmarshal(r.Payload, &p) == nil {
				f["host"] = event.Text([]byte(p.Addr), 255)
				f["port"] = p.Port
			}
			cn.sess.Emit(event.Event{Type: "ssh.forward.request", Outcome: "failure", Fields: f})
		}
		if r.WantReply {
			_ = r.Reply(false, nil)
		}
	}
}

func (cn *conn) newChannel(nc xssh.NewChannel) {
	switch nc.ChannelType() {
	case "session":
		ch, reqs, err := nc.Accept()
		if err != nil {
			return
		}
		cn.mu.Lock()
		id := cn.nextCh
		cn.nextCh++
		cn.mu.Unlock()
		cn.wg.Add(1)
		go func() {
			defer cn.wg.Done()
			defer func() {
				if r := recover(); r != nil {
					cn.srv.env.Log.Error("channel panic", "err", r)
					cn.sess.Emit(event.Event{Type: "ssh.protocol.error", Fields: map[string]any{"error": "internal error"}})
					ch.Close()
				}
			}()
			newSession(cn, id, ch, reqs).serve()
		}()
	case "direct-tcpip":
		var p struct {
			Host     string
			Port     uint32
			OrigHost string
			OrigPort uint32
		}
		f := map[string]any{"kind": "direct-tcpip", "decision": "denied"}
		if xssh.Unmarshal(nc.ExtraData(), &p) == nil {
			f["host"] = event.Text([]byte(p.Host), 255)
			f["port"] = p.Port
			f["originator_host"] = event.Text([]byte(p.OrigHost), 255)
			f["originator_port"] = p.OrigPort
		}
		cn.sess.Emit(event.Event{Type: "ssh.forward.request", Outcome: "failure", Fields: f})
		_ = nc.Reject(xssh.ConnectionFailed, "Connection refused")
	default:
		_ = nc.Reject(xssh.UnknownChannelType, "unknown channel type")
	}
}

// shell returns a new shell for a channel, sharing the connection's file
// system with its other channels.
func (cn *conn) shell() *shell.Shell {
	m := cn.srv.machine
	sh := shell.New(m, cn.user)
	cn.mu.Lock()
	if cn.fs == nil {
		cn.fs = sh.FS
	} else {
		sh.FS = cn.fs
	}
	cn.mu.Unlock()
	sh.SyncDrops() // sftp and scp serve the tree without a command line
	sh.Env["SSH_CLIENT"] = fmt.Sprintf("%s %d 22", cn.src, cn.srcPort)
	sh.Env["__from"] = cn.src
	sh.Env["__fromport"] = fmt.Sprint(cn.srcPort)
	sh.OnFetch = func(f shell.Fetch) {
		cn.sess.Emit(event.Event{Type: "ssh.file.fetch", Fields: map[string]any{
			"url": event.Text([]byte(f.URL), event.MaxField), "tool": f.Tool, "fetched": false}})
	}
	return sh
}

func sha256hex(b []byte) string {
	h := sha256.Sum256(b)
	return fmt.Sprintf("%x", h[:])
}
