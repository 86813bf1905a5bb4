package web

import (
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"regexp"
	"strings"
	"testing"

	"github.com/decnet/decnet/internal/service"
	"github.com/decnet/decnet/internal/topology"
)

// settingsSpec has a field of every type: gw (ssh, redis, vnc: string,
// secret set and unset, text, int, list, unset enum) and web (http, ftp, mqtt and a custom service:
// int, enum, map, multi_enum, bool, list, object).
func settingsSpec() *topology.Spec {
	return &topology.Spec{Name: "svc", Host: "local", Seed: "s",
		LANs:   []topology.LAN{{Name: "dmz", Subnet: "10.8.0.0/24", DMZ: true}},
		Custom: []topology.CustomService{{Name: "webapp", Image: "example/webapp:1"}},
		Deckies: []topology.Decky{
			{Name: "gw", Addresses: []topology.Address{{LAN: "dmz", IP: "10.8.0.10"}}, Persona: topology.Persona{OS: "linux", Distro: "debian"},
				Services: []string{"ssh", "redis", "vnc"},
				ServiceConfig: map[string]map[string]any{
					"ssh": {"user": "deploy", "user_password": "hunter2-in-the-spec", "accept_after": 3, "users": []any{"root:toor", "pi:raspberry"}},
				}},
			{Name: "web", Addresses: []topology.Address{{LAN: "dmz", IP: "10.8.0.11"}}, Persona: topology.Persona{OS: "linux", Distro: "debian"},
				Services: []string{"http", "ftp", "mqtt", "webapp"},
				ServiceConfig: map[string]map[string]any{
					"http": {"response_code": 404, "fake_app": "wordpress", "extra_headers": map[string]any{"X-Powered-By": "PHP/8.1"},
						"http_versions": []any{"http/1.1"}},
					"ftp":  {"anonymous": true},
					"mqtt": {"persona": "no-such-persona", "custom_topics": map[string]any{"plant/temp": "21.5"}},
				}},
		}}
}

// tag is one start tag of a page: its element and attributes.
type tag struct {
	el    string
	attrs map[string]string
}

var (
	tagRE  = regexp.MustCompile(`<(input|select|textarea|fieldset|label|form|small|p|button)\b([^>]*)>`)
	attrRE = regexp.MustCompile(`([a-zA-Z][a-zA-Z0-9-]*)(?:="([^"]*)")?`)
)

// tags lists the start tags of some elements in html/template output,
// where attribute values are always quoted and hold no '>'.
func tags(body string) []tag {
	var out []tag
	for _, m := range tagRE.FindAllStringSubmatch(body, -1) {
		t := tag{el: m[1], attrs: map[string]string{}}
		for _, a := range attrRE.FindAllStringSubmatch(m[2], -1) {
			t.attrs[a[1]] = a[2]
		}
		out = append(out, t)
	}
	return out
}

// controlOf is the element and input type of each field type's control.
var controlOf = map[service.FieldType][2]string{
	service.String: {"input", "text"}, service.Secret: {"input", "password"}, service.Text: {"textarea", ""},
	service.Int: {"input", "number"}, service.Bool: {"input", "checkbox"}, service.Enum: {"select", ""},
	service.MultiEnum: {"input", "checkbox"}, service.List: {"textarea", ""}, service.Map: {"textarea", ""},
	service.Object: {"textarea", ""},
}

// settingsForms splits the settings section into its forms, by decky.
func settingsForms(t *testing.T, body string) map[string]string {
	t.Helper()
	i := strings.Index(body, `<section id="svc-settings"`)
	if i < 0 {
		t.Fatal("no settings section")
	}
	sec := body[i:]
	sec = sec[:strings.Index(sec, "</section>")]
	forms := map[string]string{}
	for _, part := range strings.Split(sec, `<form class="svc-settings"`)[1:] {
		m := regexp.MustCompile(`data-decky="([^"]*)"`).FindStringSubmatch(part)
		if m == nil {
			t.Fatalf("a form without data-decky: %.200s", part)
		}
		forms[m[1]] = part[:strings.Index(part, "</form>")]
	}
	return forms
}

