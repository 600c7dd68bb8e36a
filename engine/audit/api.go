package audit

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/guildhall/guildhall/engine/api"
)

// ListInput filters the audit log.
type ListInput struct {
	Action string    `query:"action" maxLength:"100" doc:"An action (member.banned) or a prefix ending in a dot (member.)."`
	Actor  string    `query:"actor" maxLength:"200" doc:"user:<id>, api_key:<prefix>, platform-token, ..."`
	Target string    `query:"target" maxLength:"200"`
	Since  time.Time `query:"since" doc:"Events at or after this time."`
	Until  time.Time `query:"until" doc:"Events before this time."`
	Cursor string    `query:"cursor" maxLength:"200" doc:"The next cursor of the previous page."`
	Limit  int       `query:"limit" minimum:"1" maximum:"100" default:"50"`
}

// Params returns the service parameters of in.
func (in ListInput) Params() ListParams {
	p := ListParams{Action: in.Action, Actor: in.Actor, Target: in.Target, Cursor: in.Cursor, Limit: in.Limit}
	if !in.Since.IsZero() {
		p.Since = &in.Since
	}
	if !in.Until.IsZero() {
		p.Until = &in.Until
	}
	return p
}

// ListOutput is a page of audit events, newest first.
type ListOutput struct {
	Body struct {
		Events []Event `json:"events"`
		Next   string  `json:"next,omitempty"`
	}
}

// NewListOutput wraps a page for the API.
func NewListOutput(p Page) *ListOutput {
	out := &ListOutput{}
	out.Body.Events = p.Events
	if out.Body.Events == nil {
		out.Body.Events = []Event{}
	}
	out.Body.Next = p.Next
	return out
}

// RegisterAPI registers the tenant's audit log operation.
func RegisterAPI(a huma.API, s *Service) {
	huma.Register(a, api.Declare(huma.Operation{
		OperationID: "list-audit-events", Method: http.MethodGet, Path: api.Prefix + "/audit-events", Tags: []string{"Audit"},
		Summary:     "List the audit log",
		Description: "Sign-ins, MFA changes, role changes, bans, API keys, settings and every staff action; newest first.",
	}, api.Permission("audit:read")), func(ctx context.Context, in *ListInput) (*ListOutput, error) {
		page, err := s.List(ctx, in.Params())
		if err != nil {
			return nil, err
		}
		return NewListOutput(page), nil
	})
}
