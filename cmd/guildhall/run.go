package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
)

// env is what a command may touch of the process.
type env struct {
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

// command is one subcommand.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, e env, args []string) error
}

func commands() []command {
	return []command{
		{"serve", "serve the API, console and web app (production)", runServe},
		{"dev", "set up a local database, seed demo tenants and serve (development)", runDev},
		{"migrate", "apply or inspect database migrations (up, status)", runMigrate},
		{"tenant", "manage tenants (create, list, show, update)", runTenant},
		{"admin", "manage platform admins (create)", runAdmin},
		{"ledger", "check the coin ledger (verify)", runLedger},
		{"bench", "measure awards through the API against the one-call reference (awards)", runBench},
		{"keys", "make keys for GUILDHALL_SECRET_KEYS and GUILDHALL_JWT_KEYS (new)", runKeys},
		{"openapi", "print the OpenAPI document", runOpenAPI},
		{"version", "print the version", runVersion},
	}
}

// run is the whole program: main only adds the process around it.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	e := env{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		printUsage(stdout)
		if len(args) == 0 {
			return usagef("no command given (try guildhall --help)")
		}
		return nil
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, e, args[1:])
		}
	}
	return usagef("unknown command %q (try guildhall --help)", args[0])
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "Guildhall runs many branded online communities from one engine.")
	fmt.Fprintln(w, "\nUsage: guildhall <command> [flags]\n\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun guildhall <command> --help for a command's flags.")
}

// newFlagSet returns a flag set whose usage goes to stdout and that reports
// errors instead of exiting.
func newFlagSet(e env, name, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {
		fmt.Fprintf(e.stdout, "Usage: guildhall %s\n\n", usage)
		fs.SetOutput(e.stdout)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	return fs
}

// parse parses args, showing usage for --help and turning flag errors into
// usage errors.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.Usage()
			return errHelp
		}
		return usagef("%s: %v", fs.Name(), err)
	}
	return nil
}

// parseConfig parses args, then builds the Config from the settings load
// was registered for.
func parseConfig(fs *flag.FlagSet, args []string, load func() (Config, error)) (Config, error) {
	if err := parse(fs, args); err != nil {
		return Config{}, err
	}
	return load()
}

// subcommand dispatches to one of subs by the first argument.
func subcommand(ctx context.Context, e env, name string, args []string, subs map[string]func(context.Context, env, []string) error) error {
	names := make([]string, 0, len(subs))
	for n := range subs {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintf(e.stdout, "Usage: guildhall %s <%s> [flags]\n\nRun guildhall %s <subcommand> --help for its flags.\n", name, strings.Join(names, "|"), name)
		if len(args) == 0 {
			return usagef("%s: no subcommand given (want one of: %s)", name, strings.Join(names, ", "))
		}
		return nil
	}
	fn, ok := subs[args[0]]
	if !ok {
		return usagef("%s: unknown subcommand %q (want one of: %s)", name, args[0], strings.Join(names, ", "))
	}
	return fn(ctx, e, args[1:])
}
