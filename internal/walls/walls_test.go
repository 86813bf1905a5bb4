package walls

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/decnet/decnet"

// pkg is one package of the graph.
type pkg struct {
	ImportPath string
	Standard   bool
	Imports    []string
}

// graph is the import graph by import path.
type graph map[string]*pkg

// loadGraph lists every package of the module with its dependencies.
func loadGraph(t *testing.T) graph {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", "-json=ImportPath,Standard,Imports", module+"/...")
	cmd.Dir = "../.."
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	g := graph{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		g[p.ImportPath] = &p
	}
	return g
}

// path returns the shortest import chain from one package to another, or
// nil when from does not depend on to. Only edges accepted by follow are
// taken.
func (g graph) path(from, to string, follow func(*pkg) bool) []string {
	prev := map[string]string{from: ""}
	queue := []string{from}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		if cur == to {
			var out []string
			for p := cur; p != ""; p = prev[p] {
				out = append(out, p)
			}
			slices.Reverse(out)
			return out
		}
		p := g[cur]
		if p == nil || (cur != from && !follow(p)) {
			continue
		}
		for _, next := range p.Imports {
			if _, seen := prev[next]; !seen {
				prev[next] = cur
				queue = append(queue, next)
			}
		}
	}
	return nil
}

// wall forbids the packages matching From to depend on any package
// matching To. With OwnCode set, only imports made by non-standard code
// count: the standard library's own use of os and syscall (fmt, time) is
// not the package doing I/O.
type wall struct {
	Name    string
	From    func(string) bool
	To      func(string) bool
	OwnCode bool
	Why     string
}

// check returns one message per package that breaks the wall, with the
// chain of imports that does.
func (g graph) check(w wall) []string {
	var out []string
	var froms []string
	for name, p := range g {
		if !p.Standard && w.From(name) {
			froms = append(froms, name)
		}
	}
	slices.Sort(froms)
	follow := func(p *pkg) bool { return !w.OwnCode || !p.Standard }
	for _, from := range froms {
		var targets []string
		for name := range g {
			if w.To(name) && name != from {
				targets = append(targets, name)
			}
		}
		slices.Sort(targets)
		for _, to := range targets {
			if chain := g.path(from, to, follow); chain != nil {
				out = append(out, fmt.Sprintf("wall %q broken: %s must not depend on %s (%s), but %s",
					w.Name, short(from), short(to), w.Why, strings.Join(mapShort(chain), " -> ")))
			}
		}
	}
	return out
}

func short(p string) string { return strings.TrimPrefix(p, module+"/") }

func mapShort(ps []string) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = short(p)
	}
	return out
}

func under(prefixes ...string) func(string) bool {
	return func(p string) bool {
		for _, pre := range prefixes {
			full := module + "/" + pre
			if p == full || strings.HasPrefix(p, full+"/") {
				return true
			}
		}
		return false
	}
}

func is(names ...string) func(string) bool {
	return func(p string) bool { return slices.Contains(names, p) }
}

func anyOf(fs ...func(string) bool) func(string) bool {
	return func(p string) bool { return slices.ContainsFunc(fs, func(f func(string) bool) bool { return f(p) }) }
}

func prefix(ps ...string) func(string) bool {
	return func(p string) bool {
		return slices.ContainsFunc(ps, func(pre string) bool { return p == pre || strings.HasPrefix(p, pre+"/") })
	}
}

// protocol matches the packages of one protocol: internal/service/<proto>
// and below, not the registry itself.
func protocol(p string) bool {
	rest, ok := strings.CutPrefix(p, module+"/internal/service/")
	return ok && rest != ""
}

