package httpapi

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
)

// Limits bound one request.
type Limits struct {
	Line        int   // request line
	HeaderBytes int   // all header lines together
	Headers     int   // number of header lines
	Body        int64 // body bytes kept; the rest is read and discarded
	Discard     int64 // body bytes beyond Body read and dropped before giving up
}

// DefaultLimits suit a JSON API: 8 KiB request line, 32 KiB of headers,
// 1 MiB kept of a body, 16 MiB discarded at most.
var DefaultLimits = Limits{Line: 8 << 10, HeaderBytes: 32 << 10, Headers: 100, Body: 1 << 20, Discard: 16 << 20}

// Header is one header as it arrived.
type Header struct{ Name, Value string }

// Request is one parsed request.
type Request struct {
	Method, Target, Proto string
	Major, Minor          int
	Path                  string // the target's path, still escaped
	RawQuery              string
	Headers               []Header
	Body                  []byte
	BodySize              int64 // bytes the client sent
	BodyTruncated         bool
}

// Get returns the first header called name, case-insensitively.
func (r *Request) Get(name string) string {
	for _, h := range r.Headers {
		if strings.EqualFold(h.Name, name) {
			return h.Value
		}
	}
	return ""
}

// Query parses the query string leniently (bad pairs are dropped).
func (r *Request) Query() url.Values {
	v, _ := url.ParseQuery(r.RawQuery)
	if v == nil {
		v = url.Values{}
	}
	return v
}

// UnescapedPath is the path with %-escapes decoded (the escaped path when
// it does not decode).
func (r *Request) UnescapedPath() string {
	if p, err := url.PathUnescape(r.Path); err == nil {
		return p
	}
	return r.Path
}

// KeepAlive says whether the connection stays open after the answer:
// HTTP/1.1 unless "Connection: close", HTTP/1.0 only with keep-alive.
func (r *Request) KeepAlive() bool {
	c := strings.ToLower(r.Get("Connection"))
	if r.Major == 1 && r.Minor >= 1 {
		return !hasToken(c, "close")
	}
	return hasToken(c, "keep-alive")
}

func hasToken(list, tok string) bool {
	for _, p := range strings.Split(list, ",") {
		if strings.TrimSpace(p) == tok {
			return true
		}
	}
	return false
}

// Error is a request the server refuses: Status is what a server answers
// (400, 413, 414, 431, 505), Reason a short explanation.
type Error struct {
	Status int
	Reason string
}

func (e *Error) Error() string { return fmt.Sprintf("%d %s", e.Status, e.Reason) }

func bad(reason string) error { return &Error{Status: 400, Reason: reason} }

// readLine reads one LF- or CRLF-terminated line of at most max bytes.
func readLine(r *bufio.Reader, max int, tooLong int) (string, error) {
	var line []byte
	for {
		chunk, err := r.ReadSlice('\n')
		line = append(line, chunk...)
		if len(line) > max {
			return "", &Error{Status: tooLong, Reason: "line too long"}
		}
		if err == nil {
			break
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			if len(line) > 0 && errors.Is(err, io.EOF) {
				return "", io.ErrUnexpectedEOF
			}
			return "", err
		}
	}
	line = bytes.TrimSuffix(line, []byte("\n"))
	line = bytes.TrimSuffix(line, []byte("\r"))
	return string(line), nil
}

func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= 32 || c >= 127 || strings.IndexByte("()<>@,;:\\\"/[]?={}", c) >= 0 {
			return false
		}
	}
	return true
}

