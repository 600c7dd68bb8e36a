package rewards

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/db"
)

type rewardRow struct {
	ID             uuid.UUID  `db:"id"`
	Name           string     `db:"name"`
	Description    string     `db:"description"`
	ImageURL       string     `db:"image_url"`
	Kind           string     `db:"kind"`
	Price          int64      `db:"price"`
	Stock          *int       `db:"stock"`
	PerMemberLimit *int       `db:"per_member_limit"`
	AvailableFrom  *time.Time `db:"available_from"`
	AvailableUntil *time.Time `db:"available_until"`
	Active         bool       `db:"active"`
	CodesAvailable *int       `db:"codes_available"`
	CreatedAt      time.Time  `db:"created_at"`
	UpdatedAt      time.Time  `db:"updated_at"`
}

func (r rewardRow) reward() Reward { return Reward(r) }

const selectRewardSQL = `SELECT r.id, r.name, r.description, r.image_url, r.kind, r.price, r.stock, r.per_member_limit,
	r.available_from, r.available_until, r.active, r.created_at, r.updated_at,
	CASE WHEN r.kind = 'coupon' THEN (SELECT count(*)::integer FROM reward_codes c
		WHERE c.tenant_id = r.tenant_id AND c.reward_id = r.id AND c.order_id IS NULL) END AS codes_available
FROM rewards r`

func selectReward(ctx context.Context, tx pgx.Tx, id uuid.UUID) (Reward, error) {
	rows, err := tx.Query(ctx, selectRewardSQL+` WHERE r.id = $1`, id)
	if err != nil {
		return Reward{}, fmt.Errorf("select reward: %w", err)
	}
	r, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[rewardRow])
	if errors.Is(err, pgx.ErrNoRows) {
		return Reward{}, ErrNotFound
	}
	if err != nil {
		return Reward{}, fmt.Errorf("select reward: %w", err)
	}
	return r.reward(), nil
}

// rewardFilter selects rewards for staff; empty fields select all.
type rewardFilter struct {
	Active *bool
	Kind   string
	Query  string // a substring of the name, case-insensitive
	After  *cursor
}

func listRewards(ctx context.Context, tx pgx.Tx, f rewardFilter, limit int) ([]Reward, error) {
	sql := selectRewardSQL + ` WHERE true`
	args := []any{}
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	if f.Active != nil {
		sql += ` AND r.active = ` + arg(*f.Active)
	}
	if f.Kind != "" {
		sql += ` AND r.kind = ` + arg(f.Kind)
	}
	if f.Query != "" {
		sql += ` AND r.name ILIKE ` + arg("%"+likeEscaper.Replace(f.Query)+"%")
	}
	if f.After != nil {
		sql += ` AND (r.created_at, r.id) < (` + arg(f.After.At) + `, ` + arg(f.After.ID) + `)`
	}
	sql += ` ORDER BY r.created_at DESC, r.id DESC LIMIT ` + arg(limit)
	rows, err := tx.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("list rewards: %w", err)
	}
	rs, err := pgx.CollectRows(rows, pgx.RowToStructByName[rewardRow])
	if err != nil {
		return nil, fmt.Errorf("list rewards: %w", err)
	}
	out := make([]Reward, len(rs))
	for i, r := range rs {
		out[i] = r.reward()
	}
	return out, nil
}

var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

func insertReward(ctx context.Context, tx pgx.Tx, id uuid.UUID, p RewardParams) error {
	_, err := tx.Exec(ctx, `
INSERT INTO rewards (tenant_id, id, name, description, image_url, kind, price, stock, per_member_limit,
	available_from, available_until, active)
VALUES (current_tenant_id(), @id, @name, @description, @image_url, @kind, @price, @stock, @per_member_limit,
	@available_from, @available_until, @active)`, rewardArgs(id, p))
	if err != nil {
		return mapRewardError("insert reward", err)
	}
	return nil
}

func updateReward(ctx context.Context, tx pgx.Tx, id uuid.UUID, p RewardParams) error {
	_, err := tx.Exec(ctx, `
UPDATE rewards SET name = @name, description = @description, image_url = @image_url, price = @price, stock = @stock,
	per_member_limit = @per_member_limit, available_from = @available_from, available_until = @available_until,
	active = @active, updated_at = now()
WHERE id = @id`, rewardArgs(id, p))
	if err != nil {
		return mapRewardError("update reward", err)
	}
	return nil
}

