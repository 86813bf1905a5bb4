package bus

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/decnet/decnet/internal/event"
)

// maxPending bounds the messages published and not yet acknowledged on a
// connection: the shipper's window of batches (8 of 1,000) fits in it.
const maxPending = 16384

// PublisherOptions configures a Publisher.
type PublisherOptions struct {
	// TLS is the client configuration for tls:// servers (nil: none).
	TLS *tls.Config
	// AckTimeout bounds the wait for a batch's acknowledgements
	// (default 30 s); a batch not acknowledged in time is an error and
	// the shipper retries it.
	AckTimeout time.Duration
	// Logger receives connection state changes; nil discards them.
	Logger *slog.Logger
	// extra nats.go options (tests: the embedded server in process).
	natsOptions []nats.Option
}

// Publisher publishes the agent's events to JetStream. It implements
// event.Publisher and is safe for concurrent use.
type Publisher struct {
	url     string
	host    string
	subject string
	opts    PublisherOptions
	log     *slog.Logger

	mu     sync.Mutex
	nc     *nats.Conn
	js     jetstream.JetStream
	closed bool
}

// NewPublisher returns a publisher of host's events to the NATS server(s)
// at url (comma-separated for a cluster). It connects on the first
// Publish.
func NewPublisher(url, host string, opts PublisherOptions) (*Publisher, error) {
	subject, err := Subject(host)
	if err != nil {
		return nil, fmt.Errorf("bus: %w", err)
	}
	if url == "" {
		return nil, errors.New("bus: publisher needs a NATS URL")
	}
	if opts.AckTimeout <= 0 {
		opts.AckTimeout = 30 * time.Second
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Publisher{url: url, host: host, subject: subject, opts: opts,
		log: log.With("component", "bus_publisher", "host_id", host)}, nil
}

// connect returns the JetStream context, connecting on first use. The
// connection retries and reconnects forever on its own; until it is up,
// publishes fail by timeout and the shipper retries them.
func (p *Publisher) connect() (jetstream.JetStream, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, errors.New("bus: publisher is closed")
	}
	if p.js != nil {
		return p.js, nil
	}
	o := []nats.Option{
		nats.Name("decnet-agent " + p.host),
		nats.CustomInboxPrefix(AgentInboxPrefix(p.host)),
		nats.RetryOnFailedConnect(true),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(time.Second),
		nats.ReconnectJitter(500*time.Millisecond, time.Second),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				p.log.Warn("bus disconnected", "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			p.log.Info("bus reconnected", "url", nc.ConnectedUrlRedacted())
		}),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			p.log.Warn("bus error", "err", err)
		}),
	}
	if p.opts.TLS != nil {
		o = append(o, nats.Secure(p.opts.TLS))
	}
	o = append(o, p.opts.natsOptions...)
	nc, err := nats.Connect(p.url, o...)
	if err != nil {
		return nil, fmt.Errorf("bus: connect %s: %w", p.url, err)
	}
	js, err := jetstream.New(nc,
		jetstream.WithPublishAsyncMaxPending(maxPending),
		jetstream.WithPublishAsyncTimeout(p.opts.AckTimeout))
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("bus: %w", err)
	}
	p.nc, p.js = nc, js
	return js, nil
}

// Publish sends every event to decnet.events.<host> with its id as the
// message id and returns nil only when JetStream has acknowledged all of
// them (a duplicate within the stream's window counts: it is stored
// already). The host of each event is set to the publisher's: the subject
// is the host's authenticated identity, and the document agrees with it.
func (p *Publisher) Publish(ctx context.Context, events []event.Event) error {
	if len(events) == 0 {
		return nil
	}
	js, err := p.connect()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, p.opts.AckTimeout)
	defer cancel()
	return PublishTo(ctx, js, p.subject, p.host, events)
}

// PublishAsync sends every event like Publish but returns once they are
// sent; wait blocks until JetStream has acknowledged all of them (nil)
// or one failed, for at most the acknowledgement timeout from the call.
// The shipper keeps several batches in flight with it.
func (p *Publisher) PublishAsync(ctx context.Context, events []event.Event) (wait func() error, err error) {
	return p.async(ctx, len(events), func(js jetstream.JetStream) ([]jetstream.PubAckFuture, error) {
		return send(js, p.subject, p.host, events)
	})
}

