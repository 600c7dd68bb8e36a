package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/audit"
	"github.com/guildhall/guildhall/engine/db"
	"github.com/guildhall/guildhall/engine/identity"
	"github.com/guildhall/guildhall/tenants"
)

func runBench(ctx context.Context, e env, args []string) error {
	return subcommand(ctx, e, "bench", args, map[string]func(context.Context, env, []string) error{
		"awards": runBenchAwards,
		"feed":   runBenchFeed,
		"live":   runBenchLive,
	})
}

// benchFunction is the one-call reference, created in the bench database
// only: the tenant setting and one coin_award call in a single SQL call,
// with time-ordered ids and keys, as the server's award path sends them in
// one round trip.
const benchFunction = `
CREATE FUNCTION bench_v7() RETURNS uuid LANGUAGE sql VOLATILE
RETURN (lpad(to_hex(floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint), 12, '0')
	|| substr(replace(gen_random_uuid()::text, '-', ''), 13))::uuid;
CREATE FUNCTION bench_award(p_tenant uuid, p_member integer) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
	g bigint;
BEGIN
	PERFORM set_config('app.tenant_id', p_tenant::text, true);
	SELECT a.granted INTO g FROM coin_award(bench_v7(), bench_v7(), 'bench:events', bench_v7()::text, '\x00'::bytea,
		'post.created', ('00000000-0000-7000-8000-' || lpad(p_member::text, 12, '0'))::uuid, NULL, '', '{}'::jsonb, now(),
		'bench', NULL, 10, '') a;
	RETURN g;
END
$$;
GRANT EXECUTE ON FUNCTION bench_v7, bench_award TO guildhall_app;`

// benchScript runs the reference once per pgbench transaction.
const benchScript = `\set m random(1, :members)
SELECT bench_award(:tenant, :m);
`

// benchMember is the ID of bench member n (1-based), so the pgbench script
// can name members without a lookup.
func benchMember(n int) uuid.UUID {
	return uuid.MustParse(fmt.Sprintf("00000000-0000-7000-8000-%012d", n))
}

