package master

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/decnet/decnet/internal/bus"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/decnet/decnet/internal/pki"
	"github.com/decnet/decnet/internal/store"
	"github.com/decnet/decnet/internal/wire"
)

// Enrollment and the agent-facing endpoints. An agent joins with a
// single-use, expiring token and the CA's hash (kubeadm style): it fetches
// the CA certificate, checks its hash, makes its own key and sends a CSR;
// the master signs it with the agent role for the host the token names.
// Private keys never travel. Afterwards every agent request is mutual TLS
// with the agent role, checked against revoked serials.

// AgentCertValidity is how long an agent certificate lives.
const AgentCertValidity = 365 * 24 * time.Hour

// JoinTokenTTL is how long a join token stays usable by default.
const JoinTokenTTL = 15 * time.Minute

// Authority holds what enrollment needs: the CA and the store.
type Authority struct {
	CA    *pki.CA
	Store store.Store
	// Artifacts, when set, takes the blobs agents upload.
	Artifacts *Artifacts
	Log       *slog.Logger
	Now       func() time.Time
	// OnHeartbeat, when set, learns every accepted heartbeat (the
	// reconciler).
	OnHeartbeat func(host string, hb *wire.Heartbeat)
	// Binary, when set, is the build agents are updated to.
	Binary *AgentBinary
}

func (a *Authority) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

func tokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// NewJoinToken records a single-use token for host name and returns it.
// Only its hash is stored. A host id is enrolled once: a decommissioned id
// stays taken, since its revoked certificate names it.
func (a *Authority) NewJoinToken(ctx context.Context, name string, ttl time.Duration) (string, time.Time, error) {
	if !pki.ValidHostID(name) {
		return "", time.Time{}, invalid("name %q must be 1-63 lowercase letters, digits or '-', starting with a letter or digit", name)
	}
	if name == bus.MasterHost {
		return "", time.Time{}, invalid("name %q is the master's own; pick another name", name)
	}
	if _, err := a.Store.Host(ctx, name); err == nil {
		return "", time.Time{}, conflict("host %q is already enrolled (or was decommissioned); pick another name", name)
	} else if !errors.Is(err, store.ErrNotFound) {
		return "", time.Time{}, err
	}
	if ttl <= 0 {
		ttl = JoinTokenTTL
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", time.Time{}, err
	}
	token := base64.RawURLEncoding.EncodeToString(b[:])
	expires := a.now().Add(ttl)
	if err := a.Store.CreateJoinToken(ctx, tokenHash(token), name, expires); err != nil {
		return "", time.Time{}, fmt.Errorf("record join token: %w", err)
	}
	return token, expires, nil
}

// EnrollRequest is what a joining agent sends.
type EnrollRequest struct {
	Token string `json:"token"`
	CSR   string `json:"csr_pem"`
}

// EnrollResponse carries the agent's certificate.
type EnrollResponse struct {
	HostID string `json:"host_id"`
	Cert   string `json:"cert_pem"`
	CA     string `json:"ca_pem"`
}

// ErrBadToken is returned for an unknown, used or expired join token.
var ErrBadToken = errors.New("join token is unknown, used or expired")

// Enroll consumes the token and signs the CSR for the host it names.
func (a *Authority) Enroll(ctx context.Context, req EnrollRequest) (*EnrollResponse, error) {
	name, err := a.Store.ConsumeJoinToken(ctx, tokenHash(req.Token), a.now())
	if err != nil {
		if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrConflict) {
			return nil, ErrBadToken
		}
		return nil, err
	}
	certPEM, err := a.CA.SignCSR([]byte(req.CSR), pki.Agent(name), AgentCertValidity, a.now())
	if err != nil {
		return nil, fmt.Errorf("sign CSR: %w", err)
	}
	cert, err := pki.ParseCertificatePEM(certPEM)
	if err != nil {
		return nil, err
	}
	h := &store.Host{ID: name, Name: name, CertSerial: SerialOf(cert), EnrolledAt: a.now()}
	if err := a.Store.CreateHost(ctx, h); err != nil {
		return nil, fmt.Errorf("record host %s: %w", name, err)
	}
	a.Log.Info("agent enrolled", "host_id", name, "serial", h.CertSerial)
	return &EnrollResponse{HostID: name, Cert: string(certPEM), CA: string(a.CA.CertPEM)}, nil
}

// SerialOf is how certificate serials are written in the store.
func SerialOf(cert *x509.Certificate) string { return fmt.Sprintf("%x", cert.SerialNumber) }

// AgentTLSConfig is the agent-facing listener's TLS: the master's own
// certificate; a client certificate is verified when given (enrollment
// comes without one; every other route requires it).
func AgentTLSConfig(ca *pki.CA, cert tls.Certificate) *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert},
		ClientAuth: tls.VerifyClientCertIfGiven, ClientCAs: ca.Pool(),
		SessionTicketsDisabled: true,
	}
}

// AgentFromRequest returns the enrolled, non-revoked host that made the
// request, from its verified client certificate.
func (a *Authority) AgentFromRequest(r *http.Request) (string, error) {
	if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 {
		return "", errors.New("a client certificate issued by the DECNET CA is required")
	}
	leaf := r.TLS.VerifiedChains[0][0]
	role, err := pki.RoleOf(leaf)
	if err != nil {
		return "", err
	}
	if role.Kind != pki.KindAgent {
		return "", fmt.Errorf("role %s is not an agent", role)
	}
	revoked, err := a.Store.Revoked(r.Context(), SerialOf(leaf))
	if err != nil {
		return "", err
	}
	if revoked {
		return "", errors.New("certificate revoked")
	}
	return role.HostID, nil
}

// EnrollHandler serves POST /agent/v1/enroll and GET /agent/v1/ca.
func (a *Authority) EnrollHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /agent/v1/ca", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-pem-file")
		w.Write(a.CA.CertPEM)
	})
	mux.HandleFunc("POST /agent/v1/enroll", func(w http.ResponseWriter, r *http.Request) {
		var req EnrollRequest
		if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&req); err != nil {
			agentError(w, http.StatusBadRequest, "BAD_REQUEST", err.Error())
			return
		}
		res, err := a.Enroll(r.Context(), req)
		switch {
		case errors.Is(err, ErrBadToken):
			agentError(w, http.StatusForbidden, "BAD_TOKEN", err.Error())
		case err != nil:
			a.Log.Error("enroll", "err", err)
			agentError(w, http.StatusBadRequest, "ENROLL_FAILED", err.Error())
		default:
			agentJSON(w, http.StatusOK, res)
		}
	})
	return mux
}

func agentJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func agentError(w http.ResponseWriter, status int, code, msg string) {
	agentJSON(w, status, wire.ErrorBody{Error: wire.Error{Code: code, Message: msg}})
}
