package rdp_test

import (
	"testing"

	"github.com/decnet/decnet/internal/service/servicetest"
)

// Any client bytes, as a whole session, leave the service standing: the
// X.224 stage, TLS and CredSSP behind it.
func FuzzSession(f *testing.F) {
	r := servicetest.Start(f, "rdp", 3389, windows)
	servicetest.FuzzSession(f, r, 3389,
		"\x03\x00\x00*%\xe0\x00\x00\x00\x00\x00Cookie: mstshash=nmap\r\n\x01\x00\x08\x00\x03\x00\x00\x00",
		"\x03\x00\x00\x13\x0e\xe0\x00\x00\x00\x00\x00\x01\x00\x08\x00\x00\x00\x00\x00",
		"\x03\x00\x00\x0b\x06\xe0\x00\x00\x00\x00\x00\x03\x00\x00\x0c\x02\xf0\x80\x7f\x65\x82\x01\x00",
		"\x16\x03\x01\x00\x05\x01\x00\x00\x01\x00",
		"GET / HTTP/1.0\r\n\r\n",
	)
}