func runBenchAwards(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "bench awards", "bench awards [flags]\n\nMeasures awards through the HTTP API against the one-call reference (pgbench running the\naward function directly), in one run, on a fresh database: throughput at saturation for each\nclient count, and p99 latency at a fixed rate (open loop). DATABASE_URL must be a superuser.")
	load := configFlags(fs, e.getenv, "database-url")
	members := fs.Int("members", 1000, "members awards are spread over")
	duration := fs.Duration("duration", 10*time.Second, "length of each measurement (reference and API each)")
	rounds := fs.Int("rounds", 5, "alternating slices each measurement is split into, reference then API, so that what changes on the machine over time touches both alike")
	clientsFlag := fs.String("clients", "16,64", "client counts for the saturation runs")
	rate := fs.Int("rate", 1000, "awards per second of the open-loop run")
	keep := fs.Bool("keep", false, "keep the bench database")
	cfg, err := parseConfig(fs, args, load)
	if err != nil {
		return err
	}
	var clients []int
	for _, f := range strings.Split(*clientsFlag, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 1024 {
			return usagef("bench awards: invalid --clients %q", *clientsFlag)
		}
		clients = append(clients, n)
	}
	if *members < 1 || *members > 1_000_000 || *rate < 1 || *rounds < 1 || *duration < time.Duration(*rounds)*time.Second {
		return usagef("bench awards: --members, --rate and --rounds must be positive, and --duration at least a second per round")
	}
	// pgbench runs whole seconds.
	slice := time.Duration(int(duration.Seconds())/(*rounds)) * time.Second
	pgbench, err := exec.LookPath("pgbench")
	if err != nil {
		return fmt.Errorf("pgbench is not installed (it comes with PostgreSQL's client programs)")
	}
	out := e.stdout
	log := slog.New(slog.NewTextHandler(io.Discard, nil))

	// A fresh database, migrated, with one tenant, its members and an API key.
	bd, err := newBenchDatabase(ctx, cfg.DatabaseURL, *keep)
	if err != nil {
		return err
	}
	defer bd.Close()
	name, pool := bd.Name, bd.App
	if _, err := bd.Owner.Exec(ctx, benchFunction); err != nil {
		return err
	}
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
	fmt.Fprintf(out, "setting up %d members in %s ...\n", *members, name)
	err = db.New(pool).InTenant(tctx, func(tx pgx.Tx) error {
		// Caps and rate limits must not get in the way: a member can earn
		// all day, the bench's one key and IP can send as fast as they can.
		if _, err := tx.Exec(tctx, `INSERT INTO coin_settings (tenant_id, member_daily_cap) VALUES (current_tenant_id(), 1000000000)`); err != nil {
			return err
		}
		if _, err := tx.Exec(tctx, `INSERT INTO tenant_limits (tenant_id, user_per_second, api_key_per_second, ip_per_second,
	sign_in_per_minute, codes_per_hour) VALUES (current_tenant_id(), 100000, 100000, 100000, 10, 5)`); err != nil {
			return err
		}
		_, err := tx.Exec(tctx, `
WITH u AS (INSERT INTO users (tenant_id, id, email, display_name, email_verified_at)
	SELECT current_tenant_id(), ('00000000-0000-7000-8000-' || lpad(n::text, 12, '0'))::uuid, 'bench' || n || '@example.com', 'Bench ' || n, now()
	FROM generate_series(1, $1) n RETURNING tenant_id, id)
INSERT INTO memberships (tenant_id, user_id) SELECT tenant_id, id FROM u`, *members)
		return err
	})
	if err != nil {
		return fmt.Errorf("seed members: %w", err)
	}
	key, err := a.identity.CreateAPIKey(tctx, identity.CreateAPIKeyParams{Name: "bench", Scopes: []string{"events:write"}})
	if err != nil {
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
	endpoint := "http://" + ln.Addr().String() + "/t/bench/api/v1/events"
	gen := &apiLoad{endpoint: endpoint, token: key.Token, members: *members}
	if err := gen.warm(ctx, 200); err != nil {
		return err
	}

	script := filepath.Join(os.TempDir(), "guildhall-bench-"+randomHex(4)+".sql")
	if err := os.WriteFile(script, []byte(benchScript), 0o644); err != nil {
		return err
	}
	defer os.Remove(script)
	pgURL := bd.URL
	pgArgs := func(extra ...string) []string {
		return append([]string{"-n", "-M", "prepared", "-f", script, "-D", "tenant=" + tn.ID.String(),
			"-D", "members=" + strconv.Itoa(*members), "-T", strconv.Itoa(int(slice.Seconds()))}, extra...)
	}
	fmt.Fprintf(out, "\nreference: %s %s\n", pgbench, strings.Join(pgArgs("-c", "C", "-j", "2", pgURL), " "))
	fmt.Fprintf(out, "each measurement: %d rounds of %v of the reference, then %v of the API\n", *rounds, slice, slice)

	type sat struct {
		clients  int
		ref, api float64
	}
	var sats []sat
	for _, c := range clients {
		var refSum, apiSum float64
		var errs int64
		for range *rounds {
			// The API's pooled connections would leave pgbench's clients
			// no connection slots: close them, and open them again
			// (unmeasured, as pgbench connects before it measures).
			bd.App.Reset()
			refTPS, _, err := runPgbench(ctx, pgbench, pgArgs("-c", strconv.Itoa(c), "-j", "2", pgURL)...)
			if err != nil {
				return err
			}
			gen.closed(ctx, c, 300*time.Millisecond)
			res := gen.closed(ctx, c, slice)
			refSum, apiSum, errs = refSum+refTPS, apiSum+res.perSecond, errs+res.errors
		}
		ref, api := refSum/float64(*rounds), apiSum/float64(*rounds)
		fmt.Fprintf(out, "saturation, %3d clients: reference %7.0f awards/s, API %7.0f awards/s (%d errors) → %.0f%%\n",
			c, ref, api, errs, 100*api/ref)
		sats = append(sats, sat{c, ref, api})
	}

	logDir, err := os.MkdirTemp("", "guildhall-bench-log")
	if err != nil {
		return err
	}
	defer os.RemoveAll(logDir)
	// Each open loop starts from a checkpoint, so that neither measures the
	// write-back of the runs before it.
	var refLat []time.Duration
	var open openResult
	for r := range *rounds {
		if err := bd.Checkpoint(ctx); err != nil {
			return err
		}
		_, lat, err := runPgbench(ctx, pgbench, pgArgs("-c", "16", "-j", "2", "-R", strconv.Itoa(*rate), "-l",
			"--log-prefix", filepath.Join(logDir, "pgbench-"+strconv.Itoa(r)), pgURL)...)
		if err != nil {
			return err
		}
		refLat = append(refLat, lat...)
		if err := bd.Checkpoint(ctx); err != nil {
			return err
		}
		o := gen.open(ctx, *rate, slice)
		open.latencies, open.errors = append(open.latencies, o.latencies...), open.errors+o.errors
	}
	refP99 := percentile(refLat, 0.99)
	apiP99 := percentile(open.latencies, 0.99)
	fmt.Fprintf(out, "open loop, %d awards/s: reference p99 %v, API p99 %v (%d sent, %d errors) → %.2f×\n",
		*rate, refP99.Round(10*time.Microsecond), apiP99.Round(10*time.Microsecond), len(open.latencies), open.errors, float64(apiP99)/float64(refP99))

	fmt.Fprintf(out, "\nratios (targets: API ≥ 35%% of the reference at saturation; open-loop p99 ≤ 2× the reference's;\n64 clients ≥ 85%% of 16):\n")
	for _, s := range sats {
		fmt.Fprintf(out, "  %3d clients: %.0f%% of the reference\n", s.clients, 100*s.api/s.ref)
	}
	if len(sats) >= 2 {
		fmt.Fprintf(out, "  %d vs %d clients: %.0f%%\n", sats[len(sats)-1].clients, sats[0].clients, 100*sats[len(sats)-1].api/sats[0].api)
	}
	fmt.Fprintf(out, "  open-loop p99: %.2f× the reference\n", float64(apiP99)/float64(refP99))

	r, err := a.ledger.Verify(engine.WithTenant(ctx, tn.ID))
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\nledger after the run: %d transactions, books %s\n", r.Transactions, map[bool]string{true: "right", false: "WRONG"}[r.OK()])
	return nil
}

