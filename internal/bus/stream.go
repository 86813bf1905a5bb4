package bus

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/decnet/decnet/internal/pki"
)

// StreamName is the JetStream stream that holds every event.
const StreamName = "DECNET_EVENTS"

// SubjectPrefix starts the subject of every event; the host id follows.
const SubjectPrefix = "decnet.events."

// MasterHost is the host id the master publishes its own events under
// (decnet.events.master: raised alerts). No agent may be enrolled with
// it, and an event of the master's namespace ("decnet.") on any other
// subject is dropped: an agent cannot forge the master's events.
const MasterHost = "master"

// SubjectAll matches the events of every host.
const SubjectAll = SubjectPrefix + ">"

// ErrInvalidHost is returned for a host id that cannot name a subject.
var ErrInvalidHost = errors.New("invalid host id")

// Subject returns the subject the agent of host publishes on.
func Subject(host string) (string, error) {
	if !pki.ValidHostID(host) {
		return "", fmt.Errorf("%w %q: want lowercase letters, digits and hyphens (pass --host-id)", ErrInvalidHost, host)
	}
	return SubjectPrefix + host, nil
}

// StreamConfig is the part of the stream's configuration DECNET chooses.
type StreamConfig struct {
	// MaxAge drops events older than this (DefaultStreamConfig: 30 days).
	MaxAge time.Duration
	// MaxBytes bounds the stream; the oldest events go first when it is
	// full (DefaultStreamConfig: 8 GiB).
	MaxBytes int64
	// Duplicates is the window in which a message id seen twice is stored
	// once (DefaultStreamConfig: 2 h).
	Duplicates time.Duration
	// Replicas is the number of copies in a cluster (1 when embedded).
	Replicas int
}

// DefaultStreamConfig is applied to every zero field of a StreamConfig.
var DefaultStreamConfig = StreamConfig{
	MaxAge:     30 * 24 * time.Hour,
	MaxBytes:   8 << 30,
	Duplicates: 2 * time.Hour,
	Replicas:   1,
}

func (c StreamConfig) withDefaults() StreamConfig {
	if c.MaxAge == 0 {
		c.MaxAge = DefaultStreamConfig.MaxAge
	}
	if c.MaxBytes == 0 {
		c.MaxBytes = DefaultStreamConfig.MaxBytes
	}
	if c.Duplicates == 0 {
		c.Duplicates = DefaultStreamConfig.Duplicates
	}
	if c.Replicas == 0 {
		c.Replicas = DefaultStreamConfig.Replicas
	}
	return c
}

// jetstreamConfig is the full stream configuration.
func (c StreamConfig) jetstreamConfig() jetstream.StreamConfig {
	c = c.withDefaults()
	return jetstream.StreamConfig{
		Name:        StreamName,
		Description: "DECNET events from every agent, one subject per host",
		Subjects:    []string{SubjectAll},
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardOld,
		MaxAge:      c.MaxAge,
		MaxBytes:    c.MaxBytes,
		Duplicates:  c.Duplicates,
		Replicas:    c.Replicas,
	}
}

// EnsureStream creates the DECNET_EVENTS stream, or updates its limits
// when it exists, on the server js talks to (embedded or an external
// cluster). It needs the master's permissions.
func EnsureStream(ctx context.Context, js jetstream.JetStream, cfg StreamConfig) (jetstream.Stream, error) {
	s, err := js.CreateOrUpdateStream(ctx, cfg.jetstreamConfig())
	if err != nil {
		return nil, fmt.Errorf("bus: ensure stream %s: %w", StreamName, err)
	}
	return s, nil
}
