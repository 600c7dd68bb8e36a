package localpg

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// rootDir is DefaultDir for root: the postgres OS user, which runs the
// server then, cannot traverse root's home (/root is 0700).
const rootDir = "/var/lib/guildhall/postgres"

// serverUserName is the OS user PostgreSQL runs as when guildhall runs as
// root, as Debian and the PGDG packages name it.
const serverUserName = "postgres"

// Timeouts of the server's own steps. Start waits for the slower of start and
// recovery after a crash; the caller's ctx can end any wait earlier.
const (
	reachTimeout = 2 * time.Second
	startTimeout = 120 * time.Second
	stopTimeout  = 60 * time.Second
	readyTimeout = 30 * time.Second
)

// Options configures Start.
type Options struct {
	// Dir holds the cluster: data/ (the PostgreSQL data directory), log (the
	// server log), port (the port of the last start) and lock. Empty means
	// DefaultDir(). When guildhall runs as root, Start makes Dir belong to
	// the postgres OS user, which must be able to traverse its parents.
	Dir string
	// Port is the TCP port on 127.0.0.1 to start the server on. 0 means the
	// port recorded in Dir by an earlier run, or a free one the first time
	// (or when another program took the recorded one). A server that is
	// already running keeps its port whatever Port says.
	Port int
	// Log receives progress events; nil discards them.
	Log *slog.Logger
}

// Cluster is a private PostgreSQL cluster that Start started or found
// running. Its methods are safe for concurrent use.
type Cluster struct {
	dir  string
	data string
	bin  string
	port int
	user *osUser // nil: the server runs as this process's user
	log  *slog.Logger

	started bool // this Start started the server

	mu      sync.Mutex
	stopped bool // Stop has stopped it
}

// osUser is the OS user the server runs as when guildhall runs as root.
type osUser struct {
	name    string
	uid     int
	gid     int
	groups  []int
	runuser string // path of runuser(1), which switches to the user
}

// DefaultDir returns where Start keeps the cluster when Options.Dir is
// empty: $XDG_DATA_HOME/guildhall/postgres, else
// ~/.local/share/guildhall/postgres (a per-user directory, so each developer
// gets a cluster of their own). As root it is /var/lib/guildhall/postgres
// instead, because the server then runs as the postgres OS user, which cannot
// traverse /root. Without a home directory it falls back to the temporary
// directory.
func DefaultDir() string {
	if os.Geteuid() == 0 {
		return rootDir
	}
	if x := os.Getenv("XDG_DATA_HOME"); filepath.IsAbs(x) { // the XDG spec ignores relative paths
		return filepath.Join(x, "guildhall", "postgres")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "share", "guildhall", "postgres")
	}
	return filepath.Join(os.TempDir(), fmt.Sprintf("guildhall-%d", os.Getuid()), "postgres")
}

// Reachable reports whether a connection to url succeeds within about two
// seconds (less if ctx ends sooner). An unparsable url is not reachable.
func Reachable(ctx context.Context, url string) bool {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return false
	}
	cfg.ConnectTimeout = reachTimeout
	ctx, cancel := context.WithTimeout(ctx, reachTimeout)
	defer cancel()
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return false
	}
	defer conn.Close(ctx)
	return conn.Ping(ctx) == nil
}

// Start makes the cluster in opts.Dir run and returns it once it accepts
// connections:
//
//   - without a cluster in Dir/data (no PG_VERSION) it creates one with
//     initdb, using the newest installed PostgreSQL (see Binaries), with a
//     trusted superuser named postgres;
//   - if the cluster is already running (another guildhall started it) it
//     reuses it on its port and Started reports false;
//   - otherwise it starts the server on the port chosen as Options.Port
//     describes, records the port in Dir and Started reports true.
//
// Concurrent Starts on one Dir wait for each other. The server keeps running
// when this process exits; call Stop to stop it.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opts.Port < 0 || opts.Port > 65535 {
		return nil, fmt.Errorf("port %d is not a TCP port: use 1-65535, or 0 to let guildhall choose", opts.Port)
	}
	dir := opts.Dir
	if dir == "" {
		dir = DefaultDir()
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", dir, err)
	}
	found := installations(packageGlobs)
	if len(found) == 0 {
		// Say so before creating directories for nothing.
		_, err := pick(found, 0)
		return nil, err
	}
	u, err := serverUser()
	if err != nil {
		return nil, err
	}
	if err := prepareDir(dir, u); err != nil {
		return nil, err
	}
	unlock, err := lockFile(ctx, filepath.Join(dir, "lock"))
	if err != nil {
		return nil, err
	}
	defer unlock()

	c := &Cluster{dir: dir, data: filepath.Join(dir, "data"), user: u, log: log}
	major, err := c.dataVersion()
	if err != nil {
		return nil, err
	}
	in, err := pick(found, major)
	if err != nil {
		if major != 0 {
			return nil, fmt.Errorf("use the cluster in %s: %w: install PostgreSQL %d, or remove %s to start afresh (its data is lost)", dir, err, major, dir)
		}
		return nil, err
	}
	c.bin = in.dir

	if major == 0 {
		if err := c.initdb(ctx); err != nil {
			return nil, err
		}
	} else {
		running, err := c.running(ctx)
		if err != nil {
			return nil, err
		}
		if running {
			if err := c.adopt(ctx, opts.Port); err != nil {
				return nil, err
			}
			return c, nil
		}
	}

	port, err := c.choosePort(ctx, opts.Port)
	if err != nil {
		return nil, err
	}
	if err := c.start(ctx, port); err != nil {
		return nil, err
	}
	return c, nil
}

