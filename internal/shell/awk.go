package shell

import (
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// awk runs the programs one-liners use: BEGIN and END blocks, patterns
// (/re/, !/re/, comparisons, && ||) with actions of print, printf,
// assignments (= += -= ++), over fields ($1, $NF, $(NF-1)), NR, NF,
// strings, numbers, concatenation, arithmetic, ~ !~, and length,
// substr, tolower, toupper, index. Anything else is a syntax error, as
// the real awk would say for what it does not parse; execution is
// bounded by MaxOutput and a step budget.

type awkTok struct {
	kind byte // n number, s string, r regex, i identifier, f field $, p punctuation, e end
	text string
}

type awkRule struct {
	begin, end bool
	pattern    *awkNode // nil: every line
	action     []*awkNode
	hasAction  bool
}

type awkNode struct {
	op   string
	text string
	num  float64
	kids []*awkNode
}

type awkParser struct {
	toks []awkTok
	i    int
}

func awkLex(src string) ([]awkTok, error) {
	var toks []awkTok
	prevValue := func() bool {
		if len(toks) == 0 {
			return false
		}
		t := toks[len(toks)-1]
		return t.kind == 'n' || t.kind == 's' || t.kind == 'i' || t.text == ")" || t.text == "$"
	}
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r':
			i++
		case c == '\n' || c == ';':
			toks = append(toks, awkTok{'p', ";"})
			i++
		case c == '"':
			var b strings.Builder
			j := i + 1
			for ; j < len(src) && src[j] != '"'; j++ {
				if src[j] == '\\' && j+1 < len(src) {
					j++
					switch src[j] {
					case 'n':
						b.WriteByte('\n')
					case 't':
						b.WriteByte('\t')
					default:
						b.WriteByte(src[j])
					}
					continue
				}
				b.WriteByte(src[j])
			}
			if j >= len(src) {
				return nil, fmt.Errorf("non-terminated string")
			}
			toks = append(toks, awkTok{'s', b.String()})
			i = j + 1
		case c == '/' && !prevValue():
			j := i + 1
			for ; j < len(src) && src[j] != '/'; j++ {
				if src[j] == '\\' {
					j++
				}
			}
			if j >= len(src) {
				return nil, fmt.Errorf("non-terminated regular expression")
			}
			toks = append(toks, awkTok{'r', src[i+1 : j]})
			i = j + 1
		case c >= '0' && c <= '9' || c == '.':
			j := i
			for j < len(src) && (src[j] >= '0' && src[j] <= '9' || src[j] == '.') {
				j++
			}
			toks = append(toks, awkTok{'n', src[i:j]})
			i = j
		case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			j := i
			for j < len(src) && isWordByte(src[j]) && src[j] != '$' {
				j++
			}
			toks = append(toks, awkTok{'i', src[i:j]})
			i = j
		default:
			op := string(c)
			for _, two := range []string{"==", "!=", "<=", ">=", "&&", "||", "+=", "-=", "*=", "/=", "++", "--", "!~"} {
				if strings.HasPrefix(src[i:], two) {
					op = two
					break
				}
			}
			if !strings.Contains("{}()$,=<>!~+-*/%&|;?:", op[:1]) {
				return nil, fmt.Errorf("syntax error at %q", op)
			}
			toks = append(toks, awkTok{'p', op})
			i += len(op)
		}
		if len(toks) > 4096 {
			return nil, fmt.Errorf("program too long")
		}
	}
	return append(toks, awkTok{'e', ""}), nil
}

func (p *awkParser) peek() awkTok { return p.toks[p.i] }

func (p *awkParser) is(text string) bool {
	t := p.peek()
	return (t.kind == 'p' || t.kind == 'i') && t.text == text
}

func (p *awkParser) accept(text string) bool {
	if p.is(text) {
		p.i++
		return true
	}
	return false
}

func (p *awkParser) skipSemis() {
	for p.accept(";") {
	}
}

func (p *awkParser) program() ([]awkRule, error) {
	var rules []awkRule
	for p.skipSemis(); p.peek().kind != 'e'; p.skipSemis() {
		var r awkRule
		switch {
		case p.accept("BEGIN"):
			r.begin = true
		case p.accept("END"):
			r.end = true
		case !p.is("{"):
			e, err := p.expr()
			if err != nil {
				return nil, err
			}
			r.pattern = e
		}
		if p.accept("{") {
			r.hasAction = true
			for p.skipSemis(); !p.accept("}"); p.skipSemis() {
				if p.peek().kind == 'e' {
					return nil, fmt.Errorf("unexpected end of program")
				}
				st, err := p.statement()
				if err != nil {
					return nil, err
				}
				r.action = append(r.action, st)
			}
		} else if r.begin || r.end {
			return nil, fmt.Errorf("BEGIN and END need an action")
		}
		rules = append(rules, r)
	}
	return rules, nil
}

