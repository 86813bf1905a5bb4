package mqtt

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// Control packet types (MQTT 3.1.1 section 2.2.1, 5.0 section 2.1.2).
const (
	typeConnect     = 1
	typeConnack     = 2
	typePublish     = 3
	typePuback      = 4
	typePubrec      = 5
	typePubrel      = 6
	typePubcomp     = 7
	typeSubscribe   = 8
	typeSuback      = 9
	typeUnsubscribe = 10
	typeUnsuback    = 11
	typePingreq     = 12
	typePingresp    = 13
	typeDisconnect  = 14
	typeAuth        = 15
)

// maxPacket bounds one packet's remaining length: far above what a sensor
// or a client sends, far below the protocol's 256 MiB.
const maxPacket = 256 << 10

var errMalformed = errors.New("malformed packet")

// packet is one control packet: its first byte and its body.
type packet struct {
	typ   byte
	flags byte
	body  []byte
}

// readPacket reads one packet, refusing a remaining length over max.
func readPacket(r *bufio.Reader, max int) (packet, error) {
	b, err := r.ReadByte()
	if err != nil {
		return packet{}, err
	}
	n, mult := 0, 1
	for i := 0; ; i++ {
		c, err := r.ReadByte()
		if err != nil {
			return packet{}, err
		}
		n += int(c&0x7f) * mult
		if c&0x80 == 0 {
			break
		}
		if i == 3 {
			return packet{}, fmt.Errorf("%w: remaining length", errMalformed)
		}
		mult <<= 7
	}
	if n > max {
		return packet{}, fmt.Errorf("%w: %d bytes is too long", errMalformed, n)
	}
	p := packet{typ: b >> 4, flags: b & 0x0f, body: make([]byte, n)}
	_, err = io.ReadFull(r, p.body)
	return p, err
}

// appendPacket writes a packet with its remaining length.
func appendPacket(out []byte, first byte, body []byte) []byte {
	out = append(out, first)
	n := len(body)
	for {
		c := byte(n & 0x7f)
		n >>= 7
		if n > 0 {
			c |= 0x80
		}
		out = append(out, c)
		if n == 0 {
			break
		}
	}
	return append(out, body...)
}

// reader consumes a packet body.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail() {
	if r.err == nil {
		r.err = errMalformed
	}
}

