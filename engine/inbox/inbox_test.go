package inbox_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/db"
	"github.com/guildhall/guildhall/engine/db/dbtest"
	"github.com/guildhall/guildhall/engine/identity"
	"github.com/guildhall/guildhall/engine/identity/identitytest"
	"github.com/guildhall/guildhall/engine/inbox"
	"github.com/guildhall/guildhall/engine/notify"
)

type testBundle struct {
	ctx     context.Context
	tenant  uuid.UUID
	db      *db.DB
	inbox   *inbox.Service
	ids     identitytest.Bundle
	outbox  *notify.Outbox
	clock   *identitytest.Clock
	members []uuid.UUID
	emails  []string
}

// setup makes a committed tenant with n members and the inbox service.
func setup(t testing.TB, n int) testBundle {
	t.Helper()
	ctx, tenant := dbtest.NewTenant(t)
	d := db.New(dbtest.Pool(t))
	b := testBundle{ctx: ctx, tenant: tenant, db: d, ids: identitytest.New(t, d, identity.Config{}), outbox: &notify.Outbox{}}
	b.clock = b.ids.Clock
	b.inbox = inbox.NewService(d, inbox.Config{
		Mailer: b.outbox, Now: b.clock.Now,
		WebURL:     func(context.Context) string { return "https://makers.example" },
		TenantName: func(context.Context) string { return "Makers" },
	})
	for i := range n {
		email := fmt.Sprintf("m%d@example.com", i)
		b.members = append(b.members, b.member(t, email))
		b.emails = append(b.emails, email)
	}
	return b
}

func (b testBundle) member(t testing.TB, email string) uuid.UUID {
	t.Helper()
	u, _, err := b.ids.Service.SeedUser(b.ctx, identity.SeedUserParams{
		Email: email, DisplayName: "Member " + email[:2], Password: "correct horse battery", Role: "member",
	})
	if err != nil {
		t.Fatal(err)
	}
	return u.ID
}

// as returns the tenant's ctx signed in as member.
func (b testBundle) as(member uuid.UUID) context.Context {
	return engine.WithPrincipal(b.ctx, engine.Principal{Kind: engine.PrincipalUser, TenantID: b.tenant, UserID: member,
		Role: "member", Name: "user:" + member.String()})
}

// add commits one notification and returns it.
func (b testBundle) add(t testing.TB, p inbox.AddParams) inbox.Notification {
	t.Helper()
	if p.Kind == "" {
		p.Kind = "like"
	}
	if p.Text == "" {
		p.Text = "Ada liked your post"
	}
	var n inbox.Notification
	err := b.db.InTenant(b.ctx, func(tx pgx.Tx) error {
		var err error
		n, _, err = b.inbox.AddTx(b.ctx, tx, p)
		return err
	})
	if err != nil {
		t.Fatalf("AddTx() = %v", err)
	}
	return n
}

func seqs(ns []inbox.Notification) []int64 {
	out := make([]int64, len(ns))
	for i, n := range ns {
		out[i] = n.Seq
	}
	return out
}

func fieldsOf(err error) []string {
	var out []string
	for _, f := range engine.ErrorFields(err) {
		out = append(out, f.Field)
	}
	return out
}