func (p *awkParser) statement() (*awkNode, error) {
	if p.accept("print") || p.is("printf") {
		op := "print"
		if p.accept("printf") {
			op = "printf"
		}
		n := &awkNode{op: op}
		for !p.is(";") && !p.is("}") && p.peek().kind != 'e' {
			e, err := p.concat()
			if err != nil {
				return nil, err
			}
			n.kids = append(n.kids, e)
			if !p.accept(",") {
				break
			}
		}
		return n, nil
	}
	return p.expr()
}

func (p *awkParser) expr() (*awkNode, error) {
	l, err := p.or()
	if err != nil {
		return nil, err
	}
	for _, op := range []string{"=", "+=", "-=", "*=", "/="} {
		if p.accept(op) {
			if l.op != "var" && l.op != "field" {
				return nil, fmt.Errorf("syntax error: assignment to a non-variable")
			}
			r, err := p.expr()
			if err != nil {
				return nil, err
			}
			return &awkNode{op: "assign", text: op, kids: []*awkNode{l, r}}, nil
		}
	}
	return l, nil
}

func (p *awkParser) or() (*awkNode, error) {
	return p.binaryOf([]string{"||"}, p.and)
}

func (p *awkParser) and() (*awkNode, error) {
	return p.binaryOf([]string{"&&"}, p.match)
}

func (p *awkParser) match() (*awkNode, error) {
	return p.binaryOf([]string{"~", "!~"}, p.compare)
}

func (p *awkParser) compare() (*awkNode, error) {
	return p.binaryOf([]string{"==", "!=", "<=", ">=", "<", ">"}, p.concat)
}

func (p *awkParser) binaryOf(ops []string, next func() (*awkNode, error)) (*awkNode, error) {
	l, err := next()
	if err != nil {
		return nil, err
	}
	for {
		op := ""
		for _, o := range ops {
			if p.accept(o) {
				op = o
				break
			}
		}
		if op == "" {
			return l, nil
		}
		r, err := next()
		if err != nil {
			return nil, err
		}
		l = &awkNode{op: op, kids: []*awkNode{l, r}}
	}
}

// concat is juxtaposition: "a" $1 "b".
func (p *awkParser) concat() (*awkNode, error) {
	l, err := p.additive()
	if err != nil {
		return nil, err
	}
	for {
		t := p.peek()
		if !(t.kind == 'n' || t.kind == 's' || t.kind == 'i' && !isAwkKeyword(t.text) || t.text == "$" || t.text == "(") {
			return l, nil
		}
		r, err := p.additive()
		if err != nil {
			return nil, err
		}
		l = &awkNode{op: "concat", kids: []*awkNode{l, r}}
	}
}

func isAwkKeyword(s string) bool {
	return s == "print" || s == "printf" || s == "BEGIN" || s == "END" || s == "in"
}

func (p *awkParser) additive() (*awkNode, error) {
	return p.binaryOf([]string{"+", "-"}, p.multiplicative)
}

func (p *awkParser) multiplicative() (*awkNode, error) {
	return p.binaryOf([]string{"*", "/", "%"}, p.unary)
}

func (p *awkParser) unary() (*awkNode, error) {
	switch {
	case p.accept("!"):
		e, err := p.unary()
		return &awkNode{op: "not", kids: []*awkNode{e}}, err
	case p.accept("-"):
		e, err := p.unary()
		return &awkNode{op: "neg", kids: []*awkNode{e}}, err
	case p.accept("+"):
		return p.unary()
	}
	e, err := p.primary()
	if err != nil {
		return nil, err
	}
	if (e.op == "var" || e.op == "field") && (p.is("++") || p.is("--")) {
		op := p.peek().text
		p.i++
		return &awkNode{op: "post", text: op, kids: []*awkNode{e}}, nil
	}
	return e, nil
}

