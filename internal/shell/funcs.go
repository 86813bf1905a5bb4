package shell

import (
	"fmt"
	"io"
	"io/fs"
	"regexp"
	"strconv"
	"strings"
)

// Shell functions (NAME() { ...; } and function NAME { ...; }), brace
// groups, case ... esac and here-documents (<<WORD, <<-WORD, quoted
// WORD), as droppers and installer scripts use them. Bounded: at most
// maxFuncs definitions of at most MaxLine bytes, calls nested at most
// maxCallDepth deep and counted against the loops' step budget (a fork
// bomb ends), at most maxHereDocs here-documents kept.

const (
	maxFuncs     = 200
	maxCallDepth = 100
	maxHereDocs  = 256
)

// hereDoc is the body of one here-document; expand is false when its
// delimiter was quoted.
type hereDoc struct {
	body   string
	expand bool
}

// hereDocMark starts the target of a here-document whose body has been
// cut out of its line; the number after it indexes Shell.docs.
const hereDocMark = "\x01"

var hereDocOp = regexp.MustCompile(`<<(-?)[ \t]*('[^'\n]*'|"[^"\n]*"|\\?[^\s;&|<>()'"]+)`)

// hereDocs cuts the bodies of the here-documents opened on line out of
// it, as bash reads them: from the line after the operator to the line
// that is only the delimiter (tabs stripped with <<-). An operator is
// replaced by <<MARKn. A body that never ends runs to the end of the
// text, with bash's warning.
func (s *Shell) hereDocs(line string, stderr io.Writer) (string, bool) {
	if !strings.Contains(line, "<<") {
		return line, true
	}
	complete := true
	var out strings.Builder
	rest := line
	for {
		nl := strings.IndexByte(rest, '\n')
		cur := rest
		if nl >= 0 {
			cur = rest[:nl]
		}
		type op struct {
			start, end int
			delim      string
			strip, exp bool
		}
		var ops []op
		for _, m := range hereDocOp.FindAllStringSubmatchIndex(cur, -1) {
			if m[0] > 0 && cur[m[0]-1] == '<' || strings.HasPrefix(cur[m[0]:], "<<<") || inQuotes(cur[:m[0]]) ||
				strings.Count(cur[:m[0]], "$((") > strings.Count(cur[:m[0]], "))") { // a shift in $(( ))
				continue
			}
			word := cur[m[4]:m[5]]
			if strings.HasPrefix(word, hereDocMark) {
				continue
			}
			d := op{start: m[0], end: m[1], strip: m[3] > m[2], exp: true}
			if strings.ContainsAny(word, `'"\`) {
				d.exp = false
				word = strings.NewReplacer("'", "", `"`, "", `\`, "").Replace(word)
			}
			d.delim = word
			ops = append(ops, d)
		}
		if len(ops) == 0 {
			out.WriteString(cur)
			if nl < 0 {
				return out.String(), complete
			}
			out.WriteByte('\n')
			rest = rest[nl+1:]
			continue
		}
		last := 0
		if nl >= 0 {
			rest = rest[nl+1:]
		} else {
			rest = ""
		}
		for _, d := range ops {
			var body strings.Builder
			found := false
			for rest != "" {
				l := rest
				k := strings.IndexByte(rest, '\n')
				if k >= 0 {
					l, rest = rest[:k], rest[k+1:]
				} else {
					rest = ""
				}
				if d.strip {
					l = strings.TrimLeft(l, "\t")
				}
				if l == d.delim {
					found = true
					break
				}
				body.WriteString(l + "\n")
			}
			if !found {
				complete = false
				fmt.Fprintf(stderr, "%s: warning: here-document at line 1 delimited by end-of-file (wanted `%s')\n", s.errPrefix(), d.delim)
			}
			out.WriteString(cur[last:d.start])
			fmt.Fprintf(&out, "<<%s%d", hereDocMark, s.addDoc(hereDoc{body: body.String(), expand: d.exp}))
			last = d.end
		}
		out.WriteString(cur[last:])
		if rest == "" {
			return out.String(), complete
		}
		out.WriteByte('\n')
	}
}

