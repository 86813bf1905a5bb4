package imap

// product is what one IMAP server says of itself.
type product struct {
	greeting    string
	preCaps     string // before login; STARTTLS is dropped once under TLS
	postCaps    string
	idName      string
	loginFailed string
	timings     bool // Dovecot's "(0.001 + 0.000 secs)" on tagged replies
}

// dovecot is Dovecot 2.3.19 as Debian 12 ships it, with plaintext logins
// allowed and auth_mechanisms = plain login.
var dovecot = product{
	greeting: "Dovecot (Debian) ready.",
	preCaps:  "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ STARTTLS AUTH=PLAIN AUTH=LOGIN",
	postCaps: "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT SORT=DISPLAY THREAD=REFERENCES THREAD=REFS " +
		"THREAD=ORDEREDSUBJECT MULTIAPPEND URL-PARTIAL CATENATE UNSELECT CHILDREN NAMESPACE UIDPLUS LIST-EXTENDED " +
		"I18NLEVEL=1 CONDSTORE QRESYNC ESEARCH ESORT SEARCHRES WITHIN CONTEXT=SEARCH LIST-STATUS BINARY MOVE " +
		"SNIPPET=FUZZY PREVIEW=FUZZY PREVIEW STATUS=SIZE SAVEDATE LITERAL+ NOTIFY SPECIAL-USE",
	idName:      "Dovecot",
	loginFailed: "NO [AUTHENTICATIONFAILED] Authentication failed.",
	timings:     true,
}

// courier is Courier-IMAP 5 as Debian ships it.
var courier = product{
	greeting:    "Courier-IMAP ready. Copyright 1998-2018 Double Precision, Inc.  See COPYING for distribution information.",
	preCaps:     "IMAP4rev1 UIDPLUS CHILDREN NAMESPACE THREAD=ORDEREDSUBJECT THREAD=REFERENCES SORT QUOTA IDLE STARTTLS AUTH=PLAIN",
	postCaps:    "IMAP4rev1 UIDPLUS CHILDREN NAMESPACE THREAD=ORDEREDSUBJECT THREAD=REFERENCES SORT QUOTA IDLE",
	idName:      "Courier-IMAP",
	loginFailed: "NO Login failed.",
}
