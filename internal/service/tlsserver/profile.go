package tlsserver

import "crypto/tls"

// The TLS servers of the products personas claim, as far as crypto/tls
// lets them be set: versions, the TLS 1.2 suites offered, and key exchange
// groups. Without explicit groups Go would also offer X25519MLKEM768, which
// neither OpenSSL 3.0 nor SChannel speaks. What Go decides itself (suite
// order, the TLS 1.2 group following the client's order, TLS 1.3's suite
// order) is listed in docs/realism.md.

// OpenSSL is a Debian 12 service on OpenSSL 3.0 (nginx, Apache, Postfix,
// Dovecot, PostgreSQL, xrdp): TLS 1.2 and 1.3, the "HIGH:!aNULL:!MD5"
// suites crypto/tls implements.
func OpenSSL(certs ...tls.Certificate) *tls.Config {
	return &tls.Config{Certificates: certs, MinVersion: tls.VersionTLS12, CipherSuites: opensslHighSuites, CurvePreferences: groups}
}

// SChannel is Windows' TLS server: TLS 1.0 to 1.2, 1.3 from build 20348
// (Server 2022, Windows 11), its default TLS 1.2 suites that crypto/tls
// implements.
func SChannel(build int, certs ...tls.Certificate) *tls.Config {
	cfg := &tls.Config{Certificates: certs, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS12, CipherSuites: schannelSuites, CurvePreferences: groups}
	if build >= 20348 {
		cfg.MaxVersion = tls.VersionTLS13
	}
	return cfg
}

// groups are OpenSSL 3.0's default groups (x25519, P-256, x448, P-521,
// P-384) without x448; SChannel's start the same.
var groups = []tls.CurveID{tls.X25519, tls.CurveP256, tls.CurveP521, tls.CurveP384}

// opensslHighSuites: not CCM, ARIA, Camellia, AES-256-CBC-SHA384 or DHE,
// which crypto/tls lacks. Go orders them itself.
var opensslHighSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA, tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
	tls.TLS_RSA_WITH_AES_256_GCM_SHA384, tls.TLS_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_RSA_WITH_AES_128_CBC_SHA256, tls.TLS_RSA_WITH_AES_256_CBC_SHA, tls.TLS_RSA_WITH_AES_128_CBC_SHA,
}

// schannelSuites: not the AES-256-CBC-SHA384 and DHE ones.
var schannelSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
	tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA, tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
	tls.TLS_RSA_WITH_AES_256_GCM_SHA384, tls.TLS_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_RSA_WITH_AES_128_CBC_SHA256, tls.TLS_RSA_WITH_AES_256_CBC_SHA, tls.TLS_RSA_WITH_AES_128_CBC_SHA,
}
