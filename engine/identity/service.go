package identity

import (
	"context"
	"crypto/subtle"
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/audit"
	"github.com/guildhall/guildhall/engine/authz"
	"github.com/guildhall/guildhall/engine/db"
	"github.com/guildhall/guildhall/engine/notify"
)

// Service is the identity service of every tenant. Methods act on the
// tenant in ctx; those "of the caller" act on the principal in ctx.
type Service struct {
	db     *db.DB
	cfg    Config
	signer *signer
	authz  *authz.Authorizer
	cache  *Cache
	keyUse keyUse
	// dummyHash is verified against for unknown accounts, so they cost the
	// same time as wrong passwords.
	dummyHash string
}

// NewService returns the identity service.
func NewService(d *db.DB, az *authz.Authorizer, cfg Config) (*Service, error) {
	cfg.defaults()
	if cfg.Keys == nil {
		return nil, fmt.Errorf("identity: no secret keys")
	}
	s, err := newSigner(cfg.JWTKeys, cfg.AccessTTL, cfg.Now)
	if err != nil {
		return nil, err
	}
	svc := &Service{db: d, cfg: cfg, signer: s, authz: az, dummyHash: HashPassword("not a password of anyone", cfg.Argon2)}
	svc.cache = newCache(svc, cfg.Now)
	return svc, nil
}

// Cache returns the service's access cache (to subscribe it to
// notifications and run its sweeper).
func (s *Service) Cache() *Cache { return s.cache }

func (s *Service) now() time.Time { return s.cfg.Now() }

// NormalizeEmail lower-cases and checks an email address: a bare address
// (no display name), at most 254 characters.
func NormalizeEmail(field, email string) (string, *engine.FieldError) {
	e := strings.ToLower(strings.TrimSpace(email))
	a, err := mail.ParseAddress(e)
	if e == "" || err != nil || a.Address != e || len(e) > 254 || !strings.Contains(e[strings.LastIndexByte(e, '@')+1:], ".") {
		return "", &engine.FieldError{Field: field, Message: "is not an email address"}
	}
	return e, nil
}

// checkName trims and checks a display name.
func checkName(field, name string) (string, *engine.FieldError) {
	n := strings.TrimSpace(name)
	switch {
	case n == "":
		return "", &engine.FieldError{Field: field, Message: "is required"}
	case !utf8.ValidString(n) || strings.IndexFunc(n, unicode.IsControl) >= 0:
		return "", &engine.FieldError{Field: field, Message: "must be plain text"}
	case utf8.RuneCountInString(n) > 100:
		return "", &engine.FieldError{Field: field, Message: "must be at most 100 characters"}
	}
	return n, nil
}

func collect(problems ...*engine.FieldError) error {
	var out []engine.FieldError
	for _, p := range problems {
		if p != nil {
			out = append(out, *p)
		}
	}
	return engine.Invalid(out)
}

// SignUpParams is a new account.
type SignUpParams struct {
	Email       string
	Password    string
	DisplayName string
}

