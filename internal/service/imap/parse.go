package imap

import (
	"errors"
	"strconv"
	"strings"
)

// item is one parsed IMAP argument: an atom, a string (quoted or
// literal), NIL or a parenthesized list. Atoms keep brackets, so
// BODY[HEADER.FIELDS (SUBJECT)] arrives as the atom "BODY[HEADER.FIELDS"
// followed by a list and the atom "]".
type item struct {
	s      string
	list   []item
	isList bool
	quoted bool // a quoted string or literal, not an atom
}

func (it item) String() string {
	if !it.isList {
		return it.s
	}
	parts := make([]string, len(it.list))
	for i, x := range it.list {
		parts[i] = x.String()
	}
	return "(" + strings.Join(parts, " ") + ")"
}

var errSyntax = errors.New("syntax")

// maxDepth bounds list nesting.
const maxDepth = 16

// parseArgs parses a command's arguments. lits are the command's literals
// in order; the text holds a NUL byte where each one was.
func parseArgs(text string, lits [][]byte) ([]item, error) {
	p := &parser{s: text, lits: lits}
	items, err := p.seq(0)
	if err != nil {
		return nil, err
	}
	if p.i < len(p.s) {
		return nil, errSyntax // unbalanced ")"
	}
	return items, nil
}

type parser struct {
	s    string
	i    int
	lits [][]byte
	lit  int
}

func (p *parser) seq(depth int) ([]item, error) {
	var out []item
	for {
		for p.i < len(p.s) && p.s[p.i] == ' ' {
			p.i++
		}
		if p.i >= len(p.s) {
			if depth > 0 {
				return nil, errSyntax
			}
			return out, nil
		}
		switch c := p.s[p.i]; c {
		case ')':
			if depth == 0 {
				return out, nil
			}
			p.i++
			return out, nil
		case '(':
			if depth >= maxDepth {
				return nil, errSyntax
			}
			p.i++
			inner, err := p.seq(depth + 1)
			if err != nil {
				return nil, err
			}
			out = append(out, item{list: inner, isList: true})
		case '"':
			s, err := p.quoted()
			if err != nil {
				return nil, err
			}
			out = append(out, item{s: s, quoted: true})
		case 0:
			p.i++
			if p.lit >= len(p.lits) {
				return nil, errSyntax
			}
			out = append(out, item{s: string(p.lits[p.lit]), quoted: true})
			p.lit++
		default:
			start := p.i
			depthBr := 0
			for p.i < len(p.s) {
				c := p.s[p.i]
				if c == '[' {
					depthBr++
				}
				if c == ']' {
					depthBr--
				}
				if depthBr <= 0 && (c == ' ' || c == ')' || c == '(' || c == '"') || c == 0 {
					break
				}
				p.i++
			}
			if p.i == start {
				return nil, errSyntax
			}
			out = append(out, item{s: p.s[start:p.i]})
		}
	}
}

func (p *parser) quoted() (string, error) {
	var b strings.Builder
	p.i++ // opening quote
	for p.i < len(p.s) {
		c := p.s[p.i]
		p.i++
		switch c {
		case '"':
			return b.String(), nil
		case '\\':
			if p.i >= len(p.s) {
				return "", errSyntax
			}
			b.WriteByte(p.s[p.i])
			p.i++
		default:
			b.WriteByte(c)
		}
	}
	return "", errSyntax
}

// literalSize reads a line's trailing literal announcement: {n} or {n+}.
func literalSize(line string) (n int, nonSync, ok bool) {
	if !strings.HasSuffix(line, "}") {
		return 0, false, false
	}
	open := strings.LastIndexByte(line, '{')
	if open < 0 {
		return 0, false, false
	}
	num := line[open+1 : len(line)-1]
	if strings.HasSuffix(num, "+") {
		nonSync, num = true, num[:len(num)-1]
	}
	v, err := strconv.Atoi(num)
	if err != nil || v < 0 || len(num) > 10 {
		return 0, false, false
	}
	return v, nonSync, true
}

// seqSet is an IMAP sequence set: numbers and ranges, "*" the largest.
type seqSet [][2]uint32

// parseSeqSet reads a set; star is the value "*" stands for.
func parseSeqSet(s string, star uint32) (seqSet, error) {
	if s == "" || len(s) > 4096 {
		return nil, errSyntax
	}
	num := func(t string) (uint32, error) {
		if t == "*" {
			return star, nil
		}
		v, err := strconv.ParseUint(t, 10, 32)
		if err != nil || v == 0 {
			return 0, errSyntax
		}
		return uint32(v), nil
	}
	var out seqSet
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, ":")
		a, err := num(lo)
		if err != nil {
			return nil, err
		}
		b := a
		if isRange {
			if b, err = num(hi); err != nil {
				return nil, err
			}
		}
		if a > b {
			a, b = b, a
		}
		out = append(out, [2]uint32{a, b})
	}
	return out, nil
}

func (s seqSet) has(v uint32) bool {
	for _, r := range s {
		if v >= r[0] && v <= r[1] {
			return true
		}
	}
	return false
}

// quote renders s as an IMAP string: quoted when it can be, a literal when
// it holds line breaks, quotes beyond escaping or 8-bit bytes.
func quote(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '\r' || c == '\n' || c >= 0x80 || c == 0 {
			return "{" + strconv.Itoa(len(s)) + "}\r\n" + s
		}
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// nstring renders s, or NIL when it is empty.
func nstring(s string) string {
	if s == "" {
		return "NIL"
	}
	return quote(s)
}
