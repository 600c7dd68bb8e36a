package identity

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base32"
	"fmt"
	"image/png"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
	"github.com/pquerna/otp/totp"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/audit"
)

// totpPeriod is the TOTP time step.
const totpPeriod = 30

// recoveryCodeCount is how many recovery codes MFA enrolment gives.
const recoveryCodeCount = 10

// Enrollment is a TOTP secret waiting for its first code.
type Enrollment struct {
	Secret string // base32, for manual entry
	URL    string // otpauth:// URI
	QRPNG  []byte // the URI as a QR code
}

// ErrMFAEnabled refuses to enrol twice.
var ErrMFAEnabled = &engine.Error{Code: engine.CodeConflict, Message: "Two-step sign-in is already on."}

// ErrMFANotEnabled refuses to confirm or disable what is not there.
var ErrMFANotEnabled = &engine.Error{Code: engine.CodeConflict, Message: "Two-step sign-in is not on."}

func totpAAD(ctx context.Context, user uuid.UUID) []byte {
	t, _ := engine.TenantFrom(ctx)
	return []byte("totp:" + t.String() + ":" + user.String())
}

func (s *Service) caller(ctx context.Context) (engine.Principal, error) {
	p, ok := engine.PrincipalFrom(ctx)
	if !ok || p.Kind != engine.PrincipalUser {
		return engine.Principal{}, ErrUnauthenticated
	}
	return p, nil
}

// EnrollTOTP starts TOTP for the caller: a new secret, stored sealed and
// unconfirmed until ConfirmTOTP. Starting again replaces an unconfirmed
// secret.
// Errors: unauthenticated, conflict (already on).
func (s *Service) EnrollTOTP(ctx context.Context) (Enrollment, error) {
	p, err := s.caller(ctx)
	if err != nil {
		return Enrollment{}, err
	}
	var out Enrollment
	err = s.db.InTenant(ctx, func(tx pgx.Tx) error {
		u, err := userByID(ctx, tx, p.UserID, true)
		if err != nil {
			return err
		}
		if u.TOTPConfirmedAt != nil {
			return ErrMFAEnabled
		}
		out, err = newTOTPKey(s.cfg.TenantName(ctx), u.user().Email)
		if err != nil {
			return err
		}
		sealed := s.cfg.Keys.Seal([]byte(out.Secret), totpAAD(ctx, u.ID))
		_, err = tx.Exec(ctx, `UPDATE users SET totp_secret = $2, totp_confirmed_at = NULL, totp_last_step = 0 WHERE id = $1`, u.ID, sealed)
		if err != nil {
			return fmt.Errorf("store totp secret: %w", err)
		}
		return nil
	})
	return out, err
}

// ConfirmTOTP turns TOTP on with a first valid code and returns the
// recovery codes, shown this once.
// Errors: unauthenticated, conflict (nothing to confirm), invalid (wrong
// code).
func (s *Service) ConfirmTOTP(ctx context.Context, code string) ([]string, error) {
	p, err := s.caller(ctx)
	if err != nil {
		return nil, err
	}
	var codes []string
	var outcome error
	err = s.db.InTenant(ctx, func(tx pgx.Tx) error {
		outcome = nil
		u, err := userByID(ctx, tx, p.UserID, true)
		if err != nil {
			return err
		}
		if u.TOTPConfirmedAt != nil {
			return ErrMFAEnabled
		}
		if u.TOTPSecret == nil {
			return ErrMFANotEnabled
		}
		ok, err := s.checkTOTP(ctx, tx, u, code)
		if err != nil {
			return err
		}
		if !ok {
			outcome = wrongMFACode
			return nil
		}
		if _, err := tx.Exec(ctx, `UPDATE users SET totp_confirmed_at = now() WHERE id = $1`, u.ID); err != nil {
			return fmt.Errorf("confirm totp: %w", err)
		}
		if codes, err = s.replaceRecoveryCodes(ctx, tx, u.ID); err != nil {
			return err
		}
		return audit.Record(ctx, tx, "mfa.enabled", "user:"+u.ID.String(), nil)
	})
	if err != nil {
		return nil, err
	}
	return codes, outcome
}

