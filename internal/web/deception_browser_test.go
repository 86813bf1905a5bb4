package web_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/decnet/decnet/internal/testenv"
)

// TestDeceptionPanelInChromium drives the decky page's Deception panel on
// `decnet up` in Debian's Chromium: it tarpits a port and lifts it, drops
// a file, is told why a bad path is refused, and schedules and runs a
// service rotation whose history and new services the page shows. The
// page must load without a console error and pass the accessibility
// audit; its screenshot goes to DECNET_SCREENSHOTS.
func TestDeceptionPanelInChromium(t *testing.T) {
	testenv.RequireRoot(t)
	chromium := testenv.RequireTool(t, "chromium")
	bin := testenv.DecnetBinary(t)
	shots := os.Getenv("DECNET_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	}
	up := testenv.StartUp(t, bin)
	base := strings.TrimSuffix(up.Dashboard, "/")

	// The page's own refusal of a bad path is a 400 the console reports.
	b := startBrowser(t, chromium, "status of 400")
	ctx := b.ctx
	run := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		tctx, tcancel := context.WithTimeout(ctx, 30*time.Second)
		defer tcancel()
		if err := chromedp.Do(tctx, actions...); err != nil {
			t.Fatalf("%s: %v\n%s", what, err, up.Out.String())
		}
	}
	waitFor := func(what, js string) {
		t.Helper()
		end := time.Now().Add(30 * time.Second)
		for {
			tctx, tcancel := context.WithTimeout(ctx, 5*time.Second)
			ok, err := chromedp.Run(tctx, chromedp.Evaluate[bool](js))
			tcancel()
			if err == nil && ok {
				return
			}
			if time.Now().After(end) {
				body, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText.slice(0, 3000) : ''`))
				t.Fatalf("%s: not within 30s (last error %v):\n%s", what, err, body)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	newPW := "correct horse battery staple"
	run("sign in", chromedp.Navigate(base+"/"), chromedp.WaitVisible("#login-form"), chromedp.SendKeys("#username", "admin"),
		chromedp.SendKeys("#password", up.Password), chromedp.Click(`#login-form button[type="submit"]`), chromedp.WaitVisible("#change-form"),
		chromedp.SendKeys("#new", newPW), chromedp.SendKeys("#confirm", newPW), chromedp.Click(`#change-form button[type="submit"]`))
	waitFor("the overview", `document.readyState === 'complete' && location.pathname === '/'`)
	run("open the topologies", chromedp.Navigate(base+"/topologies"))
	waitFor("a topology link", `!!document.querySelector('a[href^="/topologies/0"], a[href^="/topologies/"]:not([href="/topologies/new"])')`)
	run("open the demo", chromedp.Click(`a[href^="/topologies/"]:not([href="/topologies/new"])`))
	waitFor("the decky links", `!!document.querySelector('#topology a[href$="/deckies/gw-01"]')`)
	run("open gw-01", chromedp.Click(`#topology a[href$="/deckies/gw-01"]`))
	waitFor("the Deception panel", `document.querySelector('#decky')?.dataset.ready === 'true'`)

	run("tarpit telnet", chromedp.SetValue("#tarpit-port", "23"), chromedp.SetValue("#tarpit-rate", "8"), chromedp.Click(`#tarpit-form button[type="submit"]`))
	waitFor("the tarpit listed", `!!document.querySelector('#tarpits tr[data-port="23"]') && document.querySelector('#tarpits tr[data-port="23"]').innerText.includes('every source')`)

	run("a bad path", chromedp.SendKeys("#drop-path", "root/notes.txt"), chromedp.SendKeys("#drop-content", "x"), chromedp.Click(`#drop-form button[type="submit"]`))
	waitFor("the refusal", `document.querySelector('#deception-error').innerText.includes('absolute and clean')`)
	run("drop a file", chromedp.SetValue("#drop-path", "/root/notes.txt"), chromedp.SetValue("#drop-content", "vpn: ops / Winter2026!\n"),
		chromedp.SetValue("#drop-mode", "0600"), chromedp.Click(`#drop-form button[type="submit"]`))
	waitFor("the file listed", `(document.querySelector('#files tr[data-path="/root/notes.txt"]')?.innerText || '').includes('0600')`)

	run("schedule a rotation", chromedp.SetValue("#rotation-pool", "telnet, ftp"), chromedp.SetValue("#rotation-count", "1"),
		chromedp.SetValue("#rotation-every", "1h"), chromedp.Click(`#rotation-form button[type="submit"]`))
	waitFor("the schedule", `document.querySelector('#rotation-summary').innerText.includes('Every 1h0m0s, 1 of telnet, ftp')`)
	run("lift the tarpit", chromedp.Click(`#tarpits tr[data-port="23"] button`))
	waitFor("no tarpit", `document.querySelector('#tarpits').innerText.includes('No tarpit')`)
	run("rotate now", chromedp.Click(`#rotation-form button[data-action="rotate"]`))
	waitFor("the rotation in the history and the services", `document.querySelector('#rotation-history').innerText.includes('admin') &&
		document.querySelector('#decky-services').innerText === 'ssh, ftp' &&
		[...document.querySelectorAll('#tarpit-port option')].map((o) => o.value).join() === '21,22'`)

	tctx, tcancel := context.WithTimeout(ctx, 30*time.Second)
	defer tcancel()
	png, err := chromedp.Run(tctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(shots, "deception-panel.png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", p)
	problems, err := chromedp.Run(tctx, chromedp.Evaluate[[]string](a11yAudit))
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) > 0 {
		t.Errorf("accessibility problems on the decky page:\n%s", strings.Join(problems, "\n"))
	}
	if errs := b.consoleErrors(); len(errs) > 0 {
		t.Errorf("console errors:\n%s", strings.Join(errs, "\n"))
	}
}
