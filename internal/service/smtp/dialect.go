package smtp

import (
	"fmt"
	"strings"
	"time"

	"github.com/decnet/decnet/internal/persona"
)

// dialect is what one MTA says: its greeting, its EHLO keywords and its
// replies, as the product sends them.
type dialect struct {
	name     string
	greeting func(host string, now time.Time) string
	// ehloFirst is the first EHLO line after "250-".
	ehloFirst func(host, helo, ip string) string
	keywords  []string // EHLO keywords, STARTTLS and AUTH included where offered
	auth      string   // the AUTH keyword's mechanisms
	maxSize   int64
	// Replies, code and text.
	helo, mailOK, rcptOK, dataGo, rset, noop, quit, tlsGo, tlsActive              string
	needHelo, nestedMail, needMail, needRcpt, noValidRcpt, mailSyntax, rcptSyntax string
	unknown, tooBig, tooManyErrors, authOK, authFail, authDecode, authAbort       string
	badSender, dataNoMail, tlsSyntax, vrfySyntax                                  string
	heloRequired                                                                  bool
	// vrfyLookup: VRFY runs the recipient checks RCPT runs, so a local
	// address with no mailbox gets unknownUser (Postfix's
	// local_recipient_maps) and a remote one relayDenied; vrfy gets the
	// argument as typed. Without it every VRFY answers vrfy.
	vrfyLookup  bool
	unknownUser func(rcpt string) string
	relayDenied func(rcpt string) string
	queued      func(id string) string
	vrfy        func(arg string) string
	queueID     func(b []byte) string
}

// postfix is Postfix 3.x as Debian and Ubuntu ship it, with SASL (Dovecot)
// enabled for AUTH.
func postfix(d persona.Distro) dialect {
	suffix := ""
	switch {
	case strings.HasPrefix(d.Slug, "debian"), d.Slug == "kali":
		suffix = " (Debian/GNU)"
	case strings.HasPrefix(d.Slug, "ubuntu"):
		suffix = " (Ubuntu)"
	}
	return dialect{
		name:      "postfix",
		greeting:  func(host string, _ time.Time) string { return "220 " + host + " ESMTP Postfix" + suffix },
		ehloFirst: func(host, _, _ string) string { return host },
		keywords:  []string{"PIPELINING", "SIZE 10240000", "VRFY", "ETRN", "STARTTLS", "AUTH", "ENHANCEDSTATUSCODES", "8BITMIME", "DSN", "SMTPUTF8", "CHUNKING"},
		auth:      "PLAIN LOGIN CRAM-MD5",
		maxSize:   10240000,
		helo:      "250 %s", mailOK: "250 2.1.0 Ok", rcptOK: "250 2.1.5 Ok", dataGo: "354 End data with <CR><LF>.<CR><LF>",
		rset: "250 2.0.0 Ok", noop: "250 2.0.0 Ok", quit: "221 2.0.0 Bye", tlsGo: "220 2.0.0 Ready to start TLS",
		tlsActive: "554 5.5.1 Error: TLS already active", needHelo: "503 5.5.1 Error: send HELO/EHLO first",
		nestedMail: "503 5.5.1 Error: nested MAIL command", needMail: "503 5.5.1 Error: need MAIL command",
		needRcpt: "503 5.5.1 Error: need RCPT command", noValidRcpt: "554 5.5.1 Error: no valid recipients",
		mailSyntax: "501 5.5.4 Syntax: MAIL FROM:<address>", rcptSyntax: "501 5.5.4 Syntax: RCPT TO:<address>",
		unknown: "500 5.5.2 Error: command not recognized", tooBig: "552 5.3.4 Error: message file too big",
		badSender: "501 5.1.7 Bad sender address syntax", dataNoMail: "503 5.5.1 Error: need RCPT command",
		tlsSyntax: "501 5.5.4 Syntax: STARTTLS", vrfySyntax: "501 5.5.4 Syntax: VRFY address [SMTPUTF8]",
		unknownUser: func(rcpt string) string {
			return "550 5.1.1 <" + rcpt + ">: Recipient address rejected: User unknown in local recipient table"
		},
		tooManyErrors: "421 4.7.0 %s Error: too many errors", authOK: "235 2.7.0 Authentication successful",
		authFail: "535 5.7.8 Error: authentication failed: authentication failure", authDecode: "501 5.5.2 Cannot decode response",
		authAbort:   "501 5.7.0 Authentication aborted",
		relayDenied: func(rcpt string) string { return "454 4.7.1 <" + rcpt + ">: Relay access denied" },
		queued:      func(id string) string { return "250 2.0.0 Ok: queued as " + id },
		vrfy:        func(arg string) string { return "252 2.0.0 " + arg },
		vrfyLookup:  true,
		// Short queue ids: 10 or 11 upper-case hex digits.
		queueID: func(b []byte) string { return strings.ToUpper(fmt.Sprintf("%x", b[:5])) },
	}
}

