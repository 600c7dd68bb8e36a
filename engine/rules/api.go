package rules

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/api"
)

// EventBody is an event as integrators send it.
type EventBody struct {
	Type           string         `json:"type" maxLength:"100" example:"order.paid" doc:"An event type of the community (list-event-types)."`
	MemberID       uuid.UUID      `json:"member_id" doc:"The member who earns."`
	ActorID        *uuid.UUID     `json:"actor_id,omitempty" doc:"Who caused it, when not the member (the liker of a post)."`
	Ref            string         `json:"ref,omitempty" maxLength:"200" doc:"What earned it (post:123). reverse-events takes back every award of a ref."`
	Attributes     map[string]any `json:"attributes,omitempty" doc:"Facts rule conditions can test (attributes.total > 50)."`
	OccurredAt     *time.Time     `json:"occurred_at,omitempty" doc:"When it happened; caps count the day it is received."`
	IdempotencyKey string         `json:"idempotency_key" minLength:"1" maxLength:"200" doc:"Sending the same event again with the same key returns the first decision; use a UUIDv7."`
}

func (b EventBody) event() Event {
	return Event{Type: b.Type, Member: b.MemberID, Actor: b.ActorID, Ref: b.Ref, Attributes: b.Attributes, OccurredAt: b.OccurredAt, IdempotencyKey: b.IdempotencyKey}
}

// DecisionOutput is one event's decision.
type DecisionOutput struct {
	Replayed string `header:"Idempotent-Replayed" doc:"true when the key was seen before and this is the first answer again."`
	Body     Decision
}

// BatchResultBody is one event's outcome in a batch.
type BatchResultBody struct {
	Decision *Decision    `json:"decision,omitempty"`
	Error    *api.Problem `json:"error,omitempty"`
}

