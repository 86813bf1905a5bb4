// Package api is the master's operator REST API under /api/v1: JSON in and
// out, one error shape, cursor pagination, server-side sessions and bearer
// tokens, roles, CSRF, an audit log of admin actions, a live event stream
// over Server-Sent Events and an OpenAPI document generated from the
// registered routes. docs/api.md is the user-facing reference.
//
// # Routes
//
// Every route, built in or added with Server.Mount, goes through the same
// chain: panic recovery, metrics, security headers, authentication (session
// cookie or Authorization: Bearer), the must-change-password gate, CSRF for
// cookie-authenticated mutating requests, the role check, the handler, and
// an audit entry for mutating admin routes. The OpenAPI document is built
// from the same route table, so it cannot drift from what is served.
//
// # Lifecycle and goroutines
//
// New starts nothing. The live stream hub subscribes to Options.Live when
// the first /events/stream client connects and cancels that subscription
// when the last one leaves; the hub owns that goroutine and Close waits for
// it. Close also ends every open stream, so the caller should call it when
// it shuts its http.Server down (for example from RegisterOnShutdown), or
// Shutdown would wait on open streams.
//
// # State in memory
//
// Login rate-limit buckets and per-user stream counts live in process
// memory; sessions, tokens, users and the audit log live in the store, so
// several master replicas share them.
package api
