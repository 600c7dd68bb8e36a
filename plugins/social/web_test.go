package social_test

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/textproto"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"golang.org/x/net/html"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/blob"
	"github.com/guildhall/guildhall/engine/db"
	"github.com/guildhall/guildhall/engine/db/dbtest"
	"github.com/guildhall/guildhall/engine/identity"
	"github.com/guildhall/guildhall/engine/identity/identitytest"
	"github.com/guildhall/guildhall/engine/inbox"
	"github.com/guildhall/guildhall/engine/plugin"
	"github.com/guildhall/guildhall/engine/rules"
	"github.com/guildhall/guildhall/plugins/social"
	"github.com/guildhall/guildhall/tenants"
	"github.com/guildhall/guildhall/web"
)

// The member web pages are tested through the real web app (web.New)
// behind the real tenant middleware, with a registry holding the real
// social plugin on real services, as cmd wires them: the Frame, the
// layout, sessions, sign-in and cross-origin protection are the real
// ones. (plugins/social may import web in its external tests: web does
// not import plugins/social.)

const webPassword = "correct horse battery"

// webQuests is another community kind, so that a tenant can lack the
// social plugin.
type webQuests struct{}

func (webQuests) Manifest() plugin.Manifest {
	return plugin.Manifest{Name: "quests", Title: "Quests", Kind: true}
}

type webBundle struct {
	tenants *tenants.Service
	ids     *identity.Service
	svc     *social.Service
	srv     *httptest.Server
}

func webSetup(t *testing.T) *webBundle {
	t.Helper()
	d := db.New(dbtest.Pool(t))
	idb := identitytest.New(t, d, identity.Config{TenantName: func(ctx context.Context) string {
		tn, _ := tenants.FromContext(ctx)
		return tn.Name
	}})
	manifest := social.New(social.Deps{}).Manifest()
	rulesSvc := rules.NewService(d, func(context.Context) []plugin.EventType { return manifest.EventTypes }, nil)
	blobs, err := blob.NewDisk(blob.DiskConfig{Dir: t.TempDir(), Secret: []byte("0123456789abcdef0123456789abcdef"),
		BaseURL: "https://files.test.example/files/"})
	if err != nil {
		t.Fatal(err)
	}
	sp := social.New(social.Deps{DB: d, Rules: rulesSvc, Notifier: inbox.NewService(d, inbox.Config{}), Blobs: blobs, Authz: idb.Authz})
	reg := plugin.NewRegistry(sp, webQuests{})
	ts := tenants.NewService(d, reg, "guildhall.test")
	dir := tenants.NewDirectory(ts, nil)
	h := web.New(web.Deps{Plugins: reg, Enablement: dir, Identity: idb.Service})
	mux := http.NewServeMux()
	mux.Handle(plugin.AssetPrefix, reg.AssetHandler())
	mux.Handle("/", dir.Middleware(web.NotFoundPage)(h))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &webBundle{tenants: ts, ids: idb.Service, svc: sp.Service(), srv: srv}
}

// webTenant is a committed tenant with a moderator and members, each
// with a context acting as them.
type webTenant struct {
	tenants.Tenant
	ctx     context.Context // the tenant, no principal
	admin   webUser
	mod     webUser
	members []webUser // handles member_0, member_1, ...
}

type webUser struct {
	ID     uuid.UUID
	Email  string
	Handle string
	ctx    context.Context
}

// tenant commits a tenant of kind (social when "") with n members and
// generous limits (tests post many times).
func (b *webBundle) tenant(t *testing.T, kind string, n int) *webTenant {
	t.Helper()
	if kind == "" {
		kind = "social"
	}
	slug := dbtest.RandomSlug()
	tn, err := b.tenants.Create(t.Context(), tenants.CreateParams{Slug: slug, Name: "Club " + slug, Kind: kind, TimeZone: "UTC", Currency: "EUR"})
	if err != nil {
		t.Fatalf("Create(%s) = %v", slug, err)
	}
	wt := &webTenant{Tenant: tn, ctx: tenants.WithContext(t.Context(), tn, "")}
	wt.admin = b.user(t, wt, "admin", "Admin", "admin")
	wt.mod = b.user(t, wt, "mod", "Mod", "moderator")
	for i := range n {
		wt.members = append(wt.members, b.user(t, wt, "member"+strconv.Itoa(i), "Member "+strconv.Itoa(i), "member"))
	}
	if kind == "social" {
		b.settings(t, wt, func(st *social.Settings) {
			st.PostsPerHour, st.CommentsPerHour, st.LikesPerMinute = 10000, 10000, 10000
		})
	}
	return wt
}

func (b *webBundle) settings(t *testing.T, wt *webTenant, edit func(*social.Settings)) {
	t.Helper()
	st, err := b.svc.Settings(wt.admin.ctx)
	if err != nil {
		t.Fatal(err)
	}
	edit(&st)
	if _, err := b.svc.UpdateSettings(wt.admin.ctx, st); err != nil {
		t.Fatalf("UpdateSettings() = %v", err)
	}
}

func (b *webBundle) user(t *testing.T, wt *webTenant, local, name, role string) webUser {
	t.Helper()
	email := local + "@example.com"
	u, _, err := b.ids.SeedUser(wt.ctx, identity.SeedUserParams{Email: email, DisplayName: name, Password: webPassword, Role: role})
	if err != nil {
		t.Fatalf("SeedUser(%s) = %v", email, err)
	}
	p := engine.Principal{Kind: engine.PrincipalUser, TenantID: wt.ID, UserID: u.ID, Role: role, Name: "user:" + u.ID.String()}
	wu := webUser{ID: u.ID, Email: email, ctx: engine.WithPrincipal(wt.ctx, p)}
	prof, err := b.svc.Profile(wu.ctx, u.ID.String())
	if err != nil {
		t.Fatalf("Profile(%s) = %v", email, err)
	}
	wu.Handle = prof.Member.Handle
	return wu
}

func (b *webBundle) post(t *testing.T, u webUser, text string) social.Post {
	t.Helper()
	p, err := b.svc.CreatePost(u.ctx, social.PostParams{Text: text})
	if err != nil {
		t.Fatalf("CreatePost(%q) = %v", text, err)
	}
	return p
}

func (b *webBundle) comment(t *testing.T, u webUser, post uuid.UUID, parent *uuid.UUID, text string) social.Comment {
	t.Helper()
	c, err := b.svc.CreateComment(u.ctx, social.CommentParams{Post: post, Parent: parent, Text: text})
	if err != nil {
		t.Fatalf("CreateComment(%q) = %v", text, err)
	}
	return c
}

// webBrowser is a client with a cookie jar that talks to one tenant,
// under /t/{slug} on the platform host or on its own host. It does not
// follow redirects by itself.
type webBrowser struct {
	t    *testing.T
	c    *http.Client
	root string // "http://guildhall.test/t/slug" or "http://slug.guildhall.test"
	base string // "/t/slug" or ""
}

func (b *webBundle) browser(t *testing.T, wt *webTenant, ownHost bool) *webBrowser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	addr := b.srv.Listener.Addr().String()
	tr := &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}}
	t.Cleanup(tr.CloseIdleConnections)
	c := &http.Client{Jar: jar, Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	br := &webBrowser{t: t, c: c, root: "http://guildhall.test/t/" + wt.Slug, base: "/t/" + wt.Slug}
	if ownHost {
		br.root, br.base = "http://"+wt.Slug+".guildhall.test", ""
	}
	return br
}

// signedIn is a browser signed in as u through the sign-in form.
func (b *webBundle) signedIn(t *testing.T, wt *webTenant, u webUser, ownHost bool) *webBrowser {
	t.Helper()
	br := b.browser(t, wt, ownHost)
	if p := br.post("/sign-in", url.Values{"email": {u.Email}, "password": {webPassword}}); p.Code != http.StatusSeeOther {
		t.Fatalf("sign in as %s = %d:\n%s", u.Email, p.Code, p.Body)
	}
	return br
}

