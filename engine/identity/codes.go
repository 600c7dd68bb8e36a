package identity

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/audit"
	"github.com/guildhall/guildhall/engine/notify"
)

// Purposes of one-time codes.
const (
	purposeSignIn      = "sign_in"
	purposeVerifyEmail = "verify_email"
	purposeVerifyPhone = "verify_phone"
	purposeReset       = "reset_password"
)

// codeTTL is how long a one-time code is valid.
const codeTTL = 10 * time.Minute

// codesPerHour bounds the codes one destination receives, whatever asks.
const codesPerHour = 5

var phoneRe = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// newCode stores a fresh six-digit code for destination and purpose,
// voiding earlier unused ones, and returns it. It returns "" (and stores
// nothing) when the destination already had codesPerHour codes in the last
// hour: the caller answers as if sent.
func (s *Service) newCode(ctx context.Context, tx pgx.Tx, purpose, channel, destination string, user *uuid.UUID) (string, error) {
	var recent int
	err := tx.QueryRow(ctx, `SELECT count(*) FROM one_time_codes WHERE destination = $1 AND created_at > $2`,
		destination, s.now().Add(-time.Hour)).Scan(&recent)
	if err != nil {
		return "", fmt.Errorf("count codes: %w", err)
	}
	if recent >= codesPerHour {
		return "", nil
	}
	n, _ := rand.Int(rand.Reader, big.NewInt(1_000_000))
	code := fmt.Sprintf("%06d", n.Int64())
	id := uuid.Must(uuid.NewV7())
	if _, err := tx.Exec(ctx, `UPDATE one_time_codes SET consumed_at = now()
WHERE destination = $1 AND purpose = $2 AND consumed_at IS NULL`, destination, purpose); err != nil {
		return "", fmt.Errorf("void earlier codes: %w", err)
	}
	_, err = tx.Exec(ctx, `
INSERT INTO one_time_codes (tenant_id, id, purpose, channel, destination, user_id, code_hash, expires_at)
VALUES (current_tenant_id(), $1, $2, $3, $4, $5, $6, $7)`,
		id, purpose, channel, destination, user, s.codeMAC(id, code), s.now().Add(codeTTL))
	if err != nil {
		return "", fmt.Errorf("insert code: %w", err)
	}
	return code, nil
}

func (s *Service) codeMAC(id uuid.UUID, code string) []byte {
	return s.cfg.Keys.MAC("one-time code", id[:], []byte(code))
}

// consumeCode checks code against the newest live code of destination and
// purpose. A wrong code counts an attempt (committed with the caller's
// transaction); ok is false for wrong, expired, used and exhausted codes.
func (s *Service) consumeCode(ctx context.Context, tx pgx.Tx, purpose, destination, code string) (user *uuid.UUID, ok bool, err error) {
	code = strings.TrimSpace(code)
	var id uuid.UUID
	var hash []byte
	var attempts int
	var expires time.Time
	err = tx.QueryRow(ctx, `
SELECT id, user_id, code_hash, attempts, expires_at FROM one_time_codes
WHERE destination = $1 AND purpose = $2 AND consumed_at IS NULL
ORDER BY created_at DESC LIMIT 1 FOR UPDATE`, destination, purpose).Scan(&id, &user, &hash, &attempts, &expires)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("select code: %w", err)
	}
	if attempts >= maxAttempts || !expires.After(s.now()) {
		return nil, false, nil
	}
	match := false
	for _, m := range s.cfg.Keys.MACs("one-time code", id[:], []byte(code)) {
		match = match || constantEqual(m, hash)
	}
	if !match {
		_, err := tx.Exec(ctx, `UPDATE one_time_codes SET attempts = attempts + 1 WHERE id = $1`, id)
		if err != nil {
			return nil, false, fmt.Errorf("count code attempt: %w", err)
		}
		return nil, false, nil
	}
	if _, err := tx.Exec(ctx, `UPDATE one_time_codes SET consumed_at = now() WHERE id = $1`, id); err != nil {
		return nil, false, fmt.Errorf("consume code: %w", err)
	}
	return user, user != nil, nil
}

// CodeParams asks for a one-time code.
type CodeParams struct {
	Purpose string // sign_in, verify_email or reset_password
	Email   string // the destination: an email address...
	Phone   string // ...or, for sign_in, a phone number (E.164) to text
}

// RequestCode sends a one-time code when the destination belongs to an
// account that may use it, and answers the same either way.
// Errors: invalid (malformed request only).
func (s *Service) RequestCode(ctx context.Context, p CodeParams) error {
	var dest, channel string
	switch {
	case p.Purpose != purposeSignIn && p.Purpose != purposeVerifyEmail && p.Purpose != purposeReset:
		return engine.Invalid([]engine.FieldError{{Field: "purpose", Message: "must be sign_in, verify_email or reset_password"}})
	case p.Phone != "" && p.Email != "":
		return engine.Invalid([]engine.FieldError{{Field: "phone", Message: "give an email address or a phone number, not both"}})
	case p.Phone != "":
		if p.Purpose != purposeSignIn || !phoneRe.MatchString(p.Phone) {
			return engine.Invalid([]engine.FieldError{{Field: "phone", Message: "must be an E.164 number such as +4915112345678, for sign_in codes"}})
		}
		dest, channel = p.Phone, "sms"
	default:
		e, fe := NormalizeEmail("email", p.Email)
		if fe != nil {
			return engine.Invalid([]engine.FieldError{*fe})
		}
		dest, channel = e, "email"
	}
	var code string
	err := s.db.InTenant(ctx, func(tx pgx.Tx) error {
		code = ""
		var u userRow
		var err error
		if channel == "sms" {
			u, err = userByPhone(ctx, tx, dest, false)
		} else {
			u, err = userByEmail(ctx, tx, dest, false)
		}
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		verified := u.EmailVerifiedAt != nil
		if u.Status != "active" || u.BannedAt != nil ||
			(p.Purpose == purposeVerifyEmail && verified) || (p.Purpose == purposeReset && !verified) {
			return nil
		}
		code, err = s.newCode(ctx, tx, p.Purpose, channel, dest, &u.ID)
		return err
	})
	if err != nil || code == "" {
		return err
	}
	if channel == "sms" {
		if s.cfg.Texter != nil {
			_ = s.cfg.Texter.SendSMS(context.WithoutCancel(ctx), notify.SMS{To: dest, Text: fmt.Sprintf("%s code: %s", s.cfg.TenantName(ctx), code)})
		}
		return nil
	}
	s.send(ctx, s.codeEmail(ctx, dest, p.Purpose, code))
	return nil
}

