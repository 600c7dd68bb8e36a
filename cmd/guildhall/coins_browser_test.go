package main

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/go-cmp/cmp"
)

var (
	consoleWalletRe = regexp.MustCompile(`/console/members/([0-9a-f-]{36})/wallet`)
	consoleRewardRe = regexp.MustCompile(`/console/rewards/([0-9a-f-]{36})\?done=created$`)
	webOrderRe      = regexp.MustCompile(`/orders/([0-9a-f-]{36})\?notice=redeemed$`)
)

// TestCoins_InBrowser drives the coin features of `guildhall dev` in
// headless Chromium, as the owner of the demo tenant makers and one of its
// members would use them: the owner edits the post.created rule (a
// condition that gives no boolean first) and previews it, grants the
// member coins and creates a digital reward (a price of 0 first); the
// member signs in to the web app, redeems the reward and sees the coins
// go; the owner finds the fulfilled order and the dashboard's chart.
func TestCoins_InBrowser(t *testing.T) {
	t.Parallel()
	s := startDev(t)
	api := s.URL + "/t/makers/api/v1"
	tenantBase := strings.Replace(s.URL, "127.0.0.1", "makers.localhost", 1)
	signIn := call(t, "POST", api+"/auth/sign-in", "", `{"email":"owner@makers.example","password":"`+demoPassword+`"}`, nil)
	if signIn.status != 200 {
		t.Fatalf("owner API sign-in = %d %s", signIn.status, signIn.body)
	}
	owner := bearerAuth(signIn.json["access_token"].(string))
	// savedRule is the post.created rule as the API has it.
	savedRule := func() map[string]any {
		t.Helper()
		r := call(t, "GET", api+"/rules", "", "", owner)
		if r.status != 200 {
			t.Fatalf("list-rules = %d %s", r.status, r.body)
		}
		for _, x := range r.json["rules"].([]any) {
			if rule := x.(map[string]any); rule["event_type"] == "post.created" {
				return rule
			}
		}
		t.Fatalf("list-rules has no post.created rule: %s", r.body)
		return nil
	}
	b := newBrowser(t)
	value := func(id string) string {
		t.Helper()
		v, err := chromedp.Run(b.ctx, chromedp.Value(chromedp.ID(id)))
		if err != nil {
			t.Fatalf("browser: value of #%s: %v", id, err)
		}
		return v
	}
	// texts are the visible texts of every element matching css.
	texts := func(css string) []string {
		t.Helper()
		out, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](
			`Array.from(document.querySelectorAll(`+strconv.Quote(css)+`), e => e.innerText.trim())`))
		if err != nil {
			t.Fatalf("browser: texts of %s: %v", css, err)
		}
		return out
	}
	wantText := func(css, want string) {
		t.Helper()
		if got := strings.TrimSpace(b.text(css)); got != want {
			t.Errorf("%s shows %q, want %q", css, got, want)
		}
	}

	// The owner signs in to makers' console and opens the post.created
	// rule from the rules list.
	b.do(
		chromedp.Navigate(tenantBase+"/console/sign-in"),
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), "owner@makers.example"),
		chromedp.SendKeys(chromedp.ID("password"), demoPassword),
		chromedp.Click(chromedp.CSS(`[data-testid="sign-in"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="nav-rules"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="nav-rules"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="rule-row-post.created"]`)),
	)
	row := `[data-testid="rule-row-post.created"] `
	wantText(row+`[data-testid="rule-coins"]`, "10")
	wantText(row+`[data-testid="rule-source"]`, "plugin default")
	b.do(
		chromedp.Click(chromedp.CSS(row+`[data-testid="rule-link"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="rule-form"]`)),
	)
	if loc := b.location(); !strings.HasSuffix(loc, "/console/rules/post.created") {
		t.Errorf("the rule link led to %s", loc)
	}

	// A condition that gives a number, not true or false, is refused next
	// to its field; the typed values stay and the rule is unchanged.
	b.do(
		chromedp.SendKeys(chromedp.ID("condition"), "size(attributes.body)"),
		chromedp.SetValue(chromedp.ID("coins"), "15"),
		chromedp.Click(chromedp.CSS(`[data-testid="save-rule"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="error-condition"]`)),
	)
	if got := b.text(`[data-testid="error-condition"]`); !strings.Contains(got, "Condition") || !strings.Contains(got, "gives int") || !strings.Contains(got, "must give true or false") {
		t.Errorf("condition error = %q, want it to say the condition gives int, not true or false", got)
	}
	if got := b.text(`[data-testid="form-error"]`); !strings.HasPrefix(got, "Nothing was saved.") {
		t.Errorf("form error = %q, want it to start with Nothing was saved.", got)
	}
	if got := value("condition"); got != "size(attributes.body)" {
		t.Errorf("condition after the refusal = %q, want the typed one kept", got)
	}
	if got := value("coins"); got != "15" {
		t.Errorf("coins after the refusal = %q, want the typed 15 kept", got)
	}
	if rule := savedRule(); rule["coins"] != float64(10) || rule["condition"] != nil || rule["default"] != true {
		t.Errorf("rule after a refused save = %v, want the untouched default (10 coins, no condition)", rule)
	}
	b.screenshot("rule-condition-refused")

	// A boolean condition saves, with the new coins.
	const condition = "size(attributes.body) >= 20"
	b.do(
		chromedp.SetValue(chromedp.ID("condition"), condition),
		chromedp.Click(chromedp.CSS(`[data-testid="save-rule"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="notice"]`)),
	)
	wantText(`[data-testid="notice"]`, "Rule saved. It applies to the next event.")
	if loc := b.location(); !strings.HasSuffix(loc, "/console/rules/post.created?done=saved") {
		t.Errorf("after saving the browser is at %s", loc)
	}
	if got, want := value("condition"), condition; got != want {
		t.Errorf("saved condition shows %q, want %q", got, want)
	}
	if got := value("coins"); got != "15" {
		t.Errorf("saved coins show %q, want 15", got)
	}
	wantText(`[data-testid="rule-source"]`, "edited default")
	if rule := savedRule(); rule["coins"] != float64(15) || rule["condition"] != condition || rule["default"] != false {
		t.Errorf("rule after saving = %v, want 15 coins if %s", rule, condition)
	}

	// The preview: a long enough body earns the 15 coins, a short one
	// nothing, because of the condition.
	b.do(
		chromedp.SendKeys(chromedp.ID("member"), "member@makers.example"),
		chromedp.SetValue(chromedp.ID("attributes"), `{"body": "My first bench, built from old floorboards"}`),
		chromedp.Click(chromedp.CSS(`[data-testid="run-preview"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="preview-result"]`)),
	)
	wantText(`[data-testid="preview-granted"]`, "15")
	wantText(`[data-testid="preview-reason"]`, "the rule pays it in full")
	b.screenshot("rule-preview-granted")
	b.do(
		chromedp.SetValue(chromedp.ID("attributes"), `{"body": "too short"}`),
		chromedp.Click(chromedp.CSS(`[data-testid="run-preview"]`)),
	)
	eventuallyText(t, b, `[data-testid="preview-reason"]`, "the rule's condition is false for this event")
	wantText(`[data-testid="preview-granted"]`, "0")
	if got := value("member"); got != "member@makers.example" {
		t.Errorf("preview member after a preview = %q, want it kept", got)
	}
	b.screenshot("rule-preview-condition-false")

	// The owner grants the member 40 coins from the member's wallet, which
	// holds the 10 the demo's seeded first post earned.
	b.do(
		chromedp.Click(chromedp.CSS(`[data-testid="nav-members"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="member-row-member@makers.example"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="member-row-member@makers.example"] [data-testid="member-link"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="wallet-link"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="wallet-link"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="adjust-form"]`)),
	)
	m := consoleWalletRe.FindStringSubmatch(b.location())
	if m == nil {
		t.Fatalf("the wallet link led to %s", b.location())
	}
	memberID := m[1]
	wantText(`[data-testid="wallet-balance"]`, "10")
	if got := value("direction"); got != "grant" {
		t.Errorf("adjust form offers %q first, want grant", got)
	}
	b.do(
		chromedp.SendKeys(chromedp.ID("amount"), "40"),
		chromedp.SendKeys(chromedp.ID("adjust-reason"), "Welcome to the guild"),
		chromedp.Click(chromedp.CSS(`[data-testid="adjust"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="notice"]`)),
	)
	wantText(`[data-testid="notice"]`, "Coins granted.")
	wantText(`[data-testid="wallet-balance"]`, "50")
	wantText(`[data-testid="entry-row"] [data-testid="entry-kind"]`, "adjustment")
	wantText(`[data-testid="entry-row"] [data-testid="entry-amount"]`, "+40")
	wantText(`[data-testid="entry-row"] [data-testid="entry-memo"]`, "Welcome to the guild")
	b.screenshot("wallet-granted")

	// The owner creates a digital reward: a price of 0 is refused in
	// place, with everything else kept.
	b.do(
		chromedp.Click(chromedp.CSS(`[data-testid="nav-rewards"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="new-reward"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="new-reward"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="reward-form"]`)),
	)
	if got := value("kind"); got != "digital" {
		t.Errorf("new reward form offers kind %q first, want digital", got)
	}
	b.do(
		chromedp.SendKeys(chromedp.ID("name"), "Workshop day pass"),
		chromedp.SendKeys(chromedp.ID("description"), "A day in the wood shop with the tools."),
		chromedp.SetValue(chromedp.ID("price"), "0"),
		chromedp.SendKeys(chromedp.ID("stock"), "1"),
		chromedp.Click(chromedp.CSS(`[data-testid="save-reward"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="error-price"]`)),
	)
	if got := b.text(`[data-testid="error-price"]`); !strings.HasPrefix(got, "Price must be a whole number of coins from 1") {
		t.Errorf("price error = %q", got)
	}
	if got := b.text(`[data-testid="form-error"]`); !strings.HasPrefix(got, "Nothing was created.") {
		t.Errorf("form error = %q, want it to start with Nothing was created.", got)
	}
	for id, want := range map[string]string{"name": "Workshop day pass", "description": "A day in the wood shop with the tools.", "price": "0", "stock": "1", "kind": "digital"} {
		if got := value(id); got != want {
			t.Errorf("#%s after the refusal = %q, want %q kept", id, got, want)
		}
	}
	b.screenshot("reward-price-refused")
	b.do(
		chromedp.SetValue(chromedp.ID("price"), "25"),
		chromedp.Click(chromedp.CSS(`[data-testid="save-reward"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="notice"]`)),
	)
	wantText(`[data-testid="notice"]`, "Reward created.")
	m = consoleRewardRe.FindStringSubmatch(b.location())
	if m == nil {
		t.Fatalf("after creating the reward the browser is at %s", b.location())
	}
	rewardID := m[1]
	wantText(`[data-testid="reward-status"]`, "active")
	if got := value("price") + "/" + value("stock"); got != "25/1" {
		t.Errorf("created reward's price/stock = %s, want 25/1", got)
	}
	b.screenshot("reward-created")

	// The member signs in to the web app and sees the granted coins.
	b.do(
		chromedp.Navigate(tenantBase+"/sign-in"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="sign-in-form"]`)),
		chromedp.SendKeys(chromedp.ID("email"), "member@makers.example"),
		chromedp.SendKeys(chromedp.ID("password"), demoPassword),
		chromedp.Click(chromedp.CSS(`[data-testid="sign-in-form"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="header-balance"]`)),
	)
	wantText(`[data-testid="current-user"]`, "Mel Member")
	wantText(`[data-testid="header-balance"]`, "50 coins")

	// The catalog offers the reward; the member redeems it and lands on
	// the order.
	card := `[data-testid="reward-` + rewardID + `"] `
	b.do(
		chromedp.Click(chromedp.CSS(`[data-testid="app-nav"] a[href="/rewards"]`)),
		chromedp.WaitVisible(chromedp.CSS(card+`[data-testid="redeem-link"]`)),
	)
	wantText(`[data-testid="catalog-balance"]`, "50 coins")
	wantText(card+`[data-testid="reward-name"]`, "Workshop day pass")
	wantText(card+`[data-testid="reward-price"]`, "25 coins")
	wantText(card+`[data-testid="reward-stock"]`, "1 left")
	b.screenshot("web-catalog")
	b.do(
		chromedp.Click(chromedp.CSS(card+`[data-testid="redeem-link"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="redeem-button"]`)),
	)
	wantText(`[data-testid="redeem-button"]`, "Redeem for 25 coins")
	b.do(
		chromedp.Click(chromedp.CSS(`[data-testid="redeem-button"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="order"]`)),
	)
	m = webOrderRe.FindStringSubmatch(b.location())
	if m == nil {
		t.Fatalf("after redeeming the browser is at %s, want the order's page", b.location())
	}
	orderID := m[1]
	wantText(`[data-testid="notice"]`, "Done! Your order is placed and the coins are spent.")
	wantText(`[data-testid="order-reward"]`, "Workshop day pass")
	wantText(`[data-testid="order-coins"]`, "25 coins")
	wantText(`[data-testid="order-status"]`, "Fulfilled")
	wantText(`[data-testid="header-balance"]`, "25 coins")
	b.screenshot("web-order")

	// The wallet shows what is left and the redemption, newest first.
	b.do(
		chromedp.Click(chromedp.CSS(`[data-testid="header-balance"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="history"]`)),
	)
	wantText(`[data-testid="wallet-balance"]`, "25")
	labels := texts(`[data-testid="entry-row"] [data-testid="entry-label"]`)
	amounts := texts(`[data-testid="entry-row"] [data-testid="entry-amount"]`)
	if diff := cmp.Diff([]string{"Redeemed: Workshop day pass", "Adjusted by staff: Welcome to the guild", "Earned: Publishing a post"}, labels); diff != "" {
		t.Errorf("history labels (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"-25", "+40", "+10"}, amounts); diff != "" {
		t.Errorf("history amounts (-want +got):\n%s", diff)
	}
	b.screenshot("web-wallet")

	// The only item is gone: the card says so and offers no redeem link.
	b.do(
		chromedp.Click(chromedp.CSS(`[data-testid="app-nav"] a[href="/rewards"]`)),
		chromedp.WaitVisible(chromedp.CSS(card+`[data-testid="redeem-disabled"]`)),
	)
	wantText(card+`[data-testid="redeem-reason"]`, "Out of stock")
	wantText(card+`[data-testid="reward-stock"]`, "0 left")
	wantText(`[data-testid="catalog-balance"]`, "25 coins")
	if n, err := chromedp.Run(b.ctx, chromedp.Nodes(chromedp.CSS(card+`[data-testid="redeem-link"]`), chromedp.AtLeast(0))); err != nil || len(n) != 0 {
		t.Errorf("an out-of-stock card still links to redeeming (%d links, %v)", len(n), err)
	}
	b.screenshot("web-out-of-stock")

	// Back in the console: digital orders are fulfilled when placed, so
	// the pending queue is empty and the order is under All.
	b.do(
		chromedp.Navigate(tenantBase+"/console/"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="nav-orders"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="nav-orders"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="orders-table"]`)),
	)
	if got := b.text(`[data-testid="orders-table"] tbody`); !strings.Contains(got, "No orders match.") {
		t.Errorf("pending queue = %q, want it empty", got)
	}
	orderRow := `[data-testid="order-row-` + orderID + `"] `
	b.do(
		chromedp.SetValue(chromedp.ID("status-filter"), "all"),
		chromedp.SendKeys(chromedp.ID("member-filter"), "member@makers.example"),
		chromedp.Click(chromedp.CSS(`[data-testid="order-filters"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(orderRow+`[data-testid="order-link"]`)),
	)
	wantText(orderRow+`[data-testid="order-status"]`, "fulfilled")
	wantText(orderRow+`[data-testid="order-coins"]`, "25")
	if href, err := chromedp.Run(b.ctx, chromedp.AttributeValue(chromedp.CSS(orderRow+`[data-testid="order-member"]`), "href")); err != nil || !strings.HasSuffix(href.Value, "/members/"+memberID) {
		t.Errorf("order's member links to %v (%v), want member %s", href, err, memberID)
	}
	b.screenshot("console-orders")
	b.do(
		chromedp.Click(chromedp.CSS(orderRow+`[data-testid="order-link"]`)),
		chromedp.WaitVisible(chromedp.ID("order-title")),
	)
	if loc := b.location(); !strings.HasSuffix(loc, "/console/orders/"+orderID) {
		t.Errorf("the order link led to %s", loc)
	}
	wantText(`h1`, "Workshop day pass")
	wantText(`[data-testid="order-status"]`, "fulfilled")
	wantText(`[data-testid="order-member"]`, "member@makers.example")
	if n, err := chromedp.Run(b.ctx, chromedp.Nodes(chromedp.CSS(`[data-testid="fulfil-form"]`), chromedp.AtLeast(0))); err != nil || len(n) != 0 {
		t.Errorf("a fulfilled order offers the fulfil form (%d, %v)", len(n), err)
	}

	// The dashboard draws the coins chart; today's figures are computed
	// after the day ends, so it shows the empty-chart hint for now.
	today := time.Now().In(mustLoadLocation(t, "Europe/Berlin")).Format(time.DateOnly)
	b.do(
		chromedp.Click(chromedp.CSS(`[data-testid="nav-dashboard"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="coins-chart"]`)),
	)
	wantText(`[data-testid="coins-issued-total"]`, "0")
	wantText(`[data-testid="coins-redeemed-total"]`, "0")
	if got := b.text(`[data-testid="coins-empty"]`); !strings.Contains(got, "not computed yet") {
		t.Errorf("empty chart hint = %q", got)
	}
	if n, err := chromedp.Run(b.ctx, chromedp.Nodes(chromedp.CSS(`[data-testid="coins-day-`+today+`"]`), chromedp.AtLeast(0))); err != nil || len(n) != 1 {
		t.Errorf("coins table has %d rows for today (%s), want 1 (%v)", len(n), today, err)
	}
	b.screenshot("console-dashboard")

	code, out, errOut := runCLI(t, map[string]string{"DATABASE_URL": dbtestAdminForDev(t, s)}, "ledger", "verify", "--tenant", "makers")
	if code != 0 || !strings.Contains(out, "ok") {
		t.Errorf("ledger verify after the flow = %d %s %s", code, out, errOut)
	}
}

func mustLoadLocation(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}