// ReadRequest reads one HTTP/1.x request within the limits. io.EOF means
// the client closed between requests; an *Error a request to refuse.
func ReadRequest(r *bufio.Reader, lim Limits) (*Request, error) {
	var line string
	var err error
	for i := 0; ; i++ { // leading blank lines are skipped, as servers do
		if line, err = readLine(r, lim.Line, 414); err != nil {
			return nil, err
		}
		if line != "" || i > 8 {
			break
		}
	}
	parts := strings.Split(line, " ")
	if len(parts) != 3 || !isToken(parts[0]) || parts[1] == "" {
		return nil, bad("malformed request line")
	}
	req := &Request{Method: parts[0], Target: parts[1], Proto: parts[2]}
	if !strings.HasPrefix(req.Proto, "HTTP/") || len(req.Proto) > 16 {
		return nil, bad("malformed HTTP version")
	}
	maj, min, ok := strings.Cut(req.Proto[5:], ".")
	if !ok {
		return nil, bad("malformed HTTP version")
	}
	if req.Major, err = strconv.Atoi(maj); err != nil || req.Major < 0 || req.Major > 9 {
		return nil, bad("malformed HTTP version")
	}
	if req.Minor, err = strconv.Atoi(min); err != nil || req.Minor < 0 || req.Minor > 99 {
		return nil, bad("malformed HTTP version")
	}
	if req.Major != 1 {
		return nil, &Error{Status: 505, Reason: "unsupported protocol version"}
	}
	req.Path, req.RawQuery, _ = strings.Cut(req.Target, "?")
	if strings.HasPrefix(req.Path, "http://") || strings.HasPrefix(req.Path, "https://") {
		if u, err := url.Parse(req.Path); err == nil {
			req.Path = u.EscapedPath()
		}
	}
	total := 0
	for {
		h, err := readLine(r, lim.HeaderBytes, 431)
		if err != nil {
			return nil, err
		}
		if h == "" {
			break
		}
		total += len(h)
		if total > lim.HeaderBytes || len(req.Headers) >= lim.Headers {
			return nil, &Error{Status: 431, Reason: "request header fields too large"}
		}
		name, value, ok := strings.Cut(h, ":")
		if !ok || !isToken(name) {
			return nil, bad("malformed MIME header line")
		}
		req.Headers = append(req.Headers, Header{Name: name, Value: strings.TrimSpace(value)})
	}
	if err := readBody(r, req, lim); err != nil {
		return nil, err
	}
	return req, nil
}

func readBody(r *bufio.Reader, req *Request, lim Limits) error {
	te := strings.ToLower(req.Get("Transfer-Encoding"))
	cl := req.Get("Content-Length")
	switch {
	case te != "" && te != "identity":
		if te != "chunked" {
			return &Error{Status: 501, Reason: "unsupported transfer encoding"}
		}
		return readChunked(r, req, lim)
	case cl != "":
		n, err := strconv.ParseInt(cl, 10, 64)
		if err != nil || n < 0 {
			return bad("bad Content-Length")
		}
		if n > lim.Body+lim.Discard {
			return &Error{Status: 413, Reason: "request body too large"}
		}
		var buf bytes.Buffer
		if _, err := io.CopyN(&buf, r, min(n, lim.Body)); err != nil {
			return io.ErrUnexpectedEOF
		}
		if n > lim.Body {
			if _, err := io.CopyN(io.Discard, r, n-lim.Body); err != nil {
				return io.ErrUnexpectedEOF
			}
			req.BodyTruncated = true
		}
		req.Body, req.BodySize = buf.Bytes(), n
	}
	return nil
}

func readChunked(r *bufio.Reader, req *Request, lim Limits) error {
	var buf bytes.Buffer
	var size int64
	for {
		line, err := readLine(r, 1024, 400)
		if err != nil {
			return bad("malformed chunked encoding")
		}
		hexLen, _, _ := strings.Cut(line, ";")
		n, err := strconv.ParseInt(strings.TrimSpace(hexLen), 16, 64)
		if err != nil || n < 0 {
			return bad("malformed chunked encoding")
		}
		if n == 0 {
			break
		}
		if size+n > lim.Body+lim.Discard {
			return &Error{Status: 413, Reason: "request body too large"}
		}
		room := max(0, lim.Body-int64(buf.Len()))
		if _, err := io.CopyN(&buf, r, min(n, room)); err != nil {
			return io.ErrUnexpectedEOF
		}
		if n > room {
			if _, err := io.CopyN(io.Discard, r, n-room); err != nil {
				return io.ErrUnexpectedEOF
			}
			req.BodyTruncated = true
		}
		size += n
		if crlf, err := readLine(r, 2, 400); err != nil || crlf != "" {
			return bad("malformed chunked encoding")
		}
	}
	for i := 0; ; i++ { // trailers
		line, err := readLine(r, lim.HeaderBytes, 431)
		if err != nil || i > lim.Headers {
			return bad("malformed trailer")
		}
		if line == "" {
			break
		}
	}
	req.Body, req.BodySize = buf.Bytes(), size
	return nil
}
