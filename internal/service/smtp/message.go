package smtp

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"net/smtp"
	"strconv"
	"strings"
	"time"
)

// Bounds of what is read out of one message.
const (
	maxParts     = 32
	maxPartBytes = 16 << 20
)

// record stores a message whole and each attachment in the quarantine,
// and returns the fields of its smtp.message.received event.
func (s *Server) record(ss *session, raw []byte) map[string]any {
	rcpts := make([]any, len(ss.rcpts))
	for i, r := range ss.rcpts {
		rcpts[i] = text(r)
	}
	f := map[string]any{"helo": text(ss.helo), "mail_from": text(ss.from), "rcpt_to": rcpts, "size": len(raw), "relay": ss.relay}
	if q := s.env.Quarantine; q != nil {
		if a, err := q.Put(bytes.NewReader(raw)); err == nil {
			f["sha256"] = a.SHA256
		} else {
			s.log.Error("quarantine message", "err", err)
		}
	}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return f
	}
	f["subject"] = text(decodeHeader(msg.Header.Get("Subject")))
	f["from_header"] = text(decodeHeader(msg.Header.Get("From")))
	f["message_id"] = text(msg.Header.Get("Message-Id"))
	if atts := s.attachments(msg.Header.Get("Content-Type"), msg.Body); len(atts) > 0 {
		f["attachments"] = atts
	}
	return f
}

func decodeHeader(v string) string {
	if d, err := new(mime.WordDecoder).DecodeHeader(v); err == nil {
		return d
	}
	return v
}

// attachments walks a multipart body (one level of nesting) and stores
// every part that has a file name or is not text.
func (s *Server) attachments(ctype string, body io.Reader) []any {
	mt, params, err := mime.ParseMediaType(ctype)
	if err != nil || !strings.HasPrefix(mt, "multipart/") || params["boundary"] == "" {
		return nil
	}
	var out []any
	mr := multipart.NewReader(body, params["boundary"])
	for range maxParts {
		p, err := mr.NextPart()
		if err != nil {
			break
		}
		pt, pp, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		if strings.HasPrefix(pt, "multipart/") {
			out = append(out, s.attachments(p.Header.Get("Content-Type"), p)...)
			continue
		}
		name := p.FileName()
		if name == "" && (pt == "" || strings.HasPrefix(pt, "text/")) {
			continue
		}
		if name == "" {
			name = pp["name"]
		}
		var r io.Reader = io.LimitReader(p, maxPartBytes)
		if strings.EqualFold(p.Header.Get("Content-Transfer-Encoding"), "base64") {
			r = base64Reader(r)
		}
		data, _ := io.ReadAll(r)
		a := map[string]any{"name": text(name), "content_type": text(pt), "size": len(data)}
		if q := s.env.Quarantine; q != nil {
			if art, err := q.Put(bytes.NewReader(data)); err == nil {
				a["sha256"] = art.SHA256
			}
		}
		out = append(out, a)
	}
	return out
}

// forward sends a probe message to the configured upstream relay, as relay
// testers expect their first message to arrive.
func forward(ctx context.Context, r *RelaySettings, from string, to []string, msg []byte) error {
	addr := net.JoinHostPort(r.UpstreamHost, strconv.Itoa(r.UpstreamPort))
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(dctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("dial upstream %s: %w", addr, err)
	}
	_ = conn.SetDeadline(time.Now().Add(60 * time.Second))
	c, err := smtp.NewClient(conn, r.UpstreamHost)
	if err != nil {
		conn.Close()
		return err
	}
	defer c.Close()
	if ok, _ := c.Extension("STARTTLS"); ok {
		_ = c.StartTLS(nil) // upstream's own certificate, verified
	}
	if r.UpstreamUser != "" {
		if err := c.Auth(smtp.PlainAuth("", r.UpstreamUser, r.UpstreamPass, r.UpstreamHost)); err != nil {
			return fmt.Errorf("upstream auth: %w", err)
		}
	}
	if r.UpstreamSender != "" {
		from = r.UpstreamSender
	}
	if err := c.Mail(from); err != nil {
		return err
	}
	for _, t := range to {
		if err := c.Rcpt(t); err != nil {
			return err
		}
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(msg); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

// base64Reader decodes a base64 transfer encoding, ignoring line breaks.
func base64Reader(r io.Reader) io.Reader {
	return base64.NewDecoder(base64.StdEncoding, &stripNewlines{r: r})
}

type stripNewlines struct{ r io.Reader }

func (s *stripNewlines) Read(p []byte) (int, error) {
	for {
		n, err := s.r.Read(p)
		j := 0
		for _, c := range p[:n] {
			if c != '\r' && c != '\n' && c != ' ' && c != '\t' {
				p[j] = c
				j++
			}
		}
		if j > 0 || err != nil {
			return j, err
		}
	}
}
