package web

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/a-h/templ"
	"github.com/google/uuid"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/api"
	"github.com/guildhall/guildhall/engine/inbox"
	"github.com/guildhall/guildhall/tenants"
)

// notificationsPageSize is how many notifications a page of the list shows.
const notificationsPageSize = 20

// notificationRoutes registers the notifications through route (which
// serves them to active tenants only). All are for signed-in members:
// anyone else is sent to sign in and back, except that a WebSocket
// handshake without a session is answered 401 (a WebSocket client cannot
// follow a redirect).
func (a *app) notificationRoutes(route func(pattern string, h http.HandlerFunc)) {
	route("GET /notifications", a.notificationsPage)
	route("POST /notifications/read-all", a.markAllRead)
	route("POST /notifications/settings", a.saveNotificationSettings)
	route("GET /notifications/{id}/open", a.openNotification)
	route("GET /notifications/live", a.liveNotifications)
}

// liveConfig is what live.js learns from the page, through attributes of
// <body>.
type liveConfig struct {
	// Base is the tenant's base path ("" or "/t/{slug}").
	Base string
	// LastSeq is the seq of the member's newest notification when the page
	// was made (0: none yet): live.js resumes after it, so a notification
	// that commits while the page loads is not missed. -1 when it could
	// not be read; live.js then takes only what commits once it connects.
	LastSeq int64
}

// attrs are the <body> attributes live.js reads: data-live-base and
// data-live-seq. None without live updates.
func (l *liveConfig) attrs() templ.Attributes {
	if l == nil {
		return templ.Attributes{}
	}
	at := templ.Attributes{"data-live-base": l.Base}
	if l.LastSeq >= 0 {
		at["data-live-seq"] = strconv.FormatInt(l.LastSeq, 10)
	}
	return at
}

// bell puts the notifications' bell in b's header with the signed-in
// member's unread count, and turns on the live updates. It reads the count
// and the member's newest seq; a failure leaves the page without the
// badge (or live.js without a seq to resume from) rather than failing it.
func (a *app) bell(ctx context.Context, b *brand) {
	base := tenants.BasePath(ctx)
	b.Account.Notifications = base + "/notifications"
	if n, err := a.inbox.UnreadCount(ctx); err == nil {
		b.Account.Unread = &n
	} else {
		a.log.WarnContext(ctx, "read unread notifications", "error", err)
	}
	live := &liveConfig{Base: base, LastSeq: -1}
	if p, err := a.inbox.List(ctx, inbox.ListParams{Limit: 1}); err == nil {
		live.LastSeq = 0
		if len(p.Notifications) > 0 {
			live.LastSeq = p.Notifications[0].Seq
		}
	} else {
		a.log.WarnContext(ctx, "read last notification seq", "error", err)
	}
	b.Live = live
}

// unreadBadge is the bell's badge text: the count, "" when unknown.
func unreadBadge(n *int64) string {
	if n == nil {
		return ""
	}
	return strconv.FormatInt(*n, 10)
}

// notificationsView is a page of the signed-in member's notifications and
// their digest setting.
type notificationsView struct {
	Brand brand
	// Unread says the list shows unread notifications only; AllURL and
	// UnreadURL are the filter's links.
	Unread    bool
	AllURL    string
	UnreadURL string
	Items     []notificationRow
	Next      string
	First     string
	// FirstPage marks the newest page, where live.js adds notifications
	// that arrive while it is open.
	FirstPage bool
	// MarkAll is the "Mark all as read" form, shown when something is
	// unread; it marks everything up to UpToSeq, the newest seq shown, so
	// what arrives meanwhile stays unread.
	MarkAll       form
	ShowMarkAll   bool
	UpToSeq       int64
	MarkAllAction string
	// Settings is the digest form; Digest its state.
	Settings       form
	Digest         bool
	SettingsAction string
}

// filterValue is the unread filter as a query or form value.
func (v notificationsView) filterValue() string {
	if v.Unread {
		return "1"
	}
	return ""
}

// notificationRow is one notification as the list shows it.
type notificationRow struct {
	ID     string
	Seq    int64
	Kind   string
	Text   string
	Unread bool
	// Open marks it read and goes to its page
	// (/notifications/{id}/open?seq=…); "" when its link is not a path of
	// the app, which is then not linked at all.
	Open string
	// When is how long ago, or the date and time in the tenant's zone
	// (At) once it is a week old; ISO is for <time datetime>.
	When string
	At   string
	ISO  string
}

