package console

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/guildhall/guildhall/engine/authz"
	"github.com/guildhall/guildhall/engine/jobs"
	"github.com/guildhall/guildhall/engine/ledger"
	"github.com/guildhall/guildhall/engine/rewards"
	"github.com/guildhall/guildhall/engine/rules"
)

// submitted is what a browser would submit from form as it is shown:
// inputs, ticked checkboxes, textareas and selected options.
func submitted(form *goquery.Selection) url.Values {
	out := url.Values{}
	form.Find("input[name]").Each(func(_ int, s *goquery.Selection) {
		if t := s.AttrOr("type", "text"); t == "checkbox" || t == "radio" {
			if _, on := s.Attr("checked"); !on {
				return
			}
		}
		out.Add(s.AttrOr("name", ""), s.AttrOr("value", ""))
	})
	form.Find("textarea[name]").Each(func(_ int, s *goquery.Selection) { out.Add(s.AttrOr("name", ""), s.Text()) })
	form.Find("select[name]").Each(func(_ int, s *goquery.Selection) {
		opt := s.Find("option[selected]")
		if opt.Length() == 0 {
			opt = s.Find("option").First()
		}
		out.Add(s.AttrOr("name", ""), opt.AttrOr("value", ""))
	})
	return out
}

// fieldErrors lists the data-testids of the inline problems in d.
func fieldErrors(d *goquery.Document) []string {
	var got []string
	d.Find(`[data-testid^="error-"]`).Each(func(_ int, s *goquery.Selection) {
		if id := s.AttrOr("data-testid", ""); id != "error-page" && id != "error-message" {
			got = append(got, id)
		}
	})
	return got
}

// grant gives a member coins, as the tenant's owner.
func (b *testBundle) grant(t *testing.T, tn *tenant, member uuid.UUID, coins int64) {
	t.Helper()
	if _, err := b.ledger.Adjust(tn.owner.ctx, ledger.AdjustParams{Member: member, Amount: coins, Reason: "test grant", IdempotencyKey: uuid.NewString()}); err != nil {
		t.Fatalf("Adjust(+%d) = %v", coins, err)
	}
}

// balance is a member's balance.
func (b *testBundle) balance(t *testing.T, tn *tenant, member uuid.UUID) ledger.Wallet {
	t.Helper()
	w, err := b.ledger.Wallet(tn.ctx, member)
	if err != nil {
		t.Fatalf("Wallet() = %v", err)
	}
	return w
}

// rule reads an event type's rule.
func (b *testBundle) rule(t *testing.T, tn *tenant, eventType string) rules.Rule {
	t.Helper()
	r, err := b.rules.Rule(tn.ctx, eventType)
	if err != nil {
		t.Fatalf("Rule(%s) = %v", eventType, err)
	}
	return r
}

// today is the tenant-local date (the test tenants live in Berlin).
func today(t *testing.T) string {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	return time.Now().In(loc).Format(time.DateOnly)
}

func TestRules_Edit(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tn := b.newTenant(t)
	admin := b.member(t, tn, tn.email("admin"), authz.RoleAdmin)
	br := b.browser(t)
	br.signIn(t, tn.base, admin.Email)
	list := tn.base + "/console/rules"
	page := list + "/post.created"

	d := doc(t, br.get(t, list))
	row := d.Find(testID("rule-row-post.created"))
	if got := [3]string{text(row.Find(testID("rule-coins"))), text(row.Find(testID("rule-enabled"))), text(row.Find(testID("rule-source")))}; got != [3]string{"10", "enabled", "plugin default"} {
		t.Errorf("post.created row = %v", got)
	}
	if href := row.Find(testID("rule-link")).AttrOr("href", ""); href != page {
		t.Errorf("rule-link = %q, want %q", href, page)
	}
	if d.Find(testID("rule-row-debt.settled")).Length() != 0 {
		t.Errorf("a plugin the tenant did not enable has a rule")
	}

	d = doc(t, br.get(t, page))
	form := submitted(d.Find(testID("rule-form")))
	if form.Get("coins") != "10" || form.Get("enabled") != "on" || form.Get("reversal") != ledger.ReverseRemaining {
		t.Errorf("rule form = %v", form)
	}
	if d.Find(testID("delete-rule-form")).Length() != 0 {
		t.Errorf("an unedited default offers to be reverted")
	}

	t.Run("BadCondition", func(t *testing.T) {
		bad := url.Values{}
		for k, v := range form {
			bad[k] = v
		}
		bad.Set("coins", "25")
		bad.Set("condition", "attributes.total >")
		for _, header := range []http.Header{nil, htmx} {
			w := br.do(t, http.MethodPost, page, bad, header)
			if w.Code != http.StatusUnprocessableEntity {
				t.Fatalf("bad condition = %d, want 422; body:\n%s", w.Code, w.Body.String())
			}
			d := doc(t, w)
			if got := text(d.Find(testID("error-condition"))); !strings.HasPrefix(got, "Condition: does not work:") {
				t.Errorf("error-condition = %q", got)
			}
			if d.Find("#condition").AttrOr("aria-invalid", "") != "true" || d.Find("#condition").Text() != "attributes.total >" {
				t.Errorf("#condition is not marked or lost what was typed")
			}
			if got := d.Find("#coins").AttrOr("value", ""); got != "25" {
				t.Errorf("#coins = %q, want what was typed", got)
			}
			if full := strings.Contains(w.Body.String(), "<html"); full != (header == nil) {
				t.Errorf("full page = %v, want %v", full, header == nil)
			}
		}
		if r := b.rule(t, tn, "post.created"); r.Coins != 10 || !r.Default || r.Condition != "" {
			t.Errorf("rule after a refused edit = %+v, want the default", r)
		}
	})

	t.Run("NotANumber", func(t *testing.T) {
		bad := url.Values{}
		for k, v := range form {
			bad[k] = v
		}
		bad.Set("coins", "1.5")
		bad.Set("cap_day", "lots")
		bad.Set("cap_week", "-5") // the service's problem, reported with the others
		d := doc(t, br.post(t, page, bad))
		if diff := cmp.Diff([]string{"error-coins", "error-cap_day", "error-cap_week"}, fieldErrors(d)); diff != "" {
			t.Errorf("field errors (-want +got):\n%s", diff)
		}
	})

	t.Run("Saves", func(t *testing.T) {
		good := url.Values{}
		for k, v := range form {
			good[k] = v
		}
		good.Set("coins", "25")
		good.Set("condition", "attributes.total > 50")
		good.Set("cap_day", "100")
		good.Set("pair_cap_day", "3")
		good.Set("cap_percent_moderator", "150")
		good.Set("reversal", ledger.CarryDebt)
		w := br.post(t, page, good)
		if w.Code != http.StatusSeeOther || location(w) != page+"?done=saved" {
			t.Fatalf("save = %d to %q; body:\n%s", w.Code, location(w), w.Body.String())
		}
		r := b.rule(t, tn, "post.created")
		want := rules.Rule{
			EventType: "post.created", Name: "Write a post", Coins: 25, Condition: "attributes.total > 50", Enabled: true,
			CapDay: ptr(int64(100)), PairCapDay: ptr(3), CapPercentByRole: map[string]int{"moderator": 150}, Reversal: ledger.CarryDebt,
		}
		r.ID, r.UpdatedAt = uuid.Nil, nil
		if diff := cmp.Diff(want, r); diff != "" {
			t.Errorf("saved rule (-want +got):\n%s", diff)
		}
		d := doc(t, br.get(t, location(w)))
		if text(d.Find(testID("notice"))) == "" || text(d.Find(testID("rule-source"))) != "edited default" {
			t.Errorf("after saving: notice %q, source %q", text(d.Find(testID("notice"))), text(d.Find(testID("rule-source"))))
		}
		if got := d.Find("#cap_percent_moderator").AttrOr("value", ""); got != "150" {
			t.Errorf("#cap_percent_moderator = %q", got)
		}
		// Reverting brings the default back.
		if d.Find(testID("delete-rule-form")).Length() != 1 {
			t.Fatalf("no revert form for an edited default")
		}
		w = br.post(t, page+"/delete", url.Values{})
		if w.Code != http.StatusSeeOther || location(w) != page+"?done=reverted" {
			t.Fatalf("revert = %d to %q", w.Code, location(w))
		}
		if r := b.rule(t, tn, "post.created"); !r.Default || r.Coins != 10 {
			t.Errorf("after reverting: %+v", r)
		}
	})

	t.Run("CustomEventType", func(t *testing.T) {
		w := br.post(t, list, url.Values{"event_type": {"shop.order_paid"}, "name": {"Order paid"}, "coins": {"5"}})
		custom := list + "/shop.order_paid"
		if w.Code != http.StatusSeeOther || location(w) != custom+"?done=created" {
			t.Fatalf("create = %d to %q; body:\n%s", w.Code, location(w), w.Body.String())
		}
		d := doc(t, br.get(t, list))
		if got := text(d.Find(testID("rule-row-shop.order_paid") + " " + testID("rule-source"))); got != "custom" {
			t.Errorf("custom rule's source = %q", got)
		}
		for _, tt := range []struct {
			form   url.Values
			status int
			want   []string
		}{
			{url.Values{"event_type": {"shop.order_paid"}, "coins": {"1"}}, http.StatusConflict, []string{"error-event_type"}},
			{url.Values{"event_type": {"Bad Type"}, "coins": {"x"}}, http.StatusUnprocessableEntity, []string{"error-event_type", "error-coins"}},
		} {
			w := br.do(t, http.MethodPost, list, tt.form, htmx)
			if w.Code != tt.status {
				t.Errorf("%v = %d, want %d", tt.form, w.Code, tt.status)
			}
			if diff := cmp.Diff(tt.want, fieldErrors(doc(t, w))); diff != "" {
				t.Errorf("%v: field errors (-want +got):\n%s", tt.form, diff)
			}
		}
		if r := b.rule(t, tn, "shop.order_paid"); r.Coins != 5 {
			t.Errorf("custom rule changed by a refused create: %+v", r)
		}
		w = br.post(t, custom+"/delete", url.Values{})
		if w.Code != http.StatusSeeOther || location(w) != list+"?done=deleted" {
			t.Fatalf("delete = %d to %q", w.Code, location(w))
		}
		if w := br.get(t, custom); w.Code != http.StatusNotFound {
			t.Errorf("deleted event type's page = %d, want 404", w.Code)
		}
	})
}