var wrongMFACode = &engine.Error{Code: engine.CodeInvalid, Message: "The code is not right.",
	Fields: []engine.FieldError{{Field: "code", Message: "is not the current code of your authenticator app"}}}

// DisableTOTP turns TOTP off; it needs a current code or a recovery code.
// Errors: unauthenticated, conflict (not on), invalid (wrong code).
func (s *Service) DisableTOTP(ctx context.Context, code string) error {
	p, err := s.caller(ctx)
	if err != nil {
		return err
	}
	var outcome error
	err = s.db.InTenant(ctx, func(tx pgx.Tx) error {
		outcome = nil
		u, err := userByID(ctx, tx, p.UserID, true)
		if err != nil {
			return err
		}
		if u.TOTPConfirmedAt == nil {
			return ErrMFANotEnabled
		}
		ok, err := s.checkSecondFactor(ctx, tx, u, code)
		if err != nil {
			return err
		}
		if !ok {
			outcome = wrongMFACode
			return audit.Record(ctx, tx, "auth.mfa_failed", "user:"+u.ID.String(), nil)
		}
		if _, err := tx.Exec(ctx, `UPDATE users SET totp_secret = NULL, totp_confirmed_at = NULL, totp_last_step = 0 WHERE id = $1`, u.ID); err != nil {
			return fmt.Errorf("disable totp: %w", err)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM recovery_codes WHERE user_id = $1`, u.ID); err != nil {
			return fmt.Errorf("delete recovery codes: %w", err)
		}
		return audit.Record(ctx, tx, "mfa.disabled", "user:"+u.ID.String(), nil)
	})
	if err != nil {
		return err
	}
	return outcome
}

// RegenerateRecoveryCodes replaces the caller's recovery codes; it needs a
// current TOTP code.
// Errors: unauthenticated, conflict (TOTP off), invalid (wrong code).
func (s *Service) RegenerateRecoveryCodes(ctx context.Context, code string) ([]string, error) {
	p, err := s.caller(ctx)
	if err != nil {
		return nil, err
	}
	var codes []string
	var outcome error
	err = s.db.InTenant(ctx, func(tx pgx.Tx) error {
		outcome = nil
		u, err := userByID(ctx, tx, p.UserID, true)
		if err != nil {
			return err
		}
		if u.TOTPConfirmedAt == nil {
			return ErrMFANotEnabled
		}
		ok, err := s.checkTOTP(ctx, tx, u, code)
		if err != nil {
			return err
		}
		if !ok {
			outcome = wrongMFACode
			return nil
		}
		if codes, err = s.replaceRecoveryCodes(ctx, tx, u.ID); err != nil {
			return err
		}
		return audit.Record(ctx, tx, "mfa.recovery_codes_regenerated", "user:"+u.ID.String(), nil)
	})
	if err != nil {
		return nil, err
	}
	return codes, outcome
}

// checkSecondFactor accepts a current TOTP code or an unused recovery code.
func (s *Service) checkSecondFactor(ctx context.Context, tx pgx.Tx, u userRow, code string) (bool, error) {
	code = strings.TrimSpace(code)
	if len(code) == 6 {
		return s.checkTOTP(ctx, tx, u, code)
	}
	norm := normalizeRecoveryCode(code)
	if norm == "" {
		return false, nil
	}
	tag, err := tx.Exec(ctx, `UPDATE recovery_codes SET used_at = now() WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL`,
		u.ID, s.cfg.Keys.MAC("recovery code", u.ID[:], []byte(norm)))
	if err != nil {
		return false, fmt.Errorf("use recovery code: %w", err)
	}
	if tag.RowsAffected() == 1 {
		return true, audit.Record(ctx, tx, "mfa.recovery_code_used", "user:"+u.ID.String(), nil)
	}
	return false, nil
}

// checkTOTP accepts a code of u's authenticator and records its step: a
// code is never accepted twice.
func (s *Service) checkTOTP(ctx context.Context, tx pgx.Tx, u userRow, code string) (bool, error) {
	if u.TOTPSecret == nil || len(code) != 6 {
		return false, nil
	}
	secretB32, err := s.cfg.Keys.Open(u.TOTPSecret, totpAAD(ctx, u.ID))
	if err != nil {
		return false, fmt.Errorf("open totp secret: %w", err)
	}
	step, ok := matchTOTP(string(secretB32), code, u.TOTPLastStep, s.now())
	if !ok {
		return false, nil
	}
	if _, err := tx.Exec(ctx, `UPDATE users SET totp_last_step = $2 WHERE id = $1`, u.ID, step); err != nil {
		return false, fmt.Errorf("record totp step: %w", err)
	}
	return true, nil
}

// matchTOTP finds the time step (previous, current or next) whose code is
// code and that is later than lastStep.
func matchTOTP(secretB32, code string, lastStep int64, now time.Time) (int64, bool) {
	cur := now.Unix() / totpPeriod
	for _, step := range []int64{cur - 1, cur, cur + 1} {
		if step <= lastStep {
			continue
		}
		want, err := hotp.GenerateCodeCustom(secretB32, uint64(step), hotp.ValidateOpts{Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
		if err == nil && constantEqual([]byte(want), []byte(code)) {
			return step, true
		}
	}
	return 0, false
}

// newTOTPKey generates a secret and its enrolment details.
func newTOTPKey(issuer, account string) (Enrollment, error) {
	key, err := totp.Generate(totp.GenerateOpts{
		Issuer: issuer, AccountName: account, Period: totpPeriod,
		SecretSize: 20, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1,
	})
	if err != nil {
		return Enrollment{}, fmt.Errorf("generate totp secret: %w", err)
	}
	img, err := key.Image(240, 240)
	if err != nil {
		return Enrollment{}, fmt.Errorf("totp qr code: %w", err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return Enrollment{}, fmt.Errorf("totp qr code: %w", err)
	}
	return Enrollment{Secret: key.Secret(), URL: key.URL(), QRPNG: buf.Bytes()}, nil
}

// TOTPCode returns the code of secret at t; tests and tools use it.
func TOTPCode(secret string, t time.Time) string {
	c, _ := hotp.GenerateCodeCustom(secret, uint64(t.Unix()/totpPeriod), hotp.ValidateOpts{Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	return c
}

var recoveryEncoding = base32.NewEncoding("abcdefghijkmnpqrstuvwxyz23456789").WithPadding(base32.NoPadding)

// replaceRecoveryCodes stores fresh recovery codes (xxxxx-xxxxx, 50 bits
// each) in place of the old ones and returns them.
func (s *Service) replaceRecoveryCodes(ctx context.Context, tx pgx.Tx, user uuid.UUID) ([]string, error) {
	if _, err := tx.Exec(ctx, `DELETE FROM recovery_codes WHERE user_id = $1`, user); err != nil {
		return nil, fmt.Errorf("delete recovery codes: %w", err)
	}
	codes := make([]string, recoveryCodeCount)
	for i := range codes {
		b := make([]byte, 7)
		_, _ = rand.Read(b)
		raw := recoveryEncoding.EncodeToString(b)[:10]
		codes[i] = raw[:5] + "-" + raw[5:]
		if _, err := tx.Exec(ctx, `INSERT INTO recovery_codes (tenant_id, user_id, code_hash) VALUES (current_tenant_id(), $1, $2)`,
			user, s.cfg.Keys.MAC("recovery code", user[:], []byte(raw))); err != nil {
			return nil, fmt.Errorf("insert recovery code: %w", err)
		}
	}
	return codes, nil
}

// normalizeRecoveryCode strips spaces and hyphens and lower-cases; "" when
// it cannot be a recovery code.
func normalizeRecoveryCode(code string) string {
	c := strings.ToLower(strings.NewReplacer("-", "", " ", "").Replace(code))
	if len(c) != 10 {
		return ""
	}
	for _, r := range c {
		if !strings.ContainsRune("abcdefghijkmnpqrstuvwxyz23456789", r) {
			return ""
		}
	}
	return c
}
