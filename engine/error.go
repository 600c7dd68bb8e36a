package engine

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Code classifies an error for callers and for the API: it picks the HTTP
// status and tells a client what kind of failure happened.
type Code string

// The error codes. Every expected failure carries one of these; anything else
// is internal.
const (
	CodeInvalid         Code = "invalid"
	CodeNotFound        Code = "not_found"
	CodeConflict        Code = "conflict"
	CodeUnauthenticated Code = "unauthenticated"
	CodeForbidden       Code = "forbidden"
	CodePaymentRequired Code = "payment_required"
	CodeRateLimited     Code = "rate_limited"
	CodeUnavailable     Code = "unavailable"
	CodeInternal        Code = "internal"
)

// FieldError is one problem with one input field. Field is the JSON name (or
// CLI flag / form field) of the input, dotted for nested values.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error is an expected failure. Message is safe to show to the person who
// caused it; Err, when set, is the underlying cause for logs only.
type Error struct {
	Code    Code
	Message string
	Fields  []FieldError
	Err     error
	// RetryAfter, on a rate_limited error, is how long to wait before
	// trying again (sent as Retry-After).
	RetryAfter time.Duration
}

// GetHeaders gives the HTTP headers the error implies: Retry-After (whole
// seconds, rounded up) when RetryAfter is set. The API sends them with the
// problem.
func (e *Error) GetHeaders() http.Header {
	if e.RetryAfter <= 0 {
		return http.Header{}
	}
	secs := int64((e.RetryAfter + time.Second - 1) / time.Second)
	return http.Header{"Retry-After": []string{strconv.FormatInt(secs, 10)}}
}

// Error implements error. It includes the cause, so it is for logs, not users.
func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given code and a formatted safe message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid returns a CodeInvalid error listing every field problem at once.
// It returns nil when fields is empty, so callers can collect and return.
func Invalid(fields []FieldError) error {
	if len(fields) == 0 {
		return nil
	}
	msg := fields[0].Message
	if len(fields) > 1 {
		msg = fmt.Sprintf("%d fields are invalid", len(fields))
	}
	return &Error{Code: CodeInvalid, Message: msg, Fields: fields}
}

// ErrorCode returns the code of the first *Error in err's chain, CodeInternal
// for any other non-nil error, and "" for nil.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Code
	}
	return CodeInternal
}

// ErrorMessage returns the safe message of the first *Error in err's chain,
// or a generic message for any other error.
func ErrorMessage(err error) string {
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Message
	}
	return "An internal error occurred. It has been logged; please try again later."
}

// ErrorFields returns the field problems of the first *Error in err's chain.
func ErrorFields(err error) []FieldError {
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Fields
	}
	return nil
}
