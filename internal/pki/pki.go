package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// Role kinds.
const (
	KindMaster = "master"
	KindAgent  = "agent"
)

// TrustDomain is the authority of every role URI.
const TrustDomain = "decnet"

// File names of the CA in its directory.
const (
	CACertFile = "ca.crt"
	CAKeyFile  = "ca.key"
)

// DefaultCAName is the CA's common name when NewCA is given none.
const DefaultCAName = "DECNET CA"

// ClockSkew is how far before "now" certificates start to be valid, so
// that peers with slightly slow clocks accept them.
const ClockSkew = 5 * time.Minute

// caValidity is how long a new CA is valid, in years.
const caValidity = 10

// maxSANs bounds the DNS and IP SANs a request may carry.
const maxSANs = 64

// PEM block types.
const (
	pemCertificate = "CERTIFICATE"
	pemPrivateKey  = "PRIVATE KEY"
	pemCSR         = "CERTIFICATE REQUEST"
)

var (
	// ErrInvalidRole is returned for a role, role URI or certificate that
	// does not name exactly one valid DECNET role.
	ErrInvalidRole = errors.New("invalid role")
	// ErrRoleDenied is returned when a peer's role is not one the caller
	// accepts.
	ErrRoleDenied = errors.New("role not allowed")
	// ErrRevoked is returned when a peer's certificate is revoked.
	ErrRevoked = errors.New("certificate revoked")
)

var hostIDPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// ValidHostID reports whether id can name an agent:
// ^[a-z0-9][a-z0-9-]{0,62}$.
func ValidHostID(id string) bool { return hostIDPattern.MatchString(id) }

// Role is the identity a certificate carries in its URI SAN.
type Role struct {
	// Kind is KindMaster or KindAgent.
	Kind string
	// HostID identifies an agent; it is empty for the master.
	HostID string
}

// Master returns the master role.
func Master() Role { return Role{Kind: KindMaster} }

// Agent returns the role of the agent on host hostID.
func Agent(hostID string) Role { return Role{Kind: KindAgent, HostID: hostID} }

// Validate returns an error wrapping ErrInvalidRole unless r is the master
// role or an agent role with a valid host id.
func (r Role) Validate() error {
	switch r.Kind {
	case KindMaster:
		if r.HostID != "" {
			return fmt.Errorf("%w: master role with host id %q", ErrInvalidRole, r.HostID)
		}
		return nil
	case KindAgent:
		if !ValidHostID(r.HostID) {
			return fmt.Errorf("%w: agent host id %q does not match %s", ErrInvalidRole, r.HostID, hostIDPattern)
		}
		return nil
	default:
		return fmt.Errorf("%w: unknown kind %q", ErrInvalidRole, r.Kind)
	}
}

// URI returns r's URI SAN: spiffe://decnet/master or
// spiffe://decnet/agent/<host id>. It does not validate r.
func (r Role) URI() *url.URL {
	path := "/" + r.Kind
	if r.Kind == KindAgent || r.HostID != "" {
		path += "/" + r.HostID
	}
	return &url.URL{Scheme: "spiffe", Host: TrustDomain, Path: path}
}

// String returns r's URI as a string.
func (r Role) String() string { return r.URI().String() }

// ParseRole returns the role a URI names. Only the canonical forms
// spiffe://decnet/master and spiffe://decnet/agent/<host id> are accepted:
// no user, port, query, fragment, escaping or trailing slash.
func ParseRole(u *url.URL) (Role, error) {
	if u == nil {
		return Role{}, fmt.Errorf("%w: no URI", ErrInvalidRole)
	}
	if u.Scheme != "spiffe" || u.Host != TrustDomain {
		return Role{}, fmt.Errorf("%w: %q is not a spiffe://%s/ URI", ErrInvalidRole, u, TrustDomain)
	}
	var r Role
	switch kind, hostID, hasHost := strings.Cut(strings.TrimPrefix(u.Path, "/"), "/"); {
	case kind == KindMaster && !hasHost:
		r = Master()
	case kind == KindAgent && hasHost:
		r = Agent(hostID)
	default:
		return Role{}, fmt.Errorf("%w: %q names no role", ErrInvalidRole, u)
	}
	if err := r.Validate(); err != nil {
		return Role{}, err
	}
	if u.String() != r.String() {
		return Role{}, fmt.Errorf("%w: %q is not in canonical form %q", ErrInvalidRole, u, r)
	}
	return r, nil
}