// webResp is a response as a test sees it.
type webResp struct {
	Code   int
	Header http.Header
	Body   string
	Doc    *goquery.Document
}

func (p webResp) location() string { return p.Header.Get("Location") }

func (p webResp) find(testID string) *goquery.Selection { return p.Doc.Find(webTID(testID)) }

func (p webResp) text(testID string) string { return webText(p.find(testID)) }

func webTID(id string) string { return `[data-testid="` + id + `"]` }

func webText(s *goquery.Selection) string { return strings.Join(strings.Fields(s.Text()), " ") }

// do sends a request for path: relative to the tenant's root, or with the
// base path as the app writes links.
func (br *webBrowser) do(method, path, contentType string, body io.Reader, header http.Header) webResp {
	br.t.Helper()
	u := br.root + path
	if br.base != "" && strings.HasPrefix(path, br.base+"/") {
		u = strings.TrimSuffix(br.root, br.base) + path
	}
	req, err := http.NewRequestWithContext(br.t.Context(), method, u, body)
	if err != nil {
		br.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	res, err := br.c.Do(req)
	if err != nil {
		br.t.Fatalf("%s %s: %v", method, u, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		br.t.Fatal(err)
	}
	d, err := goquery.NewDocumentFromReader(bytes.NewReader(raw))
	if err != nil {
		br.t.Fatalf("%s %s: parse HTML: %v", method, u, err)
	}
	return webResp{Code: res.StatusCode, Header: res.Header, Body: string(raw), Doc: d}
}

func (br *webBrowser) get(path string) webResp {
	br.t.Helper()
	return br.do(http.MethodGet, path, "", nil, nil)
}

func (br *webBrowser) post(path string, form url.Values) webResp {
	br.t.Helper()
	return br.do(http.MethodPost, path, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()), nil)
}

// htmx posts form as htmx does.
func (br *webBrowser) htmx(path string, form url.Values) webResp {
	br.t.Helper()
	return br.do(http.MethodPost, path, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()),
		http.Header{"Hx-Request": {"true"}})
}

// webFile is a file a multipart form sends.
type webFile struct {
	name, contentType string
	data              []byte
}