func ptr[T any](v T) *T { return &v }

func TestRules_Preview(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tn := b.newTenant(t)
	m := b.member(t, tn, tn.email("m"), authz.RoleMember)
	br := b.browser(t)
	br.signIn(t, tn.base, tn.owner.Email)
	page := tn.base + "/console/rules/post.created"

	d := doc(t, br.get(t, page))
	if d.Find(testID("preview-form")).Length() != 1 {
		t.Fatalf("no preview form")
	}
	w := br.post(t, page+"/preview", url.Values{"member": {m.Email}})
	if w.Code != http.StatusOK {
		t.Fatalf("preview = %d; body:\n%s", w.Code, w.Body.String())
	}
	d = doc(t, w)
	res := d.Find(testID("preview-result"))
	if got := strings.Join(strings.Fields(res.Text()), " "); !strings.Contains(got, "would earn the member 10 coins because the rule pays it in full") {
		t.Errorf("preview-result = %q", got)
	}

	// By ID, with a condition that does not hold, through htmx: only the
	// preview section comes back.
	if _, err := b.rules.PutRule(tn.ctx, rules.Rule{EventType: "post.created", Coins: 10, Enabled: true, Condition: "attributes.total > 50"}); err != nil {
		t.Fatal(err)
	}
	w = br.do(t, http.MethodPost, page+"/preview", url.Values{"member": {m.ID.String()}, "attributes": {`{"total": 10}`}}, htmx)
	if w.Code != http.StatusOK || strings.Contains(w.Body.String(), "<html") || strings.Contains(w.Body.String(), `data-testid="rule-form"`) {
		t.Fatalf("htmx preview = %d, want the preview section only:\n%s", w.Code, w.Body.String())
	}
	d = doc(t, w)
	if got := [2]string{text(d.Find(testID("preview-granted"))), text(d.Find(testID("preview-reason")))}; got != [2]string{"0", reasonText("condition_false")} {
		t.Errorf("preview with a false condition = %v", got)
	}
	if got := d.Find("#attributes").Text(); got != `{"total": 10}` {
		t.Errorf("#attributes = %q, want what was typed", got)
	}
	d = doc(t, br.post(t, page+"/preview", url.Values{"member": {m.Email}, "attributes": {`{"total": 60}`}}))
	if got := text(d.Find(testID("preview-granted"))); got != "10" {
		t.Errorf("preview with a true condition grants %q", got)
	}

	for _, tt := range []struct {
		form url.Values
		want []string
	}{
		{url.Values{"member": {""}}, []string{"error-member"}},
		{url.Values{"member": {"nobody@example.com"}}, []string{"error-member"}},
		{url.Values{"member": {m.Email}, "actor": {"not a member"}, "attributes": {"[1"}}, []string{"error-actor", "error-attributes"}},
	} {
		w := br.post(t, page+"/preview", tt.form)
		if w.Code != http.StatusUnprocessableEntity {
			t.Errorf("%v = %d, want 422", tt.form, w.Code)
		}
		d := doc(t, w)
		if diff := cmp.Diff(tt.want, fieldErrors(d)); diff != "" {
			t.Errorf("%v: field errors (-want +got):\n%s", tt.form, diff)
		}
		if d.Find(testID("preview-result")).Length() != 0 || d.Find(testID("preview-error")).Length() != 1 {
			t.Errorf("%v: a result, or no preview-error", tt.form)
		}
	}
	// Nothing was written.
	if w := b.balance(t, tn, m.ID); w.Balance != 0 {
		t.Errorf("balance after previews = %d", w.Balance)
	}
	events, err := b.rules.ListEvents(tn.ctx, rules.ListEventsParams{})
	if err != nil || len(events) != 0 {
		t.Errorf("events after previews = %+v, %v", events, err)
	}
}

