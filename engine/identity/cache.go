package identity

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/db"
)

// NotifyChannel carries identity changes: "u:<tenant>:<user>" (role, ban,
// status), "s:<tenant>:<session>" (revoked), "k:<tenant>:<prefix>" (API
// key), "l:<tenant>" (limits).
const NotifyChannel = "guildhall_identity_changed"

// cacheTTL bounds how long an entry is trusted without a notification.
const cacheTTL = time.Minute

// Cache holds the access-relevant state of sessions, API keys and tenant
// limits, so authenticating a request costs no query. Entries are dropped
// on the notification of a change (every server instance listens), on a
// listener reconnect (everything), and after cacheTTL.
type Cache struct {
	svc *Service
	now func() time.Time
	// gen counts invalidations: a load that started before one is not
	// stored, so a change that races a load is never hidden.
	gen atomic.Uint64

	mu       sync.RWMutex
	sessions map[pair]sessionEntry
	byUser   map[pair]map[uuid.UUID]struct{}
	cookies  map[cookieKey]uuid.UUID
	keys     map[keyName]keyEntry
	limits   map[uuid.UUID]limitsEntry
}

type pair struct{ tenant, id uuid.UUID }

type cookieKey struct {
	tenant uuid.UUID
	hash   string
}

type keyName struct {
	tenant uuid.UUID
	prefix string
}

type sessionEntry struct {
	sessionState
	loaded time.Time
}

type keyEntry struct {
	apiKeyState
	loaded time.Time
}

type limitsEntry struct {
	Limits
	loaded time.Time
}

func newCache(svc *Service, now func() time.Time) *Cache {
	c := &Cache{svc: svc, now: now}
	c.clear()
	return c
}

func (c *Cache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sessions = map[pair]sessionEntry{}
	c.byUser = map[pair]map[uuid.UUID]struct{}{}
	c.cookies = map[cookieKey]uuid.UUID{}
	c.keys = map[keyName]keyEntry{}
	c.limits = map[uuid.UUID]limitsEntry{}
}

// Subscribe makes l invalidate the cache on identity changes.
func (c *Cache) Subscribe(l *db.Listener) {
	l.Subscribe(NotifyChannel, func(_ context.Context, n db.Notification) {
		c.gen.Add(1)
		if n.Resync {
			c.clear()
			return
		}
		c.invalidate(n.Payload)
	})
}

// invalidate drops what payload names.
func (c *Cache) invalidate(payload string) {
	parts := strings.Split(payload, ":")
	if len(parts) < 2 {
		return
	}
	tenant, err := uuid.Parse(parts[1])
	if err != nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case parts[0] == "u" && len(parts) == 3:
		if user, err := uuid.Parse(parts[2]); err == nil {
			for s := range c.byUser[pair{tenant, user}] {
				delete(c.sessions, pair{tenant, s})
			}
			delete(c.byUser, pair{tenant, user})
		}
	case parts[0] == "s" && len(parts) == 3:
		if s, err := uuid.Parse(parts[2]); err == nil {
			delete(c.sessions, pair{tenant, s})
		}
	case parts[0] == "k" && len(parts) == 3:
		delete(c.keys, keyName{tenant, parts[2]})
	case parts[0] == "l":
		delete(c.limits, tenant)
	}
}

// Run drops expired entries every minute until ctx is done.
func (c *Cache) Run(ctx context.Context) {
	t := time.NewTicker(cacheTTL)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			c.sweep()
		}
	}
}

func (c *Cache) sweep() {
	cutoff := c.now().Add(-cacheTTL)
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, e := range c.sessions {
		if e.loaded.Before(cutoff) {
			delete(c.sessions, k)
			if set := c.byUser[pair{k.tenant, e.UserID}]; set != nil {
				delete(set, k.id)
				if len(set) == 0 {
					delete(c.byUser, pair{k.tenant, e.UserID})
				}
			}
		}
	}
	for k, id := range c.cookies {
		if _, ok := c.sessions[pair{k.tenant, id}]; !ok {
			delete(c.cookies, k)
		}
	}
	for k, e := range c.keys {
		if e.loaded.Before(cutoff) {
			delete(c.keys, k)
		}
	}
	for k, e := range c.limits {
		if e.loaded.Before(cutoff) {
			delete(c.limits, k)
		}
	}
}

