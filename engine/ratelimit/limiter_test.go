package ratelimit

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fakeClock is a clock that moves only when told to.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type testBundle struct {
	clock   *fakeClock
	limiter *Limiter
}

func setup(t testing.TB, opts ...Option) *testBundle {
	t.Helper()
	c := newFakeClock()
	return &testBundle{clock: c, limiter: New(c.Now, opts...)}
}

// keys returns the keys that have a bucket, sorted, checking on the way that
// every shard's list and map agree and respect the capacity.
func keys(t testing.TB, l *Limiter) []string {
	t.Helper()
	var all []string
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		var n int
		var prev *bucket
		for b := s.head; b != nil; prev, b = b, b.next {
			if b.prev != prev {
				t.Errorf("shard %d: bucket %q has a wrong prev link", i, b.key)
			}
			if s.buckets[b.key] != b {
				t.Errorf("shard %d: listed bucket %q is not in the map", i, b.key)
			}
			all = append(all, b.key)
			n++
		}
		if s.tail != prev {
			t.Errorf("shard %d: tail is not the last listed bucket", i)
		}
		if n != len(s.buckets) {
			t.Errorf("shard %d: %d buckets listed, %d in the map", i, n, len(s.buckets))
		}
		if n > l.shardCapacity {
			t.Errorf("shard %d holds %d buckets, capacity %d", i, n, l.shardCapacity)
		}
		s.mu.Unlock()
	}
	slices.Sort(all)
	return all
}

