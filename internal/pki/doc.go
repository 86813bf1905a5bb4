// Package pki is DECNET's certificate authority and the mutual-TLS policy
// built on it. It uses the standard library's crypto only.
//
// # Roles
//
// Who a peer is, and so what it may do, is carried by exactly one URI SAN
// in its certificate:
//
//	spiffe://decnet/master
//	spiffe://decnet/agent/<host id>     host id: ^[a-z0-9][a-z0-9-]{0,62}$
//
// Common names and DNS names are never consulted for authorization. The
// CA sets the role URI itself when it signs (SignCSR ignores any URI SAN
// the request asks for), so no requester-chosen name can become a role.
//
// # Keys
//
// The CA is an ECDSA P-256 key and a self-signed certificate valid for ten
// years, stored as ca.crt (0644) and ca.key (0600, PKCS#8 PEM) in the
// master's CA directory. Its hash, "sha256:<hex>" over the certificate's
// SubjectPublicKeyInfo (the kubeadm discovery-token-ca-cert-hash form),
// is what an enrolling agent pins before it trusts anything the master
// sends. Requesters make their own key (NewKeyAndCSR) and send only a
// certificate request: private keys never travel.
//
// # Verification
//
// ServerTLSConfig and ClientTLSConfig both require TLS 1.2 or later,
// verify the peer's chain against the CA pool, then check on the very
// connection being established (in VerifyConnection, not on a separate
// probe connection) that the peer's certificate is not revoked and that
// its role is one the caller accepts. Hostnames are not verified: peers
// are identified by role, which also works for agents reached by address.
package pki
