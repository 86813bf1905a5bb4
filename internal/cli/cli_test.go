package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/decnet/decnet/internal/service/servicetest"
	"github.com/decnet/decnet/internal/topology"
)

// run executes the CLI in-process and returns its exit code and output.
func run(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Main(args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestGenerateIsReproducible(t *testing.T) {
	_, a, _ := run(t, "", "topology", "generate", "--seed", "7", "--depth", "2", "--branching", "3")
	_, b, _ := run(t, "", "topology", "generate", "--seed", "7", "--depth", "2", "--branching", "3")
	_, c, _ := run(t, "", "topology", "generate", "--seed", "8", "--depth", "2", "--branching", "3")
	if a == "" || a != b {
		t.Fatal("seed 7 twice printed different specs")
	}
	if a == c {
		t.Fatal("seed 8 printed the same spec as seed 7")
	}
	dir := t.TempDir()
	for name, doc := range map[string]string{"7.yaml": a, "8.yaml": c} {
		path := filepath.Join(dir, name)
		os.WriteFile(path, []byte(doc), 0o644)
		if code, out, errOut := run(t, "", "topology", "validate", path); code != 0 {
			t.Fatalf("%s does not validate: %s %s", name, out, errOut)
		}
	}
	_, h1, _ := run(t, "", "topology", "hash", filepath.Join(dir, "7.yaml"))
	_, h2, _ := run(t, "", "topology", "hash", filepath.Join(dir, "7.yaml"))
	_, h3, _ := run(t, "", "topology", "hash", filepath.Join(dir, "8.yaml"))
	if len(strings.TrimSpace(h1)) != 64 || h1 != h2 || h1 == h3 {
		t.Fatalf("hashes %q %q %q", h1, h2, h3)
	}
}

func TestHashCommandFollowsSemantics(t *testing.T) {
	base, err := os.ReadFile("../../examples/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	hash := func(doc string) string {
		t.Helper()
		path := filepath.Join(dir, "x.yaml")
		os.WriteFile(path, []byte(doc), 0o644)
		code, out, errOut := run(t, "", "topology", "hash", path)
		if code != 0 {
			t.Fatalf("hash: %s", errOut)
		}
		return strings.TrimSpace(out)
	}
	orig := hash(string(base))
	nested := strings.Replace(string(base), `users: ["root:toor", "admin:admin123"]`, `users: ["root:toor", "admin:admin1234"]`, 1)
	if nested == string(base) {
		t.Fatal("fixture changed: nested setting not found")
	}
	if hash(nested) == orig {
		t.Error("changing a nested service setting did not change the hash")
	}
	moved := strings.Replace(string(base), "  - name: web-01\n", "  - name: web-01\n    ui: {x: 120.5, y: 40}\n", 1)
	status := string(base) + "status:\n  state: active\n  updated_at: \"2026-11-27T12:00:00Z\"\n  needs_resync: true\n  counters: {events: 42}\n"
	if hash(moved) != orig || hash(status) != orig {
		t.Error("canvas position or status changed the hash")
	}
}

func TestValidateReportsCodes(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "bad.yaml")
	os.WriteFile(path, []byte(`name: bad
seed: s
lans:
  - {name: dmz, subnet: 10.1.0.0/24}
deckies:
  - name: a
    persona: {os: linux}
    addresses: [{lan: dmz, ip: 10.1.0.300}]
    services: [mssql]
`), 0o644)
	code, out, _ := run(t, "", "topology", "validate", path, "--json")
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	var rep struct {
		Valid  bool             `json:"valid"`
		Issues []topology.Issue `json:"issues"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err, out)
	}
	codes := map[topology.Code]bool{}
	for _, i := range rep.Issues {
		codes[i.Code] = true
	}
	for _, c := range []topology.Code{topology.DMZMissing, topology.IPMalformed, topology.PersonaServiceOS} {
		if !codes[c] {
			t.Errorf("missing %s in %s", c, out)
		}
	}
}

func TestDecodeErrorNamesLine(t *testing.T) {
	code, _, errOut := run(t, "name: x\nlans:\n  - name: a\n    vlan: 2\n", "topology", "validate", "-")
	if code != 1 || !strings.Contains(errOut, "line 4") || !strings.Contains(errOut, "vlan") {
		t.Fatalf("exit %d: %s", code, errOut)
	}
}

func TestDeployDryRunFromINI(t *testing.T) {
	code, out, errOut := run(t, "", "deploy", "--config", "../topology/testdata/ini/full.ini", "--dry-run", "--seed", "00ff00ff00ff00ff")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"DECKY", "ADDRESSES", "PERSONA", "SERVICES", "Service settings"} {
		if !strings.Contains(out, want) {
			t.Errorf("plan lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = run(t, "", "deploy", "--config", "../topology/testdata/ini/full.ini", "--dry-run", "--json", "--seed", "00ff00ff00ff00ff")
	var p plan
	if code != 0 || json.Unmarshal([]byte(out), &p) != nil || len(p.Deckies) == 0 {
		t.Fatalf("json plan: %d %s", code, out)
	}
}

func TestDeployFromFlags(t *testing.T) {
	code, out, errOut := run(t, "", "deploy", "--deckies", "4", "--archetype", "windows-workstation", "--subnet", "10.60.0.0/24", "--dry-run", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var p plan
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		t.Fatal(err)
	}
	if len(p.Deckies) != 4 || p.Deckies[0].Persona.OS != "windows" || p.Deckies[0].Addresses[0].IP != "10.60.0.2" {
		t.Fatalf("plan %+v", p.Deckies)
	}
	if code, _, errOut := run(t, "", "deploy", "--deckies", "2", "--dry-run"); code == 0 || !strings.Contains(errOut, "--services") {
		t.Fatalf("deploy without services: %d %s", code, errOut)
	}
	servicetest.RegisterPlaceholder()
	if code, _, errOut := run(t, "", "deploy", "--deckies", "2", "--services", servicetest.Placeholder); code == 0 || !strings.Contains(errOut, "not implemented") {
		t.Fatalf("deploying unimplemented services must fail clearly: %d %s", code, errOut)
	}
}

func TestCatalogJSON(t *testing.T) {
	for _, cmd := range []string{"services", "archetypes", "distros"} {
		code, out, _ := run(t, "", cmd, "--json")
		var v []map[string]any
		if code != 0 || json.Unmarshal([]byte(out), &v) != nil || len(v) == 0 {
			t.Errorf("%s --json: %d %s", cmd, code, out)
		}
	}
	_, out, _ := run(t, "", "archetypes", "--json")
	if n := strings.Count(out, `"slug"`); n != 15 {
		t.Errorf("%d archetypes, want the original's 15", n)
	}
	_, out, _ = run(t, "", "services")
	if !strings.Contains(out, "IMPLEMENTED") || !strings.Contains(out, "windows only") {
		t.Errorf("services table: %s", out)
	}
}

func TestHelpGroupsCommands(t *testing.T) {
	_, out, _ := run(t, "", "--help")
	for _, want := range []string{"Run and deploy:", "Topologies:", "Catalog:", "agent", "topology", "version"} {
		if !strings.Contains(out, want) {
			t.Errorf("help lacks %q", want)
		}
	}
	if code, out, _ := run(t, "", "version"); code != 0 || !strings.HasPrefix(out, "decnet ") {
		t.Errorf("version: %s", out)
	}
}

// TestEveryCommandHasHelp builds every command's flags (a duplicate flag
// panics here, not in front of a user) and checks each has a summary.
func TestEveryCommandHasHelp(t *testing.T) {
	var walk func(prefix []string, c *cobra.Command)
	walk = func(prefix []string, c *cobra.Command) {
		for _, sub := range c.Commands() {
			if sub.Hidden || sub.Name() == "help" || sub.Name() == "completion" {
				continue
			}
			args := append(append([]string{}, prefix...), sub.Name())
			code, out, errOut := run(t, "", append(args, "--help")...)
			if code != 0 || sub.Short == "" || !strings.Contains(out, "Usage:") {
				t.Errorf("decnet %s --help: exit %d, short %q\n%s%s", strings.Join(args, " "), code, sub.Short, out, errOut)
			}
			walk(args, sub)
		}
	}
	walk(nil, NewRoot())
}
