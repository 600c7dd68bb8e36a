package ratelimit_test

import (
	"fmt"
	"net/http"
	"time"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/ratelimit"
)

func ExampleLimiter_Allow() {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	l := ratelimit.New(func() time.Time { return now })
	signIn := ratelimit.PerMinute(2)

	for range 3 {
		d := l.Allow("ip:203.0.113.7:sign-in", signIn)
		fmt.Printf("allowed=%t remaining=%d retry_after=%s reset=%s\n", d.Allowed, d.Remaining, d.RetryAfter, d.Reset)
	}

	now = now.Add(30 * time.Second)
	d := l.Allow("ip:203.0.113.7:sign-in", signIn)
	fmt.Printf("allowed=%t remaining=%d retry_after=%s reset=%s\n", d.Allowed, d.Remaining, d.RetryAfter, d.Reset)
	// Output:
	// allowed=true remaining=1 retry_after=0s reset=30s
	// allowed=true remaining=0 retry_after=0s reset=1m0s
	// allowed=false remaining=0 retry_after=30s reset=1m0s
	// allowed=true remaining=0 retry_after=0s reset=1m0s
}

func ExampleRefused() {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	l := ratelimit.New(func() time.Time { return now })
	lim := ratelimit.PerMinute(1)
	l.Allow("t:acme:u:42", lim)

	d := l.Allow("t:acme:u:42", lim)
	h := http.Header{}
	ratelimit.SetHeaders(h, d)
	err := ratelimit.Refused(d)
	fmt.Println(engine.ErrorCode(err), engine.ErrorMessage(err))
	for _, k := range []string{"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", "Retry-After"} {
		fmt.Printf("%s: %s\n", k, h.Get(k))
	}
	// Output:
	// rate_limited Too many requests. Try again in 60 seconds.
	// RateLimit-Limit: 1
	// RateLimit-Remaining: 0
	// RateLimit-Reset: 60
	// Retry-After: 60
}
