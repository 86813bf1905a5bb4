package cloak

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/decnet/decnet/internal/persona"
	"github.com/decnet/decnet/internal/testenv"
)

// TestNmapNamesFamily runs nmap -O against a decky namespace of each
// family and checks that nmap's best guess is that family. The decky is
// reduced to what nmap -O sees (see lab); the Docker driver gives each
// decky the same sysctls in its container's namespace.
func TestNmapNamesFamily(t *testing.T) {
	for _, tc := range []struct {
		fam  persona.Family
		want string // in nmap's top guess
	}{
		{persona.Windows, "Microsoft Windows"},
		{persona.WindowsServer, "Microsoft Windows"},
		{persona.Linux, "Linux"},
		{persona.Embedded, "Linux"},
		{persona.BSD, "FreeBSD"},
		{persona.Cisco, "Cisco"},
	} {
		t.Run(string(tc.fam), func(t *testing.T) {
			nmap := testenv.RequireTool(t, "nmap")
			l := newLab(t, tc.fam, 22, 80, 445)
			if p, ok := Lookup(tc.fam); ok {
				c, err := Start(Config{Profile: p, NetNS: l.netns(), Logger: testenv.Logger(t, slog.LevelInfo)})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() {
					if err := c.Close(); err != nil {
						t.Errorf("close: %v", err)
					}
					t.Logf("cloak stats: %+v", c.Stats())
				})
			}
			out, err := l.inScanner(nmap, "-O", "--osscan-guess", "-n", "-Pn", "-d", "-p", "22,80,443,445", l.deckyIP).CombinedOutput()
			if err != nil {
				t.Fatalf("nmap: %v\n%s", err, out)
			}
			top, acc := testenv.NmapTopOSGuess(string(out))
			t.Logf("nmap -O on a %s decky: %q (%s)", tc.fam, top, acc)
			if !strings.Contains(top, tc.want) {
				t.Errorf("nmap's top guess for %s is %q, want %q\n%s", tc.fam, top, tc.want, out)
			}
		})
	}
}
