package engine

import (
	"context"
	"log/slog"
)

// LogHandler wraps a slog.Handler so every record logged with a context also
// carries the request-scoped facts in it (request_id, tenant_id). Call sites
// use the *Context logging methods and need not add them.
type LogHandler struct {
	slog.Handler
}

// NewLogHandler returns h wrapped in a LogHandler.
func NewLogHandler(h slog.Handler) *LogHandler { return &LogHandler{Handler: h} }

// Handle adds the context's facts to r and passes it on.
func (h *LogHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := RequestIDFrom(ctx); id != "" {
		r.AddAttrs(slog.String("request_id", id))
	}
	if id, ok := TenantFrom(ctx); ok {
		r.AddAttrs(slog.String("tenant_id", id.String()))
	}
	return h.Handler.Handle(ctx, r)
}

// WithAttrs keeps the wrapper around the derived handler.
func (h *LogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &LogHandler{Handler: h.Handler.WithAttrs(attrs)}
}

// WithGroup keeps the wrapper around the derived handler.
func (h *LogHandler) WithGroup(name string) slog.Handler {
	return &LogHandler{Handler: h.Handler.WithGroup(name)}
}
