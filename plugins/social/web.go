package social

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"

	"github.com/a-h/templ"
	"github.com/google/uuid"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/plugin"
)

// The member web app's pages (plugin.WebProvider). They render inside the
// host's layout through the plugin.Frame in the request context and call
// the Service for everything.
//
// Decisions the pages rest on:
//
//   - Reading is open: the Service serves the community feed, posts with
//     their comments, profiles and follower lists without a principal, so
//     signed-out visitors read them too (without like state). Everything
//     that writes, and the following feed, needs a member: a visitor is
//     sent to the host's sign-in page (Frame.SignIn) and back to the page
//     they came from — never to a form action, which only answers POST.
//   - Every page and form works without JavaScript: forms post and answer
//     303 to a page, or come back with their problems (422; 403 for a
//     refusal, 429 with Retry-After past a rate limit). htmx enhances the
//     like and follow buttons and the comment and reply forms: an htmx
//     request (HX-Request) gets the fragment to swap instead of a
//     redirect, and a refused one gets the fragment with the reason as a
//     422 (the layout's htmx config swaps 422s in; 4xx and 5xx others are
//     not shown).
//   - After a like, unlike, follow or unfollow the browser goes back to
//     the form's "return" path only when it is a path of this app
//     (webReturn); anything else falls back to the post or profile, so the
//     forms are no open redirect.
//   - The compose form carries an idempotency key made when the page was
//     rendered (PostParams.IdempotencyKey): sending it twice publishes one
//     post. Its text is checked before the images are uploaded.
//   - Member text is rendered from Segments only, each piece escaped by
//     templ; links are http(s) with rel="nofollow ugc noopener" and open in
//     a new tab, mentions link to /members/{handle}. Avatars and images
//     load from https or app paths only.
//   - Times are relative ("5 min ago") with the exact UTC time in the
//     <time> element's title: plugins know no tenant time zone.

// webPageSize is how many posts or comments a page shows.
const webPageSize = 20

// WebPages implements plugin.WebProvider.
func (p *Plugin) WebPages() []plugin.Page {
	h := webHandler
	return []plugin.Page{
		{Method: http.MethodGet, Path: "/feed", Title: "Feed", Nav: true, Handler: h(p.feedPage)},
		{Method: http.MethodPost, Path: "/posts", Handler: h(p.createPost)},
		{Method: http.MethodGet, Path: "/posts/{id}", Handler: h(p.postPage)},
		{Method: http.MethodGet, Path: "/posts/{id}/edit", Handler: h(p.editPostPage)},
		{Method: http.MethodPost, Path: "/posts/{id}/edit", Handler: h(p.editPost)},
		{Method: http.MethodPost, Path: "/posts/{id}/delete", Handler: h(p.deletePost)},
		{Method: http.MethodPost, Path: "/posts/{id}/like", Handler: h(p.likePost(true))},
		{Method: http.MethodPost, Path: "/posts/{id}/unlike", Handler: h(p.likePost(false))},
		{Method: http.MethodPost, Path: "/posts/{id}/comments", Handler: h(p.createComment)},
		{Method: http.MethodPost, Path: "/posts/{id}/report", Handler: h(p.reportPost)},
		{Method: http.MethodGet, Path: "/comments/{id}", Handler: h(p.commentPage)},
		{Method: http.MethodPost, Path: "/comments/{id}/edit", Handler: h(p.editComment)},
		{Method: http.MethodPost, Path: "/comments/{id}/delete", Handler: h(p.deleteComment)},
		{Method: http.MethodPost, Path: "/comments/{id}/report", Handler: h(p.reportComment)},
		{Method: http.MethodGet, Path: "/members/{handle}", Handler: h(p.profilePage)},
		{Method: http.MethodGet, Path: "/members/{handle}/followers", Handler: h(p.followListPage(true))},
		{Method: http.MethodGet, Path: "/members/{handle}/following", Handler: h(p.followListPage(false))},
		{Method: http.MethodPost, Path: "/members/{handle}/follow", Handler: h(p.follow(true))},
		{Method: http.MethodPost, Path: "/members/{handle}/unfollow", Handler: h(p.follow(false))},
		{Method: http.MethodGet, Path: "/me/social", Handler: h(p.settingsPage)},
		{Method: http.MethodPost, Path: "/me/social", Handler: h(p.saveSettings)},
		{Method: http.MethodGet, Path: "/social/sign-in", Handler: h(p.signInPage)},
	}
}

