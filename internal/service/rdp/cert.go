package rdp

import (
	"crypto/rsa"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"time"

	"github.com/decnet/decnet/internal/persona"
)

// Windows makes its own Remote Desktop certificate: self-signed (issuer =
// subject = CN=<DNS host name>), RSA 2048 with SHA-256, no basic
// constraints nor SAN, key usage key and data encipherment, extended key
// usage server authentication, valid six months and renewed when it
// expires. xrdp on Debian uses the ssl-cert snakeoil certificate:
// self-signed CN=<host name>, RSA 2048, ten years, with a SAN.

// renewal is how often Windows' certificate is remade.
const renewal = 182 * 24 * time.Hour

// windowsCertificate makes the decky's RDP certificate for cn. The key is
// the decky's; the six-month window it falls in depends on now, so a
// restarted decky keeps its certificate until Windows would renew it.
func windowsCertificate(id persona.Identity, cn string, now time.Time) (tls.Certificate, error) {
	key, err := id.RSAKey(2048, "rdp-cert/p", "rdp-cert/q")
	if err != nil {
		return tls.Certificate{}, err
	}
	// A phase per decky so deckies renew on different days.
	phase := time.Duration(id.Rand("rdp-cert-phase").Int64N(int64(renewal)))
	epoch := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC).Add(phase)
	k := now.Sub(epoch) / renewal
	notBefore := epoch.Add(k * renewal).Truncate(time.Second)
	serial := id.Bytes("rdp-cert-serial/"+notBefore.Format(time.DateOnly), 16)
	serial[0] &= 0x7f
	tmpl := &x509.Certificate{
		SerialNumber: new(big.Int).SetBytes(serial),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    notBefore,
		NotAfter:     notBefore.AddDate(0, 6, 0),
		KeyUsage:     x509.KeyUsageKeyEncipherment | x509.KeyUsageDataEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(nil, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

// snakeoilCertificate is the certificate make-ssl-cert writes when the
// ssl-cert package installs: CN and a DNS SAN of the host name, ten
// years from the install.
func snakeoilCertificate(id persona.Identity, host string, now time.Time) (tls.Certificate, error) {
	key, err := id.RSAKey(2048, "rdp-snakeoil/p", "rdp-snakeoil/q")
	if err != nil {
		return tls.Certificate{}, err
	}
	r := id.Rand("rdp-snakeoil-date")
	notBefore := now.Add(-id.Uptime(now)).Add(-time.Duration(30+r.IntN(600)) * 24 * time.Hour).Truncate(time.Second).UTC()
	serial := id.Bytes("rdp-snakeoil-serial", 20)
	serial[0] &= 0x7f
	tmpl := &x509.Certificate{
		SerialNumber: new(big.Int).SetBytes(serial),
		Subject:      pkix.Name{CommonName: host},
		DNSNames:     []string{host},
		NotBefore:    notBefore, NotAfter: notBefore.AddDate(10, 0, 0),
		BasicConstraintsValid: true,
		SubjectKeyId:          ski(&key.PublicKey),
	}
	der, err := x509.CreateCertificate(nil, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

// ski is the subject key identifier OpenSSL writes: the SHA-1 of the
// public key.
func ski(k *rsa.PublicKey) []byte {
	sum := sha1.Sum(x509.MarshalPKCS1PublicKey(k))
	return sum[:]
}