// PublishRawAsync is PublishAsync for events as JSON documents: docs[i]
// is the JSON object of the event whose id is ids[i]. The host is
// appended to each as its last key, so that it wins over any "host" the
// document holds (a decoder keeps the last of duplicate keys).
func (p *Publisher) PublishRawAsync(ctx context.Context, ids []string, docs [][]byte) (wait func() error, err error) {
	if len(ids) != len(docs) {
		return nil, errors.New("bus: ids and documents differ in number")
	}
	return p.async(ctx, len(ids), func(js jetstream.JetStream) ([]jetstream.PubAckFuture, error) {
		futures := make([]jetstream.PubAckFuture, 0, len(ids))
		for i, doc := range docs {
			data, err := withHost(doc, p.host)
			if err == nil {
				msg := &nats.Msg{Subject: p.subject, Data: data, Header: nats.Header{}}
				var f jetstream.PubAckFuture
				if f, err = js.PublishMsgAsync(msg, jetstream.WithMsgID(ids[i])); err == nil {
					futures = append(futures, f)
					continue
				}
			}
			return nil, fmt.Errorf("bus: publish event %s: %w", ids[i], err)
		}
		return futures, nil
	})
}

// async runs send (n messages) on the connection and returns the wait for
// its acknowledgements, bounded by the acknowledgement timeout.
func (p *Publisher) async(ctx context.Context, n int, send func(jetstream.JetStream) ([]jetstream.PubAckFuture, error)) (func() error, error) {
	if n == 0 {
		return func() error { return nil }, nil
	}
	js, err := p.connect()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, p.opts.AckTimeout)
	futures, err := send(js)
	if err != nil {
		cancel()
		return nil, err
	}
	return func() error {
		defer cancel()
		return awaitAll(ctx, futures)
	}, nil
}

// withHost returns a copy of the JSON object doc with "host" set to host
// as its last key. Host ids need no escaping (pki.ValidHostID).
func withHost(doc []byte, host string) ([]byte, error) {
	doc = bytes.TrimSpace(doc)
	if len(doc) < 2 || doc[0] != '{' || doc[len(doc)-1] != '}' {
		return nil, errors.New("not a JSON object")
	}
	body := bytes.TrimSpace(doc[1 : len(doc)-1])
	out := make([]byte, 0, len(doc)+len(host)+12)
	out = append(out, '{')
	out = append(out, body...)
	if len(body) > 0 {
		out = append(out, ',')
	}
	out = append(out, `"host":"`...)
	out = append(out, host...)
	return append(out, `"}`...), nil
}

// PublishTo sends every event to subject with its id as the message id,
// the host of each set to host, and returns nil only when JetStream has
// acknowledged all of them (a duplicate within the stream's window counts:
// it is stored already). ctx bounds the wait for acknowledgements. The
// master publishes what it makes itself (raised alerts) with it.
func PublishTo(ctx context.Context, js jetstream.JetStream, subject, host string, events []event.Event) error {
	futures, err := send(js, subject, host, events)
	if err != nil {
		return err
	}
	return awaitAll(ctx, futures)
}

// send publishes every event without waiting for acknowledgements.
func send(js jetstream.JetStream, subject, host string, events []event.Event) ([]jetstream.PubAckFuture, error) {
	futures := make([]jetstream.PubAckFuture, 0, len(events))
	for i := range events {
		e := events[i]
		e.Host = host
		data, err := event.AppendJSON(nil, &e)
		if err != nil {
			return nil, fmt.Errorf("bus: encode event %s: %w", e.ID, err)
		}
		msg := &nats.Msg{Subject: subject, Data: data, Header: nats.Header{}}
		f, err := js.PublishMsgAsync(msg, jetstream.WithMsgID(e.ID))
		if err != nil {
			return nil, fmt.Errorf("bus: publish event %s: %w", e.ID, err)
		}
		futures = append(futures, f)
	}
	return futures, nil
}

// awaitAll waits for every future's acknowledgement.
func awaitAll(ctx context.Context, futures []jetstream.PubAckFuture) error {
	for _, f := range futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			return fmt.Errorf("bus: publish event %s: %w", f.Msg().Header.Get(jetstream.MsgIDHeader), err)
		case <-ctx.Done():
			return fmt.Errorf("bus: wait for acknowledgements: %w", ctx.Err())
		}
	}
	return nil
}

// Close drains nothing: unacknowledged batches are the shipper's to
// retry. It closes the connection.
func (p *Publisher) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	if p.nc != nil {
		p.nc.Close()
		p.nc, p.js = nil, nil
	}
	return nil
}