func TestRules_Backtest(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tn := b.newTenant(t)
	m := b.member(t, tn, tn.email("m"), authz.RoleMember)
	for i := range 3 {
		d, err := b.rules.Award(tn.ctx, rules.Event{Type: "post.created", Member: m.ID, Ref: fmt.Sprintf("post:%d", i), IdempotencyKey: uuid.NewString()})
		if err != nil || d.Granted != 10 {
			t.Fatalf("Award() = %+v, %v", d, err)
		}
	}
	br := b.browser(t)
	br.signIn(t, tn.base, tn.owner.Email)
	page := tn.base + "/console/rules/post.created"
	form := submitted(doc(t, br.get(t, page)).Find(testID("rule-form")))
	if doc(t, br.get(t, page)).Find(testID("run-backtest")).AttrOr("formaction", "") != page+"/backtest" {
		t.Errorf("the backtest button does not post the form to %s/backtest", page)
	}
	form.Set("coins", "20")
	form.Set("cap_day", "50")

	for _, header := range []http.Header{nil, htmx} {
		w := br.do(t, http.MethodPost, page+"/backtest", form, header)
		if w.Code != http.StatusOK {
			t.Fatalf("backtest = %d; body:\n%s", w.Code, w.Body.String())
		}
		d := doc(t, w)
		res := d.Find(testID("backtest-result"))
		if got := [2]string{text(res.Find(testID("backtest-issued"))), text(res.Find(testID("backtest-simulated")))}; got != [2]string{"30", "50"} {
			t.Errorf("issued, simulated = %v, want 30 and 50 (20 a post, capped at 50 a day)", got)
		}
		if got := text(res.Find(testID("backtest-type-post.created") + " td:last-child")); got != "50" {
			t.Errorf("by type: %q", got)
		}
		if res.Find(testID("backtest-day-"+today(t))).Length() != 1 {
			t.Errorf("no line for today (%s)", today(t))
		}
		if got := d.Find("#coins").AttrOr("value", ""); got != "20" {
			t.Errorf("#coins = %q, want the unsaved value", got)
		}
		if full := strings.Contains(w.Body.String(), "<html"); full != (header == nil) {
			t.Errorf("full page = %v, want %v", full, header == nil)
		}
	}
	if r := b.rule(t, tn, "post.created"); r.Coins != 10 || !r.Default {
		t.Errorf("rule after a backtest = %+v, want it unsaved", r)
	}

	form.Set("condition", "member ==")
	w := br.post(t, page+"/backtest", form)
	if w.Code != http.StatusUnprocessableEntity {
		t.Fatalf("backtest with a bad condition = %d, want 422", w.Code)
	}
	d := doc(t, w)
	if !strings.HasPrefix(text(d.Find(testID("error-condition"))), "Condition: does not work") || d.Find(testID("backtest-result")).Length() != 0 {
		t.Errorf("bad condition: error-condition %q", text(d.Find(testID("error-condition"))))
	}
}

func TestCoinSettings(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tn := b.newTenant(t)
	br := b.browser(t)
	br.signIn(t, tn.base, tn.owner.Email)
	page := tn.base + "/console/coin-settings"

	d := doc(t, br.get(t, page))
	form := submitted(d.Find(testID("coin-settings-form")))
	if diff := cmp.Diff(url.Values{"member_daily_cap": {"500"}, "daily_budget": {""}, "expiry_days": {""}, "bonus_coins": {"0"}, "bonus_min_active_days": {"5"}}, form); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
	bad := url.Values{"member_daily_cap": {"lots"}, "daily_budget": {""}, "expiry_days": {"0"}, "bonus_coins": {"10"}, "bonus_min_active_days": {"9"}}
	w := br.do(t, http.MethodPost, page, bad, htmx)
	if w.Code != http.StatusUnprocessableEntity {
		t.Fatalf("invalid = %d, want 422", w.Code)
	}
	d = doc(t, w)
	if diff := cmp.Diff([]string{"error-member_daily_cap", "error-expiry_days", "error-bonus_min_active_days"}, fieldErrors(d)); diff != "" {
		t.Errorf("field errors (-want +got):\n%s", diff)
	}
	if got := text(d.Find(testID("error-bonus_min_active_days"))); got != "Active days for the bonus must be from 1 to 7." {
		t.Errorf("error-bonus_min_active_days = %q", got)
	}
	if st, err := b.rules.Settings(tn.ctx); err != nil || st != rules.DefaultSettings {
		t.Errorf("settings = %+v, %v; want the defaults", st, err)
	}

	good := url.Values{"member_daily_cap": {"300"}, "daily_budget": {"10000"}, "expiry_days": {"90"}, "bonus_coins": {"25"}, "bonus_min_active_days": {"4"}}
	w = br.post(t, page, good)
	if w.Code != http.StatusSeeOther || location(w) != page+"?saved=1" {
		t.Fatalf("save = %d to %q; body:\n%s", w.Code, location(w), w.Body.String())
	}
	st, err := b.rules.Settings(tn.ctx)
	want := rules.Settings{MemberDailyCap: 300, DailyBudget: ptr(int64(10000)), ExpiryDays: ptr(90), BonusCoins: 25, BonusMinActiveDays: 4}
	if diff := cmp.Diff(want, st); err != nil || diff != "" {
		t.Errorf("saved settings (-want +got):\n%s%v", diff, err)
	}
	d = doc(t, br.get(t, location(w)))
	if d.Find(testID("saved-notice")).Length() != 1 || d.Find("#daily_budget").AttrOr("value", "") != "10000" {
		t.Errorf("page after saving lacks the notice or the values")
	}
}

