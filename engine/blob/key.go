package blob

import (
	"fmt"
	"strings"
)

// Key limits. A key is at most MaxKeyLen bytes of segments joined by "/";
// a segment is at most maxSegmentLen bytes, below every file system's name
// limit.
const (
	MaxKeyLen     = 256
	maxSegmentLen = 128
)

// ValidKey reports whether key can name an object: 1 to MaxKeyLen bytes of
// segments separated by single slashes, each of 1 to 128 characters of
// [a-z0-9._-] and not starting with a dot.
//
// The rules make a key a safe relative path on every file system and a
// plain S3 object name: no "." or ".." segment, no absolute path, no
// backslash, no empty segment, nothing that needs escaping in a URL, and
// no hidden file (Disk keeps its temporary files in ".tmp"). Upper case is
// refused so that two keys never name one file on a case-insensitive file
// system (macOS, Windows): tenant IDs, UUIDs and extensions are lower case.
func ValidKey(key string) bool {
	if len(key) == 0 || len(key) > MaxKeyLen {
		return false
	}
	for seg := range strings.SplitSeq(key, "/") {
		if len(seg) == 0 || len(seg) > maxSegmentLen || seg[0] == '.' {
			return false
		}
		for i := 0; i < len(seg); i++ {
			c := seg[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
				return false
			}
		}
	}
	return true
}

// checkKey returns ErrInvalidKey, wrapped with the key, unless ValidKey.
func checkKey(key string) error {
	if !ValidKey(key) {
		return fmt.Errorf("key %.300q: %w", key, ErrInvalidKey)
	}
	return nil
}
