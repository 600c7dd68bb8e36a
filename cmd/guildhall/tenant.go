package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/guildhall/guildhall/engine/audit"
	"github.com/guildhall/guildhall/engine/db"
	"github.com/guildhall/guildhall/plugins/social"
	"github.com/guildhall/guildhall/tenants"
)

func runTenant(ctx context.Context, e env, args []string) error {
	return subcommand(ctx, e, "tenant", args, map[string]func(context.Context, env, []string) error{
		"create": runTenantCreate,
		"list":   runTenantList,
		"show":   runTenantShow,
		"update": runTenantUpdate,
	})
}

// tenantCLI opens what the tenant commands need: a pool on DATABASE_URL (any
// role with the application role's grants) and the tenant service, with the
// audit actor naming the OS user.
func tenantCLI(ctx context.Context, e env, cfg Config) (context.Context, *tenants.Service, func(), error) {
	if cfg.DatabaseURL == "" {
		return nil, nil, nil, usagef("DATABASE_URL is not set")
	}
	pool, err := db.Open(ctx, cfg.DatabaseURL, nil)
	if err != nil {
		return nil, nil, nil, err
	}
	user := e.getenv("USER")
	if user == "" {
		user = "unknown"
	}
	ctx = audit.WithActor(ctx, audit.Actor{Name: "cli:" + user})
	return ctx, tenants.NewService(db.New(pool), newPlugins(social.Deps{}), cfg.BaseDomain), pool.Close, nil
}

// splitList splits a comma-separated flag value; "" is the empty list.
func splitList(s string) []string {
	out := []string{}
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// tenantFlags are the tenant fields create and update share.
type tenantFlags struct {
	fs                                            *flag.FlagSet
	name, tz, cur, primary, accent, logo, domains *string
	plugins                                       *string
}

func addTenantFlags(fs *flag.FlagSet) *tenantFlags {
	return &tenantFlags{
		fs:      fs,
		name:    fs.String("name", "", "display name"),
		tz:      fs.String("time-zone", "", "IANA time zone, e.g. Europe/Berlin"),
		cur:     fs.String("currency", "", "ISO 4217 currency code, e.g. EUR"),
		primary: fs.String("primary-color", "", "main colour #rrggbb"),
		accent:  fs.String("accent-color", "", "accent colour #rrggbb"),
		logo:    fs.String("logo-url", "", "absolute https URL of the logo (\"\" removes it)"),
		domains: fs.String("domains", "", "comma-separated custom domains (\"\" for none)"),
		plugins: fs.String("plugins", "", "comma-separated plugins to enable (default on create: the kind's)"),
	}
}

// given reports whether flag name was on the command line.
func (f *tenantFlags) given(name string) bool {
	found := false
	f.fs.Visit(func(fl *flag.Flag) { found = found || fl.Name == name })
	return found
}

func runTenantCreate(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "tenant create", "tenant create --slug SLUG --name NAME --kind KIND --time-zone ZONE --currency CODE [flags]")
	load := configFlags(fs, e.getenv, "database-url", "base-url", "base-domain")
	slug := fs.String("slug", "", "DNS label the tenant lives at (slug.base-domain, /t/slug/); never changes")
	kind := fs.String("kind", "", "community kind: "+strings.Join(newPlugins(social.Deps{}).Kinds(), " or "))
	f := addTenantFlags(fs)
	asJSON := fs.Bool("json", false, "print the tenant as JSON")
	cfg, err := parseConfig(fs, args, load)
	if err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("tenant create: unexpected argument %q", fs.Arg(0))
	}
	ctx, svc, done, err := tenantCLI(ctx, e, cfg)
	if err != nil {
		return err
	}
	defer done()
	p := tenants.CreateParams{
		Slug: *slug, Name: *f.name, Kind: *kind, TimeZone: *f.tz, Currency: *f.cur,
		Branding: tenants.Branding{PrimaryColor: *f.primary, AccentColor: *f.accent, LogoURL: *f.logo},
		Domains:  splitList(*f.domains),
	}
	if f.given("plugins") {
		p.Plugins = splitList(*f.plugins)
	}
	t, err := svc.Create(ctx, p)
	if err != nil {
		return err
	}
	return printTenant(e, t, *asJSON)
}

