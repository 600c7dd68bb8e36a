package blob

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/guildhall/guildhall/engine"
)

// The S3 tests run against gofakes3, an S3-compatible server speaking the
// S3 REST protocol (XML errors, multipart uploads, response-* overrides)
// in process with an in-memory backend. It does not check signatures or
// expiry of presigned URLs; TestS3_URL verifies the signature itself.

const (
	testAccessKey = "AKIAGUILDHALLTEST"
	testSecretKey = "guildhall/test+secret/key/0123456789abcdef"
	testBucket    = "guildhall-test"
)

type s3Bundle struct {
	store   *S3
	backend *s3mem.Backend
	srv     *httptest.Server
}

func setupS3(t testing.TB, prefix string) s3Bundle {
	t.Helper()
	backend := s3mem.New()
	if err := backend.CreateBucket(testBucket); err != nil {
		t.Fatal(err)
	}
	// TLS, as in production (secure=true is the default).
	srv := httptest.NewTLSServer(gofakes3.New(backend).Server())
	t.Cleanup(srv.Close)
	store, err := NewS3(S3Config{
		Endpoint:        strings.TrimPrefix(srv.URL, "https://"),
		Region:          "eu-central-1",
		Bucket:          testBucket,
		Prefix:          prefix,
		Secure:          true,
		AccessKeyID:     testAccessKey,
		SecretAccessKey: testSecretKey,
		Transport:       srv.Client().Transport,
	})
	if err != nil {
		t.Fatalf("NewS3() error = %v", err)
	}
	return s3Bundle{store: store, backend: backend, srv: srv}
}

func TestS3_RoundTrip(t *testing.T) {
	t.Parallel()
	b := setupS3(t, "install-1/")

	mustPut(t, b.store, "t1/posts/a.png", "\x89PNG data", "image/png")
	got, obj := mustRead(t, b.store, "t1/posts/a.png")
	if got != "\x89PNG data" {
		t.Errorf("content = %q", got)
	}
	if want := (Object{Key: "t1/posts/a.png", ContentType: "image/png", Size: 9}); obj != want {
		t.Errorf("Open() object = %+v, want %+v", obj, want)
	}
	// The object lives under the prefix in the bucket.
	o, err := b.backend.HeadObject(testBucket, "install-1/t1/posts/a.png")
	if err != nil {
		t.Fatalf("backend has no object under the prefix: %v", err)
	}
	o.Contents.Close()

	mustPut(t, b.store, "t1/posts/a.png", "v2", "")
	if got, obj := mustRead(t, b.store, "t1/posts/a.png"); got != "v2" || obj.ContentType != "application/octet-stream" {
		t.Errorf("after overwrite = %q %+v", got, obj)
	}
	mustPut(t, b.store, "t1/empty", "", "text/plain")
	if got, obj := mustRead(t, b.store, "t1/empty"); got != "" || obj.Size != 0 {
		t.Errorf("empty object = %q %+v", got, obj)
	}
}

func TestS3_Multipart(t *testing.T) {
	t.Parallel()
	b := setupS3(t, "")

	// Past minio-go's 16 MiB part size: uploaded in parts.
	data := bytes.Repeat([]byte("0123456789abcdef"), (17<<20)/16)
	if err := b.store.Put(t.Context(), "t1/big.bin", bytes.NewReader(data), int64(len(data)), ""); err != nil {
		t.Fatalf("Put() error = %v", err)
	}
	got, obj := mustRead(t, b.store, "t1/big.bin")
	if obj.Size != int64(len(data)) || got != string(data) {
		t.Errorf("big object: size %d, content equal %v", obj.Size, got == string(data))
	}
}

func TestS3_PutWrongSize(t *testing.T) {
	t.Parallel()
	b := setupS3(t, "")
	mustPut(t, b.store, "t1/a", "old", "")

	for _, tt := range []struct {
		in   string
		size int64
	}{{"abc", 4}, {"abcde", 4}, {"a", 0}} {
		if err := b.store.Put(t.Context(), "t1/a", strings.NewReader(tt.in), tt.size, ""); err == nil {
			t.Errorf("Put(%q, size %d) error = nil", tt.in, tt.size)
		}
	}
	if got, _ := mustRead(t, b.store, "t1/a"); got != "old" {
		t.Errorf("after failed Puts content = %q, want old", got)
	}
}

