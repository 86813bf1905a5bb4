// Package cli builds the decnet command tree. Commands are thin: they parse
// flags, call the packages that do the work and render the result as a
// table or, with --json, as JSON for scripts.
package cli

import (
	"os"
	"slices"
	"strings"
	"syscall"

	"encoding/json"
	"errors"
	"fmt"
	"github.com/decnet/decnet/internal/agent"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Version, Commit and BuildDate are set at link time (-ldflags
// "-X github.com/decnet/decnet/internal/cli.Version=v1.2.3 ..."); without
// them the build info Go records (VCS revision and time) stands in.
var (
	Version   = ""
	Commit    = ""
	BuildDate = ""
)

// buildInfo is what `decnet version` prints.
type buildInfo struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	BuildDate string `json:"build_date"`
	Go        string `json:"go"`
	Platform  string `json:"platform"`
}

func readBuildInfo() buildInfo {
	b := buildInfo{Version: versionString(), Commit: Commit, BuildDate: BuildDate, Go: runtime.Version(),
		Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch {
			case s.Key == "vcs.revision" && b.Commit == "":
				b.Commit = s.Value
			case s.Key == "vcs.time" && b.BuildDate == "":
				b.BuildDate = s.Value
			}
		}
	}
	return b
}

// exitError carries a process exit code through cobra without printing.
type exitError struct{ code int }

func (e *exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// Main runs the CLI and returns the process exit code.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := NewRoot()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	if err := root.Execute(); err != nil {
		var ee *exitError
		if errors.As(err, &ee) {
			return ee.code
		}
		var re *agent.RestartError
		if errors.As(err, &re) {
			// Every goroutine has stopped and every file is closed:
			// become the other build, same pid, same arguments.
			err = restart(re, args)
		}
		fmt.Fprintf(stderr, "decnet: %v\n", err)
		return 1
	}
	return 0
}

// NewRoot returns the root command with every subcommand attached.
func NewRoot() *cobra.Command {
	root := &cobra.Command{
		Use:   "decnet",
		Short: "DECNET: a deception network of believable fake machines",
		Long: `DECNET puts believable fake machines ("deckies") on real networks, records
everything attackers do to them, and hands the result to a SOC.

Describe a topology (LANs and deckies with an OS persona and emulated
services), check it, and deploy it.`,
		Example: `  decnet topology generate --seed 7 > lab.yaml
  decnet topology validate lab.yaml
  decnet deploy --config fleet.ini --dry-run
  decnet services --json`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddGroup(
		&cobra.Group{ID: "run", Title: "Run and deploy:"},
		&cobra.Group{ID: "topology", Title: "Topologies:"},
		&cobra.Group{ID: "catalog", Title: "Catalog:"},
		&cobra.Group{ID: "pki", Title: "Certificates:"},
	)
	root.SetHelpCommandGroupID("catalog")
	root.SetCompletionCommandGroupID("catalog")
	add := func(group string, cmds ...*cobra.Command) {
		for _, c := range cmds {
			c.GroupID = group
			root.AddCommand(c)
		}
	}
	add("run", newUpCmd(), newMasterCmd(), newDeployCmd(), newAgentCmd(), newDeckyCmd(), newSwarmCmd(), newStatusCmd(), newTeardownCmd(), newIntelCmd())
	add("pki", newPKICmd())
	add("run", newImageCmd())
	add("topology", newTopologyCmd())
	add("catalog", newServicesCmd(), newArchetypesCmd(), newDistrosCmd(), newEventTypesCmd(), newVersionCmd(), newManCmd())
	return root
}

// restart replaces the process with re.Binary; it returns only on
// failure.
func restart(re *agent.RestartError, args []string) error {
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, agent.UpdateEnv+"=") || strings.HasPrefix(kv, reexecEnv+"=")
	})
	err := syscall.Exec(re.Binary, append([]string{re.Binary}, args...), append(env, re.Env...))
	return fmt.Errorf("%s: %w", re.Error(), err)
}

func versionString() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		rev, dirty := "", ""
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					dirty = "-dirty"
				}
			}
		}
		if len(rev) > 12 {
			rev = rev[:12]
		}
		if rev != "" {
			return "dev-" + rev + dirty
		}
		if bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			return bi.Main.Version
		}
	}
	return "dev"
}

func newVersionCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit and build date of this binary",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b := readBuildInfo()
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), b)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "decnet %s\n  commit:  %s\n  built:   %s\n  go:      %s %s\n",
				b.Version, orUnknown(b.Commit), orUnknown(b.BuildDate), b.Go, b.Platform)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
