// Package event is the schema every service emits, its encoders (JSON
// lines, RFC 5424 syslog), the durable spool a decky writes, and the shipper
// that moves spooled events off the host. docs/events.md documents the
// schema; a test keeps it and the type catalogue in step.
package event

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"time"
	"unicode/utf8"
)

// SchemaVersion is bumped only on a breaking change of the document.
const SchemaVersion = 1

// Event is one observation. The envelope (ids, time, topology, decky,
// service, session, endpoints) is filled by the runtime from the connection
// context; services only choose the type and add fields.
type Event struct {
	Schema    int       `json:"schema"`
	ID        string    `json:"id"`
	Time      time.Time `json:"ts"`
	Type      string    `json:"type"`
	Severity  int       `json:"severity"`
	Outcome   string    `json:"outcome,omitempty"` // success, failure, unknown
	Topology  string    `json:"topology_id,omitempty"`
	Host      string    `json:"host,omitempty"` // the agent's host id, set when shipped
	Decky     string    `json:"decky"`
	Service   string    `json:"service"`
	Session   string    `json:"session_id,omitempty"`
	Seq       uint64    `json:"seq,omitempty"` // per-session counter from 1
	Transport string    `json:"transport,omitempty"`
	Src       *Endpoint `json:"src,omitempty"`
	Dst       *Endpoint `json:"dst,omitempty"`
	// Credential is present when the event carries a secret.
	Credential *Credential `json:"credential,omitempty"`
	// Fields holds protocol detail: strings, numbers, booleans, lists and
	// maps of those. Attacker-controlled text goes through Text.
	Fields map[string]any `json:"fields,omitempty"`
	// Truncated names the fields cut to their cap.
	Truncated []string `json:"truncated,omitempty"`
}

// Endpoint is one side of a connection.
type Endpoint struct {
	IP   string `json:"ip"`
	Port int    `json:"port,omitempty"`
}

// Credential is every secret in one shape, whatever the protocol.
type Credential struct {
	Kind      string `json:"kind"`   // plaintext, ssh_pubkey, mysql_native, ...
	Method    string `json:"method"` // password, keyboard-interactive, publickey, ...
	Principal string `json:"principal"`
	// SecretB64 is lossless; SecretText is the same bytes as text with
	// invalid UTF-8 written \xNN, absent for binary secrets.
	SecretB64    string         `json:"secret_b64"`
	SecretText   string         `json:"secret_text,omitempty"`
	SecretSHA256 string         `json:"secret_sha256"`
	Plaintext    bool           `json:"plaintext"`
	Challenge    string         `json:"challenge,omitempty"` // hex of what the decoy sent
	Material     map[string]any `json:"material,omitempty"`
	CrackFormat  string         `json:"crack_format,omitempty"` // hashcat, john
	CrackMode    int            `json:"crack_mode,omitempty"`
	CrackLine    string         `json:"crack_line,omitempty"`
}

// NewCredential fills the secret fields from raw bytes.
func NewCredential(kind, method, principal string, secret []byte, plaintext bool) *Credential {
	sum := sha256.Sum256(secret)
	c := &Credential{Kind: kind, Method: method, Principal: Text([]byte(principal), MaxField),
		SecretB64: base64.StdEncoding.EncodeToString(secret), SecretSHA256: hex.EncodeToString(sum[:]), Plaintext: plaintext}
	if plaintext {
		c.SecretText = Text(secret, MaxField)
	}
	return c
}

// MaxField caps one attacker-controlled text field.
const MaxField = 4096

// Text turns attacker bytes into valid UTF-8 text: invalid bytes are
// written \xNN (and a literal backslash before x stays unambiguous because
// control characters are left for the encoders to escape). The result is
// cut to max bytes at a rune boundary.
func Text(b []byte, max int) string {
	var sb strings.Builder
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if r == utf8.RuneError && size <= 1 {
			sb.WriteString(`\x`)
			sb.WriteString(hex.EncodeToString(b[:1]))
		} else {
			sb.Write(b[:size])
		}
		b = b[size:]
		if sb.Len() >= max {
			break
		}
	}
	s := sb.String()
	if len(s) > max {
		s = s[:max]
		for !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
	}
	return s
}
