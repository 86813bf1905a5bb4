package shell

import (
	"bytes"
	"maps"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/decnet/decnet/internal/testenv"
)

// oneLiners are the forms bots pipe through, by category; each runs in
// the emulated shell and in the real bash with the real coreutils, sed
// and awk of this Debian host, from the same input, and must print the
// same and exit the same.
var oneLiners = map[string][]string{
	"arithmetic": {
		"echo $((1+2*3))", "echo $(( (7-2)*3 % 4 ))", "x=6; echo $((x/4)) $((x**2)) $((-x+1))", "echo $((0x1f + 010))",
		"echo $((3>2 && 1<0)) $((5==5)) $((2<<3)) $((7&3|8))", "n=5; echo $((n>3 ? 10 : 20))",
	},
	"expansion": {
		"echo ~", "echo ~/x ~root/y", "echo a~b", "echo $(seq 3)", "x=$(printf 'a\\nb'); echo \"$x\"", "L='a b  c'; for w in $L; do echo [$w]; done", "X=1; echo ${X} ${Y:-def}", `echo "$((1+1)) $(echo sub)"`,
	},
	"tr": {
		"echo hello | tr a-z A-Z", "echo 'Hello World' | tr '[:lower:]' '[:upper:]'", "echo 'a  b   c' | tr -s ' '",
		"echo abc123 | tr -d 0-9", "echo abc123 | tr -cd 0-9", "printf 'a\\nb\\n' | tr '\\n' ','",
	},
	"sort and uniq": {
		"printf 'b\\na\\nb\\n' | sort | uniq -c", "printf '10\\n9\\n100\\n' | sort -n", "printf '10\\n9\\n100\\n' | sort -nr",
		"printf 'b\\na\\nb\\nc\\n' | sort -u", "printf 'x 3\\ny 1\\nz 2\\n' | sort -k2 -n", "printf 'a\\na\\nb\\n' | uniq -d",
		"printf 'a\\na\\nb\\n' | uniq -u", "printf 'root:x:0\\nbob:x:1000\\nal:x:5\\n' | sort -t: -k3 -n",
	},
	"sed": {
		"echo abc | sed s/b/X/", "echo aaa | sed 's/a/b/g'", "echo 'hello world' | sed 's/\\(hello\\) \\(world\\)/\\2 \\1/'",
		"printf 'a\\nb\\nc\\n' | sed -n 2p", "printf 'a\\nb\\nc\\n' | sed '/b/d'", "printf 'a\\nb\\nc\\n' | sed '$d'",
		"echo 'path/to/x' | sed 's#/#_#g'", "echo foo | sed -e 's/f/F/' -e 's/o$/O/'", "echo x.y | sed 's/\\./-/'", "echo ab | sed 's/b/[&]/'",
	},
	"awk": {
		"echo 'a b c' | awk '{print $2}'", "printf 'root:x:0:0\\nbob:x:1000:1000\\n' | awk -F: '{print $1, $3}'",
		"printf 'a 1\\nb 2\\nc 3\\n' | awk '{s+=$2} END {print s}'", "printf 'a\\nb\\nc\\n' | awk 'NR==2'",
		"printf 'a 1\\nb 5\\n' | awk '$2 > 3 {print $1}'", "printf 'x\\ny\\n' | awk 'END {print NR}'",
		"echo 'a b c d' | awk '{print $NF, NF}'", "printf 'root\\nbob\\n' | awk '/ro/'", "printf 'root\\nbob\\n' | awk '!/ro/ {print \"no \" $0}'",
		"echo 'a:b' | awk -F: '{print $1 \"-\" $2}'", "awk 'BEGIN {print 2+3, \"x\"}'", "echo 'Hello' | awk '{print toupper($0), length($0)}'",
		"echo 'abcdef' | awk '{print substr($0, 2, 3)}'", "printf '1\\n2\\n' | awk '{printf \"%s;\", $1} END {print \"\"}'",
		"echo 'a b' | awk '{print $(NF-1)}'", "printf 'a\\nb\\n' | awk '{n++} END {print n}'", "echo '3 4' | awk '{print $1*$2, $1/2}'",
	},
	"xargs and seq": {
		"seq 3", "seq 2 4", "seq 1 2 7", "echo a b c | xargs echo x", "echo a b c | xargs -n1 echo", "printf 'a\\nb\\n' | xargs -I{} echo [{}]",
		"seq 3 | xargs", "seq 5 | tail -n 2", "seq 10 | head -n 3 | wc -l",
	},
	"here-strings and subshells": {
		"cat <<< hello", "tr a-z A-Z <<< abc", "(echo a; echo b) | sort -r", "(cd /tmp && pwd); pwd", "(exit 3); echo $?",
	},
	"loops and conditions": {
		"for i in 1 2 3; do echo $i; done", "for i in $(seq 3); do echo n$i; done | sort -r", "for f in a b; do for g in x y; do echo $f$g; done; done",
		"i=0; while [ $i -lt 3 ]; do echo $i; i=$((i+1)); done", "i=0; until [ $i -ge 2 ]; do i=$((i+1)); echo u$i; done",
		"if [ -d /tmp ]; then echo yes; else echo no; fi", "if [ -f /nonexistent ]; then echo a; elif [ 1 -eq 1 ]; then echo b; fi",
		"for i in 1 2 3 4; do if [ $i -eq 3 ]; then break; fi; echo $i; done", "for i in 1 2 3; do [ $i -eq 2 ] && continue; echo $i; done",
		"while true; do echo once; break; done", "echo start; for x in a; do echo $x; done; echo end",
		"if true; then for i in 1 2; do echo $i; done; fi", "x=5; if [ $x -gt 3 ] && [ $x -lt 10 ]; then echo mid; fi",
		`for arch in x86 arm mips; do echo "get bins.$arch"; done | head -n 2`,
	},
	"droppers": {
		"cat < /dev/tcp/127.0.0.1/1; echo $?", "echo hi > /dev/tcp/nonexistent.invalid/80; echo $?", "exec 3<>/dev/tcp/127.0.0.1/1; echo $?",
		"wget -q http://127.0.0.1:1/x; echo $?", "curl -s http://127.0.0.1:1/x; echo $?",
	},
	"cut grep wc": {
		"echo a:b:c | cut -d: -f2", "printf 'a\\nb\\na\\n' | grep -c a", "printf 'a\\nb\\n' | grep -v a", "printf 'A\\nb\\n' | grep -i a",
		"echo 'one two three' | wc -w", "printf 'x\\ny\\n' | wc -l",
	},
}

