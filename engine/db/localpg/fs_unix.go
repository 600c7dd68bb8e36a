//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package localpg

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"time"
)

// lockFile takes an exclusive flock on path, creating it, and waits for it
// until ctx is done. The lock goes with the process, so a crashed run never
// leaves the directory locked.
func lockFile(ctx context.Context, path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock file: %w", err)
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("wait for another guildhall using %s: %w", filepath.Dir(path), ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// checkSearchable fails unless u may traverse every ancestor of dir, which
// the server needs to reach its data directory.
func checkSearchable(dir string, u *osUser) error {
	for p := filepath.Dir(dir); ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("inspect %s: %w", p, err)
		}
		if !searchable(fi, u) {
			return fmt.Errorf("the %s OS user, which runs PostgreSQL when guildhall runs as root, cannot reach %s: "+
				"%s has mode %04o; choose a directory it can reach (the default %s is one) or run `chmod o+x %s`",
				u.name, dir, p, fi.Mode().Perm(), rootDir, p)
		}
		if p == filepath.Dir(p) {
			return nil
		}
	}
}

func searchable(fi os.FileInfo, u *osUser) bool {
	perm := fi.Mode().Perm()
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return true
	}
	switch {
	case int(st.Uid) == u.uid:
		return perm&0o100 != 0
	case int(st.Gid) == u.gid || slices.Contains(u.groups, int(st.Gid)):
		return perm&0o010 != 0
	default:
		return perm&0o001 != 0
	}
}

// fileOwner returns the uid owning the file fi describes; ok is false when
// the platform does not say.
func fileOwner(fi os.FileInfo) (uid int, ok bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return int(st.Uid), true
}
