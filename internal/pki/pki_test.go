package pki

import (
	"bytes"
	"crypto/ecdsa"
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
	"io"
	"io/fs"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sync"
	"testing"
	"time"
)

func mustCA(t testing.TB, name string) *CA {
	t.Helper()
	ca, err := NewCA(name, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func mustURL(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func parseCert(t testing.TB, certPEM []byte) *x509.Certificate {
	t.Helper()
	c, err := ParseCertificatePEM(certPEM)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// issued is a key pair issued by a CA, as crypto/tls wants it.
type issued struct {
	tls  tls.Certificate
	leaf *x509.Certificate
}

func issue(t testing.TB, ca *CA, role Role, validity time.Duration, now time.Time) issued {
	t.Helper()
	certPEM, keyPEM, err := ca.Issue(role, []string{"localhost"}, []net.IP{net.IPv4(127, 0, 0, 1)}, validity, now)
	if err != nil {
		t.Fatal(err)
	}
	kp, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return issued{tls: kp, leaf: parseCert(t, certPEM)}
}

// rawLeaf signs a leaf with arbitrary URI SANs, bypassing SignCSR.
func rawLeaf(t testing.TB, ca *CA, uris ...*url.URL) issued {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := randomSerial()
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "decnet-master"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		URIs:         uris,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, key.Public(), ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return issued{tls: tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, leaf: leaf}
}

func TestNewCAProfile(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	ca, err := NewCA("", now)
	if err != nil {
		t.Fatal(err)
	}
	c := ca.Cert
	pub, ok := c.PublicKey.(*ecdsa.PublicKey)
	checks := []struct {
		name string
		ok   bool
	}{
		{"ECDSA P-256", ok && pub.Curve == elliptic.P256()},
		{"default name", c.Subject.CommonName == DefaultCAName},
		{"self-signed", c.CheckSignatureFrom(c) == nil},
		{"is a CA", c.BasicConstraintsValid && c.IsCA},
		{"path length zero", c.MaxPathLen == 0 && c.MaxPathLenZero},
		{"key usage", c.KeyUsage == x509.KeyUsageCertSign|x509.KeyUsageCRLSign},
		{"not before now-5min", c.NotBefore.Equal(now.Add(-5 * time.Minute))},
		{"ten years", c.NotAfter.Equal(now.AddDate(10, 0, 0))},
		{"positive serial", c.SerialNumber.Sign() > 0 && c.SerialNumber.BitLen() <= 128},
		{"PEM matches", bytes.Equal(ca.CertPEM, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))},
	}
	for _, ch := range checks {
		if !ch.ok {
			t.Errorf("CA certificate: %s: no", ch.name)
		}
	}
}

func TestCASaveLoad(t *testing.T) {
	t.Parallel()
	ca := mustCA(t, "test CA")
	dir := filepath.Join(t.TempDir(), "ca")
	if err := ca.Save(dir); err != nil {
		t.Fatal(err)
	}
	for _, f := range []struct {
		name string
		perm fs.FileMode
	}{{CAKeyFile, 0o600}, {CACertFile, 0o644}, {"", 0o700}} {
		fi, err := os.Stat(filepath.Join(dir, f.name))
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != f.perm {
			t.Errorf("%s mode = %v, want %v", filepath.Join(dir, f.name), got, f.perm)
		}
	}
	keyPEM, err := os.ReadFile(filepath.Join(dir, CAKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if block, _ := pem.Decode(keyPEM); block == nil || block.Type != "PRIVATE KEY" {
		t.Fatalf("ca.key is not a PKCS#8 PEM block:\n%s", keyPEM)
	}

	loaded, err := LoadCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !loaded.Cert.Equal(ca.Cert) || !bytes.Equal(loaded.CertPEM, ca.CertPEM) {
		t.Error("loaded certificate differs")
	}
	if !loaded.Key.Public().(*ecdsa.PublicKey).Equal(ca.Key.Public()) {
		t.Error("loaded key differs")
	}
	if loaded.Hash() != ca.Hash() {
		t.Errorf("hash after reload = %s, want %s", loaded.Hash(), ca.Hash())
	}
	// The loaded CA signs certificates the original's pool verifies.
	leaf := issue(t, loaded, Master(), time.Hour, time.Time{})
	if _, err := leaf.leaf.Verify(x509.VerifyOptions{Roots: ca.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		t.Errorf("certificate from the reloaded CA: %v", err)
	}

	// Save never overwrites a CA key.
	other := mustCA(t, "other")
	if err := other.Save(dir); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("Save over an existing CA: err = %v, want fs.ErrExist", err)
	}
	again, err := LoadCA(dir)
	if err != nil || again.Hash() != ca.Hash() {
		t.Fatalf("CA changed after a refused Save: %v", err)
	}
}

func TestLoadCAErrors(t *testing.T) {
	t.Parallel()
	ca, other := mustCA(t, "a"), mustCA(t, "b")
	leaf := issue(t, ca, Master(), time.Hour, time.Time{})
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string)
	}{
		{"empty dir", func(*testing.T, string) {}},
		{"key missing", func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, CACertFile), ca.CertPEM)
		}},
		{"key of another CA", func(t *testing.T, dir string) {
			if err := other.Save(dir); err != nil {
				t.Fatal(err)
			}
			writeFile(t, filepath.Join(dir, CACertFile), ca.CertPEM)
		}},
		{"leaf instead of CA", func(t *testing.T, dir string) {
			if err := ca.Save(dir); err != nil {
				t.Fatal(err)
			}
			writeFile(t, filepath.Join(dir, CACertFile), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leaf.leaf.Raw}))
		}},
		{"garbage key", func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, CACertFile), ca.CertPEM)
			writeFile(t, filepath.Join(dir, CAKeyFile), []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"))
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			tc.setup(t, dir)
			if _, err := LoadCA(dir); err == nil {
				t.Fatal("LoadCA succeeded")
			}
		})
	}
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

