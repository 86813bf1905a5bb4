package imap

import (
	"bytes"
	"fmt"
	"mime"
	"mime/multipart"
	"net/mail"
	"sort"
	"strconv"
	"strings"
	"time"
)

// split cuts a message into its header (ending with the blank line) and
// its body.
func split(raw []byte) (header, body []byte) {
	if i := bytes.Index(raw, []byte("\r\n\r\n")); i >= 0 {
		return raw[:i+4], raw[i+4:]
	}
	return raw, nil
}

// headerFields keeps (or, with not, drops) the named fields of a header.
func headerFields(header []byte, names []string, not bool) []byte {
	want := map[string]bool{}
	for _, n := range names {
		want[strings.ToLower(n)] = true
	}
	var out bytes.Buffer
	keep := false
	for _, line := range bytes.SplitAfter(header, []byte("\r\n")) {
		if len(line) == 0 || bytes.Equal(line, []byte("\r\n")) {
			continue
		}
		if line[0] != ' ' && line[0] != '\t' {
			name, _, _ := bytes.Cut(line, []byte(":"))
			keep = want[strings.ToLower(string(bytes.TrimSpace(name)))] != not
		}
		if keep {
			out.Write(line)
		}
	}
	out.WriteString("\r\n")
	return out.Bytes()
}

// addresses renders an address list of the envelope.
func addresses(h mail.Header, key string) string {
	v := h.Get(key)
	if v == "" {
		return "NIL"
	}
	list, err := mail.ParseAddressList(v)
	if err != nil || len(list) == 0 {
		return "NIL"
	}
	var b strings.Builder
	b.WriteByte('(')
	for _, a := range list {
		box, host, _ := strings.Cut(a.Address, "@")
		fmt.Fprintf(&b, "(%s NIL %s %s)", nstring(a.Name), nstring(box), nstring(host))
	}
	b.WriteByte(')')
	return b.String()
}

// envelope is the ENVELOPE of RFC 3501 7.4.2.
func envelope(raw []byte) string {
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)"
	}
	h := m.Header
	from := addresses(h, "From")
	sender, reply := addresses(h, "Sender"), addresses(h, "Reply-To")
	if sender == "NIL" {
		sender = from
	}
	if reply == "NIL" {
		reply = from
	}
	return fmt.Sprintf("(%s %s %s %s %s %s %s %s %s %s)", nstring(h.Get("Date")), nstring(h.Get("Subject")),
		from, sender, reply, addresses(h, "To"), addresses(h, "Cc"), addresses(h, "Bcc"),
		nstring(h.Get("In-Reply-To")), nstring(h.Get("Message-Id")))
}

// bodyStructure is the BODYSTRUCTURE of a message or part, multipart
// included, to a bounded depth.
func bodyStructure(raw []byte, depth int) string {
	header, body := split(raw)
	m, err := mail.ReadMessage(bytes.NewReader(append(append([]byte{}, header...), '\r', '\n')))
	var h mail.Header
	if err == nil {
		h = m.Header
	} else {
		h = mail.Header{}
	}
	mediaType, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil || mediaType == "" {
		mediaType, params = "text/plain", map[string]string{"charset": "us-ascii"}
	}
	typ, sub, _ := strings.Cut(mediaType, "/")
	if typ == "multipart" && params["boundary"] != "" && depth < 8 {
		var b strings.Builder
		b.WriteByte('(')
		r := multipart.NewReader(bytes.NewReader(body), params["boundary"])
		parts := 0
		for parts < 64 {
			p, err := r.NextRawPart()
			if err != nil {
				break
			}
			var part bytes.Buffer
			for k, vs := range p.Header {
				for _, v := range vs {
					fmt.Fprintf(&part, "%s: %s\r\n", k, v)
				}
			}
			part.WriteString("\r\n")
			if _, err := part.ReadFrom(limitReader{p, 8 << 20}); err != nil {
				break
			}
			b.WriteString(bodyStructure(part.Bytes(), depth+1))
			parts++
		}
		if parts == 0 {
			b.WriteString(`("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0 NIL NIL NIL NIL)`)
		}
		fmt.Fprintf(&b, " %s (%s) NIL NIL NIL)", quote(sub), paramList(params))
		return b.String()
	}
	enc := h.Get("Content-Transfer-Encoding")
	if enc == "" {
		enc = "7bit"
	}
	out := fmt.Sprintf("(%s %s (%s) %s %s %s %d", quote(typ), quote(sub), paramList(params),
		nstring(h.Get("Content-Id")), nstring(h.Get("Content-Description")), quote(strings.ToLower(enc)), len(body))
	if typ == "text" {
		out += " " + strconv.Itoa(bytes.Count(body, []byte("\n")))
	}
	disp := "NIL"
	if d, dp, err := mime.ParseMediaType(h.Get("Content-Disposition")); err == nil {
		disp = fmt.Sprintf("(%s (%s))", quote(d), paramList(dp))
	}
	return out + " NIL " + disp + " NIL NIL)"
}

