package localpg

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestStart(t *testing.T) {
	t.Parallel()
	requireBinaries(t)
	ctx := t.Context()
	dir := clusterDir(t)
	opts := Options{Dir: dir, Log: testLogger(t)}

	first := mustStart(t, opts)
	if !first.Started() {
		t.Fatalf("first Start: Started() = false, want true")
	}
	conn := connect(t, first.URL())
	var recent bool
	if err := conn.QueryRow(ctx, "SELECT current_setting('server_version_num')::int >= 150000").Scan(&recent); err != nil {
		t.Fatalf("query server version: %v", err)
	}
	if !recent {
		t.Errorf("server_version_num >= 150000 = false, want true")
	}
	if _, err := conn.Exec(ctx, "CREATE TABLE kept (id int)"); err != nil {
		t.Fatalf("create table: %v", err)
	}
	conn.Close(ctx)
	if port, ok := readPortFile(dir); !ok || !strings.Contains(first.URL(), ":"+strconv.Itoa(port)+"/") {
		t.Errorf("recorded port = %d, %t; want the port of %s", port, ok, first.URL())
	}

	t.Run("ReusesRunning", func(t *testing.T) {
		again := mustStart(t, opts)
		if again.Started() {
			t.Errorf("Started() = true, want false for a running cluster")
		}
		if again.URL() != first.URL() {
			t.Errorf("URL() = %s, want %s", again.URL(), first.URL())
		}
		if err := again.Stop(ctx); err != nil {
			t.Fatalf("Stop() of a reused cluster = %v, want nil", err)
		}
		if !Reachable(ctx, first.URL()) {
			t.Errorf("Reachable() after Stop of a reused cluster = false, want true: it must keep running")
		}
	})

	if err := first.Stop(ctx); err != nil {
		t.Fatalf("Stop() = %v", err)
	}
	if Reachable(ctx, first.URL()) {
		t.Fatalf("Reachable() after Stop = true, want false")
	}
	if err := first.Stop(ctx); err != nil {
		t.Errorf("second Stop() = %v, want nil", err)
	}

	t.Run("RestartsStopped", func(t *testing.T) {
		restarted := mustStart(t, opts)
		if !restarted.Started() {
			t.Errorf("Started() = false, want true for a stopped cluster")
		}
		if restarted.URL() != first.URL() {
			t.Errorf("URL() = %s, want the recorded %s", restarted.URL(), first.URL())
		}
		conn := connect(t, restarted.URL())
		var n int
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM kept").Scan(&n); err != nil {
			t.Errorf("query table created before the restart: %v", err)
		}
		conn.Close(ctx)
		if err := restarted.Stop(ctx); err != nil {
			t.Fatalf("Stop() = %v", err)
		}
		if Reachable(ctx, restarted.URL()) {
			t.Errorf("Reachable() after Stop = true, want false")
		}
	})
}

func TestStart_Concurrent(t *testing.T) {
	t.Parallel()
	requireBinaries(t)
	opts := Options{Dir: clusterDir(t), Log: testLogger(t)}

	var clusters [2]*Cluster
	var errs [2]error
	var wg sync.WaitGroup
	for i := range clusters {
		wg.Go(func() { clusters[i], errs[i] = Start(t.Context(), opts) })
	}
	wg.Wait()
	for i, c := range clusters {
		if errs[i] != nil {
			t.Fatalf("Start() #%d = %v", i, errs[i])
		}
		stopAtCleanup(t, c)
	}
	if clusters[0].Started() == clusters[1].Started() {
		t.Errorf("Started() = %t and %t, want exactly one true", clusters[0].Started(), clusters[1].Started())
	}
	if clusters[0].URL() != clusters[1].URL() {
		t.Errorf("URL() = %s and %s, want the same", clusters[0].URL(), clusters[1].URL())
	}
}

