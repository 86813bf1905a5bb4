package misp_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/decnet/decnet/internal/intel/attack"
	"github.com/decnet/decnet/internal/intel/misp"
	"github.com/decnet/decnet/internal/intel/misp/misptest"
	"github.com/decnet/decnet/internal/intel/report"
	"github.com/decnet/decnet/internal/store"
)

var t0 = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

func sample() *report.Report {
	s := &report.Source{IP: "203.0.113.5", FirstSeen: t0, LastSeen: t0.Add(time.Hour), Events: 9, Deckies: []string{"gw-01"},
		Intel:       &store.AttackerIntel{ASN: 64500, ASOrg: "Example"},
		Files:       []report.File{{SHA256: strings.Repeat("cd", 32), Name: "/tmp/.x", Size: 100, Type: "ssh.file.upload", Time: t0}},
		URLs:        []report.Seen{{Value: "http://198.51.100.77/k.sh", Time: t0}},
		SSHKeys:     []report.Seen{{Value: "SHA256:m7RBOA16SMwdKTNBPpRr7CeSSeuKgivS1KGa8XdnBmg", Time: t0}},
		Credentials: []report.Credential{{Principal: "root", Secret: "toor", Service: "ssh", Decky: "gw-01", Accepted: true, Time: t0}},
		Connections: []*report.Connection{{Decky: "gw-01", DstIP: "10.0.0.3", DstPort: 22, Transport: "tcp", Service: "ssh", Count: 9, First: t0, Last: t0}}}
	rules, _ := attack.Load()
	techs := map[string]attack.Technique{}
	var counts []store.TechniqueCount
	for id, tdef := range rules.File().Techniques {
		techs[id] = tdef
		counts = append(counts, store.TechniqueCount{ID: id, Events: 1, FirstSeen: t0, LastSeen: t0})
	}
	return &report.Report{Generated: t0.Add(2 * time.Hour), Scope: report.Scope{Attacker: s.IP},
		Actors: []*report.Actor{{Sources: []*report.Source{s}, Techniques: counts, FirstSeen: t0, LastSeen: t0.Add(time.Hour)}}, Techniques: techs}
}

// TestEventValidates: every technique of the rules as a galaxy tag, every
// kind of attribute and object, checked against MISP's schema, types and
// templates.
func TestEventValidates(t *testing.T) {
	d := misp.Build(sample())
	raw, _ := json.Marshal(d)
	if err := misptest.Validate(raw); err != nil {
		t.Fatalf("%v\n%s", err, raw)
	}
	if len(d.Event.Object) != 3 || len(d.Event.Attribute) != 4 {
		t.Fatalf("%d objects, %d attributes", len(d.Event.Object), len(d.Event.Attribute))
	}
	again, _ := json.Marshal(misp.Build(sample()))
	if string(again) != string(raw) {
		t.Fatal("the same report gave another event")
	}
	// The validator refuses a type outside its category, and an object
	// relation the template lacks.
	bad := misp.Build(sample())
	bad.Event.Attribute[0].Category = "Financial fraud"
	if b, _ := json.Marshal(bad); misptest.Validate(b) == nil {
		t.Error("ip-src in Financial fraud validated")
	}
	bad = misp.Build(sample())
	bad.Event.Object[0].Attribute[0].ObjectRelation = "colour"
	if b, _ := json.Marshal(bad); misptest.Validate(b) == nil {
		t.Error("an unknown object relation validated")
	}
}

// recorder is a stand-in MISP that checks what a real one requires.
type recorder struct {
	mu     sync.Mutex
	calls  []string
	bodies [][]byte
	known  map[string]bool
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	b, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, req.Method+" "+req.URL.Path)
	r.bodies = append(r.bodies, b)
	if req.Header.Get("Authorization") != "k3y-0123456789abcdef0123456789abcdef01234" || req.Header.Get("Accept") != "application/json" ||
		req.Header.Get("Content-Type") != "application/json" {
		w.WriteHeader(http.StatusForbidden)
		io.WriteString(w, `{"name":"Authentication failed."}`)
		return
	}
	var d struct {
		Event struct {
			UUID string `json:"uuid"`
		} `json:"Event"`
	}
	if req.Method != http.MethodPost || json.Unmarshal(b, &d) != nil || misptest.Validate(b) != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	switch {
	case req.URL.Path == "/misp/events/add" && r.known[d.Event.UUID]:
		w.WriteHeader(http.StatusForbidden)
		io.WriteString(w, `{"name":"Event already exists","message":"Event already exists"}`)
	case req.URL.Path == "/misp/events/add", req.URL.Path == "/misp/events/edit/"+d.Event.UUID:
		r.known[d.Event.UUID] = true
		io.WriteString(w, `{"Event":{"id":"17","uuid":"`+d.Event.UUID+`"}}`)
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

func TestPush(t *testing.T) {
	rec := &recorder{known: map[string]bool{}}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	p := &misp.Pusher{URL: srv.URL + "/misp/", Key: "k3y-0123456789abcdef0123456789abcdef01234"}
	d := misp.Build(sample())
	res, err := p.Push(context.Background(), d)
	if err != nil || res.UUID != d.Event.UUID || res.ID != "17" {
		t.Fatalf("push: %+v %v", res, err)
	}
	// Again: MISP refuses the add, the event is edited.
	if _, err := p.Push(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	want := []string{"POST /misp/events/add", "POST /misp/events/add", "POST /misp/events/edit/" + d.Event.UUID}
	if strings.Join(rec.calls, "|") != strings.Join(want, "|") {
		t.Fatalf("calls %v, want %v", rec.calls, want)
	}
	p.Key = "wrong"
	if _, err := p.Push(context.Background(), d); err == nil || !strings.Contains(err.Error(), "403") {
		t.Fatalf("a wrong key: %v", err)
	}
}

// TestGalaxyNames: every technique of the rules has its galaxy cluster.
func TestGalaxyNames(t *testing.T) {
	vals, err := misptest.GalaxyValues()
	if err != nil {
		t.Fatal(err)
	}
	rules, _ := attack.Load()
	for id, tdef := range rules.File().Techniques {
		want := `misp-galaxy:mitre-attack-pattern="` + vals[id] + `"`
		if got := misp.GalaxyTag(id, tdef.Name); got != want {
			t.Errorf("%s: %s, want %s", id, got, want)
		}
	}
}