func TestS3_NotFoundAndDelete(t *testing.T) {
	t.Parallel()
	b := setupS3(t, "p/")
	mustPut(t, b.store, "t1/a", "x", "")

	if _, _, err := b.store.Open(t.Context(), "t1/missing"); !errors.Is(err, ErrNotFound) || engine.ErrorCode(err) != engine.CodeNotFound {
		t.Errorf("Open(missing) error = %v, want ErrNotFound", err)
	}
	for range 2 {
		if err := b.store.Delete(t.Context(), "t1/a"); err != nil {
			t.Fatalf("Delete() error = %v", err)
		}
	}
	if _, _, err := b.store.Open(t.Context(), "t1/a"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Open() after Delete error = %v, want ErrNotFound", err)
	}
}

func TestS3_MissingBucketIsNotNotFound(t *testing.T) {
	t.Parallel()
	b := setupS3(t, "")
	if err := b.backend.DeleteBucket(testBucket); err != nil {
		t.Fatal(err)
	}
	_, _, err := b.store.Open(t.Context(), "t1/a")
	if err == nil || errors.Is(err, ErrNotFound) {
		t.Errorf("Open() in a missing bucket error = %v, want an internal error", err)
	}
}

func TestS3_BadKeys(t *testing.T) {
	t.Parallel()
	b := setupS3(t, "")

	for _, key := range []string{"", "../x", "/x", `a\b`, "A"} {
		ctx := t.Context()
		errs := map[string]error{}
		errs["Put"] = b.store.Put(ctx, key, strings.NewReader("x"), 1, "")
		_, _, errs["Open"] = b.store.Open(ctx, key)
		errs["Delete"] = b.store.Delete(ctx, key)
		_, errs["URL"] = b.store.URL(ctx, key, time.Minute)
		for op, err := range errs {
			if !errors.Is(err, ErrInvalidKey) {
				t.Errorf("%s(%q) error = %v, want ErrInvalidKey", op, key, err)
			}
		}
	}
}

func TestS3_URL(t *testing.T) {
	t.Parallel()
	b := setupS3(t, "p/")
	mustPut(t, b.store, "t1/posts/a.png", "not really a png", "text/html")
	mustPut(t, b.store, "t1/files/r.pdf", "%PDF", "application/pdf")

	tests := []struct {
		key                  string
		wantType, wantDispos string
	}{
		// The extension decides, whatever the stored type.
		{"t1/posts/a.png", "image/png", `inline; filename="a.png"`},
		{"t1/files/r.pdf", "application/pdf", `attachment; filename="r.pdf"`},
	}
	for _, tt := range tests {
		signed := mustURL(t, b.store, tt.key, 10*time.Minute)
		u, err := url.Parse(signed)
		if err != nil {
			t.Fatal(err)
		}
		verifySigV4(t, u, testSecretKey)
		q := u.Query()
		if got := q.Get("X-Amz-Expires"); got != "600" {
			t.Errorf("X-Amz-Expires = %q, want 600", got)
		}
		if got := q.Get("X-Amz-Credential"); !strings.HasPrefix(got, testAccessKey+"/") || !strings.HasSuffix(got, "/eu-central-1/s3/aws4_request") {
			t.Errorf("X-Amz-Credential = %q, want our access key and region", got)
		}
		if u.Path != "/"+testBucket+"/p/"+tt.key {
			t.Errorf("URL path = %q, want bucket, prefix and key", u.Path)
		}

		resp, err := b.srv.Client().Get(signed)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("GET presigned %s = %d %s", tt.key, resp.StatusCode, got)
		}
		want := map[string]string{
			"Content-Type":        tt.wantType,
			"Content-Disposition": tt.wantDispos,
			"Cache-Control":       "private, max-age=600",
		}
		for k, v := range want {
			if g := resp.Header.Get(k); g != v {
				t.Errorf("GET %s header %s = %q, want %q", tt.key, k, g, v)
			}
		}
	}
	if _, err := b.store.URL(t.Context(), "t1/a", MaxTTL+time.Second); err == nil {
		t.Error("URL(ttl past MaxTTL) error = nil")
	}
}

