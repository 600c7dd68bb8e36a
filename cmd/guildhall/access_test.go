package main

import (
	"io"
	"log/slog"
	"slices"
	"sort"
	"testing"

	"github.com/danielgtaylor/huma/v2"

	"github.com/guildhall/guildhall/engine/api"
	"github.com/guildhall/guildhall/engine/authz"
	"github.com/guildhall/guildhall/engine/secret"
)

// publicOperations may be called without credentials; every other operation
// must declare a permission the policy knows (or platform).
var publicOperations = []string{
	"complete-mfa", "get-current-tenant", "list-event-types", "refresh-session", "request-code", "reset-password",
	"sign-in", "sign-in-with-code", "sign-up", "verify-email",
}

func TestEveryOperationDeclaresAccess(t *testing.T) {
	t.Parallel()
	a, err := newApp(Config{SecretKeys: []secret.Key{secret.NewKey("t")}, JWTKeys: []secret.Key{secret.NewKey("t")}},
		slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	az, err := authz.New()
	if err != nil {
		t.Fatal(err)
	}
	known := append(az.Permissions(), "platform")
	var public []string
	n := 0
	for path, item := range a.api.OpenAPI().Paths {
		for _, op := range []*huma.Operation{item.Get, item.Post, item.Put, item.Patch, item.Delete} {
			if op == nil {
				continue
			}
			n++
			acc, ok := op.Metadata[api.MetaAccess].(api.Access)
			switch {
			case !ok:
				t.Errorf("%s %s (%s) declares no access", op.Method, path, op.OperationID)
			case acc.Permission == "public":
				public = append(public, op.OperationID)
			case !slices.Contains(known, acc.Permission):
				t.Errorf("%s declares permission %q, which no role holds", op.OperationID, acc.Permission)
			case len(op.Security) == 0:
				t.Errorf("%s needs %s but documents no security scheme", op.OperationID, acc.Permission)
			}
		}
	}
	sort.Strings(public)
	if !slices.Equal(public, publicOperations) {
		t.Errorf("public operations = %v, want exactly %v", public, publicOperations)
	}
	if n < 30 {
		t.Errorf("only %d operations found", n)
	}
}
