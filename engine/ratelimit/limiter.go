package ratelimit

import (
	"context"
	"fmt"
	"hash/maphash"
	"math"
	"sync"
	"time"
)

const (
	// shardCount is the number of independently locked parts of a Limiter;
	// a power of two so a hash picks one with a mask.
	shardCount = 64

	// DefaultShardCapacity is how many buckets each of a Limiter's 64 shards
	// holds unless WithShardCapacity says otherwise: 262,144 keys in all,
	// about 40 MB when full with keys of some 30 bytes.
	DefaultShardCapacity = 4096

	// DefaultSweepInterval is how often Run sweeps unless WithSweepInterval
	// says otherwise.
	DefaultSweepInterval = time.Minute

	// invalidRetry is what a call under an invalid Limit is told to wait:
	// long enough that clients back off while the configuration is fixed.
	invalidRetry = time.Minute
)

// Option configures a Limiter.
type Option func(*config)

type config struct {
	shardCapacity int
	sweepInterval time.Duration
}

// WithShardCapacity sets how many buckets each of the 64 shards may hold (so
// the Limiter holds at most 64*n keys); past it the shard's least recently
// used bucket is dropped. n must be at least 1.
func WithShardCapacity(n int) Option {
	return func(c *config) { c.shardCapacity = n }
}

// WithSweepInterval sets how often Run sweeps. d must be positive.
func WithSweepInterval(d time.Duration) Option {
	return func(c *config) { c.sweepInterval = d }
}

// Limiter is a set of token buckets keyed by string, safe for concurrent
// use. The zero value is not usable; call New.
type Limiter struct {
	now           func() time.Time
	epoch         time.Time // times are kept as nanoseconds since epoch
	seed          maphash.Seed
	shardCapacity int
	sweepInterval time.Duration
	shards        [shardCount]shard
}

// shard is one locked part of a Limiter: a map of buckets and a list of the
// same buckets from most to least recently used.
type shard struct {
	mu      sync.Mutex
	buckets map[string]*bucket // guarded by mu
	head    *bucket            // most recently used; guarded by mu
	tail    *bucket            // least recently used; guarded by mu
	spare   *bucket            // a dropped bucket kept for reuse; guarded by mu
	_       [64]byte           // keeps neighbouring shards' locks off one cache line
}

// bucket is one key's token bucket in the form of the generic cell rate
// algorithm: instead of a token count it keeps the time at which the bucket
// is full again, so a call needs no floating point and a refused call
// changes nothing.
type bucket struct {
	key      string
	full     int64 // nanoseconds since the Limiter's epoch when the bucket is full again
	lim      Limit
	interval int64 // nanoseconds for one token to come back
	window   int64 // nanoseconds to refill from empty: Burst*interval
	prev     *bucket
	next     *bucket
}

// New returns an empty Limiter that reads the time from now (time.Now when
// nil). It panics on an invalid Option, a programming error at wiring.
func New(now func() time.Time, opts ...Option) *Limiter {
	if now == nil {
		now = time.Now
	}
	c := config{shardCapacity: DefaultShardCapacity, sweepInterval: DefaultSweepInterval}
	for _, o := range opts {
		o(&c)
	}
	if c.shardCapacity < 1 {
		panic(fmt.Sprintf("ratelimit: shard capacity %d is below 1", c.shardCapacity))
	}
	if c.sweepInterval <= 0 {
		panic(fmt.Sprintf("ratelimit: sweep interval %s is not positive", c.sweepInterval))
	}
	l := &Limiter{
		now:           now,
		epoch:         now(),
		seed:          maphash.MakeSeed(),
		shardCapacity: c.shardCapacity,
		sweepInterval: c.sweepInterval,
	}
	for i := range l.shards {
		l.shards[i].buckets = make(map[string]*bucket)
	}
	return l
}

// clock returns the current time in nanoseconds since l.epoch. Sub uses the
// monotonic clock when both times carry it, so wall clock jumps do not
// refill or drain buckets.
func (l *Limiter) clock() int64 {
	return int64(l.now().Sub(l.epoch))
}

func (l *Limiter) shardFor(key string) *shard {
	return &l.shards[maphash.String(l.seed, key)&(shardCount-1)]
}

