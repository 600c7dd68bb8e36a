package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"

	"github.com/danielgtaylor/huma/v2"

	"github.com/guildhall/guildhall/engine"
)

// Problem is an RFC 9457 problem details body, with Guildhall's code and the
// request ID as extension members.
type Problem struct {
	Type      string              `json:"type,omitempty" doc:"A URI reference identifying the problem type; about:blank when the status says it all."`
	Title     string              `json:"title" doc:"A short summary of the problem type (the HTTP status text)."`
	Status    int                 `json:"status" doc:"The HTTP status code."`
	Detail    string              `json:"detail,omitempty" doc:"What went wrong, safe to show to the user."`
	Code      engine.Code         `json:"code,omitempty" doc:"Guildhall's error code: invalid, not_found, conflict, unauthenticated, forbidden, payment_required, rate_limited, unavailable or internal."`
	RequestID string              `json:"request_id,omitempty" doc:"The ID of the request, to quote when reporting a problem."`
	Errors    []*huma.ErrorDetail `json:"errors,omitempty" doc:"Every problem with the input, one per field."`
}

// Error implements error.
func (p *Problem) Error() string { return p.Detail }

// GetStatus implements huma.StatusError.
func (p *Problem) GetStatus() int { return p.Status }

// ContentType implements huma.ContentTypeFilter: problems are
// application/problem+json.
func (p *Problem) ContentType(ct string) string {
	if ct == "application/json" {
		return "application/problem+json"
	}
	return ct
}

// StatusFor maps an error code to an HTTP status.
func StatusFor(c engine.Code) int {
	switch c {
	case engine.CodeInvalid:
		return http.StatusUnprocessableEntity
	case engine.CodeNotFound:
		return http.StatusNotFound
	case engine.CodeConflict:
		return http.StatusConflict
	case engine.CodeUnauthenticated:
		return http.StatusUnauthorized
	case engine.CodeForbidden:
		return http.StatusForbidden
	case engine.CodePaymentRequired:
		return http.StatusPaymentRequired
	case engine.CodeRateLimited:
		return http.StatusTooManyRequests
	case engine.CodeUnavailable:
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

func codeFor(status int) engine.Code {
	switch {
	case status == http.StatusNotFound, status == http.StatusMethodNotAllowed:
		return engine.CodeNotFound
	case status == http.StatusUnauthorized:
		return engine.CodeUnauthenticated
	case status == http.StatusForbidden:
		return engine.CodeForbidden
	case status == http.StatusConflict, status == http.StatusPreconditionFailed:
		return engine.CodeConflict
	case status == http.StatusPaymentRequired:
		return engine.CodePaymentRequired
	case status == http.StatusTooManyRequests:
		return engine.CodeRateLimited
	case status == http.StatusServiceUnavailable:
		return engine.CodeUnavailable
	case status >= 500:
		return engine.CodeInternal
	case status >= 400:
		return engine.CodeInvalid
	}
	return ""
}

const genericInternal = "An internal error occurred. It has been logged; please try again later."

// NewProblem builds the problem for err in the request of ctx. An
// engine.Error anywhere in errs gives the message and code, and the status
// unless the caller chose a 4xx one; huma's
// validation details are kept; any other error is internal: the caller sees
// a generic message and the cause is kept for the access log.
func NewProblem(ctx context.Context, status int, msg string, errs ...error) *Problem {
	p := &Problem{Status: status, Detail: msg}
	for _, err := range errs {
		if err == nil {
			continue
		}
		if ee, ok := errors.AsType[*engine.Error](err); ok {
			if p.Status == 0 || p.Status >= 500 {
				// The caller did not know better (a handler's error):
				// the code decides.
				p.Status = StatusFor(ee.Code)
			}
			p.Code = ee.Code
			p.Detail = ee.Message
			for _, f := range ee.Fields {
				p.Errors = append(p.Errors, &huma.ErrorDetail{Location: "body." + f.Field, Message: f.Message})
			}
			if p.Status >= 500 {
				recordCause(ctx, err)
			}
			break
		}
		if d, ok := errors.AsType[*huma.ErrorDetail](err); ok {
			p.Errors = append(p.Errors, d)
			continue
		}
		if p.Status < 500 {
			// Huma's own 4xx causes (malformed JSON, body too large) are
			// about the request and safe to show.
			p.Errors = append(p.Errors, &huma.ErrorDetail{Message: err.Error()})
			continue
		}
		recordCause(ctx, err)
	}
	if p.Status == 0 {
		p.Status = http.StatusInternalServerError
	}
	if p.Code == "" {
		p.Code = codeFor(p.Status)
	}
	if p.Status >= 500 && p.Code == engine.CodeInternal {
		p.Detail = genericInternal
	}
	if p.Detail == "" {
		p.Detail = http.StatusText(p.Status)
	}
	p.Type = "about:blank"
	p.Title = http.StatusText(p.Status)
	if ctx != nil {
		p.RequestID = engine.RequestIDFrom(ctx)
	}
	return p
}

var installErrors sync.Once

// installErrorConstructor replaces huma's error constructors (package
// variables in huma) with NewProblem. Huma's default copies raw error text
// into 500 bodies.
func installErrorConstructor() {
	installErrors.Do(func() {
		huma.NewErrorWithContext = func(hctx huma.Context, status int, msg string, errs ...error) huma.StatusError {
			var ctx context.Context
			if hctx != nil {
				ctx = hctx.Context()
			}
			return NewProblem(ctx, status, msg, errs...)
		}
		huma.NewError = func(status int, msg string, errs ...error) huma.StatusError {
			return NewProblem(nil, status, msg, errs...)
		}
	})
}

// WriteProblem writes err as a problem+json response, for handlers outside
// huma (middleware, unknown API routes). status is used when err carries no
// engine.Error.
func WriteProblem(w http.ResponseWriter, r *http.Request, status int, err error) {
	p := NewProblem(r.Context(), status, "", err)
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

// IsAPIPath reports whether path belongs to the REST API, whose errors are
// problem+json rather than HTML pages.
func IsAPIPath(path string) bool {
	return path == "/api" || strings.HasPrefix(path, "/api/")
}
