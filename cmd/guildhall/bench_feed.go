package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/guildhall/guildhall/engine/audit"
	"github.com/guildhall/guildhall/engine/db"
	"github.com/guildhall/guildhall/engine/identity"
	"github.com/guildhall/guildhall/tenants"
)

// benchFeedSeed fills the bench tenant (set as app.tenant_id), as the
// owner, in bulk: members with profiles, posts by a skewed set of authors
// over the last year, likes skewed toward recent posts and popular
// members, follows (each member follows about follows/members others,
// popular members more often), and the counters the service keeps.
// Named arguments: members, posts, likes, follows.
var benchFeedSeed = []string{
	`INSERT INTO users (tenant_id, id, email, display_name, email_verified_at)
	SELECT current_tenant_id(), ('00000000-0000-7000-8000-' || lpad(n::text, 12, '0'))::uuid, 'bench' || n || '@example.com', 'Bench member ' || n, now()
	FROM generate_series(1, @members::integer) n`,
	`INSERT INTO memberships (tenant_id, user_id) SELECT tenant_id, id FROM users`,
	`INSERT INTO social_profiles (tenant_id, member_id, handle) SELECT tenant_id, id, 'bench' || substr(email, 6, strpos(email, '@') - 6) FROM users`,
	// Authors: the square of a uniform number favours low member numbers.
	// IDs are UUIDv7 of the post's time, as the service makes them.
	`INSERT INTO social_posts (tenant_id, id, author_id, text, created_at)
	SELECT current_tenant_id(),
		(lpad(to_hex(floor(extract(epoch FROM t) * 1000)::bigint), 12, '0') || '7' || substr(h, 1, 3) || '8' || substr(h, 4, 15))::uuid,
		('00000000-0000-7000-8000-' || lpad((1 + floor((@members::integer - 1) * random() ^ 2))::integer::text, 12, '0'))::uuid,
		'Post ' || n || ': a day out with friends, coffee and a long walk by the river. #bench @bench' || (1 + n % @members::integer),
		t
	FROM (SELECT n, now() - make_interval(secs => n * (31536000.0 / @posts::integer)) AS t, md5(random()::text) AS h
		FROM generate_series(1, @posts::integer) n) s`,
	`CREATE TEMP TABLE bench_posts AS SELECT row_number() OVER (ORDER BY created_at DESC) AS n, id FROM social_posts`,
	`CREATE INDEX ON bench_posts (n)`,
	`INSERT INTO social_likes (tenant_id, post_id, member_id)
	SELECT current_tenant_id(), p.id, x.member
	FROM (SELECT 1 + floor((@posts::integer - 1) * random() ^ 3)::bigint AS pn,
			('00000000-0000-7000-8000-' || lpad((1 + floor((@members::integer - 1) * random()))::integer::text, 12, '0'))::uuid AS member
		FROM generate_series(1, @likes::integer) n OFFSET 0) x
	JOIN bench_posts p ON p.n = x.pn
	ON CONFLICT DO NOTHING`,
	`INSERT INTO social_follows (tenant_id, follower_id, followee_id)
	SELECT current_tenant_id(), f, e FROM (
		SELECT ('00000000-0000-7000-8000-' || lpad((1 + n % @members::integer)::text, 12, '0'))::uuid AS f,
			('00000000-0000-7000-8000-' || lpad((1 + floor((@members::integer - 1) * random() ^ 2))::integer::text, 12, '0'))::uuid AS e
		FROM generate_series(1, @follows::integer) n) x
	WHERE f <> e ON CONFLICT DO NOTHING`,
	`UPDATE social_posts p SET like_count = l.n FROM (SELECT post_id, count(*) AS n FROM social_likes GROUP BY post_id) l
	WHERE p.tenant_id = current_tenant_id() AND p.id = l.post_id`,
	`UPDATE social_profiles pr SET post_count = x.posts, likes_received = x.likes
	FROM (SELECT author_id, count(*) AS posts, sum(like_count) AS likes FROM social_posts GROUP BY author_id) x
	WHERE pr.tenant_id = current_tenant_id() AND pr.member_id = x.author_id`,
	`UPDATE social_profiles pr SET following_count = x.n FROM (SELECT follower_id, count(*) AS n FROM social_follows GROUP BY follower_id) x
	WHERE pr.tenant_id = current_tenant_id() AND pr.member_id = x.follower_id`,
	`UPDATE social_profiles pr SET follower_count = x.n FROM (SELECT followee_id, count(*) AS n FROM social_follows GROUP BY followee_id) x
	WHERE pr.tenant_id = current_tenant_id() AND pr.member_id = x.followee_id`,
}