// inQuotes reports whether the end of s lies inside quotes.
func inQuotes(s string) bool {
	var q byte
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case q == 0 && c == '\\':
			i++
		case q == 0 && (c == '\'' || c == '"'):
			q = c
		case q != 0 && c == q:
			q = 0
		case q == '"' && c == '\\':
			i++
		}
	}
	return q != 0
}

func (s *Shell) addDoc(d hereDoc) int {
	if s.docs == nil {
		s.docs = map[int]hereDoc{}
	}
	id := s.nextDoc
	s.nextDoc++
	s.docs[id] = d
	delete(s.docs, id-maxHereDocs)
	return id
}

// hereDocInput is the text a << redirection feeds the command.
func (s *Shell) hereDocInput(target string) []byte {
	id, err := strconv.Atoi(strings.TrimPrefix(target, hereDocMark))
	d, ok := s.docs[id]
	if err != nil || !ok {
		return nil
	}
	if !d.expand {
		return []byte(d.body)
	}
	text, err := expandText(d.body, s)
	if err != nil {
		return []byte(d.body)
	}
	return []byte(text)
}

// funcName returns the name a function definition starting at toks[i]
// defines and the index of its body's opening brace, or ok false.
func funcName(toks []ctok, i int) (name string, open int, ok bool) {
	t := toks[i].text
	switch {
	case t == "function" && i+1 < len(toks) && !toks[i+1].sep:
		name, open = strings.TrimSuffix(toks[i+1].text, "()"), i+2
		if open < len(toks) && toks[open].text == "()" {
			open++
		}
	case strings.HasSuffix(t, "(){") && len(t) > 3:
		name = strings.TrimSuffix(t, "(){")
		return name, i, funcNameOK(name)
	case strings.HasSuffix(t, "()") && len(t) > 2:
		name, open = strings.TrimSuffix(t, "()"), i+1
	case i+1 < len(toks) && toks[i+1].text == "()":
		name, open = t, i+2
	default:
		return "", 0, false
	}
	for open < len(toks) && toks[open].text == "\n" {
		open++
	}
	if open >= len(toks) || toks[open].text != "{" || !funcNameOK(name) {
		return "", 0, false
	}
	return name, open, true
}

// funcNameOK accepts what bash accepts as a function name outside POSIX
// mode: no quoting, no $, no / (the fork bomb's : included).
func funcNameOK(n string) bool {
	return n != "" && !strings.ContainsAny(n, "$'\"`\\/=(){}<>|&; \t\n")
}

// callFunc runs a function with its arguments as $1... and $#, $@.
func (s *Shell) callFunc(body string, args []string, out, errw io.Writer, stdin []byte) int {
	if s.steps++; s.steps > maxSteps {
		return 1
	}
	if s.calls >= maxCallDepth {
		// Once per line: what runs away (a fork bomb) stops here.
		fmt.Fprintf(errw, "%s: %s: maximum function nesting level exceeded (%d)\n", s.errPrefix(), args[0], maxCallDepth)
		s.steps = maxSteps + 1
		return 1
	}
	saved := map[string]*string{}
	set := func(k, v string) {
		if _, done := saved[k]; !done {
			if old, ok := s.Env[k]; ok {
				saved[k] = &old
			} else {
				saved[k] = nil
			}
		}
		s.Env[k] = v
	}
	for i := 1; i <= 9; i++ {
		v := ""
		if i < len(args) {
			v = args[i]
		}
		set(strconv.Itoa(i), v)
	}
	set("#", strconv.Itoa(len(args)-1))
	set("@", strings.Join(args[1:], " "))
	set("*", strings.Join(args[1:], " "))
	s.calls++
	loops := s.loops
	s.loops = 0
	code := s.run(body, out, errw, stdin)
	s.loops = loops
	s.calls--
	if s.jump == "return" {
		code = s.retCode
		s.jump = ""
	}
	for k, v := range saved {
		if v == nil {
			delete(s.Env, k)
		} else {
			s.Env[k] = *v
		}
	}
	return code
}

func cmdReturn(s *Shell, args []string, _, errw io.Writer, _ []byte) int {
	if s.calls == 0 {
		fmt.Fprintf(errw, "%s: return: can only `return' from a function or sourced script\n", s.errPrefix())
		return 1
	}
	code := s.lastExit
	if len(args) > 1 {
		n, err := strconv.Atoi(args[1])
		if err != nil {
			fmt.Fprintf(errw, "%s: return: %s: numeric argument required\n", s.errPrefix(), args[1])
			n = 2
		}
		code = n & 0xff
	}
	s.jump, s.retCode = "return", code
	return code
}

