package shell

import (
	"fmt"
	"io"
	"slices"
	"strings"
)

// Compound commands bots use in one-liners: for NAME in WORDS; do ...;
// done, while/until LIST; do ...; done, if LIST; then ...; [elif ...;]
// [else ...;] fi, and break/continue inside loops. A line is cut into
// statements at ; and newlines outside them; a statement that opens with
// a keyword runs here, any other through the simple-command path. Loops
// are bounded (maxIterations each, and the shell's depth and output
// limits), so `while true` ends.

const (
	maxIterations = 1000
	maxSteps      = 10_000
)

type ctok struct {
	text       string
	start, end int
	sep        bool // ; \n && || | &
}

// ctokens cuts src into words and separators, keeping quoted text,
// $(...), `...` and (...) inside their word.
func ctokens(src string) []ctok {
	var out []ctok
	i := 0
	for i < len(src) && len(out) < MaxWords {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r':
			i++
			continue
		case c == '#' && (i == 0 || strings.IndexByte(" \t\n;", src[i-1]) >= 0):
			for i < len(src) && src[i] != '\n' {
				i++
			}
			continue
		case c == '\n' || c == ';':
			out = append(out, ctok{text: string(c), start: i, end: i + 1, sep: true})
			i++
			continue
		case strings.HasPrefix(src[i:], "&&") || strings.HasPrefix(src[i:], "||"):
			out = append(out, ctok{text: src[i : i+2], start: i, end: i + 2, sep: true})
			i += 2
			continue
		case c == '|' || c == '&' && !strings.HasPrefix(src[i:], "&>"):
			out = append(out, ctok{text: string(c), start: i, end: i + 1, sep: true})
			i++
			continue
		}
		start := i
		depth := 0
		for i < len(src) {
			c := src[i]
			if depth == 0 && (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ';' || c == '|' || (c == '&' && !strings.HasPrefix(src[i:], "&>"))) {
				break
			}
			switch c {
			case '\\':
				i++
			case '\'':
				if j := strings.IndexByte(src[i+1:], '\''); j >= 0 {
					i += j + 1
				}
			case '"':
				for i++; i < len(src) && src[i] != '"'; i++ {
					if src[i] == '\\' {
						i++
					}
				}
			case '`':
				if j := strings.IndexByte(src[i+1:], '`'); j >= 0 {
					i += j + 1
				}
			case '(':
				depth++
			case ')':
				if depth > 0 {
					depth--
				}
			}
			i++
		}
		if i > len(src) {
			i = len(src)
		}
		out = append(out, ctok{text: src[start:i], start: start, end: i})
	}
	return out
}

var openers = map[string]string{"for": "done", "while": "done", "until": "done", "if": "fi", "case": "esac", "{": "}"}

// closers are the words that end a compound command.
var closers = map[string]bool{"done": true, "fi": true, "esac": true, "}": true}

// startsBody reports a word after which a command comes.
func startsBody(w string) bool {
	switch w {
	case "do", "then", "else", "elif", "if", "while", "until", "{":
		return true
	}
	return false
}

// hasCompound reports whether a line holds a compound keyword in command
// position, so that it needs this path.
func hasCompound(line string) bool {
	if !strings.Contains(line, "done") && !strings.Contains(line, "fi") && !strings.Contains(line, "esac") && !strings.Contains(line, "}") {
		return false
	}
	pos := true
	for _, t := range ctokens(line) {
		if t.sep {
			pos = true
			continue
		}
		if pos && (openers[t.text] != "" || t.text == "function" || strings.HasSuffix(t.text, "()") || strings.HasSuffix(t.text, "(){")) {
			return true
		}
		pos = false
	}
	return false
}

