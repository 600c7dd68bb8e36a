package identity

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/db"
)

// userRow is a user with their membership, as stored.
type userRow struct {
	ID              uuid.UUID  `db:"id"`
	Email           *string    `db:"email"`
	EmailVerifiedAt *time.Time `db:"email_verified_at"`
	Phone           *string    `db:"phone"`
	DisplayName     string     `db:"display_name"`
	AvatarURL       string     `db:"avatar_url"`
	PasswordHash    *string    `db:"password_hash"`
	TOTPSecret      []byte     `db:"totp_secret"`
	TOTPConfirmedAt *time.Time `db:"totp_confirmed_at"`
	TOTPLastStep    int64      `db:"totp_last_step"`
	FailedSignIns   int        `db:"failed_sign_ins"`
	LockedUntil     *time.Time `db:"locked_until"`
	Status          string     `db:"status"`
	CreatedAt       time.Time  `db:"created_at"`
	Role            string     `db:"role"`
	BannedAt        *time.Time `db:"banned_at"`
	BanReason       string     `db:"ban_reason"`
}

func (r userRow) user() User {
	u := User{
		ID: r.ID, EmailVerified: r.EmailVerifiedAt != nil, DisplayName: r.DisplayName, AvatarURL: r.AvatarURL,
		MFAEnabled: r.TOTPConfirmedAt != nil, Status: r.Status, Role: r.Role, Banned: r.BannedAt != nil,
		BanReason: r.BanReason, CreatedAt: r.CreatedAt,
	}
	if r.Email != nil {
		u.Email = *r.Email
	}
	if r.Phone != nil {
		u.Phone = *r.Phone
	}
	return u
}

const selectUser = `
SELECT u.id, u.email, u.email_verified_at, u.phone, u.display_name, u.avatar_url, u.password_hash,
	u.totp_secret, u.totp_confirmed_at, u.totp_last_step, u.failed_sign_ins, u.locked_until, u.status,
	u.created_at, m.role, m.banned_at, m.ban_reason
FROM users u JOIN memberships m ON m.tenant_id = u.tenant_id AND m.user_id = u.id`

// getUser returns one user by where (with $1), locking the user row when
// lock is set (counters and credentials are about to change).
func getUser(ctx context.Context, tx pgx.Tx, where string, arg any, lock bool) (userRow, error) {
	sql := selectUser + ` WHERE ` + where
	if lock {
		sql += ` FOR UPDATE OF u`
	}
	rows, err := tx.Query(ctx, sql, arg)
	if err != nil {
		return userRow{}, fmt.Errorf("select user: %w", err)
	}
	r, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[userRow])
	if errors.Is(err, pgx.ErrNoRows) {
		return userRow{}, ErrNotFound
	}
	if err != nil {
		return userRow{}, fmt.Errorf("select user: %w", err)
	}
	return r, nil
}

func userByEmail(ctx context.Context, tx pgx.Tx, email string, lock bool) (userRow, error) {
	return getUser(ctx, tx, `u.email = $1`, email, lock)
}

func userByPhone(ctx context.Context, tx pgx.Tx, phone string, lock bool) (userRow, error) {
	return getUser(ctx, tx, `u.phone = $1`, phone, lock)
}

func userByID(ctx context.Context, tx pgx.Tx, id uuid.UUID, lock bool) (userRow, error) {
	return getUser(ctx, tx, `u.id = $1`, id, lock)
}