func TestRewards(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tn := b.newTenant(t)
	admin := b.member(t, tn, tn.email("admin"), authz.RoleAdmin)
	br := b.browser(t)
	br.signIn(t, tn.base, admin.Email)
	list := tn.base + "/console/rewards"

	d := doc(t, br.get(t, list+"/new"))
	if d.Find(testID("reward-form")+" #kind").Length() != 1 || d.Find("#active").AttrOr("checked", "x") == "x" {
		t.Errorf("new reward form lacks the kind, or is not active by default")
	}

	t.Run("Invalid", func(t *testing.T) {
		for _, tt := range []struct {
			form url.Values
			want []string
		}{
			{url.Values{"name": {""}, "kind": {"physical"}, "price": {"0"}, "stock": {"-1"}}, []string{"error-name", "error-price", "error-stock"}},
			{url.Values{"name": {"Mug"}, "kind": {"toy"}, "price": {"3"}, "image_url": {"http://x.example/a.png"}}, []string{"error-kind", "error-image_url"}},
			{url.Values{"name": {"Mug"}, "kind": {"physical"}, "price": {"3"}, "available_from": {"2030-01-02T10:00"}, "available_until": {"2030-01-01T10:00"}}, []string{"error-available_until"}},
			{url.Values{"name": {"Mug"}, "kind": {"physical"}, "price": {"many"}, "available_from": {"soon"}}, []string{"error-price", "error-available_from"}},
		} {
			w := br.do(t, http.MethodPost, list, tt.form, htmx)
			if w.Code != http.StatusUnprocessableEntity {
				t.Errorf("%v = %d, want 422", tt.form, w.Code)
				continue
			}
			d := doc(t, w)
			if diff := cmp.Diff(tt.want, fieldErrors(d)); diff != "" {
				t.Errorf("%v: field errors (-want +got):\n%s", tt.form, diff)
			}
			if got := d.Find("#name").AttrOr("value", ""); got != tt.form.Get("name") {
				t.Errorf("#name = %q, want what was typed", got)
			}
		}
		if page, _ := b.rewards.ListRewards(tn.ctx, rewards.ListRewardsParams{}); len(page.Rewards) != 0 {
			t.Errorf("rewards created: %+v", page.Rewards)
		}
	})

	var mug uuid.UUID
	t.Run("CreateAndEdit", func(t *testing.T) {
		w := br.post(t, list, url.Values{
			"name": {"Mug"}, "kind": {"physical"}, "description": {"A big mug."}, "price": {"30"}, "stock": {"5"},
			"per_member_limit": {"1"}, "available_from": {"2020-01-01T00:00"}, "active": {"on"},
		})
		if w.Code != http.StatusSeeOther || !strings.HasPrefix(location(w), list+"/") || !strings.HasSuffix(location(w), "?done=created") {
			t.Fatalf("create = %d to %q; body:\n%s", w.Code, location(w), w.Body.String())
		}
		mug = uuid.MustParse(strings.TrimSuffix(strings.TrimPrefix(location(w), list+"/"), "?done=created"))
		rw, err := b.rewards.Reward(tn.ctx, mug)
		if err != nil || rw.Price != 30 || *rw.Stock != 5 || *rw.PerMemberLimit != 1 || !rw.Active || rw.Kind != rewards.KindPhysical {
			t.Fatalf("created reward = %+v, %v", rw, err)
		}
		// Typed in the tenant's time zone (Berlin: UTC+1 in January).
		if got := rw.AvailableFrom.UTC().Format(time.RFC3339); got != "2019-12-31T23:00:00Z" {
			t.Errorf("available_from = %s", got)
		}
		d := doc(t, br.get(t, location(w)))
		form := submitted(d.Find(testID("reward-form")))
		if form.Get("available_from") != "2020-01-01T00:00" || form.Get("price") != "30" || form.Has("kind") {
			t.Errorf("edit form = %v", form)
		}
		if d.Find(testID("codes-form")).Length() != 0 {
			t.Errorf("a physical reward offers a code upload")
		}
		form.Set("price", "35")
		form.Set("stock", "")
		form.Del("active")
		form.Set("kind", "digital") // ignored: the kind cannot change
		w = br.do(t, http.MethodPost, rewardURL(tn.base+"/console", mug), form, htmx)
		if w.Code != http.StatusOK || w.Header().Get("HX-Redirect") != rewardURL(tn.base+"/console", mug)+"?done=saved" {
			t.Fatalf("edit = %d, HX-Redirect %q; body:\n%s", w.Code, w.Header().Get("HX-Redirect"), w.Body.String())
		}
		rw, _ = b.rewards.Reward(tn.ctx, mug)
		if rw.Price != 35 || rw.Stock != nil || rw.Active || rw.Kind != rewards.KindPhysical {
			t.Errorf("edited reward = %+v", rw)
		}
		form.Set("price", "0")
		w = br.post(t, rewardURL(tn.base+"/console", mug), form)
		if w.Code != http.StatusUnprocessableEntity || text(doc(t, w).Find(testID("error-price"))) == "" {
			t.Errorf("edit with price 0 = %d", w.Code)
		}
		row := doc(t, br.get(t, list)).Find(testID("reward-row-" + mug.String()))
		if got := [3]string{text(row.Find(testID("reward-price"))), text(row.Find(testID("reward-stock"))), text(row.Find(testID("reward-status")))}; got != [3]string{"35", "unlimited", "inactive"} {
			t.Errorf("listed = %v", got)
		}
	})

	t.Run("CodesAndDeactivate", func(t *testing.T) {
		w := br.post(t, list, url.Values{"name": {"Voucher"}, "kind": {"coupon"}, "price": {"10"}, "active": {"on"}})
		if w.Code != http.StatusSeeOther {
			t.Fatalf("create coupon = %d", w.Code)
		}
		page := strings.TrimSuffix(location(w), "?done=created")
		for _, tt := range []struct {
			codes           string
			added, dup, now string
		}{
			{"A1\nA2\n\n A1 \n", "2", "1", "2"},
			{"A2\r\nA3", "1", "1", "3"},
		} {
			w := br.do(t, http.MethodPost, page+"/codes", url.Values{"codes": {tt.codes}}, htmx)
			if w.Code != http.StatusOK {
				t.Fatalf("upload = %d; body:\n%s", w.Code, w.Body.String())
			}
			d := doc(t, w)
			want := "Added " + tt.added + ", duplicates " + tt.dup + "."
			if got := text(d.Find(testID("codes-result"))); !strings.HasPrefix(got, want) {
				t.Errorf("codes-result = %q, want %q", got, want)
			}
			if got := text(d.Find(testID("codes-available"))); got != tt.now {
				t.Errorf("codes-available = %q, want %s", got, tt.now)
			}
		}
		w = br.post(t, page+"/codes", url.Values{"codes": {"\n \n"}})
		if w.Code != http.StatusUnprocessableEntity || text(doc(t, w).Find(testID("error-codes"))) == "" {
			t.Errorf("empty upload = %d", w.Code)
		}
		if w := br.post(t, rewardURL(tn.base+"/console", mug)+"/codes", url.Values{"codes": {"X"}}); w.Code != http.StatusUnprocessableEntity {
			t.Errorf("codes for a physical reward = %d, want 422", w.Code)
		}

		w = br.post(t, page+"/deactivate", url.Values{})
		if w.Code != http.StatusSeeOther || location(w) != page+"?done=deactivated" {
			t.Fatalf("deactivate = %d to %q", w.Code, location(w))
		}
		d := doc(t, br.get(t, location(w)))
		if text(d.Find(testID("reward-status"))) != "inactive" || d.Find(testID("deactivate-form")).Length() != 0 {
			t.Errorf("deactivated reward still active, or still offers to deactivate")
		}
	})
}