func runBenchFeed(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "bench feed", "bench feed [flags]\n\nMeasures GET /api/v1/feed over HTTP on a fresh database seeded with a large social tenant:\n"+
		"an open loop at a fixed rate from a pool of concurrent clients, each request signed with the access token of one of many\n"+
		"members, for the community feed, the following feed and a page deep in the community feed. DATABASE_URL must be a superuser.")
	load := configFlags(fs, e.getenv, "database-url")
	members := fs.Int("members", 100_000, "members")
	posts := fs.Int("posts", 1_000_000, "posts")
	likes := fs.Int("likes", 3_000_000, "likes to attempt (duplicates are skipped)")
	follows := fs.Int("follows", 2_000_000, "follows to attempt (duplicates and self-follows are skipped)")
	viewers := fs.Int("viewers", 200, "members who sign in and send the requests")
	rate := fs.Int("rate", 500, "requests per second")
	clients := fs.Int("clients", 32, "concurrent clients")
	duration := fs.Duration("duration", 20*time.Second, "length of each measurement")
	depth := fs.Int("depth", 10_000, "how many posts deep the deep page starts")
	keep := fs.Bool("keep", false, "keep the bench database")
	cfg, err := parseConfig(fs, args, load)
	if err != nil {
		return err
	}
	if *members < 10 || *posts < 1 || *likes < 0 || *follows < 0 || *viewers < 1 || *viewers > *members || *rate < 1 ||
		*clients < 1 || *duration < time.Second || *depth < 0 {
		return usagef("bench feed: flags out of range")
	}
	out := e.stdout
	log := slog.New(slog.NewTextHandler(io.Discard, nil))

	bd, err := newBenchDatabase(ctx, cfg.DatabaseURL, *keep)
	if err != nil {
		return err
	}
	defer bd.Close()
	name, owner, pool := bd.Name, bd.Owner, bd.App
	a, err := newApp(benchConfig(), log, pool)
	if err != nil {
		return err
	}
	sctx := audit.WithActor(ctx, audit.Actor{Name: "bench"})
	tn, err := a.tenants.Create(sctx, tenants.CreateParams{Slug: "bench", Name: "Bench", Kind: "social", TimeZone: "UTC", Currency: "EUR"})
	if err != nil {
		return err
	}
	tctx := tenants.WithContext(sctx, tn, "")

	fmt.Fprintf(out, "seeding %s: %d members, %d posts, %d likes and %d follows attempted ...\n", name, *members, *posts, *likes, *follows)
	start := time.Now()
	err = pgx.BeginFunc(ctx, owner, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT set_config('app.tenant_id', $1, true)`, tn.ID.String()); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO tenant_limits (tenant_id, user_per_second, api_key_per_second, ip_per_second,
	sign_in_per_minute, codes_per_hour) VALUES (current_tenant_id(), 100000, 100000, 100000, 1000, 5)`); err != nil {
			return err
		}
		for _, q := range benchFeedSeed {
			t0 := time.Now()
			args := pgx.NamedArgs{"members": *members, "posts": *posts, "likes": *likes, "follows": *follows}
			if _, err := tx.Exec(ctx, q, args); err != nil {
				return fmt.Errorf("seed: %w: %s", err, strings.Fields(q)[0]+" "+strings.Fields(q)[2])
			}
			fmt.Fprintf(out, "  %-60.60s %6.1fs\n", strings.Join(strings.Fields(q), " "), time.Since(t0).Seconds())
		}
		return nil
	})
	if err != nil {
		return err
	}
	if _, err := owner.Exec(ctx, `VACUUM ANALYZE`); err != nil {
		return err
	}
	if err := bd.Checkpoint(ctx); err != nil {
		return err
	}
	var nLikes, nFollows int
	if err := pgx.BeginFunc(ctx, owner, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT set_config('app.tenant_id', $1, true)`, tn.ID.String()); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT (SELECT count(*) FROM social_likes), (SELECT count(*) FROM social_follows)`).Scan(&nLikes, &nFollows)
	}); err != nil {
		return err
	}
	fmt.Fprintf(out, "seeded in %.0fs: %d likes, %d follows\n", time.Since(start).Seconds(), nLikes, nFollows)

	// Viewers sign in for real (one argon2id hash shared by all of them).
	hash := identity.HashPassword("bench password 1", identity.DefaultArgon2)
	if err := db.New(pool).InTenant(tctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(tctx, `UPDATE users SET password_hash = $1 WHERE id <= $2`, hash, benchMember(*viewers))
		return err
	}); err != nil {
		return err
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srvCtx, stopSrv := context.WithCancel(ctx)
	srvDone := make(chan error, 1)
	go func() { srvDone <- a.serve(srvCtx, ln) }()
	defer func() { stopSrv(); <-srvDone }()
	base := "http://" + ln.Addr().String() + "/t/bench/api/v1"
	fl := &feedLoad{base: base, client: &http.Client{Timeout: 30 * time.Second,
		Transport: &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256}}}
	for i := 1; i <= *viewers; i++ {
		tok, err := fl.signIn(ctx, fmt.Sprintf("bench%d@example.com", i), "bench password 1")
		if err != nil {
			return err
		}
		fl.tokens = append(fl.tokens, tok)
	}
	deep, err := fl.cursorAt(ctx, *depth)
	if err != nil {
		return err
	}
	scenarios := []struct{ name, path string }{
		{"community, first page", "/feed?scope=community"},
		{"following, first page", "/feed?scope=following"},
		{fmt.Sprintf("community, %d posts deep", *depth), "/feed?scope=community&cursor=" + url.QueryEscape(deep)},
	}
	// Warm up, unmeasured: every viewer asks for every page twice, so the
	// pages the measurement reads are in memory (a freshly seeded database
	// is mostly on disk; a live one keeps its working set in memory), then
	// a short open loop warms connections and the identity cache.
	t0 := time.Now()
	for range 2 {
		for _, sc := range scenarios {
			if err := fl.each(ctx, sc.path, *clients); err != nil {
				return err
			}
		}
	}
	fl.open(ctx, "/feed", *rate, *clients, 2*time.Second)
	fmt.Fprintf(out, "warmed up in %.0fs: each page twice per viewer, then 2s of the community feed\n", time.Since(t0).Seconds())

	fmt.Fprintf(out, "\nopen loop, %d requests/s from %d clients for %v each, tokens of %d members:\n", *rate, *clients, *duration, *viewers)
	fmt.Fprintf(out, "  %-34s %9s %9s %9s %9s %8s %7s\n", "page", "achieved", "p50", "p95", "p99", "max", "errors")
	for _, sc := range scenarios {
		r := fl.open(ctx, sc.path, *rate, *clients, *duration)
		fmt.Fprintf(out, "  %-34s %7.0f/s %9v %9v %9v %8v %7d\n", sc.name, r.achieved,
			percentile(r.latencies, 0.50).Round(10*time.Microsecond), percentile(r.latencies, 0.95).Round(10*time.Microsecond),
			percentile(r.latencies, 0.99).Round(10*time.Microsecond), percentile(r.latencies, 1).Round(10*time.Microsecond), r.errors)
	}
	fmt.Fprintf(out, "\ntarget: p99 ≤ 15ms for a page of 20 at %d requests/s\n", *rate)
	return nil
}

