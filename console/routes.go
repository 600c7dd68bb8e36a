package console

import (
	"net/http"
	"slices"

	"github.com/google/uuid"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/api"
	"github.com/guildhall/guildhall/tenants"
)

// Section is the part of the console a route belongs to.
type Section string

// The sections. The platform section answers on the platform host (no
// tenant in the request); the tenant section on a tenant's host or under
// /t/{slug}/. Public pages (sign-in) exist in both.
const (
	SectionPlatform Section = "platform"
	SectionTenant   Section = "tenant"
	SectionBoth     Section = "both"
)

// Permissions a route may declare besides the authz permissions
// ("members:read", ...) of tenant routes.
const (
	// PermissionPublic marks a page anyone may open: sign-in, sign-out
	// and the not-found page.
	PermissionPublic = "public"
	// PermissionPlatform is held by platform admins only; every platform
	// route declares it.
	PermissionPlatform = "platform"
)

// Route is one console page or form: the method and path pattern it
// answers (as http.ServeMux reads them; "" is every method), its section,
// and the permission it needs. Routes are enforced in one place: a route
// that is not public needs a signed-in session of its section (else the
// browser is sent to sign-in) holding its permission (else 403).
type Route struct {
	Method     string
	Pattern    string
	Section    Section
	Permission string
}

// route is a Route and the handler behind it.
type route struct {
	Route
	handle func(*console, http.ResponseWriter, *http.Request)
}

