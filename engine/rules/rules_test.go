package rules_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/db"
	"github.com/guildhall/guildhall/engine/db/dbtest"
	"github.com/guildhall/guildhall/engine/identity"
	"github.com/guildhall/guildhall/engine/identity/identitytest"
	"github.com/guildhall/guildhall/engine/ledger"
	"github.com/guildhall/guildhall/engine/plugin"
	"github.com/guildhall/guildhall/engine/rules"
)

var socialTypes = []plugin.EventType{
	{Type: "post.created", Description: "Publishing a post", DefaultCoins: 10},
	{Type: "like.received", Description: "Receiving a like", DefaultCoins: 2},
}

type testBundle struct {
	ctx     context.Context
	rules   *rules.Service
	ledger  *ledger.Service
	ids     identitytest.Bundle
	members []uuid.UUID
}

// setup makes a committed tenant with n members and the services.
func setup(t testing.TB, n int) testBundle {
	t.Helper()
	ctx, _ := dbtest.NewTenant(t)
	d := db.New(dbtest.Pool(t))
	b := testBundle{
		ctx:    ctx,
		rules:  rules.NewService(d, func(context.Context) []plugin.EventType { return socialTypes }, nil),
		ledger: ledger.NewService(d, nil),
		ids:    identitytest.New(t, d, identity.Config{}),
	}
	for i := range n {
		u, _, err := b.ids.Service.SeedUser(ctx, identity.SeedUserParams{
			Email: fmt.Sprintf("m%d@example.com", i), DisplayName: fmt.Sprintf("Member %d", i), Password: "correct horse battery", Role: "member",
		})
		if err != nil {
			t.Fatal(err)
		}
		b.members = append(b.members, u.ID)
	}
	return b
}

func key() string { return uuid.Must(uuid.NewV7()).String() }

