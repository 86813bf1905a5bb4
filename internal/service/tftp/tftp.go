package tftp

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/service/serve"
)

// Port is the TFTP request port.
const Port = 69

// maxTransfer bounds one transfer however slowly a client drives it.
const maxTransfer = 15 * time.Minute

// packetLimits keep a spoofed source from turning the decky into a
// reflector: each request may start a transfer whose first block is far
// larger than the request.
var packetLimits = serve.PacketLimits{Rate: 10, Burst: 40, Sources: 65536, Workers: 64, MaxPacket: pktSize}

// Server is the TFTP emulation of one decky.
type Server struct {
	env    serve.Env
	cfg    Settings
	tree   *tree
	mu     sync.Mutex
	active map[netip.Addr]int
}

var _ serve.Server = (*Server)(nil)

// New builds the TFTP service of one decky; it starts nothing.
func New(env serve.Env) (serve.Server, error) {
	cfg := *serve.SettingsOf(env, defaults)
	if cfg.MaxUpload <= 0 {
		cfg.MaxUpload = 16 << 20
	}
	if cfg.PerSource <= 0 {
		cfg.PerSource = 4
	}
	return &Server{env: env, cfg: cfg, active: map[netip.Addr]int{},
		tree: newTree(env.Identity, env.Persona.Hostname, env.Addrs)}, nil
}

// Serve implements serve.Server.
func (s *Server) Serve(ctx context.Context) error {
	return serve.UDP(ctx, s.env, Port, packetLimits, s.request)
}

// request handles one datagram on port 69. A transfer runs inside the
// handler, so serve.UDP's worker bound is the bound on transfers.
func (s *Server) request(ctx context.Context, p *serve.Packet) {
	if p.Limited || !s.acquire(p.Src.Addr()) {
		return // over its rate or its transfers: dropped, never answered
	}
	defer s.release(p.Src.Addr())
	var prm params
	req, nak := parseRequest(p.Data, s.validate, &prm)
	if req == nil {
		return
	}
	// tftpd-hpa answers every request from a new socket (a new TID) on
	// the address the request came to.
	c, err := net.DialUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(p.Local(), 0)), net.UDPAddrFromAddrPort(p.Src))
	if err != nil {
		s.env.Logger().Warn("tftp transfer socket", "err", err)
		return
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(ctx, maxTransfer)
	defer cancel()
	// A read waits up to 32 s: the end of the transfer's context must
	// wake it.
	stop := context.AfterFunc(ctx, func() { _ = c.SetReadDeadline(time.Now()) })
	defer stop()
	t := &transfer{ctx: ctx, c: c, p: prm, timeout: time.Duration(prm.rexmtUS) * time.Microsecond}
	res := result{}
	switch {
	case nak != nil:
		t.nak(nak)
		res.err = nak
	case req.op == opRRQ:
		res = t.send(s.tree, req)
	default:
		clean, _, _ := s.tree.lookup(req.filename)
		res = t.receive(req, s.cfg.MaxUpload, func(b []byte) { s.tree.store(clean, b) })
	}
	s.emit(p, req, res)
}

func (s *Server) acquire(a netip.Addr) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.active[a] >= s.cfg.PerSource {
		return false
	}
	s.active[a]++
	return true
}

func (s *Server) release(a netip.Addr) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.active[a]--; s.active[a] <= 0 {
		delete(s.active, a)
	}
}

// validate is tftpd-hpa's validate_access under --secure (and --create
// when writes are accepted): the bait tree is owned by root and
// read-only to the tftp user, the root directory is the tftp user's.
func (s *Server) validate(r *request, p *params) *tftpError {
	_, n, parentOK := s.tree.lookup(r.filename)
	if r.op == opRRQ {
		if n == nil {
			return errFileNotFound
		}
		p.tsize, p.tsizeOK = uint64(n.size), r.mode == "octet"
		if n.dir {
			p.tsize = 4096
		}
		return nil
	}
	switch {
	case n != nil && n.writable:
	case n != nil:
		return errPermission // root's file, or a directory
	case !parentOK || s.cfg.Write != "create":
		return errFileNotFound // no O_CREAT, or no such directory
	case r.filename != "" && isSubdir(s.tree, r.filename):
		return errPermission // bait directories are root's
	}
	// open(O_WRONLY|O_CREAT) made the file: it exists from now on.
	clean, _, _ := s.tree.lookup(r.filename)
	s.tree.store(clean, nil)
	p.tsize, p.tsizeOK = 0, true
	return nil
}

