package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/guildhall/guildhall/console"
	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/api"
	"github.com/guildhall/guildhall/engine/audit"
	"github.com/guildhall/guildhall/engine/authz"
	"github.com/guildhall/guildhall/engine/blob"
	"github.com/guildhall/guildhall/engine/db"
	"github.com/guildhall/guildhall/engine/identity"
	"github.com/guildhall/guildhall/engine/inbox"
	"github.com/guildhall/guildhall/engine/jobs"
	"github.com/guildhall/guildhall/engine/ledger"
	"github.com/guildhall/guildhall/engine/notify"
	"github.com/guildhall/guildhall/engine/plugin"
	"github.com/guildhall/guildhall/engine/ratelimit"
	"github.com/guildhall/guildhall/engine/rewards"
	"github.com/guildhall/guildhall/engine/rules"
	"github.com/guildhall/guildhall/engine/secret"
	"github.com/guildhall/guildhall/plugins/social"
	"github.com/guildhall/guildhall/plugins/splits"
	"github.com/guildhall/guildhall/tenants"
	"github.com/guildhall/guildhall/web"
	"github.com/guildhall/guildhall/web/static"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = ""

func appVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// apiVersion is the version of the REST API's contract (info.version of the
// OpenAPI document), not of the binary.
const apiVersion = "1.0.0"

// newPlugins is every plugin this binary ships, in registration order.
// Commands that only read manifests pass empty social deps.
func newPlugins(sd social.Deps) *plugin.Registry {
	return plugin.NewRegistry(social.New(sd), splits.New())
}

// app is the wired server: services, the HTTP handler and the background
// work that keeps in-memory state current.
type app struct {
	cfg       Config
	log       *slog.Logger
	pool      *pgxpool.Pool
	plugins   *plugin.Registry
	tenants   *tenants.Service
	directory *tenants.Directory
	audit     *audit.Service
	identity  *identity.Service
	ledger    *ledger.Service
	rules     *rules.Service
	rewards   *rewards.Service
	inbox     *inbox.Service
	hub       *inbox.Hub
	blobs     blob.Store
	jobs      *jobs.Runner
	limiter   *ratelimit.Limiter
	api       *api.API
	metrics   *api.Metrics
	handler   http.Handler
}

