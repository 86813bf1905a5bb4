package output

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/pki"
	"github.com/decnet/decnet/internal/testenv"
)

// syslogReceiver is a TCP (or TLS) syslog server that parses
// octet-counted frames (RFC 6587) and checks each is one well-formed
// RFC 5424 message whose SD id matches its JSON document.
type syslogReceiver struct {
	t    *testing.T
	ln   net.Listener
	got  *idSet
	docs sync.Map // id -> event.Event

	mu    sync.Mutex
	conns map[net.Conn]bool
	wg    sync.WaitGroup
}

func newSyslogReceiver(t *testing.T, addr string, cfg *tls.Config) *syslogReceiver {
	t.Helper()
	r := &syslogReceiver{t: t, got: newIDSet(), conns: map[net.Conn]bool{}}
	r.listen(addr, cfg)
	t.Cleanup(r.stop)
	return r
}

func (r *syslogReceiver) listen(addr string, cfg *tls.Config) {
	r.t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		r.t.Fatal(err)
	}
	if cfg != nil {
		ln = tls.NewListener(ln, cfg)
	}
	r.ln = ln
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			r.mu.Lock()
			r.conns[c] = true
			r.mu.Unlock()
			r.wg.Add(1)
			go func() {
				defer r.wg.Done()
				defer c.Close()
				r.serve(c)
			}()
		}
	}()
}

// stop closes the listener and every connection, like a receiver
// restart, and waits for the goroutines.
func (r *syslogReceiver) stop() {
	_ = r.ln.Close()
	r.mu.Lock()
	for c := range r.conns {
		_ = c.Close()
	}
	r.conns = map[net.Conn]bool{}
	r.mu.Unlock()
	r.wg.Wait()
}

func (r *syslogReceiver) addr() string { return r.ln.Addr().String() }

func (r *syslogReceiver) serve(c net.Conn) {
	if tc, ok := c.(*tls.Conn); ok {
		if err := tc.Handshake(); err != nil {
			r.t.Logf("syslog receiver: handshake refused: %v", err)
			return
		}
	}
	br := bufio.NewReader(c)
	for {
		frame, err := readFrame(br)
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				r.t.Errorf("syslog receiver: %v", err)
			}
			return
		}
		e, err := parseSyslog(frame)
		if err != nil {
			r.t.Errorf("syslog receiver: %v in frame %q", err, frame)
			return
		}
		r.docs.Store(e.ID, e)
		r.got.add(e.ID)
	}
}

// readFrame reads one "MSG-LEN SP SYSLOG-MSG" frame.
func readFrame(br *bufio.Reader) ([]byte, error) {
	var n int
	for i := 0; ; i++ {
		c, err := br.ReadByte()
		if err != nil {
			if i == 0 {
				return nil, err
			}
			return nil, fmt.Errorf("frame length: %w", err)
		}
		if c == ' ' && i > 0 {
			break
		}
		if c < '0' || c > '9' || i > 7 || (i == 0 && c == '0') {
			return nil, fmt.Errorf("bad frame length byte %q", c)
		}
		n = n*10 + int(c-'0')
	}
	frame := make([]byte, n)
	if _, err := io.ReadFull(br, frame); err != nil {
		return nil, fmt.Errorf("frame of %d bytes: %w", n, err)
	}
	return frame, nil
}

// parseSyslog checks an RFC 5424 message with one decnet SD element and
// returns its JSON document, checking the SD id agrees with it.
func parseSyslog(msg []byte) (event.Event, error) {
	var e event.Event
	s := string(msg)
	if strings.ContainsAny(s, "\n\r") {
		return e, errors.New("line break inside a message")
	}
	if !strings.HasPrefix(s, "<") {
		return e, errors.New("no PRI")
	}
	hdr := strings.SplitN(s, " ", 7)
	if len(hdr) < 7 || !strings.HasSuffix(hdr[0], ">1") || hdr[3] != "decnet" || hdr[4] != "-" {
		return e, errors.New("bad header")
	}
	sd := hdr[6]
	const prefix = "[decnet@32473"
	if !strings.HasPrefix(sd, prefix) {
		return e, errors.New("no decnet SD element")
	}
	params := map[string]string{}
	i := len(prefix)
	for {
		if i >= len(sd) {
			return e, errors.New("unterminated SD element")
		}
		if sd[i] == ']' {
			i++
			break
		}
		if sd[i] != ' ' {
			return e, fmt.Errorf("bad SD at %d", i)
		}
		eq := strings.IndexByte(sd[i:], '=')
		if eq < 0 || i+eq+1 >= len(sd) || sd[i+eq+1] != '"' {
			return e, errors.New("bad SD param")
		}
		name := sd[i+1 : i+eq]
		j := i + eq + 2
		var val strings.Builder
		for ; j < len(sd) && sd[j] != '"'; j++ {
			if sd[j] == '\\' && j+1 < len(sd) && strings.IndexByte(`"\]`, sd[j+1]) >= 0 {
				j++
			} else if sd[j] == ']' {
				return e, errors.New("unescaped ] in SD value")
			}
			val.WriteByte(sd[j])
		}
		if j >= len(sd) {
			return e, errors.New("unterminated SD value")
		}
		params[name] = val.String()
		i = j + 1
	}
	if !strings.HasPrefix(sd[i:], " ") {
		return e, errors.New("no MSG")
	}
	if err := json.Unmarshal([]byte(sd[i+1:]), &e); err != nil {
		return e, fmt.Errorf("MSG: %w", err)
	}
	if params["id"] != e.ID || params["type"] != e.Type || hdr[5] != e.Type {
		return e, fmt.Errorf("SD id %q type %q, MSGID %q, document %q %q", params["id"], params["type"], hdr[5], e.ID, e.Type)
	}
	return e, nil
}

