package main

import (
	"bytes"
	"context"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/jackc/pgx/v5"

	"github.com/guildhall/guildhall/engine/db"
	"github.com/guildhall/guildhall/engine/db/dbtest"
)

var consoleURLRe = regexp.MustCompile(`Console\s+(http://\S+)/console/`)

// TestDev_ConsoleInBrowser runs `guildhall dev` as a developer would (with a
// superuser DATABASE_URL), then drives its console in headless Chromium:
// the platform admin signs in (a wrong password first), sees the two demo
// tenants and creates one through the form (an invalid slug first); the
// owner of a demo tenant signs in to its console and changes a member's
// role; the demo tenant's web app renders. A second run of dev on the same
// database applies and seeds nothing and still serves.
func TestDev_ConsoleInBrowser(t *testing.T) {
	t.Parallel()
	admin := dbtest.AdminConfig(t)
	name := dbtest.DatabaseName()
	t.Cleanup(func() {
		conn, err := pgx.ConnectConfig(context.Background(), admin.ConnConfig)
		if err == nil {
			_ = db.DropDatabase(context.Background(), conn, name)
			conn.Close(context.Background())
		}
	})
	env := map[string]string{"DATABASE_URL": dbtest.URL(admin)}
	args := []string{"dev", "--addr", "127.0.0.1:0", "--database", name, "--state-dir", t.TempDir()}

	s := startCLI(t, env, args...)
	out := s.stdout.String()
	for _, want := range []string{"applied migration 0001_app_role", "seeded demo tenant makers (social)", "seeded demo tenant roommates (splits)", "seeded demo posts of makers", "Platform API token"} {
		if !strings.Contains(out, want) {
			t.Errorf("dev output lacks %q:\n%s", want, out)
		}
	}
	m := consoleURLRe.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("dev printed no console URL:\n%s", out)
	}
	base := m[1]

	b := newBrowser(t)
	signIn := func(url, email string) {
		t.Helper()
		b.do(
			chromedp.Navigate(url),
			chromedp.WaitVisible(chromedp.ID("email")),
			chromedp.SendKeys(chromedp.ID("email"), email),
			chromedp.SendKeys(chromedp.ID("password"), demoPassword),
			chromedp.Click(chromedp.CSS(`[data-testid="sign-in"]`)),
		)
	}

	// The console asks for sign-in; a wrong password is refused in place.
	b.do(chromedp.Navigate(base+"/console/"), chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), demoAdmin), chromedp.SendKeys(chromedp.ID("password"), "not the password"),
		chromedp.Click(chromedp.CSS(`[data-testid="sign-in"]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid="form-error"]`)))
	if got := b.text(`[data-testid="form-error"]`); !strings.Contains(got, "incorrect") {
		t.Errorf("wrong password shows %q", got)
	}
	b.screenshot("sign-in-refused")

	// The platform admin signs in and sees the demo tenants.
	signIn(base+"/console/sign-in", demoAdmin)
	b.do(chromedp.WaitVisible(chromedp.CSS(`[data-testid="tenants-table"]`)))
	for slug, name := range map[string]string{"makers": "Makers' Guild", "roommates": "Roommates"} {
		if got := b.text(`[data-testid="tenant-row-` + slug + `"] [data-testid="tenant-name"]`); got != name {
			t.Errorf("console row %s = %q, want %q", slug, got, name)
		}
	}
	b.screenshot("tenant-list")

	// Create a tenant through the form: first with a bad slug, which htmx
	// swaps back with the error next to the field.
	b.do(
		chromedp.Click(chromedp.CSS(`[data-testid="new-tenant"]`)),
		chromedp.WaitVisible(chromedp.ID("slug")),
		chromedp.SendKeys(chromedp.ID("slug"), "Bad Slug"),
		chromedp.SendKeys(chromedp.ID("name"), "Chess Club"),
		chromedp.SendKeys(chromedp.ID("time_zone"), "Europe/Vienna"),
		chromedp.SendKeys(chromedp.ID("currency"), "EUR"),
		chromedp.Click(chromedp.CSS(`[data-testid="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="error-slug"]`)),
	)
	if got := b.text(`[data-testid="error-slug"]`); !strings.Contains(got, "lowercase letters") {
		t.Errorf("slug error = %q", got)
	}
	if got, _ := chromedp.Run(b.ctx, chromedp.Value(chromedp.ID("name"))); got != "Chess Club" {
		t.Errorf("name after a failed submit = %q, want the entered value kept", got)
	}
	b.screenshot("tenant-form-error")
	b.do(
		chromedp.Clear(chromedp.ID("slug")),
		chromedp.SendKeys(chromedp.ID("slug"), "chess-club"),
		chromedp.Click(chromedp.CSS(`[data-testid="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`h1[data-testid="tenant-name"]`)),
	)
	if got := b.text(`h1[data-testid="tenant-name"]`); got != "Chess Club" {
		t.Errorf("detail page shows %q, want Chess Club", got)
	}
	if loc := b.location(); !strings.Contains(loc, "/console/tenants/chess-club") {
		t.Errorf("after create the browser is at %s, want the tenant's page", loc)
	}
	shot := b.screenshot("tenant-created")
	if png, err := os.ReadFile(shot); err != nil || !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Errorf("screenshot %s is not a PNG (%v)", shot, err)
	}

	// The owner of makers signs in to the tenant's console (its own host,
	// makers.localhost) and makes the demo member a moderator.
	tenantBase := strings.Replace(base, "127.0.0.1", "makers.localhost", 1)
	signIn(tenantBase+"/console/sign-in", "owner@makers.example")
	b.do(chromedp.WaitVisible(chromedp.CSS(`[data-testid="nav-members"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="nav-members"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="member-row-member@makers.example"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="member-row-member@makers.example"] [data-testid="member-link"]`)),
		chromedp.WaitVisible(chromedp.ID("role")),
		chromedp.SetValue(chromedp.ID("role"), "moderator"),
		chromedp.Click(chromedp.CSS(`[data-testid="change-role"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="member-role"]`)),
	)
	eventuallyText(t, b, `dd [data-testid="member-role"]`, "moderator")
	b.screenshot("member-role-changed")
	r := call(t, "POST", base+"/t/makers/api/v1/auth/sign-in", "", `{"email":"member@makers.example","password":"guildhall demo"}`, nil)
	if role := r.json["user"].(map[string]any)["role"]; role != "moderator" {
		t.Errorf("member's role after the console change = %v, want moderator", role)
	}

	// The demo tenant's web app, in its branding.
	b.do(chromedp.Navigate(base+"/t/makers/"), chromedp.WaitVisible(chromedp.CSS(`[data-testid="tenant-name"]`)))
	if got := b.text(`[data-testid="tenant-name"]`); got != "Makers' Guild" {
		t.Errorf("web app shows %q, want Makers' Guild", got)
	}
	b.screenshot("web-home")

	if err := s.stop(); err != nil {
		t.Fatalf("dev after Ctrl-C = %v", err)
	}

	// Running dev again on the same database works and changes nothing.
	again := startCLI(t, env, args...)
	out = again.stdout.String()
	if strings.Contains(out, "applied migration") || strings.Contains(out, "seeded demo tenant") {
		t.Errorf("second dev run migrated or seeded again:\n%s", out)
	}
	r = call(t, "GET", consoleURLRe.FindStringSubmatch(out)[1]+"/t/chess-club/api/v1/tenant", "", "", nil)
	if r.status != 200 || r.json["name"] != "Chess Club" {
		t.Errorf("tenant made in the first run, on the second = %d %s", r.status, r.body)
	}
}

// eventuallyText waits until the element's text is want. The failure
// names the text last seen, so it is read in the loop, not when the
// message is built.
func eventuallyText(t *testing.T, b *browser, css, want string) {
	t.Helper()
	const wait = 5 * time.Second
	deadline := time.Now().Add(wait)
	for {
		got, _ := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(css)))
		if strings.TrimSpace(got) == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("element %s shows %q, not %q, after %v", css, got, want, wait)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
