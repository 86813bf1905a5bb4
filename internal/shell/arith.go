package shell

import (
	"errors"
	"strconv"
	"strings"
)

// errArith is a bad arithmetic expression; bash prints a message and
// the command does not run.
var errArith = errors.New("arithmetic syntax error")

// arith evaluates a bash $(( )) expression over 64-bit integers: numbers
// (decimal, 0x hex, 0 octal), variables (unset or not a number is 0),
// parentheses, unary + - ! ~, ** * / % + - << >> < <= > >= == != & ^ |
// && || and ?:. Bounded by the expression's length (MaxLine).
func arith(expr string, variable func(string) string) (int64, error) {
	p := &arithParser{s: expr, variable: variable}
	v, err := p.ternary()
	if err != nil {
		return 0, err
	}
	p.blank()
	if p.i != len(p.s) {
		return 0, errArith
	}
	return v, nil
}

type arithParser struct {
	s        string
	i        int
	depth    int
	variable func(string) string
}

func (p *arithParser) blank() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t' || p.s[p.i] == '\n') {
		p.i++
	}
}

// eat consumes op when it is next (and not the start of a longer one).
func (p *arithParser) eat(op string) bool {
	p.blank()
	if !strings.HasPrefix(p.s[p.i:], op) {
		return false
	}
	next := p.s[p.i+len(op):]
	for _, longer := range []string{"=", "*", "&", "|", "<", ">"} {
		if strings.HasPrefix(next, longer) && (op == "*" && longer == "*" || op == "&" && longer == "&" || op == "|" && longer == "|" ||
			op == "<" && (longer == "<" || longer == "=") || op == ">" && (longer == ">" || longer == "=") || op == "=" && longer == "=" ||
			op == "!" && longer == "=") {
			return false
		}
	}
	p.i += len(op)
	return true
}

func (p *arithParser) ternary() (int64, error) {
	c, err := p.binary(0)
	if err != nil || !p.eat("?") {
		return c, err
	}
	a, err := p.ternary()
	if err != nil {
		return 0, err
	}
	if !p.eat(":") {
		return 0, errArith
	}
	b, err := p.ternary()
	if err != nil {
		return 0, err
	}
	if c != 0 {
		return a, nil
	}
	return b, nil
}

// levels are the binary operators, loosest first.
var levels = [][]string{{"||"}, {"&&"}, {"|"}, {"^"}, {"&"}, {"==", "!="}, {"<=", ">=", "<", ">"}, {"<<", ">>"}, {"+", "-"}, {"*", "/", "%"}}

func (p *arithParser) binary(level int) (int64, error) {
	if level == len(levels) {
		return p.power()
	}
	l, err := p.binary(level + 1)
	if err != nil {
		return 0, err
	}
	for {
		op := ""
		for _, o := range levels[level] {
			if p.eat(o) {
				op = o
				break
			}
		}
		if op == "" {
			return l, nil
		}
		r, err := p.binary(level + 1)
		if err != nil {
			return 0, err
		}
		if l, err = apply(op, l, r); err != nil {
			return 0, err
		}
	}
}

func apply(op string, l, r int64) (int64, error) {
	b := func(v bool) int64 {
		if v {
			return 1
		}
		return 0
	}
	switch op {
	case "||":
		return b(l != 0 || r != 0), nil
	case "&&":
		return b(l != 0 && r != 0), nil
	case "|":
		return l | r, nil
	case "^":
		return l ^ r, nil
	case "&":
		return l & r, nil
	case "==":
		return b(l == r), nil
	case "!=":
		return b(l != r), nil
	case "<=":
		return b(l <= r), nil
	case ">=":
		return b(l >= r), nil
	case "<":
		return b(l < r), nil
	case ">":
		return b(l > r), nil
	case "<<":
		return l << (uint64(r) & 63), nil
	case ">>":
		return l >> (uint64(r) & 63), nil
	case "+":
		return l + r, nil
	case "-":
		return l - r, nil
	case "*":
		return l * r, nil
	case "/", "%":
		if r == 0 {
			return 0, errDivZero
		}
		if r == -1 {
			if op == "/" {
				return -l, nil
			}
			return 0, nil
		}
		if op == "/" {
			return l / r, nil
		}
		return l % r, nil
	}
	return 0, errArith
}

var errDivZero = errors.New("division by 0")

func (p *arithParser) power() (int64, error) {
	base, err := p.unary()
	if err != nil || !p.eat("**") {
		return base, err
	}
	exp, err := p.power()
	if err != nil {
		return 0, err
	}
	if exp < 0 {
		return 0, errors.New("exponent less than 0")
	}
	v := int64(1)
	for range min(exp, 64) {
		v *= base
	}
	return v, nil
}

func (p *arithParser) unary() (int64, error) {
	if p.depth++; p.depth > 200 {
		return 0, errArith
	}
	defer func() { p.depth-- }()
	switch {
	case p.eat("!"):
		v, err := p.unary()
		if v == 0 {
			return 1, err
		}
		return 0, err
	case p.eat("~"):
		v, err := p.unary()
		return ^v, err
	case p.eat("-"):
		v, err := p.unary()
		return -v, err
	case p.eat("+"):
		return p.unary()
	case p.eat("("):
		v, err := p.ternary()
		if err != nil {
			return 0, err
		}
		if !p.eat(")") {
			return 0, errArith
		}
		return v, nil
	}
	p.blank()
	start := p.i
	for p.i < len(p.s) && (isWordByte(p.s[p.i])) {
		p.i++
	}
	tok := p.s[start:p.i]
	if tok == "" {
		return 0, errArith
	}
	if tok[0] >= '0' && tok[0] <= '9' {
		return number(tok)
	}
	if tok[0] == '$' {
		tok = tok[1:]
	}
	v, err := number(strings.TrimSpace(p.variable(tok)))
	if err != nil {
		return 0, nil // bash takes a non-numeric value as 0 here
	}
	return v, nil
}

func isWordByte(c byte) bool {
	return c == '_' || c == '$' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func number(tok string) (int64, error) {
	if tok == "" {
		return 0, nil
	}
	base := 10
	switch {
	case strings.HasPrefix(tok, "0x"), strings.HasPrefix(tok, "0X"):
		base, tok = 16, tok[2:]
	case len(tok) > 1 && tok[0] == '0':
		base = 8
	}
	v, err := strconv.ParseInt(tok, base, 64)
	if err != nil {
		if u, uerr := strconv.ParseUint(tok, base, 64); uerr == nil {
			return int64(u), nil
		}
		return 0, errArith
	}
	return v, nil
}