func rewardArgs(id uuid.UUID, p RewardParams) pgx.NamedArgs {
	return pgx.NamedArgs{
		"id": id, "name": p.Name, "description": p.Description, "image_url": p.ImageURL, "kind": p.Kind, "price": p.Price,
		"stock": p.Stock, "per_member_limit": p.PerMemberLimit, "available_from": p.AvailableFrom,
		"available_until": p.AvailableUntil, "active": p.Active == nil || *p.Active,
	}
}

// rewardChecks maps the reward table's CHECK constraints to the fields
// they guard (validation catches these first; this is the backstop).
var rewardChecks = map[string]string{
	"rewards_name_check": "name", "rewards_description_check": "description", "rewards_image_url_check": "image_url",
	"rewards_kind_check": "kind", "rewards_price_check": "price", "rewards_stock_check": "stock",
	"rewards_per_member_limit_check": "per_member_limit", "rewards_window_check": "available_until",
}

func mapRewardError(doing string, err error) error {
	if name, code := db.Constraint(err); code == db.CodeCheckViolation {
		if field, ok := rewardChecks[name]; ok {
			return &engine.Error{Code: engine.CodeInvalid, Message: "The reward is not valid.", Err: err,
				Fields: []engine.FieldError{{Field: field, Message: "is not valid"}}}
		}
	}
	return fmt.Errorf("%s: %w", doing, err)
}

// lockedReward is what a redemption needs of the reward it locked.
type lockedReward struct {
	Name           string
	Kind           string
	Price          int64
	Stock          *int
	PerMemberLimit *int
	AvailableFrom  *time.Time
	AvailableUntil *time.Time
	Active         bool
}

// lockReward locks a reward's row for the rest of tx: redemptions of one
// reward queue here, which makes the stock and the per-member limit exact.
func lockReward(ctx context.Context, tx pgx.Tx, id uuid.UUID) (lockedReward, error) {
	var r lockedReward
	err := tx.QueryRow(ctx, `
SELECT name, kind, price, stock, per_member_limit, available_from, available_until, active
FROM rewards WHERE id = $1 FOR UPDATE`, id).
		Scan(&r.Name, &r.Kind, &r.Price, &r.Stock, &r.PerMemberLimit, &r.AvailableFrom, &r.AvailableUntil, &r.Active)
	if errors.Is(err, pgx.ErrNoRows) {
		return r, ErrNotFound
	}
	if err != nil {
		return r, fmt.Errorf("lock reward: %w", err)
	}
	return r, nil
}

// available reports whether an active reward's window contains now.
func available(active bool, from, until *time.Time, now time.Time) bool {
	return active && (from == nil || !now.Before(*from)) && (until == nil || now.Before(*until))
}

// checkMember answers whether member may redeem: a member of the tenant,
// not deleted, not banned.
func checkMember(ctx context.Context, tx pgx.Tx, member uuid.UUID) error {
	var status string
	var banned *time.Time
	err := tx.QueryRow(ctx, `
SELECT u.status, m.banned_at FROM users u JOIN memberships m ON m.tenant_id = u.tenant_id AND m.user_id = u.id
WHERE u.id = $1`, member).Scan(&status, &banned)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && status != "active") {
		return &engine.Error{Code: engine.CodeNotFound, Message: "No member has that ID."}
	}
	if err != nil {
		return fmt.Errorf("look up member: %w", err)
	}
	if banned != nil {
		return ErrBanned
	}
	return nil
}

// liveOrders counts a member's pending and fulfilled orders of a reward.
func liveOrders(ctx context.Context, tx pgx.Tx, reward, member uuid.UUID) (int, error) {
	var n int
	err := tx.QueryRow(ctx, `SELECT count(*) FROM orders WHERE reward_id = $1 AND member_id = $2 AND status IN ('pending', 'fulfilled')`,
		reward, member).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count orders: %w", err)
	}
	return n, nil
}

// takeCode locks the oldest free code of a coupon reward, skipping codes
// other transactions hold. ErrNoCodes when none is left.
func takeCode(ctx context.Context, tx pgx.Tx, reward uuid.UUID) (uuid.UUID, error) {
	var id uuid.UUID
	err := tx.QueryRow(ctx, `
SELECT id FROM reward_codes WHERE reward_id = $1 AND order_id IS NULL
ORDER BY created_at, id LIMIT 1 FOR UPDATE SKIP LOCKED`, reward).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return uuid.Nil, ErrNoCodes
	}
	if err != nil {
		return uuid.Nil, fmt.Errorf("take code: %w", err)
	}
	return id, nil
}

