package identity_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/google/uuid"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/audit"
	"github.com/guildhall/guildhall/engine/db"
	"github.com/guildhall/guildhall/engine/db/dbtest"
	"github.com/guildhall/guildhall/engine/identity"
	"github.com/guildhall/guildhall/engine/identity/identitytest"
	"github.com/guildhall/guildhall/engine/notify"
)

type testBundle struct {
	identitytest.Bundle
	svc    *identity.Service
	outbox *notify.Outbox
	clock  *identitytest.Clock
	ctx    context.Context
	tenant uuid.UUID
}

func setup(t testing.TB) testBundle {
	t.Helper()
	ctx, tenant := dbtest.NewTenant(t)
	b := identitytest.New(t, db.New(dbtest.Pool(t)), identity.Config{})
	return testBundle{Bundle: b, svc: b.Service, outbox: b.Outbox, clock: b.Clock, ctx: ctx, tenant: tenant}
}

// lastCode returns the six-digit code in the last email to to.
func (b testBundle) lastCode(t testing.TB, to string) string {
	t.Helper()
	return b.LastCode(t, to)
}

var apiClient = identity.Client{Kind: identity.KindAPI}

// signUp creates a verified user and returns their first sign-in.
func (b testBundle) signUp(t testing.TB, email string) identity.SignIn {
	t.Helper()
	if err := b.svc.SignUp(b.ctx, identity.SignUpParams{Email: email, Password: "correct horse battery", DisplayName: "Test " + email}); err != nil {
		t.Fatalf("SignUp(%s) = %v", email, err)
	}
	si, err := b.svc.VerifyEmail(b.ctx, email, b.lastCode(t, email), apiClient)
	if err != nil {
		t.Fatalf("VerifyEmail(%s) = %v", email, err)
	}
	return si
}

// as returns ctx authenticated with an access token.
func (b testBundle) as(t *testing.T, si identity.SignIn) context.Context {
	t.Helper()
	p, err := b.svc.AuthenticateBearer(b.ctx, si.Tokens.AccessToken)
	if err != nil {
		t.Fatalf("AuthenticateBearer() = %v", err)
	}
	return engine.WithPrincipal(b.ctx, p)
}

// actions returns the audit actions recorded in the tenant, oldest first.
func (b testBundle) actions(t *testing.T) []string {
	t.Helper()
	page, err := audit.NewService(db.New(dbtest.Pool(t))).List(b.ctx, audit.ListParams{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for i := len(page.Events) - 1; i >= 0; i-- {
		out = append(out, page.Events[i].Action)
	}
	return out
}

var discard = slog.New(slog.DiscardHandler)