func TestLimiter_Allow(t *testing.T) {
	t.Parallel()
	type step struct {
		advance time.Duration // moves the clock before the step
		key     string
		lim     Limit
		before  int // calls made first, outcomes unchecked
		want    Decision
	}
	const ms = time.Millisecond
	tests := []struct {
		name  string
		steps []step
	}{
		{
			name: "BurstThenRefusal",
			steps: []step{
				{key: "a", lim: PerSecond(4), want: Decision{Allowed: true, Limit: 4, Remaining: 3, Reset: 250 * ms}},
				{key: "a", lim: PerSecond(4), want: Decision{Allowed: true, Limit: 4, Remaining: 2, Reset: 500 * ms}},
				{key: "a", lim: PerSecond(4), want: Decision{Allowed: true, Limit: 4, Remaining: 1, Reset: 750 * ms}},
				{key: "a", lim: PerSecond(4), want: Decision{Allowed: true, Limit: 4, Remaining: 0, Reset: time.Second}},
				{key: "a", lim: PerSecond(4), want: Decision{Limit: 4, RetryAfter: 250 * ms, Reset: time.Second}},
				// Refused calls cost nothing.
				{key: "a", lim: PerSecond(4), before: 100, want: Decision{Limit: 4, RetryAfter: 250 * ms, Reset: time.Second}},
			},
		},
		{
			name: "RefillOverTime",
			steps: []step{
				{key: "a", lim: PerSecond(4), before: 3, want: Decision{Allowed: true, Limit: 4, Remaining: 0, Reset: time.Second}},
				{advance: 100 * ms, key: "a", lim: PerSecond(4), want: Decision{Limit: 4, RetryAfter: 150 * ms, Reset: 900 * ms}},
				{advance: 150 * ms, key: "a", lim: PerSecond(4), want: Decision{Allowed: true, Limit: 4, Remaining: 0, Reset: time.Second}},
				{advance: 500 * ms, key: "a", lim: PerSecond(4), want: Decision{Allowed: true, Limit: 4, Remaining: 1, Reset: 750 * ms}},
				{advance: 10 * time.Second, key: "a", lim: PerSecond(4), want: Decision{Allowed: true, Limit: 4, Remaining: 3, Reset: 250 * ms}},
			},
		},
		{
			name: "RemainingCountsWholeTokens",
			steps: []step{
				{key: "a", lim: PerSecond(4), want: Decision{Allowed: true, Limit: 4, Remaining: 3, Reset: 250 * ms}},
				// 3.4 tokens before this call, 2.4 after.
				{advance: 100 * ms, key: "a", lim: PerSecond(4), want: Decision{Allowed: true, Limit: 4, Remaining: 2, Reset: 400 * ms}},
			},
		},
		{
			name: "PerMinute",
			steps: []step{
				{key: "a", lim: PerMinute(2), want: Decision{Allowed: true, Limit: 2, Remaining: 1, Reset: 30 * time.Second}},
				{key: "a", lim: PerMinute(2), want: Decision{Allowed: true, Limit: 2, Remaining: 0, Reset: time.Minute}},
				{key: "a", lim: PerMinute(2), want: Decision{Limit: 2, RetryAfter: 30 * time.Second, Reset: time.Minute}},
				{advance: 29 * time.Second, key: "a", lim: PerMinute(2), want: Decision{Limit: 2, RetryAfter: time.Second, Reset: 31 * time.Second}},
				{advance: time.Second, key: "a", lim: PerMinute(2), want: Decision{Allowed: true, Limit: 2, Remaining: 0, Reset: time.Minute}},
			},
		},
		{
			name: "PerHour",
			steps: []step{
				{key: "a", lim: PerHour(4), before: 3, want: Decision{Allowed: true, Limit: 4, Remaining: 0, Reset: time.Hour}},
				{key: "a", lim: PerHour(4), want: Decision{Limit: 4, RetryAfter: 15 * time.Minute, Reset: time.Hour}},
				{advance: 15 * time.Minute, key: "a", lim: PerHour(4), want: Decision{Allowed: true, Limit: 4, Remaining: 0, Reset: time.Hour}},
			},
		},
		{
			name: "RateNotDividingASecond",
			steps: []step{
				{key: "a", lim: PerSecond(3), before: 2, want: Decision{Allowed: true, Limit: 3, Remaining: 0, Reset: 999999999}},
				{key: "a", lim: PerSecond(3), want: Decision{Limit: 3, RetryAfter: 333333333, Reset: 999999999}},
			},
		},
		{
			name: "LowerLimitOnExistingKey",
			steps: []step{
				{key: "a", lim: PerSecond(10), before: 4, want: Decision{Allowed: true, Limit: 10, Remaining: 5, Reset: 500 * ms}},
				// 5 tokens used, more than the new burst: the bucket is empty.
				{key: "a", lim: PerSecond(2), want: Decision{Limit: 2, RetryAfter: 500 * ms, Reset: time.Second}},
				{advance: 500 * ms, key: "a", lim: PerSecond(2), want: Decision{Allowed: true, Limit: 2, Remaining: 0, Reset: time.Second}},
			},
		},
		{
			name: "RaiseLimitOnExistingKey",
			steps: []step{
				{key: "a", lim: PerSecond(2), before: 1, want: Decision{Allowed: true, Limit: 2, Remaining: 0, Reset: time.Second}},
				// 2 tokens used stay used: 8 left, 7 after this call.
				{key: "a", lim: PerSecond(10), want: Decision{Allowed: true, Limit: 10, Remaining: 7, Reset: 300 * ms}},
				{key: "a", lim: PerSecond(10), before: 7, want: Decision{Limit: 10, RetryAfter: 100 * ms, Reset: time.Second}},
			},
		},
		{
			name: "FullBucketStaysFullOnLimitChange",
			steps: []step{
				{key: "a", lim: PerMinute(2), want: Decision{Allowed: true, Limit: 2, Remaining: 1, Reset: 30 * time.Second}},
				{advance: 30 * time.Second, key: "a", lim: PerSecond(10), want: Decision{Allowed: true, Limit: 10, Remaining: 9, Reset: 100 * ms}},
			},
		},
		{
			name: "KeysAreIndependent",
			steps: []step{
				{key: "t:1:u:1", lim: PerSecond(1), want: Decision{Allowed: true, Limit: 1, Remaining: 0, Reset: time.Second}},
				{key: "t:1:u:1", lim: PerSecond(1), want: Decision{Limit: 1, RetryAfter: time.Second, Reset: time.Second}},
				{key: "t:1:u:2", lim: PerSecond(1), want: Decision{Allowed: true, Limit: 1, Remaining: 0, Reset: time.Second}},
				{key: "t:2:u:1", lim: PerSecond(1), want: Decision{Allowed: true, Limit: 1, Remaining: 0, Reset: time.Second}},
				{advance: 500 * ms, key: "t:1:u:1", lim: PerSecond(1), want: Decision{Limit: 1, RetryAfter: 500 * ms, Reset: 500 * ms}},
			},
		},
		{
			name: "InvalidLimitRefuses",
			steps: []step{
				{key: "a", lim: Limit{}, want: Decision{RetryAfter: time.Minute}},
				{key: "a", lim: Limit{Rate: 1, Burst: 0}, want: Decision{RetryAfter: time.Minute}},
				{key: "a", lim: Limit{Rate: 0, Burst: 5}, want: Decision{Limit: 5, RetryAfter: time.Minute}},
				{key: "a", lim: PerSecond(5), want: Decision{Allowed: true, Limit: 5, Remaining: 4, Reset: 200 * ms}},
				// A bad change leaves the bucket as it was.
				{key: "a", lim: PerSecond(-5), want: Decision{RetryAfter: time.Minute}},
				{key: "a", lim: PerSecond(5), want: Decision{Allowed: true, Limit: 5, Remaining: 3, Reset: 400 * ms}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			bundle := setup(t)
			for i, st := range tt.steps {
				bundle.clock.Advance(st.advance)
				for range st.before {
					bundle.limiter.Allow(st.key, st.lim)
				}
				got := bundle.limiter.Allow(st.key, st.lim)
				if diff := cmp.Diff(st.want, got); diff != "" {
					t.Fatalf("step %d: Allow(%q, %+v) mismatch (-want +got):\n%s", i, st.key, st.lim, diff)
				}
			}
		})
	}
}

func TestLimiter_AllowInvalidLimitStoresNothing(t *testing.T) {
	t.Parallel()
	bundle := setup(t)
	bundle.limiter.Allow("a", Limit{})
	if got := bundle.limiter.Len(); got != 0 {
		t.Errorf("Len() = %d, want 0", got)
	}
}

func TestLimiter_AllowConcurrent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		goroutines int
		calls      int
		lim        Limit
	}{
		{"PerMinute", 64, 50, PerMinute(500)},
		{"BurstOfOne", 64, 10, PerHour(1)},
		{"BurstLargerThanCalls", 16, 10, PerSecond(1000)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			bundle := setup(t) // the clock never moves
			var allowed atomic.Int64
			var wg sync.WaitGroup
			for range tt.goroutines {
				wg.Go(func() {
					for range tt.calls {
						if bundle.limiter.Allow("t:1:u:1", tt.lim).Allowed {
							allowed.Add(1)
						}
					}
				})
			}
			wg.Wait()
			want := min(int64(tt.lim.Burst), int64(tt.goroutines*tt.calls))
			if got := allowed.Load(); got != want {
				t.Errorf("allowed %d calls, want %d", got, want)
			}
		})
	}
}

