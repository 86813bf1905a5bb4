// Package honey knows the honey credentials: the credentials planted in
// the deckies' bait (package bait/plan), recorded in the store with the
// place they lie, and recognised when an intruder tries one against any
// service of any decky. It is the alert evaluator's HoneyCredentials.
//
// Sync records the bait of every stored topology (the master calls it at
// start and after every spec change); Lookup answers from a copy of the
// stored credentials read again when Sync ran or every TTL.
package honey

import (
	"bytes"
	"context"
	"crypto/sha1" //nolint:gosec // MySQL's mysql_native_password is SHA-1 by definition
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"log/slog"
	"sync"
	"time"

	"github.com/decnet/decnet/internal/bait/plan"
	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/store"
	"github.com/decnet/decnet/internal/topology"
)

// Store is what the registry reads and writes.
type Store interface {
	ListTopologies(ctx context.Context) ([]store.Topology, error)
	AddHoneyCredentials(ctx context.Context, creds []store.HoneyCredential) (int, error)
	ListHoneyCredentials(ctx context.Context) ([]store.HoneyCredential, error)
}

// Registry is the set of honey credentials. Safe for concurrent use.
type Registry struct {
	st  Store
	log *slog.Logger
	ttl time.Duration

	mu      sync.Mutex
	creds   []store.HoneyCredential
	byDecky map[string][]store.HoneyCredential
	loaded  time.Time
	dirty   bool
}

// New returns a registry over the store; it reads nothing yet.
func New(st Store, log *slog.Logger) *Registry {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Registry{st: st, log: log.With("component", "honey"), ttl: 30 * time.Second, dirty: true}
}

// Credentials returns the honey credentials of one topology's spec.
func Credentials(t *store.Topology) ([]store.HoneyCredential, error) {
	spec, err := topology.DecodeBytes(t.Spec)
	if err != nil {
		return nil, err
	}
	var out []store.HoneyCredential
	for _, d := range spec.Deckies {
		for _, f := range plan.For(spec, d.Name) {
			for _, c := range f.Creds {
				out = append(out, store.HoneyCredential{TopologyID: t.ID, Decky: d.Name, Service: f.Place, Path: f.Path,
					Kind: "password", Principal: c.Principal, Secret: c.Secret, Target: c.Target, PlacedAt: time.Now()})
			}
		}
	}
	return out, nil
}

// SyncTopology records the honey credentials of one topology.
func (r *Registry) SyncTopology(ctx context.Context, t *store.Topology) error {
	creds, err := Credentials(t)
	if err != nil {
		return err
	}
	n, err := r.st.AddHoneyCredentials(ctx, creds)
	if err != nil {
		return err
	}
	if n > 0 {
		r.log.Info("honey credentials recorded", "topology_id", t.ID, "new", n)
	}
	r.mu.Lock()
	r.dirty = true
	r.mu.Unlock()
	return nil
}

// Sync records the honey credentials of every stored topology.
func (r *Registry) Sync(ctx context.Context) error {
	tops, err := r.st.ListTopologies(ctx)
	if err != nil {
		return err
	}
	for i := range tops {
		if err := r.SyncTopology(ctx, &tops[i]); err != nil {
			r.log.Warn("honey credentials of a topology", "topology_id", tops[i].ID, "err", err)
		}
	}
	return nil
}

// current returns the credentials and their index by decky, read again
// after a Sync or past the TTL.
func (r *Registry) current(ctx context.Context) ([]store.HoneyCredential, map[string][]store.HoneyCredential, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.dirty && time.Since(r.loaded) < r.ttl {
		return r.creds, r.byDecky, nil
	}
	creds, err := r.st.ListHoneyCredentials(ctx)
	if err != nil {
		return nil, nil, err
	}
	by := map[string][]store.HoneyCredential{}
	for _, c := range creds {
		by[c.Decky] = append(by[c.Decky], c)
	}
	r.creds, r.byDecky, r.loaded, r.dirty = creds, by, time.Now(), false
	return creds, by, nil
}

// Lookup returns the honey credentials c is a use of (any principal: a
// stolen password tried under another name still betrays its reader),
// those planted under c's principal first.
func (r *Registry) Lookup(ctx context.Context, c *event.Credential) ([]store.HoneyCredential, error) {
	if c == nil {
		return nil, nil
	}
	creds, _, err := r.current(ctx)
	if err != nil {
		return nil, err
	}
	var same, other []store.HoneyCredential
	for _, h := range creds {
		if !Matches(c, h.Secret) {
			continue
		}
		if h.Principal == c.Principal {
			same = append(same, h)
		} else {
			other = append(other, h)
		}
	}
	return append(same, other...), nil
}

// Planted returns the honey credentials planted on a decky (of any
// topology).
func (r *Registry) Planted(ctx context.Context, decky string) ([]store.HoneyCredential, error) {
	_, by, err := r.current(ctx)
	return by[decky], err
}

// Matches reports whether a credential an attacker presented is the
// password secret: the same text, or a challenge-response only that
// password answers (MySQL's mysql_native_password scramble).
func Matches(c *event.Credential, secret string) bool {
	raw, err := base64.StdEncoding.DecodeString(c.SecretB64)
	if err != nil {
		return false
	}
	switch {
	case c.Plaintext:
		return subtle.ConstantTimeCompare(raw, []byte(secret)) == 1
	case c.Kind == "mysql_native":
		salt, err := hex.DecodeString(c.Challenge)
		if err != nil || len(raw) != sha1.Size || len(salt) == 0 {
			return false
		}
		return bytes.Equal(raw, MySQLNative(secret, salt))
	}
	return false
}

// MySQLNative is the mysql_native_password response to salt:
// SHA1(password) XOR SHA1(salt + SHA1(SHA1(password))).
func MySQLNative(password string, salt []byte) []byte {
	h1 := sha1.Sum([]byte(password))
	h2 := sha1.Sum(h1[:])
	h := sha1.New()
	h.Write(salt)
	h.Write(h2[:])
	h3 := h.Sum(nil)
	for i := range h3 {
		h3[i] ^= h1[i]
	}
	return h3
}