func TestOrders(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tn := b.newTenant(t)
	mod := b.member(t, tn, tn.email("mod"), authz.RoleModerator)
	m := b.member(t, tn, tn.email("m"), authz.RoleMember)
	b.grant(t, tn, m.ID, 100)
	mug, err := b.rewards.CreateReward(tn.owner.ctx, rewards.RewardParams{Name: "Mug", Kind: rewards.KindPhysical, Price: 30, Stock: ptr(10)})
	if err != nil {
		t.Fatal(err)
	}
	ebook, err := b.rewards.CreateReward(tn.owner.ctx, rewards.RewardParams{Name: "E-book", Kind: rewards.KindDigital, Price: 5})
	if err != nil {
		t.Fatal(err)
	}
	redeem := func(reward uuid.UUID) rewards.Order {
		t.Helper()
		o, _, err := b.rewards.Redeem(m.ctx, rewards.RedeemParams{Reward: reward, Member: m.ID, IdempotencyKey: uuid.NewString(),
			ShippingAddress: &rewards.Address{Name: "Ada Lovelace", Line1: "Hauptstr. 1", City: "Berlin", PostalCode: "10115", Country: "DE"}})
		if err != nil {
			t.Fatalf("Redeem() = %v", err)
		}
		return o
	}
	o1, o2, o3 := redeem(mug.ID), redeem(mug.ID), redeem(ebook.ID)
	if w := b.balance(t, tn, m.ID); w.Balance != 35 {
		t.Fatalf("balance after redeeming = %d", w.Balance)
	}
	br := b.browser(t)
	br.signIn(t, tn.base, mod.Email)
	list := tn.base + "/console/orders"

	rows := func(d *goquery.Document) []string {
		var out []string
		d.Find(testID("orders-table") + " tbody tr[data-testid]").Each(func(_ int, s *goquery.Selection) {
			out = append(out, strings.TrimPrefix(s.AttrOr("data-testid", ""), "order-row-"))
		})
		return out
	}
	d := doc(t, br.get(t, list))
	if diff := cmp.Diff([]string{o2.ID.String(), o1.ID.String()}, rows(d)); diff != "" {
		t.Errorf("the queue (-want +got):\n%s", diff)
	}
	for _, tt := range []struct {
		query string
		want  []string
	}{
		{"status=all", []string{o3.ID.String(), o2.ID.String(), o1.ID.String()}},
		{"status=fulfilled", []string{o3.ID.String()}},
		{"status=all&member=" + url.QueryEscape(m.Email), []string{o3.ID.String(), o2.ID.String(), o1.ID.String()}},
		{"status=all&member=" + mod.ID.String(), nil},
	} {
		if diff := cmp.Diff(tt.want, rows(doc(t, br.get(t, list+"?"+tt.query)))); diff != "" {
			t.Errorf("?%s (-want +got):\n%s", tt.query, diff)
		}
	}
	if w := br.get(t, list+"?member=nobody@example.com"); w.Code != http.StatusBadRequest {
		t.Errorf("unknown member filter = %d, want 400", w.Code)
	}

	t.Run("Fulfil", func(t *testing.T) {
		page := list + "/" + o1.ID.String()
		d := doc(t, br.get(t, page))
		addr, _ := d.Find(testID("shipping-address")).Html()
		for _, part := range []string{"Ada Lovelace<br/>", "Hauptstr. 1<br/>", "10115", "Berlin", "DE"} {
			if !strings.Contains(addr, part) {
				t.Errorf("shipping-address %q lacks %q", addr, part)
			}
		}
		w := br.post(t, page+"/fulfil", url.Values{"note": {"DHL 123"}})
		if w.Code != http.StatusSeeOther || location(w) != page+"?done=fulfilled" {
			t.Fatalf("fulfil = %d to %q; body:\n%s", w.Code, location(w), w.Body.String())
		}
		d = doc(t, br.get(t, location(w)))
		if text(d.Find(testID("order-status"))) != "fulfilled" || text(d.Find(testID("order-note"))) != "DHL 123" || d.Find(testID("fulfil-form")).Length() != 0 {
			t.Errorf("after fulfilling: status %q, note %q", text(d.Find(testID("order-status"))), text(d.Find(testID("order-note"))))
		}
		w = br.post(t, page+"/fulfil", url.Values{})
		if w.Code != http.StatusConflict || !strings.Contains(text(doc(t, w).Find(testID("form-error"))), "only a pending order") {
			t.Errorf("fulfilling twice = %d, %q", w.Code, text(doc(t, w).Find(testID("form-error"))))
		}
	})

	t.Run("RejectRefunds", func(t *testing.T) {
		page := list + "/" + o2.ID.String()
		form := submitted(doc(t, br.get(t, page)).Find(testID("refund-form")))
		if form.Get("idempotency_key") == "" {
			t.Fatalf("refund form carries no key: %v", form)
		}
		w := br.post(t, page+"/reject", form)
		if w.Code != http.StatusUnprocessableEntity || text(doc(t, w).Find(testID("error-reason"))) == "" {
			t.Fatalf("reject without a reason = %d", w.Code)
		}
		// The refused form comes back with its key: nothing used it.
		if got := submitted(doc(t, w).Find(testID("refund-form"))).Get("idempotency_key"); got != form.Get("idempotency_key") {
			t.Errorf("key after a refusal = %q, want %q", got, form.Get("idempotency_key"))
		}
		form.Set("reason", "We do not ship there.")
		for range 2 { // a double submit refunds once
			w := br.post(t, page+"/reject", form)
			if w.Code != http.StatusSeeOther || location(w) != page+"?done=rejected" {
				t.Fatalf("reject = %d to %q; body:\n%s", w.Code, location(w), w.Body.String())
			}
		}
		o, err := b.rewards.Order(tn.ctx, o2.ID)
		if err != nil || o.Status != rewards.StatusRejected || o.RefundID == nil {
			t.Fatalf("order = %+v, %v", o, err)
		}
		if w := b.balance(t, tn, m.ID); w.Balance != 65 {
			t.Errorf("balance after the refund = %d, want 65", w.Balance)
		}
		d := doc(t, br.get(t, page))
		if href := d.Find(testID("refund-link")).AttrOr("href", ""); href != tn.base+"/console/transactions/"+o.RefundID.String() {
			t.Errorf("refund-link = %q", href)
		}
		// The member's wallet shows it, to the moderator too.
		wallet := d.Find(testID("wallet-link")).AttrOr("href", "")
		d = doc(t, br.get(t, wallet))
		if got := text(d.Find(testID("wallet-balance"))); got != "65" {
			t.Errorf("wallet-balance = %q", got)
		}
		entry := d.Find(testID("entry-row")).First()
		if got := [2]string{text(entry.Find(testID("entry-amount"))), text(entry.Find(testID("entry-memo")))}; got != [2]string{"+30", "Refund: Mug"} {
			t.Errorf("latest entry = %v", got)
		}
		if d.Find(testID("adjust-form")).Length() != 0 {
			t.Errorf("a moderator is offered adjustments")
		}
		// Cancelling a refunded order is refused.
		form.Set("idempotency_key", newKey())
		if w := br.post(t, page+"/cancel", form); w.Code != http.StatusConflict {
			t.Errorf("cancel a rejected order = %d, want 409", w.Code)
		}
	})
}