// webSection is the navigation entry every social page belongs to.
const webSection = "/feed"

// webHandler adapts a page to http.Handler, handing it the host's Frame.
func webHandler(page func(http.ResponseWriter, *http.Request, plugin.Frame)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, ok := plugin.FrameFrom(r.Context())
		if !ok {
			// Hosts always set one: this is a wiring error.
			http.Error(w, "This page is served by the web app only.", http.StatusInternalServerError)
			return
		}
		page(w, r, f)
	})
}

// webMember returns the signed-in member of r, if any.
func webMember(r *http.Request) (uuid.UUID, bool) {
	p, ok := engine.PrincipalFrom(r.Context())
	if !ok || p.Kind != engine.PrincipalUser || p.UserID == uuid.Nil {
		return uuid.Nil, false
	}
	return p.UserID, true
}

// webSignIn sends a visitor to sign in and then to back, a path of this
// app (not r's, which may be a form action that answers POST only). An
// htmx request is told to go there with HX-Redirect, since a redirect
// would be followed and swapped into the button.
func webSignIn(w http.ResponseWriter, r *http.Request, f plugin.Frame, back string) {
	u, err := url.Parse(back)
	if err != nil {
		u = &url.URL{Path: "/feed"}
	}
	r2 := r.Clone(r.Context())
	r2.Method = http.MethodGet
	r2.URL = &url.URL{Path: u.Path, RawQuery: u.RawQuery}
	r2.RequestURI = r2.URL.RequestURI()
	if !webHTMX(r) {
		f.SignIn(w, r2)
		return
	}
	rec := &redirectRecorder{header: http.Header{}}
	f.SignIn(rec, r2)
	w.Header().Set("HX-Redirect", rec.header.Get("Location"))
	w.WriteHeader(http.StatusNoContent)
}

// redirectRecorder catches the redirect Frame.SignIn writes.
type redirectRecorder struct {
	header http.Header
}

