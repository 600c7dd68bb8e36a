package blob

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// MinSecretLen is the shortest secret accepted for signing URLs.
const MinSecretLen = 32

// DefaultBaseURL is where signed Disk URLs point unless configured.
const DefaultBaseURL = "/files"

// signer makes and checks the signed URLs of a Disk.
type signer struct {
	mac  []byte // HMAC key derived from the secret for this purpose only
	base string // prefix of URLs, without a trailing slash
	path string // path part of base: where the Handler is mounted
	now  func() time.Time
}

func newSigner(secret []byte, base string, now func() time.Time) (signer, error) {
	if len(secret) < MinSecretLen {
		return signer{}, fmt.Errorf("url secret: want at least %d bytes, have %d", MinSecretLen, len(secret))
	}
	if base == "" {
		base = DefaultBaseURL
	}
	base = strings.TrimRight(base, "/")
	u, err := url.Parse(base)
	switch {
	case err != nil:
		return signer{}, fmt.Errorf("base url %q: %w", base, err)
	case u.RawQuery != "" || u.Fragment != "" || u.User != nil || u.Opaque != "":
		return signer{}, fmt.Errorf("base url %q: want a path or an http(s) URL without query, fragment or user", base)
	case u.Scheme == "" && u.Host == "" && strings.HasPrefix(u.Path, "/"):
	case (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" && strings.HasPrefix(u.Path, "/"):
	default:
		return signer{}, fmt.Errorf("base url %q: want a path such as /files or a URL such as https://example.com/files", base)
	}
	if u.RawPath != "" {
		return signer{}, fmt.Errorf("base url %q: path must not need escaping", base)
	}
	if now == nil {
		now = time.Now
	}
	// Derive the key, so a secret shared with another purpose never
	// signs the same messages.
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("guildhall blob url v1"))
	return signer{mac: m.Sum(nil), base: base, path: u.Path, now: now}, nil
}

// sig returns the signature of key valid until exp (Unix seconds). Keys
// hold no newline, so the message is unambiguous.
func (s signer) sig(key string, exp int64) []byte {
	m := hmac.New(sha256.New, s.mac)
	m.Write([]byte(key + "\n" + strconv.FormatInt(exp, 10)))
	return m.Sum(nil)
}

func (s signer) url(key string, ttl time.Duration) string {
	exp := s.now().Add(ttl).Unix()
	return s.base + "/" + key + "?exp=" + strconv.FormatInt(exp, 10) +
		"&sig=" + base64.RawURLEncoding.EncodeToString(s.sig(key, exp))
}

var (
	errBadSignature = errors.New("bad signature")
	errExpired      = errors.New("expired")
)

// verify checks a URL's exp and sig for key and returns how long it stays
// valid.
func (s signer) verify(key string, q url.Values) (time.Duration, error) {
	exps, sigs := q["exp"], q["sig"]
	if len(exps) != 1 || len(sigs) != 1 {
		return 0, errBadSignature
	}
	// Digits only: ParseInt would also take "+1" or "01", other spellings
	// of a signed value.
	e := exps[0]
	if e == "" || len(e) > 19 || strings.Trim(e, "0123456789") != "" || len(e) > 1 && e[0] == '0' {
		return 0, errBadSignature
	}
	exp, err := strconv.ParseInt(e, 10, 64)
	if err != nil {
		return 0, errBadSignature
	}
	got, err := base64.RawURLEncoding.Strict().DecodeString(sigs[0])
	if err != nil || !hmac.Equal(got, s.sig(key, exp)) {
		return 0, errBadSignature
	}
	left := time.Unix(exp, 0).Sub(s.now())
	if left <= 0 {
		return 0, errExpired
	}
	return left, nil
}

// inlineTypes are the content types a browser may display in place: raster
// images, which cannot run script. Everything else is a download.
var inlineTypes = map[string]string{
	"image/png":  "png",
	"image/jpeg": "jpg",
	"image/gif":  "gif",
	"image/webp": "webp",
}

// Handler serves the objects of d at signed URLs made by d.URL. Mount it
// on the path of the BaseURL, covering everything below it, for GET and
// HEAD, e.g. mux.Handle("/files/", d.Handler()).
//
// It answers 405 to other methods, 404 to a path that is not a valid key
// below the base path, 403 to a missing, tampered or expired signature
// (checked before the object is looked up, so unsigned requests learn
// nothing), 404 to a missing object, and otherwise the content with its
// stored type, ranges, conditional requests and HEAD (http.ServeContent),
// and these headers: X-Content-Type-Options: nosniff; a sandboxing
// Content-Security-Policy; Content-Disposition inline for PNG, JPEG, GIF
// and WebP and attachment for anything else; Cache-Control: private with a
// max-age of the signature's remaining lifetime.
func (d *Disk) Handler() http.Handler {
	return http.HandlerFunc(d.serve)
}

func (d *Disk) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "Method not allowed.", http.StatusMethodNotAllowed)
		return
	}
	key, ok := strings.CutPrefix(r.URL.Path, d.signer.path+"/")
	// A valid key never needs escaping, so an escaped path is not one.
	if !ok || r.URL.RawPath != "" || !ValidKey(key) {
		http.NotFound(w, r)
		return
	}
	left, err := d.signer.verify(key, r.URL.Query())
	if err != nil {
		http.Error(w, "This link is invalid or has expired.", http.StatusForbidden)
		return
	}
	o, err := d.open(key)
	if errors.Is(err, ErrNotFound) {
		http.NotFound(w, r)
		return
	}
	if err != nil {
		d.log.ErrorContext(r.Context(), "serve file", "key", key, "error", err)
		http.Error(w, "Internal server error.", http.StatusInternalServerError)
		return
	}
	defer o.Close()
	h := w.Header()
	h.Set("Content-Type", o.obj.ContentType)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; sandbox")
	h.Set("Content-Disposition", disposition(key, o.obj.ContentType))
	h.Set("Cache-Control", "private, max-age="+strconv.FormatInt(int64(left/time.Second), 10))
	http.ServeContent(w, r, "", o.modTime, o.SectionReader)
}

// disposition returns the Content-Disposition for key holding content type
// ct: inline only for the raster image types, attachment for the rest. The
// file name is the key's last segment, which never needs quoting.
func disposition(key, ct string) string {
	name := key[strings.LastIndexByte(key, '/')+1:]
	mt, _, _ := strings.Cut(ct, ";")
	if _, ok := inlineTypes[strings.TrimSpace(strings.ToLower(mt))]; ok {
		return `inline; filename="` + name + `"`
	}
	return `attachment; filename="` + name + `"`
}