// URL returns a superuser connection URL for the cluster: user postgres on
// 127.0.0.1, database postgres, without TLS.
func (c *Cluster) URL() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", c.port)
}

// Started reports whether the Start that returned c started the server, as
// opposed to finding it running.
func (c *Cluster) Started() bool {
	return c.started
}

// Stop stops the server (pg_ctl stop -m fast: sessions are disconnected)
// if the Start that returned c started it, and does nothing otherwise, so a
// server another guildhall runs keeps running. Stop is idempotent. It runs
// pg_ctl under ctx: at shutdown pass context.WithoutCancel(ctx).
func (c *Cluster) Stop(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.started || c.stopped {
		return nil
	}
	out, err := c.run(ctx, "pg_ctl", "stop", "-D", c.data, "-m", "fast", "-w", "-t", seconds(stopTimeout))
	if err != nil {
		if running, rerr := c.running(ctx); rerr == nil && !running {
			c.stopped = true // someone stopped it first
			return nil
		}
		return fmt.Errorf("stop PostgreSQL in %s: %w%s; stop it with `%s stop -D %s`",
			c.data, err, indent(out), filepath.Join(c.bin, "pg_ctl"), c.data)
	}
	c.stopped = true
	c.log.InfoContext(ctx, "postgres stopped", "dir", c.dir, "port", c.port)
	return nil
}

// serverUser returns the OS user to run the server as: nil (this process's
// user) unless this process is root, which initdb and postgres refuse.
func serverUser() (*osUser, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	usr, err := user.Lookup(serverUserName)
	if err != nil {
		return nil, fmt.Errorf("find the %s OS user, which runs PostgreSQL when guildhall runs as root: %w; "+
			"run guildhall as a normal user, or create the user (installing PostgreSQL does: apt-get install postgresql)", serverUserName, err)
	}
	runuser, err := exec.LookPath("runuser")
	if err != nil {
		return nil, fmt.Errorf("find runuser, which switches to the %s OS user when guildhall runs as root: %w; "+
			"run guildhall as a normal user, or install util-linux", serverUserName, err)
	}
	u := &osUser{name: usr.Username, runuser: runuser}
	if u.uid, err = strconv.Atoi(usr.Uid); err != nil {
		return nil, fmt.Errorf("read uid of %s: %w", serverUserName, err)
	}
	if u.gid, err = strconv.Atoi(usr.Gid); err != nil {
		return nil, fmt.Errorf("read gid of %s: %w", serverUserName, err)
	}
	gids, _ := usr.GroupIds() // without them checkSearchable is only stricter
	for _, g := range gids {
		if n, err := strconv.Atoi(g); err == nil {
			u.groups = append(u.groups, n)
		}
	}
	return u, nil
}

// prepareDir creates dir and, when the server runs as u, gives it to u and
// checks that u can reach it.
func prepareDir(dir string, u *osUser) error {
	if u == nil {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("create %s: %w", dir, err)
		}
		return nil
	}
	// Parents that MkdirAll creates must stay traversable by u.
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(dir), err)
	}
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	if err := os.Chown(dir, u.uid, u.gid); err != nil {
		return fmt.Errorf("give %s to the %s OS user: %w", dir, u.name, err)
	}
	return checkSearchable(dir, u)
}