var hashForm = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

func TestHash(t *testing.T) {
	t.Parallel()
	a, b := mustCA(t, "a"), mustCA(t, "a")
	dir := t.TempDir()
	if err := a.Save(dir); err != nil {
		t.Fatal(err)
	}
	reloaded, err := LoadCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(a.Cert.RawSubjectPublicKeyInfo)
	tests := []struct {
		name string
		got  string
		want string
	}{
		{"over the SubjectPublicKeyInfo", a.Hash(), "sha256:" + hex.EncodeToString(sum[:])},
		{"stable across reload", reloaded.Hash(), a.Hash()},
		{"of the certificate alone", CAHash(a.Cert), a.Hash()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !hashForm.MatchString(tc.got) {
				t.Errorf("hash %q is not of the form sha256:<64 hex>", tc.got)
			}
			if tc.got != tc.want {
				t.Errorf("hash = %s, want %s", tc.got, tc.want)
			}
		})
	}
	if a.Hash() == b.Hash() {
		t.Error("two CAs with the same name have the same hash")
	}
}

func TestRoleParse(t *testing.T) {
	t.Parallel()
	long := "a123456789b123456789c123456789d123456789e123456789f123456789abc" // 63
	tests := []struct {
		uri  string
		want Role
		ok   bool
	}{
		{"spiffe://decnet/master", Master(), true},
		{"spiffe://decnet/agent/h1", Agent("h1"), true},
		{"spiffe://decnet/agent/" + long, Agent(long), true},
		{"spiffe://decnet/agent/0-a", Agent("0-a"), true},
		{"spiffe://decnet/agent/" + long + "x", Role{}, false},
		{"spiffe://decnet/agent/", Role{}, false},
		{"spiffe://decnet/agent", Role{}, false},
		{"spiffe://decnet/agent/-h", Role{}, false},
		{"spiffe://decnet/agent/H1", Role{}, false},
		{"spiffe://decnet/agent/h_1", Role{}, false},
		{"spiffe://decnet/agent/h1/x", Role{}, false},
		{"spiffe://decnet/agent/h%31", Role{}, false},
		{"spiffe://decnet/master/", Role{}, false},
		{"spiffe://decnet/master/x", Role{}, false},
		{"spiffe://decnet/updater/h1", Role{}, false},
		{"spiffe://decnet/", Role{}, false},
		{"spiffe://decnet", Role{}, false},
		{"spiffe://other/master", Role{}, false},
		{"spiffe://DECNET/master", Role{}, false},
		{"spiffe://decnet:443/master", Role{}, false},
		{"spiffe://x@decnet/master", Role{}, false},
		{"spiffe://decnet/master?x=1", Role{}, false},
		{"spiffe://decnet/master#x", Role{}, false},
		{"spiffe://decnet//master", Role{}, false},
		{"https://decnet/master", Role{}, false},
		{"spiffe:decnet/master", Role{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.uri, func(t *testing.T) {
			t.Parallel()
			got, err := ParseRole(mustURL(t, tc.uri))
			if !tc.ok {
				if !errors.Is(err, ErrInvalidRole) {
					t.Fatalf("ParseRole = %v, %v; want ErrInvalidRole", got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ParseRole = %v, %v; want %v", got, err, tc.want)
			}
			if got.String() != tc.uri {
				t.Errorf("String() = %q, want %q", got.String(), tc.uri)
			}
		})
	}
	if _, err := ParseRole(nil); !errors.Is(err, ErrInvalidRole) {
		t.Errorf("ParseRole(nil) err = %v", err)
	}
}

func TestRoleValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		role Role
		ok   bool
	}{
		{Master(), true},
		{Agent("h1"), true},
		{Role{Kind: KindMaster, HostID: "h1"}, false},
		{Agent(""), false},
		{Agent("Bad"), false},
		{Role{}, false},
		{Role{Kind: "updater", HostID: "h1"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.role.String(), func(t *testing.T) {
			t.Parallel()
			if err := tc.role.Validate(); (err == nil) != tc.ok {
				t.Fatalf("Validate() = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

func FuzzParseRole(f *testing.F) {
	for _, s := range []string{"spiffe://decnet/master", "spiffe://decnet/agent/h-1", "spiffe://decnet/agent/%2e", "spiffe://decnet:1/master?x#y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := url.Parse(s)
		if err != nil {
			return
		}
		r, err := ParseRole(u)
		if err != nil {
			return
		}
		if err := r.Validate(); err != nil {
			t.Fatalf("ParseRole(%q) = %v, which does not validate: %v", s, r, err)
		}
		if r.String() != u.String() {
			t.Fatalf("ParseRole(%q) = %v, not canonical", s, r)
		}
		back, err := ParseRole(r.URI())
		if err != nil || back != r {
			t.Fatalf("round trip of %v = %v, %v", r, back, err)
		}
	})
}

func TestRoleOf(t *testing.T) {
	t.Parallel()
	u := func(s string) *url.URL { return mustURL(t, s) }
	tests := []struct {
		name string
		uris []*url.URL
		want Role
		ok   bool
	}{
		{"master", []*url.URL{u("spiffe://decnet/master")}, Master(), true},
		{"agent", []*url.URL{u("spiffe://decnet/agent/h1")}, Agent("h1"), true},
		{"other URI schemes ignored", []*url.URL{u("https://example.com/"), u("spiffe://decnet/agent/h1")}, Agent("h1"), true},
		{"foreign trust domain ignored", []*url.URL{u("spiffe://other/master"), u("spiffe://decnet/agent/h1")}, Agent("h1"), true},
		{"missing", nil, Role{}, false},
		{"only a foreign spiffe URI", []*url.URL{u("spiffe://other/master")}, Role{}, false},
		{"only an https URI", []*url.URL{u("https://decnet/master")}, Role{}, false},
		{"two roles", []*url.URL{u("spiffe://decnet/master"), u("spiffe://decnet/agent/h1")}, Role{}, false},
		{"the same role twice", []*url.URL{u("spiffe://decnet/master"), u("spiffe://decnet/master")}, Role{}, false},
		{"a role and a malformed one", []*url.URL{u("spiffe://decnet/agent/h1"), u("spiffe://DECNET/master")}, Role{}, false},
		{"malformed role", []*url.URL{u("spiffe://decnet/agent/H1")}, Role{}, false},
		{"unknown kind", []*url.URL{u("spiffe://decnet/updater/h1")}, Role{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// A CN and DNS SAN that look like roles never count.
			cert := &x509.Certificate{
				SerialNumber: big.NewInt(1),
				Subject:      pkix.Name{CommonName: "decnet-master"},
				DNSNames:     []string{"master", "decnet-master"},
				URIs:         tc.uris,
			}
			got, err := RoleOf(cert)
			if !tc.ok {
				if !errors.Is(err, ErrInvalidRole) {
					t.Fatalf("RoleOf = %v, %v; want ErrInvalidRole", got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("RoleOf = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
	if _, err := RoleOf(nil); !errors.Is(err, ErrInvalidRole) {
		t.Errorf("RoleOf(nil) err = %v", err)
	}
}

// csrAsking builds a request that asks for the given URI SANs and subject.
func csrAsking(t *testing.T, cn string, uris []*url.URL, dns []string, ips []net.IP) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject:     pkix.Name{CommonName: cn},
		URIs:        uris,
		DNSNames:    dns,
		IPAddresses: ips,
	}, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
}

func TestSignCSRSetsTheRoleItself(t *testing.T) {
	t.Parallel()
	ca := mustCA(t, "a")
	u := func(s string) *url.URL { return mustURL(t, s) }
	tests := []struct {
		name   string
		cn     string
		asks   []*url.URL
		signAs Role
	}{
		{"agent asks for master", "decnet-master", []*url.URL{u("spiffe://decnet/master")}, Agent("h1")},
		{"agent asks for another agent", "h2", []*url.URL{u("spiffe://decnet/agent/h2")}, Agent("h1")},
		{"asks for two roles", "x", []*url.URL{u("spiffe://decnet/master"), u("spiffe://decnet/agent/h2")}, Agent("h1")},
		{"asks for a foreign identity", "x", []*url.URL{u("spiffe://other/master"), u("https://evil/")}, Agent("h1")},
		{"asks for nothing", "", nil, Agent("h1")},
		{"master asks for an agent", "h1", []*url.URL{u("spiffe://decnet/agent/h1")}, Master()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ips := []net.IP{net.ParseIP("192.0.2.7"), net.ParseIP("2001:db8::7")}
			csr := csrAsking(t, tc.cn, tc.asks, []string{"agent-1.lab", "agent-1"}, ips)
			certPEM, err := ca.SignCSR(csr, tc.signAs, 24*time.Hour, time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			cert := parseCert(t, certPEM)
			if len(cert.URIs) != 1 || cert.URIs[0].String() != tc.signAs.String() {
				t.Fatalf("URI SANs = %v, want only %s", cert.URIs, tc.signAs)
			}
			if role, err := RoleOf(cert); err != nil || role != tc.signAs {
				t.Fatalf("RoleOf = %v, %v; want %v", role, err, tc.signAs)
			}
			if tc.signAs.Kind == KindAgent && cert.Subject.CommonName != tc.signAs.HostID {
				t.Errorf("subject CN = %q, want the CA's choice %q", cert.Subject.CommonName, tc.signAs.HostID)
			}
			if !reflect.DeepEqual(cert.DNSNames, []string{"agent-1.lab", "agent-1"}) {
				t.Errorf("DNS SANs = %v", cert.DNSNames)
			}
			if len(cert.IPAddresses) != 2 || !cert.IPAddresses[0].Equal(ips[0]) || !cert.IPAddresses[1].Equal(ips[1]) {
				t.Errorf("IP SANs = %v, want %v", cert.IPAddresses, ips)
			}
		})
	}
}

func TestSignCSRProfile(t *testing.T) {
	t.Parallel()
	ca := mustCA(t, "a")
	now := time.Now()
	_, csr, err := NewKeyAndCSR(Agent("h1"), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	serials := map[string]bool{}
	for range 8 {
		certPEM, err := ca.SignCSR(csr, Agent("h1"), 24*time.Hour, now)
		if err != nil {
			t.Fatal(err)
		}
		c := parseCert(t, certPEM)
		if c.IsCA || !c.BasicConstraintsValid {
			t.Error("leaf is a CA")
		}
		if !reflect.DeepEqual(c.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}) {
			t.Errorf("ExtKeyUsage = %v", c.ExtKeyUsage)
		}
		if c.KeyUsage != x509.KeyUsageDigitalSignature {
			t.Errorf("KeyUsage = %v", c.KeyUsage)
		}
		if !c.NotBefore.Equal(now.Add(-ClockSkew).Truncate(time.Second)) || !c.NotAfter.Equal(now.Add(24*time.Hour).Truncate(time.Second)) {
			t.Errorf("validity %v .. %v", c.NotBefore, c.NotAfter)
		}
		if err := c.CheckSignatureFrom(ca.Cert); err != nil {
			t.Error(err)
		}
		if c.SerialNumber.Sign() <= 0 || c.SerialNumber.BitLen() > 128 {
			t.Errorf("serial %v out of range", c.SerialNumber)
		}
		serials[c.SerialNumber.String()] = true
	}
	if len(serials) != 8 {
		t.Errorf("%d distinct serials in 8 certificates", len(serials))
	}
	// Never valid past the CA.
	certPEM, err := ca.SignCSR(csr, Agent("h1"), 100*365*24*time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	if c := parseCert(t, certPEM); !c.NotAfter.Equal(ca.Cert.NotAfter) {
		t.Errorf("NotAfter = %v, want the CA's %v", c.NotAfter, ca.Cert.NotAfter)
	}
}

func TestSignCSRRefuses(t *testing.T) {
	t.Parallel()
	ca := mustCA(t, "a")
	_, good, err := NewKeyAndCSR(Agent("h1"), []string{"h1"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(good)
	tampered := bytes.Clone(block.Bytes)
	tampered[len(tampered)-1] ^= 0xff // inside the signature
	weak, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	weakDER, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, weak)
	if err != nil {
		t.Fatal(err)
	}
	many := make([]string, maxSANs+1)
	for i := range many {
		many[i] = "h" + big.NewInt(int64(i)).String()
	}
	tests := []struct {
		name     string
		csr      []byte
		role     Role
		validity time.Duration
	}{
		{"tampered signature", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: tampered}), Agent("h1"), time.Hour},
		{"not PEM", []byte("hello"), Agent("h1"), time.Hour},
		{"wrong PEM type", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: block.Bytes}), Agent("h1"), time.Hour},
		{"invalid role", good, Agent("Bad_ID"), time.Hour},
		{"unknown role", good, Role{Kind: "updater"}, time.Hour},
		{"zero validity", good, Agent("h1"), 0},
		{"negative validity", good, Agent("h1"), -time.Hour},
		{"weak RSA key", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: weakDER}), Agent("h1"), time.Hour},
		{"'@' in a DNS name", csrAsking(t, "", nil, []string{"updater@h1"}, nil), Agent("h1"), time.Hour},
		{"wildcard DNS name", csrAsking(t, "", nil, []string{"*.lab"}, nil), Agent("h1"), time.Hour},
		{"too many SANs", csrAsking(t, "", nil, many, nil), Agent("h1"), time.Hour},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if certPEM, err := ca.SignCSR(tc.csr, tc.role, tc.validity, time.Time{}); err == nil {
				t.Fatalf("SignCSR issued\n%s", certPEM)
			}
		})
	}
	verifier := &CA{Cert: ca.Cert, CertPEM: ca.CertPEM}
	if _, err := verifier.SignCSR(good, Agent("h1"), time.Hour, time.Time{}); err == nil {
		t.Error("a CA without key signed")
	}
}

func TestNewPool(t *testing.T) {
	t.Parallel()
	ca := mustCA(t, "a")
	leaf := issue(t, ca, Master(), time.Hour, time.Time{})
	leafPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leaf.leaf.Raw})
	tests := []struct {
		name string
		in   []byte
		ok   bool
	}{
		{"ca.crt", ca.CertPEM, true},
		{"empty", nil, false},
		{"a leaf", leafPEM, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pool, err := NewPool(tc.in)
			if (err == nil) != tc.ok {
				t.Fatalf("NewPool err = %v, want ok=%v", err, tc.ok)
			}
			if tc.ok {
				if _, err := leaf.leaf.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
					t.Errorf("leaf does not verify against the pool: %v", err)
				}
			}
		})
	}
}

// errAny matches any non-nil error in handshake expectations.
var errAny = errors.New("any error")

func checkErr(t *testing.T, side string, got, want error) {
	t.Helper()
	if got != nil {
		t.Logf("%s: %v", side, got)
	}
	switch {
	case want == nil && got != nil:
		t.Errorf("%s: unexpected error: %v", side, got)
	case want == errAny && got == nil, want != nil && want != errAny && !errors.Is(got, want):
		t.Errorf("%s: err = %v, want %v", side, got, want)
	}
}

// handshake connects a client to a server over loopback TCP and exchanges
// one message, so that a refusal by either side surfaces on both.
func handshake(t *testing.T, server, client *tls.Config) (serverErr, clientErr error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	deadline := time.Now().Add(30 * time.Second) // a bound, not synchronisation
	var wg sync.WaitGroup
	wg.Go(func() {
		raw, err := ln.Accept()
		if err != nil {
			serverErr = err
			return
		}
		_ = raw.SetDeadline(deadline)
		conn := tls.Server(raw, server)
		defer conn.Close()
		if serverErr = conn.Handshake(); serverErr != nil {
			return
		}
		_, serverErr = conn.Write([]byte("ok"))
	})
	raw, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	_ = raw.SetDeadline(deadline)
	conn := tls.Client(raw, client)
	clientErr = conn.Handshake()
	if clientErr == nil {
		// Under TLS 1.3 the server checks the client's certificate after
		// the client has finished; its verdict arrives with the first read.
		buf := make([]byte, 2)
		if _, clientErr = io.ReadFull(conn, buf); clientErr == nil && string(buf) != "ok" {
			clientErr = errors.New("garbled reply")
		}
	}
	_ = conn.Close()
	wg.Wait()
	return serverErr, clientErr
}

type serialSet map[string]bool

func (s serialSet) Revoked(serial *big.Int) bool { return s[serial.String()] }

var _ Revocations = serialSet(nil)

func TestMutualTLS(t *testing.T) {
	t.Parallel()
	ca, foreign := mustCA(t, "DECNET CA"), mustCA(t, "DECNET CA") // same name: only the key tells them apart
	now := time.Now()
	agentSrv := issue(t, ca, Agent("h1"), time.Hour, now)
	master := issue(t, ca, Master(), time.Hour, now)
	agentCli := issue(t, ca, Agent("h2"), time.Hour, now)
	foreignMaster := issue(t, foreign, Master(), time.Hour, now)
	foreignAgent := issue(t, foreign, Agent("h1"), time.Hour, now)
	expiredMaster := issue(t, ca, Master(), time.Hour, now.Add(-48*time.Hour))
	expiredAgent := issue(t, ca, Agent("h1"), time.Hour, now.Add(-48*time.Hour))
	futureMaster := issue(t, ca, Master(), time.Hour, now.Add(48*time.Hour))
	revokedMaster := issue(t, ca, Master(), time.Hour, now)
	roleless := rawLeaf(t, ca, mustURL(t, "https://decnet/master"))
	twoRoles := rawLeaf(t, ca, mustURL(t, "spiffe://decnet/master"), mustURL(t, "spiffe://decnet/agent/h9"))
	revokedList := WithRevocations(serialSet{revokedMaster.leaf.SerialNumber.String(): true})

	tests := []struct {
		name       string
		serverCert issued
		clientCert *issued // nil: no certificate
		allow      func(Role) bool
		want       func(Role) bool
		serverOpts []TLSOption
		clientOpts []TLSOption
		tweak      func(client *tls.Config)
		nilPolicy  bool // server allow is nil
		nilWant    bool // client want is nil
		serverErr  error
		clientErr  error
	}{
		{name: "master accepted", serverCert: agentSrv, clientCert: &master},
		{name: "master accepted over TLS 1.2", serverCert: agentSrv, clientCert: &master,
			tweak: func(c *tls.Config) { c.MaxVersion = tls.VersionTLS12 }},
		{name: "revocation list without this serial", serverCert: agentSrv, clientCert: &master,
			serverOpts: []TLSOption{revokedList}, clientOpts: []TLSOption{revokedList}},
		{name: "agent refused by the server", serverCert: agentSrv, clientCert: &agentCli,
			serverErr: ErrRoleDenied, clientErr: errAny},
		{name: "agent refused by the server over TLS 1.2", serverCert: agentSrv, clientCert: &agentCli,
			tweak:     func(c *tls.Config) { c.MaxVersion = tls.VersionTLS12 },
			serverErr: ErrRoleDenied, clientErr: errAny},
		{name: "certificate of another CA refused", serverCert: agentSrv, clientCert: &foreignMaster,
			serverErr: errAny, clientErr: errAny},
		{name: "expired certificate refused", serverCert: agentSrv, clientCert: &expiredMaster,
			serverErr: errAny, clientErr: errAny},
		{name: "not yet valid certificate refused", serverCert: agentSrv, clientCert: &futureMaster,
			serverErr: errAny, clientErr: errAny},
		{name: "revoked certificate refused", serverCert: agentSrv, clientCert: &revokedMaster,
			serverOpts: []TLSOption{revokedList}, serverErr: ErrRevoked, clientErr: errAny},
		{name: "revoked via RevokedFunc", serverCert: agentSrv, clientCert: &master,
			serverOpts: []TLSOption{WithRevocations(RevokedFunc(func(s *big.Int) bool { return s.Cmp(master.leaf.SerialNumber) == 0 }))},
			serverErr:  ErrRevoked, clientErr: errAny},
		{name: "certificate without a role refused", serverCert: agentSrv, clientCert: &roleless,
			serverErr: ErrInvalidRole, clientErr: errAny},
		{name: "certificate with two roles refused", serverCert: agentSrv, clientCert: &twoRoles,
			serverErr: ErrInvalidRole, clientErr: errAny},
		{name: "no client certificate refused", serverCert: agentSrv, clientCert: nil,
			serverErr: errAny, clientErr: errAny},
		{name: "nil allow refuses everyone", serverCert: agentSrv, clientCert: &master,
			nilPolicy: true, serverErr: ErrRoleDenied, clientErr: errAny},
		{name: "nil want refuses every server", serverCert: agentSrv, clientCert: &master,
			nilWant: true, serverErr: errAny, clientErr: ErrRoleDenied},
		{name: "client refuses a server of the wrong role", serverCert: agentSrv, clientCert: &master,
			want: Only(Agent("h2")), serverErr: errAny, clientErr: ErrRoleDenied},
		{name: "client refuses a master posing as the agent", serverCert: master, clientCert: &master,
			serverErr: errAny, clientErr: ErrRoleDenied},
		{name: "client refuses a server of another CA", serverCert: foreignAgent, clientCert: &master,
			serverErr: errAny, clientErr: errAny},
		{name: "client refuses an expired server", serverCert: expiredAgent, clientCert: &master,
			serverErr: errAny, clientErr: errAny},
		{name: "client refuses a revoked server", serverCert: agentSrv, clientCert: &master,
			clientOpts: []TLSOption{WithRevocations(serialSet{agentSrv.leaf.SerialNumber.String(): true})},
			serverErr:  errAny, clientErr: ErrRevoked},
		{name: "client refuses TLS 1.1", serverCert: agentSrv, clientCert: &master,
			tweak:     func(c *tls.Config) { c.MinVersion, c.MaxVersion = tls.VersionTLS10, tls.VersionTLS11 },
			serverErr: errAny, clientErr: errAny},
		{name: "server clock decides expiry", serverCert: agentSrv, clientCert: &master,
			serverOpts: []TLSOption{WithClock(func() time.Time { return now.Add(2 * time.Hour) })},
			serverErr:  errAny, clientErr: errAny},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			allow, want := tc.allow, tc.want
			if allow == nil && !tc.nilPolicy {
				allow = Only(Master())
			}
			if want == nil && !tc.nilWant {
				want = Only(Agent("h1"))
			}
			var clientCert tls.Certificate
			if tc.clientCert != nil {
				clientCert = tc.clientCert.tls
			}
			srv := ServerTLSConfig(ca.Pool(), tc.serverCert.tls, allow, tc.serverOpts...)
			cli := ClientTLSConfig(ca.Pool(), clientCert, want, tc.clientOpts...)
			if tc.tweak != nil {
				tc.tweak(cli)
			}
			serverErr, clientErr := handshake(t, srv, cli)
			checkErr(t, "server", serverErr, tc.serverErr)
			checkErr(t, "client", clientErr, tc.clientErr)
		})
	}
}

