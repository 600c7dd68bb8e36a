package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/guildhall/guildhall/engine/db"
	"github.com/guildhall/guildhall/engine/db/dbtest"
	"github.com/guildhall/guildhall/migrations"
)

var update = flag.Bool("update", false, "rewrite generated files that are stale")

// syncBuffer is a bytes.Buffer safe to write from a server goroutine while
// the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// runCLI runs the program as main would, with env as its whole environment,
// and returns its exit code and output.
func runCLI(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut syncBuffer
	err := run(t.Context(), args, func(k string) string { return env[k] }, strings.NewReader(env["STDIN"]), &out, &errOut)
	code = report(err, &errOut)
	return code, out.String(), errOut.String()
}

func TestRun_Usage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		env      map[string]string
		args     []string
		code     int
		stderr   string
		stdoutIn string
	}{
		{"NoCommand", nil, nil, 2, "guildhall: no command given (try guildhall --help)\n", "Usage: guildhall"},
		{"Help", nil, []string{"--help"}, 0, "", "Commands:"},
		{"UnknownCommand", nil, []string{"launch"}, 2, "guildhall: unknown command \"launch\" (try guildhall --help)\n", ""},
		{"ServeHelp", nil, []string{"serve", "--help"}, 0, "", "-addr"},
		{"DevHelp", nil, []string{"dev", "--help"}, 0, "", "-database"},
		{"MigrateHelp", nil, []string{"migrate", "--help"}, 0, "", "<status|up>"},
		{"MigrateUpHelp", nil, []string{"migrate", "up", "--help"}, 0, "", "owner role"},
		{"MigrateStatusHelp", nil, []string{"migrate", "status", "--help"}, 0, "", "Usage: guildhall migrate status"},
		{"TenantHelp", nil, []string{"tenant", "--help"}, 0, "", "<create|list|show|update>"},
		{"TenantCreateHelp", nil, []string{"tenant", "create", "--help"}, 0, "", "-time-zone"},
		{"TenantListHelp", nil, []string{"tenant", "list", "--help"}, 0, "", "-status"},
		{"TenantShowHelp", nil, []string{"tenant", "show", "--help"}, 0, "", "SLUG"},
		{"TenantUpdateHelp", nil, []string{"tenant", "update", "--help"}, 0, "", "-domains"},
		{"OpenAPIHelp", nil, []string{"openapi", "--help"}, 0, "", "-format"},
		{"VersionHelp", nil, []string{"version", "--help"}, 0, "", "Usage: guildhall version"},
		{"Version", nil, []string{"version"}, 0, "", "guildhall dev"},
		{"UnknownSubcommand", nil, []string{"migrate", "down"}, 2, "guildhall: migrate: unknown subcommand \"down\" (want one of: status, up)\n", ""},
		{"UnknownFlag", nil, []string{"serve", "--port", "8080"}, 2, "guildhall: serve: flag provided but not defined: -port\n", ""},
		{"BadLogLevelEnv", map[string]string{"GUILDHALL_LOG_LEVEL": "loud", "DATABASE_URL": "postgres://x@127.0.0.1:1/x"}, []string{"serve"}, 2,
			"guildhall: invalid GUILDHALL_LOG_LEVEL \"loud\": slog: level string \"loud\": unknown name\n", ""},
		{"FlagWinsOverEnv", map[string]string{"GUILDHALL_ADDR": "nonsense"}, []string{"serve", "--addr", "also-nonsense"}, 2,
			"guildhall: invalid --addr \"also-nonsense\": want host:port such as 127.0.0.1:8080 or :8080\n", ""},
		{"BadBaseURL", nil, []string{"serve", "--base-url", "ftp://x/y"}, 2,
			"guildhall: invalid --base-url \"ftp://x/y\": want an http(s) URL with a host and no path, such as https://guildhall.example\n", ""},
		{"ShortToken", map[string]string{"GUILDHALL_PLATFORM_TOKEN": "short"}, []string{"serve"}, 2,
			"guildhall: invalid GUILDHALL_PLATFORM_TOKEN \"…\": want at least 32 characters\n", ""},
		{"BadProxies", nil, []string{"serve", "--trusted-proxies", "10.0.0.0/99"}, 2,
			"guildhall: invalid --trusted-proxies \"10.0.0.0/99\": \"10.0.0.0/99\" is neither an IP address nor a CIDR prefix\n", ""},
		{"BadDuration", map[string]string{"GUILDHALL_SHUTDOWN_TIMEOUT": "-3s"}, []string{"serve"}, 2,
			"guildhall: invalid GUILDHALL_SHUTDOWN_TIMEOUT \"-3s\": want a positive duration such as 30s\n", ""},
		{"NoKeys", map[string]string{"DATABASE_URL": "postgres://x@127.0.0.1:1/x"}, []string{"serve"}, 2,
			"guildhall: GUILDHALL_SECRET_KEYS and GUILDHALL_JWT_KEYS must be set (make keys with: guildhall keys new)\n", ""},
		{"BadKeys", map[string]string{"GUILDHALL_SECRET_KEYS": "k1:tooshort"}, []string{"serve"}, 2,
			"guildhall: invalid GUILDHALL_SECRET_KEYS \"…\": key k1: want 32 bytes in base64\n", ""},
		{"NoDatabaseURL", nil, []string{"serve"}, 2,
			"guildhall: DATABASE_URL is not set: serve needs a connection string for the application role\n", ""},
		{"PasswordNotEchoed", map[string]string{"DATABASE_URL": "postgres://u:hunter2@h/db", "GUILDHALL_LOG_FORMAT": "xml"}, []string{"serve"}, 2,
			"guildhall: invalid GUILDHALL_LOG_FORMAT \"xml\": want json or text\n", ""},
		{"DevNotLoopback", nil, []string{"dev", "--addr", "0.0.0.0:8080"}, 2,
			"guildhall: dev seeds accounts with a known password, so --addr must be a loopback address (got 0.0.0.0:8080)\n", ""},
		{"BadOpenAPIFormat", nil, []string{"openapi", "--format", "toml"}, 2, "guildhall: openapi: invalid --format \"toml\": want yaml or json\n", ""},
		{"TenantShowNoSlug", map[string]string{"DATABASE_URL": "postgres://x@127.0.0.1:1/x"}, []string{"tenant", "show"}, 2, "guildhall: tenant show: missing SLUG\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tt.env, tt.args...)
			if code != tt.code || stderr != tt.stderr {
				t.Errorf("guildhall %v = exit %d, stderr %q; want exit %d, stderr %q", tt.args, code, stderr, tt.code, tt.stderr)
			}
			if !strings.Contains(stdout, tt.stdoutIn) {
				t.Errorf("stdout = %q, want it to contain %q", stdout, tt.stdoutIn)
			}
			if strings.Contains(stdout+stderr, "hunter2") {
				t.Errorf("output shows a password")
			}
		})
	}
}

