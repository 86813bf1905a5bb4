package shell

import (
	"errors"
	"strconv"
	"strings"
)

// Limits of the parser: a line longer than MaxLine is cut, and a line with
// more than MaxWords words or MaxCommands simple commands is refused, as a
// real shell would eventually refuse a line it cannot hold.
const (
	MaxLine     = 64 << 10
	MaxWords    = 4096
	MaxCommands = 256
	maxDepth    = 3 // nested $(...) evaluation
)

// ErrSyntax is returned for a line bash would reject.
var ErrSyntax = errors.New("syntax error")

// Op joins two pipelines of a List.
type Op string

// The list operators.
const (
	OpSeq Op = ";"
	OpAnd Op = "&&"
	OpOr  Op = "||"
	OpBg  Op = "&"
)

// Redir is one redirection of a simple command.
type Redir struct {
	Fd     int    // 1 for stdout, 2 for stderr, 0 for stdin
	Op     string // ">", ">>", "<", ">&", "<<<" (a here-string: Target is the text)
	Target string
}

// Cmd is one simple command: words after expansion, and redirections;
// or a subshell: Group is the source between its parentheses, parsed
// and expanded when it runs.
type Cmd struct {
	Args   []string
	Redirs []Redir
	Assign []string // NAME=value words before the command name
	Group  string
}

// empty reports whether nothing of a command was read.
func (c *Cmd) empty() bool {
	return len(c.Args) == 0 && len(c.Redirs) == 0 && len(c.Assign) == 0 && c.Group == ""
}

// Pipeline is commands joined by |.
type Pipeline struct {
	Cmds []Cmd
	Op   Op     // how this pipeline joins the next one; "" for the last
	Src  string // the pipeline's source text, to expand when it runs
}

// List is a parsed command line.
type List []Pipeline

// Expander resolves expansions while parsing: Var returns a variable's
// value, Subst the output of a command substitution. A nil Expander leaves
// variables empty and substitutions empty, which is what the fuzz target
// exercises.
type Expander interface {
	Var(name string) string
	Subst(cmd string) string
}

type parser struct {
	src   string
	i     int
	x     Expander
	words int
}

