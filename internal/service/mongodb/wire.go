package mongodb

import (
	"encoding/binary"
	"errors"
	"io"
	"strings"
)

// Wire protocol opcodes.
const (
	opReply      = 1
	opQuery      = 2004
	opGetMore    = 2005
	opCompressed = 2012
	opMsg        = 2013
)

// maxMessage is maxMessageSizeBytes: mongod refuses larger messages.
const maxMessage = 48000000

// readCap is the most the decoy buffers of one message: commands and
// ransom notes are small; a bigger message is refused and the connection
// closed, as mongod does with an oversize one.
const readCap = 16 << 20

// header is a standard message header.
type header struct {
	length, requestID, responseTo, opCode int32
}

var errTooBig = errors.New("message too big")

// readMessage reads one message: its header and body.
func readMessage(r io.Reader) (header, []byte, error) {
	var hb [16]byte
	if _, err := io.ReadFull(r, hb[:]); err != nil {
		return header{}, nil, err
	}
	le := binary.LittleEndian
	h := header{int32(le.Uint32(hb[0:])), int32(le.Uint32(hb[4:])), int32(le.Uint32(hb[8:])), int32(le.Uint32(hb[12:]))}
	if h.length < 16 || h.length > maxMessage || h.length > readCap {
		return h, nil, errTooBig
	}
	body := make([]byte, h.length-16)
	if _, err := io.ReadFull(r, body); err != nil {
		return h, nil, err
	}
	return h, body, nil
}

// msg is a parsed OP_MSG.
type msg struct {
	flags uint32
	body  D
	// seqs are the kind-1 document sequences by identifier.
	seqs []docSeq
}

type docSeq struct {
	id   string
	docs []D
}

// maxSeqDocs bounds the documents of one sequence (maxWriteBatchSize).
const maxSeqDocs = 100000

var errMsg = errors.New("invalid OP_MSG")

// parseMsg parses an OP_MSG body (after the header).
func parseMsg(b []byte) (*msg, error) {
	if len(b) < 5 {
		return nil, errMsg
	}
	m := &msg{flags: binary.LittleEndian.Uint32(b)}
	b = b[4:]
	if m.flags&1 != 0 { // checksumPresent
		if len(b) < 4 {
			return nil, errMsg
		}
		b = b[:len(b)-4]
	}
	if m.flags&^uint32(1|2|1<<16) != 0 {
		return nil, errMsg
	}
	gotBody := false
	for len(b) > 0 {
		kind := b[0]
		b = b[1:]
		switch kind {
		case 0:
			if gotBody {
				return nil, errMsg
			}
			n, err := docLen(b)
			if err != nil {
				return nil, err
			}
			d, err := decodeDoc(b[:n])
			if err != nil {
				return nil, err
			}
			m.body, gotBody = d, true
			b = b[n:]
		case 1:
			if len(b) < 4 {
				return nil, errMsg
			}
			n := int(int32(binary.LittleEndian.Uint32(b)))
			if n < 5 || n > len(b) {
				return nil, errMsg
			}
			sec := b[4:n]
			b = b[n:]
			i := indexZero(sec)
			if i < 0 {
				return nil, errMsg
			}
			s := docSeq{id: string(sec[:i])}
			sec = sec[i+1:]
			for len(sec) > 0 {
				dn, err := docLen(sec)
				if err != nil {
					return nil, err
				}
				d, err := decodeDoc(sec[:dn])
				if err != nil {
					return nil, err
				}
				if len(s.docs) >= maxSeqDocs {
					return nil, errMsg
				}
				s.docs = append(s.docs, d)
				sec = sec[dn:]
			}
			m.seqs = append(m.seqs, s)
		default:
			return nil, errMsg
		}
	}
	if !gotBody {
		return nil, errMsg
	}
	return m, nil
}

// query is a parsed OP_QUERY.
type query struct {
	flags      uint32
	collection string
	skip, ret  int32
	doc        D
}

var errQuery = errors.New("invalid OP_QUERY")

func parseQuery(b []byte) (*query, error) {
	if len(b) < 4 {
		return nil, errQuery
	}
	q := &query{flags: binary.LittleEndian.Uint32(b)}
	b = b[4:]
	i := indexZero(b)
	if i < 0 {
		return nil, errQuery
	}
	q.collection = string(b[:i])
	b = b[i+1:]
	if len(b) < 8 {
		return nil, errQuery
	}
	q.skip = int32(binary.LittleEndian.Uint32(b))
	q.ret = int32(binary.LittleEndian.Uint32(b[4:]))
	b = b[8:]
	n, err := docLen(b)
	if err != nil {
		return nil, err
	}
	if q.doc, err = decodeDoc(b[:n]); err != nil {
		return nil, err
	}
	if rest := b[n:]; len(rest) > 0 { // returnFieldsSelector
		if _, err := decodeDoc(rest); err != nil {
			return nil, err
		}
	}
	return q, nil
}

// db returns the database of an OP_QUERY namespace ("admin.$cmd").
func (q *query) db() string {
	db, _, _ := strings.Cut(q.collection, ".")
	return db
}

func appendHeader(dst []byte, reqID, responseTo, op int32) []byte {
	le := binary.LittleEndian
	dst = le.AppendUint32(dst, 0)
	dst = le.AppendUint32(dst, uint32(reqID))
	dst = le.AppendUint32(dst, uint32(responseTo))
	return le.AppendUint32(dst, uint32(op))
}

func finish(b []byte) []byte {
	binary.LittleEndian.PutUint32(b, uint32(len(b)))
	return b
}

// encodeMsg builds an OP_MSG reply with one body section.
func encodeMsg(reqID, responseTo int32, body D) []byte {
	b := appendHeader(make([]byte, 0, 256), reqID, responseTo, opMsg)
	b = binary.LittleEndian.AppendUint32(b, 0)
	b = append(b, 0)
	return finish(body.encode(b))
}

// encodeReply builds an OP_REPLY with one document.
func encodeReply(reqID, responseTo int32, flags uint32, doc D) []byte {
	le := binary.LittleEndian
	b := appendHeader(make([]byte, 0, 256), reqID, responseTo, opReply)
	b = le.AppendUint32(b, flags)
	b = le.AppendUint64(b, 0)
	b = le.AppendUint32(b, 0)
	b = le.AppendUint32(b, 1)
	return finish(doc.encode(b))
}
