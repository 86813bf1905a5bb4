// Package taxii serves STIX objects over a read-only TAXII 2.1 API, so
// threat-intelligence platforms and SIEMs pull what DECNET observed:
// discovery (/taxii2/), one API root (/taxii2/decnet/) with one
// collection of every object, its objects with pagination and
// added_after, and its manifest.
//
// An object's date_added is its modified time: exports derive objects
// and their ids from what they describe, so a changed object (an
// attacker seen again) is a new version of the same id, added when it
// changed.
package taxii

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// MediaType is TAXII 2.1's.
const MediaType = "application/taxii+json;version=2.1"

// Paths.
const (
	Prefix = "/taxii2/"
	Root   = "/taxii2/decnet/"
	// CollectionID is the one collection's id (a fixed UUID).
	CollectionID = "2f7bd5a4-1c8e-5d0b-9b6e-3e0a4c8d7f21"
)

// Page sizes.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

// Server serves the API. Objects returns the collection's objects (STIX
// objects as JSON maps with id, type and modified); it is called at most
// once per CacheFor. Authorize refuses a request with an error (401).
type Server struct {
	Objects   func(ctx context.Context) ([]map[string]any, error)
	Authorize func(r *http.Request) error
	CacheFor  time.Duration
	Now       func() time.Time

	mu     sync.Mutex
	cached []entry
	at     time.Time
}

type entry struct {
	obj   map[string]any
	id    string
	typ   string
	added time.Time
	ver   string
}

// ServeHTTP routes a TAXII request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		s.fail(w, http.StatusMethodNotAllowed, "read-only", "this TAXII server only serves GET")
		return
	}
	if err := s.Authorize(r); err != nil {
		w.Header().Set("WWW-Authenticate", `Basic realm="decnet-taxii", Bearer realm="decnet-taxii"`)
		s.fail(w, http.StatusUnauthorized, "authentication required", "send an API token: Authorization: Bearer <token>, or Basic with the token as password")
		return
	}
	if a := r.Header.Get("Accept"); a != "" && !acceptable(a) {
		s.fail(w, http.StatusNotAcceptable, "not acceptable", "ask for "+MediaType)
		return
	}
	col := Root + "collections/" + CollectionID + "/"
	switch r.URL.Path {
	case Prefix:
		s.json(w, map[string]any{"title": "DECNET", "description": "What a DECNET deception network observed, as STIX 2.1.",
			"default": Root, "api_roots": []string{Root}})
	case Root:
		s.json(w, map[string]any{"title": "DECNET", "versions": []string{MediaType}, "max_content_length": 0})
	case Root + "collections/":
		s.json(w, map[string]any{"collections": []any{collection()}})
	case col:
		s.json(w, collection())
	case col + "objects/", col + "manifest/":
		s.objects(w, r, strings.HasSuffix(r.URL.Path, "manifest/"))
	default:
		if strings.HasPrefix(r.URL.Path, col+"objects/") {
			s.objects(w, r, false)
			return
		}
		s.fail(w, http.StatusNotFound, "not found", "no such TAXII resource")
	}
}

func collection() map[string]any {
	return map[string]any{"id": CollectionID, "title": "DECNET observations",
		"description": "Attackers, their indicators and sightings, ATT&CK techniques and campaigns.",
		"can_read":    true, "can_write": false, "media_types": []string{"application/stix+json;version=2.1"}}
}

func acceptable(a string) bool {
	for _, part := range strings.Split(a, ",") {
		mt := strings.ToLower(strings.ReplaceAll(strings.TrimSpace(strings.Split(part, ";q=")[0]), " ", ""))
		if mt == "*/*" || mt == "application/*" || mt == "application/taxii+json" || mt == "application/taxii+json;version=2.1" {
			return true
		}
	}
	return false
}