// RegisterAPI registers the events, rules and coin settings operations.
func RegisterAPI(a huma.API, s *Service) {
	events := []string{"Events"}
	huma.Register(a, api.Declare(huma.Operation{
		OperationID: "create-event", Method: http.MethodPost, Path: api.Prefix + "/events", Tags: events,
		Summary:     "Send an event",
		Description: "Decides and records what the event earns the member under the community's rules and caps, in one transaction. The same idempotency key returns the first decision; with a different event it is a 422.",
	}, api.Permission("events:write")), func(ctx context.Context, in *struct{ Body EventBody }) (*DecisionOutput, error) {
		d, err := s.Award(ctx, in.Body.event())
		if err != nil {
			return nil, err
		}
		out := &DecisionOutput{Body: d}
		if d.Replayed {
			out.Replayed = "true"
		}
		return out, nil
	})

	huma.Register(a, api.Declare(huma.Operation{
		OperationID: "create-events", Method: http.MethodPost, Path: api.Prefix + "/events/batch", Tags: events,
		Summary:     "Send up to 1000 events",
		Description: "One transaction; each event gets its decision or its own error, in the order sent.",
	}, api.Permission("events:write")), func(ctx context.Context, in *struct {
		Body struct {
			Events []EventBody `json:"events" minItems:"1" maxItems:"1000"`
		}
	}) (*struct {
		Body struct {
			Results []BatchResultBody `json:"results"`
		}
	}, error) {
		evs := make([]Event, len(in.Body.Events))
		for i, e := range in.Body.Events {
			evs[i] = e.event()
		}
		results, err := s.AwardBatch(ctx, evs)
		if err != nil {
			return nil, err
		}
		out := &struct {
			Body struct {
				Results []BatchResultBody `json:"results"`
			}
		}{}
		out.Body.Results = make([]BatchResultBody, len(results))
		for i, r := range results {
			if r.Error != nil {
				out.Body.Results[i].Error = api.NewProblem(ctx, 0, "", r.Error)
			} else {
				out.Body.Results[i].Decision = r.Decision
			}
		}
		return out, nil
	})

	huma.Register(a, api.Declare(huma.Operation{
		OperationID: "dry-run-event", Method: http.MethodPost, Path: api.Prefix + "/events/dry-run", Tags: events,
		Summary:     "Preview what an event would earn",
		Description: "Runs the real award against the member's current counters and rolls it back: nothing is written. The idempotency key is optional here.",
	}, api.Permission("rules:manage")), func(ctx context.Context, in *struct {
		Body struct {
			EventBody
			IdempotencyKey string `json:"idempotency_key,omitempty" maxLength:"200"`
		}
	}) (*struct{ Body Decision }, error) {
		e := in.Body.EventBody.event()
		e.IdempotencyKey = in.Body.IdempotencyKey
		d, err := s.DryRun(ctx, e)
		if err != nil {
			return nil, err
		}
		return &struct{ Body Decision }{Body: d}, nil
	})

	huma.Register(a, api.Declare(huma.Operation{
		OperationID: "reverse-events", Method: http.MethodPost, Path: api.Prefix + "/events/reversals", Tags: events,
		Summary:     "Take back the awards of something undone",
		Description: "Reverses every award made for ref (an unliked like, a deleted post) for everyone it paid, by each rule's reversal policy. Coins already spent are a shortfall, or a debt.",
	}, api.Permission("events:write")), func(ctx context.Context, in *struct {
		Body struct {
			Ref            string `json:"ref" minLength:"1" maxLength:"200"`
			IdempotencyKey string `json:"idempotency_key" minLength:"1" maxLength:"200"`
		}
	}) (*struct {
		Body struct {
			Reversals []Reversal `json:"reversals"`
		}
	}, error) {
		rs, err := s.ReverseRef(ctx, in.Body.Ref, in.Body.IdempotencyKey)
		if err != nil {
			return nil, err
		}
		out := &struct {
			Body struct {
				Reversals []Reversal `json:"reversals"`
			}
		}{}
		out.Body.Reversals = rs
		return out, nil
	})

	huma.Register(a, api.Declare(huma.Operation{
		OperationID: "list-events", Method: http.MethodGet, Path: api.Prefix + "/events", Tags: events,
		Summary: "List received events and their decisions", Description: "Newest first.",
	}, api.Permission("wallets:read")), func(ctx context.Context, in *struct {
		MemberID string    `query:"member_id" format:"uuid"`
		Type     string    `query:"type" maxLength:"100"`
		Before   time.Time `query:"before"`
		Limit    int       `query:"limit" minimum:"1" maximum:"100" default:"50"`
	}) (*struct {
		Body struct {
			Events []EventRecord `json:"events"`
		}
	}, error) {
		p := ListEventsParams{Type: in.Type, Limit: in.Limit}
		if in.MemberID != "" {
			id, err := uuid.Parse(in.MemberID)
			if err != nil {
				return nil, engine.Invalid([]engine.FieldError{{Field: "member_id", Message: "is not a UUID"}})
			}
			p.Member = &id
		}
		if !in.Before.IsZero() {
			p.Before = &in.Before
		}
		evs, err := s.ListEvents(ctx, p)
		if err != nil {
			return nil, err
		}
		out := &struct {
			Body struct {
				Events []EventRecord `json:"events"`
			}
		}{}
		out.Body.Events = evs
		if out.Body.Events == nil {
			out.Body.Events = []EventRecord{}
		}
		return out, nil
	})

	huma.Register(a, api.Declare(huma.Operation{
		OperationID: "list-event-types", Method: http.MethodGet, Path: api.Prefix + "/event-types", Tags: events,
		Summary: "List the event types of this community", Description: "The plugins' and the community's own, with the coins each earns before caps.",
	}, api.PublicTenant), func(ctx context.Context, _ *struct{}) (*struct {
		Body struct {
			EventTypes []EventTypeInfo `json:"event_types"`
		}
	}, error) {
		ets, err := s.EventTypes(ctx)
		if err != nil {
			return nil, err
		}
		out := &struct {
			Body struct {
				EventTypes []EventTypeInfo `json:"event_types"`
			}
		}{}
		out.Body.EventTypes = ets
		return out, nil
	})

	registerRulesAPI(a, s)
}

// RuleBody is a rule as staff write it (the event type is in the path).
type RuleBody struct {
	Name             string         `json:"name,omitempty" maxLength:"100"`
	Coins            int64          `json:"coins" minimum:"0" maximum:"1000000"`
	Condition        string         `json:"condition,omitempty" maxLength:"2000" doc:"CEL over type, member, actor, ref and attributes, giving true or false."`
	Enabled          bool           `json:"enabled"`
	CapDay           *int64         `json:"cap_day,omitempty" minimum:"0"`
	CapWeek          *int64         `json:"cap_week,omitempty" minimum:"0"`
	CapMonth         *int64         `json:"cap_month,omitempty" minimum:"0"`
	CapTotal         *int64         `json:"cap_total,omitempty" minimum:"0"`
	PairCapDay       *int           `json:"pair_cap_day,omitempty" minimum:"0"`
	NewAccountDays   *int           `json:"new_account_days,omitempty" minimum:"0"`
	NewAccountCoins  int64          `json:"new_account_coins,omitempty" minimum:"0"`
	CapPercentByRole map[string]int `json:"cap_percent_by_role,omitempty"`
	Reversal         string         `json:"reversal,omitempty" enum:"reverse_remaining,carry_debt"`
}

// BacktestRule is a rule of an edited set.
type BacktestRule struct {
	EventType string `json:"event_type" maxLength:"100"`
	RuleBody
}

