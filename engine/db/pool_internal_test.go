package db

import "testing"

func TestCheckVersion(t *testing.T) {
	t.Parallel()
	tests := []struct {
		num     int
		version string
		ok      bool
	}{
		{140010, "14.10", false},
		{150002, "15.2", false},
		{150003, "15.3", true},
		{150020, "15.20", true},
		{170001, "17.1", true},
	}
	for _, tt := range tests {
		if err := checkVersion(tt.num, tt.version); (err == nil) != tt.ok {
			t.Errorf("checkVersion(%d) = %v, want ok=%v", tt.num, err, tt.ok)
		}
	}
}