// RoleOf returns the role of a certificate, which must carry exactly one
// spiffe://decnet/ URI SAN. Other URI SANs are ignored; names, CN and
// DNS SANs never confer a role.
func RoleOf(cert *x509.Certificate) (Role, error) {
	if cert == nil {
		return Role{}, fmt.Errorf("%w: no certificate", ErrInvalidRole)
	}
	var found []*url.URL
	for _, u := range cert.URIs {
		if strings.EqualFold(u.Scheme, "spiffe") && strings.EqualFold(u.Hostname(), TrustDomain) {
			found = append(found, u)
		}
	}
	switch len(found) {
	case 0:
		return Role{}, fmt.Errorf("%w: certificate %s has no spiffe://%s/ URI SAN", ErrInvalidRole, serialHex(cert), TrustDomain)
	case 1:
		return ParseRole(found[0])
	default:
		return Role{}, fmt.Errorf("%w: certificate %s has %d spiffe://%s/ URI SANs", ErrInvalidRole, serialHex(cert), len(found), TrustDomain)
	}
}

// Only returns an allow function accepting exactly the given roles.
func Only(roles ...Role) func(Role) bool {
	return func(r Role) bool {
		for _, want := range roles {
			if r == want {
				return true
			}
		}
		return false
	}
}

// AnyAgent is an allow function accepting every agent role.
func AnyAgent(r Role) bool { return r.Kind == KindAgent && r.Validate() == nil }

// CA is the certificate authority. Key is nil for a CA loaded from its
// certificate alone (which can verify but not sign).
type CA struct {
	Cert    *x509.Certificate
	Key     crypto.Signer
	CertPEM []byte
}