func assignCode(ctx context.Context, tx pgx.Tx, code, order uuid.UUID) error {
	tag, err := tx.Exec(ctx, `UPDATE reward_codes SET order_id = $2 WHERE id = $1 AND order_id IS NULL`, code, order)
	if err != nil {
		return fmt.Errorf("assign code: %w", err)
	}
	if tag.RowsAffected() != 1 {
		return fmt.Errorf("assign code %s: it was taken", code)
	}
	return nil
}

// takeStock takes one item of a reward with limited stock; the condition
// (and the table's CHECK) keeps it from going below zero.
func takeStock(ctx context.Context, tx pgx.Tx, reward uuid.UUID) error {
	tag, err := tx.Exec(ctx, `UPDATE rewards SET stock = stock - 1 WHERE id = $1 AND stock > 0`, reward)
	if err != nil {
		return fmt.Errorf("take stock: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return ErrOutOfStock
	}
	return nil
}

// restock puts one item back, when the reward's stock is limited.
func restock(ctx context.Context, tx pgx.Tx, reward uuid.UUID) error {
	if _, err := tx.Exec(ctx, `UPDATE rewards SET stock = stock + 1 WHERE id = $1 AND stock IS NOT NULL`, reward); err != nil {
		return fmt.Errorf("restock: %w", err)
	}
	return nil
}

// newOrder is an order to insert.
type newOrder struct {
	ID           uuid.UUID
	Reward       uuid.UUID
	Member       uuid.UUID
	Coins        int64
	Status       string
	Address      *Address
	Code         *uuid.UUID
	RedemptionID uuid.UUID
}

func insertOrder(ctx context.Context, tx pgx.Tx, o newOrder) error {
	_, err := tx.Exec(ctx, `
INSERT INTO orders (tenant_id, id, reward_id, member_id, coins, status, shipping_address, code_id, redemption_id, fulfilled_at)
VALUES (current_tenant_id(), @id, @reward, @member, @coins, @status, @address, @code, @redemption,
	CASE WHEN @status = 'fulfilled' THEN now() END)`, pgx.NamedArgs{
		"id": o.ID, "reward": o.Reward, "member": o.Member, "coins": o.Coins, "status": o.Status, "address": o.Address,
		"code": o.Code, "redemption": o.RedemptionID,
	})
	if err != nil {
		return fmt.Errorf("insert order: %w", err)
	}
	return nil
}

type orderRow struct {
	ID              uuid.UUID  `db:"id"`
	RewardID        uuid.UUID  `db:"reward_id"`
	RewardName      string     `db:"reward_name"`
	Kind            string     `db:"kind"`
	MemberID        uuid.UUID  `db:"member_id"`
	Coins           int64      `db:"coins"`
	Status          string     `db:"status"`
	ShippingAddress *Address   `db:"shipping_address"`
	Code            *string    `db:"code"`
	RedemptionID    uuid.UUID  `db:"redemption_id"`
	RefundID        *uuid.UUID `db:"refund_id"`
	Note            string     `db:"note"`
	HandledBy       string     `db:"handled_by"`
	CreatedAt       time.Time  `db:"created_at"`
	UpdatedAt       time.Time  `db:"updated_at"`
	FulfilledAt     *time.Time `db:"fulfilled_at"`
	RefundedAt      *time.Time `db:"refunded_at"`
}

func (r orderRow) order() Order {
	o := Order{
		ID: r.ID, RewardID: r.RewardID, RewardName: r.RewardName, Kind: r.Kind, MemberID: r.MemberID, Coins: r.Coins,
		Status: r.Status, ShippingAddress: r.ShippingAddress, RedemptionID: r.RedemptionID, RefundID: r.RefundID,
		Note: r.Note, HandledBy: r.HandledBy, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, FulfilledAt: r.FulfilledAt, RefundedAt: r.RefundedAt,
	}
	if r.Code != nil {
		o.Code = *r.Code
	}
	return o
}

// The code shows only while it is the order's (joined both ways).
const selectOrderSQL = `SELECT o.id, o.reward_id, r.name AS reward_name, r.kind, o.member_id, o.coins, o.status,
	o.shipping_address, c.code, o.redemption_id, o.refund_id, o.note, o.handled_by, o.created_at, o.updated_at, o.fulfilled_at, o.refunded_at
FROM orders o JOIN rewards r ON r.tenant_id = o.tenant_id AND r.id = o.reward_id
LEFT JOIN reward_codes c ON c.tenant_id = o.tenant_id AND c.id = o.code_id AND c.order_id = o.id`

func selectOrder(ctx context.Context, tx pgx.Tx, id uuid.UUID) (Order, error) {
	rows, err := tx.Query(ctx, selectOrderSQL+` WHERE o.id = $1`, id)
	if err != nil {
		return Order{}, fmt.Errorf("select order: %w", err)
	}
	r, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[orderRow])
	if errors.Is(err, pgx.ErrNoRows) {
		return Order{}, ErrOrderNotFound
	}
	if err != nil {
		return Order{}, fmt.Errorf("select order: %w", err)
	}
	return r.order(), nil
}

