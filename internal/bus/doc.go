// Package bus carries events from the agents to the master's consumers over
// NATS JetStream.
//
// The pieces:
//
//   - Server is an embedded nats-server with JetStream (file storage in a
//     data directory). Start creates or updates the DECNET_EVENTS stream.
//     With TLS it requires a client certificate from the DECNET CA and maps
//     the certificate's role to NATS permissions: an agent may publish only
//     on its own subject decnet.events.<host id>; the master may do
//     anything. A deployment that outgrows one machine points everything at
//     an external NATS cluster instead: nothing outside Server assumes the
//     server is embedded, and EnsureStream creates the stream there.
//   - Publisher implements event.Publisher for the agent's shipper: every
//     event of a batch goes to decnet.events.<host id> with the event id as
//     Nats-Msg-Id, and the batch is acknowledged only when JetStream has
//     stored every event. A batch retried after a failure or a crash is
//     stored once, because the stream drops a message id it has seen within
//     its duplicate window.
//   - Consume runs a durable pull consumer: each durable name keeps its own
//     position, so the DB ingester, every SIEM output and the intelligence
//     jobs consume independently. A batch is acknowledged only when its
//     handler returns nil; otherwise it is redelivered after a backoff.
//   - Subscribe follows the stream live through an ordered ephemeral
//     consumer that keeps no position (dashboards).
//
// Lifecycle and goroutines: NewServer and NewPublisher start nothing.
// Server.Start runs nats-server's own goroutines until Shutdown, which waits
// for them. The Publisher connects on its first Publish; nats.go owns the
// reconnection goroutines until Close. Consume and Subscribe block until
// their context is done and own every goroutine they start.
//
// docs/events.md documents the subjects, the stream and the consumers.
package bus