// exim is Exim 4.96 as Debian 12 ships it.
func exim() dialect {
	return dialect{
		name: "exim",
		greeting: func(host string, now time.Time) string {
			return "220 " + host + " ESMTP Exim 4.96 " + now.Format("Mon, 02 Jan 2006 15:04:05 -0700")
		},
		ehloFirst: func(host, helo, ip string) string { return host + " Hello " + helo + " [" + ip + "]" },
		keywords:  []string{"SIZE 52428800", "8BITMIME", "PIPELINING", "AUTH", "CHUNKING", "STARTTLS", "PRDR", "HELP"},
		auth:      "PLAIN LOGIN CRAM-MD5",
		maxSize:   52428800,
		helo:      "250 %s Hello", mailOK: "250 OK", rcptOK: "250 Accepted", dataGo: "354 Enter message, ending with \".\" on a line by itself",
		rset: "250 Reset OK", noop: "250 OK", quit: "221 %s closing connection", tlsGo: "220 TLS go ahead",
		tlsActive: "554 Already in TLS", needHelo: "503 sender not yet given",
		nestedMail: "503 sender already given", needMail: "503 sender not yet given",
		needRcpt: "503 valid RCPT command must precede DATA", noValidRcpt: "503 valid RCPT command must precede DATA",
		mailSyntax: "501 MAIL must have an address operand", rcptSyntax: "501 RCPT must have an address operand",
		unknown: "500 unrecognized command", tooBig: "552 Message size exceeds maximum permitted",
		badSender: "501 <%s>: missing or malformed local part", dataNoMail: "503 valid RCPT command must precede DATA",
		tlsSyntax: "501 STARTTLS command used when not advertised", vrfySyntax: "501 VRFY must have an address argument",
		heloRequired: true, unknownUser: func(string) string { return "550 Unrouteable address" },
		tooManyErrors: "421 %s Too many syntax or protocol errors", authOK: "235 Authentication succeeded",
		authFail: "535 Incorrect authentication data", authDecode: "501 Invalid base64 data", authAbort: "501 Authentication cancelled",
		relayDenied: func(string) string { return "550 relay not permitted" },
		queued:      func(id string) string { return "250 OK id=" + id },
		vrfy:        func(arg string) string { return "252 Administrative prohibition" },
		queueID: func(b []byte) string {
			const digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			pick := func(i int) byte { return digits[int(b[i])%62] }
			return fmt.Sprintf("%c%c%c%c%c%c-%c%c%c%c%c%c-%c%c", pick(0), pick(1), pick(2), pick(3), pick(4), pick(5),
				pick(6), pick(7), pick(8), pick(9), pick(10), pick(11), pick(12), pick(13))
		},
	}
}

// exchange is Exchange Server 2016/2019's front end.
func exchange() dialect {
	return dialect{
		name: "exchange",
		greeting: func(host string, now time.Time) string {
			return "220 " + host + " Microsoft ESMTP MAIL Service ready at " + now.Format("Mon, 2 Jan 2006 15:04:05 -0700")
		},
		ehloFirst: func(host, _, ip string) string { return host + " Hello [" + ip + "]" },
		keywords:  []string{"SIZE 37748736", "PIPELINING", "DSN", "ENHANCEDSTATUSCODES", "STARTTLS", "AUTH", "8BITMIME", "BINARYMIME", "CHUNKING", "SMTPUTF8"},
		auth:      "NTLM LOGIN",
		maxSize:   37748736,
		helo:      "250 %s Hello", mailOK: "250 2.1.0 Sender OK", rcptOK: "250 2.1.5 Recipient OK",
		dataGo: "354 Start mail input; end with <CRLF>.<CRLF>", rset: "250 2.0.0 Resetting", noop: "250 2.0.0 OK",
		quit: "221 2.0.0 Service closing transmission channel", tlsGo: "220 2.0.0 SMTP server ready", tlsActive: "503 5.5.2 Send hello first",
		needHelo: "503 5.5.2 Send hello first", nestedMail: "503 5.5.2 Sender already specified", needMail: "503 5.5.2 Need mail command",
		needRcpt: "503 5.5.2 Need rcpt command", noValidRcpt: "503 5.5.2 Need rcpt command",
		mailSyntax: "501 5.5.4 Invalid arguments", rcptSyntax: "501 5.5.4 Invalid arguments",
		unknown: "500 5.3.3 Unrecognized command", tooBig: "552 5.3.4 Message size exceeds fixed maximum message size",
		badSender: "501 5.1.7 Invalid address", dataNoMail: "503 5.5.2 Need mail command",
		tlsSyntax: "501 5.5.4 Invalid arguments", vrfySyntax: "501 5.5.4 Invalid arguments", heloRequired: true,
		unknownUser: func(string) string {
			return "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup"
		},
		tooManyErrors: "421 4.7.0 %s Too many errors on this connection, closing transmission channel",
		authOK:        "235 2.7.0 Authentication successful", authFail: "535 5.7.3 Authentication unsuccessful",
		authDecode: "501 5.5.2 Cannot Base64-decode Client responses", authAbort: "501 5.0.0 Authentication Aborted",
		relayDenied: func(string) string { return "550 5.7.54 SMTP; Unable to relay recipient in non-accepted domain" },
		queued: func(id string) string {
			return "250 2.6.0 <" + id + "> [InternalId=" + fmt.Sprint(1e12+float64(len(id))*7919) + "] Queued mail for delivery"
		},
		vrfy:    func(string) string { return "252 2.1.5 Cannot VRFY user, but will accept message for delivery" },
		queueID: func(b []byte) string { return fmt.Sprintf("%X-%X", b[:4], b[4:8]) },
	}
}

// dialectFor picks the MTA: the mta setting, else Exchange on Windows and
// Postfix elsewhere.
func dialectFor(mta string, p persona.Family, d persona.Distro) dialect {
	switch strings.ToLower(mta) {
	case "exim":
		return exim()
	case "exchange":
		return exchange()
	case "postfix":
		return postfix(d)
	}
	if p.IsWindows() {
		return exchange()
	}
	return postfix(d)
}

// withHost fills the host name into the replies that carry it; the others
// are sent as they are.
func (d *dialect) withHost(reply, host string) string {
	if strings.Contains(reply, "%s") {
		return fmt.Sprintf(reply, host)
	}
	return reply
}