// TestSettingsForm: an admin gets one form per decky with one labelled,
// described control per schema field of each service, of the input type of
// the field's type, filled with the spec's values; secrets are never in
// the page.
func TestSettingsForm(t *testing.T) {
	f := newFixture(t)
	f.login(true)
	spec := settingsSpec()
	id := f.storeSpec(spec)
	resp, body := f.get("/topologies/" + id)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("page: %s", resp.Status)
	}
	if strings.Contains(body, "hunter2") {
		t.Error("the page holds the secret")
	}
	if strings.Contains(body, "style=") {
		t.Error("inline style on the page")
	}
	types := map[service.FieldType]bool{}
	forms := settingsForms(t, body)
	if len(forms) != len(spec.Deckies) {
		t.Fatalf("%d forms, want %d", len(forms), len(spec.Deckies))
	}
	for di, d := range spec.Deckies {
		form, ok := forms[d.Name]
		if !ok {
			t.Fatalf("no form for %s", d.Name)
		}
		ts := tags(form)
		ids := map[string]tag{}
		byName := map[string][]tag{}
		labels := map[string]bool{}
		for _, tg := range ts {
			if v, ok := tg.attrs["id"]; ok {
				if _, dup := ids[v]; dup {
					t.Errorf("%s: id %q twice", d.Name, v)
				}
				ids[v] = tg
			}
			if n, ok := tg.attrs["name"]; ok {
				byName[n] = append(byName[n], tg)
			}
			if tg.el == "label" {
				labels[tg.attrs["for"]] = true
			}
		}
		for _, slug := range d.Services {
			info, ok := service.Lookup(slug)
			if !ok {
				if !strings.Contains(form, `data-slug="`+slug+`"`) || !strings.Contains(form, "takes no settings") {
					t.Errorf("%s: the custom service %s lacks its fieldset or note", d.Name, slug)
				}
				continue
			}
			if !strings.Contains(form, `<fieldset class="svc" data-slug="`+slug+`"><legend>`+info.Title+` <code>`+slug+`</code></legend>`) {
				t.Errorf("%s: no fieldset for %s", d.Name, slug)
			}
			for _, fl := range info.Config {
				name := slug + "." + fl.Key
				suffix := fmt.Sprintf("%d-%s-%s", di, slug, fl.Key)
				ctlID, helpID, errID := "svc-"+suffix, "help-"+suffix, "err-"+suffix
				ctls := byName[name]
				n := 1
				if fl.Type == service.MultiEnum {
					n = len(fl.Enum)
				}
				if len(ctls) != n {
					t.Errorf("%s: %s: %d controls, want %d", d.Name, name, len(ctls), n)
					continue
				}
				types[fl.Type] = true
				c := ctls[0]
				want := controlOf[fl.Type]
				for _, c := range ctls {
					if c.el != want[0] || c.attrs["type"] != want[1] {
						t.Errorf("%s: %s (%s) is <%s type=%q>, want <%s type=%q>", d.Name, name, fl.Type, c.el, c.attrs["type"], want[0], want[1])
					}
					if c.attrs["aria-describedby"] != helpID+" "+errID {
						t.Errorf("%s: %s: aria-describedby %q", d.Name, name, c.attrs["aria-describedby"])
					}
				}
				if fl.Type == service.MultiEnum {
					if g, ok := ids[ctlID]; !ok || g.el != "fieldset" || g.attrs["data-field"] != name {
						t.Errorf("%s: %s: no group fieldset %s", d.Name, name, ctlID)
					}
				} else if c.attrs["id"] != ctlID || !labels[ctlID] {
					t.Errorf("%s: %s: id %q, labelled %v", d.Name, name, c.attrs["id"], labels[ctlID])
				}
				if h, ok := ids[helpID]; !ok || h.el != "small" {
					t.Errorf("%s: %s: no help text", d.Name, name)
				}
				if e, ok := ids[errID]; !ok || e.attrs["role"] != "alert" || e.attrs["class"] != "svc-err" {
					t.Errorf("%s: %s: no error element", d.Name, name)
				}
				switch fl.Type {
				case service.Secret:
					if c.attrs["value"] != "" || c.attrs["placeholder"] != "unchanged" {
						t.Errorf("%s: %s: value %q placeholder %q", d.Name, name, c.attrs["value"], c.attrs["placeholder"])
					}
				case service.Int:
					if fl.Min != nil && c.attrs["min"] != fmt.Sprint(*fl.Min) || fl.Max != nil && c.attrs["max"] != fmt.Sprint(*fl.Max) {
						t.Errorf("%s: %s: min %q max %q", d.Name, name, c.attrs["min"], c.attrs["max"])
					}
				case service.Enum:
					if !strings.Contains(form, `<option value="">default (`+fmt.Sprint(fl.Default)+`)</option>`) &&
						!strings.Contains(form, `<option value="" selected>default (`+fmt.Sprint(fl.Default)+`)</option>`) {
						t.Errorf("%s: %s: no default option", d.Name, name)
					}
				}
			}
		}
		if !strings.Contains(form, `<button type="submit">Save</button>`) || !strings.Contains(form, `id="svc-status-`+fmt.Sprint(di)+`" role="status"`) ||
			!strings.Contains(form, `id="svc-errors-`+fmt.Sprint(di)+`" role="alert"`) {
			t.Errorf("%s: no Save button, status or error list", d.Name)
		}
	}
	if len(types) != len(controlOf) {
		t.Errorf("the spec covers %d field types of %d", len(types), len(controlOf))
	}

	// Current values, and defaults where unset.
	for _, want := range []string{
		`name="ssh.user" value="deploy" placeholder="ubuntu"`,
		`name="ssh.accept_after" value="3"`,
		">root:toor\npi:raspberry</textarea>",
		`<option value="wordpress" selected>wordpress</option>`,
		`value="http/1.1" checked`,
		`name="ftp.anonymous" value="true" checked`,
		`data-field="ftp.anonymous" data-key="anonymous" data-type="bool" data-set="true" data-default="false"`,
		`name="mqtt.accept_all" value="true" aria-describedby`, // unset, default false
		`<option value="no-such-persona" selected>no-such-persona (not allowed)</option>`,
		`name="http.response_code" value="404" step="1" min="100" max="599" placeholder="200"`,
		"&#34;X-Powered-By&#34;: &#34;PHP/8.1&#34;",
		"&#34;plant/temp&#34;: &#34;21.5&#34;",
		`<option value="">default (none)</option>`,         // http.fake_app is set
		`<option value="" selected>default (3.8)</option>`, // vnc.version is unset
		// A set secret says so and offers removal; an unset one does not.
		`<label class="clear"><input type="checkbox" name="ssh.user_password:clear" data-clear>`,
		`<span class="secret-state">A value is set; leave empty to keep it.</span>`,
		`<label class="clear" hidden><input type="checkbox" name="redis.password:clear" data-clear>`,
		`<span class="secret-state">Not set.</span>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

// TestSettingsEscapes: settings from a stored spec are attacker-reachable
// text (a hand-edited or imported spec); they reach the page as text.
func TestSettingsEscapes(t *testing.T) {
	f := newFixture(t)
	f.login(true)
	spec := settingsSpec()
	evil := `"><script>alert(1)</script>`
	spec.Deckies[0].ServiceConfig["ssh"]["user"] = evil
	spec.Deckies[0].ServiceConfig["ssh"]["motd"] = "</textarea><script>alert(2)</script>"
	spec.Deckies[0].ServiceConfig["ssh"]["users"] = []any{"</textarea><img src=x onerror=alert(3)>"}
	spec.Deckies[1].ServiceConfig["http"]["extra_headers"] = map[string]any{"X<b>": "</textarea><script>alert(4)</script>"}
	spec.Deckies[1].ServiceConfig["http"]["fake_app"] = evil
	id := f.storeSpec(spec)
	_, body := f.get("/topologies/" + id)
	for _, bad := range []string{"<script>alert", "<img src=x", "<b>"} {
		if strings.Contains(body, bad) {
			t.Errorf("%q reached the page unescaped", bad)
		}
	}
	for _, want := range []string{
		`name="ssh.user" value="&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"`,
		"&lt;/textarea&gt;&lt;script&gt;alert(2)&lt;/script&gt;</textarea>",
		"&lt;/textarea&gt;&lt;img src=x onerror=alert(3)&gt;</textarea>",
		`<option value="&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;" selected>&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt; (not allowed)</option>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	// The map's JSON escapes '<' itself, and stays JSON once the browser
	// unescapes the page.
	if !strings.Contains(body, `&#34;X\u003cb\u003e&#34;: &#34;\u003c/textarea\u003e`) {
		t.Error("the map's key is missing")
	}
}

