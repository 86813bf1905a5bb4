package http

import (
	"crypto/tls"

	"github.com/decnet/decnet/internal/persona"
	"github.com/decnet/decnet/internal/service/tlsserver"
)

// tlsProfile is the TLS server of the persona's web server: IIS is
// SChannel of the Windows build, nginx and Apache OpenSSL 3.0. HTTP/2 is
// not spoken, so not offered.
func tlsProfile(f flavor, d persona.Distro, cert tls.Certificate) *tls.Config {
	cfg := tlsserver.OpenSSL(cert)
	if f == iis {
		cfg = tlsserver.SChannel(d.WindowsBuild(), cert)
	}
	cfg.NextProtos = []string{"http/1.1"}
	return cfg
}
