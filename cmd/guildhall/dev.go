package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/audit"
	"github.com/guildhall/guildhall/engine/db"
	"github.com/guildhall/guildhall/engine/db/localpg"
	"github.com/guildhall/guildhall/engine/identity"
	"github.com/guildhall/guildhall/engine/jobs"
	"github.com/guildhall/guildhall/engine/secret"
	"github.com/guildhall/guildhall/migrations"
	"github.com/guildhall/guildhall/plugins/social"
	"github.com/guildhall/guildhall/tenants"
)

// localServerURL is where dev looks for PostgreSQL when DATABASE_URL is not
// set.
const localServerURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// demoTenants are what dev seeds: one community of each kind.
var demoTenants = []tenants.CreateParams{
	{Slug: "makers", Name: "Makers' Guild", Kind: "social", TimeZone: "Europe/Berlin", Currency: "EUR",
		Branding: tenants.Branding{PrimaryColor: "#2f9e44", AccentColor: "#f08c00"}},
	{Slug: "roommates", Name: "Roommates", Kind: "splits", TimeZone: "America/New_York", Currency: "USD",
		Branding: tenants.Branding{PrimaryColor: "#1971c2", AccentColor: "#e8590c"}},
}

func runDev(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "dev", "dev [flags]\n\nRuns Guildhall for development: finds PostgreSQL (DATABASE_URL as a superuser, else\n127.0.0.1:5432, else a private server started from the installed binaries), creates the\nroles and the database, migrates, seeds two demo tenants and serves with the console.")
	load := configFlags(fs, e.getenv, serverSettings...)
	dbName := fs.String("database", "guildhall", "name of the development database")
	stateDir := fs.String("state-dir", filepath.Dir(localpg.DefaultDir()), "where dev keeps its keys between runs")
	cfg, err := parseConfig(fs, args, load)
	if err != nil {
		return err
	}
	if !isLoopback(cfg.Addr) {
		return usagef("dev seeds accounts with a known password, so --addr must be a loopback address (got %s)", cfg.Addr)
	}
	log := newLogger(cfg, e.stderr, "text")
	cfg.DevDelivery = true
	if err := devKeys(&cfg, *stateDir); err != nil {
		return err
	}
	if e.getenv("GUILDHALL_BLOB_STORE") == "" && !hasFlag(args, "blob-store") {
		cfg.BlobStore = filepath.Join(*stateDir, "blobs")
	}

	adminURL, cluster, err := findPostgres(ctx, cfg, log)
	if err != nil {
		return err
	}
	if cluster != nil {
		defer func() {
			if err := cluster.Stop(context.WithoutCancel(ctx)); err != nil {
				log.Warn("stop private PostgreSQL", "error", err)
			}
		}()
	}
	pool, err := prepareDevDatabase(ctx, e, adminURL, *dbName, cfg.DBMaxConns)
	if err != nil {
		return err
	}
	defer pool.Close()

	if cfg.PlatformToken == "" {
		cfg.PlatformToken = randomHex(24)
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	if e.getenv("GUILDHALL_BASE_URL") == "" && !hasFlag(args, "base-url") {
		// slug.localhost resolves to this machine in browsers: tenants get
		// their own host with no DNS set-up.
		_, port, _ := net.SplitHostPort(ln.Addr().String())
		cfg.BaseURL, _ = url.Parse("http://localhost:" + port)
		cfg.BaseDomain = "localhost"
	}
	a, err := newApp(cfg, log, pool)
	if err == nil {
		err = seedDemo(ctx, e, a)
	}
	if err != nil {
		ln.Close()
		return err
	}
	printDevURLs(e, cfg, ln.Addr().String())
	return a.serve(ctx, ln)
}

// findPostgres returns a superuser connection string: DATABASE_URL, else
// the local server, else a private cluster it starts (returned so the caller
// stops it on exit).
func findPostgres(ctx context.Context, cfg Config, log *slog.Logger) (string, *localpg.Cluster, error) {
	if cfg.DatabaseURL != "" {
		return cfg.DatabaseURL, nil, nil
	}
	if localpg.Reachable(ctx, localServerURL) {
		return localServerURL, nil, nil
	}
	if _, err := localpg.Binaries(); err != nil {
		return "", nil, fmt.Errorf("no PostgreSQL answers on 127.0.0.1:5432 and none is installed to start: %w", err)
	}
	dir := localpg.DefaultDir()
	log.Info("starting a private PostgreSQL", "dir", dir)
	c, err := localpg.Start(ctx, localpg.Options{Dir: dir, Log: log})
	if err != nil {
		return "", nil, err
	}
	return c.URL(), c, nil
}