// newApp wires everything, top to bottom: pool → services → plugins → API,
// console and web → the handler with its middleware. pool may be nil when
// only the API description is needed (guildhall openapi).
func newApp(cfg Config, log *slog.Logger, pool *pgxpool.Pool) (*app, error) {
	a := &app{cfg: cfg, log: log, pool: pool, metrics: api.NewMetrics(), limiter: ratelimit.New(nil)}
	var beginner db.Beginner
	if pool != nil {
		beginner = pool
		a.metrics.Register(api.NewPoolCollector(pool))
	}
	store := db.New(beginner)
	az, err := authz.New()
	if err != nil {
		return nil, err
	}
	keys, err := secret.NewKeyring(cfg.SecretKeys...)
	if err != nil {
		return nil, fmt.Errorf("secret keys: %w", err)
	}
	mailer, texter, err := senders(cfg, log)
	if err != nil {
		return nil, err
	}
	if pool != nil {
		opts := cfg.AWS
		opts.Secret, opts.BaseURL, opts.Log = keys.MAC("blob-url"), cfg.BlobBaseURL, log
		if a.blobs, err = blob.Open(cfg.BlobStore, opts); err != nil {
			return nil, fmt.Errorf("blob store: %w", err)
		}
	}
	// Services that read the tenant registry do so lazily, through the
	// directory made below; the plugins need the rules and the inbox.
	a.rules = rules.NewService(store, a.eventTypes, nil)
	a.inbox = inbox.NewService(store, inbox.Config{
		Mailer:     mailer,
		WebURL:     func(ctx context.Context) string { return tenants.WebURL(a.tenantOf(ctx), cfg.BaseURL, cfg.BaseDomain) },
		TenantName: func(ctx context.Context) string { return a.tenantOf(ctx).Name },
		Log:        log,
	})
	a.plugins = newPlugins(social.Deps{DB: store, Rules: a.rules, Notifier: a.inbox, Purger: a.inbox, Blobs: a.blobs,
		Limiter: a.limiter, Authz: az, Log: log})
	a.tenants = tenants.NewService(store, a.plugins, cfg.BaseDomain)
	a.directory = tenants.NewDirectory(a.tenants, log)
	a.audit = audit.NewService(store)
	a.identity, err = identity.NewService(store, az, identity.Config{
		Keys: keys, JWTKeys: cfg.JWTKeys, Mailer: mailer, Texter: texter,
		Links: func(ctx context.Context, path string) string {
			t, _ := tenants.FromContext(ctx)
			return tenants.WebURL(t, cfg.BaseURL, cfg.BaseDomain) + path
		},
		TenantName: func(ctx context.Context) string {
			if t, ok := tenants.FromContext(ctx); ok {
				return t.Name
			}
			return "Guildhall"
		},
	})
	if err != nil {
		return nil, err
	}
	// Live connections end with their sessions (checked at each heartbeat).
	a.hub = inbox.NewHub(a.inbox, inbox.HubConfig{Sessions: a.identity, Log: log})

	a.ledger = ledger.NewService(store, nil)
	a.rewards = rewards.NewService(store, nil).WithNotifier(a.inbox)
	if pool != nil {
		a.jobs, err = jobs.New(pool, jobs.Deps{Tenants: jobs.TenantListerFunc(a.activeTenants), Ledger: a.ledger, Log: log, Daily: a.dailyWork()})
		if err != nil {
			return nil, err
		}
	}

	a.api = api.New(api.Config{
		Title: "Guildhall", Version: apiVersion, PlatformToken: cfg.PlatformToken,
		DocsAssets: "/static/vendor/elements/",
		Auth:       a.identity, Authz: az, Limiter: a.limiter, Limits: a.requestLimits,
	})
	tenants.RegisterAPI(a.api, a.tenants, a.audit, a.plugins)
	identity.RegisterAPI(a.api, a.identity)
	audit.RegisterAPI(a.api, a.audit)
	ledger.RegisterAPI(a.api, a.ledger)
	rules.RegisterAPI(a.api, a.rules)
	rewards.RegisterAPI(a.api, a.rewards)
	inbox.RegisterAPI(a.api, a.inbox)
	a.api.Mux.Handle("GET "+inbox.LivePath, inbox.LiveHandler(a.hub, a.identity))
	for _, p := range a.plugins.All() {
		if ap, ok := p.(plugin.APIProvider); ok {
			ap.RegisterAPI(api.PluginAPI(a.api, p.Manifest().Name, a.directory))
		}
	}

	app := http.NewServeMux()
	app.Handle("/api/", a.api.Mux)
	app.Handle("/static/", static.Handler())
	app.Handle(plugin.AssetPrefix, a.plugins.AssetHandler())
	app.Handle("/console/", console.New(console.Deps{
		Tenants: a.tenants, Plugins: a.plugins, Identity: a.identity, Authz: az, Audit: a.audit, Limiter: a.limiter, Log: log,
		Rules: a.rules, Ledger: a.ledger, Rewards: a.rewards, Jobs: a.jobs,
	}))
	app.Handle("/", web.New(web.Deps{Plugins: a.plugins, Enablement: a.directory, Identity: a.identity, Limiter: a.limiter, Log: log,
		Ledger: a.ledger, Rewards: a.rewards, Rules: a.rules, Inbox: a.inbox, Hub: a.hub}))

	root := http.NewServeMux()
	api.Health(root, a.ready)
	metrics := a.metrics.Handler()
	root.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		api.SetRoute(r.Context(), "metrics")
		metrics.ServeHTTP(w, r)
	})
	if d, ok := a.blobs.(*blob.Disk); ok {
		// Signed links are their own permission: no tenant, session or
		// cross-origin check, on every host.
		files := d.Handler()
		root.HandleFunc("GET "+cfg.BlobBaseURL+"/", func(w http.ResponseWriter, r *http.Request) {
			api.SetRoute(r.Context(), "files")
			files.ServeHTTP(w, r)
		})
	}
	root.Handle("/", a.directory.Middleware(web.NotFoundPage)(app))

	a.handler = api.Chain(root,
		api.Forwarded(cfg.TrustedProxies),
		api.RequestID(),
		api.Observe(log, a.metrics),
		api.SecurityHeaders(cfg.BaseURL != nil && cfg.BaseURL.Scheme == "https"),
		api.Limits(cfg.MaxBodyBytes, cfg.RequestTimeout),
	)
	return a, nil
}

