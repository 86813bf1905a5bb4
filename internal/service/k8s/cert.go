package k8s

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"net"
	"time"

	"github.com/decnet/decnet/internal/persona"
)

// ecKey derives a P-256 key from the identity so a redeployed decky
// keeps its certificates.
func ecKey(id persona.Identity, purpose string) (*ecdsa.PrivateKey, error) {
	for i := 0; i < 16; i++ {
		if k, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), id.Bytes(fmt.Sprintf("%s/%d", purpose, i), 32)); err == nil {
			return k, nil
		}
	}
	return nil, errors.New("derive key: no valid scalar")
}

// certificates makes the cluster CA and the apiserver serving
// certificate as kubeadm lays them out: the CA "CN=kubernetes" for ten
// years, the leaf "CN=kube-apiserver" for one year with the in-cluster
// service names, the node name, the service IP 10.96.0.1 and the node's
// address.
func certificates(id persona.Identity, hostname string, ips []net.IP, now time.Time) (tls.Certificate, *x509.Certificate, error) {
	caKey, err := ecKey(id, "k8s-ca")
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	leafKey, err := ecKey(id, "k8s-apiserver")
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	r := id.Rand("k8s-cert")
	// the cluster was set up some months ago; kubeadm renews the leaf on
	// upgrades, so it is younger than the CA
	caStart := now.Add(-id.Uptime(now)).Add(-time.Duration(30+r.IntN(400)) * 24 * time.Hour).Truncate(time.Second).UTC()
	leafStart := caStart.Add(time.Duration(r.IntN(3)) * time.Second)
	if now.Sub(leafStart) > 300*24*time.Hour {
		leafStart = now.Add(-time.Duration(20+r.IntN(200)) * 24 * time.Hour).Truncate(time.Second).UTC()
	}
	ca := &x509.Certificate{
		SerialNumber: new(big.Int).SetBytes(id.Bytes("k8s-ca-serial", 8)),
		Subject:      pkix.Name{CommonName: "kubernetes"},
		NotBefore:    caStart, NotAfter: caStart.Add(10 * 365 * 24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true,
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment | x509.KeyUsageCertSign,
		SubjectKeyId: id.Bytes("k8s-ca-ski", 20),
	}
	caDER, err := x509.CreateCertificate(nil, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	ca, _ = x509.ParseCertificate(caDER)
	leaf := &x509.Certificate{
		SerialNumber: new(big.Int).SetBytes(id.Bytes("k8s-apiserver-serial", 8)),
		Subject:      pkix.Name{CommonName: "kube-apiserver"},
		DNSNames:     []string{"kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local", hostname},
		IPAddresses:  append([]net.IP{net.ParseIP("10.96.0.1")}, ips...),
		NotBefore:    leafStart, NotAfter: leafStart.Add(365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		AuthorityKeyId:        ca.SubjectKeyId,
	}
	leafDER, err := x509.CreateCertificate(nil, leaf, ca, &leafKey.PublicKey, caKey)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	return tls.Certificate{Certificate: [][]byte{leafDER}, PrivateKey: leafKey}, ca, nil
}