func toRow(ctx context.Context, n inbox.Notification, now time.Time, loc *time.Location) notificationRow {
	at := n.CreatedAt.In(loc)
	row := notificationRow{
		ID: n.ID.String(), Seq: n.Seq, Kind: n.Kind, Text: n.Text, Unread: n.ReadAt == nil,
		When: relativeTime(n.CreatedAt, now, loc), At: at.Format(timeLayout), ISO: at.Format(time.RFC3339),
	}
	if appLink(n.Link) {
		row.Open = link(ctx, "/notifications/"+n.ID.String()+"/open", "seq", strconv.FormatInt(n.Seq, 10))
	}
	return row
}

// appLink reports whether a notification's link is a path of the app
// ("/posts/1"), the only kind the app links to or redirects to. The inbox
// already refuses URLs, "//host" and "/\host"; safeNext also refuses dot
// segments, which the inbox lets through ("/../x") and which, under the
// tenant's base path, would climb out of it.
func appLink(l string) bool { return safeNext(l) != "" }

// relativeTime is when t was, as people say it: "just now", "5 minutes
// ago", "3 hours ago", "2 days ago", then the date and time in loc.
func relativeTime(t, now time.Time, loc *time.Location) string {
	d := now.Sub(t)
	const day = 24 * time.Hour
	switch {
	case d < time.Minute:
		// Including a little clock skew into the future.
		return "just now"
	case d < time.Hour:
		return ago(int64(d/time.Minute), "minute")
	case d < day:
		return ago(int64(d/time.Hour), "hour")
	case d < 7*day:
		return ago(int64(d/day), "day")
	}
	return t.In(loc).Format(timeLayout)
}

func ago(n int64, unit string) string {
	if n != 1 {
		unit += "s"
	}
	return strconv.FormatInt(n, 10) + " " + unit + " ago"
}

func (a *app) notificationsPage(w http.ResponseWriter, r *http.Request) {
	if _, ok := signedIn(w, r, here(r)); !ok {
		return
	}
	q := r.URL.Query()
	a.renderNotifications(w, r, q.Get("unread") == "1", q.Get("cursor"), http.StatusOK, nil)
}

// renderNotifications answers the page of the list at cursor with status;
// edit, when set, adjusts the view first (a form coming back with its
// problems). A cursor the app did not write is the stale-page page (400).
func (a *app) renderNotifications(w http.ResponseWriter, r *http.Request, unread bool, cursor string, status int, edit func(*notificationsView)) {
	ctx := r.Context()
	v := notificationsView{
		Unread:         unread,
		AllURL:         link(ctx, "/notifications"),
		UnreadURL:      link(ctx, "/notifications", "unread", "1"),
		MarkAll:        newForm("up_to_seq"),
		MarkAllAction:  link(ctx, "/notifications/read-all"),
		Settings:       newForm("digest"),
		SettingsAction: link(ctx, "/notifications/settings"),
	}
	first := link(ctx, "/notifications", "unread", v.filterValue())
	page, err := a.inbox.List(ctx, inbox.ListParams{Unread: unread, Cursor: cursor, Limit: notificationsPageSize})
	if engine.ErrorCode(err) == engine.CodeInvalid {
		a.stalePage(w, r, first)
		return
	}
	if err != nil {
		a.pageError(w, r, err)
		return
	}
	settings, err := a.inbox.Settings(ctx)
	if err != nil {
		a.pageError(w, r, err)
		return
	}
	v.Brand = a.pageBrand(r)
	v.Digest = settings.Digest
	now, loc := a.now(), tenantLocation(ctx)
	anyUnread := v.Brand.Account != nil && v.Brand.Account.Unread != nil && *v.Brand.Account.Unread > 0
	for _, n := range page.Notifications {
		row := toRow(ctx, n, now, loc)
		anyUnread = anyUnread || row.Unread
		v.Items = append(v.Items, row)
	}
	if len(page.Notifications) > 0 {
		v.UpToSeq = page.Notifications[0].Seq
		v.ShowMarkAll = anyUnread
	}
	if page.Next != "" {
		v.Next = link(ctx, "/notifications", "unread", v.filterValue(), "cursor", page.Next)
	}
	if cursor != "" {
		v.First = first
	} else {
		v.FirstPage = true
	}
	if edit != nil {
		edit(&v)
	}
	a.render(w, r, status, notificationsPage(v))
}

