package output

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/decnet/decnet/internal/event"
)

// KindKafka is the Kafka output.
const KindKafka = "kafka"

// KafkaOptions configures a Kafka output.
type KafkaOptions struct {
	// TLS connects to the brokers with TLS (nil: plaintext).
	TLS *tls.Config
	// Timeout bounds the produce of one batch (default 30 s).
	Timeout time.Duration
}

// Kafka produces each event as one record to a topic: key the event id
// (so a compacted topic or a consumer deduplicates on it), value the
// event document, headers the type, decky and service. The producer is
// idempotent and waits for every in-sync replica, so a batch counts as
// delivered only once the cluster has it; a failed batch is redelivered
// by the bus.
type Kafka struct {
	base
	topic string
	opts  KafkaOptions

	mu     sync.Mutex
	client *kgo.Client
	closed bool
}

var (
	_ Output   = (*Kafka)(nil)
	_ Reporter = (*Kafka)(nil)
	_ Tester   = (*Kafka)(nil)
)

// NewKafka returns a Kafka output producing to topic on the brokers
// (host:port, comma-separated). It connects on the first Deliver.
func NewKafka(name, brokers, topic string, opts KafkaOptions) (*Kafka, error) {
	if strings.TrimSpace(brokers) == "" || topic == "" {
		return nil, errors.New("output: kafka needs brokers and a topic")
	}
	opts.Timeout = orDefault(opts.Timeout, 30*time.Second)
	seeds := strings.Split(brokers, ",")
	kopts := []kgo.Opt{kgo.SeedBrokers(seeds...), kgo.DefaultProduceTopic(topic), kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerLinger(5 * time.Millisecond), kgo.ProduceRequestTimeout(opts.Timeout), kgo.ClientID("decnet"),
		kgo.ProducerBatchCompression(kgo.SnappyCompression(), kgo.NoCompression())}
	if opts.TLS != nil {
		kopts = append(kopts, kgo.DialTLSConfig(opts.TLS.Clone()))
	}
	cl, err := kgo.NewClient(kopts...)
	if err != nil {
		return nil, fmt.Errorf("output: kafka: %w", err)
	}
	return &Kafka{base: newBase(name, KindKafka), topic: topic, opts: opts, client: cl}, nil
}

// Deliver produces the batch and waits for the cluster's acknowledgement
// of every record.
func (o *Kafka) Deliver(ctx context.Context, events []event.Event) error {
	return o.account(len(events), o.produce(ctx, events))
}

// Test produces a sample event (type TestEventType).
func (o *Kafka) Test(ctx context.Context) error {
	return o.produce(ctx, []event.Event{sampleEvent()})
}

func (o *Kafka) produce(ctx context.Context, events []event.Event) error {
	o.mu.Lock()
	cl, closed := o.client, o.closed
	o.mu.Unlock()
	if closed {
		return fmt.Errorf("output %s: %w", o.name, ErrClosed)
	}
	recs := make([]*kgo.Record, len(events))
	for i := range events {
		e := &events[i]
		doc, err := event.JSONLine(e)
		if err != nil {
			return fmt.Errorf("output %s: encode event %s: %w", o.name, e.ID, err)
		}
		recs[i] = &kgo.Record{Key: []byte(e.ID), Value: doc[:len(doc)-1], Timestamp: e.Time,
			Headers: []kgo.RecordHeader{{Key: "type", Value: []byte(e.Type)}, {Key: "decky", Value: []byte(e.Decky)},
				{Key: "service", Value: []byte(e.Service)}}}
	}
	pctx, cancel := context.WithTimeout(ctx, o.opts.Timeout)
	defer cancel()
	if err := cl.ProduceSync(pctx, recs...).FirstErr(); err != nil {
		return fmt.Errorf("output %s: produce %d events to %s: %w", o.name, len(events), o.topic, err)
	}
	return nil
}

// Close flushes nothing (Deliver waits for its records) and closes the
// client.
func (o *Kafka) Close() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.closed {
		o.closed = true
		o.client.Close()
	}
	return nil
}
