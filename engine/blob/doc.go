// Package blob stores files people upload (post images, later receipts)
// and hands out time-limited links to them. Services depend on the Store
// interface; cmd picks the implementation from a spec (Open): Disk, a
// directory on the server, for development and single-server installs, or
// S3, a bucket of any S3-compatible service. CheckImage vets an uploaded
// image before it is stored.
//
// Every Store guarantees:
//
//   - Keys are checked before any I/O: a key ValidKey refuses fails with
//     ErrInvalidKey (engine.CodeInvalid), so a key is never a path outside
//     the store, whatever the caller passes. Keys are made by services,
//     "{tenant}/{kind}/{uuid}.{ext}", never taken from a request as they
//     are; the tenant segment is what keeps tenants apart.
//   - Put stores exactly size bytes or nothing: a reader yielding fewer or
//     more fails the Put and leaves the old object, if any, in place.
//     Readers never see a partial object, and concurrent Puts of one key
//     leave one of them whole (Disk: temporary file, fsync, rename; S3:
//     single-object PUT semantics). The content type is kept with the
//     object and published with it.
//   - Open of a missing key fails with ErrNotFound (engine.CodeNotFound);
//     Delete of a missing key succeeds.
//   - URL returns a link that works for ttl (1 s to MaxTTL) and not after,
//     to anyone holding it: it is a capability, so hand it out only after
//     authorizing the viewer. It does not check that the object exists.
//     Responses to it carry Cache-Control: private, and display inline
//     only PNG, JPEG, GIF and WebP; anything else downloads as an
//     attachment. Disk responses also carry X-Content-Type-Options:
//     nosniff and a sandboxing Content-Security-Policy.
//   - Every type is safe for concurrent use.
//
// Disk links are signed by Disk itself and served by its Handler:
// {BaseURL}/{key}?exp={unix seconds}&sig={base64url HMAC-SHA256 of key
// and exp}. The signature covers neither host nor scheme, so a link with a
// path-only BaseURL ("/files", the default) works on every host the Handler
// is mounted on (platform host and tenant domains alike), and a tenant
// domain gives no access the link itself does not. Rotating the secret
// invalidates outstanding links, which live at most their ttl anyway. S3
// links are the service's presigned GET URLs and are fetched from the
// service directly.
//
// CheckImage trusts only the bytes: the client's file name and content type
// are ignored. See its documentation for what it accepts and which
// metadata it removes (EXIF location among it).
package blob
