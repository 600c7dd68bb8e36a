package ratelimit

import (
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestSetHeaders(t *testing.T) {
	t.Parallel()
	// http.Header keys are canonical ("Ratelimit-Limit"); field names are
	// case-insensitive on the wire and h.Get("RateLimit-Limit") finds them.
	tests := []struct {
		name string
		d    Decision
		want http.Header
	}{
		{
			name: "Allowed",
			d:    Decision{Allowed: true, Limit: 100, Remaining: 99, Reset: 10 * time.Millisecond},
			want: http.Header{
				"Ratelimit-Limit":     {"100"},
				"Ratelimit-Remaining": {"99"},
				"Ratelimit-Reset":     {"1"},
			},
		},
		{
			name: "AllowedResetRoundsUp",
			d:    Decision{Allowed: true, Limit: 5, Remaining: 0, Reset: 60*time.Second + time.Nanosecond},
			want: http.Header{
				"Ratelimit-Limit":     {"5"},
				"Ratelimit-Remaining": {"0"},
				"Ratelimit-Reset":     {"61"},
			},
		},
		{
			name: "AllowedWholeSeconds",
			d:    Decision{Allowed: true, Limit: 2, Remaining: 1, Reset: 30 * time.Second},
			want: http.Header{
				"Ratelimit-Limit":     {"2"},
				"Ratelimit-Remaining": {"1"},
				"Ratelimit-Reset":     {"30"},
			},
		},
		{
			name: "Refused",
			d:    Decision{Limit: 100, RetryAfter: 10 * time.Millisecond, Reset: time.Second},
			want: http.Header{
				"Ratelimit-Limit":     {"100"},
				"Ratelimit-Remaining": {"0"},
				"Ratelimit-Reset":     {"1"},
				"Retry-After":         {"1"},
			},
		},
		{
			name: "RefusedRoundsUp",
			d:    Decision{Limit: 3, RetryAfter: 2500 * time.Millisecond, Reset: 7500 * time.Millisecond},
			want: http.Header{
				"Ratelimit-Limit":     {"3"},
				"Ratelimit-Remaining": {"0"},
				"Ratelimit-Reset":     {"8"},
				"Retry-After":         {"3"},
			},
		},
		{
			name: "RefusedWholeSeconds",
			d:    Decision{Limit: 2, RetryAfter: 30 * time.Second, Reset: time.Minute},
			want: http.Header{
				"Ratelimit-Limit":     {"2"},
				"Ratelimit-Remaining": {"0"},
				"Ratelimit-Reset":     {"60"},
				"Retry-After":         {"30"},
			},
		},
		{
			name: "RefusedRetryAtLeastASecond",
			d:    Decision{Limit: 1},
			want: http.Header{
				"Ratelimit-Limit":     {"1"},
				"Ratelimit-Remaining": {"0"},
				"Ratelimit-Reset":     {"0"},
				"Retry-After":         {"1"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			SetHeaders(h, tt.d)
			if diff := cmp.Diff(tt.want, h); diff != "" {
				t.Errorf("SetHeaders() mismatch (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("OverwritesEarlierValues", func(t *testing.T) {
		h := http.Header{}
		SetHeaders(h, Decision{Allowed: true, Limit: 10, Remaining: 9, Reset: time.Second})
		SetHeaders(h, Decision{Limit: 5, RetryAfter: time.Second, Reset: 2 * time.Second})
		if got := h.Values("RateLimit-Limit"); !cmp.Equal(got, []string{"5"}) {
			t.Errorf(`Values("RateLimit-Limit") = %q, want ["5"]`, got)
		}
	})
}
