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
	"github.com/guildhall/guildhall/engine/authz"
	"github.com/guildhall/guildhall/engine/db"
)

// Admin is a platform admin.
type Admin struct {
	ID          uuid.UUID
	Email       string
	DisplayName string
	MFAEnabled  bool
	CreatedAt   time.Time
}

type adminRow struct {
	ID              uuid.UUID  `db:"id"`
	Email           string     `db:"email"`
	DisplayName     string     `db:"display_name"`
	PasswordHash    string     `db:"password_hash"`
	TOTPSecret      []byte     `db:"totp_secret"`
	TOTPConfirmedAt *time.Time `db:"totp_confirmed_at"`
	TOTPLastStep    int64      `db:"totp_last_step"`
	FailedSignIns   int        `db:"failed_sign_ins"`
	LockedUntil     *time.Time `db:"locked_until"`
	CreatedAt       time.Time  `db:"created_at"`
	DisabledAt      *time.Time `db:"disabled_at"`
}

func (r adminRow) admin() Admin {
	return Admin{ID: r.ID, Email: r.Email, DisplayName: r.DisplayName, MFAEnabled: r.TOTPConfirmedAt != nil, CreatedAt: r.CreatedAt}
}

const selectAdmin = `SELECT id, email, display_name, password_hash, totp_secret, totp_confirmed_at, totp_last_step,
	failed_sign_ins, locked_until, created_at, disabled_at FROM platform_admins`

func adminBy(ctx context.Context, tx pgx.Tx, where string, arg any) (adminRow, error) {
	rows, err := tx.Query(ctx, selectAdmin+` WHERE `+where+` FOR UPDATE`, arg)
	if err != nil {
		return adminRow{}, fmt.Errorf("select admin: %w", err)
	}
	a, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[adminRow])
	if errors.Is(err, pgx.ErrNoRows) {
		return adminRow{}, ErrNotFound
	}
	if err != nil {
		return adminRow{}, fmt.Errorf("select admin: %w", err)
	}
	return a, nil
}

// CreateAdminParams is a new platform admin.
type CreateAdminParams struct {
	Email       string
	DisplayName string
	Password    string
}

// CreateAdmin makes a platform admin (the CLI bootstraps the first one).
// Errors: invalid, conflict (email taken).
func (s *Service) CreateAdmin(ctx context.Context, p CreateAdminParams) (Admin, error) {
	email, e1 := NormalizeEmail("email", p.Email)
	name, e2 := checkName("display_name", p.DisplayName)
	if err := collect(e1, e2, CheckPassword("password", p.Password)); err != nil {
		return Admin{}, err
	}
	hash := HashPassword(p.Password, s.cfg.Argon2)
	var out Admin
	err := s.db.InPlatform(ctx, func(tx pgx.Tx) error {
		id := uuid.Must(uuid.NewV7())
		_, err := tx.Exec(ctx, `INSERT INTO platform_admins (id, email, display_name, password_hash) VALUES ($1, $2, $3, $4)`, id, email, name, hash)
		if name, _ := db.Constraint(err); name == "platform_admins_email_key" {
			return &engine.Error{Code: engine.CodeConflict, Message: "A platform admin has that email address.",
				Fields: []engine.FieldError{{Field: "email", Message: "is taken"}}}
		}
		if err != nil {
			return fmt.Errorf("insert admin: %w", err)
		}
		a, err := adminBy(ctx, tx, `id = $1`, id)
		out = a.admin()
		return err
	})
	return out, err
}

// AdminSignIn is the outcome of a platform admin's password.
type AdminSignIn struct {
	Admin       Admin
	Cookie      string
	MFARequired bool
	MFAToken    string
}

