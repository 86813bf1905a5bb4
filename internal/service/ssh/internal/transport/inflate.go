package transport

import (
	"errors"
	"io"
)

// DECNET: a blocking DEFLATE (RFC 1951) decoder for the zlib@openssh.com
// inflater. compress/flate holds decoded bytes until a stored block or a
// full window, but OpenSSH ends each packet with Z_PARTIAL_FLUSH (an empty
// fixed-code block), so each packet's bytes would stay inside the
// decoder. This decoder hands every byte to emit as soon as it is decoded
// and blocks in the byte source between packets.

var errInflate = errors.New("ssh: invalid compressed data")

type bitReader struct {
	r    io.ByteReader
	bits uint32
	n    uint
}

func (b *bitReader) need(n uint) error {
	for b.n < n {
		c, err := b.r.ReadByte()
		if err != nil {
			return err
		}
		b.bits |= uint32(c) << b.n
		b.n += 8
	}
	return nil
}

func (b *bitReader) take(n uint) (uint32, error) {
	if err := b.need(n); err != nil {
		return 0, err
	}
	v := b.bits & (1<<n - 1)
	b.bits >>= n
	b.n -= n
	return v, nil
}

// huffman is a canonical Huffman code as counts per length and symbols
// in code order (the "puff" representation).
type huffman struct {
	count  [16]uint16
	symbol []uint16
}

func newHuffman(lengths []uint8) (*huffman, error) {
	h := &huffman{symbol: make([]uint16, len(lengths))}
	for _, l := range lengths {
		h.count[l]++
	}
	h.count[0] = 0
	left := 1
	for l := 1; l < 16; l++ {
		left <<= 1
		left -= int(h.count[l])
		if left < 0 {
			return nil, errInflate
		}
	}
	var offs [16]uint16
	for l := 1; l < 15; l++ {
		offs[l+1] = offs[l] + h.count[l]
	}
	for s, l := range lengths {
		if l != 0 {
			h.symbol[offs[l]] = uint16(s)
			offs[l]++
		}
	}
	return h, nil
}

func (b *bitReader) decode(h *huffman) (int, error) {
	code, first, index := 0, 0, 0
	for l := 1; l < 16; l++ {
		bit, err := b.take(1)
		if err != nil {
			return 0, err
		}
		code |= int(bit)
		count := int(h.count[l])
		if code-count < first {
			return int(h.symbol[index+(code-first)]), nil
		}
		index += count
		first += count
		first <<= 1
		code <<= 1
	}
	return 0, errInflate
}

var (
	lenBase  = [29]uint16{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
	lenExtra = [29]uint8{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
	dstBase  = [30]uint16{1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577}
	dstExtra = [30]uint8{0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13}
	clOrder  = [19]uint8{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}
)

var fixedLit, fixedDist = func() (*huffman, *huffman) {
	var l [288]uint8
	for i := range l {
		switch {
		case i < 144:
			l[i] = 8
		case i < 256:
			l[i] = 9
		case i < 280:
			l[i] = 7
		default:
			l[i] = 8
		}
	}
	var d [30]uint8
	for i := range d {
		d[i] = 5
	}
	lit, _ := newHuffman(l[:])
	dist, _ := newHuffman(d[:])
	return lit, dist
}()

// inflateStream decodes a DEFLATE stream from r, calling emit for every
// decoded byte, until the final block ends or r fails.
func inflateStream(r io.ByteReader, emit func(byte) error) error {
	b := &bitReader{r: r}
	var window [32768]byte
	var pos int // total bytes emitted
	out := func(c byte) error {
		window[pos&32767] = c
		pos++
		return emit(c)
	}
	for {
		hdr, err := b.take(3)
		if err != nil {
			return err
		}
		switch hdr >> 1 {
		case 0: // stored
			b.bits, b.n = 0, 0 // to a byte boundary
			var lb [4]byte
			for i := range lb {
				if lb[i], err = r.ReadByte(); err != nil {
					return err
				}
			}
			n := int(lb[0]) | int(lb[1])<<8
			if n != int(^(uint16(lb[2]) | uint16(lb[3])<<8)) {
				return errInflate
			}
			for ; n > 0; n-- {
				c, err := r.ReadByte()
				if err != nil {
					return err
				}
				if err := out(c); err != nil {
					return err
				}
			}
		case 1, 2:
			lit, dist := fixedLit, fixedDist
			if hdr>>1 == 2 {
				if lit, dist, err = b.dynamic(); err != nil {
					return err
				}
			}
			for {
				sym, err := b.decode(lit)
				if err != nil {
					return err
				}
				if sym < 256 {
					if err := out(byte(sym)); err != nil {
						return err
					}
					continue
				}
				if sym == 256 {
					break
				}
				sym -= 257
				if sym >= 29 {
					return errInflate
				}
				e, err := b.take(uint(lenExtra[sym]))
				if err != nil {
					return err
				}
				length := int(lenBase[sym]) + int(e)
				ds, err := b.decode(dist)
				if err != nil {
					return err
				}
				if ds >= 30 {
					return errInflate
				}
				e, err = b.take(uint(dstExtra[ds]))
				if err != nil {
					return err
				}
				d := int(dstBase[ds]) + int(e)
				if d > pos || d > len(window) {
					return errInflate
				}
				for ; length > 0; length-- {
					if err := out(window[(pos-d)&32767]); err != nil {
						return err
					}
				}
			}
		default:
			return errInflate
		}
		if hdr&1 == 1 {
			return io.EOF
		}
	}
}

func (b *bitReader) dynamic() (*huffman, *huffman, error) {
	v, err := b.take(14)
	if err != nil {
		return nil, nil, err
	}
	nlen, ndist, ncode := int(v&31)+257, int(v>>5&31)+1, int(v>>10)+4
	if nlen > 286 || ndist > 30 {
		return nil, nil, errInflate
	}
	var cl [19]uint8
	for i := 0; i < ncode; i++ {
		c, err := b.take(3)
		if err != nil {
			return nil, nil, err
		}
		cl[clOrder[i]] = uint8(c)
	}
	clh, err := newHuffman(cl[:])
	if err != nil {
		return nil, nil, err
	}
	lengths := make([]uint8, nlen+ndist)
	for i := 0; i < len(lengths); {
		sym, err := b.decode(clh)
		if err != nil {
			return nil, nil, err
		}
		if sym < 16 {
			lengths[i] = uint8(sym)
			i++
			continue
		}
		var rep uint32
		var val uint8
		switch sym {
		case 16:
			if i == 0 {
				return nil, nil, errInflate
			}
			val = lengths[i-1]
			rep, err = b.take(2)
			rep += 3
		case 17:
			rep, err = b.take(3)
			rep += 3
		default:
			rep, err = b.take(7)
			rep += 11
		}
		if err != nil {
			return nil, nil, err
		}
		if i+int(rep) > len(lengths) {
			return nil, nil, errInflate
		}
		for ; rep > 0; rep-- {
			lengths[i] = val
			i++
		}
	}
	lit, err := newHuffman(lengths[:nlen])
	if err != nil {
		return nil, nil, err
	}
	dist, err := newHuffman(lengths[nlen:])
	if err != nil {
		return nil, nil, err
	}
	return lit, dist, nil
}