type limitReader struct {
	r interface{ Read([]byte) (int, error) }
	n int
}

func (l limitReader) Read(p []byte) (int, error) {
	if len(p) > l.n {
		p = p[:l.n]
	}
	return l.r.Read(p)
}

func paramList(params map[string]string) string {
	if len(params) == 0 {
		return "NIL"
	}
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, quote(k), quote(params[k]))
	}
	return strings.Join(parts, " ")
}

// internalDate renders an INTERNALDATE.
func internalDate(t time.Time) string { return `"` + t.Format("02-Jan-2006 15:04:05 -0700") + `"` }

// section is what a BODY[...] item asks for.
type section struct {
	name    string // as the client wrote it, echoed in the reply
	peek    bool
	partial bool
	start   int
	length  int
}

// parseSection reads BODY[...]<...> / BODY.PEEK[...]; ok is false for
// anything else.
func parseSection(att string) (section, bool) {
	up := strings.ToUpper(att)
	var s section
	switch {
	case strings.HasPrefix(up, "BODY.PEEK["):
		s.peek, att = true, att[len("BODY.PEEK["):]
	case strings.HasPrefix(up, "BODY["):
		att = att[len("BODY["):]
	default:
		return s, false
	}
	end := strings.LastIndexByte(att, ']')
	if end < 0 {
		return s, false
	}
	s.name = att[:end]
	rest := att[end+1:]
	if rest != "" {
		if !strings.HasPrefix(rest, "<") || !strings.HasSuffix(rest, ">") {
			return s, false
		}
		a, b, ok := strings.Cut(rest[1:len(rest)-1], ".")
		start, err1 := strconv.Atoi(a)
		length, err2 := strconv.Atoi(b)
		if !ok || err1 != nil || err2 != nil || start < 0 || length < 0 {
			return s, false
		}
		s.partial, s.start, s.length = true, start, length
	}
	return s, true
}

// content returns the bytes a section names in raw.
func (s section) content(raw []byte) ([]byte, bool) {
	header, body := split(raw)
	up := strings.ToUpper(strings.TrimSpace(s.name))
	var out []byte
	switch {
	case up == "":
		out = raw
	case up == "HEADER":
		out = header
	case up == "TEXT", up == "1":
		out = body
	case strings.HasPrefix(up, "HEADER.FIELDS"):
		not := strings.HasPrefix(up, "HEADER.FIELDS.NOT")
		open, close := strings.IndexByte(s.name, '('), strings.LastIndexByte(s.name, ')')
		if open < 0 || close < open {
			return nil, false
		}
		out = headerFields(header, strings.Fields(s.name[open+1:close]), not)
	default:
		return nil, false
	}
	if s.partial {
		if s.start >= len(out) {
			return []byte{}, true
		}
		out = out[s.start:]
		if s.length < len(out) {
			out = out[:s.length]
		}
	}
	return out, true
}

// label is how the reply names the section: BODY[...] (never PEEK), with
// <start> for a partial fetch.
func (s section) label() string {
	l := "BODY[" + strings.ToUpper(s.name) + "]"
	if s.partial {
		l += "<" + strconv.Itoa(s.start) + ">"
	}
	return l
}
