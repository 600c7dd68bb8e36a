package blob

import (
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseSpec(t *testing.T) {
	t.Parallel()

	s3 := func(bucket, prefix, endpoint, region string, secure bool) Spec {
		return Spec{S3: &S3Config{Bucket: bucket, Prefix: prefix, Endpoint: endpoint, Region: region, Secure: secure}}
	}
	tests := []struct {
		spec    string
		want    Spec
		wantErr string
	}{
		{spec: "file:///var/lib/guildhall/blobs", want: Spec{Dir: "/var/lib/guildhall/blobs"}},
		{spec: "file://localhost/var/lib/guildhall/blobs/", want: Spec{Dir: "/var/lib/guildhall/blobs"}},
		{spec: "file:///srv/my%20blobs", want: Spec{Dir: "/srv/my blobs"}},
		{spec: "/var/lib/guildhall/blobs", want: Spec{Dir: "/var/lib/guildhall/blobs"}},
		{spec: "./data//blobs/", want: Spec{Dir: "data/blobs"}},
		{spec: "s3://guildhall-media", want: s3("guildhall-media", "", "s3.amazonaws.com", "us-east-1", true)},
		{spec: "s3://guildhall-media/prod?region=eu-west-1", want: s3("guildhall-media", "prod/", "s3.amazonaws.com", "eu-west-1", true)},
		{spec: "s3://media/a/b/?endpoint=minio.internal:9000&secure=false", want: s3("media", "a/b/", "minio.internal:9000", "us-east-1", false)},
		{spec: "s3://media?endpoint=[::1]:9000&secure=true", want: s3("media", "", "[::1]:9000", "us-east-1", true)},
		{spec: "s3://media?endpoint=127.0.0.1:9000", want: s3("media", "", "127.0.0.1:9000", "us-east-1", true)},
		{spec: "s3://media?endpoint=abc123.r2.cloudflarestorage.com&region=auto", want: s3("media", "", "abc123.r2.cloudflarestorage.com", "auto", true)},

		{spec: "", wantErr: "empty spec"},
		{spec: "s3:bucket", wantErr: "must not hold ':'"},
		{spec: "c:\\blobs", wantErr: "must not hold ':'"},
		{spec: "gs://bucket", wantErr: `unknown scheme "gs"`},
		{spec: "file:///", wantErr: "absolute path other than /"},
		{spec: "file://relative/path", wantErr: "names a host"},
		{spec: "file:///x?mode=1", wantErr: "no query"},
		{spec: "file://u:p@/x", wantErr: "must not hold a user"},
		{spec: "s3://", wantErr: "bucket"},
		{spec: "s3://ab", wantErr: `bucket "ab"`},
		{spec: "s3://My-Bucket", wantErr: "bucket"},
		{spec: "s3://bucket:9000", wantErr: "bucket"},
		{spec: "s3://bucket/Prefix", wantErr: "prefix"},
		{spec: "s3://bucket/../x", wantErr: "prefix"},
		{spec: "s3://bucket/a%2Fb", wantErr: "escaping"},
		{spec: "s3://bucket?endpoint=https://minio:9000", wantErr: "without a scheme"},
		{spec: "s3://bucket?endpoint=minio:0", wantErr: "port"},
		{spec: "s3://bucket?endpoint=::1", wantErr: "brackets"},
		{spec: "s3://bucket?endpoint=minio/path", wantErr: "want host[:port]"},
		{spec: "s3://bucket?region=EU", wantErr: "region"},
		{spec: "s3://bucket?secure=yes", wantErr: "want true or false"},
		{spec: "s3://bucket?secure=1&secure=0", wantErr: "given 2 times"},
		{spec: "s3://bucket?access_key=x", wantErr: `unknown s3 parameter "access_key"`},
		{spec: "s3://bucket#x", wantErr: "fragment"},
		{spec: "s3://bucket\n", wantErr: "control characters"},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			t.Parallel()
			got, err := ParseSpec(tt.spec)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseSpec(%q) = %+v, %v; want error containing %q", tt.spec, got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseSpec(%q) error = %v", tt.spec, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseSpec(%q) (-want +got):\n%s", tt.spec, diff)
			}
		})
	}
}

func TestParseSpec_NeverRepeatsCredentials(t *testing.T) {
	t.Parallel()
	for _, spec := range []string{
		"s3://AKIAEXAMPLE:wJalrXUtnFEMI/K7MDENG@bucket",
		"s3://AKIAEXAMPLE:wJalrXUtnFEMI@bucket?endpoint=x",
		"s3://AKIAEXAMPLE:123456/x@bucket",
		"file://user:wJalrXUtnFEMI@/x",
		"AKIAEXAMPLE:wJalrXUtnFEMI@s3://bucket",
	} {
		_, err := ParseSpec(spec)
		if err == nil {
			t.Errorf("ParseSpec(%q) error = nil", spec)
			continue
		}
		if strings.Contains(err.Error(), "wJalrXUtnFEMI") || strings.Contains(err.Error(), "123456") {
			t.Errorf("ParseSpec(%q) error %q repeats the secret", spec, err)
		}
	}
}

func TestOpen(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "new", "blobs")

	s, err := Open("file://"+dir, Options{Secret: testSecret, BaseURL: "/media"})
	if err != nil {
		t.Fatalf("Open(file) error = %v", err)
	}
	d, ok := s.(*Disk)
	if !ok {
		t.Fatalf("Open(file) = %T, want *Disk", s)
	}
	mustPut(t, d, "t1/a", "x", "")
	if u := mustURL(t, d, "t1/a", time.Minute); !strings.HasPrefix(u, "/media/t1/a?") {
		t.Errorf("URL() = %q, want it under /media", u)
	}

	s, err = Open("s3://media/p?endpoint=127.0.0.1:9000&secure=false", Options{AccessKeyID: "id", SecretAccessKey: "secret"})
	if err != nil {
		t.Fatalf("Open(s3) error = %v", err)
	}
	s3, ok := s.(*S3)
	if !ok {
		t.Fatalf("Open(s3) = %T, want *S3", s)
	}
	u, err := url.Parse(mustURL(t, s3, "t1/a.png", time.Minute))
	if err != nil || u.Scheme != "http" || u.Host != "127.0.0.1:9000" || u.Path != "/media/p/t1/a.png" {
		t.Errorf("S3 URL = %v, %v; want http://127.0.0.1:9000/media/p/t1/a.png?…", u, err)
	}

	for _, tt := range []struct {
		spec    string
		o       Options
		wantErr string
	}{
		{"file://" + dir, Options{}, "at least 32 bytes"},
		{"s3://media", Options{}, "credentials missing"},
		{"ftp://x", Options{}, "unknown scheme"},
	} {
		if _, err := Open(tt.spec, tt.o); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("Open(%q) error = %v, want one containing %q", tt.spec, err, tt.wantErr)
		}
	}
}