func TestLimiter_Sweep(t *testing.T) {
	t.Parallel()
	type call struct {
		key string
		lim Limit
		n   int
	}
	tests := []struct {
		name    string
		calls   []call // made at the start
		advance time.Duration
		want    []string // keys left after Sweep
	}{
		{
			name:    "NotFullYet",
			calls:   []call{{"a", PerSecond(10), 1}},
			advance: 99 * time.Millisecond,
			want:    []string{"a"},
		},
		{
			name:    "FullAgainIsDropped",
			calls:   []call{{"a", PerSecond(10), 1}},
			advance: 100 * time.Millisecond,
			want:    nil,
		},
		{
			name:    "SlowBucketsStay",
			calls:   []call{{"a", PerSecond(10), 1}, {"b", PerMinute(1), 1}, {"c", PerSecond(10), 3}},
			advance: time.Second,
			want:    []string{"b"},
		},
		{
			name:    "DrainedBucketNeedsTheWholeWindow",
			calls:   []call{{"a", PerSecond(10), 10}, {"b", PerSecond(10), 20}},
			advance: 999 * time.Millisecond,
			want:    []string{"a", "b"},
		},
		{
			name:    "DrainedBucketGoneAfterTheWindow",
			calls:   []call{{"a", PerSecond(10), 10}, {"b", PerSecond(10), 20}},
			advance: time.Second,
			want:    nil,
		},
		{
			name:    "Nothing",
			advance: time.Hour,
			want:    nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			bundle := setup(t)
			for _, c := range tt.calls {
				for range c.n {
					bundle.limiter.Allow(c.key, c.lim)
				}
			}
			bundle.clock.Advance(tt.advance)
			bundle.limiter.Sweep()
			if diff := cmp.Diff(tt.want, keys(t, bundle.limiter)); diff != "" {
				t.Errorf("keys after Sweep() mismatch (-want +got):\n%s", diff)
			}
			if got := bundle.limiter.Len(); got != len(tt.want) {
				t.Errorf("Len() = %d, want %d", got, len(tt.want))
			}
		})
	}
}

