package localpg

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// MinMajor is the oldest PostgreSQL major version Binaries accepts.
const MinMajor = 15

// ErrNotInstalled is returned (wrapped, with installation advice) when no
// PostgreSQL MinMajor or newer is installed.
var ErrNotInstalled = errors.New("PostgreSQL 15 or newer is not installed")

// installHint tells a person how to get a server Guildhall can use.
const installHint = "install it (Debian/Ubuntu: apt-get install postgresql; " +
	"Fedora/RHEL: dnf install postgresql-server; macOS: brew install postgresql@17), " +
	"or set DATABASE_URL to a PostgreSQL server you can use as a superuser"

// packageGlobs are where distributions put versioned bin directories, best
// first: Debian/Ubuntu, the PGDG RPMs, Homebrew on Apple silicon and Intel.
var packageGlobs = []string{
	"/usr/lib/postgresql/*/bin",
	"/usr/pgsql-*/bin",
	"/opt/homebrew/opt/postgresql@*/bin",
	"/usr/local/opt/postgresql@*/bin",
}

// tools are the programs a bin directory must hold for Start.
var tools = []string{"initdb", "pg_ctl", "postgres"}

// install is one PostgreSQL bin directory and its major version.
type install struct {
	dir   string
	major int
}

// Binaries returns the bin directory (holding initdb, pg_ctl and postgres) of
// the newest installed PostgreSQL MinMajor or newer. It looks in the
// distributions' versioned directories (/usr/lib/postgresql/*/bin first),
// then in `pg_config --bindir`, then beside initdb on PATH. When none
// qualifies the error wraps ErrNotInstalled and says how to install one.
func Binaries() (string, error) {
	ins, err := pick(installations(packageGlobs), 0)
	if err != nil {
		return "", err
	}
	return ins.dir, nil
}

// pick returns the first installation of major, or when major is 0 the first
// of MinMajor or newer; found is ordered best first.
func pick(found []install, major int) (install, error) {
	for _, in := range found {
		if (major == 0 && in.major >= MinMajor) || (major != 0 && in.major == major) {
			return in, nil
		}
	}
	var seen []string
	for _, in := range found {
		seen = append(seen, fmt.Sprintf("%d (%s)", in.major, in.dir))
	}
	if major != 0 {
		// The data directory decides the version: Start turns this into
		// advice about that directory.
		return install{}, fmt.Errorf("PostgreSQL %d is not installed (found: %s)", major, orNone(seen))
	}
	if len(seen) > 0 {
		return install{}, fmt.Errorf("%w (found only %s): %s", ErrNotInstalled, strings.Join(seen, ", "), installHint)
	}
	return install{}, fmt.Errorf("%w: %s", ErrNotInstalled, installHint)
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

// installations lists the usable PostgreSQL bin directories, best first: those
// matching globs (newest first), then pg_config's, then initdb's on PATH.
// Directories missing a tool or whose version cannot be read are left out.
func installations(globs []string) []install {
	seen := map[string]bool{}
	probe := func(dir string) (install, bool) {
		if resolved, err := filepath.EvalSymlinks(dir); err == nil {
			dir = resolved
		}
		if seen[dir] || !hasTools(dir) {
			return install{}, false
		}
		seen[dir] = true
		major, err := majorVersion(dir)
		if err != nil {
			return install{}, false
		}
		return install{dir: dir, major: major}, true
	}

	var found []install
	for _, g := range globs {
		dirs, _ := filepath.Glob(g) // the patterns are constant and valid
		for _, d := range dirs {
			if in, ok := probe(d); ok {
				found = append(found, in)
			}
		}
	}
	slices.SortStableFunc(found, func(a, b install) int { return cmp.Compare(b.major, a.major) })

	if pgConfig, err := exec.LookPath("pg_config"); err == nil {
		if out, err := output(pgConfig, "--bindir"); err == nil {
			if in, ok := probe(strings.TrimSpace(out)); ok {
				found = append(found, in)
			}
		}
	}
	if initdb, err := exec.LookPath("initdb"); err == nil {
		if resolved, err := filepath.EvalSymlinks(initdb); err == nil {
			initdb = resolved
		}
		if in, ok := probe(filepath.Dir(initdb)); ok {
			found = append(found, in)
		}
	}
	return found
}

func hasTools(dir string) bool {
	for _, t := range tools {
		fi, err := os.Stat(filepath.Join(dir, t))
		if err != nil || fi.IsDir() || fi.Mode().Perm()&0o111 == 0 {
			return false
		}
	}
	return true
}

var versionRE = regexp.MustCompile(`PostgreSQL\)? (\d+)`)

// majorVersion asks pg_ctl in dir for its version ("pg_ctl (PostgreSQL)
// 15.14 (Debian ...)"). pg_ctl answers --version even as root.
func majorVersion(dir string) (int, error) {
	out, err := output(filepath.Join(dir, "pg_ctl"), "--version")
	if err != nil {
		return 0, err
	}
	return parseMajor(out)
}

func parseMajor(s string) (int, error) {
	m := versionRE.FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Errorf("parse PostgreSQL version from %q", strings.TrimSpace(s))
	}
	return strconv.Atoi(m[1])
}

// output runs a program that answers at once (a --version or --bindir
// query) and returns its standard output.
func output(name string, args ...string) (string, error) {
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		return "", fmt.Errorf("run %s: %w", name, err)
	}
	return string(out), nil
}