// SignInWithCode signs in with a one-time sign-in code sent to an email
// address or phone number; TOTP still applies.
// Errors: unauthenticated (ErrBadCode), forbidden (banned, not staff).
func (s *Service) SignInWithCode(ctx context.Context, destination, code string, c Client) (SignIn, error) {
	dest := strings.TrimSpace(destination)
	if !phoneRe.MatchString(dest) {
		e, fe := NormalizeEmail("email", dest)
		if fe != nil {
			return SignIn{}, ErrBadCode
		}
		dest = e
	}
	var out SignIn
	var outcome error
	err := s.db.InTenant(ctx, func(tx pgx.Tx) error {
		outcome = nil
		userID, ok, err := s.consumeCode(ctx, tx, purposeSignIn, dest, code)
		if err != nil || !ok {
			outcome = ErrBadCode
			if err == nil {
				err = audit.Record(ctx, tx, "auth.sign_in_failed", "destination:"+dest, map[string]any{"reason": "wrong_code"})
			}
			return err
		}
		u, err := userByID(ctx, tx, *userID, true)
		if err != nil {
			return err
		}
		// A code sent to the address proves it.
		if u.EmailVerifiedAt == nil && u.Email != nil && *u.Email == dest {
			if _, err := tx.Exec(ctx, `UPDATE users SET email_verified_at = now() WHERE id = $1`, u.ID); err != nil {
				return fmt.Errorf("verify email: %w", err)
			}
		}
		out, outcome, err = s.afterFirstFactor(ctx, tx, u, c, "code")
		return err
	})
	if err != nil {
		return SignIn{}, err
	}
	return out, outcome
}

// ResetPasswordParams sets a new password with a reset code.
type ResetPasswordParams struct {
	Email       string
	Code        string
	NewPassword string
}

// ResetPassword sets a new password with a code sent by RequestCode, lifts
// any lock and signs the account out everywhere.
// Errors: invalid (password rules), unauthenticated (ErrBadCode).
func (s *Service) ResetPassword(ctx context.Context, p ResetPasswordParams) error {
	if fe := CheckPassword("new_password", p.NewPassword); fe != nil {
		return engine.Invalid([]engine.FieldError{*fe})
	}
	email, fe := NormalizeEmail("email", p.Email)
	if fe != nil {
		return ErrBadCode
	}
	hash := HashPassword(p.NewPassword, s.cfg.Argon2)
	var outcome error
	err := s.db.InTenant(ctx, func(tx pgx.Tx) error {
		outcome = nil
		userID, ok, err := s.consumeCode(ctx, tx, purposeReset, email, p.Code)
		if err != nil || !ok {
			outcome = ErrBadCode
			return err
		}
		if err := setPasswordHash(ctx, tx, *userID, hash); err != nil {
			return err
		}
		if err := clearFailures(ctx, tx, *userID); err != nil {
			return err
		}
		if err := revokeSessions(ctx, tx, *userID, uuid.Nil, "password_reset"); err != nil {
			return err
		}
		return audit.Record(ctx, tx, "account.password_reset", "user:"+userID.String(), nil)
	})
	if err != nil {
		return err
	}
	return outcome
}

func (s *Service) codeEmail(ctx context.Context, to, purpose, code string) *notify.Email {
	if code == "" {
		return nil
	}
	name := s.cfg.TenantName(ctx)
	what := map[string]string{
		purposeSignIn:      "sign in to",
		purposeVerifyEmail: "confirm your email address for",
		purposeReset:       "reset your password for",
	}[purpose]
	return &notify.Email{
		To:       to,
		FromName: name,
		Subject:  fmt.Sprintf("Your %s code: %s", name, code),
		Text: fmt.Sprintf("Use this code to %s %s:\n\n    %s\n\nIt is valid for 10 minutes. If you did not ask for it, ignore this email.\n",
			what, name, code),
	}
}

func (s *Service) alreadyRegisteredEmail(ctx context.Context, to string) *notify.Email {
	name := s.cfg.TenantName(ctx)
	return &notify.Email{
		To:       to,
		FromName: name,
		Subject:  "You already have an account at " + name,
		Text: "Someone (hopefully you) tried to sign up to " + name + " with this address, which already has an account.\n\n" +
			"Sign in instead; if you forgot your password, ask for a reset code on the sign-in page. If it was not you, ignore this email.\n",
	}
}