func TestService_AddTx(t *testing.T) {
	t.Parallel()
	b := setup(t, 2)
	me, actor := b.members[0], b.members[1]

	t.Run("Stored", func(t *testing.T) {
		n := b.add(t, inbox.AddParams{Member: me, Kind: "coins", Actor: &actor, Subject: "post:1", Link: "/posts/1",
			Text: "  You earned 10 coins  ", Data: map[string]any{"coins": 10, "balance": 110}})
		page, err := b.inbox.List(b.as(me), inbox.ListParams{})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Notifications) != 1 {
			t.Fatalf("List() = %d notifications, want 1", len(page.Notifications))
		}
		if diff := cmp.Diff(n, page.Notifications[0]); diff != "" {
			t.Errorf("AddTx() and List() differ (-added +listed):\n%s", diff)
		}
		if n.Seq != 1 || n.Text != "You earned 10 coins" || n.Data["coins"] != float64(10) || n.ReadAt != nil {
			t.Errorf("AddTx() = %+v", n)
		}
	})

	t.Run("Invalid", func(t *testing.T) {
		tests := []struct {
			name string
			p    inbox.AddParams
			want []string
		}{
			{"NoMember", inbox.AddParams{Kind: "like", Text: "x"}, []string{"member_id"}},
			{"BadKind", inbox.AddParams{Member: me, Kind: "Like!", Text: "x"}, []string{"kind"}},
			{"EmptyKind", inbox.AddParams{Member: me, Text: "x"}, []string{"kind"}},
			{"DottedKindTooDeep", inbox.AddParams{Member: me, Kind: "a.b.c.d.e", Text: "x"}, []string{"kind"}},
			{"EmptyText", inbox.AddParams{Member: me, Kind: "like", Text: "   "}, []string{"text"}},
			{"LongText", inbox.AddParams{Member: me, Kind: "like", Text: strings.Repeat("é", 501)}, []string{"text"}},
			{"ControlText", inbox.AddParams{Member: me, Kind: "like", Text: "line\nbreak"}, []string{"text"}},
			{"InvalidUTF8", inbox.AddParams{Member: me, Kind: "like", Text: "\xff"}, []string{"text"}},
			{"AbsoluteLink", inbox.AddParams{Member: me, Kind: "like", Text: "x", Link: "https://evil.example/"}, []string{"link"}},
			{"ProtocolRelativeLink", inbox.AddParams{Member: me, Kind: "like", Text: "x", Link: "//evil.example/"}, []string{"link"}},
			{"BackslashLink", inbox.AddParams{Member: me, Kind: "like", Text: "x", Link: `/\evil.example`}, []string{"link"}},
			{"RelativeLink", inbox.AddParams{Member: me, Kind: "like", Text: "x", Link: "posts/1"}, []string{"link"}},
			{"JavascriptLink", inbox.AddParams{Member: me, Kind: "like", Text: "x", Link: "javascript:alert(1)"}, []string{"link"}},
			{"SpaceInLink", inbox.AddParams{Member: me, Kind: "like", Text: "x", Link: "/a b"}, []string{"link"}},
			{"NilActor", inbox.AddParams{Member: me, Kind: "like", Text: "x", Actor: &uuid.UUID{}}, []string{"actor_id"}},
			{"BigData", inbox.AddParams{Member: me, Kind: "like", Text: "x", Data: map[string]any{"x": strings.Repeat("a", 5000)}}, []string{"data"}},
			{"UnencodableData", inbox.AddParams{Member: me, Kind: "like", Text: "x", Data: map[string]any{"x": make(chan int)}}, []string{"data"}},
			{"Everything", inbox.AddParams{Kind: "?", Link: "x"}, []string{"member_id", "kind", "text", "link"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				err := b.db.InTenant(b.ctx, func(tx pgx.Tx) error {
					_, _, err := b.inbox.AddTx(b.ctx, tx, tt.p)
					return err
				})
				if engine.ErrorCode(err) != engine.CodeInvalid {
					t.Fatalf("AddTx() = %v, want invalid", err)
				}
				if got := fieldsOf(err); !slices.Equal(got, tt.want) {
					t.Errorf("AddTx() fields = %v, want %v", got, tt.want)
				}
			})
		}
	})

	t.Run("UnknownMember", func(t *testing.T) {
		err := b.db.InTenant(b.ctx, func(tx pgx.Tx) error {
			_, _, err := b.inbox.AddTx(b.ctx, tx, inbox.AddParams{Member: uuid.Must(uuid.NewV7()), Kind: "like", Text: "x"})
			return err
		})
		if !slices.Equal(fieldsOf(err), []string{"member_id"}) {
			t.Errorf("AddTx() = %v, want ErrUnknownMember", err)
		}
	})

	t.Run("UnknownActor", func(t *testing.T) {
		stranger := uuid.Must(uuid.NewV7())
		err := b.db.InTenant(b.ctx, func(tx pgx.Tx) error {
			_, _, err := b.inbox.AddTx(b.ctx, tx, inbox.AddParams{Member: actor, Actor: &stranger, Kind: "like", Text: "x"})
			return err
		})
		if got := fieldsOf(err); !slices.Equal(got, []string{"actor_id"}) {
			t.Errorf("AddTx() = %v, want invalid actor_id", err)
		}
	})

	t.Run("RolledBack", func(t *testing.T) {
		other := b.member(t, "rollback@example.com")
		boom := errors.New("the like failed")
		err := b.db.InTenant(b.ctx, func(tx pgx.Tx) error {
			if _, _, err := b.inbox.AddTx(b.ctx, tx, inbox.AddParams{Member: other, Kind: "like", Text: "Rolled back"}); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("InTenant() = %v", err)
		}
		n, err := b.inbox.UnreadCount(b.as(other))
		if err != nil || n != 0 {
			t.Errorf("UnreadCount() = %d, %v; want 0 after a rollback", n, err)
		}
		// The rolled-back seq is not burnt: the next one is 1.
		if got := b.add(t, inbox.AddParams{Member: other}); got.Seq != 1 {
			t.Errorf("seq after a rollback = %d, want 1", got.Seq)
		}
	})
}

