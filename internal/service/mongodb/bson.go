package mongodb

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// A minimal BSON codec: the types drivers and attack tools send, an
// ordered document, bounded nesting.

// D is an ordered document.
type D []E

// E is one element.
type E struct {
	K string
	V any
}

// A is an array.
type A []any

// Binary is BinData.
type Binary struct {
	Sub  byte
	Data []byte
}

// ObjectID is a 12-byte ObjectId.
type ObjectID [12]byte

// Timestamp is the internal replication timestamp type.
type Timestamp struct{ T, I uint32 }

// rawVal keeps a value of a type the decoy does not interpret.
type rawVal struct {
	typ byte
	b   []byte
}

// maxDepth bounds document nesting (MongoDB allows 100 for user documents,
// a little more for commands).
const maxDepth = 110

var errBSON = errors.New("invalid BSON")

// Get returns the value of key k (first match).
func (d D) Get(k string) (any, bool) {
	for _, e := range d {
		if e.K == k {
			return e.V, true
		}
	}
	return nil, false
}

// Str returns a string value, "" when absent or of another type.
func (d D) Str(k string) string {
	v, _ := d.Get(k)
	s, _ := v.(string)
	return s
}

// Doc returns a sub-document.
func (d D) Doc(k string) D {
	v, _ := d.Get(k)
	s, _ := v.(D)
	return s
}

// Bool follows MongoDB's truthiness for options: bools, non-zero numbers.
func (d D) Bool(k string) bool {
	v, ok := d.Get(k)
	if !ok {
		return false
	}
	n, isNum := number(v)
	if isNum {
		return n != 0
	}
	b, _ := v.(bool)
	return b
}

func number(v any) (float64, bool) {
	switch x := v.(type) {
	case int32:
		return float64(x), true
	case int64:
		return float64(x), true
	case float64:
		return x, true
	case int:
		return float64(x), true
	}
	return 0, false
}

// decodeDoc decodes one document that must fill b exactly.
func decodeDoc(b []byte) (D, error) {
	d, n, err := readDoc(b, 0)
	if err != nil {
		return nil, err
	}
	if n != len(b) {
		return nil, errBSON
	}
	return d, nil
}

// docLen returns the length a document at the start of b declares.
func docLen(b []byte) (int, error) {
	if len(b) < 5 {
		return 0, errBSON
	}
	n := int(int32(binary.LittleEndian.Uint32(b)))
	if n < 5 || n > len(b) {
		return 0, errBSON
	}
	return n, nil
}

func readDoc(b []byte, depth int) (D, int, error) {
	if depth > maxDepth {
		return nil, 0, errBSON
	}
	n, err := docLen(b)
	if err != nil {
		return nil, 0, err
	}
	if b[n-1] != 0 {
		return nil, 0, errBSON
	}
	body := b[4 : n-1]
	d := D{}
	for len(body) > 0 {
		typ := body[0]
		body = body[1:]
		i := indexZero(body)
		if i < 0 {
			return nil, 0, errBSON
		}
		key := string(body[:i])
		body = body[i+1:]
		v, used, err := readValue(typ, body, depth)
		if err != nil {
			return nil, 0, err
		}
		body = body[used:]
		d = append(d, E{key, v})
	}
	return d, n, nil
}

func indexZero(b []byte) int {
	for i, c := range b {
		if c == 0 {
			return i
		}
	}
	return -1
}