func TestWallet_Adjust(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tn := b.newTenant(t)
	admin := b.member(t, tn, tn.email("admin"), authz.RoleAdmin)
	m := b.member(t, tn, tn.email("m"), authz.RoleMember)
	br := b.browser(t)
	br.signIn(t, tn.base, admin.Email)
	page := tn.base + "/console/members/" + m.ID.String() + "/wallet"

	if href := doc(t, br.get(t, tn.base+"/console/members/"+m.ID.String())).Find(testID("wallet-link")).AttrOr("href", ""); href != page {
		t.Errorf("member page's wallet-link = %q", href)
	}
	adjustForm := func(t *testing.T) url.Values {
		t.Helper()
		d := doc(t, br.get(t, page))
		form := submitted(d.Find(testID("adjust-form")))
		if form.Get("idempotency_key") == "" {
			t.Fatalf("adjust form carries no key: %v", form)
		}
		return form
	}
	adjustments := func(t *testing.T) int {
		t.Helper()
		h, err := b.ledger.History(tn.ctx, ledger.HistoryParams{Member: m.ID, Kinds: []string{ledger.KindAdjustment}})
		if err != nil {
			t.Fatal(err)
		}
		return len(h.Entries)
	}

	t.Run("GrantTwiceAppliesOnce", func(t *testing.T) {
		form := adjustForm(t)
		form.Set("amount", "50")
		form.Set("reason", "Contest prize")
		for _, header := range []http.Header{nil, htmx} {
			w := br.do(t, http.MethodPost, page+"/adjust", form, header)
			redirected := location(w)
			if header != nil {
				redirected = w.Header().Get("HX-Redirect")
			}
			if redirected != page+"?done=granted" {
				t.Fatalf("grant = %d to %q; body:\n%s", w.Code, redirected, w.Body.String())
			}
		}
		if w := b.balance(t, tn, m.ID); w.Balance != 50 {
			t.Errorf("balance = %d, want 50 (one grant)", w.Balance)
		}
		if n := adjustments(t); n != 1 {
			t.Errorf("adjustments = %d, want 1", n)
		}
		d := doc(t, br.get(t, page+"?done=granted"))
		if got := text(d.Find(testID("wallet-balance"))); got != "50" {
			t.Errorf("wallet-balance = %q", got)
		}
		row := d.Find(testID("entry-row"))
		if row.Length() != 1 || text(row.Find(testID("entry-amount"))) != "+50" || text(row.Find(testID("entry-memo"))) != "Contest prize" {
			t.Errorf("history = %q", text(row))
		}
	})

	t.Run("DeductBeyondBalance", func(t *testing.T) {
		form := adjustForm(t)
		form.Set("direction", "deduct")
		form.Set("amount", "80")
		form.Set("reason", "Correction")
		w := br.do(t, http.MethodPost, page+"/adjust", form, htmx)
		if w.Code != http.StatusConflict {
			t.Fatalf("deduct beyond the balance = %d, want 409", w.Code)
		}
		d := doc(t, w)
		if text(d.Find(testID("adjust-error"))) == "" || text(d.Find(testID("error-amount"))) == "" {
			t.Errorf("no inline error: adjust-error %q, error-amount %q", text(d.Find(testID("adjust-error"))), text(d.Find(testID("error-amount"))))
		}
		if got := submitted(d.Find(testID("adjust-form"))); got.Get("amount") != "80" || got.Get("direction") != "deduct" {
			t.Errorf("the form lost what was typed: %v", got)
		}
		if w := b.balance(t, tn, m.ID); w.Balance != 50 {
			t.Errorf("balance = %d, want 50", w.Balance)
		}
		// Corrected, the same form (and key) works.
		form.Set("amount", "20")
		if w := br.post(t, page+"/adjust", form); w.Code != http.StatusSeeOther || location(w) != page+"?done=deducted" {
			t.Fatalf("deduct = %d to %q", w.Code, location(w))
		}
		if w := b.balance(t, tn, m.ID); w.Balance != 30 {
			t.Errorf("balance = %d, want 30", w.Balance)
		}
		// The browser's back button: the used form with other values.
		form.Set("amount", "5")
		if w := br.post(t, page+"/adjust", form); w.Code != http.StatusConflict || text(doc(t, w).Find(testID("adjust-error"))) == "" {
			t.Errorf("reused key with other values = %d", w.Code)
		}
		if w := b.balance(t, tn, m.ID); w.Balance != 30 {
			t.Errorf("balance = %d, want 30", w.Balance)
		}
	})

	t.Run("Invalid", func(t *testing.T) {
		form := adjustForm(t)
		form.Set("amount", "abc")
		form.Set("reason", "")
		w := br.post(t, page+"/adjust", form)
		if w.Code != http.StatusUnprocessableEntity {
			t.Fatalf("invalid = %d, want 422", w.Code)
		}
		if diff := cmp.Diff([]string{"error-amount"}, fieldErrors(doc(t, w))); diff != "" {
			t.Errorf("field errors (-want +got):\n%s", diff)
		}
		form.Set("amount", "5")
		w = br.post(t, page+"/adjust", form)
		if diff := cmp.Diff([]string{"error-reason"}, fieldErrors(doc(t, w))); w.Code != http.StatusUnprocessableEntity || diff != "" {
			t.Errorf("no reason = %d (-want +got):\n%s", w.Code, diff)
		}
	})

	t.Run("Freeze", func(t *testing.T) {
		w := br.post(t, page+"/freeze", url.Values{"reason": {"Fraud check"}})
		if w.Code != http.StatusSeeOther || location(w) != page+"?done=frozen" {
			t.Fatalf("freeze = %d to %q", w.Code, location(w))
		}
		if w := b.balance(t, tn, m.ID); w.FrozenAt == nil {
			t.Errorf("wallet not frozen")
		}
		d := doc(t, br.get(t, location(w)))
		if !strings.Contains(text(d.Find(testID("wallet-frozen"))), "frozen") || d.Find(testID("unfreeze")).Length() != 1 {
			t.Errorf("frozen wallet's page: %q", text(d.Find(testID("wallet-frozen"))))
		}
		if w := br.post(t, page+"/unfreeze", url.Values{}); w.Code != http.StatusSeeOther {
			t.Fatalf("unfreeze = %d", w.Code)
		}
		if w := b.balance(t, tn, m.ID); w.FrozenAt != nil {
			t.Errorf("wallet still frozen")
		}
	})

	t.Run("Reverse", func(t *testing.T) {
		d := doc(t, br.get(t, page+"?kind=adjustment"))
		var grant string
		d.Find(testID("entry-row")).Each(func(_ int, s *goquery.Selection) {
			if text(s.Find(testID("entry-amount"))) == "+50" {
				grant = s.Find(testID("entry-link")).AttrOr("href", "")
			}
		})
		if grant == "" {
			t.Fatalf("no link to the grant's transaction")
		}
		d = doc(t, br.get(t, grant))
		if n := d.Find(testID("posted-entry")).Length(); n != 2 {
			t.Errorf("entries = %d, want 2", n)
		}
		form := submitted(d.Find(testID("reverse-form")))
		form.Set("reason", "Granted by mistake")
		for range 2 {
			w := br.post(t, grant+"/reverse", form)
			if w.Code != http.StatusSeeOther || location(w) != grant+"?done=reversed" {
				t.Fatalf("reverse = %d to %q; body:\n%s", w.Code, location(w), w.Body.String())
			}
		}
		// 50 granted, 20 deducted since: 30 taken back, 20 short.
		if w := b.balance(t, tn, m.ID); w.Balance != 0 {
			t.Errorf("balance after reversing = %d, want 0", w.Balance)
		}
		d = doc(t, br.get(t, grant))
		reversal := d.Find(testID("reversed-by-link")).AttrOr("href", "")
		if reversal == "" || d.Find(testID("reverse-form")).Length() != 0 {
			t.Fatalf("reversed transaction: no reversed-by-link, or still offers to reverse")
		}
		d = doc(t, br.get(t, reversal))
		if d.Find(testID("reverses-link")).AttrOr("href", "") != grant || !strings.HasPrefix(text(d.Find(testID("shortfall"))), "20 coins") {
			t.Errorf("reversal page: reverses-link %q, shortfall %q", d.Find(testID("reverses-link")).AttrOr("href", ""), text(d.Find(testID("shortfall"))))
		}
		form.Set("idempotency_key", newKey())
		if w := br.post(t, grant+"/reverse", form); w.Code != http.StatusConflict || text(doc(t, w).Find(testID("reverse-error"))) == "" {
			t.Errorf("reversing twice = %d", w.Code)
		}
	})

	t.Run("ModeratorReadsOnly", func(t *testing.T) {
		mod := b.member(t, tn, tn.email("mod"), authz.RoleModerator)
		mb := b.browser(t)
		mb.signIn(t, tn.base, mod.Email)
		d := doc(t, mb.get(t, page))
		if d.Find(testID("wallet-balance")).Length() != 1 || d.Find(testID("adjust-form")).Length() != 0 || d.Find(testID("freeze-form")).Length() != 0 {
			t.Errorf("moderator's wallet page: balance %d, adjust-form %d", d.Find(testID("wallet-balance")).Length(), d.Find(testID("adjust-form")).Length())
		}
		if w := mb.post(t, page+"/adjust", url.Values{"direction": {"grant"}, "amount": {"1"}, "reason": {"x"}, "idempotency_key": {newKey()}}); w.Code != http.StatusForbidden {
			t.Errorf("moderator adjusts = %d, want 403", w.Code)
		}
	})
}

