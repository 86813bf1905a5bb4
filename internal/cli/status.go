package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/decnet/decnet/internal/master"
	"github.com/decnet/decnet/internal/store"
	"github.com/decnet/decnet/internal/topology"
)

// submit stores a validated spec on the master and asks for its
// deployment; the master's reconciler pushes it to the host.
func submit(ctx context.Context, f *masterFlags, spec *topology.Spec, host string) (*store.Topology, error) {
	m, err := master.Open(ctx, f.cfg)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	return submitTo(ctx, m, spec, host)
}

func submitTo(ctx context.Context, m *master.Master, spec *topology.Spec, host string) (*store.Topology, error) {
	if host != "" {
		spec.Host = host
	}
	if spec.Host == "" {
		return nil, errors.New("say which host runs it: --host ID (see decnet swarm hosts)")
	}
	t := &store.Topology{Name: spec.Name, HostID: spec.Host}
	if err := m.Store.CreateTopology(ctx, t); err != nil {
		return nil, fmt.Errorf("store topology %s: %w", spec.Name, err)
	}
	spec.ID = t.ID
	blob, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}
	if err := m.Store.UpdateSpec(ctx, t.ID, t.Version, blob, spec.Hash()); err != nil {
		return nil, err
	}
	if err := m.Store.Transition(ctx, t.ID, store.Pending, store.Deploying, "deploy requested from the CLI"); err != nil {
		return nil, err
	}
	return m.Store.Topology(ctx, t.ID)
}

func newStatusCmd() *cobra.Command {
	var f masterFlags
	var asJSON bool
	cmd := &cobra.Command{
		Use:     "status",
		Short:   "Show every topology with its status, host and recent status changes",
		Example: "  decnet status --data /var/lib/decnet/master",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := context.Background()
			m, err := master.Open(ctx, f.cfg)
			if err != nil {
				return err
			}
			defer m.Close()
			tops, err := m.Store.ListTopologies(ctx)
			if err != nil {
				return err
			}
			type row struct {
				store.Topology
				Spec    json.RawMessage      `json:"-"`
				History []store.StatusChange `json:"history"`
			}
			var out []row
			for _, t := range tops {
				h, err := m.Store.StatusHistory(ctx, t.ID)
				if err != nil {
					return err
				}
				out = append(out, row{Topology: t, History: h})
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), nonNil(out))
			}
			var rows [][]string
			for _, r := range out {
				last := ""
				if n := len(r.History); n > 0 {
					last = r.History[n-1].At.Format(time.RFC3339) + " " + r.History[n-1].Reason
				}
				rows = append(rows, []string{r.Name, r.ID, r.HostID, r.Status, r.Hash[:min(12, len(r.Hash))], last})
			}
			return table(cmd.OutOrStdout(), "TOPOLOGY\tID\tHOST\tSTATUS\tHASH\tLAST CHANGE", rows)
		},
	}
	f.bind(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func newTeardownCmd() *cobra.Command {
	var f masterFlags
	var id string
	var all bool
	cmd := &cobra.Command{
		Use:   "teardown",
		Short: "Tear down one topology (--id NAME or ID) or all of them (--all)",
		Example: `  decnet teardown --data /var/lib/decnet/master --id lab
  decnet teardown --data /var/lib/decnet/master --all`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if (id == "") == !all {
				return errors.New("pass exactly one of --id NAME and --all")
			}
			ctx := context.Background()
			m, err := master.Open(ctx, f.cfg)
			if err != nil {
				return err
			}
			defer m.Close()
			tops, err := m.Store.ListTopologies(ctx)
			if err != nil {
				return err
			}
			n := 0
			for _, t := range tops {
				if !all && t.ID != id && t.Name != id {
					continue
				}
				switch t.Status {
				case store.Deploying, store.Active, store.Degraded, store.Failed:
					if err := m.Store.Transition(ctx, t.ID, t.Status, store.TearingDown, "teardown requested from the CLI"); err != nil {
						return fmt.Errorf("%s: %w", t.Name, err)
					}
					fmt.Fprintf(cmd.OutOrStdout(), "tearing down %s on %s\n", t.Name, t.HostID)
					n++
				case store.Pending:
					if err := m.Store.Transition(ctx, t.ID, store.Pending, store.TornDown, "never deployed"); err != nil {
						return err
					}
					n++
				}
			}
			if n == 0 && !all {
				return fmt.Errorf("no running topology %q (see decnet status)", id)
			}
			return nil
		},
	}
	f.bind(cmd)
	cmd.Flags().StringVar(&id, "id", "", "topology name or id")
	cmd.Flags().BoolVar(&all, "all", false, "every topology")
	return cmd
}
