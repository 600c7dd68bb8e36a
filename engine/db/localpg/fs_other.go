//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package localpg

import (
	"context"
	"os"
)

// lockFile does nothing where flock is missing: concurrent Starts on one
// directory are then the caller's concern.
func lockFile(ctx context.Context, path string) (unlock func(), err error) {
	return func() {}, nil
}

// checkSearchable trusts the platform: only Unix runs the server as another
// user.
func checkSearchable(dir string, u *osUser) error {
	return nil
}

// fileOwner does not know owners outside Unix: ok is always false.
func fileOwner(fi os.FileInfo) (uid int, ok bool) {
	return 0, false
}
