package ratelimit

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/guildhall/guildhall/engine"
)

func TestLimit_Helpers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		got  Limit
		want Limit
	}{
		{"PerSecond", PerSecond(1000), Limit{Rate: 1000, Burst: 1000}},
		{"PerMinute", PerMinute(60), Limit{Rate: 1, Burst: 60}},
		{"PerMinuteFraction", PerMinute(5), Limit{Rate: 5.0 / 60, Burst: 5}},
		{"PerHour", PerHour(3600), Limit{Rate: 1, Burst: 3600}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.got); diff != "" {
				t.Errorf("limit mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLimit_Validate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		lim     Limit
		wantErr bool
	}{
		{"PerSecond", PerSecond(1000), false},
		{"PerMinute", PerMinute(5), false},
		{"PerHour", PerHour(10), false},
		{"OneANanosecond", Limit{Rate: 1e9, Burst: 1}, false},
		{"RefillsInExactly24Hours", Limit{Rate: 1, Burst: 86400}, false},
		{"RefillsInOver24Hours", Limit{Rate: 1, Burst: 86401}, true},
		{"Zero", Limit{}, true},
		{"PerSecondZero", PerSecond(0), true},
		{"NegativeRate", Limit{Rate: -1, Burst: 1}, true},
		{"NaNRate", Limit{Rate: math.NaN(), Burst: 1}, true},
		{"InfiniteRate", Limit{Rate: math.Inf(1), Burst: 1}, true},
		{"FasterThanANanosecond", Limit{Rate: 2e9, Burst: 1}, true},
		{"ZeroBurst", Limit{Rate: 1, Burst: 0}, true},
		{"NegativeBurst", PerMinute(-3), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.lim.Validate()
			if (err != nil) != tt.wantErr {
				t.Fatalf("Validate() = %v, want error %t", err, tt.wantErr)
			}
			if err != nil && engine.ErrorCode(err) != engine.CodeInvalid {
				t.Errorf("ErrorCode(Validate()) = %q, want %q", engine.ErrorCode(err), engine.CodeInvalid)
			}
		})
	}
}

func TestRefused(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		retryAfter time.Duration
		want       string
	}{
		{"UnderASecond", time.Nanosecond, "Too many requests. Try again in 1 second."},
		{"ZeroIsStillASecond", 0, "Too many requests. Try again in 1 second."},
		{"WholeSeconds", 3 * time.Second, "Too many requests. Try again in 3 seconds."},
		{"RoundsUp", 2100 * time.Millisecond, "Too many requests. Try again in 3 seconds."},
		{"NinetySeconds", 90 * time.Second, "Too many requests. Try again in 90 seconds."},
		{"Minutes", 91 * time.Second, "Too many requests. Try again in 2 minutes."},
		{"NinetyMinutes", 90 * time.Minute, "Too many requests. Try again in 90 minutes."},
		{"Hours", 90*time.Minute + time.Second, "Too many requests. Try again in 2 hours."},
		{"ADay", 24 * time.Hour, "Too many requests. Try again in 24 hours."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Refused(Decision{Limit: 10, RetryAfter: tt.retryAfter, Reset: time.Second})
			if got := engine.ErrorCode(err); got != engine.CodeRateLimited {
				t.Errorf("ErrorCode(Refused()) = %q, want %q", got, engine.CodeRateLimited)
			}
			if got := engine.ErrorMessage(err); got != tt.want {
				t.Errorf("ErrorMessage(Refused()) = %q, want %q", got, tt.want)
			}
			if !errors.Is(err, ErrLimited) {
				t.Errorf("errors.Is(Refused(), ErrLimited) = false, want true")
			}
		})
	}

	t.Run("AllowedIsNil", func(t *testing.T) {
		if err := Refused(Decision{Allowed: true, Limit: 10, Remaining: 9}); err != nil {
			t.Errorf("Refused(allowed) = %v, want nil", err)
		}
	})
}
