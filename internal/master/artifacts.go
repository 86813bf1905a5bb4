package master

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/master/api"
	"github.com/decnet/decnet/internal/store"
)

// MaxArtifact bounds one blob an agent may upload: above a decky's own
// quarantine cap (50 MiB), so no honest blob is refused.
const MaxArtifact = 64 << 20

// Artifacts is the master's content-addressed store of what deckies
// quarantined (uploaded files, session transcripts, large request bodies):
// one read-only file per blob under DataDir/artifacts, named by its
// SHA-256, which the master computes itself before keeping a blob.
type Artifacts struct {
	dir string
}

// NewArtifacts stores blobs under dir (made on first use).
func NewArtifacts(dir string) *Artifacts { return &Artifacts{dir: dir} }

// ErrHashMismatch is returned by Put when the bytes do not hash to the
// name they were sent under.
var ErrHashMismatch = errors.New("content does not match its SHA-256")

// ErrTooLarge is returned by Put for a blob over MaxArtifact.
var ErrTooLarge = fmt.Errorf("blob larger than %d bytes", MaxArtifact)

func (a *Artifacts) path(sha string) string { return filepath.Join(a.dir, sha) }

// Has reports whether the blob is stored, and marks it as still in use
// (retention keeps blobs by their last use).
func (a *Artifacts) Has(sha string) bool {
	if !event.IsSHA256(sha) {
		return false
	}
	now := time.Now()
	return os.Chtimes(a.path(sha), now, now) == nil
}

// Open returns the stored blob; fs.ErrNotExist when it is not there.
func (a *Artifacts) Open(sha string) (*os.File, error) {
	if !event.IsSHA256(sha) {
		return nil, fs.ErrNotExist
	}
	return os.Open(a.path(sha))
}

// Put stores the bytes of r under sha if they hash to it, reading at most
// MaxArtifact bytes. A blob already stored is kept as it is.
func (a *Artifacts) Put(sha string, r io.Reader) error {
	if !event.IsSHA256(sha) {
		return fmt.Errorf("%q is not a SHA-256 in lowercase hex", sha)
	}
	if err := os.MkdirAll(a.dir, 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(a.dir, ".incoming-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), io.LimitReader(r, MaxArtifact+1))
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	switch {
	case err != nil:
		return err
	case n > MaxArtifact:
		return ErrTooLarge
	case hex.EncodeToString(h.Sum(nil)) != sha:
		return ErrHashMismatch
	}
	if a.Has(sha) {
		return nil
	}
	if err := os.Chmod(tmp.Name(), 0o400); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), a.path(sha))
}

// Prune removes the blobs not used since before t and returns how many.
func (a *Artifacts) Prune(t time.Time) (int, error) {
	ents, err := os.ReadDir(a.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range ents {
		fi, err := e.Info()
		if err != nil || !fi.Mode().IsRegular() || !fi.ModTime().Before(t) {
			continue
		}
		// Incoming files of an upload cut by a crash are pruned too.
		if os.Remove(filepath.Join(a.dir, e.Name())) == nil {
			n++
		}
	}
	return n, nil
}

// artifactHandler serves HEAD and PUT /agent/v1/artifacts/{sha256} to
// enrolled agents.
func (a *Authority) artifactHandler(w http.ResponseWriter, r *http.Request) {
	if _, err := a.AgentFromRequest(r); err != nil {
		agentError(w, http.StatusForbidden, "FORBIDDEN", err.Error())
		return
	}
	sha := r.PathValue("sha")
	if !event.IsSHA256(sha) {
		agentError(w, http.StatusBadRequest, "BAD_REQUEST", "the name must be a SHA-256 in lowercase hex")
		return
	}
	if a.Artifacts.Has(sha) {
		w.WriteHeader(http.StatusOK)
		return
	}
	if r.Method == http.MethodHead {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	if r.ContentLength > MaxArtifact {
		agentError(w, http.StatusRequestEntityTooLarge, "TOO_LARGE", ErrTooLarge.Error())
		return
	}
	err := a.Artifacts.Put(sha, r.Body)
	switch {
	case errors.Is(err, ErrHashMismatch):
		agentError(w, http.StatusUnprocessableEntity, "HASH_MISMATCH", err.Error())
	case errors.Is(err, ErrTooLarge):
		agentError(w, http.StatusRequestEntityTooLarge, "TOO_LARGE", err.Error())
	case err != nil:
		a.Log.Error("store artifact", "sha256", sha, "err", err)
		agentError(w, http.StatusInternalServerError, "INTERNAL", "could not store the blob")
	default:
		w.WriteHeader(http.StatusCreated)
	}
}

// artifactRoutes is the operator API's download of a stored blob: admin
// only, because a blob is attacker content (malware, transcripts with
// typed secrets), and always as an attachment that no browser renders.
func (m *Master) artifactRoutes() []api.Route {
	return []api.Route{{Method: http.MethodGet, Pattern: "/artifacts/{sha}",
		Summary: "Download a quarantined blob (uploaded file, session transcript, request body) by its SHA-256",
		Role:    store.Admin, Audit: true, Handler: m.getArtifact, Produces: "application/octet-stream"}}
}

func (m *Master) getArtifact(w http.ResponseWriter, r *http.Request, _ *api.Principal) {
	sha := r.PathValue("sha")
	f, err := m.Artifacts.Open(sha)
	if err != nil {
		api.WriteError(w, api.Errorf(http.StatusNotFound, api.CodeNotFound, "no stored blob has this SHA-256"))
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		api.WriteError(w, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Disposition", `attachment; filename="`+sha+`.bin"`)
	h.Set("Content-Security-Policy", "sandbox; default-src 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "private, no-store")
	http.ServeContent(w, r, "", fi.ModTime(), f)
}
