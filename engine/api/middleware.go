package api

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/guildhall/guildhall/engine"
)

// Middleware wraps a handler.
type Middleware func(http.Handler) http.Handler

// Chain applies ms so that the first runs outermost.
func Chain(h http.Handler, ms ...Middleware) http.Handler {
	for i := len(ms) - 1; i >= 0; i-- {
		h = ms[i](h)
	}
	return h
}

// requestState is what the outer middleware learns about a request from the
// inner handlers: the route that served it and, for a 5xx, why.
type requestState struct {
	mu    sync.Mutex
	route string
	cause error
	attrs []slog.Attr
}

type requestStateKey struct{}

func stateFrom(ctx context.Context) *requestState {
	if ctx == nil {
		return nil
	}
	s, _ := ctx.Value(requestStateKey{}).(*requestState)
	return s
}

// recordCause keeps the internal error behind a 5xx answer for the access
// log, which logs it once, with the request.
func recordCause(ctx context.Context, err error) {
	if s := stateFrom(ctx); s != nil {
		s.mu.Lock()
		s.cause = errors.Join(s.cause, err)
		s.mu.Unlock()
	}
}

// SetRoute names the route serving the request (for metrics and the access
// log): an operation ID or a page pattern. Unnamed requests are labelled by
// area.
func SetRoute(ctx context.Context, route string) {
	if s := stateFrom(ctx); s != nil {
		s.mu.Lock()
		s.route = route
		s.mu.Unlock()
	}
}

// Annotate adds key=value to the access log line of the request (the
// tenant's slug, the caller).
func Annotate(ctx context.Context, key, value string) {
	if s := stateFrom(ctx); s != nil {
		s.mu.Lock()
		s.attrs = append(s.attrs, slog.String(key, value))
		s.mu.Unlock()
	}
}

// statusWriter records the status and size of a response.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush passes flushes through (server-sent events, htmx streaming).
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Hijack passes hijacking through (WebSocket upgrades).
func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if h, ok := w.ResponseWriter.(http.Hijacker); ok {
		return h.Hijack()
	}
	return nil, nil, fmt.Errorf("hijack: %w", http.ErrNotSupported)
}

// NewRequestID returns a random request ID (16 base32 characters).
func NewRequestID() string {
	b := make([]byte, 10)
	_, _ = rand.Read(b)
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}

// RequestID gives every request an ID, in its context and in the
// X-Request-Id response header. A client-sent ID is not trusted: it is kept
// in the log as client_request_id only.
func RequestID() Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id := NewRequestID()
			w.Header().Set("X-Request-Id", id)
			next.ServeHTTP(w, r.WithContext(engine.WithRequestID(r.Context(), id)))
		})
	}
}

// Observe logs one line per request (with the cause of any 5xx) and
// records it in m. It also recovers panics into a generic 500: an API path
// gets a problem, anything else a plain page; the panic and its stack go to
// the log, never to the client.
func Observe(log *slog.Logger, m *Metrics) Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			st := &requestState{}
			ctx := context.WithValue(r.Context(), requestStateKey{}, st)
			r = r.WithContext(ctx)
			sw := &statusWriter{ResponseWriter: w}
			defer func() {
				if v := recover(); v != nil {
					if v == http.ErrAbortHandler {
						panic(v)
					}
					recordCause(ctx, fmt.Errorf("panic: %v\n%s", v, debug.Stack()))
					if sw.status == 0 {
						writeInternal(sw, r)
					}
				}
				status := sw.status
				if status == 0 {
					status = http.StatusOK
				}
				st.mu.Lock()
				route, cause, extra := st.route, st.cause, st.attrs
				st.mu.Unlock()
				if route == "" {
					route = area(r.URL.Path)
				}
				elapsed := time.Since(start)
				m.observe(r.Method, route, status, elapsed)
				attrs := []slog.Attr{
					slog.String("method", r.Method),
					slog.String("path", r.URL.Path),
					slog.String("route", route),
					slog.Int("status", status),
					slog.Int64("bytes", sw.bytes),
					slog.Duration("duration", elapsed),
					slog.String("remote_ip", ClientIP(r).String()),
				}
				attrs = append(attrs, extra...)
				level := slog.LevelInfo
				if status >= 500 {
					level = slog.LevelError
					if cause != nil {
						attrs = append(attrs, slog.String("error", cause.Error()))
					}
				}
				log.LogAttrs(r.Context(), level, "request", attrs...)
			}()
			next.ServeHTTP(sw, r)
		})
	}
}

