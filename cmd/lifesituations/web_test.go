package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The browser tests of the web cabinet (CONTRACT.md section 3, the page at
// /): the real server, driven through a real headless Chromium as a person
// would, and every main page audited in the browser with axe-core for
// WCAG 2.1 AA. They need Debian's chromium (or LIFESITUATIONS_CHROMIUM
// naming a Chrome binary) and, for the audits, axe-core installed with
// npm ci --prefix adapters/webcabinet/testdata/axe; without either they
// skip, saying so. LIFESITUATIONS_SCREENSHOTS=1 saves the main pages to
// docs/img/ for the README.

// axeScript is axe-core as npm installs it for the tests.
var axeScript = filepath.Join("..", "..", "adapters", "webcabinet", "testdata", "axe", "node_modules", "axe-core", "axe.min.js")

// screenshotDir is where LIFESITUATIONS_SCREENSHOTS=1 saves the pages.
var screenshotDir = filepath.Join("..", "..", "docs", "img")

// chromiumPath finds a Chrome binary: LIFESITUATIONS_CHROMIUM, else
// Debian's chromium or another usual name on the PATH.
func chromiumPath() string {
	if p := os.Getenv("LIFESITUATIONS_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// webBrowser is one headless Chromium tab on the cabinet, with the axe-core
// audit and the screenshots.
type webBrowser struct {
	t     *testing.T
	ctx   context.Context
	base  string
	axe   string // axe-core's source; empty when it is not installed
	shots bool
}

func newWebBrowser(t *testing.T, base string) *webBrowser {
	t.Helper()
	chrome := chromiumPath()
	if chrome == "" {
		t.Skip("no Chromium found (apt-get install chromium, or set LIFESITUATIONS_CHROMIUM): the browser tests of the web cabinet are skipped")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chrome),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1100, 900),
		chromedp.Flag("lang", "en-GB"),
		chromedp.Flag("accept-lang", "en-GB,en"),
		chromedp.Flag("hide-scrollbars", true),
	)
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox) // Chromium refuses to run as root with its sandbox
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancelCtx(); cancelAlloc() })
	// The first action starts the browser: with no deadline, which would
	// stop the browser; each step below has its own.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start %s: %v", chrome, err)
	}
	b := &webBrowser{t: t, ctx: ctx, base: base, shots: os.Getenv("LIFESITUATIONS_SCREENSHOTS") == "1"}
	if src, err := os.ReadFile(axeScript); err == nil {
		b.axe = string(src)
	}
	return b
}

// do runs browser steps, failing the test on the first error.
func (b *webBrowser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 15*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		loc, _ := chromedp.Run(b.ctx, chromedp.Location())
		b.t.Fatalf("%s (at %s): %v", what, loc, err)
	}
}

// text is the text of the first element matching a CSS selector.
func (b *webBrowser) text(sel string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 15*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

func (b *webBrowser) eval(expr string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](expr))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return s
}

// waitFor waits up to 5 seconds for a JavaScript condition to hold (the
// page's deferred script to have run, say); false if it never does.
func (b *webBrowser) waitFor(cond string) bool {
	b.t.Helper()
	_, err := chromedp.Run(b.ctx, chromedp.Poll[bool](cond, chromedp.WithPollingTimeout(5*time.Second)))
	return err == nil
}

// path is the path of the page the tab shows, with its query.
func (b *webBrowser) path() string {
	b.t.Helper()
	loc, err := chromedp.Run(b.ctx, chromedp.Location())
	if err != nil {
		b.t.Fatal(err)
	}
	return strings.TrimPrefix(loc, b.base)
}

// wantText fails unless the element's text holds every string.
func (b *webBrowser) wantText(sel string, want ...string) {
	b.t.Helper()
	got := b.text(sel)
	for _, w := range want {
		if !strings.Contains(got, w) {
			b.t.Errorf("%s of %s lacks %q; it reads:\n%s", sel, b.path(), w, got)
		}
	}
}

func (b *webBrowser) lacksText(sel string, not ...string) {
	b.t.Helper()
	got := b.text(sel)
	for _, n := range not {
		if strings.Contains(got, n) {
			b.t.Errorf("%s of %s shows %q", sel, b.path(), n)
		}
	}
}

type axeViolation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"`
}

