package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"strings"
	"time"

	"github.com/guildhall/guildhall/engine"
)

// Object describes a stored object.
type Object struct {
	Key         string
	ContentType string
	Size        int64
}

// Store keeps objects (uploaded images, receipts) by key. Keys are
// tenant-scoped paths made by the caller: "{tenant}/{kind}/{uuid}.{ext}".
//
// Every method fails with ErrInvalidKey for a key ValidKey refuses.
type Store interface {
	// Put stores r (exactly size bytes) under key. An empty contentType
	// stores application/octet-stream.
	Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error
	// Open returns the object's content; the caller closes it.
	// Errors: ErrNotFound.
	Open(ctx context.Context, key string) (io.ReadCloser, Object, error)
	// Delete removes key; deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error
	// URL returns a URL that serves key for ttl and not after; ttl is 1s
	// to MaxTTL.
	URL(ctx context.Context, key string, ttl time.Duration) (string, error)
}

var (
	// ErrNotFound is returned by Open for a key that holds no object.
	ErrNotFound = &engine.Error{Code: engine.CodeNotFound, Message: "File not found."}
	// ErrInvalidKey is returned, wrapped with the key, by every method given
	// a key that ValidKey refuses.
	ErrInvalidKey = &engine.Error{Code: engine.CodeInvalid, Message: "Invalid file key."}
)

// MaxTTL is the longest lifetime of a URL: S3 refuses presigned URLs that
// live longer, and Disk keeps the same bound so both stores behave alike.
const MaxTTL = 7 * 24 * time.Hour

// defaultContentType is what an object stored without a content type is
// served as: never something a browser would render.
const defaultContentType = "application/octet-stream"

// checkTTL refuses lifetimes URL cannot honour; a bad ttl is a programming
// error, so the error is internal.
func checkTTL(ttl time.Duration) error {
	if ttl < time.Second || ttl > MaxTTL {
		return fmt.Errorf("url ttl %s: want 1s to %s", ttl, MaxTTL)
	}
	return nil
}

// normalizeContentType returns ct as a media type with parameters, or
// application/octet-stream when empty. It refuses a type that does not
// parse or holds control characters, since it ends up in a header.
func normalizeContentType(ct string) (string, error) {
	ct = strings.TrimSpace(ct)
	if ct == "" {
		return defaultContentType, nil
	}
	if len(ct) > 255 || strings.ContainsFunc(ct, func(r rune) bool { return r < 0x20 || r >= 0x7f }) {
		return "", errors.New("content type too long or not printable ASCII")
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return "", fmt.Errorf("content type: %w", err)
	}
	return mime.FormatMediaType(mt, params), nil
}

// exactReader reads exactly n bytes from r and fails, instead of
// returning the last bytes, when r holds fewer or more: Put stores exactly
// the size it was told or nothing.
type exactReader struct {
	r    io.Reader
	n    int64 // bytes left to read
	size int64
}

func newExactReader(r io.Reader, size int64) *exactReader {
	return &exactReader{r: r, n: size, size: size}
}

func (e *exactReader) Read(p []byte) (int, error) {
	if e.n <= 0 {
		if e.n == 0 {
			if err := e.checkEnd(); err != nil {
				return 0, err
			}
		}
		e.n = -1 // checked once; later reads just see EOF
		return 0, io.EOF
	}
	if int64(len(p)) > e.n {
		p = p[:e.n]
	}
	n, err := e.r.Read(p)
	e.n -= int64(n)
	if e.n == 0 {
		// Check for a byte beyond size before handing over the last ones:
		// io.ReadFull drops an error that comes with a full buffer.
		if err := e.checkEnd(); err != nil {
			return 0, err
		}
		e.n = -1
		return n, nil
	}
	if errors.Is(err, io.EOF) {
		return n, fmt.Errorf("content is shorter than the size given (%d bytes): %w", e.size, io.ErrUnexpectedEOF)
	}
	return n, err
}

// checkEnd fails unless r ends after size bytes.
func (e *exactReader) checkEnd() error {
	var b [1]byte
	m, err := io.ReadFull(e.r, b[:])
	switch {
	case m > 0:
		return fmt.Errorf("content is longer than the size given (%d bytes)", e.size)
	case errors.Is(err, io.EOF):
		return nil
	}
	return err
}
