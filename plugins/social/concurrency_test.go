package social_test

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/guildhall/guildhall/engine/db"
	"github.com/guildhall/guildhall/engine/db/dbtest"
	"github.com/guildhall/guildhall/engine/rules"
	"github.com/guildhall/guildhall/plugins/social"
)

// TestConcurrentLikes has many members like and unlike one post at once:
// the like count equals the likes, the author's balance equals what the
// award entries left, and caps hold.
func TestConcurrentLikes(t *testing.T) {
	t.Parallel()
	b := setup(t, 201)
	// A daily cap on likes received: the author earns at most 100 a day.
	cap := int64(100)
	if _, err := b.rules.PutRule(b.as(b.user(t, "admin@example.com", "Admin", "admin"), "admin"),
		rules.Rule{EventType: social.EventLikeReceived, Coins: 2, Enabled: true, CapDay: &cap}); err != nil {
		t.Fatal(err)
	}
	p := b.post(t, b.m(0), "Popular")
	author := b.members[0]

	// 200 members like at once.
	errs := concurrently(200, func(i int) error { _, err := b.svc.Like(b.m(i+1), p.ID); return err })
	if err := firstErr(errs); err != nil {
		t.Fatal(err)
	}
	// 50 of them toggle like/unlike at once, several times, ending unliked.
	errs = concurrently(50, func(i int) error {
		for range 3 {
			if _, err := b.svc.Unlike(b.m(i+1), p.ID); err != nil {
				return err
			}
			if _, err := b.svc.Like(b.m(i+1), p.ID); err != nil {
				return err
			}
		}
		_, err := b.svc.Unlike(b.m(i+1), p.ID)
		return err
	})
	if err := firstErr(errs); err != nil {
		t.Fatal(err)
	}
	var rows, count, likesReceived int
	b.sql(t, `SELECT (SELECT count(*) FROM social_likes WHERE post_id = $1), (SELECT like_count FROM social_posts WHERE id = $1),
	(SELECT likes_received FROM social_profiles WHERE member_id = $2)`, []any{p.ID, author}, &rows, &count, &likesReceived)
	if rows != 150 || count != 150 || likesReceived != 150 {
		t.Errorf("likes = %d rows, like_count %d, likes_received %d; want 150 each", rows, count, likesReceived)
	}
	// Coins: 10 for the post; 2 per first like up to the cap of 100; the
	// 50 withdrawn likes took back what they had earned.
	var granted, kept int64
	b.sql(t, `SELECT coalesce(sum(granted), 0), coalesce(sum(granted) FILTER (WHERE reversed_at IS NULL), 0) FROM coin_events
	WHERE member_id = $1 AND type = 'like.received'`, []any{author}, &granted, &kept)
	if granted != cap {
		t.Errorf("like.received granted %d, want the cap %d", granted, cap)
	}
	var events int
	b.sql(t, `SELECT count(*) FROM coin_events WHERE member_id = $1 AND type = 'like.received'`, []any{author}, &events)
	if events != 200 {
		t.Errorf("%d like.received events, want 200 (one per first like; toggling sends none)", events)
	}
	var sumEntries int64
	b.sql(t, `SELECT coalesce(sum(amount), 0) FROM coin_entries WHERE account_id = $1`, []any{author}, &sumEntries)
	if bal := b.balance(t, author); bal != sumEntries || bal != 10+kept {
		t.Errorf("balance %d, entries %d, want both %d", bal, sumEntries, 10+kept)
	}
	b.verify(t)
}

