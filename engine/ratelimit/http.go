package ratelimit

import (
	"net/http"
	"strconv"
)

// SetHeaders describes d to the client in h, in the form of
// draft-ietf-httpapi-ratelimit-headers-07: RateLimit-Limit (the burst),
// RateLimit-Remaining and RateLimit-Reset (seconds until the bucket is full
// again, rounded up); when d refused the call, also Retry-After (seconds,
// rounded up, at least 1). For example, a refusal under PerSecond(100):
//
//	RateLimit-Limit: 100
//	RateLimit-Remaining: 0
//	RateLimit-Reset: 1
//	Retry-After: 1
//
// It sets fields and never removes one. When a request is checked against
// several limits (user, API key, IP), pass the decision that refused it, or
// else the one with the fewest calls remaining.
func SetHeaders(h http.Header, d Decision) {
	h.Set("RateLimit-Limit", strconv.Itoa(d.Limit))
	h.Set("RateLimit-Remaining", strconv.Itoa(d.Remaining))
	h.Set("RateLimit-Reset", strconv.FormatInt(ceilSeconds(d.Reset), 10))
	if !d.Allowed {
		h.Set("Retry-After", strconv.FormatInt(retrySeconds(d.RetryAfter), 10))
	}
}
