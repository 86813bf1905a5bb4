package cli

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/decnet/decnet/internal/service"
	"github.com/decnet/decnet/internal/topology"
)

func newTopologyCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "topology",
		Aliases: []string{"topo"},
		Short:   "Generate, import, validate, inspect and hash topology specs",
		Long: `A topology is the desired state DECNET deploys: LANs, and deckies with an OS
persona, addresses and services. Specs are YAML or JSON; the original
system's deployment INI files are read too. Every command takes "-" for
standard input.`,
	}
	cmd.AddCommand(newGenerateCmd(), newImportCmd(), newValidateCmd(), newShowCmd(), newHashCmd())
	return cmd
}

// specSource reads a spec from a path of any supported format.
type specSource struct {
	seed string // identity seed for INI input
	name string // topology name for INI input
}

func (o *specSource) flags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&o.seed, "seed", "", "identity seed for INI input (default: random, so hashes differ per run)")
	cmd.Flags().StringVar(&o.name, "name", "", "topology name for INI input (default: the file name)")
}

func (o *specSource) load(cmd *cobra.Command, path string) (*topology.Spec, []topology.Issue, error) {
	var data []byte
	var err error
	if path == "-" {
		data, err = io.ReadAll(io.LimitReader(cmd.InOrStdin(), topology.MaxSpecSize+1))
	} else {
		data, err = readFileLimited(path, topology.MaxSpecSize+1)
	}
	if err != nil {
		return nil, nil, err
	}
	if isINI(path, data) {
		name := o.name
		if name == "" && path != "-" {
			name = sanitizeName(strings.TrimSuffix(filepath.Base(path), filepath.Ext(path)))
		}
		spec, warnings, err := topology.ImportINI(bytes.NewReader(data), topology.INIOptions{Name: name, Seed: o.seed})
		if err != nil {
			return nil, warnings, fmt.Errorf("%s: %w", path, err)
		}
		return spec, warnings, nil
	}
	spec, err := topology.DecodeBytes(data)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return spec, nil, nil
}

func readFileLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, limit))
}

// isINI tells INI input by extension, or by a first meaningful line that
// is a [section] header when there is no telling extension.
func isINI(path string, data []byte) bool {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".ini", ".conf", ".cfg":
		return true
	case ".yaml", ".yml", ".json":
		return false
	}
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		return strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]") && !strings.Contains(line, ",")
	}
	return false
}

