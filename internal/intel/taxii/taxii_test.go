package taxii

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func objects(n int) []map[string]any {
	var out []map[string]any
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		mod := t0.Add(time.Duration(i/3) * time.Minute).Format("2006-01-02T15:04:05.000Z") // three per time: ties by id
		out = append(out, map[string]any{"type": "indicator", "id": fmt.Sprintf("indicator--%08d-0000-4000-8000-000000000000", i), "modified": mod,
			"object_refs": nil})
	}
	out = append(out, map[string]any{"type": "ipv4-addr", "id": "ipv4-addr--x"},
		map[string]any{"type": "observed-data", "id": "observed-data--y", "modified": "2026-12-02T00:00:00.000Z", "object_refs": []any{"ipv4-addr--x"}})
	return out
}

func serve(t *testing.T, s *Server, path, auth, accept string) (*http.Response, map[string]any) {
	t.Helper()
	req := httptest.NewRequest("GET", path, nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	w := httptest.NewRecorder()
	s.ServeHTTP(w, req)
	var body map[string]any
	json.Unmarshal(w.Body.Bytes(), &body)
	return w.Result(), body
}

func newServer(n int) *Server {
	return &Server{Objects: func(context.Context) ([]map[string]any, error) { return objects(n), nil },
		Authorize: func(r *http.Request) error {
			if r.Header.Get("Authorization") != "Bearer ok" {
				return errors.New("no")
			}
			return nil
		}}
}

func TestPagesAndAddedAfter(t *testing.T) {
	s := newServer(25)
	col := Root + "collections/" + CollectionID + "/"
	seen := map[string]bool{}
	next, pages := "", 0
	var lastAdded string
	for {
		p := col + "objects/?limit=4"
		if next != "" {
			p += "&next=" + next
		}
		resp, body := serve(t, s, p, "Bearer ok", MediaType)
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != MediaType {
			t.Fatalf("%s: %d %v", p, resp.StatusCode, body)
		}
		for _, o := range body["objects"].([]any) {
			id := o.(map[string]any)["id"].(string)
			if seen[id] {
				t.Fatalf("%s twice", id)
			}
			seen[id] = true
		}
		pages++
		lastAdded = resp.Header.Get("X-TAXII-Date-Added-Last")
		if body["more"] != true {
			break
		}
		next = body["next"].(string)
	}
	if len(seen) != 27 || pages != 7 {
		t.Fatalf("%d objects in %d pages", len(seen), pages)
	}
	// The observable is dated by its observed-data: it comes last.
	if lastAdded != "2026-12-02T00:00:00.000Z" {
		t.Fatalf("last date added %s", lastAdded)
	}
	_, body := serve(t, s, col+"objects/?added_after=2026-12-01T00:07:00.000Z", "Bearer ok", "")
	if n := len(body["objects"].([]any)); n != 3 { // minute 8 (one) and the observed pair
		t.Fatalf("added_after: %d objects", n)
	}
	_, body = serve(t, s, col+"objects/?match[type]=ipv4-addr", "Bearer ok", "")
	if n := len(body["objects"].([]any)); n != 1 {
		t.Fatalf("match[type]: %d", n)
	}
	_, body = serve(t, s, col+"manifest/?limit=2", "Bearer ok", "")
	m := body["objects"].([]any)[0].(map[string]any)
	if m["date_added"] == nil || m["version"] == nil || m["media_type"] != "application/stix+json;version=2.1" {
		t.Fatalf("manifest %v", m)
	}
	resp, _ := serve(t, s, col+"objects/indicator--00000003-0000-4000-8000-000000000000/", "Bearer ok", "")
	if resp.StatusCode != 200 {
		t.Fatalf("one object: %d", resp.StatusCode)
	}
}

func TestRefusals(t *testing.T) {
	s := newServer(3)
	for _, tc := range []struct {
		path, auth, accept string
		want               int
	}{
		{Prefix, "", "", 401},
		{Prefix, "Bearer wrong", "", 401},
		{Prefix, "Bearer ok", "text/html", 406},
		{Prefix, "Bearer ok", "application/taxii+json;version=2.1", 200},
		{Root + "nope/", "Bearer ok", "", 404},
		{Root + "collections/" + CollectionID + "/objects/?limit=x", "Bearer ok", "", 400},
		{Root + "collections/" + CollectionID + "/objects/?added_after=yesterday", "Bearer ok", "", 400},
		{Root + "collections/" + CollectionID + "/objects/?next=bad!", "Bearer ok", "", 400},
		{Root + "collections/" + CollectionID + "/objects/indicator--nope/", "Bearer ok", "", 404},
	} {
		resp, body := serve(t, s, tc.path, tc.auth, tc.accept)
		if resp.StatusCode != tc.want || body["http_status"] == nil && tc.want != 200 {
			t.Errorf("%s (%q, %q): %d %v, want %d", tc.path, tc.auth, tc.accept, resp.StatusCode, body, tc.want)
		}
	}
	req := httptest.NewRequest("POST", Root+"collections/"+CollectionID+"/objects/", strings.NewReader("{}"))
	req.Header.Set("Authorization", "Bearer ok")
	w := httptest.NewRecorder()
	s.ServeHTTP(w, req)
	if w.Code != 405 {
		t.Errorf("POST: %d", w.Code)
	}
}

func FuzzCursor(f *testing.F) {
	f.Add(encodeCursor(cursor{added: time.Now(), id: "indicator--x"}))
	f.Add("")
	f.Add("!!!")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := decodeCursor(s)
		if err == nil && len(c.id) > 512 {
			t.Fatal("unbounded id")
		}
	})
}
