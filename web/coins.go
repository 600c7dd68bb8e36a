package web

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/identity"
	"github.com/guildhall/guildhall/tenants"
)

// Page sizes of the coin pages' lists.
const (
	historyPageSize = 20
	catalogPageSize = 24
	ordersPageSize  = 20
)

// coinRoutes registers the coin pages through route (which serves them to
// active tenants only). Every one is for signed-in members: anyone else is
// sent to sign in and back.
func (a *app) coinRoutes(route func(pattern string, h http.HandlerFunc)) {
	route("GET /wallet", a.walletPage)
	route("GET /rewards", a.rewardsPage)
	route("GET /rewards/{id}", a.rewardPage)
	route("POST /rewards/{id}/redeem", a.redeem)
	route("GET /orders", a.ordersPage)
	route("GET /orders/{id}", a.orderPage)
}

// signedIn returns the signed-in user, or sends the browser to sign in and
// then on to next (an app path, checked by safeNext) and reports false.
func signedIn(w http.ResponseWriter, r *http.Request, next string) (identity.User, bool) {
	u, ok := userFrom(r.Context())
	if !ok {
		redirect(w, r, link(r.Context(), "/sign-in", "next", safeNext(next)))
	}
	return u, ok
}

// here is r's path and query relative to the tenant's root, to come back
// to after signing in.
func here(r *http.Request) string { return r.URL.RequestURI() }

// pathID parses the {id} of r's path; a malformed one is a page that does
// not exist.
func pathID(r *http.Request) (uuid.UUID, bool) {
	id, err := uuid.Parse(r.PathValue("id"))
	return id, err == nil && id != uuid.Nil
}

// pageError answers a failure to build a page: the 404 page for not_found
// (another member's order, another tenant's reward), else a logged error
// and a generic 500 page.
func (a *app) pageError(w http.ResponseWriter, r *http.Request, err error) {
	if engine.ErrorCode(err) == engine.CodeNotFound {
		a.notFound(w, r)
		return
	}
	a.log.ErrorContext(r.Context(), "web coin page", "error", err)
	a.render(w, r, http.StatusInternalServerError, messagePage(messageView{
		Brand:   a.pageBrand(r),
		Title:   "Something went wrong",
		Message: "Something went wrong on our side. Please try again in a moment.",
		TestID:  "internal-error",
	}))
}

// stalePage answers a list page whose cursor is not one the app wrote (an
// edited or very old link): nothing to show but the way to the first page.
func (a *app) stalePage(w http.ResponseWriter, r *http.Request, first string) {
	a.render(w, r, http.StatusBadRequest, messagePage(messageView{
		Brand:   a.pageBrand(r),
		Title:   "Page not available",
		Message: "This page of the list is no longer available. Start again from the first page.",
		TestID:  "stale-page",
		Back:    first,
	}))
}

// newKey is the idempotency key of a form that spends coins, made when the
// form is rendered: submitting the same form twice places one order.
// UUIDv7 keeps the database's key index hot (docs/coins.md).
func newKey() string { return uuid.Must(uuid.NewV7()).String() }

var (
	locMu sync.Mutex
	locs  = map[string]*time.Location{}
)

// tenantLocation is the time zone of the request's tenant (UTC when it
// cannot be loaded): days on the coin pages are the tenant's days, as caps
// and expiry are.
func tenantLocation(ctx context.Context) *time.Location {
	t, _ := tenants.FromContext(ctx)
	locMu.Lock()
	defer locMu.Unlock()
	if l, ok := locs[t.TimeZone]; ok {
		return l
	}
	l, err := time.LoadLocation(t.TimeZone)
	if err != nil || t.TimeZone == "" {
		l = time.UTC
	}
	locs[t.TimeZone] = l
	return l
}

const (
	dayLayout  = "2 Jan 2006"
	timeLayout = "2 Jan 2006, 15:04"
)

// group writes n with thousands separators: 1,250.
func group(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// coinCount is an amount of coins as a sentence says it: "1 coin",
// "1,250 coins".
func coinCount(n int64) string {
	if n == 1 || n == -1 {
		return group(n) + " coin"
	}
	return group(n) + " coins"
}

// signed is a movement of coins: "+10", "-5".
func signed(n int64) string {
	if n > 0 {
		return "+" + group(n)
	}
	return group(n)
}

// httpsImage returns u when it is an https URL a page may load an image
// from, else "". The service only stores such URLs; this keeps a page
// from loading anything else if one ever is not.
func httpsImage(u string) string {
	if len(u) > len("https://") && strings.EqualFold(u[:len("https://")], "https://") && !strings.ContainsAny(u, " \t\r\n\"'<>\\") {
		return u
	}
	return ""
}