func TestStart_PortInUse(t *testing.T) {
	t.Parallel()
	requireBinaries(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port

	c, err := Start(t.Context(), Options{Dir: clusterDir(t), Port: port, Log: testLogger(t)})
	if err == nil {
		stopAtCleanup(t, c)
		t.Fatalf("Start() on a busy port = nil error, want one")
	}
	if !strings.Contains(err.Error(), "in use") {
		t.Errorf("Start() error = %q, want it to say the port is in use", err)
	}
}

func TestBinaries(t *testing.T) {
	t.Parallel()
	bin := requireBinaries(t)
	for _, tool := range tools {
		if _, err := os.Stat(filepath.Join(bin, tool)); err != nil {
			t.Errorf("Binaries() = %s, lacking %s: %v", bin, tool, err)
		}
	}
	major, err := majorVersion(bin)
	if err != nil {
		t.Fatalf("majorVersion(%s) = %v", bin, err)
	}
	if major < MinMajor {
		t.Errorf("majorVersion(%s) = %d, want >= %d", bin, major, MinMajor)
	}
}

func TestReachable_ClosedPort(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	url := "postgres://postgres@127.0.0.1:" + strconv.Itoa(port) + "/postgres?sslmode=disable"
	if Reachable(t.Context(), url) {
		t.Errorf("Reachable(%s) = true, want false", url)
	}
	if Reachable(t.Context(), "not a url ::") {
		t.Errorf("Reachable(invalid) = true, want false")
	}
}

func TestPick(t *testing.T) {
	t.Parallel()
	found := []install{{dir: "/a/17", major: 17}, {dir: "/a/15", major: 15}, {dir: "/a/14", major: 14}}
	tests := []struct {
		name    string
		found   []install
		major   int
		want    string
		wantErr error
	}{
		{name: "NewestFirst", found: found, want: "/a/17"},
		{name: "DataVersion", found: found, major: 15, want: "/a/15"},
		{name: "OnlyTooOld", found: found[2:], wantErr: ErrNotInstalled},
		{name: "None", wantErr: ErrNotInstalled},
		{name: "DataVersionMissing", found: found, major: 16},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := pick(tt.found, tt.major)
			if tt.want == "" {
				if err == nil {
					t.Fatalf("pick() = %v, want an error", got)
				}
				if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
					t.Errorf("pick() error = %v, want %v", err, tt.wantErr)
				}
				if errors.Is(err, ErrNotInstalled) && !strings.Contains(err.Error(), "apt-get install postgresql") {
					t.Errorf("pick() error = %q, want installation advice", err)
				}
				return
			}
			if err != nil || got.dir != tt.want {
				t.Errorf("pick() = %v, %v; want %s", got, err, tt.want)
			}
		})
	}
}

