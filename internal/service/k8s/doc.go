// Package k8s emulates a Kubernetes API server (kube-apiserver) on 6443.
//
// # What it emulates
//
// A kubeadm control plane with anonymous auth on and RBAC: always TLS,
// with ALPN h2 and http/1.1 offered and both served (Go's net/http
// serves each handshaken connection, as the apiserver's own stack does,
// so framing, HTTP/2 and net/http's error answers are the real ones).
// Anonymous requests get /healthz, /livez, /readyz ("ok"), /version
// (indented, as WriteRawJSON writes it), /api (APIVersions with
// serverAddressByClientCIDRs at the decky's address:6443), /apis (the
// built-in groups of a 1.27 cluster), /api/v1 and /apis/<group>/<version>
// resource lists (with the apiserver's storageVersionHash), so kubectl
// discovery completes; everything else is the authorizer's 403 Status
// with the exact texts for paths ("forbidden: User \"system:anonymous\"
// cannot get path ...") and resources ("pods is forbidden: ... cannot
// list resource \"pods\" in API group \"\" in the namespace \"default\"",
// named objects, cluster scope, subresources, watch/deletecollection
// verbs). A bearer token or a client certificate fails authentication:
// 401 Unauthorized Status. Basic credentials are ignored as on 1.19+
// (the request stays anonymous). Headers: Audit-Id, Cache-Control
// "no-cache, private", X-Content-Type-Options on errors and the API
// Priority and Fairness flow-schema/priority-level UIDs (seeded).
// A plaintext HTTP request on the port gets net/http's "Client sent an
// HTTP request to an HTTPS server."
//
// Deliberate deviation: anonymous discovery (/api, /apis and the resource
// lists) is allowed, as on clusters binding system:discovery to
// unauthenticated users; a fresh kubeadm cluster refuses it with 403.
//
// # Persona fields used
//
// Persona.Hostname is in the certificate SANs; the identity derives the
// CA and serving keys, serials, validity dates and the flow-control UIDs.
//
// The certificate is kubeadm's layout (issuer CN=kubernetes, subject
// CN=kube-apiserver, SANs kubernetes, kubernetes.default,
// kubernetes.default.svc, kubernetes.default.svc.cluster.local, the
// hostname, 10.96.0.1 and the decky's addresses, one year, leaf only),
// built here rather than by tlsserver.Certificate, which takes no SANs
// and names an organisation CA. Keys are ECDSA P-256 derived from the
// identity (kubeadm 1.27 uses RSA 2048; Go's RSA key generation cannot be
// made deterministic). Client certificates are requested
// (tls.RequestClientCert, the cluster CA listed as acceptable).
//
// # Config keys
//
//   - version: gitVersion (default v1.27.4); v1.27.4, v1.28.2, v1.29.0 and
//     v1.30.2 carry their real commit, build date and Go version.
//
// # Events emitted
//
//   - k8s.tls.handshake (JA3/JA4, SNI, ALPN) per connection.
//   - k8s.request.received per request: verb, resource, namespace, name,
//     user, status, body quarantined.
//   - k8s.login.failed with the credential: bearer tokens (principal: the
//     JWT's unverified sub), basic credentials, client certificates
//     (subject, issuer, SHA-256 fingerprint).
//   - k8s.pod.create: the whole pod body quarantined, images, commands,
//     privileged, hostPID/hostNetwork, hostPath volumes, escape.
//
// # Known tells and how we avoid them
//
//   - The original served plain HTTP on 6443 with Werkzeug headers and
//     the decky id as server address; fixed.
//   - nmap 7.93 has no apiserver signature: it reports
//     "ssl/sun-sr-https?" (the port's name) with the 403 Status and Go's
//     400 answers in the fingerprint, as for a real apiserver.
//   - Not emulated: aggregated discovery (clients fall back to the legacy
//     documents), /openapi, watch streams, any authorised access.
package k8s
