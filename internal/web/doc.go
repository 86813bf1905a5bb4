// Package web is the operator dashboard: server-rendered html/template
// pages, small vanilla ES modules and a stylesheet embedded in the binary,
// charts drawn as SVG on the server, and the live feed read from the API's
// Server-Sent Events stream.
//
// The dashboard shares the operator API's sessions: it authenticates
// pages with api.Server.Authenticate, logs in and changes passwords
// through POST /api/v1/auth/login and /auth/password (from login.js), and
// makes every other change through the API with the session's CSRF token,
// which each page carries in a <meta name="csrf-token"> element. Reads are
// served from the store directly, bounded like the API's lists.
//
// An unauthenticated visitor is sent to a generic sign-in page; it and the
// few static files it needs (the public ones) name nothing. The other
// static files are served to authenticated sessions only. Every response
// carries a Content-Security-Policy that allows no inline script.
//
// New starts nothing and the handlers start no goroutines; the live feed is
// the browser's EventSource on the API.
package web
