package output

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"github.com/decnet/decnet/internal/event"
)

// DefaultSyslogOptions are applied to the zero fields of SyslogOptions.
var DefaultSyslogOptions = SyslogOptions{
	DialTimeout:  10 * time.Second,
	WriteTimeout: 30 * time.Second,
	Attempts:     3,
	MinBackoff:   250 * time.Millisecond,
	MaxBackoff:   5 * time.Second,
}

// SyslogOptions configures a Syslog output.
type SyslogOptions struct {
	// TLS, when set, connects with TLS (RFC 5425) using this
	// configuration; ServerName defaults to the address's host.
	TLS *tls.Config
	// Hostname is the HOSTNAME of every message. Empty: the event's host
	// (the agent that observed it), or this machine's name when the
	// event has none.
	Hostname string
	// DialTimeout bounds a connection attempt, handshake included
	// (default 10 s).
	DialTimeout time.Duration
	// WriteTimeout bounds the write of one batch (default 30 s).
	WriteTimeout time.Duration
	// Attempts is how many times Deliver tries a batch, reconnecting
	// between tries, before it fails (default 3).
	Attempts int
	// MinBackoff and MaxBackoff bound the wait between attempts and
	// between connection attempts, doubling from min to max (defaults
	// 250 ms and 5 s).
	MinBackoff, MaxBackoff time.Duration
	// Format is the message: FormatRFC5424 (default: structured data and
	// the JSON document), FormatCEF or FormatLEEF (the line as MSG).
	Format string
	// RELP sends over RELP (rsyslog's imrelp, acknowledged) instead of
	// octet-counted TCP.
	RELP bool
}

// Syslog message formats.
const (
	FormatRFC5424 = "rfc5424"
	FormatCEF     = "cef"
	FormatLEEF    = "leef"
)

// Syslog sends events as RFC 5424 messages (event.Syslog) over TCP with
// octet-counting framing (RFC 6587), or over TLS (RFC 5425, which frames
// the same way).
//
// Delivery semantics: syslog over TCP has no application-level
// acknowledgement. A batch counts as delivered when every frame has been
// written to the connection, that is, accepted by the local kernel. Before
// each batch the connection is probed (a receiver never sends, so a
// readable connection is one the receiver closed) and re-established if
// the receiver went away, which catches a restarted receiver before the
// batch is written into a dead connection. A receiver that dies while
// frames are in flight can still lose them; a write error fails the batch,
// the bus redelivers it, and a receiver may then see a frame twice after
// the reconnection. Every message carries the event id (SD param "id",
// and "id" in the JSON MSG) for deduplication.
type Syslog struct {
	base
	addr     string
	opts     SyslogOptions
	hostname string

	mu        sync.Mutex
	conn      net.Conn
	closed    bool
	dialFails int
	nextDial  time.Time
	// relp is the open RELP session on conn (RELP outputs).
	relp      *relpSession
	relpSeen  map[string]struct{}
	relpOrder []string
}

var (
	_ Output   = (*Syslog)(nil)
	_ Reporter = (*Syslog)(nil)
	_ Tester   = (*Syslog)(nil)
)

// NewSyslog returns a Syslog output named name sending to address
// (host:port). It does not connect: the first Deliver does.
func NewSyslog(name, address string, opts SyslogOptions) (*Syslog, error) {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return nil, fmt.Errorf("output: syslog address: %w", err)
	}
	d := DefaultSyslogOptions
	opts.DialTimeout = orDefault(opts.DialTimeout, d.DialTimeout)
	opts.WriteTimeout = orDefault(opts.WriteTimeout, d.WriteTimeout)
	retryDefaults(&opts.Attempts, &opts.MinBackoff, &opts.MaxBackoff, d.Attempts, d.MinBackoff, d.MaxBackoff)
	if opts.TLS != nil {
		opts.TLS = opts.TLS.Clone()
		if opts.TLS.ServerName == "" {
			opts.TLS.ServerName = host
		}
		if opts.TLS.MinVersion == 0 {
			opts.TLS.MinVersion = tls.VersionTLS12
		}
	}
	hostname, _ := os.Hostname()
	return &Syslog{base: newBase(name, KindSyslog), addr: address, opts: opts, hostname: hostname}, nil
}

// Deliver writes every event of the batch as one octet-counted frame,
// reconnecting with backoff when needed (see the type's comment for what
// delivered means).
func (o *Syslog) Deliver(ctx context.Context, events []event.Event) error {
	return o.account(len(events), o.deliver(ctx, events))
}

// Test sends a sample event (type TestEventType).
func (o *Syslog) Test(ctx context.Context) error {
	return o.deliver(ctx, []event.Event{sampleEvent()})
}

func (o *Syslog) encode(e *event.Event) ([]byte, error) {
	switch o.opts.Format {
	case FormatCEF:
		return event.SyslogMessage(e, o.hostnameOf(e), event.CEF(e)), nil
	case FormatLEEF:
		return event.SyslogMessage(e, o.hostnameOf(e), event.LEEF(e)), nil
	}
	return event.Syslog(e, o.hostnameOf(e))
}