// NewCA creates a CA: an ECDSA P-256 key and a self-signed certificate
// named name (DefaultCAName when empty), valid from now minus ClockSkew
// for ten years, which may sign leaf certificates only (path length 0).
// A zero now means the current time.
func NewCA(name string, now time.Time) (*CA, error) {
	if name == "" {
		name = DefaultCAName
	}
	if now.IsZero() {
		now = time.Now()
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("create CA: generate key: %w", err)
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, fmt.Errorf("create CA: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: name, Organization: []string{"DECNET"}},
		NotBefore:             now.Add(-ClockSkew),
		NotAfter:              now.AddDate(caValidity, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            0,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("create CA: sign certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("create CA: %w", err)
	}
	return &CA{Cert: cert, Key: key, CertPEM: encodePEM(pemCertificate, der)}, nil
}

// LoadCA reads ca.crt and ca.key from dir and checks that they belong
// together.
func LoadCA(dir string) (*CA, error) {
	certPEM, err := os.ReadFile(filepath.Join(dir, CACertFile))
	if err != nil {
		return nil, fmt.Errorf("load CA: %w", err)
	}
	cert, err := ParseCertificatePEM(certPEM)
	if err != nil {
		return nil, fmt.Errorf("load CA %s: %w", filepath.Join(dir, CACertFile), err)
	}
	if !cert.IsCA {
		return nil, fmt.Errorf("load CA %s: not a CA certificate", filepath.Join(dir, CACertFile))
	}
	keyPEM, err := os.ReadFile(filepath.Join(dir, CAKeyFile))
	if err != nil {
		return nil, fmt.Errorf("load CA: %w", err)
	}
	key, err := ParsePrivateKeyPEM(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("load CA %s: %w", filepath.Join(dir, CAKeyFile), err)
	}
	pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(cert.PublicKey) {
		return nil, fmt.Errorf("load CA %s: %s does not match %s", dir, CAKeyFile, CACertFile)
	}
	return &CA{Cert: cert, Key: key, CertPEM: certPEM}, nil
}

// Save writes the CA to dir (created 0700 when missing) as ca.key (0600,
// PKCS#8 PEM) and ca.crt (0644). It refuses, with an error matching
// fs.ErrExist, to overwrite an existing ca.key.
func (ca *CA) Save(dir string) error {
	if ca == nil || ca.Key == nil || ca.Cert == nil {
		return errors.New("save CA: no certificate or key")
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(ca.Key)
	if err != nil {
		return fmt.Errorf("save CA: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("save CA: %w", err)
	}
	keyPath := filepath.Join(dir, CAKeyFile)
	if err := WriteNewFile(keyPath, encodePEM(pemPrivateKey, keyDER), 0o600); err != nil {
		return fmt.Errorf("save CA: %w", err)
	}
	certPEM := ca.CertPEM
	if len(certPEM) == 0 {
		certPEM = encodePEM(pemCertificate, ca.Cert.Raw)
	}
	if err := writeFileAtomic(filepath.Join(dir, CACertFile), certPEM, 0o644); err != nil {
		_ = os.Remove(keyPath) // leave no key without its certificate
		return fmt.Errorf("save CA: %w", err)
	}
	return nil
}

// Hash returns the CA hash agents pin when they enroll:
// "sha256:<hex>" over the CA certificate's SubjectPublicKeyInfo.
func (ca *CA) Hash() string { return CAHash(ca.Cert) }

// CAHash returns "sha256:<hex of SHA-256 over cert's DER
// SubjectPublicKeyInfo>", the form of kubeadm's
// --discovery-token-ca-cert-hash. It depends on the key only, so it
// survives re-issuing the CA certificate with the same key.
func CAHash(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Pool returns a certificate pool holding the CA certificate.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Cert)
	return p
}

// NewPool returns a pool of the CA certificates in caPEM, for peers that
// have ca.crt but not the CA. It fails when caPEM holds no CA certificate.
func NewPool(caPEM []byte) (*x509.CertPool, error) {
	p := x509.NewCertPool()
	n := 0
	for rest := caPEM; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != pemCertificate {
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parse CA certificate: %w", err)
		}
		if !cert.IsCA {
			return nil, fmt.Errorf("parse CA certificate: %s is not a CA", cert.Subject)
		}
		p.AddCert(cert)
		n++
	}
	if n == 0 {
		return nil, errors.New("parse CA certificate: no CERTIFICATE block")
	}
	return p, nil
}

// NewKeyAndCSR makes a fresh ECDSA P-256 key and a certificate request for
// role with the given DNS and IP SANs. The requester keeps keyPEM (PKCS#8)
// and sends only csrPEM: private keys never travel. The request names the
// role it asks for, but the CA decides the role (see SignCSR).
func NewKeyAndCSR(role Role, dnsNames []string, ips []net.IP) (keyPEM, csrPEM []byte, err error) {
	if err := role.Validate(); err != nil {
		return nil, nil, fmt.Errorf("create certificate request: %w", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("create certificate request: generate key: %w", err)
	}
	tmpl := &x509.CertificateRequest{
		Subject:     subjectOf(role),
		DNSNames:    dnsNames,
		IPAddresses: ips,
		URIs:        []*url.URL{role.URI()},
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, key)
	if err != nil {
		return nil, nil, fmt.Errorf("create certificate request: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("create certificate request: %w", err)
	}
	return encodePEM(pemPrivateKey, keyDER), encodePEM(pemCSR, der), nil
}

// SignCSR issues a certificate for role to the key of the request in
// csrPEM, after checking the request's signature. The role URI is set by
// the CA from role: any URI SAN, subject or e-mail address the request
// asks for is ignored, so no requester-chosen name becomes a role. DNS and
// IP SANs are copied (at most 64 in all). The certificate is valid from
// now minus ClockSkew for validity (never past the CA's own expiry), for
// both server and client authentication, with a random 128-bit serial.
// A zero now means the current time.
func (ca *CA) SignCSR(csrPEM []byte, role Role, validity time.Duration, now time.Time) (certPEM []byte, err error) {
	if ca == nil || ca.Key == nil || ca.Cert == nil {
		return nil, errors.New("sign certificate request: CA has no key")
	}
	if err := role.Validate(); err != nil {
		return nil, fmt.Errorf("sign certificate request: %w", err)
	}
	if validity <= 0 {
		return nil, fmt.Errorf("sign certificate request: validity %v is not positive", validity)
	}
	if now.IsZero() {
		now = time.Now()
	}
	block, _ := pem.Decode(csrPEM)
	if block == nil || (block.Type != pemCSR && block.Type != "NEW "+pemCSR) {
		return nil, errors.New("sign certificate request: no CERTIFICATE REQUEST PEM block")
	}
	csr, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("sign certificate request: %w", err)
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, fmt.Errorf("sign certificate request: %w", err)
	}
	keyUsage, err := leafKeyUsage(csr.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("sign certificate request: %w", err)
	}
	if n := len(csr.DNSNames) + len(csr.IPAddresses); n > maxSANs {
		return nil, fmt.Errorf("sign certificate request: %d SANs, at most %d allowed", n, maxSANs)
	}
	for _, name := range csr.DNSNames {
		if !validDNSName(name) {
			return nil, fmt.Errorf("sign certificate request: invalid DNS name %q", name)
		}
	}
	notBefore, notAfter := now.Add(-ClockSkew), now.Add(validity)
	if notAfter.After(ca.Cert.NotAfter) {
		notAfter = ca.Cert.NotAfter
	}
	if !notAfter.After(notBefore) {
		return nil, fmt.Errorf("sign certificate request: CA expires %s, before the certificate would start", ca.Cert.NotAfter.UTC().Format(time.RFC3339))
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, fmt.Errorf("sign certificate request: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               subjectOf(role),
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              keyUsage,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		IsCA:                  false,
		DNSNames:              csr.DNSNames,
		IPAddresses:           csr.IPAddresses,
		URIs:                  []*url.URL{role.URI()},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, csr.PublicKey, ca.Key)
	if err != nil {
		return nil, fmt.Errorf("sign certificate request: %w", err)
	}
	return encodePEM(pemCertificate, der), nil
}

// Issue makes a key and a certificate for role in one step (NewKeyAndCSR
// then SignCSR), for identities the CA holder runs itself, such as the
// master. Remote peers should make their own key and send a request.
func (ca *CA) Issue(role Role, dnsNames []string, ips []net.IP, validity time.Duration, now time.Time) (certPEM, keyPEM []byte, err error) {
	keyPEM, csrPEM, err := NewKeyAndCSR(role, dnsNames, ips)
	if err != nil {
		return nil, nil, fmt.Errorf("issue %s: %w", role, err)
	}
	certPEM, err = ca.SignCSR(csrPEM, role, validity, now)
	if err != nil {
		return nil, nil, fmt.Errorf("issue %s: %w", role, err)
	}
	return certPEM, keyPEM, nil
}

// ParseCertificatePEM parses the first CERTIFICATE block of data.
func ParseCertificatePEM(data []byte) (*x509.Certificate, error) {
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, errors.New("parse certificate: no CERTIFICATE PEM block")
		}
		if block.Type != pemCertificate {
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parse certificate: %w", err)
		}
		return cert, nil
	}
}

// ParsePrivateKeyPEM parses a PKCS#8 "PRIVATE KEY" PEM block.
func ParsePrivateKeyPEM(data []byte) (crypto.Signer, error) {
	block, _ := pem.Decode(data)
	if block == nil || block.Type != pemPrivateKey {
		return nil, errors.New("parse private key: no PRIVATE KEY PEM block")
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parse private key: %w", err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("parse private key: %T cannot sign", key)
	}
	return signer, nil
}

// Revocations tells whether a certificate the CA issued is revoked, by
// serial number. Implementations must be safe for concurrent use: they
// are consulted during every handshake.
type Revocations interface {
	Revoked(serial *big.Int) bool
}

// RevokedFunc adapts a function to Revocations.
type RevokedFunc func(serial *big.Int) bool

// Revoked calls f.
func (f RevokedFunc) Revoked(serial *big.Int) bool { return f(serial) }

// TLSOption changes ServerTLSConfig and ClientTLSConfig.
type TLSOption func(*tlsOptions)

type tlsOptions struct {
	revocations Revocations
	now         func() time.Time
}

// WithRevocations refuses, on the connection being established, a peer
// whose certificate serial r reports as revoked.
func WithRevocations(r Revocations) TLSOption {
	return func(o *tlsOptions) { o.revocations = r }
}

// WithClock verifies certificate validity periods at now() instead of the
// current time (tests).
func WithClock(now func() time.Time) TLSOption {
	return func(o *tlsOptions) { o.now = now }
}

func collect(opts []TLSOption) *tlsOptions {
	o := &tlsOptions{now: time.Now}
	for _, opt := range opts {
		opt(o)
	}
	return o
}

// checkPeer refuses a revoked leaf or one whose role accept rejects.
func (o *tlsOptions) checkPeer(leaf *x509.Certificate, accept func(Role) bool, peer string) error {
	if o.revocations != nil && o.revocations.Revoked(leaf.SerialNumber) {
		return fmt.Errorf("pki: %s certificate %s: %w", peer, serialHex(leaf), ErrRevoked)
	}
	role, err := RoleOf(leaf)
	if err != nil {
		return fmt.Errorf("pki: %s: %w", peer, err)
	}
	if accept == nil || !accept(role) {
		return fmt.Errorf("pki: %s %s: %w", peer, role, ErrRoleDenied)
	}
	return nil
}

// ServerTLSConfig returns the configuration of a server that requires a
// client certificate issued by a CA in pool (TLS 1.2 or later; 1.3 is
// negotiated whenever the client has it) and accepts the connection only
// when allow accepts the client's role and, with WithRevocations, its
// certificate is not revoked. A nil allow refuses every client. Session
// tickets are off, so every connection is fully verified.
func ServerTLSConfig(pool *x509.CertPool, cert tls.Certificate, allow func(Role) bool, opts ...TLSOption) *tls.Config {
	o := collect(opts)
	return &tls.Config{
		MinVersion:             tls.VersionTLS12,
		Certificates:           []tls.Certificate{cert},
		ClientAuth:             tls.RequireAndVerifyClientCert,
		ClientCAs:              pool,
		SessionTicketsDisabled: true,
		Time:                   o.now,
		VerifyConnection: func(cs tls.ConnectionState) error {
			// crypto/tls has verified the chain against ClientCAs (with
			// the client-auth key usage) before calling this.
			if len(cs.VerifiedChains) == 0 || len(cs.VerifiedChains[0]) == 0 {
				return errors.New("pki: client certificate not verified")
			}
			return o.checkPeer(cs.VerifiedChains[0][0], allow, "client")
		},
	}
}

// ClientTLSConfig returns the configuration of a client that presents
// cert and accepts the server only when its chain verifies against pool
// (for server authentication, at the current time), want accepts its role
// and, with WithRevocations, its certificate is not revoked. A nil want
// refuses every server.
//
// The server is identified by its role, not by hostname: crypto/tls's
// hostname verification is switched off (InsecureSkipVerify) and the
// complete chain verification is done in VerifyConnection instead, on the
// same connection.
func ClientTLSConfig(pool *x509.CertPool, cert tls.Certificate, want func(Role) bool, opts ...TLSOption) *tls.Config {
	o := collect(opts)
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{cert},
		// Chain verification is not skipped: VerifyConnection does it,
		// without the hostname check.
		InsecureSkipVerify: true, //nolint:gosec // verified in VerifyConnection
		Time:               o.now,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("pki: server sent no certificate")
			}
			leaf := cs.PeerCertificates[0]
			intermediates := x509.NewCertPool()
			for _, c := range cs.PeerCertificates[1:] {
				intermediates.AddCert(c)
			}
			if _, err := leaf.Verify(x509.VerifyOptions{
				Roots:         pool,
				Intermediates: intermediates,
				CurrentTime:   o.now(),
				KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
			}); err != nil {
				return fmt.Errorf("pki: server certificate: %w", err)
			}
			return o.checkPeer(leaf, want, "server")
		},
	}
}

