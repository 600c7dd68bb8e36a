package identity_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/db"
	"github.com/guildhall/guildhall/engine/db/dbtest"
	"github.com/guildhall/guildhall/engine/identity"
)

func TestMembers_Roles(t *testing.T) {
	t.Parallel()
	b := setup(t)
	owner := b.signUp(t, "owner@example.com")
	admin := b.signUp(t, "admin@example.com")
	mod := b.signUp(t, "mod@example.com")
	member := b.signUp(t, "member@example.com")
	ownerCtx := b.as(t, owner)
	for _, c := range []struct {
		si   identity.SignIn
		role string
	}{{admin, "admin"}, {mod, "moderator"}} {
		if _, err := b.svc.ChangeRole(ownerCtx, c.si.User.ID, c.role); err != nil {
			t.Fatalf("ChangeRole(%s) = %v", c.role, err)
		}
	}
	adminCtx := b.as(t, admin)
	tests := []struct {
		name   string
		ctx    context.Context
		target identity.SignIn
		role   string
		want   engine.Code
	}{
		{"AdminPromotesMemberToModerator", adminCtx, member, "moderator", ""},
		{"AdminCannotMakeAdmins", adminCtx, member, "admin", engine.CodeForbidden},
		{"AdminCannotMakeOwners", adminCtx, member, "owner", engine.CodeForbidden},
		{"AdminCannotDemoteOwner", adminCtx, owner, "member", engine.CodeForbidden},
		{"ModeratorCannotChangeRoles", b.as(t, mod), member, "member", engine.CodeForbidden},
		{"LastOwnerCannotStepDown", ownerCtx, owner, "admin", engine.CodeConflict},
		{"UnknownRole", ownerCtx, member, "emperor", engine.CodeInvalid},
		{"OwnerMakesOwner", ownerCtx, admin, "owner", ""},
		{"NowTheFirstOwnerMayStepDown", ownerCtx, owner, "admin", ""},
	}
	for _, tt := range tests {
		_, err := b.svc.ChangeRole(tt.ctx, tt.target.User.ID, tt.role)
		if engine.ErrorCode(err) != tt.want {
			t.Errorf("%s: ChangeRole() = %v, want code %q", tt.name, err, tt.want)
		}
	}
	acts := strings.Join(b.actions(t), " ")
	if strings.Count(acts, "member.role_changed") != 5 {
		t.Errorf("role changes audited: %s", acts)
	}
}