func TestTLSConfigShape(t *testing.T) {
	t.Parallel()
	ca := mustCA(t, "a")
	kp := issue(t, ca, Master(), time.Hour, time.Time{})
	srv := ServerTLSConfig(ca.Pool(), kp.tls, Only(Master()))
	cli := ClientTLSConfig(ca.Pool(), kp.tls, Only(Master()))
	for _, c := range []struct {
		name string
		ok   bool
	}{
		{"server requires and verifies client certificates", srv.ClientAuth == tls.RequireAndVerifyClientCert && srv.ClientCAs != nil},
		{"server TLS 1.2+", srv.MinVersion == tls.VersionTLS12 && srv.MaxVersion == 0},
		{"client TLS 1.2+", cli.MinVersion == tls.VersionTLS12 && cli.MaxVersion == 0},
		{"server checks the connection", srv.VerifyConnection != nil},
		{"client verifies the chain itself", cli.InsecureSkipVerify && cli.VerifyConnection != nil},
	} {
		if !c.ok {
			t.Errorf("%s: no", c.name)
		}
	}
	// The client's own verification really checks the chain: a state
	// with a certificate of another CA is refused.
	foreign := issue(t, mustCA(t, "a"), Master(), time.Hour, time.Time{})
	if err := cli.VerifyConnection(tls.ConnectionState{PeerCertificates: []*x509.Certificate{foreign.leaf}}); err == nil {
		t.Error("client accepted a server certificate of another CA")
	}
	if err := cli.VerifyConnection(tls.ConnectionState{}); err == nil {
		t.Error("client accepted a server without certificate")
	}
}

func TestPeerRole(t *testing.T) {
	t.Parallel()
	ca := mustCA(t, "a")
	kp := issue(t, ca, Agent("h7"), time.Hour, time.Time{})
	r, err := PeerRole(&tls.ConnectionState{PeerCertificates: []*x509.Certificate{kp.leaf}})
	if err != nil || r != Agent("h7") {
		t.Fatalf("PeerRole = %v, %v", r, err)
	}
	if _, err := PeerRole(&tls.ConnectionState{}); !errors.Is(err, ErrInvalidRole) {
		t.Fatalf("PeerRole without certificate: %v", err)
	}
}

func TestOnlyAndAnyAgent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		role           Role
		onlyM, anyAgnt bool
	}{
		{Master(), true, false},
		{Agent("h1"), false, true},
		{Agent("Bad"), false, false},
		{Role{}, false, false},
	}
	only := Only(Master())
	for _, tc := range tests {
		if got := only(tc.role); got != tc.onlyM {
			t.Errorf("Only(master)(%v) = %v", tc.role, got)
		}
		if got := AnyAgent(tc.role); got != tc.anyAgnt {
			t.Errorf("AnyAgent(%v) = %v", tc.role, got)
		}
	}
}
