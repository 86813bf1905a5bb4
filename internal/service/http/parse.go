package http

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Request parsing limits, close to nginx's defaults.
const (
	maxRequestLine = 8 << 10
	maxHeaderBytes = 32 << 10
	maxHeaders     = 100
	maxBody        = 1 << 20
	// nginxHeaderLine is the longest header line nginx's
	// large_client_header_buffers (4 8k) hold with its CRLF.
	nginxHeaderLine = 8<<10 - 2
)

// Header is one header as it arrived: name with its original casing.
type Header struct{ Name, Value string }

// Request is one parsed request. Headers keep their order and casing,
// which fingerprints the client.
type Request struct {
	Method, Target, Proto string
	Path, Query           string
	Headers               []Header
	Body                  []byte
	BodyTruncated         bool
	BodySize              int64
}

// Get returns the first header with the name, case-insensitively.
func (r *Request) Get(name string) string {
	for _, h := range r.Headers {
		if strings.EqualFold(h.Name, name) {
			return h.Value
		}
	}
	return ""
}

// errBadRequest is a malformed request; the server answers 400 and closes.
var errBadRequest = errors.New("bad request")

// errTooLarge is a request the server refuses with a status (413, 414,
// 431, 505) and closes.
type errTooLarge struct{ status int }

func (e errTooLarge) Error() string { return fmt.Sprintf("request too large (%d)", e.status) }

