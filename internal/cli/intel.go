package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/decnet/decnet/internal/intel"
	"github.com/decnet/decnet/internal/intel/alert"
	"github.com/decnet/decnet/internal/intel/attack"
	"github.com/decnet/decnet/internal/intel/correlate"
	"github.com/decnet/decnet/internal/intel/misp"
	"github.com/decnet/decnet/internal/intel/report"
	"github.com/decnet/decnet/internal/intel/stix"
	"github.com/decnet/decnet/internal/master"
	"github.com/decnet/decnet/internal/output"
)

func newIntelCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "intel",
		Short: "Attacker intelligence kept by the master: ATT&CK tags, enrichment, identities and campaigns",
	}
	cmd.AddCommand(newIntelRebuildCmd(), newIntelExportCmd())
	return cmd
}

func newIntelExportCmd() *cobra.Command {
	var f masterFlags
	var format, attacker, identity, campaign, since, until, out, mispURL, keyFile string
	var allowPrivate bool
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Export an attacker, identity, campaign or time range as STIX 2.1 or as a MISP event",
		Long: `Write what the master knows about a scope as a STIX 2.1 bundle (--format stix)
or a MISP event (--format misp, the JSON of MISP's /events/add), to stdout or
--out; with --misp-url and --misp-key-file, push the MISP event to that
instance instead. The same exports are GET /api/v1/exports/stix and
/exports/misp; the master also serves its last 30 days over TAXII 2.1
(/taxii2/, docs/intelligence.md).`,
		Example: `  decnet intel export --data /var/lib/decnet/master --identity I-0123456789ab > identity.stix.json
  decnet intel export --data /var/lib/decnet/master --format misp --since 2026-12-01T00:00:00Z --until 2026-12-08T00:00:00Z
  decnet intel export --data /var/lib/decnet/master --format misp --attacker 203.0.113.5 \
      --misp-url https://misp.example.org --misp-key-file /etc/decnet/misp.key`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "stix" && format != "misp" {
				return fmt.Errorf("--format %q: want stix or misp", format)
			}
			if mispURL != "" && (format != "misp" || keyFile == "") {
				return fmt.Errorf("--misp-url pushes a MISP event: give --format misp and --misp-key-file")
			}
			return f.inMaster(cmd.Context(), func(m *master.Master) error {
				sc, err := master.ExportScope(attacker, identity, campaign, since, until)
				if err != nil {
					return err
				}
				rep, err := report.Collect(cmd.Context(), m.Store, sc, m.Attack.File(), time.Now())
				if err != nil {
					return err
				}
				if mispURL != "" {
					key, err := os.ReadFile(keyFile)
					if err != nil {
						return err
					}
					p := &misp.Pusher{URL: mispURL, Key: strings.TrimSpace(string(key)), Client: output.GuardedHTTPClient(allowPrivate, 30*time.Second, nil)}
					res, err := p.Push(cmd.Context(), misp.Build(rep))
					if err != nil {
						return err
					}
					fmt.Fprintf(cmd.OutOrStdout(), "pushed MISP event %s (id %s) to %s\n", res.UUID, res.ID, mispURL)
					return nil
				}
				var doc any = stix.Build(rep)
				if format == "misp" {
					doc = misp.Build(rep)
				}
				w := cmd.OutOrStdout()
				if out != "" && out != "-" {
					file, err := os.OpenFile(out, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
					if err != nil {
						return err
					}
					defer file.Close()
					w = file
				}
				enc := json.NewEncoder(w)
				enc.SetIndent("", "  ")
				return enc.Encode(doc)
			})
		},
	}
	f.bind(cmd)
	cmd.Flags().StringVar(&format, "format", "stix", "stix (a STIX 2.1 bundle) or misp (a MISP event)")
	cmd.Flags().StringVar(&attacker, "attacker", "", "one attacker's address")
	cmd.Flags().StringVar(&identity, "identity", "", "an identity (I-...)")
	cmd.Flags().StringVar(&campaign, "campaign", "", "a campaign (C-...)")
	cmd.Flags().StringVar(&since, "since", "", "start of a time range (RFC 3339)")
	cmd.Flags().StringVar(&until, "until", "", "end of the time range (RFC 3339; default now)")
	cmd.Flags().StringVarP(&out, "out", "o", "", "write to this file (mode 0600) instead of stdout")
	cmd.Flags().StringVar(&mispURL, "misp-url", "", "push the MISP event to this MISP instance")
	cmd.Flags().StringVar(&keyFile, "misp-key-file", "", "file holding the MISP automation key")
	cmd.Flags().BoolVar(&allowPrivate, "allow-private", false, "let --misp-url reach loopback and private addresses")
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
					Alerts:     alert.New(m.Store, alert.Options{Tagger: alertTags}),
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
