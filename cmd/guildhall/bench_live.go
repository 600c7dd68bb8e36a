package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/db"
	"github.com/guildhall/guildhall/engine/inbox"
)

// benchLiveClients is the hidden first argument of `bench live` that runs
// the client side, in a child process, so the server's memory is measured
// without the clients' and each process stays under its file limit.
const benchLiveClients = "__clients"

// runBenchLive measures the live notification stream: memory per idle
// WebSocket connection on the server, and fan-out latency from commit to
// client receipt. The server side (hub, listener, HTTP server on
// 127.0.0.1:0, a fresh database) runs in this process; the clients run in
// a child process (this binary again) over real TCP loopback.
func runBenchLive(ctx context.Context, e env, args []string) error {
	if len(args) > 0 && args[0] == benchLiveClients {
		return runBenchLiveClients(ctx, e, args[1:])
	}
	fs := newFlagSet(e, "bench live", "bench live [flags]\n\nMeasures the live notification stream on a fresh database: server memory per idle WebSocket\n"+
		"connection (heap and stacks after GC, measured in this process; the clients run in a child process), and\n"+
		"fan-out latency from commit to client receipt, for one commit notifying every member and for one commit\n"+
		"per member. DATABASE_URL must be a superuser. Authentication is a bench-only token per member; everything\n"+
		"else is the production path (LiveHandler, Hub, LISTEN/NOTIFY, AddTx).")
	load := configFlags(fs, e.getenv, "database-url")
	conns := fs.Int("conns", 10000, "WebSocket connections, one per member")
	writers := fs.Int("writers", 8, "concurrent transactions in the one-commit-per-member run")
	keep := fs.Bool("keep", false, "keep the bench database")
	heapProfile := fs.String("heap-profile", "", "write the server's heap profile with the connections idle to this file (go tool pprof)")
	cpuProfile := fs.String("cpu-profile", "", "write the server's CPU profile of the one-commit fan-out to this file (go tool pprof)")
	cfg, err := parseConfig(fs, args, load)
	if err != nil {
		return err
	}
	if *conns < 1 || *conns > 100_000 || *writers < 1 || *writers > 256 {
		return usagef("bench live: --conns must be 1 to 100000 and --writers 1 to 256")
	}
	n := *conns
	out := e.stdout
	if lim, err := raiseFileLimit(); err == nil && lim < uint64(n)+200 {
		return fmt.Errorf("the open file limit is %d: too low for %d connections", lim, n)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))

	// A fresh database, migrated, with one tenant and its members.
	bd, err := newBenchDatabase(ctx, cfg.DatabaseURL, *keep)
	if err != nil {
		return err
	}
	defer bd.Close()
	name, pool := bd.Name, bd.App
	store := db.New(pool)
	// The tenant row as the registry writes it (in a transaction scoped
	// to it); the bench needs no plugin or domain of it.
	tenant := uuid.Must(uuid.NewV7())
	tctx := engine.WithTenant(ctx, tenant)
	err = store.InTenant(tctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(tctx, `INSERT INTO tenants (id, slug, name, kind, time_zone, currency, plugins)
VALUES ($1, 'bench', 'Bench', 'social', 'UTC', 'EUR', '{social}')`, tenant)
		return err
	})
	if err != nil {
		return fmt.Errorf("create tenant: %w", err)
	}
	fmt.Fprintf(out, "bench live: %d connections (one per member) in %s\n", n, name)
	err = store.InTenant(tctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(tctx, `
WITH u AS (INSERT INTO users (tenant_id, id, email, display_name, email_verified_at)
	SELECT current_tenant_id(), ('00000000-0000-7000-8000-' || lpad(n::text, 12, '0'))::uuid, 'bench' || n || '@example.com', 'Bench ' || n, now()
	FROM generate_series(1, $1) n RETURNING tenant_id, id)
INSERT INTO memberships (tenant_id, user_id) SELECT tenant_id, id FROM u`, n)
		return err
	})
	if err != nil {
		return fmt.Errorf("seed members: %w", err)
	}

	// The server: the production hub and handler behind a bench-only
	// authenticator, the tenant set as the directory middleware would.
	svc := inbox.NewService(store, inbox.Config{})
	hub := inbox.NewHub(svc, inbox.HubConfig{Log: log})
	listener := db.NewListener(pool, log)
	hub.Subscribe(listener)
	bg, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() { stop(); wg.Wait() }()
	wg.Go(func() { _ = listener.Run(bg) })
	wg.Go(func() { _ = hub.Run(bg) })
	select {
	case <-listener.Ready():
	case <-time.After(10 * time.Second):
		return errors.New("the notification listener did not start")
	}
	live := inbox.LiveHandler(hub, benchAuth{tenant: tenant})
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		live.ServeHTTP(w, r.WithContext(engine.WithTenant(r.Context(), tenant)))
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	wg.Go(func() { _ = srv.Serve(ln) })
	defer srv.Close()
	url := "ws://" + ln.Addr().String() + inbox.LivePath

	before := serverMemory()

	// The clients, in a child process.
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	cctx, killChild := context.WithCancel(ctx)
	defer killChild()
	child := exec.CommandContext(cctx, exe, "bench", "live", benchLiveClients, url, strconv.Itoa(n))
	child.Stderr = e.stderr
	toChild, err := child.StdinPipe()
	if err != nil {
		return err
	}
	fromChild, err := child.StdoutPipe()
	if err != nil {
		return err
	}
	if err := child.Start(); err != nil {
		return err
	}
	defer func() {
		_ = toChild.Close()
		// On an early return the child may be blocked writing to us.
		done := make(chan struct{})
		go func() { _ = child.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			killChild()
			<-done
		}
	}()
	lines := bufio.NewScanner(fromChild)
	// "received" lists a time per connection: about 20 bytes each.
	lines.Buffer(make([]byte, 64<<10), 32*n+(64<<10))
	expect := func(prefix string) ([]string, error) {
		for lines.Scan() {
			if f := strings.Fields(lines.Text()); len(f) > 0 && f[0] == prefix {
				return f[1:], nil
			}
		}
		return nil, fmt.Errorf("the client process ended before %q: %v", prefix, lines.Err())
	}

	f, err := expect("connected")
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "connected %s of %d in %ss (%s failed); hub holds %d\n", f[0], n, f[2], f[1], hub.Conns())
	if hub.Conns() != n {
		return fmt.Errorf("the hub holds %d connections, want %d", hub.Conns(), n)
	}
	time.Sleep(2 * time.Second) // idle: first catch-ups and their goroutines are done
	after := serverMemory()
	heap := float64(after.heap-before.heap) / float64(n)
	stack := float64(after.stack-before.stack) / float64(n)
	fmt.Fprintf(out, "server memory per idle connection: %.1f KiB (heap %.1f KiB + stacks %.1f KiB), %.2f goroutines; RSS %+.1f KiB (target ≤ 20 KiB)\n",
		(heap+stack)/1024, heap/1024, stack/1024, float64(after.goroutines-before.goroutines)/float64(n), float64(after.rss-before.rss)/float64(n)/1024)
	if *heapProfile != "" {
		if err := writeHeapProfile(*heapProfile); err != nil {
			return err
		}
	}
	if f, err = expect("client_memory"); err != nil {
		return err
	}
	fmt.Fprintf(out, "client memory per connection (child process, for reference): %s KiB\n", f[0])

	members := make([]uuid.UUID, n)
	for i := range members {
		members[i] = benchMember(i + 1)
	}
	// Fan-out 1: one commit notifies every member.
	var profile *os.File
	if *cpuProfile != "" {
		if profile, err = os.Create(*cpuProfile); err != nil {
			return err
		}
		defer profile.Close()
	}
	err = store.InTenant(tctx, func(tx pgx.Tx) error {
		for i, m := range members {
			if _, _, err := svc.AddTx(tctx, tx, inbox.AddParams{Member: m, Kind: "like", Text: "Bench " + strconv.Itoa(i) + " liked your post", Link: "/posts/1"}); err != nil {
				return err
			}
		}
		return nil
	})
	committed := time.Now()
	if err != nil {
		return err
	}
	stopProfile := func() {}
	if profile != nil {
		if err := pprof.StartCPUProfile(profile); err != nil {
			return err
		}
		stopProfile = pprof.StopCPUProfile
	}
	commits := make([]time.Time, n)
	for i := range commits {
		commits[i] = committed
	}
	err = reportFanout(out, toChild, expect, 1, commits, fmt.Sprintf("fan-out, one commit notifying %d members", n))
	stopProfile()
	if err != nil {
		return err
	}

	// Fan-out 2: one commit per member, from concurrent writers.
	var next atomic.Int64
	start := time.Now()
	var werr error
	var wmu sync.Mutex
	var ww sync.WaitGroup
	for range *writers {
		ww.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				err := store.InTenant(tctx, func(tx pgx.Tx) error {
					_, _, err := svc.AddTx(tctx, tx, inbox.AddParams{Member: members[i], Kind: "comment", Text: "A comment on your post", Link: "/posts/1"})
					return err
				})
				commits[i] = time.Now()
				if err != nil {
					wmu.Lock()
					werr = err
					wmu.Unlock()
					return
				}
			}
		})
	}
	ww.Wait()
	if werr != nil {
		return werr
	}
	rate := float64(n) / time.Since(start).Seconds()
	if err := reportFanout(out, toChild, expect, 2, commits, fmt.Sprintf("fan-out, %d commits (%d writers, %.0f commits/s)", n, *writers, rate)); err != nil {
		return err
	}
	fmt.Fprintf(out, "\nrun: guildhall bench live --conns %d (server and clients on 127.0.0.1; clients in a child process)\n", n)
	return nil
}

