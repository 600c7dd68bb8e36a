// Package console is the admin console: server-rendered HTML (templ) made
// interactive with htmx, served under /console/ of every host.
//
// It has two sections, picked by the tenant the server's middleware put in
// the request's context:
//
//   - the platform section, on the platform host: platform admins list,
//     create and edit tenants and turn on two-step sign-in;
//   - the tenant section, on a tenant's host or under /t/{slug}/ (every
//     link, redirect and cookie path then carries that prefix): the
//     tenant's staff, and platform admins, manage members, invitations,
//     API keys and request limits and read the audit log, in the tenant's
//     colours; and run the coins: rules (with previews and backtests of
//     unsaved edits), coin settings, the reward catalog and its orders,
//     members' wallets and the ledger (grants, deductions, freezes,
//     reversals), background jobs, and a dashboard charting the coins
//     issued and redeemed per day.
//
// Everything but the sign-in pages needs a session: a staff member's
// console cookie (gh_console, scoped to the tenant's path), or a platform
// admin's (gh_platform), which is also accepted in every tenant.
//
// Guarantees:
//
//   - One enforcement point: every route is declared in Routes with its
//     section and permission (PermissionPublic, PermissionPlatform, or an
//     authz permission); a request without a session of its section is
//     sent to sign-in (303, with a next that can only point back into the
//     console), one without the permission gets a 403 page, and handlers
//     run with the principal in the context, where the services and the
//     audit log take it from.
//   - Every state-changing request passes Go's cross-origin protection
//     (CSRF) first and is refused with 403 when it comes from another site;
//     session cookies are HttpOnly, SameSite=Lax and Secure over TLS.
//   - Sign-in attempts are throttled per client IP with the tenant's
//     sign-in limit (429); account lock-out is the identity service's.
//   - A form that moves coins (adjustments, reversals, refunds) carries an
//     idempotency key made when the form was shown, so submitting it twice
//     applies it once.
//   - Bad input never answers 5xx: forms come back with every problem by
//     its field (422), refusals with their reason (403, 409), and nothing
//     is changed. Secrets (API key tokens, invitation links, TOTP secrets)
//     are shown once, on the page that made them, and never cached.
//   - Pages carry no inline script, so they work under the server's
//     Content-Security-Policy, and every form works without JavaScript.
//
// Handlers only decode, call one service method and render.
package console
