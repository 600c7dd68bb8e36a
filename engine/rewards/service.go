package rewards

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/audit"
	"github.com/guildhall/guildhall/engine/db"
	"github.com/guildhall/guildhall/engine/inbox"
	"github.com/guildhall/guildhall/engine/ledger"
)

// Service manages the catalog and the orders of the tenant in ctx.
type Service struct {
	db       *db.DB
	now      func() time.Time
	notifier Notifier
}

// Notifier tells a member about their order, in the transaction that
// changes it (inbox.Service implements it).
type Notifier interface {
	AddTx(ctx context.Context, tx pgx.Tx, p inbox.AddParams) (inbox.Notification, bool, error)
}

// WithNotifier makes s tell members when staff fulfil, cancel or reject
// their orders; it returns s.
func (s *Service) WithNotifier(n Notifier) *Service {
	s.notifier = n
	return s
}

// notifyOrder tells the member of o that it is now status, with why.
func (s *Service) notifyOrder(ctx context.Context, tx pgx.Tx, id uuid.UUID, o lockedOrder, status, why string) error {
	if s.notifier == nil {
		return nil
	}
	text := map[string]string{
		StatusFulfilled: "Your order of " + o.RewardName + " has been fulfilled.",
		StatusCancelled: fmt.Sprintf("Your order of %s was cancelled and %d coins were refunded.", o.RewardName, o.Coins),
		StatusRejected:  fmt.Sprintf("Your order of %s was rejected and %d coins were refunded.", o.RewardName, o.Coins),
	}[status]
	if why != "" {
		text += " " + why
	}
	if n := []rune(text); len(n) > inbox.MaxText {
		text = string(n[:inbox.MaxText-1]) + "…"
	}
	_, _, err := s.notifier.AddTx(ctx, tx, inbox.AddParams{
		Member: o.MemberID, Kind: "order", Subject: "order:" + id.String(), Link: "/orders/" + id.String(),
		Text: text, Data: map[string]any{"status": status, "coins": o.Coins},
		DedupeKey: "order:" + id.String() + ":" + status,
	})
	return err
}

// NewService returns the rewards service. now is the clock availability
// windows are judged by (nil: time.Now).
func NewService(d *db.DB, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{db: d, now: now}
}

// CreateReward adds a reward to the catalog, audited. A coupon reward
// needs codes (UploadCodes) before it can be redeemed.
// Errors: invalid (every field problem).
func (s *Service) CreateReward(ctx context.Context, p RewardParams) (Reward, error) {
	p.normalize()
	if err := engine.Invalid(p.problems(true)); err != nil {
		return Reward{}, err
	}
	id := uuid.Must(uuid.NewV7())
	var out Reward
	err := s.db.InTenant(ctx, func(tx pgx.Tx) error {
		if err := insertReward(ctx, tx, id, p); err != nil {
			return err
		}
		var err error
		if out, err = selectReward(ctx, tx, id); err != nil {
			return err
		}
		return audit.Record(ctx, tx, "reward.created", "reward:"+id.String(), map[string]any{"reward": out})
	})
	return out, err
}

// UpdateReward replaces a reward's fields (see RewardParams), audited with
// what it was before. The kind cannot change: orders were placed for it.
// Stock set here replaces the count (orders placed meanwhile are not
// added back).
// Errors: invalid, not_found.
func (s *Service) UpdateReward(ctx context.Context, id uuid.UUID, p RewardParams) (Reward, error) {
	p.normalize()
	if err := engine.Invalid(p.problems(false)); err != nil {
		return Reward{}, err
	}
	var out Reward
	err := s.db.InTenant(ctx, func(tx pgx.Tx) error {
		locked, err := lockReward(ctx, tx, id)
		if err != nil {
			return err
		}
		if p.Kind != "" && p.Kind != locked.Kind {
			return engine.Invalid([]engine.FieldError{{Field: "kind", Message: "cannot change once the reward exists (it is " + locked.Kind + ")"}})
		}
		before, err := selectReward(ctx, tx, id)
		if err != nil {
			return err
		}
		if p.Active == nil {
			p.Active = &before.Active
		}
		if err := updateReward(ctx, tx, id, p); err != nil {
			return err
		}
		if out, err = selectReward(ctx, tx, id); err != nil {
			return err
		}
		return audit.Record(ctx, tx, "reward.updated", "reward:"+id.String(), map[string]any{"before": before, "after": out})
	})
	return out, err
}