// routeTable is every console route. The same method and pattern may
// appear once per section; the request's section picks the entry.
var routeTable = []route{
	// Sign-in, in both sections.
	{Route{"GET", "/console/sign-in", SectionBoth, PermissionPublic}, (*console).signInPage},
	{Route{"POST", "/console/sign-in", SectionBoth, PermissionPublic}, (*console).signIn},
	{Route{"GET", "/console/sign-in/mfa", SectionBoth, PermissionPublic}, (*console).mfaPage},
	{Route{"POST", "/console/sign-in/mfa", SectionBoth, PermissionPublic}, (*console).completeMFA},
	{Route{"POST", "/console/sign-out", SectionBoth, PermissionPublic}, (*console).signOut},

	// Platform section: platform admins.
	{Route{"GET", "/console/{$}", SectionPlatform, PermissionPlatform}, (*console).home},
	{Route{"GET", "/console/tenants", SectionPlatform, PermissionPlatform}, (*console).listTenants},
	{Route{"GET", "/console/tenants/new", SectionPlatform, PermissionPlatform}, (*console).newTenant},
	{Route{"POST", "/console/tenants", SectionPlatform, PermissionPlatform}, (*console).createTenant},
	{Route{"GET", "/console/tenants/{slug}", SectionPlatform, PermissionPlatform}, (*console).showTenant},
	{Route{"POST", "/console/tenants/{slug}", SectionPlatform, PermissionPlatform}, (*console).updateTenant},
	{Route{"GET", "/console/two-step", SectionPlatform, PermissionPlatform}, (*console).twoStepPage},
	{Route{"POST", "/console/two-step", SectionPlatform, PermissionPlatform}, (*console).enrollTwoStep},
	{Route{"POST", "/console/two-step/confirm", SectionPlatform, PermissionPlatform}, (*console).confirmTwoStep},

	// Tenant section: staff, and platform admins.
	{Route{"GET", "/console/{$}", SectionTenant, "members:read"}, (*console).dashboard},
	{Route{"GET", "/console/members", SectionTenant, "members:read"}, (*console).listMembers},
	{Route{"GET", "/console/members/{id}", SectionTenant, "members:read"}, (*console).showMember},
	{Route{"POST", "/console/members/{id}/role", SectionTenant, "members:manage"}, (*console).changeRole},
	{Route{"POST", "/console/members/{id}/ban", SectionTenant, "members:manage"}, (*console).banMember},
	{Route{"POST", "/console/members/{id}/unban", SectionTenant, "members:manage"}, (*console).unbanMember},
	{Route{"GET", "/console/invitations", SectionTenant, "members:manage"}, (*console).listInvitations},
	{Route{"POST", "/console/invitations", SectionTenant, "members:manage"}, (*console).invite},
	{Route{"POST", "/console/invitations/{id}/revoke", SectionTenant, "members:manage"}, (*console).revokeInvitation},
	{Route{"GET", "/console/api-keys", SectionTenant, "api_keys:manage"}, (*console).listAPIKeys},
	{Route{"POST", "/console/api-keys", SectionTenant, "api_keys:manage"}, (*console).createAPIKey},
	{Route{"POST", "/console/api-keys/{id}/revoke", SectionTenant, "api_keys:manage"}, (*console).revokeAPIKey},
	{Route{"GET", "/console/audit", SectionTenant, "audit:read"}, (*console).listAudit},
	{Route{"GET", "/console/settings", SectionTenant, "settings:manage"}, (*console).settingsPage},
	{Route{"POST", "/console/settings", SectionTenant, "settings:manage"}, (*console).saveSettings},

	// Coins: rules and coin settings.
	{Route{"GET", "/console/rules", SectionTenant, "rules:manage"}, (*console).listRules},
	{Route{"POST", "/console/rules", SectionTenant, "rules:manage"}, (*console).createRule},
	{Route{"GET", "/console/rules/{type}", SectionTenant, "rules:manage"}, (*console).showRule},
	{Route{"POST", "/console/rules/{type}", SectionTenant, "rules:manage"}, (*console).saveRule},
	{Route{"POST", "/console/rules/{type}/delete", SectionTenant, "rules:manage"}, (*console).deleteRule},
	{Route{"POST", "/console/rules/{type}/preview", SectionTenant, "rules:manage"}, (*console).previewRule},
	{Route{"POST", "/console/rules/{type}/backtest", SectionTenant, "rules:manage"}, (*console).backtestRule},
	{Route{"GET", "/console/coin-settings", SectionTenant, "rules:manage"}, (*console).coinSettingsPage},
	{Route{"POST", "/console/coin-settings", SectionTenant, "rules:manage"}, (*console).saveCoinSettings},

	// Coins: the reward catalog and its orders.
	{Route{"GET", "/console/rewards", SectionTenant, "rewards:write"}, (*console).listRewards},
	{Route{"GET", "/console/rewards/new", SectionTenant, "rewards:write"}, (*console).newReward},
	{Route{"POST", "/console/rewards", SectionTenant, "rewards:write"}, (*console).createReward},
	{Route{"GET", "/console/rewards/{id}", SectionTenant, "rewards:write"}, (*console).showReward},
	{Route{"POST", "/console/rewards/{id}", SectionTenant, "rewards:write"}, (*console).updateReward},
	{Route{"POST", "/console/rewards/{id}/deactivate", SectionTenant, "rewards:write"}, (*console).deactivateReward},
	{Route{"POST", "/console/rewards/{id}/codes", SectionTenant, "rewards:write"}, (*console).uploadCodes},
	{Route{"GET", "/console/orders", SectionTenant, "orders:manage"}, (*console).listOrders},
	{Route{"GET", "/console/orders/{id}", SectionTenant, "orders:manage"}, (*console).showOrder},
	{Route{"POST", "/console/orders/{id}/fulfil", SectionTenant, "orders:manage"}, (*console).fulfilOrder},
	{Route{"POST", "/console/orders/{id}/cancel", SectionTenant, "orders:manage"}, (*console).cancelOrder},
	{Route{"POST", "/console/orders/{id}/reject", SectionTenant, "orders:manage"}, (*console).rejectOrder},

	// Coins: wallets and the ledger.
	{Route{"GET", "/console/members/{id}/wallet", SectionTenant, "wallets:read"}, (*console).showWallet},
	{Route{"POST", "/console/members/{id}/wallet/adjust", SectionTenant, "wallets:manage"}, (*console).adjustWallet},
	{Route{"POST", "/console/members/{id}/wallet/freeze", SectionTenant, "wallets:manage"}, (*console).freezeWallet},
	{Route{"POST", "/console/members/{id}/wallet/unfreeze", SectionTenant, "wallets:manage"}, (*console).unfreezeWallet},
	{Route{"GET", "/console/transactions/{id}", SectionTenant, "wallets:read"}, (*console).showTransaction},
	{Route{"POST", "/console/transactions/{id}/reverse", SectionTenant, "wallets:manage"}, (*console).reverseTransaction},

	// Background jobs of the tenant.
	{Route{"GET", "/console/jobs", SectionTenant, "jobs:manage"}, (*console).listJobs},
	{Route{"POST", "/console/jobs/{id}/retry", SectionTenant, "jobs:manage"}, (*console).retryJob},

	// Anything else under /console/.
	{Route{"", "/console/", SectionBoth, PermissionPublic}, (*console).notFound},
}