func TestLimiter_SweepChangesNoDecision(t *testing.T) {
	t.Parallel()
	bundle := setup(t)
	lim := PerSecond(4)
	bundle.limiter.Allow("a", lim)
	bundle.limiter.Allow("a", lim)
	bundle.clock.Advance(time.Second)
	bundle.limiter.Sweep()
	if got := bundle.limiter.Len(); got != 0 {
		t.Fatalf("Len() = %d after Sweep(), want 0", got)
	}
	want := Decision{Allowed: true, Limit: 4, Remaining: 3, Reset: 250 * time.Millisecond}
	if diff := cmp.Diff(want, bundle.limiter.Allow("a", lim)); diff != "" {
		t.Errorf("Allow() after Sweep() mismatch (-want +got):\n%s", diff)
	}
}

func TestLimiter_ShardCapacity(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		capacity   int
		goroutines int
		keys       int  // distinct keys per goroutine
		keepsAll   bool // no shard reaches its capacity
	}{
		{"OnePerShard", 1, 4, 1000, false},
		{"Flood", 8, 8, 5000, false},
		{"UnderCapacity", 64, 2, 100, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			bundle := setup(t, WithShardCapacity(tt.capacity))
			var wg sync.WaitGroup
			for g := range tt.goroutines {
				wg.Go(func() {
					for i := range tt.keys {
						bundle.limiter.Allow("ip:"+strconv.Itoa(g)+"."+strconv.Itoa(i), PerMinute(10))
					}
				})
			}
			wg.Wait()
			got := len(keys(t, bundle.limiter)) // checks each shard's capacity
			if limit := shardCount * tt.capacity; got > limit {
				t.Errorf("%d keys kept, want at most %d", got, limit)
			}
			if total := tt.goroutines * tt.keys; tt.keepsAll && got != total {
				t.Errorf("%d keys kept, want all %d", got, total)
			}
		})
	}
}

func TestLimiter_EvictsLeastRecentlyUsed(t *testing.T) {
	t.Parallel()
	bundle := setup(t, WithShardCapacity(2))
	l := bundle.limiter
	// Three keys that share a shard.
	var same []string
	target := l.shardFor("k0")
	for i := 0; len(same) < 3; i++ {
		k := "k" + strconv.Itoa(i)
		if l.shardFor(k) == target {
			same = append(same, k)
		}
	}
	lim := PerMinute(3)
	l.Allow(same[0], lim)
	l.Allow(same[1], lim)
	l.Allow(same[0], lim) // same[1] is now the least recently used
	l.Allow(same[2], lim)

	want := []string{same[0], same[2]}
	slices.Sort(want)
	if diff := cmp.Diff(want, keys(t, l)); diff != "" {
		t.Errorf("keys mismatch (-want +got):\n%s", diff)
	}
	// The kept bucket kept its state; the dropped one starts again full.
	if got := l.Allow(same[0], lim).Remaining; got != 0 {
		t.Errorf("Allow(%q).Remaining = %d, want 0", same[0], got)
	}
	if got := l.Allow(same[1], lim).Remaining; got != 2 {
		t.Errorf("Allow(%q).Remaining = %d, want 2", same[1], got)
	}
}

func TestLimiter_Run(t *testing.T) {
	t.Parallel()
	bundle := setup(t, WithSweepInterval(time.Millisecond))
	bundle.limiter.Allow("a", PerSecond(10))
	bundle.clock.Advance(time.Second)

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		bundle.limiter.Run(ctx)
		close(done)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for bundle.limiter.Len() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("Len() = %d after 10s of Run, want 0", bundle.limiter.Len())
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context was cancelled")
	}
}

func TestNew_InvalidOptionPanics(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opt  Option
	}{
		{"ZeroCapacity", WithShardCapacity(0)},
		{"NegativeCapacity", WithShardCapacity(-1)},
		{"ZeroSweepInterval", WithSweepInterval(0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("New(%s) did not panic", tt.name)
				}
			}()
			New(nil, tt.opt)
		})
	}
}

func BenchmarkAllow(b *testing.B) {
	benchmarks := []struct {
		name string
		keys int
	}{
		{"SameKey", 1},
		{"DistinctKeys", 1 << 16},
	}
	for _, bm := range benchmarks {
		b.Run(bm.name, func(b *testing.B) {
			l := New(time.Now)
			ks := make([]string, bm.keys)
			for i := range ks {
				ks[i] = fmt.Sprintf("t:%d:u:%d", i%7, i)
			}
			lim := PerSecond(1000)
			var next atomic.Int64
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				i := int(next.Add(1) * 7919)
				for pb.Next() {
					l.Allow(ks[i%len(ks)], lim)
					i++
				}
			})
		})
	}
}