// feedLoad sends feed requests with the viewers' tokens in turn.
type feedLoad struct {
	base   string
	client *http.Client
	tokens []string
	mu     sync.Mutex
	next   int
}

func (l *feedLoad) token() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.next = (l.next + 1) % len(l.tokens)
	return l.tokens[l.next]
}

func (l *feedLoad) signIn(ctx context.Context, email, password string) (string, error) {
	body, _ := json.Marshal(map[string]string{"email": email, "password": password})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, l.base+"/auth/sign-in", strings.NewReader(string(body)))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := l.client.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil || out.AccessToken == "" {
		return "", fmt.Errorf("sign in %s: status %d", email, res.StatusCode)
	}
	return out.AccessToken, nil
}

// get fetches path and decodes the body into v (when not nil).
func (l *feedLoad) get(ctx context.Context, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, l.base+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+l.token())
	res, err := l.client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(res.Body)
		return fmt.Errorf("GET %s: status %d: %s", path, res.StatusCode, b)
	}
	if v == nil {
		_, err = io.Copy(io.Discard, res.Body)
		return err
	}
	return json.NewDecoder(res.Body).Decode(v)
}

// cursorAt walks the community feed, 50 posts a page, to the cursor that
// starts depth posts deep.
func (l *feedLoad) cursorAt(ctx context.Context, depth int) (string, error) {
	cur := ""
	for n := 0; n < depth; n += 50 {
		var page struct {
			Next string `json:"next"`
		}
		if err := l.get(ctx, "/feed?limit=50&cursor="+url.QueryEscape(cur), &page); err != nil {
			return "", err
		}
		if page.Next == "" {
			break
		}
		cur = page.Next
	}
	return cur, nil
}

// each sends path once with every viewer's token, from clients workers.
func (l *feedLoad) each(ctx context.Context, path string, clients int) error {
	jobs := make(chan struct{}, len(l.tokens))
	for range l.tokens {
		jobs <- struct{}{}
	}
	close(jobs)
	errs := make(chan error, clients)
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			for range jobs {
				if err := l.get(ctx, path, nil); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	return <-errs
}

type feedResult struct {
	latencies []time.Duration
	errors    int
	achieved  float64
}

// open sends rate requests a second for d from clients workers, each
// measured from when it was due, so a stall counts against every request
// it delays.
func (l *feedLoad) open(ctx context.Context, path string, rate, clients int, d time.Duration) feedResult {
	total := int(d.Seconds() * float64(rate))
	interval := time.Second / time.Duration(rate)
	lat := make([]time.Duration, total)
	errs := make([]bool, total)
	jobs := make(chan int, total)
	for i := range total {
		jobs <- i
	}
	close(jobs)
	start := time.Now()
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			for i := range jobs {
				due := start.Add(time.Duration(i) * interval)
				if w := time.Until(due); w > 0 {
					time.Sleep(w)
				}
				err := l.get(ctx, path, nil)
				lat[i] = time.Since(due)
				errs[i] = err != nil
			}
		})
	}
	wg.Wait()
	r := feedResult{latencies: lat, achieved: float64(total) / time.Since(start).Seconds()}
	for _, e := range errs {
		if e {
			r.errors++
		}
	}
	return r
}