// dbtestURL renders a pool config as a connection URL for pgbench.
func dbtestURL(cfg *pgxpool.Config) string {
	c := cfg.ConnConfig
	u := &url.URL{Scheme: "postgres", Host: fmt.Sprintf("%s:%d", c.Host, c.Port), Path: "/" + c.Database, RawQuery: "sslmode=disable"}
	u.User = url.UserPassword(c.User, c.Password)
	return u.String()
}

var tpsRe = regexp.MustCompile(`tps = ([0-9.]+) \(without initial connection time\)`)

// runPgbench runs pgbench and returns its throughput and, when it wrote
// per-transaction logs (-l), every latency including schedule lag.
func runPgbench(ctx context.Context, bin string, args ...string) (float64, []time.Duration, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return 0, nil, fmt.Errorf("pgbench: %v: %s", err, lastLines(stderr.String(), 5))
	}
	m := tpsRe.FindStringSubmatch(stdout.String())
	if m == nil {
		return 0, nil, fmt.Errorf("pgbench printed no throughput: %s", lastLines(stdout.String(), 10))
	}
	tps, _ := strconv.ParseFloat(m[1], 64)
	var lat []time.Duration
	for i, a := range args {
		if a != "--log-prefix" || i+1 >= len(args) {
			continue
		}
		files, _ := filepath.Glob(args[i+1] + "*")
		for _, f := range files {
			fh, err := os.Open(f)
			if err != nil {
				continue
			}
			sc := bufio.NewScanner(fh)
			for sc.Scan() {
				// client_id transaction_no time script_no time_epoch time_us schedule_lag
				fields := strings.Fields(sc.Text())
				if len(fields) < 7 {
					continue
				}
				us, _ := strconv.ParseInt(fields[2], 10, 64)
				lag, _ := strconv.ParseInt(fields[6], 10, 64)
				lat = append(lat, time.Duration(us+lag)*time.Microsecond)
			}
			fh.Close()
		}
	}
	return tps, lat, nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

// apiLoad sends awards to the events API.
type apiLoad struct {
	endpoint string
	token    string
	members  int
	n        atomic.Int64
	client   *http.Client
	once     sync.Once
}

func (l *apiLoad) http() *http.Client {
	l.once.Do(func() {
		l.client = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024}}
	})
	return l.client
}

// send posts one award with a fresh time-ordered key.
func (l *apiLoad) send(ctx context.Context) error {
	n := l.n.Add(1)
	body := fmt.Sprintf(`{"type":"post.created","member_id":%q,"idempotency_key":%q}`,
		benchMember(int(n%int64(l.members))+1), uuid.Must(uuid.NewV7()))
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, l.endpoint, strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+l.token)
	req.Header.Set("Content-Type", "application/json")
	res, err := l.http().Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", res.StatusCode)
	}
	return nil
}

func (l *apiLoad) warm(ctx context.Context, n int) error {
	for range n {
		if err := l.send(ctx); err != nil {
			return fmt.Errorf("warm-up award: %w", err)
		}
	}
	return nil
}

type closedResult struct {
	perSecond float64
	errors    int64
}

// closed runs c clients back to back for d.
func (l *apiLoad) closed(ctx context.Context, c int, d time.Duration) closedResult {
	var ok, bad atomic.Int64
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	start := time.Now()
	for range c {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				if err := l.send(ctx); err != nil {
					bad.Add(1)
				} else {
					ok.Add(1)
				}
			}
		})
	}
	wg.Wait()
	return closedResult{perSecond: float64(ok.Load()) / time.Since(start).Seconds(), errors: bad.Load()}
}

type openResult struct {
	latencies []time.Duration
	errors    int
}

// open sends rate awards per second for d, each measured from when it was
// due (so a stall counts against every award it delays).
func (l *apiLoad) open(ctx context.Context, rate int, d time.Duration) openResult {
	total := int(d.Seconds() * float64(rate))
	interval := time.Second / time.Duration(rate)
	lat := make([]time.Duration, total)
	errs := make([]bool, total)
	jobs := make(chan int, total)
	start := time.Now()
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			for i := range jobs {
				due := start.Add(time.Duration(i) * interval)
				if w := time.Until(due); w > 0 {
					time.Sleep(w)
				}
				err := l.send(ctx)
				lat[i] = time.Since(due)
				errs[i] = err != nil
			}
		})
	}
	for i := range total {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	out := openResult{latencies: lat}
	for _, e := range errs {
		if e {
			out.errors++
		}
	}
	return out
}