// isSubdir says whether a new file would go below the root, into one of
// the bait tree's (root-owned) directories.
func isSubdir(t *tree, name string) bool {
	clean, _, _ := t.lookup(name)
	return bytes.IndexByte([]byte(clean), '/') >= 0
}

// result is how a transfer ended.
type result struct {
	err      *tftpError
	blocks   int
	bytes    int64
	size     int64
	complete bool
	data     []byte
	cut      bool
}

func (s *Server) emit(p *serve.Packet, req *request, res result) {
	opts, acked := map[string]any{}, map[string]any{}
	for _, o := range req.opts {
		opts[event.Text([]byte(o.name), 64)] = event.Text([]byte(o.value), 64)
	}
	for _, o := range req.acked {
		acked[event.Text([]byte(o.name), 64)] = o.value
	}
	f := map[string]any{"path": event.Text([]byte(req.filename), 1024), "mode": event.Text([]byte(req.mode), 64),
		"options": opts, "acked": acked, "blocks": res.blocks, "complete": res.complete}
	if res.err != nil {
		f["error_code"], f["error"] = int(res.err.code), res.err.msg
	}
	e := event.Event{Type: "tftp.file.download", Transport: "udp", Src: event.EndpointOf(p.Src), Dst: event.EndpointOf(p.Dst), Fields: f,
		Outcome: "failure"}
	if res.complete {
		e.Outcome = "success"
	}
	if req.op == opWRQ {
		e.Type = "tftp.file.upload"
		f["size"], f["truncated"] = len(res.data), res.cut
		if res.blocks > 0 {
			a, err := s.env.Quarantine.Put(bytes.NewReader(res.data))
			if err != nil {
				s.env.Logger().Error("quarantine tftp upload", "err", err)
			} else {
				f["sha256"] = a.SHA256
			}
		}
	} else {
		f["bytes"], f["size"] = res.bytes, res.size
	}
	s.env.Events.Emit(e)
}

// transfer is one TID: a socket connected to the client.
type transfer struct {
	ctx     context.Context
	c       *net.UDPConn
	p       params
	timeout time.Duration // the current retransmission timeout
}

var (
	errTimeout = errors.New("timeout")
	errGiveUp  = errors.New("gave up")
)

func (t *transfer) nak(e *tftpError) { _, _ = t.c.Write(e.packet()) }

// recv waits for a packet within the current timeout. On a timeout the
// timeout doubles, and the transfer gives up once it reaches 63 times
// the base (tftpd-hpa's timer: six sends of each packet in all).
func (t *transfer) recv(buf []byte) (int, error) {
	_ = t.c.SetReadDeadline(time.Now().Add(t.timeout))
	if t.ctx.Err() != nil {
		return 0, errGiveUp // checked after the deadline: see request
	}
	n, err := t.c.Read(buf)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.timeout *= 2
		if t.timeout >= time.Duration(t.p.rexmtUS)*time.Microsecond*timeoutLimit {
			return 0, errGiveUp
		}
		return 0, errTimeout
	}
	if err != nil {
		return 0, errGiveUp // ICMP unreachable and the like
	}
	return n, nil
}

// synchnet drops what is queued on the socket, as tftpd-hpa does after
// an out-of-order packet.
func (t *transfer) synchnet(buf []byte) {
	for t.ctx.Err() == nil {
		_ = t.c.SetReadDeadline(time.Now())
		if _, err := t.c.Read(buf); err != nil {
			return
		}
	}
}

func (t *transfer) rexmt() time.Duration { return time.Duration(t.p.rexmtUS) * time.Microsecond }

func oack(acked []option) []byte {
	b := []byte{0, opOACK}
	for _, o := range acked {
		b = append(append(append(append(b, o.name...), 0), o.value...), 0)
	}
	return b
}

