package api

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestReadCacheKeepsOKAnswersOnly(t *testing.T) {
	c := newReadCache(time.Hour, nil)
	var calls atomic.Int32
	status := http.StatusOK
	answer := func(w http.ResponseWriter, r *http.Request) error {
		calls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(`{"n":1}`))
		if status != http.StatusOK {
			return errors.New("failed")
		}
		return nil
	}
	get := func(url string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		c.serve(w, httptest.NewRequest("GET", url, nil), answer)
		return w
	}
	for range 3 {
		if w := get("/api/v1/events?limit=1"); w.Code != 200 || w.Body.String() != `{"n":1}` || w.Header().Get("Content-Type") != "application/json" {
			t.Fatalf("answer %d %q %v", w.Code, w.Body, w.Header())
		}
	}
	if n := calls.Load(); n != 1 {
		t.Fatalf("computed %d times, want once", n)
	}
	get("/api/v1/events?limit=2") // another URL: its own answer
	if n := calls.Load(); n != 2 {
		t.Fatalf("computed %d times, want 2", n)
	}
	status = http.StatusInternalServerError
	get("/api/v1/events?limit=3")
	get("/api/v1/events?limit=3")
	if n := calls.Load(); n != 4 {
		t.Fatalf("an error answer was kept: computed %d times, want 4", n)
	}
}

func TestReadCacheConcurrentCallersComputeOnce(t *testing.T) {
	c := newReadCache(time.Hour, nil)
	var calls atomic.Int32
	release := make(chan struct{})
	answer := func(w http.ResponseWriter, r *http.Request) error {
		calls.Add(1)
		<-release
		_, _ = w.Write([]byte("x"))
		return nil
	}
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := httptest.NewRecorder()
			c.serve(w, httptest.NewRequest("GET", "/api/v1/attackers", nil), answer)
			if w.Body.String() != "x" {
				t.Errorf("body %q", w.Body)
			}
		}()
	}
	for calls.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	if n := calls.Load(); n != 1 {
		t.Fatalf("computed %d times for 20 concurrent callers, want once", n)
	}
}

func TestReadCacheServesStaleWhileRefreshing(t *testing.T) {
	c := newReadCache(time.Nanosecond, nil)
	var calls atomic.Int32
	answer := func(w http.ResponseWriter, r *http.Request) error {
		n := calls.Add(1)
		_, _ = w.Write([]byte{byte('0' + n)})
		return nil
	}
	get := func() string {
		w := httptest.NewRecorder()
		c.serve(w, httptest.NewRequest("GET", "/api/v1/credentials", nil), answer)
		return w.Body.String()
	}
	if b := get(); b != "1" {
		t.Fatalf("first answer %q", b)
	}
	// Stale at once: the old answer comes back while a refresh runs, and
	// the refreshed one replaces it.
	if b := get(); b != "1" {
		t.Fatalf("stale answer %q, want the first", b)
	}
	for get() == "1" {
		time.Sleep(time.Millisecond)
	}
}

func TestAuthCacheForgetsOnClearAndExpiry(t *testing.T) {
	c := newAuthCache(time.Hour)
	p := &Principal{UserID: 7, Name: "x"}
	c.put("k", p, time.Time{})
	if got := c.get("k"); got == nil || got.UserID != 7 || got == p {
		t.Fatalf("got %+v, want a copy of the principal", got)
	}
	c.clear()
	if c.get("k") != nil {
		t.Fatal("kept after clear")
	}
	c.put("s", p, time.Now().Add(-time.Second)) // an expired session
	if c.get("s") != nil {
		t.Fatal("an expired session was kept")
	}
	if off := newAuthCache(0); off.get("k") != nil {
		t.Fatal("a disabled cache answered")
	}
}
