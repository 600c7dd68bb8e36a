// Package static embeds the web app's and console's static assets (our own
// stylesheets and live.js, the web app's live notifications; htmx; and the
// Stoplight Elements files of the API docs page) and serves them under
// /static/.
//
// Guarantees: the assets are compiled into the binary, so a deployed server
// never serves files from disk; vendored files are byte-for-byte the
// published releases recorded in VENDOR.md (a test checks their SHA-256);
// a URL built by URL carries a content version and may be cached forever,
// while any other request revalidates with an ETag.
package static