// SignInAdmin checks a platform admin's password, with the same
// protections as users' (equal answers, counted failures, locking).
// Errors: unauthenticated (ErrBadCredentials).
func (s *Service) SignInAdmin(ctx context.Context, email, password string, ip netip.Addr, userAgent string) (AdminSignIn, error) {
	email, fe := NormalizeEmail("email", email)
	if fe != nil || password == "" || len(password) > 4*MaxPasswordLength {
		VerifyPassword(password, s.dummyHash, s.cfg.Argon2)
		return AdminSignIn{}, ErrBadCredentials
	}
	var out AdminSignIn
	var outcome error
	err := s.db.InPlatform(ctx, func(tx pgx.Tx) error {
		outcome = nil
		a, err := adminBy(ctx, tx, `email = $1`, email)
		if errors.Is(err, ErrNotFound) {
			VerifyPassword(password, s.dummyHash, s.cfg.Argon2)
			outcome = ErrBadCredentials
			return nil
		}
		if err != nil {
			return err
		}
		ok, rehash := VerifyPassword(password, a.PasswordHash, s.cfg.Argon2)
		if !ok || (a.LockedUntil != nil && a.LockedUntil.After(s.now())) || a.DisabledAt != nil {
			outcome = ErrBadCredentials
			if !ok {
				return recordFailure(ctx, tx, "platform_admins", a.ID, s.now())
			}
			return nil
		}
		if _, err := tx.Exec(ctx, `UPDATE platform_admins SET failed_sign_ins = 0, locked_until = NULL WHERE id = $1`, a.ID); err != nil {
			return fmt.Errorf("clear failures: %w", err)
		}
		if rehash {
			if _, err := tx.Exec(ctx, `UPDATE platform_admins SET password_hash = $2 WHERE id = $1`, a.ID, HashPassword(password, s.cfg.Argon2)); err != nil {
				return fmt.Errorf("rehash: %w", err)
			}
		}
		out.Admin = a.admin()
		if a.TOTPConfirmedAt != nil {
			tok, hash := newToken(prefixMFA)
			_, err := tx.Exec(ctx, `INSERT INTO platform_mfa_challenges (id, admin_id, token_hash, expires_at) VALUES ($1, $2, $3, $4)`,
				uuid.Must(uuid.NewV7()), a.ID, hash, s.now().Add(mfaTTL))
			out.MFARequired, out.MFAToken = true, tok
			return err
		}
		out.Cookie, err = s.openAdminSession(ctx, tx, a.ID, ip, userAgent)
		return err
	})
	if err != nil {
		return AdminSignIn{}, err
	}
	return out, outcome
}

func (s *Service) openAdminSession(ctx context.Context, tx pgx.Tx, admin uuid.UUID, ip netip.Addr, ua string) (string, error) {
	tok, hash := newToken(prefixCookie)
	var ipp *netip.Addr
	if ip.IsValid() {
		ipp = &ip
	}
	_, err := tx.Exec(ctx, `INSERT INTO platform_sessions (id, admin_id, cookie_hash, expires_at, ip, user_agent) VALUES ($1, $2, $3, $4, $5, $6)`,
		uuid.Must(uuid.NewV7()), admin, hash, s.now().Add(adminSessionTTL), ipp, truncate(ua, 300))
	if err != nil {
		return "", fmt.Errorf("insert admin session: %w", err)
	}
	return tok, nil
}

// adminSessionTTL is the life of a platform admin's console session.
const adminSessionTTL = 12 * time.Hour

