package api

import (
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"time"

	"github.com/decnet/decnet/internal/store"
)

var userNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

func pathID(r *http.Request, name string) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || id < 1 {
		return 0, fmt.Errorf("%w: %s must be a positive integer", ErrInvalid, name)
	}
	return id, nil
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request, _ *Principal) {
	us, err := s.st.ListUsers(r.Context())
	if err != nil {
		WriteError(w, err)
		return
	}
	out := make([]userView, len(us))
	for i := range us {
		out[i] = viewUser(&us[i])
	}
	WriteJSON(w, http.StatusOK, List[userView]{Items: out})
}

type createUserRequest struct {
	Name     string     `json:"name"`
	Role     store.Role `json:"role"`
	Password string     `json:"password,omitempty"`
}

// passwordResponse carries a generated password, shown once.
type passwordResponse struct {
	User     userView `json:"user"`
	Password string   `json:"password,omitempty"`
}

func (s *Server) createUser(w http.ResponseWriter, r *http.Request, _ *Principal) {
	var req createUserRequest
	if err := DecodeJSON(w, r, &req); err != nil {
		WriteError(w, err)
		return
	}
	if !userNameRE.MatchString(req.Name) {
		WriteError(w, fmt.Errorf("%w: name must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit", ErrInvalid))
		return
	}
	if req.Role != store.Admin && req.Role != store.Viewer {
		WriteError(w, fmt.Errorf("%w: role must be %q or %q", ErrInvalid, store.Admin, store.Viewer))
		return
	}
	generated, err := settlePassword(&req.Password)
	if err != nil {
		WriteError(w, err)
		return
	}
	hash, err := s.hash(r, req.Password)
	if err != nil {
		WriteError(w, err)
		return
	}
	u := &store.User{Name: req.Name, Role: req.Role, PasswordHash: hash, MustChange: true,
		CreatedAt: s.now().UTC().Truncate(time.Microsecond)}
	SetAudit(r, "user/"+req.Name, "role="+string(req.Role))
	if err := s.st.CreateUser(r.Context(), u); err != nil {
		WriteError(w, conflictAs(err, "user %q exists", req.Name))
		return
	}
	resp := passwordResponse{User: viewUser(u)}
	if generated {
		resp.Password = req.Password
	}
	WriteJSON(w, http.StatusCreated, resp)
}

// hash hashes a password in one of the argon2 slots.
func (s *Server) hash(r *http.Request, pw string) (string, error) {
	var hash string
	var err error
	if serr := s.withHashSlot(r.Context(), func() { hash, err = hashPassword(pw) }); serr != nil {
		return "", serr
	}
	return hash, err
}

func (s *Server) deleteUser(w http.ResponseWriter, r *http.Request, who *Principal) {
	id, err := pathID(r, "id")
	if err != nil {
		WriteError(w, err)
		return
	}
	if id == who.UserID {
		WriteError(w, Errorf(http.StatusConflict, CodeConflict, "you cannot delete your own account"))
		return
	}
	u, err := s.st.UserByID(r.Context(), id)
	if err != nil {
		WriteError(w, err)
		return
	}
	SetAudit(r, "user/"+u.Name, "")
	if u.Role == store.Admin {
		us, err := s.st.ListUsers(r.Context())
		if err != nil {
			WriteError(w, err)
			return
		}
		admins := 0
		for _, o := range us {
			if o.Role == store.Admin {
				admins++
			}
		}
		if admins <= 1 {
			WriteError(w, Errorf(http.StatusConflict, CodeConflict, "the last admin cannot be deleted"))
			return
		}
	}
	if err := s.st.DeleteUser(r.Context(), id); err != nil {
		WriteError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type resetPasswordRequest struct {
	Password string `json:"password,omitempty"`
}

// resetPassword sets another user's password (generated when the body
// gives none) and forces a change at the next login; the user's sessions
// end.
func (s *Server) resetPassword(w http.ResponseWriter, r *http.Request, _ *Principal) {
	id, err := pathID(r, "id")
	if err != nil {
		WriteError(w, err)
		return
	}
	var req resetPasswordRequest
	if r.ContentLength != 0 {
		if err := DecodeJSON(w, r, &req); err != nil {
			WriteError(w, err)
			return
		}
	}
	generated, err := settlePassword(&req.Password)
	if err != nil {
		WriteError(w, err)
		return
	}
	u, err := s.st.UserByID(r.Context(), id)
	if err != nil {
		WriteError(w, err)
		return
	}
	SetAudit(r, "user/"+u.Name, "")
	hash, err := s.hash(r, req.Password)
	if err != nil {
		WriteError(w, err)
		return
	}
	if err := s.st.SetPassword(r.Context(), id, hash, true); err != nil {
		WriteError(w, err)
		return
	}
	u.MustChange = true
	resp := passwordResponse{User: viewUser(u)}
	if generated {
		resp.Password = req.Password
	}
	WriteJSON(w, http.StatusOK, resp)
}

func (s *Server) listAudit(w http.ResponseWriter, r *http.Request, _ *Principal) {
	p, err := ParsePage(r)
	if err != nil {
		WriteError(w, err)
		return
	}
	var before int64
	if p.Cursor != "" {
		if before, err = strconv.ParseInt(p.Cursor, 10, 64); err != nil || before < 1 {
			WriteError(w, Errorf(http.StatusBadRequest, CodeInvalid, "malformed cursor"))
			return
		}
	}
	es, err := s.st.ListAudit(r.Context(), before, min(p.Limit+1, MaxLimit))
	if err != nil {
		WriteError(w, err)
		return
	}
	WriteJSON(w, http.StatusOK, pageOf(es, p.Limit, func(e store.AuditEntry) string { return strconv.FormatInt(e.ID, 10) }))
}

// pageOf is NewList for a store capped at MaxLimit: at the cap a full
// page gets a cursor even though the next page may be empty.
func pageOf[T any](items []T, limit int, pos func(T) string) List[T] {
	if limit >= MaxLimit && len(items) == MaxLimit {
		l := NewList(items, limit, pos)
		l.NextCursor = EncodeCursor(pos(items[len(items)-1]))
		return l
	}
	return NewList(items, limit, pos)
}

// conflictAs turns store.ErrConflict into a 409 with a specific message.
func conflictAs(err error, format string, a ...any) error {
	if isConflict(err) {
		return Errorf(http.StatusConflict, CodeConflict, format, a...)
	}
	return err
}

// settlePassword checks a password given in a request, or generates one
// when none is given (generated says so).
func settlePassword(pw *string) (generated bool, err error) {
	if *pw == "" {
		*pw = generatePassword()
		return true, nil
	}
	return false, checkPassword(*pw)
}
