package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// S3Config configures an S3 store. ParseSpec fills in everything but the
// credentials, which cmd reads from the standard AWS environment
// variables.
type S3Config struct {
	// Endpoint is the server's host[:port]; empty means s3.amazonaws.com.
	Endpoint string
	// Region is the bucket's region; empty means us-east-1. Set it: URL
	// signs for this region without asking the server.
	Region string
	Bucket string
	// Prefix is put before every key, so several installs can share a
	// bucket: empty, or segments as in a key, ending in "/".
	Prefix string
	// Secure selects HTTPS. Request signatures never reveal the secret
	// key, but plain HTTP exposes the content and the URLs handed out.
	Secure bool

	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string // for temporary credentials; usually empty

	// Transport carries the requests; nil means minio-go's default.
	Transport http.RoundTripper
}

// S3 is a Store in a bucket of an S3-compatible service (AWS S3, MinIO,
// Cloudflare R2, Backblaze B2, ...). URL returns presigned GET URLs: the
// browser fetches the object from the service, not through Guildhall.
type S3 struct {
	client *minio.Client
	bucket string
	prefix string
}

var _ Store = (*S3)(nil)

// defaultS3Endpoint and defaultS3Region apply when S3Config leaves them
// empty.
const (
	defaultS3Endpoint = "s3.amazonaws.com"
	defaultS3Region   = "us-east-1"
)

// NewS3 returns an S3 store. It makes no request: a wrong endpoint,
// bucket or credentials show on first use.
func NewS3(c S3Config) (*S3, error) {
	if c.Endpoint == "" {
		c.Endpoint = defaultS3Endpoint
	}
	if c.Region == "" {
		c.Region = defaultS3Region
	}
	if err := checkEndpoint(c.Endpoint); err != nil {
		return nil, fmt.Errorf("s3 store: %w", err)
	}
	if !validBucket(c.Bucket) {
		return nil, fmt.Errorf("s3 store: bucket %q: want 3 to 63 of [a-z0-9.-], starting and ending with a letter or digit", c.Bucket)
	}
	if !validPrefix(c.Prefix) {
		return nil, fmt.Errorf("s3 store: prefix %q: want segments of [a-z0-9._-] ending in /", c.Prefix)
	}
	if !validRegion(c.Region) {
		return nil, fmt.Errorf("s3 store: region %q: want letters, digits and dashes", c.Region)
	}
	if c.AccessKeyID == "" || c.SecretAccessKey == "" {
		return nil, errors.New("s3 store: credentials missing: want an access key ID and a secret access key")
	}
	client, err := minio.New(c.Endpoint, &minio.Options{
		Creds:     credentials.NewStaticV4(c.AccessKeyID, c.SecretAccessKey, c.SessionToken),
		Secure:    c.Secure,
		Region:    c.Region,
		Transport: c.Transport,
	})
	if err != nil {
		return nil, fmt.Errorf("s3 store: %w", err)
	}
	return &S3{client: client, bucket: c.Bucket, prefix: c.Prefix}, nil
}

// Put uploads r under key; S3 makes the object visible whole or not at all.
// When r yields fewer or more than size bytes nothing is stored.
// Errors: ErrInvalidKey.
func (s *S3) Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if size < 0 {
		return fmt.Errorf("put %s: negative size %d", key, size)
	}
	ct, err := normalizeContentType(contentType)
	if err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	body := io.Reader(newExactReader(r, size))
	opts := minio.PutObjectOptions{ContentType: ct}
	if size == 0 {
		// minio-go sends no body for size 0 and so would never read r:
		// check here that r is empty. Over plain HTTP it would sign an
		// empty body with a streaming signature sent chunked, without the
		// Content-Length S3 requires; an unsigned empty payload avoids that.
		if err := newExactReader(r, 0).checkEnd(); err != nil {
			return fmt.Errorf("put %s: %w", key, err)
		}
		body = http.NoBody
		opts.DisableContentSha256 = true
	}
	_, err = s.client.PutObject(ctx, s.bucket, s.prefix+key, body, size, opts)
	if err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	return nil
}

// Open starts downloading key. Errors: ErrInvalidKey, ErrNotFound.
func (s *S3) Open(ctx context.Context, key string) (io.ReadCloser, Object, error) {
	if err := checkKey(key); err != nil {
		return nil, Object{}, err
	}
	// One GET, through Core: Client.GetObject would first send a HEAD,
	// whose body-less 404 cannot tell a missing key from a missing bucket.
	body, info, _, err := minio.Core{Client: s.client}.GetObject(ctx, s.bucket, s.prefix+key, minio.GetObjectOptions{})
	if isNoSuchKey(err) {
		return nil, Object{}, ErrNotFound
	}
	if err != nil {
		return nil, Object{}, fmt.Errorf("open %s: %w", key, err)
	}
	ct := info.ContentType
	if ct == "" {
		ct = defaultContentType
	}
	return body, Object{Key: key, ContentType: ct, Size: info.Size}, nil
}

// Delete removes key; a missing key is not an error. Errors: ErrInvalidKey.
func (s *S3) Delete(ctx context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	err := s.client.RemoveObject(ctx, s.bucket, s.prefix+key, minio.RemoveObjectOptions{})
	if err != nil && !isNoSuchKey(err) {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	return nil
}

// URL returns a presigned GET URL for key valid for ttl. It makes no
// request, so it does not check that key exists.
//
// S3 cannot be told to send nosniff, and reading the stored content type
// would cost a request per URL, so the response headers are chosen by the
// key's extension and imposed through the signed response-* parameters: a
// .png, .jpg, .jpeg, .gif or .webp key is served inline as that image type
// whatever type it was stored with; any other key as an attachment.
// Errors: ErrInvalidKey.
func (s *S3) URL(ctx context.Context, key string, ttl time.Duration) (string, error) {
	if err := checkKey(key); err != nil {
		return "", err
	}
	if err := checkTTL(ttl); err != nil {
		return "", err
	}
	params := url.Values{}
	ct := extTypes[strings.TrimPrefix(path.Ext(key), ".")]
	if ct != "" {
		params.Set("response-content-type", ct)
	}
	params.Set("response-content-disposition", disposition(key, ct))
	params.Set("response-cache-control", "private, max-age="+strconv.FormatInt(int64(ttl/time.Second), 10))
	u, err := s.client.PresignedGetObject(ctx, s.bucket, s.prefix+key, ttl, params)
	if err != nil {
		return "", fmt.Errorf("url %s: %w", key, err)
	}
	return u.String(), nil
}

// extTypes maps the extensions of inline image keys to their types.
var extTypes = map[string]string{
	"png":  "image/png",
	"jpg":  "image/jpeg",
	"jpeg": "image/jpeg",
	"gif":  "image/gif",
	"webp": "image/webp",
}

func isNoSuchKey(err error) bool {
	return minio.ToErrorResponse(err).Code == minio.NoSuchKey
}
