package rdp

import (
	"crypto/rsa"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
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
	key, err := deriveRSA(id, "rdp-cert", 2048)
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
	key, err := deriveRSA(id, "rdp-snakeoil", 2048)
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

// deriveRSA builds an RSA key from two primes found by a deterministic
// search over the identity's stream, so a redeployed decky keeps its key
// (crypto/rsa.GenerateKey ignores its reader since Go 1.26).
func deriveRSA(id persona.Identity, purpose string, bits int) (*rsa.PrivateKey, error) {
	e := big.NewInt(65537)
	one := big.NewInt(1)
	prime := func(which string) *big.Int {
		r := id.Rand(purpose + "/" + which)
		buf := make([]byte, bits/16)
		for {
			for i := range buf {
				buf[i] = byte(r.Uint32())
			}
			buf[0] |= 0xC0 // the product has exactly bits bits
			buf[len(buf)-1] |= 1
			p := new(big.Int).SetBytes(buf)
			if p.ProbablyPrime(20) && new(big.Int).GCD(nil, nil, new(big.Int).Sub(p, one), e).Cmp(one) == 0 {
				return p
			}
		}
	}
	p, q := prime("p"), prime("q")
	if p.Cmp(q) == 0 {
		return nil, errors.New("derive rsa key: equal primes")
	}
	n := new(big.Int).Mul(p, q)
	pm, qm := new(big.Int).Sub(p, one), new(big.Int).Sub(q, one)
	lambda := new(big.Int).Div(new(big.Int).Mul(pm, qm), new(big.Int).GCD(nil, nil, pm, qm))
	d := new(big.Int).ModInverse(e, lambda)
	if d == nil {
		return nil, errors.New("derive rsa key: no inverse")
	}
	k := &rsa.PrivateKey{PublicKey: rsa.PublicKey{N: n, E: 65537}, D: d, Primes: []*big.Int{p, q}}
	if err := k.Validate(); err != nil {
		return nil, err
	}
	k.Precompute()
	return k, nil
}