// SignUp creates an unverified member account and emails a verification
// code. When the address already has an account, it emails the owner
// instead and answers the same: the caller cannot tell which happened.
// The first account of a tenant becomes its owner.
// Errors: invalid.
func (s *Service) SignUp(ctx context.Context, p SignUpParams) error {
	email, e1 := NormalizeEmail("email", p.Email)
	name, e2 := checkName("display_name", p.DisplayName)
	if err := collect(e1, CheckPassword("password", p.Password), e2); err != nil {
		return err
	}
	hash := HashPassword(p.Password, s.cfg.Argon2)
	var mailOut *notify.Email
	err := s.db.InTenant(ctx, func(tx pgx.Tx) error {
		mailOut = nil
		existing, err := userByEmail(ctx, tx, email, false)
		switch {
		case err == nil && existing.EmailVerifiedAt != nil:
			mailOut = s.alreadyRegisteredEmail(ctx, email)
			return nil
		case err == nil:
			// Signed up before and never verified: the newest sign-up wins.
			if err := setPasswordHash(ctx, tx, existing.ID, hash); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE users SET display_name = $2 WHERE id = $1`, existing.ID, name); err != nil {
				return fmt.Errorf("update display name: %w", err)
			}
			code, err := s.newCode(ctx, tx, purposeVerifyEmail, "email", email, &existing.ID)
			mailOut = s.codeEmail(ctx, email, purposeVerifyEmail, code)
			return err
		case err != ErrNotFound:
			return err
		}
		role := authz.RoleMember
		var owners int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM memberships WHERE role = 'owner'`).Scan(&owners); err != nil {
			return fmt.Errorf("count owners: %w", err)
		}
		if owners == 0 {
			role = authz.RoleOwner
		}
		id := uuid.Must(uuid.NewV7())
		if err := insertUser(ctx, tx, id, email, name, hash, role); err != nil {
			return err
		}
		code, err := s.newCode(ctx, tx, purposeVerifyEmail, "email", email, &id)
		if err != nil {
			return err
		}
		mailOut = s.codeEmail(ctx, email, purposeVerifyEmail, code)
		return audit.Record(ctx, tx, "account.signed_up", "user:"+id.String(), map[string]any{"role": role})
	})
	if err != nil {
		return err
	}
	s.send(ctx, mailOut)
	return nil
}