// readLine reads one CRLF- or LF-terminated line of at most max bytes.
func readLine(r *bufio.Reader, max int) (string, error) {
	var line []byte
	for {
		chunk, err := r.ReadSlice('\n')
		line = append(line, chunk...)
		if len(line) > max {
			return "", errTooLarge{414}
		}
		if err == nil {
			break
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			if len(line) > 0 && errors.Is(err, io.EOF) {
				return "", errBadRequest
			}
			return "", err
		}
	}
	return strings.TrimRight(string(line), "\r\n"), nil
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

// ReadRequest parses one HTTP/1.x request, bounding every part. The body
// is read in full (up to maxBody; the rest is discarded and counted) so the
// connection stays in step for keep-alive.
func ReadRequest(r *bufio.Reader) (*Request, error) { return readRequest(r, false) }

// readRequest is ReadRequest; with nginxRules the request line is judged
// as nginx's parser judges it: a byte that cannot start or continue a
// method is refused as soon as it arrives (binary junk gets its 400 at
// once), runs of spaces between the parts are allowed, control characters
// in the target, dot segments above the root and transfer codings other
// than chunked are refused.
func readRequest(r *bufio.Reader, nginxRules bool) (*Request, error) {
	if nginxRules {
		if err := nginxMethodCheck(r); err != nil {
			return nil, err
		}
	}
	var line string
	var err error
	// Like real servers, skip empty lines before a request line.
	for i := 0; ; i++ {
		if line, err = readLine(r, maxRequestLine); err != nil {
			return nil, err
		}
		if line != "" || i > 8 {
			break
		}
	}
	parts := strings.Split(line, " ")
	if nginxRules {
		parts = strings.Fields(line)
		if len(parts) != 3 || strings.ContainsFunc(line, func(c rune) bool { return c < 0x20 || c == 0x7f }) ||
			!strings.HasPrefix(parts[1], "/") && !strings.Contains(parts[1], "://") || climbsAboveRoot(parts[1]) {
			return nil, errBadRequest
		}
	}
	if len(parts) != 3 || !isToken(parts[0]) || parts[1] == "" {
		return nil, errBadRequest
	}
	req := &Request{Method: parts[0], Target: parts[1], Proto: parts[2]}
	var major, minor int
	if n, err := fmt.Sscanf(req.Proto, "HTTP/%d.%d", &major, &minor); n != 2 || err != nil || len(req.Proto) > 12 || major < 1 {
		return nil, errBadRequest
	}
	if major > 1 {
		return nil, errTooLarge{505} // the status the caller sends, as nginx does
	}
	if minor > 0 {
		req.Proto = "HTTP/1.1"
	}
	req.Path, req.Query, _ = strings.Cut(req.Target, "?")
	total := 0
	for {
		limit := maxHeaderBytes
		if nginxRules {
			limit = nginxHeaderLine
		}
		h, err := readLine(r, limit)
		if err != nil {
			var tl errTooLarge
			if errors.As(err, &tl) {
				return nil, errTooLarge{431}
			}
			return nil, err
		}
		if h == "" {
			break
		}
		total += len(h)
		if total > maxHeaderBytes || len(req.Headers) >= maxHeaders {
			return nil, errTooLarge{431}
		}
		name, value, ok := strings.Cut(h, ":")
		if !ok || !isToken(name) {
			return nil, errBadRequest
		}
		req.Headers = append(req.Headers, Header{Name: name, Value: strings.TrimSpace(value)})
	}
	if req.Proto == "HTTP/1.1" && req.Get("Host") == "" {
		return nil, errBadRequest
	}
	if te := strings.ToLower(req.Get("Transfer-Encoding")); nginxRules && te != "" && te != "chunked" {
		return nil, errTooLarge{501} // nginx: unknown "Transfer-Encoding"
	}
	if err := readBody(r, req); err != nil {
		return nil, err
	}
	return req, nil
}

// nginxMethodCheck reads as far as the end of the method, as nginx's
// parser does byte by byte: CR and LF may come first, then only A-Z, '_'
// and '-' until a space; any other byte is a bad request at once, without
// waiting for the end of the line.
func nginxMethodCheck(r *bufio.Reader) error {
	started := false
	for i := 0; i < 4000; i++ {
		b, err := r.Peek(i + 1)
		if err != nil {
			if errors.Is(err, bufio.ErrBufferFull) {
				return nil
			}
			if errors.Is(err, io.EOF) && i > 0 {
				return nil // the line reader reports the truncation
			}
			return err
		}
		switch c := b[i]; {
		case !started && (c == '\r' || c == '\n'):
		case c >= 'A' && c <= 'Z' || c == '_' || c == '-':
			started = true
		case c == ' ' && started:
			return nil
		default:
			return errBadRequest
		}
	}
	return nil
}

// climbsAboveRoot reports whether a target's path, percent-decoded, has
// more ".." segments than directories above them (nginx refuses it).
func climbsAboveRoot(target string) bool {
	path, _, _ := strings.Cut(target, "?")
	if i := strings.Index(path, "://"); i >= 0 {
		rest := path[i+3:]
		j := strings.IndexByte(rest, '/')
		if j < 0 {
			return false
		}
		path = rest[j:]
	}
	var dec strings.Builder
	for i := 0; i < len(path); i++ {
		if path[i] == '%' && i+2 < len(path) {
			if v, err := strconv.ParseUint(path[i+1:i+3], 16, 8); err == nil {
				dec.WriteByte(byte(v))
				i += 2
				continue
			}
		}
		dec.WriteByte(path[i])
	}
	depth := 0
	for _, seg := range strings.Split(dec.String(), "/") {
		switch seg {
		case "", ".":
		case "..":
			if depth--; depth < 0 {
				return true
			}
		default:
			depth++
		}
	}
	return false
}

func readBody(r *bufio.Reader, req *Request) error {
	te := strings.ToLower(req.Get("Transfer-Encoding"))
	cl := req.Get("Content-Length")
	switch {
	case te != "" && te != "identity":
		if te != "chunked" {
			return errBadRequest
		}
		return readChunked(r, req)
	case cl != "":
		n, err := strconv.ParseInt(cl, 10, 64)
		if err != nil || n < 0 {
			return errBadRequest
		}
		return keepBody(io.LimitReader(r, n), req, n)
	}
	return nil
}

// keepBody keeps the first maxBody bytes and discards the rest.
func keepBody(src io.Reader, req *Request, want int64) error {
	var buf bytes.Buffer
	n, err := io.Copy(&buf, io.LimitReader(src, maxBody))
	if err != nil {
		return err
	}
	extra, err := io.Copy(io.Discard, src)
	if err != nil {
		return err
	}
	req.Body, req.BodySize = buf.Bytes(), n+extra
	req.BodyTruncated = extra > 0
	if want >= 0 && req.BodySize != want {
		return io.ErrUnexpectedEOF
	}
	return nil
}

func readChunked(r *bufio.Reader, req *Request) error {
	var buf bytes.Buffer
	var size int64
	for {
		line, err := readLine(r, 1024)
		if err != nil {
			return errBadRequest
		}
		hexLen, _, _ := strings.Cut(line, ";")
		n, err := strconv.ParseInt(strings.TrimSpace(hexLen), 16, 64)
		if err != nil || n < 0 || n > 1<<40 {
			return errBadRequest
		}
		if n == 0 {
			break
		}
		room := max(0, maxBody-int64(buf.Len()))
		if _, err := io.Copy(&buf, io.LimitReader(r, min(n, room))); err != nil {
			return err
		}
		if n > room {
			if _, err := io.CopyN(io.Discard, r, n-room); err != nil {
				return err
			}
			req.BodyTruncated = true
		}
		size += n
		if crlf, err := readLine(r, 2); err != nil || crlf != "" {
			return errBadRequest
		}
	}
	// Trailers, bounded like headers.
	for i := 0; ; i++ {
		line, err := readLine(r, maxHeaderBytes)
		if err != nil || i > maxHeaders {
			return errBadRequest
		}
		if line == "" {
			break
		}
	}
	req.Body, req.BodySize = buf.Bytes(), size
	return nil
}
