// Package httpapi is the HTTP/1.x plumbing the HTTP-API decky services
// (elasticsearch, docker_api, k8s) share: a bounded request reader that
// keeps headers in order and casing, and response writers that reproduce
// the header order and framing of the product's own HTTP stack (Netty for
// Elasticsearch, Go's net/http for the Docker engine and the Kubernetes
// API server), so no answer carries another stack's defaults.
//
// # What it is
//
// Not a decky service: the HTTP/1.x layer the JSON-API services share.
// ReadRequest reads one request within Limits (request line, header
// bytes and count, body kept and body discarded) and reports a request
// to refuse as an *Error carrying the status a server answers (400, 413,
// 414, 431, 501, 505), so each product can answer in its own way.
// internal/service/http's ReadRequest was not reused: its errors are
// unexported (a caller cannot tell 400 from 431), it requires Host for
// Netty-style servers that do not, and it has no way to set limits.
//
// WriteRaw writes headers in the exact order given (Elasticsearch's
// Netty); Go writes a response as Go's net/http server does (handler
// headers sorted, then Date, Content-Length, a sniffed Content-Type,
// Connection, Transfer-Encoding; chunked beyond net/http's 2048-byte
// buffer on HTTP/1.1, close-delimited on HTTP/1.0), for the Docker
// engine; Stream is a flushed, chunked Go response (pull progress,
// waits); GoBadRequest is net/http's own answer to an unreadable request.
// Obj is a JSON object that keeps member order, Parse an order-keeping
// bounded JSON decoder, Jackson Elasticsearch's pretty printer.
//
// # Known limits
//
// HTTP/1.x only; the Kubernetes service uses net/http itself for HTTP/2.
package httpapi