func runTenantList(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "tenant list", "tenant list [flags]")
	load := configFlags(fs, e.getenv, "database-url", "base-url", "base-domain")
	status := fs.String("status", "", "only tenants with this status: active or suspended")
	after := fs.String("after", "", "start after this slug")
	limit := fs.Int("limit", 100, "at most this many tenants (1-100)")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := load()
	if err != nil {
		return err
	}
	ctx, svc, done, err := tenantCLI(ctx, e, cfg)
	if err != nil {
		return err
	}
	defer done()
	ts, next, err := svc.List(ctx, tenants.ListParams{After: *after, Status: tenants.Status(*status), Limit: *limit})
	if err != nil {
		return err
	}
	if *asJSON {
		bodies := make([]tenants.TenantBody, len(ts))
		for i, t := range ts {
			bodies[i] = tenants.Body(t)
		}
		return writeJSON(e, map[string]any{"tenants": bodies, "next": next})
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SLUG\tNAME\tKIND\tSTATUS\tPLUGINS\tDOMAINS")
	for _, t := range ts {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", t.Slug, t.Name, t.Kind, t.Status,
			strings.Join(t.Plugins, ","), strings.Join(t.Domains, ","))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if next != "" {
		fmt.Fprintf(e.stdout, "more: guildhall tenant list --after %s\n", next)
	}
	return nil
}

func runTenantShow(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "tenant show", "tenant show SLUG [flags]")
	load := configFlags(fs, e.getenv, "database-url", "base-url", "base-domain")
	asJSON := fs.Bool("json", false, "print JSON")
	slug, err := parseWithSlug(fs, args)
	if err != nil {
		return err
	}
	cfg, err := load()
	if err != nil {
		return err
	}
	ctx, svc, done, err := tenantCLI(ctx, e, cfg)
	if err != nil {
		return err
	}
	defer done()
	t, err := svc.Get(ctx, slug)
	if err != nil {
		return err
	}
	return printTenant(e, t, *asJSON)
}

func runTenantUpdate(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "tenant update", "tenant update SLUG [flags]\n\nChanges only the flags given; --domains and --plugins replace the whole list (\"\" clears).")
	load := configFlags(fs, e.getenv, "database-url", "base-url", "base-domain")
	f := addTenantFlags(fs)
	status := fs.String("status", "", "active or suspended")
	asJSON := fs.Bool("json", false, "print the tenant as JSON")
	slug, err := parseWithSlug(fs, args)
	if err != nil {
		return err
	}
	cfg, err := load()
	if err != nil {
		return err
	}
	ctx, svc, done, err := tenantCLI(ctx, e, cfg)
	if err != nil {
		return err
	}
	defer done()
	var p tenants.UpdateParams
	if f.given("name") {
		p.Name = f.name
	}
	if f.given("time-zone") {
		p.TimeZone = f.tz
	}
	if f.given("currency") {
		p.Currency = f.cur
	}
	if f.given("primary-color") || f.given("accent-color") || f.given("logo-url") {
		// Branding is replaced whole: start from what is stored.
		cur, err := svc.Get(ctx, slug)
		if err != nil {
			return err
		}
		b := cur.Branding
		if f.given("primary-color") {
			b.PrimaryColor = *f.primary
		}
		if f.given("accent-color") {
			b.AccentColor = *f.accent
		}
		if f.given("logo-url") {
			b.LogoURL = *f.logo
		}
		p.Branding = &b
	}
	if f.given("domains") {
		ds := splitList(*f.domains)
		p.Domains = &ds
	}
	if f.given("plugins") {
		ps := splitList(*f.plugins)
		p.Plugins = &ps
	}
	if f.given("status") {
		st := tenants.Status(*status)
		p.Status = &st
	}
	t, err := svc.Update(ctx, slug, p)
	if err != nil {
		return err
	}
	return printTenant(e, t, *asJSON)
}

// parseWithSlug parses flags around one SLUG argument, in any order.
func parseWithSlug(fs *flag.FlagSet, args []string) (string, error) {
	var slug string
	for {
		if err := parse(fs, args); err != nil {
			return "", err
		}
		if fs.NArg() == 0 {
			break
		}
		if slug != "" {
			return "", usagef("%s: unexpected argument %q", fs.Name(), fs.Arg(0))
		}
		slug, args = fs.Arg(0), fs.Args()[1:]
	}
	if slug == "" {
		return "", usagef("%s: missing SLUG", fs.Name())
	}
	return slug, nil
}

func printTenant(e env, t tenants.Tenant, asJSON bool) error {
	if asJSON {
		return writeJSON(e, tenants.Body(t))
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	rows := [][2]string{
		{"id", t.ID.String()}, {"slug", t.Slug}, {"name", t.Name}, {"kind", t.Kind}, {"status", string(t.Status)},
		{"time zone", t.TimeZone}, {"currency", t.Currency},
		{"colours", t.Branding.PrimaryColor + " " + t.Branding.AccentColor}, {"logo", t.Branding.LogoURL},
		{"plugins", strings.Join(t.Plugins, ", ")}, {"domains", strings.Join(t.Domains, ", ")},
		{"created", t.CreatedAt.UTC().Format("2006-01-02 15:04:05Z")},
	}
	for _, r := range rows {
		fmt.Fprintf(tw, "%s:\t%s\n", r[0], r[1])
	}
	return tw.Flush()
}

func writeJSON(e env, v any) error {
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
