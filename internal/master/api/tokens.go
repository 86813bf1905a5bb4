package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/decnet/decnet/internal/store"
)

func isConflict(err error) bool { return errors.Is(err, store.ErrConflict) }

type createTokenRequest struct {
	Name string `json:"name"`
}

// createdToken is a new token; Token is shown this once.
type createdToken struct {
	store.APIToken
	Token string `json:"token"`
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request, who *Principal) {
	var req createTokenRequest
	if err := DecodeJSON(w, r, &req); err != nil {
		WriteError(w, err)
		return
	}
	if req.Name == "" || utf8.RuneCountInString(req.Name) > 64 || !utf8.ValidString(req.Name) || hasControl(req.Name) {
		WriteError(w, fmt.Errorf("%w: name must be 1 to 64 printable characters", ErrInvalid))
		return
	}
	tok := tokenPrefix + randomString(32)
	t := &store.APIToken{UserID: who.UserID, Name: req.Name, Hash: hashToken(tok), CreatedAt: s.now().UTC().Truncate(time.Microsecond)}
	if err := s.st.CreateAPIToken(r.Context(), t); err != nil {
		WriteError(w, conflictAs(err, "token name taken"))
		return
	}
	SetAudit(r, "token/"+strconv.FormatInt(t.ID, 10), "user="+who.Name)
	WriteJSON(w, http.StatusCreated, createdToken{APIToken: *t, Token: tok})
}

func hasControl(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return true
		}
	}
	return false
}

// listTokens lists the caller's tokens; an admin may ask for another
// user's with ?user_id.
func (s *Server) listTokens(w http.ResponseWriter, r *http.Request, who *Principal) {
	uid := who.UserID
	if v := r.URL.Query().Get("user_id"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id < 1 {
			WriteError(w, fmt.Errorf("%w: user_id must be a positive integer", ErrInvalid))
			return
		}
		if id != who.UserID && !who.Can(store.Admin) {
			WriteError(w, Errorf(http.StatusForbidden, CodeForbidden, "only an admin may list another user's tokens"))
			return
		}
		uid = id
	}
	ts, err := s.st.ListAPITokens(r.Context(), uid)
	if err != nil {
		WriteError(w, err)
		return
	}
	WriteJSON(w, http.StatusOK, List[store.APIToken]{Items: ts})
}

// deleteToken revokes one of the caller's tokens, or any token for an
// admin. Another user's token is "not found" to a non-admin.
func (s *Server) deleteToken(w http.ResponseWriter, r *http.Request, who *Principal) {
	id, err := pathID(r, "id")
	if err != nil {
		WriteError(w, err)
		return
	}
	SetAudit(r, "token/"+strconv.FormatInt(id, 10), "")
	if !who.Can(store.Admin) {
		ts, err := s.st.ListAPITokens(r.Context(), who.UserID)
		if err != nil {
			WriteError(w, err)
			return
		}
		own := false
		for _, t := range ts {
			own = own || t.ID == id
		}
		if !own {
			WriteError(w, store.ErrNotFound)
			return
		}
	}
	if err := s.st.DeleteAPIToken(r.Context(), id); err != nil {
		WriteError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
