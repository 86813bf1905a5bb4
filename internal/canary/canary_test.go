package canary

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"
)

func query(name string, qtype uint16) []byte {
	b := []byte{0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0}
	w, _ := nameWire(name)
	b = append(b, w...)
	b = binary.BigEndian.AppendUint16(b, qtype)
	return binary.BigEndian.AppendUint16(b, classIN)
}

// TestDNSAnswers covers the zone's answers: a live token's A record,
// NODATA for its other types, NXDOMAIN under the zone, REFUSED outside.
func TestDNSAnswers(t *testing.T) {
	z := &zoneAnswer{zone: "t.example.com", addr: netip.MustParseAddr("192.0.2.10"), serial: 1}
	slug := NewSlug()
	for _, tc := range []struct {
		name   string
		qtype  uint16
		live   bool
		rcode  int
		answer int
	}{
		{slug + ".t.example.com", dnsA, true, rcodeOK, 1},
		{"x.y." + slug + ".T.Example.com", dnsA, true, rcodeOK, 1},
		{slug + ".t.example.com", dnsAAAA, true, rcodeOK, 0},
		{"nope.t.example.com", dnsA, false, rcodeNX, 0},
		{"t.example.com", dnsSOA, false, rcodeOK, 1},
		{"www.example.org", dnsA, false, rcodeRefus, 0},
	} {
		q, err := ParseQuery(query(tc.name, tc.qtype))
		if err != nil {
			t.Fatal(err)
		}
		if tc.live && z.slugOf(q.Name) != slug {
			t.Errorf("%s: slug %q", tc.name, z.slugOf(q.Name))
		}
		out := z.reply(q, tc.live)
		if int(out[3]&0xf) != tc.rcode || int(binary.BigEndian.Uint16(out[6:])) != tc.answer || binary.BigEndian.Uint16(out) != 0x1234 {
			t.Errorf("%s %s: rcode %d answers %d", tc.name, TypeName(tc.qtype), out[3]&0xf, binary.BigEndian.Uint16(out[6:]))
		}
		if tc.answer == 1 && tc.qtype == dnsA && !bytes.HasSuffix(out, []byte{192, 0, 2, 10}) {
			t.Errorf("%s: answer % x", tc.name, out)
		}
	}
}

func FuzzParseQuery(f *testing.F) {
	f.Add(query(NewSlug()+".t.example.com", dnsA))
	f.Add(query("t.example.com", dnsSOA))
	f.Add([]byte{0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1})
	z := &zoneAnswer{zone: "t.example.com", addr: netip.MustParseAddr("192.0.2.10")}
	f.Fuzz(func(t *testing.T, b []byte) {
		q, err := ParseQuery(b)
		if q == nil {
			return
		}
		if err == nil && len(q.Name) > 255 {
			t.Fatalf("name too long: %d", len(q.Name))
		}
		out := z.reply(q, err == nil && IsSlug(z.slugOf(q.Name)))
		if len(out) < 12 || len(out) > maxDNSMsg {
			t.Fatalf("reply of %d bytes", len(out))
		}
	})
}

func FuzzSlugsInPath(f *testing.F) {
	f.Add("/images/" + NewSlug() + "/logo.png")
	f.Add("/docs/" + NewSlug() + ".html?x=1")
	f.Add(strings.Repeat("/aaaaaaaaaaaaaaaa", 100))
	f.Fuzz(func(t *testing.T, p string) {
		s := SlugsInPath(p)
		if len(s) > 8 {
			t.Fatalf("%d slugs", len(s))
		}
		for _, x := range s {
			if !IsSlug(x) {
				t.Fatalf("%q is no slug", x)
			}
		}
	})
}

// TestURLsCarrySlugs: every kind's URL leads back to its slug.
func TestURLsCarrySlugs(t *testing.T) {
	c := Config{BaseURL: "https://files.example.com/cdn", Zone: "t.example.com"}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	slug := NewSlug()
	for _, k := range Kinds {
		u := c.URL(k, slug)
		p := strings.TrimPrefix(u, "https://files.example.com")
		if got := SlugsInPath(p); len(got) != 1 || got[0] != slug {
			t.Errorf("%s: %s gives %v", k, u, got)
		}
	}
	for _, bad := range []Config{{BaseURL: "ftp://x"}, {BaseURL: "http://"}, {BaseURL: "http://x", Zone: "com"}} {
		if bad.Validate() == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

// TestDocuments: every document kind carries its call-home, and the docx
// is a zip Word reads.
func TestDocuments(t *testing.T) {
	const url, host = "http://files.example.com/images/aaaaaaaaaaaaaaaa/logo.png", "aaaaaaaaaaaaaaaa.t.example.com"
	for _, k := range Kinds {
		if !HasDocument(k) {
			continue
		}
		d, err := MakeDocument(k, url, host, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		text := string(d.Data)
		switch k {
		case DOCX:
			z, err := zip.NewReader(bytes.NewReader(d.Data), int64(len(d.Data)))
			if err != nil {
				t.Fatal(err)
			}
			f, _ := z.Open("word/_rels/document.xml.rels")
			b, _ := io.ReadAll(f)
			text = string(b)
		case PDF:
			if !strings.HasPrefix(text, "%PDF-1.7") || !strings.Contains(text, "/OpenAction") {
				t.Errorf("pdf: %.200s", text)
			}
		}
		want := url
		if k == AWSCredentials {
			want = host
		}
		if !strings.Contains(text, want) {
			t.Errorf("%s lacks %s", k, want)
		}
	}
}

// TestHTTPLooksTheSame: a live slug and an unknown one get the same
// answer (status, headers but Date, body), nginx's; only the live one
// fires, with the request's evidence.
func TestHTTPLooksTheSame(t *testing.T) {
	live := NewSlug()
	var mu sync.Mutex
	var hits []Hit
	l := &Listener{Live: func(_ context.Context, s string) bool { return s == live },
		Fire: func(_ context.Context, h Hit) { mu.Lock(); hits = append(hits, h); mu.Unlock() }}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- l.Serve(ctx, ln) }()
	defer func() { cancel(); <-done }()
	get := func(path string) string {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: files\r\nUser-Agent: curl/7.88.1\r\nConnection: close\r\n\r\n")
		b, _ := io.ReadAll(bufio.NewReader(c))
		var out []string
		for _, line := range strings.Split(string(b), "\r\n") {
			if !strings.HasPrefix(line, "Date: ") {
				out = append(out, line)
			}
		}
		return strings.Join(out, "\n")
	}
	for _, p := range []string{"/docs/%s/index.html", "/images/%s/logo.png"} {
		a, b := get(strings.Replace(p, "%s", live, 1)), get(strings.Replace(p, "%s", "bbbbbbbbbbbbbbbb", 1))
		if a != b || !strings.Contains(a, "Server: nginx") {
			t.Fatalf("live and unknown differ:\n%s\n---\n%s", a, b)
		}
	}
	if bad := get("/a b"); !strings.Contains(bad, "400 Bad Request") || !strings.Contains(bad, "<center>nginx</center>") {
		t.Fatalf("bad request answer: %s", bad)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(hits) != 2 || hits[0].Slug != live || hits[0].UserAgent != "curl/7.88.1" || hits[0].Src.Addr().String() != "127.0.0.1" || len(hits[0].Headers) != 3 {
		t.Fatalf("hits %+v", hits)
	}
}
