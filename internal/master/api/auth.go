package api

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/decnet/decnet/internal/store"
)

// CSRFHeader carries the session's CSRF token on mutating requests made
// with the session cookie.
const CSRFHeader = "X-CSRF-Token"

// How a principal authenticated.
const (
	ViaSession = "session"
	ViaToken   = "token"
)

// tokenPrefix starts every API token, so secret scanners can find leaked
// ones.
const tokenPrefix = "dnt_"

// Principal is the authenticated caller of a request.
type Principal struct {
	UserID     int64
	Name       string
	Role       store.Role
	MustChange bool
	Via        string // ViaSession or ViaToken
	TokenID    int64  // the API token's id when Via is ViaToken

	sessionHash string
	csrf        string
}

// roleRank orders the roles; an unknown role ranks below every route.
func roleRank(r store.Role) int {
	switch r {
	case store.Viewer:
		return 1
	case store.Admin:
		return 2
	}
	return 0
}

// Can reports whether the principal holds at least role.
func (p *Principal) Can(role store.Role) bool {
	return p != nil && roleRank(p.Role) >= roleRank(role) && roleRank(p.Role) > 0
}

func (p *Principal) csrfMatches(h string) bool {
	return p.csrf != "" && subtle.ConstantTimeCompare([]byte(h), []byte(p.csrf)) == 1
}

// userView is a user as the API shows it.
type userView struct {
	ID         int64      `json:"id"`
	Name       string     `json:"name"`
	Role       store.Role `json:"role"`
	MustChange bool       `json:"must_change_password"`
	CreatedAt  time.Time  `json:"created_at"`
}

func viewUser(u *store.User) userView {
	return userView{ID: u.ID, Name: u.Name, Role: u.Role, MustChange: u.MustChange, CreatedAt: u.CreatedAt}
}

func hashToken(tok string) string {
	sum := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(sum[:])
}

// passwordStamp identifies the user's current password hash. A session
// stores it beside its CSRF token and dies when it no longer matches, so a
// password change or reset ends every session of the user.
func passwordStamp(hash string) string {
	sum := sha256.Sum256([]byte(hash))
	return hex.EncodeToString(sum[:8])
}

func (s *Server) cookieName() string {
	if s.secure {
		return "__Host-decnet_session"
	}
	return "decnet_session"
}

var errUnauthenticated = Errorf(http.StatusUnauthorized, CodeUnauthenticated, "authentication required")

// authenticate finds the caller from the bearer token or, without an
// Authorization header, the session cookie.
func (s *Server) authenticate(r *http.Request) (*Principal, error) {
	key := ""
	if h := r.Header.Get("Authorization"); h != "" {
		key = "t" + hashToken(h)
	} else if c, err := r.Cookie(s.cookieName()); err == nil {
		key = "c" + hashToken(c.Value)
	}
	if p := s.auths.get(key); p != nil {
		return p, nil
	}
	p, until, err := s.findPrincipal(r)
	if err == nil && key != "" {
		s.auths.put(key, p, until)
	}
	return p, err
}

// findPrincipal finds the caller in the store, and until when the answer
// holds (a session's expiry; the zero time for a token).
func (s *Server) findPrincipal(r *http.Request) (*Principal, time.Time, error) {
	ctx := r.Context()
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || !strings.HasPrefix(tok, tokenPrefix) || len(tok) > 256 {
			return nil, time.Time{}, errUnauthenticated
		}
		t, err := s.st.APITokenByHash(ctx, hashToken(tok))
		if err != nil {
			return nil, time.Time{}, authErr(err)
		}
		u, err := s.st.UserByID(ctx, t.UserID)
		if err != nil {
			return nil, time.Time{}, authErr(err)
		}
		return &Principal{UserID: u.ID, Name: u.Name, Role: u.Role, MustChange: u.MustChange, Via: ViaToken, TokenID: t.ID}, time.Time{}, nil
	}
	c, err := r.Cookie(s.cookieName())
	if err != nil || c.Value == "" || len(c.Value) > 256 {
		return nil, time.Time{}, errUnauthenticated
	}
	hash := hashToken(c.Value)
	sess, err := s.st.SessionByHash(ctx, hash)
	if err != nil {
		return nil, time.Time{}, authErr(err)
	}
	if !sess.Expires.After(s.now()) {
		return nil, time.Time{}, errUnauthenticated
	}
	u, err := s.st.UserByID(ctx, sess.UserID)
	if err != nil {
		return nil, time.Time{}, authErr(err)
	}
	csrf, stamp, _ := strings.Cut(sess.CSRF, ".")
	if stamp != passwordStamp(u.PasswordHash) {
		_ = s.st.DeleteSession(ctx, hash)
		return nil, time.Time{}, errUnauthenticated
	}
	return &Principal{UserID: u.ID, Name: u.Name, Role: u.Role, MustChange: u.MustChange, Via: ViaSession,
		sessionHash: hash, csrf: csrf}, sess.Expires, nil
}