func TestService_Dedupe(t *testing.T) {
	t.Parallel()
	b := setup(t, 1)
	me := b.members[0]
	add := func(key string) (inbox.Notification, bool) {
		var n inbox.Notification
		var added bool
		err := b.db.InTenant(b.ctx, func(tx pgx.Tx) error {
			var err error
			n, added, err = b.inbox.AddTx(b.ctx, tx, inbox.AddParams{Member: me, Kind: "like", Text: "Ada liked your post", DedupeKey: key})
			return err
		})
		if err != nil {
			t.Fatalf("AddTx(%q) = %v", key, err)
		}
		return n, added
	}
	if n, added := add("like:post:1:ada"); !added || n.Seq != 1 {
		t.Fatalf("first AddTx() = %d, %v; want seq 1, added", n.Seq, added)
	}
	if n, added := add("like:post:1:ada"); added || n.Seq != 0 {
		t.Errorf("second AddTx() = %+v, %v; want nothing added", n, added)
	}
	// The duplicate burnt no seq; another key and no key are added.
	if n, added := add("like:post:2:ada"); !added || n.Seq != 2 {
		t.Errorf("AddTx(other key) = %d, %v; want seq 2", n.Seq, added)
	}
	if n, added := add(""); !added || n.Seq != 3 {
		t.Errorf("AddTx(no key) = %d, %v; want seq 3", n.Seq, added)
	}
	if n, added := add(""); !added || n.Seq != 4 {
		t.Errorf("AddTx(no key again) = %d, %v; want seq 4", n.Seq, added)
	}
	// Concurrent duplicates: exactly one is added.
	var wg sync.WaitGroup
	var mu sync.Mutex
	addedN := 0
	for range 8 {
		wg.Go(func() {
			if _, added := add("like:post:3:ada"); added {
				mu.Lock()
				addedN++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if addedN != 1 {
		t.Errorf("%d concurrent AddTx with one key added, want 1", addedN)
	}
}

// TestService_SeqCommitOrder adds notifications for one member from many
// goroutines and checks that seqs are 1..N without gaps, and that the
// commits (as NOTIFY delivers them, in commit order) come in seq order.
func TestService_SeqCommitOrder(t *testing.T) {
	t.Parallel()
	b := setup(t, 1)
	me := b.members[0]
	conn, err := pgx.ConnectConfig(t.Context(), dbtest.Pool(t).Config().ConnConfig)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.WithoutCancel(t.Context()))
	if _, err := conn.Exec(t.Context(), "LISTEN inbox"); err != nil {
		t.Fatal(err)
	}

	const workers, each = 16, 10
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				err := b.db.InTenant(b.ctx, func(tx pgx.Tx) error {
					_, _, err := b.inbox.AddTx(b.ctx, tx, inbox.AddParams{Member: me, Kind: "comment", Text: fmt.Sprintf("w%d i%d", w, i)})
					if err != nil {
						return err
					}
					// Hold the lock a little, so transactions queue on it.
					_, err = tx.Exec(b.ctx, "SELECT pg_sleep(0.001)")
					return err
				})
				if err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("AddTx() = %v", err)
	}

	const n = workers * each
	page, err := b.inbox.Since(b.as(me), 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	more, err := b.inbox.Since(b.as(me), 100, 100)
	if err != nil {
		t.Fatal(err)
	}
	got := seqs(append(page, more...))
	want := make([]int64, n)
	for i := range want {
		want[i] = int64(i + 1)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("stored seqs (-want +got):\n%s", diff)
	}

	// The commit order, as NOTIFY delivers it.
	var delivered []int64
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	for len(delivered) < n {
		msg, err := conn.WaitForNotification(ctx)
		if err != nil {
			t.Fatalf("after %d notifications: %v", len(delivered), err)
		}
		if !strings.Contains(msg.Payload, b.tenant.String()) {
			continue // another test's tenant
		}
		// "n <tenant> <member> <seq> …" (see payload.go)
		f := strings.SplitN(msg.Payload, " ", 5)
		if len(f) < 4 || f[0] != "n" {
			t.Fatalf("payload %q announces no notification", msg.Payload)
		}
		seq, err := strconv.ParseInt(f[3], 10, 64)
		if err != nil {
			t.Fatalf("payload %q announces no seq", msg.Payload)
		}
		delivered = append(delivered, seq)
	}
	if diff := cmp.Diff(want, delivered); diff != "" {
		t.Errorf("seqs in commit order (-want +got):\n%s", diff)
	}
}

func TestService_ListAndRead(t *testing.T) {
	t.Parallel()
	b := setup(t, 2)
	me, other := b.members[0], b.members[1]
	var all []inbox.Notification
	for i := range 7 {
		all = append(all, b.add(t, inbox.AddParams{Member: me, Text: fmt.Sprintf("n%d", i+1)}))
	}
	b.add(t, inbox.AddParams{Member: other, Text: "not mine"})
	ctx := b.as(me)

	// Pages, newest first.
	var got []int64
	cur := ""
	for pages := 0; ; pages++ {
		page, err := b.inbox.List(ctx, inbox.ListParams{Cursor: cur, Limit: 3})
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, seqs(page.Notifications)...)
		if page.Next == "" {
			if pages != 2 {
				t.Errorf("%d pages, want 3", pages+1)
			}
			break
		}
		cur = page.Next
	}
	if diff := cmp.Diff([]int64{7, 6, 5, 4, 3, 2, 1}, got); diff != "" {
		t.Errorf("List() pages (-want +got):\n%s", diff)
	}

	if n, err := b.inbox.UnreadCount(ctx); err != nil || n != 7 {
		t.Errorf("UnreadCount() = %d, %v; want 7", n, err)
	}
	res, err := b.inbox.MarkRead(ctx, []uuid.UUID{all[0].ID, all[6].ID, uuid.Must(uuid.NewV7())})
	if err != nil || res != (inbox.ReadResult{Marked: 2, Unread: 5}) {
		t.Errorf("MarkRead() = %+v, %v; want 2 marked, 5 unread", res, err)
	}
	res, err = b.inbox.MarkRead(ctx, []uuid.UUID{all[0].ID})
	if err != nil || res != (inbox.ReadResult{Marked: 0, Unread: 5}) {
		t.Errorf("MarkRead() again = %+v, %v; want nothing marked", res, err)
	}
	page, err := b.inbox.List(ctx, inbox.ListParams{Unread: true})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]int64{6, 5, 4, 3, 2}, seqs(page.Notifications)); diff != "" {
		t.Errorf("List(unread) (-want +got):\n%s", diff)
	}
	page, _ = b.inbox.List(ctx, inbox.ListParams{Limit: 1})
	if n := page.Notifications[0]; n.ReadAt == nil || !n.ReadAt.Equal(b.clock.Now().UTC().Truncate(time.Microsecond)) {
		t.Errorf("read_at = %v, want the clock's %v", n.ReadAt, b.clock.Now())
	}

	res, err = b.inbox.MarkAllRead(ctx, 4)
	if err != nil || res != (inbox.ReadResult{Marked: 3, Unread: 2}) {
		t.Errorf("MarkAllRead(4) = %+v, %v; want 3 marked, 2 unread", res, err)
	}
	since, err := b.inbox.Since(ctx, 5, 0)
	if err != nil || !slices.Equal(seqs(since), []int64{6, 7}) {
		t.Errorf("Since(5) = %v, %v; want 6, 7", seqs(since), err)
	}

	// Bad input.
	for _, tt := range []struct {
		name  string
		err   error
		field string
	}{
		{"BadCursor", second(b.inbox.List(ctx, inbox.ListParams{Cursor: "nope"})), "cursor"},
		{"NegativeCursor", second(b.inbox.List(ctx, inbox.ListParams{Cursor: "eyJzIjotMX0"})), "cursor"},
		{"BigLimit", second(b.inbox.List(ctx, inbox.ListParams{Limit: 101})), "limit"},
		{"NoIDs", second(b.inbox.MarkRead(ctx, nil)), "ids"},
		{"TooManyIDs", second(b.inbox.MarkRead(ctx, make([]uuid.UUID, 101))), "ids"},
		{"ZeroUpTo", second(b.inbox.MarkAllRead(ctx, 0)), "up_to_seq"},
		{"NegativeSince", second(b.inbox.Since(ctx, -1, 10)), "after"},
	} {
		if got := fieldsOf(tt.err); !slices.Equal(got, []string{tt.field}) {
			t.Errorf("%s: error %v, want invalid %s", tt.name, tt.err, tt.field)
		}
	}

	// Signed out, or an API key: no member.
	key := engine.WithPrincipal(b.ctx, engine.Principal{Kind: engine.PrincipalAPIKey, TenantID: b.tenant, APIKeyID: uuid.Must(uuid.NewV7())})
	for _, c := range []context.Context{b.ctx, key} {
		if _, err := b.inbox.List(c, inbox.ListParams{}); engine.ErrorCode(err) != engine.CodeUnauthenticated {
			t.Errorf("List() without a member = %v, want unauthenticated", err)
		}
	}
}

