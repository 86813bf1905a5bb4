package output

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/decnet/decnet/internal/event"
)

// Webhook request headers.
const (
	// HeaderTimestamp carries the request's time in unix seconds.
	HeaderTimestamp = "X-DECNET-Timestamp"
	// HeaderSignature carries "sha256=" and the hex HMAC-SHA256, keyed by
	// the webhook's secret, of the timestamp, ".", and the body.
	HeaderSignature = "X-DECNET-Signature"
)

// MinSecretLen is the shortest webhook secret Config accepts.
const MinSecretLen = 16

// DefaultWebhookOptions are applied to the zero fields of WebhookOptions.
var DefaultWebhookOptions = WebhookOptions{
	MaxFailures: 10,
	Timeout:     10 * time.Second,
	Attempts:    4,
	MinBackoff:  500 * time.Millisecond,
	MaxBackoff:  8 * time.Second,
	MaxBody:     4 << 20,
}

// WebhookOptions configures a Webhook output.
type WebhookOptions struct {
	// MaxFailures disables the webhook after this many consecutive failed
	// deliveries (default 10).
	MaxFailures int
	// Timeout bounds one request, response included (default 10 s).
	Timeout time.Duration
	// Attempts is how many requests Deliver makes for a batch before it
	// fails (default 4).
	Attempts int
	// MinBackoff and MaxBackoff bound the wait between attempts,
	// doubling from min to max (defaults 500 ms and 8 s).
	MinBackoff, MaxBackoff time.Duration
	// MaxBody splits a batch whose JSON exceeds it into several requests
	// (default 4 MiB); an event larger than it is sent alone.
	MaxBody int
	// TLS is the client configuration for https URLs (CA pool, client
	// certificate); nil uses the system roots.
	TLS *tls.Config
	// AllowPrivate allows loopback, link-local and private addresses,
	// which the dial refuses otherwise (see publicOnly).
	AllowPrivate bool
}

// maxResponse bounds what is read of a response body.
const maxResponse = 64 << 10

// Webhook POSTs each batch as a JSON array of event documents to a URL,
// signed with a per-webhook secret: HeaderTimestamp is the unix time of
// the request and HeaderSignature is "sha256=" followed by the hex
// HMAC-SHA256 of timestamp + "." + body (see Signature). Any 2xx status is
// a delivery. Deliver retries a failed request with exponential backoff
// up to Attempts times; a status of 408, 425, 429 or 5xx, or a transport
// error, is retried, any other status fails the batch at once. Responses
// are read up to 64 KiB. A redirect is followed only to the same scheme
// and host (at most 3); any other answers the 3xx, which is a failure.
//
// After MaxFailures consecutive failed deliveries the webhook disables
// itself: Deliver returns ErrDisabled without sending, and Run stops
// consuming, so the output's position in the stream stays where it was.
// Enable switches it back on and Run resumes with the backlog. The
// disabled state lives in this value (Status reports it), not across
// restarts.
type Webhook struct {
	base
	url    string
	opts   WebhookOptions
	client *http.Client
	proto  protocol

	mu       sync.Mutex
	disabled bool
	enabled  chan struct{} // closed while enabled
	closed   bool
}

var (
	_ Output   = (*Webhook)(nil)
	_ Reporter = (*Webhook)(nil)
	_ Tester   = (*Webhook)(nil)
	_ Switch   = (*Webhook)(nil)
)

// NewWebhook returns a Webhook output named name posting to rawURL (http
// or https) signed with secret. It does not connect.
func NewWebhook(name, rawURL string, secret []byte, opts WebhookOptions) (*Webhook, error) {
	if len(secret) == 0 {
		return nil, errors.New("output: webhook needs a secret")
	}
	return newHTTPOutput(name, KindWebhook, rawURL, signedJSON{secret: bytes.Clone(secret)}, opts)
}

// newHTTPOutput is an output POSTing batches to rawURL in proto's format,
// with the webhook's retries, backoff, self-disabling and address guard.
func newHTTPOutput(name, kind, rawURL string, proto protocol, opts WebhookOptions) (*Webhook, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("output: %s URL: %w", kind, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("output: %s URL %q: want http(s)://host/path", kind, rawURL)
	}
	d := DefaultWebhookOptions
	opts.MaxFailures = orDefault(opts.MaxFailures, d.MaxFailures)
	opts.Timeout = orDefault(opts.Timeout, d.Timeout)
	retryDefaults(&opts.Attempts, &opts.MinBackoff, &opts.MaxBackoff, d.Attempts, d.MinBackoff, d.MaxBackoff)
	opts.MaxBody = orDefault(opts.MaxBody, d.MaxBody)
	client := GuardedHTTPClient(opts.AllowPrivate, opts.Timeout, opts.TLS)
	enabled := make(chan struct{})
	close(enabled)
	return &Webhook{base: newBase(name, kind), url: u.String(), opts: opts, client: client, proto: proto,
		enabled: enabled}, nil
}