func writeInternal(w http.ResponseWriter, r *http.Request) {
	if IsAPIPath(r.URL.Path) {
		WriteProblem(w, r, http.StatusInternalServerError, nil)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusInternalServerError)
	_, _ = fmt.Fprintf(w, "%s\nRequest ID: %s\n", genericInternal, engine.RequestIDFrom(r.Context()))
}

// area labels a request no route named, keeping metrics' cardinality small.
func area(path string) string {
	for _, p := range []string{"/api/", "/console/", "/static/", "/t/"} {
		if strings.HasPrefix(path, p) {
			return strings.Trim(p, "/")
		}
	}
	return "web"
}

// SecurityHeaders sets the headers every response carries. Pages may set a
// stricter Content-Security-Policy of their own.
func SecurityHeaders(tls bool) Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h := w.Header()
			h.Set("X-Content-Type-Options", "nosniff")
			h.Set("X-Frame-Options", "DENY")
			h.Set("Referrer-Policy", "strict-origin-when-cross-origin")
			h.Set("Cross-Origin-Opener-Policy", "same-origin")
			h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
			h.Set("Content-Security-Policy", DefaultCSP)
			if tls {
				h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
			}
			next.ServeHTTP(w, r)
		})
	}
}

// DefaultCSP allows only same-origin scripts, styles and images (plus
// https images, for tenant logos), and no framing.
const DefaultCSP = "default-src 'self'; img-src 'self' https: data:; style-src 'self' 'unsafe-inline'; " +
	"script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"

// Limits bounds a request: its body to maxBody bytes (huma operations have
// their own, smaller limits), its handling to timeout.
func Limits(maxBody int64, timeout time.Duration) Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.ContentLength > maxBody {
				if IsAPIPath(r.URL.Path) {
					WriteProblem(w, r, http.StatusRequestEntityTooLarge, engine.Errorf(engine.CodeInvalid, "The request body is larger than %d bytes.", maxBody))
				} else {
					http.Error(w, "The request body is too large.", http.StatusRequestEntityTooLarge)
				}
				return
			}
			r.Body = http.MaxBytesReader(w, r.Body, maxBody)
			ctx, cancel := context.WithTimeout(r.Context(), timeout)
			defer cancel()
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}
}

type clientIPKey struct{}

// Proxies decides whether forwarding headers are trusted: only from a
// direct peer inside one of its prefixes. With none configured, X-Forwarded-*
// headers are ignored entirely.
type Proxies []netip.Prefix

// ParseProxies parses a comma-separated list of CIDR prefixes or addresses.
func ParseProxies(s string) (Proxies, error) {
	var out Proxies
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if p, err := netip.ParsePrefix(f); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("%q is neither an IP address nor a CIDR prefix", f)
		}
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

func (ps Proxies) trusts(a netip.Addr) bool {
	for _, p := range ps {
		if p.Contains(a.Unmap()) {
			return true
		}
	}
	return false
}

// Forwarded applies X-Forwarded-For / -Host / -Proto from trusted proxies:
// the client IP (the right-most untrusted address) goes into the context
// (ClientIP), the forwarded host replaces r.Host, and the proto sets
// r.URL.Scheme. From anyone else these headers are ignored.
func Forwarded(trusted Proxies) Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			peer := peerAddr(r)
			client := peer
			if len(trusted) > 0 && trusted.trusts(peer) {
				hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
				for i := len(hops) - 1; i >= 0; i-- {
					a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
					if err != nil {
						break
					}
					client = a
					if !trusted.trusts(a) {
						break
					}
				}
				if h := r.Header.Get("X-Forwarded-Host"); h != "" {
					r.Host = h
				}
				if p := r.Header.Get("X-Forwarded-Proto"); p == "https" || p == "http" {
					r.URL.Scheme = p
				}
			}
			ctx := context.WithValue(r.Context(), clientIPKey{}, client)
			ctx = engine.WithClient(ctx, engine.Client{IP: client, UserAgent: truncate(r.UserAgent(), 200)})
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}
}

func peerAddr(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// ClientIP returns the client's address: from trusted forwarding headers
// when Forwarded ran, else the TCP peer.
func ClientIP(r *http.Request) netip.Addr {
	if a, ok := r.Context().Value(clientIPKey{}).(netip.Addr); ok {
		return a
	}
	return peerAddr(r)
}