func TestDashboard_Chart(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tn := b.newTenant(t)
	m := b.member(t, tn, tn.email("m"), authz.RoleMember)
	b.grant(t, tn, m.ID, 40)
	ebook, err := b.rewards.CreateReward(tn.owner.ctx, rewards.RewardParams{Name: "E-book", Kind: rewards.KindDigital, Price: 15})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.rewards.Redeem(m.ctx, rewards.RedeemParams{Reward: ebook.ID, Member: m.ID, IdempotencyKey: uuid.NewString()}); err != nil {
		t.Fatal(err)
	}
	day, _ := time.Parse(time.DateOnly, today(t))
	if err := b.ledger.DailyStats(tn.ctx, day); err != nil {
		t.Fatal(err)
	}
	br := b.browser(t)
	br.signIn(t, tn.base, tn.owner.Email)
	w := br.get(t, tn.base+"/console/")
	if w.Code != http.StatusOK {
		t.Fatalf("dashboard = %d", w.Code)
	}
	d := doc(t, w)
	svg := d.Find("svg" + testID("coins-chart"))
	if svg.Length() != 1 {
		t.Fatalf("no coins-chart svg")
	}
	if svg.AttrOr("role", "") != "img" || !strings.Contains(svg.Find("title").First().Text(), "Coins issued and redeemed") || !strings.Contains(svg.Find("desc").Text(), "40 coins issued and 15 coins redeemed") {
		t.Errorf("chart is not accessible: role %q, title %q, desc %q", svg.AttrOr("role", ""), svg.Find("title").First().Text(), svg.Find("desc").Text())
	}
	bar := svg.Find(testID("chart-issued-" + today(t)))
	if bar.Length() != 1 || bar.AttrOr("height", "0") == "0.0" || svg.Find(testID("chart-redeemed-"+today(t))).Length() != 1 {
		t.Errorf("no bars for today (%s)", today(t))
	}
	if n := svg.Find("rect").Length(); n != 2 {
		t.Errorf("bars = %d, want 2 (one day with figures)", n)
	}
	row := d.Find(testID("coins-table") + " tbody tr")
	if row.Length() != chartDays {
		t.Errorf("table rows = %d, want %d", row.Length(), chartDays)
	}
	if got := text(d.Find(testID("coins-day-"+today(t)) + " td")); got != "4015" {
		t.Errorf("today's row = %q, want 40 and 15", got)
	}
	if got := text(d.Find(testID("coins-issued-total"))); got != "40" {
		t.Errorf("coins-issued-total = %q", got)
	}
	if d.Find("script:not([src])").Length() != 0 {
		t.Errorf("inline script")
	}
}