func (b testBundle) award(t *testing.T, typ string, member uuid.UUID) rules.Decision {
	t.Helper()
	d, err := b.rules.Award(b.ctx, rules.Event{Type: typ, Member: member, IdempotencyKey: key()})
	if err != nil {
		t.Fatalf("Award(%s) = %v", typ, err)
	}
	return d
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

func ptr[T any](v T) *T { return &v }

func TestAward(t *testing.T) {
	t.Parallel()
	b := setup(t, 2)
	m := b.members[0]

	t.Run("DefaultRuleOfAPlugin", func(t *testing.T) {
		d := b.award(t, "post.created", m)
		if d.Granted != 10 || d.Reason != "granted" || d.Balance == nil || *d.Balance != 10 || d.TransactionID == nil {
			t.Errorf("Award() = %+v", d)
		}
	})

	t.Run("IdempotencyKey", func(t *testing.T) {
		e := rules.Event{Type: "post.created", Member: m, Ref: "post:1", IdempotencyKey: key()}
		first, err := b.rules.Award(b.ctx, e)
		if err != nil {
			t.Fatal(err)
		}
		again, err := b.rules.Award(b.ctx, e)
		if err != nil || !again.Replayed || *again.EventID != *first.EventID || again.Granted != first.Granted {
			t.Errorf("replay = %+v, %v; want the first decision", again, err)
		}
		e.Ref = "post:2"
		if _, err := b.rules.Award(b.ctx, e); !errors.Is(err, ledger.ErrKeyReused) {
			t.Errorf("same key, other event = %v, want ErrKeyReused", err)
		}
	})

	t.Run("BadInput", func(t *testing.T) {
		cases := map[string]rules.Event{
			"UnknownType":   {Type: "nothing.here", Member: m, IdempotencyKey: key()},
			"BadType":       {Type: "Bad Type", Member: m, IdempotencyKey: key()},
			"NoMember":      {Type: "post.created", IdempotencyKey: key()},
			"UnknownMember": {Type: "post.created", Member: uuid.Must(uuid.NewV7()), IdempotencyKey: key()},
			"NoKey":         {Type: "post.created", Member: m},
			"HugeRef":       {Type: "post.created", Member: m, Ref: strings.Repeat("x", 201), IdempotencyKey: key()},
		}
		for name, e := range cases {
			if _, err := b.rules.Award(b.ctx, e); engine.ErrorCode(err) != engine.CodeInvalid {
				t.Errorf("%s: Award() = %v, want invalid", name, err)
			}
		}
	})
	b.verify(t)
}

func TestCaps(t *testing.T) {
	t.Parallel()
	b := setup(t, 3)
	if _, err := b.rules.PutRule(b.ctx, rules.Rule{EventType: "post.created", Coins: 10, Enabled: true, CapDay: ptr[int64](15)}); err != nil {
		t.Fatal(err)
	}
	m := b.members[0]
	for i, want := range []struct {
		granted int64
		reason  string
	}{{10, "granted"}, {5, "rule_day_cap"}, {0, "rule_day_cap"}} {
		d := b.award(t, "post.created", m)
		if d.Granted != want.granted || d.Reason != want.reason {
			t.Errorf("award %d = %d %s, want %d %s", i, d.Granted, d.Reason, want.granted, want.reason)
		}
	}

	t.Run("MemberDailyCap", func(t *testing.T) {
		if _, err := b.rules.SetSettings(b.ctx, rules.Settings{MemberDailyCap: 7, BonusMinActiveDays: 5}); err != nil {
			t.Fatal(err)
		}
		m := b.members[1]
		for range 3 {
			b.award(t, "like.received", m)
		}
		d := b.award(t, "like.received", m)
		if d.Granted != 1 || d.Reason != "member_daily_cap" {
			t.Errorf("fourth like = %+v, want 1 coin, member_daily_cap", d)
		}
		// Raising the cap mid-day allows more today; lowering it below
		// today's total stops awards.
		if _, err := b.rules.SetSettings(b.ctx, rules.Settings{MemberDailyCap: 9, BonusMinActiveDays: 5}); err != nil {
			t.Fatal(err)
		}
		if d := b.award(t, "like.received", m); d.Granted != 2 {
			t.Errorf("after raising the cap = %+v, want 2", d)
		}
		if _, err := b.rules.SetSettings(b.ctx, rules.Settings{MemberDailyCap: 5, BonusMinActiveDays: 5}); err != nil {
			t.Fatal(err)
		}
		if d := b.award(t, "like.received", m); d.Granted != 0 || d.Reason != "member_daily_cap" {
			t.Errorf("after lowering the cap = %+v, want 0", d)
		}
		if _, err := b.rules.SetSettings(b.ctx, rules.DefaultSettings); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("PairCapAndCondition", func(t *testing.T) {
		_, err := b.rules.PutRule(b.ctx, rules.Rule{EventType: "like.received", Coins: 2, Enabled: true, PairCapDay: ptr(2),
			Condition: `actor != member`})
		if err != nil {
			t.Fatal(err)
		}
		author, liker := b.members[2], b.members[0]
		self, _ := b.rules.Award(b.ctx, rules.Event{Type: "like.received", Member: author, Actor: &author, IdempotencyKey: key()})
		if self.Granted != 0 || self.Reason != "condition_false" {
			t.Errorf("liking your own post = %+v, want condition_false", self)
		}
		var got []int64
		for range 3 {
			d, err := b.rules.Award(b.ctx, rules.Event{Type: "like.received", Member: author, Actor: &liker, IdempotencyKey: key()})
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, d.Granted)
		}
		if fmt.Sprint(got) != "[2 2 0]" {
			t.Errorf("likes from one actor = %v, want [2 2 0] (pair cap 2)", got)
		}
	})

	t.Run("BadRules", func(t *testing.T) {
		bad := []rules.Rule{
			{EventType: "x.y", Coins: 1, Condition: "attributes.total >", Reversal: "reverse_remaining"},
			{EventType: "x.y", Coins: 1, Condition: "attributes.total + 1", Reversal: "reverse_remaining"},
			{EventType: "x.y", Coins: -1},
			{EventType: "x.y", Coins: 1, CapPercentByRole: map[string]int{"king": 100}},
		}
		for i, r := range bad {
			if _, err := b.rules.PutRule(b.ctx, r); engine.ErrorCode(err) != engine.CodeInvalid {
				t.Errorf("rule %d: PutRule() = %v, want invalid", i, err)
			}
		}
		_, err := b.rules.PutRule(b.ctx, rules.Rule{EventType: "x.y", Coins: 1, Condition: "attributes.total + 1"})
		if msg := engine.ErrorFields(err); len(msg) != 1 || !strings.Contains(msg[0].Message, "must give true or false") {
			t.Errorf("non-boolean condition problem = %v", msg)
		}
	})
	b.verify(t)
}

func TestReversal(t *testing.T) {
	t.Parallel()
	b := setup(t, 1)
	m := b.members[0]
	if _, err := b.rules.PutRule(b.ctx, rules.Rule{EventType: "post.created", Coins: 10, Enabled: true, Reversal: ledger.CarryDebt}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.rules.Award(b.ctx, rules.Event{Type: "post.created", Member: m, Ref: "post:9", IdempotencyKey: key()}); err != nil {
		t.Fatal(err)
	}
	staff := engine.WithPrincipal(b.ctx, engine.Principal{Kind: engine.PrincipalPlatform, Name: "test"})
	if _, err := b.ledger.Adjust(staff, ledger.AdjustParams{Member: m, Amount: -7, Reason: "spent", IdempotencyKey: key()}); err != nil {
		t.Fatal(err)
	}
	rs, err := b.rules.ReverseRef(b.ctx, "post:9", key())
	if err != nil || len(rs) != 1 || rs[0].Shortfall != 7 {
		t.Fatalf("ReverseRef() = %+v, %v; want a shortfall of 7", rs, err)
	}
	w, _ := b.ledger.Wallet(b.ctx, m)
	if w.Balance != 0 || w.Debt != 7 {
		t.Errorf("wallet after reversal = %+v, want balance 0, debt 7", w)
	}
	if again, err := b.rules.ReverseRef(b.ctx, "post:9", key()); err != nil || len(again) != 0 {
		t.Errorf("second reversal = %+v, %v; want nothing left", again, err)
	}
	// The next earnings pay the debt first.
	d := b.award(t, "post.created", m)
	if d.Granted != 10 || *d.Balance != 3 {
		t.Errorf("award after debt = %+v, want balance 3", d)
	}
	w, _ = b.ledger.Wallet(b.ctx, m)
	if w.Debt != 0 {
		t.Errorf("debt after the award = %d, want 0", w.Debt)
	}
	b.verify(t)
}

func TestDryRunWritesNothing(t *testing.T) {
	t.Parallel()
	b := setup(t, 1)
	d, err := b.rules.DryRun(b.ctx, rules.Event{Type: "post.created", Member: b.members[0]})
	if err != nil || d.Granted != 10 {
		t.Fatalf("DryRun() = %+v, %v", d, err)
	}
	w, _ := b.ledger.Wallet(b.ctx, b.members[0])
	evs, _ := b.rules.ListEvents(b.ctx, rules.ListEventsParams{})
	if w.Balance != 0 || len(evs) != 0 {
		t.Errorf("after a dry run: balance %d, %d events; want nothing written", w.Balance, len(evs))
	}
}

func TestBatch(t *testing.T) {
	t.Parallel()
	b := setup(t, 2)
	results, err := b.rules.AwardBatch(b.ctx, []rules.Event{
		{Type: "post.created", Member: b.members[1], IdempotencyKey: key()},
		{Type: "bogus.type", Member: b.members[0], IdempotencyKey: key()},
		{Type: "post.created", Member: uuid.Must(uuid.NewV7()), IdempotencyKey: key()},
		{Type: "like.received", Member: b.members[0], IdempotencyKey: key()},
	})
	if err != nil {
		t.Fatal(err)
	}
	if results[0].Decision == nil || results[0].Decision.Granted != 10 || results[1].Error == nil || results[2].Error == nil ||
		results[3].Decision == nil || results[3].Decision.Granted != 2 {
		t.Errorf("AwardBatch() = %+v %+v %+v %+v", results[0], results[1], results[2], results[3])
	}
	b.verify(t)
}

func TestBacktest(t *testing.T) {
	t.Parallel()
	b := setup(t, 2)
	for range 4 {
		b.award(t, "post.created", b.members[0])
	}
	bt, err := b.rules.Backtest(b.ctx, []rules.Rule{{EventType: "post.created", Coins: 10, Enabled: true, CapDay: ptr[int64](25)}}, rules.DefaultSettings)
	if err != nil {
		t.Fatal(err)
	}
	if bt.Events != 4 || bt.Issued != 40 || bt.Simulated != 25 {
		t.Errorf("Backtest() = %+v, want 4 events, 40 issued, 25 simulated", bt)
	}
	if _, err := b.rules.Backtest(b.ctx, []rules.Rule{{EventType: "post.created", Coins: 1, Condition: "1 +"}}, rules.DefaultSettings); engine.ErrorCode(err) != engine.CodeInvalid {
		t.Errorf("Backtest(bad rule) = %v", err)
	}
}

// TestConcurrentAwards: 64 goroutines send many awards over 20 members,
// with a share of keys sent twice; afterwards every balance equals its
// entries, no cap is exceeded, and no key paid twice.
func TestConcurrentAwards(t *testing.T) {
	t.Parallel()
	b := setup(t, 20)
	if _, err := b.rules.PutRule(b.ctx, rules.Rule{EventType: "post.created", Coins: 10, Enabled: true, CapDay: ptr[int64](150)}); err != nil {
		t.Fatal(err)
	}
	const workers, each = 64, 40
	keys := make([]string, workers*each)
	for i := range keys {
		if i%5 == 4 {
			keys[i] = keys[i-1] // every fifth event repeats the key before it
		} else {
			keys[i] = key()
		}
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	paid := map[string]int64{}
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				n := w*each + i
				member := b.members[(n/5)%len(b.members)]
				d, err := b.rules.Award(b.ctx, rules.Event{Type: "post.created", Member: member, IdempotencyKey: keys[n]})
				if err != nil {
					t.Errorf("Award() = %v", err)
					return
				}
				mu.Lock()
				if prev, ok := paid[keys[n]]; ok && prev != d.Granted {
					t.Errorf("key %s answered %d then %d", keys[n], prev, d.Granted)
				}
				paid[keys[n]] = d.Granted
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	b.verify(t)
	var total int64
	for _, g := range paid {
		total += g
	}
	var sum int64
	for _, m := range b.members {
		w, err := b.ledger.Wallet(b.ctx, m)
		if err != nil {
			t.Fatal(err)
		}
		if w.Balance > 150 {
			t.Errorf("member %s earned %d today, over the cap of 150", m, w.Balance)
		}
		sum += w.Balance
	}
	if sum != total {
		t.Errorf("balances sum to %d, the distinct keys were granted %d", sum, total)
	}
	// Each member got 128 events' worth (about 102 distinct keys): far over
	// the cap, so every wallet must sit exactly at it.
	if sum != 150*int64(len(b.members)) {
		t.Errorf("total = %d, want every member at the cap (%d)", sum, 150*len(b.members))
	}
	var events int
	_ = db.New(dbtest.Pool(t)).InTenant(b.ctx, func(tx pgx.Tx) error {
		return tx.QueryRow(b.ctx, `SELECT count(*) FROM coin_events`).Scan(&events)
	})
	if events != len(paid) {
		t.Errorf("%d events recorded for %d distinct keys", events, len(paid))
	}
	_ = time.Now
}

func TestReverseRef_Tree(t *testing.T) {
	t.Parallel()
	b := setup(t, 2)
	author, liker := b.members[0], b.members[1]
	awards := []struct {
		typ    string
		member uuid.UUID
		ref    string
	}{
		{"post.created", author, "post:1"},
		{"like.received", author, "post:1/like:a"},
		{"like.received", author, "post:1/like:b"},
		{"post.created", liker, "post:10"},        // a sibling that shares the prefix
		{"like.received", liker, "post:1_like:c"}, // LIKE's wildcard must not match
	}
	for _, a := range awards {
		if _, err := b.rules.Award(b.ctx, rules.Event{Type: a.typ, Member: a.member, Ref: a.ref, IdempotencyKey: key()}); err != nil {
			t.Fatal(err)
		}
	}

	// A child alone.
	rs, err := b.rules.ReverseRef(b.ctx, "post:1/like:a", key())
	if err != nil || len(rs) != 1 || rs[0].Granted != 2 {
		t.Fatalf("ReverseRef(child) = %+v, %v; want the one like", rs, err)
	}
	// The root takes what is left of its tree, and nothing beside it.
	rs, err = b.rules.ReverseRef(b.ctx, "post:1", key())
	if err != nil || len(rs) != 2 {
		t.Fatalf("ReverseRef(root) = %+v, %v; want the post and the other like", rs, err)
	}
	var got int64
	for _, r := range rs {
		got += r.Granted
	}
	if got != 12 {
		t.Errorf("reversed %d coins, want 12 (post 10 + like 2)", got)
	}
	for m, want := range map[uuid.UUID]int64{author: 0, liker: 12} {
		if w, _ := b.ledger.Wallet(b.ctx, m); w.Balance != want {
			t.Errorf("balance of %v = %d, want %d", m, w.Balance, want)
		}
	}
	b.verify(t)
}

func TestAwardTx_CommitsWithTheCaller(t *testing.T) {
	t.Parallel()
	b := setup(t, 1)
	m := b.members[0]
	d := db.New(dbtest.Pool(t))
	errUndo := errors.New("undo")

	// Rolled back with the caller's transaction: no coins, no event, and
	// the key is free again.
	k := key()
	e := rules.Event{Type: "post.created", Member: m, Ref: "post:7", IdempotencyKey: k}
	err := d.InTenant(b.ctx, func(tx pgx.Tx) error {
		dec, err := b.rules.AwardTx(b.ctx, tx, e)
		if err != nil || dec.Granted != 10 {
			t.Errorf("AwardTx() = %+v, %v", dec, err)
		}
		return errUndo
	})
	if !errors.Is(err, errUndo) {
		t.Fatal(err)
	}
	if w, _ := b.ledger.Wallet(b.ctx, m); w.Balance != 0 {
		t.Errorf("balance after rollback = %d, want 0", w.Balance)
	}

	// Committed: paid once, and the same key replays.
	for i := range 2 {
		err := d.InTenant(b.ctx, func(tx pgx.Tx) error {
			dec, err := b.rules.AwardTx(b.ctx, tx, e)
			if err != nil || dec.Granted != 10 || dec.Replayed != (i == 1) {
				t.Errorf("AwardTx() #%d = %+v, %v", i, dec, err)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if w, _ := b.ledger.Wallet(b.ctx, m); w.Balance != 10 {
		t.Errorf("balance = %d, want 10", w.Balance)
	}

	// A reused key is an error the caller can handle without losing its
	// transaction.
	err = d.InTenant(b.ctx, func(tx pgx.Tx) error {
		other := e
		other.Ref = "post:8"
		if _, err := b.rules.AwardTx(b.ctx, tx, other); !errors.Is(err, ledger.ErrKeyReused) {
			t.Errorf("AwardTx(reused key) = %v, want ErrKeyReused", err)
		}
		var n int
		return tx.QueryRow(b.ctx, `SELECT count(*) FROM coin_events`).Scan(&n)
	})
	if err != nil {
		t.Errorf("transaction after a reused key: %v", err)
	}
	b.verify(t)
}