// Routes returns the console's route table, for tests and documentation.
func Routes() []Route {
	out := make([]Route, len(routeTable))
	for i, rt := range routeTable {
		out[i] = rt.Route
	}
	return out
}

// routes builds the handler: a mux over the route table, each entry
// behind the enforcement point, all behind cross-origin protection.
func (c *console) routes() http.Handler {
	mux := http.NewServeMux()
	var keys []string
	byKey := map[string][]route{}
	// The plugins' pages come before the catch-all not-found route, which
	// only matches what nothing else does anyway.
	for _, rt := range append(slices.Clone(routeTable), c.pluginRoutes()...) {
		key := rt.Pattern
		if rt.Method != "" {
			key = rt.Method + " " + rt.Pattern
		}
		if _, seen := byKey[key]; !seen {
			keys = append(keys, key)
		}
		byKey[key] = append(byKey[key], rt)
	}
	for _, key := range keys {
		rts := byKey[key]
		mux.HandleFunc(key, func(w http.ResponseWriter, r *http.Request) {
			api.SetRoute(r.Context(), "console "+key)
			section := SectionPlatform
			if _, ok := tenants.FromContext(r.Context()); ok {
				section = SectionTenant
			}
			i := slices.IndexFunc(rts, func(rt route) bool { return rt.Section == section || rt.Section == SectionBoth })
			if i < 0 {
				c.notFound(w, r)
				return
			}
			c.serve(rts[i], w, r)
		})
	}
	csrf := http.NewCrossOriginProtection()
	csrf.SetDenyHandler(http.HandlerFunc(c.crossOrigin))
	return csrf.Handler(mux)
}

// serve is the console's one enforcement point: it lets public routes
// through, sends a browser without a session of the request's section to
// sign-in, refuses a session without the route's permission (403), and
// otherwise runs the handler with the principal in the context, where the
// services and the audit log take it from.
func (c *console) serve(rt route, w http.ResponseWriter, r *http.Request) {
	if rt.Permission == PermissionPublic {
		rt.handle(c, w, r)
		return
	}
	s, ok, err := c.authenticate(r)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	if !ok {
		c.toSignIn(w, r)
		return
	}
	r = r.WithContext(withSession(r.Context(), s))
	if !c.allowed(s, rt.Route) {
		c.forbidden(w, r)
		return
	}
	api.Annotate(r.Context(), "principal", s.Principal.Name)
	rt.handle(c, w, r)
}

// allowed reports whether s holds rt's permission.
func (c *console) allowed(s session, rt Route) bool {
	switch {
	case rt.Permission == PermissionPublic:
		return true
	case rt.Section == SectionPlatform || rt.Permission == PermissionPlatform:
		return s.Principal.Kind == engine.PrincipalPlatform && s.Principal.TenantID == uuid.Nil
	default:
		return c.authz.Can(s.Principal, rt.Permission)
	}
}