// sameOrigin follows at most 3 redirects, and only to the scheme and host
// of the original request.
func sameOrigin(req *http.Request, via []*http.Request) error {
	first := via[0].URL
	if len(via) > 3 || req.URL.Scheme != first.Scheme || req.URL.Host != first.Host {
		return http.ErrUseLastResponse
	}
	return nil
}

// Signature returns the value of HeaderSignature for a request with the
// given timestamp header and body: "sha256=" and the hex HMAC-SHA256,
// keyed by secret, of timestamp + "." + body. A receiver recomputes it,
// compares in constant time (hmac.Equal), and rejects timestamps too far
// from its clock to stop replays.
func Signature(secret []byte, timestamp string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(timestamp))
	m.Write([]byte{'.'})
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Enabled returns a channel closed once the webhook is enabled.
func (o *Webhook) Enabled() <-chan struct{} {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.enabled
}

// Enable switches a disabled webhook back on and clears its failure
// count; Run then resumes from the output's position in the stream.
func (o *Webhook) Enable() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.disabled {
		return
	}
	o.disabled = false
	o.h.setDisabled(false)
	close(o.enabled)
}

// Disable switches the webhook off, as too many failures do.
func (o *Webhook) Disable() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.disableLocked()
}

func (o *Webhook) disableLocked() {
	if o.disabled {
		return
	}
	o.disabled = true
	o.enabled = make(chan struct{})
	o.h.setDisabled(true)
}

// Deliver posts the batch (as several requests when it exceeds MaxBody).
// It returns an error matching ErrDisabled when the webhook is, or
// becomes, disabled.
func (o *Webhook) Deliver(ctx context.Context, events []event.Event) error {
	o.mu.Lock()
	closed, disabled := o.closed, o.disabled
	o.mu.Unlock()
	switch {
	case closed:
		return fmt.Errorf("output %s: %w", o.name, ErrClosed)
	case disabled:
		return fmt.Errorf("output %s: %w", o.name, ErrDisabled)
	}
	err := o.send(ctx, events, o.opts.Attempts)
	if err == nil {
		o.h.delivered(len(events))
		return nil
	}
	if ctx.Err() != nil {
		// Shutting down: not the receiver's failure.
		return err
	}
	if n := o.h.failed(err); n >= o.opts.MaxFailures {
		o.mu.Lock()
		o.disableLocked()
		o.mu.Unlock()
		return fmt.Errorf("%w after %d consecutive failures: %w", ErrDisabled, n, err)
	}
	return err
}

// Test posts a sample event (type TestEventType) once, whether or not the
// webhook is disabled, without counting towards its failures.
func (o *Webhook) Test(ctx context.Context) error {
	return o.send(ctx, []event.Event{sampleEvent()}, 1)
}

func (o *Webhook) send(ctx context.Context, events []event.Event, attempts int) error {
	if err := o.proto.prepare(ctx, o); err != nil {
		return fmt.Errorf("output %s: %w", o.name, err)
	}
	bodies, err := o.proto.encode(events, o.opts.MaxBody)
	if err != nil {
		return fmt.Errorf("output %s: %w", o.name, err)
	}
	for _, body := range bodies {
		if err := o.post(ctx, body, attempts); err != nil {
			return fmt.Errorf("output %s: post %d events: %w", o.name, len(events), err)
		}
	}
	return nil
}

// protocol is what differs between the HTTP outputs: the body format,
// the authentication headers and what a successful answer is.
type protocol interface {
	// prepare runs before each batch (an index template, once).
	prepare(ctx context.Context, o *Webhook) error
	// encode splits events into request bodies of at most maxBody bytes
	// (one event per body when it alone exceeds maxBody).
	encode(events []event.Event, maxBody int) ([][]byte, error)
	// request sets the URL, headers and authentication of a request.
	request(req *http.Request, body []byte)
	// accept judges a 2xx answer's body: nil delivered, retryable{...}
	// worth another attempt, any other error fails the batch.
	accept(body []byte) error
}

