package ledger_test

import (
	"context"
	"errors"
	"fmt"
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
)

type clock struct{ t time.Time }

func (c *clock) Now() time.Time { return c.t }

type testBundle struct {
	ctx    context.Context
	staff  context.Context
	svc    *ledger.Service
	db     *db.DB
	clock  *clock
	member uuid.UUID
}

func setup(t *testing.T) testBundle {
	t.Helper()
	ctx, _ := dbtest.NewTenant(t)
	d := db.New(dbtest.Pool(t))
	ids := identitytest.New(t, d, identity.Config{})
	u, _, err := ids.Service.SeedUser(ctx, identity.SeedUserParams{Email: "m@example.com", DisplayName: "M", Password: "correct horse battery", Role: "member"})
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{t: time.Now()}
	return testBundle{ctx: ctx, staff: engine.WithPrincipal(ctx, engine.Principal{Kind: engine.PrincipalPlatform, Name: "staff"}),
		svc: ledger.NewService(d, c.Now), db: d, clock: c, member: u.ID}
}

func key() string { return uuid.Must(uuid.NewV7()).String() }

func (b testBundle) adjust(t *testing.T, amount int64) ledger.Transaction {
	t.Helper()
	tx, err := b.svc.Adjust(b.staff, ledger.AdjustParams{Member: b.member, Amount: amount, Reason: "test", IdempotencyKey: key()})
	if err != nil {
		t.Fatalf("Adjust(%d) = %v", amount, err)
	}
	return tx
}

func (b testBundle) balance(t *testing.T) int64 {
	t.Helper()
	w, err := b.svc.Wallet(b.ctx, b.member)
	if err != nil {
		t.Fatal(err)
	}
	return w.Balance
}

func (b testBundle) verify(t *testing.T) {
	t.Helper()
	r, err := b.svc.Verify(b.ctx)
	if err != nil || !r.OK() {
		t.Errorf("Verify() = %+v, %v", r, err)
	}
}

func TestAdjust(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tx := b.adjust(t, 100)
	if len(tx.Entries) != 2 || tx.Kind != "adjustment" || tx.Memo != "test" || tx.Actor != "staff" {
		t.Errorf("Adjust() = %+v", tx)
	}
	if _, err := b.svc.Adjust(b.staff, ledger.AdjustParams{Member: b.member, Amount: -101, Reason: "too much", IdempotencyKey: key()}); !errors.Is(err, ledger.ErrInsufficientFunds) {
		t.Errorf("deducting more than the balance = %v, want ErrInsufficientFunds", err)
	}
	b.adjust(t, -40)
	if got := b.balance(t); got != 60 {
		t.Errorf("balance = %d, want 60", got)
	}
	for name, p := range map[string]ledger.AdjustParams{
		"Zero":     {Member: b.member, Amount: 0, Reason: "x", IdempotencyKey: key()},
		"Huge":     {Member: b.member, Amount: 1 << 40, Reason: "x", IdempotencyKey: key()},
		"NoReason": {Member: b.member, Amount: 5, IdempotencyKey: key()},
		"NoKey":    {Member: b.member, Amount: 5, Reason: "x"},
		"NoMember": {Member: uuid.Must(uuid.NewV7()), Amount: 5, Reason: "x", IdempotencyKey: key()},
	} {
		_, err := b.svc.Adjust(b.staff, p)
		if c := engine.ErrorCode(err); c != engine.CodeInvalid && c != engine.CodeNotFound {
			t.Errorf("%s: Adjust() = %v, want invalid or not found", name, err)
		}
	}
	if got := b.balance(t); got != 60 {
		t.Errorf("balance after refused adjustments = %d, want 60 (nothing written)", got)
	}
	k := key()
	first, err := b.svc.Adjust(b.staff, ledger.AdjustParams{Member: b.member, Amount: 5, Reason: "again", IdempotencyKey: k})
	if err != nil {
		t.Fatal(err)
	}
	again, err := b.svc.Adjust(b.staff, ledger.AdjustParams{Member: b.member, Amount: 5, Reason: "again", IdempotencyKey: k})
	if err != nil || again.ID != first.ID || b.balance(t) != 65 {
		t.Errorf("replayed adjustment = %v, %v; balance %d, want the first and 65", again.ID, err, b.balance(t))
	}
	if _, err := b.svc.Adjust(b.staff, ledger.AdjustParams{Member: b.member, Amount: 6, Reason: "again", IdempotencyKey: k}); !errors.Is(err, ledger.ErrKeyReused) {
		t.Errorf("key reused for another amount = %v", err)
	}
	b.verify(t)
}