func insertUser(ctx context.Context, tx pgx.Tx, id uuid.UUID, email, name, passwordHash string, role string) error {
	_, err := tx.Exec(ctx, `
INSERT INTO users (tenant_id, id, email, display_name, password_hash)
VALUES (current_tenant_id(), $1, $2, $3, NULLIF($4, ''))`, id, email, name, passwordHash)
	if err != nil {
		if name, _ := db.Constraint(err); name == "users_email_key" {
			return &engine.Error{Code: engine.CodeConflict, Message: "That email address already has an account.", Err: err}
		}
		return fmt.Errorf("insert user: %w", err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO memberships (tenant_id, user_id, role) VALUES (current_tenant_id(), $1, $2)`, id, role); err != nil {
		return fmt.Errorf("insert membership: %w", err)
	}
	return nil
}

// recordFailure counts a failed sign-in of a user (table users) or platform
// admin (platform_admins) and locks the account for a time that doubles
// with each failure past the fifth (1 minute up to 1 hour).
func recordFailure(ctx context.Context, tx pgx.Tx, table string, id uuid.UUID, now time.Time) error {
	if table != "users" && table != "platform_admins" {
		panic("recordFailure: table " + table)
	}
	_, err := tx.Exec(ctx, `
UPDATE `+table+` SET failed_sign_ins = failed_sign_ins + 1,
	locked_until = CASE WHEN failed_sign_ins + 1 >= $2
		THEN $3::timestamptz + least(interval '1 minute' * power(2, failed_sign_ins + 1 - $2), interval '1 hour')
		ELSE locked_until END
WHERE id = $1`, id, lockAfter, now)
	if err != nil {
		return fmt.Errorf("record failed sign-in: %w", err)
	}
	return nil
}

// lockAfter is how many failed sign-ins in a row lock an account.
const lockAfter = 5

func clearFailures(ctx context.Context, tx pgx.Tx, id uuid.UUID) error {
	_, err := tx.Exec(ctx, `UPDATE users SET failed_sign_ins = 0, locked_until = NULL WHERE id = $1 AND (failed_sign_ins > 0 OR locked_until IS NOT NULL)`, id)
	if err != nil {
		return fmt.Errorf("clear failed sign-ins: %w", err)
	}
	return nil
}

func setPasswordHash(ctx context.Context, tx pgx.Tx, id uuid.UUID, hash string) error {
	_, err := tx.Exec(ctx, `UPDATE users SET password_hash = $2, updated_at = now() WHERE id = $1`, id, hash)
	if err != nil {
		return fmt.Errorf("set password: %w", err)
	}
	return nil
}

// insertSession opens a session. cookieHash is nil for API sessions.
func insertSession(ctx context.Context, tx pgx.Tx, id, user uuid.UUID, c Client, cookieHash []byte, expires time.Time) error {
	var ip *netip.Addr
	if c.IP.IsValid() {
		ip = &c.IP
	}
	_, err := tx.Exec(ctx, `
INSERT INTO sessions (tenant_id, id, user_id, kind, cookie_hash, expires_at, ip, user_agent)
VALUES (current_tenant_id(), $1, $2, $3, $4, $5, $6, $7)`, id, user, string(c.Kind), cookieHash, expires, ip, truncate(c.UserAgent, 300))
	if err != nil {
		return fmt.Errorf("insert session: %w", err)
	}
	return nil
}

func insertRefreshToken(ctx context.Context, tx pgx.Tx, hash []byte, session uuid.UUID, expires time.Time) error {
	_, err := tx.Exec(ctx, `INSERT INTO refresh_tokens (tenant_id, token_hash, session_id, expires_at) VALUES (current_tenant_id(), $1, $2, $3)`, hash, session, expires)
	if err != nil {
		return fmt.Errorf("insert refresh token: %w", err)
	}
	return nil
}

// revokeSessions revokes sessions of user (all, or all but keep).
func revokeSessions(ctx context.Context, tx pgx.Tx, user uuid.UUID, keep uuid.UUID, reason string) error {
	_, err := tx.Exec(ctx, `UPDATE sessions SET revoked_at = now(), revoke_reason = $3
WHERE user_id = $1 AND id <> $2 AND revoked_at IS NULL`, user, keep, reason)
	if err != nil {
		return fmt.Errorf("revoke sessions: %w", err)
	}
	return nil
}

func revokeSession(ctx context.Context, tx pgx.Tx, id uuid.UUID, reason string) error {
	_, err := tx.Exec(ctx, `UPDATE sessions SET revoked_at = now(), revoke_reason = $2 WHERE id = $1 AND revoked_at IS NULL`, id, reason)
	if err != nil {
		return fmt.Errorf("revoke session: %w", err)
	}
	return nil
}

// sessionState is what access checks need of a session, from the database.
type sessionState struct {
	ID         uuid.UUID  `db:"id"`
	UserID     uuid.UUID  `db:"user_id"`
	Kind       string     `db:"kind"`
	ExpiresAt  time.Time  `db:"expires_at"`
	RevokedAt  *time.Time `db:"revoked_at"`
	UserStatus string     `db:"status"`
	Role       string     `db:"role"`
	BannedAt   *time.Time `db:"banned_at"`
}

const selectSessionState = `
SELECT s.id, s.user_id, s.kind, s.expires_at, s.revoked_at, u.status, m.role, m.banned_at
FROM sessions s
JOIN users u ON u.tenant_id = s.tenant_id AND u.id = s.user_id
JOIN memberships m ON m.tenant_id = s.tenant_id AND m.user_id = s.user_id`

func sessionStateByID(ctx context.Context, tx pgx.Tx, id uuid.UUID) (sessionState, error) {
	return oneSessionState(tx.Query(ctx, selectSessionState+` WHERE s.id = $1`, id))
}

// sessionStates reads the sessions of ids that exist (with their user and
// membership), in no particular order.
func sessionStates(ctx context.Context, tx pgx.Tx, ids []uuid.UUID) ([]sessionState, error) {
	rows, err := tx.Query(ctx, selectSessionState+` WHERE s.id = ANY($1)`, ids)
	if err != nil {
		return nil, fmt.Errorf("select sessions: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByName[sessionState])
	if err != nil {
		return nil, fmt.Errorf("select sessions: %w", err)
	}
	return out, nil
}

func sessionIDByCookie(ctx context.Context, tx pgx.Tx, hash []byte, kind Kind) (uuid.UUID, error) {
	var id uuid.UUID
	err := tx.QueryRow(ctx, `SELECT id FROM sessions WHERE cookie_hash = $1 AND kind = $2`, hash, string(kind)).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return uuid.Nil, ErrUnauthenticated
	}
	if err != nil {
		return uuid.Nil, fmt.Errorf("look up session cookie: %w", err)
	}
	return id, nil
}

func oneSessionState(rows pgx.Rows, err error) (sessionState, error) {
	if err != nil {
		return sessionState{}, fmt.Errorf("select session: %w", err)
	}
	s, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[sessionState])
	if errors.Is(err, pgx.ErrNoRows) {
		return sessionState{}, ErrUnauthenticated
	}
	if err != nil {
		return sessionState{}, fmt.Errorf("select session: %w", err)
	}
	return s, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