func readValue(typ byte, b []byte, depth int) (any, int, error) {
	need := func(n int) error {
		if n < 0 || len(b) < n {
			return errBSON
		}
		return nil
	}
	switch typ {
	case 0x01: // double
		if err := need(8); err != nil {
			return nil, 0, err
		}
		return math.Float64frombits(binary.LittleEndian.Uint64(b)), 8, nil
	case 0x02, 0x0D, 0x0E: // string, JavaScript, symbol
		if err := need(4); err != nil {
			return nil, 0, err
		}
		n := int(int32(binary.LittleEndian.Uint32(b)))
		if n < 1 || need(4+n) != nil || b[3+n] != 0 {
			return nil, 0, errBSON
		}
		s := string(b[4 : 3+n])
		if typ != 0x02 {
			return rawVal{typ, b[:4+n]}, 4 + n, nil
		}
		return s, 4 + n, nil
	case 0x03, 0x04: // document, array
		d, n, err := readDoc(b, depth+1)
		if err != nil {
			return nil, 0, err
		}
		if typ == 0x04 {
			a := make(A, len(d))
			for i, e := range d {
				a[i] = e.V
			}
			return a, n, nil
		}
		return d, n, nil
	case 0x05: // binary
		if err := need(5); err != nil {
			return nil, 0, err
		}
		n := int(int32(binary.LittleEndian.Uint32(b)))
		if n < 0 || need(5+n) != nil {
			return nil, 0, errBSON
		}
		return Binary{Sub: b[4], Data: b[5 : 5+n]}, 5 + n, nil
	case 0x06, 0x0A, 0x7F, 0xFF: // undefined, null, maxKey, minKey
		if typ == 0x0A {
			return nil, 0, nil
		}
		return rawVal{typ, nil}, 0, nil
	case 0x07:
		if err := need(12); err != nil {
			return nil, 0, err
		}
		var o ObjectID
		copy(o[:], b)
		return o, 12, nil
	case 0x08:
		if err := need(1); err != nil {
			return nil, 0, err
		}
		if b[0] > 1 {
			return nil, 0, errBSON
		}
		return b[0] == 1, 1, nil
	case 0x09:
		if err := need(8); err != nil {
			return nil, 0, err
		}
		return time.UnixMilli(int64(binary.LittleEndian.Uint64(b))).UTC(), 8, nil
	case 0x0B: // regex: two cstrings
		i := indexZero(b)
		if i < 0 {
			return nil, 0, errBSON
		}
		j := indexZero(b[i+1:])
		if j < 0 {
			return nil, 0, errBSON
		}
		return rawVal{typ, b[:i+j+2]}, i + j + 2, nil
	case 0x0C: // DBPointer
		if err := need(4); err != nil {
			return nil, 0, err
		}
		n := int(int32(binary.LittleEndian.Uint32(b)))
		if n < 1 || need(4+n+12) != nil {
			return nil, 0, errBSON
		}
		return rawVal{typ, b[:4+n+12]}, 4 + n + 12, nil
	case 0x0F: // code with scope
		if err := need(4); err != nil {
			return nil, 0, err
		}
		n := int(int32(binary.LittleEndian.Uint32(b)))
		if n < 14 || need(n) != nil {
			return nil, 0, errBSON
		}
		return rawVal{typ, b[:n]}, n, nil
	case 0x10:
		if err := need(4); err != nil {
			return nil, 0, err
		}
		return int32(binary.LittleEndian.Uint32(b)), 4, nil
	case 0x11:
		if err := need(8); err != nil {
			return nil, 0, err
		}
		return Timestamp{I: binary.LittleEndian.Uint32(b), T: binary.LittleEndian.Uint32(b[4:])}, 8, nil
	case 0x12:
		if err := need(8); err != nil {
			return nil, 0, err
		}
		return int64(binary.LittleEndian.Uint64(b)), 8, nil
	case 0x13:
		if err := need(16); err != nil {
			return nil, 0, err
		}
		return rawVal{typ, b[:16]}, 16, nil
	}
	return nil, 0, errBSON
}

// encode appends the document's BSON to dst.
func (d D) encode(dst []byte) []byte {
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0)
	for _, e := range d {
		dst = appendElem(dst, e.K, e.V)
	}
	dst = append(dst, 0)
	binary.LittleEndian.PutUint32(dst[start:], uint32(len(dst)-start))
	return dst
}

func appendCString(dst []byte, s string) []byte {
	s = strings.ReplaceAll(s, "\x00", "")
	return append(append(dst, s...), 0)
}

