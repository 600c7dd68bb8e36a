// Package migrations ships Guildhall's ordered SQL migrations inside the
// binary. Files are named NNNN_short_name.sql, numbered from 0001 without
// gaps, and are never edited once merged: a change is a new file.
//
// Every migration runs as the owner role, which owns every table. The
// application role guildhall_app, which the server uses, receives only the
// DML grants each migration gives it explicitly.
package migrations

import "embed"

// FS holds the migration files.
//
//go:embed *.sql
var FS embed.FS
