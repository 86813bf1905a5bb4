package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/decnet/decnet/internal/master"
	"github.com/decnet/decnet/internal/master/api"
	"github.com/decnet/decnet/internal/store"
	"github.com/decnet/decnet/internal/topology"
)

// submit stores a validated spec on the master and moves it to deploying
// through the master's lifecycle core, the rules the API applies; the
// master's reconciler pushes it to the host.
func submit(ctx context.Context, f *masterFlags, spec *topology.Spec, host string) (*store.Topology, error) {
	if host != "" {
		spec.Host = host
	}
	if spec.Host == "" {
		return nil, errors.New("say which host runs it: --host ID (see decnet swarm hosts)")
	}
	var t *store.Topology
	err := f.inMaster(ctx, func(m *master.Master) error {
		var err error
		t, _, err = m.Lifecycle.CreateAndDeploy(ctx, spec, "the CLI")
		if len(topologyIssues(err)) > 0 {
			return err // the caller lists them
		}
		return coded(err)
	})
	return t, err
}

// inMaster runs fn on the master whose data directory the flags name, as
// the commands that work on a master's data without running it do.
func (f *masterFlags) inMaster(ctx context.Context, fn func(*master.Master) error) error {
	f.cfg.Version = versionString()
	m, err := master.Open(ctx, f.cfg)
	if err != nil {
		return err
	}
	defer m.Close()
	return fn(m)
}

// topologyIssues lists the validation issues in err's tree.
func topologyIssues(err error) []topology.Issue {
	var out []topology.Issue
	var walk func(error)
	walk = func(err error) {
		switch e := err.(type) {
		case *topology.IssueError:
			out = append(out, e.Issue)
		case interface{ Unwrap() []error }:
			for _, c := range e.Unwrap() {
				walk(c)
			}
		}
	}
	walk(err)
	return out
}

// coded prefixes a refusal of the master's core with its API error code,
// so the CLI and the API name a refusal alike.
func coded(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", api.CodeOf(err), err)
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
			return f.inMaster(ctx, func(m *master.Master) error {
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
			})
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
			return f.inMaster(ctx, func(m *master.Master) error {
				var tops []store.Topology
				if all {
					var err error
					if tops, err = m.Store.ListTopologies(ctx); err != nil {
						return err
					}
				} else {
					t, err := m.Lifecycle.Find(ctx, id)
					if err != nil {
						return coded(err)
					}
					tops = []store.Topology{*t}
				}
				for _, t := range tops {
					if all && !master.ShouldRun(t.Status) && t.Status != store.Failed && t.Status != store.Pending {
						continue
					}
					done, err := m.Lifecycle.Teardown(ctx, t.ID, "the CLI")
					if err != nil {
						return fmt.Errorf("%s: %w", t.Name, coded(err))
					}
					if done {
						fmt.Fprintf(cmd.OutOrStdout(), "%s is torn down\n", t.Name)
					} else {
						fmt.Fprintf(cmd.OutOrStdout(), "tearing down %s on %s\n", t.Name, t.HostID)
					}
				}
				return nil
			})
		},
	}
	f.bind(cmd)
	cmd.Flags().StringVar(&id, "id", "", "topology name or id")
	cmd.Flags().BoolVar(&all, "all", false, "every topology")
	return cmd
}