// session returns the state of a session of the tenant in ctx.
func (c *Cache) session(ctx context.Context, tenant, id uuid.UUID) (sessionState, error) {
	now := c.now()
	c.mu.RLock()
	e, ok := c.sessions[pair{tenant, id}]
	c.mu.RUnlock()
	if ok && now.Sub(e.loaded) < cacheTTL {
		return e.sessionState, nil
	}
	gen := c.gen.Load()
	var st sessionState
	err := c.svc.db.InTenant(engine.WithTenant(ctx, tenant), func(tx pgx.Tx) error {
		var err error
		st, err = sessionStateByID(ctx, tx, id)
		return err
	})
	if err != nil {
		return sessionState{}, err
	}
	c.mu.Lock()
	if c.gen.Load() == gen {
		c.sessions[pair{tenant, id}] = sessionEntry{sessionState: st, loaded: now}
		set := c.byUser[pair{tenant, st.UserID}]
		if set == nil {
			set = map[uuid.UUID]struct{}{}
			c.byUser[pair{tenant, st.UserID}] = set
		}
		set[id] = struct{}{}
	}
	c.mu.Unlock()
	return st, nil
}

// sessionByCookie returns the ID of the session a cookie token opens.
func (c *Cache) sessionByCookie(ctx context.Context, tenant uuid.UUID, token string, kind Kind) (uuid.UUID, error) {
	hash := hashToken(token)
	k := cookieKey{tenant, string(hash)}
	c.mu.RLock()
	id, ok := c.cookies[k]
	c.mu.RUnlock()
	if ok {
		return id, nil
	}
	err := c.svc.db.InTenant(engine.WithTenant(ctx, tenant), func(tx pgx.Tx) error {
		var err error
		id, err = sessionIDByCookie(ctx, tx, hash, kind)
		return err
	})
	if err != nil {
		return uuid.Nil, err
	}
	// A cookie always opens the same session: no generation check needed.
	c.mu.Lock()
	c.cookies[k] = id
	c.mu.Unlock()
	return id, nil
}

// apiKey returns the state of the key with prefix in tenant.
func (c *Cache) apiKey(ctx context.Context, tenant uuid.UUID, prefix string) (apiKeyState, error) {
	now := c.now()
	c.mu.RLock()
	e, ok := c.keys[keyName{tenant, prefix}]
	c.mu.RUnlock()
	if ok && now.Sub(e.loaded) < cacheTTL {
		return e.apiKeyState, nil
	}
	gen := c.gen.Load()
	var st apiKeyState
	err := c.svc.db.InTenant(engine.WithTenant(ctx, tenant), func(tx pgx.Tx) error {
		var err error
		st, err = apiKeyByPrefix(ctx, tx, prefix)
		return err
	})
	if err != nil {
		return apiKeyState{}, err
	}
	c.mu.Lock()
	if c.gen.Load() == gen {
		c.keys[keyName{tenant, prefix}] = keyEntry{apiKeyState: st, loaded: now}
	}
	c.mu.Unlock()
	return st, nil
}

// tenantLimits returns the limits of tenant.
func (c *Cache) tenantLimits(ctx context.Context, tenant uuid.UUID) (Limits, error) {
	now := c.now()
	c.mu.RLock()
	e, ok := c.limits[tenant]
	c.mu.RUnlock()
	if ok && now.Sub(e.loaded) < cacheTTL {
		return e.Limits, nil
	}
	gen := c.gen.Load()
	var l Limits
	err := c.svc.db.InTenant(engine.WithTenant(ctx, tenant), func(tx pgx.Tx) error {
		var err error
		l, err = selectLimits(ctx, tx)
		return err
	})
	if err != nil {
		return Limits{}, err
	}
	c.mu.Lock()
	if c.gen.Load() == gen {
		c.limits[tenant] = limitsEntry{Limits: l, loaded: now}
	}
	c.mu.Unlock()
	return l, nil
}