// audit runs axe-core on the page for WCAG 2.1 A and AA and wants no
// violation; a subtest, which skips when axe-core is not installed.
func (b *webBrowser) audit(page string) {
	b.t.Helper()
	b.t.Run("axe/"+page, func(t *testing.T) {
		if b.axe == "" {
			t.Skip("axe-core not installed (npm ci --prefix adapters/webcabinet/testdata/axe): the accessibility audit is skipped")
		}
		ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
		defer cancel()
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[any](b.axe+"\n;true")); err != nil {
			t.Fatalf("inject axe-core: %v", err)
		}
		found, err := chromedp.Run(ctx, chromedp.Evaluate[[]axeViolation](`axe.run(document, {
			runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
			resultTypes: ["violations"]
		}).then(r => r.violations.map(v => ({id: v.id, impact: v.impact || "", help: v.help,
			nodes: v.nodes.map(n => n.target.join(" ") + ": " + n.failureSummary)})))`, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("run axe-core: %v", err)
		}
		for _, v := range found {
			t.Errorf("%s: %s (%s, %s) at:\n  %s", page, v.Help, v.ID, v.Impact, strings.Join(v.Nodes, "\n  "))
		}
	})
}

// screenshot saves the whole page (or, for a phone, its first screen) to
// docs/img/web-<name>.png when LIFESITUATIONS_SCREENSHOTS=1.
func (b *webBrowser) screenshot(name string, firstScreen bool) {
	b.t.Helper()
	if !b.shots {
		return
	}
	shot := chromedp.FullScreenshot(100)
	if firstScreen {
		shot = chromedp.CaptureScreenshot()
	}
	png, err := chromedp.Run(b.ctx, shot)
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(screenshotDir, "web-"+name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	// A full-page capture lays the page out anew: let it settle before the
	// next click aims at a button.
	if _, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](
		`new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))`, chromedp.EvalAwaitPromise)); err != nil {
		b.t.Fatal(err)
	}
}

// signInAs chooses a person on the development sign-in page the tab shows.
func (b *webBrowser) signInAs(person string) {
	b.t.Helper()
	b.do("sign in as "+person,
		chromedp.Click(chromedp.CSS(`button[value="`+person+`"]`)),
		chromedp.WaitVisible(chromedp.CSS(".nav-row")))
}

func (b *webBrowser) signOut() {
	b.t.Helper()
	b.do("sign out",
		chromedp.Click(chromedp.CSS(".signout button")),
		chromedp.WaitVisible(chromedp.CSS(".people")))
}

