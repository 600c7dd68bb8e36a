package identity

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/audit"
	"github.com/guildhall/guildhall/engine/authz"
	"github.com/guildhall/guildhall/engine/notify"
)

// ListMembersParams selects a page of members.
type ListMembersParams struct {
	Role   string // "" for every role
	Banned *bool  // nil for both
	Query  string // matches the start of the email or display name
	Cursor string
	Limit  int // 1..100; 0 means 50
}

// MembersPage is a page of members, oldest first.
type MembersPage struct {
	Members []User
	Next    string
}

type memberCursor struct {
	At time.Time `json:"t"`
	ID uuid.UUID `json:"i"`
}

// ListMembers returns a page of the tenant's members (deleted accounts
// left out).
// Errors: invalid.
func (s *Service) ListMembers(ctx context.Context, p ListMembersParams) (MembersPage, error) {
	var problems []engine.FieldError
	if p.Limit == 0 {
		p.Limit = 50
	}
	if p.Limit < 1 || p.Limit > 100 {
		problems = append(problems, engine.FieldError{Field: "limit", Message: "must be between 1 and 100"})
	}
	if p.Role != "" && authz.Rank(p.Role) == 0 {
		problems = append(problems, engine.FieldError{Field: "role", Message: "must be owner, admin, moderator or member"})
	}
	var after *memberCursor
	if p.Cursor != "" {
		b, err := base64.RawURLEncoding.DecodeString(p.Cursor)
		var c memberCursor
		if err != nil || json.Unmarshal(b, &c) != nil || c.ID == uuid.Nil {
			problems = append(problems, engine.FieldError{Field: "cursor", Message: "is not a cursor returned by this API"})
		}
		after = &c
	}
	if err := engine.Invalid(problems); err != nil {
		return MembersPage{}, err
	}
	sql := selectUser + ` WHERE u.status = 'active'`
	args := []any{}
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	if p.Role != "" {
		sql += ` AND m.role = ` + arg(p.Role)
	}
	if p.Banned != nil {
		if *p.Banned {
			sql += ` AND m.banned_at IS NOT NULL`
		} else {
			sql += ` AND m.banned_at IS NULL`
		}
	}
	if q := strings.ToLower(strings.TrimSpace(p.Query)); q != "" {
		like := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(q) + "%"
		n := arg(like)
		sql += ` AND (u.email LIKE ` + n + ` OR lower(u.display_name) LIKE ` + n + `)`
	}
	if after != nil {
		sql += ` AND (u.created_at, u.id) > (` + arg(after.At) + `, ` + arg(after.ID) + `)`
	}
	sql += fmt.Sprintf(` ORDER BY u.created_at, u.id LIMIT %d`, p.Limit+1)
	var page MembersPage
	err := s.db.InTenant(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, sql, args...)
		if err != nil {
			return fmt.Errorf("list members: %w", err)
		}
		rs, err := pgx.CollectRows(rows, pgx.RowToStructByName[userRow])
		if err != nil {
			return fmt.Errorf("list members: %w", err)
		}
		if len(rs) > p.Limit {
			rs = rs[:p.Limit]
			last := rs[len(rs)-1]
			b, _ := json.Marshal(memberCursor{At: last.CreatedAt, ID: last.ID})
			page.Next = base64.RawURLEncoding.EncodeToString(b)
		}
		page.Members = make([]User, len(rs))
		for i, r := range rs {
			page.Members[i] = r.user()
		}
		return nil
	})
	return page, err
}

// Member returns one member.
// Errors: not_found.
func (s *Service) Member(ctx context.Context, id uuid.UUID) (User, error) {
	var u userRow
	err := s.db.InTenant(ctx, func(tx pgx.Tx) error {
		var err error
		u, err = userByID(ctx, tx, id, false)
		return err
	})
	return u.user(), err
}

// actorRank is the rank the caller acts with: a platform admin outranks
// everyone.
func actorRank(p engine.Principal) int {
	if p.Kind == engine.PrincipalPlatform {
		return authz.Rank(authz.RoleOwner) + 1
	}
	return authz.Rank(p.Role)
}

