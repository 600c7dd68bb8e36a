package social_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/api"
	"github.com/guildhall/guildhall/engine/audit"
	"github.com/guildhall/guildhall/engine/blob"
	"github.com/guildhall/guildhall/engine/db"
	"github.com/guildhall/guildhall/engine/db/dbtest"
	"github.com/guildhall/guildhall/engine/identity"
	"github.com/guildhall/guildhall/engine/identity/identitytest"
	"github.com/guildhall/guildhall/engine/inbox"
	"github.com/guildhall/guildhall/engine/ledger"
	"github.com/guildhall/guildhall/engine/plugin"
	"github.com/guildhall/guildhall/engine/rules"
	"github.com/guildhall/guildhall/plugins/social"
)

type testBundle struct {
	ctx     context.Context // the tenant, no principal
	tenant  uuid.UUID
	db      *db.DB
	plugin  *social.Plugin
	svc     *social.Service
	rules   *rules.Service
	ledger  *ledger.Service
	inbox   *inbox.Service
	audit   *audit.Service
	blobs   *blob.Disk
	ids     identitytest.Bundle
	clock   *identitytest.Clock
	members []uuid.UUID
}

// setup makes a committed social tenant with n members and the real
// services: rules, ledger, inbox (the Notifier), a disk blob store.
func setup(t testing.TB, n int) *testBundle {
	t.Helper()
	ctx, tenant := dbtest.NewTenant(t)
	d := db.New(dbtest.Pool(t))
	b := &testBundle{ctx: ctx, tenant: tenant, db: d, ledger: ledger.NewService(d, nil), audit: audit.NewService(d),
		ids: identitytest.New(t, d, identity.Config{})}
	b.clock = b.ids.Clock
	manifest := social.New(social.Deps{}).Manifest()
	b.rules = rules.NewService(d, func(context.Context) []plugin.EventType { return manifest.EventTypes }, nil)
	b.inbox = inbox.NewService(d, inbox.Config{Now: b.clock.Now})
	var err error
	b.blobs, err = blob.NewDisk(blob.DiskConfig{Dir: t.TempDir(), Secret: []byte("0123456789abcdef0123456789abcdef"),
		BaseURL: "https://test.example/files/", Now: b.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	b.plugin = social.New(social.Deps{DB: d, Rules: b.rules, Notifier: b.inbox, Purger: b.inbox, Blobs: b.blobs, Now: b.clock.Now})
	b.svc = b.plugin.Service()
	for i := range n {
		b.members = append(b.members, b.user(t, fmt.Sprintf("member%d@example.com", i), fmt.Sprintf("Member %d", i), "member"))
	}
	return b
}

// user seeds a user with a role.
func (b *testBundle) user(t testing.TB, email, name, role string) uuid.UUID {
	t.Helper()
	u, _, err := b.ids.Service.SeedUser(b.ctx, identity.SeedUserParams{Email: email, DisplayName: name, Password: "correct horse battery", Role: role})
	if err != nil {
		t.Fatal(err)
	}
	return u.ID
}

// as returns the tenant's context acting as a user with role.
func (b *testBundle) as(id uuid.UUID, role string) context.Context {
	return engine.WithPrincipal(b.ctx, engine.Principal{Kind: engine.PrincipalUser, TenantID: b.tenant, UserID: id, Role: role,
		Name: "user:" + id.String()})
}

// m acts as member i.
func (b *testBundle) m(i int) context.Context { return b.as(b.members[i], "member") }

func (b *testBundle) post(t testing.TB, ctx context.Context, text string) social.Post {
	t.Helper()
	p, err := b.svc.CreatePost(ctx, social.PostParams{Text: text})
	if err != nil {
		t.Fatalf("CreatePost(%q) = %v", text, err)
	}
	return p
}

func (b *testBundle) balance(t testing.TB, member uuid.UUID) int64 {
	t.Helper()
	w, err := b.ledger.Wallet(b.ctx, member)
	if err != nil {
		t.Fatal(err)
	}
	return w.Balance
}

func (b *testBundle) verify(t testing.TB) {
	t.Helper()
	r, err := b.ledger.Verify(b.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !r.OK() {
		t.Errorf("ledger verify: %+v", r)
	}
}

// notes returns the kinds of a member's notifications, oldest first.
func (b *testBundle) notes(t testing.TB, member uuid.UUID) []string {
	t.Helper()
	page, err := b.inbox.List(b.as(member, "member"), inbox.ListParams{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, n := range page.Notifications {
		out = append(out, n.Kind)
	}
	slices.Reverse(out)
	return out
}

func (b *testBundle) auditActions(t testing.TB, prefix string) []string {
	t.Helper()
	page, err := b.audit.List(b.ctx, audit.ListParams{Action: prefix, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range page.Events {
		out = append(out, e.Action)
	}
	slices.Sort(out)
	return out
}

// sql runs a query in the tenant and scans one row.
func (b *testBundle) sql(t testing.TB, query string, args []any, dest ...any) {
	t.Helper()
	err := b.db.InTenant(b.ctx, func(tx pgx.Tx) error { return tx.QueryRow(b.ctx, query, args...).Scan(dest...) })
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

func code(err error) engine.Code { return engine.ErrorCode(err) }

func fields(err error) []string {
	var out []string
	for _, f := range engine.ErrorFields(err) {
		out = append(out, f.Field)
	}
	slices.Sort(out)
	return out
}

// concurrently runs fn(i) for i in [0, n) at once and returns the errors.
func concurrently(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = fn(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

func firstErr(errs []error) error { return errors.Join(errs...) }

func TestSmoke(t *testing.T) {
	t.Parallel()
	b := setup(t, 2)
	p := b.post(t, b.m(0), "Hello @member_1 see https://example.com/a?b=1.")
	if p.Author.Handle != "member_0" {
		t.Errorf("author handle = %q", p.Author.Handle)
	}
	page, err := b.svc.Feed(b.m(1), social.FeedParams{})
	if err != nil || len(page.Posts) != 1 {
		t.Fatalf("Feed() = %+v, %v", page, err)
	}
}

func TestSchemaNamesArePrefixed(t *testing.T) {
	t.Parallel()
	if got := api.SchemaName(reflect.TypeFor[social.Settings](), ""); got != "SocialSettings" {
		t.Errorf("SchemaName(social.Settings) = %q, want SocialSettings", got)
	}
}