// runCase runs case WORD in PATTERN) LIST ;; ... esac; src is the text
// between case and esac.
func (s *Shell) runCase(src string, stdout, stderr io.Writer, stdin []byte) int {
	word, rest, ok := cutWord(src)
	if !ok {
		return -1
	}
	in, rest, ok := cutWord(rest)
	if !ok || in != "in" {
		return -1
	}
	subject := s.expandWord(word)
	for {
		rest = strings.TrimLeft(rest, " \t\n;")
		if rest == "" {
			return 0
		}
		rest = strings.TrimPrefix(rest, "(")
		close := unquotedIndex(rest, ")")
		if close < 0 {
			return -1
		}
		pats := splitUnquoted(rest[:close], '|')
		rest = rest[close+1:]
		end := caseBodyEnd(rest)
		body := rest[:end]
		rest = strings.TrimPrefix(rest[end:], ";;")
		for _, p := range pats {
			if globMatch(s.expandWord(strings.TrimSpace(p)), subject) {
				return s.run(body, stdout, stderr, stdin)
			}
		}
	}
}

// cutWord returns the first blank-separated word of s, quotes kept.
func cutWord(s string) (word, rest string, ok bool) {
	s = strings.TrimLeft(s, " \t\n")
	i := 0
	for i < len(s) && !strings.ContainsRune(" \t\n;", rune(s[i])) {
		switch s[i] {
		case '\'', '"':
			if j := strings.IndexByte(s[i+1:], s[i]); j >= 0 {
				i += j + 1
			}
		case '\\':
			i++
		case '$':
			if strings.HasPrefix(s[i:], "$(") {
				d := 0
				for ; i < len(s); i++ {
					if s[i] == '(' {
						d++
					} else if s[i] == ')' {
						if d--; d == 0 {
							break
						}
					}
				}
			}
		}
		i++
	}
	if i > len(s) {
		i = len(s)
	}
	return s[:i], s[i:], i > 0
}

// unquotedIndex is strings.Index outside quotes and $( ).
func unquotedIndex(s, sep string) int {
	depth := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			i++
		case c == '\'' || c == '"':
			if j := strings.IndexByte(s[i+1:], c); j >= 0 {
				i += j + 1
			}
		case c == '(' && i > 0 && s[i-1] == '$':
			depth++
		case c == ')' && depth > 0:
			depth--
		case depth == 0 && strings.HasPrefix(s[i:], sep):
			return i
		}
	}
	return -1
}

func splitUnquoted(s string, sep byte) []string {
	var out []string
	for {
		i := unquotedIndex(s, string(sep))
		if i < 0 {
			return append(out, s)
		}
		out = append(out, s[:i])
		s = s[i+1:]
	}
}

// caseBodyEnd finds the ;; that ends a case item (or the end), skipping
// nested case ... esac.
func caseBodyEnd(s string) int {
	nest := 0
	for _, t := range ctokens(s) {
		switch {
		case t.text == "case":
			nest++
		case t.text == "esac" && nest > 0:
			nest--
		case t.sep && t.text == ";" && nest == 0 && strings.HasPrefix(s[t.start:], ";;"):
			return t.start
		}
	}
	return len(s)
}

// expandWord expands one word as bash does a case subject or pattern
// (no word splitting): variables, substitutions, quote removal.
func (s *Shell) expandWord(w string) string {
	l, err := Parse("x "+w, noGlob{s})
	if err != nil || len(l) != 1 || len(l[0].Cmds) != 1 {
		return w
	}
	return strings.Join(l[0].Cmds[0].Args[1:], " ")
}

