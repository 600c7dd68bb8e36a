package web

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/db"
	"github.com/guildhall/guildhall/engine/db/dbtest"
	"github.com/guildhall/guildhall/engine/identity"
	"github.com/guildhall/guildhall/engine/ledger"
	"github.com/guildhall/guildhall/engine/plugin"
	"github.com/guildhall/guildhall/engine/ratelimit"
	"github.com/guildhall/guildhall/engine/rewards"
	"github.com/guildhall/guildhall/engine/rules"
	"github.com/guildhall/guildhall/tenants"
)

// staff is a context acting in tn as one of its admins: what the console
// or the API would do (grants, the catalog, refunds).
func staff(t testing.TB, tn tenants.Tenant) context.Context {
	t.Helper()
	ctx := tenants.WithContext(t.Context(), tn, "")
	return engine.WithPrincipal(ctx, engine.Principal{Kind: engine.PrincipalUser, TenantID: tn.ID, UserID: uuid.New(),
		Role: "admin", Name: "user:staff-" + tn.Slug})
}

func key() string { return uuid.Must(uuid.NewV7()).String() }

func ptr[T any](v T) *T { return &v }

// member seeds a verified member of tn and returns a browser signed in as
// them, with their user ID.
func (b *testBundle) member(t *testing.T, tn tenants.Tenant, ownHost bool, email string) (*browser, uuid.UUID) {
	t.Helper()
	u, _, err := b.identity.SeedUser(tenants.WithContext(t.Context(), tn, ""), identity.SeedUserParams{
		Email: email, DisplayName: "Member " + email, Password: testPassword, Role: "member",
	})
	if err != nil {
		t.Fatalf("SeedUser(%s) = %v", email, err)
	}
	br := b.browser(t, tn, ownHost)
	br.signIn(email, testPassword)
	return br, u.ID
}

// adjust grants (amount > 0) or deducts coins as staff.
func (b *testBundle) adjust(t *testing.T, tn tenants.Tenant, member uuid.UUID, amount int64, reason string) ledger.Transaction {
	t.Helper()
	tx, err := b.ledger.Adjust(staff(t, tn), ledger.AdjustParams{Member: member, Amount: amount, Reason: reason, IdempotencyKey: key()})
	if err != nil {
		t.Fatalf("Adjust(%d) = %v", amount, err)
	}
	return tx
}

func (b *testBundle) balance(t *testing.T, tn tenants.Tenant, member uuid.UUID) int64 {
	t.Helper()
	w, err := b.ledger.Wallet(staff(t, tn), member)
	if err != nil {
		t.Fatalf("Wallet() = %v", err)
	}
	return w.Balance
}

func (b *testBundle) reward(t *testing.T, tn tenants.Tenant, p rewards.RewardParams) rewards.Reward {
	t.Helper()
	if p.Kind == "" {
		p.Kind = rewards.KindDigital
	}
	r, err := b.rewards.CreateReward(staff(t, tn), p)
	if err != nil {
		t.Fatalf("CreateReward(%s) = %v", p.Name, err)
	}
	return r
}

// orders are the member's orders, newest first.
func (b *testBundle) orders(t *testing.T, tn tenants.Tenant, member uuid.UUID) []rewards.Order {
	t.Helper()
	page, err := b.rewards.ListOrders(staff(t, tn), rewards.ListOrdersParams{Member: &member, Limit: 100})
	if err != nil {
		t.Fatalf("ListOrders() = %v", err)
	}
	return page.Orders
}

var shipTo = &rewards.Address{Name: "Ada Lovelace", Line1: "1 Main Street", City: "Berlin", PostalCode: "10115", Country: "DE"}

// formValues is what a browser sends for the form sel: its inputs'
// names and values.
func formValues(sel *goquery.Selection) url.Values {
	v := url.Values{}
	sel.Find("input[name]").Each(func(_ int, in *goquery.Selection) {
		v.Add(in.AttrOr("name", ""), in.AttrOr("value", ""))
	})
	return v
}

// rows are the texts of the page's history rows: "label amount".
func rows(p resp) []string {
	var out []string
	p.find("entry-row").Each(func(_ int, s *goquery.Selection) {
		out = append(out, text(s.Find(testID("entry-label")))+" "+text(s.Find(testID("entry-amount"))))
	})
	return out
}