func TestMembers_BanEndsAccess(t *testing.T) {
	t.Parallel()
	b := setup(t)
	owner := b.signUp(t, "owner@example.com")
	member := b.signUp(t, "member@example.com")
	if _, err := b.svc.AuthenticateBearer(b.ctx, member.Tokens.AccessToken); err != nil {
		t.Fatal(err)
	}
	ownerCtx := b.as(t, owner)
	if _, err := b.svc.Ban(ownerCtx, owner.User.ID, "self"); !errors.Is(err, identity.ErrForbidden) {
		t.Errorf("banning yourself = %v, want forbidden", err)
	}
	u, err := b.svc.Ban(ownerCtx, member.User.ID, "spam")
	if err != nil || !u.Banned || u.BanReason != "spam" {
		t.Fatalf("Ban() = %+v, %v", u, err)
	}
	// This service's cache only learns of the ban through notifications
	// (tested in TestCache_FollowsChanges); the refresh path reads the
	// database and must refuse at once.
	if _, err := b.svc.Refresh(b.ctx, member.Tokens.RefreshToken); !errors.Is(err, identity.ErrUnauthenticated) {
		t.Errorf("refresh of a banned member = %v, want unauthenticated", err)
	}
	if _, err := b.svc.SignInWithPassword(b.ctx, identity.SignInParams{Email: "member@example.com", Password: "correct horse battery", Client: apiClient}); !errors.Is(err, identity.ErrBanned) {
		t.Errorf("banned member's sign-in = %v, want ErrBanned", err)
	}
	if _, err := b.svc.Unban(ownerCtx, member.User.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := b.svc.SignInWithPassword(b.ctx, identity.SignInParams{Email: "member@example.com", Password: "correct horse battery", Client: apiClient}); err != nil {
		t.Errorf("sign-in after unban = %v", err)
	}
}

func TestCache_FollowsChanges(t *testing.T) {
	t.Parallel()
	b := setup(t)
	owner := b.signUp(t, "owner@example.com")
	member := b.signUp(t, "member@example.com")
	l := db.NewListener(dbtest.Pool(t), discard)
	b.svc.Cache().Subscribe(l)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = l.Run(ctx) }()
	<-l.Ready()

	p, err := b.svc.AuthenticateBearer(b.ctx, member.Tokens.AccessToken)
	if err != nil || p.Role != "member" {
		t.Fatalf("AuthenticateBearer() = %+v, %v", p, err)
	}
	if _, err := b.svc.ChangeRole(b.as(t, owner), member.User.ID, "moderator"); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Second, func() bool {
		p, err := b.svc.AuthenticateBearer(b.ctx, member.Tokens.AccessToken)
		return err == nil && p.Role == "moderator"
	}, "promotion not seen")
	if _, err := b.svc.Ban(b.as(t, owner), member.User.ID, ""); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Second, func() bool {
		_, err := b.svc.AuthenticateBearer(b.ctx, member.Tokens.AccessToken)
		return errors.Is(err, identity.ErrBanned) || errors.Is(err, identity.ErrUnauthenticated)
	}, "banned member's access token still works")
}

func TestInvitations(t *testing.T) {
	t.Parallel()
	b := setup(t)
	owner := b.signUp(t, "owner@example.com")
	inv, err := b.svc.Invite(b.as(t, owner), "New.Mod@Example.com", "moderator")
	if err != nil || inv.Email != "new.mod@example.com" || !strings.HasPrefix(inv.Link, "https://test.example/invitations/ghi_") {
		t.Fatalf("Invite() = %+v, %v", inv, err)
	}
	m, ok := b.outbox.LastEmailTo("new.mod@example.com")
	if !ok || !strings.Contains(m.Text, inv.Link) {
		t.Fatalf("invitation email = %+v", m)
	}
	token := inv.Link[strings.LastIndex(inv.Link, "/")+1:]
	other := b.signUp(t, "other@example.com")
	if _, err := b.svc.AcceptInvitation(b.as(t, other), token); !errors.Is(err, identity.ErrInvitation) {
		t.Errorf("someone else accepting = %v, want ErrInvitation", err)
	}
	invited := b.signUp(t, "new.mod@example.com")
	u, err := b.svc.AcceptInvitation(b.as(t, invited), token)
	if err != nil || u.Role != "moderator" {
		t.Fatalf("AcceptInvitation() = %+v, %v", u, err)
	}
	if _, err := b.svc.AcceptInvitation(b.as(t, invited), token); !errors.Is(err, identity.ErrInvitation) {
		t.Errorf("accepting twice = %v", err)
	}
	modCtx := b.as(t, invited)
	if _, err := b.svc.Invite(modCtx, "x@example.com", "moderator"); !errors.Is(err, identity.ErrForbidden) {
		t.Errorf("moderator inviting a moderator = %v, want forbidden", err)
	}
}

