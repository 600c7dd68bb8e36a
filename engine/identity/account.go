package identity

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/audit"
	"github.com/guildhall/guildhall/engine/authz"
	"github.com/guildhall/guildhall/engine/notify"
)

// Me returns the caller's account.
// Errors: unauthenticated.
func (s *Service) Me(ctx context.Context) (User, error) {
	p, err := s.caller(ctx)
	if err != nil {
		return User{}, err
	}
	var u userRow
	err = s.db.InTenant(ctx, func(tx pgx.Tx) error {
		u, err = userByID(ctx, tx, p.UserID, false)
		return err
	})
	return u.user(), err
}

// ProfileParams changes the caller's profile; nil fields stay.
type ProfileParams struct {
	DisplayName *string
	AvatarURL   *string
}

// UpdateProfile changes the caller's display name or avatar.
// Errors: unauthenticated, invalid.
func (s *Service) UpdateProfile(ctx context.Context, p ProfileParams) (User, error) {
	pr, err := s.caller(ctx)
	if err != nil {
		return User{}, err
	}
	var problems []*engine.FieldError
	var name, avatar string
	if p.DisplayName != nil {
		var fe *engine.FieldError
		name, fe = checkName("display_name", *p.DisplayName)
		problems = append(problems, fe)
	}
	if p.AvatarURL != nil {
		avatar = strings.TrimSpace(*p.AvatarURL)
		if avatar != "" {
			u, perr := url.Parse(avatar)
			if perr != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || len(avatar) > 2048 {
				problems = append(problems, &engine.FieldError{Field: "avatar_url", Message: "must be an absolute https URL"})
			}
		}
	}
	if err := collect(problems...); err != nil {
		return User{}, err
	}
	var out userRow
	err = s.db.InTenant(ctx, func(tx pgx.Tx) error {
		if p.DisplayName != nil {
			if _, err := tx.Exec(ctx, `UPDATE users SET display_name = $2, updated_at = now() WHERE id = $1`, pr.UserID, name); err != nil {
				return fmt.Errorf("update display name: %w", err)
			}
		}
		if p.AvatarURL != nil {
			if _, err := tx.Exec(ctx, `UPDATE users SET avatar_url = $2, updated_at = now() WHERE id = $1`, pr.UserID, avatar); err != nil {
				return fmt.Errorf("update avatar: %w", err)
			}
		}
		out, err = userByID(ctx, tx, pr.UserID, false)
		return err
	})
	return out.user(), err
}

// ChangePassword replaces the caller's password after checking the
// current one, and signs out every other session.
// Errors: unauthenticated, invalid (wrong current password, rules).
func (s *Service) ChangePassword(ctx context.Context, current, next string) error {
	p, err := s.caller(ctx)
	if err != nil {
		return err
	}
	if fe := CheckPassword("new_password", next); fe != nil {
		return engine.Invalid([]engine.FieldError{*fe})
	}
	hash := HashPassword(next, s.cfg.Argon2)
	var outcome error
	err = s.db.InTenant(ctx, func(tx pgx.Tx) error {
		outcome = nil
		u, err := userByID(ctx, tx, p.UserID, true)
		if err != nil {
			return err
		}
		if u.PasswordHash != nil {
			if ok, _ := VerifyPassword(current, *u.PasswordHash, s.cfg.Argon2); !ok {
				outcome = wrongPassword
				return audit.Record(ctx, tx, "account.password_change_failed", "user:"+u.ID.String(), nil)
			}
		}
		if err := setPasswordHash(ctx, tx, u.ID, hash); err != nil {
			return err
		}
		if err := revokeSessions(ctx, tx, u.ID, p.SessionID, "password_changed"); err != nil {
			return err
		}
		return audit.Record(ctx, tx, "account.password_changed", "user:"+u.ID.String(), nil)
	})
	if err != nil {
		return err
	}
	return outcome
}

var wrongPassword = &engine.Error{Code: engine.CodeInvalid, Message: "The current password is not right.",
	Fields: []engine.FieldError{{Field: "current_password", Message: "is not your current password"}}}

// RequestPhoneCode texts a code to phone, to prove it before SetPhone.
// Errors: unauthenticated, invalid, conflict (the number is another
// account's).
func (s *Service) RequestPhoneCode(ctx context.Context, phone string) error {
	p, err := s.caller(ctx)
	if err != nil {
		return err
	}
	if !phoneRe.MatchString(phone) {
		return engine.Invalid([]engine.FieldError{{Field: "phone", Message: "must be an E.164 number such as +4915112345678"}})
	}
	var code string
	err = s.db.InTenant(ctx, func(tx pgx.Tx) error {
		if other, err := userByPhone(ctx, tx, phone, false); err == nil && other.ID != p.UserID {
			return &engine.Error{Code: engine.CodeConflict, Message: "That number belongs to another account."}
		}
		code, err = s.newCode(ctx, tx, purposeVerifyPhone, "sms", phone, &p.UserID)
		return err
	})
	if err != nil || code == "" || s.cfg.Texter == nil {
		return err
	}
	_ = s.cfg.Texter.SendSMS(context.WithoutCancel(ctx), notify.SMS{To: phone, Text: fmt.Sprintf("%s code to confirm this number: %s", s.cfg.TenantName(ctx), code)})
	return nil
}