// TestSettingsViewer: a viewer sees the settings read-only, secrets masked,
// and no form or control.
func TestSettingsViewer(t *testing.T) {
	f := newFixture(t)
	f.login(true)
	spec := settingsSpec()
	spec.Deckies[0].ServiceConfig["ssh"]["motd"] = "<script>alert(1)</script>"
	id := f.storeSpec(spec)
	pw := f.post("/users", map[string]string{"name": "eve", "role": "viewer"})["password"].(string)
	jar, _ := cookiejar.New(nil)
	f.c.Jar = jar
	f.csrf = f.post("/auth/login", map[string]string{"username": "eve", "password": pw})["csrf_token"].(string)
	f.csrf = f.post("/auth/password", map[string]string{"current_password": pw, "new_password": "another long passphrase"})["csrf_token"].(string)
	resp, body := f.get("/topologies/" + id)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("page: %s", resp.Status)
	}
	for _, bad := range []string{"<form", `class="svc-settings"`, `type="password"`, `name="ssh.`, "<textarea", "<select", "hunter2", "<script>alert"} {
		if strings.Contains(body, bad) {
			t.Errorf("a viewer's page holds %q", bad)
		}
	}
	for _, want := range []string{
		`<section id="svc-settings"`,
		`<details class="svc-node" data-decky="gw">`,
		"<dt>user</dt><dd>deploy</dd>",
		"<dt>user_password</dt><dd>" + maskedSecret + "</dd>",
		"<dt>users</dt><dd>root:toor\npi:raspberry</dd>",
		"<dt>anonymous</dt><dd>true</dd>",
		"<dt>http_versions</dt><dd>http/1.1</dd>",
		"<dt>motd</dt><dd>&lt;script&gt;alert(1)&lt;/script&gt;</dd>",
		"A custom service: it takes no settings.",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("a viewer's page lacks %q", want)
		}
	}
}

// TestMultilineSecretIsATextArea: a PEM key is pasted in a text area,
// which is empty whatever the stored value.
func TestMultilineSecretIsATextArea(t *testing.T) {
	f := newFixture(t)
	f.login(true)
	spec := generated(t)
	spec.Deckies[0].Services = []string{"https"}
	spec.Deckies[0].ServiceConfig = map[string]map[string]any{"https": {"tls_key": "-----BEGIN PRIVATE KEY-----\nMIIsecret\n-----END PRIVATE KEY-----\n"}}
	id := f.storeSpec(spec)
	_, body := f.get("/topologies/" + id)
	if !strings.Contains(body, `<textarea id="svc-0-https-tls_key" name="https.tls_key" rows="4" placeholder="unchanged"`) {
		t.Error("the TLS key is not taken in an empty text area")
	}
	if strings.Contains(body, "MIIsecret") {
		t.Error("the stored key is in the page")
	}
}
