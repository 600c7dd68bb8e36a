package main

import (
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/guildhall/guildhall/engine/db/dbtest"
	"github.com/guildhall/guildhall/engine/secret"
)

const testToken = "test-platform-token-0123456789abcdef"

// testKeys serve as GUILDHALL_SECRET_KEYS and GUILDHALL_JWT_KEYS in tests.
var testKeys = secret.FormatKeys(secret.NewKey("test"))

// liveServer is `guildhall serve` (or dev) running in this process on a
// free port.
type liveServer struct {
	URL      string
	database string // the database dev made, when it is dev
	stdout   *syncBuffer
	stderr   *syncBuffer
	stop     func() error
}

var listeningRe = regexp.MustCompile(`"msg":"serving","addr":"([^"]+)"|msg=serving addr=(\S+)`)

// startCLI runs the program with args on a free port and waits until it
// serves. stop shuts it down and returns what run returned.
func startCLI(t *testing.T, env map[string]string, args ...string) *liveServer {
	t.Helper()
	if _, ok := env["GUILDHALL_BLOB_STORE"]; !ok && args[0] == "serve" {
		// Uploads of this server go to the test's own directory.
		env = maps.Clone(env)
		env["GUILDHALL_BLOB_STORE"] = t.TempDir()
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &liveServer{stdout: &syncBuffer{}, stderr: &syncBuffer{}}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, args, func(k string) string { return env[k] }, strings.NewReader(""), s.stdout, s.stderr)
	}()
	var once bool
	var result error
	s.stop = func() error {
		if !once {
			once = true
			cancel()
			result = <-done
		}
		return result
	}
	t.Cleanup(func() { _ = s.stop() })
	deadline := time.Now().Add(30 * time.Second)
	for {
		if m := listeningRe.FindStringSubmatch(s.stderr.String()); m != nil {
			s.URL = "http://" + m[1] + m[2]
			return s
		}
		select {
		case err := <-done:
			t.Fatalf("guildhall %v exited: %v\nstdout: %s\nstderr: %s", args, err, s.stdout, s.stderr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("guildhall %v did not start within 30s\nstderr: %s", args, s.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type httpResult struct {
	status int
	header http.Header
	body   string
	json   map[string]any
}

func call(t *testing.T, method, url, host, body string, header map[string]string) httpResult {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	r := httpResult{status: res.StatusCode, header: res.Header, body: string(b)}
	_ = json.Unmarshal(b, &r.json)
	return r
}

func TestServe_EndToEnd(t *testing.T) {
	t.Parallel()
	d := dbtest.NewDatabase(t)
	s := startCLI(t, map[string]string{
		"DATABASE_URL": appURL(d), "GUILDHALL_ADDR": "127.0.0.1:0", "GUILDHALL_BASE_URL": "https://guildhall.test",
		"GUILDHALL_PLATFORM_TOKEN": testToken, "GUILDHALL_SECRET_KEYS": testKeys, "GUILDHALL_JWT_KEYS": testKeys,
	}, "serve")
	auth := map[string]string{"Authorization": "Bearer " + testToken}
	slug := "e2e-" + strings.TrimPrefix(dbtest.RandomSlug(), "t-")

	create := `{"slug":"` + slug + `","name":"End to End","kind":"social","time_zone":"Europe/Paris","currency":"EUR",
		"branding":{"primary_color":"#123456","accent_color":"#abcdef"},"domains":["` + slug + `.example.com"]}`
	if r := call(t, "POST", s.URL+"/api/v1/platform/tenants", "", create, nil); r.status != 401 {
		t.Errorf("create without token = %d, want 401", r.status)
	}
	r := call(t, "POST", s.URL+"/api/v1/platform/tenants", "", create, auth)
	if r.status != 201 || r.json["slug"] != slug || r.json["status"] != "active" {
		t.Fatalf("create tenant = %d %s", r.status, r.body)
	}

	t.Run("TenantByPathHostAndDomain", func(t *testing.T) {
		for _, c := range []struct{ url, host string }{
			{s.URL + "/t/" + slug + "/api/v1/tenant", ""},
			{s.URL + "/api/v1/tenant", slug + ".guildhall.test"},
			{s.URL + "/api/v1/tenant", slug + ".example.com"},
		} {
			r := call(t, "GET", c.url, c.host, "", nil)
			if r.status != 200 || r.json["name"] != "End to End" {
				t.Errorf("GET %s (Host %s) = %d %s", c.url, c.host, r.status, r.body)
			}
		}
		if r := call(t, "GET", s.URL+"/api/v1/tenant", "", "", nil); r.status != 404 || r.json["code"] != "not_found" {
			t.Errorf("tenant API on the platform host = %d %s, want a 404 problem", r.status, r.body)
		}
		if r := call(t, "GET", s.URL+"/api/v1/tenant", "nobody.guildhall.test", "", nil); r.status != 404 {
			t.Errorf("unknown tenant host = %d, want 404", r.status)
		}
	})

	t.Run("ForwardedHostIsNotTrusted", func(t *testing.T) {
		r := call(t, "GET", s.URL+"/api/v1/tenant", "", "", map[string]string{"X-Forwarded-Host": slug + ".guildhall.test"})
		if r.status != 404 {
			t.Errorf("X-Forwarded-Host from an untrusted client = %d, want it ignored (404)", r.status)
		}
	})

	t.Run("BadInput", func(t *testing.T) {
		cases := []struct {
			name, body string
			status     int
		}{
			{"Malformed", `{"slug":`, 400},
			{"Oversize", `{"slug":"` + strings.Repeat("x", 2<<20) + `"}`, 413},
			{"UnknownField", `{"slug":"ok-slug","name":"X","kind":"social","time_zone":"UTC","currency":"EUR","status":"suspended"}`, 422},
			{"Invalid", `{"slug":"Bad!","name":"X","kind":"chess","time_zone":"Moon/Base","currency":"EURO"}`, 422},
			{"Duplicate", create, 409},
			{"WrongType", `{"slug":5}`, 422},
		}
		for _, c := range cases {
			r := call(t, "POST", s.URL+"/api/v1/platform/tenants", "", c.body, auth)
			if r.status != c.status || r.header.Get("Content-Type") != "application/problem+json" {
				t.Errorf("%s: status %d (%s) %s, want %d problem", c.name, r.status, r.header.Get("Content-Type"), r.body, c.status)
			}
		}
		r := call(t, "POST", s.URL+"/api/v1/platform/tenants", "", `{"slug":"Bad!","name":"X","kind":"chess","time_zone":"Moon/Base","currency":"EURO"}`, auth)
		if errs, _ := r.json["errors"].([]any); len(errs) != 4 {
			t.Errorf("invalid create lists %d errors, want 4 (slug, kind, time_zone, currency): %s", len(errs), r.body)
		}
		list := call(t, "GET", s.URL+"/api/v1/platform/tenants?limit=100", "", "", auth)
		if strings.Count(list.body, `"slug"`) != 1 {
			t.Errorf("tenants after bad input: %s, want only the one created", list.body)
		}
	})

	t.Run("SuspendTakesEffect", func(t *testing.T) {
		r := call(t, "PATCH", s.URL+"/api/v1/platform/tenants/"+slug, "", `{"status":"suspended"}`, auth)
		if r.status != 200 || r.json["status"] != "suspended" {
			t.Fatalf("suspend = %d %s", r.status, r.body)
		}
		// Every instance hears of the change through LISTEN/NOTIFY; this
		// one too, within a second.
		eventually(t, time.Second, func() bool {
			return call(t, "GET", s.URL+"/t/"+slug+"/api/v1/tenant", "", "", nil).status == 404
		}, "suspended tenant still answers")
		if r := call(t, "GET", s.URL+"/t/"+slug+"/", "", "", nil); r.status != 404 || !strings.Contains(r.header.Get("Content-Type"), "text/html") {
			t.Errorf("suspended tenant page = %d %s, want a 404 page", r.status, r.header.Get("Content-Type"))
		}
		audit := call(t, "GET", s.URL+"/api/v1/platform/tenants/"+slug+"/audit-events", "", "", auth)
		if audit.status != 200 || !strings.Contains(audit.body, `"action":"tenant.suspended"`) || !strings.Contains(audit.body, `"actor":"platform-token"`) {
			t.Errorf("audit events = %d %s", audit.status, audit.body)
		}
		call(t, "PATCH", s.URL+"/api/v1/platform/tenants/"+slug, "", `{"status":"active"}`, auth)
		eventually(t, time.Second, func() bool {
			return call(t, "GET", s.URL+"/t/"+slug+"/api/v1/tenant", "", "", nil).status == 200
		}, "reactivated tenant does not answer")
	})

	t.Run("Surface", func(t *testing.T) {
		cases := []struct {
			path, contains string
			status         int
		}{
			{"/healthz", `"ok"`, 200},
			{"/readyz", `"ready"`, 200},
			{"/metrics", "guildhall_http_requests_total", 200},
			{"/api/openapi.json", `"openapi":"3.1.0"`, 200},
			{"/api/openapi.yaml", "openapi: 3.1.0", 200},
			{"/api/docs", "/static/vendor/elements/web-components.min.js", 200},
			{"/static/htmx.min.js", "htmx", 200},
			{"/static/vendor/elements/web-components.min.js", "", 200},
			{"/console/", "", 303}, // to the sign-in page
			{"/api/v1/nothing", `"code":"not_found"`, 404},
		}
		for _, c := range cases {
			r := call(t, "GET", s.URL+c.path, "", "", nil)
			if r.status != c.status || !strings.Contains(r.body, c.contains) {
				t.Errorf("GET %s = %d, want %d containing %q", c.path, r.status, c.status, c.contains)
			}
			if r.header.Get("X-Request-Id") == "" || r.header.Get("X-Frame-Options") != "DENY" {
				t.Errorf("GET %s lacks request id or security headers", c.path)
			}
		}
	})

	t.Run("AccessLog", func(t *testing.T) {
		call(t, "GET", s.URL+"/t/"+slug+"/api/v1/tenant", "", "", nil)
		var found bool
		for _, line := range strings.Split(s.stderr.String(), "\n") {
			if strings.Contains(line, `"route":"get-current-tenant"`) && strings.Contains(line, `"tenant":"`+slug+`"`) && strings.Contains(line, `"request_id":`) {
				found = true
			}
		}
		if !found {
			t.Errorf("no access log line with route, tenant and request id:\n%s", s.stderr)
		}
	})

	t.Run("GracefulShutdown", func(t *testing.T) {
		if err := s.stop(); err != nil {
			t.Errorf("serve after shutdown = %v, want nil", err)
		}
		if !strings.Contains(s.stderr.String(), `"msg":"shutting down"`) {
			t.Errorf("no shutdown log")
		}
		if _, err := http.Get(s.URL + "/healthz"); err == nil {
			t.Errorf("server still answers after shutdown")
		}
	})
}

// eventually fails the test unless cond holds within d.
func eventually(t *testing.T, d time.Duration, cond func() bool, msg string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s after %v", msg, d)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
