package web

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/guildhall/guildhall/engine/identity"
	"github.com/guildhall/guildhall/tenants"
)

// tenantHosts is the server's tenant middleware in small: /t/{slug}/… on
// the platform host is that tenant under the base path /t/{slug}, and
// {slug}.guildhall.test is that tenant on its own host.
func (b *testBundle) tenantHosts(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if rest, ok := strings.CutPrefix(r.URL.Path, "/t/"); ok {
			slug, tail, _ := strings.Cut(rest, "/")
			tn, err := b.svc.Get(ctx, slug)
			if err != nil {
				NotFoundPage(w, r)
				return
			}
			r2 := r.Clone(tenants.WithContext(ctx, tn, "/t/"+slug))
			r2.URL.Path, r2.URL.RawPath = "/"+tail, ""
			next.ServeHTTP(w, r2)
			return
		}
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		if slug, ok := strings.CutSuffix(host, ".guildhall.test"); ok {
			tn, err := b.svc.Get(ctx, slug)
			if err != nil {
				NotFoundPage(w, r)
				return
			}
			ctx = tenants.WithContext(ctx, tn, "")
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// browser is a client with a cookie jar that talks to one tenant, under
// its base path on the platform host or on its own host. It does not
// follow redirects by itself: tests look at them.
type browser struct {
	t    *testing.T
	c    *http.Client
	root string // "http://guildhall.test/t/slug" or "http://slug.guildhall.test"
	base string // "/t/slug" or ""
}

// bases names the two ways to reach a tenant's pages, for subtests.
var bases = []struct {
	name    string
	ownHost bool
}{{"PlatformHost", false}, {"OwnHost", true}}

func (b *testBundle) browser(t *testing.T, tn tenants.Tenant, ownHost bool) *browser {
	t.Helper()
	srv := b.srv
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	addr := srv.Listener.Addr().String()
	tr := &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}}
	t.Cleanup(tr.CloseIdleConnections)
	c := &http.Client{Jar: jar, Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	br := &browser{t: t, c: c, root: "http://guildhall.test/t/" + tn.Slug, base: "/t/" + tn.Slug}
	if ownHost {
		br.root, br.base = "http://"+tn.Slug+".guildhall.test", ""
	}
	return br
}

// resp is a response as a test sees it.
type resp struct {
	Code   int
	Header http.Header
	Body   string
	Doc    *goquery.Document
	URL    string
	// Cookies are the cookies the response set.
	Cookies []*http.Cookie
}

// Location is where a redirect points, as the app wrote it.
func (p resp) Location() string { return p.Header.Get("Location") }

func (p resp) find(testid string) *goquery.Selection { return p.Doc.Find(testID(testid)) }

func (p resp) text(testid string) string { return text(p.find(testid)) }

// cookie is the cookie named name the response set, or nil.
func (p resp) cookie(name string) *http.Cookie {
	for _, c := range p.Cookies {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func (br *browser) do(method, path string, form url.Values, header http.Header) resp {
	br.t.Helper()
	u := br.root + path
	if br.base != "" && strings.HasPrefix(path, "/t/") {
		// A path the app wrote, with its base path; or another tenant's.
		u = strings.TrimSuffix(br.root, br.base) + path
	}
	var body *strings.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	} else {
		body = strings.NewReader("")
	}
	req, err := http.NewRequestWithContext(br.t.Context(), method, u, body)
	if err != nil {
		br.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	res, err := br.c.Do(req)
	if err != nil {
		br.t.Fatalf("%s %s: %v", method, u, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		br.t.Fatalf("%s %s: read body: %v", method, u, err)
	}
	d, err := goquery.NewDocumentFromReader(bytes.NewReader(raw))
	if err != nil {
		br.t.Fatalf("%s %s: parse HTML: %v", method, u, err)
	}
	return resp{Code: res.StatusCode, Header: res.Header, Body: string(raw), Doc: d, URL: u, Cookies: res.Cookies()}
}

// get requests path (relative to the tenant's root, or with the base path
// as the app writes links).
func (br *browser) get(path string) resp {
	br.t.Helper()
	return br.do(http.MethodGet, path, nil, nil)
}

func (br *browser) post(path string, form url.Values) resp {
	br.t.Helper()
	return br.do(http.MethodPost, path, form, nil)
}

// follow follows p's redirects, as a browser would, and returns the page
// they end at.
func (br *browser) follow(p resp) resp {
	br.t.Helper()
	for range 10 {
		if p.Code < 300 || p.Code > 399 {
			return p
		}
		p = br.get(p.Location())
	}
	br.t.Fatalf("too many redirects, at %s", p.URL)
	return p
}

// submit posts form to path and follows the redirect it answers with;
// anything else fails the test.
func (br *browser) submit(path string, form url.Values) resp {
	br.t.Helper()
	p := br.post(path, form)
	if p.Code != http.StatusSeeOther {
		br.t.Fatalf("POST %s = %d, want 303; form-error %q; body:\n%s", path, p.Code, p.text("form-error"), p.Body)
	}
	return br.follow(p)
}

// session is the session cookie the jar holds for the tenant, or "".
func (br *browser) session() string {
	u, _ := url.Parse(br.root + "/")
	for _, c := range br.c.Jar.Cookies(u) {
		if c.Name == SessionCookie {
			return c.Value
		}
	}
	return ""
}

// currentUser is the name the header shows as signed in, or "".
func (br *browser) currentUser() string {
	br.t.Helper()
	p := br.get("/")
	if p.Code != http.StatusOK {
		br.t.Fatalf("GET / = %d", p.Code)
	}
	return p.text("current-user")
}

var codeRe = regexp.MustCompile(`\b(\d{6})\b`)

// lastCode returns the six-digit code in the last email to to.
func (b *testBundle) lastCode(t *testing.T, to string) string {
	t.Helper()
	m, ok := b.outbox.LastEmailTo(to)
	if !ok {
		t.Fatalf("no email to %s", to)
	}
	c := codeRe.FindStringSubmatch(m.Text)
	if c == nil {
		t.Fatalf("no code in the email to %s: %q", to, m.Text)
	}
	return c[1]
}

// otherCode is a six-digit code that is not code.
func otherCode(code string) string {
	if code == "000000" {
		return "000001"
	}
	return "000000"
}

const testPassword = "correct horse battery"

// account creates a verified account in tn through the service.
func (b *testBundle) account(t *testing.T, tn tenants.Tenant, email, name string) {
	t.Helper()
	ctx := tenants.WithContext(t.Context(), tn, "")
	if err := b.identity.SignUp(ctx, identity.SignUpParams{Email: email, Password: testPassword, DisplayName: name}); err != nil {
		t.Fatalf("SignUp(%s) = %v", email, err)
	}
	if _, err := b.identity.VerifyEmail(ctx, email, b.lastCode(t, email), identity.Client{Kind: identity.KindAPI}); err != nil {
		t.Fatalf("VerifyEmail(%s) = %v", email, err)
	}
}

// signIn signs br in with a password through the sign-in form.
func (br *browser) signIn(email, password string) resp {
	br.t.Helper()
	return br.submit("/sign-in", url.Values{"email": {email}, "password": {password}})
}

// signedInBrowser creates an account in tn and a browser signed in to it.
func (b *testBundle) signedInBrowser(t *testing.T, tn tenants.Tenant, ownHost bool, email, name string) *browser {
	t.Helper()
	b.account(t, tn, email, name)
	br := b.browser(t, tn, ownHost)
	br.signIn(email, testPassword)
	if got := br.currentUser(); got != name {
		t.Fatalf("signed in as %q, want %q", got, name)
	}
	return br
}
