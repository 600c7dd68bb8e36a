package identity

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/audit"
)

// Limits are a tenant's request limits.
type Limits struct {
	UserPerSecond   int `json:"user_per_second"`
	APIKeyPerSecond int `json:"api_key_per_second"`
	IPPerSecond     int `json:"ip_per_second"`
	SignInPerMinute int `json:"sign_in_per_minute"`
	CodesPerHour    int `json:"codes_per_hour"`
}

// DefaultLimits apply to a tenant that set none.
var DefaultLimits = Limits{UserPerSecond: 1000, APIKeyPerSecond: 1000, IPPerSecond: 2000, SignInPerMinute: 10, CodesPerHour: 5}

func selectLimits(ctx context.Context, tx pgx.Tx) (Limits, error) {
	var l Limits
	err := tx.QueryRow(ctx, `SELECT user_per_second, api_key_per_second, ip_per_second, sign_in_per_minute, codes_per_hour FROM tenant_limits`).
		Scan(&l.UserPerSecond, &l.APIKeyPerSecond, &l.IPPerSecond, &l.SignInPerMinute, &l.CodesPerHour)
	if errors.Is(err, pgx.ErrNoRows) {
		return DefaultLimits, nil
	}
	if err != nil {
		return Limits{}, fmt.Errorf("select limits: %w", err)
	}
	return l, nil
}

// TenantLimits returns the limits of the tenant in ctx (cached).
func (s *Service) TenantLimits(ctx context.Context) (Limits, error) {
	t, ok := engine.TenantFrom(ctx)
	if !ok {
		return DefaultLimits, nil
	}
	return s.cache.tenantLimits(ctx, t)
}

// Validate reports every limit out of range.
func (l Limits) Validate() error {
	var problems []engine.FieldError
	check := func(field string, v, max int) {
		if v < 1 || v > max {
			problems = append(problems, engine.FieldError{Field: field, Message: fmt.Sprintf("must be between 1 and %d", max)})
		}
	}
	check("user_per_second", l.UserPerSecond, 100000)
	check("api_key_per_second", l.APIKeyPerSecond, 100000)
	check("ip_per_second", l.IPPerSecond, 100000)
	check("sign_in_per_minute", l.SignInPerMinute, 1000)
	check("codes_per_hour", l.CodesPerHour, 1000)
	return engine.Invalid(problems)
}

// SetLimits replaces the tenant's limits; every server applies them within
// a second.
// Errors: invalid.
func (s *Service) SetLimits(ctx context.Context, l Limits) (Limits, error) {
	if err := l.Validate(); err != nil {
		return Limits{}, err
	}
	err := s.db.InTenant(ctx, func(tx pgx.Tx) error {
		before, err := selectLimits(ctx, tx)
		if err != nil {
			return err
		}
		if before == l {
			return nil
		}
		_, err = tx.Exec(ctx, `
INSERT INTO tenant_limits (tenant_id, user_per_second, api_key_per_second, ip_per_second, sign_in_per_minute, codes_per_hour, updated_at)
VALUES (current_tenant_id(), $1, $2, $3, $4, $5, $6)
ON CONFLICT (tenant_id) DO UPDATE SET user_per_second = $1, api_key_per_second = $2, ip_per_second = $3,
	sign_in_per_minute = $4, codes_per_hour = $5, updated_at = $6`,
			l.UserPerSecond, l.APIKeyPerSecond, l.IPPerSecond, l.SignInPerMinute, l.CodesPerHour, s.now().UTC().Truncate(time.Microsecond))
		if err != nil {
			return fmt.Errorf("set limits: %w", err)
		}
		return audit.Record(ctx, tx, "settings.limits_changed", "settings:limits", map[string]any{"from": before, "to": l})
	})
	return l, err
}