func TestWebCabinetInABrowser(t *testing.T) {
	s := startServer(t, "--clock", "manual", "--clock-start", "2026-03-01T00:00:00Z", "--agency-delay", "24h")
	b := newWebBrowser(t, s.url)
	t0 := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	setClock(t, s, t0)

	// A birth arrives from the registries, over HTTP.
	mother, stranger, child := personID(1), personID(4), personID(11)
	send(t, s, population,
		registered(mother, "Иванова", "Мария", "1994-03-01", "F", "RU", "RU-MOW", "Europe/Moscow", "Москва, ул. Тверская, д. 1, кв. 5", t0),
		registered(stranger, "Петров", "Пётр", "1980-01-01", "M", "RU", "RU-MOW", "Europe/Moscow", "Москва, ул. Арбат, д. 2", t0))
	send(t, s, tax, cloudEvent(tax, "inc-1", "income.reported", mother, t0,
		map[string]any{"person_id": mother, "year": 2025, "annual_income_rub": 120000}))
	send(t, s, civilStatus, born("birth-1", child, mother, "2026-03-05", "770-2026-000001", t0))
	setClock(t, s, t0.Add(time.Minute))
	maria := signIn(t, s, mother)
	allowance, residence := maria.draftOf("child-allowance"), maria.draftOf("residence-registration")
	situationID := maria.situations()[0].ID
	queue := maria.stepsOf("birth-of-child")["kindergarten-queue"].GrantID

	// The mother signs in by choosing herself (development mode).
	b.do("open the cabinet", chromedp.Navigate(s.url+"/"), chromedp.WaitVisible(chromedp.CSS(".people")))
	if p := b.path(); p != "/signin" {
		t.Errorf("not signed in, / leads to %s, want /signin", p)
	}
	if lang := b.eval(`document.documentElement.lang`); lang != "en" {
		t.Errorf("the browser asks for English, the page is in %q", lang)
	}
	b.wantText("main", "Sign in to your cabinet", "Мария Иванова", "Пётр Петров")
	b.audit("sign-in")
	b.screenshot("signin", false)

	b.signInAs(mother)
	b.wantText("main", "Your life situations", "Birth of a child", "Waiting for your decision",
		"Unified child allowance", "Kindergarten waiting list", "Waiting for your confirmation", "Done", "Responsible")
	b.audit("cabinet")
	b.screenshot("cabinet", false)

	// She opens the allowance, types a bad account number, sees why next
	// to the field, and the focus is on the summary of errors.
	b.do("open the allowance",
		chromedp.Click(chromedp.CSS(`.waiting a[href="/drafts/`+allowance.ID+`"]`)),
		chromedp.WaitVisible(chromedp.CSS("#f-bank_account")))
	b.wantText("main", "Filled in for you", "Check and confirm", "Пётр Иванов")
	b.audit("draft")
	b.do("confirm with a bad account number",
		chromedp.SendKeys(chromedp.CSS("#f-bank_account"), "123"),
		chromedp.Click(chromedp.CSS("#confirm-button")),
		chromedp.WaitVisible(chromedp.CSS("#f-bank_account-error")))
	b.wantText("#f-bank_account-error", "An account number is 20 digits")
	if got := b.eval(`document.querySelector("#f-bank_account").getAttribute("aria-describedby")`); !strings.Contains(got, "f-bank_account-error") {
		t.Errorf("the field is described by %q, not by its error", got)
	}
	if got := b.eval(`document.querySelector("#f-bank_account").value`); got != "123" {
		t.Errorf("the value typed is gone: %q", got)
	}
	if !b.waitFor(`document.activeElement !== null && document.activeElement.classList.contains("error-summary")`) {
		t.Errorf("the focus is on %q, not the error summary", b.eval(`document.activeElement.outerHTML.slice(0, 80)`))
	}
	b.audit("draft with an error")
	b.screenshot("draft-error", false)
	if d := maria.draftOf("child-allowance"); d.Status != "open" {
		t.Fatalf("a refused correction changed the draft: %+v", d)
	}

	// She corrects it and double-clicks confirm: it is filed once, and the
	// page says the status changed.
	b.eval(`document.querySelector("#f-bank_account").value = ""`)
	b.do("confirm with a good account number, double-clicking",
		chromedp.SendKeys(chromedp.CSS("#f-bank_account"), "40817810000000000002"),
		chromedp.DoubleClick(chromedp.CSS("#confirm-button")),
		chromedp.WaitVisible(chromedp.CSS(".flash")))
	b.wantText("#draft-status", "Confirmed", "Sent to the agency")
	b.wantText(".flash", "The application is confirmed and sent to the agency")
	b.wantText("main", "40817810000000000002")
	b.audit("confirmed draft")
	submitted := 0
	for _, n := range maria.notifications() {
		if n.Service == "child-allowance" && n.Outcome == "submitted" {
			submitted++
		}
	}
	if d := maria.draftOf("child-allowance"); d.Status != "confirmed" || submitted != 1 {
		t.Errorf("after a double click: status %q, %d confirmations", d.Status, submitted)
	}
	b.do("back to the situations", chromedp.Click(chromedp.CSS(`.nav a[href="/"]`)), chromedp.WaitVisible(chromedp.CSS(".situation")))
	b.wantText("main", "Sent to the agency")

	// Grants with their registry entries; she gives up the kindergarten place.
	b.do("open the grants", chromedp.Click(chromedp.CSS(`.nav a[href="/grants"]`)), chromedp.WaitVisible(chromedp.CSS(".grant")))
	b.wantText("main", "Granted to you", "Entry number", "Maternity capital certificates", "Kindergarten waiting list", "Give up the service")
	b.audit("grants")
	b.screenshot("grants", false)
	b.do("give up the kindergarten place",
		chromedp.Click(chromedp.CSS(`form[action="/grants/`+queue+`/withdraw"] button`)),
		chromedp.WaitVisible(chromedp.CSS(".flash")))
	b.wantText("#grant-"+queue, "Withdrawn on 10 March 2026")

	b.do("open the notifications", chromedp.Click(chromedp.CSS(`.nav a[href="/notifications"]`)), chromedp.WaitVisible(chromedp.CSS(".notes-page")))
	b.wantText("main", "Notifications", "Unified child allowance")
	b.audit("notifications")

	// On a phone, in Russian (the switch in the header).
	b.do("a phone, in Russian",
		chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile),
		chromedp.Navigate(s.url+"/?lang=ru"), chromedp.WaitVisible(chromedp.CSS(".situation")))
	b.wantText("main", "Ваши жизненные ситуации", "Рождение ребёнка", "Передано в ведомство")
	if w := b.eval(`String(document.documentElement.scrollWidth <= window.innerWidth)`); w != "true" {
		t.Errorf("the page scrolls sideways on a phone")
	}
	b.audit("cabinet on a phone, in Russian")
	b.screenshot("phone-ru", true)
	b.do("back to a desktop, in English", chromedp.EmulateViewport(1100, 900), chromedp.Navigate(s.url+"/?lang=en"), chromedp.WaitVisible(chromedp.CSS(".situation")))

	// Another person cannot see her data.
	b.signOut()
	b.signInAs(stranger)
	b.lacksText("main", "Birth of a child", "Unified child allowance")
	for _, path := range []string{"/drafts/" + allowance.ID, "/situations/" + situationID} {
		b.do("open "+path+" as another person", chromedp.Navigate(s.url+path), chromedp.WaitVisible(chromedp.CSS("h1")))
		b.wantText("h1", "Page not found")
		b.lacksText("main", "Unified child allowance", "Мария", "40817810000000000002")
	}
	b.audit("not found")
	b.signOut()

	// A stale page: the residence draft is open on her screen when its
	// deadline passes (midnight in Moscow); confirming says why it cannot.
	deadline, err := time.Parse(time.DateOnly, residence.Deadline)
	if err != nil {
		t.Fatalf("residence deadline %q: %v", residence.Deadline, err)
	}
	expiry := deadline.Add(21 * time.Hour) // the next day, 00:00 Moscow time
	setClock(t, s, expiry.Add(-time.Hour))
	b.do("open the residence draft, signing in on the way",
		chromedp.Navigate(s.url+"/drafts/"+residence.ID), chromedp.WaitVisible(chromedp.CSS(".people")))
	b.signInAs(mother)
	b.do("back on the draft", chromedp.WaitVisible(chromedp.CSS("#confirm-button")))
	setClock(t, s, expiry.Add(30*time.Minute))
	b.do("confirm on the stale page", chromedp.Click(chromedp.CSS("#confirm-button")), chromedp.WaitVisible(chromedp.CSS("#why")))
	spoken := fmt.Sprintf("%d %s %d", deadline.Day(), deadline.Month(), deadline.Year())
	b.wantText("#why", "can no longer be confirmed", "ran out on "+spoken, "МВД России")
	b.wantText("#draft-status", "The time to confirm ran out")
	b.audit("stale draft")
	b.screenshot("draft-expired", false)
	if d := maria.draftOf("residence-registration"); d.Status != "expired" {
		t.Errorf("the stale confirmation changed the draft: %+v", d)
	}

	// Every step is over: she rates the situation.
	b.do("open the situation", chromedp.Navigate(s.url+"/situations/"+situationID), chromedp.WaitVisible(chromedp.CSS("#f-score-4")))
	b.audit("situation with the rating form")
	b.do("rate it",
		chromedp.Click(chromedp.CSS(`label[for="f-score-4"]`)),
		chromedp.SendKeys(chromedp.CSS("#f-comment"), "Everything came by itself"),
		chromedp.Click(chromedp.CSS(`form[action$="/rating"] button`)),
		chromedp.WaitVisible(chromedp.CSS(".flash")))
	b.wantText("main", "Your rating: 4 of 5.", "Everything came by itself")
	var rated []situationView
	for _, sv := range maria.situations() {
		if sv.ID == situationID {
			rated = append(rated, sv)
		}
	}
	if len(rated) != 1 || rated[0].Status != "completed" {
		t.Errorf("the situation after rating: %+v", rated)
	}
}
