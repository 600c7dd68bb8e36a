package identity

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/audit"
)

// APIKey is an integrator's key, without its secret.
type APIKey struct {
	ID         uuid.UUID
	Name       string
	Prefix     string // shown in lists: ghk_<prefix>_…
	Scopes     []string
	CreatedBy  *uuid.UUID
	CreatedAt  time.Time
	ExpiresAt  *time.Time
	LastUsedAt *time.Time
	RevokedAt  *time.Time
}

// apiKeyState is what authentication needs of a key.
type apiKeyState struct {
	ID         uuid.UUID  `db:"id"`
	Name       string     `db:"name"`
	Prefix     string     `db:"prefix"`
	SecretHash []byte     `db:"secret_hash"`
	Scopes     []string   `db:"scopes"`
	CreatedBy  *uuid.UUID `db:"created_by"`
	CreatedAt  time.Time  `db:"created_at"`
	ExpiresAt  *time.Time `db:"expires_at"`
	LastUsedAt *time.Time `db:"last_used_at"`
	RevokedAt  *time.Time `db:"revoked_at"`
}

func (k apiKeyState) key() APIKey {
	return APIKey{ID: k.ID, Name: k.Name, Prefix: k.Prefix, Scopes: k.Scopes, CreatedBy: k.CreatedBy,
		CreatedAt: k.CreatedAt, ExpiresAt: k.ExpiresAt, LastUsedAt: k.LastUsedAt, RevokedAt: k.RevokedAt}
}

const selectAPIKeys = `SELECT id, name, prefix, secret_hash, scopes, created_by, created_at, expires_at, last_used_at, revoked_at FROM api_keys`

func apiKeyByPrefix(ctx context.Context, tx pgx.Tx, prefix string) (apiKeyState, error) {
	rows, err := tx.Query(ctx, selectAPIKeys+` WHERE prefix = $1`, prefix)
	if err != nil {
		return apiKeyState{}, fmt.Errorf("select api key: %w", err)
	}
	k, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[apiKeyState])
	if errors.Is(err, pgx.ErrNoRows) {
		return apiKeyState{}, ErrUnauthenticated
	}
	if err != nil {
		return apiKeyState{}, fmt.Errorf("select api key: %w", err)
	}
	return k, nil
}

// CreateAPIKeyParams is a new key.
type CreateAPIKeyParams struct {
	Name      string
	Scopes    []string
	ExpiresAt *time.Time
}

// CreatedAPIKey is a new key with its token, which is never shown again.
type CreatedAPIKey struct {
	APIKey
	Token string
}

const prefixAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

// CreateAPIKey makes a key for the tenant in ctx, by the caller.
// Errors: invalid (name, scopes, expiry).
func (s *Service) CreateAPIKey(ctx context.Context, p CreateAPIKeyParams) (CreatedAPIKey, error) {
	var problems []engine.FieldError
	name := strings.TrimSpace(p.Name)
	if name == "" || len(name) > 100 {
		problems = append(problems, engine.FieldError{Field: "name", Message: "must be 1 to 100 characters"})
	}
	allowed := s.authz.ScopePermissions()
	scopes := slices.Clone(p.Scopes)
	slices.Sort(scopes)
	scopes = slices.Compact(scopes)
	if len(scopes) == 0 {
		problems = append(problems, engine.FieldError{Field: "scopes", Message: "name at least one of: " + strings.Join(allowed, ", ")})
	}
	for i, sc := range scopes {
		if !slices.Contains(allowed, sc) {
			problems = append(problems, engine.FieldError{Field: fmt.Sprintf("scopes[%d]", i), Message: sc + " is not a scope (have: " + strings.Join(allowed, ", ") + ")"})
		}
	}
	if p.ExpiresAt != nil && !p.ExpiresAt.After(s.now()) {
		problems = append(problems, engine.FieldError{Field: "expires_at", Message: "must be in the future"})
	}
	if err := engine.Invalid(problems); err != nil {
		return CreatedAPIKey{}, err
	}
	var createdBy *uuid.UUID
	if pr, ok := engine.PrincipalFrom(ctx); ok && pr.Kind == engine.PrincipalUser {
		createdBy = &pr.UserID
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	prefix := make([]byte, 8)
	for i := range prefix {
		prefix[i] = prefixAlphabet[int(b[i])%len(prefixAlphabet)]
	}
	secretPart, _ := newToken("")
	token := prefixAPIKey + string(prefix) + "_" + secretPart
	var out CreatedAPIKey
	err := s.db.InTenant(ctx, func(tx pgx.Tx) error {
		id := uuid.Must(uuid.NewV7())
		_, err := tx.Exec(ctx, `
INSERT INTO api_keys (tenant_id, id, name, prefix, secret_hash, scopes, created_by, expires_at)
VALUES (current_tenant_id(), $1, $2, $3, $4, $5, $6, $7)`, id, name, string(prefix), hashToken(token), scopes, createdBy, p.ExpiresAt)
		if err != nil {
			return fmt.Errorf("insert api key: %w", err)
		}
		st, err := apiKeyByPrefix(ctx, tx, string(prefix))
		if err != nil {
			return err
		}
		out = CreatedAPIKey{APIKey: st.key(), Token: token}
		return audit.Record(ctx, tx, "api_key.created", "api_key:"+string(prefix), map[string]any{"name": name, "scopes": scopes})
	})
	return out, err
}

// ListAPIKeys returns the tenant's keys, newest first, revoked ones too.
func (s *Service) ListAPIKeys(ctx context.Context) ([]APIKey, error) {
	var out []APIKey
	err := s.db.InTenant(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, selectAPIKeys+` ORDER BY created_at DESC, id DESC`)
		if err != nil {
			return fmt.Errorf("list api keys: %w", err)
		}
		ks, err := pgx.CollectRows(rows, pgx.RowToStructByName[apiKeyState])
		if err != nil {
			return fmt.Errorf("list api keys: %w", err)
		}
		out = make([]APIKey, len(ks))
		for i, k := range ks {
			out[i] = k.key()
		}
		return nil
	})
	return out, err
}