// objects serves a page of the collection's objects, or of its manifest.
func (s *Server) objects(w http.ResponseWriter, r *http.Request, manifest bool) {
	all, err := s.load(r.Context())
	if err != nil {
		s.fail(w, http.StatusInternalServerError, "objects unavailable", "the server could not read its objects")
		return
	}
	q := r.URL.Query()
	limit := DefaultLimit
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			s.fail(w, http.StatusBadRequest, "bad limit", "limit is a positive number")
			return
		}
		limit = min(n, MaxLimit)
	}
	var after time.Time
	if v := q.Get("added_after"); v != "" {
		if after, err = time.Parse(time.RFC3339Nano, v); err != nil {
			s.fail(w, http.StatusBadRequest, "bad added_after", "added_after is a timestamp such as 2026-01-02T15:04:05.000Z")
			return
		}
	}
	var from *cursor
	if v := q.Get("next"); v != "" {
		c, err := decodeCursor(v)
		if err != nil {
			s.fail(w, http.StatusBadRequest, "bad next", "next is a value from an earlier page")
			return
		}
		from = &c
	}
	one := ""
	if rest, ok := strings.CutPrefix(r.URL.Path, Root+"collections/"+CollectionID+"/objects/"); ok {
		one = strings.TrimSuffix(rest, "/")
	}
	types, ids := split(q.Get("match[type]")), split(q.Get("match[id]"))
	if one != "" {
		ids = []string{one}
	}
	var sel []entry
	for _, e := range all {
		if (!after.IsZero() && !e.added.After(after)) || (len(types) > 0 && !slices.Contains(types, e.typ)) ||
			(len(ids) > 0 && !slices.Contains(ids, e.id)) {
			continue
		}
		if from != nil && (e.added.Before(from.added) || (e.added.Equal(from.added) && e.id <= from.id)) {
			continue
		}
		sel = append(sel, e)
	}
	if one != "" && len(sel) == 0 && from == nil {
		s.fail(w, http.StatusNotFound, "not found", "no such object in this collection")
		return
	}
	more := len(sel) > limit
	if more {
		sel = sel[:limit]
	}
	body := map[string]any{"more": more}
	if more {
		last := sel[len(sel)-1]
		body["next"] = encodeCursor(cursor{added: last.added, id: last.id})
	}
	if len(sel) > 0 {
		w.Header().Set("X-TAXII-Date-Added-First", stamp(sel[0].added))
		w.Header().Set("X-TAXII-Date-Added-Last", stamp(sel[len(sel)-1].added))
	}
	if manifest {
		list := make([]any, len(sel))
		for i, e := range sel {
			list[i] = map[string]any{"id": e.id, "date_added": stamp(e.added), "version": e.ver,
				"media_type": "application/stix+json;version=2.1"}
		}
		body["objects"] = list
	} else {
		list := make([]any, len(sel))
		for i, e := range sel {
			list[i] = e.obj
		}
		body["objects"] = list
	}
	s.json(w, body)
}

// load returns the objects sorted by date added then id, from a cache.
func (s *Server) load(ctx context.Context) ([]entry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	if s.Now != nil {
		now = s.Now()
	}
	if s.cached != nil && now.Sub(s.at) < s.CacheFor {
		return s.cached, nil
	}
	objs, err := s.Objects(ctx)
	if err != nil {
		return nil, err
	}
	// Observables have no modified time: theirs is the latest of the
	// observed-data that reference them, so a new address is added when
	// it is first observed.
	observed := map[string]string{}
	for _, o := range objs {
		if o["type"] != "observed-data" {
			continue
		}
		mod, _ := o["modified"].(string)
		refs, _ := o["object_refs"].([]any)
		for _, r := range refs {
			if id, _ := r.(string); id != "" && mod > observed[id] {
				observed[id] = mod
			}
		}
	}
	out := make([]entry, 0, len(objs))
	for _, o := range objs {
		id, _ := o["id"].(string)
		typ, _ := o["type"].(string)
		ver, _ := o["modified"].(string)
		if ver == "" {
			ver = observed[id]
		}
		added, err := time.Parse(time.RFC3339Nano, ver)
		if err != nil {
			added, ver = time.Unix(0, 0).UTC(), stamp(time.Unix(0, 0))
		}
		out = append(out, entry{obj: o, id: id, typ: typ, added: added, ver: ver})
	}
	slices.SortFunc(out, func(a, b entry) int { return cmp.Or(a.added.Compare(b.added), strings.Compare(a.id, b.id)) })
	s.cached, s.at = out, now
	return out, nil
}

type cursor struct {
	added time.Time
	id    string
}

func encodeCursor(c cursor) string {
	return base64.RawURLEncoding.EncodeToString([]byte(c.added.UTC().Format(time.RFC3339Nano) + "|" + c.id))
}

func decodeCursor(s string) (cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) > 512 {
		return cursor{}, fmt.Errorf("bad cursor")
	}
	t, id, ok := strings.Cut(string(b), "|")
	added, err := time.Parse(time.RFC3339Nano, t)
	if !ok || err != nil {
		return cursor{}, fmt.Errorf("bad cursor")
	}
	return cursor{added: added, id: id}, nil
}

func split(v string) []string {
	if v == "" {
		return nil
	}
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" && len(out) < 100 {
			out = append(out, s)
		}
	}
	return out
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func (s *Server) json(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", MediaType)
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(v)
}

// fail writes a TAXII error message.
func (s *Server) fail(w http.ResponseWriter, status int, title, desc string) {
	w.Header().Set("Content-Type", MediaType)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"title": title, "description": desc, "http_status": strconv.Itoa(status)})
}
