// Package tlsserver is the TLS side of the decky services that speak it
// (https, STARTTLS in mail, the Kubernetes API, ...): the decky's
// certificate, derived from its identity, and the server handshake that
// records the client's ClientHello fingerprints (JA3, JA4) for the event.
package tlsserver

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/md5"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/persona"
)

// ecKey derives a P-256 key from the decky's identity, so a redeployed
// decky presents the same certificate key.
func ecKey(id persona.Identity, purpose string) (*ecdsa.PrivateKey, error) {
	for i := 0; i < 16; i++ {
		k, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), id.Bytes(fmt.Sprintf("%s/%d", purpose, i), 32))
		if err == nil {
			return k, nil
		}
	}
	return nil, errors.New("derive key: no valid scalar")
}

var orgs = []string{"Contoso Ltd", "Northwind Traders", "Fabrikam Inc", "Globex Corporation", "Initech", "Umbrella Holdings", "Stark Logistics", "Wayne Enterprises"}

// Certificate makes the decky's certificate: issued by an internal CA
// whose name and key also derive from the identity, valid for the
// persona's hostname, with dates that stay put across restarts.
func Certificate(id persona.Identity, cn string, now time.Time) (tls.Certificate, error) {
	r := id.Rand("tls-cert")
	org := orgs[r.IntN(len(orgs))]
	caKey, err := ecKey(id, "tls-ca")
	if err != nil {
		return tls.Certificate{}, err
	}
	leafKey, err := ecKey(id, "tls-leaf")
	if err != nil {
		return tls.Certificate{}, err
	}
	const window = 30 * 24 * time.Hour
	notBefore := now.Truncate(window).Add(-time.Duration(10+r.IntN(200)) * 24 * time.Hour).Add(time.Duration(r.IntN(86400)) * time.Second)
	serial := new(big.Int).SetBytes(id.Bytes("tls-serial", 16))
	ca := &x509.Certificate{
		SerialNumber: new(big.Int).SetBytes(id.Bytes("tls-ca-serial", 16)),
		Subject:      pkix.Name{CommonName: org + " Issuing CA 01", Organization: []string{org}, Country: []string{"US"}},
		NotBefore:    notBefore.Add(-3 * 365 * 24 * time.Hour), NotAfter: notBefore.Add(7 * 365 * 24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	caDER, err := x509.CreateCertificate(nil, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		return tls.Certificate{}, err
	}
	ca, _ = x509.ParseCertificate(caDER)
	leaf := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn, Organization: []string{org}},
		DNSNames:     []string{cn},
		NotBefore:    notBefore, NotAfter: notBefore.Add(397 * 24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if ip := net.ParseIP(cn); ip != nil {
		leaf.DNSNames, leaf.IPAddresses = nil, []net.IP{ip}
	}
	leafDER, err := x509.CreateCertificate(nil, leaf, ca, &leafKey.PublicKey, caKey)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{leafDER, caDER}, PrivateKey: leafKey}, nil
}

// ClientHello is what a ClientHello says about the client.
type ClientHello struct {
	Version      uint16
	Ciphers      []uint16
	Extensions   []uint16
	Groups       []uint16
	PointFormats []uint8
	SigAlgs      []uint16
	Versions     []uint16
	SNI          string
	ALPN         []string
}

func isGREASE(v uint16) bool { return v&0x0f0f == 0x0a0a && v>>8 == v&0xff }

// ParseClientHello reads a ClientHello from the first TLS record. It is
// bounded by the record and refuses anything malformed.
func ParseClientHello(b []byte) (*ClientHello, error) {
	bad := errors.New("malformed ClientHello")
	if len(b) < 5 || b[0] != 0x16 {
		return nil, bad
	}
	rec := int(binary.BigEndian.Uint16(b[3:5]))
	if len(b) < 5+rec {
		return nil, bad
	}
	p := b[5 : 5+rec]
	if len(p) < 4 || p[0] != 1 {
		return nil, bad
	}
	hl := int(p[1])<<16 | int(p[2])<<8 | int(p[3])
	if len(p) < 4+hl {
		return nil, bad
	}
	p = p[4 : 4+hl]
	ch := &ClientHello{}
	if len(p) < 35 {
		return nil, bad
	}
	ch.Version = binary.BigEndian.Uint16(p)
	p = p[34:]
	take := func(n int) ([]byte, bool) {
		if len(p) < n {
			return nil, false
		}
		v := p[:n]
		p = p[n:]
		return v, true
	}
	sidLen, ok := take(1)
	if !ok {
		return nil, bad
	}
	if _, ok := take(int(sidLen[0])); !ok {
		return nil, bad
	}
	cl, ok := take(2)
	if !ok {
		return nil, bad
	}
	cs, ok := take(int(binary.BigEndian.Uint16(cl)))
	if !ok || len(cs)%2 != 0 {
		return nil, bad
	}
	for i := 0; i < len(cs); i += 2 {
		ch.Ciphers = append(ch.Ciphers, binary.BigEndian.Uint16(cs[i:]))
	}
	cm, ok := take(1)
	if !ok {
		return nil, bad
	}
	if _, ok := take(int(cm[0])); !ok {
		return nil, bad
	}
	if len(p) == 0 {
		return ch, nil
	}
	el, ok := take(2)
	if !ok {
		return nil, bad
	}
	exts, ok := take(int(binary.BigEndian.Uint16(el)))
	if !ok {
		return nil, bad
	}
	for len(exts) >= 4 {
		typ := binary.BigEndian.Uint16(exts)
		n := int(binary.BigEndian.Uint16(exts[2:]))
		if len(exts) < 4+n {
			return nil, bad
		}
		data := exts[4 : 4+n]
		exts = exts[4+n:]
		ch.Extensions = append(ch.Extensions, typ)
		switch typ {
		case 0: // server_name
			if len(data) >= 5 && data[2] == 0 {
				l := int(binary.BigEndian.Uint16(data[3:]))
				if len(data) >= 5+l {
					ch.SNI = string(data[5 : 5+l])
				}
			}
		case 10: // supported_groups
			ch.Groups = u16list(data)
		case 11: // ec_point_formats
			if len(data) >= 1 && len(data) >= 1+int(data[0]) {
				ch.PointFormats = append([]uint8(nil), data[1:1+int(data[0])]...)
			}
		case 13: // signature_algorithms
			ch.SigAlgs = u16list(data)
		case 16: // ALPN
			if len(data) >= 2 {
				l := min(int(binary.BigEndian.Uint16(data)), len(data)-2)
				d := data[2 : 2+l]
				for len(d) > 0 && len(ch.ALPN) < 16 {
					n := int(d[0])
					if len(d) < 1+n {
						break
					}
					ch.ALPN = append(ch.ALPN, string(d[1:1+n]))
					d = d[1+n:]
				}
			}
		case 43: // supported_versions
			if len(data) >= 1 {
				l := min(int(data[0]), len(data)-1)
				for i := 1; i+1 < 1+l; i += 2 {
					ch.Versions = append(ch.Versions, binary.BigEndian.Uint16(data[i:]))
				}
			}
		}
	}
	return ch, nil
}

func u16list(data []byte) []uint16 {
	if len(data) < 2 {
		return nil
	}
	l := min(int(binary.BigEndian.Uint16(data)), len(data)-2)
	var out []uint16
	for i := 2; i+1 < 2+l; i += 2 {
		out = append(out, binary.BigEndian.Uint16(data[i:]))
	}
	return out
}

func joinNums[T uint8 | uint16](v []T, skipGREASE bool) string {
	var parts []string
	for _, x := range v {
		if skipGREASE && isGREASE(uint16(x)) {
			continue
		}
		parts = append(parts, strconv.Itoa(int(x)))
	}
	return strings.Join(parts, "-")
}

// JA3 returns the JA3 string and its MD5.
func (ch *ClientHello) JA3() (string, string) {
	s := fmt.Sprintf("%d,%s,%s,%s,%s", ch.Version, joinNums(ch.Ciphers, true), joinNums(ch.Extensions, true),
		joinNums(ch.Groups, true), joinNums(ch.PointFormats, false))
	sum := md5.Sum([]byte(s))
	return s, hex.EncodeToString(sum[:])
}

// JA4 returns the JA4 fingerprint (TLS over TCP).
func (ch *ClientHello) JA4() string {
	ver := ch.Version
	for _, v := range ch.Versions {
		if !isGREASE(v) && v > ver {
			ver = v
		}
	}
	vs := map[uint16]string{0x0304: "13", 0x0303: "12", 0x0302: "11", 0x0301: "10", 0x0300: "s3"}[ver]
	if vs == "" {
		vs = "00"
	}
	sni := "i"
	if ch.SNI != "" {
		sni = "d"
	}
	var ciphers, exts []string
	for _, c := range ch.Ciphers {
		if !isGREASE(c) {
			ciphers = append(ciphers, fmt.Sprintf("%04x", c))
		}
	}
	nExt := 0
	for _, e := range ch.Extensions {
		if isGREASE(e) {
			continue
		}
		nExt++
		if e != 0 && e != 16 {
			exts = append(exts, fmt.Sprintf("%04x", e))
		}
	}
	alpn := "00"
	if len(ch.ALPN) > 0 && ch.ALPN[0] != "" {
		a := ch.ALPN[0]
		alpn = string(a[0]) + string(a[len(a)-1])
	}
	slices.Sort(ciphers)
	slices.Sort(exts)
	hash12 := func(s string) string {
		if s == "" {
			return "000000000000"
		}
		sum := sha256.Sum256([]byte(s))
		return hex.EncodeToString(sum[:])[:12]
	}
	var sigs []string
	for _, s := range ch.SigAlgs {
		if !isGREASE(s) {
			sigs = append(sigs, fmt.Sprintf("%04x", s))
		}
	}
	extStr := strings.Join(exts, ",")
	if len(sigs) > 0 {
		extStr += "_" + strings.Join(sigs, ",")
	}
	return fmt.Sprintf("t%s%s%02d%02d%s_%s_%s", vs, sni, min(len(ciphers), 99), min(nExt, 99), alpn,
		hash12(strings.Join(ciphers, ",")), hash12(extStr))
}

// helloRecorder keeps the first bytes a TLS client sends, for the
// ClientHello fingerprint.
type helloRecorder struct {
	net.Conn
	mu  sync.Mutex
	buf []byte
}

const maxHello = 16 << 10

func (h *helloRecorder) Read(p []byte) (int, error) {
	n, err := h.Conn.Read(p)
	h.mu.Lock()
	if room := maxHello - len(h.buf); room > 0 {
		h.buf = append(h.buf, p[:min(n, room)]...)
	}
	h.mu.Unlock()
	return n, err
}

func (h *helloRecorder) hello() []byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]byte(nil), h.buf...)
}