func TestFreezeAndReverse(t *testing.T) {
	t.Parallel()
	b := setup(t)
	grant := b.adjust(t, 50)
	if _, err := b.svc.SetFrozen(b.staff, b.member, true, "investigating"); err != nil {
		t.Fatal(err)
	}
	w, _ := b.svc.Wallet(b.ctx, b.member)
	if w.FrozenAt == nil {
		t.Fatalf("wallet not frozen")
	}
	// A frozen wallet cannot spend (a posting without SpendFrozen).
	err := b.db.InTenant(b.ctx, func(tx pgx.Tx) error {
		_, err := ledger.Post(b.ctx, tx, ledger.Posting{Kind: "redemption", Actor: "test",
			Lines: []ledger.Line{{Account: b.member, Amount: -10}, {Account: ledger.AccountRedemptions, Amount: 10}}})
		return err
	})
	if !errors.Is(err, ledger.ErrFrozen) {
		t.Errorf("spending from a frozen wallet = %v, want ErrFrozen", err)
	}
	if _, err := b.svc.SetFrozen(b.staff, b.member, false, ""); err != nil {
		t.Fatal(err)
	}
	b.adjust(t, -30)
	rev, err := b.svc.Reverse(b.staff, ledger.ReverseParams{TransactionID: grant.ID, Reason: "mistake", Policy: ledger.CarryDebt, IdempotencyKey: key()})
	if err != nil {
		t.Fatal(err)
	}
	if rev.Shortfall != 30 || rev.ReversesID == nil || *rev.ReversesID != grant.ID {
		t.Errorf("Reverse() = %+v, want a shortfall of 30", rev)
	}
	w, _ = b.svc.Wallet(b.ctx, b.member)
	if w.Balance != 0 || w.Debt != 30 {
		t.Errorf("wallet = %+v, want 0 and a debt of 30", w)
	}
	if _, err := b.svc.Reverse(b.staff, ledger.ReverseParams{TransactionID: grant.ID, Reason: "again", IdempotencyKey: key()}); !errors.Is(err, ledger.ErrAlreadyReversed) {
		t.Errorf("second reversal = %v, want ErrAlreadyReversed", err)
	}
	got, _ := b.svc.Transaction(b.ctx, grant.ID)
	if got.ReversedBy == nil || *got.ReversedBy != rev.ID {
		t.Errorf("original does not link its reversal: %+v", got)
	}
	b.verify(t)
}

func TestHistory(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for i := range 5 {
		b.adjust(t, int64(10+i))
	}
	b.adjust(t, -3)
	page, err := b.svc.History(b.ctx, ledger.HistoryParams{Member: b.member, Limit: 4})
	if err != nil || len(page.Entries) != 4 || page.Next == "" || page.Entries[0].Amount != -3 {
		t.Fatalf("History(first page) = %+v, %v", page, err)
	}
	rest, err := b.svc.History(b.ctx, ledger.HistoryParams{Member: b.member, Limit: 4, Cursor: page.Next})
	if err != nil || len(rest.Entries) != 2 || rest.Next != "" {
		t.Errorf("History(second page) = %+v, %v", rest, err)
	}
	if _, err := b.svc.History(b.ctx, ledger.HistoryParams{Member: b.member, Kinds: []string{"gift"}, Cursor: "zz"}); len(engine.ErrorFields(err)) != 2 {
		t.Errorf("History(bad) = %v", err)
	}
	only, _ := b.svc.History(b.ctx, ledger.HistoryParams{Member: b.member, Kinds: []string{"award"}})
	if len(only.Entries) != 0 {
		t.Errorf("award filter returned %d adjustments", len(only.Entries))
	}
}

func TestExpiry(t *testing.T) {
	t.Parallel()
	b := setup(t)
	days := 30
	if err := b.db.InTenant(b.ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(b.ctx, `INSERT INTO coin_settings (tenant_id, expiry_days) VALUES (current_tenant_id(), $1)`, days)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	b.adjust(t, 100)
	b.adjust(t, -30) // spends the oldest coins
	w, _ := b.svc.Wallet(b.ctx, b.member)
	if len(w.Expiring) != 1 || w.Expiring[0].Amount != 70 {
		t.Errorf("expiring = %+v, want 70 coins in 30 days", w.Expiring)
	}
	if n, err := b.svc.ExpireCoins(b.ctx); err != nil || n != 0 {
		t.Errorf("ExpireCoins() now = %d, %v; want nothing yet", n, err)
	}
	b.clock.t = b.clock.t.Add(31 * 24 * time.Hour)
	n, err := b.svc.ExpireCoins(b.ctx)
	if err != nil || n != 70 || b.balance(t) != 0 {
		t.Errorf("ExpireCoins() after 31 days = %d, %v; balance %d; want 70 expired", n, err, b.balance(t))
	}
	b.verify(t)
}

func TestVerifyFindsTampering(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.adjust(t, 10)
	// The owner role could change a balance behind the ledger's back;
	// verify must notice.
	owner := db.New(dbtest.OwnerPool(t))
	if err := owner.InTenant(b.ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(b.ctx, `UPDATE coin_accounts SET balance = balance + 5 WHERE id = $1`, b.member)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	r, err := b.svc.Verify(b.ctx)
	if err != nil || len(r.WrongBalances) != 1 || r.WrongBalances[0].Balance != 15 || r.WrongBalances[0].Entries != 10 {
		t.Errorf("Verify() = %+v, %v; want the tampered wallet", r, err)
	}
	_ = fmt.Sprint()
}

func TestEntriesAreAppendOnly(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.adjust(t, 10)
	for _, sql := range []string{`UPDATE coin_entries SET amount = amount * 2`, `DELETE FROM coin_entries`, `UPDATE coin_transactions SET memo = 'x'`} {
		err := b.db.InTenant(b.ctx, func(tx pgx.Tx) error {
			_, err := tx.Exec(b.ctx, sql)
			return err
		})
		if err == nil {
			t.Errorf("%s: allowed, want permission denied", sql)
		}
	}
	// An unbalanced transaction is refused at commit.
	err := b.db.InTenant(b.ctx, func(tx pgx.Tx) error {
		id := uuid.Must(uuid.NewV7())
		if _, err := tx.Exec(b.ctx, `INSERT INTO coin_transactions (tenant_id, id, kind, actor) VALUES (current_tenant_id(), $1, 'award', 'x')`, id); err != nil {
			return err
		}
		_, err := tx.Exec(b.ctx, `INSERT INTO coin_entries (tenant_id, id, transaction_id, account_id, amount, kind)
VALUES (current_tenant_id(), coin_entry_id($1, 1), $1, $2, 5, 'award')`, id, ledger.AccountIssuance)
		return err
	})
	if err == nil {
		t.Errorf("an unbalanced transaction committed")
	}
}
