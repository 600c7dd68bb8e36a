package audit

import (
	"context"
	"net/netip"
	"time"

	"github.com/google/uuid"

	"github.com/guildhall/guildhall/engine"
)

// Actor is who performs an action: a console user, an API caller, the CLI.
// Name identifies them in the log ("cli:alice", "platform-token"); IP and
// UserAgent describe the request when there is one.
type Actor struct {
	Name      string
	IP        netip.Addr
	UserAgent string
}

type actorKey struct{}

// WithActor returns ctx carrying the actor of the request.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns who acts in ctx: the actor set with WithActor, else the
// authenticated principal, else "system" (work no person started, such as
// jobs). IP and user agent come from the request's client when not set.
func ActorFrom(ctx context.Context) Actor {
	a, _ := ctx.Value(actorKey{}).(Actor)
	if a.Name == "" {
		if p, ok := engine.PrincipalFrom(ctx); ok && p.Name != "" {
			a.Name = p.Name
		} else {
			a.Name = "system"
		}
	}
	c := engine.ClientFrom(ctx)
	if !a.IP.IsValid() {
		a.IP = c.IP
	}
	if a.UserAgent == "" {
		a.UserAgent = c.UserAgent
	}
	return a
}

// Event is one audited action on a tenant.
type Event struct {
	ID         uuid.UUID      `json:"id"`
	OccurredAt time.Time      `json:"occurred_at"`
	Actor      string         `json:"actor"`
	Action     string         `json:"action"` // dotted: tenant.created
	Target     string         `json:"target"`
	Details    map[string]any `json:"details"`
	IP         string         `json:"ip,omitempty"`
	UserAgent  string         `json:"user_agent,omitempty"`
}
