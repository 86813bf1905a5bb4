// Package canary is the canary tokens: URLs, DNS names and documents an
// operator leaves where only an intruder would use them, and the master's
// listeners that notice when one is used.
//
// A token has an unguessable slug. Its URL carries the slug as a path
// segment under the configured base URL; its DNS name is the slug as the
// label just under the configured zone. Documents (docx, PDF, .env,
// .git/config, .aws/credentials) embed the URL or the name.
//
// The HTTP listener looks like a stock nginx to everyone: every answer
// (the welcome page at /, a 1x1 GIF for image paths, nginx's 404 page
// for the rest, nginx's 400 for a malformed request) is the same whether
// or not the path holds a live slug, so a probe learns nothing. The DNS
// listener is authoritative for the zone only: A queries for a token's
// name get the configured address, other names under the zone NXDOMAIN,
// names outside it REFUSED. A use of a live slug calls Fire with what
// the client showed (address, user agent, headers; for DNS, the
// querier, which is the victim's resolver, not the victim).
//
// Lifecycle: Serve and ServeDNS serve until their context is done and
// own the goroutines they start; New starts nothing.
package canary

import (
	"crypto/rand"
	"encoding/base32"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/decnet/decnet/internal/event"
)

// The token kinds.
const (
	HTTP           = "http"            // a URL
	DNS            = "dns"             // a host name
	DOCX           = "docx"            // a Word document with a remote image
	PDF            = "pdf"             // a PDF that opens the URL
	Env            = "env"             // a .env file with token URLs and hosts
	GitConfig      = "git_config"      // a .git/config whose origin is the URL
	AWSCredentials = "aws_credentials" // an .aws/credentials with a token endpoint
)

// Kinds lists the kinds in the order the dashboard offers them.
var Kinds = []string{HTTP, DNS, DOCX, PDF, Env, GitConfig, AWSCredentials}

// KnownKind reports whether k is a token kind.
func KnownKind(k string) bool { return slices.Contains(Kinds, k) }

// NeedsDNS reports whether a kind's call-home is a DNS name only.
func NeedsDNS(kind string) bool { return kind == DNS }

// TriggeredType is the event of a fired token, published by the master
// (its alert goes through the token's alert rule).
const TriggeredType = "decnet.canary.triggered"

func init() {
	event.Declare(event.Type{Name: TriggeredType, Severity: event.High,
		Summary: "A canary token was used: its URL fetched or its DNS name resolved (published by the master; src is the requester, for DNS the resolver that asked).",
		Fields: []event.FieldDoc{
			event.F("token_id", "string", "the token (GET /api/v1/canary-tokens/{id})"),
			event.F("kind", "string", "http, dns, docx, pdf, env, git_config or aws_credentials"),
			event.F("memo", "string", "the operator's memo: where the token was left"),
			event.F("channel", "string", "http or dns: how it called home"),
			event.F("method", "string", "HTTP method"),
			event.F("path", "string", "HTTP path and query as requested"),
			event.F("host", "string", "HTTP Host header"),
			event.F("user_agent", "string", "HTTP User-Agent"),
			event.F("headers", "list", "the request's headers as \"Name: value\" (at most 32, each cut at 512 bytes)"),
			event.F("qname", "string", "DNS name asked"),
			event.F("qtype", "string", "DNS type asked (A, AAAA, TXT, ...)"),
		}})
}

// Config is where tokens call home.
type Config struct {
	// BaseURL is the scheme, host and optional path prefix of token URLs
	// as victims reach the HTTP listener ("http://files.example.com").
	BaseURL string
	// Zone is the DNS zone the DNS listener serves ("t.example.com"); ""
	// means no DNS tokens.
	Zone string
}

// Validate checks a Config.
func (c Config) Validate() error {
	u, err := url.Parse(c.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("canary base URL %q: want http(s)://host[:port][/prefix]", c.BaseURL)
	}
	if c.Zone != "" {
		if _, err := nameWire(c.Zone); err != nil || !strings.Contains(strings.Trim(c.Zone, "."), ".") {
			return fmt.Errorf("canary DNS zone %q: want a domain such as t.example.com", c.Zone)
		}
	}
	return nil
}

// NewSlug returns a fresh unguessable slug: 16 characters of a-z and 2-7
// (80 random bits), a valid DNS label and path segment.
func NewSlug() string {
	b := make([]byte, 10)
	_, _ = rand.Read(b)
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}

// SlugLen is the length of a slug.
const SlugLen = 16

// IsSlug reports whether s has a slug's shape.
func IsSlug(s string) bool {
	if len(s) != SlugLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= '2' && c <= '7') {
			return false
		}
	}
	return true
}

// URL is a token's call-home URL for its kind: a path an ordinary site
// could have, with the slug as one segment.
func (c Config) URL(kind, slug string) string {
	base := strings.TrimRight(c.BaseURL, "/")
	switch kind {
	case DOCX, PDF:
		return base + "/images/" + slug + "/logo.png"
	case GitConfig:
		return base + "/git/" + slug + "/infrastructure.git"
	case Env:
		return base + "/hooks/" + slug
	}
	return base + "/docs/" + slug + "/index.html"
}

// Hostname is a token's DNS name ("" without a zone).
func (c Config) Hostname(slug string) string {
	if c.Zone == "" {
		return ""
	}
	return slug + "." + strings.ToLower(strings.Trim(c.Zone, "."))
}

// SlugsInPath returns the slug-shaped segments of a URL path (at most
// 8), with a file extension cut off.
func SlugsInPath(p string) []string {
	var out []string
	for i, seg := range strings.Split(p, "/") {
		if i > 32 || len(out) == 8 {
			break
		}
		if dot := strings.IndexByte(seg, '.'); dot >= 0 {
			seg = seg[:dot]
		}
		if IsSlug(seg) {
			out = append(out, seg)
		}
	}
	return out
}
