package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"
)

// Settings of a long-running command (master, agent, up) come from three
// places; the first that sets one wins:
//
//  1. the command line (--api-listen ...);
//  2. the environment, DECNET_<COMMAND>_<FLAG> (DECNET_MASTER_API_LISTEN);
//  3. a YAML file, --config or DECNET_<COMMAND>_CONFIG, whose keys are
//     the flag names (api-listen: 127.0.0.1:8443).
//
// One name per setting everywhere keeps the three documented by --help.

// secretAnnotation marks a flag whose value `config` prints redacted.
const secretAnnotation = "decnet_secret"

// redacted replaces secrets in printed configurations.
const redacted = "REDACTED"

// settingsSource is one command's settings: its flags and the environment
// prefix (DECNET_MASTER_).
type settingsSource struct {
	prefix string
	file   string
}

// bindSettings adds --config to cmd and makes its RunE load the file and
// environment first. prefix is MASTER or AGENT.
func bindSettings(cmd *cobra.Command, prefix string, secrets ...string) {
	s := &settingsSource{prefix: "DECNET_" + prefix + "_"}
	cmd.Flags().StringVar(&s.file, "config", "", "YAML file of settings, keys are flag names (default $"+s.prefix+"CONFIG); flags and "+s.prefix+"* variables override it")
	for _, name := range secrets {
		_ = cmd.Flags().SetAnnotation(name, secretAnnotation, []string{"true"})
	}
	run := cmd.RunE
	cmd.RunE = func(c *cobra.Command, args []string) error {
		if err := s.apply(c.Flags(), os.LookupEnv); err != nil {
			return err
		}
		return run(c, args)
	}
}

// apply sets every flag not given on the command line from the
// environment, then from the file.
func (s *settingsSource) apply(fl *pflag.FlagSet, env func(string) (string, bool)) error {
	file := s.file
	if !fl.Changed("config") {
		if v, ok := env(s.prefix + "CONFIG"); ok {
			file = v
		}
	}
	fromFile, err := readSettingsFile(fl, file)
	if err != nil {
		return err
	}
	var errs []error
	fl.VisitAll(func(f *pflag.Flag) {
		if f.Changed || f.Name == "config" || f.Name == "help" {
			return
		}
		name := s.prefix + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := env(name); ok {
			if err := fl.Set(f.Name, v); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", name, err))
			}
			return
		}
		for _, v := range fromFile[f.Name] {
			if err := fl.Set(f.Name, v); err != nil {
				errs = append(errs, fmt.Errorf("%s: %s: %w", file, f.Name, err))
			}
		}
	})
	return errors.Join(errs...)
}

// readSettingsFile reads a YAML mapping of flag names to values (lists
// for repeatable flags); "" reads nothing.
func readSettingsFile(fl *pflag.FlagSet, path string) (map[string][]string, error) {
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("settings file: %w", err)
	}
	var raw map[string]any
	if err := yaml.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("settings file %s: %w", path, err)
	}
	out := make(map[string][]string, len(raw))
	for k, v := range raw {
		if f := fl.Lookup(k); f == nil || k == "config" || k == "help" {
			return nil, fmt.Errorf("settings file %s: unknown setting %q (the keys are the command's flag names; see --help)", path, k)
		}
		switch v := v.(type) {
		case []any:
			for _, e := range v {
				out[k] = append(out[k], scalarString(e))
			}
		case map[string]any:
			return nil, fmt.Errorf("settings file %s: %s: want a value or a list, not a mapping", path, k)
		default:
			out[k] = []string{scalarString(v)}
		}
	}
	return out, nil
}

func scalarString(v any) string {
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

// newSettingsCmd returns `<parent> config`: it builds a fresh parent to
// get the same flags, applies the file and environment, and prints the
// effective settings with secrets redacted.
func newSettingsCmd(prefix string, build func() *cobra.Command) *cobra.Command {
	var asJSON bool
	proto := build()
	s := &settingsSource{prefix: "DECNET_" + prefix + "_"}
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Print the effective settings (flags, DECNET_" + prefix + "_* variables, --config file), secrets redacted",
		Long: `Print the settings the command would run with: each from the command line
if given there, else from the environment (DECNET_` + prefix + `_<FLAG>, dashes as
underscores), else from the --config YAML file, else the default. The
output is itself a valid settings file.`,
		Example: "  decnet " + strings.ToLower(prefix) + " config --config /etc/decnet/" + strings.ToLower(prefix) + ".yaml\n" +
			"  DECNET_" + prefix + "_LOG_LEVEL=debug decnet " + strings.ToLower(prefix) + " config --json",
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if err := s.apply(proto.Flags(), os.LookupEnv); err != nil {
				return err
			}
			return printSettings(c.OutOrStdout(), proto.Flags(), asJSON)
		},
	}
	proto.Flags().VisitAll(func(f *pflag.Flag) {
		if f.Name != "config" && f.Name != "help" {
			cmd.Flags().AddFlag(f)
		}
	})
	cmd.Flags().StringVar(&s.file, "config", "", "YAML file of settings (default $"+s.prefix+"CONFIG)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of YAML")
	return cmd
}

// printSettings prints every flag's value, secrets and URL passwords
// redacted.
func printSettings(w io.Writer, fl *pflag.FlagSet, asJSON bool) error {
	vals := map[string]any{}
	fl.VisitAll(func(f *pflag.Flag) {
		if f.Name == "config" || f.Name == "help" || f.Name == "json" {
			return
		}
		var v any = f.Value.String()
		if f.Value.Type() == "bool" {
			v = f.Value.String() == "true"
		} else if sv, ok := f.Value.(pflag.SliceValue); ok {
			v = redactURLs(sv.GetSlice())
		} else if _, secret := f.Annotations[secretAnnotation]; secret && f.Value.String() != "" {
			v = redacted
		} else {
			v = redactURL(f.Value.String())
		}
		vals[f.Name] = v
	})
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(vals)
	}
	names := make([]string, 0, len(vals))
	for k := range vals {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		b, err := yaml.Marshal(map[string]any{k: vals[k]})
		if err != nil {
			return err
		}
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	return nil
}

func redactURLs(vs []string) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = redactURL(v)
	}
	return out
}

// redactURL hides the password of a URL (postgres://user:pw@db/...).
func redactURL(v string) string {
	u, err := url.Parse(v)
	if err != nil || u.User == nil {
		return v
	}
	if _, ok := u.User.Password(); !ok {
		return v
	}
	u.User = url.UserPassword(u.User.Username(), redacted)
	return u.String()
}
