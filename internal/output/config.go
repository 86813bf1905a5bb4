package output

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
)

// Config describes one output, as the master stores and the API edits it.
type Config struct {
	// Name identifies the output; its durable consumer is
	// "output-" + Name. Lowercase letters, digits, '-' and '_', at most
	// 63, starting with a letter or digit.
	Name string `json:"name" yaml:"name"`
	// Kind is "file", "syslog", "webhook", "splunk_hec", "elasticsearch"
	// or "kafka".
	Kind string `json:"kind" yaml:"kind"`

	// Path is the JSON-lines file (file).
	Path string `json:"path,omitempty" yaml:"path,omitempty"`
	// MaxBytes and Keep set rotation (file; defaults in
	// DefaultFileOptions).
	MaxBytes int64 `json:"max_bytes,omitempty" yaml:"max_bytes,omitempty"`
	Keep     int   `json:"keep,omitempty" yaml:"keep,omitempty"`

	// Address is the receiver's host:port (syslog), or the brokers
	// (kafka).
	Address string `json:"address,omitempty" yaml:"address,omitempty"`
	// TLS uses syslog over TLS, RFC 5425 (syslog).
	TLS bool `json:"tls,omitempty" yaml:"tls,omitempty"`
	// RELP sends syslog over RELP, acknowledged per message (rsyslog's
	// imrelp), instead of plain TCP (syslog).
	RELP bool `json:"relp,omitempty" yaml:"relp,omitempty"`
	// Hostname overrides the syslog HOSTNAME (syslog; see
	// SyslogOptions.Hostname).
	Hostname string `json:"hostname,omitempty" yaml:"hostname,omitempty"`

	// CA is a PEM file of the CA certificates that verify the receiver
	// (syslog with TLS, https webhook); empty means the system roots.
	CA string `json:"ca,omitempty" yaml:"ca,omitempty"`
	// Cert and Key are PEM files of an optional client certificate
	// (syslog with TLS, https webhook).
	Cert string `json:"cert,omitempty" yaml:"cert,omitempty"`
	Key  string `json:"key,omitempty" yaml:"key,omitempty"`

	// URL is the http(s) endpoint (webhook), the HEC collector
	// (splunk_hec) or the cluster (elasticsearch).
	URL string `json:"url,omitempty" yaml:"url,omitempty"`
	// Secret keys the signature, at least MinSecretLen bytes (webhook);
	// it is the HEC token (splunk_hec) or the API key (elasticsearch,
	// optional). Redact it wherever the config is shown.
	Secret string `json:"secret,omitempty" yaml:"secret,omitempty"`
	// Index is the Splunk index (splunk_hec; "" for the token's default)
	// or the index prefix (elasticsearch; default decnet-events).
	Index string `json:"index,omitempty" yaml:"index,omitempty"`
	// Topic is the Kafka topic (kafka; Address lists the brokers,
	// comma-separated host:port).
	Topic string `json:"topic,omitempty" yaml:"topic,omitempty"`
	// Format is the syslog message format: rfc5424 (default, the JSON
	// document as MSG), cef (ArcSight) or leef (QRadar).
	Format string `json:"format,omitempty" yaml:"format,omitempty"`
	// MaxFailures disables the webhook after this many consecutive failed
	// deliveries; 0 means 10 (webhook).
	MaxFailures int `json:"max_failures,omitempty" yaml:"max_failures,omitempty"`
	// AllowPrivate lets the webhook deliver to loopback, link-local and
	// private addresses, refused by default (webhook).
	AllowPrivate bool `json:"allow_private,omitempty" yaml:"allow_private,omitempty"`
}

// ErrInvalid is matched by every ConfigError.
var ErrInvalid = errors.New("invalid output config")

// ConfigError is one problem of a Config.
type ConfigError struct {
	Field   string
	Problem string
}

func (e *ConfigError) Error() string {
	return "output config: " + e.Field + ": " + e.Problem
}

// Is makes a ConfigError match ErrInvalid.
func (e *ConfigError) Is(target error) bool { return target == ErrInvalid }

var (
	namePattern  = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)
	indexPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,99}$`)
	topicPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,249}$`)
)

// TakesSecret reports whether the kind has a secret (the webhook's key,
// the HEC token, the Elasticsearch API key), which the master seals and
// never shows.
func (c Config) TakesSecret() bool {
	return c.Kind == KindWebhook || c.Kind == KindSplunkHEC || c.Kind == KindElasticsearch
}