// CompleteAdminMFA checks a platform admin's TOTP code and opens the
// session.
// Errors: unauthenticated (ErrBadCode).
func (s *Service) CompleteAdminMFA(ctx context.Context, mfaToken, code string, ip netip.Addr, userAgent string) (AdminSignIn, error) {
	if !validOpaque(mfaToken, prefixMFA) {
		return AdminSignIn{}, ErrBadCode
	}
	var out AdminSignIn
	var outcome error
	err := s.db.InPlatform(ctx, func(tx pgx.Tx) error {
		outcome = nil
		var id, adminID uuid.UUID
		var attempts int
		var expires time.Time
		var consumed *time.Time
		err := tx.QueryRow(ctx, `SELECT id, admin_id, attempts, expires_at, consumed_at FROM platform_mfa_challenges WHERE token_hash = $1 FOR UPDATE`,
			hashToken(mfaToken)).Scan(&id, &adminID, &attempts, &expires, &consumed)
		if errors.Is(err, pgx.ErrNoRows) {
			outcome = ErrBadCode
			return nil
		}
		if err != nil {
			return fmt.Errorf("select admin challenge: %w", err)
		}
		if consumed != nil || attempts >= maxAttempts || !expires.After(s.now()) {
			outcome = ErrBadCode
			return nil
		}
		a, err := adminBy(ctx, tx, `id = $1`, adminID)
		if err != nil {
			return err
		}
		ok, err := s.checkAdminTOTP(ctx, tx, a, code)
		if err != nil {
			return err
		}
		if !ok {
			outcome = ErrBadCode
			_, err := tx.Exec(ctx, `UPDATE platform_mfa_challenges SET attempts = attempts + 1 WHERE id = $1`, id)
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE platform_mfa_challenges SET consumed_at = now() WHERE id = $1`, id); err != nil {
			return fmt.Errorf("consume admin challenge: %w", err)
		}
		out.Admin = a.admin()
		out.Cookie, err = s.openAdminSession(ctx, tx, a.ID, ip, userAgent)
		return err
	})
	if err != nil {
		return AdminSignIn{}, err
	}
	return out, outcome
}

func adminAAD(id uuid.UUID) []byte { return []byte("totp:platform:" + id.String()) }

func (s *Service) checkAdminTOTP(ctx context.Context, tx pgx.Tx, a adminRow, code string) (bool, error) {
	if a.TOTPSecret == nil || len(code) != 6 {
		return false, nil
	}
	secretB32, err := s.cfg.Keys.Open(a.TOTPSecret, adminAAD(a.ID))
	if err != nil {
		return false, fmt.Errorf("open totp secret: %w", err)
	}
	step, ok := matchTOTP(string(secretB32), code, a.TOTPLastStep, s.now())
	if !ok {
		return false, nil
	}
	_, err = tx.Exec(ctx, `UPDATE platform_admins SET totp_last_step = $2 WHERE id = $1`, a.ID, step)
	return err == nil, err
}

// AuthenticateAdminCookie returns the principal of a platform admin's
// console cookie.
// Errors: unauthenticated.
func (s *Service) AuthenticateAdminCookie(ctx context.Context, cookie string) (engine.Principal, Admin, error) {
	if !validOpaque(cookie, prefixCookie) {
		return engine.Principal{}, Admin{}, ErrUnauthenticated
	}
	var a adminRow
	var sessionID uuid.UUID
	err := s.db.InPlatform(ctx, func(tx pgx.Tx) error {
		var adminID uuid.UUID
		var expires time.Time
		var revoked *time.Time
		err := tx.QueryRow(ctx, `SELECT id, admin_id, expires_at, revoked_at FROM platform_sessions WHERE cookie_hash = $1`, hashToken(cookie)).
			Scan(&sessionID, &adminID, &expires, &revoked)
		if errors.Is(err, pgx.ErrNoRows) || (err == nil && (revoked != nil || !expires.After(s.now()))) {
			return ErrUnauthenticated
		}
		if err != nil {
			return fmt.Errorf("select admin session: %w", err)
		}
		rows, err := tx.Query(ctx, selectAdmin+` WHERE id = $1`, adminID)
		if err != nil {
			return fmt.Errorf("select admin: %w", err)
		}
		a, err = pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[adminRow])
		if err != nil {
			return fmt.Errorf("select admin: %w", err)
		}
		if a.DisabledAt != nil {
			return ErrUnauthenticated
		}
		return nil
	})
	if err != nil {
		return engine.Principal{}, Admin{}, err
	}
	return engine.Principal{Kind: engine.PrincipalPlatform, AdminID: a.ID, SessionID: sessionID, Role: authz.RolePlatformAdmin,
		Name: "platform_admin:" + a.Email}, a.admin(), nil
}

// SignOutAdmin revokes a platform admin's console session.
func (s *Service) SignOutAdmin(ctx context.Context, cookie string) error {
	return s.db.InPlatform(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE platform_sessions SET revoked_at = now() WHERE cookie_hash = $1 AND revoked_at IS NULL`, hashToken(cookie))
		return err
	})
}

// EnrollAdminTOTP starts TOTP for the platform admin in ctx.
// Errors: forbidden, conflict.
func (s *Service) EnrollAdminTOTP(ctx context.Context) (Enrollment, error) {
	p, ok := engine.PrincipalFrom(ctx)
	if !ok || p.Kind != engine.PrincipalPlatform || p.AdminID == uuid.Nil {
		return Enrollment{}, ErrForbidden
	}
	var out Enrollment
	err := s.db.InPlatform(ctx, func(tx pgx.Tx) error {
		a, err := adminBy(ctx, tx, `id = $1`, p.AdminID)
		if err != nil {
			return err
		}
		if a.TOTPConfirmedAt != nil {
			return ErrMFAEnabled
		}
		if out, err = newTOTPKey("Guildhall platform", a.Email); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE platform_admins SET totp_secret = $2, totp_confirmed_at = NULL, totp_last_step = 0 WHERE id = $1`,
			a.ID, s.cfg.Keys.Seal([]byte(out.Secret), adminAAD(a.ID)))
		return err
	})
	return out, err
}

// ConfirmAdminTOTP turns TOTP on for the platform admin in ctx.
// Errors: forbidden, conflict, invalid (wrong code).
func (s *Service) ConfirmAdminTOTP(ctx context.Context, code string) error {
	p, ok := engine.PrincipalFrom(ctx)
	if !ok || p.Kind != engine.PrincipalPlatform || p.AdminID == uuid.Nil {
		return ErrForbidden
	}
	var outcome error
	err := s.db.InPlatform(ctx, func(tx pgx.Tx) error {
		outcome = nil
		a, err := adminBy(ctx, tx, `id = $1`, p.AdminID)
		if err != nil {
			return err
		}
		if a.TOTPConfirmedAt != nil {
			return ErrMFAEnabled
		}
		ok, err := s.checkAdminTOTP(ctx, tx, a, code)
		if err != nil {
			return err
		}
		if !ok {
			outcome = wrongMFACode
			return nil
		}
		_, err = tx.Exec(ctx, `UPDATE platform_admins SET totp_confirmed_at = now() WHERE id = $1`, a.ID)
		return err
	})
	if err != nil {
		return err
	}
	return outcome
}