func TestParseMajor(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want int
	}{
		{"pg_ctl (PostgreSQL) 15.14 (Debian 15.14-0+deb12u1)\n", 15},
		{"pg_ctl (PostgreSQL) 17.2\n", 17},
		{"PostgreSQL 16.4\n", 16},
		{"pg_ctl (PostgreSQL) 9.6.24\n", 9},
	}
	for _, tt := range tests {
		if got, err := parseMajor(tt.in); err != nil || got != tt.want {
			t.Errorf("parseMajor(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
	if _, err := parseMajor("something else"); err == nil {
		t.Errorf("parseMajor(garbage) = nil error, want one")
	}
}

func TestPidFilePort(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "postmaster.pid")
	pid := "4242\n/x/data\n1700000000\n54329\n/x\n127.0.0.1\n  1234  5678\nready   \n"
	if err := os.WriteFile(path, []byte(pid), 0o600); err != nil {
		t.Fatalf("write: %v", err)
	}
	if got, err := pidFilePort(path); err != nil || got != 54329 {
		t.Errorf("pidFilePort() = %d, %v; want 54329", got, err)
	}
}

func TestSocketDir(t *testing.T) {
	t.Parallel()
	tests := []struct {
		dir  string
		want string
	}{
		{"/var/lib/guildhall/postgres", "/var/lib/guildhall/postgres"},
		{"/home/a b/postgres", "''"},
		{"/x/" + strings.Repeat("d", 100), "''"},
	}
	for _, tt := range tests {
		if got := socketDir(tt.dir, 54329); got != tt.want {
			t.Errorf("socketDir(%q) = %s, want %s", tt.dir, got, tt.want)
		}
	}
}

func TestDataVersion_ForeignData(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	c := &Cluster{dir: dir, data: filepath.Join(dir, "data")}
	if err := os.MkdirAll(c.data, 0o700); err != nil {
		t.Fatalf("mkdir: %v", err)
	}
	if major, err := c.dataVersion(); err != nil || major != 0 {
		t.Fatalf("dataVersion() of an empty dir = %d, %v; want 0, nil", major, err)
	}
	if _, err := os.Stat(c.data); !os.IsNotExist(err) {
		t.Errorf("empty data dir left in place (stat: %v), want it removed for initdb", err)
	}
	if err := os.MkdirAll(c.data, 0o700); err != nil {
		t.Fatalf("mkdir: %v", err)
	}
	if err := os.WriteFile(filepath.Join(c.data, "notes.txt"), []byte("mine"), 0o600); err != nil {
		t.Fatalf("write: %v", err)
	}
	if _, err := c.dataVersion(); err == nil || !strings.Contains(err.Error(), "remove it") {
		t.Errorf("dataVersion() of a foreign dir = %v, want advice to remove it", err)
	}
}

func TestDefaultDir(t *testing.T) {
	if os.Geteuid() == 0 {
		if got := DefaultDir(); got != rootDir {
			t.Errorf("DefaultDir() as root = %s, want %s", got, rootDir)
		}
		return
	}
	t.Setenv("XDG_DATA_HOME", "/data")
	if got, want := DefaultDir(), "/data/guildhall/postgres"; got != want {
		t.Errorf("DefaultDir() = %s, want %s", got, want)
	}
}

// requireBinaries returns Binaries() or fails the test: the suite needs
// PostgreSQL installed (.ci/test installs it), and never skips.
func requireBinaries(tb testing.TB) string {
	tb.Helper()
	bin, err := Binaries()
	if err != nil {
		tb.Fatalf("Binaries() = %v (run .ci/test, which installs PostgreSQL)", err)
	}
	return bin
}

// clusterDir returns an empty directory for a cluster. As root the server
// runs as the postgres OS user, so the directory goes to that user and its
// parent (made 0700 by the testing package) becomes traversable.
func clusterDir(tb testing.TB) string {
	tb.Helper()
	dir := tb.TempDir()
	if os.Geteuid() != 0 {
		return dir
	}
	if err := os.Chmod(filepath.Dir(dir), 0o711); err != nil {
		tb.Fatalf("chmod: %v", err)
	}
	pg, err := user.Lookup(serverUserName)
	if err != nil {
		tb.Fatalf("look up %s: %v", serverUserName, err)
	}
	uid, _ := strconv.Atoi(pg.Uid)
	gid, _ := strconv.Atoi(pg.Gid)
	if err := os.Chown(dir, uid, gid); err != nil {
		tb.Fatalf("chown: %v", err)
	}
	return dir
}

// mustStart starts a cluster and stops it at cleanup if this Start started
// it, so a failing test leaves no server behind.
func mustStart(tb testing.TB, opts Options) *Cluster {
	tb.Helper()
	c, err := Start(tb.Context(), opts)
	if err != nil {
		tb.Fatalf("Start() = %v", err)
	}
	stopAtCleanup(tb, c)
	return c
}

func stopAtCleanup(tb testing.TB, c *Cluster) {
	tb.Helper()
	tb.Cleanup(func() {
		// tb.Context() is already canceled when cleanups run.
		if err := c.Stop(context.Background()); err != nil {
			tb.Errorf("Stop() at cleanup = %v", err)
		}
	})
}

func connect(tb testing.TB, url string) *pgx.Conn {
	tb.Helper()
	conn, err := pgx.Connect(tb.Context(), url)
	if err != nil {
		tb.Fatalf("connect to %s: %v", url, err)
	}
	return conn
}

func testLogger(tb testing.TB) *slog.Logger {
	tb.Helper()
	return slog.New(slog.NewTextHandler(tb.Output(), nil))
}

func TestCheckSearchable(t *testing.T) {
	t.Parallel()
	stranger := &osUser{name: "stranger", uid: 1 << 30, gid: 1 << 30}
	parent := filepath.Join(t.TempDir(), "private")
	if err := os.Mkdir(parent, 0o700); err != nil {
		t.Fatalf("mkdir: %v", err)
	}
	dir := filepath.Join(parent, "postgres")

	err := checkSearchable(dir, stranger)
	if err == nil || !strings.Contains(err.Error(), "chmod o+x "+parent) {
		t.Errorf("checkSearchable() under a 0700 parent = %v, want advice to chmod it", err)
	}
	if err := os.Chmod(parent, 0o711); err != nil {
		t.Fatalf("chmod: %v", err)
	}
	// The ancestors of t.TempDir() may still stop a stranger; parent must not.
	if err := checkSearchable(dir, stranger); err != nil && strings.Contains(err.Error(), parent+" has mode") {
		t.Errorf("checkSearchable() under a 0711 parent = %v, want parent accepted", err)
	}
	owner := &osUser{name: "owner", uid: os.Getuid(), gid: os.Getgid()}
	if err := checkSearchable(dir, owner); err != nil {
		t.Errorf("checkSearchable() for the owner = %v, want nil", err)
	}
}