// Allow takes a token from key's bucket if it has one and reports the
// outcome. A key seen for the first time starts with a full bucket. Calling
// it with a different Limit than before applies the new Limit from then on:
// the tokens already used stay used (up to the new Burst), so a full bucket
// stays full and an empty one stays empty. Under a Limit that fails
// Validate every call is refused, with RetryAfter of a minute, and nothing
// is stored.
//
// Allow takes one shard's lock for a map lookup and some integer
// arithmetic; it allocates only for a key it has not seen while its shard
// is below capacity. The clock is read before the lock is taken, so a call
// that waits for the lock is judged a little early: that can refuse a call
// a moment too soon, never allow one too many.
func (l *Limiter) Allow(key string, lim Limit) Decision {
	now := l.clock()
	s := l.shardFor(key)
	s.mu.Lock()
	b := s.buckets[key]
	if b == nil || b.lim != lim {
		if lim.Validate() != nil {
			s.mu.Unlock()
			return Decision{Limit: max(lim.Burst, 0), RetryAfter: invalidRetry}
		}
		if b == nil {
			b = s.insert(key, now, l.shardCapacity)
		}
		b.reshape(lim, now)
	}
	s.touch(b)
	d := b.take(now)
	s.mu.Unlock()
	return d
}

// take makes one call against b at now.
func (b *bucket) take(now int64) Decision {
	d := Decision{Limit: b.lim.Burst}
	full := max(b.full, now) + b.interval
	if full-now > b.window {
		// Refused: the token this call needs comes back when the bucket
		// holds one again, that is when full-window <= now.
		d.RetryAfter = time.Duration(full - b.window - now)
		d.Reset = time.Duration(max(b.full-now, 0))
		return d
	}
	b.full = full
	debt := full - now // time to refill what has been used, at most window
	d.Allowed = true
	d.Remaining = b.lim.Burst - int((debt+b.interval-1)/b.interval)
	d.Reset = time.Duration(debt)
	return d
}

// reshape gives b the valid Limit lim at now, keeping the number of tokens
// already used (at most lim.Burst).
func (b *bucket) reshape(lim Limit, now int64) {
	interval := lim.interval()
	window := int64(lim.Burst) * interval
	if debt := b.full - now; debt > 0 && b.interval > 0 {
		used := float64(debt) / float64(b.interval)
		b.full = now + int64(math.Min(math.Round(used*float64(interval)), float64(window)))
	}
	b.lim, b.interval, b.window = lim, interval, window
}

// insert adds a full bucket for key at now, dropping the least recently used
// bucket first if the shard holds capacity of them. s.mu must be held.
func (s *shard) insert(key string, now int64, capacity int) *bucket {
	for len(s.buckets) >= capacity {
		s.remove(s.tail)
	}
	b := s.spare
	if b != nil {
		s.spare = nil
		*b = bucket{}
	} else {
		b = new(bucket)
	}
	b.key, b.full = key, now
	s.buckets[key] = b
	return b
}

// remove drops b from the shard and keeps it for reuse. s.mu must be held.
func (s *shard) remove(b *bucket) {
	s.unlink(b)
	delete(s.buckets, b.key)
	b.key = ""
	s.spare = b
}

// touch makes b the shard's most recently used bucket. s.mu must be held.
func (s *shard) touch(b *bucket) {
	if s.head == b {
		return
	}
	if b.prev != nil { // in the list and not its head
		s.unlink(b)
	}
	b.next = s.head
	if s.head != nil {
		s.head.prev = b
	}
	s.head = b
	if s.tail == nil {
		s.tail = b
	}
}

// unlink takes b, which is in the list, out of it. s.mu must be held.
func (s *shard) unlink(b *bucket) {
	if b.prev != nil {
		b.prev.next = b.next
	} else {
		s.head = b.next
	}
	if b.next != nil {
		b.next.prev = b.prev
	} else {
		s.tail = b.prev
	}
	b.prev, b.next = nil, nil
}

// Sweep drops every bucket that is full again (unused for at least as long
// as it takes to refill what was last taken from it). A dropped key starts
// again with a full bucket, so sweeping never changes a decision. It locks
// one shard at a time.
func (l *Limiter) Sweep() {
	now := l.clock()
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		for b := s.tail; b != nil; {
			prev := b.prev
			if b.full <= now {
				s.remove(b)
			}
			b = prev
		}
		s.mu.Unlock()
	}
}

// Run sweeps every sweep interval (WithSweepInterval, a minute by default)
// until ctx is done. Start it once per Limiter, in its own goroutine.
func (l *Limiter) Run(ctx context.Context) {
	t := time.NewTicker(l.sweepInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			l.Sweep()
		}
	}
}

// Len returns how many keys have a bucket.
func (l *Limiter) Len() int {
	n := 0
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		n += len(s.buckets)
		s.mu.Unlock()
	}
	return n
}
