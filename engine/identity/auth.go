package identity

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/guildhall/guildhall/engine"
)

// AuthenticateBearer returns the principal of a bearer token — an access
// token or an API key — presented to the tenant in ctx. The token's claims
// are only a pointer: the session's current state (revoked? expired? user
// deleted or banned? role?) comes from the cache.
// Errors: unauthenticated (missing, malformed, forged, expired, other
// tenant, revoked), forbidden (banned).
func (s *Service) AuthenticateBearer(ctx context.Context, token string) (engine.Principal, error) {
	tenant, ok := engine.TenantFrom(ctx)
	if !ok || token == "" {
		return engine.Principal{}, ErrUnauthenticated
	}
	if strings.HasPrefix(token, prefixAPIKey) {
		return s.authenticateKey(ctx, tenant, token)
	}
	v, err := s.signer.verify(token)
	if err != nil || v.tenant != tenant {
		return engine.Principal{}, ErrUnauthenticated
	}
	return s.sessionPrincipal(ctx, tenant, v.session, v.user, KindAPI)
}

// AuthenticateCookie returns the principal of a web or console session
// cookie presented to the tenant in ctx.
// Errors: unauthenticated, forbidden (banned, or no longer staff for the
// console).
func (s *Service) AuthenticateCookie(ctx context.Context, cookie string, kind Kind) (engine.Principal, error) {
	tenant, ok := engine.TenantFrom(ctx)
	if !ok || !validOpaque(cookie, prefixCookie) {
		return engine.Principal{}, ErrUnauthenticated
	}
	id, err := s.cache.sessionByCookie(ctx, tenant, cookie, kind)
	if err != nil {
		return engine.Principal{}, err
	}
	p, err := s.sessionPrincipal(ctx, tenant, id, uuid.Nil, kind)
	if err != nil {
		return engine.Principal{}, err
	}
	if kind == KindConsole && !s.authz.RoleCan(tenant.String(), p.Role, "members:read") {
		return engine.Principal{}, ErrNotStaff
	}
	return p, nil
}

func (s *Service) sessionPrincipal(ctx context.Context, tenant, session, user uuid.UUID, kind Kind) (engine.Principal, error) {
	st, err := s.cache.session(ctx, tenant, session)
	if err != nil {
		return engine.Principal{}, err
	}
	switch {
	case user != uuid.Nil && st.UserID != user,
		st.Kind != string(kind),
		st.RevokedAt != nil,
		!st.ExpiresAt.After(s.now()),
		st.UserStatus != "active":
		return engine.Principal{}, ErrUnauthenticated
	case st.BannedAt != nil:
		return engine.Principal{}, ErrBanned
	}
	return engine.Principal{
		Kind: engine.PrincipalUser, TenantID: tenant, UserID: st.UserID, SessionID: session,
		Role: st.Role, Name: "user:" + st.UserID.String(),
	}, nil
}

// EndedSessions returns which of the given sessions of the tenant in ctx
// may no longer be used — revoked (signed out, password changed), expired,
// unknown, or of a user no longer active or banned — so that what they
// opened (live notification streams) can be closed. It reads the database,
// not the cache, and takes any number of sessions in one query.
func (s *Service) EndedSessions(ctx context.Context, sessions []uuid.UUID) ([]uuid.UUID, error) {
	if len(sessions) == 0 {
		return nil, nil
	}
	var ended []uuid.UUID
	err := s.db.InTenant(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `
SELECT x.id FROM unnest($1::uuid[]) x (id)
LEFT JOIN sessions s ON s.id = x.id
LEFT JOIN users u ON u.tenant_id = s.tenant_id AND u.id = s.user_id
LEFT JOIN memberships m ON m.tenant_id = s.tenant_id AND m.user_id = s.user_id
WHERE s.id IS NULL OR s.revoked_at IS NOT NULL OR s.expires_at <= $2
	OR u.status IS DISTINCT FROM 'active' OR m.user_id IS NULL OR m.banned_at IS NOT NULL`, sessions, s.now())
		if err != nil {
			return fmt.Errorf("check sessions: %w", err)
		}
		ended, err = pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
		if err != nil {
			return fmt.Errorf("check sessions: %w", err)
		}
		return nil
	})
	return ended, err
}
