package blob

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"syscall"
	"time"
)

// DiskConfig configures a Disk store.
type DiskConfig struct {
	// Dir is the directory objects live in; it is created (0700) if
	// missing. Only the Disk should write to it.
	Dir string
	// Secret keys the HMAC that signs URLs: at least 32 random bytes.
	// Changing it invalidates every URL handed out, which lives at most
	// the ttl it was made with.
	Secret []byte
	// BaseURL prefixes signed URLs: a path such as "/files" (the default)
	// or an absolute URL such as "https://guildhall.example/files". The
	// signature covers the key and the expiry, not the host, so a path URL
	// works on every host the Handler is mounted on.
	BaseURL string
	// Now is the clock for URL expiry; nil means time.Now.
	Now func() time.Time
	// Log receives I/O failures the Handler cannot report to its caller;
	// nil discards them.
	Log *slog.Logger
}

// Disk is a Store keeping each object as one file under a directory: the
// default for development and single-server installs. URL returns links
// signed for the Disk's Handler, which the server must mount at the path
// of BaseURL.
//
// A file holds a short header naming the content type, then the content,
// so the one rename that publishes a Put publishes both together.
type Disk struct {
	root   *os.Root
	signer signer
	log    *slog.Logger
}

var _ Store = (*Disk)(nil)

const (
	// diskMagic starts every object file, followed by the content type
	// and a newline.
	diskMagic = "guildhall-blob 1\n"
	// maxHeaderLen bounds the header: the magic, a content type of at
	// most 255 bytes and its newline.
	maxHeaderLen = len(diskMagic) + 255 + 1
	// tmpDir holds files being written; ValidKey refuses segments
	// starting with a dot, so no key can reach it.
	tmpDir = ".tmp"
	// staleTmp is the age past which NewDisk removes a temporary file,
	// the leftover of a crash during Put.
	staleTmp = time.Hour
)

// NewDisk opens (creating if needed) the store in c.Dir.
func NewDisk(c DiskConfig) (*Disk, error) {
	if c.Dir == "" {
		return nil, errors.New("disk store: no directory")
	}
	s, err := newSigner(c.Secret, c.BaseURL, c.Now)
	if err != nil {
		return nil, fmt.Errorf("disk store: %w", err)
	}
	if err := os.MkdirAll(c.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("disk store: %w", err)
	}
	root, err := os.OpenRoot(c.Dir)
	if err != nil {
		return nil, fmt.Errorf("disk store: %w", err)
	}
	if err := root.MkdirAll(tmpDir, 0o700); err != nil {
		root.Close()
		return nil, fmt.Errorf("disk store: %w", err)
	}
	d := &Disk{root: root, signer: s, log: c.Log}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	d.removeStaleTmp()
	return d, nil
}

// removeStaleTmp deletes temporary files older than staleTmp; younger ones
// may belong to a Put in progress in another process sharing the
// directory.
func (d *Disk) removeStaleTmp() {
	entries, err := fs.ReadDir(d.root.FS(), tmpDir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if info, err := e.Info(); err == nil && d.signer.now().Sub(info.ModTime()) > staleTmp {
			_ = d.root.Remove(path.Join(tmpDir, e.Name()))
		}
	}
}

// Put writes r to a temporary file, syncs it and renames it over key, so a
// reader sees the old object or the new one, never a mix, and concurrent
// Puts of one key leave exactly one of them. When r yields fewer or more
// than size bytes nothing is stored. Errors: ErrInvalidKey.
func (d *Disk) Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) (err error) {
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
	if dir := path.Dir(key); dir != "." {
		if err := d.root.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("put %s: %w", key, err)
		}
	}
	tmp := path.Join(tmpDir, rand.Text())
	f, err := d.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			_ = d.root.Remove(tmp)
		}
	}()
	if _, err := io.WriteString(f, diskMagic+ct+"\n"); err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	if _, err := io.Copy(f, newExactReader(ctxReader{ctx, r}, size)); err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	if err := d.root.Rename(tmp, key); err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	// The rename is durable once the directory holding it is synced.
	if err := d.syncDir(path.Dir(key)); err != nil {
		return fmt.Errorf("put %s: sync directory: %w", key, err)
	}
	return nil
}

func (d *Disk) syncDir(dir string) error {
	f, err := d.root.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) {
		return err // EINVAL: the file system cannot sync directories
	}
	return nil
}

// Open returns the object under key. Errors: ErrInvalidKey, ErrNotFound.
func (d *Disk) Open(ctx context.Context, key string) (io.ReadCloser, Object, error) {
	o, err := d.open(key)
	if err != nil {
		return nil, Object{}, err
	}
	return o, o.obj, nil
}

// diskObject is an open object file: its content (after the header) as a
// seekable reader for http.ServeContent.
type diskObject struct {
	*io.SectionReader
	f       *os.File
	obj     Object
	modTime time.Time
}

func (o *diskObject) Close() error { return o.f.Close() }

func (d *Disk) open(key string) (*diskObject, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	f, err := d.root.Open(key)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", key, err)
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open %s: %w", key, err)
	}
	if !info.Mode().IsRegular() {
		f.Close()
		return nil, ErrNotFound // a directory: a prefix of other keys
	}
	buf := make([]byte, maxHeaderLen)
	n, err := f.ReadAt(buf, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		f.Close()
		return nil, fmt.Errorf("open %s: %w", key, err)
	}
	ct, ok := bytes.CutPrefix(buf[:n], []byte(diskMagic))
	end := bytes.IndexByte(ct, '\n')
	if !ok || end < 0 {
		f.Close()
		return nil, fmt.Errorf("open %s: not an object file (bad header)", key)
	}
	hdr := int64(len(diskMagic) + end + 1)
	size := info.Size() - hdr
	return &diskObject{
		SectionReader: io.NewSectionReader(f, hdr, size),
		f:             f,
		obj:           Object{Key: key, ContentType: string(ct[:end]), Size: size},
		modTime:       info.ModTime(),
	}, nil
}

// Delete removes the object under key; a missing key, or a key that is
// only a prefix of others, is not an error. Errors: ErrInvalidKey.
func (d *Disk) Delete(ctx context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	info, err := d.root.Lstat(key)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) || err == nil && info.IsDir() {
		return nil
	}
	if err == nil {
		err = d.root.Remove(key)
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	return nil
}

// URL returns a link to the Handler serving key until now+ttl (rounded
// down to the second). It does not check that key exists: a link to a
// missing object answers 404. Errors: ErrInvalidKey.
func (d *Disk) URL(ctx context.Context, key string, ttl time.Duration) (string, error) {
	if err := checkKey(key); err != nil {
		return "", err
	}
	if err := checkTTL(ttl); err != nil {
		return "", err
	}
	return d.signer.url(key, ttl), nil
}

// ctxReader fails reads once ctx is done, so a Put of a slow stream stops
// when its request does.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