// TestIsolation proves two social tenants do not see each other: through
// the service (404) and through raw SQL as the application role.
func TestIsolation(t *testing.T) {
	t.Parallel()
	a := setup(t, 2)
	bb := setup(t, 2)
	pa := a.post(t, a.m(0), "Tenant A's post")
	ca, err := a.svc.CreateComment(a.m(1), social.CommentParams{Post: pa.ID, Text: "A's comment"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.svc.Like(a.m(1), pa.ID); err != nil {
		t.Fatal(err)
	}
	if err := a.svc.Follow(a.m(1), a.members[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := a.svc.Report(a.m(1), social.ReportParams{Kind: "post", Target: pa.ID, Reason: "test"}); err != nil {
		t.Fatal(err)
	}
	// B, through its own plugin service over the same database.
	bctx := bb.m(0)
	for name, err := range map[string]error{
		"Post": func() error { _, err := bb.svc.Post(bctx, pa.ID); return err }(),
		"Like": func() error { _, err := bb.svc.Like(bctx, pa.ID); return err }(),
		"Comment": func() error {
			_, err := bb.svc.CreateComment(bctx, social.CommentParams{Post: pa.ID, Text: "x"})
			return err
		}(),
		"Reply": func() error {
			_, err := bb.svc.CreateComment(bctx, social.CommentParams{Post: pa.ID, Parent: &ca.ID, Text: "x"})
			return err
		}(),
		"Comments": func() error { _, err := bb.svc.Comments(bctx, social.CommentsParams{Post: pa.ID}); return err }(),
		"Report": func() error {
			_, err := bb.svc.Report(bctx, social.ReportParams{Kind: "post", Target: pa.ID, Reason: "x"})
			return err
		}(),
		"Follow":  bb.svc.Follow(bctx, a.members[0]),
		"Profile": func() error { _, err := bb.svc.Profile(bctx, a.members[0].String()); return err }(),
		"Delete":  bb.svc.DeletePost(bctx, pa.ID),
	} {
		if code(err) != "not_found" {
			t.Errorf("B %s on A's content = %v, want not_found", name, err)
		}
	}
	page, err := bb.svc.Feed(bctx, social.FeedParams{})
	if err != nil || len(page.Posts) != 0 {
		t.Errorf("B's feed = %d posts, %v", len(page.Posts), err)
	}
	// Raw SQL as the application role with tenant B set: none of A's rows.
	for _, table := range []string{"social_settings", "social_profiles", "social_posts", "social_images", "social_likes",
		"social_first_likes", "social_comments", "social_follows", "social_reports", "social_moderation_actions", "social_badges"} {
		var n int
		err := db.New(dbtest.Pool(t)).InTenant(bb.ctx, func(tx pgx.Tx) error {
			return tx.QueryRow(bb.ctx, `SELECT count(*) FROM `+table+` WHERE tenant_id = $1`, a.tenant).Scan(&n)
		})
		if err != nil || n != 0 {
			t.Errorf("B sees %d of A's rows in %s (%v)", n, table, err)
		}
	}
	var n int
	a.sql(t, `SELECT (SELECT count(*) FROM social_posts) + (SELECT count(*) FROM social_comments) + (SELECT count(*) FROM social_likes)`, nil, &n)
	if n != 3 {
		t.Errorf("A's rows = %d, want its post, comment and like", n)
	}
}

// TestFeedPlans checks that the feed queries read indexes that lead with
// tenant_id, and never scan posts or likes sequentially, on a tenant with
// 20,000 posts, 1,050 members and 40,000 likes.
func TestFeedPlans(t *testing.T) {
	t.Parallel()
	b := setup(t, 50)
	err := b.db.InTenant(b.ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(b.ctx, `
INSERT INTO social_profiles (tenant_id, member_id, handle)
SELECT tenant_id, id, 'm' || substr(md5(id::text), 1, 12) FROM users ON CONFLICT DO NOTHING;
INSERT INTO social_posts (tenant_id, id, author_id, text, created_at)
SELECT current_tenant_id(), gen_random_uuid(), (SELECT id FROM users ORDER BY id OFFSET (n % 50) LIMIT 1), 'post ' || n,
	now() - make_interval(secs => n)
FROM generate_series(1, 20000) n;
INSERT INTO social_follows (tenant_id, follower_id, followee_id)
SELECT current_tenant_id(), a.id, f.id FROM users a, users f WHERE a.id <> f.id AND random() < 0.2 ON CONFLICT DO NOTHING;
WITH u AS (INSERT INTO users (tenant_id, id, email, display_name)
	SELECT current_tenant_id(), gen_random_uuid(), 'liker' || n || '@example.com', 'Liker ' || n FROM generate_series(1, 1000) n
	RETURNING tenant_id, id), m AS (INSERT INTO memberships (tenant_id, user_id) SELECT tenant_id, id FROM u)
INSERT INTO social_profiles (tenant_id, member_id, handle) SELECT tenant_id, id, 'l' || substr(md5(id::text), 1, 12) FROM u;
INSERT INTO social_likes (tenant_id, post_id, member_id)
SELECT current_tenant_id(), p.id, pr.member_id
FROM (SELECT id, row_number() OVER (ORDER BY created_at DESC) AS rn FROM social_posts) p
JOIN (SELECT member_id, row_number() OVER (ORDER BY member_id) - 1 AS rn FROM social_profiles) pr
	ON pr.rn IN ((p.rn * 7) % 1050, (p.rn * 13 + 5) % 1050)
ON CONFLICT DO NOTHING;
`)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	// Statistics as autovacuum would gather them (ANALYZE needs the owner):
	// the plans below are the ones a tenant of this size gets.
	if _, err := dbtest.OwnerPool(t).Exec(b.ctx, `ANALYZE users, memberships, social_posts, social_follows, social_profiles, social_likes`); err != nil {
		t.Fatal(err)
	}
	viewer := b.members[0]
	for name, f := range map[string]social.FeedFilterForTest{
		"Community": {Viewer: viewer},
		"Following": {Viewer: viewer, Following: true},
		"Profile":   {Viewer: viewer, Author: &b.members[1]},
		"DeepPage":  {Viewer: viewer, AfterDeep: true},
	} {
		sql, args := social.FeedSQLForTest(f)
		// The custom plan is what the first executions of a prepared
		// statement get; the generic one (not knowing the viewer) what the
		// server caches after five, for as long as the connection lives.
		for _, generic := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/generic=%v", name, generic), func(t *testing.T) {
				var plan []byte
				err := b.db.InTenant(b.ctx, func(tx pgx.Tx) error {
					// As the service plans a page (feedPage).
					if _, err := tx.Exec(b.ctx, `SET LOCAL enable_memoize = off`); err != nil {
						return err
					}
					if generic {
						var err error
						plan, err = explainGeneric(b.ctx, tx, sql, args)
						return err
					}
					return tx.QueryRow(b.ctx, `EXPLAIN (FORMAT JSON) `+sql, args).Scan(&plan)
				})
				if err != nil {
					t.Fatal(err)
				}
				checkFeedPlan(t, b, plan)
			})
		}
	}
}

// explainGeneric returns the generic plan of sql: its named arguments
// become a prepared statement's parameters, planned with
// plan_cache_mode = force_generic_plan.
func explainGeneric(ctx context.Context, tx pgx.Tx, sql string, args pgx.NamedArgs) ([]byte, error) {
	var types, values []string
	var bad error
	pos := map[string]int{}
	q := regexp.MustCompile(`@\w+`).ReplaceAllStringFunc(sql, func(m string) string {
		name := m[1:]
		if _, ok := pos[name]; !ok {
			switch v := args[name].(type) {
			case uuid.UUID:
				types, values = append(types, "uuid"), append(values, "'"+v.String()+"'")
			case time.Time:
				types, values = append(types, "timestamptz"), append(values, "'"+v.Format(time.RFC3339Nano)+"'")
			default:
				bad = fmt.Errorf("argument %s is a %T", name, v)
			}
			pos[name] = len(types)
		}
		return "$" + strconv.Itoa(pos[name])
	})
	if bad != nil {
		return nil, bad
	}
	name := "feed_plan_" + strings.ReplaceAll(uuid.NewString(), "-", "")
	if _, err := tx.Exec(ctx, `SET LOCAL plan_cache_mode = force_generic_plan`); err != nil {
		return nil, err
	}
	if _, err := tx.Exec(ctx, `PREPARE `+name+`(`+strings.Join(types, ", ")+`) AS `+q); err != nil {
		return nil, err
	}
	var plan []byte
	err := tx.QueryRow(ctx, `EXPLAIN (FORMAT JSON) EXECUTE `+name+`(`+strings.Join(values, ", ")+`)`).Scan(&plan)
	if _, derr := tx.Exec(ctx, `DEALLOCATE `+name); err == nil {
		err = derr
	}
	return plan, err
}

// checkFeedPlan fails t when a feed plan scans posts or likes sequentially,
// reads an index that does not lead with tenant_id, or reads posts through
// an index other than the feed's.
func checkFeedPlan(t *testing.T, b *testBundle, plan []byte) {
	t.Helper()
	var nodes []map[string]any
	var root []map[string]any
	if err := json.Unmarshal(plan, &root); err != nil {
		t.Fatal(err)
	}
	var walk func(n map[string]any)
	walk = func(n map[string]any) {
		nodes = append(nodes, n)
		kids, _ := n["Plans"].([]any)
		for _, k := range kids {
			walk(k.(map[string]any))
		}
	}
	walk(root[0]["Plan"].(map[string]any))
	usedPosts := false
	for _, n := range nodes {
		typ, _ := n["Node Type"].(string)
		rel, _ := n["Relation Name"].(string)
		if typ == "Seq Scan" && (rel == "social_posts" || rel == "social_likes") {
			t.Errorf("sequential scan of %s:\n%s", rel, plan)
		}
		if typ != "Index Scan" && typ != "Index Only Scan" {
			continue
		}
		idx, _ := n["Index Name"].(string)
		// Likes are probed by post, or read as one member's range of the
		// member index; anything else reads every like of the tenant.
		if cond, _ := n["Index Cond"].(string); rel == "social_likes" && !strings.Contains(cond, "post_id =") &&
			(idx != "social_likes_member_idx" || !strings.Contains(cond, "member_id =")) {
			t.Errorf("likes read through %s without a post or a member's range (%s): every like of the tenant", idx, cond)
		}
		var first string
		b.sql(t, `SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
		WHERE i.indexrelid = $1::regclass`, []any{idx}, &first)
		if first != "tenant_id" {
			t.Errorf("index %s leads with %s, not tenant_id", idx, first)
		}
		if rel == "social_posts" {
			usedPosts = true
			if !slices.Contains([]string{"social_posts_feed_idx", "social_posts_author_idx", "social_posts_pkey"}, idx) {
				t.Errorf("posts read through %s", idx)
			}
		}
	}
	if !usedPosts {
		t.Errorf("no index scan of social_posts:\n%s", plan)
	}
}
