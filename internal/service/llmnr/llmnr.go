package llmnr

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/service/ntlm"
	"github.com/decnet/decnet/internal/service/serve"
)

// Where the bait queries go.
var (
	llmnrGroup = netip.MustParseAddrPort("224.0.0.252:5355")
	mdnsGroup  = netip.MustParseAddrPort("224.0.0.251:5353")
)

// listen is how long the decky waits for answers to one bait query.
const listen = 3 * time.Second

// Server is the watch of one decky.
type Server struct {
	env       serve.Env
	log       *slog.Logger
	cfg       *Settings
	names     []string
	protocols []string
	hostname  string
	domain    string
	rand      *rand.Rand
	followed  sync.Map // poisoner address → time of the last honey logon
}

var _ serve.Server = (*Server)(nil)

// baitWords make names a user mistypes or a script still points at.
var baitWords = []string{"fileserv", "filesrv01", "printsrv", "sharepoint-old", "wpad", "backup02", "nas-office", "scanner",
	"intranet2", "fs-archive", "hr-share", "finance-srv", "deploy", "sccm01", "old-dc"}

// New builds the watch of one decky; it starts nothing.
func New(env serve.Env) (serve.Server, error) {
	cfg := serve.SettingsOf(env, defaults)
	if cfg.IntervalMin <= 0 || cfg.IntervalMax < cfg.IntervalMin {
		return nil, fmt.Errorf("llmnr: interval_min %d and interval_max %d: want 0 < min <= max", cfg.IntervalMin, cfg.IntervalMax)
	}
	r := env.Identity.Rand("llmnr-bait")
	s := &Server{env: env, log: env.Logger(), cfg: cfg, names: cfg.BaitNames, protocols: cfg.Protocols,
		hostname: strings.ToLower(strings.SplitN(env.Persona.Hostname, ".", 2)[0]),
		rand:     rand.New(rand.NewPCG(r.Uint64(), r.Uint64()))}
	if len(s.names) == 0 {
		for _, i := range r.Perm(len(baitWords))[:4] {
			s.names = append(s.names, baitWords[i])
		}
	}
	if len(s.protocols) == 0 {
		s.protocols = []string{"llmnr", "mdns", "nbtns"}
	}
	w := env.Windows()
	s.domain = cfg.HoneyDomain
	if s.domain == "" {
		s.domain = w.NetBIOSDomain
	}
	if cfg.HoneyUser == "" {
		cfg.HoneyUser = []string{"svc_print", "svc_scan", "backup_admin", "it.helpdesk"}[r.IntN(4)]
	}
	if cfg.HoneyPass == "" {
		cfg.HoneyPass = fmt.Sprintf("%s%d!", []string{"Printer", "Scanner", "Backup", "Helpdesk"}[r.IntN(4)], 2020+r.IntN(6))
	}
	return s, nil
}

// Serve implements serve.Server: the two listeners and the bait loop.
func (s *Server) Serve(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		return serve.UDP(gctx, s.env, LLMNRPort, serve.PacketLimits{}, func(ctx context.Context, p *serve.Packet) { s.answer(p, false) })
	})
	g.Go(func() error {
		return serve.UDP(gctx, s.env, MDNSPort, serve.PacketLimits{}, func(ctx context.Context, p *serve.Packet) { s.answer(p, true) })
	})
	g.Go(func() error { s.bait(gctx); return nil })
	return g.Wait()
}

// answer records a query and answers it only when it asks for us.
func (s *Server) answer(p *serve.Packet, mdns bool) {
	name, qtype, ok := question(p.Data)
	if !ok {
		return
	}
	host := strings.ToLower(strings.TrimSuffix(strings.TrimSuffix(name, "."), ".local"))
	ours := host == s.hostname && (qtype == typeA || qtype == typeANY)
	proto := "llmnr"
	if mdns {
		proto = "mdns"
	}
	if !p.Limited {
		s.env.Events.Emit(event.Event{Type: "llmnr.query.received", Transport: "udp", Src: event.EndpointOf(p.Src), Dst: event.EndpointOf(p.Dst),
			Fields: map[string]any{"protocol": proto, "name": event.Text([]byte(name), 255), "qtype": int(qtype), "answered": ours}})
	}
	if ours {
		ttl := uint32(30)
		if mdns {
			ttl = 120
		}
		p.Reply(reply(p.Data, p.Local(), ttl, mdns))
	}
}

// bait sends a query for a bait name at random intervals until ctx ends.
func (s *Server) bait(ctx context.Context) {
	for {
		wait := time.Duration(s.cfg.IntervalMin)*time.Second + time.Duration(s.rand.Int64N(int64(s.cfg.IntervalMax-s.cfg.IntervalMin+1)))*time.Second
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		name := s.names[s.rand.IntN(len(s.names))]
		var wg sync.WaitGroup
		for _, a := range s.env.Addrs {
			for _, proto := range s.protocols {
				wg.Add(1)
				go func() {
					defer wg.Done()
					s.probe(ctx, a, proto, name)
				}()
			}
		}
		wg.Wait()
	}
}

