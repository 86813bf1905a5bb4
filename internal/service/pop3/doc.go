// Package pop3 is the POP3 decky service: Dovecot 2.3 as Debian ships it
// (or Courier with product = courier) on 110 with STLS and on 995 over
// TLS.
//
// Before login: CAPA, USER/PASS, AUTH PLAIN and LOGIN (and the mechanism
// list), STLS and QUIT, with Dovecot's replies; every attempt is
// reported with its password, and a failed one waits as Dovecot's
// auth_failure_delay does.
//
// With an accepted credential (mailbox.Settings users, accept_after) the
// user's bait INBOX (mailbox.Box, the same mail IMAP serves) answers STAT,
// LIST, UIDL (Dovecot's default %08Xu%08Xv form), TOP, RETR, DELE, RSET and
// NOOP. Deletions last for the session only: the bait is there for the
// next visitor.
//
// Events: pop3.session.*, pop3.login.failed/success (credential),
// pop3.tls.handshake, pop3.command.input (every command after login) and
// pop3.message.read.
//
// Tells avoided: replies are Dovecot's own, compared line for line with
// Debian's Dovecot in a test, the pre- and post-login wording of unknown
// commands included; no SASL mechanism is advertised that is not
// implemented.
package pop3