func TestTextToolsAgainstRealOnes(t *testing.T) {
	bash := testenv.RequireTool(t, "bash")
	for _, tool := range []string{"awk", "sed", "seq", "xargs"} {
		testenv.RequireTool(t, tool)
	}
	total, passed := 0, 0
	for _, cat := range slices.Sorted(maps.Keys(oneLiners)) {
		ok := 0
		for _, line := range oneLiners[cat] {
			total++
			s := newShell(t, "debian")
			s.Cwd = "/root"
			got, code := run(s, line)
			// What a terminal shows: stdout and stderr in one stream, the
			// shell named bash as bots start it.
			cmd := exec.Command(bash, "--norc", "--noprofile", "-c", line)
			cmd.Args[0] = "bash"
			cmd.Dir = "/root"
			cmd.Env = []string{"HOME=/root", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C"}
			var stdout bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stdout
			err := cmd.Run()
			wantCode := 0
			if e, isExit := err.(*exec.ExitError); isExit {
				wantCode = e.ExitCode()
			} else if err != nil {
				t.Fatalf("bash -c %q: %v", line, err)
			}
			if got != stdout.String() || code != wantCode {
				t.Errorf("%s: %q\n emulated: %q (exit %d)\n     real: %q (exit %d)", cat, line, got, code, stdout.String(), wantCode)
				continue
			}
			ok++
		}
		passed += ok
		t.Logf("%-28s %2d/%d as the real tools", cat, ok, len(oneLiners[cat]))
	}
	t.Logf("%d/%d one-liners print and exit as real bash, coreutils, sed and awk", passed, total)
}

// busyboxLines run in the emulated BusyBox shell (an OpenWrt persona)
// and in the real BusyBox's ash.
var busyboxLines = []string{
	"busybox wget http://127.0.0.1:1/x; echo $?", "busybox wget -q http://127.0.0.1:1/x; echo $?",
	"busybox wget http://nonexistent.invalid/x; echo $?", "cat < /dev/tcp/1.2.3.4/80; echo $?", "echo hi > /dev/tcp/1.2.3.4/80; echo $?",
	"echo $((6*7)) | busybox tr 0-9 a-j",
}

func TestBusyBoxAgainstRealOne(t *testing.T) {
	bb := testenv.RequireTool(t, "busybox")
	ok := 0
	for _, line := range busyboxLines {
		s := newShell(t, "openwrt")
		got, code := run(s, line)
		cmd := exec.Command(bb, "-c", line)
		cmd.Args[0] = "sh"
		cmd.Dir = "/"
		cmd.Env = []string{"HOME=/root", "PATH=" + filepath.Dir(bb)} // the lines name busybox's applets
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		want := 0
		if e, isExit := err.(*exec.ExitError); isExit {
			want = e.ExitCode()
		}
		if got != out.String() || code != want {
			t.Errorf("%q\n emulated: %q (exit %d)\n     real: %q (exit %d)", line, got, code, out.String(), want)
			continue
		}
		ok++
	}
	t.Logf("%d/%d lines as BusyBox's ash prints them", ok, len(busyboxLines))
}
