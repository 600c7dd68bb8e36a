package db_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/guildhall/guildhall/engine/db"
	"github.com/guildhall/guildhall/engine/db/dbtest"
)

func TestListener(t *testing.T) {
	t.Parallel()
	d := dbtest.NewDatabase(t)
	l := db.NewListener(d.App, slog.New(slog.NewTextHandler(io.Discard, nil)))
	got := make(chan db.Notification, 10)
	l.Subscribe("test_channel", func(_ context.Context, n db.Notification) { got <- n })
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- l.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run() = %v", err)
		}
	})

	next := func() db.Notification {
		t.Helper()
		select {
		case n := <-got:
			return n
		case <-time.After(5 * time.Second):
			t.Fatal("no notification within 5s")
			return db.Notification{}
		}
	}
	if n := next(); !n.Resync || n.Channel != "test_channel" {
		t.Errorf("first notification = %+v, want a resync", n)
	}
	if _, err := d.App.Exec(t.Context(), "SELECT pg_notify('test_channel', 'hello')"); err != nil {
		t.Fatal(err)
	}
	if n := next(); n.Payload != "hello" || n.Resync {
		t.Errorf("notification = %+v, want payload hello", n)
	}

	// Kill the listening connection: the listener reconnects and resyncs.
	admin, err := pgx.ConnectConfig(t.Context(), dbtest.AdminConfig(t).ConnConfig)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(t.Context())
	var killed int
	if err := admin.QueryRow(t.Context(), `SELECT count(*) FROM pg_stat_activity
		WHERE datname = $1 AND query LIKE 'LISTEN%' AND pg_terminate_backend(pid)`, d.Name).Scan(&killed); err != nil || killed != 1 {
		t.Fatalf("terminated %d listener connections (%v), want 1", killed, err)
	}
	if n := next(); !n.Resync {
		t.Errorf("notification after reconnect = %+v, want a resync", n)
	}
	if _, err := d.App.Exec(t.Context(), "SELECT pg_notify('test_channel', 'again')"); err != nil {
		t.Fatal(err)
	}
	if n := next(); n.Payload != "again" {
		t.Errorf("notification = %+v, want payload again", n)
	}
}
