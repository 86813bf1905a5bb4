package mongodb

import (
	"bytes"
	"testing"
)

func seedDoc() []byte {
	return D{{"hello", int32(1)}, {"client", D{{"driver", D{{"name", "nodejs"}, {"version", "6.3.0"}}}}},
		{"compression", A{"none"}}, {"payload", Binary{Data: []byte("n,,n=a,r=x")}}, {"f", 1.5}, {"l", int64(7)},
		{"o", ObjectID{1, 2, 3}}, {"n", nil}, {"b", true}, {"ts", Timestamp{1, 2}}, {"$db", "admin"}}.encode(nil)
}

// FuzzBSON: decoding never panics, and what decodes re-encodes to a
// document that decodes to the same bytes again.
func FuzzBSON(f *testing.F) {
	f.Add(seedDoc())
	f.Add([]byte{5, 0, 0, 0, 0})
	f.Add([]byte{0x0c, 0, 0, 0, 0x0b, 'a', 0, 'x', 0, 'i', 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := decodeDoc(b)
		if err != nil {
			return
		}
		enc := d.encode(nil)
		d2, err := decodeDoc(enc)
		if err != nil {
			t.Fatalf("re-encoded document does not decode: %v", err)
		}
		if !bytes.Equal(d2.encode(nil), enc) {
			t.Fatalf("encoding is not stable")
		}
		_ = toJSON(d, 4096)
	})
}

// FuzzOpMsg: the OP_MSG and OP_QUERY parsers never panic and keep their
// bounds.
func FuzzOpMsg(f *testing.F) {
	doc := seedDoc()
	f.Add(append([]byte{0, 0, 0, 0, 0}, doc...))
	seq := append([]byte{1, 0, 0, 0, 0}, "documents\x00"...)
	seq = append(seq, doc...)
	seq[1] = byte(len(seq) - 1)
	f.Add(append(append([]byte{0, 0, 0, 0, 0}, doc...), seq...))
	f.Add(append(append([]byte{1, 0, 0, 0, 0}, doc...), 1, 2, 3, 4))
	f.Add(append(append([]byte{0, 0, 0, 0}, "admin.$cmd\x00\x00\x00\x00\x00\xff\xff\xff\xff"...), doc...))
	f.Fuzz(func(t *testing.T, b []byte) {
		if m, err := parseMsg(b); err == nil {
			if m.body == nil {
				t.Fatal("OP_MSG without body accepted")
			}
			for _, s := range m.seqs {
				if len(s.docs) > maxSeqDocs {
					t.Fatal("sequence over bound")
				}
			}
		}
		if q, err := parseQuery(b); err == nil {
			_ = q.db()
		}
		_, _ = parseClientFirst(string(b))
		_, _ = parseClientFinal(string(b))
	})
}
