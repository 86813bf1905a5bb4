package ssh

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"hash"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// maxTranscript caps one asciicast; past it recording stops with a marker
// and the transcript is marked truncated (commands are still evented).
const maxTranscript = 4 << 20

// recorder writes an asciicast v2 transcript of one terminal channel.
type recorder struct {
	mu        sync.Mutex
	start     time.Time
	buf       bytes.Buffer
	in        hash.Hash // SHA-256 of the attacker's input bytes only
	truncated bool
	pending   []byte // output bytes of an incomplete UTF-8 sequence
}

func newRecorder(cols, rows uint32, term, shellPath string) *recorder {
	r := &recorder{start: time.Now(), in: sha256.New()}
	hdr, _ := json.Marshal(map[string]any{"version": 2, "width": cols, "height": rows,
		"timestamp": r.start.Unix(), "env": map[string]string{"TERM": term, "SHELL": shellPath}})
	r.buf.Write(hdr)
	r.buf.WriteByte('\n')
	return r
}

func (r *recorder) line(kind string, data string) {
	if r.truncated {
		return
	}
	b, _ := json.Marshal([]any{float64(time.Since(r.start).Microseconds()) / 1e6, kind, data})
	if r.buf.Len()+len(b) > maxTranscript {
		r.truncated = true
		m, _ := json.Marshal([]any{float64(time.Since(r.start).Microseconds()) / 1e6, "m", "truncated"})
		r.buf.Write(m)
		r.buf.WriteByte('\n')
		return
	}
	r.buf.Write(b)
	r.buf.WriteByte('\n')
}

// text makes bytes valid UTF-8 for the cast (players need text); the
// lossless input is in the command events.
func text(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

func (r *recorder) input(b []byte) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.in.Write(b)
	r.line("i", text(b))
}

func (r *recorder) output(b []byte) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	b = append(r.pending, b...)
	r.pending = nil
	// Keep an incomplete trailing rune for the next write.
	for i := 1; i <= 3 && i <= len(b); i++ {
		c := b[len(b)-i]
		if c&0xc0 != 0x80 {
			if c >= 0xc0 && !utf8.FullRune(b[len(b)-i:]) {
				r.pending = append([]byte(nil), b[len(b)-i:]...)
				b = b[:len(b)-i]
			}
			break
		}
	}
	if len(b) > 0 {
		r.line("o", text(b))
	}
}

func (r *recorder) resize(cols, rows uint32) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.line("r", strings.TrimSpace(strings.Join([]string{itoa(cols), itoa(rows)}, "x")))
}

func itoa(v uint32) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// save stores the transcript in the quarantine and emits
// ssh.transcript.saved.
func (r *recorder) save(s *session) {
	r.mu.Lock()
	data := append([]byte(nil), r.buf.Bytes()...)
	inSum := hex.EncodeToString(r.in.Sum(nil))
	trunc := r.truncated
	r.mu.Unlock()
	q := s.cn.srv.env.Quarantine
	if q == nil {
		return
	}
	a, err := q.Put(bytes.NewReader(data))
	if err != nil {
		s.cn.srv.env.Log.Error("store transcript", "err", err)
		return
	}
	s.emit("ssh.transcript.saved", map[string]any{"sha256": a.SHA256, "size": a.Size, "format": "asciicast-v2",
		"truncated": trunc, "input_sha256": inSum, "duration_ms": time.Since(r.start).Milliseconds()})
}
