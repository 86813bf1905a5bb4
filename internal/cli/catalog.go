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

func newServicesCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "services",
		Short: "List the services a decky can run, their ports and whether they are implemented",
		Example: `  decnet services
  decnet services --json | jq '.[] | select(.implemented) | .slug'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			all := service.All()
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), all)
			}
			var rows [][]string
			for _, s := range all {
				var ports, keys []string
				for _, p := range s.Ports {
					ports = append(ports, p.String())
				}
				for _, f := range s.Config {
					keys = append(keys, f.Key)
				}
				impl := "no"
				if s.Implemented {
					impl = "yes"
				}
				note := ""
				if s.WindowsOnly {
					note = "windows only"
				}
				rows = append(rows, []string{s.ID, strings.Join(ports, ","), impl, s.Title, note, strings.Join(keys, ",")})
			}
			return table(cmd.OutOrStdout(), "SERVICE\tPORTS\tIMPLEMENTED\tTITLE\tNOTE\tCONFIG KEYS", rows)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON, with each service's full config schema")
	return cmd
}

func newArchetypesCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "archetypes",
		Short: "List the archetypes: roles with a service set and fitting distros",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			all := persona.Archetypes()
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), all)
			}
			var rows [][]string
			for _, a := range all {
				rows = append(rows, []string{a.Slug, string(a.Family), strings.Join(a.Services, ","), strings.Join(a.PreferredDistros, ","), a.Description})
			}
			return table(cmd.OutOrStdout(), "ARCHETYPE\tOS\tSERVICES\tDISTROS\tDESCRIPTION", rows)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func newDistrosCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "distros",
		Short: "List the operating system releases a persona can claim",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			all := persona.Distros()
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), all)
			}
			var rows [][]string
			for _, d := range all {
				rows = append(rows, []string{d.Slug, string(d.Family), d.Display, string(d.HostnameStyle), d.SSHVersion, d.HTTPServer})
			}
			return table(cmd.OutOrStdout(), "DISTRO\tOS\tDISPLAY\tHOSTNAMES\tSSH\tHTTP", rows)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func newEventTypesCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "event-types",
		Short: "List every event type DECNET emits, with its severity and meaning",
		Example: `  decnet event-types
  decnet event-types --json | jq '.[] | select(.severity >= 3) | .type'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			types := event.Types()
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), types)
			}
			var rows [][]string
			for _, t := range types {
				rows = append(rows, []string{t.Name, fmt.Sprint(t.Severity), t.Summary})
			}
			return table(cmd.OutOrStdout(), "TYPE\tSEVERITY\tMEANING", rows)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
