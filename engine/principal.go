package engine

import (
	"context"

	"github.com/google/uuid"
)

// PrincipalKind says what kind of caller a Principal is.
type PrincipalKind string

// The kinds of caller.
const (
	PrincipalUser     PrincipalKind = "user"     // an end user or staff member of a tenant
	PrincipalAPIKey   PrincipalKind = "api_key"  // an integrator's API key of a tenant
	PrincipalPlatform PrincipalKind = "platform" // a platform admin or the platform token
)

// Principal is the authenticated caller of a request, as verified against
// the database's current state (not just a token's claims).
type Principal struct {
	Kind     PrincipalKind
	TenantID uuid.UUID // the tenant the caller acts in; nil for the platform
	// UserID and SessionID are set for users; AdminID for platform admins.
	UserID    uuid.UUID
	SessionID uuid.UUID
	AdminID   uuid.UUID
	// APIKeyID and Scopes are set for API keys.
	APIKeyID uuid.UUID
	Scopes   []string
	// Role is the user's current role in the tenant (owner, admin,
	// moderator, member), or platform_admin.
	Role string
	// Name identifies the caller in the audit log: "user:<id>",
	// "api_key:<prefix>", "platform_admin:<email>".
	Name string
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal carried by ctx.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}
