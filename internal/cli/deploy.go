package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/decnet/decnet/internal/master/api"
	"github.com/decnet/decnet/internal/topology"
)

func newDeployCmd() *cobra.Command {
	var (
		fc     topology.FleetConfig
		config string
		dryRun bool
		asJSON bool
		src    specSource
		mf     masterFlags
		host   string
	)
	cmd := &cobra.Command{
		Use:   "deploy",
		Short: "Deploy deckies from flags, a spec or a deployment INI",
		Long: `Build a topology from flags (N deckies on one LAN, as the original system's
deploy did) or from --config (YAML, JSON or INI), validate it and deploy it.
With --dry-run, print the plan (deckies, addresses, personas, services,
ports) and stop.`,
		Example: `  decnet deploy --deckies 5 --archetype linux-server --dry-run
  decnet deploy --deckies 3 --services ssh,http --subnet 10.60.0.0/24 --dry-run
  decnet deploy --config fleet.ini --dry-run`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var spec *topology.Spec
			var warnings []topology.Issue
			var err error
			if config != "" {
				if cmd.Flags().Changed("deckies") {
					return errors.New("--deckies and --config exclude each other")
				}
				spec, warnings, err = src.load(cmd, config)
			} else {
				if fc.Seed == "" {
					fc.Seed = randomSeed()
				}
				spec, err = topology.Fleet(fc)
			}
			printIssues(cmd.ErrOrStderr(), warnings)
			if err != nil {
				return err
			}
			if dryRun {
				if err := topology.Allocate(spec, "", nil); err != nil {
					return err
				}
				rep := topology.Validate(spec, topology.Options{})
				rep.Issues = append(rep.Issues, topology.CheckImplemented(spec).Issues...)
				if config == "" {
					printIssues(cmd.ErrOrStderr(), rep.Warnings())
				}
				if err := rep.Err(); err != nil {
					printIssues(cmd.ErrOrStderr(), rep.Errors())
					return fmt.Errorf("the topology is invalid (%d errors)", len(rep.Errors()))
				}
				if asJSON {
					return writeJSON(cmd.OutOrStdout(), planOf(spec))
				}
				return printPlan(cmd.OutOrStdout(), spec)
			}
			if impl := topology.CheckImplemented(spec); impl.Err() != nil {
				printIssues(cmd.ErrOrStderr(), impl.Errors())
				return errors.New("some services are not implemented yet; remove them or run with --dry-run")
			}
			if !cmd.Flags().Changed("data") {
				return errors.New("deploying goes through a master: pass --data DIR of the master on this host (or use --dry-run to print the plan)")
			}
			// The master's lifecycle allocates, validates and checks the
			// host as the API does, before it stores anything.
			t, err := submit(cmd.Context(), &mf, spec, host)
			if err != nil {
				if issues := topologyIssues(err); len(issues) > 0 {
					printIssues(cmd.ErrOrStderr(), issues)
					return fmt.Errorf("%s: the topology cannot be deployed (%d errors)", api.CodeOf(err), len(issues))
				}
				return err
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), t)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "topology %s (%s) is deploying to host %s; follow it with: decnet status --data %s\n", t.Name, t.ID, t.HostID, mf.cfg.DataDir)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&config, "config", "c", "", "spec or deployment INI to deploy")
	src.flags(cmd)
	f.IntVarP(&fc.Deckies, "deckies", "n", 0, "number of deckies on one LAN")
	f.StringSliceVar(&fc.Services, "services", nil, "services of every decky, comma separated")
	f.BoolVar(&fc.RandomizeServices, "randomize-services", false, "give every decky 1-3 services picked from the seed")
	f.StringVarP(&fc.Archetype, "archetype", "a", "", "archetype of every decky (see decnet archetypes)")
	f.StringSliceVar(&fc.Distros, "distro", nil, "distros cycled over the deckies")
	f.BoolVar(&fc.RandomizeDistros, "randomize-distros", false, "pick a distro per decky from the seed")
	f.StringVarP(&fc.Interface, "interface", "i", "", "host interface: put the deckies on that LAN with macvlan")
	f.BoolVar(&fc.IPvlan, "ipvlan", false, "use ipvlan instead of macvlan on --interface (Wi-Fi)")
	f.StringVar(&fc.Subnet, "subnet", "", "LAN subnet (default: a free /24)")
	f.StringVar(&fc.IPStart, "ip-start", "", "first address to give a decky")
	f.BoolVar(&dryRun, "dry-run", false, "print the plan and stop")
	f.BoolVar(&asJSON, "json", false, "print the plan (or the stored topology) as JSON")
	f.StringVar(&host, "host", "", "host that runs the topology (default: the spec's host)")
	f.StringVar(&mf.cfg.DataDir, "data", "/var/lib/decnet/master", "data directory of the master on this host")
	f.StringVar(&mf.cfg.DB, "db", "", "the master's PostgreSQL URL, if it uses one")
	return cmd
}
