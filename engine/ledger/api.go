package ledger

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/api"
)

// HistoryInput filters a wallet's history.
type HistoryInput struct {
	Kind   []string  `query:"kind" doc:"Entry kinds: award, bonus, redemption, refund, adjustment, reversal, expiry, debt_repayment."`
	Since  time.Time `query:"since"`
	Until  time.Time `query:"until"`
	Cursor string    `query:"cursor" maxLength:"200"`
	Limit  int       `query:"limit" minimum:"1" maximum:"100" default:"50"`
}

func (in HistoryInput) params(member uuid.UUID) HistoryParams {
	p := HistoryParams{Member: member, Kinds: in.Kind, Cursor: in.Cursor, Limit: in.Limit}
	if !in.Since.IsZero() {
		p.Since = &in.Since
	}
	if !in.Until.IsZero() {
		p.Until = &in.Until
	}
	return p
}

// HistoryOutput is a page of entries, newest first.
type HistoryOutput struct {
	Body struct {
		Entries []Entry `json:"entries"`
		Next    string  `json:"next,omitempty"`
	}
}

func historyOutput(p HistoryPage) *HistoryOutput {
	out := &HistoryOutput{}
	out.Body.Entries = p.Entries
	if out.Body.Entries == nil {
		out.Body.Entries = []Entry{}
	}
	out.Body.Next = p.Next
	return out
}

type walletOutput struct{ Body Wallet }

type memberPath struct {
	ID uuid.UUID `path:"id" format:"uuid"`
}

func self(ctx context.Context) (uuid.UUID, error) {
	p, ok := engine.PrincipalFrom(ctx)
	if !ok || p.Kind != engine.PrincipalUser {
		return uuid.Nil, engine.Errorf(engine.CodeUnauthenticated, "Sign in to do this.")
	}
	return p.UserID, nil
}