// reportFanout asks the client process when each client received its
// phase-th notification and prints the latencies from commits[i].
func reportFanout(out io.Writer, toChild io.Writer, expect func(string) ([]string, error), phase int, commits []time.Time, what string) error {
	if _, err := fmt.Fprintf(toChild, "collect %d\n", phase); err != nil {
		return err
	}
	f, err := expect("received")
	if err != nil {
		return err
	}
	parts := strings.Split(f[0], ",")
	lat := make([]time.Duration, 0, len(commits))
	for i, p := range parts {
		ns, _ := strconv.ParseInt(p, 10, 64)
		if ns == 0 || i >= len(commits) {
			continue
		}
		lat = append(lat, time.Unix(0, ns).Sub(commits[i]))
	}
	slices.Sort(lat)
	if len(lat) == 0 {
		return fmt.Errorf("%s: no client received anything", what)
	}
	fmt.Fprintf(out, "%s: p50 %v, p99 %v, max %v (%d of %d received)\n", what,
		percentile(lat, 0.50).Round(100*time.Microsecond), percentile(lat, 0.99).Round(100*time.Microsecond),
		lat[len(lat)-1].Round(100*time.Microsecond), len(lat), len(commits))
	return nil
}

// benchAuth stands in for identity at the Authenticator seam: token
// "bench-<n>" is bench member n.
type benchAuth struct{ tenant uuid.UUID }