func TestWeb_Wallet(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, base := range bases {
		t.Run(base.name, func(t *testing.T) {
			t.Parallel()
			tn := b.createTenant(t, tenants.CreateParams{})
			br, me := b.member(t, tn, base.ownHost, "ada@example.com")
			ctx := staff(t, tn)

			p := br.get("/wallet")
			if p.Code != http.StatusOK || p.text("wallet-balance") != "0" || p.text("no-entries") == "" {
				t.Fatalf("empty wallet = %d, balance %q, no-entries %q", p.Code, p.text("wallet-balance"), p.text("no-entries"))
			}

			b.adjust(t, tn, me, 100, "Welcome gift")
			mug := b.reward(t, tn, rewards.RewardParams{Name: "Mug", Kind: rewards.KindPhysical, Price: 30})
			order, _, err := b.rewards.Redeem(ctx, rewards.RedeemParams{Reward: mug.ID, Member: me, ShippingAddress: shipTo, IdempotencyKey: key()})
			if err != nil {
				t.Fatalf("Redeem(mug) = %v", err)
			}
			if _, err := b.rewards.Cancel(ctx, rewards.RefundParams{Order: order.ID, Reason: "Out of mugs", IdempotencyKey: key()}); err != nil {
				t.Fatalf("Cancel() = %v", err)
			}
			b.adjust(t, tn, me, -10, "Correction")
			book := b.reward(t, tn, rewards.RewardParams{Name: "E-book", Price: 20})
			if _, _, err := b.rewards.Redeem(ctx, rewards.RedeemParams{Reward: book.ID, Member: me, IdempotencyKey: key()}); err != nil {
				t.Fatalf("Redeem(book) = %v", err)
			}

			p = br.get("/wallet")
			if p.Code != http.StatusOK {
				t.Fatalf("GET /wallet = %d", p.Code)
			}
			if got := p.text("wallet-balance"); got != "70" {
				t.Errorf("wallet-balance = %q, want 70", got)
			}
			if got := p.text("header-balance"); got != "70 coins" {
				t.Errorf("header-balance = %q, want 70 coins", got)
			}
			if got := p.find("header-balance").AttrOr("href", ""); got != br.base+"/wallet" {
				t.Errorf("header-balance links to %q", got)
			}
			want := []string{
				"Redeemed: E-book -20",
				"Adjusted by staff: Correction -10",
				"Refund +30",
				"Redeemed: Mug -30",
				"Adjusted by staff: Welcome gift +100",
			}
			if diff := cmp.Diff(want, rows(p)); diff != "" {
				t.Errorf("history (-want +got):\n%s", diff)
			}
			amounts := p.find("entry-amount")
			if !amounts.Eq(0).HasClass("amount-out") || !amounts.Eq(4).HasClass("amount-in") {
				t.Errorf("amounts are not coloured: out %q, in %q", amounts.Eq(0).AttrOr("class", ""), amounts.Eq(4).AttrOr("class", ""))
			}
			for _, id := range []string{"wallet-debt", "wallet-frozen", "expiring", "next-page", "first-page"} {
				if p.find(id).Length() != 0 {
					t.Errorf("wallet shows %s", id)
				}
			}
			var nav []string
			p.find("app-nav").Find("a").Each(func(_ int, s *goquery.Selection) {
				nav = append(nav, text(s)+" "+s.AttrOr("href", "")+" "+s.AttrOr("aria-current", ""))
			})
			wantNav := []string{"Feed " + br.base + "/feed ", "Wallet " + br.base + "/wallet page", "Rewards " + br.base + "/rewards ", "Orders " + br.base + "/orders "}
			if diff := cmp.Diff(wantNav, nav); diff != "" {
				t.Errorf("nav (-want +got):\n%s", diff)
			}
			if got := p.find("history-filter").AttrOr("action", ""); got != br.base+"/wallet" {
				t.Errorf("filter action = %q", got)
			}

			berlin, err := time.LoadLocation("Europe/Berlin")
			if err != nil {
				t.Fatal(err)
			}
			now := time.Now().In(berlin)
			today, yesterday, tomorrow := now.Format(time.DateOnly), now.AddDate(0, 0, -1).Format(time.DateOnly), now.AddDate(0, 0, 1).Format(time.DateOnly)
			filters := []struct {
				name  string
				query url.Values
				want  []string
			}{
				{"Redeemed", url.Values{"kind": {"redemption"}}, []string{"Redeemed: E-book -20", "Redeemed: Mug -30"}},
				{"Adjusted", url.Values{"kind": {"adjustment"}}, []string{"Adjusted by staff: Correction -10", "Adjusted by staff: Welcome gift +100"}},
				{"Bonus", url.Values{"kind": {"bonus"}}, nil},
				{"Today", url.Values{"from": {today}, "to": {today}}, want},
				{"UntilYesterday", url.Values{"to": {yesterday}}, nil},
				{"FromTomorrow", url.Values{"from": {tomorrow}}, nil},
				{"TodayRedeemed", url.Values{"kind": {"redemption"}, "from": {yesterday}, "to": {today}}, []string{"Redeemed: E-book -20", "Redeemed: Mug -30"}},
			}
			for _, f := range filters {
				p := br.get("/wallet?" + f.query.Encode())
				if p.Code != http.StatusOK {
					t.Errorf("%s: status = %d", f.name, p.Code)
				}
				if diff := cmp.Diff(f.want, rows(p)); diff != "" {
					t.Errorf("%s: history (-want +got):\n%s", f.name, diff)
				}
				if f.want == nil && p.text("no-entries") != "No entries match this filter." {
					t.Errorf("%s: no-entries = %q", f.name, p.text("no-entries"))
				}
				if got := p.find("history-filter").Find("select#kind option[selected]").AttrOr("value", ""); got != f.query.Get("kind") {
					t.Errorf("%s: selected kind = %q, want %q", f.name, got, f.query.Get("kind"))
				}
				if got := p.find("history-filter").Find("input#from").AttrOr("value", ""); got != f.query.Get("from") {
					t.Errorf("%s: from shown = %q", f.name, got)
				}
			}

			bad := []struct {
				query   string
				errorID string
			}{
				{"kind=stolen", "error-kind"},
				{"from=yesterday", "error-from"},
				{"to=2025-02-30", "error-to"},
				{"from=" + today + "&to=" + yesterday, "error-to"},
			}
			for _, tt := range bad {
				p := br.get("/wallet?" + tt.query)
				if p.Code != http.StatusUnprocessableEntity || p.text(tt.errorID) == "" {
					t.Errorf("GET /wallet?%s = %d, %s %q; want 422 with it", tt.query, p.Code, tt.errorID, p.text(tt.errorID))
				}
				if p.text("wallet-balance") != "70" || p.find("entry-row").Length() != 0 {
					t.Errorf("GET /wallet?%s: want the balance and no history", tt.query)
				}
			}
		})
	}
}