// probe sends one bait query from addr and reports every answer.
func (s *Server) probe(ctx context.Context, addr netip.Addr, proto, name string) {
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var err error
		c.Control(func(fd uintptr) { err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_BROADCAST, 1) })
		return err
	}}
	pc, err := lc.ListenPacket(ctx, "udp4", netip.AddrPortFrom(addr, 0).String())
	if err != nil {
		s.log.Debug("bait socket", "err", err)
		return
	}
	defer pc.Close()
	id := uint16(rand.IntN(0xffff) + 1) // the package source: probes run at once
	var msg []byte
	var to netip.AddrPort
	switch proto {
	case "llmnr":
		msg, to = query(id, name, classIN), llmnrGroup
	case "mdns":
		msg, to, id = query(0, name+".local", classQU), mdnsGroup, 0
	default:
		a := addr.As4()
		a[3] = 255 // the /24's broadcast: NBT-NS has no group
		msg, to = nbnsQuery(id, name), netip.AddrPortFrom(netip.AddrFrom4(a), 137)
	}
	if _, err := pc.WriteTo(msg, net.UDPAddrFromAddrPort(to)); err != nil {
		s.log.Debug("bait query", "protocol", proto, "err", err) // no route to the group here
		return
	}
	pc.SetReadDeadline(time.Now().Add(listen))
	buf := make([]byte, 1500)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			return
		}
		src, _ := netip.ParseAddrPort(from.String())
		ans, ttl, ok := answer(buf[:n], id)
		if !ok {
			continue
		}
		s.env.Events.Emit(event.Event{Type: "llmnr.poison.detected", Transport: "udp", Src: event.EndpointOf(src),
			Dst:    event.EndpointOf(netip.AddrPortFrom(addr, 0)),
			Fields: map[string]any{"protocol": proto, "name": name, "answer": ans.String(), "ttl": int(ttl)}})
		if s.cfg.FollowUp == "http" {
			go s.honey(ctx, addr, ans, name)
		}
	}
}

// honey authenticates to the poisoner over HTTP with NTLM, as Windows'
// WebDAV redirector does when a share it looked up answers on port 80;
// at most once per poisoner in ten minutes.
func (s *Server) honey(ctx context.Context, from, to netip.Addr, name string) {
	if last, ok := s.followed.Load(to); ok && time.Since(last.(time.Time)) < 10*time.Minute {
		return
	}
	s.followed.Store(to, time.Now())
	url := "http://" + to.String() + "/" + name + "/"
	user := s.domain + `\` + s.cfg.HoneyUser
	status, err := s.ntlmGet(ctx, from, url)
	fields := map[string]any{"url": url, "user": user, "status": status}
	if err != nil {
		fields["error"] = err.Error()
	}
	s.env.Events.Emit(event.Event{Type: "llmnr.honey.sent", Src: event.EndpointOf(netip.AddrPortFrom(to, 80)),
		Dst: event.EndpointOf(netip.AddrPortFrom(from, 0)), Fields: fields})
}

// ntlmGet runs the three requests of an NTLM HTTP logon on one connection.
func (s *Server) ntlmGet(ctx context.Context, from netip.Addr, url string) (int, error) {
	dialer := &net.Dialer{Timeout: 5 * time.Second, LocalAddr: net.TCPAddrFromAddrPort(netip.AddrPortFrom(from, 0))}
	client := &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{DialContext: dialer.DialContext, MaxConnsPerHost: 1}}
	defer client.CloseIdleConnections()
	do := func(auth string) (*http.Response, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("User-Agent", "Microsoft-WebDAV-MiniRedir/10.0.19045")
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := client.Do(req)
		if err == nil {
			io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
		}
		return resp, err
	}
	resp, err := do("NTLM " + base64.StdEncoding.EncodeToString(ntlm.ClientNegotiate()))
	if err != nil {
		return 0, err
	}
	var challenge []byte
	for _, h := range resp.Header.Values("WWW-Authenticate") {
		if b, ok := strings.CutPrefix(h, "NTLM "); ok {
			challenge, _ = base64.StdEncoding.DecodeString(strings.TrimSpace(b))
		}
	}
	if challenge == nil {
		return resp.StatusCode, fmt.Errorf("no NTLM challenge (status %d)", resp.StatusCode)
	}
	msg, err := ntlm.ClientAuthenticate(challenge, s.cfg.HoneyUser, s.domain, s.cfg.HoneyPass, strings.ToUpper(s.hostname))
	if err != nil {
		return resp.StatusCode, err
	}
	resp, err = do("NTLM " + base64.StdEncoding.EncodeToString(msg))
	if err != nil {
		return 0, err
	}
	return resp.StatusCode, nil
}
