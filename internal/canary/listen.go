package canary

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	httpsvc "github.com/decnet/decnet/internal/service/http"
	"github.com/decnet/decnet/internal/service/httpapi"
)

// Hit is one use of a live token.
type Hit struct {
	Slug    string
	Channel string // http or dns
	Src     netip.AddrPort
	// HTTP
	Method, Path, Host, UserAgent string
	Headers                       []string
	// DNS
	QName, QType string
}

// Bounds of what a hit keeps.
const (
	MaxHeaders     = 32
	MaxHeaderValue = 512
)

// Listener serves the token listeners. Live reports whether a slug is a
// live token's; Fire records a hit (it may block briefly: it runs on the
// connection's goroutine after the answer is sent).
type Listener struct {
	Live func(ctx context.Context, slug string) bool
	Fire func(ctx context.Context, h Hit)
	// Zone and Addr are the DNS zone and the A record of its tokens.
	Zone string
	Addr netip.Addr
	Log  *slog.Logger

	mu    sync.Mutex
	perIP map[netip.Addr]int
}

// Limits of the HTTP listener.
const (
	maxConns      = 512
	maxConnsPerIP = 16
	maxRequests   = 100
	idleTimeout   = 15 * time.Second
	maxFiring     = 64 // DNS hits being recorded at once
)

var httpLimits = httpapi.Limits{Line: 8 << 10, HeaderBytes: 16 << 10, Headers: 64, Body: 0, Discard: 1 << 20}

func (l *Listener) log() *slog.Logger {
	if l.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l.Log
}

// Serve answers HTTP on ln until ctx is done.
func (l *Listener) Serve(ctx context.Context, ln net.Listener) error {
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	sem := make(chan struct{}, maxConns)
	for {
		c, err := ln.Accept()
		if err != nil {
			if done, err := stopOn(ctx, err); done {
				return wrapErr("canary http", err)
			}
			continue
		}
		ap, _ := netip.ParseAddrPort(c.RemoteAddr().String())
		ip := ap.Addr().Unmap()
		select {
		case sem <- struct{}{}:
		default:
			c.Close()
			continue
		}
		if !l.admit(ip) {
			<-sem
			c.Close()
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem; l.release(ip) }()
			defer c.Close()
			defer func() {
				if r := recover(); r != nil {
					l.log().Error("canary http connection panicked", "panic", fmt.Sprint(r))
				}
			}()
			l.serveConn(ctx, c, netip.AddrPortFrom(ip, ap.Port()))
		}()
	}
}

func (l *Listener) admit(ip netip.Addr) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.perIP == nil {
		l.perIP = map[netip.Addr]int{}
	}
	if l.perIP[ip] >= maxConnsPerIP {
		return false
	}
	l.perIP[ip]++
	return true
}

func (l *Listener) release(ip netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.perIP[ip]--; l.perIP[ip] <= 0 {
		delete(l.perIP, ip)
	}
}

func (l *Listener) serveConn(ctx context.Context, c net.Conn, src netip.AddrPort) {
	br := bufio.NewReaderSize(c, 4096)
	for range maxRequests {
		_ = c.SetReadDeadline(time.Now().Add(idleTimeout))
		req, err := httpapi.ReadRequest(br, httpLimits)
		if err != nil {
			var he *httpapi.Error
			if errors.As(err, &he) {
				_ = c.SetWriteDeadline(time.Now().Add(5 * time.Second))
				_ = writeNginx(c, nil, 400, "text/html", []byte(nginxPage(400)), false, nil)
			}
			return
		}
		status, ctype, body, static := respond(req.UnescapedPath())
		keep := req.KeepAlive()
		_ = c.SetWriteDeadline(time.Now().Add(10 * time.Second))
		if err := writeNginx(c, req, status, ctype, body, keep, static); err != nil {
			return
		}
		l.http(ctx, req, src)
		if !keep {
			return
		}
	}
}

// http fires for the live slugs in a request's path.
func (l *Listener) http(ctx context.Context, req *httpapi.Request, src netip.AddrPort) {
	slugs := SlugsInPath(req.UnescapedPath())
	if len(slugs) == 0 || l.Live == nil || l.Fire == nil {
		return
	}
	h := Hit{Channel: "http", Src: src, Method: clip(req.Method), Path: clip(req.Target), Host: clip(req.Get("Host")), UserAgent: clip(req.Get("User-Agent"))}
	for i, hd := range req.Headers {
		if i == MaxHeaders {
			break
		}
		h.Headers = append(h.Headers, clip(hd.Name+": "+hd.Value))
	}
	for _, s := range slugs {
		if l.Live(ctx, s) {
			h.Slug = s
			l.Fire(ctx, h)
			return
		}
	}
}

