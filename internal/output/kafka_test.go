package output

import (
	"context"
	"encoding/json"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/decnet/decnet/internal/event"
)

// TestKafkaBurstAcrossRestarts produces 10,000 events to an in-process
// broker that speaks the Kafka protocol (franz-go's kfake), through an
// outage of the broker (every produce refused for a second) and a restart
// of the output, and consumes the topic: every event once, keyed by its
// id.
func TestKafkaBurstAcrossRestarts(t *testing.T) {
	const topic = "decnet-events"
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(3, topic))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	brokers := cluster.ListenAddrs()[0]

	var down atomic.Bool
	cluster.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
		cluster.KeepControl()
		if !down.Load() {
			return nil, nil, false
		}
		return nil, errors.New("broker down"), true // closes the connection
	})

	// A consumer reads the topic throughout.
	seen := newIDSet()
	var bad atomic.Int32
	cons, err := kgo.NewClient(kgo.SeedBrokers(brokers), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	consumed := make(chan struct{})
	go func() {
		defer close(consumed)
		for ctx.Err() == nil {
			fs := cons.PollFetches(ctx)
			fs.EachRecord(func(r *kgo.Record) {
				var e event.Event
				if json.Unmarshal(r.Value, &e) != nil || e.ID != string(r.Key) || len(r.Headers) != 3 || string(r.Headers[0].Value) != e.Type {
					bad.Add(1)
				}
				seen.add(string(r.Key))
			})
		}
	}()
	defer func() { stop(); <-consumed; cons.Close() }()

	want := burstThrough(t, func() Output {
		o, err := NewKafka("kafka", brokers, topic, KafkaOptions{Timeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		return o
	}, down.Store, seen.len)
	if n := seen.missing(want); n != 0 || bad.Load() != 0 {
		t.Fatalf("%d events missing, %d malformed records", n, bad.Load())
	}
	dups := 0
	seen.mu.Lock()
	for _, n := range seen.seen {
		dups += n - 1
	}
	seen.mu.Unlock()
	if dups != 0 {
		t.Fatalf("%d events produced twice", dups)
	}
	t.Logf("Kafka: 10000 records, every event once")
}