// send is tftpd-hpa's tftp_sendfile.
func (t *transfer) send(tr *tree, req *request) result {
	_, n, _ := tr.lookup(req.filename)
	var res result
	if n == nil {
		res.err = errFileNotFound // removed meanwhile
		t.nak(res.err)
		return res
	}
	res.size = n.size
	buf := make([]byte, pktSize)
	if len(req.acked) > 0 {
		o := oack(req.acked)
		t.timeout = t.rexmt()
	oackLoop:
		for {
			_, _ = t.c.Write(o)
			for {
				m, err := t.recv(buf)
				if errors.Is(err, errTimeout) {
					continue oackLoop
				}
				if err != nil || m >= 2 && buf[1] == opERROR && buf[0] == 0 {
					return res
				}
				if m >= 4 && buf[0] == 0 && buf[1] == opACK {
					if buf[2] == 0 && buf[3] == 0 {
						break oackLoop
					}
					t.synchnet(buf)
					continue oackLoop
				}
			}
		}
	}
	if n.dir {
		res.err = errIsDir
		t.nak(res.err)
		return res
	}
	var r io.Reader = bufio.NewReader(n.open())
	if req.mode == "netascii" {
		r = &netasciiReader{r: r.(*bufio.Reader)}
	}
	block := uint16(1)
	data := make([]byte, 4+t.p.segsize)
	for {
		size, err := io.ReadFull(r, data[4:])
		if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
			return res
		}
		data[0], data[1] = 0, opDATA
		binary.BigEndian.PutUint16(data[2:], block)
		t.timeout = t.rexmt()
	sendLoop:
		for {
			_, _ = t.c.Write(data[:4+size])
			for {
				m, err := t.recv(buf)
				if errors.Is(err, errTimeout) {
					continue sendLoop
				}
				if err != nil || m >= 2 && buf[0] == 0 && buf[1] == opERROR {
					return res
				}
				if m >= 4 && buf[0] == 0 && buf[1] == opACK {
					if binary.BigEndian.Uint16(buf[2:]) == block {
						break sendLoop
					}
					// Never resend on a stray ACK (the Sorcerer's
					// Apprentice bug).
					t.synchnet(buf)
				}
			}
		}
		res.blocks++
		res.bytes += int64(size)
		if block++; block == 0 {
			block = t.p.rollover
		}
		if size < t.p.segsize {
			res.complete = true
			return res
		}
	}
}

// receive is tftpd-hpa's tftp_recvfile, keeping at most max bytes.
func (t *transfer) receive(req *request, max int, written func([]byte)) result {
	var res result
	var data bytes.Buffer
	buf := make([]byte, pktSize)
	ack := []byte{0, opACK, 0, 0}
	var o []byte
	if len(req.acked) > 0 {
		o = oack(req.acked)
	}
	block := uint16(0)
	for {
		t.timeout = t.rexmt()
		pkt := ack
		if block == 0 && o != nil {
			pkt = o
		} else {
			binary.BigEndian.PutUint16(ack[2:], block)
			o = nil
		}
		if block++; block == 0 {
			block = t.p.rollover
		}
		var m int
	sendAck:
		for {
			_, _ = t.c.Write(pkt)
			for {
				var err error
				m, err = t.recv(buf)
				if errors.Is(err, errTimeout) {
					continue sendAck
				}
				if err != nil || m >= 2 && buf[0] == 0 && buf[1] == opERROR {
					return res
				}
				if m >= 4 && buf[0] == 0 && buf[1] == opDATA {
					got := binary.BigEndian.Uint16(buf[2:])
					if got == block {
						break sendAck
					}
					t.synchnet(make([]byte, pktSize))
					if got == block-1 {
						continue sendAck
					}
				}
			}
		}
		size := m - 4
		res.blocks++
		if data.Len()+size > max {
			data.Write(buf[4 : 4+max-data.Len()])
			res.data, res.cut, res.err = data.Bytes(), true, errDiskFull
			t.nak(errDiskFull)
			return res
		}
		data.Write(buf[4:m])
		if size != t.p.segsize {
			break
		}
	}
	res.data, res.complete = data.Bytes(), true
	written(res.data)
	binary.BigEndian.PutUint16(ack[2:], block)
	_, _ = t.c.Write(ack)
	// Wait once for anything more (a repeat of the last block: the final
	// ACK was lost) and answer it with the final ACK again.
	if m, err := t.recv(buf); err == nil && m >= 4 {
		_, _ = t.c.Write(ack)
	}
	return res
}

// netasciiReader converts a file to netascii as tftpd-hpa's readit: LF
// becomes CR LF and CR becomes CR NUL.
type netasciiReader struct {
	r       *bufio.Reader
	pending int // a byte owed after a CR, or -1
	init    bool
}

func (n *netasciiReader) Read(p []byte) (int, error) {
	if !n.init {
		n.pending, n.init = -1, true
	}
	i := 0
	for i < len(p) {
		if n.pending >= 0 {
			p[i] = byte(n.pending)
			n.pending = -1
			i++
			continue
		}
		c, err := n.r.ReadByte()
		if err != nil {
			if i > 0 {
				return i, nil
			}
			return 0, err
		}
		switch c {
		case '\n':
			p[i], n.pending = '\r', '\n'
		case '\r':
			p[i], n.pending = '\r', 0
		default:
			p[i] = c
		}
		i++
	}
	return i, nil
}