func clip(s string) string {
	if len(s) > MaxHeaderValue {
		return s[:MaxHeaderValue]
	}
	return s
}

// gif is a transparent 1x1 GIF.
var gif = []byte("GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff\x21\xf9\x04\x01\x00\x00\x00\x00\x2c\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02\x44\x01\x00\x3b")

// staticTime is the modification time the static answers claim.
var staticTime = time.Date(2025, 4, 11, 8, 2, 17, 0, time.UTC)

// respond is the answer to a path, the same for live and unknown slugs.
func respond(p string) (status int, ctype string, body []byte, static *time.Time) {
	lower := strings.ToLower(p)
	switch {
	case p == "/" || p == "/index.html":
		return 200, "text/html", []byte(httpsvc.NginxIndex), &staticTime
	case strings.HasSuffix(lower, ".png"), strings.HasSuffix(lower, ".gif"), strings.HasSuffix(lower, ".jpg"), strings.HasSuffix(lower, ".jpeg"):
		return 200, "image/gif", gif, &staticTime
	}
	return 404, "text/html", []byte(nginxPage(404)), nil
}

func nginxPage(status int) string {
	t := strconv.Itoa(status) + " " + httpapi.StatusText(status)
	return "<html>\r\n<head><title>" + t + "</title></head>\r\n<body>\r\n<center><h1>" + t + "</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
}

// writeNginx answers as nginx does: HTTP/1.1 always, Server first, the
// validators of a static file.
func writeNginx(c net.Conn, req *httpapi.Request, status int, ctype string, body []byte, keep bool, static *time.Time) error {
	var b strings.Builder
	fmt.Fprintf(&b, "HTTP/1.1 %d %s\r\nServer: nginx\r\nDate: %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n",
		status, httpapi.StatusText(status), time.Now().UTC().Format(time.RFC1123[:len(time.RFC1123)-3]+"GMT"), ctype, len(body))
	if static != nil {
		fmt.Fprintf(&b, "Last-Modified: %s\r\n", static.Format(time.RFC1123[:len(time.RFC1123)-3]+"GMT"))
	}
	if keep {
		b.WriteString("Connection: keep-alive\r\n")
	} else {
		b.WriteString("Connection: close\r\n")
	}
	if static != nil {
		fmt.Fprintf(&b, "ETag: \"%x-%x\"\r\nAccept-Ranges: bytes\r\n", static.Unix(), len(body))
	}
	b.WriteString("\r\n")
	if req == nil || req.Method != "HEAD" {
		b.Write(body)
	}
	_, err := c.Write([]byte(b.String()))
	return err
}

// ServeDNS answers DNS queries on pc until ctx is done.
func (l *Listener) ServeDNS(ctx context.Context, pc net.PacketConn) error {
	z := &zoneAnswer{zone: strings.ToLower(strings.Trim(l.Zone, ".")), addr: l.Addr, serial: uint32(time.Now().Unix())}
	stop := context.AfterFunc(ctx, func() { pc.Close() })
	defer stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	firing := make(chan struct{}, maxFiring)
	buf := make([]byte, 1500)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			if done, err := stopOn(ctx, err); done {
				return wrapErr("canary dns", err)
			}
			continue
		}
		q, err := ParseQuery(buf[:n])
		if q == nil {
			continue // not even a header, or a response: no answer
		}
		live := false
		slug := ""
		if err == nil {
			slug = z.slugOf(q.Name)
			live = IsSlug(slug) && l.Live != nil && l.Live(ctx, slug)
		}
		if out := z.reply(q, live); len(out) <= maxDNSMsg {
			_, _ = pc.WriteTo(out, from)
		}
		if live && l.Fire != nil {
			ap, _ := netip.ParseAddrPort(from.String())
			h := Hit{Slug: slug, Channel: "dns", Src: netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), QName: q.Name, QType: TypeName(q.Type)}
			// Recording may wait on the store and the bus: not in the
			// read loop. Past maxFiring at once, hits are dropped.
			select {
			case firing <- struct{}{}:
				wg.Add(1)
				go func() { defer wg.Done(); defer func() { <-firing }(); l.Fire(ctx, h) }()
			default:
			}
		}
	}
}

// stopOn tells a serve loop what an accept or read error means: done
// (with the error to return, nil when ctx ended), or a timeout to retry.
func stopOn(ctx context.Context, err error) (done bool, _ error) {
	if ctx.Err() != nil {
		return true, nil
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return false, nil
	}
	return true, err
}

func wrapErr(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", what, err)
}