func TestNewCoinsChart(t *testing.T) {
	t.Parallel()
	from := time.Date(2030, 3, 1, 12, 0, 0, 0, time.UTC)
	ch := newCoinsChart(from, []ledger.DayStats{{Day: "2030-03-02", Issued: 30, Redeemed: 10}, {Day: "2030-03-30", Issued: 7}})
	if ch.From != "2030-03-01" || ch.To != "2030-03-30" || len(ch.Days) != chartDays {
		t.Fatalf("range %s to %s, %d days", ch.From, ch.To, len(ch.Days))
	}
	if ch.Issued != 37 || ch.Redeemed != 10 {
		t.Errorf("totals = %d, %d", ch.Issued, ch.Redeemed)
	}
	// The tallest bar reaches the top of a scale of 40.
	if got := ch.Days[1].IssuedBar; got.Y != ch.Top+(ch.Bot-ch.Top)/4 || ch.Ticks[4].Label != "40" {
		t.Errorf("bar %+v, top tick %+v", got, ch.Ticks[4])
	}
	if ch.Days[0].IssuedBar.H != 0 {
		t.Errorf("a day without figures has a bar: %+v", ch.Days[0].IssuedBar)
	}
	for _, tt := range []struct{ in, want int64 }{{0, 4}, {3, 4}, {5, 8}, {9, 20}, {21, 40}, {41, 80}, {81, 100}, {101, 200}, {450, 500}, {501, 800}} {
		if got := niceCeiling(tt.in); got != tt.want {
			t.Errorf("niceCeiling(%d) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

func TestCoins_Permissions(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tn := b.newTenant(t)
	mod := b.member(t, tn, tn.email("mod"), authz.RoleModerator)
	br := b.browser(t)
	br.signIn(t, tn.base, mod.Email)
	d := doc(t, br.get(t, tn.base+"/console/orders"))
	if d.Find(testID("orders-table")).Length() != 1 {
		t.Errorf("a moderator cannot see the orders")
	}
	for _, id := range []string{"nav-dashboard", "nav-members", "nav-orders"} {
		if d.Find(testID(id)).Length() != 1 {
			t.Errorf("moderator's navigation lacks %s", id)
		}
	}
	for _, id := range []string{"nav-rules", "nav-rewards", "nav-jobs"} {
		if d.Find(testID(id)).Length() != 0 {
			t.Errorf("moderator's navigation shows %s", id)
		}
	}
	for _, target := range []string{"/console/rules", "/console/rules/post.created", "/console/coin-settings", "/console/rewards", "/console/jobs"} {
		w := br.get(t, tn.base+target)
		if w.Code != http.StatusForbidden || doc(t, w).Find(testID("error-page")).Length() != 1 {
			t.Errorf("moderator GET %s = %d, want the 403 page", target, w.Code)
		}
	}
	if w := br.post(t, tn.base+"/console/rules/post.created", url.Values{"coins": {"1000"}}); w.Code != http.StatusForbidden {
		t.Errorf("moderator saves a rule = %d, want 403", w.Code)
	}
	if r := b.rule(t, tn, "post.created"); r.Coins != 10 {
		t.Errorf("rule changed by a moderator: %+v", r)
	}
	// The dashboard's chart needs wallets:read, which moderators hold.
	if doc(t, br.get(t, tn.base+"/console/")).Find(testID("coins-chart")).Length() != 1 {
		t.Errorf("no chart for a moderator")
	}
	owner := b.browser(t)
	owner.signIn(t, tn.base, tn.owner.Email)
	d = doc(t, owner.get(t, tn.base+"/console/"))
	for _, id := range []string{"nav-rules", "nav-rewards", "nav-orders", "nav-jobs"} {
		if href := d.Find(testID(id)).AttrOr("href", ""); !strings.HasPrefix(href, tn.base+"/console/") {
			t.Errorf("owner's %s = %q", id, href)
		}
	}
}

func TestCoins_CrossSitePostRefused(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tn := b.newTenant(t)
	m := b.member(t, tn, tn.email("m"), authz.RoleMember)
	br := b.browser(t)
	br.signIn(t, tn.base, tn.owner.Email)
	for _, tt := range []struct {
		target string
		form   url.Values
	}{
		{"/console/rules/post.created", url.Values{"coins": {"1000"}, "enabled": {"on"}}},
		{"/console/coin-settings", url.Values{"member_daily_cap": {"1"}, "bonus_coins": {"0"}, "bonus_min_active_days": {"1"}}},
		{"/console/members/" + m.ID.String() + "/wallet/adjust", url.Values{"direction": {"grant"}, "amount": {"100"}, "reason": {"x"}, "idempotency_key": {newKey()}}},
		{"/console/rewards", url.Values{"name": {"Evil"}, "kind": {"digital"}, "price": {"1"}}},
	} {
		if w := br.do(t, http.MethodPost, tn.base+tt.target, tt.form, crossSite); w.Code != http.StatusForbidden {
			t.Errorf("cross-site POST %s = %d, want 403", tt.target, w.Code)
		}
	}
	if r := b.rule(t, tn, "post.created"); r.Coins != 10 {
		t.Errorf("rule changed: %+v", r)
	}
	if w := b.balance(t, tn, m.ID); w.Balance != 0 {
		t.Errorf("balance = %d", w.Balance)
	}
}

func TestJobs(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tn := b.newTenant(t)
	other := b.newTenant(t)
	insert := func(tn *tenant) int64 {
		t.Helper()
		var id int64
		err := b.db.InTenant(tn.ctx, func(tx pgx.Tx) error {
			res, err := b.jobs.InsertTx(tn.ctx, tx, jobs.DailyStatsArgs{TenantID: tn.ID, Day: "2030-01-01"}, nil)
			if err != nil {
				return err
			}
			id = res.Job.ID
			_, err = tx.Exec(tn.ctx, `UPDATE river_job SET state = 'discarded', finalized_at = now(), attempt = max_attempts,
	errors = ARRAY['{"at":"2030-01-01T00:00:00Z","attempt":10,"error":"database on fire"}'::jsonb] WHERE id = $1`, id)
			return err
		})
		if err != nil {
			t.Fatalf("insert job: %v", err)
		}
		return id
	}
	mine, theirs := insert(tn), insert(other)
	br := b.browser(t)
	br.signIn(t, tn.base, tn.owner.Email)
	page := tn.base + "/console/jobs"

	d := doc(t, br.get(t, page+"?state=discarded"))
	row := d.Find(testID(fmt.Sprintf("job-row-%d", mine)))
	if row.Length() != 1 || text(row.Find(testID("job-state"))) != "discarded" || text(row.Find(testID("job-error"))) != "database on fire" {
		t.Fatalf("discarded job row = %q", text(row))
	}
	if d.Find(testID(fmt.Sprintf("job-row-%d", theirs))).Length() != 0 {
		t.Errorf("another tenant's job is listed")
	}
	if got := text(d.Find(testID("job-count-discarded") + " strong")); got != "1" {
		t.Errorf("discarded count = %q", got)
	}
	action := row.Find("form").AttrOr("action", "")
	if action != fmt.Sprintf("%s/%d/retry", page, mine) || row.Find(testID("retry-job")).Length() != 1 {
		t.Fatalf("retry form action = %q", action)
	}
	w := br.post(t, action, url.Values{})
	if w.Code != http.StatusSeeOther || location(w) != page+"?done=retried" {
		t.Fatalf("retry = %d to %q; body:\n%s", w.Code, location(w), w.Body.String())
	}
	if j, err := b.jobs.Job(tn.ctx, mine); err != nil || j.State != jobs.StateQueued {
		t.Errorf("retried job = %+v, %v; want queued", j, err)
	}
	if w := br.post(t, action, url.Values{}); w.Code != http.StatusConflict || text(doc(t, w).Find(testID("form-error"))) == "" {
		t.Errorf("retrying a queued job = %d, want 409", w.Code)
	}
	// Another tenant's job is not found here, and stays discarded.
	if w := br.post(t, fmt.Sprintf("%s/%d/retry", page, theirs), url.Values{}); w.Code != http.StatusNotFound {
		t.Errorf("retry another tenant's job = %d, want 404", w.Code)
	}
	if j, err := b.jobs.Job(other.ctx, theirs); err != nil || j.State != jobs.StateDiscarded {
		t.Errorf("other tenant's job = %+v, %v", j, err)
	}
	if w := br.get(t, page+"?state=bogus"); w.Code != http.StatusBadRequest {
		t.Errorf("bad state filter = %d, want 400", w.Code)
	}
}

func TestWallet_History(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.console.pageSize = 2
	tn := b.newTenant(t)
	m := b.member(t, tn, tn.email("m"), authz.RoleMember)
	for _, coins := range []int64{1, 2, 3} {
		b.grant(t, tn, m.ID, coins)
	}
	br := b.browser(t)
	br.signIn(t, tn.base, tn.owner.Email)
	page := tn.base + "/console/members/" + m.ID.String() + "/wallet"
	amounts := func(d *goquery.Document) []string {
		var out []string
		d.Find(testID("entry-row")).Each(func(_ int, s *goquery.Selection) { out = append(out, text(s.Find(testID("entry-amount")))) })
		return out
	}

	d := doc(t, br.get(t, page+"?kind=adjustment"))
	if diff := cmp.Diff([]string{"+3", "+2"}, amounts(d)); diff != "" {
		t.Errorf("first page (-want +got):\n%s", diff)
	}
	next := d.Find(testID("next-page")).AttrOr("href", "")
	if !strings.Contains(next, "kind=adjustment") || !strings.Contains(next, "cursor=") {
		t.Fatalf("next-page = %q", next)
	}
	d = doc(t, br.get(t, next))
	if diff := cmp.Diff([]string{"+1"}, amounts(d)); diff != "" {
		t.Errorf("second page (-want +got):\n%s", diff)
	}
	if d.Find(testID("first-page")).Length() != 1 || d.Find(testID("next-page")).Length() != 0 {
		t.Errorf("second page's paging links")
	}
	if got := amounts(doc(t, br.get(t, page+"?kind=redemption"))); len(got) != 0 {
		t.Errorf("redemptions = %v, want none", got)
	}
	if got := amounts(doc(t, br.get(t, page+"?until=2001-01-01"))); len(got) != 0 {
		t.Errorf("until 2001 = %v, want none", got)
	}
	if got := amounts(doc(t, br.get(t, page+"?since="+today(t)+"&until="+today(t)))); len(got) != 2 {
		t.Errorf("today = %v, want a page of 2", got)
	}
	for _, q := range []string{"kind=gift", "since=yesterday", "cursor=bad"} {
		w := br.get(t, page+"?"+q)
		if w.Code != http.StatusBadRequest || !strings.HasPrefix(text(doc(t, w).Find(testID("form-error"))), "The filter is not valid") {
			t.Errorf("?%s = %d, %q", q, w.Code, text(doc(t, w).Find(testID("form-error"))))
		}
	}
	if w := br.get(t, tn.base+"/console/members/0190a0a0-0000-7000-8000-000000000000/wallet"); w.Code != http.StatusNotFound {
		t.Errorf("wallet of nobody = %d, want 404", w.Code)
	}
}