// mayManage reports whether the caller may change someone of role into
// role next (or ban them, when next is ""). Owners and platform admins may
// do anything (within the last-owner rule); others only act on, and grant,
// roles below their own.
func mayManage(p engine.Principal, target, next string) bool {
	rank := actorRank(p)
	if rank >= authz.Rank(authz.RoleOwner) {
		return true
	}
	return authz.Rank(target) < rank && (next == "" || authz.Rank(next) < rank)
}

func actingPrincipal(ctx context.Context) (engine.Principal, error) {
	p, ok := engine.PrincipalFrom(ctx)
	if !ok || (p.Kind != engine.PrincipalUser && p.Kind != engine.PrincipalPlatform) {
		return engine.Principal{}, ErrForbidden
	}
	return p, nil
}

// ChangeRole gives a member another role. Only owners make or unmake
// owners; others change only roles below their own, to roles below their
// own. The last owner keeps the role. Access changes on every server within
// a second.
// Errors: invalid (role), not_found, forbidden, conflict (last owner).
func (s *Service) ChangeRole(ctx context.Context, target uuid.UUID, role string) (User, error) {
	p, err := actingPrincipal(ctx)
	if err != nil {
		return User{}, err
	}
	if authz.Rank(role) == 0 {
		return User{}, engine.Invalid([]engine.FieldError{{Field: "role", Message: "must be owner, admin, moderator or member"}})
	}
	var out userRow
	err = s.db.InTenant(ctx, func(tx pgx.Tx) error {
		u, err := userByID(ctx, tx, target, true)
		if err != nil {
			return err
		}
		if u.Status != "active" {
			return ErrNotFound
		}
		if !mayManage(p, u.Role, role) {
			return ErrForbidden
		}
		if u.Role == role {
			out = u
			return nil
		}
		if u.Role == authz.RoleOwner {
			if err := requireAnotherOwner(ctx, tx, u.ID); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE memberships SET role = $2, updated_at = now() WHERE user_id = $1`, u.ID, role); err != nil {
			return fmt.Errorf("change role: %w", err)
		}
		if err := audit.Record(ctx, tx, "member.role_changed", "user:"+u.ID.String(), map[string]any{"from": u.Role, "to": role}); err != nil {
			return err
		}
		out, err = userByID(ctx, tx, u.ID, false)
		return err
	})
	return out.user(), err
}

// Ban bans a member: their sessions end and they cannot sign in. The caller
// must outrank them (owners may ban owners but the last).
// Errors: not_found, forbidden, conflict (last owner).
func (s *Service) Ban(ctx context.Context, target uuid.UUID, reason string) (User, error) {
	p, err := actingPrincipal(ctx)
	if err != nil {
		return User{}, err
	}
	reason = truncate(strings.TrimSpace(reason), 500)
	var out userRow
	err = s.db.InTenant(ctx, func(tx pgx.Tx) error {
		u, err := userByID(ctx, tx, target, true)
		if err != nil {
			return err
		}
		if u.Status != "active" {
			return ErrNotFound
		}
		if u.ID == p.UserID || !mayManage(p, u.Role, "") {
			return ErrForbidden
		}
		if u.BannedAt != nil {
			out = u
			return nil
		}
		if u.Role == authz.RoleOwner {
			if err := requireAnotherOwner(ctx, tx, u.ID); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE memberships SET banned_at = now(), ban_reason = $2, updated_at = now() WHERE user_id = $1`, u.ID, reason); err != nil {
			return fmt.Errorf("ban: %w", err)
		}
		if err := revokeSessions(ctx, tx, u.ID, uuid.Nil, "banned"); err != nil {
			return err
		}
		if err := audit.Record(ctx, tx, "member.banned", "user:"+u.ID.String(), map[string]any{"reason": reason}); err != nil {
			return err
		}
		out, err = userByID(ctx, tx, u.ID, false)
		return err
	})
	return out.user(), err
}