func authErr(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return errUnauthenticated
	}
	return fmt.Errorf("authenticate: %w", err)
}

// startSession stores a new session of u and sets its cookie; it returns
// the CSRF token and the expiry.
func (s *Server) startSession(ctx context.Context, w http.ResponseWriter, u *store.User) (string, time.Time, error) {
	tok, csrf := randomString(32), randomString(32)
	exp := s.now().Add(s.sessionTTL).UTC().Truncate(time.Second)
	err := s.st.CreateSession(ctx, &store.Session{TokenHash: hashToken(tok), UserID: u.ID,
		CSRF: csrf + "." + passwordStamp(u.PasswordHash), Expires: exp})
	if err != nil {
		return "", time.Time{}, fmt.Errorf("create session: %w", err)
	}
	http.SetCookie(w, &http.Cookie{Name: s.cookieName(), Value: tok, Path: "/", Expires: exp,
		MaxAge: int(s.sessionTTL / time.Second), HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteStrictMode})
	return csrf, exp, nil
}

func (s *Server) clearCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: s.cookieName(), Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteStrictMode})
}

// withHashSlot runs fn while holding one of the argon2 slots, which bound
// the memory that concurrent logins can take.
func (s *Server) withHashSlot(ctx context.Context, fn func()) error {
	select {
	case s.hashSlots <- struct{}{}:
	case <-ctx.Done():
		return Errorf(http.StatusServiceUnavailable, CodeUnavailable, "request cancelled")
	}
	defer func() { <-s.hashSlots }()
	fn()
	return nil
}

// checkUserPassword verifies password for the named user in the same time
// whether or not the user exists.
func (s *Server) checkUserPassword(ctx context.Context, name, password string) (*store.User, error) {
	u, err := s.st.UserByName(ctx, name)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("login: %w", err)
	}
	hash := ""
	if u != nil {
		hash = u.PasswordHash
	} else {
		hash = s.dummy()
	}
	var ok bool
	var verr error
	if err := s.withHashSlot(ctx, func() { ok, verr = verifyPassword(password, hash) }); err != nil {
		return nil, err
	}
	if verr != nil && u != nil {
		s.log.Error("stored password hash unreadable", "user", u.Name, "err", verr)
	}
	if u == nil || !ok {
		return nil, nil
	}
	return u, nil
}