func TestWeb_WalletPaging(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tn := b.createTenant(t, tenants.CreateParams{})
	br, me := b.member(t, tn, false, "ada@example.com")
	const n = historyPageSize + 3
	for i := range n {
		b.adjust(t, tn, me, int64(i+1), "Gift")
	}
	b.adjust(t, tn, me, -1, "Fee")

	seen := map[string]bool{}
	collect := func(p resp) {
		p.find("entry-amount").Each(func(_ int, s *goquery.Selection) {
			if seen[text(s)] {
				t.Errorf("entry %s shown twice", text(s))
			}
			seen[text(s)] = true
		})
	}
	p := br.get("/wallet?kind=adjustment")
	if got := p.find("entry-row").Length(); got != historyPageSize {
		t.Fatalf("first page rows = %d, want %d", got, historyPageSize)
	}
	collect(p)
	next := p.find("next-page").AttrOr("href", "")
	if !strings.HasPrefix(next, br.base+"/wallet?") || !strings.Contains(next, "kind=adjustment") || !strings.Contains(next, "cursor=") {
		t.Fatalf("next-page = %q, want the wallet with the filter and a cursor", next)
	}
	p = br.get(next)
	if got := p.find("entry-row").Length(); got != n+1-historyPageSize {
		t.Errorf("second page rows = %d, want %d", got, n+1-historyPageSize)
	}
	collect(p)
	if p.find("next-page").Length() != 0 {
		t.Errorf("the last page has a next-page link")
	}
	if got := p.find("first-page").AttrOr("href", ""); got != br.base+"/wallet?kind=adjustment" {
		t.Errorf("first-page = %q", got)
	}
	if len(seen) != n+1 {
		t.Errorf("entries seen = %d, want %d", len(seen), n+1)
	}
	if rows := rows(p); rows[len(rows)-1] != "Adjusted by staff: Gift +1" {
		t.Errorf("oldest entry = %q, want the first gift last", rows[len(rows)-1])
	}

	p = br.get("/wallet?cursor=not-a-cursor")
	if p.Code != http.StatusUnprocessableEntity || p.text("form-error") == "" || p.find("first-page").Length() != 1 {
		t.Errorf("bad cursor = %d, form-error %q; want 422, a message and a link to the first page", p.Code, p.text("form-error"))
	}
}

