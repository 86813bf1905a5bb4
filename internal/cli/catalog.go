package cli

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/persona"
	"github.com/decnet/decnet/internal/service"
)

func table(w io.Writer, header string, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// catalogCmd lists a catalogue: as a table, or with --json as the items
// themselves.
type catalogCmd[T any] struct {
	use, short, example string
	items               func() []T
	header              string
	row                 func(T) []string
}

func (c catalogCmd[T]) command() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use: c.use, Short: c.short, Example: c.example, Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			all := c.items()
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), all)
			}
			rows := make([][]string, 0, len(all))
			for _, it := range all {
				rows = append(rows, c.row(it))
			}
			return table(cmd.OutOrStdout(), c.header, rows)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func newServicesCmd() *cobra.Command {
	return catalogCmd[service.Info]{
		use:   "services",
		short: "List the services a decky can run, their ports and whether they are implemented",
		example: `  decnet services
  decnet services --json | jq '.[] | select(.implemented) | .slug'`,
		items:  service.All,
		header: "SERVICE\tPORTS\tIMPLEMENTED\tTITLE\tNOTE\tCONFIG KEYS",
		row: func(s service.Info) []string {
			var ports, keys []string
			for _, p := range s.Ports {
				ports = append(ports, p.String())
			}
			for _, f := range s.Config {
				keys = append(keys, f.Key)
			}
			note := ""
			if s.WindowsOnly {
				note = "windows only"
			}
			return []string{s.ID, strings.Join(ports, ","), yesNo(s.Implemented), s.Title, note, strings.Join(keys, ",")}
		},
	}.command()
}

// archetypeView is an archetype with whether this build can deploy it.
type archetypeView struct {
	persona.Archetype
	// Deployable: every service of the archetype is implemented.
	Deployable bool `json:"deployable"`
	// Missing lists its services without an implementation.
	Missing []string `json:"missing_services,omitempty"`
}

func archetypeViews() []archetypeView {
	var out []archetypeView
	for _, a := range persona.Archetypes() {
		v := archetypeView{Archetype: a}
		for _, slug := range a.Services {
			if info, ok := service.Lookup(slug); !ok || !info.Implemented {
				v.Missing = append(v.Missing, slug)
			}
		}
		v.Deployable = len(v.Missing) == 0
		out = append(out, v)
	}
	return out
}

func newArchetypesCmd() *cobra.Command {
	return catalogCmd[archetypeView]{
		use:     "archetypes",
		short:   "List the archetypes: roles with a service set, fitting distros, and whether this build deploys them",
		example: "  decnet archetypes\n  decnet archetypes --json | jq '.[] | select(.deployable) | .slug'",
		items:   archetypeViews,
		header:  "ARCHETYPE\tOS\tSERVICES\tDEPLOYABLE\tDISTROS\tDESCRIPTION",
		row: func(a archetypeView) []string {
			deployable := "yes"
			if !a.Deployable {
				deployable = "no (" + strings.Join(a.Missing, ",") + " not implemented)"
			}
			return []string{a.Slug, string(a.Family), strings.Join(a.Services, ","), deployable, strings.Join(a.PreferredDistros, ","), a.Description}
		},
	}.command()
}

func newDistrosCmd() *cobra.Command {
	return catalogCmd[persona.Distro]{
		use:     "distros",
		short:   "List the operating system releases a persona can claim",
		example: "  decnet distros --json",
		items:   persona.Distros,
		header:  "DISTRO\tOS\tDISPLAY\tHOSTNAMES\tSSH\tHTTP",
		row: func(d persona.Distro) []string {
			return []string{d.Slug, string(d.Family), d.Display, string(d.HostnameStyle), d.SSHVersion, d.HTTPServer}
		},
	}.command()
}

func newEventTypesCmd() *cobra.Command {
	return catalogCmd[event.Type]{
		use:   "event-types",
		short: "List every event type DECNET emits, with its severity and meaning",
		example: `  decnet event-types
  decnet event-types --json | jq '.[] | select(.severity >= 3) | .type'`,
		items:  event.Types,
		header: "TYPE\tSEVERITY\tMEANING",
		row:    func(t event.Type) []string { return []string{t.Name, fmt.Sprint(t.Severity), t.Summary} },
	}.command()
}