// Unban lifts a ban.
// Errors: not_found, forbidden.
func (s *Service) Unban(ctx context.Context, target uuid.UUID) (User, error) {
	p, err := actingPrincipal(ctx)
	if err != nil {
		return User{}, err
	}
	var out userRow
	err = s.db.InTenant(ctx, func(tx pgx.Tx) error {
		u, err := userByID(ctx, tx, target, true)
		if err != nil {
			return err
		}
		if !mayManage(p, u.Role, "") {
			return ErrForbidden
		}
		if u.BannedAt == nil {
			out = u
			return nil
		}
		if _, err := tx.Exec(ctx, `UPDATE memberships SET banned_at = NULL, ban_reason = '', updated_at = now() WHERE user_id = $1`, u.ID); err != nil {
			return fmt.Errorf("unban: %w", err)
		}
		if err := audit.Record(ctx, tx, "member.unbanned", "user:"+u.ID.String(), nil); err != nil {
			return err
		}
		out, err = userByID(ctx, tx, u.ID, false)
		return err
	})
	return out.user(), err
}

// Invitation is an invitation to join a tenant with a role.
type Invitation struct {
	ID         uuid.UUID
	Email      string
	Role       string
	InvitedBy  *uuid.UUID
	CreatedAt  time.Time
	ExpiresAt  time.Time
	AcceptedAt *time.Time
	// Link is the invitation's URL; only known when it is created.
	Link string
}

// invitationTTL is how long an invitation can be accepted.
const invitationTTL = 7 * 24 * time.Hour

