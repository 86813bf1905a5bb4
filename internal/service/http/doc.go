// Package http is the HTTP and HTTPS service (slugs http on 80/tcp, https
// on 443/tcp; event namespace http).
//
// # What it emulates
//
// The web server of the persona: nginx, Apache httpd or IIS, chosen from
// the distro (persona.Distro.HTTPServer) or the server_header setting.
// Every response, errors included, is rendered by the flavor: status
// texts ("405 Not Allowed" for nginx), header order and casing, Date in
// RFC 7231 form, keep-alive headers, and the server's own error pages (the
// nginx pages are byte-identical to Debian's nginx, which a test checks
// against the real server). Malformed requests get the server's 400 (IIS:
// http.sys's), unsupported versions 505, oversized headers 400/431/414.
// Optional fake applications with real login forms: wordpress
// (/wp-login.php, /wp-admin, /xmlrpc.php), phpmyadmin (/phpmyadmin/),
// admin_panel (/login form and a Digest-protected /admin/), tomcat
// (/manager/html Basic), jenkins (/login). HTTPS serves a certificate for
// the persona's hostname issued by an internal CA, both derived from the
// topology seed so they survive redeploys.
//
// # Persona fields
//
// Distro.HTTPServer, Hostname (Apache's address line, certificate CN),
// Identity (certificate keys, serial, dates, issuer organisation).
//
// # Config keys
//
// server_header, response_code (status of /), fake_app, extra_headers,
// custom_body (b64: prefix for binary), http_versions (HTTP/1.x only for
// now), files (a host directory served read-only); https adds tls_cn,
// tls_cert and tls_key.
//
// # Events
//
// http.session.open/close, http.request.received (method, path, query,
// version, ordered headers, user agent, host, status, body preview, body
// b64 up to 64 KiB, larger bodies quarantined by SHA-256), http.login.failed
// (the same fields plus a credential: Basic plaintext, Bearer token, Digest
// with a hashcat 11400 line when the nonce is ours, form fields of the
// known applications, WordPress XML-RPC), http.tls.handshake (JA3 string
// and hash, JA4, SNI, ALPN, version, cipher), http.protocol.error.
//
// # Tells and how they are avoided
//
// No net/http server: Go's own 400 page, header canonicalisation and
// ordering would give it away, so requests are parsed here with nginx-like
// limits and answered by persona templates. Known remaining tells: the TLS
// stack is Go's (its ServerHello, hence JA3S/JARM, differs from OpenSSL's
// and SChannel's); HTTP/2 is not offered.
package http
