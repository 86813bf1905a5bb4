package cloak

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/nftables"
	"golang.org/x/sys/unix"
)

// DefaultQueue is the netfilter queue number the cloak uses in a decky's
// namespace (each namespace has its own queues).
const DefaultQueue = 4242

// Config says where and how a cloak runs.
type Config struct {
	Profile Profile
	// NetNS is the path of the network namespace to cloak (a
	// /proc/<pid>/ns/net or /run/netns file); empty means the caller's.
	NetNS string
	// Queue is the netfilter queue number; 0 means DefaultQueue. A
	// profile that sets the IP ID of every packet uses Queue+1 too.
	Queue  uint16
	Logger *slog.Logger
}

// Stats counts what a cloak did.
type Stats struct {
	Rewritten uint64 `json:"rewritten"`
	Answered  uint64 `json:"answered"`
	// Marked counts the packets that took their IP ID by mark (the
	// header queue), without a copy of their content.
	Marked uint64 `json:"marked"`
	Errors uint64 `json:"errors"`
}

// Cloak is a running packet rewriter in one network namespace.
type Cloak struct {
	cfg    Config
	rw     *rewriter
	q      *nfqueue
	raw    int
	nft    *nftables.Conn
	tcp    []*os.File
	log    *slog.Logger
	stop   atomic.Bool
	done   chan struct{}
	err    error
	errMu  sync.Mutex
	stats  struct{ rewritten, answered, marked, errors atomic.Uint64 }
	listMu sync.Mutex
	listAt time.Time
	listen map[uint16]bool
}

// Start installs the profile's rules in the namespace and starts rewriting.
// It needs CAP_NET_ADMIN and CAP_NET_RAW in the namespace (and, with
// NetNS, CAP_SYS_ADMIN to enter it). A cloak that fails later fails open:
// the decky keeps answering with its plain Linux stack, and Err says why.
func Start(cfg Config) (*Cloak, error) {
	if cfg.Queue == 0 {
		cfg.Queue = DefaultQueue
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	rw := &rewriter{p: cfg.Profile, ids: ipids{mode: cfg.Profile.IPID, next: uint16(rand.Uint32()), rnd: rand.Uint64()}}
	c := &Cloak{cfg: cfg, rw: rw, raw: -1, done: make(chan struct{}),
		log: cfg.Logger.With("component", "cloak", "family", string(cfg.Profile.Family))}
	if err := inNetNS(cfg.NetNS, c.open); err != nil {
		c.closeFDs()
		return nil, err
	}
	go c.run()
	return c, nil
}

// open runs in the target namespace: sockets opened here stay bound to it.
func (c *Cloak) open() error {
	var err error
	if c.nft, err = nftables.New(nftables.AsLasting()); err != nil {
		return fmt.Errorf("cloak: nftables: %w", err)
	}
	if c.q, err = openQueue(c.cfg.Queue, c.cfg.Profile.IPID != IPIDKernel); err != nil {
		return err
	}
	tv := unix.Timeval{Usec: 200000}
	_ = unix.SetsockoptTimeval(c.q.fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
	if c.raw, err = unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_RAW); err != nil {
		return fmt.Errorf("cloak: raw socket: %w", err)
	}
	for _, name := range []string{"/proc/thread-self/net/tcp", "/proc/thread-self/net/tcp6"} {
		if f, err := os.Open(name); err == nil {
			c.tcp = append(c.tcp, f)
		}
	}
	c.rw.ids.mtu = minMTU()
	return installRules(c.nft, &c.cfg.Profile, c.cfg.Queue)
}

// inNetNS runs fn on a thread that has entered the namespace at path (or
// the caller's when path is empty), and returns the thread to its own.
func inNetNS(path string, fn func() error) error {
	if path == "" {
		return fn()
	}
	runtime.LockOSThread()
	self, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("cloak: own namespace: %w", err)
	}
	defer self.Close()
	target, err := os.Open(path)
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("cloak: namespace %s: %w", path, err)
	}
	defer target.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("cloak: enter %s: %w", path, err)
	}
	ferr := fn()
	if err := unix.Setns(int(self.Fd()), unix.CLONE_NEWNET); err != nil {
		// The thread stays locked and dies with this goroutine rather
		// than serve others in the wrong namespace.
		return errors.Join(ferr, fmt.Errorf("cloak: leave %s: %w", path, err))
	}
	runtime.UnlockOSThread()
	return ferr
}

func (c *Cloak) run() {
	defer close(c.done)
	c.log.Info("cloak running", "queue", c.cfg.Queue)
	for !c.stop.Load() {
		if err := c.q.read(c.handle); err != nil {
			if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EWOULDBLOCK) {
				continue
			}
			if c.stop.Load() {
				return
			}
			c.setErr(fmt.Errorf("cloak: read queue: %w", err))
			c.log.Error("cloak stopped: the decky answers with its plain stack", "err", err)
			return
		}
	}
}

