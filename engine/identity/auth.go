package identity

import (
	"context"
	"strings"
	"time"

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
	if (user != uuid.Nil && st.UserID != user) || st.Kind != string(kind) {
		return engine.Principal{}, ErrUnauthenticated
	}
	if err := st.check(s.now()); err != nil {
		return engine.Principal{}, err
	}
	return engine.Principal{
		Kind: engine.PrincipalUser, TenantID: tenant, UserID: st.UserID, SessionID: session,
		Role: st.Role, Name: "user:" + st.UserID.String(),
	}, nil
}

// check says whether a session in state st may be used at now: nil, or
// unauthenticated (revoked, expired, user no longer active) or banned.
func (st sessionState) check(now time.Time) error {
	switch {
	case st.RevokedAt != nil, !st.ExpiresAt.After(now), st.UserStatus != "active":
		return ErrUnauthenticated
	case st.BannedAt != nil:
		return ErrBanned
	}
	return nil
}

// EndedSessions returns which of the given sessions of the tenant in ctx
// may no longer be used — unknown, or failing the check every request
// makes (revoked by a sign-out or password change, expired, of a user no
// longer active or banned) — so that what they opened (live notification
// streams) can be closed. It reads the database, not the cache, in one
// query for any number of sessions.
func (s *Service) EndedSessions(ctx context.Context, sessions []uuid.UUID) ([]uuid.UUID, error) {
	if len(sessions) == 0 {
		return nil, nil
	}
	var states []sessionState
	err := s.db.InTenant(ctx, func(tx pgx.Tx) (err error) {
		states, err = sessionStates(ctx, tx, sessions)
		return err
	})
	if err != nil {
		return nil, err
	}
	usable := map[uuid.UUID]bool{}
	now := s.now()
	for _, st := range states {
		usable[st.ID] = st.check(now) == nil
	}
	var ended []uuid.UUID
	for _, id := range sessions {
		if !usable[id] {
			ended = append(ended, id)
		}
	}
	return ended, nil
}
