package ratelimit

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/guildhall/guildhall/engine"
)

// MaxWindow is the longest a Limit may take to refill from empty
// (Burst/Rate). Buckets live in one process's memory and are lost on
// restart or eviction, so longer windows would promise more than this
// package keeps; counting over days belongs in the database.
const MaxWindow = 24 * time.Hour

// Limit is a token bucket's shape: Burst calls may be made at once, and
// tokens come back at Rate per second up to Burst.
type Limit struct {
	// Rate is how many tokens are added per second; fractions are fine
	// (PerHour(10) has Rate 10/3600).
	Rate float64
	// Burst is the bucket's size: how many calls may be made at once, and
	// the limit reported to clients.
	Burst int
}

// PerSecond allows n calls a second, all of which may come at once.
func PerSecond(n int) Limit { return Limit{Rate: float64(n), Burst: n} }

// PerMinute allows n calls a minute, all of which may come at once; tokens
// come back one every minute/n.
func PerMinute(n int) Limit { return Limit{Rate: float64(n) / 60, Burst: n} }

// PerHour allows n calls an hour, all of which may come at once; tokens come
// back one every hour/n.
func PerHour(n int) Limit { return Limit{Rate: float64(n) / 3600, Burst: n} }

// Validate reports whether l can be enforced: a positive, finite Rate of at
// most one token a nanosecond, a Burst of at least 1, and a bucket that
// refills within MaxWindow. The error is an *engine.Error with
// engine.CodeInvalid. Allow refuses every call under a Limit that fails
// Validate, so check limits when configuration is loaded.
func (l Limit) Validate() error {
	switch {
	case math.IsNaN(l.Rate) || l.Rate <= 0 || math.IsInf(l.Rate, 0):
		return engine.Errorf(engine.CodeInvalid, "The rate must be a positive number of requests per second.")
	case l.Rate > float64(time.Second):
		return engine.Errorf(engine.CodeInvalid, "The rate must be at most %d requests per second.", time.Second)
	case l.Burst < 1:
		return engine.Errorf(engine.CodeInvalid, "The burst must be at least 1 request.")
	case float64(l.Burst)/l.Rate > MaxWindow.Seconds():
		return engine.Errorf(engine.CodeInvalid, "The limit must refill within 24 hours: raise the rate or lower the burst.")
	}
	return nil
}

// interval is the time one token takes to come back, in nanoseconds (at
// least 1). l must be valid.
func (l Limit) interval() int64 {
	return max(1, int64(math.Round(float64(time.Second)/l.Rate)))
}

// Decision is the answer of Allow for one call.
type Decision struct {
	// Allowed reports whether the call may proceed; it has then used a token.
	Allowed bool
	// Limit is the bucket's Burst: the most calls that can be made at once.
	Limit int
	// Remaining is how many more calls would be allowed right now.
	Remaining int
	// RetryAfter is how long until a refused call would be allowed; 0 when
	// allowed.
	RetryAfter time.Duration
	// Reset is how long until the bucket is full again if no call is made.
	Reset time.Duration
}

// ErrLimited is the cause inside the error Refused returns, for
// errors.Is.
var ErrLimited = errors.New("rate limited")

// Refused returns nil when d allowed the call, and otherwise an
// *engine.Error with engine.CodeRateLimited (answered with 429 by
// engine/api), ErrLimited as its cause and a message safe to show, such as
// "Too many requests. Try again in 3 seconds.". Pair it with SetHeaders,
// which tells clients the same wait in Retry-After.
func Refused(d Decision) error {
	if d.Allowed {
		return nil
	}
	return &engine.Error{
		Code:    engine.CodeRateLimited,
		Message: "Too many requests. Try again in " + humanWait(retrySeconds(d.RetryAfter)) + ".",
		Err:     ErrLimited,
		// The wait in whole seconds, as the message says it.
		RetryAfter: time.Duration(retrySeconds(d.RetryAfter)) * time.Second,
	}
}

// humanWait says secs (at least 1) in seconds up to 90 of them, then in
// minutes up to 90, then in hours, rounded up so the wait is never
// understated; Retry-After carries the exact figure.
func humanWait(secs int64) string {
	n, unit := secs, "second"
	switch {
	case secs > 90*60:
		n, unit = (secs+3599)/3600, "hour"
	case secs > 90:
		n, unit = (secs+59)/60, "minute"
	}
	if n != 1 {
		unit += "s"
	}
	return fmt.Sprintf("%d %s", n, unit)
}

// ceilSeconds rounds d up to whole seconds; negative durations count as 0.
func ceilSeconds(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64((d + time.Second - 1) / time.Second)
}

// retrySeconds is the wait a refused client is told: d rounded up, at least
// a second, since "retry in 0 seconds" invites a busy loop.
func retrySeconds(d time.Duration) int64 {
	return max(1, ceilSeconds(d))
}
