package blob

import (
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// mustURL returns d's signed URL for key or fails the test.
func mustURL(t testing.TB, s Store, key string, ttl time.Duration) string {
	t.Helper()
	u, err := s.URL(t.Context(), key, ttl)
	if err != nil {
		t.Fatalf("URL(%q) error = %v", key, err)
	}
	return u
}

// serve sends one request to h and returns the response.
func serve(t testing.TB, h http.Handler, method, target string, header http.Header) *http.Response {
	t.Helper()
	r := httptest.NewRequestWithContext(t.Context(), method, target, nil)
	for k, v := range header {
		r.Header[k] = v
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Result()
}

func body(t testing.TB, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestDisk_URL(t *testing.T) {
	t.Parallel()
	b := setupDisk(t)

	got := mustURL(t, b.disk, "t1/posts/a.png", 90*time.Second+500*time.Millisecond)
	u, err := url.Parse(got)
	if err != nil {
		t.Fatal(err)
	}
	exp := b.clock.Now().Add(90 * time.Second).Unix() // rounded down: never later than ttl
	if u.Path != "/files/t1/posts/a.png" || u.Query().Get("exp") != strconv.FormatInt(exp, 10) || len(u.Query().Get("sig")) != 43 {
		t.Errorf("URL() = %q, want /files/t1/posts/a.png?exp=%d&sig=<43 base64url chars>", got, exp)
	}
	if u.Host != "" || u.Scheme != "" {
		t.Errorf("URL() = %q, want a path (host-independent) URL", got)
	}
	for _, ttl := range []time.Duration{0, -time.Second, 999 * time.Millisecond, MaxTTL + time.Second} {
		if _, err := b.disk.URL(t.Context(), "t1/a", ttl); err == nil {
			t.Errorf("URL(ttl %s) error = nil", ttl)
		}
	}
	if _, err := b.disk.URL(t.Context(), "t1/a", MaxTTL); err != nil {
		t.Errorf("URL(MaxTTL) error = %v", err)
	}
}

func TestDisk_Handler(t *testing.T) {
	t.Parallel()

	const png = "\x89PNG\r\n\x1a\nnot really, but stored as image/png"
	type want struct {
		status  int
		body    string
		headers map[string]string
	}
	tests := []struct {
		name   string
		method string
		target func(b diskBundle, signed string) string
		header http.Header
		before func(b diskBundle)
		want   want
	}{
		{
			name: "Valid",
			want: want{status: 200, body: png, headers: map[string]string{
				"Content-Type":            "image/png",
				"Content-Length":          strconv.Itoa(len(png)),
				"X-Content-Type-Options":  "nosniff",
				"Content-Disposition":     `inline; filename="a.png"`,
				"Cache-Control":           "private, max-age=300",
				"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; sandbox",
			}},
		},
		{
			name:   "Head",
			method: http.MethodHead,
			want: want{status: 200, body: "", headers: map[string]string{
				"Content-Type": "image/png", "Content-Length": strconv.Itoa(len(png)),
			}},
		},
		{
			name:   "Range",
			header: http.Header{"Range": {"bytes=1-3"}},
			want: want{status: 206, body: "PNG", headers: map[string]string{
				"Content-Range": "bytes 1-3/" + strconv.Itoa(len(png)), "Content-Type": "image/png",
			}},
		},
		{
			name:   "RangeSuffix",
			header: http.Header{"Range": {"bytes=-10"}},
			want:   want{status: 206, body: png[len(png)-10:]},
		},
		{
			name:   "RangeUnsatisfiable",
			header: http.Header{"Range": {"bytes=1000-"}},
			want:   want{status: 416},
		},
		{
			name:   "MaxAgeCountsDown",
			before: func(b diskBundle) { b.clock.Advance(100 * time.Second) },
			want:   want{status: 200, headers: map[string]string{"Cache-Control": "private, max-age=200"}},
		},
		{
			name:   "LastSecond",
			before: func(b diskBundle) { b.clock.Advance(299 * time.Second) },
			want:   want{status: 200, headers: map[string]string{"Cache-Control": "private, max-age=1"}},
		},
		{
			name:   "ExpiredExactly",
			before: func(b diskBundle) { b.clock.Advance(300 * time.Second) },
			want:   want{status: 403},
		},
		{
			name:   "Expired",
			before: func(b diskBundle) { b.clock.Advance(time.Hour) },
			want:   want{status: 403},
		},
		{
			name:   "TamperedSig",
			target: func(_ diskBundle, s string) string { return flipSig(s) },
			want:   want{status: 403},
		},
		{
			name:   "TamperedKey",
			target: func(_ diskBundle, s string) string { return strings.Replace(s, "/t1/", "/t2/", 1) },
			before: func(b diskBundle) { mustPut(t, b.disk, "t2/posts/a.png", "other tenant", "image/png") },
			want:   want{status: 403},
		},
		{
			name: "TamperedExp",
			target: func(b diskBundle, s string) string {
				exp := strconv.FormatInt(b.clock.Now().Add(5*time.Minute).Unix(), 10)
				later := strconv.FormatInt(b.clock.Now().Add(time.Hour).Unix(), 10)
				return strings.Replace(s, "exp="+exp, "exp="+later, 1)
			},
			want: want{status: 403},
		},
		{
			name:   "ExpWithPlus",
			target: func(b diskBundle, s string) string { return strings.Replace(s, "exp=", "exp=%2B", 1) },
			want:   want{status: 403},
		},
		{
			name:   "NoSig",
			target: func(_ diskBundle, s string) string { return s[:strings.Index(s, "&sig=")] },
			want:   want{status: 403},
		},
		{
			name:   "TwoSigs",
			target: func(_ diskBundle, s string) string { return s + "&sig=x" },
			want:   want{status: 403},
		},
		{
			name:   "Unsigned",
			target: func(_ diskBundle, s string) string { return s[:strings.Index(s, "?")] },
			want:   want{status: 403},
		},
		{
			name:   "SigFromOtherSecret",
			target: func(b diskBundle, _ string) string { return otherSecretURL(t, b, "t1/posts/a.png") },
			want:   want{status: 403},
		},
		{
			name:   "WrongMethod",
			method: http.MethodPost,
			want:   want{status: 405, headers: map[string]string{"Allow": "GET, HEAD"}},
		},
		{
			name:   "Missing",
			target: func(b diskBundle, _ string) string { return mustURL(t, b.disk, "t1/posts/gone.png", 5*time.Minute) },
			want:   want{status: 404},
		},
		{
			name:   "Deleted",
			before: func(b diskBundle) { _ = b.disk.Delete(t.Context(), "t1/posts/a.png") },
			want:   want{status: 404},
		},
		{
			name:   "EscapedPath",
			target: func(_ diskBundle, s string) string { return strings.Replace(s, "a.png", "%61.png", 1) },
			want:   want{status: 404},
		},
		{
			name:   "TraversalPath",
			target: func(_ diskBundle, s string) string { return strings.Replace(s, "/t1/", "/../t1/", 1) },
			want:   want{status: 404},
		},
		{
			name:   "OutsideBase",
			target: func(_ diskBundle, s string) string { return strings.Replace(s, "/files/", "/other/", 1) },
			want:   want{status: 404},
		},
		{
			name: "HTMLIsAttachment",
			target: func(b diskBundle, _ string) string {
				mustPut(t, b.disk, "t1/x/page.html", "<script>alert(1)</script>", "text/html; charset=utf-8")
				return mustURL(t, b.disk, "t1/x/page.html", time.Minute)
			},
			want: want{status: 200, headers: map[string]string{
				"Content-Type":           "text/html; charset=utf-8",
				"Content-Disposition":    `attachment; filename="page.html"`,
				"X-Content-Type-Options": "nosniff",
			}},
		},
		{
			name: "SVGIsAttachment",
			target: func(b diskBundle, _ string) string {
				mustPut(t, b.disk, "t1/x/a.svg", "<svg onload=alert(1)>", "image/svg+xml")
				return mustURL(t, b.disk, "t1/x/a.svg", time.Minute)
			},
			want: want{status: 200, headers: map[string]string{"Content-Disposition": `attachment; filename="a.svg"`}},
		},
		{
			name: "UntypedIsAttachment",
			target: func(b diskBundle, _ string) string {
				mustPut(t, b.disk, "t1/x/blob", "<html>", "")
				return mustURL(t, b.disk, "t1/x/blob", time.Minute)
			},
			want: want{status: 200, headers: map[string]string{
				"Content-Type":        "application/octet-stream",
				"Content-Disposition": `attachment; filename="blob"`,
			}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setupDisk(t)
			mustPut(t, b.disk, "t1/posts/a.png", png, "image/png")
			target := mustURL(t, b.disk, "t1/posts/a.png", 5*time.Minute)
			if tt.target != nil {
				target = tt.target(b, target)
			}
			if tt.before != nil {
				tt.before(b)
			}
			method := tt.method
			if method == "" {
				method = http.MethodGet
			}
			resp := serve(t, b.disk.Handler(), method, target, tt.header)
			if resp.StatusCode != tt.want.status {
				t.Fatalf("%s %s status = %d, want %d (body %q)", method, target, resp.StatusCode, tt.want.status, body(t, resp))
			}
			got := body(t, resp)
			if tt.want.status < 300 && got != tt.want.body && tt.want.body != "" {
				t.Errorf("body = %q, want %q", got, tt.want.body)
			}
			if tt.want.status >= 400 && strings.Contains(got, "PNG") {
				t.Errorf("refusal leaks content: %q", got)
			}
			for k, v := range tt.want.headers {
				if g := resp.Header.Get(k); g != v {
					t.Errorf("header %s = %q, want %q", k, g, v)
				}
			}
		})
	}
}

// flipSig changes one character of the signature in a signed URL.
func flipSig(s string) string {
	i := strings.Index(s, "sig=") + len("sig=")
	c := byte('A')
	if s[i] == 'A' {
		c = 'B'
	}
	return s[:i] + string(c) + s[i+1:]
}

// otherSecretURL signs key with a different secret, same clock.
func otherSecretURL(t testing.TB, b diskBundle, key string) string {
	t.Helper()
	other, err := NewDisk(DiskConfig{Dir: t.TempDir(), Secret: []byte(strings.Repeat("x", 32)), Now: b.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return mustURL(t, other, key, time.Minute)
}

// TestDisk_HandlerMounted serves through a real server and mux, as cmd
// mounts it, on a custom absolute base URL, and from a second host name.
func TestDisk_HandlerMounted(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	d, err := NewDisk(DiskConfig{Dir: t.TempDir(), Secret: testSecret, BaseURL: "https://guildhall.example/media/files/", Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/media/files/", d.Handler())
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	mustPut(t, d, "t1/posts/a.gif", "GIF89a...", "image/gif")
	signed := mustURL(t, d, "t1/posts/a.gif", time.Minute)
	if !strings.HasPrefix(signed, "https://guildhall.example/media/files/t1/posts/a.gif?exp=") {
		t.Fatalf("URL() = %q, want it under the base URL", signed)
	}
	u, _ := url.Parse(signed)
	for _, host := range []string{"guildhall.example", "club.guildhall.example"} {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+u.RequestURI(), nil)
		req.Host = host
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got := body(t, resp)
		resp.Body.Close()
		if resp.StatusCode != 200 || got != "GIF89a..." {
			t.Errorf("GET via host %s = %d %q, want 200 with the content", host, resp.StatusCode, got)
		}
	}
}

func TestDisposition(t *testing.T) {
	t.Parallel()

	tests := []struct{ key, ct, want string }{
		{"t/a.png", "image/png", `inline; filename="a.png"`},
		{"t/a.jpg", "IMAGE/JPEG", `inline; filename="a.jpg"`},
		{"t/a.webp", "image/webp; q=1", `inline; filename="a.webp"`},
		{"a.gif", "image/gif", `inline; filename="a.gif"`},
		{"t/a.svg", "image/svg+xml", `attachment; filename="a.svg"`},
		{"t/a.png", "text/html", `attachment; filename="a.png"`},
		{"t/r.pdf", "application/pdf", `attachment; filename="r.pdf"`},
		{"t/x", "", `attachment; filename="x"`},
	}
	for _, tt := range tests {
		if got := disposition(tt.key, tt.ct); got != tt.want {
			t.Errorf("disposition(%q, %q) = %q, want %q", tt.key, tt.ct, got, tt.want)
		}
	}
	if diff := cmp.Diff([]string{"image/gif", "image/jpeg", "image/png", "image/webp"}, slices.Sorted(maps.Keys(inlineTypes))); diff != "" {
		t.Errorf("inline types (-want +got):\n%s", diff)
	}
}