// verifySigV4 recomputes the AWS Signature Version 4 of a presigned GET
// URL (query-string authentication, unsigned payload, host header signed)
// and fails unless it matches: an implementation independent of
// minio-go's.
func verifySigV4(t testing.TB, u *url.URL, secret string) {
	t.Helper()
	q := u.Query()
	if q.Get("X-Amz-Algorithm") != "AWS4-HMAC-SHA256" || q.Get("X-Amz-SignedHeaders") != "host" {
		t.Fatalf("presigned URL %s: want AWS4-HMAC-SHA256 over the host header", u)
	}
	date := q.Get("X-Amz-Date")
	cred := strings.Split(q.Get("X-Amz-Credential"), "/") // key/day/region/s3/aws4_request
	if len(cred) != 5 || !strings.HasPrefix(date, cred[1]) {
		t.Fatalf("presigned URL %s: bad credential scope", u)
	}
	var names []string
	for k := range q {
		if k != "X-Amz-Signature" {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	escape := func(s string) string { return strings.ReplaceAll(url.QueryEscape(s), "+", "%20") }
	var query []string
	for _, k := range names {
		query = append(query, escape(k)+"="+escape(q.Get(k)))
	}
	canonical := strings.Join([]string{
		http.MethodGet, u.EscapedPath(), strings.Join(query, "&"),
		"host:" + u.Host + "\n", "host", "UNSIGNED-PAYLOAD",
	}, "\n")
	sum := sha256.Sum256([]byte(canonical))
	scope := strings.Join(cred[1:], "/")
	toSign := "AWS4-HMAC-SHA256\n" + date + "\n" + scope + "\n" + hex.EncodeToString(sum[:])
	mac := func(key []byte, s string) []byte {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(s))
		return m.Sum(nil)
	}
	key := []byte("AWS4" + secret)
	for _, part := range cred[1:] {
		key = mac(key, part)
	}
	if want := hex.EncodeToString(mac(key, toSign)); q.Get("X-Amz-Signature") != want {
		t.Errorf("presigned URL signature = %s, want %s", q.Get("X-Amz-Signature"), want)
	}
}

func TestNewS3_Config(t *testing.T) {
	t.Parallel()
	ok := S3Config{Bucket: "b-1", AccessKeyID: "a", SecretAccessKey: "SECRETzq8x"}

	tests := []struct {
		name    string
		change  func(c *S3Config)
		wantErr string
	}{
		{"Defaults", func(c *S3Config) {}, ""},
		{"NoBucket", func(c *S3Config) { c.Bucket = "" }, "bucket"},
		{"UpperBucket", func(c *S3Config) { c.Bucket = "Bucket" }, "bucket"},
		{"NoAccessKey", func(c *S3Config) { c.AccessKeyID = "" }, "credentials missing"},
		{"NoSecretKey", func(c *S3Config) { c.SecretAccessKey = "" }, "credentials missing"},
		{"PrefixWithoutSlash", func(c *S3Config) { c.Prefix = "p" }, "prefix"},
		{"PrefixTraversal", func(c *S3Config) { c.Prefix = "../" }, "prefix"},
		{"EndpointWithScheme", func(c *S3Config) { c.Endpoint = "https://s3.example.com" }, "without a scheme"},
		{"EndpointWithPath", func(c *S3Config) { c.Endpoint = "s3.example.com/x" }, "endpoint"},
		{"BadRegion", func(c *S3Config) { c.Region = "eu west" }, "region"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := ok
			tt.change(&c)
			_, err := NewS3(c)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("NewS3() error = %v, want %q", err, tt.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), c.SecretAccessKey) && c.SecretAccessKey != "" {
				t.Errorf("NewS3() error %q contains the secret key", err)
			}
		})
	}
}

// TestS3_PlainHTTP covers secure=false, where minio-go signs uploads with
// streaming (aws-chunked) signatures instead of relying on TLS.
func TestS3_PlainHTTP(t *testing.T) {
	t.Parallel()
	backend := s3mem.New()
	if err := backend.CreateBucket(testBucket); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(srv.Close)
	store, err := NewS3(S3Config{Endpoint: strings.TrimPrefix(srv.URL, "http://"), Bucket: testBucket,
		AccessKeyID: testAccessKey, SecretAccessKey: testSecretKey})
	if err != nil {
		t.Fatal(err)
	}
	for _, content := range []string{"small object", ""} {
		mustPut(t, store, "t1/a", content, "image/gif")
		if got, obj := mustRead(t, store, "t1/a"); got != content || obj.ContentType != "image/gif" {
			t.Errorf("plain HTTP round trip = %q %+v, want %q", got, obj, content)
		}
	}
	signed := mustURL(t, store, "t1/a", time.Minute)
	if !strings.HasPrefix(signed, srv.URL+"/") {
		t.Errorf("URL() = %q, want an http URL on the endpoint", signed)
	}
}
