package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/guildhall/guildhall/engine/secret"
)

func runOpenAPI(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "openapi", "openapi [--format yaml|json]\n\nPrints the OpenAPI 3.1 document of the REST API (openapi/openapi.yaml is this output).")
	format := fs.String("format", "yaml", "yaml or json")
	if err := parse(fs, args); err != nil {
		return err
	}
	b, err := openAPIDocument(*format)
	if err != nil {
		return err
	}
	_, err = e.stdout.Write(b)
	return err
}

// openAPIDocument builds the API without a database and renders its
// document.
func openAPIDocument(format string) ([]byte, error) {
	cfg := Config{SecretKeys: []secret.Key{secret.NewKey("doc")}, JWTKeys: []secret.Key{secret.NewKey("doc")}}
	a, err := newApp(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if err != nil {
		return nil, err
	}
	switch format {
	case "yaml":
		return a.api.OpenAPI().YAML()
	case "json":
		b, err := a.api.OpenAPI().MarshalJSON()
		return append(b, '\n'), err
	}
	return nil, usagef("openapi: invalid --format %q: want yaml or json", format)
}

func runVersion(_ context.Context, e env, args []string) error {
	fs := newFlagSet(e, "version", "version\n\nPrints the version of this binary.")
	if err := parse(fs, args); err != nil {
		return err
	}
	_, err := fmt.Fprintln(e.stdout, "guildhall "+appVersion())
	return err
}
