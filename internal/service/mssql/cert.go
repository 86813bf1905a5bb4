package mssql

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"time"

	"github.com/decnet/decnet/internal/persona"
)

// fallbackCertificate is the certificate SQL Server makes for itself at
// every start when none is configured: self-signed
// CN=SSL_Self_Signed_Fallback, RSA 2048, valid thirty years from the
// service's start. Like SQL Server's, its key is new at every start.
func fallbackCertificate(id persona.Identity, started time.Time) (tls.Certificate, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return tls.Certificate{}, err
	}
	serial := make([]byte, 16)
	rand.Read(serial)
	serial[0] &= 0x7f
	started = started.Add(time.Duration(20+id.Rand("mssql-start").IntN(40)) * time.Second).UTC().Truncate(time.Second)
	tmpl := &x509.Certificate{
		SerialNumber: new(big.Int).SetBytes(serial),
		Subject:      pkix.Name{CommonName: "SSL_Self_Signed_Fallback"},
		NotBefore:    started,
		NotAfter:     started.AddDate(30, 0, 0),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}