func (p *awkParser) primary() (*awkNode, error) {
	t := p.peek()
	p.i++
	switch t.kind {
	case 'n':
		v, err := strconv.ParseFloat(t.text, 64)
		return &awkNode{op: "num", num: v}, err
	case 's':
		return &awkNode{op: "str", text: t.text}, nil
	case 'r':
		re, err := regexp.Compile(t.text)
		if err != nil {
			return nil, err
		}
		return &awkNode{op: "re", text: re.String()}, nil
	case 'i':
		if p.accept("(") {
			call := &awkNode{op: "call", text: t.text}
			for !p.accept(")") {
				e, err := p.expr()
				if err != nil {
					return nil, err
				}
				call.kids = append(call.kids, e)
				if !p.accept(",") && !p.is(")") {
					return nil, fmt.Errorf("syntax error in a call of %s", t.text)
				}
			}
			return call, nil
		}
		return &awkNode{op: "var", text: t.text}, nil
	case 'p':
		switch t.text {
		case "$":
			e, err := p.primary()
			return &awkNode{op: "field", kids: []*awkNode{e}}, err
		case "(":
			e, err := p.expr()
			if err != nil {
				return nil, err
			}
			if !p.accept(")") {
				return nil, fmt.Errorf("syntax error: missing )")
			}
			return e, nil
		}
	}
	return nil, fmt.Errorf("syntax error at source line 1")
}

// awkVM runs a program.
type awkVM struct {
	vars   map[string]string
	fields []string
	fs     string
	nr     int
	steps  int
	out    strings.Builder
}

func (vm *awkVM) setRecord(line string) {
	vm.fields = []string{line}
	if vm.fs == " " || vm.fs == "" {
		vm.fields = append(vm.fields, strings.Fields(line)...)
	} else if len(vm.fs) == 1 {
		vm.fields = append(vm.fields, strings.Split(line, vm.fs)...)
	} else if re, err := regexp.Compile(vm.fs); err == nil {
		vm.fields = append(vm.fields, re.Split(line, -1)...)
	}
}

func awkNum(s string) float64 {
	s = strings.TrimSpace(s)
	end := 0
	for end < len(s) && (s[end] >= '0' && s[end] <= '9' || s[end] == '.' || end == 0 && (s[end] == '-' || s[end] == '+') || (s[end] == 'e' || s[end] == 'E') && end > 0) {
		end++
	}
	for end > 0 {
		if v, err := strconv.ParseFloat(s[:end], 64); err == nil {
			return v
		}
		end--
	}
	return 0
}

func awkStr(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e16 {
		return strconv.FormatInt(int64(v), 10)
	}
	return strconv.FormatFloat(v, 'g', 6, 64)
}

// looksNumeric: awk compares as numbers when both sides look numeric.
func looksNumeric(s string) bool {
	s = strings.TrimSpace(s)
	_, err := strconv.ParseFloat(s, 64)
	return s != "" && err == nil
}

type awkVal struct {
	s   string
	n   float64
	num bool // a number, not a string
}

func (v awkVal) str() string {
	if v.num {
		return awkStr(v.n)
	}
	return v.s
}

func (v awkVal) float() float64 {
	if v.num {
		return v.n
	}
	return awkNum(v.s)
}

func numVal(n float64) awkVal { return awkVal{n: n, num: true} }

func boolVal(b bool) awkVal {
	if b {
		return numVal(1)
	}
	return numVal(0)
}

func (v awkVal) truth() bool {
	if v.num {
		return v.n != 0
	}
	return v.s != ""
}

var errAwkSteps = fmt.Errorf("awk: program ran too long")