// prepareDevDatabase creates the roles (with fresh passwords) and the
// database, migrates it as the owner, and returns a pool as the application
// role.
func prepareDevDatabase(ctx context.Context, e env, adminURL, name string, maxConns int32) (*pgxpool.Pool, error) {
	admin, err := pgxpool.ParseConfig(adminURL)
	if err != nil {
		return nil, usagef("DATABASE_URL is not a valid PostgreSQL connection string")
	}
	conn, err := pgx.ConnectConfig(ctx, admin.ConnConfig)
	if err != nil {
		return nil, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var super bool
	if err := conn.QueryRow(ctx, "SELECT rolsuper FROM pg_roles WHERE rolname = current_user").Scan(&super); err != nil {
		return nil, fmt.Errorf("check role: %w", err)
	}
	if !super {
		return nil, errors.New("dev needs a superuser connection in DATABASE_URL to create its roles and database; " +
			"without one, create them yourself and use `guildhall migrate up` and `guildhall serve`")
	}
	ownerPW, appPW := randomHex(16), randomHex(16)
	if err := db.Bootstrap(ctx, conn, db.BootstrapParams{Database: name, OwnerPassword: ownerPW, AppPassword: appPW}); err != nil {
		return nil, err
	}
	migs, err := db.LoadMigrations(migrations.FS)
	if err != nil {
		return nil, err
	}
	owner, err := pgxpool.NewWithConfig(ctx, db.ConfigAs(admin, db.OwnerRole, ownerPW, name))
	if err != nil {
		return nil, fmt.Errorf("connect as %s: %w", db.OwnerRole, err)
	}
	applied, err := db.Migrate(ctx, owner, migs)
	for _, m := range applied {
		fmt.Fprintf(e.stdout, "applied migration %04d_%s\n", m.Version, m.Name)
	}
	if err == nil {
		var river []string
		river, err = jobs.Migrate(ctx, owner)
		for _, name := range river {
			fmt.Fprintf(e.stdout, "applied job queue migration %s\n", name)
		}
	}
	owner.Close()
	if err != nil {
		return nil, err
	}
	appCfg := db.ConfigAs(admin, db.AppRole, appPW, name)
	appCfg.MaxConns = maxConns
	pool, err := pgxpool.NewWithConfig(ctx, appCfg)
	if err != nil {
		return nil, fmt.Errorf("connect as %s: %w", db.AppRole, err)
	}
	if err := db.CheckServer(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	if err := db.CheckAppRole(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	return pool, nil
}

// demoPassword is every demo account's password (development only).
const demoPassword = "guildhall demo"

// demoAdmin is the platform admin dev seeds.
const demoAdmin = "admin@guildhall.example"

// demoAccounts are the accounts dev seeds in each demo tenant: role → local
// part of the address (@<slug>.example).
var demoAccounts = []struct{ role, local, name string }{
	{"owner", "owner", "Olive Owner"},
	{"moderator", "mod", "Mo Derator"},
	{"member", "member", "Mel Member"},
}

// seedDemo creates what is missing of the demo tenants, their accounts and
// the platform admin.
func seedDemo(ctx context.Context, e env, a *app) error {
	ctx = audit.WithActor(ctx, audit.Actor{Name: "dev-seed"})
	for _, p := range demoTenants {
		t, err := a.tenants.Get(ctx, p.Slug)
		if errors.Is(err, tenants.ErrNotFound) {
			if t, err = a.tenants.Create(ctx, p); err == nil {
				fmt.Fprintf(e.stdout, "seeded demo tenant %s (%s)\n", p.Slug, p.Kind)
			}
		}
		if err != nil {
			return fmt.Errorf("seed tenant %s: %w", p.Slug, err)
		}
		tctx := tenants.WithContext(ctx, t, "")
		users := map[string]identity.User{}
		fresh := false
		for _, acc := range demoAccounts {
			u, created, err := a.identity.SeedUser(tctx, identity.SeedUserParams{
				Email: acc.local + "@" + p.Slug + ".example", DisplayName: acc.name, Password: demoPassword, Role: acc.role,
			})
			if err != nil {
				return fmt.Errorf("seed %s of %s: %w", acc.role, p.Slug, err)
			}
			users[acc.role] = u
			if created {
				fresh = true
				fmt.Fprintf(e.stdout, "seeded %s %s@%s.example\n", acc.role, acc.local, p.Slug)
			}
		}
		if fresh && t.HasPlugin(social.Name) {
			if err := seedSocial(tctx, a, t, users); err != nil {
				return fmt.Errorf("seed posts of %s: %w", p.Slug, err)
			}
			fmt.Fprintf(e.stdout, "seeded demo posts of %s\n", p.Slug)
		}
	}
	_, err := a.identity.CreateAdmin(ctx, identity.CreateAdminParams{Email: demoAdmin, DisplayName: "Platform Admin", Password: demoPassword})
	if err == nil {
		fmt.Fprintf(e.stdout, "seeded platform admin %s\n", demoAdmin)
	} else if engine.ErrorCode(err) != engine.CodeConflict {
		return fmt.Errorf("seed platform admin: %w", err)
	}
	return nil
}

// seedSocial starts a social tenant's feed: a welcome post by the owner
// liked by the member, and the member's first post with the owner's
// comment, earning coins through the tenant's rules like any other.
func seedSocial(ctx context.Context, a *app, t tenants.Tenant, users map[string]identity.User) error {
	sp, ok := a.plugins.Get(social.Name)
	if !ok {
		return nil
	}
	svc := sp.(*social.Plugin).Service()
	as := func(role string) context.Context {
		u := users[role]
		return engine.WithPrincipal(ctx, engine.Principal{Kind: engine.PrincipalUser, TenantID: t.ID, UserID: u.ID, Role: role, Name: "user:" + u.ID.String()})
	}
	welcome, err := svc.CreatePost(as("owner"), social.PostParams{Text: "Welcome to " + t.Name + "! Share what you are making: " +
		"every post earns coins, and so does every like your posts receive."})
	if err != nil {
		return err
	}
	if _, err := svc.Like(as("member"), welcome.ID); err != nil {
		return err
	}
	first, err := svc.CreatePost(as("member"), social.PostParams{Text: "First project of the year: a walnut side table. " +
		"The joinery took three weekends; photos once the oil has cured."})
	if err != nil {
		return err
	}
	_, err = svc.CreateComment(as("owner"), social.CommentParams{Post: first.ID, Text: "Lovely choice of wood. Which oil are you using?"})
	return err
}

// devKeys fills in the secret and JWT keys from stateDir/dev-keys, making
// them on the first run, so sealed secrets and sessions survive restarts.
// Keys given in the environment or flags win.
func devKeys(cfg *Config, stateDir string) error {
	if len(cfg.SecretKeys) > 0 && len(cfg.JWTKeys) > 0 {
		return nil
	}
	path := filepath.Join(stateDir, "dev-keys")
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(stateDir, 0o755); err != nil {
			return fmt.Errorf("make %s: %w", stateDir, err)
		}
		b = []byte(secret.FormatKeys(secret.NewKey("dev")) + "\n" + secret.FormatKeys(secret.NewKey("dev")) + "\n")
		if err := os.WriteFile(path, b, 0o600); err != nil {
			return fmt.Errorf("write dev keys: %w", err)
		}
	} else if err != nil {
		return fmt.Errorf("read dev keys: %w", err)
	}
	lines := strings.Fields(string(b))
	if len(lines) != 2 {
		return fmt.Errorf("%s is damaged: delete it and run dev again", path)
	}
	sk, err1 := secret.ParseKeys(lines[0])
	jk, err2 := secret.ParseKeys(lines[1])
	if err := errors.Join(err1, err2); err != nil {
		return fmt.Errorf("%s is damaged (delete it and run dev again): %w", path, err)
	}
	if len(cfg.SecretKeys) == 0 {
		cfg.SecretKeys = sk
	}
	if len(cfg.JWTKeys) == 0 {
		cfg.JWTKeys = jk
	}
	return nil
}

func printDevURLs(e env, cfg Config, addr string) {
	_, port, _ := net.SplitHostPort(addr)
	host := "127.0.0.1:" + port
	w := e.stdout
	fmt.Fprintf(w, "\nGuildhall is running in development mode.\n\n")
	fmt.Fprintf(w, "  Console         http://%s/console/\n", host)
	fmt.Fprintf(w, "  API docs        http://%s/api/docs\n", host)
	for _, t := range demoTenants {
		fmt.Fprintf(w, "  %-15s http://%s.%s:%s/  (or http://%s/t/%s/), console: /console/\n", t.Name, t.Slug, cfg.BaseDomain, port, host, t.Slug)
	}
	fmt.Fprintf(w, "\n  Sign in (password %q):\n", demoPassword)
	fmt.Fprintf(w, "    platform console   %s\n", demoAdmin)
	for _, t := range demoTenants {
		for _, acc := range demoAccounts {
			fmt.Fprintf(w, "    %-18s %s@%s.example\n", t.Slug+" "+acc.role, acc.local, t.Slug)
		}
	}
	fmt.Fprintf(w, "\n  Emails and texts (sign-in codes too) are written to the log.\n")
	fmt.Fprintf(w, "  Platform API token (Authorization: Bearer …): %s\n\nPress Ctrl-C to stop.\n\n", cfg.PlatformToken)
}

func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func hasFlag(args []string, name string) bool {
	for _, a := range args {
		if a == "-"+name || a == "--"+name || strings.HasPrefix(a, "-"+name+"=") || strings.HasPrefix(a, "--"+name+"=") {
			return true
		}
	}
	return false
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
