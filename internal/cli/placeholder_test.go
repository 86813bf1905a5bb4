package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/decnet/decnet/internal/service/servicetest"
)

// A service only described (no implementation) is what an agent refuses.
func init() { servicetest.RegisterPlaceholder() }

// validate and deploy --dry-run report as an error what the agent would
// refuse: never "0 errors" for a spec it cannot deploy.
func TestValidateRefusesWhatTheAgentRefuses(t *testing.T) {
	spec := "name: lab\nseed: s1\nlans:\n  - name: dmz\n    subnet: 10.77.0.0/24\n    dmz: true\ndeckies:\n  - name: d1\n    addresses: [{lan: dmz, ip: 10.77.0.10}]\n    persona: {os: linux, distro: debian}\n    services: [ssh, test_placeholder]\n"
	path := filepath.Join(t.TempDir(), "lab.yaml")
	os.WriteFile(path, []byte(spec), 0o644)
	code, out, _ := run(t, "", "topology", "validate", path)
	if code != 1 || !strings.Contains(out, "SERVICE_NOT_IMPLEMENTED") || !strings.Contains(out, "1 errors") {
		t.Fatalf("validate: exit %d\n%s", code, out)
	}
	code, _, errOut := run(t, "", "deploy", "--config", path, "--dry-run")
	if code == 0 || !strings.Contains(errOut, "SERVICE_NOT_IMPLEMENTED") {
		t.Fatalf("deploy --dry-run: exit %d\n%s", code, errOut)
	}
}
