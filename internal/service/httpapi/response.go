package httpapi

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// StatusText is the standard reason phrase of a status code.
func StatusText(code int) string {
	if t := http.StatusText(code); t != "" {
		return t
	}
	return "status code " + strconv.Itoa(code)
}

// statusLine is "HTTP/1.x code reason" with the request's minor version,
// as Netty and Go both answer.
func statusLine(req *Request, status int) string {
	proto := "HTTP/1.1"
	if req == nil || req.Major == 1 && req.Minor == 0 {
		proto = "HTTP/1.0"
	}
	return proto + " " + strconv.Itoa(status) + " " + StatusText(status) + "\r\n"
}

// WriteRaw writes a response with exactly the given headers in order, then
// the body. The caller adds any length header.
func WriteRaw(w io.Writer, req *Request, status int, headers []Header, body []byte) error {
	var b bytes.Buffer
	b.WriteString(statusLine(req, status))
	for _, h := range headers {
		b.WriteString(h.Name + ": " + clean(h.Value) + "\r\n")
	}
	b.WriteString("\r\n")
	if req == nil || req.Method != "HEAD" {
		b.Write(body)
	}
	_, err := w.Write(b.Bytes())
	return err
}

// clean keeps attacker text echoed in a header on one line.
func clean(s string) string {
	if strings.ContainsAny(s, "\r\n") {
		return strings.NewReplacer("\r", " ", "\n", " ").Replace(s)
	}
	return s
}

// goChunkingSize is net/http's bufferBeforeChunkingSize: a handler's
// output that fits is sent with a Content-Length, more goes chunked.
const goChunkingSize = 2048

// Go is one response as Go's net/http server writes it: the handler's
// headers sorted by canonical name, then Date, Content-Length, a sniffed
// Content-Type, Connection and Transfer-Encoding, each when it applies.
type Go struct {
	Status int
	Header []Header // set by the handler; names canonical
	Body   []byte
	Now    time.Time
}

// goHead builds the status line and headers; length < 0 means unknown
// (chunked on HTTP/1.1, close-delimited on HTTP/1.0).
func goHead(req *Request, status int, hdr []Header, now time.Time, length int, sniff []byte) (head []byte, chunked, keep bool) {
	var b bytes.Buffer
	b.WriteString(statusLine(req, status))
	hs := slices.Clone(hdr)
	slices.SortStableFunc(hs, func(a, b Header) int { return strings.Compare(a.Name, b.Name) })
	hasCT, hasCL := false, false
	for _, h := range hs {
		hasCT = hasCT || h.Name == "Content-Type"
		hasCL = hasCL || h.Name == "Content-Length"
		b.WriteString(h.Name + ": " + clean(h.Value) + "\r\n")
	}
	keep = req != nil && req.KeepAlive()
	noBody := status == 204 || status == 304 || status < 200
	b.WriteString("Date: " + now.UTC().Format(http.TimeFormat) + "\r\n")
	if !noBody && !hasCL && length >= 0 {
		b.WriteString("Content-Length: " + strconv.Itoa(length) + "\r\n")
	}
	if !noBody && !hasCT && len(sniff) > 0 {
		b.WriteString("Content-Type: " + http.DetectContentType(sniff) + "\r\n")
	}
	http11 := req != nil && req.Minor >= 1
	if !noBody && length < 0 && !hasCL && !http11 {
		keep = false
	}
	if req != nil {
		switch {
		case !keep && http11:
			b.WriteString("Connection: close\r\n")
		case keep && !http11:
			b.WriteString("Connection: keep-alive\r\n")
		}
	}
	if !noBody && length < 0 && !hasCL && http11 {
		chunked = true
		b.WriteString("Transfer-Encoding: chunked\r\n")
	}
	b.WriteString("\r\n")
	return b.Bytes(), chunked, keep
}

// Write sends the response; it returns whether the connection stays open.
func (g Go) Write(w io.Writer, req *Request) (bool, error) {
	length := len(g.Body)
	if length > goChunkingSize {
		length = -1
	}
	head, chunked, keep := goHead(req, g.Status, g.Header, g.Now, length, g.Body)
	var b bytes.Buffer
	b.Write(head)
	if req == nil || req.Method != "HEAD" {
		if chunked {
			b.WriteString(strconv.FormatInt(int64(len(g.Body)), 16) + "\r\n")
			b.Write(g.Body)
			b.WriteString("\r\n0\r\n\r\n")
		} else {
			b.Write(g.Body)
		}
	}
	_, err := w.Write(b.Bytes())
	return keep, err
}

// Stream is a Go response whose body is written as it comes (flushed
// after each Write), as a handler that calls Flush does.
type Stream struct {
	bw      *bufio.Writer
	chunked bool
}

// StartStream writes the head of a streamed Go response.
func StartStream(w io.Writer, req *Request, status int, hdr []Header, now time.Time) (*Stream, error) {
	head, chunked, _ := goHead(req, status, hdr, now, -1, nil)
	s := &Stream{bw: bufio.NewWriter(w), chunked: chunked}
	s.bw.Write(head)
	return s, s.bw.Flush()
}

// Write sends p as one chunk.
func (s *Stream) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if s.chunked {
		s.bw.WriteString(strconv.FormatInt(int64(len(p)), 16) + "\r\n")
	}
	s.bw.Write(p)
	if s.chunked {
		s.bw.WriteString("\r\n")
	}
	return len(p), s.bw.Flush()
}

// Close ends the body.
func (s *Stream) Close() error {
	if s.chunked {
		s.bw.WriteString("0\r\n\r\n")
	}
	return s.bw.Flush()
}

// GoJSON is the JSON encoding Go's encoding/json Encoder writes: HTML
// characters escaped, a newline at the end.
func GoJSON(v any) []byte {
	var b bytes.Buffer
	_ = json.NewEncoder(&b).Encode(v)
	return b.Bytes()
}

// GoBadRequest is what net/http writes itself for a request it cannot
// read, before any handler runs (then it closes).
func GoBadRequest(w io.Writer, e *Error) error {
	text := strconv.Itoa(e.Status) + " " + StatusText(e.Status)
	body := text
	switch e.Status {
	case 400:
		if e.Reason != "" {
			body = text + ": " + e.Reason
		}
	case 505:
		body = text + ": unsupported protocol version"
	}
	_, err := io.WriteString(w, "HTTP/1.1 "+text+"\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"+body)
	return err
}
