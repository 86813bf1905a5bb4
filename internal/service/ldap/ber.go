package ldap

import (
	"encoding/binary"
	"errors"
)

// BER classes and the constructed bit of a tag byte.
const (
	classApplication = 0x40
	classContext     = 0x80
	constructed      = 0x20
	maxDepth         = 32
	maxMessage       = 256 << 10
)

var errBER = errors.New("malformed BER")

// node is one BER element: primitive bytes, or children when constructed.
type node struct {
	tag  byte
	data []byte
	kids []*node
}

func prim(tag byte, data []byte) *node   { return &node{tag: tag, data: data} }
func cons(tag byte, kids ...*node) *node { return &node{tag: tag | constructed, kids: kids} }
func str(s string) *node                 { return prim(0x04, []byte(s)) }
func enum(v int) *node                   { return prim(0x0a, intBytes(v)) }
func (n *node) isConstructed() bool      { return n.tag&constructed != 0 }

func intBytes(v int) []byte {
	b := []byte{byte(v)}
	for v >>= 8; v != 0 && v != -1; v >>= 8 {
		b = append([]byte{byte(v)}, b...)
	}
	if v == 0 && b[0]&0x80 != 0 {
		b = append([]byte{0}, b...)
	}
	return b
}

// integerValue reads a primitive INTEGER or ENUMERATED of up to 4 bytes.
func (n *node) integerValue() (int, bool) {
	if n.isConstructed() || len(n.data) == 0 || len(n.data) > 4 {
		return 0, false
	}
	v := int(int8(n.data[0]))
	for _, c := range n.data[1:] {
		v = v<<8 | int(c)
	}
	return v, true
}

// encode writes the element. Active Directory writes every constructed
// length in the four-byte long form (0x84 ...), which nmap's fingerprint
// of it expects; OpenLDAP writes the shortest form.
func (n *node) encode(adLengths bool) []byte {
	var body []byte
	if n.isConstructed() {
		for _, k := range n.kids {
			body = append(body, k.encode(adLengths)...)
		}
	} else {
		body = n.data
	}
	out := []byte{n.tag}
	switch {
	case adLengths && n.isConstructed():
		out = append(out, 0x84)
		out = binary.BigEndian.AppendUint32(out, uint32(len(body)))
	case len(body) < 0x80:
		out = append(out, byte(len(body)))
	case len(body) < 0x100:
		out = append(out, 0x81, byte(len(body)))
	case len(body) < 0x10000:
		out = append(out, 0x82, byte(len(body)>>8), byte(len(body)))
	default:
		out = append(out, 0x84)
		out = binary.BigEndian.AppendUint32(out, uint32(len(body)))
	}
	return append(out, body...)
}

// header reads a tag and a definite length: the bytes the element's
// content takes, and where it starts.
func header(b []byte) (tag byte, n, start int, err error) {
	if len(b) < 2 || b[0]&0x1f == 0x1f {
		return 0, 0, 0, errBER // multi-byte tags are not LDAP's
	}
	tag, n, start = b[0], int(b[1]), 2
	if n&0x80 != 0 {
		k := n & 0x7f
		if k == 0 || k > 4 || len(b) < 2+k {
			return 0, 0, 0, errBER
		}
		n = 0
		for _, c := range b[2 : 2+k] {
			n = n<<8 | int(c)
		}
		start = 2 + k
	}
	if n < 0 || n > maxMessage {
		return 0, 0, 0, errBER
	}
	return tag, n, start, nil
}

// parse reads one element and what follows it.
func parse(b []byte, depth int) (*node, []byte, error) {
	if depth > maxDepth {
		return nil, nil, errBER
	}
	tag, n, start, err := header(b)
	if err != nil || n > len(b)-start {
		return nil, nil, errBER
	}
	content, rest := b[start:start+n], b[start+n:]
	nd := &node{tag: tag}
	if tag&constructed == 0 {
		nd.data = content
		return nd, rest, nil
	}
	nd.kids = []*node{}
	for len(content) > 0 {
		if len(nd.kids) >= 4096 {
			return nil, nil, errBER
		}
		k, r, err := parse(content, depth+1)
		if err != nil {
			return nil, nil, err
		}
		nd.kids = append(nd.kids, k)
		content = r
	}
	return nd, rest, nil
}