// multipart posts fields and files (as the input "images") as a browser
// sends a form with enctype multipart/form-data.
func (br *webBrowser) multipart(path string, fields url.Values, files ...webFile) webResp {
	br.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, vs := range fields {
		for _, v := range vs {
			if err := mw.WriteField(k, v); err != nil {
				br.t.Fatal(err)
			}
		}
	}
	for _, f := range files {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="images"; filename="`+f.name+`"`)
		h.Set("Content-Type", f.contentType)
		w, err := mw.CreatePart(h)
		if err != nil {
			br.t.Fatal(err)
		}
		_, _ = w.Write(f.data)
	}
	if err := mw.Close(); err != nil {
		br.t.Fatal(err)
	}
	return br.do(http.MethodPost, path, mw.FormDataContentType(), &buf, nil)
}

// submit posts form and follows the 303 it must answer with.
func (br *webBrowser) submit(path string, form url.Values) webResp {
	br.t.Helper()
	p := br.post(path, form)
	if p.Code != http.StatusSeeOther {
		br.t.Fatalf("POST %s = %d, want 303; form-error %q:\n%s", path, p.Code, p.text("form-error"), p.Body)
	}
	return br.get(p.location())
}

// composeForm is what the feed's compose form sends with text.
func composeForm(p webResp, text string) url.Values {
	return url.Values{"text": {text}, "key": {p.find("compose-key").AttrOr("value", "")}, "scope": {""}}
}

// postIDs are the ids of the posts a page shows, in order.
func postIDs(p webResp) []string {
	var out []string
	p.find("post").Each(func(_ int, s *goquery.Selection) { out = append(out, s.AttrOr("data-post-id", "")) })
	return out
}

// postCard is the card of post id on a page.
func postCard(p webResp, id uuid.UUID) *goquery.Selection {
	return p.Doc.Find(`[data-testid="post"][data-post-id="` + id.String() + `"]`)
}

func commentCard(p webResp, id uuid.UUID) *goquery.Selection {
	return p.Doc.Find(`[data-testid="comment"][data-comment-id="` + id.String() + `"]`)
}

func TestWeb_Feed(t *testing.T) {
	t.Parallel()
	b := webSetup(t)
	wt := b.tenant(t, "", 2)
	ada, bob := wt.members[0], wt.members[1]
	var posts []social.Post
	for i := range 23 {
		posts = append(posts, b.post(t, ada, "Post number "+strconv.Itoa(i)+" for @"+bob.Handle+" https://example.com/p"))
	}
	newest := posts[len(posts)-1]
	if _, err := b.svc.Like(bob.ctx, newest.ID); err != nil {
		t.Fatal(err)
	}
	b.comment(t, bob, newest.ID, nil, "Nice")
	if _, err := b.svc.UpdatePost(ada.ctx, newest.ID, newest.Text+" (edited)"); err != nil {
		t.Fatal(err)
	}

	for _, own := range []bool{false, true} {
		t.Run(map[bool]string{false: "PlatformHost", true: "OwnHost"}[own], func(t *testing.T) {
			br := b.signedIn(t, wt, bob, own)
			base := br.base
			p := br.get("/feed")
			if p.Code != http.StatusOK || p.find("social-feed").Length() != 1 {
				t.Fatalf("GET /feed = %d:\n%s", p.Code, p.Body)
			}
			if got := p.Doc.Find("title").Text(); got != "Feed · "+wt.Name {
				t.Errorf("title = %q", got)
			}
			if p.Doc.Find(`link[rel="stylesheet"][href^="/static/plugins/social/social.css?v="]`).Length() != 1 {
				t.Errorf("social.css is not linked")
			}
			if got := p.Doc.Find(`[data-testid="app-nav"] a[aria-current="page"]`).AttrOr("href", ""); got != base+"/feed" {
				t.Errorf("current nav entry = %q, want %s/feed", got, base)
			}
			if got := p.find("feed-tab-community").AttrOr("aria-current", ""); got != "page" {
				t.Errorf("community tab aria-current = %q", got)
			}
			ids := postIDs(p)
			if len(ids) != 20 || ids[0] != newest.ID.String() {
				t.Fatalf("first page = %d posts starting %v; want 20 starting with the newest", len(ids), ids[:min(1, len(ids))])
			}
			card := postCard(p, newest.ID)
			if got := webText(card.Find(webTID("post-author"))); got != "Member 0" {
				t.Errorf("author = %q", got)
			}
			if got := card.Find(webTID("post-author")).AttrOr("href", ""); got != base+"/members/"+ada.Handle {
				t.Errorf("author link = %q", got)
			}
			if got := webText(card.Find(webTID("post-handle"))); got != "@"+ada.Handle {
				t.Errorf("handle = %q", got)
			}
			if card.Find(webTID("post-time")).AttrOr("datetime", "") == "" || card.Find(webTID("post-edited")).Length() != 1 {
				t.Errorf("time and edited marker missing")
			}
			like := card.Find(webTID("like-form"))
			if like.AttrOr("data-liked", "") != "true" || webText(like.Find(webTID("like-count"))) != "1" ||
				like.Find(webTID("like-button")).AttrOr("aria-pressed", "") != "true" ||
				like.AttrOr("action", "") != base+"/posts/"+newest.ID.String()+"/unlike" {
				t.Errorf("liked post's button: data-liked %q, count %q, action %q", like.AttrOr("data-liked", ""),
					webText(like.Find(webTID("like-count"))), like.AttrOr("action", ""))
			}
			if got := like.Find(`input[name="return"]`).AttrOr("value", ""); got != "/feed" {
				t.Errorf("like return = %q, want /feed", got)
			}
			other := postCard(p, posts[len(posts)-2].ID).Find(webTID("like-form"))
			if other.AttrOr("data-liked", "") != "false" || other.AttrOr("action", "") != base+"/posts/"+posts[len(posts)-2].ID.String()+"/like" {
				t.Errorf("unliked post's button: data-liked %q, action %q", other.AttrOr("data-liked", ""), other.AttrOr("action", ""))
			}
			cc := card.Find(webTID("comment-count"))
			if webText(cc) != "💬 1 comment" || cc.AttrOr("href", "") != base+"/posts/"+newest.ID.String()+"#comments" {
				t.Errorf("comment count = %q → %q", webText(cc), cc.AttrOr("href", ""))
			}
			text := card.Find(webTID("post-text"))
			if got := text.Text(); got != newest.Text+" (edited)" {
				t.Errorf("post text = %q", got)
			}
			if got := text.Find(`a[href="` + base + `/members/` + bob.Handle + `"]`).Length(); got != 1 {
				t.Errorf("mention links = %d, want 1", got)
			}
			ext := text.Find(`a[href="https://example.com/p"]`)
			if ext.AttrOr("rel", "") != "nofollow ugc noopener" || ext.AttrOr("target", "") != "_blank" {
				t.Errorf("link rel %q target %q", ext.AttrOr("rel", ""), ext.AttrOr("target", ""))
			}
			if p.find("compose-form").AttrOr("action", "") != base+"/posts" || p.find("compose-text").AttrOr("maxlength", "") != "2000" {
				t.Errorf("compose form action %q, maxlength %q", p.find("compose-form").AttrOr("action", ""), p.find("compose-text").AttrOr("maxlength", ""))
			}
			if got := p.find("my-profile-link").AttrOr("href", ""); got != base+"/members/"+bob.Handle {
				t.Errorf("my profile link = %q", got)
			}

			next := p.find("next-page").AttrOr("href", "")
			if !strings.HasPrefix(next, base+"/feed?cursor=") {
				t.Fatalf("next page = %q", next)
			}
			p2 := br.get(next)
			if got := postIDs(p2); len(got) != 3 || got[2] != posts[0].ID.String() {
				t.Errorf("second page = %v, want the 3 oldest", got)
			}
			if p2.find("next-page").Length() != 0 || p2.find("first-page").AttrOr("href", "") != base+"/feed" {
				t.Errorf("second page's pager: next %d, first %q", p2.find("next-page").Length(), p2.find("first-page").AttrOr("href", ""))
			}
			if got := br.get("/feed?cursor=not-a-cursor"); got.Code != http.StatusUnprocessableEntity {
				t.Errorf("bad cursor = %d, want 422", got.Code)
			}
		})
	}

	t.Run("Following", func(t *testing.T) {
		br := b.signedIn(t, wt, bob, false)
		p := br.get("/feed?scope=following")
		if p.Code != http.StatusOK || len(postIDs(p)) != 0 || p.find("feed-empty").Length() != 1 ||
			p.find("feed-tab-following").AttrOr("aria-current", "") != "page" {
			t.Fatalf("following feed before following = %d, %d posts", p.Code, len(postIDs(p)))
		}
		if err := b.svc.Follow(bob.ctx, ada.ID); err != nil {
			t.Fatal(err)
		}
		p = br.get("/feed?scope=following")
		if len(postIDs(p)) != 20 || !strings.Contains(p.find("next-page").AttrOr("href", ""), "scope=following") {
			t.Errorf("following feed = %d posts, next %q", len(postIDs(p)), p.find("next-page").AttrOr("href", ""))
		}
	})

	t.Run("SignedOut", func(t *testing.T) {
		br := b.browser(t, wt, false)
		p := br.get("/feed")
		if p.Code != http.StatusOK || len(postIDs(p)) != 20 || p.find("compose-form").Length() != 0 || p.find("sign-in-prompt").Length() != 1 {
			t.Fatalf("visitor's feed = %d, %d posts, compose %d", p.Code, len(postIDs(p)), p.find("compose-form").Length())
		}
		if got := postCard(p, newest.ID).Find(webTID("like-form")).AttrOr("data-liked", ""); got != "false" {
			t.Errorf("visitor sees liked = %q", got)
		}
		signIn := p.find("sign-in-prompt").Find("a").AttrOr("href", "")
		r := br.get(signIn)
		if r.Code != http.StatusSeeOther || r.location() != br.base+"/sign-in?next=%2Ffeed" {
			t.Errorf("sign-in prompt %q → %d %q", signIn, r.Code, r.location())
		}
		r = br.get("/feed?scope=following")
		if r.Code != http.StatusSeeOther || r.location() != br.base+"/sign-in?next=%2Ffeed%3Fscope%3Dfollowing" {
			t.Errorf("visitor's following feed = %d %q, want sign-in", r.Code, r.location())
		}
		if got := br.get("/posts/" + newest.ID.String()); got.Code != http.StatusOK || got.find("comment-form").Length() != 0 {
			t.Errorf("visitor's post page = %d, comment form %d", got.Code, got.find("comment-form").Length())
		}
		if got := br.get("/members/" + ada.Handle); got.Code != http.StatusOK || got.find("follow-form").Length() != 0 {
			t.Errorf("visitor's profile = %d, follow form %d", got.Code, got.find("follow-form").Length())
		}
	})
}

// webNoInjection fails when the page's HTML (parsed as a browser does)
// has a script element without src (or any in main), an element no
// member text makes, an on* attribute, or a link or image whose URL is
// not http(s) or a path of this app.
func webNoInjection(t *testing.T, what, body string) {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	safeURL := func(u string) bool {
		u = strings.TrimSpace(u)
		return strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://") || (strings.HasPrefix(u, "/") && !strings.HasPrefix(u, "//"))
	}
	var inMain func(n *html.Node) bool
	inMain = func(n *html.Node) bool {
		for p := n.Parent; p != nil; p = p.Parent {
			if p.Type == html.ElementNode && p.Data == "main" {
				return true
			}
		}
		return false
	}
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			main := inMain(n)
			switch n.Data {
			case "script":
				src := ""
				for _, a := range n.Attr {
					if a.Key == "src" {
						src = a.Val
					}
				}
				if main || src == "" {
					t.Errorf("%s: a <script> element (src %q)", what, src)
				}
			case "iframe", "object", "embed", "svg", "math", "style", "base", "meta", "link", "frame", "frameset":
				if main {
					t.Errorf("%s: a <%s> element in the content", what, n.Data)
				}
			}
			for _, a := range n.Attr {
				key := strings.ToLower(a.Key)
				if strings.HasPrefix(key, "on") {
					t.Errorf("%s: attribute %s=%q on <%s>", what, a.Key, a.Val, n.Data)
				}
				if (key == "href" || key == "src" || key == "action" || key == "formaction" || key == "hx-post" || key == "xlink:href") && !safeURL(a.Val) {
					t.Errorf("%s: <%s %s=%q>", what, n.Data, a.Key, a.Val)
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
}

func TestWeb_XSS(t *testing.T) {
	t.Parallel()
	b := webSetup(t)
	wt := b.tenant(t, "", 2)
	ada, bob := wt.members[0], wt.members[1]
	raw, err := os.ReadFile("testdata/xss.txt")
	if err != nil {
		t.Fatal(err)
	}
	var payloads []string
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		if l := sc.Text(); strings.TrimSpace(l) != "" && !strings.HasPrefix(l, "#") {
			payloads = append(payloads, l)
		}
	}
	if len(payloads) < 40 {
		t.Fatalf("read %d payloads", len(payloads))
	}
	// The profile's display name and bio are member text too.
	if _, err := b.svc.UpdateProfile(bob.ctx, social.ProfileParams{Bio: &payloads[0]}); err != nil {
		t.Fatal(err)
	}
	target := b.post(t, bob, "Comment here")
	br := b.signedIn(t, wt, ada, false)
	feed := br.get("/feed")
	for _, x := range payloads {
		// Through the compose form, then as a comment.
		if p := br.post("/posts", composeForm(feed, x)); p.Code != http.StatusSeeOther {
			t.Errorf("post %q = %d: %s", x, p.Code, p.text("error-text"))
		}
		feed = br.get("/feed")
		if p := br.post("/posts/"+target.ID.String()+"/comments", url.Values{"text": {x}}); p.Code != http.StatusSeeOther {
			t.Errorf("comment %q = %d: %s", x, p.Code, p.text("form-error"))
		}
	}
	var texts []string
	for p, pages := br.get("/feed"), 0; ; pages++ {
		webNoInjection(t, "feed page "+strconv.Itoa(pages), p.Body)
		p.find("post-text").Each(func(_ int, s *goquery.Selection) { texts = append(texts, s.Text()) })
		next := p.find("next-page").AttrOr("href", "")
		if next == "" || pages > 5 {
			break
		}
		p = br.get(next)
	}
	// Every payload comes back as the text it was (trimmed), not markup.
	for _, x := range payloads {
		found := false
		for _, got := range texts {
			found = found || got == strings.TrimSpace(x)
		}
		if !found {
			t.Errorf("payload %q is not shown as text", x)
		}
	}
	for p, pages := br.get("/posts/"+target.ID.String()), 0; ; pages++ {
		webNoInjection(t, "post page "+strconv.Itoa(pages), p.Body)
		if p.Code != http.StatusOK || (pages == 0 && p.find("comment").Length() != 20) {
			t.Errorf("post page %d = %d with %d comments", pages, p.Code, p.find("comment").Length())
		}
		next := p.find("next-page").AttrOr("href", "")
		if next == "" || pages > 5 {
			break
		}
		p = br.get(next)
	}
	prof := br.get("/members/" + bob.Handle)
	webNoInjection(t, "profile", prof.Body)
	if got := prof.find("profile-bio").Text(); got != payloads[0] {
		t.Errorf("bio = %q", got)
	}
}

func TestWeb_Compose(t *testing.T) {
	t.Parallel()
	b := webSetup(t)
	wt := b.tenant(t, "", 1)
	ada := wt.members[0]
	b.settings(t, wt, func(st *social.Settings) {
		st.MaxPostLength, st.BlockedWords, st.MaxImagesPerPost = 50, []string{"darn"}, 2
	})
	br := b.signedIn(t, wt, ada, false)
	feed := br.get("/feed")
	if feed.find("compose-images").AttrOr("accept", "") != "image/png,image/jpeg,image/gif,image/webp" ||
		feed.find("compose-images").AttrOr("multiple", "x") == "x" || feed.find("compose-form").AttrOr("enctype", "") != "multipart/form-data" {
		t.Errorf("compose images input = accept %q, enctype %q", feed.find("compose-images").AttrOr("accept", ""), feed.find("compose-form").AttrOr("enctype", ""))
	}
	count := func() int {
		page, err := b.svc.MemberPosts(ada.ctx, social.MemberPostsParams{Member: ada.ID.String(), Limit: 50})
		if err != nil {
			t.Fatal(err)
		}
		return len(page.Posts)
	}

	for _, tt := range []struct {
		name, text, wantErr string
	}{
		{"Empty", "   ", "The text is required."},
		{"TooLong", strings.Repeat("é", 51), "The text must be at most 50 characters (it has 51)."},
		{"BlockedWord", "Well DARN it", "The text contains a word this community does not allow."},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := br.multipart("/posts", composeForm(feed, tt.text))
			if p.Code != http.StatusUnprocessableEntity || p.text("error-text") != tt.wantErr {
				t.Fatalf("POST /posts = %d, error-text %q; want 422 %q", p.Code, p.text("error-text"), tt.wantErr)
			}
			if got := p.find("compose-text").Text(); got != tt.text {
				t.Errorf("text kept = %q, want %q", got, tt.text)
			}
			if p.find("compose-key").AttrOr("value", "") != feed.find("compose-key").AttrOr("value", "") {
				t.Errorf("the form's key changed: a failed attempt claims nothing")
			}
			if p.find("compose-text").AttrOr("aria-invalid", "") != "true" {
				t.Errorf("compose text not marked invalid")
			}
		})
	}
	t.Run("BadImage", func(t *testing.T) {
		p := br.multipart("/posts", composeForm(feed, "With a picture"), webFile{"evil.png", "image/png", []byte("<svg onload=alert(1)>")})
		if p.Code != http.StatusUnprocessableEntity || !strings.Contains(p.text("error-images"), "Image 1 (evil.png)") ||
			!strings.Contains(p.text("error-images"), "Choose the images again") || p.find("compose-text").Text() != "With a picture" {
			t.Errorf("bad image = %d, error-images %q, text %q", p.Code, p.text("error-images"), p.find("compose-text").Text())
		}
		png := pngBytes(t, 2, 2)
		p = br.multipart("/posts", composeForm(feed, "Three pictures"),
			webFile{"a.png", "image/png", png}, webFile{"b.png", "image/png", png}, webFile{"c.png", "image/png", png})
		if p.Code != http.StatusUnprocessableEntity || !strings.Contains(p.text("error-images"), "at most 2 images") {
			t.Errorf("three images = %d, error-images %q", p.Code, p.text("error-images"))
		}
	})
	if n := count(); n != 0 {
		t.Fatalf("posts after refusals = %d, want 0", n)
	}

	t.Run("WithImages", func(t *testing.T) {
		p := br.multipart("/posts", composeForm(feed, "Two pictures"),
			webFile{"a.png", "image/png", pngBytes(t, 3, 2)}, webFile{"b.png", "application/octet-stream", pngBytes(t, 1, 1)})
		if p.Code != http.StatusSeeOther || p.location() != br.base+"/feed?done=posted" {
			t.Fatalf("POST /posts = %d %q: %s %s", p.Code, p.location(), p.text("error-images"), p.text("form-error"))
		}
		p = br.get(p.location())
		if p.text("social-notice") != "Your post is published." {
			t.Errorf("notice = %q", p.text("social-notice"))
		}
		imgs := p.find("post").First().Find(webTID("post-image"))
		if imgs.Length() != 2 || !strings.HasPrefix(imgs.AttrOr("src", ""), "https://files.test.example/files/") || imgs.AttrOr("width", "") != "3" {
			t.Errorf("images = %d, src %q", imgs.Length(), imgs.AttrOr("src", ""))
		}
	})

	t.Run("Idempotent", func(t *testing.T) {
		before := count()
		feed := br.get("/feed")
		form := composeForm(feed, "Sent twice")
		for range 2 {
			if p := br.multipart("/posts", form); p.Code != http.StatusSeeOther {
				t.Fatalf("POST /posts = %d: %s", p.Code, p.text("form-error"))
			}
		}
		if n := count(); n != before+1 {
			t.Errorf("posts after a double submit = %d, want %d", n, before+1)
		}
		// At once, as a double click sends it.
		form = composeForm(br.get("/feed"), "Sent at once")
		var wg sync.WaitGroup
		codes := make([]int, 4)
		for i := range codes {
			wg.Go(func() { codes[i] = br.post("/posts", form).Code })
		}
		wg.Wait()
		if d := cmp.Diff([]int{303, 303, 303, 303}, codes); d != "" {
			t.Errorf("concurrent submits (-want +got):\n%s", d)
		}
		if n := count(); n != before+2 {
			t.Errorf("posts after concurrent submits = %d, want %d", n, before+2)
		}
		// The same page sent again with other text (the back button).
		form.Set("text", "Other text")
		p := br.post("/posts", form)
		if p.Code != http.StatusUnprocessableEntity || p.text("form-error") == "" || p.find("compose-key").AttrOr("value", "") == form.Get("key") {
			t.Errorf("reused key = %d, form-error %q; want 422 and a fresh key", p.Code, p.text("form-error"))
		}
		if p := br.post("/posts", composeForm(p, "Other text")); p.Code != http.StatusSeeOther {
			t.Errorf("sent again with the fresh key = %d", p.Code)
		}
	})

	t.Run("Suspended", func(t *testing.T) {
		if err := b.svc.Suspend(wt.mod.ctx, social.SuspendParams{Member: ada.ID, Until: time.Now().Add(24 * time.Hour), Reason: "Spam"}); err != nil {
			t.Fatal(err)
		}
		p := br.post("/posts", composeForm(br.get("/feed"), "Still here"))
		if p.Code != http.StatusForbidden || !strings.Contains(p.text("form-error"), "suspended until") || p.find("compose-text").Text() != "Still here" {
			t.Errorf("suspended post = %d, form-error %q", p.Code, p.text("form-error"))
		}
		p = br.post("/posts/"+uuid.NewString()+"/like", nil)
		if p.Code != http.StatusNotFound && p.Code != http.StatusForbidden {
			t.Errorf("suspended like = %d", p.Code)
		}
	})
}

func TestWeb_Likes(t *testing.T) {
	t.Parallel()
	b := webSetup(t)
	wt := b.tenant(t, "", 2)
	ada, bob := wt.members[0], wt.members[1]
	post := b.post(t, ada, "Like me")
	like, unlike := "/posts/"+post.ID.String()+"/like", "/posts/"+post.ID.String()+"/unlike"
	br := b.signedIn(t, wt, bob, false)

	t.Run("Form", func(t *testing.T) {
		p := br.post(like, url.Values{"return": {"/feed?scope=following"}})
		if p.Code != http.StatusSeeOther || p.location() != br.base+"/feed?scope=following" {
			t.Fatalf("like = %d %q", p.Code, p.location())
		}
		if got, _ := b.svc.Post(bob.ctx, post.ID); !got.Liked || got.LikeCount != 1 {
			t.Errorf("after like: liked %v, count %d", got.Liked, got.LikeCount)
		}
		for _, ret := range []string{"//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:alert(1)", "/a/../../x", ""} {
			p := br.post(unlike, url.Values{"return": {ret}})
			if p.Code != http.StatusSeeOther || p.location() != br.base+"/posts/"+post.ID.String() {
				t.Errorf("unlike with return %q = %d to %q, want the post", ret, p.Code, p.location())
			}
		}
		if got, _ := b.svc.Post(bob.ctx, post.ID); got.Liked || got.LikeCount != 0 {
			t.Errorf("after unlike: liked %v, count %d", got.Liked, got.LikeCount)
		}
	})

	t.Run("HTMX", func(t *testing.T) {
		p := br.htmx(like, url.Values{"return": {"/feed"}})
		form := p.find("like-form")
		if p.Code != http.StatusOK || form.AttrOr("data-liked", "") != "true" || webText(form.Find(webTID("like-count"))) != "1" ||
			form.AttrOr("hx-post", "") != br.base+unlike || form.Find(`input[name="return"]`).AttrOr("value", "") != "/feed" {
			t.Fatalf("htmx like = %d:\n%s", p.Code, p.Body)
		}
		if strings.Contains(p.Body, "<html") || strings.Contains(p.Body, "app-header") {
			t.Errorf("htmx like answered a whole page, want the fragment")
		}
		p = br.htmx(unlike, url.Values{"return": {"/feed"}})
		if p.Code != http.StatusOK || p.find("like-form").AttrOr("data-liked", "") != "false" || webText(p.find("like-count")) != "0" {
			t.Errorf("htmx unlike = %d:\n%s", p.Code, p.Body)
		}
	})

	t.Run("SignedOut", func(t *testing.T) {
		v := b.browser(t, wt, false)
		p := v.post(like, url.Values{"return": {"/feed?cursor=abc"}})
		if p.Code != http.StatusSeeOther || p.location() != v.base+"/sign-in?next=%2Ffeed%3Fcursor%3Dabc" {
			t.Errorf("visitor like = %d %q, want sign-in and back to the feed", p.Code, p.location())
		}
		p = v.htmx(like, url.Values{"return": {"/feed"}})
		if p.Code != http.StatusNoContent || p.Header.Get("HX-Redirect") != v.base+"/sign-in?next=%2Ffeed" {
			t.Errorf("visitor htmx like = %d, HX-Redirect %q", p.Code, p.Header.Get("HX-Redirect"))
		}
	})

	t.Run("Gone", func(t *testing.T) {
		if p := br.post("/posts/"+uuid.NewString()+"/like", nil); p.Code != http.StatusNotFound {
			t.Errorf("like of an unknown post = %d, want 404", p.Code)
		}
		if p := br.htmx("/posts/"+uuid.NewString()+"/like", url.Values{"return": {"/feed"}}); p.Code != http.StatusNotFound {
			t.Errorf("htmx like of an unknown post = %d, want 404", p.Code)
		}
		if p := br.post("/posts/not-an-id/like", nil); p.Code != http.StatusNotFound {
			t.Errorf("like of a malformed ID = %d, want 404", p.Code)
		}
	})
	t.Run("RateLimited", func(t *testing.T) {
		b.settings(t, wt, func(st *social.Settings) { st.LikesPerMinute = 1 })
		carl := b.user(t, wt, "carl", "Carl", "member")
		cb := b.signedIn(t, wt, carl, false)
		if p := cb.post(like, nil); p.Code != http.StatusSeeOther {
			t.Fatalf("first like = %d", p.Code)
		}
		p := cb.post(unlike, nil)
		if p.Code != http.StatusTooManyRequests || p.Header.Get("Retry-After") == "" || !strings.Contains(p.text("message"), "Try again in") {
			t.Errorf("too many likes = %d, Retry-After %q, message %q", p.Code, p.Header.Get("Retry-After"), p.text("message"))
		}
		p = cb.htmx(unlike, url.Values{"return": {"/feed"}})
		if p.Code != http.StatusUnprocessableEntity || !strings.Contains(p.text("like-error"), "Try again in") ||
			p.find("like-form").AttrOr("data-liked", "") != "true" {
			t.Errorf("too many likes (htmx) = %d:\n%s", p.Code, p.Body)
		}
	})

}

func TestWeb_Comments(t *testing.T) {
	t.Parallel()
	b := webSetup(t)
	wt := b.tenant(t, "", 2)
	ada, bob := wt.members[0], wt.members[1]
	post := b.post(t, ada, "Talk to me")
	path := "/posts/" + post.ID.String()
	br := b.signedIn(t, wt, bob, true)

	p := br.get(path)
	if p.Code != http.StatusOK || p.find("no-comments").Length() != 1 || p.find("comment-form").AttrOr("action", "") != path+"/comments" {
		t.Fatalf("post page = %d, comment form %q", p.Code, p.find("comment-form").AttrOr("action", ""))
	}
	p = br.post(path+"/comments", url.Values{"text": {"First!"}})
	if p.Code != http.StatusSeeOther || !strings.HasPrefix(p.location(), path+"?done=commented#comment-") {
		t.Fatalf("comment = %d %q", p.Code, p.location())
	}
	cid := uuid.MustParse(strings.TrimPrefix(p.location(), path+"?done=commented#comment-"))
	p = br.get(p.location())
	c := commentCard(p, cid)
	if webText(c.Find(webTID("comment-text"))) != "First!" || webText(c.Find(webTID("comment-author"))) != "Member 1" ||
		p.text("social-notice") != "Your comment is published." {
		t.Errorf("comment shown = %q by %q", webText(c.Find(webTID("comment-text"))), webText(c.Find(webTID("comment-author"))))
	}
	reply := c.Find(webTID("reply-form"))
	if reply.AttrOr("hx-post", "") != path+"/comments" || reply.Find(`input[name="parent_id"]`).AttrOr("value", "") != cid.String() {
		t.Errorf("reply form = hx-post %q, parent %q", reply.AttrOr("hx-post", ""), reply.Find(`input[name="parent_id"]`).AttrOr("value", ""))
	}

	t.Run("ReplyHTMX", func(t *testing.T) {
		p := b.signedIn(t, wt, ada, true).htmx(path+"/comments", url.Values{"text": {"Thanks @" + bob.Handle}, "parent_id": {cid.String()}})
		if p.Code != http.StatusOK || p.find("reply-form").Find("textarea").Text() != "" {
			t.Fatalf("htmx reply = %d:\n%s", p.Code, p.Body)
		}
		oob := p.Doc.Find(`[hx-swap-oob="beforeend:#replies-` + cid.String() + `"]`)
		if oob.Length() != 1 || webText(oob.Find(webTID("comment-text"))) != "Thanks @"+bob.Handle {
			t.Errorf("htmx reply's new comment (oob) = %q", webText(oob))
		}
		page := br.get(path)
		replies := commentCard(page, cid).Find(webTID("replies")).Find(webTID("comment"))
		if replies.Length() != 1 || webText(replies.Find(webTID("comment-text"))) != "Thanks @"+bob.Handle ||
			replies.Find(webTID("reply-form")).Length() != 0 {
			t.Errorf("replies under the comment = %d", replies.Length())
		}
		if got := replies.Find(`[data-testid="comment-text"] a`).AttrOr("href", ""); got != "/members/"+bob.Handle {
			t.Errorf("mention in reply → %q", got)
		}
		// One level only.
		rid := replies.AttrOr("data-comment-id", "")
		p = br.htmx(path+"/comments", url.Values{"text": {"deeper"}, "parent_id": {rid}})
		if p.Code != http.StatusUnprocessableEntity || !strings.Contains(p.text("form-error"), "is a reply") {
			t.Errorf("reply to a reply = %d, form-error %q", p.Code, p.text("form-error"))
		}
	})

	t.Run("Problems", func(t *testing.T) {
		p := br.htmx(path+"/comments", url.Values{"text": {"  "}})
		if p.Code != http.StatusUnprocessableEntity || p.text("error-text") != "The text is required." || p.find("comment-form").Length() != 1 {
			t.Errorf("empty htmx comment = %d:\n%s", p.Code, p.Body)
		}
		p = br.post(path+"/comments", url.Values{"text": {strings.Repeat("x", 1001)}})
		if p.Code != http.StatusUnprocessableEntity || !strings.Contains(p.text("error-text"), "at most 1000") ||
			p.find("form-page").Length() != 1 || p.find("comment-form").Find("textarea").Text() != strings.Repeat("x", 1001) {
			t.Errorf("long comment = %d, error %q", p.Code, p.text("error-text"))
		}
	})

	t.Run("Paging", func(t *testing.T) {
		for i := range 22 {
			b.comment(t, ada, post.ID, nil, "Comment "+strconv.Itoa(i))
		}
		p := br.get(path)
		if n := p.find("comment-list").ChildrenFiltered(webTID("comment")).Length(); n != 20 {
			t.Errorf("first page = %d comments, want 20", n)
		}
		p = br.get(p.find("next-page").AttrOr("href", ""))
		if n := p.find("comment-list").ChildrenFiltered(webTID("comment")).Length(); n != 3 || p.find("first-page").AttrOr("href", "") != path {
			t.Errorf("second page = %d comments, first %q", n, p.find("first-page").AttrOr("href", ""))
		}
	})

	t.Run("MoreReplies", func(t *testing.T) {
		for i := range 21 {
			b.comment(t, ada, post.ID, &cid, "Reply "+strconv.Itoa(i))
		}
		p := br.get(path)
		more := commentCard(p, cid).Find(webTID("more-replies"))
		if webText(more) != "See 2 more replies" {
			t.Fatalf("more replies = %q", webText(more))
		}
		p = br.get(more.AttrOr("href", ""))
		if p.Code != http.StatusOK || p.find("comment-page").Length() != 1 || commentCard(p, cid).Find(webTID("replies")).Children().Length() != 20 {
			t.Errorf("comment page = %d with %d replies", p.Code, commentCard(p, cid).Find(webTID("replies")).Children().Length())
		}
		p = br.get(p.find("next-page").AttrOr("href", ""))
		if n := commentCard(p, cid).Find(webTID("replies")).Children().Length(); n != 2 {
			t.Errorf("second page of replies = %d, want 2", n)
		}
	})
}

func TestWeb_EditDelete(t *testing.T) {
	t.Parallel()
	b := webSetup(t)
	wt := b.tenant(t, "", 2)
	ada, bob := wt.members[0], wt.members[1]
	post := b.post(t, ada, "Frist post")
	path := "/posts/" + post.ID.String()
	bobs := b.comment(t, bob, post.ID, nil, "Typo there")
	aa, bb := b.signedIn(t, wt, ada, false), b.signedIn(t, wt, bob, false)

	t.Run("Post", func(t *testing.T) {
		p := aa.get(path)
		if p.find("post-edit-link").AttrOr("href", "") != aa.base+path+"/edit" || p.find("post-delete-form").Length() != 1 ||
			p.find("post-report-form").Length() != 0 {
			t.Errorf("author's tools: edit %q, delete %d, report %d", p.find("post-edit-link").AttrOr("href", ""),
				p.find("post-delete-form").Length(), p.find("post-report-form").Length())
		}
		p = bb.get(path)
		if p.find("post-edit-link").Length() != 0 || p.find("post-delete-form").Length() != 0 || p.find("post-report-form").Length() != 1 {
			t.Errorf("other's tools: edit %d, delete %d, report %d", p.find("post-edit-link").Length(),
				p.find("post-delete-form").Length(), p.find("post-report-form").Length())
		}
		p = aa.get(path + "/edit")
		if p.Code != http.StatusOK || p.find("edit-post-form").Find("textarea").Text() != "Frist post" {
			t.Fatalf("edit page = %d", p.Code)
		}
		if p := aa.post(path+"/edit", url.Values{"text": {""}}); p.Code != http.StatusUnprocessableEntity || p.text("error-text") != "The text is required." {
			t.Errorf("empty edit = %d %q", p.Code, p.text("error-text"))
		}
		for _, try := range []webResp{bb.get(path + "/edit"), bb.post(path+"/edit", url.Values{"text": {"mine"}}), bb.post(path+"/delete", nil)} {
			if try.Code != http.StatusForbidden {
				t.Errorf("another member's edit or delete = %d, want 403", try.Code)
			}
		}
		p = aa.submit(path+"/edit", url.Values{"text": {"First post"}})
		if webText(p.find("post-text")) != "First post" || p.find("post-edited").Length() != 1 || p.text("social-notice") != "Your post is updated." {
			t.Errorf("edited post = %q, edited %d", webText(p.find("post-text")), p.find("post-edited").Length())
		}
	})

	t.Run("Comment", func(t *testing.T) {
		cpath := "/comments/" + bobs.ID.String()
		p := bb.get(path)
		c := commentCard(p, bobs.ID)
		if c.Find(webTID("comment-edit-form")).AttrOr("action", "") != bb.base+cpath+"/edit" || c.Find(webTID("comment-delete-form")).Length() != 1 ||
			c.Find(webTID("comment-report-form")).Length() != 0 {
			t.Errorf("author's comment tools wrong")
		}
		if c := commentCard(aa.get(path), bobs.ID); c.Find(webTID("comment-edit-form")).Length() != 0 || c.Find(webTID("comment-report-form")).Length() != 1 {
			t.Errorf("other's comment tools wrong")
		}
		for _, try := range []webResp{aa.post(cpath+"/edit", url.Values{"text": {"mine"}}), aa.post(cpath+"/delete", nil)} {
			if try.Code != http.StatusForbidden {
				t.Errorf("another member's comment edit or delete = %d, want 403", try.Code)
			}
		}
		p = bb.post(cpath+"/edit", url.Values{"text": {"  "}})
		if p.Code != http.StatusUnprocessableEntity || p.find("comment-edit-form").Length() != 1 || p.text("error-text") == "" {
			t.Errorf("empty comment edit = %d", p.Code)
		}
		p = bb.submit(cpath+"/edit", url.Values{"text": {"No typo"}})
		if c := commentCard(p, bobs.ID); webText(c.Find(webTID("comment-text"))) != "No typo" || c.Find(webTID("comment-edited")).Length() != 1 {
			t.Errorf("edited comment = %q", webText(c.Find(webTID("comment-text"))))
		}
		p = bb.submit(cpath+"/delete", nil)
		if commentCard(p, bobs.ID).Length() != 0 || p.text("social-notice") != "Your comment is deleted." {
			t.Errorf("deleted comment still shown")
		}
		if p := bb.post(cpath+"/delete", nil); p.Code != http.StatusNotFound {
			t.Errorf("delete again = %d, want 404", p.Code)
		}
	})

	t.Run("DeletePost", func(t *testing.T) {
		p := aa.post(path+"/delete", nil)
		if p.Code != http.StatusSeeOther || p.location() != aa.base+"/feed?done=post-deleted" {
			t.Fatalf("delete = %d %q", p.Code, p.location())
		}
		if p := bb.get(path); p.Code != http.StatusNotFound || p.find("not-found").Length() != 1 {
			t.Errorf("deleted post page = %d", p.Code)
		}
	})

	t.Run("Hidden", func(t *testing.T) {
		hidden := b.post(t, ada, "Hide me")
		if err := b.svc.Hide(wt.mod.ctx, social.ModerateParams{Kind: social.TargetPost, Target: hidden.ID, Reason: "Off topic"}); err != nil {
			t.Fatal(err)
		}
		if p := bb.get("/posts/" + hidden.ID.String()); p.Code != http.StatusNotFound {
			t.Errorf("hidden post page = %d, want 404", p.Code)
		}
		mb := b.signedIn(t, wt, wt.mod, false)
		if p := mb.get("/posts/" + hidden.ID.String()); p.Code != http.StatusOK || !strings.Contains(p.text("post-hidden"), "Off topic") {
			t.Errorf("moderator's view of the hidden post = %d, %q", p.Code, p.text("post-hidden"))
		}
	})
}

func TestWeb_Report(t *testing.T) {
	t.Parallel()
	b := webSetup(t)
	wt := b.tenant(t, "", 2)
	ada, bob := wt.members[0], wt.members[1]
	post := b.post(t, ada, "Buy cheap stuff")
	c := b.comment(t, ada, post.ID, nil, "Really cheap")
	path := "/posts/" + post.ID.String()
	br := b.signedIn(t, wt, bob, false)

	if p := br.post(path+"/report", url.Values{"reason": {""}}); p.Code != http.StatusUnprocessableEntity || p.find("post-report-form").Length() != 1 || p.text("error-reason") == "" {
		t.Errorf("empty report = %d, error %q", p.Code, p.text("error-reason"))
	}
	p := br.submit(path+"/report", url.Values{"reason": {"Spam"}})
	if p.text("social-notice") != "Thank you: the moderators will look at your report." {
		t.Errorf("notice = %q", p.text("social-notice"))
	}
	p = br.submit(path+"/report", url.Values{"reason": {"Spam again"}})
	if p.text("social-notice") != "You have already reported this; the moderators will look at it." {
		t.Errorf("second report notice = %q", p.text("social-notice"))
	}
	if p := br.post("/comments/"+c.ID.String()+"/report", url.Values{"reason": {"Spam too"}}); p.Code != http.StatusSeeOther || p.location() != br.base+path+"?done=reported" {
		t.Errorf("comment report = %d %q", p.Code, p.location())
	}
	page, err := b.svc.Reports(wt.mod.ctx, social.ReportsParams{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range page.Reports {
		got = append(got, r.Target.Kind+": "+r.Reason)
	}
	if d := cmp.Diff([]string{"comment: Spam too", "post: Spam"}, got); d != "" {
		t.Errorf("reports (-want +got):\n%s", d)
	}
}

func TestWeb_Profile(t *testing.T) {
	t.Parallel()
	b := webSetup(t)
	wt := b.tenant(t, "", 2)
	ada, bob := wt.members[0], wt.members[1]
	bio := "Maker of things.\nLikes tea."
	if _, err := b.svc.UpdateProfile(ada.ctx, social.ProfileParams{Bio: &bio}); err != nil {
		t.Fatal(err)
	}
	for i := range 21 {
		p := b.post(t, ada, "Ada's post "+strconv.Itoa(i))
		if i == 20 {
			if _, err := b.svc.Like(bob.ctx, p.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	path := "/members/" + ada.Handle
	br := b.signedIn(t, wt, bob, false)

	p := br.get(path)
	if p.Code != http.StatusOK {
		t.Fatalf("profile = %d:\n%s", p.Code, p.Body)
	}
	got := map[string]string{}
	for _, id := range []string{"profile-name", "profile-handle", "count-posts", "count-followers", "count-following", "count-likes", "profile-coins"} {
		got[id] = p.text(id)
	}
	want := map[string]string{"profile-name": "Member 0", "profile-handle": "@" + ada.Handle, "count-posts": "21", "count-followers": "0",
		"count-following": "0", "count-likes": "1", "profile-coins": "212"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("profile (-want +got):\n%s", d)
	}
	if p.find("profile-bio").Text() != bio || p.find("profile-avatar").Length() != 1 {
		t.Errorf("bio = %q", p.find("profile-bio").Text())
	}
	var badges []string
	p.find("badge").Each(func(_ int, s *goquery.Selection) { badges = append(badges, s.AttrOr("data-badge", "")) })
	if d := cmp.Diff([]string{"first_post", "posts_10"}, badges); d != "" {
		t.Errorf("badges (-want +got):\n%s", d)
	}
	if len(postIDs(p)) != 20 || !strings.HasPrefix(p.find("next-page").AttrOr("href", ""), br.base+path+"?cursor=") {
		t.Errorf("profile posts = %d, next %q", len(postIDs(p)), p.find("next-page").AttrOr("href", ""))
	}
	if p2 := br.get(p.find("next-page").AttrOr("href", "")); len(postIDs(p2)) != 1 {
		t.Errorf("profile's second page = %d posts", len(postIDs(p2)))
	}
	if p.find("followers-link").AttrOr("href", "") != br.base+path+"/followers" || p.find("following-link").AttrOr("href", "") != br.base+path+"/following" {
		t.Errorf("list links wrong")
	}
	if p := br.get("/members/" + strings.ToUpper(ada.Handle)); p.Code != http.StatusSeeOther || p.location() != br.base+path {
		t.Errorf("upper-case handle = %d %q", p.Code, p.location())
	}
	if p := br.get("/members/nobody_here"); p.Code != http.StatusNotFound {
		t.Errorf("unknown member = %d", p.Code)
	}

	t.Run("Own", func(t *testing.T) {
		p := b.signedIn(t, wt, ada, false).get(path)
		if p.find("follow-form").Length() != 0 || p.find("edit-social-link").AttrOr("href", "") != "/t/"+wt.Slug+"/me/social" {
			t.Errorf("own profile: follow form %d, edit link %q", p.find("follow-form").Length(), p.find("edit-social-link").AttrOr("href", ""))
		}
	})

	t.Run("Follow", func(t *testing.T) {
		form := p.find("follow-form")
		if form.AttrOr("data-following", "") != "false" || form.AttrOr("action", "") != br.base+path+"/follow" {
			t.Fatalf("follow form = %q", form.AttrOr("action", ""))
		}
		p := br.submit(path+"/follow", url.Values{"return": {form.Find(`input[name="return"]`).AttrOr("value", "")}})
		if p.text("count-followers") != "1" || p.find("follow-form").AttrOr("data-following", "") != "true" {
			t.Errorf("after follow: followers %q, following %q", p.text("count-followers"), p.find("follow-form").AttrOr("data-following", ""))
		}
		p = br.htmx(path+"/unfollow", url.Values{"return": {path}})
		if p.Code != http.StatusOK || p.find("follow-form").AttrOr("data-following", "") != "false" ||
			p.Doc.Find(`#follower-count[hx-swap-oob="true"]`).Text() != "0" {
			t.Errorf("htmx unfollow = %d:\n%s", p.Code, p.Body)
		}
		p = br.htmx(path+"/follow", url.Values{"return": {path}})
		if p.find("follow-form").AttrOr("data-following", "") != "true" || p.Doc.Find(`#follower-count`).Text() != "1" {
			t.Errorf("htmx follow:\n%s", p.Body)
		}
		if p := br.post("/members/"+bob.Handle+"/follow", nil); p.Code != http.StatusUnprocessableEntity {
			t.Errorf("follow yourself = %d, want 422", p.Code)
		}
		l := br.get(path + "/followers")
		if l.find("follow-list").AttrOr("data-list", "") != "followers" || l.text("follow-member") != "Member 1" ||
			l.find("follow-member").AttrOr("href", "") != br.base+"/members/"+bob.Handle {
			t.Errorf("followers = %q", l.text("follow-member"))
		}
		l = br.get("/members/" + bob.Handle + "/following")
		if l.text("follow-member") != "Member 0" {
			t.Errorf("following = %q", l.text("follow-member"))
		}
		if l := br.get(path + "/following"); l.find("no-follows").Length() != 1 {
			t.Errorf("ada follows nobody, but the list shows %d", l.find("follow-entry").Length())
		}
	})

	t.Run("NoCoins", func(t *testing.T) {
		b.settings(t, wt, func(st *social.Settings) { st.ShowCoins = false })
		if p := br.get(path); p.find("profile-coins").Length() != 0 {
			t.Errorf("coins shown though the community hides them")
		}
	})
}

