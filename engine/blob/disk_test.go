package blob

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/iotest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/guildhall/guildhall/engine"
)

// testSecret is a fixed URL secret for tests.
var testSecret = []byte("0123456789abcdef0123456789abcdef")

// testClock is a settable clock starting at a fixed instant.
type testClock struct{ ns atomic.Int64 }

func newTestClock() *testClock {
	c := &testClock{}
	c.ns.Store(time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC).UnixNano())
	return c
}

func (c *testClock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *testClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

type diskBundle struct {
	disk  *Disk
	dir   string
	clock *testClock
}

func setupDisk(t testing.TB) diskBundle {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "blobs")
	clock := newTestClock()
	d, err := NewDisk(DiskConfig{Dir: dir, Secret: testSecret, Now: clock.Now})
	if err != nil {
		t.Fatalf("NewDisk() error = %v", err)
	}
	return diskBundle{disk: d, dir: dir, clock: clock}
}

// mustPut stores content under key or fails the test.
func mustPut(t testing.TB, s Store, key, content, ct string) {
	t.Helper()
	if err := s.Put(t.Context(), key, strings.NewReader(content), int64(len(content)), ct); err != nil {
		t.Fatalf("Put(%q) error = %v", key, err)
	}
}

// mustRead opens key and returns its content and description, or fails.
func mustRead(t testing.TB, s Store, key string) (string, Object) {
	t.Helper()
	rc, obj, err := s.Open(t.Context(), key)
	if err != nil {
		t.Fatalf("Open(%q) error = %v", key, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read %q: %v", key, err)
	}
	return string(b), obj
}

// tmpFiles lists the Disk's temporary files.
func tmpFiles(t testing.TB, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(dir, tmpDir))
	if err != nil {
		t.Fatalf("read tmp dir: %v", err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestDisk_RoundTrip(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name, key, content, ct, wantCT string
	}{
		{"Image", "t1/posts/a.png", "\x89PNG fake", "image/png", "image/png"},
		{"Empty", "t1/empty", "", "text/plain; charset=utf-8", "text/plain; charset=utf-8"},
		{"NoType", "t1/x.bin", "abc", "", "application/octet-stream"},
		{"TypeNormalized", "t1/y.txt", "abc", "Text/Plain;Charset=UTF-8", "text/plain; charset=UTF-8"},
		{"TopLevel", "k", "top", "image/gif", "image/gif"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setupDisk(t)
			mustPut(t, b.disk, tt.key, tt.content, tt.ct)
			got, obj := mustRead(t, b.disk, tt.key)
			if got != tt.content {
				t.Errorf("content = %q, want %q", got, tt.content)
			}
			want := Object{Key: tt.key, ContentType: tt.wantCT, Size: int64(len(tt.content))}
			if diff := cmp.Diff(want, obj); diff != "" {
				t.Errorf("Open() object (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDisk_Overwrite(t *testing.T) {
	t.Parallel()
	b := setupDisk(t)

	mustPut(t, b.disk, "t1/a", "first version, longer", "text/plain")
	mustPut(t, b.disk, "t1/a", "second", "image/png")
	got, obj := mustRead(t, b.disk, "t1/a")
	if got != "second" || obj.ContentType != "image/png" || obj.Size != 6 {
		t.Errorf("after overwrite = %q %+v, want second as image/png", got, obj)
	}
}

func TestDisk_PutWrongSize(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name    string
		r       io.Reader
		size    int64
		wantErr string
	}{
		{"Shorter", strings.NewReader("abc"), 4, "shorter"},
		{"Longer", strings.NewReader("abcde"), 4, "longer"},
		{"LongerThanZero", strings.NewReader("a"), 0, "longer"},
		{"ShortOneByteReads", iotest.OneByteReader(strings.NewReader("abc")), 4, "shorter"},
		{"LongerOneByteReads", iotest.OneByteReader(strings.NewReader("abcde")), 4, "longer"},
		{"ReadError", iotest.TimeoutReader(strings.NewReader("abcd")), 4, "timeout"},
		{"Negative", strings.NewReader(""), -1, "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setupDisk(t)
			mustPut(t, b.disk, "t1/a", "old", "text/plain")
			err := b.disk.Put(t.Context(), "t1/a", tt.r, tt.size, "text/plain")
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Put() error = %v, want one containing %q", err, tt.wantErr)
			}
			if got, _ := mustRead(t, b.disk, "t1/a"); got != "old" {
				t.Errorf("after failed Put content = %q, want the old one", got)
			}
			if tmp := tmpFiles(t, b.dir); len(tmp) != 0 {
				t.Errorf("temporary files left: %v", tmp)
			}
		})
	}
}

func TestDisk_PutCanceled(t *testing.T) {
	t.Parallel()
	b := setupDisk(t)

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := b.disk.Put(ctx, "t1/a", strings.NewReader("abc"), 3, "")
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Put(canceled) error = %v, want context.Canceled", err)
	}
	if _, _, err := b.disk.Open(t.Context(), "t1/a"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Open() after canceled Put error = %v, want ErrNotFound", err)
	}
}

// TestDisk_ConcurrentPut writes one key from many goroutines, each with
// its own content and type, while others read it: every read and the end
// state must be one writer's object whole, never a mix.
func TestDisk_ConcurrentPut(t *testing.T) {
	t.Parallel()
	b := setupDisk(t)
	const writers, size = 16, 64 << 10

	content := func(i int) string { return strings.Repeat(string(rune('a'+i)), size) }
	ctype := func(i int) string { return fmt.Sprintf("application/x-writer-%d", i) }
	check := func(got string, obj Object) error {
		if len(got) != size || obj.Size != size {
			return fmt.Errorf("size %d (object says %d), want %d", len(got), obj.Size, size)
		}
		i := int(got[0] - 'a')
		if got != content(i) || obj.ContentType != ctype(i) {
			return fmt.Errorf("mixed object: starts with %q, type %q", got[:1], obj.ContentType)
		}
		return nil
	}
	mustPut(t, b.disk, "t1/hot", content(0), ctype(0))

	var wg sync.WaitGroup
	stop := make(chan struct{})
	errs := make(chan error, 1000)
	for i := range writers {
		wg.Go(func() {
			for range 5 {
				c := content(i)
				if err := b.disk.Put(context.Background(), "t1/hot", strings.NewReader(c), size, ctype(i)); err != nil {
					errs <- err
				}
			}
		})
	}
	var readers sync.WaitGroup
	for range 4 {
		readers.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				rc, obj, err := b.disk.Open(context.Background(), "t1/hot")
				if err != nil {
					errs <- err
					return
				}
				got, err := io.ReadAll(rc)
				rc.Close()
				if err == nil {
					err = check(string(got), obj)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	readers.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if err := check(mustRead(t, b.disk, "t1/hot")); err != nil {
		t.Errorf("final object: %v", err)
	}
	if tmp := tmpFiles(t, b.dir); len(tmp) != 0 {
		t.Errorf("temporary files left: %v", tmp)
	}
}

func TestDisk_NotFound(t *testing.T) {
	t.Parallel()
	b := setupDisk(t)
	mustPut(t, b.disk, "t1/posts/a.png", "x", "image/png")

	for _, key := range []string{"t1/posts/b.png", "t2/posts/a.png", "t1/posts", "t1", "t1/posts/a.png/x"} {
		if _, _, err := b.disk.Open(t.Context(), key); !errors.Is(err, ErrNotFound) || engine.ErrorCode(err) != engine.CodeNotFound {
			t.Errorf("Open(%q) error = %v, want ErrNotFound", key, err)
		}
		if err := b.disk.Delete(t.Context(), key); err != nil {
			t.Errorf("Delete(%q) error = %v, want nil", key, err)
		}
	}
	if got, _ := mustRead(t, b.disk, "t1/posts/a.png"); got != "x" {
		t.Errorf("Delete of a prefix touched the object under it: %q", got)
	}
}

func TestDisk_Delete(t *testing.T) {
	t.Parallel()
	b := setupDisk(t)

	mustPut(t, b.disk, "t1/a", "x", "")
	for range 2 { // the second Delete finds nothing and succeeds
		if err := b.disk.Delete(t.Context(), "t1/a"); err != nil {
			t.Fatalf("Delete() error = %v", err)
		}
	}
	if _, _, err := b.disk.Open(t.Context(), "t1/a"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Open() after Delete error = %v, want ErrNotFound", err)
	}
}

func TestDisk_BadKeys(t *testing.T) {
	t.Parallel()
	b := setupDisk(t)
	// A file outside the store that a traversal would reach.
	outside := filepath.Join(filepath.Dir(b.dir), "outside")
	if err := os.WriteFile(outside, []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}

	for _, key := range []string{"", "../outside", "/etc/passwd", `..\outside`, "t1/../../outside", ".tmp/x", "T1/a", "t1//a"} {
		ctx := t.Context()
		errs := map[string]error{}
		errs["Put"] = b.disk.Put(ctx, key, strings.NewReader("x"), 1, "")
		_, _, errs["Open"] = b.disk.Open(ctx, key)
		errs["Delete"] = b.disk.Delete(ctx, key)
		_, errs["URL"] = b.disk.URL(ctx, key, time.Minute)
		for op, err := range errs {
			if !errors.Is(err, ErrInvalidKey) || engine.ErrorCode(err) != engine.CodeInvalid {
				t.Errorf("%s(%q) error = %v, want ErrInvalidKey", op, key, err)
			}
		}
	}
	if b, err := os.ReadFile(outside); err != nil || string(b) != "secret" {
		t.Errorf("file outside the store = %q, %v; want it untouched", b, err)
	}
}

func TestDisk_PutBadContentType(t *testing.T) {
	t.Parallel()
	b := setupDisk(t)

	for _, ct := range []string{"text/html\r\nX-Evil: 1", "not a type", strings.Repeat("a", 250) + "/bcdefgh"} {
		if err := b.disk.Put(t.Context(), "t1/a", strings.NewReader("x"), 1, ct); err == nil {
			t.Errorf("Put(content type %q) error = nil", ct)
		}
	}
}

func TestDisk_FileLayout(t *testing.T) {
	t.Parallel()
	b := setupDisk(t)

	mustPut(t, b.disk, "t1/posts/a.png", "PNGDATA", "image/png")
	raw, err := os.ReadFile(filepath.Join(b.dir, "t1", "posts", "a.png"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "guildhall-blob 1\nimage/png\nPNGDATA"; string(raw) != want {
		t.Errorf("file = %q, want %q", raw, want)
	}
	info, err := os.Stat(filepath.Join(b.dir, "t1", "posts", "a.png"))
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("file mode = %v, want 0600", perm)
	}
}

func TestDisk_CorruptFile(t *testing.T) {
	t.Parallel()
	b := setupDisk(t)

	if err := os.WriteFile(filepath.Join(b.dir, "planted"), []byte("no header"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err := b.disk.Open(t.Context(), "planted")
	if err == nil || errors.Is(err, ErrNotFound) || engine.ErrorCode(err) != engine.CodeInternal {
		t.Errorf("Open(file without header) error = %v, want an internal error", err)
	}
}

func TestNewDisk_RemovesStaleTemporaryFiles(t *testing.T) {
	t.Parallel()
	b := setupDisk(t)

	stale, fresh := filepath.Join(b.dir, tmpDir, "STALE"), filepath.Join(b.dir, tmpDir, "FRESH")
	for _, p := range []string{stale, fresh} {
		if err := os.WriteFile(p, []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-2 * staleTmp)
	if err := os.Chtimes(stale, old, old); err != nil {
		t.Fatal(err)
	}
	if _, err := NewDisk(DiskConfig{Dir: b.dir, Secret: testSecret}); err != nil {
		t.Fatalf("NewDisk() error = %v", err)
	}
	if diff := cmp.Diff([]string{"FRESH"}, tmpFiles(t, b.dir)); diff != "" {
		t.Errorf("temporary files (-want +got):\n%s", diff)
	}
}

func TestNewDisk_Config(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()

	tests := []struct {
		name    string
		c       DiskConfig
		wantErr string
	}{
		{"NoDir", DiskConfig{Secret: testSecret}, "no directory"},
		{"NoSecret", DiskConfig{Dir: dir}, "at least 32 bytes"},
		{"ShortSecret", DiskConfig{Dir: dir, Secret: testSecret[:31]}, "at least 32 bytes"},
		{"RelativeBase", DiskConfig{Dir: dir, Secret: testSecret, BaseURL: "files"}, "want a path"},
		{"BaseWithQuery", DiskConfig{Dir: dir, Secret: testSecret, BaseURL: "/files?x=1"}, "without query"},
		{"BaseFTP", DiskConfig{Dir: dir, Secret: testSecret, BaseURL: "ftp://example.com/files"}, "want a path"},
		{"BaseEscaped", DiskConfig{Dir: dir, Secret: testSecret, BaseURL: "/my%2Ffiles"}, "escaping"},
		{"DirIsFile", DiskConfig{Dir: filepath.Join(dir, "f"), Secret: testSecret}, "not a directory"},
	}
	if err := os.WriteFile(filepath.Join(dir, "f"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := NewDisk(tt.c)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("NewDisk() error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestExactReader(t *testing.T) {
	t.Parallel()

	for _, tt := range []struct {
		in   string
		size int64
		ok   bool
	}{
		{"", 0, true}, {"a", 0, false}, {"abc", 3, true}, {"abc", 2, false}, {"abc", 4, false},
	} {
		var buf bytes.Buffer
		_, err := io.Copy(&buf, newExactReader(strings.NewReader(tt.in), tt.size))
		if (err == nil) != tt.ok || tt.ok && buf.String() != tt.in {
			t.Errorf("copy %q with size %d = %q, %v; want ok %v", tt.in, tt.size, buf.String(), err, tt.ok)
		}
		// io.ReadFull, which drops an error arriving with a full buffer.
		p := make([]byte, tt.size)
		_, err = io.ReadFull(newExactReader(strings.NewReader(tt.in), tt.size), p)
		if tt.size > 0 && (err == nil) != tt.ok {
			t.Errorf("ReadFull %q with size %d error = %v, want ok %v", tt.in, tt.size, err, tt.ok)
		}
	}
}
