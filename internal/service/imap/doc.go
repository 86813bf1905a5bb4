// Package imap is the IMAP4rev1 decky service: Dovecot 2.3 as Debian
// ships it (or Courier-IMAP with product = courier) on 143 with STARTTLS
// and on 993 over TLS.
//
// Before login it answers as Dovecot's imap-login does: the greeting with
// its capability list, CAPABILITY, ID, STARTTLS, NOOP, LOGOUT, LOGIN and
// AUTHENTICATE PLAIN and LOGIN (SASL-IR too), every attempt reported with
// the password in plain text; three invalid commands end the session, as
// in Dovecot. A failed login waits as Dovecot's auth_failure_delay does.
//
// With an accepted credential (mailbox.Settings users, accept_after) the
// user finds a bait mailbox: believable mail seeded per decky and user
// (mailbox.Box) in INBOX, plus Sent, Drafts, Junk and Trash. SELECT,
// EXAMINE, LIST, LSUB, STATUS, NAMESPACE, FETCH and UID FETCH (ENVELOPE,
// BODYSTRUCTURE, BODY[] sections and partials), SEARCH, STORE, COPY, MOVE,
// EXPUNGE, APPEND, IDLE and the mailbox commands work on a per-session
// view: nothing a session changes outlives it, and an APPENDed message is
// quarantined.
//
// Persona: the hostname names the mail domain of the bait; the decky's
// certificate (tlsserver) is the one every TLS service of the decky shows.
//
// Events: imap.session.*, imap.login.failed/success (credential),
// imap.tls.handshake (JA3/JA4), imap.command.input (every command after
// login), imap.message.read (a body fetched) and imap.message.append.
//
// Tells avoided: replies, capability lists and the timing suffix of
// Dovecot's tagged replies are the product's own (compared line for line
// with Debian's Dovecot in a test); no AUTH mechanism is advertised that
// is not implemented; bait secrets are generated per decky, never the
// documentation examples the original used.
package imap