var (
	// ioPkgs is what a pure package may not reach: the network, processes, the
	// operating system, databases and the container engine.
	ioPkgs = anyOf(is("net", "os", "os/exec", "syscall", "net/http", "database/sql"),
		prefix("github.com/docker", "modernc.org/sqlite", "github.com/jackc/pgx"))
	walls = []wall{
		{Name: "pure core", From: anyOf(under("internal/topology", "internal/persona"), is(module+"/internal/service")), OwnCode: true,
			To:  ioPkgs,
			Why: "validation, hashing and identity run anywhere, do no I/O and are tested without a host"},
		{Name: "pure core (any depth)", From: under("internal/topology", "internal/persona"),
			To:  anyOf(is("net", "os/exec", "net/http", "database/sql"), prefix("github.com/docker", "modernc.org/sqlite", "github.com/jackc/pgx")),
			Why: "not even the standard library may bring the network, processes, databases or the engine in"},
		{Name: "protocols know only the registry, persona and events", From: protocol,
			To:  under("internal/master", "internal/store", "internal/bus", "internal/web", "internal/agent", "internal/driver", "internal/decky"),
			Why: "a protocol package is linked into every decky; the decky holds nothing of the master or the agent"},
		{Name: "agent never imports master", From: under("internal/agent"), To: under("internal/master", "internal/web"),
			Why: "the agent is a dumb executor; what it shares with the master is the wire package"},
		{Name: "decky writes the spool only", From: under("internal/decky"), To: under("internal/bus", "internal/store", "internal/master", "internal/agent"),
			Why: "the decky runtime writes its spool; the agent ships it"},
		{Name: "dashboard goes through the API", From: under("internal/web"), To: under("internal/driver", "internal/agent", "internal/decky"),
			Why: "the dashboard reads the master's API layer, never the hosts"},
		{Name: "ATT&CK rules are pure", From: under("internal/intel/attack"), OwnCode: true, To: ioPkgs,
			Why: "tagging is a function of the event and the rules file; the consumer around it does the I/O"},
		{Name: "intelligence is below the master", From: under("internal/intel"),
			To:  under("internal/master", "internal/web", "internal/agent", "internal/driver", "internal/decky"),
			Why: "the intelligence consumers read the bus and write the store; the master wires them"},
		{Name: "nothing imports cmd", From: func(p string) bool { return strings.HasPrefix(p, module+"/") }, To: under("cmd"),
			Why: "cmd/decnet is the program, not a library"},
	}
)

// TestWalls checks every wall against the module's real import graph.
func TestWalls(t *testing.T) {
	g := loadGraph(t)
	for _, w := range walls {
		t.Run(w.Name, func(t *testing.T) {
			for _, msg := range g.check(w) {
				t.Error(msg)
			}
		})
	}
}

// TestWallsReportBreaks shows what a broken wall reports: a topology that
// pulls in the network through the registry is named with the chain.
func TestWallsReportBreaks(t *testing.T) {
	m := func(s string) string { return module + "/" + s }
	g := graph{
		m("internal/topology"):      {ImportPath: m("internal/topology"), Imports: []string{m("internal/service"), "fmt"}},
		m("internal/service"):       {ImportPath: m("internal/service"), Imports: []string{m("internal/service/serve")}},
		m("internal/service/serve"): {ImportPath: m("internal/service/serve"), Imports: []string{"net", "fmt"}},
		"fmt":                       {ImportPath: "fmt", Standard: true, Imports: []string{"os"}},
		"os":                        {ImportPath: "os", Standard: true},
		"net":                       {ImportPath: "net", Standard: true},
	}
	got := g.check(walls[0])
	want := []string{
		`wall "pure core" broken: internal/service must not depend on net (validation, hashing and identity run anywhere, do no I/O and are tested without a host), but internal/service -> internal/service/serve -> net`,
		`wall "pure core" broken: internal/topology must not depend on net (validation, hashing and identity run anywhere, do no I/O and are tested without a host), but internal/topology -> internal/service -> internal/service/serve -> net`,
	}
	if !slices.Equal(got, want) {
		t.Fatalf("reports:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// fmt's own use of os is the standard library's, not the package's.
	for _, msg := range got {
		if strings.Contains(msg, "-> os") {
			t.Fatalf("counted the standard library's own imports: %s", msg)
		}
	}
}
