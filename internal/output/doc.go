// Package output delivers the event stream to the SIEMs a SOC runs: JSON
// lines in a file (File), RFC 5424 syslog over TCP or TLS with
// octet-counted framing (Syslog), and signed HTTP webhooks (Webhook).
//
// Every output is its own durable consumer of the bus (Run, durable name
// "output-<name>"), so each keeps its own position in the stream: a slow,
// failing or disabled output holds back neither the DB ingester nor the
// other outputs, and loses nothing while the stream retains the events.
// Deliver returns nil only when the batch is handed over (fsynced for a
// file, written to the connection for syslog, answered 2xx for a
// webhook); otherwise the bus redelivers it after a backoff. Delivery is
// therefore at least once: a receiver may see an event twice after a
// failure and deduplicates on the event id.
//
// Attacker-controlled strings cannot break a record: the encoders of
// package event escape control characters (JSON strings, syslog SD
// values), and syslog frames are length-prefixed.
//
// Lifecycle and goroutines: New and the NewX constructors validate and
// start nothing; outputs open their file or connection on the first
// Deliver and reopen it after an error. Run owns the consumer and its
// goroutines until ctx is done; it does not close the output, its caller
// does after Run returns. Status, Test, Enable and Disable are safe to
// call from other goroutines (the dashboard) while Run delivers.
//
// docs/events.md ("Outputs") documents formats, headers and guarantees.
package output
