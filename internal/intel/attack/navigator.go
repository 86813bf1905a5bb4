package attack

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Versions of the ATT&CK Navigator layer format written.
const (
	LayerFormat     = "4.5"
	NavigatorFormat = "5.1.0"
)

// Count is one technique and how many events carry it.
type Count struct {
	Technique string
	Events    int64
}

// Layer is an ATT&CK Navigator layer (format 4.5): the techniques seen,
// scored by their number of events.
type Layer struct {
	Name                          string           `json:"name"`
	Versions                      LayerVersions    `json:"versions"`
	Domain                        string           `json:"domain"`
	Description                   string           `json:"description"`
	Filters                       LayerFilters     `json:"filters"`
	Sorting                       int              `json:"sorting"`
	Layout                        LayerLayout      `json:"layout"`
	HideDisabled                  bool             `json:"hideDisabled"`
	Techniques                    []LayerTechnique `json:"techniques"`
	Gradient                      LayerGradient    `json:"gradient"`
	LegendItems                   []any            `json:"legendItems"`
	Metadata                      []LayerMetadata  `json:"metadata"`
	ShowTacticRowBackground       bool             `json:"showTacticRowBackground"`
	SelectTechniquesAcrossTactics bool             `json:"selectTechniquesAcrossTactics"`
	SelectSubtechniquesWithParent bool             `json:"selectSubtechniquesWithParent"`
	SelectVisibleTechniques       bool             `json:"selectVisibleTechniques"`
}

// LayerVersions are the versions a layer was written for.
type LayerVersions struct {
	Attack    string `json:"attack"`
	Navigator string `json:"navigator"`
	Layer     string `json:"layer"`
}

// LayerFilters restrict the platforms shown.
type LayerFilters struct {
	Platforms []string `json:"platforms"`
}

// LayerLayout is how the matrix is drawn.
type LayerLayout struct {
	Layout              string `json:"layout"`
	AggregateFunction   string `json:"aggregateFunction"`
	ShowID              bool   `json:"showID"`
	ShowName            bool   `json:"showName"`
	ShowAggregateScores bool   `json:"showAggregateScores"`
	CountUnscored       bool   `json:"countUnscored"`
}

// LayerTechnique is one technique (under one tactic) of a layer.
type LayerTechnique struct {
	TechniqueID       string          `json:"techniqueID"`
	Tactic            string          `json:"tactic,omitempty"`
	Score             *int64          `json:"score,omitempty"`
	Color             string          `json:"color"`
	Comment           string          `json:"comment,omitempty"`
	Enabled           bool            `json:"enabled"`
	Metadata          []LayerMetadata `json:"metadata"`
	ShowSubtechniques bool            `json:"showSubtechniques"`
}

// LayerGradient colours scores from MinValue to MaxValue.
type LayerGradient struct {
	Colors   []string `json:"colors"`
	MinValue int64    `json:"minValue"`
	MaxValue int64    `json:"maxValue"`
}

// LayerMetadata is a name and a value.
type LayerMetadata struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Layer returns the Navigator layer of counts: one entry per technique
// and tactic, scored by events; a sub-technique's parent is listed
// (unscored) with its sub-techniques shown, so the matrix opens on them.
func (f *File) Layer(name, description string, counts []Count) Layer {
	l := Layer{
		Name:                          name,
		Versions:                      LayerVersions{Attack: f.Attack, Navigator: NavigatorFormat, Layer: LayerFormat},
		Domain:                        "enterprise-attack",
		Description:                   description,
		Filters:                       LayerFilters{Platforms: []string{"Linux", "macOS", "Windows", "Network Devices", "Containers", "IaaS"}},
		Sorting:                       3, // by score, descending
		Layout:                        LayerLayout{Layout: "side", AggregateFunction: "average", ShowID: true, ShowName: true},
		Techniques:                    []LayerTechnique{},
		Gradient:                      LayerGradient{Colors: []string{"#ffe766", "#ff6666"}, MinValue: 0, MaxValue: 1},
		LegendItems:                   []any{},
		Metadata:                      []LayerMetadata{{Name: "generated_by", Value: "DECNET"}, {Name: "rules_version", Value: fmt.Sprint(f.Version)}},
		SelectTechniquesAcrossTactics: true,
		SelectSubtechniquesWithParent: false,
		SelectVisibleTechniques:       false,
	}
	type key struct{ id, tactic string }
	byKey := map[key]*LayerTechnique{}
	entry := func(id, tactic string) *LayerTechnique {
		k := key{id, tactic}
		if byKey[k] == nil {
			byKey[k] = &LayerTechnique{TechniqueID: id, Tactic: tactic, Enabled: true, Metadata: []LayerMetadata{}}
		}
		return byKey[k]
	}
	for _, c := range counts {
		if c.Events <= 0 {
			continue
		}
		l.Gradient.MaxValue = max(l.Gradient.MaxValue, c.Events)
		t, known := f.Techniques[c.Technique]
		tactics := t.Tactics
		if !known {
			tactics = []string{""} // not in these rules (older ones): under every tactic it has
		}
		for _, tac := range tactics {
			e := entry(c.Technique, tac)
			n := c.Events
			e.Score = &n
			e.Comment = fmt.Sprintf("%d events", c.Events)
			if parent, _, sub := strings.Cut(c.Technique, "."); sub {
				entry(parent, tac).ShowSubtechniques = true
			}
		}
	}
	for _, e := range byKey {
		l.Techniques = append(l.Techniques, *e)
	}
	slices.SortFunc(l.Techniques, func(a, b LayerTechnique) int {
		return cmp.Or(strings.Compare(a.TechniqueID, b.TechniqueID), strings.Compare(a.Tactic, b.Tactic))
	})
	return l
}