// RevokeAPIKey revokes a key; it stops working on every server within a
// second. Revoking a revoked key changes nothing.
// Errors: not_found.
func (s *Service) RevokeAPIKey(ctx context.Context, id uuid.UUID) (APIKey, error) {
	var out APIKey
	err := s.db.InTenant(ctx, func(tx pgx.Tx) error {
		var prefix string
		err := tx.QueryRow(ctx, `UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1 RETURNING prefix`, id).Scan(&prefix)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("revoke api key: %w", err)
		}
		st, err := apiKeyByPrefix(ctx, tx, prefix)
		if err != nil {
			return err
		}
		out = st.key()
		return audit.Record(ctx, tx, "api_key.revoked", "api_key:"+prefix, nil)
	})
	return out, err
}

// keyUse throttles last_used_at writes to one a minute per key.
type keyUse struct {
	mu   sync.Mutex
	last map[uuid.UUID]time.Time
}

// authenticateKey checks an API key token against the tenant of ctx.
func (s *Service) authenticateKey(ctx context.Context, tenant uuid.UUID, token string) (engine.Principal, error) {
	rest := strings.TrimPrefix(token, prefixAPIKey)
	prefix, secretPart, ok := strings.Cut(rest, "_")
	if !ok || len(prefix) != 8 || len(secretPart) != 43 {
		return engine.Principal{}, ErrUnauthenticated
	}
	k, err := s.cache.apiKey(ctx, tenant, prefix)
	if err != nil {
		return engine.Principal{}, err
	}
	now := s.now()
	if !constantEqual(k.SecretHash, hashToken(token)) || k.RevokedAt != nil || (k.ExpiresAt != nil && !k.ExpiresAt.After(now)) {
		return engine.Principal{}, ErrUnauthenticated
	}
	s.touchKey(ctx, tenant, k.ID, now)
	return engine.Principal{
		Kind: engine.PrincipalAPIKey, TenantID: tenant, APIKeyID: k.ID, Scopes: k.Scopes, Name: "api_key:" + k.Prefix,
	}, nil
}

// touchKey records when a key was last used, at most once a minute per
// key and server, off the request path.
func (s *Service) touchKey(ctx context.Context, tenant, id uuid.UUID, now time.Time) {
	s.keyUse.mu.Lock()
	if s.keyUse.last == nil {
		s.keyUse.last = map[uuid.UUID]time.Time{}
	}
	if now.Sub(s.keyUse.last[id]) < time.Minute {
		s.keyUse.mu.Unlock()
		return
	}
	s.keyUse.last[id] = now
	s.keyUse.mu.Unlock()
	go func() {
		ctx, cancel := context.WithTimeout(engine.WithTenant(context.WithoutCancel(ctx), tenant), 5*time.Second)
		defer cancel()
		_ = s.db.InTenant(ctx, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `UPDATE api_keys SET last_used_at = $2 WHERE id = $1`, id, now)
			return err
		})
	}()
}
