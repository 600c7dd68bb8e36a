package authz

import (
	"slices"
	"testing"

	"github.com/google/uuid"

	"github.com/guildhall/guildhall/engine"
)

func TestAuthorizer(t *testing.T) {
	t.Parallel()
	a, err := New()
	if err != nil {
		t.Fatal(err)
	}
	tenant := uuid.Must(uuid.NewV7())
	user := func(role string) engine.Principal {
		return engine.Principal{Kind: engine.PrincipalUser, TenantID: tenant, Role: role}
	}
	tests := []struct {
		name       string
		p          engine.Principal
		permission string
		want       bool
	}{
		{"MemberSelf", user(RoleMember), Self, true},
		{"MemberCannotReadMembers", user(RoleMember), "members:read", false},
		{"ModeratorReadsMembers", user(RoleModerator), "members:read", true},
		{"ModeratorReadsAudit", user(RoleModerator), "audit:read", true},
		{"ModeratorCannotManage", user(RoleModerator), "members:manage", false},
		{"ModeratorInheritsSelf", user(RoleModerator), Self, true},
		{"AdminManagesKeys", user(RoleAdmin), "api_keys:manage", true},
		{"AdminCannotManageOwners", user(RoleAdmin), "owners:manage", false},
		{"OwnerManagesOwners", user(RoleOwner), "owners:manage", true},
		{"ModeratorModeratesSocial", user(RoleModerator), "social:moderate", true},
		{"MemberCannotModerateSocial", user(RoleMember), "social:moderate", false},
		{"ModeratorCannotManageSocial", user(RoleModerator), "social:manage", false},
		{"AdminManagesSocial", user(RoleAdmin), "social:manage", true},
		{"OwnerInheritsAll", user(RoleOwner), "members:read", true},
		{"UnknownRole", user("superhero"), "members:read", false},
		{"EmptyRole", user(""), Self, false},
		{"UnknownPermission", user(RoleOwner), "nukes:launch", false},
		{"Malformed", user(RoleOwner), "members", false},
		{"PlatformAdmin", engine.Principal{Kind: engine.PrincipalPlatform, Role: RolePlatformAdmin}, "owners:manage", true},
		{"KeyInScope", engine.Principal{Kind: engine.PrincipalAPIKey, TenantID: tenant, Scopes: []string{"events:write"}}, "events:write", true},
		{"KeyOutOfScope", engine.Principal{Kind: engine.PrincipalAPIKey, TenantID: tenant, Scopes: []string{"events:write"}}, "members:read", false},
		{"KeyNeverSelf", engine.Principal{Kind: engine.PrincipalAPIKey, TenantID: tenant, Scopes: []string{Self}}, Self, false},
		{"NoKind", engine.Principal{Role: RoleOwner}, "members:read", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Twice: the memoized answer must be the same.
			for range 2 {
				if got := a.Can(tt.p, tt.permission); got != tt.want {
					t.Errorf("Can(%s, %s) = %v, want %v", tt.p.Role, tt.permission, got, tt.want)
				}
			}
		})
	}
	if !slices.Contains(a.ScopePermissions(), "events:write") || slices.Contains(a.ScopePermissions(), Self) {
		t.Errorf("ScopePermissions() = %v", a.ScopePermissions())
	}
	if Rank(RoleOwner) <= Rank(RoleAdmin) || Rank(RoleMember) != 1 || Rank("x") != 0 {
		t.Errorf("Rank is not ordered")
	}
}

func BenchmarkCan(b *testing.B) {
	a, err := New()
	if err != nil {
		b.Fatal(err)
	}
	p := engine.Principal{Kind: engine.PrincipalUser, TenantID: uuid.Must(uuid.NewV7()), Role: RoleAdmin}
	for b.Loop() {
		if !a.Can(p, "members:read") {
			b.Fatal("denied")
		}
	}
}