// tenantOf is the tenant of ctx: the request's, or the registry's entry for
// a bare tenant ID (jobs).
func (a *app) tenantOf(ctx context.Context) tenants.Tenant {
	if t, ok := tenants.FromContext(ctx); ok {
		return t
	}
	id, _ := engine.TenantFrom(ctx)
	t, _ := a.directory.ByID(id)
	return t
}

// digestAt is when members get the day's digest of unread notifications,
// in their community's time zone.
const digestHour, digestMinute = 18, 0

// dailyWork is the daily tenant work: the notification digest for every
// tenant, and the plugins' jobs (plugin.JobProvider) for the tenants that
// enabled each.
func (a *app) dailyWork() []jobs.Daily {
	out := []jobs.Daily{{
		Work: "inbox.digest", Hour: digestHour, Minute: digestMinute,
		Run: func(ctx context.Context, day time.Time) error {
			_, err := a.inbox.SendDigests(ctx, day)
			return err
		},
	}}
	for _, p := range a.plugins.All() {
		jp, ok := p.(plugin.JobProvider)
		if !ok {
			continue
		}
		name := p.Manifest().Name
		for _, j := range jp.Jobs() {
			out = append(out, jobs.Daily{
				Work: j.Kind, Hour: j.Hour, Minute: j.Minute, Run: j.Run,
				Applies: func(ctx context.Context) bool { return a.directory.PluginEnabled(ctx, name) },
			})
		}
	}
	return out
}

// activeTenants pages through the active tenants for the job dispatcher.
func (a *app) activeTenants(ctx context.Context, after string, limit int) ([]jobs.Tenant, string, error) {
	ts, next, err := a.tenants.List(ctx, tenants.ListParams{After: after, Status: tenants.StatusActive, Limit: limit})
	out := make([]jobs.Tenant, 0, len(ts))
	for _, t := range ts {
		out = append(out, jobs.Tenant{ID: t.ID, TimeZone: t.TimeZone})
	}
	return out, next, err
}

// eventTypes are the coin event types of the plugins the tenant in ctx
// enabled.
func (a *app) eventTypes(ctx context.Context) []plugin.EventType {
	t, ok := tenants.FromContext(ctx)
	if !ok {
		id, ok := engine.TenantFrom(ctx)
		if !ok {
			return nil
		}
		if t, ok = a.directory.ByID(id); !ok {
			return nil
		}
	}
	var out []plugin.EventType
	for _, p := range a.plugins.All() {
		if m := p.Manifest(); t.HasPlugin(m.Name) {
			out = append(out, m.EventTypes...)
		}
	}
	return out
}

// requestLimits are the rate limits of the request's tenant (the defaults
// on the platform host).
func (a *app) requestLimits(ctx context.Context) api.RequestLimits {
	l, err := a.identity.TenantLimits(ctx)
	if err != nil {
		l = identity.DefaultLimits
	}
	return api.RequestLimits{
		IP: ratelimit.PerSecond(l.IPPerSecond), User: ratelimit.PerSecond(l.UserPerSecond), APIKey: ratelimit.PerSecond(l.APIKeyPerSecond),
		SignIn: ratelimit.PerMinute(l.SignInPerMinute), Codes: ratelimit.PerMinute(l.CodesPerHour),
	}
}

