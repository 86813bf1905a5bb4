// Package textline is the line side of a text protocol session (IMAP,
// POP3): bounded line reads, counted literal reads, replies, the TLS
// upgrade in the middle of a session (STARTTLS, STLS) and the SASL PLAIN
// and LOGIN answers, so each protocol package writes only its grammar.
package textline

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"io"
	"strings"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/service/serve"
	"github.com/decnet/decnet/internal/service/tlsserver"
)

// ErrTooLong is returned for a line over the bound; the line has been read
// to its end, so the session can go on.
var ErrTooLong = errors.New("line too long")

// Conn is one session's line reader and writer.
type Conn struct {
	*serve.Conn
	r   *bufio.Reader
	w   *bufio.Writer
	max int
	// TLS is set once the session runs over TLS.
	TLS bool
}

// New wraps c, reading lines of at most max bytes.
func New(c *serve.Conn, max int) *Conn {
	return &Conn{Conn: c, r: bufio.NewReaderSize(c, max+2), w: bufio.NewWriter(c), max: max}
}

// ReadLine reads one line without its ending.
func (l *Conn) ReadLine() (string, error) {
	line, err := l.r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		for errors.Is(err, bufio.ErrBufferFull) {
			_, err = l.r.ReadSlice('\n')
		}
		if err != nil {
			return "", err
		}
		return "", ErrTooLong
	}
	if err != nil {
		return "", err
	}
	return string(bytes.TrimRight(line, "\r\n")), nil
}

// ReadN reads exactly n bytes (an IMAP literal); the caller bounds n.
func (l *Conn) ReadN(n int) ([]byte, error) {
	b := make([]byte, n)
	_, err := io.ReadFull(l.r, b)
	return b, err
}

// Send writes lines, each ended by CRLF, and flushes.
func (l *Conn) Send(lines ...string) {
	for _, s := range lines {
		l.w.WriteString(s)
		l.w.WriteString("\r\n")
	}
	_ = l.w.Flush()
}

// Raw writes bytes as they are (a message body) without flushing.
func (l *Conn) Raw(b []byte) { l.w.Write(b) }

// Flush sends what Raw buffered.
func (l *Conn) Flush() { _ = l.w.Flush() }

// StartTLS runs the server side of a TLS handshake on the connection,
// reports it as a <ns>.tls.handshake event with the client's fingerprint,
// and from then reads and writes through TLS. False means the session is
// over.
func (l *Conn) StartTLS(ctx context.Context, cfg *tls.Config, ns string, port uint16) bool {
	tc, _, fields, err := tlsserver.Handshake(ctx, l.Conn, cfg)
	fields["port"] = int(port)
	outcome := "success"
	if err != nil {
		outcome = "failure"
	}
	l.Session.Emit(event.Event{Type: ns + ".tls.handshake", Outcome: outcome, Fields: fields})
	if err != nil {
		return false
	}
	l.TLS, l.r, l.w = true, bufio.NewReaderSize(tc, l.max+2), bufio.NewWriter(tc)
	return true
}

// Errors of a SASL exchange.
var (
	ErrAborted = errors.New("authentication aborted")
	ErrDecode  = errors.New("invalid base64 data")
	ErrSyntax  = errors.New("invalid SASL response")
)

// Answer returns a SASL response: given (an initial response), or when it
// is empty the client's answer to a "+ prompt" continuation, decoded.
func (l *Conn) Answer(prompt, given string) ([]byte, error) {
	if given == "" {
		l.Send("+ " + prompt)
		line, err := l.ReadLine()
		if err != nil {
			return nil, err
		}
		given = line
	}
	return Decode(given)
}

// Decode reads one base64 SASL response; "*" aborts (RFC 4422).
func Decode(resp string) ([]byte, error) {
	resp = strings.TrimSpace(resp)
	switch resp {
	case "*":
		return nil, ErrAborted
	case "=":
		return nil, nil
	}
	b, err := base64.StdEncoding.DecodeString(resp)
	if err != nil {
		return nil, ErrDecode
	}
	return b, nil
}

// Plain splits a SASL PLAIN response: authzid NUL authcid NUL password.
func Plain(resp []byte) (user, pass string, err error) {
	parts := bytes.SplitN(resp, []byte{0}, 3)
	if len(parts) != 3 {
		return "", "", ErrSyntax
	}
	return string(parts[1]), string(parts[2]), nil
}