func (vm *awkVM) eval(n *awkNode) (awkVal, error) {
	if vm.steps++; vm.steps > 200_000 {
		return awkVal{}, errAwkSteps
	}
	switch n.op {
	case "num":
		return numVal(n.num), nil
	case "str":
		return awkVal{s: n.text}, nil
	case "re":
		re := regexp.MustCompile(n.text)
		return boolVal(re.MatchString(vm.fields[0])), nil
	case "var":
		switch n.text {
		case "NR", "FNR":
			return numVal(float64(vm.nr)), nil
		case "NF":
			return numVal(float64(len(vm.fields) - 1)), nil
		}
		v := vm.vars[n.text]
		if looksNumeric(v) {
			return awkVal{s: v, n: awkNum(v), num: false}, nil
		}
		return awkVal{s: v}, nil
	case "field":
		i, err := vm.eval(n.kids[0])
		if err != nil {
			return awkVal{}, err
		}
		k := int(i.float())
		if k < 0 || k >= len(vm.fields) {
			return awkVal{}, nil
		}
		return awkVal{s: vm.fields[k]}, nil
	case "concat":
		l, err := vm.eval(n.kids[0])
		if err != nil {
			return awkVal{}, err
		}
		r, err := vm.eval(n.kids[1])
		if err != nil {
			return awkVal{}, err
		}
		if len(l.str())+len(r.str()) > MaxOutput {
			return awkVal{}, errAwkSteps
		}
		return awkVal{s: l.str() + r.str()}, nil
	case "not":
		v, err := vm.eval(n.kids[0])
		return boolVal(!v.truth()), err
	case "neg":
		v, err := vm.eval(n.kids[0])
		return numVal(-v.float()), err
	case "&&", "||":
		l, err := vm.eval(n.kids[0])
		if err != nil || (n.op == "&&" && !l.truth()) || (n.op == "||" && l.truth()) {
			return boolVal(l.truth()), err
		}
		r, err := vm.eval(n.kids[1])
		return boolVal(r.truth()), err
	case "~", "!~":
		l, err := vm.eval(n.kids[0])
		if err != nil {
			return awkVal{}, err
		}
		pat := n.kids[1].text
		if n.kids[1].op != "re" {
			r, err := vm.eval(n.kids[1])
			if err != nil {
				return awkVal{}, err
			}
			pat = r.str()
		}
		re, err := regexp.Compile(pat)
		if err != nil {
			return awkVal{}, err
		}
		return boolVal(re.MatchString(l.str()) == (n.op == "~")), nil
	case "==", "!=", "<", "<=", ">", ">=":
		l, err := vm.eval(n.kids[0])
		if err != nil {
			return awkVal{}, err
		}
		r, err := vm.eval(n.kids[1])
		if err != nil {
			return awkVal{}, err
		}
		var c int
		if (l.num || looksNumeric(l.s)) && (r.num || looksNumeric(r.s)) {
			a, b := l.float(), r.float()
			c = map[bool]int{true: -1, false: 0}[a < b] + map[bool]int{true: 1, false: 0}[a > b]
		} else {
			c = strings.Compare(l.str(), r.str())
		}
		return boolVal(map[string]bool{"==": c == 0, "!=": c != 0, "<": c < 0, "<=": c <= 0, ">": c > 0, ">=": c >= 0}[n.op]), nil
	case "+", "-", "*", "/", "%":
		l, err := vm.eval(n.kids[0])
		if err != nil {
			return awkVal{}, err
		}
		r, err := vm.eval(n.kids[1])
		if err != nil {
			return awkVal{}, err
		}
		return arithAwk(n.op, l.float(), r.float())
	case "assign":
		r, err := vm.eval(n.kids[1])
		if err != nil {
			return awkVal{}, err
		}
		if n.text != "=" {
			l, err := vm.eval(n.kids[0])
			if err != nil {
				return awkVal{}, err
			}
			if r, err = arithAwk(n.text[:1], l.float(), r.float()); err != nil {
				return awkVal{}, err
			}
		}
		return r, vm.store(n.kids[0], r)
	case "post":
		l, err := vm.eval(n.kids[0])
		if err != nil {
			return awkVal{}, err
		}
		d := 1.0
		if n.text == "--" {
			d = -1
		}
		return numVal(l.float()), vm.store(n.kids[0], numVal(l.float()+d))
	case "call":
		return vm.call(n)
	}
	return awkVal{}, fmt.Errorf("syntax error")
}

func arithAwk(op string, a, b float64) (awkVal, error) {
	switch op {
	case "+":
		return numVal(a + b), nil
	case "-":
		return numVal(a - b), nil
	case "*":
		return numVal(a * b), nil
	}
	if b == 0 {
		return awkVal{}, fmt.Errorf("awk: division by zero")
	}
	if op == "/" {
		return numVal(a / b), nil
	}
	return numVal(math.Mod(a, b)), nil
}

func (vm *awkVM) store(target *awkNode, v awkVal) error {
	if target.op == "var" {
		if len(vm.vars) > 1000 {
			return errAwkSteps
		}
		vm.vars[target.text] = v.str()
		return nil
	}
	i, err := vm.eval(target.kids[0])
	if err != nil {
		return err
	}
	k := int(i.float())
	if k < 0 || k > 1000 {
		return fmt.Errorf("awk: trying to access out of range field %d", k)
	}
	for len(vm.fields) <= k {
		vm.fields = append(vm.fields, "")
	}
	vm.fields[k] = v.str()
	if k > 0 {
		vm.fields[0] = strings.Join(vm.fields[1:], " ")
	}
	return nil
}