// signedJSON is the webhook: JSON arrays signed with the secret.
type signedJSON struct{ secret []byte }

func (signedJSON) prepare(context.Context, *Webhook) error { return nil }

func (signedJSON) encode(events []event.Event, maxBody int) ([][]byte, error) {
	return splitBodies(events, maxBody, []byte{'['}, []byte{','}, []byte{']'}, func(e *event.Event) ([]byte, error) {
		line, err := event.JSONLine(e)
		return bytes.TrimSuffix(line, []byte{'\n'}), err
	})
}

func (p signedJSON) request(req *http.Request, body []byte) {
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "decnet-webhook/1")
	req.Header.Set(HeaderTimestamp, ts)
	req.Header.Set(HeaderSignature, Signature(p.secret, ts, body))
}

func (signedJSON) accept([]byte) error { return nil }

// splitBodies encodes each event with enc and joins them between open
// and close with sep, starting a new body before one would pass maxBody.
func splitBodies(events []event.Event, maxBody int, open, sep, close []byte, enc func(*event.Event) ([]byte, error)) ([][]byte, error) {
	var bodies [][]byte
	body := bytes.Clone(open)
	n := 0
	for i := range events {
		item, err := enc(&events[i])
		if err != nil {
			return nil, fmt.Errorf("encode event %s: %w", events[i].ID, err)
		}
		if n > 0 && len(body)+len(sep)+len(item)+len(close) > maxBody {
			bodies = append(bodies, append(body, close...))
			body, n = bytes.Clone(open), 0
		}
		if n > 0 {
			body = append(body, sep...)
		}
		body = append(body, item...)
		n++
	}
	return append(bodies, append(body, close...)), nil
}

// retryable marks a failure worth another attempt.
type retryable struct{ err error }

func (r retryable) Error() string { return r.err.Error() }
func (r retryable) Unwrap() error { return r.err }

func (o *Webhook) post(ctx context.Context, body []byte, attempts int) error {
	var err error
	for attempt := range attempts {
		if attempt > 0 && !sleep(ctx, backoff(o.opts.MinBackoff, o.opts.MaxBackoff, attempt)) {
			return ctx.Err()
		}
		err = o.postOnce(ctx, body)
		var r retryable
		if err == nil || !errors.As(err, &r) || ctx.Err() != nil {
			break
		}
	}
	return err
}

// StatusError is a response that was not 2xx.
type StatusError struct{ Code int }

func (e *StatusError) Error() string { return "HTTP status " + strconv.Itoa(e.Code) }

func (o *Webhook) postOnce(ctx context.Context, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	o.proto.request(req, body)
	resp, err := o.client.Do(req)
	if err != nil {
		return retryable{err}
	}
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponse))
	_ = resp.Body.Close()
	switch c := resp.StatusCode; {
	case c >= 200 && c < 300:
		return o.proto.accept(answer)
	case c == http.StatusRequestTimeout, c == http.StatusTooEarly, c == http.StatusTooManyRequests, c >= 500:
		return retryable{&StatusError{Code: c}}
	default:
		return &StatusError{Code: c}
	}
}

// Close drops idle connections; Deliver fails after it.
func (o *Webhook) Close() error {
	o.mu.Lock()
	o.closed = true
	o.mu.Unlock()
	o.client.CloseIdleConnections()
	return nil
}

// GuardedHTTPClient is the HTTP client of the outputs, for anything that
// sends to an address an operator typed: it refuses loopback, private
// and link-local destinations (after DNS resolution) unless
// allowPrivate, bounds every phase by timeout, and follows redirects
// only to the same origin. tlsConf nil uses the system roots.
func GuardedHTTPClient(allowPrivate bool, timeout time.Duration, tlsConf *tls.Config) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = guardedDialer(&net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}, allowPrivate).DialContext
	tr.TLSHandshakeTimeout = timeout
	tr.ResponseHeaderTimeout = timeout
	tr.MaxResponseHeaderBytes = maxResponse
	if tlsConf != nil {
		tr.TLSClientConfig = tlsConf.Clone()
		if tr.TLSClientConfig.MinVersion == 0 {
			tr.TLSClientConfig.MinVersion = tls.VersionTLS12
		}
	}
	return &http.Client{Transport: tr, Timeout: timeout, CheckRedirect: sameOrigin}
}