// PeerRole returns the role of the peer of an established connection
// made with ServerTLSConfig or ClientTLSConfig (whose handshake has
// verified the peer).
func PeerRole(cs *tls.ConnectionState) (Role, error) {
	if cs == nil || len(cs.PeerCertificates) == 0 {
		return Role{}, fmt.Errorf("%w: no peer certificate", ErrInvalidRole)
	}
	return RoleOf(cs.PeerCertificates[0])
}

// subjectOf is the informational subject of role's certificates. It is
// never used for authorization.
func subjectOf(r Role) pkix.Name {
	cn := "decnet-master"
	if r.Kind == KindAgent {
		cn = r.HostID
	}
	return pkix.Name{CommonName: cn, Organization: []string{"DECNET"}, OrganizationalUnit: []string{r.Kind}}
}

// leafKeyUsage returns the key usage for a subject key, refusing weak or
// unknown key types.
func leafKeyUsage(pub crypto.PublicKey) (x509.KeyUsage, error) {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256(), elliptic.P384(), elliptic.P521():
			return x509.KeyUsageDigitalSignature, nil
		}
		return 0, fmt.Errorf("unsupported ECDSA curve %s", k.Curve.Params().Name)
	case ed25519.PublicKey:
		return x509.KeyUsageDigitalSignature, nil
	case *rsa.PublicKey:
		if k.N.BitLen() < 2048 {
			return 0, fmt.Errorf("RSA key of %d bits, at least 2048 required", k.N.BitLen())
		}
		return x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment, nil
	default:
		return 0, fmt.Errorf("unsupported public key type %T", pub)
	}
}