// Handshake runs the server side of a TLS handshake on c within 15 s and
// returns the connection with the fields of a tls.handshake event: the
// client's JA3, JA4, SNI and ALPN (when its ClientHello parsed), and the
// version and cipher agreed, or the error.
func Handshake(ctx context.Context, c net.Conn, cfg *tls.Config) (*tls.Conn, *ClientHello, map[string]any, error) {
	rec := &helloRecorder{Conn: c}
	tc := tls.Server(rec, cfg)
	hctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	err := tc.HandshakeContext(hctx)
	cancel()
	fields := map[string]any{}
	ch, perr := ParseClientHello(rec.hello())
	if perr == nil {
		ja3, ja3hash := ch.JA3()
		fields["ja3"], fields["ja3_hash"], fields["ja4"] = ja3, ja3hash, ch.JA4()
		fields["sni"] = event.Text([]byte(ch.SNI), 256)
		fields["alpn"] = ch.ALPN
	}
	if err != nil {
		fields["established"], fields["error"] = false, err.Error()
		return nil, ch, fields, err
	}
	st := tc.ConnectionState()
	fields["established"], fields["version"], fields["cipher"] = true, tls.VersionName(st.Version), tls.CipherSuiteName(st.CipherSuite)
	return tc, ch, fields, nil
}

// HandshakeType is the tls.handshake event type of a protocol namespace.
func HandshakeType(ns string) event.Type {
	return event.Type{Name: ns + ".tls.handshake", Severity: event.Low, Summary: "A TLS handshake, with the client's fingerprint.", Fields: []event.FieldDoc{
		event.F("ja3", "string", "JA3 of the ClientHello"),
		event.F("ja4", "string", "JA4 of the ClientHello"),
		event.F("sni", "string", "server name asked for"),
		event.F("established", "bool", "the handshake completed"),
		event.F("version", "string", "TLS version agreed"),
		event.F("cipher", "string", "cipher suite agreed"),
	}}
}