// VerifyEmail consumes a verification code, marks the address verified and
// signs the user in.
// Errors: unauthenticated (ErrBadCode), forbidden (ErrBanned).
func (s *Service) VerifyEmail(ctx context.Context, email, code string, c Client) (SignIn, error) {
	email, fe := NormalizeEmail("email", email)
	if fe != nil {
		return SignIn{}, ErrBadCode
	}
	var out SignIn
	var outcome error
	err := s.db.InTenant(ctx, func(tx pgx.Tx) error {
		outcome = nil
		userID, ok, err := s.consumeCode(ctx, tx, purposeVerifyEmail, email, code)
		if err != nil || !ok {
			outcome = ErrBadCode
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE users SET email_verified_at = coalesce(email_verified_at, now()) WHERE id = $1`, *userID); err != nil {
			return fmt.Errorf("verify email: %w", err)
		}
		u, err := userByID(ctx, tx, *userID, true)
		if err != nil {
			return err
		}
		if err := audit.Record(ctx, tx, "account.email_verified", "user:"+u.ID.String(), nil); err != nil {
			return err
		}
		out, outcome, err = s.afterFirstFactor(ctx, tx, u, c, "email_code")
		return err
	})
	if err != nil {
		return SignIn{}, err
	}
	return out, outcome
}

// SignInParams is a password sign-in.
type SignInParams struct {
	Email    string
	Password string
	Client   Client
}

// SignInWithPassword checks a password. An unknown address, a wrong
// password, a locked account and a deleted one all answer ErrBadCredentials
// after the same hashing work; failures are counted and lock the account
// after five in a row. A correct password of an unverified address sends a
// verification code and answers ErrEmailUnverified.
// Errors: unauthenticated, forbidden (banned, unverified, not staff for the
// console).
func (s *Service) SignInWithPassword(ctx context.Context, p SignInParams) (SignIn, error) {
	email, fe := NormalizeEmail("email", p.Email)
	if fe != nil || p.Password == "" || len(p.Password) > 4*MaxPasswordLength {
		VerifyPassword(p.Password, s.dummyHash, s.cfg.Argon2)
		return SignIn{}, ErrBadCredentials
	}
	var out SignIn
	var outcome error
	var mailOut *notify.Email
	err := s.db.InTenant(ctx, func(tx pgx.Tx) error {
		outcome, mailOut = nil, nil
		u, err := userByEmail(ctx, tx, email, true)
		if err == ErrNotFound || (err == nil && u.PasswordHash == nil) {
			VerifyPassword(p.Password, s.dummyHash, s.cfg.Argon2)
			outcome = ErrBadCredentials
			return audit.Record(ctx, tx, "auth.sign_in_failed", "email:"+email, map[string]any{"reason": "unknown_account"})
		}
		if err != nil {
			return err
		}
		ok, rehash := VerifyPassword(p.Password, *u.PasswordHash, s.cfg.Argon2)
		locked := u.LockedUntil != nil && u.LockedUntil.After(s.now())
		if !ok || locked {
			outcome = ErrBadCredentials
			if !ok {
				if err := recordFailure(ctx, tx, "users", u.ID, s.now()); err != nil {
					return err
				}
			}
			reason := map[bool]string{true: "locked", false: "wrong_password"}[locked]
			return audit.Record(ctx, tx, "auth.sign_in_failed", "user:"+u.ID.String(), map[string]any{"reason": reason})
		}
		if err := clearFailures(ctx, tx, u.ID); err != nil {
			return err
		}
		if rehash {
			if err := setPasswordHash(ctx, tx, u.ID, HashPassword(p.Password, s.cfg.Argon2)); err != nil {
				return err
			}
		}
		if u.EmailVerifiedAt == nil {
			code, err := s.newCode(ctx, tx, purposeVerifyEmail, "email", email, &u.ID)
			if err != nil {
				return err
			}
			mailOut = s.codeEmail(ctx, email, purposeVerifyEmail, code)
			outcome = ErrEmailUnverified
			return nil
		}
		out, outcome, err = s.afterFirstFactor(ctx, tx, u, p.Client, "password")
		return err
	})
	if err != nil {
		return SignIn{}, err
	}
	s.send(ctx, mailOut)
	return out, outcome
}

// afterFirstFactor checks that u may sign in here and either opens the
// session or, when TOTP is on, issues an MFA challenge. The returned
// outcome is the caller's error; err aborts the transaction.
func (s *Service) afterFirstFactor(ctx context.Context, tx pgx.Tx, u userRow, c Client, method string) (SignIn, error, error) {
	if u.Status != "active" {
		return SignIn{}, ErrBadCredentials, nil
	}
	if u.BannedAt != nil {
		return SignIn{}, ErrBanned, audit.Record(ctx, tx, "auth.sign_in_failed", "user:"+u.ID.String(), map[string]any{"reason": "banned"})
	}
	if c.Kind == KindConsole && authz.Rank(u.Role) < authz.Rank(authz.RoleModerator) {
		return SignIn{}, ErrNotStaff, audit.Record(ctx, tx, "auth.sign_in_failed", "user:"+u.ID.String(), map[string]any{"reason": "not_staff"})
	}
	if u.TOTPConfirmedAt != nil {
		tok, hash := newToken(prefixMFA)
		_, err := tx.Exec(ctx, `
INSERT INTO mfa_challenges (tenant_id, id, user_id, token_hash, kind, expires_at)
VALUES (current_tenant_id(), $1, $2, $3, $4, $5)`, uuid.Must(uuid.NewV7()), u.ID, hash, string(c.Kind), s.now().Add(mfaTTL))
		if err != nil {
			return SignIn{}, nil, fmt.Errorf("insert mfa challenge: %w", err)
		}
		return SignIn{User: u.user(), MFARequired: true, MFAToken: tok}, nil, nil
	}
	out, err := s.openSession(ctx, tx, u, c, method)
	return out, nil, err
}

// mfaTTL is how long a first factor waits for the second.
const mfaTTL = 5 * time.Minute

// maxAttempts bounds guesses at one code or challenge.
const maxAttempts = 5

// openSession starts a session of kind c.Kind for u and records the
// sign-in.
func (s *Service) openSession(ctx context.Context, tx pgx.Tx, u userRow, c Client, method string) (SignIn, error) {
	id := uuid.Must(uuid.NewV7())
	now := s.now()
	out := SignIn{User: u.user(), SessionID: id}
	var cookieHash []byte
	expires := now.Add(s.cfg.SessionTTL)
	if c.Kind == KindAPI {
		refresh, rh := newToken(prefixRefresh)
		if err := insertSession(ctx, tx, id, u.ID, c, nil, expires); err != nil {
			return SignIn{}, err
		}
		if err := insertRefreshToken(ctx, tx, rh, id, minTime(expires, now.Add(s.cfg.RefreshTTL))); err != nil {
			return SignIn{}, err
		}
		tenant, _ := engine.TenantFrom(ctx)
		access, err := s.signer.issue(tenant, u.ID, id, u.Role)
		if err != nil {
			return SignIn{}, err
		}
		out.Tokens = &Tokens{AccessToken: access, RefreshToken: refresh, ExpiresIn: s.cfg.AccessTTL}
	} else {
		expires = now.Add(s.cfg.CookieTTL)
		out.Cookie, cookieHash = newToken(prefixCookie)
		if err := insertSession(ctx, tx, id, u.ID, c, cookieHash, expires); err != nil {
			return SignIn{}, err
		}
	}
	err := audit.Record(audit.WithActor(ctx, s.actorFor(ctx, u.ID, c)), tx, "auth.signed_in", "user:"+u.ID.String(),
		map[string]any{"method": method, "kind": string(c.Kind)})
	return out, err
}

// actorFor names user u as the actor of their own sign-in.
func (s *Service) actorFor(ctx context.Context, user uuid.UUID, c Client) audit.Actor {
	a := audit.ActorFrom(ctx)
	a.Name = "user:" + user.String()
	if c.IP.IsValid() {
		a.IP = c.IP
	}
	if c.UserAgent != "" {
		a.UserAgent = truncate(c.UserAgent, 200)
	}
	return a
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// CompleteMFA checks the second factor — a TOTP code or a recovery code —
// of a pending sign-in and opens the session. Five wrong codes void the
// challenge.
// Errors: unauthenticated (ErrBadCode).
func (s *Service) CompleteMFA(ctx context.Context, mfaToken, code string, c Client) (SignIn, error) {
	if !validOpaque(mfaToken, prefixMFA) {
		return SignIn{}, ErrBadCode
	}
	var out SignIn
	var outcome error
	err := s.db.InTenant(ctx, func(tx pgx.Tx) error {
		outcome = nil
		var id, userID uuid.UUID
		var kind string
		var attempts int
		var expires time.Time
		var consumed *time.Time
		err := tx.QueryRow(ctx, `
SELECT id, user_id, kind, attempts, expires_at, consumed_at FROM mfa_challenges WHERE token_hash = $1 FOR UPDATE`,
			hashToken(mfaToken)).Scan(&id, &userID, &kind, &attempts, &expires, &consumed)
		if err == pgx.ErrNoRows {
			outcome = ErrBadCode
			return nil
		}
		if err != nil {
			return fmt.Errorf("select mfa challenge: %w", err)
		}
		if consumed != nil || attempts >= maxAttempts || !expires.After(s.now()) || kind != string(c.Kind) {
			outcome = ErrBadCode
			return nil
		}
		u, err := userByID(ctx, tx, userID, true)
		if err != nil {
			return err
		}
		ok, err := s.checkSecondFactor(ctx, tx, u, code)
		if err != nil {
			return err
		}
		if !ok {
			outcome = ErrBadCode
			if _, err := tx.Exec(ctx, `UPDATE mfa_challenges SET attempts = attempts + 1 WHERE id = $1`, id); err != nil {
				return fmt.Errorf("count mfa attempt: %w", err)
			}
			return audit.Record(ctx, tx, "auth.mfa_failed", "user:"+u.ID.String(), nil)
		}
		if _, err := tx.Exec(ctx, `UPDATE mfa_challenges SET consumed_at = now() WHERE id = $1`, id); err != nil {
			return fmt.Errorf("consume mfa challenge: %w", err)
		}
		if u.Status != "active" || u.BannedAt != nil {
			outcome = ErrBadCode
			return nil
		}
		out, err = s.openSession(ctx, tx, u, c, "mfa")
		return err
	})
	if err != nil {
		return SignIn{}, err
	}
	return out, outcome
}

// Refresh exchanges a refresh token for new tokens. The token is single
// use: presenting it again revokes its whole session.
// Errors: unauthenticated.
func (s *Service) Refresh(ctx context.Context, refreshToken string) (Tokens, error) {
	if !validOpaque(refreshToken, prefixRefresh) {
		return Tokens{}, ErrUnauthenticated
	}
	var out Tokens
	var outcome error
	err := s.db.InTenant(ctx, func(tx pgx.Tx) error {
		outcome = nil
		var sessionID uuid.UUID
		var expires time.Time
		var used *time.Time
		err := tx.QueryRow(ctx, `SELECT session_id, expires_at, used_at FROM refresh_tokens WHERE token_hash = $1 FOR UPDATE`,
			hashToken(refreshToken)).Scan(&sessionID, &expires, &used)
		if err == pgx.ErrNoRows {
			outcome = ErrUnauthenticated
			return nil
		}
		if err != nil {
			return fmt.Errorf("select refresh token: %w", err)
		}
		st, err := sessionStateByID(ctx, tx, sessionID)
		if err != nil {
			return err
		}
		if used != nil {
			outcome = ErrUnauthenticated
			if st.RevokedAt != nil {
				return nil
			}
			if err := revokeSession(ctx, tx, sessionID, "refresh_token_reuse"); err != nil {
				return err
			}
			return audit.Record(ctx, tx, "auth.refresh_token_reused", "user:"+st.UserID.String(), map[string]any{"session": sessionID})
		}
		now := s.now()
		if st.RevokedAt != nil || !st.ExpiresAt.After(now) || !expires.After(now) || st.UserStatus != "active" || st.BannedAt != nil {
			outcome = ErrUnauthenticated
			return nil
		}
		if _, err := tx.Exec(ctx, `UPDATE refresh_tokens SET used_at = now() WHERE token_hash = $1`, hashToken(refreshToken)); err != nil {
			return fmt.Errorf("use refresh token: %w", err)
		}
		next, nh := newToken(prefixRefresh)
		if err := insertRefreshToken(ctx, tx, nh, sessionID, minTime(st.ExpiresAt, now.Add(s.cfg.RefreshTTL))); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE sessions SET last_used_at = now() WHERE id = $1`, sessionID); err != nil {
			return fmt.Errorf("touch session: %w", err)
		}
		tenant, _ := engine.TenantFrom(ctx)
		access, err := s.signer.issue(tenant, st.UserID, sessionID, st.Role)
		if err != nil {
			return err
		}
		out = Tokens{AccessToken: access, RefreshToken: next, ExpiresIn: s.cfg.AccessTTL}
		return nil
	})
	if err != nil {
		return Tokens{}, err
	}
	return out, outcome
}

// SignOut revokes the caller's session (its refresh tokens and cookie with
// it).
// Errors: unauthenticated.
func (s *Service) SignOut(ctx context.Context) error {
	p, ok := engine.PrincipalFrom(ctx)
	if !ok || p.Kind != engine.PrincipalUser {
		return ErrUnauthenticated
	}
	return s.db.InTenant(ctx, func(tx pgx.Tx) error {
		if err := revokeSession(ctx, tx, p.SessionID, "signed_out"); err != nil {
			return err
		}
		return audit.Record(ctx, tx, "auth.signed_out", "user:"+p.UserID.String(), nil)
	})
}

// constantEqual compares secrets in constant time.
func constantEqual(a, b []byte) bool { return subtle.ConstantTimeCompare(a, b) == 1 }

// send delivers m after the transaction committed; delivery trouble is
// logged by the caller's mailer, never turned into an answer that would
// tell an address has an account.
func (s *Service) send(ctx context.Context, m *notify.Email) {
	if m == nil || s.cfg.Mailer == nil {
		return
	}
	_ = s.cfg.Mailer.SendEmail(context.WithoutCancel(ctx), *m)
}
