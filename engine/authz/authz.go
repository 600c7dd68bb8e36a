// Package authz decides what a caller may do: Casbin, RBAC with domains,
// the tenant being the domain. The model (model.conf) and the role →
// permission policy (policy.csv) live here; role assignments live in the
// memberships table and reach the Authorizer with each request as the
// principal's current role.
//
// Guarantees: a permission is granted only by the policy (for users and
// platform admins) or by an API key's scopes; unknown roles and permissions
// are denied. Decisions are memoized per (tenant, role, permission), which
// keeps enforcement to a map lookup on the request path.
package authz

import (
	"bufio"
	_ "embed"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"
	"github.com/casbin/casbin/v2/util"

	"github.com/guildhall/guildhall/engine"
)

//go:embed model.conf
var modelText string

//go:embed policy.csv
var policyText string

// The roles, highest first. PlatformAdmin is not a tenant role: it belongs to
// platform admins and holds every permission in every tenant.
const (
	RoleOwner         = "owner"
	RoleAdmin         = "admin"
	RoleModerator     = "moderator"
	RoleMember        = "member"
	RolePlatformAdmin = "platform_admin"
)

// Roles are the tenant roles, highest first.
var Roles = []string{RoleOwner, RoleAdmin, RoleModerator, RoleMember}

// Rank orders tenant roles: owner 4 ... member 1; anything else 0.
func Rank(role string) int {
	if i := slices.Index(Roles, role); i >= 0 {
		return len(Roles) - i
	}
	return 0
}

// Self is the permission of a signed-in user acting on their own account.
const Self = "self:use"

// Authorizer enforces the policy.
type Authorizer struct {
	enforcer    *casbin.Enforcer
	permissions []string
	mu          sync.RWMutex
	memo        map[memoKey]bool
}

type memoKey struct{ domain, role, permission string }

// New loads the embedded model and policy.
func New() (*Authorizer, error) {
	m, err := model.NewModelFromString(modelText)
	if err != nil {
		return nil, fmt.Errorf("authz model: %w", err)
	}
	e, err := casbin.NewEnforcer(m)
	if err != nil {
		return nil, fmt.Errorf("authz enforcer: %w", err)
	}
	e.AddNamedDomainMatchingFunc("g", "keyMatch", util.KeyMatch)
	a := &Authorizer{enforcer: e, memo: map[memoKey]bool{}}
	sc := bufio.NewScanner(strings.NewReader(policyText))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, ",")
		for i := range f {
			f[i] = strings.TrimSpace(f[i])
		}
		switch {
		case f[0] == "p" && len(f) == 5:
			if _, err := e.AddPolicy(f[1], f[2], f[3], f[4]); err != nil {
				return nil, fmt.Errorf("authz policy %q: %w", line, err)
			}
			a.permissions = append(a.permissions, f[3]+":"+f[4])
		case f[0] == "g" && len(f) == 4:
			if _, err := e.AddGroupingPolicy(f[1], f[2], f[3]); err != nil {
				return nil, fmt.Errorf("authz grouping %q: %w", line, err)
			}
		default:
			return nil, fmt.Errorf("authz policy line %q: want p, role, domain, object, action or g, role, role, domain", line)
		}
	}
	slices.Sort(a.permissions)
	a.permissions = slices.Compact(a.permissions)
	return a, nil
}

// Permissions returns every permission the policy grants to some role,
// sorted: the names API key scopes and operations may use.
func (a *Authorizer) Permissions() []string { return slices.Clone(a.permissions) }

// ScopePermissions are the permissions an API key may hold: every
// permission but Self (a key acts for an integration, not a person).
func (a *Authorizer) ScopePermissions() []string {
	return slices.DeleteFunc(a.Permissions(), func(p string) bool { return p == Self })
}

// RoleCan reports whether role holds permission in the tenant domain.
func (a *Authorizer) RoleCan(domain, role, permission string) bool {
	k := memoKey{domain, role, permission}
	a.mu.RLock()
	v, ok := a.memo[k]
	a.mu.RUnlock()
	if ok {
		return v
	}
	obj, act, found := strings.Cut(permission, ":")
	if found && role != "" {
		v, _ = a.enforcer.Enforce(role, domain, obj, act)
	}
	a.mu.Lock()
	a.memo[k] = v
	a.mu.Unlock()
	return v
}

// Can reports whether p holds permission: a user or platform admin by role
// in p's tenant, an API key by its scopes.
func (a *Authorizer) Can(p engine.Principal, permission string) bool {
	switch p.Kind {
	case engine.PrincipalAPIKey:
		return permission != Self && slices.Contains(p.Scopes, permission)
	case engine.PrincipalUser:
		return a.RoleCan(p.TenantID.String(), p.Role, permission)
	case engine.PrincipalPlatform:
		return a.RoleCan("*", RolePlatformAdmin, permission)
	}
	return false
}
