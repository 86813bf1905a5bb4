package shell

import "testing"

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