// Invite invites an email address with a role: an email with a link to the
// web app, where the invitee signs up (or in) and accepts. A new invitation
// to the same address replaces a pending one.
// Errors: invalid, forbidden (role above what the caller may grant).
func (s *Service) Invite(ctx context.Context, email, role string) (Invitation, error) {
	p, err := actingPrincipal(ctx)
	if err != nil {
		return Invitation{}, err
	}
	e, fe := NormalizeEmail("email", email)
	var problems []*engine.FieldError
	problems = append(problems, fe)
	if authz.Rank(role) == 0 {
		problems = append(problems, &engine.FieldError{Field: "role", Message: "must be owner, admin, moderator or member"})
	}
	if err := collect(problems...); err != nil {
		return Invitation{}, err
	}
	if !mayManage(p, authz.RoleMember, role) {
		return Invitation{}, ErrForbidden
	}
	tok, hash := newToken(prefixInvitation)
	inv := Invitation{ID: uuid.Must(uuid.NewV7()), Email: e, Role: role, CreatedAt: s.now(), ExpiresAt: s.now().Add(invitationTTL)}
	if p.Kind == engine.PrincipalUser {
		inv.InvitedBy = &p.UserID
	}
	inv.Link = s.cfg.Links(ctx, "/invitations/"+tok)
	err = s.db.InTenant(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE invitations SET revoked_at = now() WHERE email = $1 AND accepted_at IS NULL AND revoked_at IS NULL`, e); err != nil {
			return fmt.Errorf("replace invitation: %w", err)
		}
		_, err := tx.Exec(ctx, `
INSERT INTO invitations (tenant_id, id, email, role, token_hash, invited_by, created_at, expires_at)
VALUES (current_tenant_id(), $1, $2, $3, $4, $5, $6, $7)`, inv.ID, e, role, hash, inv.InvitedBy, inv.CreatedAt, inv.ExpiresAt)
		if err != nil {
			return fmt.Errorf("insert invitation: %w", err)
		}
		return audit.Record(ctx, tx, "member.invited", "email:"+e, map[string]any{"role": role})
	})
	if err != nil {
		return Invitation{}, err
	}
	name := s.cfg.TenantName(ctx)
	s.send(ctx, &notify.Email{
		To: e, FromName: name, Subject: "You are invited to " + name,
		Text: fmt.Sprintf("You are invited to join %s as %s.\n\nAccept the invitation here (valid for 7 days):\n%s\n", name, role, inv.Link),
	})
	return inv, nil
}

// ErrInvitation answers an unknown, used, revoked or expired invitation,
// or one for another address than the caller's.
var ErrInvitation = &engine.Error{Code: engine.CodeNotFound, Message: "This invitation is not valid for your account, or has expired."}

// AcceptInvitation gives the caller the invitation's role (never lowering
// a higher one). The caller's verified email must be the invited one.
// Errors: unauthenticated, not_found (ErrInvitation).
func (s *Service) AcceptInvitation(ctx context.Context, token string) (User, error) {
	p, err := s.caller(ctx)
	if err != nil {
		return User{}, err
	}
	if !validOpaque(token, prefixInvitation) {
		return User{}, ErrInvitation
	}
	var out userRow
	err = s.db.InTenant(ctx, func(tx pgx.Tx) error {
		var id uuid.UUID
		var email, role string
		var expires time.Time
		var accepted, revoked *time.Time
		err := tx.QueryRow(ctx, `SELECT id, email, role, expires_at, accepted_at, revoked_at FROM invitations WHERE token_hash = $1 FOR UPDATE`,
			hashToken(token)).Scan(&id, &email, &role, &expires, &accepted, &revoked)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrInvitation
		}
		if err != nil {
			return fmt.Errorf("select invitation: %w", err)
		}
		u, err := userByID(ctx, tx, p.UserID, true)
		if err != nil {
			return err
		}
		if accepted != nil || revoked != nil || !expires.After(s.now()) || u.Email == nil || *u.Email != email || u.EmailVerifiedAt == nil {
			return ErrInvitation
		}
		if _, err := tx.Exec(ctx, `UPDATE invitations SET accepted_at = now(), accepted_by = $2 WHERE id = $1`, id, u.ID); err != nil {
			return fmt.Errorf("accept invitation: %w", err)
		}
		if authz.Rank(role) > authz.Rank(u.Role) {
			if _, err := tx.Exec(ctx, `UPDATE memberships SET role = $2, updated_at = now() WHERE user_id = $1`, u.ID, role); err != nil {
				return fmt.Errorf("grant invited role: %w", err)
			}
		}
		if err := audit.Record(ctx, tx, "member.invitation_accepted", "user:"+u.ID.String(), map[string]any{"role": role}); err != nil {
			return err
		}
		out, err = userByID(ctx, tx, u.ID, false)
		return err
	})
	return out.user(), err
}

// ListInvitations returns pending invitations, newest first.
func (s *Service) ListInvitations(ctx context.Context) ([]Invitation, error) {
	var out []Invitation
	err := s.db.InTenant(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id, email, role, invited_by, created_at, expires_at, accepted_at FROM invitations
WHERE accepted_at IS NULL AND revoked_at IS NULL AND expires_at > now() ORDER BY created_at DESC`)
		if err != nil {
			return fmt.Errorf("list invitations: %w", err)
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Invitation, error) {
			var i Invitation
			return i, r.Scan(&i.ID, &i.Email, &i.Role, &i.InvitedBy, &i.CreatedAt, &i.ExpiresAt, &i.AcceptedAt)
		})
		return err
	})
	return out, err
}

// RevokeInvitation voids a pending invitation.
// Errors: not_found.
func (s *Service) RevokeInvitation(ctx context.Context, id uuid.UUID) error {
	return s.db.InTenant(ctx, func(tx pgx.Tx) error {
		var email string
		err := tx.QueryRow(ctx, `UPDATE invitations SET revoked_at = now() WHERE id = $1 AND accepted_at IS NULL AND revoked_at IS NULL RETURNING email`, id).Scan(&email)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("revoke invitation: %w", err)
		}
		return audit.Record(ctx, tx, "member.invitation_revoked", "email:"+email, nil)
	})
}

// Roles lists the tenant roles, highest first.
func Roles() []string { return slices.Clone(authz.Roles) }
