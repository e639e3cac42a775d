package web

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/outreach-coalition/outreach/internal/outreach"
	"github.com/outreach-coalition/outreach/internal/service"
)

// The browser suite drives Debian's Chromium headless through chromedp
// against the UI fixture (the daemon's parts, wired as serve wires them,
// on 127.0.0.1). It skips when Chromium is missing, unless
// OUTREACH_REAL_MAIL=1 (CI installs it), when it fails. Every step asserts
// on the page's DOM; a screenshot of each page goes to $OUTREACH_ARTIFACTS
// (or a temporary directory, named in the log).

const chromiumPath = "/usr/bin/chromium"

// browser starts one headless Chromium for a test and returns its
// context; tabs are opened from it with tab.
func browser(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("OUTREACH_REAL_MAIL") == "1" {
			t.Fatalf("chromium is required (OUTREACH_REAL_MAIL=1) but %s is missing: run .ci/run or apt-get install chromium", chromiumPath)
		}
		t.Skipf("chromium not installed (%s): browser tests skipped", chromiumPath)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-extensions", true),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	if err := chromedp.Do(bctx); err != nil {
		cancelBrowser()
		cancelAlloc()
		t.Fatalf("start chromium: %v", err)
	}
	t.Cleanup(func() { cancelBrowser(); cancelAlloc() })
	return bctx
}

// tab opens a tab that sends token as a Bearer token on every request
// (empty: none), bounded by a minute.
func tab(t *testing.T, bctx context.Context, token string) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(bctx)
	ctx, cancelTimeout := context.WithTimeout(ctx, time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancel() })
	err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		if _, err := cdp.Call(ctx, tg, network.Enable, network.EnableParams{}); err != nil {
			return err
		}
		if token == "" {
			return nil
		}
		_, err := cdp.Call(ctx, tg, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Authorization": "Bearer " + token}})
		return err
	}))
	if err != nil {
		t.Fatal(err)
	}
	return ctx
}

// signIn opens a tab in a browser context of its own (its own cookies)
// and signs in through the form as a person would.
func signIn(t *testing.T, bctx context.Context, base, name, password string) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(bctx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	run(t, ctx, "open the sign-in form", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS("#login-form")),
		chromedp.SendKeys(chromedp.CSS("#f-name"), name), chromedp.SendKeys(chromedp.CSS("#f-password"), password),
		chromedp.Click(chromedp.CSS("#sign-in")))
	waitFor(t, ctx, "header .who")
	return ctx
}

// artifacts is where screenshots go.
func artifacts(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("OUTREACH_ARTIFACTS")
	if dir == "" {
		dir = t.TempDir()
	}
	dir = filepath.Join(dir, "browser")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// shot saves a full-page screenshot of the tab as name.png.
func shot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	// Right after a navigation the page may have no layout yet (a
	// zero-width capture is refused): wait for it, briefly.
	var png []byte
	var err error
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		ready, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.readyState === "complete" && document.documentElement.scrollWidth > 0`))
		if ready {
			if png, err = chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
				break
			}
		}
		if time.Now().After(deadline) {
			break
		}
	}
	if err != nil || png == nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// run runs actions in the tab, failing the test with what was being done.
func run(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// text returns the text content of the first node matching sel.
func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("read %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

// waitText polls until the text of sel contains want.
func waitText(t *testing.T, ctx context.Context, sel, want string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		s, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(`(document.querySelector(%q)||{}).textContent||""`, sel)))
		if err == nil && strings.Contains(s, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: text %q after 15s; want %q (err %v)", sel, s, want, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// clear empties the input sel as a person selecting its text and
// deleting it would, input event included.
func clear(sel string) chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(e => { e.value = ""; e.dispatchEvent(new Event("input", {bubbles: true})) })(document.querySelector(%q))`, sel))
}

// waitFor polls until a node matches sel. Unlike WaitVisible it may start
// before a navigation that a click set off and still see the new page.
func waitFor(t *testing.T, ctx context.Context, sel string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](fmt.Sprintf(`document.readyState !== "loading" && document.querySelector(%q) !== null`, sel)))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s after 15s (err %v)", sel, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// count returns how many nodes match sel.
func count(t *testing.T, ctx context.Context, sel string) int {
	t.Helper()
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](fmt.Sprintf(`document.querySelectorAll(%q).length`, sel)))
	if err != nil {
		t.Fatalf("count %s: %v", sel, err)
	}
	return n
}

