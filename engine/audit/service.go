package audit

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/db"
)

// Service reads the audit log.
type Service struct {
	db *db.DB
}

// NewService returns a Service over d.
func NewService(d *db.DB) *Service { return &Service{db: d} }

// Cursor is a position in the log, for keyset pagination.
type Cursor struct {
	At time.Time `json:"t"`
	ID uuid.UUID `json:"i"`
}

// Encode returns the cursor as an opaque string.
func (c Cursor) Encode() string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodeCursor parses a cursor made by Encode.
// Errors: invalid when s is not one.
func DecodeCursor(s string) (*Cursor, error) {
	if s == "" {
		return nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	var c Cursor
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	if err != nil || c.ID == uuid.Nil {
		return nil, &engine.Error{Code: engine.CodeInvalid, Message: "The cursor is not valid.", Fields: []engine.FieldError{{Field: "cursor", Message: "not a cursor returned by this API"}}}
	}
	return &c, nil
}

// ListParams selects a page of the log. Filters left empty select all.
type ListParams struct {
	Action string // an action (member.banned), or a prefix ending in "." (member.)
	Actor  string // user:<id>, api_key:<prefix>, platform-token, cli:<name> ...
	Target string
	Since  *time.Time
	Until  *time.Time
	Cursor string // from a previous page's Next; empty for the newest
	Limit  int    // 1..100; 0 means 50
}

// Page is a page of events, newest first. Next is empty on the last page.
type Page struct {
	Events []Event
	Next   string
}

// List returns a page of the audit log of the tenant in ctx.
// Errors: invalid (bad cursor or limit), not_found (no tenant).
func (s *Service) List(ctx context.Context, p ListParams) (Page, error) {
	if p.Limit == 0 {
		p.Limit = 50
	}
	if p.Limit < 1 || p.Limit > 100 {
		return Page{}, engine.Invalid([]engine.FieldError{{Field: "limit", Message: "must be between 1 and 100"}})
	}
	if p.Since != nil && p.Until != nil && !p.Since.Before(*p.Until) {
		return Page{}, engine.Invalid([]engine.FieldError{{Field: "since", Message: "must be before until"}})
	}
	before, err := DecodeCursor(p.Cursor)
	if err != nil {
		return Page{}, err
	}
	var page Page
	err = s.db.InTenant(ctx, func(tx pgx.Tx) error {
		events, err := listEvents(ctx, tx, filter{Action: p.Action, Actor: p.Actor, Target: p.Target,
			Since: p.Since, Until: p.Until, Before: before}, p.Limit+1)
		if err != nil {
			return err
		}
		if len(events) > p.Limit {
			events = events[:p.Limit]
			last := events[len(events)-1]
			page.Next = Cursor{At: last.OccurredAt, ID: last.ID}.Encode()
		}
		page.Events = events
		return nil
	})
	return page, err
}
