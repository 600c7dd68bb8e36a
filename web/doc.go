// Package web is the branded end-user web app: server-rendered HTML (templ)
// made interactive with htmx, for the tenant a request is for.
//
// The tenant comes from the request context (tenants.FromContext), put there
// by the server's tenant middleware, which also strips any /t/{slug} prefix
// from the path; every link, form action, redirect and cookie path the app
// writes is prefixed with tenants.BasePath so it works both on the tenant's
// own host and on the platform host. Plugins add pages through
// plugin.WebProvider.
//
// Members sign up (with an emailed code to confirm the address), sign in
// with a password or an emailed code (then a TOTP or recovery code when
// two-step sign-in is on), reset a forgotten password, manage their profile
// (name, avatar, password, phone, two-step sign-in, deletion) and accept
// invitations, all through engine/identity. The session is an opaque token
// in the HttpOnly, SameSite=Lax cookie gh_web scoped to the tenant's base
// path; a pending second factor waits in gh_mfa for five minutes.
//
// Signed-in members also have the coin pages (when Deps has the ledger and
// rewards services): their wallet (balance, debt and freeze notices, coins
// about to expire, the history filtered by kind and tenant-local dates and
// paged by cursor), the reward catalog, a reward's page with its redeem
// form (a shipping address for physical rewards), and their orders. The
// header shows their balance and links to these pages. Anyone signed out
// is sent to sign in and back (a safeNext path).
//
// With the inbox (Deps.Inbox and Deps.Hub) signed-in members also have
// their notifications: the header's bell with the unread count, the
// /notifications page (newest first, paged by cursor, all or unread only,
// "Mark all as read", the daily digest setting), and opening a
// notification (/notifications/{id}/open?seq=…), which marks it read and
// goes to its page. Their pages load static/live.js, which connects to
// /notifications/live — the inbox Hub's WebSocket behind the session
// cookie — and keeps the badge, the header balance and the list current,
// showing each new notification in a status toast.
//
// Guarantees:
//
//   - A page of a plugin the tenant has not enabled answers the app's 404
//     page, exactly like a path that does not exist.
//   - Tenant- and user-supplied text (names, colours, logo, avatar and
//     reward image URLs, reward descriptions, staff reasons) is always
//     escaped or sanitized by templ, and reward images load over https only;
//     notices come from a fixed list, and after signing in the app only
//     goes to paths of its own (safeNext), never to another site or tenant.
//   - Pages carry no inline script, so they work under the server's
//     Content-Security-Policy; every page and form works without JavaScript;
//     htmx only boosts the profile's forms and the redeem form, and live.js
//     only adds live updates.
//   - Notification text is plain text: the page escapes it and live.js
//     sets it with textContent. Only a link that is a path of the app
//     (safeNext) is linked to or redirected to, under the tenant's base
//     path; any other is shown as text. A member opens, marks and sees
//     only their own notifications: another member's or another tenant's
//     notification is the 404 page. "Mark all as read" marks up to the
//     newest notification the page showed, so one that arrived meanwhile
//     stays unread.
//   - The live stream serves only the member of the session cookie, on the
//     tenant that issued it, to pages of the same origin (or
//     HubConfig.AllowedOrigins): the hub refuses other origins (403), so
//     another site cannot open it with the member's cookie. A handshake
//     without a valid session is answered 401 before any upgrade. live.js
//     resumes after the last seq it saw, so a reconnect misses nothing and
//     repeats nothing.
//   - A session cookie is only accepted by the tenant that issued it, and an
//     invalid, revoked or foreign one is cleared. The signed-in user's
//     principal is in the context of every page (engine.PrincipalFrom),
//     plugin pages included.
//   - State-changing requests from another site are refused with 403
//     (http.CrossOriginProtection) before any handler runs.
//   - A redeem form carries an idempotency key made when the page was
//     rendered: sending it twice, one after the other or at once, places
//     one order and spends the coins once. A refused redemption
//     (insufficient coins, out of stock, limit reached, frozen wallet, bad
//     address) comes back as the form with the reason (4xx) and spends
//     nothing. Another member's order and another tenant's reward are the
//     404 page.
//   - Password and code attempts, code requests and sign-ups are throttled
//     per tenant and client IP (when a ratelimit.Limiter is given) with a
//     readable 429 page and Retry-After; bad input of any form comes back as
//     the form with its errors (422), never a 5xx.
package web