// dummy is a hash of a random password, verified for unknown users so that
// they cost what a wrong password costs.
func (s *Server) dummy() string {
	s.dummyOnce.Do(func() {
		h, err := hashPassword(randomString(16))
		if err != nil {
			panic(err)
		}
		s.dummyHash = h
	})
	return s.dummyHash
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

type loginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

type loginResponse struct {
	User      userView  `json:"user"`
	CSRFToken string    `json:"csrf_token"`
	ExpiresAt time.Time `json:"expires_at"`
}

func (s *Server) login(w http.ResponseWriter, r *http.Request, _ *Principal) {
	var req loginRequest
	if err := DecodeJSON(w, r, &req); err != nil {
		WriteError(w, err)
		return
	}
	name := req.Username
	if len(name) > 128 {
		name = name[:128]
	}
	ipKey, userKey := "ip:"+clientIP(r), "user:"+strings.ToLower(name)
	now := s.now()
	ok, retry := s.logins.reserve(now, ipKey, userKey)
	if !ok {
		s.metrics.loginLimited.Inc()
		secs := int((retry + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", fmt.Sprint(max(secs, 1)))
		WriteError(w, Errorf(http.StatusTooManyRequests, CodeRateLimited, "too many failed logins, retry in %d s", max(secs, 1)))
		return
	}
	u, err := s.checkUserPassword(r.Context(), req.Username, req.Password)
	if err != nil {
		s.logins.release(now, ipKey)
		s.logins.release(now, userKey)
		WriteError(w, err)
		return
	}
	if u == nil {
		s.metrics.loginFailures.Inc()
		s.log.Info("login failed", "user", req.Username, "remote", clientIP(r))
		WriteError(w, Errorf(http.StatusUnauthorized, CodeInvalidCredentials, "wrong user name or password"))
		return
	}
	s.logins.release(now, ipKey, userKey)
	csrf, exp, err := s.startSession(r.Context(), w, u)
	if err != nil {
		WriteError(w, err)
		return
	}
	s.log.Info("login", "user", u.Name, "remote", clientIP(r))
	WriteJSON(w, http.StatusOK, loginResponse{User: viewUser(u), CSRFToken: csrf, ExpiresAt: exp})
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request, who *Principal) {
	if who.Via == ViaSession {
		if err := s.st.DeleteSession(r.Context(), who.sessionHash); err != nil {
			WriteError(w, err)
			return
		}
		s.clearCookie(w)
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) whoami(w http.ResponseWriter, r *http.Request, who *Principal) {
	u, err := s.st.UserByID(r.Context(), who.UserID)
	if err != nil {
		WriteError(w, err)
		return
	}
	WriteJSON(w, http.StatusOK, whoami{viewUser(u), who.Via})
}

// whoami is GET /auth/me.
type whoami struct {
	User userView `json:"user"`
	Via  string   `json:"via"`
}

type passwordChange struct {
	Current string `json:"current_password"`
	New     string `json:"new_password"`
}

// changePassword sets the caller's own password after checking the
// current one (rate-limited like a login). A session caller gets a fresh
// session and CSRF token: every other session of the user ends.
func (s *Server) changePassword(w http.ResponseWriter, r *http.Request, who *Principal) {
	var req passwordChange
	if err := DecodeJSON(w, r, &req); err != nil {
		WriteError(w, err)
		return
	}
	if err := checkPassword(req.New); err != nil {
		WriteError(w, err)
		return
	}
	if req.New == req.Current {
		WriteError(w, fmt.Errorf("%w: the new password must differ from the current one", ErrInvalid))
		return
	}
	key := fmt.Sprintf("password:%d", who.UserID)
	now := s.now()
	ok, retry := s.logins.reserve(now, key)
	if !ok {
		secs := max(int((retry+time.Second-1)/time.Second), 1)
		w.Header().Set("Retry-After", fmt.Sprint(secs))
		WriteError(w, Errorf(http.StatusTooManyRequests, CodeRateLimited, "too many wrong passwords, retry in %d s", secs))
		return
	}
	u, err := s.checkUserPassword(r.Context(), who.Name, req.Current)
	if err != nil {
		s.logins.release(now, key)
		WriteError(w, err)
		return
	}
	if u == nil || u.ID != who.UserID {
		WriteError(w, Errorf(http.StatusForbidden, CodeInvalidCredentials, "the current password is wrong"))
		return
	}
	s.logins.release(now, key, key)
	var hash string
	if err := s.withHashSlot(r.Context(), func() { hash, err = hashPassword(req.New) }); err != nil {
		WriteError(w, err)
		return
	}
	if err != nil {
		WriteError(w, err)
		return
	}
	if err := s.st.SetPassword(r.Context(), u.ID, hash, false); err != nil {
		WriteError(w, err)
		return
	}
	SetAudit(r, "user/"+u.Name, "")
	if who.Via != ViaSession {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	_ = s.st.DeleteSession(r.Context(), who.sessionHash)
	u.PasswordHash, u.MustChange = hash, false
	csrf, exp, err := s.startSession(r.Context(), w, u)
	if err != nil {
		WriteError(w, err)
		return
	}
	WriteJSON(w, http.StatusOK, loginResponse{User: viewUser(u), CSRFToken: csrf, ExpiresAt: exp})
}

// BootstrapUser is the account Bootstrap creates.
const BootstrapUser = "admin"

// Bootstrap creates the admin user with a generated password that must be
// changed at first login, when the store has no user at all. The caller
// prints the password once; it is stored only as a hash. created is false
// (and password empty) when users exist, including when another master
// replica bootstrapped first.
func Bootstrap(ctx context.Context, st store.Store) (password string, created bool, err error) {
	n, err := st.CountUsers(ctx)
	if err != nil {
		return "", false, fmt.Errorf("bootstrap: %w", err)
	}
	if n > 0 {
		return "", false, nil
	}
	password = generatePassword()
	hash, err := hashPassword(password)
	if err != nil {
		return "", false, fmt.Errorf("bootstrap: %w", err)
	}
	u := &store.User{Name: BootstrapUser, Role: store.Admin, PasswordHash: hash, MustChange: true}
	if err := st.CreateUser(ctx, u); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return "", false, nil
		}
		return "", false, fmt.Errorf("bootstrap: %w", err)
	}
	return password, true, nil
}
