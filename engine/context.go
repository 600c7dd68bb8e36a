package engine

import (
	"context"
	"net/netip"

	"github.com/google/uuid"
)

type tenantKey struct{}

type requestIDKey struct{}

// WithTenant returns ctx carrying the ID of the tenant the work is for.
// engine/db reads it to scope the database transaction.
func WithTenant(ctx context.Context, id uuid.UUID) context.Context {
	return context.WithValue(ctx, tenantKey{}, id)
}

// TenantFrom returns the tenant ID carried by ctx. ok is false when ctx has no
// tenant, or the nil UUID.
func TenantFrom(ctx context.Context) (id uuid.UUID, ok bool) {
	id, ok = ctx.Value(tenantKey{}).(uuid.UUID)
	return id, ok && id != uuid.Nil
}

// WithRequestID returns ctx carrying the ID of the request being served.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestIDFrom returns the request ID carried by ctx, or "".
func RequestIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// Client is who sent the request, as far as the network tells: the client
// IP (from trusted proxy headers when configured) and the user agent.
type Client struct {
	IP        netip.Addr
	UserAgent string
}

type clientKey struct{}

// WithClient returns ctx carrying the request's client.
func WithClient(ctx context.Context, c Client) context.Context {
	return context.WithValue(ctx, clientKey{}, c)
}

// ClientFrom returns the request's client, or the zero Client.
func ClientFrom(ctx context.Context) Client {
	c, _ := ctx.Value(clientKey{}).(Client)
	return c
}
