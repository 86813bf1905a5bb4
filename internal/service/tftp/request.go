package tftp

import (
	"bytes"
	"strconv"
	"strings"
)

// TFTP opcodes (RFC 1350, 2347).
const (
	opRRQ   = 1
	opWRQ   = 2
	opDATA  = 3
	opACK   = 4
	opERROR = 5
	opOACK  = 6
)

// Error codes and tftpd-hpa's messages for them.
const (
	errUndef    = 0
	errNotFound = 1
	errAccess   = 2
	errNoSpace  = 3
	errBadOp    = 4
	errOptNeg   = 8
)

// tftpError is an ERROR packet to send.
type tftpError struct {
	code uint16
	msg  string
}

var (
	errFileNotFound = &tftpError{errNotFound, "File not found"}
	errPermission   = &tftpError{errUndef, "Permission denied"} // EACCES+100: strerror, code 0
	errIsDir        = &tftpError{errUndef, "Is a directory"}
	errDiskFull     = &tftpError{errNoSpace, "Disk full or allocation exceeded"}
	errUnterminated = &tftpError{errBadOp, "Request not null-terminated"}
	errMissingMode  = &tftpError{errBadOp, "Missing mode"}
	errUnknownMode  = &tftpError{errBadOp, "Unknown mode"}
	errUnsupported  = &tftpError{errOptNeg, "Unsupported option(s) requested"}
	errOptSpace     = &tftpError{errOptNeg, "Insufficient space for options"}
)

func (e *tftpError) packet() []byte {
	b := []byte{0, opERROR, byte(e.code >> 8), byte(e.code)}
	return append(append(b, e.msg...), 0)
}

// Transfer parameters tftpd-hpa negotiates.
const (
	defaultSegsize = 512
	maxSegsize     = 65464 // MAX_SEGSIZE
	pktSize        = maxSegsize + 4
	defaultRexmt   = 1_000_000 // microseconds
	timeoutLimit   = 63        // (1 << TRIES) - 1 with TRIES 6
)

// params are a transfer's negotiated parameters.
type params struct {
	segsize  int
	rexmtUS  uint64 // retransmission timeout, microseconds
	rollover uint16
	tsize    uint64
	tsizeOK  bool
}

// option is one RFC 2347 option as the client sent it.
type option struct{ name, value string }

// request is a parsed RRQ or WRQ.
type request struct {
	op       uint16
	filename string
	mode     string
	opts     []option // as requested
	acked    []option // as acknowledged
}

// validator checks the file of a request once its name and mode are
// known, as tftpd-hpa's validate_access does before any option is read,
// and fills the file-dependent parameters (tsize).
type validator func(r *request, p *params) *tftpError

// parseRequest reads an RRQ or WRQ as tftpd-hpa's tftp() does, token by
// token, validating the file after the mode and applying each option as
// its value ends. It returns nil, nil for a packet tftpd-hpa ignores.
func parseRequest(b []byte, validate validator, p *params) (*request, *tftpError) {
	if len(b) < 2 {
		return nil, nil
	}
	r := &request{op: uint16(b[0])<<8 | uint16(b[1])}
	if r.op != opRRQ && r.op != opWRQ {
		return nil, nil // tftpd-hpa serves only requests on its port
	}
	*p = params{segsize: defaultSegsize, rexmtUS: defaultRexmt}
	cp, end := 2, len(b)
	argn := 0
	var opt string
	oackLen := 2
	modeSeen := false
	for cp < end && b[cp] != 0 {
		i := bytes.IndexByte(b[cp:], 0)
		if i < 0 {
			return r, errUnterminated
		}
		tok := string(b[cp : cp+i])
		cp += i + 1
		argn++
		switch {
		case argn == 1:
			r.filename = tok
		case argn == 2:
			modeSeen = true
			r.mode = strings.ToLower(tok)
			if r.mode != "netascii" && r.mode != "octet" {
				return r, errUnknownMode
			}
			if e := validate(r, p); e != nil {
				return r, e
			}
		case argn%2 == 1:
			opt = tok
		default:
			r.opts = append(r.opts, option{opt, tok})
			v, ok, e := doOption(opt, tok, p)
			if e != nil {
				return r, e
			}
			if ok {
				oackLen += len(opt) + 1 + len(v) + 1
				if oackLen >= pktSize {
					return r, errOptSpace
				}
				r.acked = append(r.acked, option{opt, v})
			}
		}
	}
	if !modeSeen {
		return r, errMissingMode
	}
	return r, nil
}

// doOption applies one option as tftpd-hpa's do_opt: an unknown option,
// an empty one or a value that is not a number is ignored; a known
// option with a value out of range fails the whole request.
func doOption(name, val string, p *params) (string, bool, *tftpError) {
	if name == "" || val == "" {
		return "", false, nil
	}
	v, ok := strtoumax(val)
	if !ok {
		return "", false, nil
	}
	accept := false
	switch strings.ToLower(name) {
	case "blksize":
		if v >= 8 {
			v = min(v, maxSegsize)
			p.segsize, accept = int(v), true
		}
	case "blksize2":
		if v >= 8 {
			if v > maxSegsize {
				v = maxSegsize
			} else if v&(v-1) != 0 {
				pow := uint64(1)
				for v >>= 1; v > 0; v >>= 1 {
					pow <<= 1
				}
				v = pow
			}
			p.segsize, accept = int(v), true
		}
	case "tsize":
		if p.tsizeOK {
			if v == 0 {
				v = p.tsize
			}
			accept = true
		}
	case "timeout":
		if v >= 1 && v <= 255 {
			p.rexmtUS, accept = v*1_000_000, true
		}
	case "utimeout":
		if v >= 10_000 && v <= 255_000_000 {
			p.rexmtUS, accept = v, true
		}
	case "rollover":
		if v <= 65535 {
			p.rollover, accept = uint16(v), true
		}
	default:
		return "", false, nil
	}
	if !accept {
		return "", false, errUnsupported
	}
	return strconv.FormatUint(v, 10), true, nil
}

// strtoumax parses as C's strtoumax with base 10 and a full match
// required: leading spaces, an optional sign (a minus negates modulo
// 2^64), digits; overflow fails.
func strtoumax(s string) (uint64, bool) {
	s = strings.TrimLeft(s, " \t\n\v\f\r")
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	if s == "" || s[0] < '0' || s[0] > '9' {
		return 0, false
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, false
	}
	if neg {
		v = -v
	}
	return v, true
}