func appendElem(dst []byte, k string, v any) []byte {
	le := binary.LittleEndian
	switch x := v.(type) {
	case float64:
		dst = appendCString(append(dst, 0x01), k)
		return le.AppendUint64(dst, math.Float64bits(x))
	case string:
		dst = appendCString(append(dst, 0x02), k)
		dst = le.AppendUint32(dst, uint32(len(x)+1))
		return append(append(dst, x...), 0)
	case D:
		return x.encode(appendCString(append(dst, 0x03), k))
	case A:
		d := make(D, len(x))
		for i, v := range x {
			d[i] = E{strconv.Itoa(i), v}
		}
		return d.encode(appendCString(append(dst, 0x04), k))
	case []string:
		a := make(A, len(x))
		for i, s := range x {
			a[i] = s
		}
		return appendElem(dst, k, a)
	case Binary:
		dst = appendCString(append(dst, 0x05), k)
		dst = le.AppendUint32(dst, uint32(len(x.Data)))
		return append(append(dst, x.Sub), x.Data...)
	case []byte:
		return appendElem(dst, k, Binary{Data: x})
	case ObjectID:
		return append(appendCString(append(dst, 0x07), k), x[:]...)
	case bool:
		dst = appendCString(append(dst, 0x08), k)
		if x {
			return append(dst, 1)
		}
		return append(dst, 0)
	case time.Time:
		dst = appendCString(append(dst, 0x09), k)
		return le.AppendUint64(dst, uint64(x.UnixMilli()))
	case nil:
		return appendCString(append(dst, 0x0A), k)
	case int32:
		dst = appendCString(append(dst, 0x10), k)
		return le.AppendUint32(dst, uint32(x))
	case int:
		if x >= math.MinInt32 && x <= math.MaxInt32 {
			return appendElem(dst, k, int32(x))
		}
		return appendElem(dst, k, int64(x))
	case Timestamp:
		dst = appendCString(append(dst, 0x11), k)
		dst = le.AppendUint32(dst, x.I)
		return le.AppendUint32(dst, x.T)
	case int64:
		dst = appendCString(append(dst, 0x12), k)
		return le.AppendUint64(dst, uint64(x))
	case rawVal:
		return append(appendCString(append(dst, x.typ), k), x.b...)
	}
	return appendCString(append(dst, 0x0A), k)
}

// toJSON writes a value as relaxed Extended JSON (for events and the
// quarantine); cut bounds the output.
func toJSON(v any, max int) string {
	var sb strings.Builder
	writeJSON(&sb, v, max, 0)
	s := sb.String()
	if len(s) > max {
		s = s[:max]
		for !utf8.ValidString(s) && len(s) > 0 {
			s = s[:len(s)-1]
		}
	}
	return s
}

func writeJSON(sb *strings.Builder, v any, max, depth int) {
	if sb.Len() > max || depth > maxDepth {
		return
	}
	switch x := v.(type) {
	case D:
		sb.WriteByte('{')
		for i, e := range x {
			if i > 0 {
				sb.WriteString(", ")
			}
			sb.WriteString(strconv.Quote(e.K))
			sb.WriteString(": ")
			writeJSON(sb, e.V, max, depth+1)
			if sb.Len() > max {
				return
			}
		}
		sb.WriteByte('}')
	case A:
		sb.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				sb.WriteString(", ")
			}
			writeJSON(sb, e, max, depth+1)
			if sb.Len() > max {
				return
			}
		}
		sb.WriteByte(']')
	case string:
		sb.WriteString(strconv.Quote(x))
	case float64:
		sb.WriteString(strconv.FormatFloat(x, 'g', -1, 64))
	case int32:
		sb.WriteString(strconv.FormatInt(int64(x), 10))
	case int64:
		sb.WriteString(strconv.FormatInt(x, 10))
	case int:
		sb.WriteString(strconv.Itoa(x))
	case bool:
		sb.WriteString(strconv.FormatBool(x))
	case nil:
		sb.WriteString("null")
	case ObjectID:
		sb.WriteString(`{"$oid": "` + hex.EncodeToString(x[:]) + `"}`)
	case time.Time:
		sb.WriteString(`{"$date": "` + x.UTC().Format("2006-01-02T15:04:05.000Z") + `"}`)
	case Binary:
		sb.WriteString(`{"$binary": {"base64": "` + base64.StdEncoding.EncodeToString(x.Data) + `", "subType": "` + hex.EncodeToString([]byte{x.Sub}) + `"}}`)
	case Timestamp:
		sb.WriteString(`{"$timestamp": {"t": ` + strconv.FormatUint(uint64(x.T), 10) + `, "i": ` + strconv.FormatUint(uint64(x.I), 10) + `}}`)
	case rawVal:
		sb.WriteString(`{"$bsonType": ` + strconv.Itoa(int(x.typ)) + `, "raw": "` + base64.StdEncoding.EncodeToString(x.b) + `"}`)
	default:
		sb.WriteString("null")
	}
}
