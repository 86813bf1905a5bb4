package web

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/decnet/decnet/internal/service"
	"github.com/decnet/decnet/internal/topology"
)

// The service settings of a topology's deckies, as forms generated from the
// service schemas (admins) or read-only lists (viewers). The view holds no
// secret value: a secret is only known to be set or not.

// settingsDecky is one decky's settings: one form.
type settingsDecky struct {
	Index    int    // position in the spec; ids derive from it
	Name     string // the decky's name, as in the spec
	Services string // its services, comma-separated
	Svcs     []settingsService
}

// settingsService is one service of a decky: one fieldset.
type settingsService struct {
	Slug   string
	Title  string
	Note   string // why it has no settings here (a custom or unknown service)
	Fields []settingsField
	// Unknown lists keys set in the spec that the schema does not declare;
	// a save drops them.
	Unknown []string
}

// AnySet reports whether the spec sets any of the service's fields.
func (s settingsService) AnySet() bool {
	return slices.ContainsFunc(s.Fields, func(f settingsField) bool { return f.Set })
}

// settingsField is one schema field of a service: one labelled control.
type settingsField struct {
	ID      string // the control's id: svc-INDEX-SLUG-KEY
	HelpID  string // help-INDEX-SLUG-KEY
	ErrID   string // err-INDEX-SLUG-KEY
	Name    string // slug.key, the control's name
	Key     string
	Type    string
	Help    string
	Default string // the default as text; "" when the field has none
	Set     bool   // the spec sets this key
	Value   string // the current value as text; never a secret's
	Checked bool   // bool: the current value, or the default when unset
	Min     *int
	Max     *int
	Options []settingsOption // enum and multi_enum
	Rows    int              // textarea rows
	Shown   string           // the read-only text: the value, a secret masked
	// Multiline: a secret taken in a text area (a PEM key), still empty.
	Multiline bool
}

// settingsOption is one value of an enum or multi_enum.
type settingsOption struct {
	Value    string
	Selected bool
	Invalid  bool // the spec holds a value the schema does not allow
}

// maskedSecret stands for a secret that is set, in the read-only view.
const maskedSecret = "•••••• (set)"

// buildSettings returns the settings view of every decky of spec.
func buildSettings(spec *topology.Spec) []settingsDecky {
	out := make([]settingsDecky, 0, len(spec.Deckies))
	for i, d := range spec.Deckies {
		sd := settingsDecky{Index: i, Name: d.Name, Services: strings.Join(d.Services, ", ")}
		for _, slug := range d.Services {
			sd.Svcs = append(sd.Svcs, buildService(spec, i, slug, d.ServiceConfig[slug]))
		}
		out = append(out, sd)
	}
	return out
}

func buildService(spec *topology.Spec, decky int, slug string, cfg map[string]any) settingsService {
	sv := settingsService{Slug: slug, Title: slug}
	info, ok := service.Lookup(slug)
	switch {
	case ok && info.ID != slug:
		sv.Note = fmt.Sprintf("%s is spelled %s here; fix the spec to change its settings.", info.ID, slug)
		return sv
	case !ok && spec.CustomService(slug) != nil:
		sv.Note = "A custom service: it takes no settings."
		return sv
	case !ok:
		sv.Note = "Unknown service: it has no settings schema."
		return sv
	}
	sv.Title = info.Title
	for _, f := range info.Config {
		sv.Fields = append(sv.Fields, buildField(decky, slug, f, cfg))
	}
	for k := range cfg {
		if _, ok := info.Field(k); !ok {
			sv.Unknown = append(sv.Unknown, k)
		}
	}
	slices.Sort(sv.Unknown)
	return sv
}

func buildField(decky int, slug string, f service.Field, cfg map[string]any) settingsField {
	v, set := cfg[f.Key]
	suffix := fmt.Sprintf("%d-%s-%s", decky, slug, f.Key)
	sf := settingsField{
		ID: "svc-" + suffix, HelpID: "help-" + suffix, ErrID: "err-" + suffix,
		Name: slug + "." + f.Key, Key: f.Key, Type: string(f.Type), Help: f.Help,
		Default: defaultText(f), Set: set, Min: f.Min, Max: f.Max, Multiline: f.Multiline,
	}
	switch f.Type {
	case service.Secret:
		if set {
			sf.Shown = maskedSecret
		}
		return sf // never the value
	case service.Bool:
		b, isBool := v.(bool)
		if !set || !isBool {
			b, _ = f.Default.(bool)
		}
		sf.Checked = b
	case service.Enum:
		cur, _ := v.(string)
		if set && !slices.Contains(f.Enum, cur) {
			cur = valueText(v)
			sf.Options = append(sf.Options, settingsOption{Value: cur, Selected: true, Invalid: true})
		}
		for _, e := range f.Enum {
			sf.Options = append(sf.Options, settingsOption{Value: e, Selected: set && e == cur})
		}
	case service.MultiEnum:
		items, _ := v.([]any)
		var chosen []string
		for _, it := range items {
			chosen = append(chosen, valueText(it))
		}
		for _, e := range f.Enum {
			sf.Options = append(sf.Options, settingsOption{Value: e, Selected: slices.Contains(chosen, e)})
		}
		for _, c := range chosen {
			if !slices.Contains(f.Enum, c) {
				sf.Options = append(sf.Options, settingsOption{Value: c, Selected: true, Invalid: true})
			}
		}
	case service.List:
		if items, ok := v.([]any); ok {
			lines := make([]string, len(items))
			for i, it := range items {
				lines[i] = valueText(it)
			}
			sf.Value = strings.Join(lines, "\n")
		} else if set {
			sf.Value = valueText(v)
		}
	case service.Map, service.Object:
		if set {
			b, err := json.MarshalIndent(v, "", "  ")
			if err != nil {
				b = []byte(fmt.Sprint(v))
			}
			sf.Value = string(b)
		}
	default: // string, text, int
		if set {
			sf.Value = valueText(v)
		}
	}
	switch f.Type {
	case service.Text, service.List, service.Map, service.Object:
		sf.Rows = min(max(3, strings.Count(sf.Value, "\n")+2), 12)
	}
	if set {
		sf.Shown = sf.Value
		switch f.Type {
		case service.Bool, service.Enum:
			sf.Shown = valueText(v)
		case service.MultiEnum:
			var on []string
			for _, o := range sf.Options {
				if o.Selected {
					on = append(on, o.Value)
				}
			}
			sf.Shown = strings.Join(on, ", ")
		}
	}
	return sf
}

// valueText shows a decoded value: a string as itself, an integral number
// without a fraction, anything else as JSON.
func valueText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case uint64:
		return strconv.FormatUint(x, 10)
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return strconv.FormatInt(int64(x), 10)
		}
	case nil:
		return ""
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// defaultText is a field's default as the form shows it.
func defaultText(f service.Field) string {
	switch d := f.Default.(type) {
	case nil:
		if f.Type == service.Bool {
			return "false"
		}
		return ""
	case bool:
		return strconv.FormatBool(d)
	}
	return valueText(f.Default)
}
