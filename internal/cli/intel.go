package cli

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/decnet/decnet/internal/intel"
	"github.com/decnet/decnet/internal/intel/alert"
	"github.com/decnet/decnet/internal/intel/attack"
	"github.com/decnet/decnet/internal/intel/correlate"
	"github.com/decnet/decnet/internal/intel/honey"
	"github.com/decnet/decnet/internal/master"
)

func newIntelCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "intel",
		Short: "Attacker intelligence kept by the master: ATT&CK tags, enrichment, identities and campaigns",
	}
	cmd.AddCommand(newIntelRebuildCmd())
	return cmd
}

func newIntelRebuildCmd() *cobra.Command {
	var f masterFlags
	var keep bool
	cmd := &cobra.Command{
		Use:   "rebuild",
		Short: "Tag, correlate and evaluate every stored event again, and enrich every address again",
		Long: `Replay the events stored in the master's database, oldest first, through the
ATT&CK tagger, the correlator (identities, campaigns, credential reuse,
lateral movement) and the alert rules (and through the enricher when
--geoip-city, --geoip-asn or --reverse-dns is given), as the master's
consumers handle them when they arrive. By default the stored tags,
technique counts, identities and campaigns are cleared first, so the result
is exactly what this binary makes of the stored events. Run it with the
master stopped, or restart the master afterwards: the running master's
correlator keeps its state in memory. --keep adds to what is stored instead
and is safe while the master runs (everything is written idempotently).`,
		Example: `  decnet intel rebuild --data /var/lib/decnet/master
  decnet intel rebuild --data /var/lib/decnet/master --geoip-city GeoLite2-City.mmdb --geoip-asn GeoLite2-ASN.mmdb`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return f.inMaster(ctx, func(m *master.Master) error {
				// A fresh engine: windowed rules see the events from the
				// start.
				eng, err := attack.Load()
				if err != nil {
					return err
				}
				alertTags, err := attack.Load()
				if err != nil {
					return err
				}
				// Alerts too (stored, not published: outputs had the live ones).
				o := intel.RebuildOptions{Tagger: intel.NewTagger(eng, m.Store, nil), Reset: !keep,
					Alerts:     alert.New(m.Store, alert.Options{Tagger: alertTags, Honey: honey.New(m.Store, nil)}),
					Correlator: correlate.New(m.Store, nil, nil),
					Progress: func(done int) {
						if done%50000 == 0 {
							fmt.Fprintf(cmd.ErrOrStderr(), "%d events\n", done)
						}
					}}
				if err := m.Geo.Reload(); err != nil {
					return err
				}
				e := intel.NewEnricher(m.Store, intel.EnricherOptions{Geo: m.Geo, ReverseDNS: f.cfg.ReverseDNS})
				if e.Enabled() {
					o.Enricher = e
				}
				n, err := intel.Rebuild(ctx, m.Store, o)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "rebuilt the intelligence of %d stored events (rules version %d, ATT&CK %s; enrichment %v)\n",
					n, eng.File().Version, eng.File().Attack, o.Enricher != nil)
				return nil
			})
		},
	}
	f.bind(cmd)
	cmd.Flags().BoolVar(&keep, "keep", false, "keep the stored tags and add what is missing, instead of clearing them first")
	return cmd
}
