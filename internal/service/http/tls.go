package http

import (
	"crypto/tls"
	"strconv"
	"strings"
)

// tlsProfile is the TLS server of the persona's web server, as far as
// crypto/tls lets it be set (docs/realism.md lists what it cannot):
// versions, the TLS 1.2 cipher suites offered and the key exchange groups.
// Without explicit groups Go would also offer X25519MLKEM768, which
// neither OpenSSL 3.0 nor SChannel speaks.
func tlsProfile(f flavor, kernel string) *tls.Config {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, NextProtos: []string{"http/1.1"},
		// OpenSSL 3.0's default groups (x25519, P-256, x448, P-521,
		// P-384) without x448; SChannel's start the same.
		CurvePreferences: []tls.CurveID{tls.X25519, tls.CurveP256, tls.CurveP521, tls.CurveP384}}
	if f == iis {
		// SChannel of Windows 10 and Server 2016-2019: TLS 1.0 to 1.2;
		// 1.3 from build 20348 (Server 2022, Windows 11).
		cfg.MinVersion, cfg.MaxVersion = tls.VersionTLS10, tls.VersionTLS12
		if build, _ := strconv.Atoi(kernel[strings.LastIndexByte(kernel, '.')+1:]); build >= 20348 {
			cfg.MaxVersion = tls.VersionTLS13
		}
		cfg.CipherSuites = schannelSuites
		return cfg
	}
	cfg.CipherSuites = opensslHighSuites
	return cfg
}

// opensslHighSuites are the TLS 1.2 suites of OpenSSL 3.0's
// "HIGH:!aNULL:!MD5" (the default of Debian's nginx and Apache) that
// crypto/tls implements: not CCM, ARIA, Camellia, AES-256-CBC-SHA384 or
// DHE. Go orders them itself.
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

// schannelSuites are SChannel's default TLS 1.2 suites (Windows 10,
// Server 2016-2022) that crypto/tls implements: not the AES-256-CBC-SHA384
// and DHE ones.
var schannelSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
	tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA, tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
	tls.TLS_RSA_WITH_AES_256_GCM_SHA384, tls.TLS_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_RSA_WITH_AES_128_CBC_SHA256, tls.TLS_RSA_WITH_AES_256_CBC_SHA, tls.TLS_RSA_WITH_AES_128_CBC_SHA,
}