// compoundRun runs a line that holds compound commands.
func (s *Shell) compoundRun(line string, stdout, stderr io.Writer, stdin []byte) int {
	toks := ctokens(line)
	code := s.lastExit
	prev := ";"
	for i := 0; i < len(toks) && !s.Exited && !s.loopJump(); {
		// A statement: up to a ; or newline at depth 0, or a | && || & after
		// a compound's closer.
		start := i
		if name, open, ok := funcName(toks, i); ok && !toks[i].sep {
			end, err := braceEnd(toks, open)
			if err != nil {
				fmt.Fprintf(stderr, "%s: syntax error near unexpected token `%s'\n", s.errPrefix(), err.Error())
				s.lastExit = 2
				return 2
			}
			run := prev == ";" || prev == "\n" || prev == "&" || (prev == "&&" && code == 0) || (prev == "||" && code != 0)
			if run {
				if s.funcs == nil {
					s.funcs = map[string]string{}
				}
				if _, ok := s.funcs[name]; ok || len(s.funcs) < maxFuncs {
					s.funcs[name] = line[toks[open].end:toks[end].start]
				}
				code = 0
			}
			s.lastExit = code
			i = end + 1
			if i < len(toks) && toks[i].sep {
				prev = toks[i].text
				i++
			}
			continue
		}
		if !toks[i].sep && openers[toks[i].text] != "" {
			end, err := s.matchCompound(toks, i)
			if err != nil {
				fmt.Fprintf(stderr, "%s: syntax error near unexpected token `%s'\n", s.errPrefix(), err.Error())
				s.lastExit = 2
				return 2
			}
			run := prev == ";" || prev == "\n" || prev == "&" || (prev == "&&" && code == 0) || (prev == "||" && code != 0)
			i = end + 1
			if i < len(toks) && toks[i].text == "|" {
				// compound | rest: the rest of the statement reads its output.
				j := i + 1
				for j < len(toks) && !(toks[j].sep && (toks[j].text == ";" || toks[j].text == "\n")) {
					j++
				}
				if run {
					var buf limitedBuffer
					s.compound(toks, start, end, line, &buf, stderr, stdin)
					rest := line[toks[i].end:endOf(toks, j, line)]
					code = s.run(rest, stdout, stderr, buf.Bytes())
				}
				i = j
			} else if run {
				code = s.compound(toks, start, end, line, stdout, stderr, stdin)
			}
			s.lastExit = code
			if i < len(toks) && toks[i].sep {
				prev = toks[i].text
				i++
			}
			continue
		}
		// A simple chain: up to the next ; or newline, or up to a compound
		// after && || (run as its own statement).
		j := i
		for j < len(toks) && !(toks[j].sep && (toks[j].text == ";" || toks[j].text == "\n")) {
			if toks[j].sep && j+1 < len(toks) && openers[toks[j+1].text] != "" {
				break
			}
			j++
		}
		run := prev == ";" || prev == "\n" || prev == "&" || (prev == "&&" && code == 0) || (prev == "||" && code != 0)
		if run && j > start {
			code = s.runSimple(line[toks[start].start:endOf(toks, j, line)], stdout, stderr, stdin)
		}
		i = j
		if i < len(toks) {
			prev = toks[i].text
			i++
		}
	}
	return code
}

func endOf(toks []ctok, j int, line string) int {
	if j < len(toks) {
		return toks[j].start
	}
	return len(line)
}

// matchCompound returns the index of the closer of the compound opened at
// toks[i].
func (s *Shell) matchCompound(toks []ctok, i int) (int, error) {
	var stack []string
	pos := true
	for j := i; j < len(toks); j++ {
		t := toks[j]
		if t.sep {
			pos = true
			continue
		}
		if pos {
			if cl := openers[t.text]; cl != "" {
				stack = append(stack, cl)
			} else if len(stack) > 0 && t.text == stack[len(stack)-1] {
				stack = stack[:len(stack)-1]
				if len(stack) == 0 {
					return j, nil
				}
			} else if closers[t.text] {
				return 0, fmt.Errorf("%s", t.text)
			}
		}
		pos = startsBody(t.text)
	}
	return 0, fmt.Errorf("newline")
}

// clauses splits the inside of a compound at its own keywords (depth 0,
// command position): the text between them, by keyword.
func clauses(toks []ctok, from, to int, line string, keys ...string) (parts []string, names []string) {
	depth, pos, last, lastName := 0, false, toks[from].end, toks[from].text
	for j := from + 1; j < to; j++ {
		t := toks[j]
		if t.sep {
			pos = true
			continue
		}
		if pos {
			if openers[t.text] != "" {
				depth++
			} else if closers[t.text] && depth > 0 {
				depth--
			} else if depth == 0 && slices.Contains(keys, t.text) {
				parts, names = append(parts, line[last:t.start]), append(names, lastName)
				last, lastName = t.end, t.text
			}
		}
		pos = startsBody(t.text)
	}
	parts, names = append(parts, line[last:toks[to].start]), append(names, lastName)
	return parts, names
}