func (o *Syslog) deliver(ctx context.Context, events []event.Event) error {
	var buf []byte
	msgs := make([][]byte, len(events))
	for i := range events {
		msg, err := o.encode(&events[i])
		if err != nil {
			return fmt.Errorf("output %s: encode event %s: %w", o.name, events[i].ID, err)
		}
		msgs[i] = msg
		buf = append(buf, event.OctetCounted(msg)...)
	}
	if o.opts.RELP {
		return o.deliverRELP(ctx, events, msgs)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	err := o.retry(ctx, func() (bool, error) {
		err := o.write(buf)
		return err == nil, err
	})
	if err != nil {
		return fmt.Errorf("output %s: send %d events to %s: %w", o.name, len(events), o.addr, err)
	}
	return nil
}

// retry connects and runs step until it reports done, up to Attempts
// times with backoff; it returns the last error. Called with mu held.
func (o *Syslog) retry(ctx context.Context, step func() (done bool, err error)) error {
	var err error
	for attempt := range o.opts.Attempts {
		if o.closed {
			return ErrClosed
		}
		if attempt > 0 && !sleep(ctx, backoff(o.opts.MinBackoff, o.opts.MaxBackoff, attempt)) {
			break
		}
		if err = o.connect(ctx); err != nil {
			continue
		}
		var done bool
		if done, err = step(); done {
			return nil
		}
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

func (o *Syslog) hostnameOf(e *event.Event) string {
	switch {
	case o.opts.Hostname != "":
		return o.opts.Hostname
	case e.Host != "":
		return e.Host
	default:
		return o.hostname
	}
}

// connect makes sure there is a live connection, dialing when there is
// none or the receiver closed it. Dial attempts are spaced by a growing
// backoff. Called with mu held.
func (o *Syslog) connect(ctx context.Context) error {
	if o.conn != nil {
		// A RELP receiver talks back; its acknowledgements tell.
		if o.opts.RELP || alive(o.conn, time.Millisecond) {
			return nil
		}
		_ = o.conn.Close()
		o.conn = nil
	}
	if wait := time.Until(o.nextDial); wait > 0 && !sleep(ctx, wait) {
		return ctx.Err()
	}
	dctx, cancel := context.WithTimeout(ctx, o.opts.DialTimeout)
	defer cancel()
	var conn net.Conn
	var err error
	if o.opts.TLS != nil {
		d := &tls.Dialer{NetDialer: &net.Dialer{KeepAlive: 30 * time.Second}, Config: o.opts.TLS}
		conn, err = d.DialContext(dctx, "tcp", o.addr)
	} else {
		d := &net.Dialer{KeepAlive: 30 * time.Second}
		conn, err = d.DialContext(dctx, "tcp", o.addr)
	}
	if err != nil {
		o.dialFails++
		o.nextDial = time.Now().Add(backoff(o.opts.MinBackoff, o.opts.MaxBackoff, o.dialFails))
		return fmt.Errorf("connect: %w", err)
	}
	if o.opts.TLS != nil && !alive(conn, min(tlsSettle, o.opts.DialTimeout)) {
		// With TLS 1.3 a server that refuses the client certificate says
		// so only after the client's handshake is done: wait for that
		// answer rather than write a batch into a refused connection.
		_ = conn.Close()
		o.dialFails++
		o.nextDial = time.Now().Add(backoff(o.opts.MinBackoff, o.opts.MaxBackoff, o.dialFails))
		return errors.New("connect: receiver closed the connection after the TLS handshake (client certificate refused?)")
	}
	o.dialFails = 0
	o.conn = conn
	return nil
}

// write writes b within the write timeout; on error the connection is
// dropped. Called with mu held.
func (o *Syslog) write(b []byte) error {
	_ = o.conn.SetWriteDeadline(time.Now().Add(o.opts.WriteTimeout))
	_, err := o.conn.Write(b)
	if err != nil {
		_ = o.conn.Close()
		o.conn = nil
		return fmt.Errorf("write: %w", err)
	}
	return nil
}

// tlsSettle is how long a new TLS connection is watched for a refusal
// before the first batch is written.
const tlsSettle = 250 * time.Millisecond

// alive reports whether the receiver still has the connection open,
// waiting at most d. A syslog receiver never sends application data, so a
// read that does not time out means end of stream, a reset, a TLS alert
// or a protocol violation: all reasons to reconnect.
func alive(c net.Conn, d time.Duration) bool {
	if err := c.SetReadDeadline(time.Now().Add(d)); err != nil {
		return false
	}
	var b [1]byte
	_, err := c.Read(b[:])
	_ = c.SetReadDeadline(time.Time{})
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout() && !errors.Is(err, io.EOF)
}

// Close closes the connection; Deliver fails after it.
func (o *Syslog) Close() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.closed = true
	if o.conn == nil {
		return nil
	}
	if o.relp != nil {
		// Say goodbye; the receiver's answer is not waited for.
		_ = o.conn.SetWriteDeadline(time.Now().Add(time.Second))
		_, _ = o.conn.Write(relpFrameBytes(o.relp.txnr, "close", nil))
	}
	err := o.conn.Close()
	o.conn, o.relp = nil, nil
	if err != nil {
		return fmt.Errorf("output %s: close: %w", o.name, err)
	}
	return nil
}

// backoff returns lo doubled attempt-1 times, at most hi.
func backoff(lo, hi time.Duration, attempt int) time.Duration {
	return min(lo<<min(max(attempt-1, 0), 20), hi)
}