// Parse parses one command line the way bash would for the constructs bots
// use: quotes, backslashes, $VAR, ${VAR}, $(...), backticks, comments, ;,
// &&, ||, |, &, ( subshells ), $(( arithmetic )), ~, and the
// redirections <, >, >>, 2>, 2>&1, &> and <<< (a here-string).
func Parse(src string, x Expander) (List, error) {
	if len(src) > MaxLine {
		src = src[:MaxLine]
	}
	src = strings.ReplaceAll(src, "\x00", "") // bash drops NULs; the parser uses them as marks
	p := &parser{src: src, x: x}
	var list List
	var pl Pipeline
	var cmd Cmd
	plStart, at := 0, 0
	flushCmd := func() error {
		if cmd.empty() {
			return ErrSyntax
		}
		pl.Cmds = append(pl.Cmds, cmd)
		cmd = Cmd{}
		if len(pl.Cmds) > MaxCommands {
			return ErrSyntax
		}
		return nil
	}
	flushPipeline := func(op Op) error {
		if err := flushCmd(); err != nil {
			return err
		}
		pl.Op = op
		pl.Src = src[plStart:at]
		list = append(list, pl)
		pl = Pipeline{}
		if len(list) > MaxCommands {
			return ErrSyntax
		}
		return nil
	}
	for {
		p.skipBlanks()
		if p.i >= len(p.src) {
			break
		}
		c := p.src[p.i]
		at = p.i
		switch {
		case c == '#':
			p.i = len(p.src)
			continue
		case c == '(' && cmd.empty():
			end := p.closing(p.i)
			if end < 0 {
				return nil, ErrSyntax
			}
			cmd.Group = p.src[p.i+1 : end]
			if strings.TrimSpace(cmd.Group) == "" {
				return nil, ErrSyntax
			}
			p.i = end + 1
			continue
		case c == '(' || c == ')':
			return nil, ErrSyntax
		case c == '\n' || c == ';':
			p.i++
			if cmd.empty() && len(pl.Cmds) == 0 {
				if c == ';' {
					return nil, ErrSyntax
				}
				continue
			}
			if err := flushPipeline(OpSeq); err != nil {
				return nil, err
			}
			plStart = p.i
			continue
		case strings.HasPrefix(p.src[p.i:], "&&"):
			p.i += 2
			if err := flushPipeline(OpAnd); err != nil {
				return nil, err
			}
			plStart = p.i
			continue
		case strings.HasPrefix(p.src[p.i:], "||"):
			p.i += 2
			if err := flushPipeline(OpOr); err != nil {
				return nil, err
			}
			plStart = p.i
			continue
		case strings.HasPrefix(p.src[p.i:], "&>"):
			p.i += 2
			t, err := p.target()
			if err != nil {
				return nil, err
			}
			cmd.Redirs = append(cmd.Redirs, Redir{Fd: 1, Op: ">", Target: t}, Redir{Fd: 2, Op: ">&", Target: "1"})
			continue
		case c == '&':
			p.i++
			if err := flushPipeline(OpBg); err != nil {
				return nil, err
			}
			plStart = p.i
			continue
		case c == '|':
			p.i++
			if err := flushCmd(); err != nil {
				return nil, err
			}
			continue
		case strings.HasPrefix(p.src[p.i:], "<<"):
			// <<< a here-string; << a here-document, its body already cut
			// out of the line by Shell.hereDocs: the target names it.
			op := "<<"
			if strings.HasPrefix(p.src[p.i:], "<<<") {
				op = "<<<"
			}
			p.i += len(op)
			t, err := p.target()
			if err != nil {
				return nil, err
			}
			cmd.Redirs = append(cmd.Redirs, Redir{Fd: 0, Op: op, Target: t})
			continue
		case c == '>' || c == '<' || (c >= '0' && c <= '9' && p.i+1 < len(p.src) && (p.src[p.i+1] == '>' || p.src[p.i+1] == '<') &&
			(p.i == 0 || isMeta(p.src[p.i-1]))):
			r := Redir{Fd: 1}
			if c >= '0' && c <= '9' {
				r.Fd = int(c - '0')
				p.i++
			} else if c == '<' {
				r.Fd = 0
			}
			switch {
			case strings.HasPrefix(p.src[p.i:], "<>"):
				r.Op = "<>"
				p.i += 2
			case strings.HasPrefix(p.src[p.i:], ">>"):
				r.Op = ">>"
				p.i += 2
			case strings.HasPrefix(p.src[p.i:], ">&"):
				r.Op = ">&"
				p.i += 2
			case p.src[p.i] == '>':
				r.Op = ">"
				p.i++
			default:
				r.Op = "<"
				r.Fd = 0
				p.i++
			}
			t, err := p.target()
			if err != nil {
				return nil, err
			}
			r.Target = t
			cmd.Redirs = append(cmd.Redirs, r)
			continue
		}
		raw := p.i
		w, quoted, err := p.word()
		if err != nil {
			return nil, err
		}
		if p.words++; p.words > MaxWords {
			return nil, ErrSyntax
		}
		if cmd.Group != "" {
			return nil, ErrSyntax // (a) b
		}
		if len(cmd.Args) == 0 && isAssign(p.src[raw:p.i]) && isAssign(w) { // NAME= unquoted, the value may be quoted
			cmd.Assign = append(cmd.Assign, unmark(strings.ReplaceAll(w, "\x00", "")))
			continue
		}
		if strings.IndexByte(w, splitMark) >= 0 {
			for _, f := range splitMarked(w) {
				cmd.Args = append(cmd.Args, p.glob(f)...)
			}
			continue
		}
		if w == "" && !quoted {
			continue // an empty expansion is no word
		}
		cmd.Args = append(cmd.Args, p.glob(w)...)
	}
	if !cmd.empty() {
		at = len(p.src)
		if err := flushPipeline(""); err != nil {
			return nil, err
		}
	} else if len(pl.Cmds) > 0 {
		return nil, ErrSyntax // dangling |
	} else if len(list) > 0 && list[len(list)-1].Op != OpSeq && list[len(list)-1].Op != OpBg {
		return nil, ErrSyntax // dangling && or ||
	}
	if len(list) > 0 && list[len(list)-1].Op == OpSeq {
		list[len(list)-1].Op = ""
	}
	return list, nil
}