// orderFilter selects orders; empty fields select all.
type orderFilter struct {
	Status string
	Member *uuid.UUID
	Reward *uuid.UUID
	After  *cursor
}

func listOrders(ctx context.Context, tx pgx.Tx, f orderFilter, limit int) ([]Order, error) {
	sql := selectOrderSQL + ` WHERE true`
	args := []any{}
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	if f.Status != "" {
		sql += ` AND o.status = ` + arg(f.Status)
	}
	if f.Member != nil {
		sql += ` AND o.member_id = ` + arg(*f.Member)
	}
	if f.Reward != nil {
		sql += ` AND o.reward_id = ` + arg(*f.Reward)
	}
	if f.After != nil {
		sql += ` AND (o.created_at, o.id) < (` + arg(f.After.At) + `, ` + arg(f.After.ID) + `)`
	}
	sql += ` ORDER BY o.created_at DESC, o.id DESC LIMIT ` + arg(limit)
	rows, err := tx.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("list orders: %w", err)
	}
	rs, err := pgx.CollectRows(rows, pgx.RowToStructByName[orderRow])
	if err != nil {
		return nil, fmt.Errorf("list orders: %w", err)
	}
	out := make([]Order, len(rs))
	for i, r := range rs {
		out[i] = r.order()
	}
	return out, nil
}

// lockedOrder is what a staff action needs of the order it locked.
type lockedOrder struct {
	Status       string
	RewardID     uuid.UUID
	RewardName   string
	MemberID     uuid.UUID
	Coins        int64
	RedemptionID uuid.UUID
}

// lockOrder locks an order's row for the rest of tx, so two staff actions
// on one order take turns and the second sees the first's status.
func lockOrder(ctx context.Context, tx pgx.Tx, id uuid.UUID) (lockedOrder, error) {
	var o lockedOrder
	err := tx.QueryRow(ctx, `
SELECT o.status, o.reward_id, r.name, o.member_id, o.coins, o.redemption_id
FROM orders o JOIN rewards r ON r.tenant_id = o.tenant_id AND r.id = o.reward_id
WHERE o.id = $1 FOR UPDATE OF o`, id).Scan(&o.Status, &o.RewardID, &o.RewardName, &o.MemberID, &o.Coins, &o.RedemptionID)
	if errors.Is(err, pgx.ErrNoRows) {
		return o, ErrOrderNotFound
	}
	if err != nil {
		return o, fmt.Errorf("lock order: %w", err)
	}
	return o, nil
}

func markFulfilled(ctx context.Context, tx pgx.Tx, id uuid.UUID, note, actor string) error {
	_, err := tx.Exec(ctx, `
UPDATE orders SET status = 'fulfilled', fulfilled_at = now(), note = CASE WHEN $2 = '' THEN note ELSE $2 END,
	handled_by = $3, updated_at = now()
WHERE id = $1`, id, note, actor)
	if err != nil {
		return fmt.Errorf("fulfil order: %w", err)
	}
	return nil
}

func markRefunded(ctx context.Context, tx pgx.Tx, id uuid.UUID, status string, refund uuid.UUID, note, actor string) error {
	_, err := tx.Exec(ctx, `
UPDATE orders SET status = $2, refund_id = $3, refunded_at = now(), note = $4, handled_by = $5, updated_at = now()
WHERE id = $1`, id, status, refund, note, actor)
	if err != nil {
		return fmt.Errorf("close order: %w", err)
	}
	return nil
}