func (a benchAuth) AuthenticateBearer(_ context.Context, token string) (engine.Principal, error) {
	n, err := strconv.Atoi(strings.TrimPrefix(token, "bench-"))
	if err != nil || !strings.HasPrefix(token, "bench-") || n < 1 {
		return engine.Principal{}, engine.Errorf(engine.CodeUnauthenticated, "Sign in to do this.")
	}
	id := benchMember(n)
	return engine.Principal{Kind: engine.PrincipalUser, TenantID: a.tenant, UserID: id, Role: "member", Name: "user:" + id.String()}, nil
}

type memory struct {
	heap, stack, rss uint64
	goroutines       int
}

// serverMemory returns the live heap and the goroutine stacks after two
// collections, and the process's resident set.
func serverMemory() memory {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return memory{heap: ms.HeapAlloc, stack: ms.StackInuse, rss: residentSet(), goroutines: runtime.NumGoroutine()}
}

func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// residentSet returns the process's resident memory (VmRSS), or 0.
func residentSet() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// raiseFileLimit raises the soft limit of open files to the hard one and
// returns it.
func raiseFileLimit() (uint64, error) {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		return 0, err
	}
	r.Cur = r.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		return 0, err
	}
	return r.Cur, nil
}

// runBenchLiveClients is the client process: it opens n connections to
// url as bench members 1..n, prints "connected <ok> <failed> <seconds>"
// and its memory per connection, then answers each "collect <k>" line on
// stdin with "received <t1>,<t2>,…": when each client got its k-th
// notification (Unix nanoseconds, 0 if not within a minute).
func runBenchLiveClients(ctx context.Context, e env, args []string) error {
	if len(args) != 2 {
		return usagef("bench live %s URL N", benchLiveClients)
	}
	url := args[0]
	n, err := strconv.Atoi(args[1])
	if err != nil || n < 1 {
		return usagef("bench live %s: bad N %q", benchLiveClients, args[1])
	}
	if _, err := raiseFileLimit(); err != nil {
		return err
	}
	before := serverMemory()
	type client struct {
		mu   sync.Mutex
		recv []int64 // receipt time of each notification
	}
	clients := make([]client, n)
	var ok, failed atomic.Int64
	transport := &http.Transport{MaxIdleConnsPerHost: 1}
	hc := &http.Client{Transport: transport}
	start := time.Now()
	sem := make(chan struct{}, 64)
	var wg sync.WaitGroup
	ready := make(chan struct{}, n)
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			ws, _, err := websocket.Dial(dctx, url, &websocket.DialOptions{HTTPClient: hc,
				HTTPHeader: http.Header{"Authorization": {"Bearer bench-" + strconv.Itoa(i+1)}}})
			cancel()
			<-sem
			if err != nil {
				failed.Add(1)
				ready <- struct{}{}
				return
			}
			ws.SetReadLimit(1 << 16)
			first := true
			for {
				_, b, err := ws.Read(context.WithoutCancel(ctx))
				if err != nil {
					if first {
						failed.Add(1)
						ready <- struct{}{}
					}
					return
				}
				if first {
					// The first message is the heartbeat after the backlog.
					first = false
					ok.Add(1)
					ready <- struct{}{}
					continue
				}
				if strings.HasPrefix(string(b), `{"type":"notification"`) {
					c := &clients[i]
					c.mu.Lock()
					c.recv = append(c.recv, time.Now().UnixNano())
					c.mu.Unlock()
				}
			}
		})
	}
	for range n {
		<-ready
	}
	fmt.Fprintf(e.stdout, "connected %d %d %.1f\n", ok.Load(), failed.Load(), time.Since(start).Seconds())
	time.Sleep(time.Second)
	after := serverMemory()
	fmt.Fprintf(e.stdout, "client_memory %.1f\n", float64(after.heap+after.stack-before.heap-before.stack)/float64(n)/1024)

	in := bufio.NewScanner(e.stdin)
	for in.Scan() {
		var k int
		if _, err := fmt.Sscanf(in.Text(), "collect %d", &k); err != nil {
			continue
		}
		deadline := time.Now().Add(time.Minute)
		times := make([]string, n)
		for i := range clients {
			c := &clients[i]
			for {
				c.mu.Lock()
				var t int64
				if len(c.recv) >= k {
					t = c.recv[k-1]
				}
				c.mu.Unlock()
				if t != 0 || time.Now().After(deadline) {
					times[i] = strconv.FormatInt(t, 10)
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
		}
		fmt.Fprintf(e.stdout, "received %s\n", strings.Join(times, ","))
	}
	return nil
}
