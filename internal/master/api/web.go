package api

import (
	"errors"
	"net/http"
)

// Authenticate finds the caller of r the way every route does (bearer
// token, or the session cookie when there is no Authorization header), so
// that a handler outside the API, such as the dashboard, shares its
// sessions. It returns ErrUnauthenticated (matched with errors.Is) when
// there is no valid credential; any other error is a store failure. It
// does not apply the password-change gate: check Principal.MustChange.
func (s *Server) Authenticate(r *http.Request) (*Principal, error) {
	p, err := s.authenticate(r)
	if err != nil {
		var e *Error
		if errors.As(err, &e) && e.Status == http.StatusUnauthorized {
			return nil, ErrUnauthenticated
		}
		return nil, err
	}
	return p, nil
}

// ErrUnauthenticated is what Authenticate returns for a request without
// valid credentials.
var ErrUnauthenticated = errors.New("authentication required")

// CSRFToken returns the CSRF token of the principal's session, which a
// page served to that session sends back in the CSRFHeader of its
// mutating API calls; it is empty for a bearer-token caller.
func (p *Principal) CSRFToken() string { return p.csrf }

// SecureCookies reports whether the server marks its session cookie Secure
// (it is served over HTTPS).
func (s *Server) SecureCookies() bool { return s.secure }

// CSRFMatches reports whether h is the session's CSRF token (the
// dashboard's own POST routes check it as the API does).
func (p *Principal) CSRFMatches(h string) bool { return p.csrfMatches(h) }