func (vm *awkVM) call(n *awkNode) (awkVal, error) {
	var args []awkVal
	for _, k := range n.kids {
		v, err := vm.eval(k)
		if err != nil {
			return awkVal{}, err
		}
		args = append(args, v)
	}
	arg := func(i int) awkVal {
		if i < len(args) {
			return args[i]
		}
		return awkVal{}
	}
	switch n.text {
	case "length":
		if len(args) == 0 {
			return numVal(float64(len([]rune(vm.fields[0])))), nil
		}
		return numVal(float64(len([]rune(arg(0).str())))), nil
	case "tolower":
		return awkVal{s: strings.ToLower(arg(0).str())}, nil
	case "toupper":
		return awkVal{s: strings.ToUpper(arg(0).str())}, nil
	case "index":
		return numVal(float64(strings.Index(arg(0).str(), arg(1).str()) + 1)), nil
	case "substr":
		r := []rune(arg(0).str())
		start := int(math.Round(arg(1).float()))
		end := len(r) + 1
		if len(args) > 2 {
			end = start + int(math.Round(arg(2).float()))
		}
		start, end = max(start, 1), min(end, len(r)+1)
		if start >= end {
			return awkVal{}, nil
		}
		return awkVal{s: string(r[start-1 : end-1])}, nil
	}
	return awkVal{}, fmt.Errorf("calling undefined function %s", n.text)
}

func (vm *awkVM) run(stmts []*awkNode) error {
	for _, st := range stmts {
		switch st.op {
		case "print":
			var parts []string
			for _, k := range st.kids {
				v, err := vm.eval(k)
				if err != nil {
					return err
				}
				parts = append(parts, v.str())
			}
			if len(st.kids) == 0 {
				parts = []string{vm.fields[0]}
			}
			vm.out.WriteString(strings.Join(parts, " ") + "\n")
		case "printf":
			if len(st.kids) == 0 {
				return fmt.Errorf("printf: no format")
			}
			f, err := vm.eval(st.kids[0])
			if err != nil {
				return err
			}
			var vals []string
			for _, k := range st.kids[1:] {
				v, err := vm.eval(k)
				if err != nil {
					return err
				}
				vals = append(vals, v.str())
			}
			vm.out.WriteString(formatPrintf(f.str(), vals))
		default:
			if _, err := vm.eval(st); err != nil {
				return err
			}
		}
		if vm.out.Len() > MaxOutput {
			return errAwkSteps
		}
	}
	return nil
}

func cmdAwk(s *Shell, args []string, out, errw io.Writer, in []byte) int {
	fs := " "
	var prog string
	var files []string
	vars := map[string]string{}
	for i := 1; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-F" && i+1 < len(args):
			i++
			fs = args[i]
		case strings.HasPrefix(a, "-F"):
			fs = a[2:]
		case a == "-v" && i+1 < len(args):
			i++
			k, v, _ := strings.Cut(args[i], "=")
			vars[k] = v
		case prog == "":
			prog = a
		default:
			files = append(files, a)
		}
	}
	if fs == "t" || fs == `\t` {
		fs = "\t"
	}
	if prog == "" {
		fmt.Fprintf(errw, "usage: awk [-F value] [-v var=value] [--] 'program text' [file ...]\n")
		return 2
	}
	toks, err := awkLex(prog)
	var rules []awkRule
	if err == nil {
		rules, err = (&awkParser{toks: toks}).program()
	}
	if err != nil {
		fmt.Fprintf(errw, "awk: line 1: %s\n", err)
		return 2
	}
	data, code := s.inputs(files, in, "awk", errw)
	vm := &awkVM{vars: vars, fs: fs, fields: []string{""}}
	fail := func(err error) int {
		out.Write([]byte(vm.out.String()))
		fmt.Fprintf(errw, "awk: %s\n", strings.TrimPrefix(err.Error(), "awk: "))
		return 2
	}
	for _, r := range rules {
		if r.begin {
			if err := vm.run(r.action); err != nil {
				return fail(err)
			}
		}
	}
	for _, l := range lines(data) {
		vm.nr++
		vm.setRecord(strings.TrimSuffix(l, "\n"))
		for _, r := range rules {
			if r.begin || r.end {
				continue
			}
			if r.pattern != nil {
				v, err := vm.eval(r.pattern)
				if err != nil {
					return fail(err)
				}
				if !v.truth() {
					continue
				}
			}
			act := r.action
			if !r.hasAction {
				act = []*awkNode{{op: "print"}}
			}
			if err := vm.run(act); err != nil {
				return fail(err)
			}
		}
	}
	for _, r := range rules {
		if r.end {
			if err := vm.run(r.action); err != nil {
				return fail(err)
			}
		}
	}
	io.WriteString(out, vm.out.String())
	return code
}

// formatPrintf formats like printf(1) (awk's printf takes the same
// directives for what one-liners use).
func formatPrintf(format string, vals []string) string {
	var b strings.Builder
	cmdPrintf(nil, append([]string{"printf", format}, vals...), &b, io.Discard, nil)
	return b.String()
}