func second[T any](_ T, err error) error { return err }

// TestService_Isolation: another tenant's member with the same user ID
// cannot read or mark a tenant's notifications.
func TestService_Isolation(t *testing.T) {
	t.Parallel()
	a := setup(t, 1)
	b := setup(t, 0)
	n := a.add(t, inbox.AddParams{Member: a.members[0], Text: "for A only"})
	// B's context, claiming A's member ID.
	intruder := b.as(a.members[0])
	page, err := a.inbox.List(intruder, inbox.ListParams{})
	if err != nil || len(page.Notifications) != 0 {
		t.Errorf("B's List() = %d notifications, %v; want none", len(page.Notifications), err)
	}
	res, err := a.inbox.MarkRead(intruder, []uuid.UUID{n.ID})
	if err != nil || res.Marked != 0 {
		t.Errorf("B's MarkRead() = %+v, %v; want nothing marked", res, err)
	}
	if _, err := a.inbox.MarkAllRead(intruder, 100); err != nil {
		t.Fatal(err)
	}
	if c, err := a.inbox.UnreadCount(a.as(a.members[0])); err != nil || c != 1 {
		t.Errorf("A's unread after B's attempts = %d, %v; want 1", c, err)
	}
	// B cannot notify A's member either: not a user of B.
	err = b.db.InTenant(b.ctx, func(tx pgx.Tx) error {
		_, _, err := b.inbox.AddTx(b.ctx, tx, inbox.AddParams{Member: a.members[0], Kind: "like", Text: "x"})
		return err
	})
	if !slices.Equal(fieldsOf(err), []string{"member_id"}) {
		t.Errorf("B's AddTx() for A's member = %v, want invalid member_id", err)
	}
	// Raw SQL with no filter, in B's transaction, sees nothing of A.
	err = b.db.InTenant(b.ctx, func(tx pgx.Tx) error {
		var c int
		if err := tx.QueryRow(b.ctx, `SELECT count(*) FROM notifications WHERE id = $1`, n.ID).Scan(&c); err != nil {
			return err
		}
		if c != 0 {
			t.Errorf("B sees %d of A's notifications", c)
		}
		tag, err := tx.Exec(b.ctx, `UPDATE notifications SET read_at = now()`)
		if tag.RowsAffected() != 0 {
			t.Errorf("B's unfiltered UPDATE touched %d rows", tag.RowsAffected())
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestService_Settings(t *testing.T) {
	t.Parallel()
	b := setup(t, 1)
	ctx := b.as(b.members[0])
	if s, err := b.inbox.Settings(ctx); err != nil || !s.Digest {
		t.Errorf("Settings() = %+v, %v; want digests on by default", s, err)
	}
	if _, err := b.inbox.SetSettings(ctx, inbox.Preferences{Digest: false}); err != nil {
		t.Fatal(err)
	}
	if s, err := b.inbox.Settings(ctx); err != nil || s.Digest {
		t.Errorf("Settings() = %+v, %v; want digests off", s, err)
	}
	// Settings survive notifications (the same row numbers them).
	b.add(t, inbox.AddParams{Member: b.members[0]})
	if s, _ := b.inbox.Settings(ctx); s.Digest {
		t.Errorf("Settings() after a notification = %+v, want digests still off", s)
	}
}

func TestService_DeleteOlder(t *testing.T) {
	t.Parallel()
	b := setup(t, 1)
	me := b.members[0]
	b.add(t, inbox.AddParams{Member: me, Text: "old"})
	b.add(t, inbox.AddParams{Member: me, Text: "old too"})
	b.clock.Advance(48 * time.Hour)
	b.add(t, inbox.AddParams{Member: me, Text: "new"})
	n, err := b.inbox.DeleteOlder(b.ctx, b.clock.Now().Add(-24*time.Hour))
	if err != nil || n != 2 {
		t.Errorf("DeleteOlder() = %d, %v; want 2", n, err)
	}
	page, err := b.inbox.List(b.as(me), inbox.ListParams{})
	if err != nil || len(page.Notifications) != 1 || page.Notifications[0].Text != "new" {
		t.Errorf("List() after DeleteOlder = %+v, %v", page.Notifications, err)
	}
	// Seqs go on: they are never reused.
	if got := b.add(t, inbox.AddParams{Member: me}); got.Seq != 4 {
		t.Errorf("seq after retention = %d, want 4", got.Seq)
	}
}

func TestService_SendDigests(t *testing.T) {
	t.Parallel()
	b := setup(t, 4)
	ada, bob, cy, dee := b.members[0], b.members[1], b.members[2], b.members[3]
	for i := range 12 {
		b.add(t, inbox.AddParams{Member: ada, Text: fmt.Sprintf("<b>Item</b> %d", i+1), Link: fmt.Sprintf("/posts/%d", i+1)})
	}
	b.add(t, inbox.AddParams{Member: bob, Text: "Bob's only news"})
	b.add(t, inbox.AddParams{Member: cy, Text: "Cy opted out"})
	if _, err := b.inbox.SetSettings(b.as(cy), inbox.Preferences{Digest: false}); err != nil {
		t.Fatal(err)
	}
	// Dee read everything: nothing to tell.
	b.add(t, inbox.AddParams{Member: dee, Text: "read already"})
	if _, err := b.inbox.MarkAllRead(b.as(dee), 1); err != nil {
		t.Fatal(err)
	}
	day := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)

	sent, err := b.inbox.SendDigests(b.ctx, day)
	if err != nil || sent != 2 {
		t.Fatalf("SendDigests() = %d, %v; want 2", sent, err)
	}
	m, ok := b.outbox.LastEmailTo(b.emails[0])
	if !ok {
		t.Fatal("no digest to ada")
	}
	if m.Subject != "You have 12 new notifications in Makers" || m.FromName != "Makers" {
		t.Errorf("subject %q from %q", m.Subject, m.FromName)
	}
	for _, want := range []string{"- <b>Item</b> 12\n  https://makers.example/posts/12", "… and 2 more.", "https://makers.example/notifications"} {
		if !strings.Contains(m.Text, want) {
			t.Errorf("digest text lacks %q:\n%s", want, m.Text)
		}
	}
	if strings.Contains(m.Text, "Item</b> 2\n") {
		t.Errorf("digest lists more than ten items:\n%s", m.Text)
	}
	if !strings.Contains(m.HTML, `<a href="https://makers.example/posts/12">&lt;b&gt;Item&lt;/b&gt; 12</a>`) || strings.Contains(m.HTML, "<b>Item") {
		t.Errorf("digest HTML does not escape the text:\n%s", m.HTML)
	}
	if m, _ := b.outbox.LastEmailTo(b.emails[1]); m.Subject != "You have a new notification in Makers" {
		t.Errorf("bob's subject = %q", m.Subject)
	}
	for _, e := range b.emails[2:] {
		if _, ok := b.outbox.LastEmailTo(e); ok {
			t.Errorf("digest sent to %s", e)
		}
	}

	// The same day again: nothing, even with news.
	b.add(t, inbox.AddParams{Member: bob, Text: "later that day"})
	if sent, err := b.inbox.SendDigests(b.ctx, day); err != nil || sent != 0 {
		t.Errorf("SendDigests() again = %d, %v; want 0", sent, err)
	}
	// The next day: only what came since the last digest.
	b.clock.Advance(time.Minute)
	if sent, err := b.inbox.SendDigests(b.ctx, day.AddDate(0, 0, 1)); err != nil || sent != 1 {
		t.Fatalf("SendDigests(next day) = %d, %v; want 1 (bob)", sent, err)
	}
	if m, _ := b.outbox.LastEmailTo(b.emails[1]); !strings.Contains(m.Text, "later that day") || strings.Contains(m.Text, "only news") {
		t.Errorf("bob's second digest:\n%s", m.Text)
	}

	// A failed send is retried by the next run of the same day.
	b.add(t, inbox.AddParams{Member: bob, Text: "third day news"})
	b.clock.Advance(time.Minute)
	b.outbox.FailWith(errors.New("smtp down"))
	if sent, err := b.inbox.SendDigests(b.ctx, day.AddDate(0, 0, 2)); err == nil || sent != 0 {
		t.Errorf("SendDigests() with a failing mailer = %d, %v; want an error", sent, err)
	}
	b.outbox.FailWith(nil)
	if sent, err := b.inbox.SendDigests(b.ctx, day.AddDate(0, 0, 2)); err != nil || sent != 1 {
		t.Errorf("SendDigests() retried = %d, %v; want 1", sent, err)
	}
	if m, _ := b.outbox.LastEmailTo(b.emails[1]); !strings.Contains(m.Text, "third day news") {
		t.Errorf("bob's third digest:\n%s", m.Text)
	}

	// Without a mailer digests cannot be sent; nothing else needs one.
	bare := inbox.NewService(b.db, inbox.Config{})
	if _, err := bare.SendDigests(b.ctx, day); err == nil {
		t.Error("SendDigests() without a mailer succeeded")
	}
}

func TestService_SendDigestsConcurrently(t *testing.T) {
	t.Parallel()
	b := setup(t, 3)
	for _, m := range b.members {
		b.add(t, inbox.AddParams{Member: m})
	}
	day := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if _, err := b.inbox.SendDigests(b.ctx, day); err != nil {
				t.Errorf("SendDigests() = %v", err)
			}
		})
	}
	wg.Wait()
	if n := len(b.outbox.Emails()); n != 3 {
		t.Errorf("%d digests sent by 4 concurrent runs, want 3", n)
	}
}