func TestWeb_WalletNotices(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tn := b.createTenant(t, tenants.CreateParams{})
	br, me := b.member(t, tn, false, "ada@example.com")
	ctx := staff(t, tn)

	// An award spent before it is taken back leaves a debt.
	gift := b.adjust(t, tn, me, 50, "Contest prize")
	book := b.reward(t, tn, rewards.RewardParams{Name: "E-book", Price: 40})
	if _, _, err := b.rewards.Redeem(ctx, rewards.RedeemParams{Reward: book.ID, Member: me, IdempotencyKey: key()}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.ledger.Reverse(ctx, ledger.ReverseParams{TransactionID: gift.ID, Reason: "Contest was void", Policy: ledger.CarryDebt, IdempotencyKey: key()}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.ledger.SetFrozen(ctx, me, true, "Under review"); err != nil {
		t.Fatal(err)
	}
	p := br.get("/wallet")
	if got := p.text("wallet-balance"); got != "0" {
		t.Errorf("wallet-balance = %q, want 0", got)
	}
	if got := p.text("wallet-debt"); !strings.Contains(got, "40 coins") {
		t.Errorf("wallet-debt = %q, want it to say 40 coins", got)
	}
	if p.text("wallet-frozen") == "" {
		t.Errorf("no frozen notice")
	}
	if got := rows(p); len(got) == 0 || got[0] != "Reversed -10" {
		t.Errorf("history = %q, want the reversal first", got)
	}
}

func TestWeb_WalletExpiring(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tn := b.createTenant(t, tenants.CreateParams{})
	br, me := b.member(t, tn, true, "ada@example.com")
	b.adjust(t, tn, me, 100, "Gift")
	if p := br.get("/wallet"); p.find("expiring").Length() != 0 {
		t.Errorf("expiring list shown while coins never expire")
	}

	settings := rules.DefaultSettings
	settings.ExpiryDays = ptr(30)
	if _, err := rules.NewService(db.New(dbtest.Pool(t)), nil, nil).SetSettings(staff(t, tn), settings); err != nil {
		t.Fatalf("SetSettings() = %v", err)
	}
	page, err := b.ledger.History(staff(t, tn), ledger.HistoryParams{Member: me})
	if err != nil || len(page.Entries) != 1 {
		t.Fatalf("History() = %v, %v", page, err)
	}
	berlin, _ := time.LoadLocation("Europe/Berlin")
	wantDate := page.Entries[0].CreatedAt.Add(30 * 24 * time.Hour).In(berlin).Format(dayLayout)

	p := br.get("/wallet")
	var got []string
	p.find("expiring-item").Each(func(_ int, s *goquery.Selection) {
		got = append(got, text(s.Find(testID("expiring-amount")))+" on "+text(s.Find(testID("expiring-date"))))
	})
	if diff := cmp.Diff([]string{"100 coins on " + wantDate}, got); diff != "" {
		t.Errorf("expiring (-want +got):\n%s", diff)
	}
}

func TestExpiringDays(t *testing.T) {
	t.Parallel()
	day := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	var list []ledger.Expiry
	for i := range maxExpiringDays + 2 {
		list = append(list, ledger.Expiry{At: day.AddDate(0, 0, i), Amount: 1}, ledger.Expiry{At: day.AddDate(0, 0, i).Add(time.Hour), Amount: 2})
	}
	days, later := expiringDays(list, time.UTC)
	if len(days) != maxExpiringDays || days[0].Amount != 3 || days[0].Date != "1 Mar 2025" || later != 6 {
		t.Errorf("expiringDays() = %+v, later %d; want %d days of 3 from 1 Mar 2025 and 6 later", days, later, maxExpiringDays)
	}
}

func TestFormatting(t *testing.T) {
	t.Parallel()
	tests := []struct {
		n            int64
		count, moved string
	}{
		{0, "0 coins", "0"},
		{1, "1 coin", "+1"},
		{-1, "-1 coin", "-1"},
		{999, "999 coins", "+999"},
		{1000, "1,000 coins", "+1,000"},
		{-1234567, "-1,234,567 coins", "-1,234,567"},
	}
	for _, tt := range tests {
		if got := coinCount(tt.n); got != tt.count {
			t.Errorf("coinCount(%d) = %q, want %q", tt.n, got, tt.count)
		}
		if got := signed(tt.n); got != tt.moved {
			t.Errorf("signed(%d) = %q, want %q", tt.n, got, tt.moved)
		}
	}
	images := map[string]string{
		"https://cdn.example.com/a.png": "https://cdn.example.com/a.png",
		"HTTPS://cdn.example.com/a.png": "HTTPS://cdn.example.com/a.png",
		"http://cdn.example.com/a.png":  "",
		"javascript:alert(1)":           "",
		`https://x.example/"onerror=1`:  "",
		"":                              "",
	}
	for in, want := range images {
		if got := httpsImage(in); got != want {
			t.Errorf("httpsImage(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestWeb_Catalog(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tn := b.createTenant(t, tenants.CreateParams{})
	br, me := b.member(t, tn, false, "ada@example.com")
	b.adjust(t, tn, me, 100, "Gift")
	ctx := staff(t, tn)

	book := b.reward(t, tn, rewards.RewardParams{Name: "E-book", Description: "A good read.", Price: 10, ImageURL: "https://cdn.example.com/book.png"})
	shirt := b.reward(t, tn, rewards.RewardParams{Name: "T-shirt", Kind: rewards.KindPhysical, Price: 30, Stock: ptr(5), PerMemberLimit: ptr(2)})
	gone := b.reward(t, tn, rewards.RewardParams{Name: "Sold out", Price: 5, Stock: ptr(0)})
	car := b.reward(t, tn, rewards.RewardParams{Name: "Car", Price: 1000})
	once := b.reward(t, tn, rewards.RewardParams{Name: "Once", Price: 10, PerMemberLimit: ptr(1)})
	hidden := b.reward(t, tn, rewards.RewardParams{Name: "Hidden", Price: 1, Active: ptr(false)})
	const evilName, evilDesc = `<script>alert("name")</script>`, `<img src=x onerror=alert(1)>`
	evil := b.reward(t, tn, rewards.RewardParams{Name: evilName, Description: evilDesc, Price: 1})
	if _, _, err := b.rewards.Redeem(ctx, rewards.RedeemParams{Reward: once.ID, Member: me, IdempotencyKey: key()}); err != nil {
		t.Fatal(err)
	}

	p := br.get("/rewards")
	if p.Code != http.StatusOK {
		t.Fatalf("GET /rewards = %d", p.Code)
	}
	if got := p.text("catalog-balance"); got != "90 coins" {
		t.Errorf("catalog-balance = %q", got)
	}
	tests := []struct {
		reward             rewards.Reward
		price, stock, mine string
		redeemable         bool
		reason             string
	}{
		{book, "10 coins", "Unlimited", "", true, ""},
		{shirt, "30 coins", "5 left", "2 more", true, ""},
		{gone, "5 coins", "0 left", "", false, "Out of stock"},
		{car, "1,000 coins", "Unlimited", "", false, "You need 910 coins more"},
		{once, "10 coins", "Unlimited", "0 more", false, "You have redeemed this as many times as allowed"},
		{evil, "1 coin", "Unlimited", "", true, ""},
	}
	for _, tt := range tests {
		c := p.find("reward-" + tt.reward.ID.String())
		if c.Length() != 1 {
			t.Errorf("%s: no card", tt.reward.Name)
			continue
		}
		if got := text(c.Find(testID("reward-name"))); got != tt.reward.Name {
			t.Errorf("%s: name = %q", tt.reward.Name, got)
		}
		if got := text(c.Find(testID("reward-price"))); got != tt.price {
			t.Errorf("%s: price = %q, want %q", tt.reward.Name, got, tt.price)
		}
		if got := strings.Join(strings.Fields(text(c.Find(testID("reward-stock")))), " "); got != tt.stock {
			t.Errorf("%s: stock = %q, want %q", tt.reward.Name, got, tt.stock)
		}
		if got := text(c.Find(testID("reward-my-remaining"))); got != tt.mine {
			t.Errorf("%s: my remaining = %q, want %q", tt.reward.Name, got, tt.mine)
		}
		link := c.Find(testID("redeem-link"))
		if tt.redeemable {
			if link.AttrOr("href", "") != br.base+"/rewards/"+tt.reward.ID.String() || c.Find(testID("redeem-disabled")).Length() != 0 {
				t.Errorf("%s: redeem link = %q, want the reward's page", tt.reward.Name, link.AttrOr("href", ""))
			}
		} else {
			btn := c.Find(testID("redeem-disabled"))
			if link.Length() != 0 || btn.Length() != 1 || btn.AttrOr("disabled", "no") == "no" {
				t.Errorf("%s: want a disabled button and no link", tt.reward.Name)
			}
			if got := text(c.Find(testID("redeem-reason"))); got != tt.reason {
				t.Errorf("%s: reason = %q, want %q", tt.reward.Name, got, tt.reason)
			}
		}
	}
	if p.find("reward-"+hidden.ID.String()).Length() != 0 {
		t.Errorf("an inactive reward is listed")
	}
	if got := p.find("reward-"+book.ID.String()).Find(testID("reward-image")).AttrOr("src", ""); got != "https://cdn.example.com/book.png" {
		t.Errorf("image src = %q", got)
	}
	if got := text(p.find("reward-" + book.ID.String()).Find(testID("reward-description"))); got != "A good read." {
		t.Errorf("description = %q", got)
	}

	// Names and descriptions are text, never markup, on every page.
	p2 := br.get("/rewards/" + evil.ID.String())
	for _, page := range []resp{p, p2} {
		if strings.Contains(page.Body, evilName) || strings.Contains(page.Body, evilDesc) {
			t.Errorf("%s renders the reward's text unescaped", page.URL)
		}
		if page.Doc.Find("script:not([src])").Length() != 0 || page.Doc.Find("img[onerror]").Length() != 0 {
			t.Errorf("%s has markup from the reward's text", page.URL)
		}
	}
	if got := p2.text("reward-description"); got != evilDesc {
		t.Errorf("description = %q, want it as text", got)
	}
	if got := p2.Doc.Find("title").Text(); !strings.HasPrefix(got, evilName) {
		t.Errorf("title = %q, want it to start with the name as text", got)
	}
}

func TestWeb_CatalogPaging(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tn := b.createTenant(t, tenants.CreateParams{})
	br, _ := b.member(t, tn, false, "ada@example.com")
	for range catalogPageSize + 1 {
		b.reward(t, tn, rewards.RewardParams{Name: "Sticker " + key()[:8], Price: 1})
	}
	p := br.get("/rewards")
	if got := p.Doc.Find(".reward-card").Length(); got != catalogPageSize {
		t.Errorf("first page cards = %d, want %d", got, catalogPageSize)
	}
	p = br.get(p.find("next-page").AttrOr("href", ""))
	if got := p.Doc.Find(".reward-card").Length(); got != 1 || p.find("next-page").Length() != 0 {
		t.Errorf("second page cards = %d, want 1 and no next page", got)
	}
	if p := br.get("/rewards?cursor=bogus"); p.Code != http.StatusBadRequest || p.find("stale-page").Length() != 1 {
		t.Errorf("bad cursor = %d, want 400 with the stale-page message", p.Code)
	}
}

func TestWeb_RedeemDigital(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, base := range bases {
		t.Run(base.name, func(t *testing.T) {
			t.Parallel()
			tn := b.createTenant(t, tenants.CreateParams{})
			br, me := b.member(t, tn, base.ownHost, "ada@example.com")
			b.adjust(t, tn, me, 50, "Gift")
			book := b.reward(t, tn, rewards.RewardParams{Name: "E-book", Price: 10})

			p := br.follow(br.get("/rewards"))
			p = br.get(p.find("reward-"+book.ID.String()).Find(testID("redeem-link")).AttrOr("href", ""))
			if p.Code != http.StatusOK {
				t.Fatalf("reward page = %d", p.Code)
			}
			f := p.find("redeem-form")
			if got := f.AttrOr("action", ""); got != br.base+"/rewards/"+book.ID.String()+"/redeem" {
				t.Errorf("form action = %q", got)
			}
			if p.find("shipping-address").Length() != 0 {
				t.Errorf("a digital reward asks for an address")
			}
			k := p.find("idempotency-key").AttrOr("value", "")
			if _, err := uuid.Parse(k); err != nil {
				t.Errorf("idempotency key = %q, want a UUID", k)
			}
			if other := br.get("/rewards/"+book.ID.String()).find("idempotency-key").AttrOr("value", ""); other == k {
				t.Errorf("two renders of the form carry the same key")
			}

			res := br.post(f.AttrOr("action", ""), formValues(f))
			orders := b.orders(t, tn, me)
			if len(orders) != 1 {
				t.Fatalf("orders = %d, want 1", len(orders))
			}
			if want := br.base + "/orders/" + orders[0].ID.String() + "?notice=redeemed"; res.Code != http.StatusSeeOther || res.Location() != want {
				t.Fatalf("redeem = %d to %q, want 303 to %q", res.Code, res.Location(), want)
			}
			p = br.follow(res)
			if p.text("notice") != notices["redeemed"] {
				t.Errorf("notice = %q", p.text("notice"))
			}
			if got := p.text("order-reward"); got != "E-book" {
				t.Errorf("order-reward = %q", got)
			}
			if got := p.text("order-status"); got != "Fulfilled" {
				t.Errorf("order-status = %q", got)
			}
			if got := p.text("order-coins"); got != "10 coins" {
				t.Errorf("order-coins = %q", got)
			}
			if got := p.text("header-balance"); got != "40 coins" {
				t.Errorf("header-balance = %q, want 40 coins", got)
			}
			if got := b.balance(t, tn, me); got != 40 {
				t.Errorf("balance = %d, want 40", got)
			}
			if got := rows(br.get("/wallet")); len(got) != 2 || got[0] != "Redeemed: E-book -10" {
				t.Errorf("history = %q", got)
			}
		})
	}
}

// TestWeb_RedeemDoubleSubmit sends one rendered form twice, one after the
// other and at once: one order, one debit.
func TestWeb_RedeemDoubleSubmit(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tn := b.createTenant(t, tenants.CreateParams{})
	br, me := b.member(t, tn, false, "ada@example.com")
	b.adjust(t, tn, me, 100, "Gift")
	shirt := b.reward(t, tn, rewards.RewardParams{Name: "T-shirt", Kind: rewards.KindPhysical, Price: 30, Stock: ptr(10)})
	address := url.Values{"name": {"Ada"}, "line1": {"1 Main Street"}, "city": {"Berlin"}, "postal_code": {"10115"}, "country": {"de"}}

	form := func() (string, url.Values) {
		f := br.get("/rewards/" + shirt.ID.String()).find("redeem-form")
		v := formValues(f)
		for k, vs := range address {
			v[k] = vs
		}
		return f.AttrOr("action", ""), v
	}

	t.Run("OneAfterTheOther", func(t *testing.T) {
		action, v := form()
		first, second := br.post(action, v), br.post(action, v)
		if first.Code != http.StatusSeeOther || second.Code != http.StatusSeeOther || first.Location() != second.Location() {
			t.Errorf("submits = %d to %q and %d to %q, want both 303 to the same order", first.Code, first.Location(), second.Code, second.Location())
		}
		if got := len(b.orders(t, tn, me)); got != 1 {
			t.Errorf("orders = %d, want 1", got)
		}
		if got := b.balance(t, tn, me); got != 70 {
			t.Errorf("balance = %d, want 70", got)
		}
	})

	t.Run("AtOnce", func(t *testing.T) {
		action, v := form()
		const n = 3
		var wg sync.WaitGroup
		codes := make([]int, n)
		locations := make([]string, n)
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, br.root+strings.TrimPrefix(action, br.base), strings.NewReader(v.Encode()))
				if err != nil {
					errs[i] = err
					return
				}
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				res, err := br.c.Do(req)
				if err != nil {
					errs[i] = err
					return
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				codes[i], locations[i] = res.StatusCode, res.Header.Get("Location")
			})
		}
		wg.Wait()
		for i := range n {
			if errs[i] != nil || codes[i] != http.StatusSeeOther || locations[i] != locations[0] {
				t.Errorf("submit %d = %d to %q (%v), want 303 to %q", i, codes[i], locations[i], errs[i], locations[0])
			}
		}
		if got := len(b.orders(t, tn, me)); got != 2 {
			t.Errorf("orders = %d, want 2", got)
		}
		if got := b.balance(t, tn, me); got != 40 {
			t.Errorf("balance = %d, want 40", got)
		}
	})

	t.Run("SameFormOtherAddress", func(t *testing.T) {
		action, v := form()
		br.submit(action, v)
		v.Set("city", "Hamburg")
		p := br.post(action, v)
		if p.Code != http.StatusUnprocessableEntity || !strings.Contains(p.text("form-error"), "already used") {
			t.Errorf("reused form = %d %q, want 422 saying the form was used", p.Code, p.text("form-error"))
		}
		if got := len(b.orders(t, tn, me)); got != 3 {
			t.Errorf("orders = %d, want 3", got)
		}
		if k := p.find("idempotency-key").AttrOr("value", ""); k == v.Get("idempotency_key") {
			t.Errorf("the form came back with the used key")
		}
	})
}

func TestWeb_RedeemPhysical(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tn := b.createTenant(t, tenants.CreateParams{})
	br, me := b.member(t, tn, false, "ada@example.com")
	b.adjust(t, tn, me, 100, "Gift")
	shirt := b.reward(t, tn, rewards.RewardParams{Name: "T-shirt", Kind: rewards.KindPhysical, Price: 30, Stock: ptr(3)})

	p := br.get("/rewards/" + shirt.ID.String())
	f := p.find("redeem-form")
	for _, name := range addressInputs {
		if f.Find("input#"+name+"[name="+name+"]").Length() != 1 {
			t.Errorf("no address input %s", name)
		}
	}
	action, v := f.AttrOr("action", ""), formValues(f)

	p = br.post(action, v)
	if p.Code != http.StatusUnprocessableEntity {
		t.Fatalf("blank address = %d, want 422", p.Code)
	}
	for _, id := range []string{"error-name", "error-line1", "error-city", "error-postal_code", "error-country"} {
		if p.text(id) == "" {
			t.Errorf("blank address shows no %s", id)
		}
	}
	if p.text("error-line2") != "" {
		t.Errorf("the optional second line is required")
	}
	if got := p.find("idempotency-key").AttrOr("value", ""); got != v.Get("idempotency_key") {
		t.Errorf("the form came back with key %q, want the same %q", got, v.Get("idempotency_key"))
	}

	v.Set("name", strings.Repeat("x", 101))
	v.Set("line1", "1 Main Street")
	v.Set("city", "Berlin")
	v.Set("postal_code", "10115")
	v.Set("country", "Germany")
	p = br.post(action, v)
	if p.Code != http.StatusUnprocessableEntity || p.text("error-country") == "" {
		t.Errorf("bad country = %d, error-country %q", p.Code, p.text("error-country"))
	}
	if got := p.find("redeem-form").Find("input#city").AttrOr("value", ""); got != "Berlin" {
		t.Errorf("city shown again = %q", got)
	}

	v.Set("country", "de")
	p = br.post(action, v)
	if p.Code != http.StatusUnprocessableEntity || !strings.Contains(p.text("error-name"), "100 characters") {
		t.Errorf("long name = %d, error-name %q; want the service's problem beside the input", p.Code, p.text("error-name"))
	}
	if got := len(b.orders(t, tn, me)); got != 0 || b.balance(t, tn, me) != 100 {
		t.Fatalf("invalid addresses placed %d orders", got)
	}

	v.Set("name", "Ada Lovelace")
	v.Set("line2", "3rd floor")
	p = br.submit(action, v)
	if got := p.text("order-status"); got != "Pending" {
		t.Errorf("order-status = %q, want Pending", got)
	}
	var lines []string
	p.find("order-address").Children().Each(func(_ int, s *goquery.Selection) { lines = append(lines, text(s)) })
	if got := strings.Join(lines, ", "); got != "Ada Lovelace, 1 Main Street, 3rd floor, 10115 Berlin, DE" {
		t.Errorf("order-address = %q", got)
	}
	orders := b.orders(t, tn, me)
	if len(orders) != 1 || orders[0].ShippingAddress == nil || orders[0].ShippingAddress.Country != "DE" || orders[0].Status != rewards.StatusPending {
		t.Errorf("orders = %+v, want one pending with the address", orders)
	}
	if got := b.balance(t, tn, me); got != 70 {
		t.Errorf("balance = %d, want 70", got)
	}
}

func TestWeb_RedeemRefused(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tn := b.createTenant(t, tenants.CreateParams{})
	ctx := staff(t, tn)
	br, me := b.member(t, tn, false, "ada@example.com")
	_, other := b.member(t, tn, false, "bob@example.com")
	b.adjust(t, tn, me, 25, "Gift")
	b.adjust(t, tn, other, 100, "Gift")

	expensive := b.reward(t, tn, rewards.RewardParams{Name: "Expensive", Price: 40})
	last := b.reward(t, tn, rewards.RewardParams{Name: "Last one", Price: 5, Stock: ptr(1)})
	once := b.reward(t, tn, rewards.RewardParams{Name: "Once", Price: 5, PerMemberLimit: ptr(1)})
	cheap := b.reward(t, tn, rewards.RewardParams{Name: "Cheap", Price: 1})

	// form renders the reward's form while it can still be redeemed.
	form := func(r rewards.Reward) (string, url.Values) {
		p := br.get("/rewards/" + r.ID.String())
		return p.find("redeem-form").AttrOr("action", ""), formValues(p.find("redeem-form"))
	}
	refused := func(name, action string, v url.Values, wantError string, wantOrders int) {
		t.Helper()
		before := b.balance(t, tn, me)
		p := br.post(action, v)
		if p.Code != http.StatusUnprocessableEntity || !strings.Contains(p.text("form-error"), wantError) {
			t.Errorf("%s: redeem = %d %q, want 422 saying %q", name, p.Code, p.text("form-error"), wantError)
		}
		if p.find("redeem-form").Length() != 1 {
			t.Errorf("%s: the page has no form", name)
		}
		if got := b.balance(t, tn, me); got != before {
			t.Errorf("%s: balance = %d, want %d", name, got, before)
		}
		if got := len(b.orders(t, tn, me)); got != wantOrders {
			t.Errorf("%s: orders = %d, want %d", name, got, wantOrders)
		}
	}

	// The page says why before the member tries, and the post says it
	// again if they do.
	p := br.get("/rewards/" + expensive.ID.String())
	if p.text("redeem-reason") == "" || p.find("redeem-button").AttrOr("disabled", "no") == "no" {
		t.Errorf("an unaffordable reward's page has no reason or an enabled button")
	}
	action, v := form(expensive)
	refused("Insufficient", action, v, "don't have enough coins", 0)
	if got := br.get("/wallet").text("wallet-balance"); got != "25" {
		t.Errorf("wallet-balance = %q after a refused redemption", got)
	}

	action, v = form(last)
	if _, _, err := b.rewards.Redeem(ctx, rewards.RedeemParams{Reward: last.ID, Member: other, IdempotencyKey: key()}); err != nil {
		t.Fatal(err)
	}
	refused("OutOfStock", action, v, rewards.ErrOutOfStock.Message, 0)

	action, v = form(once)
	br.submit(action, v)
	action, v = form(once)
	refused("LimitReached", action, v, rewards.ErrLimitReached.Message, 1)

	action, v = form(cheap)
	v.Del("idempotency_key")
	refused("NoKey", action, v, "expired", 1)

	action, v = form(cheap)
	if _, err := b.ledger.SetFrozen(ctx, me, true, "Under review"); err != nil {
		t.Fatal(err)
	}
	refused("Frozen", action, v, "frozen", 1)

	action, v = form(cheap)
	if _, err := b.rewards.DeactivateReward(ctx, cheap.ID); err != nil {
		t.Fatal(err)
	}
	if p := br.post(action, v); p.Code != http.StatusNotFound {
		t.Errorf("redeem a reward taken out of the catalog = %d, want 404", p.Code)
	}
}

func TestWeb_Orders(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tn := b.createTenant(t, tenants.CreateParams{})
	ctx := staff(t, tn)
	br, me := b.member(t, tn, true, "ada@example.com")
	bob, other := b.member(t, tn, true, "bob@example.com")
	b.adjust(t, tn, me, 100, "Gift")
	b.adjust(t, tn, other, 100, "Gift")

	if p := br.get("/orders"); p.Code != http.StatusOK || p.text("no-orders") == "" {
		t.Errorf("no orders = %d, no-orders %q", p.Code, p.text("no-orders"))
	}
	coupon := b.reward(t, tn, rewards.RewardParams{Name: "Coffee voucher", Kind: rewards.KindCoupon, Price: 15})
	if _, err := b.rewards.UploadCodes(ctx, coupon.ID, []string{"COFFEE-123"}); err != nil {
		t.Fatal(err)
	}
	shirt := b.reward(t, tn, rewards.RewardParams{Name: "T-shirt", Kind: rewards.KindPhysical, Price: 30})
	p := br.get("/rewards/" + coupon.ID.String())
	p = br.submit(p.find("redeem-form").AttrOr("action", ""), formValues(p.find("redeem-form")))
	if got := p.text("order-code"); got != "COFFEE-123" {
		t.Errorf("order-code = %q, want the coupon code", got)
	}
	mine, _, err := b.rewards.Redeem(ctx, rewards.RedeemParams{Reward: shirt.ID, Member: me, ShippingAddress: shipTo, IdempotencyKey: key()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.rewards.Reject(ctx, rewards.RefundParams{Order: mine.ID, Reason: "Cannot ship there", IdempotencyKey: key()}); err != nil {
		t.Fatal(err)
	}
	bobs, _, err := b.rewards.Redeem(ctx, rewards.RedeemParams{Reward: shirt.ID, Member: other, ShippingAddress: shipTo, IdempotencyKey: key()})
	if err != nil {
		t.Fatal(err)
	}

	p = br.get("/orders")
	var got []string
	p.find("order-row").Each(func(_ int, s *goquery.Selection) {
		got = append(got, strings.Join([]string{text(s.Find(testID("order-reward"))), text(s.Find(testID("order-code"))),
			text(s.Find(testID("order-coins"))), text(s.Find(testID("order-status")))}, "|"))
	})
	want := []string{"T-shirt||30|Rejected", "Coffee voucher|COFFEE-123|15|Fulfilled"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("orders (-want +got):\n%s", diff)
	}
	href := p.find("order-reward").First().AttrOr("href", "")
	if href != "/orders/"+mine.ID.String() {
		t.Errorf("order link = %q", href)
	}
	p = br.get(href)
	if p.text("order-status") != "Rejected" || !strings.Contains(p.text("order-explain"), "went back") || p.text("order-note") == "" {
		t.Errorf("rejected order page: status %q, explain %q, note %q", p.text("order-status"), p.text("order-explain"), p.text("order-note"))
	}
	if strings.Contains(p.Body, "staff-") {
		t.Errorf("the order page shows who handled it")
	}
	if got := rows(br.get("/wallet"))[0]; got != "Refund +30" {
		t.Errorf("latest wallet entry = %q, want the refund", got)
	}

	for _, path := range []string{"/orders/" + bobs.ID.String(), "/orders/" + uuid.NewString(), "/orders/nope"} {
		if p := br.get(path); p.Code != http.StatusNotFound || p.find("not-found").Length() != 1 {
			t.Errorf("GET %s = %d, want the 404 page", path, p.Code)
		}
	}
	if p := bob.get("/orders/" + bobs.ID.String()); p.Code != http.StatusOK {
		t.Errorf("Bob's own order = %d", p.Code)
	}
}

func TestWeb_CoinPagesSignedOut(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tn := b.createTenant(t, tenants.CreateParams{})
	book := b.reward(t, tn, rewards.RewardParams{Name: "E-book", Price: 1})
	for _, base := range bases {
		br := b.browser(t, tn, base.ownHost)
		tests := []struct{ method, path, next string }{
			{http.MethodGet, "/wallet?kind=award", "/wallet?kind=award"},
			{http.MethodGet, "/rewards", "/rewards"},
			{http.MethodGet, "/rewards/" + book.ID.String(), "/rewards/" + book.ID.String()},
			{http.MethodPost, "/rewards/" + book.ID.String() + "/redeem", "/rewards/" + book.ID.String()},
			{http.MethodGet, "/orders", "/orders"},
			{http.MethodGet, "/orders/" + book.ID.String(), "/orders/" + book.ID.String()},
		}
		for _, tt := range tests {
			p := br.do(tt.method, tt.path, url.Values{"idempotency_key": {key()}}, nil)
			want := br.base + "/sign-in?next=" + url.QueryEscape(tt.next)
			if p.Code != http.StatusSeeOther || p.Location() != want {
				t.Errorf("%s: %s %s = %d to %q, want 303 to %q", base.name, tt.method, tt.path, p.Code, p.Location(), want)
			}
		}
		p := br.get("/")
		if p.find("header-balance").Length() != 0 || strings.Contains(text(p.find("app-nav")), "Wallet") {
			t.Errorf("%s: signed-out header shows coin links", base.name)
		}
	}

	// Signing in from there comes back to the page.
	b.account(t, tn, "ada@example.com", "Ada")
	br := b.browser(t, tn, false)
	p := br.follow(br.get("/wallet?kind=award"))
	p = br.post("/sign-in", url.Values{"email": {"ada@example.com"}, "password": {testPassword}, "next": {p.find("sign-in-form").Find("input[name=next]").AttrOr("value", "")}})
	if want := br.base + "/wallet?kind=award"; p.Location() != want {
		t.Errorf("sign-in goes to %q, want %q", p.Location(), want)
	}
}

func TestWeb_CoinPagesOtherTenant(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tnA := b.createTenant(t, tenants.CreateParams{})
	tnB := b.createTenant(t, tenants.CreateParams{})
	br, me := b.member(t, tnA, false, "ada@example.com")
	b.adjust(t, tnA, me, 100, "Gift")
	_, bob := b.member(t, tnB, false, "bob@example.com")
	b.adjust(t, tnB, bob, 100, "Gift")
	theirs := b.reward(t, tnB, rewards.RewardParams{Name: "Their reward", Price: 1})
	order, _, err := b.rewards.Redeem(staff(t, tnB), rewards.RedeemParams{Reward: theirs.ID, Member: bob, IdempotencyKey: key()})
	if err != nil {
		t.Fatal(err)
	}

	for _, p := range []resp{
		br.get("/rewards/" + theirs.ID.String()),
		br.post("/rewards/"+theirs.ID.String()+"/redeem", url.Values{"idempotency_key": {key()}}),
		br.get("/orders/" + order.ID.String()),
	} {
		if p.Code != http.StatusNotFound || p.find("not-found").Length() != 1 {
			t.Errorf("%s = %d, want the 404 page", p.URL, p.Code)
		}
	}
	if p := br.get("/rewards"); strings.Contains(p.Body, "Their reward") {
		t.Errorf("tenant B's reward is in tenant A's catalog")
	}
	if got := b.balance(t, tnA, me); got != 100 || len(b.orders(t, tnA, me)) != 0 {
		t.Errorf("balance = %d, want 100 and no orders", got)
	}
	// Ada's session is tenant A's: on tenant B she is signed out.
	if p := br.get("/t/" + tnB.Slug + "/wallet"); p.Code != http.StatusSeeOther {
		t.Errorf("tenant B's wallet with tenant A's cookie = %d, want 303 to sign in", p.Code)
	}
}

func TestNew_CoinDeps(t *testing.T) {
	t.Parallel()
	b := setup(t)
	reg := plugin.NewRegistry()
	dir := tenants.NewDirectory(b.svc, discard)

	without := New(Deps{Plugins: reg, Enablement: dir, Identity: b.identity, Limiter: ratelimit.New(nil), Log: discard})
	tn := b.createTenant(t, tenants.CreateParams{})
	r := httptest.NewRequestWithContext(tenants.WithContext(t.Context(), tn, ""), http.MethodGet, "/wallet", nil)
	w := httptest.NewRecorder()
	without.ServeHTTP(w, r)
	if w.Code != http.StatusNotFound {
		t.Errorf("GET /wallet without coin services = %d, want 404", w.Code)
	}

	defer func() {
		if recover() == nil {
			t.Errorf("New() with Ledger but no Rewards did not panic")
		}
	}()
	New(Deps{Plugins: reg, Enablement: dir, Identity: b.identity, Ledger: b.ledger})
}
