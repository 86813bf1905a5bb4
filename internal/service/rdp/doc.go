// Package rdp emulates a Remote Desktop server on 3389 for a decky:
// Windows' Remote Desktop Services with Network Level Authentication, or
// xrdp 0.9.21 as Debian 12 ships it on a Linux persona (the service is
// Windows-only in the catalogue; a spec with force set runs it there).
//
// # What it emulates
//
// The connection sequence up to the logon. A TPKT/X.224 Connection Request
// is read and its mstshash cookie (the user name mstsc and most tools put
// there) and RDP_NEG_REQ recorded. The Connection Confirm chooses as the
// persona's server does:
//
//   - Windows (10, 11, Server 2016-2022): CredSSP when the client offers
//     it (HYBRID_EX before HYBRID, as the early-user-authorization servers
//     do), else RDSTLS; a client offering only TLS or standard RDP
//     security gets RDP_NEG_FAILURE HYBRID_REQUIRED_BY_SERVER (nla on) or,
//     with nla off, TLS or SSL_REQUIRED_BY_SERVER. The RDP_NEG_RSP flags are
//     Windows' 0x1f and the source reference 0x1234: the bytes nmap's
//     TerminalServerCookie probe matches as "Microsoft Terminal Services".
//     A client without negotiation data gets a bare Connection Confirm and
//     is dropped at its MCS Connect Initial. A TLS ClientHello sent at once
//     is answered (nmap's ssl-cert reads the certificate so).
//   - xrdp (security_layer=negotiate): TLS when offered, else standard RDP
//     security, flags 0x01; anything that is not a Connection Request gets
//     the MCS Disconnect Provider Ultimatum xrdp sends, which nmap matches
//     as "xrdp". The bytes are checked against the real xrdp in tests.
//
// After TLS, CredSSP (MS-CSSP) runs with NTLM inside the TSRequests, raw
// or SPNEGO-wrapped as the client sent it: the NEGOTIATE is answered with
// the decky's CHALLENGE (names, version and time from the persona, which
// rdp-ntlm-info prints), the AUTHENTICATE is captured as a hashcat line,
// and after a short delay the logon fails as Windows fails it: a TSRequest
// with errorCode STATUS_LOGON_FAILURE (0xC000006D, four bytes as Windows
// writes it) for CredSSP 3 and later, a close for older clients. xfreerdp
// then reports ERRCONNECT_LOGON_FAILURE. On the TLS-only paths the MCS
// Connect Initial's client core data (computer name, build, keyboard) is
// recorded and the connection closed: standard RDP security and the
// graphical logon are not emulated.
//
// One goroutine per connection (serve.TCP); a connection that has not
// finished the exchange after 60 s is closed. Reads are bounded: a TPKT by
// its 16-bit length, a TSRequest to 64 KiB.
//
// # Persona fields used
//
// Persona.Family picks Windows or xrdp. env.Windows() gives the NTLM
// target information (NetBIOS and DNS names, forest, OS version, time) and
// the certificate's name. Identity derives the certificate's RSA key.
//
// # Certificates
//
// Windows: self-signed CN=<NETBIOS NAME>.<dns domain>, RSA 2048 with
// SHA-256, key usage key and data encipherment, server authentication, six
// months, remade every six months on a per-decky phase. TLS 1.0 to 1.2
// (1.3 from build 20348). xrdp: the ssl-cert snakeoil certificate,
// self-signed CN=<host name> with a DNS SAN, ten years; TLS 1.2 and 1.3
// (ssl_protocols in Debian's xrdp.ini).
//
// # Config keys
//
//   - nla (default true): require NLA. Off, a client offering only TLS is
//     served TLS and one offering only standard security is refused with
//     SSL_REQUIRED_BY_SERVER.
//
// # Events emitted
//
//   - rdp.client.hello: cookie, routing_token, negotiation,
//     requested_protocols, requested_mask, flags, correlation_id, selected.
//   - rdp.tls.handshake: JA3/JA4 of the client, version, cipher.
//   - rdp.ntlm.challenge: a NEGOTIATE answered (client flags and version:
//     a fingerprint of the client's NTLM stack).
//   - rdp.login.failed: the AUTHENTICATE with its credential (NetNTLMv2 as
//     hashcat 5600, v1 as 5500), user, domain, workstation, credssp_version.
//   - rdp.client.info: MCS core data on the TLS-only paths.
//   - rdp.protocol.error: anything unparseable, then the close.
//
// # Known tells and how we avoid them
//
//   - The original answered PROTOCOL_RDP to everyone and hung up: here
//     the choice and failure codes follow Windows and xrdp.
//   - The original's constant challenge and a certificate named after the
//     decky: the challenge is fresh per exchange, the certificate follows
//     the persona's host name and Windows' own layout.
//   - crypto/tls is not SChannel: JA3S and the cipher order differ from a
//     real Windows, and TLS 1.3 is offered only where Windows offers it.
//   - Not emulated: standard RDP security (the server's proprietary
//     certificate and RC4), RDSTLS and the Early User Authorization
//     Result after a success (no logon ever succeeds), Kerberos in
//     SPNEGO (a Kerberos-only client gets a close).
package rdp
