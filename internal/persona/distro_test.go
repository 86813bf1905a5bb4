package persona

import (
	"fmt"
	"slices"
	"testing"
)

// TestNoHoneypotBanner: no persona, under any seed, claims an SSH banner a
// honeypot ships as its default, and the Debian personas vary their patch
// release between installs.
func TestNoHoneypotBanner(t *testing.T) {
	seen := map[string]map[string]bool{}
	for _, d := range Distros() {
		seen[d.Slug] = map[string]bool{}
		for i := range 200 {
			v := d.ForIdentity(NewIdentity(fmt.Sprintf("seed-%d", i), "decky-01")).SSHVersion
			if slices.Contains(HoneypotSSHBanners, v) {
				t.Errorf("%s claims honeypot banner %q", d.Slug, v)
			}
			seen[d.Slug][v] = true
		}
		for _, v := range d.SSHReleases() {
			if slices.Contains(HoneypotSSHBanners, v) {
				t.Errorf("%s lists honeypot banner %q", d.Slug, v)
			}
		}
	}
	for _, slug := range []string{"debian", "ubuntu22", "ubuntu20"} {
		t.Logf("%s: %d banners over 200 seeds", slug, len(seen[slug]))
		if len(seen[slug]) < 2 {
			t.Errorf("%s: one banner for every install", slug)
		}
	}
}