// Validate returns every problem of c at once (errors.Join of
// *ConfigError), or nil. It reads no file.
func (c Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &ConfigError{Field: field, Problem: fmt.Sprintf(format, args...)})
	}
	if !namePattern.MatchString(c.Name) {
		bad("name", "%q: want lowercase letters, digits, '-' and '_', at most 63, starting with a letter or digit", c.Name)
	}
	if c.MaxFailures < 0 {
		bad("max_failures", "must not be negative")
	}
	if (c.Cert == "") != (c.Key == "") {
		bad("cert", "cert and key go together")
	}
	switch c.Kind {
	case KindFile:
		if c.Path == "" {
			bad("path", "required for a file output")
		}
		if c.MaxBytes < 0 {
			bad("max_bytes", "must not be negative")
		}
		if c.Keep < 0 {
			bad("keep", "must not be negative")
		}
	case KindSyslog:
		host, port, err := net.SplitHostPort(c.Address)
		if n, perr := strconv.Atoi(port); err != nil || host == "" || perr != nil || n < 1 || n > 65535 {
			bad("address", "%q: want host:port", c.Address)
		}
		if !c.TLS && (c.CA != "" || c.Cert != "") {
			bad("tls", "ca, cert and key need tls")
		}
		switch c.Format {
		case "", FormatRFC5424, FormatCEF, FormatLEEF:
		default:
			bad("format", "%q: want rfc5424, cef or leef", c.Format)
		}
	case KindKafka:
		for _, b := range strings.Split(c.Address, ",") {
			host, port, err := net.SplitHostPort(strings.TrimSpace(b))
			if n, perr := strconv.Atoi(port); err != nil || host == "" || perr != nil || n < 1 || n > 65535 {
				bad("address", "%q: want the brokers as host:port, comma-separated", c.Address)
				break
			}
		}
		if !topicPattern.MatchString(c.Topic) {
			bad("topic", "%q: want letters, digits, '.', '_' and '-', at most 249", c.Topic)
		}
		if !c.TLS && (c.CA != "" || c.Cert != "") {
			bad("tls", "ca, cert and key need tls")
		}
	case KindWebhook, KindSplunkHEC, KindElasticsearch:
		u, err := url.Parse(c.URL)
		switch {
		case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
			bad("url", "%q: want http(s)://host/path", c.URL)
		case u.User != nil:
			bad("url", "must not carry credentials; the secret signs requests")
		case u.Scheme == "http" && (c.CA != "" || c.Cert != ""):
			bad("url", "ca, cert and key need https")
		case !c.AllowPrivate && literalPrivateHost(u.Hostname()) != "":
			bad("url", "%q is %s; set allow_private to deliver there", u.Hostname(), literalPrivateHost(u.Hostname()))
		}
		switch {
		case c.Kind == KindWebhook && len(c.Secret) < MinSecretLen:
			bad("secret", "at least %d bytes required", MinSecretLen)
		case c.Kind == KindSplunkHEC && c.Secret == "":
			bad("secret", "the HEC token is required")
		}
		if c.Index != "" && !indexPattern.MatchString(c.Index) {
			bad("index", "%q: want lowercase letters, digits, '-' and '_', at most 100", c.Index)
		}
	default:
		bad("kind", "%q: want file, syslog, webhook, splunk_hec, elasticsearch or kafka", c.Kind)
	}
	return errors.Join(errs...)
}

// New validates cfg and returns its output. It reads the CA and
// certificate files but connects to nothing: outputs connect on their
// first Deliver.
func New(cfg Config) (Output, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	switch cfg.Kind {
	case KindFile:
		return NewFile(cfg.Name, cfg.Path, FileOptions{MaxBytes: cfg.MaxBytes, Keep: cfg.Keep})
	case KindSyslog:
		opts := SyslogOptions{Hostname: cfg.Hostname}
		if cfg.TLS {
			t, err := cfg.tlsConfig()
			if err != nil {
				return nil, err
			}
			opts.TLS = t
		}
		opts.Format, opts.RELP = cfg.Format, cfg.RELP
		return NewSyslog(cfg.Name, cfg.Address, opts)
	}
	if cfg.Kind == KindKafka {
		var opts KafkaOptions
		if cfg.TLS {
			t, err := cfg.tlsConfig()
			if err != nil {
				return nil, err
			}
			opts.TLS = t
		}
		return NewKafka(cfg.Name, cfg.Address, cfg.Topic, opts)
	}
	t, err := cfg.tlsConfig()
	if err != nil {
		return nil, err
	}
	opts := WebhookOptions{MaxFailures: cfg.MaxFailures, TLS: t, AllowPrivate: cfg.AllowPrivate}
	switch cfg.Kind {
	case KindSplunkHEC:
		return NewSplunkHEC(cfg.Name, cfg.URL, cfg.Secret, cfg.Index, opts)
	case KindElasticsearch:
		return NewElasticsearch(cfg.Name, cfg.URL, cfg.Secret, cfg.Index, opts)
	default: // KindWebhook
		return NewWebhook(cfg.Name, cfg.URL, []byte(cfg.Secret), opts)
	}
}

// tlsConfig loads the CA and client certificate files (nil, nil when
// neither is set).
func (c Config) tlsConfig() (*tls.Config, error) {
	t := &tls.Config{MinVersion: tls.VersionTLS12}
	if c.CA != "" {
		pem, err := os.ReadFile(c.CA)
		if err != nil {
			return nil, fmt.Errorf("output %s: read CA: %w", c.Name, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("output %s: CA %s: no PEM certificate", c.Name, c.CA)
		}
		t.RootCAs = pool
	}
	if c.Cert != "" {
		cert, err := tls.LoadX509KeyPair(c.Cert, c.Key)
		if err != nil {
			return nil, fmt.Errorf("output %s: client certificate: %w", c.Name, err)
		}
		t.Certificates = []tls.Certificate{cert}
	}
	if c.CA == "" && c.Cert == "" && c.TakesSecret() {
		return nil, nil
	}
	return t, nil
}