// senders picks how email and texts leave: SMTP and the SMS gateway when
// configured; otherwise nothing is sent and each attempt is logged as a
// warning without its content (dev passes its own log senders).
func senders(cfg Config, log *slog.Logger) (notify.Mailer, notify.Texter, error) {
	var mailer notify.Mailer = undelivered{log}
	var texter notify.Texter = undelivered{log}
	if cfg.DevDelivery {
		l := notify.NewLog(log)
		mailer, texter = l, l
	}
	if cfg.SMTP != nil {
		m, err := notify.NewSMTP(*cfg.SMTP)
		if err != nil {
			return nil, nil, fmt.Errorf("smtp: %w", err)
		}
		mailer = m
	}
	if cfg.SMS != nil {
		g, err := notify.NewHTTPGateway(*cfg.SMS)
		if err != nil {
			return nil, nil, fmt.Errorf("sms gateway: %w", err)
		}
		texter = g
	}
	return mailer, texter, nil
}

// undelivered stands in for an email or SMS channel that is not configured.
type undelivered struct{ log *slog.Logger }

func (u undelivered) SendEmail(ctx context.Context, m notify.Email) error {
	u.log.WarnContext(ctx, "email not sent: no SMTP server configured (GUILDHALL_SMTP_URL)", "subject", m.Subject)
	return errors.New("no SMTP server configured")
}

func (u undelivered) SendSMS(ctx context.Context, _ notify.SMS) error {
	u.log.WarnContext(ctx, "text not sent: no SMS gateway configured (GUILDHALL_SMS_URL)")
	return errors.New("no SMS gateway configured")
}

// ready reports whether the database answers, as the application role.
func (a *app) ready(ctx context.Context) error {
	if a.pool == nil {
		return engine.Errorf(engine.CodeUnavailable, "no database")
	}
	return db.New(a.pool).InPlatform(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, "SELECT 1")
		return err
	})
}

// serve loads the tenant directory, keeps it and the identity cache current
// (LISTEN/NOTIFY and periodic refreshes), and serves on ln until ctx is
// done, then drains.
func (a *app) serve(ctx context.Context, ln net.Listener) error {
	listener := db.NewListener(a.pool, a.log)
	a.directory.Subscribe(listener)
	a.identity.Cache().Subscribe(listener)
	a.rules.Subscribe(listener)
	a.hub.Subscribe(listener)
	bg, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = listener.Run(bg)
	}()
	defer func() { stop(); <-done }()
	// The hub closes every live connection (1001) when bg ends.
	hubDone := make(chan struct{})
	go func() {
		defer close(hubDone)
		_ = a.hub.Run(bg)
	}()
	defer func() { stop(); <-hubDone }()
	select {
	case <-listener.Ready():
	case <-time.After(5 * time.Second):
		a.log.WarnContext(ctx, "notification listener not ready; changes apply within a minute")
	case <-ctx.Done():
		return nil
	}
	if err := a.directory.Reload(ctx); err != nil {
		return err
	}
	go a.directory.Run(bg)
	go a.identity.Cache().Run(bg)
	go a.limiter.Run(bg)
	if err := a.jobs.Start(bg); err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.cfg.ShutdownTimeout)
		defer cancel()
		if err := a.jobs.Stop(sctx); err != nil {
			a.log.WarnContext(ctx, "stop jobs", "error", err)
		}
	}()
	a.log.InfoContext(ctx, "serving", "addr", ln.Addr().String(), "version", appVersion())
	return api.Serve(ctx, ln, a.handler, a.log, a.cfg.ShutdownTimeout)
}