func TestBrowser(t *testing.T) {
	bctx := browser(t)
	f := newUIFixture(t)
	dir := artifacts(t)
	t.Logf("screenshots in %s", dir)
	ctx := context.Background()
	admin := &outreach.Principal{Name: "admin", Role: outreach.RoleAdmin}

	t.Run("sign in", func(t *testing.T) {
		c, cancel := chromedp.NewContext(bctx, chromedp.WithNewBrowserContext())
		defer cancel()
		run(t, c, "a page without a session", chromedp.Navigate(f.ts.URL+"/waves"), chromedp.WaitVisible(chromedp.CSS("#login-form")))
		if loc, err := chromedp.Run(c, chromedp.Location()); err != nil || !strings.Contains(loc, "/login?next=%2Fwaves") {
			t.Errorf("without a session /waves goes to %q; want the sign-in page, back to /waves after", loc)
		}
		run(t, c, "a wrong password", chromedp.SendKeys(chromedp.CSS("#f-name"), "coord-my"), chromedp.SendKeys(chromedp.CSS("#f-password"), "not the password"),
			chromedp.Click(chromedp.CSS("#sign-in")))
		waitFor(t, c, "#e-password")
		shot(t, c, dir, "login-error")
		run(t, c, "the right one", chromedp.SendKeys(chromedp.CSS("#f-password"), coordPassword), chromedp.Click(chromedp.CSS("#sign-in")))
		waitText(t, c, "h1", "Waves")
		waitText(t, c, "header .who", "coord-my · coordinator · MY")
		shot(t, c, dir, "signed-in")
	})

	coord := signIn(t, bctx, f.ts.URL, "coord-my", coordPassword)

	t.Run("create a wave and watch it finish", func(t *testing.T) {
		c := coord
		run(t, c, "open the new wave form", chromedp.Navigate(f.ts.URL+"/waves/new"), chromedp.WaitVisible(chromedp.CSS("#wave-form")))
		run(t, c, "fill the form",
			chromedp.SendKeys(chromedp.CSS("#f-name"), "Malaysia call"),
			chromedp.SetValue(chromedp.CSS("#f-template"), "call-to-action"),
			chromedp.SendKeys(chromedp.CSS("#f-filter"), "kind = partner and country = "))
		waitText(t, c, "#filter-count", "column")
		if got := count(t, c, `#f-filter[aria-invalid="true"]`); got != 1 {
			t.Errorf("an unfinished filter is not marked invalid")
		}
		run(t, c, "finish the filter", chromedp.SendKeys(chromedp.CSS("#f-filter"), "MY"))
		waitText(t, c, "#filter-count", "3 contacts match")
		run(t, c, "two messages a second", chromedp.Click(chromedp.CSS("#wave-form details summary")), chromedp.SendKeys(chromedp.CSS("#f-rate"), "2"))
		shot(t, c, dir, "wave-new")
		run(t, c, "dry run", chromedp.Click(chromedp.CSS("#preview-wave")))
		waitFor(t, c, "#dry-run")
		if got := text(t, c, "#h-dry"); !strings.Contains(got, "3 recipients") {
			t.Errorf("dry run heading %q; want 3 recipients", got)
		}
		if n := count(t, c, "#dry-run tbody tr"); n != 3 {
			t.Errorf("dry run lists %d recipients; want 3", n)
		}
		shot(t, c, dir, "wave-dry-run")
		run(t, c, "create", chromedp.Click(chromedp.CSS("#create-wave")))
		waitFor(t, c, "#wave-state")
		waitText(t, c, "[role=status]", `Wave "Malaysia call" created.`)
		if st := text(t, c, "#wave-state"); st != "running" {
			t.Errorf("a wave at two messages a second is %q at first; want running", st)
		}
		// The page is not reloaded: the script polls the API and moves
		// the bar, so the mark set now survives.
		run(t, c, "mark the page", chromedp.Evaluate[chromedp.Void](`window.outreachMark = 1`))
		waitText(t, c, "#wave-state", "done")
		waitText(t, c, "[data-wave-counts]", "3 of 3 done: 3 sent")
		if mark, err := chromedp.Run(c, chromedp.Evaluate[int](`window.outreachMark || 0`)); err != nil || mark != 1 {
			t.Errorf("the page reloaded (mark %d, %v); want the progress updated in place", mark, err)
		}
		if v, err := chromedp.Run(c, chromedp.Evaluate[string](`document.querySelector("[data-wave] progress").value + "/" + document.querySelector("[data-wave] progress").max`)); err != nil || v != "3/3" {
			t.Errorf("progress bar %q (%v); want 3/3", v, err)
		}
		shot(t, c, dir, "wave")
		if n := f.mail.Count(); n != 3 {
			t.Errorf("the mail server got %d messages; want 3", n)
		}
		run(t, c, "waves list", chromedp.Navigate(f.ts.URL+"/waves"), chromedp.WaitVisible(chromedp.CSS("#waves")))
		waitText(t, c, "#waves", "Malaysia call")
		shot(t, c, dir, "waves")
		run(t, c, "delivery log", chromedp.Navigate(f.ts.URL+"/log?status=sent"), chromedp.WaitVisible(chromedp.CSS("#log")))
		if n := count(t, c, "#log tbody tr"); n != 3 {
			t.Errorf("the log lists %d sent attempts; want 3", n)
		}
		waitText(t, c, "#log", "250")
		shot(t, c, dir, "log")
	})

	t.Run("a bad field is shown next to it", func(t *testing.T) {
		c := coord
		run(t, c, "open the form", chromedp.Navigate(f.ts.URL+"/waves/new"), chromedp.WaitVisible(chromedp.CSS("#wave-form")),
			chromedp.SendKeys(chromedp.CSS("#f-name"), "Broken"), chromedp.SendKeys(chromedp.CSS("#f-filter"), "country = MY"),
			chromedp.SendKeys(chromedp.CSS("#f-at"), "tomorrow"),
			chromedp.Click(chromedp.CSS("#create-wave")))
		waitFor(t, c, "#e-at")
		if got := text(t, c, "#e-at"); !strings.Contains(got, "RFC 3339") {
			t.Errorf("the error next to When says %q", got)
		}
		attrs, err := chromedp.Run(c, chromedp.Attributes(chromedp.CSS("#f-at")))
		if err != nil {
			t.Fatal(err)
		}
		if describedBy := attrs["aria-describedby"]; describedBy != "e-at" {
			t.Errorf("the field is described by %q; want e-at", describedBy)
		}
		if name, err := chromedp.Run(c, chromedp.Value(chromedp.CSS("#f-name"))); err != nil || name != "Broken" {
			t.Errorf("the form lost its values: name %q", name)
		}
		shot(t, c, dir, "wave-new-error")
	})

	t.Run("approve a review item and see the endorsement count change", func(t *testing.T) {
		id := f.reviewReply(t, "q-ana@x", "ana@rights.my.test", "We are happy to support this; please list us.\n\nOn Monday the coalition wrote:\n> Join the call")
		c := tab(t, bctx, f.admin)
		run(t, c, "dashboard", chromedp.Navigate(f.ts.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#endorsements-confirmed")))
		before := text(t, c, "#endorsements-confirmed")
		if !strings.HasPrefix(before, "0") {
			t.Fatalf("confirmed endorsements before: %q; want 0", before)
		}
		run(t, c, "review queue", chromedp.Navigate(f.ts.URL+"/review"), chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf("#reply-%d", id))))
		waitText(t, c, fmt.Sprintf("#reply-%d pre.reply-text", id), "happy to support")
		if got := text(t, c, fmt.Sprintf("#reply-%d pre.reply-text", id)); strings.Contains(got, "Join the call") {
			t.Errorf("the quoted text is not folded away: %q", got)
		}
		shot(t, c, dir, "review")
		name := fmt.Sprintf("#name-%d", id)
		run(t, c, "approve", clear(name), chromedp.SendKeys(chromedp.CSS(name), "Rights Watch Malaysia (KL)"),
			chromedp.Click(chromedp.CSS(fmt.Sprintf("#approve-%d", id))))
		waitFor(t, c, "[role=status]")
		waitText(t, c, "[role=status]", `"Rights Watch Malaysia (KL)" endorses (confirmed)`)
		run(t, c, "endorsements", chromedp.Navigate(f.ts.URL+"/endorsements"), chromedp.WaitVisible(chromedp.CSS("#endorsement-counts")))
		waitText(t, c, `#endorsement-counts td[data-country="MY"]`, "1")
		waitText(t, c, ".endorsements", "Rights Watch Malaysia (KL)")
		shot(t, c, dir, "endorsements")
		run(t, c, "dashboard again", chromedp.Navigate(f.ts.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#endorsements-confirmed")))
		waitText(t, c, "#endorsements-confirmed", "1")
		if n := count(t, c, "#chart-countries rect.confirmed"); n != 1 {
			t.Errorf("the country chart has %d bars; want 1", n)
		}
		shot(t, c, dir, "dashboard")
	})

	t.Run("a coordinator scoped to MY sees no other country", func(t *testing.T) {
		c := coord
		run(t, c, "contacts", chromedp.Navigate(f.ts.URL+"/contacts"), chromedp.WaitVisible(chromedp.CSS("#contacts")))
		body := text(t, c, "#contacts")
		if strings.Contains(body, ".ph.test") {
			t.Errorf("a MY coordinator sees PH contacts:\n%s", body)
		}
		if n := count(t, c, "#contacts tbody tr"); n != 4 {
			t.Errorf("a MY coordinator sees %d contacts; want the 4 in MY", n)
		}
		run(t, c, "filter PH", chromedp.Navigate(f.ts.URL+"/contacts?filter=country+%3D+PH"), chromedp.WaitVisible(chromedp.CSS("#contacts-empty")))
		run(t, c, "a PH contact", chromedp.Navigate(f.ts.URL+"/contacts/dela@phrights.ph.test"), chromedp.WaitVisible(chromedp.CSS("#error-message")))
		if got := text(t, c, "h1"); got != "Not Found" {
			t.Errorf("a PH contact's page is %q; want Not Found", got)
		}
		shot(t, c, dir, "contact-out-of-scope")
		run(t, c, "log", chromedp.Navigate(f.ts.URL+"/log"), chromedp.WaitReady(chromedp.CSS("body")))
		if strings.Contains(text(t, c, "main"), ".ph.test") {
			t.Error("a MY coordinator sees PH deliveries in the log")
		}
		run(t, c, "my contact", chromedp.Navigate(f.ts.URL+"/contacts/ana@rights.my.test"), chromedp.WaitVisible(chromedp.CSS("#contact-props")))
		shot(t, c, dir, "contact")
	})

	t.Run("the review queue by keyboard only", func(t *testing.T) {
		first := f.reviewReply(t, "q-budi@x", "budi@aliran.my.test", "Is this letter about housing too?")
		second := f.reviewReply(t, "q-chen@x", "chen@suaram.my.test", "Please take us off this list.")
		c := tab(t, bctx, f.admin)
		run(t, c, "review queue", chromedp.Navigate(f.ts.URL+"/review"), chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf("#reply-%d", second))))
		waitText(t, c, ".review-item.selected h2", "Re: Join the call")
		run(t, c, "j moves to the second reply", chromedp.KeyEvent("j"))
		sel, err := chromedp.Run(c, chromedp.Evaluate[string](`document.activeElement.id`))
		if err != nil {
			t.Fatal(err)
		}
		if sel != fmt.Sprintf("reply-%d", second) {
			t.Fatalf("after j the focus is on %q; want reply-%d", sel, second)
		}
		run(t, c, "u marks it an unsubscribe", chromedp.KeyEvent("u"))
		waitFor(t, c, "[role=status]")
		waitText(t, c, "[role=status]", fmt.Sprintf("Reply %d marked unsubscribe.", second))
		if ok, _ := f.st.Suppressed(ctx, "chen@suaram.my.test"); !ok {
			t.Error("the unsubscribe did not suppress the address")
		}
		run(t, c, "d marks the first a decline", chromedp.KeyEvent("d"))
		waitFor(t, c, "[role=status]")
		waitText(t, c, "[role=status]", fmt.Sprintf("Reply %d marked decline.", first))
		waitText(t, c, "#review-empty", "empty")
		// Tab reaches the navigation and Enter follows a link.
		run(t, c, "tab to a link", chromedp.KeyEvent(kb.Tab), chromedp.KeyEvent(kb.Tab), chromedp.KeyEvent(kb.Tab))
		focused, err := chromedp.Run(c, chromedp.Evaluate[string](`document.activeElement.textContent`))
		if err != nil {
			t.Fatal(err)
		}
		if focused != "Dashboard" {
			t.Fatalf("three tabs reach %q; want the Dashboard link (after the skip link and the name)", focused)
		}
		run(t, c, "enter", chromedp.KeyEvent(kb.Enter))
		waitFor(t, c, "#review-count")
		waitText(t, c, "#review-count", "0")
	})

	t.Run("the template editor previews and validates as you type", func(t *testing.T) {
		// Templates are shared by every country: an admin edits them, not
		// a coordinator scoped to MY.
		c := tab(t, bctx, f.admin)
		run(t, c, "editor", chromedp.Navigate(f.ts.URL+"/templates/call-to-action"), chromedp.WaitVisible(chromedp.CSS("#template-editor")))
		subj := `textarea[data-file="call-to-action/en.subject"]`
		run(t, c, "pick a contact", chromedp.SendKeys(chromedp.CSS("#f-email"), "ana@rights.my.test"))
		waitText(t, c, "#preview-text", "Rights Watch Malaysia")
		run(t, c, "break the subject", chromedp.SendKeys(chromedp.CSS(subj), " {{.Contact.Nmae}}"))
		waitText(t, c, `[data-file-error="call-to-action/en.subject"]`, "Nmae")
		shot(t, c, dir, "template-error")
		run(t, c, "fix the subject", chromedp.SetValue(chromedp.CSS(subj), "Join us, {{.Contact.Organization}}"), chromedp.SendKeys(chromedp.CSS(subj), " "))
		waitText(t, c, "#preview-subject", "Join us, Rights Watch Malaysia")
		waitText(t, c, "#check-status", "No problems")
		// The HTML part sits in a sandboxed frame (no script, no same
		// origin); headless captures do not draw such frames, so check
		// what it was given.
		if doc, err := chromedp.Run(c, chromedp.Evaluate[string](`document.getElementById("preview-html").srcdoc`)); err != nil || !strings.Contains(doc, "<strong>Rights Watch Malaysia</strong>") {
			t.Errorf("the HTML preview frame holds %.80q (%v); want the message for Rights Watch Malaysia", doc, err)
		}
		shot(t, c, dir, "template")
		run(t, c, "save", chromedp.Click(chromedp.CSS("#save-template")))
		waitFor(t, c, "[role=status]")
		waitText(t, c, "[role=status]", "Saved as version")
		tv, err := f.svc.Template(ctx, admin, "call-to-action", 0)
		if err != nil {
			t.Fatal(err)
		}
		if got := tv.Files["call-to-action/en.subject"]; !strings.HasPrefix(got, "Join us, {{.Contact.Organization}}") {
			t.Errorf("saved subject %q", got)
		}
	})

	t.Run("reading pages without JavaScript", func(t *testing.T) {
		v, err := f.svc.CreateWave(ctx, admin, service.WaveInput{Name: "Philippines call", Template: "call-to-action", Filter: "country = PH"})
		if err != nil {
			t.Fatal(err)
		}
		f.waitWave(t, v.ID)
		lv, err := f.svc.CreateLetter(ctx, admin, service.LetterInput{Template: "letter", Targets: "kind = head_of_state"})
		if err != nil {
			t.Fatal(err)
		}
		c := tab(t, bctx, f.admin)
		if _, err := chromedp.Call(c, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
			t.Fatal(err)
		}
		pages := []struct{ name, path, sel, want string }{
			{"nojs-dashboard", "/", "#sent-today", "messages sent"},
			{"nojs-waves", "/waves", "#waves", "Philippines call"},
			{"nojs-wave", fmt.Sprintf("/waves/%d", v.ID), "[data-wave-counts]", "2 of 2 done: 2 sent"},
			{"nojs-log", "/log?wave=" + fmt.Sprint(v.ID), "#log", "eli@karapatan.ph.test"},
			{"nojs-review", "/review", "main", "The review queue is empty."},
			{"nojs-endorsements", "/endorsements", "#endorsement-counts", "Malaysia"},
			{"nojs-contacts", "/contacts?filter=country+%3D+PH", "#contacts", "dela@phrights.ph.test"},
			{"nojs-contact", "/contacts/dela@phrights.ph.test", "#contact-deliveries", "call-to-action"},
			{"nojs-templates", "/templates", "#templates", "call-to-action"},
			{"nojs-template", "/templates/call-to-action", "#preview-subject", "Join us"},
			{"nojs-letters", "/letters", "main", "MY Malaysia"},
			{"nojs-letter", fmt.Sprintf("/letters/%d/MY", lv.ID), "#roster", "Rights Watch Malaysia (KL)"},
			{"nojs-mail", "/mail", "#captured", "eli@karapatan.ph.test"},
		}
		for _, p := range pages {
			run(t, c, p.path, chromedp.Navigate(f.ts.URL+p.path), chromedp.WaitReady(chromedp.CSS("body")))
			waitText(t, c, p.sel, p.want)
			shot(t, c, dir, p.name)
		}
		// The live count is the script's: without it the output stays empty.
		run(t, c, "contacts", chromedp.Navigate(f.ts.URL+"/contacts"), chromedp.WaitReady(chromedp.CSS("body")))
		if got := text(t, c, "#contact-count"); got != "" {
			t.Errorf("with scripts off the live count says %q", got)
		}
	})
}