// dataVersion returns the major version of the cluster in c.data, or 0 when
// there is none yet. A leftover empty data directory is removed so initdb
// can create it with the right owner and mode.
func (c *Cluster) dataVersion() (int, error) {
	fi, err := os.Stat(c.data)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("inspect %s: %w", c.data, err)
	}
	if err := c.checkOwner(fi); err != nil {
		return 0, err
	}
	b, err := os.ReadFile(filepath.Join(c.data, "PG_VERSION"))
	if err == nil {
		major, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			return 0, fmt.Errorf("%s/PG_VERSION holds %q, not a PostgreSQL version: remove %s to start afresh (its data is lost)", c.data, b, c.dir)
		}
		return major, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return 0, fmt.Errorf("read %s/PG_VERSION: %w", c.data, err)
	}
	entries, err := os.ReadDir(c.data)
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", c.data, err)
	}
	if len(entries) > 0 {
		return 0, fmt.Errorf("%s is not empty but holds no PostgreSQL cluster (no PG_VERSION): remove it, or choose another directory", c.data)
	}
	if err := os.Remove(c.data); err != nil {
		return 0, fmt.Errorf("remove empty %s: %w", c.data, err)
	}
	return 0, nil
}

// checkOwner fails unless the data directory fi describes belongs to the
// user the server runs as: the server would refuse it.
func (c *Cluster) checkOwner(fi os.FileInfo) error {
	uid, ok := fileOwner(fi)
	if !ok {
		return nil
	}
	want, wantName := os.Geteuid(), "you"
	if c.user != nil {
		want, wantName = c.user.uid, "the "+c.user.name+" OS user"
	}
	if uid == want {
		return nil
	}
	owner := strconv.Itoa(uid)
	if u, err := user.LookupId(owner); err == nil {
		owner = u.Username
	}
	return fmt.Errorf("%s belongs to OS user %s, not %s, who runs PostgreSQL: run guildhall as %s (or as root if it is %s), or choose another directory",
		c.data, owner, wantName, owner, serverUserName)
}

// initdb creates the cluster: superuser postgres, trusted on every
// connection (the server only listens on loopback and its own socket
// directory), UTF-8 with the C locale, which every platform has.
func (c *Cluster) initdb(ctx context.Context) error {
	t0 := time.Now()
	out, err := c.run(ctx, "initdb", "-D", c.data, "-U", "postgres", "--auth=trust",
		"--encoding=UTF8", "--locale=C", "--no-instructions")
	if err != nil {
		return fmt.Errorf("create a PostgreSQL cluster in %s with initdb: %w%s; fix the cause above and run again", c.data, err, indent(out))
	}
	c.log.InfoContext(ctx, "postgres cluster created", "dir", c.dir, "took", time.Since(t0).Round(time.Millisecond))
	return nil
}

// running reports whether a server runs on c.data (pg_ctl status exits 3
// when none does).
func (c *Cluster) running(ctx context.Context) (bool, error) {
	out, err := c.run(ctx, "pg_ctl", "status", "-D", c.data)
	if err == nil {
		return true, nil
	}
	if ee, ok := errors.AsType[*exec.ExitError](err); ok && ee.ExitCode() == 3 {
		return false, nil
	}
	return false, fmt.Errorf("check whether PostgreSQL runs in %s: %w%s", c.data, err, indent(out))
}

// adopt takes over a server that is already running: its port is the one in
// postmaster.pid, whatever was asked.
func (c *Cluster) adopt(ctx context.Context, asked int) error {
	port, err := pidFilePort(filepath.Join(c.data, "postmaster.pid"))
	if err != nil {
		return fmt.Errorf("read the port of the PostgreSQL running in %s: %w; stop it with `%s stop -D %s` and run again",
			c.data, err, filepath.Join(c.bin, "pg_ctl"), c.data)
	}
	c.port = port
	if asked != 0 && asked != port {
		c.log.WarnContext(ctx, "postgres already running on another port", "dir", c.dir, "port", port, "asked_port", asked)
	}
	if err := writePortFile(c.dir, port); err != nil {
		return err
	}
	if err := c.waitReady(ctx); err != nil {
		// pg_ctl status trusts a postmaster.pid whose process id another
		// program has taken since a crash.
		return fmt.Errorf("%w; if no PostgreSQL runs in %s, remove %s and run again",
			err, c.data, filepath.Join(c.data, "postmaster.pid"))
	}
	c.log.InfoContext(ctx, "postgres already running", "dir", c.dir, "port", port)
	return nil
}