// globMatch is fnmatch(3) without FNM_PATHNAME: * ? [...] [!...].
func globMatch(pattern, s string) bool {
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(pattern); i++ {
		switch c := pattern[i]; c {
		case '*':
			b.WriteString(".*")
		case '?':
			b.WriteString(".")
		case '[':
			j := strings.IndexByte(pattern[i+1:], ']')
			if j < 0 {
				b.WriteString(`\[`)
				continue
			}
			class := pattern[i+1 : i+1+j]
			if strings.HasPrefix(class, "!") {
				class = "^" + class[1:]
			}
			b.WriteString("[" + strings.ReplaceAll(class, `\`, `\\`) + "]")
			i += j + 1
		case '\\':
			if i+1 < len(pattern) {
				i++
				b.WriteString(regexp.QuoteMeta(pattern[i : i+1]))
			}
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString("$")
	re, err := regexp.Compile(b.String())
	return err == nil && re.MatchString(s)
}

// Incomplete reports whether bash would read more lines before running
// text: an open quote, here-document or compound command, or a line
// ending in |, &&, || or a backslash. A session's reader keeps reading
// (with the PS2 prompt "> ") until it is complete or MaxLine long.
func Incomplete(text string) bool {
	if len(text) >= MaxLine || strings.TrimSpace(text) == "" {
		return false
	}
	if strings.HasSuffix(text, "\\") || inQuotes(text) {
		return true
	}
	if _, ok := (&Shell{}).hereDocs(text, io.Discard); !ok {
		return true
	}
	toks := ctokens(text)
	if n := len(toks); n > 0 && toks[n-1].sep && (toks[n-1].text == "|" || toks[n-1].text == "&&" || toks[n-1].text == "||") {
		return true
	}
	var stack []string
	pos, prev := true, ""
	for _, t := range toks {
		if t.sep {
			pos, prev = true, ""
			continue
		}
		switch {
		case pos && openers[t.text] != "":
			stack = append(stack, openers[t.text])
		case strings.HasSuffix(t.text, "(){"):
			stack = append(stack, "}")
		case pos && len(stack) > 0 && t.text == stack[len(stack)-1]:
			stack = stack[:len(stack)-1]
		case pos && closers[t.text]:
			return false // a syntax error: run it to print that
		}
		// After NAME() and function NAME comes the body's brace.
		pos = startsBody(t.text) || strings.HasSuffix(t.text, "()") || prev == "function"
		prev = t.text
	}
	return len(stack) > 0
}

// noGlob expands variables and substitutions but no pathnames (a case
// pattern is matched, not expanded).
type noGlob struct{ s *Shell }

func (n noGlob) Var(name string) string  { return n.s.Var(name) }
func (n noGlob) Subst(cmd string) string { return n.s.Subst(cmd) }

// maxGlob bounds the names one pattern expands to.
const maxGlob = 4096

// Glob implements Globber over the shell's file system: each element of
// the pattern with pattern characters matches the names of its directory
// (dot files only with a leading dot), in name order.
func (s *Shell) Glob(pattern string) []string {
	abs := strings.HasPrefix(pattern, "/")
	parts := strings.Split(strings.Trim(pattern, "/"), "/")
	cur := []string{""}
	for i, part := range parts {
		last := i == len(parts)-1
		var next []string
		for _, base := range cur {
			if !strings.ContainsAny(part, "*?[") {
				next = append(next, joinGlob(base, unescapeGlob(part), abs))
				continue
			}
			dir := joinGlob(base, "", abs)
			if dir == "" {
				dir = "."
			}
			kids, err := s.FS.ReadDir(s.path(dir))
			if err != nil {
				continue
			}
			for _, k := range kids {
				if strings.HasPrefix(k.Name, ".") && !strings.HasPrefix(part, ".") && !strings.HasPrefix(part, "\\.") {
					continue
				}
				if globMatch(part, k.Name) && (last || k.IsDir() || k.Mode&fs.ModeSymlink != 0) && len(next) < maxGlob {
					next = append(next, joinGlob(base, k.Name, abs))
				}
			}
		}
		cur = next
	}
	var out []string
	for _, c := range cur {
		if _, err := s.FS.Lstat(s.path(c)); err == nil && c != "" {
			out = append(out, c)
		}
	}
	return out
}

func joinGlob(base, name string, abs bool) string {
	switch {
	case base == "" && abs:
		return "/" + name
	case base == "":
		return name
	case strings.HasSuffix(base, "/"):
		return base + name
	}
	return base + "/" + name
}

func unescapeGlob(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		if p[i] == '\\' && i+1 < len(p) {
			i++
		}
		b.WriteByte(p[i])
	}
	return b.String()
}