// DeactivateReward takes a reward out of the catalog, audited when it was
// active. Its orders are unaffected; UpdateReward can activate it again.
// Errors: not_found.
func (s *Service) DeactivateReward(ctx context.Context, id uuid.UUID) (Reward, error) {
	var out Reward
	err := s.db.InTenant(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE rewards SET active = false, updated_at = now() WHERE id = $1 AND active`, id)
		if err != nil {
			return fmt.Errorf("deactivate reward: %w", err)
		}
		if out, err = selectReward(ctx, tx, id); err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return nil
		}
		return audit.Record(ctx, tx, "reward.deactivated", "reward:"+id.String(), nil)
	})
	return out, err
}

// Reward returns a reward as staff see it.
// Errors: not_found.
func (s *Service) Reward(ctx context.Context, id uuid.UUID) (Reward, error) {
	var out Reward
	err := s.db.InTenant(ctx, func(tx pgx.Tx) error {
		var err error
		out, err = selectReward(ctx, tx, id)
		return err
	})
	return out, err
}

// ListRewardsParams selects a page of the catalog for staff. Filters left
// empty select all.
type ListRewardsParams struct {
	Active *bool
	Kind   string
	Query  string // part of the name, any case
	Cursor string // from a previous page's Next; empty for the newest
	Limit  int    // 1..100; 0 means 50
}

// RewardPage is a page of rewards, newest first. Next is empty on the last.
type RewardPage struct {
	Rewards []Reward
	Next    string
}

// ListRewards returns a page of the catalog, active or not, newest first.
// Errors: invalid.
func (s *Service) ListRewards(ctx context.Context, p ListRewardsParams) (RewardPage, error) {
	var problems []engine.FieldError
	if fe := checkLimit(&p.Limit); fe != nil {
		problems = append(problems, *fe)
	}
	if p.Kind != "" && p.Kind != KindPhysical && p.Kind != KindCoupon && p.Kind != KindDigital {
		problems = append(problems, engine.FieldError{Field: "kind", Message: "must be physical, coupon or digital"})
	}
	p.Query = strings.TrimSpace(p.Query)
	if utf8.RuneCountInString(p.Query) > 100 {
		problems = append(problems, engine.FieldError{Field: "q", Message: "must be at most 100 characters"})
	}
	after, fe := decodeCursor(p.Cursor)
	if fe != nil {
		problems = append(problems, *fe)
	}
	if err := engine.Invalid(problems); err != nil {
		return RewardPage{}, err
	}
	var page RewardPage
	err := s.db.InTenant(ctx, func(tx pgx.Tx) error {
		rs, err := listRewards(ctx, tx, rewardFilter{Active: p.Active, Kind: p.Kind, Query: p.Query, After: after}, p.Limit+1)
		if err != nil {
			return err
		}
		if len(rs) > p.Limit {
			rs = rs[:p.Limit]
			last := rs[len(rs)-1]
			page.Next = cursor{At: last.CreatedAt, ID: last.ID}.encode()
		}
		page.Rewards = rs
		return nil
	})
	return page, err
}

// UploadResult says what an upload of coupon codes did.
type UploadResult struct {
	Received   int `json:"received" doc:"Codes in the request."`
	Added      int `json:"added" doc:"New codes added to the pool."`
	Duplicates int `json:"duplicates" doc:"Codes repeated in the request or already in the pool, skipped."`
	Available  int `json:"available" doc:"Codes in the pool not yet handed out, after the upload."`
}

// UploadCodes adds codes to a coupon reward's pool, audited (the count,
// never the codes). Codes are trimmed; a code already in the pool or
// repeated in the list is skipped, so uploading the same list again adds
// nothing.
// Errors: invalid (empty or oversized list, bad codes, not a coupon
// reward), not_found.
func (s *Service) UploadCodes(ctx context.Context, reward uuid.UUID, codes []string) (UploadResult, error) {
	res := UploadResult{Received: len(codes)}
	var problems []engine.FieldError
	if len(codes) == 0 || len(codes) > MaxCodesPerUpload {
		problems = append(problems, engine.FieldError{Field: "codes", Message: fmt.Sprintf("must list 1 to %d codes", MaxCodesPerUpload)})
	}
	seen := make(map[string]bool, len(codes))
	unique := make([]string, 0, len(codes))
	for i, c := range codes {
		c = strings.TrimSpace(c)
		if n := utf8.RuneCountInString(c); n < 1 || n > MaxCodeLength || !printable(c) {
			// Report the first few; a pasted list can be long.
			if len(problems) < 20 {
				problems = append(problems, engine.FieldError{Field: fmt.Sprintf("codes[%d]", i),
					Message: fmt.Sprintf("must be 1 to %d characters, no control characters", MaxCodeLength)})
			}
			continue
		}
		if !seen[c] {
			seen[c] = true
			unique = append(unique, c)
		}
	}
	if err := engine.Invalid(problems); err != nil {
		return UploadResult{}, err
	}
	err := s.db.InTenant(ctx, func(tx pgx.Tx) error {
		var kind string
		err := tx.QueryRow(ctx, `SELECT kind FROM rewards WHERE id = $1`, reward).Scan(&kind)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("select reward: %w", err)
		}
		if kind != KindCoupon {
			return ErrNotCoupon
		}
		if res.Added, err = insertCodes(ctx, tx, reward, unique); err != nil {
			return err
		}
		res.Duplicates = res.Received - res.Added
		if res.Available, err = freeCodes(ctx, tx, reward); err != nil {
			return err
		}
		return audit.Record(ctx, tx, "reward.codes_uploaded", "reward:"+reward.String(),
			map[string]any{"received": res.Received, "added": res.Added, "duplicates": res.Duplicates})
	})
	if err != nil {
		return UploadResult{}, err
	}
	return res, nil
}

// CatalogParams selects a page of the catalog a member sees.
type CatalogParams struct {
	Member uuid.UUID
	Cursor string
	Limit  int // 1..100; 0 means 50
}

// CatalogPage is a page of the member catalog, newest first.
type CatalogPage struct {
	Items []CatalogItem
	Next  string
}

// Catalog lists what a member can redeem now: active rewards inside their
// availability window, with the stock left and the member's own remaining
// allowance. Sold-out items are listed (Redeemable false).
// Errors: invalid.
func (s *Service) Catalog(ctx context.Context, p CatalogParams) (CatalogPage, error) {
	var problems []engine.FieldError
	if fe := checkLimit(&p.Limit); fe != nil {
		problems = append(problems, *fe)
	}
	after, fe := decodeCursor(p.Cursor)
	if fe != nil {
		problems = append(problems, *fe)
	}
	if err := engine.Invalid(problems); err != nil {
		return CatalogPage{}, err
	}
	var page CatalogPage
	err := s.db.InTenant(ctx, func(tx pgx.Tx) error {
		items, created, err := listCatalog(ctx, tx, p.Member, s.now(), nil, after, p.Limit+1)
		if err != nil {
			return err
		}
		if len(items) > p.Limit {
			items = items[:p.Limit]
			page.Next = cursor{At: created[p.Limit-1], ID: items[p.Limit-1].ID}.encode()
		}
		page.Items = items
		return nil
	})
	return page, err
}

// CatalogItem returns one reward as the member sees it.
// Errors: not_found (no such reward, or not in the catalog now).
func (s *Service) CatalogItem(ctx context.Context, member, id uuid.UUID) (CatalogItem, error) {
	var out CatalogItem
	err := s.db.InTenant(ctx, func(tx pgx.Tx) error {
		items, _, err := listCatalog(ctx, tx, member, s.now(), &id, nil, 1)
		if err != nil {
			return err
		}
		if len(items) == 0 {
			return ErrNotFound
		}
		out = items[0]
		return nil
	})
	return out, err
}

// RedeemParams redeems a reward for the member who asks.
type RedeemParams struct {
	Reward          uuid.UUID
	Member          uuid.UUID // the caller
	ShippingAddress *Address  // required for physical rewards; ignored for others
	IdempotencyKey  string
}

// ErrAddressRequired answers the redemption of a physical reward without a
// shipping address.
var ErrAddressRequired = &engine.Error{Code: engine.CodeInvalid, Message: "This reward ships: a shipping address is required.",
	Fields: []engine.FieldError{{Field: "shipping_address", Message: "is required for physical rewards"}}}

// Redeem spends the member's coins on a reward and returns the order, in
// one transaction (see the package's guarantees): lock the reward, check
// it, take a coupon code, take stock, debit the wallet, create the order.
// Digital and coupon orders are fulfilled at once (a coupon order carries
// its code); physical ones are pending. replayed is true when the key was
// seen with the same request: the order is the one the first call placed,
// as it is now.
// Errors: invalid (bad input, unknown reward, missing address,
// ledger.ErrKeyReused), not_found (member), forbidden (banned), conflict
// (ErrUnavailable, ErrOutOfStock, ErrLimitReached, ErrNoCodes,
// ledger.ErrInsufficientFunds, ledger.ErrFrozen).
func (s *Service) Redeem(ctx context.Context, p RedeemParams) (order Order, replayed bool, err error) {
	var problems []engine.FieldError
	if p.Reward == uuid.Nil {
		problems = append(problems, engine.FieldError{Field: "reward_id", Message: "is required"})
	}
	if p.Member == uuid.Nil {
		problems = append(problems, engine.FieldError{Field: "member_id", Message: "is required"})
	}
	if p.ShippingAddress != nil {
		a := p.ShippingAddress.normalized()
		problems = append(problems, a.problems()...)
		p.ShippingAddress = &a
	}
	if err := ledger.CheckKey(p.IdempotencyKey); err != nil {
		problems = append(problems, engine.ErrorFields(err)...)
	}
	if err := engine.Invalid(problems); err != nil {
		return Order{}, false, err
	}
	request := struct {
		Reward          uuid.UUID `json:"reward_id"`
		Member          uuid.UUID `json:"member_id"`
		ShippingAddress *Address  `json:"shipping_address"`
	}{p.Reward, p.Member, p.ShippingAddress}
	now := s.now()
	err = s.db.InTenant(ctx, func(tx pgx.Tx) error {
		// The stored answer is the order's ID: a replay reads the order
		// as it is now, and no coupon code is kept with the key.
		id, again, err := ledger.Idempotent(ctx, tx, ledger.Scope(ctx, "redeem"), p.IdempotencyKey, request, func() (uuid.UUID, error) {
			return redeem(ctx, tx, p, now)
		})
		if err != nil {
			return err
		}
		replayed = again
		order, err = selectOrder(ctx, tx, id)
		return err
	})
	if err != nil {
		return Order{}, false, err
	}
	return order, replayed, nil
}

// redeem places the order in tx. Lock order: the reward row, then a
// coupon code, then the member's wallet (ledger.Post); the order row is
// new. Every check is made under the reward's lock, so concurrent
// redemptions of one reward see each other's orders and stock.
func redeem(ctx context.Context, tx pgx.Tx, p RedeemParams, now time.Time) (uuid.UUID, error) {
	r, err := lockReward(ctx, tx, p.Reward)
	if errors.Is(err, ErrNotFound) {
		return uuid.Nil, ErrUnknownReward
	}
	if err != nil {
		return uuid.Nil, err
	}
	if err := checkMember(ctx, tx, p.Member); err != nil {
		return uuid.Nil, err
	}
	if r.Kind == KindPhysical && p.ShippingAddress == nil {
		return uuid.Nil, ErrAddressRequired
	}
	if !available(r.Active, r.AvailableFrom, r.AvailableUntil, now) {
		return uuid.Nil, ErrUnavailable
	}
	if r.Stock != nil && *r.Stock == 0 {
		return uuid.Nil, ErrOutOfStock
	}
	if r.PerMemberLimit != nil {
		n, err := liveOrders(ctx, tx, p.Reward, p.Member)
		if err != nil {
			return uuid.Nil, err
		}
		if n >= *r.PerMemberLimit {
			return uuid.Nil, ErrLimitReached
		}
	}
	id := uuid.Must(uuid.NewV7())
	var code *uuid.UUID
	if r.Kind == KindCoupon {
		c, err := takeCode(ctx, tx, p.Reward)
		if err != nil {
			return uuid.Nil, err
		}
		code = &c
	}
	if r.Stock != nil {
		if err := takeStock(ctx, tx, p.Reward); err != nil {
			return uuid.Nil, err
		}
	}
	txID, err := ledger.Post(ctx, tx, ledger.Posting{
		Kind: ledger.KindRedemption, Memo: r.Name, OrderID: &id, Actor: audit.ActorFrom(ctx).Name,
		Lines: []ledger.Line{{Account: p.Member, Amount: -r.Price}, {Account: ledger.AccountRedemptions, Amount: r.Price}},
	})
	if err != nil {
		return uuid.Nil, err
	}
	o := newOrder{ID: id, Reward: p.Reward, Member: p.Member, Coins: r.Price, Status: StatusFulfilled, Code: code, RedemptionID: txID}
	if r.Kind == KindPhysical {
		o.Status = StatusPending
		o.Address = p.ShippingAddress
	}
	if err := insertOrder(ctx, tx, o); err != nil {
		return uuid.Nil, err
	}
	if code != nil {
		if err := assignCode(ctx, tx, *code, id); err != nil {
			return uuid.Nil, err
		}
	}
	err = audit.Record(ctx, tx, "reward.redeemed", "order:"+id.String(),
		map[string]any{"reward": p.Reward, "member": p.Member, "coins": r.Price, "transaction": txID, "status": o.Status})
	if err != nil {
		return uuid.Nil, err
	}
	return id, nil
}

// ListOrdersParams selects a page of orders. Filters left empty select
// all.
type ListOrdersParams struct {
	Status string
	Member *uuid.UUID
	Reward *uuid.UUID
	Cursor string
	Limit  int // 1..100; 0 means 50
}

// OrderPage is a page of orders, newest first.
type OrderPage struct {
	Orders []Order
	Next   string
}

// ListOrders returns a page of orders, newest first. Members' own lists
// set Member to themselves.
// Errors: invalid.
func (s *Service) ListOrders(ctx context.Context, p ListOrdersParams) (OrderPage, error) {
	var problems []engine.FieldError
	if fe := checkLimit(&p.Limit); fe != nil {
		problems = append(problems, *fe)
	}
	switch p.Status {
	case "", StatusPending, StatusFulfilled, StatusCancelled, StatusRejected:
	default:
		problems = append(problems, engine.FieldError{Field: "status", Message: "must be pending, fulfilled, cancelled or rejected"})
	}
	after, fe := decodeCursor(p.Cursor)
	if fe != nil {
		problems = append(problems, *fe)
	}
	if err := engine.Invalid(problems); err != nil {
		return OrderPage{}, err
	}
	var page OrderPage
	err := s.db.InTenant(ctx, func(tx pgx.Tx) error {
		list, err := listOrders(ctx, tx, orderFilter{Status: p.Status, Member: p.Member, Reward: p.Reward, After: after}, p.Limit+1)
		if err != nil {
			return err
		}
		if len(list) > p.Limit {
			list = list[:p.Limit]
			last := list[len(list)-1]
			page.Next = cursor{At: last.CreatedAt, ID: last.ID}.encode()
		}
		page.Orders = list
		return nil
	})
	return page, err
}

// Order returns an order.
// Errors: not_found.
func (s *Service) Order(ctx context.Context, id uuid.UUID) (Order, error) {
	var out Order
	err := s.db.InTenant(ctx, func(tx pgx.Tx) error {
		var err error
		out, err = selectOrder(ctx, tx, id)
		return err
	})
	return out, err
}

// MemberOrder returns one of a member's own orders.
// Errors: not_found (no such order, or another member's).
func (s *Service) MemberOrder(ctx context.Context, member, id uuid.UUID) (Order, error) {
	o, err := s.Order(ctx, id)
	if err != nil {
		return Order{}, err
	}
	if o.MemberID != member {
		return Order{}, ErrOrderNotFound
	}
	return o, nil
}

// FulfilParams marks a pending order fulfilled.
type FulfilParams struct {
	Order uuid.UUID
	Note  string // optional: a tracking number; shown to the member
}

// Fulfil marks a pending order fulfilled (shipped, delivered), audited.
// It moves no coins, so it needs no idempotency key: a second call finds
// the order fulfilled and answers conflict.
// Errors: invalid, not_found, conflict (ErrNotPending).
func (s *Service) Fulfil(ctx context.Context, p FulfilParams) (Order, error) {
	note := strings.TrimSpace(p.Note)
	if utf8.RuneCountInString(note) > 1000 || !utf8.ValidString(note) {
		return Order{}, engine.Invalid([]engine.FieldError{{Field: "note", Message: "must be at most 1000 characters"}})
	}
	var out Order
	err := s.db.InTenant(ctx, func(tx pgx.Tx) error {
		o, err := lockOrder(ctx, tx, p.Order)
		if err != nil {
			return err
		}
		if o.Status != StatusPending {
			return notPending(o.Status)
		}
		actor := audit.ActorFrom(ctx).Name
		if err := markFulfilled(ctx, tx, p.Order, note, actor); err != nil {
			return err
		}
		if err := audit.Record(ctx, tx, "order.fulfilled", "order:"+p.Order.String(),
			map[string]any{"reward": o.RewardID, "member": o.MemberID, "note": note}); err != nil {
			return err
		}
		if err := s.notifyOrder(ctx, tx, p.Order, o, StatusFulfilled, note); err != nil {
			return err
		}
		out, err = selectOrder(ctx, tx, p.Order)
		return err
	})
	return out, err
}

// RefundParams cancels or rejects a pending order.
type RefundParams struct {
	Order          uuid.UUID
	Reason         string // required; shown to the member and kept in the audit log
	IdempotencyKey string
}

// Cancel cancels a pending order (it cannot be fulfilled: out of stock at
// the warehouse, the member asked) with an automatic refund; see refund.
// Errors: invalid, not_found, conflict (ErrNotPending).
func (s *Service) Cancel(ctx context.Context, p RefundParams) (Order, error) {
	return s.refund(ctx, p, StatusCancelled)
}

// Reject rejects a pending order (staff refuse it: abuse, an address that
// cannot be served) with an automatic refund; see refund.
// Errors: invalid, not_found, conflict (ErrNotPending).
func (s *Service) Reject(ctx context.Context, p RefundParams) (Order, error) {
	return s.refund(ctx, p, StatusRejected)
}

// refund closes a pending order with status, audited, in one transaction:
// the redemption is reversed (the coins go back to the wallet, frozen or
// not) and the item goes back into stock. Idempotent by key: a retry
// answers the order as it is now.
//
// Lock order: the idempotency key, the order, the reward (restock), the
// wallet (ledger.ReverseTx) — a redemption locks the reward before the
// wallet too, and never an existing order.
func (s *Service) refund(ctx context.Context, p RefundParams, status string) (Order, error) {
	var problems []engine.FieldError
	reason := strings.TrimSpace(p.Reason)
	if n := utf8.RuneCountInString(reason); n < 1 || n > 1000 || !utf8.ValidString(reason) {
		problems = append(problems, engine.FieldError{Field: "reason", Message: "is required (at most 1000 characters)"})
	}
	if err := ledger.CheckKey(p.IdempotencyKey); err != nil {
		problems = append(problems, engine.ErrorFields(err)...)
	}
	if err := engine.Invalid(problems); err != nil {
		return Order{}, err
	}
	verb := map[string]string{StatusCancelled: "cancel", StatusRejected: "reject"}[status]
	request := struct {
		Order  uuid.UUID `json:"order_id"`
		Reason string    `json:"reason"`
	}{p.Order, reason}
	var out Order
	err := s.db.InTenant(ctx, func(tx pgx.Tx) error {
		id, _, err := ledger.Idempotent(ctx, tx, ledger.Scope(ctx, verb+"-order"), p.IdempotencyKey, request, func() (uuid.UUID, error) {
			o, err := lockOrder(ctx, tx, p.Order)
			if err != nil {
				return uuid.Nil, err
			}
			if o.Status != StatusPending {
				return uuid.Nil, notPending(o.Status)
			}
			if err := restock(ctx, tx, o.RewardID); err != nil {
				return uuid.Nil, err
			}
			refundID, err := ledger.ReverseTx(ctx, tx, o.RedemptionID, "Refund: "+o.RewardName, ledger.ReverseRemaining)
			if err != nil {
				return uuid.Nil, err
			}
			if err := markRefunded(ctx, tx, p.Order, status, refundID, reason, audit.ActorFrom(ctx).Name); err != nil {
				return uuid.Nil, err
			}
			err = audit.Record(ctx, tx, "order."+status, "order:"+p.Order.String(), map[string]any{
				"reward": o.RewardID, "member": o.MemberID, "coins": o.Coins, "refund": refundID, "reason": reason})
			if err == nil {
				err = s.notifyOrder(ctx, tx, p.Order, o, status, reason)
			}
			return p.Order, err
		})
		if err != nil {
			return err
		}
		out, err = selectOrder(ctx, tx, id)
		return err
	})
	return out, err
}