// choosePort returns asked if it is free, else the port recorded in c.dir if
// it is free, else a free port.
func (c *Cluster) choosePort(ctx context.Context, asked int) (int, error) {
	if asked != 0 {
		if !portFree(asked) {
			return 0, fmt.Errorf("port %d on 127.0.0.1 is in use by another program: choose another port, or 0 to let guildhall choose", asked)
		}
		return asked, nil
	}
	if recorded, ok := readPortFile(c.dir); ok {
		if portFree(recorded) {
			return recorded, nil
		}
		c.log.WarnContext(ctx, "recorded postgres port in use by another program, choosing another", "dir", c.dir, "port", recorded)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port on 127.0.0.1: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// start starts the server on port and waits until it accepts connections.
func (c *Cluster) start(ctx context.Context, port int) error {
	t0 := time.Now()
	if err := writePortFile(c.dir, port); err != nil {
		return err
	}
	// pg_ctl hands -o to a shell: every value here is shell-safe.
	opts := fmt.Sprintf("-p %d -c listen_addresses=127.0.0.1 -c unix_socket_directories=%s", port, socketDir(c.dir, port))
	logPath := filepath.Join(c.dir, "log")
	out, err := c.run(ctx, "pg_ctl", "start", "-D", c.data, "-l", logPath, "-w", "-t", seconds(startTimeout), "-o", opts)
	if err != nil {
		return fmt.Errorf("start PostgreSQL in %s on port %d: %w%s%s; fix the cause (see %s) and run again",
			c.data, port, err, indent(out), indent(tail(logPath, 5)), logPath)
	}
	c.port = port
	c.started = true
	if err := c.waitReady(ctx); err != nil {
		// Start returns no Cluster to stop: do not leave the server behind.
		_ = c.Stop(context.WithoutCancel(ctx))
		return err
	}
	c.log.InfoContext(ctx, "postgres started", "dir", c.dir, "port", port, "took", time.Since(t0).Round(time.Millisecond))
	return nil
}

// waitReady waits until the server accepts connections; one still starting
// or recovering may take a while.
func (c *Cluster) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	for !Reachable(ctx, c.URL()) {
		select {
		case <-ctx.Done():
			return fmt.Errorf("connect to PostgreSQL in %s on port %d: %w; see %s",
				c.data, c.port, ctx.Err(), filepath.Join(c.dir, "log"))
		case <-time.After(100 * time.Millisecond):
		}
	}
	return nil
}

// run runs a PostgreSQL program as the server's user, in c.dir (which that
// user can enter, unlike perhaps the working directory), without the PG*
// variables that could redirect it, and returns its combined output.
func (c *Cluster) run(ctx context.Context, tool string, args ...string) (string, error) {
	path := filepath.Join(c.bin, tool)
	var cmd *exec.Cmd
	if c.user != nil {
		cmd = exec.CommandContext(ctx, c.user.runuser, append([]string{"-u", c.user.name, "--", path}, args...)...)
	} else {
		cmd = exec.CommandContext(ctx, path, args...)
	}
	cmd.Dir = c.dir
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PG") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	// The server redirects its output to the log, but should a child keep
	// the pipe, do not wait for it forever.
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// shellSafe matches paths that need no quoting in pg_ctl's shell command or
// in a unix_socket_directories list.
var shellSafe = regexp.MustCompile(`^[A-Za-z0-9/._+@-]+$`)

// socketDir returns the value of unix_socket_directories: dir, so that psql
// -h dir works, unless dir needs quoting or makes the socket path longer than
// the 104 bytes every platform allows; then an empty value, which means no
// socket (TCP suffices).
func socketDir(dir string, port int) string {
	if !shellSafe.MatchString(dir) || len(dir)+len(fmt.Sprintf("/.s.PGSQL.%d", port)) >= 104 {
		return "''"
	}
	return dir
}

func portFree(port int) bool {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// readPortFile returns the port recorded in dir; ok is false when there is
// none or it is unreadable (then a new one is chosen).
func readPortFile(dir string) (port int, ok bool) {
	b, err := os.ReadFile(filepath.Join(dir, "port"))
	if err != nil {
		return 0, false
	}
	port, err = strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || port <= 0 || port > 65535 {
		return 0, false
	}
	return port, true
}

func writePortFile(dir string, port int) error {
	if err := os.WriteFile(filepath.Join(dir, "port"), []byte(strconv.Itoa(port)+"\n"), 0o644); err != nil {
		return fmt.Errorf("record the port: %w", err)
	}
	return nil
}

// pidFilePort returns the port from a postmaster.pid, whose fourth line it
// is.
func pidFilePort(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", path, err)
	}
	lines := strings.Split(string(b), "\n")
	if len(lines) < 4 {
		return 0, fmt.Errorf("%s has no port line", path)
	}
	port, err := strconv.Atoi(strings.TrimSpace(lines[3]))
	if err != nil {
		return 0, fmt.Errorf("parse port in %s: %w", path, err)
	}
	return port, nil
}

// tail returns the last n lines of the file at path, or "" if it cannot be
// read.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// indent formats a program's output to follow an error message on lines of
// its own; "" stays "".
func indent(out string) string {
	if out == "" {
		return ""
	}
	return "\n\t" + strings.ReplaceAll(out, "\n", "\n\t")
}

func seconds(d time.Duration) string {
	return strconv.Itoa(int(d / time.Second))
}