// RegisterAPI registers the wallet and ledger operations.
func RegisterAPI(a huma.API, s *Service) {
	tags := []string{"Wallets"}
	huma.Register(a, api.Declare(huma.Operation{
		OperationID: "get-my-wallet", Method: http.MethodGet, Path: api.Prefix + "/wallet", Tags: tags,
		Summary: "Get my wallet", Description: "Balance, debt, and when coins expire (when the community lets them).",
	}, api.Self), func(ctx context.Context, _ *struct{}) (*walletOutput, error) {
		id, err := self(ctx)
		if err != nil {
			return nil, err
		}
		w, err := s.Wallet(ctx, id)
		return &walletOutput{Body: w}, err
	})
	huma.Register(a, api.Declare(huma.Operation{
		OperationID: "list-my-wallet-entries", Method: http.MethodGet, Path: api.Prefix + "/wallet/entries", Tags: tags,
		Summary: "List my wallet's history", Description: "Newest first; each entry says why it happened.",
	}, api.Self), func(ctx context.Context, in *HistoryInput) (*HistoryOutput, error) {
		id, err := self(ctx)
		if err != nil {
			return nil, err
		}
		p, err := s.History(ctx, in.params(id))
		if err != nil {
			return nil, err
		}
		return historyOutput(p), nil
	})
	huma.Register(a, api.Declare(huma.Operation{
		OperationID: "get-member-wallet", Method: http.MethodGet, Path: api.Prefix + "/members/{id}/wallet", Tags: tags,
		Summary: "Get a member's wallet",
	}, api.Permission("wallets:read")), func(ctx context.Context, in *memberPath) (*walletOutput, error) {
		w, err := s.Wallet(ctx, in.ID)
		return &walletOutput{Body: w}, err
	})
	huma.Register(a, api.Declare(huma.Operation{
		OperationID: "list-member-wallet-entries", Method: http.MethodGet, Path: api.Prefix + "/members/{id}/wallet/entries", Tags: tags,
		Summary: "List a member's wallet history",
	}, api.Permission("wallets:read")), func(ctx context.Context, in *struct {
		ID uuid.UUID `path:"id" format:"uuid"`
		HistoryInput
	}) (*HistoryOutput, error) {
		p, err := s.History(ctx, in.HistoryInput.params(in.ID))
		if err != nil {
			return nil, err
		}
		return historyOutput(p), nil
	})
	type txOutput struct{ Body Transaction }
	huma.Register(a, api.Declare(huma.Operation{
		OperationID: "get-coin-transaction", Method: http.MethodGet, Path: api.Prefix + "/coin-transactions/{id}", Tags: tags,
		Summary: "Get a transaction with its entries",
	}, api.Permission("wallets:read")), func(ctx context.Context, in *memberPath) (*txOutput, error) {
		t, err := s.Transaction(ctx, in.ID)
		if err != nil {
			return nil, err
		}
		return &txOutput{Body: t}, nil
	})
	huma.Register(a, api.Declare(huma.Operation{
		OperationID: "adjust-member-wallet", Method: http.MethodPost, Path: api.Prefix + "/members/{id}/wallet/adjustments", Tags: tags,
		Summary:     "Grant or deduct coins",
		Description: "A positive amount grants, a negative one deducts (never below zero). The reason is kept with the transaction and in the audit log.",
	}, api.Permission("wallets:manage")), func(ctx context.Context, in *struct {
		ID   uuid.UUID `path:"id" format:"uuid"`
		Body struct {
			Amount         int64  `json:"amount" doc:"Whole coins; not zero."`
			Reason         string `json:"reason" minLength:"1" maxLength:"500"`
			IdempotencyKey string `json:"idempotency_key" minLength:"1" maxLength:"200"`
		}
	}) (*txOutput, error) {
		t, err := s.Adjust(ctx, AdjustParams{Member: in.ID, Amount: in.Body.Amount, Reason: in.Body.Reason, IdempotencyKey: in.Body.IdempotencyKey})
		if err != nil {
			return nil, err
		}
		return &txOutput{Body: t}, nil
	})
	huma.Register(a, api.Declare(huma.Operation{
		OperationID: "reverse-coin-transaction", Method: http.MethodPost, Path: api.Prefix + "/coin-transactions/{id}/reversal", Tags: tags,
		Summary:     "Reverse a transaction",
		Description: "Coins it gave are taken back as far as the wallet holds them (the rest is the shortfall, carried as debt with policy carry_debt); coins it took are given back.",
	}, api.Permission("wallets:manage")), func(ctx context.Context, in *struct {
		ID   uuid.UUID `path:"id" format:"uuid"`
		Body struct {
			Reason         string `json:"reason" minLength:"1" maxLength:"500"`
			Policy         string `json:"policy,omitempty" enum:"reverse_remaining,carry_debt"`
			IdempotencyKey string `json:"idempotency_key" minLength:"1" maxLength:"200"`
		}
	}) (*txOutput, error) {
		t, err := s.Reverse(ctx, ReverseParams{TransactionID: in.ID, Reason: in.Body.Reason, Policy: in.Body.Policy, IdempotencyKey: in.Body.IdempotencyKey})
		if err != nil {
			return nil, err
		}
		return &txOutput{Body: t}, nil
	})
	huma.Register(a, api.Declare(huma.Operation{
		OperationID: "freeze-member-wallet", Method: http.MethodPut, Path: api.Prefix + "/members/{id}/wallet/frozen", Tags: tags,
		Summary: "Freeze or unfreeze a wallet", Description: "A frozen wallet neither earns nor spends; staff can still adjust it.",
	}, api.Permission("wallets:manage")), func(ctx context.Context, in *struct {
		ID   uuid.UUID `path:"id" format:"uuid"`
		Body struct {
			Frozen bool   `json:"frozen"`
			Reason string `json:"reason,omitempty" maxLength:"500"`
		}
	}) (*walletOutput, error) {
		w, err := s.SetFrozen(ctx, in.ID, in.Body.Frozen, in.Body.Reason)
		return &walletOutput{Body: w}, err
	})
	huma.Register(a, api.Declare(huma.Operation{
		OperationID: "get-coin-stats", Method: http.MethodGet, Path: api.Prefix + "/coin-stats", Tags: tags,
		Summary: "Coins issued and redeemed per day", Description: "Computed each night for the day before (tenant-local).",
	}, api.Permission("wallets:read")), func(ctx context.Context, in *struct {
		From time.Time `query:"from" required:"true"`
		To   time.Time `query:"to" required:"true"`
	}) (*struct {
		Body struct {
			Days []DayStats `json:"days"`
		}
	}, error) {
		if in.To.Before(in.From) || in.To.Sub(in.From) > 400*24*time.Hour {
			return nil, engine.Invalid([]engine.FieldError{{Field: "to", Message: "must be after from, at most 400 days later"}})
		}
		days, err := s.Stats(ctx, in.From, in.To)
		if err != nil {
			return nil, err
		}
		out := &struct {
			Body struct {
				Days []DayStats `json:"days"`
			}
		}{}
		out.Body.Days = days
		if out.Body.Days == nil {
			out.Body.Days = []DayStats{}
		}
		return out, nil
	})
}