// validDNSName accepts host names made of letters, digits, hyphens and
// dots (no wildcards, no '@'), at most 253 bytes.
func validDNSName(name string) bool {
	if name == "" || len(name) > 253 {
		return false
	}
	for label := range strings.SplitSeq(strings.TrimSuffix(name, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range []byte(label) {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// randomSerial returns a random, positive 128-bit serial number.
func randomSerial() (*big.Int, error) {
	limit := new(big.Int).Lsh(big.NewInt(1), 128)
	for {
		n, err := rand.Int(rand.Reader, limit)
		if err != nil {
			return nil, fmt.Errorf("generate serial: %w", err)
		}
		if n.Sign() > 0 {
			return n, nil
		}
	}
}

func serialHex(cert *x509.Certificate) string {
	if cert.SerialNumber == nil {
		return "<no serial>"
	}
	return cert.SerialNumber.Text(16)
}

func encodePEM(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

// WriteNewFile creates path with perm and data, failing (with an error
// matching fs.ErrExist) when it exists.
func WriteNewFile(path string, data []byte, perm os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		_ = os.Remove(path)
		return err
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		_ = os.Remove(path)
		return err
	}
	if err := f.Close(); err != nil {
		_ = os.Remove(path)
		return err
	}
	return nil
}

// writeFileAtomic replaces path with data through a temporary file in the
// same directory and a rename.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if _, err := tmp.Write(data); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Chmod(perm); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
