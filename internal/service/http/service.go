package http

import (
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/service"
	"github.com/decnet/decnet/internal/service/serve"
	"github.com/decnet/decnet/internal/service/tlsserver"
)

// Settings are the HTTP service's settings.
type Settings struct {
	ServerHeader string            `json:"server_header" doc:"Server header (default: the persona's web server)"`
	ResponseCode int               `json:"response_code" min:"100" max:"599" doc:"Status of the default page"`
	FakeApp      string            `json:"fake_app" enum:"none,wordpress,phpmyadmin,admin_panel,tomcat,jenkins" doc:"Application served"`
	ExtraHeaders map[string]string `json:"extra_headers" doc:"Headers added to every response"`
	CustomBody   string            `json:"custom_body" kind:"text" doc:"Body of the default page (b64: prefix for binary)"`
	HTTPVersions []string          `json:"http_versions" enum:"http/1.0,http/1.1,http/2" doc:"Protocol versions offered"`
	Files        string            `json:"files" doc:"Host directory served read-only"`
}

// TLSSettings are the HTTPS service's settings: HTTP's and the
// certificate's.
type TLSSettings struct {
	Settings
	TLSCN   string `json:"tls_cn" doc:"Certificate common name (default: the persona's hostname)"`
	TLSCert string `json:"tls_cert" kind:"text" doc:"PEM certificate to serve instead of a generated one"`
	TLSKey  string `json:"tls_key" kind:"secret,multiline" doc:"PEM private key of tls_cert"`
}

func defaults() *Settings { return &Settings{ResponseCode: 200, FakeApp: "none"} }

func tlsDefaults() *TLSSettings { return &TLSSettings{Settings: *defaults()} }

// Validate implements service.Validator.
func (s *Settings) Validate() error {
	for k, v := range s.ExtraHeaders {
		if !isToken(k) || strings.ContainsAny(v, "\r\n") {
			return fmt.Errorf("extra_headers: %q is not a valid header", k)
		}
	}
	if raw, ok := strings.CutPrefix(s.CustomBody, "b64:"); ok {
		if _, err := base64.StdEncoding.DecodeString(raw); err != nil {
			return fmt.Errorf("custom_body: %w", err)
		}
	}
	return nil
}

// Validate implements service.Validator.
func (s *TLSSettings) Validate() error {
	if (s.TLSCert == "") != (s.TLSKey == "") {
		return fmt.Errorf("tls_cert and tls_key go together")
	}
	return s.Settings.Validate()
}

var (
	_ service.Validator = (*Settings)(nil)
	_ service.Validator = (*TLSSettings)(nil)
)

// request are the fields of a request event; a request with credentials
// (Basic, Digest, a login form) is a login event with the same fields.
var request = []event.FieldDoc{
	event.F("method", "string", "request method"),
	event.F("path", "string", "request path"),
	event.F("query", "string", "query string"),
	event.F("version", "string", "HTTP version"),
	event.F("headers", "list", "the headers in the order sent"),
	event.F("user_agent", "string", "User-Agent"),
	event.F("host", "string", "Host"),
	event.F("status", "int", "status answered"),
	event.F("response_bytes", "int", "bytes answered"),
	event.F("body_bytes", "int", "request body size"),
	event.F("body_sha256", "string", "the quarantined body, when large"),
}

func init() {
	service.Register(service.Info{
		ID: "http", Title: "HTTP server", Ports: service.TCPPorts(80),
		Settings: func() any { return defaults() },
		New:      serve.Factory(func(env serve.Env) (serve.Server, error) { return newServer(env, false) }),
		Legacy:   []service.Legacy{{Key: "server_name", Note: "the virtual host name is the persona's hostname"}},
		Events: append(event.LoginTypes("http", request...),
			event.Type{Name: "http.request.received", Severity: event.Low, Summary: "One request and the answer it got.", Fields: request},
			tlsserver.HandshakeType("http"),
			event.Type{Name: "http.file.upload", Severity: event.High, Summary: "A file posted to the server, quarantined by SHA-256.", Fields: []event.FieldDoc{
				event.F("sha256", "string", "the quarantined blob"),
				event.F("size", "int", "bytes"),
			}},
		),
	})
	service.Register(service.Info{
		ID: "https", Title: "HTTPS server", Ports: service.TCPPorts(443), Namespace: "http",
		Settings: func() any { return tlsDefaults() },
		New:      serve.Factory(func(env serve.Env) (serve.Server, error) { return newServer(env, true) }),
		Legacy:   []service.Legacy{{Key: "server_name", Setting: "tls_cn"}},
	})
}
