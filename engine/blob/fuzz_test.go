package blob

import (
	"bytes"
	"errors"
	"net/url"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/guildhall/guildhall/engine"
)

func FuzzValidKey(f *testing.F) {
	for _, k := range []string{
		"t1/posts/0192f1a2-7b3c-7d4e-8f5a-6b7c8d9e0f1a.png", "a", "a/b/c", "..", "../x", "/x", "x/",
		`a\b`, "a//b", ".tmp/x", "a/./b", "A", "a b", "a%2fb", "a\x00", "é", strings.Repeat("ab/", 90),
	} {
		f.Add(k)
	}
	f.Fuzz(func(t *testing.T, key string) {
		if !ValidKey(key) {
			if err := checkKey(key); !errors.Is(err, ErrInvalidKey) {
				t.Errorf("checkKey(%q) = %v, want ErrInvalidKey", key, err)
			}
			return
		}
		// An accepted key is a clean, local, lower-case relative path that
		// needs no escaping in a URL.
		switch {
		case len(key) > MaxKeyLen:
			t.Errorf("ValidKey(%q) accepts %d bytes", key, len(key))
		case !filepath.IsLocal(key) || path.Clean(key) != key || strings.HasPrefix(key, "/"):
			t.Errorf("ValidKey(%q) accepts a path that is not clean and local", key)
		case strings.ContainsAny(key, `\:`) || strings.ToLower(key) != key:
			t.Errorf("ValidKey(%q) accepts a backslash, colon or upper case", key)
		}
		for _, seg := range strings.Split(key, "/") {
			if seg == "." || seg == ".." || strings.HasPrefix(seg, ".") || url.PathEscape(seg) != seg {
				t.Errorf("ValidKey(%q) accepts segment %q", key, seg)
			}
		}
		// And it names a file inside a Disk store, which reads back.
		b := setupDisk(t)
		if err := b.disk.Put(t.Context(), key, strings.NewReader("x"), 1, ""); err != nil {
			t.Fatalf("Put(%q) error = %v", key, err)
		}
		if got, _ := mustRead(t, b.disk, key); got != "x" {
			t.Errorf("Open(%q) = %q", key, got)
		}
		if rel, err := filepath.Rel(b.dir, filepath.Join(b.dir, key)); err != nil || !filepath.IsLocal(rel) {
			t.Errorf("key %q lands outside the store", key)
		}
	})
}

// specSecret starts every fuzzed password, so that any piece of one in an
// error is recognisable.
const specSecret = "Zq8x"

func FuzzParseSpec(f *testing.F) {
	for _, s := range []string{
		"file:///var/lib/guildhall/blobs", "file://localhost/srv/blobs", "/var/lib/guildhall/blobs", "./data/blobs",
		"blobs", "file:///", "file://host/x", "file:relative", "file:///x?y=1", "file:///x#f",
		"s3://bucket", "s3://my-bucket/prefix/sub?endpoint=minio.internal:9000&region=eu-west-1&secure=false",
		"s3://bucket/?endpoint=[::1]:9000", "s3://b/p?endpoint=127.0.0.1", "s3://Bucket", "s3://ab",
		"s3://bucket?endpoint=https://x", "s3://bucket?region=eu%20west", "s3://bucket?secure=maybe",
		"s3://bucket?endpoint=a&endpoint=b", "s3://bucket?unknown=1", "s3://bucket/a%2fb", "s3://bucket/../x",
		"s3://user:pass@bucket", "s3://bucket#frag", "s3:bucket", "gs://bucket", "", "\x00", "s3://bucket?%zz",
		"s3://bucket:9000", "s3://bucket?endpoint=host:0", "s3://bucket?endpoint=host:65536", "s3://b..c",
	} {
		f.Add(s, "pw")
	}
	f.Fuzz(func(t *testing.T, spec, pass string) {
		sp, err := ParseSpec(spec)
		if err == nil {
			switch {
			case (sp.Dir == "") == (sp.S3 == nil):
				t.Errorf("ParseSpec(%q) = %+v, want exactly one store", spec, sp)
			case sp.Dir != "" && filepath.Clean(sp.Dir) != sp.Dir:
				t.Errorf("ParseSpec(%q) dir %q is not clean", spec, sp.Dir)
			case sp.S3 != nil:
				c := *sp.S3
				c.AccessKeyID, c.SecretAccessKey = "id", "secret"
				if _, err := NewS3(c); err != nil {
					t.Errorf("ParseSpec(%q) = %+v, which NewS3 refuses: %v", spec, c, err)
				}
			}
		}

		// No part of a password ever appears in an error.
		if strings.Contains(spec, specSecret) {
			return
		}
		rest := strings.TrimPrefix(strings.TrimPrefix(spec, "s3://"), "file://")
		for _, scheme := range []string{"s3://", "file://", ""} {
			s := scheme + "user:" + specSecret + pass + "@" + rest
			if _, err := ParseSpec(s); err != nil && strings.Contains(err.Error(), specSecret) {
				t.Errorf("ParseSpec(%q) error %q contains the password", s, err)
			}
		}
	})
}

func FuzzCheckImage(f *testing.F) {
	f.Add(pngFile(f, 3, 2))
	f.Add(jpegFile(f, 3, 2))
	f.Add(withJPEGSegments(jpegFile(f, 3, 2), jpegSegment(jpegAPP1, exifPayload(6)), jpegSegment(jpegCOM, []byte("c"))))
	f.Add(withPNGChunks(pngFile(f, 2, 2), pngChunk("tEXt", []byte("a\x00b"))))
	f.Add(gifFile(f, 3, 2, 2))
	f.Add(withGIFExtensions(gifFile(f, 2, 2, 1), gifExtension(0xfe, "c")))
	f.Add(webpLossless)
	f.Add(webpLossy)
	f.Add(webpAlpha)
	f.Add(webpAnimated)
	f.Add(withWebPChunks(webpAlpha, 0x08, webpChunk("EXIF", []byte("II*\x00"))))
	f.Add([]byte("<svg onload=alert(1)>"))
	f.Add(pngWithSize(8001, 1))
	f.Add(gifBomb(100, 100, 3))
	f.Fuzz(func(t *testing.T, data []byte) {
		const max = 1 << 20
		img, err := CheckImage(bytes.NewReader(data), max)
		if err != nil {
			fields := engine.ErrorFields(err)
			if engine.ErrorCode(err) != engine.CodeInvalid || len(fields) != 1 || fields[0].Field != "image" {
				t.Fatalf("CheckImage() error = %v, want an invalid error on field image", err)
			}
			return
		}
		// A checked image passes again unchanged: nothing left to strip.
		again, err := CheckImage(bytes.NewReader(img.Data), max)
		if err != nil {
			t.Fatalf("CheckImage(checked image) error = %v", err)
		}
		if again.ContentType != img.ContentType || again.Width != img.Width || again.Height != img.Height || !bytes.Equal(again.Data, img.Data) {
			t.Errorf("CheckImage(checked image) = %s %d×%d (%d bytes), want %s %d×%d (%d bytes)",
				again.ContentType, again.Width, again.Height, len(again.Data), img.ContentType, img.Width, img.Height, len(img.Data))
		}
		if img.Width > MaxImageSide || img.Height > MaxImageSide || img.Width*img.Height > MaxImagePixels {
			t.Errorf("CheckImage() accepted %d×%d", img.Width, img.Height)
		}
		// Stripping only removes, except the orientation segment.
		if len(img.Data) > len(data)+len(orientationSegment(1)) {
			t.Errorf("Data grew from %d to %d bytes", len(data), len(img.Data))
		}
	})
}
