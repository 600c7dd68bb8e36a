// Command guildhall runs Guildhall: the server, its development mode, the
// database migrations and the tenant registry's command line.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	_ "time/tzdata" // tenant time zones must resolve on machines without zoneinfo

	"github.com/guildhall/guildhall/engine"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(report(err, os.Stderr))
}

// usageError is bad input on the command line or in the environment: it is
// printed as one line and the exit code is 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{msg: fmt.Sprintf(format, args...)} }

// report prints err (one line) and returns the exit code: 0 on success, 2 for
// bad input (usage, configuration, an invalid value), 1 for anything else.
func report(err error, stderr io.Writer) int {
	if err == nil || errors.Is(err, errHelp) {
		return 0
	}
	if ue, ok := errors.AsType[*usageError](err); ok {
		fmt.Fprintf(stderr, "guildhall: %s\n", ue.msg)
		return 2
	}
	if ee, ok := errors.AsType[*engine.Error](err); ok {
		fmt.Fprintf(stderr, "guildhall: %s\n", cliMessage(ee))
		if ee.Code == engine.CodeInvalid {
			return 2
		}
		return 1
	}
	fmt.Fprintf(stderr, "guildhall: %s\n", oneLine(err.Error()))
	return 1
}

// oneLine folds a multi-line error (pgx lists every address it tried) onto
// one line.
func oneLine(s string) string {
	lines := strings.FieldsFunc(s, func(r rune) bool { return r == '\n' })
	for i, l := range lines {
		lines[i] = strings.TrimSpace(l)
	}
	return strings.Join(lines, " ")
}

// cliMessage renders an engine error on one line, with every field problem.
func cliMessage(e *engine.Error) string {
	msg := e.Message
	if len(e.Fields) > 0 {
		msg = ""
		for i, f := range e.Fields {
			if i > 0 {
				msg += "; "
			}
			msg += f.Field + " " + f.Message
		}
	}
	return msg
}