func (r *reader) byte() byte {
	if len(r.b) < 1 {
		r.fail()
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *reader) u16() int {
	if len(r.b) < 2 {
		r.fail()
		return 0
	}
	n := int(r.b[0])<<8 | int(r.b[1])
	r.b = r.b[2:]
	return n
}

func (r *reader) bytes() []byte {
	n := r.u16()
	if r.err != nil || len(r.b) < n {
		r.fail()
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

// str reads a UTF-8 string; MQTT forbids invalid UTF-8 and NUL.
func (r *reader) str() string {
	b := r.bytes()
	if !utf8.Valid(b) || containsNUL(b) {
		r.fail()
	}
	return string(b)
}

func containsNUL(b []byte) bool {
	for _, c := range b {
		if c == 0 {
			return true
		}
	}
	return false
}

// varint reads a variable byte integer (a v5 property length).
func (r *reader) varint() int {
	n, mult := 0, 1
	for i := 0; i < 4; i++ {
		c := r.byte()
		n += int(c&0x7f) * mult
		if c&0x80 == 0 {
			return n
		}
		mult <<= 7
	}
	r.fail()
	return 0
}

// properties reads a v5 property block and returns the ones the broker
// cares about; the rest are skipped, bounded by the block's length.
func (r *reader) properties() map[byte][]byte {
	n := r.varint()
	if r.err != nil || n > len(r.b) {
		r.fail()
		return nil
	}
	block := &reader{b: r.b[:n]}
	r.b = r.b[n:]
	props := map[byte][]byte{}
	for len(block.b) > 0 && block.err == nil {
		id := block.byte()
		switch id {
		case 0x01, 0x17, 0x19, 0x24, 0x25, 0x28, 0x29, 0x2a: // byte
			props[id] = []byte{block.byte()}
		case 0x13, 0x21, 0x22, 0x23: // two-byte integer
			v := block.u16()
			props[id] = []byte{byte(v >> 8), byte(v)}
		case 0x02, 0x11, 0x18, 0x27: // four-byte integer
			if len(block.b) < 4 {
				block.fail()
				break
			}
			props[id] = block.b[:4]
			block.b = block.b[4:]
		case 0x0b: // subscription identifier
			block.varint()
		case 0x03, 0x08, 0x09, 0x12, 0x15, 0x16, 0x1a, 0x1c, 0x1f: // string or binary
			props[id] = block.bytes()
		case 0x26: // user property
			block.bytes()
			block.bytes()
		default:
			block.fail()
		}
	}
	if block.err != nil {
		r.fail()
	}
	return props
}

func appendU16(b []byte, n int) []byte { return append(b, byte(n>>8), byte(n)) }

func appendStr(b []byte, s string) []byte { return append(appendU16(b, len(s)), s...) }

// connect is a CONNECT packet.
type connect struct {
	protoName    string
	level        byte
	flags        byte
	keepAlive    int
	clientID     string
	willTopic    string
	willPayload  []byte
	willQoS      byte
	willRetain   bool
	username     *string
	password     []byte
	hasPassword  bool
	cleanSession bool
}

// errProtocolName and errLevel are the two CONNECT faults Mosquitto
// answers differently: a wrong name is a silent close, a wrong level a
// CONNACK refusing the version.
var (
	errProtocolName = errors.New("unknown protocol name")
	errLevel        = errors.New("unsupported protocol level")
)

func parseConnect(body []byte) (connect, error) {
	r := &reader{b: body}
	var c connect
	c.protoName = string(r.bytes())
	c.level = r.byte()
	if r.err != nil {
		return c, r.err
	}
	switch {
	case c.protoName == "MQTT" && (c.level == 4 || c.level == 5):
	case c.protoName == "MQIsdp" && c.level == 3:
	case c.protoName == "MQTT" || c.protoName == "MQIsdp":
		return c, errLevel
	default:
		return c, errProtocolName
	}
	c.flags = r.byte()
	c.keepAlive = r.u16()
	if c.flags&0x01 != 0 {
		return c, fmt.Errorf("%w: reserved connect flag", errMalformed)
	}
	c.cleanSession = c.flags&0x02 != 0
	if c.level == 5 {
		r.properties()
	}
	c.clientID = r.str()
	if c.flags&0x04 != 0 {
		if c.level == 5 {
			r.properties()
		}
		c.willTopic = r.str()
		c.willPayload = r.bytes()
		c.willQoS = (c.flags >> 3) & 3
		c.willRetain = c.flags&0x20 != 0
		if c.willQoS == 3 {
			r.fail()
		}
	} else if c.flags&0x38 != 0 {
		r.fail()
	}
	if c.flags&0x80 != 0 {
		u := r.str()
		c.username = &u
	}
	if c.flags&0x40 != 0 {
		c.password, c.hasPassword = r.bytes(), true
	}
	if r.err == nil && len(r.b) != 0 {
		r.fail()
	}
	return c, r.err
}

// publish is a PUBLISH packet.
type publish struct {
	topic    string
	qos      byte
	retain   bool
	dup      bool
	id       int
	payload  []byte
	aliasSet bool
}

func parsePublish(p packet, level byte) (publish, error) {
	r := &reader{b: p.body}
	pub := publish{qos: (p.flags >> 1) & 3, retain: p.flags&1 != 0, dup: p.flags&8 != 0}
	if pub.qos == 3 {
		return pub, errMalformed
	}
	pub.topic = r.str()
	if pub.qos > 0 {
		pub.id = r.u16()
		if pub.id == 0 {
			r.fail()
		}
	}
	if level == 5 {
		_, pub.aliasSet = r.properties()[0x23]
	}
	pub.payload = r.b
	return pub, r.err
}

func (p publish) encode(level byte, id int) []byte {
	first := byte(typePublish<<4) | p.qos<<1
	if p.retain {
		first |= 1
	}
	body := appendStr(nil, p.topic)
	if p.qos > 0 {
		body = appendU16(body, id)
	}
	if level == 5 {
		body = append(body, 0)
	}
	return appendPacket(nil, first, append(body, p.payload...))
}

// subscription is one topic filter of a SUBSCRIBE.
type subscription struct {
	filter string
	qos    byte
}

func parseSubscribe(body []byte, level byte) (id int, subs []subscription, err error) {
	r := &reader{b: body}
	id = r.u16()
	if level == 5 {
		r.properties()
	}
	for len(r.b) > 0 && r.err == nil {
		f := r.str()
		opts := r.byte()
		if (level == 5 && opts&0xc0 != 0) || (level != 5 && opts&0xfc != 0) || opts&3 == 3 {
			r.fail()
		}
		subs = append(subs, subscription{filter: f, qos: opts & 3})
	}
	if r.err == nil && (id == 0 || len(subs) == 0) {
		r.fail()
	}
	return id, subs, r.err
}

func parseUnsubscribe(body []byte, level byte) (id int, filters []string, err error) {
	r := &reader{b: body}
	id = r.u16()
	if level == 5 {
		r.properties()
	}
	for len(r.b) > 0 && r.err == nil {
		filters = append(filters, r.str())
	}
	if r.err == nil && (id == 0 || len(filters) == 0) {
		r.fail()
	}
	return id, filters, r.err
}

// validFilter checks a topic filter's wildcards (MQTT 4.7.1).
func validFilter(f string) bool {
	if f == "" {
		return false
	}
	for i := 0; i < len(f); i++ {
		switch f[i] {
		case '#':
			if i != len(f)-1 || (i > 0 && f[i-1] != '/') {
				return false
			}
		case '+':
			if (i > 0 && f[i-1] != '/') || (i < len(f)-1 && f[i+1] != '/') {
				return false
			}
		}
	}
	return true
}

// matches says whether topic matches filter; a filter starting with a
// wildcard does not match $-topics (MQTT 4.7.2).
func matches(filter, topic string) bool {
	if len(topic) > 0 && topic[0] == '$' && len(filter) > 0 && (filter[0] == '#' || filter[0] == '+') {
		return false
	}
	for {
		fi, ti := indexSlash(filter), indexSlash(topic)
		fl, tl := filter[:fi], topic[:ti]
		switch {
		case fl == "#":
			return true
		case fl != "+" && fl != tl:
			return false
		}
		if fi == len(filter) || ti == len(topic) {
			return fi == len(filter) && ti == len(topic) || (ti == len(topic) && filter[fi:] == "/#")
		}
		filter, topic = filter[fi+1:], topic[ti+1:]
	}
}

func indexSlash(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] == '/' {
			return i
		}
	}
	return len(s)
}
