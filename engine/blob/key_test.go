package blob

import (
	"errors"
	"strings"
	"testing"

	"github.com/guildhall/guildhall/engine"
)

func TestValidKey(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		key  string
		want bool
	}{
		{"TenantKindUUID", "t1/posts/0192f1a2-7b3c-7d4e-8f5a-6b7c8d9e0f1a.png", true},
		{"OneSegment", "a", true},
		{"Underscore", "a_b/c-d.e", true},
		{"Empty", "", false},
		{"DotDot", "t1/../t2/x.png", false},
		{"DotDotOnly", "..", false},
		{"Dot", "t1/./x.png", false},
		{"Hidden", "t1/.x", false},
		{"TmpDir", ".tmp/abc", false},
		{"Absolute", "/etc/passwd", false},
		{"TrailingSlash", "t1/", false},
		{"DoubleSlash", "t1//x", false},
		{"Backslash", `t1\x.png`, false},
		{"BackslashDotDot", `..\x`, false},
		{"Upper", "T1/x.png", false},
		{"Space", "t1/x y.png", false},
		{"Percent", "t1/%2e%2e/x", false},
		{"NUL", "t1/x\x00.png", false},
		{"Newline", "t1/x\n.png", false},
		{"Colon", "c:/x", false},
		{"Unicode", "t1/é.png", false},
		{"QueryChar", "t1/x?y", false},
		{"MaxLen", strings.Repeat("a/", 127) + "aa", true},
		{"TooLong", strings.Repeat("a/", 128) + "a", false},
		{"SegmentMax", strings.Repeat("a", 128), true},
		{"SegmentTooLong", strings.Repeat("a", 129), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := ValidKey(tt.key); got != tt.want {
				t.Errorf("ValidKey(%q) = %v, want %v", tt.key, got, tt.want)
			}
			err := checkKey(tt.key)
			if tt.want != (err == nil) {
				t.Errorf("checkKey(%q) = %v", tt.key, err)
			}
			if err != nil && (!errors.Is(err, ErrInvalidKey) || engine.ErrorCode(err) != engine.CodeInvalid) {
				t.Errorf("checkKey(%q) = %v, want ErrInvalidKey (invalid)", tt.key, err)
			}
		})
	}
}
