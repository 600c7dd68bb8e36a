package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/guildhall/guildhall/engine/authz"
	"github.com/guildhall/guildhall/engine/db"
	"github.com/guildhall/guildhall/engine/identity"
	"github.com/guildhall/guildhall/engine/secret"
)

func nowDate() string { return time.Now().UTC().Format("2006-01-02") }

func runAdmin(ctx context.Context, e env, args []string) error {
	return subcommand(ctx, e, "admin", args, map[string]func(context.Context, env, []string) error{
		"create": runAdminCreate,
	})
}

// runAdminCreate bootstraps a platform admin. The password comes from
// --password-stdin (one line) or GUILDHALL_ADMIN_PASSWORD, never a flag:
// flags show in process lists.
func runAdminCreate(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "admin create", "admin create --email EMAIL --name NAME [--password-stdin]\n\nCreates a platform admin, who signs in to the console on the platform host.\nThe password is read from standard input (--password-stdin) or GUILDHALL_ADMIN_PASSWORD.")
	load := configFlags(fs, e.getenv, "database-url", "secret-keys", "jwt-keys")
	email := fs.String("email", "", "the admin's email address")
	name := fs.String("name", "", "the admin's display name")
	fromStdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input")
	cfg, err := parseConfig(fs, args, load)
	if err != nil {
		return err
	}
	if cfg.DatabaseURL == "" {
		return usagef("DATABASE_URL is not set")
	}
	password := e.getenv("GUILDHALL_ADMIN_PASSWORD")
	if *fromStdin {
		line, err := bufio.NewReader(e.stdin).ReadString('\n')
		if err != nil && err != io.EOF {
			return fmt.Errorf("read password: %w", err)
		}
		password = strings.TrimRight(line, "\r\n")
	}
	if password == "" {
		return usagef("admin create: give the password with --password-stdin or GUILDHALL_ADMIN_PASSWORD")
	}
	pool, err := db.Open(ctx, cfg.DatabaseURL, nil)
	if err != nil {
		return err
	}
	defer pool.Close()
	svc, err := identityForCLI(cfg, pool)
	if err != nil {
		return err
	}
	a, err := svc.CreateAdmin(ctx, identity.CreateAdminParams{Email: *email, DisplayName: *name, Password: password})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "created platform admin %s (%s)\n", a.Email, a.ID)
	return nil
}

// identityForCLI builds the identity service for commands. Keys are only
// needed to seal or sign, which admin creation does not do; without
// configured ones a throwaway key stands in.
func identityForCLI(cfg Config, pool db.Beginner) (*identity.Service, error) {
	keys, jwt := cfg.SecretKeys, cfg.JWTKeys
	if len(keys) == 0 {
		keys = []secret.Key{secret.NewKey("cli")}
	}
	if len(jwt) == 0 {
		jwt = []secret.Key{secret.NewKey("cli")}
	}
	ring, err := secret.NewKeyring(keys...)
	if err != nil {
		return nil, err
	}
	az, err := authz.New()
	if err != nil {
		return nil, err
	}
	return identity.NewService(db.New(pool), az, identity.Config{Keys: ring, JWTKeys: jwt})
}

func runKeys(ctx context.Context, e env, args []string) error {
	return subcommand(ctx, e, "keys", args, map[string]func(context.Context, env, []string) error{
		"new": func(_ context.Context, e env, args []string) error {
			fs := newFlagSet(e, "keys new", "keys new [--id ID]\n\nPrints a new random key as id:base64, for GUILDHALL_SECRET_KEYS or GUILDHALL_JWT_KEYS.\nTo rotate, put the new key first and keep the old ones after it.")
			id := fs.String("id", "", "the key's id (1 to 16 of a-z, 0-9); default: k followed by the date")
			if err := parse(fs, args); err != nil {
				return err
			}
			if *id == "" {
				*id = "k" + strings.ReplaceAll(nowDate(), "-", "")
			}
			k := secret.NewKey(*id)
			if _, err := secret.NewKeyring(k); err != nil {
				return usagef("keys new: %v", err)
			}
			_, err := fmt.Fprintln(e.stdout, secret.FormatKeys(k))
			return err
		},
	})
}
