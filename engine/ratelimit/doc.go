// Package ratelimit limits how often a caller may do something: requests per
// user, per API key or per IP, with limits chosen per tenant and per kind of
// request (a generous default such as 1000 requests a second per user, lower
// ones for sign-in and one-time codes).
//
// # What it guarantees
//
// A Limiter holds one token bucket per key, in memory. A key used with a Limit
// of Rate r and Burst b is allowed b calls at once and then r a second as its
// bucket refills (to the nanosecond), however many goroutines call Allow at
// once; a key left alone long enough to refill always accepts b calls in a
// row. Keys are opaque strings the caller builds ("t:<tenant>:u:<user>",
// "ip:<addr>:sign-in") and are independent of each other. Refused calls cost
// nothing: they do not push the next allowed call further away.
//
// Memory is bounded. A bucket that is full again holds nothing a fresh bucket
// would not, so Sweep (and Run, which sweeps periodically) drops it without
// changing any future decision. Each of the 64 shards also holds at most a
// fixed number of buckets (WithShardCapacity); past it the least recently
// used bucket of the shard is dropped, so a flood of distinct keys (spoofed
// or rotating IPs) costs a bounded amount of memory. The price is that under
// such a flood a key may lose its bucket and start again full; IPv6 callers
// should therefore be keyed by their /64 prefix rather than their address.
//
// # What it does not guarantee
//
// Counting is per process. With N instances behind a load balancer a caller
// may get up to N times the configured limit, or exactly the configured limit
// when routing is sticky per caller; a restart forgets every bucket. This
// package is about load and abuse, not security-critical counting: the
// brute-force protection that must hold across instances and restarts
// (attempts at a password or a one-time code) is kept in the database by the
// identity service. For the same reason a Limit refills within 24 hours at
// most.
//
// # HTTP
//
// SetHeaders writes the decision as the RateLimit-Limit, RateLimit-Remaining
// and RateLimit-Reset fields of draft-ietf-httpapi-ratelimit-headers-07
// (integer seconds), plus Retry-After (RFC 9110) when refused. Later drafts
// merged these into one structured RateLimit field whose syntax has changed
// from draft to draft; the separate fields are the form most clients and
// proxies understand. Refused turns a refusal into an *engine.Error with
// engine.CodeRateLimited, which engine/api answers with 429 Too Many
// Requests:
//
//	d := limiter.Allow("t:"+tenant+":u:"+user, limit)
//	ratelimit.SetHeaders(w.Header(), d)
//	if err := ratelimit.Refused(d); err != nil {
//		api.WriteProblem(w, r, http.StatusTooManyRequests, err)
//		return
//	}
package ratelimit