// SetPhone sets the caller's phone number with the code RequestPhoneCode
// sent to it; "" with no code removes it.
// Errors: unauthenticated, unauthenticated (ErrBadCode).
func (s *Service) SetPhone(ctx context.Context, phone, code string) (User, error) {
	p, err := s.caller(ctx)
	if err != nil {
		return User{}, err
	}
	var out userRow
	var outcome error
	err = s.db.InTenant(ctx, func(tx pgx.Tx) error {
		outcome = nil
		if phone != "" {
			user, ok, err := s.consumeCode(ctx, tx, purposeVerifyPhone, phone, code)
			if err != nil {
				return err
			}
			if !ok || *user != p.UserID {
				outcome = ErrBadCode
				return nil
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE users SET phone = NULLIF($2, ''), updated_at = now() WHERE id = $1`, p.UserID, phone); err != nil {
			return fmt.Errorf("set phone: %w", err)
		}
		if err := audit.Record(ctx, tx, "account.phone_changed", "user:"+p.UserID.String(), nil); err != nil {
			return err
		}
		out, err = userByID(ctx, tx, p.UserID, false)
		return err
	})
	if err != nil {
		return User{}, err
	}
	return out.user(), outcome
}

// DeleteAccount erases the caller's personal data (email, phone, name,
// avatar, password, TOTP, recovery codes) and revokes their sessions. The
// user row stays, anonymous, so coin and money history keeps its account.
// The password confirms it (when the account has one). The last owner of a
// tenant cannot leave.
// Errors: unauthenticated, invalid (wrong password), conflict (last owner).
func (s *Service) DeleteAccount(ctx context.Context, password string) error {
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
		if u.PasswordHash != nil {
			if ok, _ := VerifyPassword(password, *u.PasswordHash, s.cfg.Argon2); !ok {
				outcome = &engine.Error{Code: engine.CodeInvalid, Message: "The password is not right.",
					Fields: []engine.FieldError{{Field: "password", Message: "is not your password"}}}
				return nil
			}
		}
		if u.Role == authz.RoleOwner {
			if err := requireAnotherOwner(ctx, tx, u.ID); err != nil {
				return err
			}
		}
		return eraseUser(ctx, tx, u.ID)
	})
	if err != nil {
		return err
	}
	return outcome
}

// eraseUser anonymizes a user and ends their access.
func eraseUser(ctx context.Context, tx pgx.Tx, id uuid.UUID) error {
	_, err := tx.Exec(ctx, `
UPDATE users SET email = NULL, email_verified_at = NULL, phone = NULL, display_name = 'Deleted user', avatar_url = '',
	password_hash = NULL, totp_secret = NULL, totp_confirmed_at = NULL, status = 'deleted',
	deleted_at = now(), updated_at = now()
WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("erase user: %w", err)
	}
	if _, err := tx.Exec(ctx, `DELETE FROM recovery_codes WHERE user_id = $1`, id); err != nil {
		return fmt.Errorf("delete recovery codes: %w", err)
	}
	if _, err := tx.Exec(ctx, `UPDATE memberships SET role = 'member', updated_at = now() WHERE user_id = $1`, id); err != nil {
		return fmt.Errorf("drop role: %w", err)
	}
	if err := revokeSessions(ctx, tx, id, uuid.Nil, "account_deleted"); err != nil {
		return err
	}
	return audit.Record(ctx, tx, "account.deleted", "user:"+id.String(), nil)
}

// requireAnotherOwner fails with ErrLastOwner unless an active, unbanned
// owner other than user exists. It locks the owners' memberships, so two
// owners cannot both leave at once.
func requireAnotherOwner(ctx context.Context, tx pgx.Tx, user uuid.UUID) error {
	rows, err := tx.Query(ctx, `
SELECT m.user_id FROM memberships m JOIN users u ON u.tenant_id = m.tenant_id AND u.id = m.user_id
WHERE m.role = 'owner' AND m.banned_at IS NULL AND u.status = 'active'
ORDER BY m.user_id FOR UPDATE OF m`)
	if err != nil {
		return fmt.Errorf("lock owners: %w", err)
	}
	owners, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return fmt.Errorf("lock owners: %w", err)
	}
	for _, o := range owners {
		if o != user {
			return nil
		}
	}
	return ErrLastOwner
}

// SeedUserParams is an account made directly, already verified.
type SeedUserParams struct {
	Email       string
	DisplayName string
	Password    string
	Role        string
}

// SeedUser creates a verified account with a role, for demo data and
// fixtures (guildhall dev); an existing address is left as it is. Members
// sign up through SignUp.
// Errors: invalid.
func (s *Service) SeedUser(ctx context.Context, p SeedUserParams) (User, bool, error) {
	email, e1 := NormalizeEmail("email", p.Email)
	name, e2 := checkName("display_name", p.DisplayName)
	var e3 *engine.FieldError
	if authz.Rank(p.Role) == 0 {
		e3 = &engine.FieldError{Field: "role", Message: "must be owner, admin, moderator or member"}
	}
	if err := collect(e1, e2, CheckPassword("password", p.Password), e3); err != nil {
		return User{}, false, err
	}
	var out userRow
	created := false
	err := s.db.InTenant(ctx, func(tx pgx.Tx) error {
		created = false
		u, err := userByEmail(ctx, tx, email, false)
		if err == nil {
			out = u
			return nil
		}
		if err != ErrNotFound {
			return err
		}
		id := uuid.Must(uuid.NewV7())
		if err := insertUser(ctx, tx, id, email, name, HashPassword(p.Password, s.cfg.Argon2), p.Role); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE users SET email_verified_at = now() WHERE id = $1`, id); err != nil {
			return fmt.Errorf("verify seeded user: %w", err)
		}
		created = true
		if err := audit.Record(ctx, tx, "account.seeded", "user:"+id.String(), map[string]any{"role": p.Role}); err != nil {
			return err
		}
		out, err = userByID(ctx, tx, id, false)
		return err
	})
	return out.user(), created, err
}
