// DECNET: zlib@openssh.com, the delayed compression OpenSSH servers offer
// by default (compression starts after the server sends
// SSH_MSG_USERAUTH_SUCCESS, and the zlib stream of each direction lives
// as long as the connection). A client asks for it with "ssh -C".

package transport

import (
	"bytes"
	"compress/zlib"
	"errors"
	"io"
	"sync"
)

// compressionZlibOpenSSH is the delayed zlib compression method.
const compressionZlibOpenSSH = "zlib@openssh.com"

// maxInflate bounds the decompressed size of one packet (RFC 4253 lets an
// implementation refuse packets over 35000 bytes; OpenSSH allows 256 KiB).
const maxInflate = 256 << 10

var errInflateTooBig = errors.New("ssh: decompressed packet too large")

// deflater compresses the packets of one direction into one zlib stream,
// each packet ending with a sync flush.
type deflater struct {
	buf bytes.Buffer
	w   *zlib.Writer
}

func (d *deflater) compress(p []byte) ([]byte, error) {
	if d.w == nil {
		d.w, _ = zlib.NewWriterLevel(&d.buf, 6)
	}
	d.buf.Reset()
	if _, err := d.w.Write(p); err != nil {
		return nil, err
	}
	if err := d.w.Flush(); err != nil {
		return nil, err
	}
	return append([]byte(nil), d.buf.Bytes()...), nil
}

// inflater decompresses the packets of one direction. The peer flushes
// at each packet, but not on a byte boundary, so the zlib reader runs in
// a goroutine that waits for more input between packets; decompress
// returns when that goroutine has consumed the packet and waits again.
// close ends the goroutine.
type inflater struct {
	mu      sync.Mutex
	cond    *sync.Cond
	in      []byte
	out     []byte
	waiting bool
	started bool
	closed  bool
	err     error
}

func (z *inflater) init() {
	if z.cond == nil {
		z.cond = sync.NewCond(&z.mu)
	}
}

// ReadByte feeds the decoder; it blocks between packets.
func (z *inflater) ReadByte() (byte, error) {
	z.mu.Lock()
	defer z.mu.Unlock()
	for len(z.in) == 0 {
		if z.closed {
			return 0, io.EOF
		}
		z.waiting = true
		z.cond.Broadcast()
		z.cond.Wait()
	}
	z.waiting = false
	b := z.in[0]
	z.in = z.in[1:]
	return b, nil
}

func (z *inflater) run() {
	// The zlib header (RFC 1950): deflate, no preset dictionary.
	var err error
	var h [2]byte
	if h[0], err = z.ReadByte(); err == nil {
		if h[1], err = z.ReadByte(); err == nil && (h[0]&15 != 8 || (uint16(h[0])<<8|uint16(h[1]))%31 != 0 || h[1]&0x20 != 0) {
			err = errInflate
		}
	}
	if err == nil {
		err = inflateStream(z, func(c byte) error {
			z.mu.Lock()
			defer z.mu.Unlock()
			if len(z.out) >= maxInflate {
				return errInflateTooBig
			}
			z.out = append(z.out, c)
			return nil
		})
	}
	z.mu.Lock()
	if z.err == nil {
		z.err = err
		if z.err == nil || z.err == io.EOF {
			z.err = io.ErrUnexpectedEOF
		}
	}
	z.cond.Broadcast()
	z.mu.Unlock()
}

func (z *inflater) decompress(p []byte) ([]byte, error) {
	z.mu.Lock()
	defer z.mu.Unlock()
	z.init()
	if !z.started {
		z.started = true
		go z.run()
	}
	z.in = append(z.in, p...)
	z.waiting = false
	z.cond.Broadcast()
	for !(z.waiting && len(z.in) == 0) && z.err == nil {
		z.cond.Wait()
	}
	if z.err != nil {
		return nil, z.err
	}
	out := z.out
	z.out = nil
	return out, nil
}

func (z *inflater) close() {
	z.mu.Lock()
	defer z.mu.Unlock()
	z.init()
	z.closed = true
	z.cond.Broadcast()
}
