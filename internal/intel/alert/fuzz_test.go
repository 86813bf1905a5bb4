package alert_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/decnet/decnet/internal/intel/alert"
)

// FuzzRule feeds arbitrary JSON to the rule decoder and validation (what
// POST /alert-rules does): no panic, and a valid rule survives the
// store's round trip unchanged.
func FuzzRule(f *testing.F) {
	for _, s := range []string{
		`{"name":"ssh brute force","severity":3,"match":{"types":["ssh.login.failed"]},"condition":{"kind":"threshold","count":3,"window":"60s"}}`,
		`{"name":"db","match":{"deckies":["db-01"],"lans":["inner"],"tags":["T1110"],"sources":["203.0.113.0/24","::ffff:10.0.0.1"]},"condition":{"kind":"first_touch"}}`,
		`{"name":"x","condition":{"window":90.5}}`,
		`{"name":"x","match":{"types":["["]}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var r alert.Rule
		if json.Unmarshal(b, &r) != nil || r.Validate(false) != nil {
			return
		}
		spec, err := alert.SpecOf(&r)
		if err != nil {
			t.Fatal(err)
		}
		back, err := alert.FromStored(r.ID, r.Name, r.Enabled, spec, r.CreatedAt, r.UpdatedAt)
		if err != nil {
			t.Fatalf("a valid rule does not read back: %v\n%s", err, spec)
		}
		if err := back.Validate(false); err != nil {
			t.Fatalf("a valid rule reads back invalid: %v", err)
		}
		if !reflect.DeepEqual(*back, r) {
			t.Fatalf("round trip:\n%+v\n%+v", *back, r)
		}
	})
}
