package vnc

import (
	"bufio"
	"context"
	"encoding/binary"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/service/serve"
)

// Client-to-server message types of RFB 3.8.
const (
	msgSetPixelFormat = 0
	msgSetEncodings   = 2
	msgUpdateRequest  = 3
	msgKeyEvent       = 4
	msgPointerEvent   = 5
	msgClientCutText  = 6
	encRaw            = 0
	encRRE            = 2
	maxLine           = 1024
	maxClip           = 4096
)

// pixelFormat is RFB's PIXEL_FORMAT.
type pixelFormat struct {
	bpp, depth             uint8
	bigEndian, trueColour  bool
	rMax, gMax, bMax       uint16
	rShift, gShift, bShift uint8
}

// xvncFormat is what Xvnc announces: 32 bits, depth 24, little-endian.
var xvncFormat = pixelFormat{bpp: 32, depth: 24, trueColour: true, rMax: 255, gMax: 255, bMax: 255, rShift: 16, gShift: 8, bShift: 0}

func (f pixelFormat) bytes() []byte {
	b := make([]byte, 16)
	b[0], b[1] = f.bpp, f.depth
	if f.bigEndian {
		b[2] = 1
	}
	if f.trueColour {
		b[3] = 1
	}
	binary.BigEndian.PutUint16(b[4:], f.rMax)
	binary.BigEndian.PutUint16(b[6:], f.gMax)
	binary.BigEndian.PutUint16(b[8:], f.bMax)
	b[10], b[11], b[12] = f.rShift, f.gShift, f.bShift
	return b
}

func parsePixelFormat(b []byte) (pixelFormat, bool) {
	f := pixelFormat{bpp: b[0], depth: b[1], bigEndian: b[2] != 0, trueColour: b[3] != 0,
		rMax: binary.BigEndian.Uint16(b[4:]), gMax: binary.BigEndian.Uint16(b[6:]), bMax: binary.BigEndian.Uint16(b[8:]),
		rShift: b[10], gShift: b[11], bShift: b[12]}
	if f.bpp != 8 && f.bpp != 16 && f.bpp != 32 {
		return f, false
	}
	if !f.trueColour {
		// Colour-map clients get the BGR233 true-colour layout rather
		// than a palette: wrong hues, still a picture.
		f.rMax, f.gMax, f.bMax, f.rShift, f.gShift, f.bShift = 7, 7, 3, 0, 3, 6
	}
	return f, true
}

// pixel writes colour c in format f.
func (f pixelFormat) pixel(dst []byte, c rgb) []byte {
	v := uint32(c.r)*uint32(f.rMax)/255<<f.rShift | uint32(c.g)*uint32(f.gMax)/255<<f.gShift | uint32(c.b)*uint32(f.bMax)/255<<f.bShift
	switch f.bpp {
	case 8:
		return append(dst, byte(v))
	case 16:
		if f.bigEndian {
			return binary.BigEndian.AppendUint16(dst, uint16(v))
		}
		return binary.LittleEndian.AppendUint16(dst, uint16(v))
	}
	if f.bigEndian {
		return binary.BigEndian.AppendUint32(dst, v)
	}
	return binary.LittleEndian.AppendUint32(dst, v)
}

type rgb struct{ r, g, b uint8 }

type rect struct {
	x, y, w, h int
	c          rgb
}

func (a rect) intersect(b rect) (rect, bool) {
	x0, y0 := max(a.x, b.x), max(a.y, b.y)
	x1, y1 := min(a.x+a.w, b.x+b.w), min(a.y+a.h, b.y+b.h)
	if x1 <= x0 || y1 <= y0 {
		return rect{}, false
	}
	return rect{x0, y0, x1 - x0, y1 - y0, a.c}, true
}

// screen is a desktop drawn as filled rectangles over a background.
type screen struct {
	w, h  int
	bg    rgb
	rects []rect
}

// lockScreen is a desktop session's lock screen: a top panel, and a
// login dialog with a user picture and a password field in the middle.
func lockScreen(w, h int) screen {
	cx, cy := w/2, h/2
	return screen{w: w, h: h, bg: rgb{0x2b, 0x30, 0x3b}, rects: []rect{
		{0, 0, w, 28, rgb{0x1e, 0x21, 0x28}},
		{w - 90, 8, 70, 12, rgb{0xd3, 0xda, 0xe3}},
		{cx - 180, cy - 100, 360, 200, rgb{0xee, 0xee, 0xec}},
		{cx - 32, cy - 84, 64, 64, rgb{0x72, 0x9f, 0xcf}},
		{cx - 140, cy + 10, 280, 30, rgb{0x88, 0x8a, 0x85}},
		{cx - 139, cy + 11, 278, 28, rgb{0xff, 0xff, 0xff}},
		{cx - 60, cy + 56, 120, 26, rgb{0x34, 0x65, 0xa4}},
	}}
}

func (s screen) at(x, y int) rgb {
	c := s.bg
	for _, r := range s.rects {
		if x >= r.x && x < r.x+r.w && y >= r.y && y < r.y+r.h {
			c = r.c
		}
	}
	return c
}