func TestWeb_Settings(t *testing.T) {
	t.Parallel()
	b := webSetup(t)
	wt := b.tenant(t, "", 2)
	ada, bob := wt.members[0], wt.members[1]
	br := b.signedIn(t, wt, ada, false)

	p := br.get("/me/social")
	if p.Code != http.StatusOK || p.find("settings-handle").AttrOr("value", "") != ada.Handle {
		t.Fatalf("settings = %d, handle %q", p.Code, p.find("settings-handle").AttrOr("value", ""))
	}
	for _, tt := range []struct {
		handle, bio, field, want string
	}{
		{"x", "", "error-handle", "The handle must be 3 to 30 letters a-z, digits or _."},
		{bob.Handle, "", "error-handle", "The handle is taken."},
		{"ada_l", strings.Repeat("b", 301), "error-bio", "The bio must be at most 300 characters."},
	} {
		p := br.post("/me/social", url.Values{"handle": {tt.handle}, "bio": {tt.bio}})
		if p.Code != http.StatusUnprocessableEntity || p.text(tt.field) != tt.want || p.find("settings-handle").AttrOr("value", "") != tt.handle {
			t.Errorf("save %q = %d, %s %q; want 422 %q", tt.handle, p.Code, tt.field, p.text(tt.field), tt.want)
		}
	}
	p = br.post("/me/social", url.Values{"handle": {"Ada_L"}, "bio": {"Hello"}})
	if p.Code != http.StatusSeeOther || p.location() != br.base+"/members/ada_l?done=profile-saved" {
		t.Fatalf("save = %d %q", p.Code, p.location())
	}
	p = br.get(p.location())
	if p.text("profile-handle") != "@ada_l" || p.text("profile-bio") != "Hello" || p.text("social-notice") != "Your social profile is saved." {
		t.Errorf("saved profile = %q %q", p.text("profile-handle"), p.text("profile-bio"))
	}
}

