package httpapi

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

func TestReadRequest(t *testing.T) {
	raw := "POST /v1.43/containers/create?name=x HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhelloGET / HTTP/1.0\r\n\r\n"
	br := bufio.NewReader(strings.NewReader(raw))
	r, err := ReadRequest(br, DefaultLimits)
	if err != nil || r.Method != "POST" || r.Path != "/v1.43/containers/create" || r.Query().Get("name") != "x" || string(r.Body) != "hello" || !r.KeepAlive() {
		t.Fatalf("%+v %v", r, err)
	}
	r, err = ReadRequest(br, DefaultLimits)
	if err != nil || r.Minor != 0 || r.KeepAlive() {
		t.Fatalf("%+v %v", r, err)
	}
	if _, err := ReadRequest(br, DefaultLimits); err != io.EOF {
		t.Fatalf("end: %v", err)
	}
	chunked := "PUT /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
	r, err = ReadRequest(bufio.NewReader(strings.NewReader(chunked)), DefaultLimits)
	if err != nil || string(r.Body) != "abcde" {
		t.Fatalf("chunked %+v %v", r, err)
	}
	var he *Error
	if _, err := ReadRequest(bufio.NewReader(strings.NewReader("GET / HTTP/2.0\r\n\r\n")), DefaultLimits); !errors.As(err, &he) || he.Status != 505 {
		t.Fatalf("HTTP/2: %v", err)
	}
}

func TestGoFraming(t *testing.T) {
	req := &Request{Method: "GET", Major: 1, Minor: 1}
	var b bytes.Buffer
	now := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	if _, err := (Go{Status: 200, Header: []Header{{"Server", "Docker/24.0.5 (linux)"}, {"Api-Version", "1.43"}}, Body: []byte("OK"), Now: now}).Write(&b, req); err != nil {
		t.Fatal(err)
	}
	want := "HTTP/1.1 200 OK\r\nApi-Version: 1.43\r\nServer: Docker/24.0.5 (linux)\r\nDate: Tue, 02 Jan 2024 03:04:05 GMT\r\nContent-Length: 2\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nOK"
	if b.String() != want {
		t.Fatalf("got %q\nwant %q", b.String(), want)
	}
	b.Reset()
	big := bytes.Repeat([]byte("x"), 3000)
	Go{Status: 200, Header: []Header{{"Content-Type", "application/json"}}, Body: big, Now: now}.Write(&b, req)
	if !strings.Contains(b.String(), "Transfer-Encoding: chunked\r\n\r\nbb8\r\n") {
		t.Fatalf("no chunking: %q", b.String()[:200])
	}
}

func TestJackson(t *testing.T) {
	got := string(Jackson(Compact(O("a", 1, "b", O(), "c", []any{}, "d", []any{O("x", JFloat(1))}))))
	want := "{\n  \"a\" : 1,\n  \"b\" : { },\n  \"c\" : [ ],\n  \"d\" : [\n    {\n      \"x\" : 1.0\n    }\n  ]\n}"
	if got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}

func FuzzReadRequest(f *testing.F) {
	for _, s := range []string{
		"GET / HTTP/1.0\r\n\r\n",
		"POST /_search HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}",
		"PUT /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
		"GET /x HTTP/1.1\r\nBad Header\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	lim := Limits{Line: 256, HeaderBytes: 1024, Headers: 20, Body: 512, Discard: 4096}
	f.Fuzz(func(t *testing.T, data []byte) {
		br := bufio.NewReader(bytes.NewReader(data))
		for range 50 {
			r, err := ReadRequest(br, lim)
			if err != nil {
				return
			}
			if int64(len(r.Body)) > lim.Body || len(r.Headers) > lim.Headers {
				t.Fatalf("unbounded: %d body, %d headers", len(r.Body), len(r.Headers))
			}
			_ = r.Query()
			_ = r.UnescapedPath()
			_ = r.KeepAlive()
		}
	})
}

func FuzzParseJSON(f *testing.F) {
	for _, s := range []string{`{"a":[1,2,{"b":null}],"c":"d"}`, `[[[[[]]]]]`, `{"a":1}x`, `"s"`, `1.5e3`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := Parse(data)
		if err != nil {
			return
		}
		out := Compact(v)
		if _, err := Parse(out); err != nil {
			t.Fatalf("re-encoding %q gave invalid %q: %v", data, out, err)
		}
		_ = Jackson(out)
	})
}