func (r *redirectRecorder) Header() http.Header         { return r.header }
func (r *redirectRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (r *redirectRecorder) WriteHeader(int)             {}

// webHTMX reports whether htmx sent r: it wants a fragment.
func webHTMX(r *http.Request) bool { return r.Header.Get("HX-Request") == "true" }

// webID parses the {id} of r's path; a malformed one is a page that does
// not exist.
func webID(r *http.Request) (uuid.UUID, bool) {
	id, err := uuid.Parse(r.PathValue("id"))
	return id, err == nil && id != uuid.Nil
}

// webReturn returns s when it is a path of this app relative to the
// tenant's root ("/feed?scope=following"), else fallback: never another
// host ("//evil.example", "https://…"), a backslash trick, control
// characters or dot segments.
func webReturn(s, fallback string) string {
	if s == "" || len(s) > 2048 || s[0] != '/' || strings.HasPrefix(s, "//") || strings.ContainsRune(s, '\\') ||
		strings.IndexFunc(s, unicode.IsControl) >= 0 {
		return fallback
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" ||
		!strings.HasPrefix(u.Path, "/") || strings.HasPrefix(u.Path, "//") {
		return fallback
	}
	for seg := range strings.SplitSeq(u.Path, "/") {
		if seg == "." || seg == ".." {
			return fallback
		}
	}
	return s
}

// webRedirect answers a form post with 303 to p, a path of this app.
func webRedirect(w http.ResponseWriter, r *http.Request, f plugin.Frame, p string) {
	http.Redirect(w, r, f.Path(r, p), http.StatusSeeOther)
}

// withDone adds ?done=key (a webNotices key) to path p.
func withDone(p, key string) string {
	frag := ""
	if i := strings.IndexByte(p, '#'); i >= 0 {
		p, frag = p[:i], p[i:]
	}
	sep := "?"
	if strings.Contains(p, "?") {
		sep = "&"
	}
	return p + sep + "done=" + key + frag
}

// webNotices are what a page says after a form sent the browser to it
// (?done=key). Only these fixed texts are shown, so a link cannot put
// words on a community's page.
var webNotices = map[string]string{
	"posted":           "Your post is published.",
	"post-edited":      "Your post is updated.",
	"post-deleted":     "Your post is deleted.",
	"commented":        "Your comment is published.",
	"comment-edited":   "Your comment is updated.",
	"comment-deleted":  "Your comment is deleted.",
	"reported":         "Thank you: the moderators will look at your report.",
	"already-reported": "You have already reported this; the moderators will look at it.",
	"profile-saved":    "Your social profile is saved.",
	"followed":         "You follow this member now.",
	"unfollowed":       "You no longer follow this member.",
}

func webNotice(r *http.Request) string { return webNotices[r.URL.Query().Get("done")] }

// webRender writes a page in the host's layout.
func webRender(w http.ResponseWriter, r *http.Request, f plugin.Frame, status int, title string, body templ.Component) {
	f.Render(w, r, status, plugin.View{Title: title, Body: body, Section: webSection, Styles: []string{"social.css"}})
}

// webFragment writes an htmx fragment, rendered to a buffer first so a
// failing component never leaves half of one behind a 200.
func webFragment(w http.ResponseWriter, r *http.Request, f plugin.Frame, status int, c templ.Component) {
	var buf bytes.Buffer
	if err := c.Render(r.Context(), &buf); err != nil {
		f.Fail(w, r, fmt.Errorf("render fragment: %w", err))
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// webForm is what a form shows besides its inputs: the values sent (to
// show them again), each input's problem and a message about the whole
// form.
type webForm struct {
	Values map[string]string
	Errors map[string]string
	Error  string
}

func newWebForm() webForm {
	return webForm{Values: map[string]string{}, Errors: map[string]string{}}
}

// Get returns the value of input name.
func (f webForm) Get(name string) string { return f.Values[name] }

// Invalid reports whether the form has problems to show.
func (f webForm) Invalid() bool { return len(f.Errors) > 0 || f.Error != "" }

// invalid returns the attributes marking input name (with id) invalid,
// pointing to its message.
func (f webForm) invalid(name, id string) templ.Attributes {
	if f.Errors[name] == "" {
		return templ.Attributes{}
	}
	return templ.Attributes{"aria-invalid": "true", "aria-describedby": id + "-error"}
}

// webLabels name the services' fields in sentences about them.
var webLabels = map[string]string{
	"text":            "The text",
	"images":          "Images",
	"image":           "The image",
	"handle":          "The handle",
	"bio":             "The bio",
	"reason":          "The reason",
	"parent_id":       "The comment replied to",
	"idempotency_key": "The form",
}

// webFailure is how a form fails: whether the Frame answered already
// (not found, internal), else the status to answer the form with.
type webFailure struct {
	handled bool
	status  int
}

// webFail shows err on form (field problems beside their inputs when the
// form has them, anything else above it) and returns the status: 403 for
// a refusal, 429 past a rate limit (with Retry-After set on w), 503 when
// a feature is unavailable, 422 otherwise. Not found and internal errors
// are the Frame's pages (the error is logged there), and so handled.
func webFail(w http.ResponseWriter, r *http.Request, f plugin.Frame, err error, form *webForm, fields ...string) webFailure {
	code := engine.ErrorCode(err)
	switch code {
	case engine.CodeNotFound, engine.CodeInternal, engine.CodeUnauthenticated:
		f.Fail(w, r, err)
		return webFailure{handled: true}
	}
	fes := engine.ErrorFields(err)
	for _, fe := range fes {
		sentence := fe.Message + "."
		if l, ok := webLabels[fe.Field]; ok {
			sentence = l + " " + sentence
		}
		known := false
		for _, n := range fields {
			known = known || n == fe.Field
		}
		switch {
		case known && form.Errors[fe.Field] == "":
			form.Errors[fe.Field] = sentence
		case !known && form.Error == "":
			form.Error = sentence
		}
	}
	if len(fes) == 0 {
		form.Error = engine.ErrorMessage(err)
	}
	switch code {
	case engine.CodeForbidden:
		return webFailure{status: http.StatusForbidden}
	case engine.CodeRateLimited:
		if e, ok := errors.AsType[*engine.Error](err); ok {
			for k, vs := range e.GetHeaders() {
				w.Header()[k] = vs
			}
		}
		return webFailure{status: http.StatusTooManyRequests}
	case engine.CodeUnavailable:
		return webFailure{status: http.StatusServiceUnavailable}
	}
	return webFailure{status: http.StatusUnprocessableEntity}
}

// webTime is a moment as the pages show it.
type webTime struct {
	Ago   string // "5 min ago", "3 Mar 2026"
	ISO   string // for <time datetime>
	Exact string // for its title
}

func (p *Plugin) webTime(t time.Time) webTime {
	d := p.svc.now().Sub(t)
	var ago string
	switch {
	case d < time.Minute:
		ago = "just now"
	case d < time.Hour:
		ago = fmt.Sprintf("%d min ago", int(d/time.Minute))
	case d < 24*time.Hour:
		ago = fmt.Sprintf("%d h ago", int(d/time.Hour))
	case d < 7*24*time.Hour:
		ago = fmt.Sprintf("%d d ago", int(d/(24*time.Hour)))
	default:
		ago = t.UTC().Format("2 Jan 2006")
	}
	return webTime{Ago: ago, ISO: t.UTC().Format(time.RFC3339), Exact: t.UTC().Format("2 January 2006, 15:04 UTC")}
}

// webAuthor is a member as shown next to what they wrote.
type webAuthor struct {
	Name    string // display name, else @handle
	Handle  string
	URL     string // their profile
	Avatar  string // a safe image URL, or ""
	Initial string // shown without an avatar
}

func webAuthorOf(r *http.Request, f plugin.Frame, a Author) webAuthor {
	name := strings.TrimSpace(a.DisplayName)
	if name == "" {
		name = "@" + a.Handle
	}
	initial := "?"
	for _, c := range name {
		if unicode.IsLetter(c) || unicode.IsDigit(c) {
			initial = strings.ToUpper(string(c))
			break
		}
	}
	return webAuthor{Name: name, Handle: a.Handle, URL: f.Path(r, "/members/"+a.Handle), Avatar: webImageURL(a.AvatarURL), Initial: initial}
}

// webImageURL returns u when an image may load from it under the
// Content-Security-Policy and without mixed content: https, or a path of
// this server ("/files/…", the disk store's signed links). Anything else
// (javascript:, data:, http:, //host) is "".
func webImageURL(u string) string {
	if strings.HasPrefix(u, "/") && !strings.HasPrefix(u, "//") && !strings.ContainsRune(u, '\\') {
		return u
	}
	pu, err := url.Parse(u)
	if err != nil || pu.Scheme != "https" || pu.Host == "" || pu.User != nil {
		return ""
	}
	return pu.String()
}

// webSegment is a piece of member text: plain, or a link (Href set) to a
// member's profile or an http(s) URL.
type webSegment struct {
	Text     string
	Href     string
	External bool
}

// webSegments turns Segments into what the templates render: every link
// checked again (only http and https URLs; mentions only to a valid
// handle's profile, under the tenant's base path), everything else text.
func webSegments(r *http.Request, f plugin.Frame, segs []Segment) []webSegment {
	out := make([]webSegment, 0, len(segs))
	for _, s := range segs {
		switch s.Kind {
		case SegmentLink:
			u, err := url.Parse(s.Href)
			if err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.User == nil {
				out = append(out, webSegment{Text: s.Text, Href: u.String(), External: true})
				continue
			}
		case SegmentMention:
			if h, ok := strings.CutPrefix(s.Href, "/members/"); ok && ValidHandle(h) {
				out = append(out, webSegment{Text: s.Text, Href: f.Path(r, s.Href)})
				continue
			}
		}
		out = append(out, webSegment{Text: s.Text})
	}
	return out
}

// webPost is a post as a feed or its page shows it.
type webPost struct {
	ID          string
	URL         string // its page
	Author      webAuthor
	When        webTime
	Edited      *webTime
	Text        []webSegment
	Images      []webImage
	Like        webLike
	Comments    int
	CommentsURL string
	// Mine offers edit and delete; CanReport the report form (members
	// other than the author).
	Mine      bool
	CanReport bool
	// Hidden says why moderators (the only ones who can see it) see a
	// hidden or deleted post; "" for a visible one.
	Hidden string
}

// webImage is an image of a post.
type webImage struct {
	URL    string
	Width  int
	Height int
}

// webLike is a post's like button: a form posting to like or unlike,
// coming back to Return.
type webLike struct {
	PostID string
	Liked  bool
	Count  int
	Action string
	Return string
	Error  string
}

func webLikeOf(r *http.Request, f plugin.Frame, id uuid.UUID, liked bool, count int, back string) webLike {
	verb := "/like"
	if liked {
		verb = "/unlike"
	}
	return webLike{PostID: id.String(), Liked: liked, Count: count, Action: f.Path(r, "/posts/"+id.String()+verb), Return: back}
}

// webPostOf makes the view of post for the viewer me (uuid.Nil: a
// visitor), on a page that forms come back to (back).
func (p *Plugin) webPostOf(r *http.Request, f plugin.Frame, me uuid.UUID, post Post, back string) webPost {
	id := post.ID.String()
	v := webPost{
		ID: id, URL: f.Path(r, "/posts/"+id), Author: webAuthorOf(r, f, post.Author), When: p.webTime(post.CreatedAt),
		Text: webSegments(r, f, post.Segments), Like: webLikeOf(r, f, post.ID, post.Liked, post.LikeCount, back),
		Comments: post.CommentCount, CommentsURL: f.Path(r, "/posts/"+id+"#comments"),
		Mine: me != uuid.Nil && me == post.Author.ID, CanReport: me != uuid.Nil && me != post.Author.ID,
	}
	if post.EditedAt != nil {
		t := p.webTime(*post.EditedAt)
		v.Edited = &t
	}
	for _, im := range post.Images {
		if u := webImageURL(im.URL); u != "" {
			v.Images = append(v.Images, webImage{URL: u, Width: im.Width, Height: im.Height})
		}
	}
	switch {
	case post.DeletedAt != nil:
		v.Hidden = "Deleted: only moderators see this post."
	case post.HiddenAt != nil:
		v.Hidden = "Hidden by the moderators: only they see this post."
		if post.HideReason != "" {
			v.Hidden += " Reason: " + post.HideReason
		}
	}
	return v
}

// webPager links a list's first and next pages; "" when there is none.
type webPager struct {
	First string
	Next  string
	// NextLabel names the next page ("Older posts").
	NextLabel string
}

// webPageLink is path with cursor (and the other query pairs) under the
// tenant's base path.
func webPageLink(r *http.Request, f plugin.Frame, path string, query ...string) string {
	q := url.Values{}
	for i := 0; i+1 < len(query); i += 2 {
		if query[i+1] != "" {
			q.Set(query[i], query[i+1])
		}
	}
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	return f.Path(r, path)
}

// webHere is r's path and query relative to the tenant's root: the page
// forms come back to.
func webHere(r *http.Request) string {
	q := r.URL.Query()
	q.Del("done")
	if len(q) == 0 {
		return r.URL.Path
	}
	return r.URL.Path + "?" + q.Encode()
}

// signInPage sends a visitor to sign in and back to ?return (a path of
// this app), and a member straight there: the target of the pages'
// "Sign in to …" links.
func (p *Plugin) signInPage(w http.ResponseWriter, r *http.Request, f plugin.Frame) {
	back := webReturn(r.URL.Query().Get("return"), "/feed")
	if _, ok := webMember(r); ok {
		http.Redirect(w, r, f.Path(r, back), http.StatusSeeOther)
		return
	}
	webSignIn(w, r, f, back)
}

// webSignInLink is the link that signs a visitor in and brings them back
// to back.
func webSignInLink(r *http.Request, f plugin.Frame, back string) string {
	return webPageLink(r, f, "/social/sign-in", "return", back)
}