func isAssign(w string) bool {
	eq := strings.IndexByte(w, '=')
	if eq <= 0 {
		return false
	}
	for i := 0; i < eq; i++ {
		c := w[i]
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

func (p *parser) skipBlanks() {
	for p.i < len(p.src) && (p.src[p.i] == ' ' || p.src[p.i] == '\t' || p.src[p.i] == '\r') {
		p.i++
	}
	// A backslash-newline is a line continuation.
	if strings.HasPrefix(p.src[p.i:], "\\\n") {
		p.i += 2
		p.skipBlanks()
	}
}

func (p *parser) target() (string, error) {
	p.skipBlanks()
	if p.i >= len(p.src) {
		return "", ErrSyntax
	}
	switch p.src[p.i] {
	case ';', '&', '|', '<', '>', '\n':
		return "", ErrSyntax
	}
	w, _, err := p.word()
	if err != nil {
		return "", err
	}
	return unmark(w), nil
}

// globMark precedes each unquoted *, ? and [ of a word: pathname
// expansion treats those as a pattern, quoted ones as themselves.
const globMark = 2

// Globber is an Expander that also expands pathname patterns: Glob
// returns the names matching pattern (\ escapes a character), sorted, or
// none.
type Globber interface {
	Glob(pattern string) []string
}

// unmark drops the glob marks of a word that is not expanded.
func unmark(w string) string {
	return strings.ReplaceAll(w, string(rune(globMark)), "")
}

// glob expands a word holding unquoted pattern characters against the
// file system when the expander can, or leaves it as it is when nothing
// matches, as bash does without nullglob.
func (p *parser) glob(w string) []string {
	if strings.IndexByte(w, globMark) < 0 {
		return []string{w}
	}
	g, ok := p.x.(Globber)
	if !ok {
		return []string{unmark(w)}
	}
	var pat strings.Builder
	for i := 0; i < len(w); i++ {
		switch c := w[i]; {
		case c == globMark && i+1 < len(w):
			i++
			pat.WriteByte(w[i])
		case c == '*' || c == '?' || c == '[' || c == '\\':
			pat.WriteByte('\\')
			pat.WriteByte(c)
		default:
			pat.WriteByte(c)
		}
	}
	if m := g.Glob(pat.String()); len(m) > 0 {
		return m
	}
	return []string{unmark(w)}
}

// splitMark precedes each blank that word splitting may cut at (a blank
// of an unquoted expansion); NUL never reaches a word otherwise.
const splitMark = 0

// splitMarked cuts a word at its marked blanks, dropping empty fields.
func splitMarked(w string) []string {
	var out []string
	var b strings.Builder
	for i := 0; i < len(w); i++ {
		if w[i] == splitMark && i+1 < len(w) {
			if b.Len() > 0 {
				out = append(out, b.String())
				b.Reset()
			}
			i++ // the blank itself
			continue
		}
		b.WriteByte(w[i])
	}
	if b.Len() > 0 {
		out = append(out, b.String())
	}
	return out
}

// closing returns the index of the parenthesis that closes the one at
// open, skipping quoted text, or -1.
func (p *parser) closing(open int) int {
	depth := 0
	for i := open; i < len(p.src); i++ {
		switch p.src[i] {
		case '\\':
			i++
		case '\'':
			end := strings.IndexByte(p.src[i+1:], '\'')
			if end < 0 {
				return -1
			}
			i += end + 1
		case '"':
			for i++; i < len(p.src) && p.src[i] != '"'; i++ {
				if p.src[i] == '\\' {
					i++
				}
			}
		case '(':
			depth++
		case ')':
			if depth--; depth == 0 {
				return i
			}
		}
	}
	return -1
}

func isMeta(c byte) bool {
	switch c {
	case ' ', '\t', '\r', '\n', ';', '&', '|', '<', '>', '(', ')':
		return true
	}
	return false
}

// word reads one word up to an unquoted metacharacter, expanding it.
func (p *parser) word() (string, bool, error) {
	var b strings.Builder
	quoted := false
	p.tilde(&b)
	for p.i < len(p.src) && !isMeta(p.src[p.i]) {
		c := p.src[p.i]
		switch c {
		case '\\':
			p.i++
			if p.i < len(p.src) {
				if p.src[p.i] != '\n' {
					b.WriteByte(p.src[p.i])
				}
				p.i++
			}
			quoted = true
		case '\'':
			end := strings.IndexByte(p.src[p.i+1:], '\'')
			if end < 0 {
				return "", false, ErrSyntax
			}
			b.WriteString(p.src[p.i+1 : p.i+1+end])
			p.i += end + 2
			quoted = true
		case '"':
			p.i++
			quoted = true
			closed := false
			for p.i < len(p.src) {
				d := p.src[p.i]
				if d == '"' {
					p.i++
					closed = true
					break
				}
				if d == '\\' && p.i+1 < len(p.src) && strings.IndexByte("$`\"\\\n", p.src[p.i+1]) >= 0 {
					if p.src[p.i+1] != '\n' {
						b.WriteByte(p.src[p.i+1])
					}
					p.i += 2
					continue
				}
				if d == '$' || d == '`' {
					if err := p.expand(&b); err != nil {
						return "", false, err
					}
					continue
				}
				b.WriteByte(d)
				p.i++
			}
			if !closed {
				return "", false, ErrSyntax
			}
		case '$', '`':
			// Unquoted, the expansion's blanks split words: each is
			// marked, and Parse splits on the marks (an assignment
			// keeps the text whole).
			var e strings.Builder
			if err := p.expand(&e); err != nil {
				return "", false, err
			}
			for _, r := range e.String() {
				if r == ' ' || r == '\t' || r == '\n' {
					b.WriteByte(splitMark)
				}
				b.WriteRune(r)
			}
		case '*', '?', '[':
			b.WriteByte(globMark) // unquoted: a pattern character
			b.WriteByte(c)
			p.i++
		default:
			b.WriteByte(c)
			p.i++
		}
		if b.Len() > MaxLine {
			return "", false, ErrSyntax
		}
	}
	return b.String(), quoted, nil
}

// tilde expands a ~ or ~user that starts a word (before a / or the
// word's end) to the home directory, as bash does.
func (p *parser) tilde(b *strings.Builder) {
	if p.i >= len(p.src) || p.src[p.i] != '~' {
		return
	}
	j := p.i + 1
	for j < len(p.src) && p.src[j] != '/' && !isMeta(p.src[j]) {
		if !isWordByte(p.src[j]) || p.src[j] == '$' {
			return
		}
		j++
	}
	switch user := p.src[p.i+1 : j]; user {
	case "":
		b.WriteString(p.variable("HOME"))
	case "root":
		b.WriteString("/root")
	default:
		return // other users: left as typed (bash does so for unknown ones)
	}
	p.i = j
}

// expand handles $NAME, ${NAME}, $?, $$, $(...) and `...` at p.i.
func (p *parser) expand(b *strings.Builder) error {
	s := p.src[p.i:]
	if s[0] == '`' {
		end := strings.IndexByte(s[1:], '`')
		if end < 0 {
			return ErrSyntax
		}
		b.WriteString(p.subst(s[1 : 1+end]))
		p.i += end + 2
		return nil
	}
	if len(s) == 1 {
		b.WriteByte('$')
		p.i++
		return nil
	}
	switch {
	case s[1] == '(':
		depth, j := 0, 1
		for ; j < len(s); j++ {
			if s[j] == '(' {
				depth++
			} else if s[j] == ')' {
				if depth--; depth == 0 {
					break
				}
			}
		}
		if j >= len(s) {
			return ErrSyntax
		}
		if len(s) > 3 && s[2] == '(' && s[j-1] == ')' && p.x == nil { // structure only: evaluated when it runs
			b.WriteString("0")
			p.i += j + 1
			return nil
		}
		if len(s) > 3 && s[2] == '(' && s[j-1] == ')' { // $(( arithmetic ))
			expr, err := expandText(s[3:j-1], p.x)
			if err != nil {
				return ErrSyntax
			}
			v, err := arith(expr, p.variable)
			if err != nil {
				return ErrSyntax
			}
			b.WriteString(strconv.FormatInt(v, 10))
			p.i += j + 1
			return nil
		}
		b.WriteString(p.subst(s[2:j]))
		p.i += j + 1
	case s[1] == '{':
		end := strings.IndexByte(s, '}')
		if end < 0 {
			return ErrSyntax
		}
		name := s[2:end]
		if k := strings.IndexAny(name, ":-="); k >= 0 { // ${X:-default}
			v := p.variable(name[:k])
			if v == "" {
				v = strings.TrimLeft(name[k:], ":-=")
			}
			b.WriteString(v)
		} else {
			b.WriteString(p.variable(name))
		}
		p.i += end + 1
	case s[1] == '?' || s[1] == '$' || s[1] == '#' || s[1] == '!' || s[1] == '@' || s[1] == '*' || (s[1] >= '0' && s[1] <= '9'):
		b.WriteString(p.variable(s[1:2]))
		p.i += 2
	default:
		j := 1
		for j < len(s) && (s[j] == '_' || s[j] >= 'a' && s[j] <= 'z' || s[j] >= 'A' && s[j] <= 'Z' || s[j] >= '0' && s[j] <= '9') {
			j++
		}
		if j == 1 {
			b.WriteByte('$')
			p.i++
			return nil
		}
		b.WriteString(p.variable(s[1:j]))
		p.i += j
	}
	return nil
}

func (p *parser) variable(name string) string {
	if p.x == nil {
		return ""
	}
	return p.x.Var(name)
}

func (p *parser) subst(cmd string) string {
	if p.x == nil {
		return ""
	}
	out := p.x.Subst(cmd)
	return strings.TrimRight(out, "\n")
}

// expandText expands $VAR, ${...}, $(...), $((...)) and `...` in src
// with no word splitting and no quote removal: the text of a
// here-document or of an arithmetic expression. A backslash keeps a
// following $, ` or \ literal and joins lines.
func expandText(src string, x Expander) (string, error) {
	var b strings.Builder
	p := &parser{src: src, x: x}
	for p.i < len(src) {
		c := src[p.i]
		switch {
		case c == '\\' && p.i+1 < len(src) && strings.IndexByte("$`\\", src[p.i+1]) >= 0:
			b.WriteByte(src[p.i+1])
			p.i += 2
		case c == '\\' && p.i+1 < len(src) && src[p.i+1] == '\n':
			p.i += 2
		case c == '$' || c == '`':
			if err := p.expand(&b); err != nil {
				return "", err
			}
		default:
			b.WriteByte(c)
			p.i++
		}
		if b.Len() > MaxOutput {
			break
		}
	}
	return b.String(), nil
}