// markAllRead marks the member's notifications up to the posted
// up_to_seq (the newest the page showed) read, and goes back to the list.
func (a *app) markAllRead(w http.ResponseWriter, r *http.Request) {
	if _, ok := signedIn(w, r, "/notifications"); !ok {
		return
	}
	ctx := r.Context()
	unread := r.PostFormValue("unread") == "1"
	upTo, err := strconv.ParseInt(r.PostFormValue("up_to_seq"), 10, 64)
	if err == nil && upTo >= 1 {
		_, err = a.inbox.MarkAllRead(ctx, upTo)
	} else {
		err = engine.Invalid([]engine.FieldError{{Field: "up_to_seq", Message: "must be 1 or more"}})
	}
	if err != nil {
		f := postedForm(r, "up_to_seq")
		status := a.fail(r, &f, err, nil)
		if engine.ErrorCode(err) == engine.CodeInvalid {
			// A hidden field: the member can only reload and try again.
			f.Error = "This list changed or the form was damaged. Reload the page and try again."
		}
		a.renderNotifications(w, r, unread, "", status, func(v *notificationsView) { v.MarkAll = f })
		return
	}
	filter := ""
	if unread {
		filter = "1"
	}
	redirect(w, r, link(ctx, "/notifications", "unread", filter, "notice", "notifications-read"))
}

// saveNotificationSettings saves the digest checkbox (checked: "on"; left
// out: off, as browsers send an unchecked box). SetSettings replaces all
// of the member's settings, so the others are read first and kept: this
// form only speaks for the digest.
func (a *app) saveNotificationSettings(w http.ResponseWriter, r *http.Request) {
	if _, ok := signedIn(w, r, "/notifications"); !ok {
		return
	}
	ctx := r.Context()
	f := postedForm(r, "digest")
	var digest bool
	switch f.Get("digest") {
	case "":
	case "on", "true", "1":
		digest = true
	default:
		f.Fail("digest", "Tick the box for a daily digest, or leave it empty for none.")
	}
	status := http.StatusUnprocessableEntity
	if !f.Invalid() {
		set, err := a.inbox.Settings(ctx)
		if err == nil {
			set.Digest = digest
			_, err = a.inbox.SetSettings(ctx, set)
		}
		if err == nil {
			notice := "digest-off"
			if digest {
				notice = "digest-on"
			}
			redirect(w, r, link(ctx, "/notifications", "notice", notice))
			return
		}
		status = a.fail(r, &f, err, nil)
	}
	a.renderNotifications(w, r, false, "", status, func(v *notificationsView) {
		v.Settings = f
		v.Digest = digest
	})
}

// openNotification marks one of the member's notifications read and goes
// to its page (or back to the list when it has no page in the app). The
// link carries the notification's seq beside its ID: the inbox finds a
// member's notification by seq in one indexed read, and only the member's
// own notification with both that seq and that ID opens. Any other ID,
// another member's included, is the 404 page.
func (a *app) openNotification(w http.ResponseWriter, r *http.Request) {
	if _, ok := signedIn(w, r, here(r)); !ok {
		return
	}
	id, idOK := pathID(r)
	seq, err := strconv.ParseInt(r.URL.Query().Get("seq"), 10, 64)
	if !idOK || err != nil || seq < 1 {
		a.notFound(w, r)
		return
	}
	ctx := r.Context()
	ns, err := a.inbox.Since(ctx, seq-1, 1)
	if err != nil {
		a.pageError(w, r, err)
		return
	}
	if len(ns) == 0 || ns[0].ID != id || ns[0].Seq != seq {
		a.notFound(w, r)
		return
	}
	n := ns[0]
	if n.ReadAt == nil {
		if _, err := a.inbox.MarkRead(ctx, []uuid.UUID{n.ID}); err != nil {
			a.pageError(w, r, err)
			return
		}
	}
	target := link(ctx, "/notifications")
	if appLink(n.Link) {
		target = link(ctx, n.Link)
	}
	redirect(w, r, target)
}

// liveNotifications upgrades to the hub's WebSocket for the member of the
// session cookie (see docs/notifications.md for the messages). The hub
// accepts same-origin pages only (and HubConfig.AllowedOrigins), which is
// what keeps another site from opening it with the member's cookie. A
// handshake without a session is answered 401 (problem+json, as the hub's
// own refusals are); a plain GET is sent to sign in, as pages are.
func (a *app) liveNotifications(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	t, _ := activeTenant(ctx)
	v, ok := ctx.Value(viewerKey{}).(viewer)
	if !ok || v.principal.TenantID != t.ID {
		if webSocketHandshake(r) {
			api.WriteProblem(w, r, 0, inbox.ErrSignedOut)
			return
		}
		redirect(w, r, link(ctx, "/sign-in", "next", "/notifications"))
		return
	}
	a.hub.Serve(w, r, t.ID, v.principal.UserID, v.principal.SessionID)
}

// webSocketHandshake reports whether r asks to upgrade to a WebSocket.
func webSocketHandshake(r *http.Request) bool {
	for _, v := range r.Header.Values("Upgrade") {
		for tok := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(tok), "websocket") {
				return true
			}
		}
	}
	return false
}