type catalogRow struct {
	ID             uuid.UUID  `db:"id"`
	Name           string     `db:"name"`
	Description    string     `db:"description"`
	ImageURL       string     `db:"image_url"`
	Kind           string     `db:"kind"`
	Price          int64      `db:"price"`
	Stock          *int       `db:"stock"`
	PerMemberLimit *int       `db:"per_member_limit"`
	AvailableUntil *time.Time `db:"available_until"`
	Codes          *int       `db:"codes"`
	Mine           *int       `db:"mine"`
	CreatedAt      time.Time  `db:"created_at"`
}

func (r catalogRow) item() CatalogItem {
	it := CatalogItem{ID: r.ID, Name: r.Name, Description: r.Description, ImageURL: r.ImageURL, Kind: r.Kind, Price: r.Price,
		AvailableUntil: r.AvailableUntil, Remaining: r.Stock}
	if r.Codes != nil && (it.Remaining == nil || *r.Codes < *it.Remaining) {
		it.Remaining = r.Codes
	}
	if r.PerMemberLimit != nil {
		left := max(*r.PerMemberLimit-deref(r.Mine), 0)
		it.MyRemaining = &left
	}
	it.Redeemable = (it.Remaining == nil || *it.Remaining > 0) && (it.MyRemaining == nil || *it.MyRemaining > 0)
	return it
}

func deref(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}

// listCatalog lists the rewards member can see at now: active, inside
// their window. One reward when only is set.
func listCatalog(ctx context.Context, tx pgx.Tx, member uuid.UUID, now time.Time, only *uuid.UUID, after *cursor, limit int) ([]CatalogItem, []time.Time, error) {
	sql := `SELECT r.id, r.name, r.description, r.image_url, r.kind, r.price, r.stock, r.per_member_limit, r.available_until, r.created_at,
	CASE WHEN r.kind = 'coupon' THEN (SELECT count(*)::integer FROM reward_codes c
		WHERE c.tenant_id = r.tenant_id AND c.reward_id = r.id AND c.order_id IS NULL) END AS codes,
	CASE WHEN r.per_member_limit IS NOT NULL THEN (SELECT count(*)::integer FROM orders o
		WHERE o.tenant_id = r.tenant_id AND o.reward_id = r.id AND o.member_id = $1 AND o.status IN ('pending', 'fulfilled')) END AS mine
FROM rewards r
WHERE r.active AND (r.available_from IS NULL OR r.available_from <= $2) AND (r.available_until IS NULL OR r.available_until > $2)`
	args := []any{member, now}
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	if only != nil {
		sql += ` AND r.id = ` + arg(*only)
	}
	if after != nil {
		sql += ` AND (r.created_at, r.id) < (` + arg(after.At) + `, ` + arg(after.ID) + `)`
	}
	sql += ` ORDER BY r.created_at DESC, r.id DESC LIMIT ` + arg(limit)
	rows, err := tx.Query(ctx, sql, args...)
	if err != nil {
		return nil, nil, fmt.Errorf("list catalog: %w", err)
	}
	rs, err := pgx.CollectRows(rows, pgx.RowToStructByName[catalogRow])
	if err != nil {
		return nil, nil, fmt.Errorf("list catalog: %w", err)
	}
	items := make([]CatalogItem, len(rs))
	created := make([]time.Time, len(rs))
	for i, r := range rs {
		items[i] = r.item()
		created[i] = r.CreatedAt
	}
	return items, created, nil
}

// insertCodes adds codes to a reward's pool, skipping those it has, and
// returns how many were added. IDs are UUIDv7 in the order given, so codes
// are handed out first in, first out.
func insertCodes(ctx context.Context, tx pgx.Tx, reward uuid.UUID, codes []string) (int, error) {
	ids := make([]uuid.UUID, len(codes))
	for i := range codes {
		ids[i] = uuid.Must(uuid.NewV7())
	}
	tag, err := tx.Exec(ctx, `
INSERT INTO reward_codes (tenant_id, reward_id, id, code)
SELECT current_tenant_id(), $1, c.id, c.code FROM unnest($2::uuid[], $3::text[]) AS c (id, code)
ON CONFLICT ON CONSTRAINT reward_codes_code_key DO NOTHING`, reward, ids, codes)
	if err != nil {
		return 0, fmt.Errorf("insert codes: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

func freeCodes(ctx context.Context, tx pgx.Tx, reward uuid.UUID) (int, error) {
	var n int
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM reward_codes WHERE reward_id = $1 AND order_id IS NULL`, reward).Scan(&n); err != nil {
		return 0, fmt.Errorf("count codes: %w", err)
	}
	return n, nil
}
