package correlate

import (
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"regexp"
	"strings"

	"github.com/decnet/decnet/internal/event"
)

// Indicator kinds. Identity-grade kinds link sources into an identity by
// their weight: a strong kind (weight 1) by itself, weak kinds (tool
// fingerprints, shared by everyone running the same stock client) only
// four together. Campaign-grade kinds link identities into a campaign.
const (
	KindSSHKey             = "ssh_key"
	KindClientCert         = "tls_client_cert"
	KindCredentialSequence = "credential_sequence"
	KindCommandSequence    = "command_sequence"
	KindHASSH              = "hassh"
	KindSSHClient          = "ssh_client"
	KindJA3                = "ja3"
	KindJA4                = "ja4"
	KindUserAgent          = "user_agent"
	KindTelnetClient       = "telnet_client"
	KindPayload            = "payload"
	KindInfrastructure     = "infrastructure"
)

// Weights of the identity-grade kinds; a pair of sources is linked when
// the indicators they share weigh 1 or more.
var Weights = map[string]float64{
	KindSSHKey: 1, KindClientCert: 1, KindCredentialSequence: 1, KindCommandSequence: 1,
	KindHASSH: 0.25, KindSSHClient: 0.25, KindJA3: 0.25, KindJA4: 0.25, KindUserAgent: 0.25, KindTelnetClient: 0.25,
}

// CampaignKinds are the campaign-grade kinds.
var CampaignKinds = []string{KindPayload, KindInfrastructure}

// Sequence lengths: the first CredentialSequenceLen distinct credentials
// a source tries, the first CommandSequenceLen commands of a session.
const (
	CredentialSequenceLen = 5
	CommandSequenceLen    = 4
)

// Bounds on indicator text.
const (
	maxValue  = 256
	maxDetail = 512
)

// indicator is one indicator an event shows.
type indicator struct {
	kind, value, detail string
}

func (in indicator) campaign() bool { return in.kind == KindPayload || in.kind == KindInfrastructure }

func (in indicator) weight() float64 { return Weights[in.kind] }

// payloadTypes are the events whose sha256 is something the attacker
// brought (a file, a message, a container body), not something the decky
// served (a downloaded bait file, a transcript).
var payloadTypes = map[string]bool{
	"smtp.message.received": true, "imap.message.append": true, "mongodb.data.write": true,
	"docker.container.create": true, "docker.exec.create": true, "k8s.pod.create": true,
	"elasticsearch.document.write": true,
}

// urlFields are the fields searched for URLs (a download the attacker
// pointed a tool at, an exploit's callback).
var urlFields = []string{"url", "command_line", "command", "query", "path", "body_preview", "preview", "cmd", "commands", "entrypoint"}

// urlRE finds the host of a URL in text.
var urlRE = regexp.MustCompile(`(?i)\b(?:https?|ftp|tftp)://([a-z0-9._~%-]+|\[[0-9a-f:.]+\])(?::[0-9]{1,5})?`)

// stateless returns the indicators one event shows by itself.
func stateless(e *event.Event) []indicator {
	var out []indicator
	add := func(kind string, v any, detail string) {
		s, _ := v.(string)
		s = strings.TrimSpace(s)
		if s == "" {
			return
		}
		out = append(out, indicator{kind: kind, value: clip(s, maxValue), detail: clip(detail, maxDetail)})
	}
	if c := e.Credential; c != nil && c.Material != nil {
		kt, _ := c.Material["key_type"].(string)
		add(KindSSHKey, c.Material["fingerprint"], kt)
	}
	f := e.Fields
	switch {
	case e.Type == "ssh.client.kex":
		add(KindHASSH, f["hassh"], "")
	case e.Type == "ssh.client.version":
		add(KindSSHClient, f["client_version"], "")
	case e.Type == "telnet.client.negotiate":
		add(KindTelnetClient, f["options_sha256"], "")
	case strings.HasSuffix(e.Type, ".tls.handshake"):
		add(KindJA3, f["ja3_hash"], "")
		add(KindJA4, f["ja4"], "")
	case strings.HasSuffix(e.Type, ".login.failed"), strings.HasSuffix(e.Type, ".login.success"):
		if a, _ := f["auth"].(string); a == "x509" {
			add(KindClientCert, f["fingerprint"], str(f["subject"]))
		}
	}
	if ua, _ := f["user_agent"].(string); ua != "" {
		add(KindUserAgent, ua, "")
	}
	if payloadTypes[e.Type] || strings.HasSuffix(e.Type, ".file.upload") {
		add(KindPayload, f["sha256"], e.Type+" "+firstString(f, "path", "name", "file_name", "subject", "collection"))
	}
	for _, h := range urlHosts(f) {
		add(KindInfrastructure, h.host, h.url)
	}
	return out
}

type urlHost struct{ host, url string }

// urlHosts returns the hosts of the URLs in the event's fields, each once.
func urlHosts(f map[string]any) []urlHost {
	var out []urlHost
	seen := map[string]bool{}
	var scan func(v any, depth int)
	scan = func(v any, depth int) {
		switch x := v.(type) {
		case string:
			for _, m := range urlRE.FindAllStringSubmatchIndex(clip(x, 8192), 8) {
				host := strings.ToLower(strings.Trim(x[m[2]:m[3]], "[]"))
				if u, err := url.PathUnescape(host); err == nil {
					host = u
				}
				host = strings.TrimSuffix(host, ".")
				if host == "" || seen[host] {
					continue
				}
				seen[host] = true
				out = append(out, urlHost{host: host, url: clip(urlAt(x, m[0]), maxDetail)})
			}
		case []any:
			if depth > 0 {
				for i, y := range x {
					if i == 64 {
						break
					}
					scan(y, depth-1)
				}
			}
		}
	}
	for _, k := range urlFields {
		if v, ok := f[k]; ok {
			scan(v, 1)
		}
	}
	return out
}

// urlAt returns the URL starting at i, up to the next space or quote.
func urlAt(s string, i int) string {
	end := strings.IndexAny(s[i:], " \t\r\n'\"`;|&<>")
	if end < 0 {
		return s[i:]
	}
	return s[i : i+end]
}

func firstString(f map[string]any, keys ...string) string {
	for _, k := range keys {
		if s, _ := f[k].(string); s != "" {
			return s
		}
	}
	return ""
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// commandLine is the command of a shell event, "" for other events.
func commandLine(e *event.Event) string {
	if !strings.HasSuffix(e.Type, ".command.input") || (e.Service != "ssh" && e.Service != "telnet") {
		return ""
	}
	s := firstString(e.Fields, "command_line", "command")
	return clip(strings.Join(strings.Fields(s), " "), maxValue)
}

// hashItems is the value of a sequence indicator.
func hashItems(items []string) string {
	h := sha256.New()
	for _, s := range items {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// clip cuts s to at most n bytes, on a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8Start(s[n]) {
		n--
	}
	return s[:n]
}

func utf8Start(b byte) bool { return b&0xc0 != 0x80 }
