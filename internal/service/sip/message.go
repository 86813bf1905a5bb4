package sip

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strconv"
	"strings"
)

// Bounds of one message.
const (
	maxHeaderBytes = 16 << 10
	maxHeaders     = 96
	maxBody        = 16 << 10
)

var errMalformed = errors.New("malformed SIP message")

// header is one header line, its name in canonical long form.
type header struct{ name, value string }

// request is a parsed SIP request.
type request struct {
	method, uri, version string
	headers              []header
	body                 []byte
}

// compact maps RFC 3261 compact header names to their long form.
var compact = map[string]string{"v": "Via", "f": "From", "t": "To", "i": "Call-ID", "m": "Contact", "l": "Content-Length",
	"c": "Content-Type", "k": "Supported", "s": "Subject", "e": "Content-Encoding", "o": "Event"}

// canonical writes a header name as SIP implementations print it.
func canonical(name string) string {
	if long, ok := compact[strings.ToLower(name)]; ok {
		return long
	}
	switch strings.ToLower(name) {
	case "call-id":
		return "Call-ID"
	case "cseq":
		return "CSeq"
	case "www-authenticate":
		return "WWW-Authenticate"
	}
	parts := strings.Split(strings.ToLower(name), "-")
	for i, p := range parts {
		if p != "" {
			parts[i] = strings.ToUpper(p[:1]) + p[1:]
		}
	}
	return strings.Join(parts, "-")
}

// get returns the first value of a header.
func (r *request) get(name string) string {
	for _, h := range r.headers {
		if h.name == name {
			return h.value
		}
	}
	return ""
}

// all returns every value of a header, comma-joined values split.
func (r *request) all(name string) []string {
	var out []string
	for _, h := range r.headers {
		if h.name == name {
			out = append(out, splitComma(h.value)...)
		}
	}
	return out
}

// splitComma splits a header value at commas outside quotes and <>.
func splitComma(v string) []string {
	var out []string
	depth, quoted, start := 0, false, 0
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '"':
			quoted = !quoted
		case quoted:
		case c == '<':
			depth++
		case c == '>':
			depth--
		case c == ',' && depth == 0:
			out = append(out, strings.TrimSpace(v[start:i]))
			start = i + 1
		}
	}
	return append(out, strings.TrimSpace(v[start:]))
}

// parseRequest reads one request from a datagram or a stream. A response
// or anything not SIP is errMalformed.
func parseRequest(r *bufio.Reader, stream bool) (*request, error) {
	var head bytes.Buffer
	// Keep-alive CRLFs between messages are skipped, as RFC 5626 asks.
	for {
		b, err := r.Peek(1)
		if err != nil {
			return nil, err
		}
		if b[0] != '\r' && b[0] != '\n' {
			break
		}
		r.ReadByte()
	}
	req := &request{}
	first := true
	for {
		line, err := readLine(r, maxHeaderBytes-head.Len())
		if err != nil {
			if err == io.EOF && !stream && !first {
				break // a datagram may end without the blank line
			}
			return nil, err
		}
		head.WriteString(line)
		if line == "" {
			break
		}
		if first {
			first = false
			f := strings.Fields(line)
			if len(f) != 3 || !strings.HasPrefix(f[2], "SIP/") || strings.HasPrefix(f[0], "SIP/") {
				return nil, errMalformed
			}
			req.method, req.uri, req.version = f[0], f[1], f[2]
			continue
		}
		if len(req.headers) >= maxHeaders {
			return nil, errMalformed
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok || strings.TrimSpace(name) == "" {
			continue // a line that is not a header: real stacks skip it
		}
		req.headers = append(req.headers, header{canonical(strings.TrimSpace(name)), strings.TrimSpace(value)})
	}
	n := 0
	if cl := req.get("Content-Length"); cl != "" {
		v, err := strconv.Atoi(cl)
		if err != nil || v < 0 || v > maxBody {
			return nil, errMalformed
		}
		n = v
	} else if !stream {
		n = min(r.Buffered(), maxBody) // a datagram's body runs to its end
	}
	req.body = make([]byte, n)
	if _, err := io.ReadFull(r, req.body); err != nil {
		if !stream {
			return req, nil // a short datagram body is still a request
		}
		return nil, err
	}
	return req, nil
}

// readLine reads a CRLF- or LF-terminated line of at most limit bytes.
func readLine(r *bufio.Reader, limit int) (string, error) {
	var b []byte
	for {
		chunk, err := r.ReadSlice('\n')
		b = append(b, chunk...)
		if len(b) > limit {
			return "", errMalformed
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			if len(b) > 0 && err == io.EOF {
				return strings.TrimRight(string(b), "\r\n"), nil
			}
			return "", err
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	}
}

// uriUser returns the user part of a SIP URI or a name-addr.
func uriUser(v string) string {
	if i := strings.IndexByte(v, '<'); i >= 0 {
		v = v[i+1:]
		if j := strings.IndexByte(v, '>'); j >= 0 {
			v = v[:j]
		}
	}
	_, rest, ok := strings.Cut(v, ":")
	if !ok {
		return ""
	}
	user, _, ok := strings.Cut(rest, "@")
	if !ok {
		return ""
	}
	user, _, _ = strings.Cut(user, ";")
	return user
}

// displayName returns the quoted or bare display name of a name-addr.
func displayName(v string) string {
	i := strings.IndexByte(v, '<')
	if i <= 0 {
		return ""
	}
	return strings.Trim(strings.TrimSpace(v[:i]), `"`)
}

// params parses a Digest credential's comma-separated name=value list.
func params(v string) map[string]string {
	out := map[string]string{}
	for _, p := range splitComma(v) {
		k, val, ok := strings.Cut(p, "=")
		if !ok {
			continue
		}
		out[strings.ToLower(strings.TrimSpace(k))] = strings.Trim(strings.TrimSpace(val), `"`)
	}
	return out
}
