package event

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// JSONLine encodes the canonical document as one line: what
// encoding/json's Encoder writes with HTML escaping off. Every control
// character is escaped, so attacker text cannot break the line.
func JSONLine(e *Event) ([]byte, error) {
	b, err := appendEvent(nil, e, false)
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// PEN is the private enterprise number in the syslog SD-ID; 32473 is the
// number IANA reserves for documentation, until DECNET has its own.
const PEN = 32473

// syslogSeverity maps event severity 0-4 to syslog severity.
var syslogSeverity = [5]int{6, 5, 4, 3, 2}

// Syslog encodes an event as an RFC 5424 message (without framing):
// facility local0, APP-NAME decnet, MSGID the event type, one SD element
// with the pivots, and the JSON document as MSG. SD values escape '"', '\'
// and ']' as the RFC requires, and control characters as \xNN, so no
// attacker string can end the element or the line.
func Syslog(e *Event, hostname string) ([]byte, error) {
	doc, err := JSONLine(e)
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "<%d>1 %s %s decnet - %s [decnet@%d", 16*8+scaled(syslogSeverity, e.Severity, 6), e.Time.UTC().Format(time.RFC3339Nano),
		headerField(hostname, 255), headerField(e.Type, 32), PEN)
	param := func(k, v string) {
		if v != "" {
			b.WriteString(" " + k + "=\"" + sdEscape(v) + "\"")
		}
	}
	param("id", e.ID)
	param("type", e.Type)
	param("topology", e.Topology)
	param("decky", e.Decky)
	param("service", e.Service)
	param("session", e.Session)
	if e.Src != nil {
		param("src", e.Src.IP)
		if e.Src.Port > 0 {
			param("spt", strconv.Itoa(e.Src.Port))
		}
	}
	if e.Dst != nil {
		param("dst", e.Dst.IP)
		if e.Dst.Port > 0 {
			param("dpt", strconv.Itoa(e.Dst.Port))
		}
	}
	if c := e.Credential; c != nil {
		param("user", c.Principal)
		param("cred_kind", c.Kind)
	}
	b.WriteString("] ")
	b.Write(bytes.TrimRight(doc, "\n"))
	return []byte(b.String()), nil
}

// headerField makes a header field: printable ASCII without spaces, at
// most n bytes, "-" when empty.
func headerField(s string, n int) string {
	var b strings.Builder
	for i := 0; i < len(s) && b.Len() < n; i++ {
		if c := s[i]; c > 32 && c < 127 {
			b.WriteByte(c)
		} else {
			b.WriteByte('_')
		}
	}
	if b.Len() == 0 {
		return "-"
	}
	return b.String()
}

func sdEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '"' || r == '\\' || r == ']':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f) || r == 0x2028 || r == 0x2029:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// OctetCounted frames a syslog message for TCP transport (RFC 6587).
func OctetCounted(msg []byte) []byte {
	return append([]byte(strconv.Itoa(len(msg))+" "), msg...)
}
