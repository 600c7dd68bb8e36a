package rewards_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/audit"
	"github.com/guildhall/guildhall/engine/db"
	"github.com/guildhall/guildhall/engine/db/dbtest"
	"github.com/guildhall/guildhall/engine/identity"
	"github.com/guildhall/guildhall/engine/identity/identitytest"
	"github.com/guildhall/guildhall/engine/inbox"
	"github.com/guildhall/guildhall/engine/ledger"
	"github.com/guildhall/guildhall/engine/rewards"
)

type testBundle struct {
	ctx     context.Context
	db      *db.DB
	rewards *rewards.Service
	inbox   *inbox.Service
	ledger  *ledger.Service
	audit   *audit.Service
	ids     identitytest.Bundle
	clock   *identitytest.Clock
	members []uuid.UUID
}

// setup makes a committed tenant with n members and the services.
func setup(t testing.TB, n int) testBundle {
	t.Helper()
	ctx, _ := dbtest.NewTenant(t)
	d := db.New(dbtest.Pool(t))
	b := testBundle{ctx: ctx, db: d, ledger: ledger.NewService(d, nil), audit: audit.NewService(d), ids: identitytest.New(t, d, identity.Config{})}
	b.clock = b.ids.Clock
	b.inbox = inbox.NewService(d, inbox.Config{Now: b.clock.Now})
	b.rewards = rewards.NewService(d, b.clock.Now).WithNotifier(b.inbox)
	for i := range n {
		b.members = append(b.members, b.member(t, fmt.Sprintf("m%d@example.com", i)))
	}
	return b
}

func (b testBundle) member(t testing.TB, email string) uuid.UUID {
	t.Helper()
	u, _, err := b.ids.Service.SeedUser(b.ctx, identity.SeedUserParams{
		Email: email, DisplayName: "Member", Password: "correct horse battery", Role: "member",
	})
	if err != nil {
		t.Fatal(err)
	}
	return u.ID
}

func key() string { return uuid.Must(uuid.NewV7()).String() }

func ptr[T any](v T) *T { return &v }

// fund grants a member coins.
func (b testBundle) fund(t testing.TB, member uuid.UUID, coins int64) {
	t.Helper()
	if _, err := b.ledger.Adjust(b.ctx, ledger.AdjustParams{Member: member, Amount: coins, Reason: "test funds", IdempotencyKey: key()}); err != nil {
		t.Fatalf("Adjust() = %v", err)
	}
}

func (b testBundle) balance(t testing.TB, member uuid.UUID) int64 {
	t.Helper()
	w, err := b.ledger.Wallet(b.ctx, member)
	if err != nil {
		t.Fatal(err)
	}
	return w.Balance
}

func (b testBundle) create(t testing.TB, p rewards.RewardParams) rewards.Reward {
	t.Helper()
	if p.Name == "" {
		p.Name = "Reward " + key()[:8]
	}
	r, err := b.rewards.CreateReward(b.ctx, p)
	if err != nil {
		t.Fatalf("CreateReward() = %v", err)
	}
	return r
}

func (b testBundle) redeem(t testing.TB, reward, member uuid.UUID) rewards.Order {
	t.Helper()
	o, _, err := b.rewards.Redeem(b.ctx, rewards.RedeemParams{Reward: reward, Member: member, IdempotencyKey: key()})
	if err != nil {
		t.Fatalf("Redeem() = %v", err)
	}
	return o
}

func (b testBundle) stock(t testing.TB, reward uuid.UUID) *int {
	t.Helper()
	r, err := b.rewards.Reward(b.ctx, reward)
	if err != nil {
		t.Fatal(err)
	}
	return r.Stock
}

