package social_test

import (
	"encoding/json"
	"slices"
	"testing"

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
// tenant_id, and never scan posts sequentially, on a tenant with 20,000
// posts.
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
ANALYZE social_posts; ANALYZE social_follows; ANALYZE social_profiles;`)
		return err
	})
	if err != nil {
		// ANALYZE needs ownership: without it the statistics come from
		// autovacuum; the inserts are what matters.
		t.Logf("seed: %v", err)
	}
	viewer := b.members[0]
	for name, f := range map[string]social.FeedFilterForTest{
		"Community": {Viewer: viewer},
		"Following": {Viewer: viewer, Following: true},
		"Profile":   {Viewer: viewer, Author: &b.members[1]},
		"DeepPage":  {Viewer: viewer, AfterDeep: true},
	} {
		t.Run(name, func(t *testing.T) {
			sql, args := social.FeedSQLForTest(f)
			var plan []byte
			err := b.db.InTenant(b.ctx, func(tx pgx.Tx) error {
				return tx.QueryRow(b.ctx, `EXPLAIN (FORMAT JSON) `+sql, args).Scan(&plan)
			})
			if err != nil {
				t.Fatal(err)
			}
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
				if typ == "Seq Scan" && rel == "social_posts" {
					t.Errorf("sequential scan of social_posts:\n%s", plan)
				}
				if typ != "Index Scan" && typ != "Index Only Scan" {
					continue
				}
				idx, _ := n["Index Name"].(string)
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
		})
	}
}