// compound runs the compound command toks[i..end].
func (s *Shell) compound(toks []ctok, i, end int, line string, stdout, stderr io.Writer, stdin []byte) int {
	if s.depth >= maxDepth {
		return 0
	}
	s.depth++
	defer func() { s.depth-- }()
	syntax := func(tok string) int {
		fmt.Fprintf(stderr, "%s: syntax error near unexpected token `%s'\n", s.errPrefix(), tok)
		return 2
	}
	switch toks[i].text {
	case "for":
		parts, names := clauses(toks, i, end, line, "do")
		if len(parts) != 2 || names[1] != "do" {
			return syntax("done")
		}
		head := strings.TrimSpace(strings.TrimRight(strings.TrimSpace(parts[0]), ";\n"))
		name, list, hasIn := strings.Cut(head, " in ")
		name = strings.TrimSpace(name)
		if !hasIn && strings.HasSuffix(head, " in") {
			name, list, hasIn = strings.TrimSpace(strings.TrimSuffix(head, " in")), "", true
		}
		if !isName(name) {
			return syntax(name)
		}
		var words []string
		if hasIn {
			if l, err := Parse("for "+list, s); err == nil && len(l) == 1 {
				words = l[0].Cmds[0].Args[1:]
			}
		}
		code := 0
		s.loops++
		defer func() { s.loops-- }()
		for n, w := range words {
			if s.steps++; n >= maxIterations || s.steps > maxSteps || s.Exited {
				break
			}
			s.Env[name] = w
			code = s.run(parts[1], stdout, stderr, stdin)
			if s.jump == "break" {
				s.jump = ""
				break
			}
			if s.jump == "return" {
				break
			}
			if s.jump == "continue" {
				s.jump = ""
			}
		}
		return code
	case "while", "until":
		parts, names := clauses(toks, i, end, line, "do")
		if len(parts) != 2 || names[1] != "do" {
			return syntax("done")
		}
		code := 0
		s.loops++
		defer func() { s.loops-- }()
		for n := 0; n < maxIterations && !s.Exited; n++ {
			if s.steps++; s.steps > maxSteps {
				break
			}
			c := s.run(parts[0], stdout, stderr, stdin)
			if (c == 0) != (toks[i].text == "while") {
				break
			}
			code = s.run(parts[1], stdout, stderr, stdin)
			if s.jump == "break" {
				s.jump = ""
				break
			}
			if s.jump == "return" {
				break
			}
			if s.jump == "continue" {
				s.jump = ""
			}
		}
		return code
	case "case":
		code := s.runCase(line[toks[i].end:toks[end].start], stdout, stderr, stdin)
		if code < 0 {
			return syntax(";;")
		}
		return code
	case "{":
		return s.run(line[toks[i].end:toks[end].start], stdout, stderr, stdin)
	case "if":
		parts, names := clauses(toks, i, end, line, "then", "elif", "else")
		// names: if, then, (elif, then)*, [else]
		for k := 0; k < len(parts); k++ {
			switch names[k] {
			case "if", "elif":
				if k+1 >= len(parts) || names[k+1] != "then" {
					return syntax("fi")
				}
				if s.run(parts[k], stdout, stderr, stdin) == 0 {
					return s.run(parts[k+1], stdout, stderr, stdin)
				}
				k++
			case "else":
				return s.run(parts[k], stdout, stderr, stdin)
			}
		}
		return 0
	}
	return 0
}

func isName(s string) bool {
	if s == "" || s[0] >= '0' && s[0] <= '9' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isWordByte(s[i]) || s[i] == '$' {
			return false
		}
	}
	return true
}

// loopJump reports a pending break or continue (the rest of the body is
// skipped).
func (s *Shell) loopJump() bool { return s.jump != "" }

func cmdBreak(s *Shell, args []string, _, errw io.Writer, _ []byte) int {
	if s.loops == 0 {
		fmt.Fprintf(errw, "%s: %s: only meaningful in a `for', `while', or `until' loop\n", s.errPrefix(), args[0])
		return 0
	}
	s.jump = args[0]
	return 0
}

// braceEnd returns the index of the } that closes the { at toks[open]
// (a function's body), counting braces in command position.
func braceEnd(toks []ctok, open int) (int, error) {
	depth, pos := 0, true
	for j := open; j < len(toks); j++ {
		t := toks[j]
		if t.sep {
			pos = true
			continue
		}
		if j == open || pos && t.text == "{" {
			depth++
		} else if pos && t.text == "}" {
			if depth--; depth == 0 {
				return j, nil
			}
		}
		pos = startsBody(t.text) || strings.HasSuffix(t.text, "(){")
	}
	return 0, fmt.Errorf("newline")
}
