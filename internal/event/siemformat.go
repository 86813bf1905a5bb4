package event

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// CEF and LEEF are the line formats ArcSight and QRadar parse; both travel
// as the MSG of an RFC 5424 syslog message (SyslogMessage).

// cefSeverity maps the catalogue's 0-4 onto CEF's 0-10.
var cefSeverity = [5]int{1, 3, 5, 8, 10}

// CEF encodes e as an ArcSight Common Event Format line: the header
// Vendor DECNET, Product DECNET, Version the schema, Signature ID the
// event type, Name its summary; the extension carries the standard keys
// (rt, src, spt, dst, dpt, proto, duser, outcome, externalId, dvchost)
// and custom strings for decky, service, session and topology, and msg
// the protocol fields as JSON.
func CEF(e *Event) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "CEF:0|DECNET|DECNET|%d|%s|%s|%d|", e.Schema, cefHeader(e.Type), cefHeader(summaryOf(e.Type)), scaled(cefSeverity, e.Severity, 1))
	var ext []string
	kv := func(k, v string) {
		if v != "" {
			ext = append(ext, k+"="+cefValue(v))
		}
	}
	kv("rt", strconv.FormatInt(e.Time.UnixMilli(), 10))
	kv("externalId", e.ID)
	kv("cat", e.Type)
	kv("outcome", e.Outcome)
	kv("dvchost", e.Host)
	endpointKV(e, kv, "src", "spt", "dst", "dpt")
	kv("proto", strings.ToUpper(e.Transport))
	if e.Credential != nil {
		kv("duser", e.Credential.Principal)
	}
	for i, c := range [][2]string{{"decky", e.Decky}, {"service", e.Service}, {"session", e.Session}, {"topology", e.Topology}} {
		if c[1] != "" {
			n := strconv.Itoa(i + 1)
			kv("cs"+n+"Label", c[0])
			kv("cs"+n, c[1])
		}
	}
	kv("msg", fieldsJSON(e))
	b.WriteString(strings.Join(ext, " "))
	return []byte(b.String())
}

// LEEF encodes e as an IBM QRadar LEEF 2.0 line delimited by '^' (declared
// in the header; a tab would reach QRadar as #011 through an rsyslog
// relay, which escapes control characters): Vendor DECNET, Product DECNET, Version the
// schema, EventID the event type; then devTime, src, srcPort, dst,
// dstPort, proto, usrName, sev (1-10), cat and DECNET's own keys.
func LEEF(e *Event) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "LEEF:2.0|DECNET|DECNET|%d|%s|^|", e.Schema, leefHeader(e.Type))
	var attrs []string
	kv := func(k, v string) {
		if v != "" {
			attrs = append(attrs, k+"="+leefValue(v))
		}
	}
	kv("devTime", e.Time.UTC().Format("2006-01-02T15:04:05.000Z"))
	kv("devTimeFormat", "yyyy-MM-dd'T'HH:mm:ss.SSSX")
	endpointKV(e, kv, "src", "srcPort", "dst", "dstPort")
	kv("proto", strings.ToUpper(e.Transport))
	if e.Credential != nil {
		kv("usrName", e.Credential.Principal)
	}
	kv("sev", strconv.Itoa(scaled(cefSeverity, e.Severity, 1)))
	kv("cat", e.Type)
	kv("outcome", e.Outcome)
	kv("eventId", e.ID)
	kv("identHostName", e.Decky)
	kv("decky", e.Decky)
	kv("service", e.Service)
	kv("session", e.Session)
	kv("topology", e.Topology)
	kv("observer", e.Host)
	kv("fields", fieldsJSON(e))
	b.WriteString(strings.Join(attrs, "^"))
	return []byte(b.String())
}

// SyslogMessage wraps a CEF or LEEF line in an RFC 5424 header (facility
// local0, APP-NAME decnet, MSGID the event type, no structured data).
func SyslogMessage(e *Event, hostname string, line []byte) []byte {
	head := fmt.Sprintf("<%d>1 %s %s decnet - %s - ", 16*8+scaled(syslogSeverity, e.Severity, 6), e.Time.UTC().Format(time.RFC3339Nano),
		headerField(hostname, 255), headerField(e.Type, 32))
	return append([]byte(head), line...)
}

// scaled maps a catalogue severity through table, def when out of range.
func scaled(table [5]int, sev, def int) int {
	if sev >= 0 && sev < len(table) {
		return table[sev]
	}
	return def
}

func endpointKV(e *Event, kv func(k, v string), src, spt, dst, dpt string) {
	for _, p := range []struct {
		ep       *Endpoint
		ip, port string
	}{{e.Src, src, spt}, {e.Dst, dst, dpt}} {
		if p.ep == nil {
			continue
		}
		kv(p.ip, p.ep.IP)
		if p.ep.Port > 0 {
			kv(p.port, strconv.Itoa(p.ep.Port))
		}
	}
}

func summaryOf(typ string) string {
	if t, ok := LookupType(typ); ok && t.Summary != "" {
		return t.Summary
	}
	return typ
}

// fieldsJSON is the protocol fields (and the credential's kind and crack
// line) as compact JSON, "" when there are none.
func fieldsJSON(e *Event) string {
	m := map[string]any{}
	for k, v := range e.Fields {
		m[k] = v
	}
	if c := e.Credential; c != nil {
		m["cred_kind"] = c.Kind
		if c.CrackLine != "" {
			m["crack_line"] = c.CrackLine
		}
	}
	if len(m) == 0 {
		return ""
	}
	b, err := json.Marshal(m)
	if err != nil {
		return ""
	}
	return string(b)
}

// cefHeader escapes a CEF header field: backslash and pipe, and no line
// breaks.
func cefHeader(s string) string {
	return strings.NewReplacer(`\`, `\\`, `|`, `\|`, "\n", " ", "\r", " ").Replace(s)
}

// cefValue escapes a CEF extension value: backslash, equals and line
// breaks.
func cefValue(s string) string {
	return strings.NewReplacer(`\`, `\\`, `=`, `\=`, "\n", `\n`, "\r", `\r`).Replace(s)
}

// leefHeader keeps a LEEF header field free of its separators.
func leefHeader(s string) string {
	return strings.NewReplacer("|", "_", "\n", " ", "\r", " ", "\t", " ").Replace(s)
}

// leefValue keeps a LEEF value free of the delimiter and control
// characters (LEEF has no escape).
func leefValue(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '^' || r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}