func (c *Cloak) handle(p nfqPacket) {
	if c.q.header && p.queue == c.q.num+1 {
		c.handleHeader(p)
		return
	}
	var out []byte
	verdict := uint32(nfAccept)
	if p.truncated {
		// Only part of it was copied: giving that back would cut it.
		c.stats.errors.Add(1)
		_ = c.q.verdict(p.queue, p.id, verdict, nil)
		return
	}
	switch p.hook {
	case unix.NF_INET_LOCAL_OUT:
		if b, ok := c.rw.outbound(p.payload); ok {
			out = b
			c.stats.rewritten.Add(1)
		}
		if c.rw.ids.mode != IPIDKernel {
			if out == nil {
				out = p.payload
				if p.csumNotReady && !p.gso {
					fixL4(out)
				}
			}
			c.rw.ids.assign(out, p.gso)
		}
	case unix.NF_INET_LOCAL_IN:
		v := c.rw.inbound(p.payload, c.listening)
		if v.reply != nil {
			if err := c.send(v.reply); err != nil {
				c.stats.errors.Add(1)
				c.log.Warn("cloak: send answer", "err", err)
			} else {
				c.stats.answered.Add(1)
			}
		}
		if v.drop {
			verdict = nfDrop
		}
		if v.modified != nil {
			out = v.modified
			c.stats.rewritten.Add(1)
		}
	}
	if err := c.q.verdict(p.queue, p.id, verdict, out); err != nil {
		c.stats.errors.Add(1)
		c.log.Warn("cloak: verdict", "err", err)
		if out != nil {
			// Never leave a packet in the queue: let it go as it came.
			_ = c.q.verdict(p.queue, p.id, verdict, nil)
		}
	}
}

// handleHeader takes a packet of the header queue: an outbound packet
// whose content stays the kernel's and that only takes an IP ID. Only its
// headers were copied, so it is not given back (that would cut it): it is
// accepted with a mark carrying its ID, which the table's ipid chain
// writes into the packet further along the output hook.
func (c *Cloak) handleHeader(p nfqPacket) {
	if p.hook == unix.NF_INET_LOCAL_OUT {
		if h, ok := parseIPHead(p.payload, p.length); ok {
			if id, ok := c.rw.ids.draw(h, p.gso); ok {
				c.q.verdictMark(p.queue, p.id, idMark(id))
				c.stats.marked.Add(1)
				return
			}
		} else {
			c.stats.errors.Add(1)
		}
	}
	_ = c.q.verdict(p.queue, p.id, nfAccept, nil)
}

func (c *Cloak) send(pkt []byte) error {
	ip, ok := parseIP4(pkt)
	if !ok {
		return errors.New("cloak: bad answer")
	}
	var to unix.SockaddrInet4
	copy(to.Addr[:], ip.dst())
	return unix.Sendto(c.raw, pkt, 0, &to)
}

// listening reports whether a TCP port has a listener in the namespace,
// from /proc/net/tcp{,6} read at most once a second.
func (c *Cloak) listening(port uint16) bool {
	c.listMu.Lock()
	defer c.listMu.Unlock()
	if time.Since(c.listAt) > time.Second {
		c.listen = map[uint16]bool{}
		for _, f := range c.tcp {
			if _, err := f.Seek(0, io.SeekStart); err != nil {
				continue
			}
			parseListeners(io.LimitReader(f, 4<<20), c.listen)
		}
		c.listAt = time.Now()
	}
	return c.listen[port]
}

// parseListeners adds the ports in state LISTEN (0A) of a /proc/net/tcp
// table to m.
func parseListeners(r io.Reader, m map[uint16]bool) {
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 4096), 4096)
	for s.Scan() {
		f := bytes.Fields(s.Bytes())
		if len(f) < 4 || !bytes.Equal(f[3], []byte("0A")) {
			continue
		}
		i := bytes.LastIndexByte(f[1], ':')
		if i < 0 {
			continue
		}
		if p, err := strconv.ParseUint(string(f[1][i+1:]), 16, 16); err == nil {
			m[uint16(p)] = true
		}
	}
}

// Err returns why the cloak stopped, or nil while it runs.
func (c *Cloak) Err() error {
	c.errMu.Lock()
	defer c.errMu.Unlock()
	return c.err
}

func (c *Cloak) setErr(err error) {
	c.errMu.Lock()
	c.err = err
	c.errMu.Unlock()
}

// Stats returns the counters.
func (c *Cloak) Stats() Stats {
	return Stats{Rewritten: c.stats.rewritten.Load(), Answered: c.stats.answered.Load(),
		Marked: c.stats.marked.Load(), Errors: c.stats.errors.Load()}
}

// Close removes the rules and stops the rewriter. The namespace is left as
// the kernel alone would run it.
func (c *Cloak) Close() error {
	c.stop.Store(true)
	var err error
	if c.nft != nil {
		err = removeRules(c.nft)
	}
	<-c.done
	c.closeFDs()
	return err
}

func (c *Cloak) closeFDs() {
	if c.q != nil {
		c.q.close()
	}
	if c.raw >= 0 {
		unix.Close(c.raw)
		c.raw = -1
	}
	for _, f := range c.tcp {
		f.Close()
	}
	c.tcp = nil
	if c.nft != nil {
		c.nft.CloseLasting()
	}
}

// minMTU is the smallest MTU of the namespace's interfaces but lo.
func minMTU() int {
	m := 0
	ifs, _ := net.Interfaces()
	for _, ifc := range ifs {
		if ifc.Flags&net.FlagLoopback == 0 && ifc.MTU > 0 && (m == 0 || ifc.MTU < m) {
			m = ifc.MTU
		}
	}
	return m
}
