package web

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/decnet/decnet/internal/event"
)

var funcs = template.FuncMap{
	"when":      when,
	"iso":       func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"ago":       ago,
	"join":      strings.Join,
	"src":       srcOf,
	"rawJSON":   rawJSON,
	"fields":    fieldList,
	"secret":    secretText,
	"pathEsc":   url.PathEscape,
	"f1":        func(v float64) string { return fmt.Sprintf("%.1f", v) },
	"pct":       func(a, b int64) int64 { return pct(a, b) },
	"severity":  severityName,
	"hasPrefix": strings.HasPrefix,
	"short":     shortHash,
	"sortLabel": sortLabel,
	"kindLabel": kindLabel,
}

// kindLabel names an indicator kind for people.
func kindLabel(k string) string {
	if l, ok := map[string]string{"ssh_key": "SSH client key", "tls_client_cert": "TLS client certificate",
		"credential_sequence": "same credentials in the same order", "command_sequence": "same first commands",
		"hassh": "HASSH", "ssh_client": "SSH client version", "ja3": "JA3", "ja4": "JA4", "user_agent": "User-Agent",
		"telnet_client": "telnet client options", "payload": "payload", "infrastructure": "server"}[k]; ok {
		return l
	}
	return k
}

// sortLabel names an attacker sort for people.
func sortLabel(s string) string {
	return map[string]string{"last_seen": "Last seen", "first_seen": "First seen", "events": "Events", "score": "Score",
		"country": "Country", "asn": "AS number"}[s]
}

func when(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

func ago(t *time.Time) string {
	if t == nil {
		return "never"
	}
	return time.Since(*t).Round(time.Second).String() + " ago"
}

func pct(a, b int64) int64 {
	if b <= 0 {
		return 0
	}
	return a * 100 / b
}

func srcOf(e event.Event) string {
	if e.Src == nil {
		return ""
	}
	return e.Src.IP
}

func rawJSON(e event.Event) string {
	b, err := json.MarshalIndent(e, "", "  ")
	if err != nil {
		return err.Error()
	}
	return string(b)
}

// field is one line of an expanded event.
type field struct{ Name, Value string }

// fieldList flattens an event into name/value lines, every field of the
// document, in a stable order.
func fieldList(e event.Event) []field {
	b, err := json.Marshal(e)
	if err != nil {
		return nil
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil
	}
	var out []field
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch x := v.(type) {
		case map[string]any:
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			for _, k := range keys {
				name := k
				if prefix != "" {
					name = prefix + "." + k
				}
				walk(name, x[k])
			}
		case string:
			out = append(out, field{prefix, x})
		default:
			vb, _ := json.Marshal(x)
			out = append(out, field{prefix, string(vb)})
		}
	}
	walk("", m)
	return out
}

// secretText shows a captured secret as text when it is printable, else
// as base64.
func secretText(b64 string) string {
	b, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return b64
	}
	if utf8.Valid(b) && !strings.ContainsFunc(string(b), func(r rune) bool { return !unicode.IsPrint(r) }) {
		return string(b)
	}
	return "base64:" + b64
}

func severityName(n int) string {
	switch {
	case n >= 4:
		return "critical"
	case n == 3:
		return "high"
	case n == 2:
		return "medium"
	case n == 1:
		return "low"
	}
	return "info"
}