func deliverAll(t *testing.T, o Output, events []event.Event, batch int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i := 0; i < len(events); i += batch {
		if err := o.Deliver(ctx, events[i:min(i+batch, len(events))]); err != nil {
			t.Fatalf("deliver batch at %d: %v", i, err)
		}
	}
}

func checkSyslogDocs(t *testing.T, r *syslogReceiver, events []event.Event) {
	t.Helper()
	for _, want := range events {
		v, ok := r.docs.Load(want.ID)
		if !ok {
			t.Fatalf("event %s not received", want.ID)
		}
		got := v.(event.Event)
		if got.Fields["input"] != want.Fields["input"] || got.Credential.Principal != want.Credential.Principal || got.Session != want.Session {
			t.Fatalf("event %s: hostile strings changed: got %q want %q", want.ID, got.Fields["input"], want.Fields["input"])
		}
	}
}

func TestSyslogTCP(t *testing.T) {
	t.Parallel()
	r := newSyslogReceiver(t, "127.0.0.1:0", nil)
	o, err := NewSyslog("siem", r.addr(), SyslogOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	events := makeEvents(500)
	deliverAll(t, o, events, 64)
	testenv.Eventually(t, 10*time.Second, "every event at the receiver", func() bool { return r.got.len() == len(events) })
	if n := r.got.missing(ids(events)); n != 0 {
		t.Fatalf("%d events missing", n)
	}
	checkSyslogDocs(t, r, events)
	if st := o.Status(); st.Delivered != uint64(len(events)) || st.ConsecutiveFailures != 0 || st.LastDelivery.IsZero() {
		t.Fatalf("status %+v", st)
	}
}

// TestSyslogReconnect: a receiver that is down fails the batch; once it
// is back (and after it restarts, closing the connection) batches arrive
// on a new connection.
func TestSyslogReconnect(t *testing.T) {
	t.Parallel()
	r := newSyslogReceiver(t, "127.0.0.1:0", nil)
	addr := r.addr()
	o, err := NewSyslog("siem", addr, SyslogOptions{Attempts: 2, MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	first := makeEvents(10)
	deliverAll(t, o, first, 10)
	testenv.Eventually(t, 10*time.Second, "first batch", func() bool { return r.got.len() == 10 })

	r.stop() // down: the connection is closed and nothing listens
	ctx := context.Background()
	second := makeEvents(10)
	if err := o.Deliver(ctx, second); err == nil {
		t.Fatal("deliver to a stopped receiver succeeded")
	}
	if st := o.Status(); st.ConsecutiveFailures != 1 || st.LastError == "" {
		t.Fatalf("status after failure %+v", st)
	}

	r.listen(addr, nil) // back, same address
	testenv.Eventually(t, 10*time.Second, "delivery after restart", func() bool { return o.Deliver(ctx, second) == nil })
	third := makeEvents(10)
	deliverAll(t, o, third, 10)
	all := append(append(ids(first), ids(second)...), ids(third)...)
	testenv.Eventually(t, 10*time.Second, "every event", func() bool { return r.got.missing(all) == 0 })

	// A restart with the connection open: the probe notices the close.
	r.stop()
	r.listen(addr, nil)
	fourth := makeEvents(10)
	deliverAll(t, o, fourth, 10)
	testenv.Eventually(t, 10*time.Second, "batch after a receiver restart", func() bool { return r.got.missing(ids(fourth)) == 0 })
	if st := o.Status(); st.ConsecutiveFailures != 0 {
		t.Fatalf("status %+v", st)
	}
}

// TestSyslogTLS: RFC 5425 with certificates from the DECNET PKI, the
// receiver requiring a client certificate; built from a Config.
func TestSyslogTLS(t *testing.T) {
	t.Parallel()
	ca, err := pki.NewCA("test CA", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	srvCrt, srvKey, err := ca.Issue(pki.Master(), []string{"localhost"}, []net.IP{net.ParseIP("127.0.0.1")}, time.Hour, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	srvCert, err := tls.X509KeyPair(srvCrt, srvKey)
	if err != nil {
		t.Fatal(err)
	}
	cliCrt, cliKey, err := ca.Issue(pki.Master(), nil, nil, time.Hour, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	r := newSyslogReceiver(t, "127.0.0.1:0", &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{srvCert},
		ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: ca.Pool()})

	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	caPath := write("ca.crt", certPEM(ca))
	cfg := Config{Name: "siem-tls", Kind: KindSyslog, Address: r.addr(), TLS: true, CA: caPath,
		Cert: write("client.crt", cliCrt), Key: write("client.key", cliKey)}
	o, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	events := makeEvents(300)
	deliverAll(t, o, events, 100)
	testenv.Eventually(t, 10*time.Second, "every event over TLS", func() bool { return r.got.missing(ids(events)) == 0 })
	checkSyslogDocs(t, r, events)

	// Without the client certificate the receiver refuses the handshake.
	cfg.Name, cfg.Cert, cfg.Key = "siem-nocert", "", ""
	bare, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer bare.Close()
	if err := bare.Deliver(context.Background(), makeEvents(1)); err == nil {
		t.Fatal("delivered without the client certificate the receiver requires")
	}
	// A receiver certificate from another CA is refused by the output.
	other, err := pki.NewCA("other CA", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Name, cfg.CA = "siem-otherca", write("other.crt", certPEM(other))
	wrong, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer wrong.Close()
	if err := wrong.Deliver(context.Background(), makeEvents(1)); err == nil {
		t.Fatal("delivered to a receiver the CA does not vouch for")
	}
}

func certPEM(ca *pki.CA) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Cert.Raw})
}
