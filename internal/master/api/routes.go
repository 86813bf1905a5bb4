package api

import (
	"net/http"
	"slices"

	"github.com/decnet/decnet/internal/store"
)

// builtin is the route table of this package; Mount adds to it.
func (s *Server) builtin() []*route {
	page := []string{"limit", "cursor"}
	filters := append([]string{}, eventParams...)
	return []*route{
		{Route: Route{Method: http.MethodPost, Pattern: "/auth/login", Summary: "Log in: start a session (cookie) and get its CSRF token", Mutating: true, Handler: s.login, Request: loginRequest{}, Response: loginResponse{}}},
		{Route: Route{Method: http.MethodPost, Pattern: "/auth/logout", Summary: "End the current session", Role: store.Viewer, Mutating: true, Handler: s.logout}, anyState: true},
		{Route: Route{Method: http.MethodPost, Pattern: "/auth/password", Summary: "Change your own password", Role: store.Viewer, Mutating: true, Handler: s.changePassword, Request: passwordChange{}, Response: loginResponse{}}, anyState: true, audit: true},
		{Route: Route{Method: http.MethodGet, Pattern: "/auth/me", Summary: "The authenticated user", Role: store.Viewer, Handler: s.whoami, Response: whoami{}}, anyState: true},

		{Route: Route{Method: http.MethodPost, Pattern: "/tokens", Summary: "Create an API token (shown once)", Role: store.Viewer, Mutating: true, Handler: s.createToken, Request: createTokenRequest{}, Response: createdToken{}}, audit: true},
		{Route: Route{Method: http.MethodGet, Pattern: "/tokens", Summary: "List your API tokens (admins: ?user_id)", Role: store.Viewer, Handler: s.listTokens, Response: List[store.APIToken]{}}, query: []string{"user_id"}},
		{Route: Route{Method: http.MethodDelete, Pattern: "/tokens/{id}", Summary: "Revoke an API token", Role: store.Viewer, Mutating: true, Handler: s.deleteToken}, audit: true},

		{Route: Route{Method: http.MethodGet, Pattern: "/users", Summary: "List users", Role: store.Admin, Handler: s.listUsers, Response: List[userView]{}}},
		{Route: Route{Method: http.MethodPost, Pattern: "/users", Summary: "Create a user", Role: store.Admin, Mutating: true, Handler: s.createUser, Request: createUserRequest{}, Response: passwordResponse{}}},
		{Route: Route{Method: http.MethodDelete, Pattern: "/users/{id}", Summary: "Delete a user", Role: store.Admin, Mutating: true, Handler: s.deleteUser}},
		{Route: Route{Method: http.MethodPost, Pattern: "/users/{id}/password", Summary: "Reset a user's password", Role: store.Admin, Mutating: true, Handler: s.resetPassword, Request: resetPasswordRequest{}, Response: passwordResponse{}}},
		{Route: Route{Method: http.MethodGet, Pattern: "/audit", Summary: "The audit log, newest first", Role: store.Admin, Handler: s.listAudit, Response: List[store.AuditEntry]{}}, query: page},

		{Route: Route{Method: http.MethodGet, Pattern: "/events", Summary: "List events, newest first, with their ATT&CK tags", Role: store.Viewer, Handler: s.listEvents, Response: List[TaggedEvent]{}}, query: slices.Concat(filters, []string{"tag"}, page), cached: true},
		{Route: Route{Method: http.MethodGet, Pattern: "/events/count", Summary: "Count events", Role: store.Viewer, Handler: s.countEvents, Response: eventCount{}}, query: slices.Concat(filters, []string{"tag"}), cached: true},
		{Route: Route{Method: http.MethodGet, Pattern: "/events/stream", Summary: "Live events (Server-Sent Events)", Role: store.Viewer, Handler: s.stream, Produces: "text/event-stream"}, query: filters},
		{Route: Route{Method: http.MethodGet, Pattern: "/attackers", Summary: "List attackers (?tag, ?country, ?asn, ?identity, ?campaign; ?q searches address, place, AS and reverse name; ?sort: last_seen (default), first_seen, events, score, country, asn)", Role: store.Viewer, Handler: s.listAttackers, Response: List[store.Attacker]{}}, query: slices.Concat(attackerParams, page), cached: true},
		{Route: Route{Method: http.MethodGet, Pattern: "/attackers/{ip}", Summary: "One attacker", Role: store.Viewer, Handler: s.getAttacker, Response: store.Attacker{}}, cached: true},
		{Route: Route{Method: http.MethodGet, Pattern: "/credentials", Summary: "List captured credentials, most recently seen first (?reused=true: those tried on two deckies or more)", Role: store.Viewer, Handler: s.listCredentials, Response: List[store.Credential]{}}, query: slices.Concat([]string{"reused"}, page), cached: true},

		{Route: Route{Method: http.MethodGet, Pattern: "/openapi.json", Summary: "This API's OpenAPI 3.1 document", Role: store.Viewer, Handler: s.openapi, Response: map[string]any{}}},
	}
}