// TestWeb_SignedOut sends every action as a visitor: each goes to the
// sign-in page and back to a page (never to the action, which answers
// POST only), and nothing changes.
func TestWeb_SignedOut(t *testing.T) {
	t.Parallel()
	b := webSetup(t)
	wt := b.tenant(t, "", 1)
	ada := wt.members[0]
	post := b.post(t, ada, "Hello")
	c := b.comment(t, ada, post.ID, nil, "Hi")
	pp, cp := "/posts/"+post.ID.String(), "/comments/"+c.ID.String()
	br := b.browser(t, wt, false)
	next := func(p string) string { return br.base + "/sign-in?next=" + url.QueryEscape(p) }
	for _, tt := range []struct{ method, path, back string }{
		{"POST", "/posts", "/feed"},
		{"POST", pp + "/like", pp},
		{"POST", pp + "/unlike", pp},
		{"GET", pp + "/edit", pp},
		{"POST", pp + "/edit", pp},
		{"POST", pp + "/delete", pp},
		{"POST", pp + "/comments", pp},
		{"POST", pp + "/report", pp},
		{"POST", cp + "/edit", pp},
		{"POST", cp + "/delete", pp},
		{"POST", cp + "/report", pp},
		{"POST", "/members/" + ada.Handle + "/follow", "/members/" + ada.Handle},
		{"POST", "/members/" + ada.Handle + "/unfollow", "/members/" + ada.Handle},
		{"GET", "/me/social", "/me/social"},
		{"POST", "/me/social", "/me/social"},
		{"GET", "/social/sign-in?return=//evil.example", "/feed"},
	} {
		var p webResp
		if tt.method == "GET" {
			p = br.get(tt.path)
		} else {
			p = br.post(tt.path, url.Values{"text": {"x"}, "reason": {"x"}, "handle": {"xyz"}})
		}
		if p.Code != http.StatusSeeOther || p.location() != next(tt.back) {
			t.Errorf("%s %s = %d to %q, want %q", tt.method, tt.path, p.Code, p.location(), next(tt.back))
		}
	}
	if got, _ := b.svc.Post(ada.ctx, post.ID); got.Text != "Hello" || got.LikeCount != 0 || got.CommentCount != 1 {
		t.Errorf("a visitor changed the post: %+v", got)
	}
}

// TestWeb_NotEnabled: the social pages of a tenant without the plugin are
// the host's 404 page.
func TestWeb_NotEnabled(t *testing.T) {
	t.Parallel()
	b := webSetup(t)
	wt := b.tenant(t, "quests", 0)
	br := b.browser(t, wt, false)
	for _, path := range []string{"/feed", "/posts/" + uuid.NewString(), "/members/someone", "/me/social"} {
		if p := br.get(path); p.Code != http.StatusNotFound || p.find("not-found").Length() != 1 {
			t.Errorf("GET %s = %d, want the 404 page", path, p.Code)
		}
	}
	if p := br.post("/posts", url.Values{"text": {"x"}}); p.Code != http.StatusNotFound {
		t.Errorf("POST /posts = %d, want 404", p.Code)
	}
	if p := br.get("/"); p.find("app-nav").Find(`a[href$="/feed"]`).Length() != 0 {
		t.Errorf("the nav links the feed of a tenant without the plugin")
	}
}