func sanitizeName(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r < 128 && (r == '-' || r == '_' || r == '.' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	name := strings.TrimLeft(b.String(), "-_.")
	if len(name) > 63 {
		name = name[:63]
	}
	if name == "" {
		return "ini"
	}
	return name
}

func printSpec(w io.Writer, s *topology.Spec, asJSON bool) error {
	var out []byte
	var err error
	if asJSON {
		out, err = s.JSON()
	} else {
		out, err = s.YAML()
	}
	if err != nil {
		return err
	}
	_, err = w.Write(out)
	return err
}

func printIssues(w io.Writer, issues []topology.Issue) {
	for _, i := range issues {
		fmt.Fprintf(w, "%-7s %-26s %s: %s\n", i.Severity, i.Code, i.Object, i.Message)
	}
}

func newGenerateCmd() *cobra.Command {
	c := topology.DefaultGenConfig
	var seed uint64
	var asJSON, randomize bool
	cmd := &cobra.Command{
		Use:   "generate",
		Short: "Generate a random multi-LAN topology (reproducible with --seed)",
		Long: `Generate a tree of LANs below a DMZ, with deckies on each LAN and bridge
deckies linking every LAN to its parent. The same --seed always gives the
same spec and hash; the output always validates.`,
		Example: `  decnet topology generate --seed 7 > lab.yaml
  decnet topology generate --depth 3 --branching 2 --deckies-max 4 --cross-edge 0.3
  decnet topology generate --services ssh,http --subnet-base 10.50.0.0/16 --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(c.Services) > 0 && randomize {
				return fmt.Errorf("--services and --randomize-services exclude each other")
			}
			if cmd.Flags().Changed("seed") {
				c.Seed = seed
			} else {
				var b [8]byte
				_, _ = rand.Read(b[:])
				c.Seed = binary.BigEndian.Uint64(b[:]) >> 1
				fmt.Fprintf(cmd.ErrOrStderr(), "seed %d (pass --seed %d to reproduce)\n", c.Seed, c.Seed)
			}
			spec, err := topology.Generate(c)
			if err != nil {
				return err
			}
			return printSpec(cmd.OutOrStdout(), spec, asJSON)
		},
	}
	f := cmd.Flags()
	f.StringVar(&c.Name, "name", c.Name, "topology name")
	f.StringVar(&c.Host, "host", "", "target host that will run the topology")
	f.IntVar(&c.Depth, "depth", c.Depth, "levels of LANs below the DMZ (0-16)")
	f.IntVar(&c.Branching, "branching", c.Branching, "at most this many child LANs per LAN (1-8)")
	f.IntVar(&c.DeckiesMin, "deckies-min", c.DeckiesMin, "minimum deckies per LAN (0-32)")
	f.IntVar(&c.DeckiesMax, "deckies-max", c.DeckiesMax, "maximum deckies per LAN (1-32)")
	f.Float64Var(&c.BridgeForward, "bridge-forward", c.BridgeForward, "probability that a bridge decky forwards L3 (0-1)")
	f.Float64Var(&c.CrossEdge, "cross-edge", c.CrossEdge, "probability of an extra link from a LAN to a non-adjacent LAN (0-1)")
	f.StringVar(&c.SubnetBase, "subnet-base", c.SubnetBase, "network the LAN /24s are taken from")
	f.StringSliceVar(&c.Services, "services", nil, "services of every decky (default: a random archetype per decky)")
	f.BoolVar(&randomize, "randomize-services", false, "give each decky a random archetype and its services (the default)")
	f.Uint64Var(&seed, "seed", 0, "generator seed; the same seed gives the same topology")
	f.BoolVar(&asJSON, "json", false, "print JSON instead of YAML")
	return cmd
}

func newImportCmd() *cobra.Command {
	var src specSource
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "import FILE.ini",
		Short: "Convert a deployment INI of the original system into a spec",
		Long: `Read a deployment INI ([general], decky sections with ip/services/archetype/
nmap_os/amount, [decky.service] settings, [custom-*] services) and print
the equivalent spec. Warnings go to standard error; errors name the INI line.`,
		Example: `  decnet topology import fleet.ini > fleet.yaml
  decnet topology import --seed 0123456789abcdef fleet.ini --json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			spec, warnings, err := src.load(cmd, args[0])
			printIssues(cmd.ErrOrStderr(), warnings)
			if err != nil {
				return err
			}
			return printSpec(cmd.OutOrStdout(), spec, asJSON)
		},
	}
	src.flags(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of YAML")
	return cmd
}

func newValidateCmd() *cobra.Command {
	var src specSource
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "validate FILE",
		Short: "Check a spec (YAML, JSON or INI) and list every problem with its code",
		Long: `Validate a spec and print every issue with its stable code and the object it
points at. Exit status is 0 when there is no error (warnings allowed), 1
otherwise.`,
		Example: `  decnet topology validate lab.yaml
  decnet topology validate fleet.ini --json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			spec, pre, err := src.load(cmd, args[0])
			if err != nil {
				printIssues(cmd.ErrOrStderr(), pre)
				return err
			}
			rep := topology.Validate(spec, topology.Options{})
			// An agent refuses a service this build only describes: a
			// spec that uses one is not valid to deploy.
			rep.Issues = append(rep.Issues, topology.CheckImplemented(spec).Issues...)
			rep.Issues = append(rep.Issues, pre...)
			if asJSON {
				if err := writeJSON(cmd.OutOrStdout(), map[string]any{
					"valid": rep.Err() == nil, "hash": spec.Hash(), "issues": nonNil(rep.Issues),
				}); err != nil {
					return err
				}
			} else {
				printIssues(cmd.OutOrStdout(), rep.Issues)
				fmt.Fprintf(cmd.OutOrStdout(), "%s: %d errors, %d warnings\n", args[0], len(rep.Errors()), len(rep.Warnings()))
			}
			if rep.Err() != nil {
				return &exitError{1}
			}
			return nil
		},
	}
	src.flags(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func newHashCmd() *cobra.Command {
	var src specSource
	cmd := &cobra.Command{
		Use:   "hash FILE",
		Short: "Print the version hash of a spec",
		Long: `Print the canonical version hash: SHA-256 over the spec's semantic content.
Status, timestamps, UI positions and other bookkeeping never change it;
any LAN, address, persona, service, setting or the seed does.`,
		Example: "  decnet topology hash lab.yaml",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			spec, _, err := src.load(cmd, args[0])
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), spec.Hash())
			return nil
		},
	}
	src.flags(cmd)
	return cmd
}

func newShowCmd() *cobra.Command {
	var src specSource
	var asJSON bool
	cmd := &cobra.Command{
		Use:     "show FILE",
		Short:   "Summarise a spec: LANs, deckies, personas, services and ports",
		Example: "  decnet topology show lab.yaml",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			spec, warnings, err := src.load(cmd, args[0])
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), planOf(spec))
			}
			printIssues(cmd.ErrOrStderr(), warnings)
			return printPlan(cmd.OutOrStdout(), spec)
		},
	}
	src.flags(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// plan is the human-facing summary of a spec, also used by deploy --dry-run.
type plan struct {
	Name    string         `json:"name"`
	Hash    string         `json:"hash"`
	Host    string         `json:"host,omitempty"`
	LANs    []topology.LAN `json:"lans"`
	Deckies []planDecky    `json:"deckies"`
}

type planDecky struct {
	Name       string             `json:"name"`
	Persona    topology.Persona   `json:"persona"`
	Addresses  []topology.Address `json:"addresses"`
	ForwardsL3 bool               `json:"forwards_l3"`
	Services   []planService      `json:"services"`
}

type planService struct {
	Name        string         `json:"name"`
	Ports       []string       `json:"ports"`
	Implemented bool           `json:"implemented"`
	Settings    map[string]any `json:"settings,omitempty"`
}

func planOf(s *topology.Spec) plan {
	p := plan{Name: s.Name, Hash: s.Hash(), Host: s.Host, LANs: s.LANs}
	for _, d := range s.Deckies {
		pd := planDecky{Name: d.Name, Persona: d.Persona, Addresses: d.Addresses, ForwardsL3: d.ForwardsL3}
		for _, slug := range d.Services {
			ps := planService{Name: slug}
			if info, ok := service.Lookup(slug); ok {
				ps.Implemented = info.Implemented
				for _, port := range info.Ports {
					ps.Ports = append(ps.Ports, port.String())
				}
				if cfg := d.ServiceConfig[slug]; len(cfg) > 0 {
					ps.Settings = map[string]any{}
					for k, v := range cfg {
						if f, ok := info.Field(k); ok && f.IsSecret() {
							v = "********"
						}
						ps.Settings[k] = v
					}
				}
			} else if c := s.CustomService(slug); c != nil {
				ps.Implemented = true
				ps.Ports = c.Ports
			}
			pd.Services = append(pd.Services, ps)
		}
		p.Deckies = append(p.Deckies, pd)
	}
	return p
}

func printPlan(w io.Writer, s *topology.Spec) error {
	p := planOf(s)
	host := p.Host
	if host == "" {
		host = "(unassigned)"
	}
	fmt.Fprintf(w, "Topology %s  hash %s  host %s\n\n", p.Name, p.Hash[:16], host)
	var lans [][]string
	for _, l := range p.LANs {
		drv := string(l.Driver)
		if drv == "" {
			drv = string(topology.Bridge)
		}
		if l.Parent != "" {
			drv += " on " + l.Parent
		}
		dmz := ""
		if l.DMZ {
			dmz = "yes"
		}
		lans = append(lans, []string{l.Name, l.Subnet, l.Gateway, drv, dmz})
	}
	if err := table(w, "LAN\tSUBNET\tGATEWAY\tDRIVER\tDMZ", lans); err != nil {
		return err
	}
	fmt.Fprintln(w)
	var rows [][]string
	for _, d := range p.Deckies {
		var addrs, svcs []string
		for _, a := range d.Addresses {
			addrs = append(addrs, a.LAN+"="+a.IP)
		}
		for _, sv := range d.Services {
			item := sv.Name + "(" + strings.Join(sv.Ports, ",") + ")"
			if !sv.Implemented {
				item += "*"
			}
			svcs = append(svcs, item)
		}
		persona := d.Persona.OS
		if d.Persona.Distro != "" {
			persona += "/" + d.Persona.Distro
		}
		rows = append(rows, []string{d.Name, strings.Join(addrs, " "), persona, d.Persona.Archetype, d.Persona.Hostname, strings.Join(svcs, " ")})
	}
	if err := table(w, "DECKY\tADDRESSES\tPERSONA\tARCHETYPE\tHOSTNAME\tSERVICES", rows); err != nil {
		return err
	}
	var settings []string
	for _, d := range p.Deckies {
		for _, sv := range d.Services {
			keys := make([]string, 0, len(sv.Settings))
			for k := range sv.Settings {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				settings = append(settings, fmt.Sprintf("  %s %s.%s = %v", d.Name, sv.Name, k, sv.Settings[k]))
			}
		}
	}
	if len(settings) > 0 {
		fmt.Fprintln(w, "\nService settings:")
		fmt.Fprintln(w, strings.Join(settings, "\n"))
	}
	fmt.Fprintln(w, "\n* not implemented in this version: deploying it is refused")
	return nil
}

func randomSeed() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