func TestRun_UnreachableDatabase(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"serve"}, {"migrate", "up"}, {"migrate", "status"}, {"tenant", "list"}} {
		code, _, stderr := runCLI(t, map[string]string{"DATABASE_URL": "postgres://guildhall@127.0.0.1:1/guildhall?connect_timeout=2",
			"GUILDHALL_SECRET_KEYS": testKeys, "GUILDHALL_JWT_KEYS": testKeys}, args...)
		if code != 1 || !strings.HasPrefix(stderr, "guildhall: connect to PostgreSQL") || strings.Count(stderr, "\n") != 1 {
			t.Errorf("guildhall %v with no database = exit %d, %q; want exit 1 and one line about connecting", args, code, stderr)
		}
	}
}

// TestOpenAPIUpToDate fails when openapi/openapi.yaml is not what the code
// generates; run with -update to rewrite it.
func TestOpenAPIUpToDate(t *testing.T) {
	t.Parallel()
	got, err := openAPIDocument("yaml")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("..", "..", "openapi", "openapi.yaml")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read committed document: %v (generate it with go test ./cmd/guildhall -run OpenAPI -update)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("openapi/openapi.yaml is stale; run go test ./cmd/guildhall -run OpenAPI -update (-committed +generated):\n%s", diff)
	}
	code, stdout, _ := runCLI(t, nil, "openapi")
	if code != 0 || stdout != string(got) {
		t.Errorf("guildhall openapi does not print the generated document")
	}
}

// TestTemplUpToDate fails when a committed _templ.go file is not what templ
// generates from its .templ file.
func TestTemplUpToDate(t *testing.T) {
	t.Parallel()
	root := filepath.Join("..", "..")
	var files []string
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if strings.HasSuffix(path, ".templ") {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no .templ files found")
	}
	for _, f := range files {
		cmd := exec.CommandContext(t.Context(), "go", "tool", "templ", "generate", "-f", f, "-stdout")
		cmd.Dir = root
		rel, _ := filepath.Rel(root, f)
		cmd.Args[5] = rel
		got, err := cmd.Output()
		if err != nil {
			t.Fatalf("templ generate %s: %v", rel, err)
		}
		want, err := os.ReadFile(strings.TrimSuffix(f, ".templ") + "_templ.go")
		if err != nil {
			t.Errorf("%s: generated file missing: run go tool templ generate", rel)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: generated file is stale: run go tool templ generate", rel)
		}
	}
}

func TestServe_RefusesUnsafeDatabases(t *testing.T) {
	t.Parallel()
	// Each case would let the server read across tenants, or run on a schema
	// it does not expect; serve must stop before listening.
	d := newMigratedDatabase(t)
	if _, err := d.Owner.Exec(context.Background(), "DELETE FROM schema_migrations WHERE version = (SELECT max(version) FROM schema_migrations)"); err != nil {
		t.Fatal(err)
	}
	fresh := newMigratedDatabase(t)
	tests := []struct {
		name, url, want string
	}{
		{"Superuser", adminURL(t, fresh.Name), "is a superuser"},
		{"Owner", ownerURL(fresh), "tables: serve must connect as the application role"},
		{"PendingMigrations", appURL(d), fmt.Sprintf("1 of %d migrations are not applied: run `guildhall migrate up`", migrationCount(t))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, map[string]string{"DATABASE_URL": tt.url, "GUILDHALL_ADDR": "127.0.0.1:0",
				"GUILDHALL_SECRET_KEYS": testKeys, "GUILDHALL_JWT_KEYS": testKeys}, "serve")
			if code != 1 || !strings.Contains(stderr, tt.want) {
				t.Errorf("serve = exit %d, %q; want exit 1 and %q", code, stderr, tt.want)
			}
		})
	}
}

func newMigratedDatabase(t *testing.T) *dbtest.Database {
	t.Helper()
	return dbtest.NewDatabase(t)
}

func adminURL(t *testing.T, database string) string {
	t.Helper()
	cfg := dbtest.AdminConfig(t)
	cfg.ConnConfig.Database = database
	return dbtest.URL(cfg)
}

func ownerURL(d *dbtest.Database) string { return dbtest.URL(d.OwnerConfig) }

func appURL(d *dbtest.Database) string { return dbtest.URL(d.AppConfig) }

func migrationCount(t *testing.T) int {
	t.Helper()
	migs, err := db.LoadMigrations(migrations.FS)
	if err != nil {
		t.Fatal(err)
	}
	return len(migs)
}