func (b RuleBody) rule(eventType string) Rule {
	return Rule{EventType: eventType, Name: b.Name, Coins: b.Coins, Condition: b.Condition, Enabled: b.Enabled,
		CapDay: b.CapDay, CapWeek: b.CapWeek, CapMonth: b.CapMonth, CapTotal: b.CapTotal, PairCapDay: b.PairCapDay,
		NewAccountDays: b.NewAccountDays, NewAccountCoins: b.NewAccountCoins, CapPercentByRole: b.CapPercentByRole, Reversal: b.Reversal}
}

func registerRulesAPI(a huma.API, s *Service) {
	tags := []string{"Rules"}
	type ruleOutput struct{ Body Rule }
	huma.Register(a, api.Declare(huma.Operation{
		OperationID: "list-rules", Method: http.MethodGet, Path: api.Prefix + "/rules", Tags: tags, Summary: "List the rules",
	}, api.Permission("rules:manage")), func(ctx context.Context, _ *struct{}) (*struct {
		Body struct {
			Rules []Rule `json:"rules"`
		}
	}, error) {
		rs, err := s.Rules(ctx)
		if err != nil {
			return nil, err
		}
		out := &struct {
			Body struct {
				Rules []Rule `json:"rules"`
			}
		}{}
		out.Body.Rules = rs
		return out, nil
	})
	huma.Register(a, api.Declare(huma.Operation{
		OperationID: "put-rule", Method: http.MethodPut, Path: api.Prefix + "/rules/{event_type}", Tags: tags,
		Summary:     "Create or replace a rule",
		Description: "A condition is a CEL expression over type, member, actor, ref and attributes that must give true or false; it is checked when saved. New caps apply from the next award, judged against what was already granted in the period.",
	}, api.Permission("rules:manage")), func(ctx context.Context, in *struct {
		EventType string `path:"event_type" maxLength:"100"`
		Body      RuleBody
	}) (*ruleOutput, error) {
		out, err := s.PutRule(ctx, in.Body.rule(in.EventType))
		if err != nil {
			return nil, err
		}
		return &ruleOutput{Body: out}, nil
	})
	huma.Register(a, api.Declare(huma.Operation{
		OperationID: "delete-rule", Method: http.MethodDelete, Path: api.Prefix + "/rules/{event_type}", Tags: tags,
		Summary: "Delete a rule", Description: "A plugin's event type falls back to its default.",
	}, api.Permission("rules:manage")), func(ctx context.Context, in *struct {
		EventType string `path:"event_type" maxLength:"100"`
	}) (*struct{}, error) {
		return nil, s.DeleteRule(ctx, in.EventType)
	})
	huma.Register(a, api.Declare(huma.Operation{
		OperationID: "get-coin-settings", Method: http.MethodGet, Path: api.Prefix + "/coin-settings", Tags: tags, Summary: "Get the coin settings",
	}, api.Permission("rules:manage")), func(ctx context.Context, _ *struct{}) (*struct{ Body Settings }, error) {
		st, err := s.Settings(ctx)
		return &struct{ Body Settings }{Body: st}, err
	})
	huma.Register(a, api.Declare(huma.Operation{
		OperationID: "put-coin-settings", Method: http.MethodPut, Path: api.Prefix + "/coin-settings", Tags: tags, Summary: "Set the coin settings",
	}, api.Permission("rules:manage")), func(ctx context.Context, in *struct{ Body Settings }) (*struct{ Body Settings }, error) {
		st, err := s.SetSettings(ctx, in.Body)
		if err != nil {
			return nil, err
		}
		return &struct{ Body Settings }{Body: st}, nil
	})
	huma.Register(a, api.Declare(huma.Operation{
		OperationID: "backtest-rules", Method: http.MethodPost, Path: api.Prefix + "/rules/backtest", Tags: tags,
		Summary:     "Backtest an edited rule set",
		Description: "Replays the last 30 days of events through the given rules and settings, in memory, and compares with what was issued.",
	}, api.Permission("rules:manage")), func(ctx context.Context, in *struct {
		Body struct {
			Rules    []BacktestRule `json:"rules" maxItems:"500"`
			Settings *Settings      `json:"settings,omitempty" doc:"Default: the current settings."`
		}
	}) (*struct{ Body Backtest }, error) {
		st := DefaultSettings
		if in.Body.Settings != nil {
			st = *in.Body.Settings
		} else if cur, err := s.Settings(ctx); err == nil {
			st = cur
		}
		rules := make([]Rule, len(in.Body.Rules))
		for i, r := range in.Body.Rules {
			rules[i] = r.RuleBody.rule(r.EventType)
		}
		bt, err := s.Backtest(ctx, rules, st)
		if err != nil {
			return nil, err
		}
		return &struct{ Body Backtest }{Body: bt}, nil
	})
}