// update is a FramebufferUpdate of region, RRE when the client takes it.
func (s screen) update(region rect, f pixelFormat, rre bool) []byte {
	region, ok := region.intersect(rect{0, 0, s.w, s.h, rgb{}})
	if !ok {
		return []byte{0, 0, 0, 0}
	}
	b := []byte{0, 0, 0, 1}
	for _, v := range []int{region.x, region.y, region.w, region.h} {
		b = binary.BigEndian.AppendUint16(b, uint16(v))
	}
	if rre {
		b = binary.BigEndian.AppendUint32(b, encRRE)
		var subs []rect
		for _, r := range s.rects {
			if in, ok := r.intersect(region); ok {
				subs = append(subs, in)
			}
		}
		b = binary.BigEndian.AppendUint32(b, uint32(len(subs)))
		b = f.pixel(b, s.bg)
		for _, r := range subs {
			b = f.pixel(b, r.c)
			for _, v := range []int{r.x - region.x, r.y - region.y, r.w, r.h} {
				b = binary.BigEndian.AppendUint16(b, uint16(v))
			}
		}
		return b
	}
	b = binary.BigEndian.AppendUint32(b, encRaw)
	for y := region.y; y < region.y+region.h; y++ {
		for x := region.x; x < region.x+region.w; x++ {
			b = f.pixel(b, s.at(x, y))
		}
	}
	return b
}

// serveDesktop answers ClientInit and then the client's messages until it
// leaves: the screen stays locked, and what is typed or pasted is kept.
func (s *Server) serveDesktop(ctx context.Context, c *serve.Conn) {
	r := bufio.NewReader(c)
	shared, err := r.ReadByte()
	if err != nil {
		return
	}
	init := binary.BigEndian.AppendUint16(nil, uint16(s.screen.w))
	init = binary.BigEndian.AppendUint16(init, uint16(s.screen.h))
	init = append(init, xvncFormat.bytes()...)
	init = binary.BigEndian.AppendUint32(init, uint32(len(s.desktop)))
	c.Write(append(init, s.desktop...))
	s.emit(c, "desktop.open", map[string]any{"desktop": s.desktop, "shared": shared != 0})

	format, rre := xvncFormat, false
	var line strings.Builder
	keys := 0
	flush := func() {
		if keys > 0 {
			s.emit(c, "input.keys", map[string]any{"text": line.String(), "keys": keys})
		}
		line.Reset()
		keys = 0
	}
	defer flush()
	var lastFull time.Time
	buf := make([]byte, 20)
	for ctx.Err() == nil {
		t, err := r.ReadByte()
		if err != nil {
			return
		}
		switch t {
		case msgSetPixelFormat:
			if _, err := io.ReadFull(r, buf[:19]); err != nil {
				return
			}
			f, ok := parsePixelFormat(buf[3:19])
			if !ok {
				return // Xvnc drops a client asking for an impossible format
			}
			format = f
		case msgSetEncodings:
			if _, err := io.ReadFull(r, buf[:3]); err != nil {
				return
			}
			n := int(binary.BigEndian.Uint16(buf[1:3]))
			rre = false
			for range n {
				if _, err := io.ReadFull(r, buf[:4]); err != nil {
					return
				}
				if int32(binary.BigEndian.Uint32(buf[:4])) == encRRE {
					rre = true
				}
			}
		case msgUpdateRequest:
			if _, err := io.ReadFull(r, buf[:9]); err != nil {
				return
			}
			// Nothing ever changes, so an incremental request waits for
			// ever, as on an idle desktop; a full one is answered at most
			// once a second, so a client cannot make us stream frames.
			if buf[0] != 0 || time.Since(lastFull) < time.Second {
				continue
			}
			lastFull = time.Now()
			region := rect{int(binary.BigEndian.Uint16(buf[1:])), int(binary.BigEndian.Uint16(buf[3:])),
				int(binary.BigEndian.Uint16(buf[5:])), int(binary.BigEndian.Uint16(buf[7:])), rgb{}}
			if _, err := c.Write(s.screen.update(region, format, rre)); err != nil {
				return
			}
		case msgKeyEvent:
			if _, err := io.ReadFull(r, buf[:7]); err != nil {
				return
			}
			if buf[0] == 0 {
				continue // key release
			}
			keys++
			switch sym := binary.BigEndian.Uint32(buf[3:7]); {
			case sym == 0xff0d || sym == 0xff8d: // Return, KP_Enter
				flush()
			case sym == 0xff08: // BackSpace
				if str := line.String(); str != "" {
					_, size := utf8.DecodeLastRuneInString(str)
					line.Reset()
					line.WriteString(str[:len(str)-size])
				}
			case sym >= 0x20 && sym <= 0x7e || sym >= 0xa0 && sym <= 0xff:
				line.WriteRune(rune(sym))
			case sym&0xff000000 == 0x01000000: // Unicode keysyms
				line.WriteRune(rune(sym & 0xffffff))
			}
			if line.Len() >= maxLine {
				flush()
			}
		case msgPointerEvent:
			if _, err := io.ReadFull(r, buf[:5]); err != nil {
				return
			}
		case msgClientCutText:
			if _, err := io.ReadFull(r, buf[:7]); err != nil {
				return
			}
			n := int64(binary.BigEndian.Uint32(buf[3:7]))
			if n > int64(s.maxInput) {
				return // Xvnc refuses clipboards past its limit the same way
			}
			head := make([]byte, min(n, maxClip))
			if _, err := io.ReadFull(r, head); err != nil {
				return
			}
			if _, err := io.CopyN(io.Discard, r, n-int64(len(head))); err != nil {
				return
			}
			s.emit(c, "clipboard.paste", map[string]any{"text": event.Text(head, maxClip), "length": n})
		default:
			return // an unknown message: Xvnc closes the connection
		}
	}
}
