package shell

import (
	"strings"
	"testing"
)

// TestFunctionsCaseHereDocs checks the constructs of funcs.go with bash's
// answers (the corpus test compares them with the real bash too, where a
// Debian root can be built).
func TestFunctionsCaseHereDocs(t *testing.T) {
	for _, tc := range []struct{ line, want string }{
		{"f() { echo in-f $1 $#; }; f a; f b c", "in-f a 1\nin-f b 2\n"},
		{"g() { return 3; }; g; echo $?", "3\n"},
		{"function h { echo hh; }; h", "hh\n"},
		{"k(){ echo k$1;}; k 1", "k1\n"},
		{"r() { for i in 1 2 3; do [ $i = 2 ] && return 7; echo $i; done; }; r; echo $?", "1\n7\n"},
		{"x=out; f() { echo $1; }; f in; echo $x $1", "in\nout\n"},
		{":(){ :|:& };:", "-bash: :: maximum function nesting level exceeded (100)\n"},
		{"case $(uname -m) in x86_64) echo amd64 ;; aarch64|arm64) echo arm64 ;; *) echo other ;; esac", "amd64\n"},
		{"a=mips; case $a in x86*) echo x ;; mip?) echo m ;; esac", "m\n"},
		{"case z in [a-c]) echo abc ;; [!a-c]) echo not ;; esac", "not\n"},
		{"for i in 1 2; do case $i in 1) echo one;; *) echo other;; esac; done", "one\nother\n"},
		{"{ echo a; echo b; } | wc -l", "2\n"},
		{"cat <<EOF\n$HOME $((1+2)) \\$HOME\nEOF", "/root 3 $HOME\n"},
		{"X=1; cat <<'EOF'\nvalue $X\nEOF", "value $X\n"},
		{"cat <<-EOF\n\tindented\n\tEOF", "indented\n"},
		{"cat <<A; cat <<B\n1\nA\n2\nB", "1\n2\n"},
		{"cat <<EOF\nno end", "-bash: warning: here-document at line 1 delimited by end-of-file (wanted `EOF')\nno end\n"},
		{"echo $((2<<3)) $(( $(echo 4) * 2 ))", "16 8\n"},
		{"return", "-bash: return: can only `return' from a function or sourced script\n"},
	} {
		s := newShell(t, "debian")
		s.Login = true
		if got, _ := run(s, tc.line); got != tc.want {
			t.Errorf("%q: %q, want %q", tc.line, got, tc.want)
		}
	}
}

func TestIncompleteAndScripts(t *testing.T) {
	for _, tc := range []struct {
		text string
		more bool
	}{
		{"echo hi", false}, {"cat <<EOF", true}, {"cat <<EOF\nx\nEOF", false}, {"f() {", true}, {"f() { echo; }", false},
		{"for i in 1 2; do", true}, {"for i in 1 2; do echo $i; done", false}, {"case $x in", true}, {"echo 'open", true},
		{"echo a |", true}, {"echo a \\", true}, {"fi", false}, {"if true; then\necho y\nfi", false}, {"echo $((1<<2))", false},
	} {
		if got := Incomplete(tc.text); got != tc.more {
			t.Errorf("Incomplete(%q) = %v", tc.text, got)
		}
	}
	s := newShell(t, "debian")
	script := "#!/bin/sh\ninstall() {\n  echo installing $1\n}\ncase x86_64 in\n  x86_64) A=amd64 ;;\nesac\ncat > /tmp/cfg <<EOF\narch=$A\nEOF\ninstall $A\ncat /tmp/cfg\n"
	if got, _ := run(s, "printf '"+strings.ReplaceAll(script, "\n", "\\n")+"' > /tmp/i.sh; sh /tmp/i.sh"); got != "installing amd64\narch=amd64\n" {
		t.Errorf("script: %q", got)
	}
}

func TestLsColumnsFollowTheTerminal(t *testing.T) {
	s := newShell(t, "debian")
	s.Login = true
	wide, _ := run(s, "ls /")
	s.Cols = 40
	narrow, _ := run(s, "ls /")
	if strings.Count(narrow, "\n") <= strings.Count(wide, "\n") {
		t.Errorf("40 columns: %q, 80: %q", narrow, wide)
	}
}