func (b testBundle) orders(t testing.TB, p rewards.ListOrdersParams) []rewards.Order {
	t.Helper()
	p.Limit = 100
	page, err := b.rewards.ListOrders(b.ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	return page.Orders
}

func (b testBundle) verify(t testing.TB) {
	t.Helper()
	r, err := b.ledger.Verify(b.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !r.OK() {
		t.Errorf("ledger verify: %+v", r)
	}
}

func (b testBundle) auditActions(t testing.TB, prefix string) []string {
	t.Helper()
	page, err := b.audit.List(b.ctx, audit.ListParams{Action: prefix, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range page.Events {
		out = append(out, e.Action)
	}
	slices.Sort(out)
	return out
}

func fields(err error) []string {
	var out []string
	for _, f := range engine.ErrorFields(err) {
		out = append(out, f.Field)
	}
	slices.Sort(out)
	return out
}

// concurrently runs fn(i) for i in [0, n) at once and returns the errors.
func concurrently(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = fn(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// tally counts errors by the sentinel they are; nil counts as "ok".
func tally(t *testing.T, errs []error, sentinels map[string]error) map[string]int {
	t.Helper()
	out := map[string]int{}
next:
	for _, err := range errs {
		if err == nil {
			out["ok"]++
			continue
		}
		for name, s := range sentinels {
			if errors.Is(err, s) {
				out[name]++
				continue next
			}
		}
		t.Errorf("unexpected error: %v", err)
	}
	return out
}

var address = &rewards.Address{Name: "Ada Lovelace", Line1: "1 Main Street", City: "Berlin", PostalCode: "10115", Country: "de"}

func TestCatalog(t *testing.T) {
	t.Parallel()
	b := setup(t, 1)

	t.Run("CreateAndGet", func(t *testing.T) {
		from := b.clock.Now().Add(-time.Hour).UTC().Truncate(time.Microsecond)
		r := b.create(t, rewards.RewardParams{Name: "  Mug  ", Description: "A mug.", ImageURL: "https://cdn.example/mug.png",
			Kind: rewards.KindPhysical, Price: 120, Stock: ptr(10), PerMemberLimit: ptr(2), AvailableFrom: &from})
		if r.Name != "Mug" || !r.Active || r.Price != 120 || *r.Stock != 10 || *r.PerMemberLimit != 2 || r.CodesAvailable != nil || !r.AvailableFrom.Equal(from) {
			t.Errorf("CreateReward() = %+v", r)
		}
		got, err := b.rewards.Reward(b.ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(r, got); diff != "" {
			t.Errorf("Reward() differs from what CreateReward returned (-want +got):\n%s", diff)
		}
		coupon := b.create(t, rewards.RewardParams{Kind: rewards.KindCoupon, Price: 5, Active: ptr(false)})
		if coupon.Active || coupon.CodesAvailable == nil || *coupon.CodesAvailable != 0 {
			t.Errorf("CreateReward(coupon, inactive) = %+v", coupon)
		}
	})

	t.Run("Validation", func(t *testing.T) {
		now := b.clock.Now()
		cases := []struct {
			name string
			p    rewards.RewardParams
			want []string
		}{
			{"Everything", rewards.RewardParams{Name: " ", ImageURL: "http://x.example/a.png", Kind: "toy", Price: 0, Stock: ptr(-1),
				PerMemberLimit: ptr(0), AvailableFrom: &now, AvailableUntil: &now},
				[]string{"available_until", "image_url", "kind", "name", "per_member_limit", "price", "stock"}},
			{"NegativePrice", rewards.RewardParams{Name: "x", Kind: rewards.KindDigital, Price: -5}, []string{"price"}},
			{"HugePrice", rewards.RewardParams{Name: "x", Kind: rewards.KindDigital, Price: 1 << 62}, []string{"price"}},
			{"JustOverMaxPrice", rewards.RewardParams{Name: "x", Kind: rewards.KindDigital, Price: rewards.MaxPrice + 1}, []string{"price"}},
			{"NoKind", rewards.RewardParams{Name: "x", Price: 1}, []string{"kind"}},
			{"LongName", rewards.RewardParams{Name: strings.Repeat("x", 101), Kind: rewards.KindDigital, Price: 1}, []string{"name"}},
			{"ImageNotURL", rewards.RewardParams{Name: "x", Kind: rewards.KindDigital, Price: 1, ImageURL: "https://"}, []string{"image_url"}},
			{"ImageWithSpace", rewards.RewardParams{Name: "x", Kind: rewards.KindDigital, Price: 1, ImageURL: "https://a.example/b c.png"}, []string{"image_url"}},
			{"ControlInName", rewards.RewardParams{Name: "a\x00b", Kind: rewards.KindDigital, Price: 1}, []string{"name"}},
		}
		before, _ := b.rewards.ListRewards(b.ctx, rewards.ListRewardsParams{Limit: 100})
		for _, tt := range cases {
			t.Run(tt.name, func(t *testing.T) {
				_, err := b.rewards.CreateReward(b.ctx, tt.p)
				if engine.ErrorCode(err) != engine.CodeInvalid {
					t.Fatalf("CreateReward() = %v, want invalid", err)
				}
				if diff := cmp.Diff(tt.want, fields(err)); diff != "" {
					t.Errorf("fields (-want +got):\n%s", diff)
				}
			})
		}
		after, _ := b.rewards.ListRewards(b.ctx, rewards.ListRewardsParams{Limit: 100})
		if len(after.Rewards) != len(before.Rewards) {
			t.Errorf("invalid creates wrote rewards: %d before, %d after", len(before.Rewards), len(after.Rewards))
		}
	})

	t.Run("Update", func(t *testing.T) {
		r := b.create(t, rewards.RewardParams{Name: "Cap", Kind: rewards.KindPhysical, Price: 50, Stock: ptr(3)})
		up, err := b.rewards.UpdateReward(b.ctx, r.ID, rewards.RewardParams{Name: "Blue cap", Price: 60, PerMemberLimit: ptr(1)})
		if err != nil {
			t.Fatal(err)
		}
		if up.Name != "Blue cap" || up.Price != 60 || up.Stock != nil || *up.PerMemberLimit != 1 || !up.Active || up.Kind != rewards.KindPhysical {
			t.Errorf("UpdateReward() = %+v", up)
		}
		if _, err := b.rewards.UpdateReward(b.ctx, r.ID, rewards.RewardParams{Name: "Cap", Kind: rewards.KindDigital, Price: 1}); !slices.Equal(fields(err), []string{"kind"}) {
			t.Errorf("UpdateReward(kind change) = %v, want invalid kind", err)
		}
		if _, err := b.rewards.UpdateReward(b.ctx, r.ID, rewards.RewardParams{Name: "Cap", Price: 0}); engine.ErrorCode(err) != engine.CodeInvalid {
			t.Errorf("UpdateReward(price 0) = %v, want invalid", err)
		}
		if _, err := b.rewards.UpdateReward(b.ctx, uuid.Must(uuid.NewV7()), rewards.RewardParams{Name: "Cap", Price: 1}); !errors.Is(err, rewards.ErrNotFound) {
			t.Errorf("UpdateReward(unknown) = %v, want ErrNotFound", err)
		}
		off, err := b.rewards.DeactivateReward(b.ctx, r.ID)
		if err != nil || off.Active {
			t.Errorf("DeactivateReward() = %+v, %v", off, err)
		}
		// Deactivating twice is no change (and not audited twice).
		if _, err := b.rewards.DeactivateReward(b.ctx, r.ID); err != nil {
			t.Error(err)
		}
		// An update without Active leaves it inactive; with it, back on.
		if up, _ := b.rewards.UpdateReward(b.ctx, r.ID, rewards.RewardParams{Name: "Cap", Price: 60}); up.Active {
			t.Errorf("UpdateReward(no active) activated the reward")
		}
		if up, _ := b.rewards.UpdateReward(b.ctx, r.ID, rewards.RewardParams{Name: "Cap", Price: 60, Active: ptr(true)}); !up.Active {
			t.Errorf("UpdateReward(active) did not activate the reward")
		}
		if _, err := b.rewards.DeactivateReward(b.ctx, uuid.Must(uuid.NewV7())); !errors.Is(err, rewards.ErrNotFound) {
			t.Errorf("DeactivateReward(unknown) = %v, want ErrNotFound", err)
		}
		if _, err := b.rewards.Reward(b.ctx, uuid.Must(uuid.NewV7())); !errors.Is(err, rewards.ErrNotFound) {
			t.Errorf("Reward(unknown) = %v, want ErrNotFound", err)
		}
	})

	t.Run("ListFilters", func(t *testing.T) {
		b := setup(t, 0)
		var made []uuid.UUID
		for i, kind := range []string{rewards.KindDigital, rewards.KindCoupon, rewards.KindDigital, rewards.KindPhysical} {
			r := b.create(t, rewards.RewardParams{Name: fmt.Sprintf("Item %d_%%", i), Kind: kind, Price: 1, Active: ptr(i != 2)})
			made = append(made, r.ID)
		}
		ids := func(p rewards.ListRewardsParams) []uuid.UUID {
			page, err := b.rewards.ListRewards(b.ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			var out []uuid.UUID
			for _, r := range page.Rewards {
				out = append(out, r.ID)
			}
			return out
		}
		cases := []struct {
			name string
			p    rewards.ListRewardsParams
			want []uuid.UUID
		}{
			{"All", rewards.ListRewardsParams{}, []uuid.UUID{made[3], made[2], made[1], made[0]}},
			{"Active", rewards.ListRewardsParams{Active: ptr(true)}, []uuid.UUID{made[3], made[1], made[0]}},
			{"Inactive", rewards.ListRewardsParams{Active: ptr(false)}, []uuid.UUID{made[2]}},
			{"Kind", rewards.ListRewardsParams{Kind: rewards.KindDigital}, []uuid.UUID{made[2], made[0]}},
			{"Query", rewards.ListRewardsParams{Query: "item 1"}, []uuid.UUID{made[1]}},
			{"QueryWildcardsAreLiteral", rewards.ListRewardsParams{Query: "3_%"}, []uuid.UUID{made[3]}},
		}
		for _, tt := range cases {
			if diff := cmp.Diff(tt.want, ids(tt.p)); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tt.name, diff)
			}
		}
		// Pages of one follow each other.
		var paged []uuid.UUID
		cur := ""
		for {
			page, err := b.rewards.ListRewards(b.ctx, rewards.ListRewardsParams{Limit: 1, Cursor: cur})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range page.Rewards {
				paged = append(paged, r.ID)
			}
			if cur = page.Next; cur == "" {
				break
			}
		}
		if diff := cmp.Diff([]uuid.UUID{made[3], made[2], made[1], made[0]}, paged); diff != "" {
			t.Errorf("pages (-want +got):\n%s", diff)
		}
		_, err := b.rewards.ListRewards(b.ctx, rewards.ListRewardsParams{Kind: "toy", Limit: 101, Cursor: "nope"})
		if diff := cmp.Diff([]string{"cursor", "kind", "limit"}, fields(err)); diff != "" {
			t.Errorf("bad filters (-want +got):\n%s", diff)
		}
	})

	want := []string{"reward.created", "reward.created", "reward.created", "reward.deactivated", "reward.updated", "reward.updated", "reward.updated"}
	if diff := cmp.Diff(want, b.auditActions(t, "reward.")); diff != "" {
		t.Errorf("audit (-want +got):\n%s", diff)
	}
}

func TestRedeem(t *testing.T) {
	t.Parallel()
	b := setup(t, 2)
	m := b.members[0]
	b.fund(t, m, 1000)

	t.Run("Digital", func(t *testing.T) {
		r := b.create(t, rewards.RewardParams{Name: "Wallpaper", Kind: rewards.KindDigital, Price: 100, Stock: ptr(5)})
		before := b.balance(t, m)
		o, replayed, err := b.rewards.Redeem(b.ctx, rewards.RedeemParams{Reward: r.ID, Member: m, ShippingAddress: address, IdempotencyKey: key()})
		if err != nil {
			t.Fatal(err)
		}
		if replayed || o.Status != rewards.StatusFulfilled || o.FulfilledAt == nil || o.Coins != 100 || o.MemberID != m ||
			o.RewardName != "Wallpaper" || o.ShippingAddress != nil {
			t.Errorf("Redeem(digital) = %+v, %v", o, replayed)
		}
		if got := b.balance(t, m); got != before-100 {
			t.Errorf("balance = %d, want %d", got, before-100)
		}
		if s := b.stock(t, r.ID); *s != 4 {
			t.Errorf("stock = %d, want 4", *s)
		}
		tx, err := b.ledger.Transaction(b.ctx, o.RedemptionID)
		if err != nil {
			t.Fatal(err)
		}
		if tx.Kind != ledger.KindRedemption || tx.OrderID == nil || *tx.OrderID != o.ID || tx.Memo != "Wallpaper" {
			t.Errorf("redemption transaction = %+v", tx)
		}
		for _, e := range tx.Entries {
			if (e.AccountID == m && e.Amount != -100) || (e.AccountID == ledger.AccountRedemptions && e.Amount != 100) {
				t.Errorf("entry %+v", e)
			}
		}
	})

	t.Run("Physical", func(t *testing.T) {
		r := b.create(t, rewards.RewardParams{Name: "Hoodie", Kind: rewards.KindPhysical, Price: 300})
		before := b.balance(t, m)
		_, _, err := b.rewards.Redeem(b.ctx, rewards.RedeemParams{Reward: r.ID, Member: m, IdempotencyKey: key()})
		if !errors.Is(err, rewards.ErrAddressRequired) || engine.ErrorCode(err) != engine.CodeInvalid {
			t.Errorf("Redeem(no address) = %v, want ErrAddressRequired", err)
		}
		_, _, err = b.rewards.Redeem(b.ctx, rewards.RedeemParams{Reward: r.ID, Member: m, IdempotencyKey: key(),
			ShippingAddress: &rewards.Address{Line1: "x", Country: "Germany", Phone: "a\x01b"}})
		if diff := cmp.Diff([]string{"shipping_address.city", "shipping_address.country", "shipping_address.name", "shipping_address.phone"}, fields(err)); diff != "" {
			t.Errorf("Redeem(bad address) fields (-want +got):\n%s", diff)
		}
		if got := b.balance(t, m); got != before {
			t.Errorf("failed redemptions spent %d coins", before-got)
		}
		if n := len(b.orders(t, rewards.ListOrdersParams{Reward: &r.ID})); n != 0 {
			t.Errorf("failed redemptions created %d orders", n)
		}
		o, _, err := b.rewards.Redeem(b.ctx, rewards.RedeemParams{Reward: r.ID, Member: m, ShippingAddress: address, IdempotencyKey: key()})
		if err != nil {
			t.Fatal(err)
		}
		want := *address
		want.Country = "DE"
		if o.Status != rewards.StatusPending || o.FulfilledAt != nil || o.ShippingAddress == nil || *o.ShippingAddress != want {
			t.Errorf("Redeem(physical) = %+v", o)
		}
	})

	t.Run("BadInput", func(t *testing.T) {
		before := b.balance(t, m)
		_, _, err := b.rewards.Redeem(b.ctx, rewards.RedeemParams{Reward: uuid.Must(uuid.NewV7()), Member: m, IdempotencyKey: key()})
		if !errors.Is(err, rewards.ErrUnknownReward) || engine.ErrorCode(err) != engine.CodeInvalid {
			t.Errorf("Redeem(unknown reward) = %v, want ErrUnknownReward", err)
		}
		_, _, err = b.rewards.Redeem(b.ctx, rewards.RedeemParams{})
		if diff := cmp.Diff([]string{"idempotency_key", "member_id", "reward_id"}, fields(err)); diff != "" {
			t.Errorf("Redeem(nothing) fields (-want +got):\n%s", diff)
		}
		if got := b.balance(t, m); got != before {
			t.Errorf("bad input spent %d coins", before-got)
		}
	})

	t.Run("InsufficientFunds", func(t *testing.T) {
		poor := b.members[1]
		r := b.create(t, rewards.RewardParams{Kind: rewards.KindDigital, Price: 10, Stock: ptr(1)})
		_, _, err := b.rewards.Redeem(b.ctx, rewards.RedeemParams{Reward: r.ID, Member: poor, IdempotencyKey: key()})
		if !errors.Is(err, ledger.ErrInsufficientFunds) {
			t.Errorf("Redeem(no coins) = %v, want ErrInsufficientFunds", err)
		}
		if s := b.stock(t, r.ID); *s != 1 {
			t.Errorf("stock after a failed redemption = %d, want 1", *s)
		}
	})

	t.Run("Inactive", func(t *testing.T) {
		r := b.create(t, rewards.RewardParams{Kind: rewards.KindDigital, Price: 10, Active: ptr(false)})
		if _, _, err := b.rewards.Redeem(b.ctx, rewards.RedeemParams{Reward: r.ID, Member: m, IdempotencyKey: key()}); !errors.Is(err, rewards.ErrUnavailable) {
			t.Errorf("Redeem(inactive) = %v, want ErrUnavailable", err)
		}
	})

	t.Run("OutOfStock", func(t *testing.T) {
		r := b.create(t, rewards.RewardParams{Kind: rewards.KindDigital, Price: 10, Stock: ptr(0)})
		if _, _, err := b.rewards.Redeem(b.ctx, rewards.RedeemParams{Reward: r.ID, Member: m, IdempotencyKey: key()}); !errors.Is(err, rewards.ErrOutOfStock) {
			t.Errorf("Redeem(stock 0) = %v, want ErrOutOfStock", err)
		}
	})

	t.Run("Banned", func(t *testing.T) {
		banned := b.member(t, "banned@example.com")
		b.fund(t, banned, 100)
		if err := b.db.InTenant(b.ctx, func(tx pgx.Tx) error {
			_, err := tx.Exec(b.ctx, `UPDATE memberships SET banned_at = now() WHERE user_id = $1`, banned)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		r := b.create(t, rewards.RewardParams{Kind: rewards.KindDigital, Price: 10})
		if _, _, err := b.rewards.Redeem(b.ctx, rewards.RedeemParams{Reward: r.ID, Member: banned, IdempotencyKey: key()}); !errors.Is(err, rewards.ErrBanned) {
			t.Errorf("Redeem(banned) = %v, want ErrBanned", err)
		}
		if got := b.balance(t, banned); got != 100 {
			t.Errorf("banned member's balance = %d, want 100", got)
		}
	})
	b.verify(t)
}

// TestOverspendRace: a member with balance B redeems a reward priced c N
// times at once, N much more than B/c: exactly B/c redemptions succeed.
func TestOverspendRace(t *testing.T) {
	t.Parallel()
	b := setup(t, 1)
	m := b.members[0]
	const balance, price, n = 100, 7, 40
	b.fund(t, m, balance)
	r := b.create(t, rewards.RewardParams{Kind: rewards.KindDigital, Price: price})
	errs := concurrently(n, func(int) error {
		_, _, err := b.rewards.Redeem(b.ctx, rewards.RedeemParams{Reward: r.ID, Member: m, IdempotencyKey: key()})
		return err
	})
	got := tally(t, errs, map[string]error{"insufficient": ledger.ErrInsufficientFunds})
	want := map[string]int{"ok": balance / price, "insufficient": n - balance/price}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
	if got := b.balance(t, m); got != balance-balance/price*price {
		t.Errorf("balance = %d, want %d", got, balance-balance/price*price)
	}
	if n := len(b.orders(t, rewards.ListOrdersParams{Member: &m})); n != balance/price {
		t.Errorf("orders = %d, want %d", n, balance/price)
	}
	b.verify(t)
}

// TestStockRace: stock S, many members at once: exactly S orders.
func TestStockRace(t *testing.T) {
	t.Parallel()
	const stock, n = 5, 16
	b := setup(t, n)
	for _, m := range b.members {
		b.fund(t, m, 50)
	}
	r := b.create(t, rewards.RewardParams{Kind: rewards.KindDigital, Price: 20, Stock: ptr(stock)})
	errs := concurrently(n, func(i int) error {
		_, _, err := b.rewards.Redeem(b.ctx, rewards.RedeemParams{Reward: r.ID, Member: b.members[i], IdempotencyKey: key()})
		return err
	})
	got := tally(t, errs, map[string]error{"out_of_stock": rewards.ErrOutOfStock})
	if diff := cmp.Diff(map[string]int{"ok": stock, "out_of_stock": n - stock}, got); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
	if s := b.stock(t, r.ID); *s != 0 {
		t.Errorf("stock = %d, want 0", *s)
	}
	if got := len(b.orders(t, rewards.ListOrdersParams{Reward: &r.ID})); got != stock {
		t.Errorf("orders = %d, want %d", got, stock)
	}
	var spent int64
	for i, m := range b.members {
		spent += 50 - b.balance(t, m)
		if errs[i] != nil && b.balance(t, m) != 50 {
			t.Errorf("member %d was refused but charged", i)
		}
	}
	if spent != stock*20 {
		t.Errorf("coins spent = %d, want %d", spent, stock*20)
	}
	b.verify(t)
}

// TestPerMemberLimitRace: one member, limit L, many redemptions at once.
func TestPerMemberLimitRace(t *testing.T) {
	t.Parallel()
	const limit, n = 2, 10
	b := setup(t, 1)
	m := b.members[0]
	b.fund(t, m, 1000)
	r := b.create(t, rewards.RewardParams{Kind: rewards.KindDigital, Price: 10, PerMemberLimit: ptr(limit)})
	errs := concurrently(n, func(int) error {
		_, _, err := b.rewards.Redeem(b.ctx, rewards.RedeemParams{Reward: r.ID, Member: m, IdempotencyKey: key()})
		return err
	})
	got := tally(t, errs, map[string]error{"limit": rewards.ErrLimitReached})
	if diff := cmp.Diff(map[string]int{"ok": limit, "limit": n - limit}, got); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
	if bal := b.balance(t, m); bal != 1000-limit*10 {
		t.Errorf("balance = %d, want %d", bal, 1000-limit*10)
	}
	it, err := b.rewards.CatalogItem(b.ctx, m, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if it.MyRemaining == nil || *it.MyRemaining != 0 || it.Redeemable {
		t.Errorf("CatalogItem() = %+v, want none remaining for the member", it)
	}
	b.verify(t)
}

func TestCoupons(t *testing.T) {
	t.Parallel()
	const n = 8
	b := setup(t, n)
	for _, m := range b.members {
		b.fund(t, m, 100)
	}
	r := b.create(t, rewards.RewardParams{Name: "10% off", Kind: rewards.KindCoupon, Price: 25})

	t.Run("Upload", func(t *testing.T) {
		res, err := b.rewards.UploadCodes(b.ctx, r.ID, []string{"AAA", " BBB ", "AAA", "CCC"})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(rewards.UploadResult{Received: 4, Added: 3, Duplicates: 1, Available: 3}, res); diff != "" {
			t.Errorf("UploadCodes() (-want +got):\n%s", diff)
		}
		res, err = b.rewards.UploadCodes(b.ctx, r.ID, []string{"BBB", "DDD"})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(rewards.UploadResult{Received: 2, Added: 1, Duplicates: 1, Available: 4}, res); diff != "" {
			t.Errorf("UploadCodes(again) (-want +got):\n%s", diff)
		}
		_, err = b.rewards.UploadCodes(b.ctx, r.ID, []string{"ok", "  ", string(make([]byte, 201)), "a\tb"})
		if diff := cmp.Diff([]string{"codes[1]", "codes[2]", "codes[3]"}, fields(err)); diff != "" {
			t.Errorf("UploadCodes(bad) fields (-want +got):\n%s", diff)
		}
		if _, err := b.rewards.UploadCodes(b.ctx, r.ID, nil); !slices.Equal(fields(err), []string{"codes"}) {
			t.Errorf("UploadCodes(none) = %v, want invalid codes", err)
		}
		digital := b.create(t, rewards.RewardParams{Kind: rewards.KindDigital, Price: 1})
		if _, err := b.rewards.UploadCodes(b.ctx, digital.ID, []string{"X"}); !errors.Is(err, rewards.ErrNotCoupon) {
			t.Errorf("UploadCodes(digital) = %v, want ErrNotCoupon", err)
		}
		if _, err := b.rewards.UploadCodes(b.ctx, uuid.Must(uuid.NewV7()), []string{"X"}); !errors.Is(err, rewards.ErrNotFound) {
			t.Errorf("UploadCodes(unknown) = %v, want ErrNotFound", err)
		}
		got, _ := b.rewards.Reward(b.ctx, r.ID)
		if got.CodesAvailable == nil || *got.CodesAvailable != 4 {
			t.Errorf("CodesAvailable = %v, want 4", got.CodesAvailable)
		}
	})

	t.Run("ExhaustedConcurrently", func(t *testing.T) {
		orders := make([]rewards.Order, n)
		errs := concurrently(n, func(i int) error {
			var err error
			orders[i], _, err = b.rewards.Redeem(b.ctx, rewards.RedeemParams{Reward: r.ID, Member: b.members[i], IdempotencyKey: key()})
			return err
		})
		got := tally(t, errs, map[string]error{"no_codes": rewards.ErrNoCodes})
		if diff := cmp.Diff(map[string]int{"ok": 4, "no_codes": n - 4}, got); diff != "" {
			t.Errorf("outcomes (-want +got):\n%s", diff)
		}
		var codes []string
		for i, o := range orders {
			if errs[i] != nil {
				if bal := b.balance(t, b.members[i]); bal != 100 {
					t.Errorf("member %d got no code but was charged: balance %d", i, bal)
				}
				continue
			}
			if o.Status != rewards.StatusFulfilled || o.Code == "" || o.Kind != rewards.KindCoupon {
				t.Errorf("coupon order = %+v", o)
			}
			codes = append(codes, o.Code)
			// The member sees the code in their own order too.
			mine, err := b.rewards.MemberOrder(b.ctx, b.members[i], o.ID)
			if err != nil || mine.Code != o.Code {
				t.Errorf("MemberOrder() = %+v, %v", mine, err)
			}
		}
		slices.Sort(codes)
		if diff := cmp.Diff([]string{"AAA", "BBB", "CCC", "DDD"}, codes); diff != "" {
			t.Errorf("codes handed out (-want +got):\n%s", diff)
		}
		it, err := b.rewards.CatalogItem(b.ctx, b.members[0], r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if it.Remaining == nil || *it.Remaining != 0 || it.Redeemable {
			t.Errorf("CatalogItem() = %+v, want none remaining", it)
		}
	})
	b.verify(t)
}

func TestIdempotentRedeem(t *testing.T) {
	t.Parallel()
	b := setup(t, 2)
	m := b.members[0]
	b.fund(t, m, 500)
	r := b.create(t, rewards.RewardParams{Kind: rewards.KindPhysical, Price: 100, Stock: ptr(10)})
	other := b.create(t, rewards.RewardParams{Kind: rewards.KindPhysical, Price: 100})

	t.Run("Retry", func(t *testing.T) {
		p := rewards.RedeemParams{Reward: r.ID, Member: m, ShippingAddress: address, IdempotencyKey: key()}
		first, replayed, err := b.rewards.Redeem(b.ctx, p)
		if err != nil || replayed {
			t.Fatalf("Redeem() = %v, replayed %v", err, replayed)
		}
		again, replayed, err := b.rewards.Redeem(b.ctx, p)
		if err != nil || !replayed {
			t.Fatalf("Redeem(again) = %v, replayed %v", err, replayed)
		}
		if diff := cmp.Diff(first, again); diff != "" {
			t.Errorf("replay differs (-first +again):\n%s", diff)
		}
		if bal := b.balance(t, m); bal != 400 {
			t.Errorf("balance = %d, want 400 (debited once)", bal)
		}
		if s := b.stock(t, r.ID); *s != 9 {
			t.Errorf("stock = %d, want 9", *s)
		}
	})

	t.Run("Concurrent", func(t *testing.T) {
		p := rewards.RedeemParams{Reward: r.ID, Member: m, ShippingAddress: address, IdempotencyKey: key()}
		orders := make([]rewards.Order, 6)
		errs := concurrently(6, func(i int) error {
			var err error
			orders[i], _, err = b.rewards.Redeem(b.ctx, p)
			return err
		})
		for i, err := range errs {
			if err != nil || orders[i].ID != orders[0].ID {
				t.Errorf("Redeem() #%d = %v, %v; want the same order", i, orders[i].ID, err)
			}
		}
		if bal := b.balance(t, m); bal != 300 {
			t.Errorf("balance = %d, want 300 (debited once)", bal)
		}
	})

	t.Run("KeyReused", func(t *testing.T) {
		k := key()
		if _, _, err := b.rewards.Redeem(b.ctx, rewards.RedeemParams{Reward: r.ID, Member: m, ShippingAddress: address, IdempotencyKey: k}); err != nil {
			t.Fatal(err)
		}
		before := b.balance(t, m)
		cases := map[string]rewards.RedeemParams{
			"OtherReward":  {Reward: other.ID, Member: m, ShippingAddress: address, IdempotencyKey: k},
			"OtherAddress": {Reward: r.ID, Member: m, ShippingAddress: &rewards.Address{Name: "B", Line1: "2 Road", City: "Paris", Country: "FR"}, IdempotencyKey: k},
			"OtherMember":  {Reward: r.ID, Member: b.members[1], ShippingAddress: address, IdempotencyKey: k},
		}
		for name, p := range cases {
			_, _, err := b.rewards.Redeem(b.ctx, p)
			if !errors.Is(err, ledger.ErrKeyReused) || engine.ErrorCode(err) != engine.CodeInvalid {
				t.Errorf("%s: Redeem() = %v, want ErrKeyReused (invalid)", name, err)
			}
		}
		if got := b.balance(t, m); got != before {
			t.Errorf("reused keys spent %d coins", before-got)
		}
	})

	t.Run("FailureDoesNotBurnTheKey", func(t *testing.T) {
		poor := b.members[1]
		p := rewards.RedeemParams{Reward: r.ID, Member: poor, ShippingAddress: address, IdempotencyKey: key()}
		if _, _, err := b.rewards.Redeem(b.ctx, p); !errors.Is(err, ledger.ErrInsufficientFunds) {
			t.Fatalf("Redeem() = %v, want ErrInsufficientFunds", err)
		}
		b.fund(t, poor, 100)
		if _, _, err := b.rewards.Redeem(b.ctx, p); err != nil {
			t.Errorf("Redeem(after funding, same key) = %v", err)
		}
	})
	b.verify(t)
}

func TestOrderTransitions(t *testing.T) {
	t.Parallel()
	b := setup(t, 2)
	m := b.members[0]
	b.fund(t, m, 1000)
	r := b.create(t, rewards.RewardParams{Name: "Poster", Kind: rewards.KindPhysical, Price: 100, Stock: ptr(5), PerMemberLimit: ptr(1)})
	place := func(t *testing.T) rewards.Order {
		t.Helper()
		o, _, err := b.rewards.Redeem(b.ctx, rewards.RedeemParams{Reward: r.ID, Member: m, ShippingAddress: address, IdempotencyKey: key()})
		if err != nil {
			t.Fatal(err)
		}
		return o
	}

	for _, tt := range []struct {
		status string
		act    func(context.Context, rewards.RefundParams) (rewards.Order, error)
	}{{rewards.StatusCancelled, b.rewards.Cancel}, {rewards.StatusRejected, b.rewards.Reject}} {
		t.Run("Refund_"+tt.status, func(t *testing.T) {
			o := place(t)
			if bal, s := b.balance(t, m), b.stock(t, r.ID); bal != 900 || *s != 4 {
				t.Fatalf("after redeeming: balance %d stock %d", bal, *s)
			}
			// The limit of one is used up until the order is refunded.
			if _, _, err := b.rewards.Redeem(b.ctx, rewards.RedeemParams{Reward: r.ID, Member: m, ShippingAddress: address, IdempotencyKey: key()}); !errors.Is(err, rewards.ErrLimitReached) {
				t.Errorf("Redeem(over limit) = %v, want ErrLimitReached", err)
			}
			p := rewards.RefundParams{Order: o.ID, Reason: "  Warehouse is empty ", IdempotencyKey: key()}
			got, err := tt.act(b.ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != tt.status || got.RefundID == nil || got.RefundedAt == nil || got.Note != "Warehouse is empty" {
				t.Errorf("order = %+v", got)
			}
			if bal, s := b.balance(t, m), b.stock(t, r.ID); bal != 1000 || *s != 5 {
				t.Errorf("after refund: balance %d stock %d, want 1000 and 5", bal, *s)
			}
			refund, err := b.ledger.Transaction(b.ctx, *got.RefundID)
			if err != nil {
				t.Fatal(err)
			}
			if refund.ReversesID == nil || *refund.ReversesID != o.RedemptionID || refund.OrderID == nil || *refund.OrderID != o.ID {
				t.Errorf("refund transaction = %+v", refund)
			}
			// The same key again: the same order, no second refund.
			again, err := tt.act(b.ctx, p)
			if err != nil || again.Status != tt.status || *again.RefundID != *got.RefundID {
				t.Errorf("retry = %+v, %v", again, err)
			}
			if bal := b.balance(t, m); bal != 1000 {
				t.Errorf("balance after retry = %d, want 1000", bal)
			}
			// A new key is a new request: the order is not pending any more.
			for name, act := range map[string]func() error{
				"Cancel": func() error {
					_, err := b.rewards.Cancel(b.ctx, rewards.RefundParams{Order: o.ID, Reason: "again", IdempotencyKey: key()})
					return err
				},
				"Reject": func() error {
					_, err := b.rewards.Reject(b.ctx, rewards.RefundParams{Order: o.ID, Reason: "again", IdempotencyKey: key()})
					return err
				},
				"Fulfil": func() error { _, err := b.rewards.Fulfil(b.ctx, rewards.FulfilParams{Order: o.ID}); return err },
			} {
				if err := act(); !errors.Is(err, rewards.ErrNotPending) || engine.ErrorCode(err) != engine.CodeConflict {
					t.Errorf("%s(%s order) = %v, want ErrNotPending", name, tt.status, err)
				}
			}
			if bal, s := b.balance(t, m), b.stock(t, r.ID); bal != 1000 || *s != 5 {
				t.Errorf("after refused transitions: balance %d stock %d, want 1000 and 5", bal, *s)
			}
		})
	}

	t.Run("Fulfil", func(t *testing.T) {
		o := place(t)
		got, err := b.rewards.Fulfil(b.ctx, rewards.FulfilParams{Order: o.ID, Note: "Tracking 123"})
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != rewards.StatusFulfilled || got.FulfilledAt == nil || got.Note != "Tracking 123" || got.RefundID != nil || got.HandledBy != "system" {
			t.Errorf("Fulfil() = %+v", got)
		}
		if _, err := b.rewards.Fulfil(b.ctx, rewards.FulfilParams{Order: o.ID}); !errors.Is(err, rewards.ErrNotPending) {
			t.Errorf("Fulfil(twice) = %v, want ErrNotPending", err)
		}
		if _, err := b.rewards.Cancel(b.ctx, rewards.RefundParams{Order: o.ID, Reason: "late", IdempotencyKey: key()}); !errors.Is(err, rewards.ErrNotPending) {
			t.Errorf("Cancel(fulfilled) = %v, want ErrNotPending", err)
		}
		if bal := b.balance(t, m); bal != 900 {
			t.Errorf("balance = %d, want 900", bal)
		}
	})

	t.Run("BadInput", func(t *testing.T) {
		if _, err := b.rewards.Cancel(b.ctx, rewards.RefundParams{Order: uuid.Must(uuid.NewV7()), Reason: "x", IdempotencyKey: key()}); !errors.Is(err, rewards.ErrOrderNotFound) {
			t.Errorf("Cancel(unknown) = %v, want ErrOrderNotFound", err)
		}
		_, err := b.rewards.Reject(b.ctx, rewards.RefundParams{Order: uuid.Must(uuid.NewV7())})
		if diff := cmp.Diff([]string{"idempotency_key", "reason"}, fields(err)); diff != "" {
			t.Errorf("Reject(no reason, no key) fields (-want +got):\n%s", diff)
		}
		if _, err := b.rewards.Fulfil(b.ctx, rewards.FulfilParams{Order: uuid.Must(uuid.NewV7())}); !errors.Is(err, rewards.ErrOrderNotFound) {
			t.Errorf("Fulfil(unknown) = %v, want ErrOrderNotFound", err)
		}
		// Another member's order is not found for a member.
		orders := b.orders(t, rewards.ListOrdersParams{Member: &m})
		if _, err := b.rewards.MemberOrder(b.ctx, b.members[1], orders[0].ID); !errors.Is(err, rewards.ErrOrderNotFound) {
			t.Errorf("MemberOrder(someone else's) = %v, want ErrOrderNotFound", err)
		}
		if _, err := b.rewards.ListOrders(b.ctx, rewards.ListOrdersParams{Status: "lost"}); !slices.Equal(fields(err), []string{"status"}) {
			t.Errorf("ListOrders(bad status) = %v", err)
		}
	})

	t.Run("Lists", func(t *testing.T) {
		count := func(p rewards.ListOrdersParams) int { return len(b.orders(t, p)) }
		for _, tt := range []struct {
			status string
			want   int
		}{{"", 3}, {rewards.StatusCancelled, 1}, {rewards.StatusRejected, 1}, {rewards.StatusFulfilled, 1}, {rewards.StatusPending, 0}} {
			if got := count(rewards.ListOrdersParams{Status: tt.status, Member: &m}); got != tt.want {
				t.Errorf("orders with status %q = %d, want %d", tt.status, got, tt.want)
			}
		}
		if got := count(rewards.ListOrdersParams{Member: &b.members[1]}); got != 0 {
			t.Errorf("other member's orders = %d, want 0", got)
		}
	})

	want := []string{"order.cancelled", "order.fulfilled", "order.rejected"}
	if diff := cmp.Diff(want, b.auditActions(t, "order.")); diff != "" {
		t.Errorf("audit (-want +got):\n%s", diff)
	}
	b.verify(t)
}

// TestConcurrentRefunds: many cancellations and rejections of one order
// at once refund it once.
func TestConcurrentRefunds(t *testing.T) {
	t.Parallel()
	b := setup(t, 1)
	m := b.members[0]
	b.fund(t, m, 100)
	r := b.create(t, rewards.RewardParams{Kind: rewards.KindPhysical, Price: 100, Stock: ptr(1)})
	o, _, err := b.rewards.Redeem(b.ctx, rewards.RedeemParams{Reward: r.ID, Member: m, ShippingAddress: address, IdempotencyKey: key()})
	if err != nil {
		t.Fatal(err)
	}
	errs := concurrently(8, func(i int) error {
		p := rewards.RefundParams{Order: o.ID, Reason: "race", IdempotencyKey: key()}
		if i%2 == 0 {
			_, err := b.rewards.Cancel(b.ctx, p)
			return err
		}
		_, err := b.rewards.Reject(b.ctx, p)
		return err
	})
	got := tally(t, errs, map[string]error{"not_pending": rewards.ErrNotPending})
	if diff := cmp.Diff(map[string]int{"ok": 1, "not_pending": 7}, got); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
	if bal, s := b.balance(t, m), b.stock(t, r.ID); bal != 100 || *s != 1 {
		t.Errorf("balance %d stock %d, want 100 and 1", bal, *s)
	}
	b.verify(t)
}

func TestFrozenWallet(t *testing.T) {
	t.Parallel()
	b := setup(t, 1)
	m := b.members[0]
	b.fund(t, m, 500)
	r := b.create(t, rewards.RewardParams{Kind: rewards.KindPhysical, Price: 100, Stock: ptr(3)})
	pending := b.redeemWithAddress(t, r.ID, m)
	if _, err := b.ledger.SetFrozen(b.ctx, m, true, "investigation"); err != nil {
		t.Fatal(err)
	}
	_, _, err := b.rewards.Redeem(b.ctx, rewards.RedeemParams{Reward: r.ID, Member: m, ShippingAddress: address, IdempotencyKey: key()})
	if !errors.Is(err, ledger.ErrFrozen) || engine.ErrorCode(err) != engine.CodeConflict {
		t.Errorf("Redeem(frozen) = %v, want ErrFrozen", err)
	}
	if bal, s := b.balance(t, m), b.stock(t, r.ID); bal != 400 || *s != 2 {
		t.Errorf("after a frozen redemption: balance %d stock %d, want 400 and 2", bal, *s)
	}
	if n := len(b.orders(t, rewards.ListOrdersParams{Member: &m})); n != 1 {
		t.Errorf("orders = %d, want 1", n)
	}
	// A refund still reaches a frozen wallet.
	if _, err := b.rewards.Reject(b.ctx, rewards.RefundParams{Order: pending.ID, Reason: "fraud", IdempotencyKey: key()}); err != nil {
		t.Fatal(err)
	}
	if bal := b.balance(t, m); bal != 500 {
		t.Errorf("balance after refund into a frozen wallet = %d, want 500", bal)
	}
	b.verify(t)
}

func (b testBundle) redeemWithAddress(t testing.TB, reward, member uuid.UUID) rewards.Order {
	t.Helper()
	o, _, err := b.rewards.Redeem(b.ctx, rewards.RedeemParams{Reward: reward, Member: member, ShippingAddress: address, IdempotencyKey: key()})
	if err != nil {
		t.Fatalf("Redeem() = %v", err)
	}
	return o
}

func TestAvailabilityWindow(t *testing.T) {
	t.Parallel()
	b := setup(t, 1)
	m := b.members[0]
	b.fund(t, m, 100)
	now := b.clock.Now()
	from, until := now.Add(time.Hour), now.Add(3*time.Hour)
	r := b.create(t, rewards.RewardParams{Kind: rewards.KindDigital, Price: 10, AvailableFrom: &from, AvailableUntil: &until})
	always := b.create(t, rewards.RewardParams{Kind: rewards.KindDigital, Price: 10})
	listed := func() []uuid.UUID {
		page, err := b.rewards.Catalog(b.ctx, rewards.CatalogParams{Member: m})
		if err != nil {
			t.Fatal(err)
		}
		var out []uuid.UUID
		for _, it := range page.Items {
			out = append(out, it.ID)
		}
		return out
	}
	redeem := func() error {
		_, _, err := b.rewards.Redeem(b.ctx, rewards.RedeemParams{Reward: r.ID, Member: m, IdempotencyKey: key()})
		return err
	}

	if err := redeem(); !errors.Is(err, rewards.ErrUnavailable) {
		t.Errorf("Redeem(before the window) = %v, want ErrUnavailable", err)
	}
	if diff := cmp.Diff([]uuid.UUID{always.ID}, listed()); diff != "" {
		t.Errorf("catalog before the window (-want +got):\n%s", diff)
	}
	if _, err := b.rewards.CatalogItem(b.ctx, m, r.ID); !errors.Is(err, rewards.ErrNotFound) {
		t.Errorf("CatalogItem(before the window) = %v, want ErrNotFound", err)
	}

	b.clock.Advance(2 * time.Hour)
	if err := redeem(); err != nil {
		t.Errorf("Redeem(in the window) = %v", err)
	}
	if diff := cmp.Diff([]uuid.UUID{always.ID, r.ID}, listed()); diff != "" {
		t.Errorf("catalog in the window (-want +got):\n%s", diff)
	}

	b.clock.Advance(2 * time.Hour)
	if err := redeem(); !errors.Is(err, rewards.ErrUnavailable) {
		t.Errorf("Redeem(after the window) = %v, want ErrUnavailable", err)
	}
	if diff := cmp.Diff([]uuid.UUID{always.ID}, listed()); diff != "" {
		t.Errorf("catalog after the window (-want +got):\n%s", diff)
	}
	if bal := b.balance(t, m); bal != 90 {
		t.Errorf("balance = %d, want 90", bal)
	}
	b.verify(t)
}

func TestMemberCatalog(t *testing.T) {
	t.Parallel()
	b := setup(t, 2)
	m := b.members[0]
	b.fund(t, m, 100)
	limited := b.create(t, rewards.RewardParams{Name: "Limited", Kind: rewards.KindDigital, Price: 10, Stock: ptr(3), PerMemberLimit: ptr(2)})
	coupon := b.create(t, rewards.RewardParams{Name: "Coupon", Kind: rewards.KindCoupon, Price: 10, Stock: ptr(10)})
	if _, err := b.rewards.UploadCodes(b.ctx, coupon.ID, []string{"A", "B"}); err != nil {
		t.Fatal(err)
	}
	off := b.create(t, rewards.RewardParams{Name: "Off", Kind: rewards.KindDigital, Price: 10})
	if _, err := b.rewards.DeactivateReward(b.ctx, off.ID); err != nil {
		t.Fatal(err)
	}
	b.redeem(t, limited.ID, m)

	page, err := b.rewards.Catalog(b.ctx, rewards.CatalogParams{Member: m})
	if err != nil {
		t.Fatal(err)
	}
	want := []rewards.CatalogItem{
		{ID: coupon.ID, Name: "Coupon", Kind: rewards.KindCoupon, Price: 10, Remaining: ptr(2), Redeemable: true},
		{ID: limited.ID, Name: "Limited", Kind: rewards.KindDigital, Price: 10, Remaining: ptr(2), MyRemaining: ptr(1), Redeemable: true},
	}
	if diff := cmp.Diff(want, page.Items); diff != "" {
		t.Errorf("Catalog() (-want +got):\n%s", diff)
	}
	// Another member has their own allowance.
	it, err := b.rewards.CatalogItem(b.ctx, b.members[1], limited.ID)
	if err != nil || *it.MyRemaining != 2 {
		t.Errorf("CatalogItem(other member) = %+v, %v", it, err)
	}
	// Pages of one.
	first, err := b.rewards.Catalog(b.ctx, rewards.CatalogParams{Member: m, Limit: 1})
	if err != nil || len(first.Items) != 1 || first.Next == "" {
		t.Fatalf("Catalog(limit 1) = %+v, %v", first, err)
	}
	second, err := b.rewards.Catalog(b.ctx, rewards.CatalogParams{Member: m, Limit: 1, Cursor: first.Next})
	if err != nil || len(second.Items) != 1 || second.Items[0].ID != limited.ID || second.Next != "" {
		t.Errorf("Catalog(page 2) = %+v, %v", second, err)
	}
	b.verify(t)
}

func TestOrderNotifications(t *testing.T) {
	t.Parallel()
	b := setup(t, 1)
	m := b.members[0]
	b.fund(t, m, 100)
	rw := b.create(t, rewards.RewardParams{Kind: rewards.KindPhysical, Price: 10})
	addr := &rewards.Address{Name: "Ada", Line1: "1 Main St", City: "Berlin", PostalCode: "10115", Country: "DE"}
	order := func() rewards.Order {
		o, _, err := b.rewards.Redeem(b.ctx, rewards.RedeemParams{Reward: rw.ID, Member: m, ShippingAddress: addr, IdempotencyKey: key()})
		if err != nil {
			t.Fatalf("Redeem() = %v", err)
		}
		return o
	}
	shipped, cancelled, rejected := order(), order(), order()
	if _, err := b.rewards.Fulfil(b.ctx, rewards.FulfilParams{Order: shipped.ID, Note: "Tracking 123"}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.rewards.Cancel(b.ctx, rewards.RefundParams{Order: cancelled.ID, Reason: "Out of stock.", IdempotencyKey: key()}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.rewards.Reject(b.ctx, rewards.RefundParams{Order: rejected.ID, Reason: "Address not served.", IdempotencyKey: key()}); err != nil {
		t.Fatal(err)
	}
	// A refused change tells nobody anything.
	if _, err := b.rewards.Fulfil(b.ctx, rewards.FulfilParams{Order: cancelled.ID}); !errors.Is(err, rewards.ErrNotPending) {
		t.Fatalf("Fulfil(cancelled) = %v", err)
	}

	me := engine.WithPrincipal(b.ctx, engine.Principal{Kind: engine.PrincipalUser, TenantID: uuid.Nil, UserID: m})
	page, err := b.inbox.List(me, inbox.ListParams{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, n := range page.Notifications {
		got = append(got, n.Kind+" "+n.Link+" "+n.Text)
	}
	slices.Reverse(got)
	name := rw.Name
	want := []string{
		"order /orders/" + shipped.ID.String() + " Your order of " + name + " has been fulfilled. Tracking 123",
		"order /orders/" + cancelled.ID.String() + " Your order of " + name + " was cancelled and 10 coins were refunded. Out of stock.",
		"order /orders/" + rejected.ID.String() + " Your order of " + name + " was rejected and 10 coins were refunded. Address not served.",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("notifications (-want +got):\n%s", diff)
	}
}
