package ledger

import (
	"time"

	"github.com/google/uuid"

	"github.com/guildhall/guildhall/engine"
)

// System account IDs (the same in every tenant; wallets use the member's
// user ID).
var (
	AccountIssuance    = uuid.MustParse("00000000-0000-0000-0000-000000000001")
	AccountRedemptions = uuid.MustParse("00000000-0000-0000-0000-000000000002")
	AccountExpiry      = uuid.MustParse("00000000-0000-0000-0000-000000000003")
	AccountAdjustments = uuid.MustParse("00000000-0000-0000-0000-000000000004")
)

// systemKinds names the system accounts by ID.
var systemKinds = map[uuid.UUID]string{
	AccountIssuance: "issuance", AccountRedemptions: "redemptions", AccountExpiry: "expiry", AccountAdjustments: "adjustments",
}

// Transaction kinds.
const (
	KindAward      = "award"
	KindBonus      = "bonus"
	KindRedemption = "redemption"
	KindRefund     = "refund"
	KindAdjustment = "adjustment"
	KindReversal   = "reversal"
	KindExpiry     = "expiry"
)

// Wallet is a member's coin account.
type Wallet struct {
	MemberID uuid.UUID  `json:"member_id"`
	Balance  int64      `json:"balance" doc:"Spendable coins."`
	Debt     int64      `json:"debt" doc:"Coins owed from reversed awards already spent; future earnings pay it off first."`
	FrozenAt *time.Time `json:"frozen_at,omitempty" doc:"A frozen wallet neither earns nor spends."`
	// Expiring lists when coins expire, oldest first, when the tenant lets
	// coins expire.
	Expiring []Expiry `json:"expiring,omitempty"`
}

// Expiry is an amount of coins that expires at a time unless spent first
// (spending uses the oldest coins first).
type Expiry struct {
	At     time.Time `json:"at"`
	Amount int64     `json:"amount"`
}

// Entry is one line of a wallet's history: what moved and why.
type Entry struct {
	ID            uuid.UUID  `json:"id"`
	TransactionID uuid.UUID  `json:"transaction_id"`
	Kind          string     `json:"kind" doc:"award, bonus, redemption, refund, adjustment, reversal, expiry or debt_repayment."`
	Amount        int64      `json:"amount" doc:"Positive: coins in. Negative: coins out."`
	Memo          string     `json:"memo" doc:"Why: the event type, the reward, the staff member's reason."`
	EventID       *uuid.UUID `json:"event_id,omitempty"`
	RuleID        *uuid.UUID `json:"rule_id,omitempty"`
	OrderID       *uuid.UUID `json:"order_id,omitempty"`
	ReversesID    *uuid.UUID `json:"reverses_id,omitempty"`
	CreatedAt     time.Time  `json:"created_at"`
}

// Transaction is a movement of coins with all its entries.
type Transaction struct {
	ID         uuid.UUID     `json:"id"`
	Kind       string        `json:"kind"`
	Memo       string        `json:"memo"`
	EventID    *uuid.UUID    `json:"event_id,omitempty"`
	RuleID     *uuid.UUID    `json:"rule_id,omitempty"`
	OrderID    *uuid.UUID    `json:"order_id,omitempty"`
	ReversesID *uuid.UUID    `json:"reverses_id,omitempty"`
	ReversedBy *uuid.UUID    `json:"reversed_by,omitempty"`
	Shortfall  int64         `json:"shortfall,omitempty" doc:"Coins a reversal could not take back because they were spent."`
	Actor      string        `json:"actor"`
	CreatedAt  time.Time     `json:"created_at"`
	Entries    []PostedEntry `json:"entries"`
}

// PostedEntry is an entry of a transaction, on any account.
type PostedEntry struct {
	ID        uuid.UUID `json:"id"`
	AccountID uuid.UUID `json:"account_id"`
	Account   string    `json:"account" doc:"wallet, issuance, redemptions, expiry or adjustments."`
	Amount    int64     `json:"amount"`
	Kind      string    `json:"kind"`
}

// Errors callers branch on.
var (
	ErrInsufficientFunds = &engine.Error{Code: engine.CodeConflict, Message: "The wallet does not hold enough coins."}
	ErrFrozen            = &engine.Error{Code: engine.CodeConflict, Message: "The wallet is frozen."}
	ErrNotFound          = &engine.Error{Code: engine.CodeNotFound, Message: "Not found."}
	ErrAlreadyReversed   = &engine.Error{Code: engine.CodeConflict, Message: "That transaction was already reversed."}
	ErrKeyReused         = &engine.Error{Code: engine.CodeInvalid, Message: "This idempotency key was used for a different request.",
		Fields: []engine.FieldError{{Field: "idempotency_key", Message: "was used for a different request"}}}
	ErrNoKey = &engine.Error{Code: engine.CodeInvalid, Message: "An idempotency key is required.",
		Fields: []engine.FieldError{{Field: "idempotency_key", Message: "is required (1 to 200 characters; use a UUIDv7)"}}}
)