func TestListMembers(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.signUp(t, "owner@example.com")
	for _, e := range []string{"anna@example.com", "andy@example.com", "zed@example.com"} {
		b.signUp(t, e)
	}
	page, err := b.svc.ListMembers(b.ctx, identity.ListMembersParams{Limit: 2})
	if err != nil || len(page.Members) != 2 || page.Next == "" {
		t.Fatalf("ListMembers(first page) = %+v, %v", page, err)
	}
	rest, err := b.svc.ListMembers(b.ctx, identity.ListMembersParams{Limit: 10, Cursor: page.Next})
	if err != nil || len(rest.Members) != 2 || rest.Next != "" {
		t.Errorf("ListMembers(second page) = %+v, %v", rest, err)
	}
	q, _ := b.svc.ListMembers(b.ctx, identity.ListMembersParams{Query: "an"})
	if len(q.Members) != 2 {
		t.Errorf("ListMembers(q=an) = %d members, want anna and andy", len(q.Members))
	}
	owners, _ := b.svc.ListMembers(b.ctx, identity.ListMembersParams{Role: "owner"})
	if len(owners.Members) != 1 || owners.Members[0].Email != "owner@example.com" {
		t.Errorf("ListMembers(role=owner) = %+v", owners.Members)
	}
	if _, err := b.svc.ListMembers(b.ctx, identity.ListMembersParams{Cursor: "bogus", Limit: 500}); engine.ErrorCode(err) != engine.CodeInvalid || len(engine.ErrorFields(err)) != 2 {
		t.Errorf("ListMembers(bad) = %v", err)
	}
}

func TestAPIKeys(t *testing.T) {
	t.Parallel()
	b := setup(t)
	owner := b.signUp(t, "owner@example.com")
	ctx := b.as(t, owner)
	if _, err := b.svc.CreateAPIKey(ctx, identity.CreateAPIKeyParams{Name: "", Scopes: []string{"self:use", "nukes:launch"}}); len(engine.ErrorFields(err)) != 3 {
		t.Errorf("CreateAPIKey(bad) = %v, want name and two scope problems", err)
	}
	k, err := b.svc.CreateAPIKey(ctx, identity.CreateAPIKeyParams{Name: "shop", Scopes: []string{"events:write"}})
	if err != nil || !strings.HasPrefix(k.Token, "ghk_"+k.Prefix+"_") {
		t.Fatalf("CreateAPIKey() = %+v, %v", k, err)
	}
	p, err := b.svc.AuthenticateBearer(b.ctx, k.Token)
	if err != nil || p.Kind != engine.PrincipalAPIKey || p.Scopes[0] != "events:write" || p.Name != "api_key:"+k.Prefix {
		t.Fatalf("AuthenticateBearer(key) = %+v, %v", p, err)
	}
	otherCtx, _ := dbtest.NewTenant(t)
	if _, err := b.svc.AuthenticateBearer(otherCtx, k.Token); !errors.Is(err, identity.ErrUnauthenticated) {
		t.Errorf("key on another tenant = %v", err)
	}
	wrongSecret := k.Token[:len(k.Token)-4] + "AAAA"
	if _, err := b.svc.AuthenticateBearer(b.ctx, wrongSecret); !errors.Is(err, identity.ErrUnauthenticated) {
		t.Errorf("key with a wrong secret = %v", err)
	}
	expiring := time.Now().Add(time.Hour)
	k2, err := b.svc.CreateAPIKey(ctx, identity.CreateAPIKeyParams{Name: "temp", Scopes: []string{"wallets:read"}, ExpiresAt: &expiring})
	if err != nil {
		t.Fatal(err)
	}
	b.clock.Advance(2 * time.Hour)
	if _, err := b.svc.AuthenticateBearer(b.ctx, k2.Token); !errors.Is(err, identity.ErrUnauthenticated) {
		t.Errorf("expired key = %v", err)
	}
	keys, err := b.svc.ListAPIKeys(ctx)
	if err != nil || len(keys) != 2 || keys[0].Name != "temp" {
		t.Errorf("ListAPIKeys() = %+v, %v", keys, err)
	}
	if _, err := b.svc.RevokeAPIKey(ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	acts := strings.Join(b.actions(t), " ")
	if !strings.Contains(acts, "api_key.created") || !strings.Contains(acts, "api_key.revoked") {
		t.Errorf("audit: %s", acts)
	}
}

func eventually(t *testing.T, d time.Duration, cond func() bool, msg string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s after %v", msg, d)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
