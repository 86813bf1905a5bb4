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

// A persona naming only its family gets one of that family's
// distributions (the archetype's preferred ones first), the same for the
// same identity: a Windows decky never falls back to Linux defaults.
func TestDistroForFamilyOnly(t *testing.T) {
	id := NewIdentity("5eed", "sql-01")
	d := DistroFor("", Windows, "", id)
	if d.Family != Windows || d.HTTPServer != "Microsoft-IIS/10.0" {
		t.Fatalf("windows persona got %+v", d)
	}
	if again := DistroFor("", Windows, "", id); again.Slug != d.Slug {
		t.Fatalf("not stable: %s then %s", d.Slug, again.Slug)
	}
	if d := DistroFor("", WindowsServer, "windows-server", id); d.Family != WindowsServer {
		t.Fatalf("archetype pick %+v", d)
	}
	if d := DistroFor("debian", Linux, "", id); d.Slug != "debian" {
		t.Fatalf("a named distro is kept: %s", d.Slug)
	}
	if d := DistroFor("", "", "", id); d.Family != Linux {
		t.Fatalf("no family: %+v", d)
	}
}
