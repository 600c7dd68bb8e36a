package db

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/guildhall/guildhall/engine"
)

// Beginner is anything that can begin a transaction: a *pgxpool.Pool, a
// *pgx.Conn, or a pgx.Tx (which begins a savepoint, as tests use).
type Beginner interface {
	Begin(ctx context.Context) (pgx.Tx, error)
}

// txBeginner can begin with options. Pools and connections can; then the
// tenant is set in the same network round trip as BEGIN.
type txBeginner interface {
	BeginTx(ctx context.Context, opts pgx.TxOptions) (pgx.Tx, error)
}

// ErrNoTenant is returned by InTenant when the context carries no tenant.
var ErrNoTenant = &engine.Error{Code: engine.CodeNotFound, Message: "There is no community at this address."}

// MaxAttempts is how many times InTenant and InPlatform run a callback whose
// transaction hit a serialization failure or a deadlock.
const MaxAttempts = 5

// DB runs callbacks in tenant-scoped or platform transactions.
type DB struct {
	b Beginner
}

// New returns a DB over b.
func New(b Beginner) *DB { return &DB{b: b} }

// InTenant runs fn in a transaction scoped to the tenant in ctx and commits
// when fn returns nil. fn may be called again (up to MaxAttempts) when the
// transaction fails with a serialization failure or a deadlock.
//
// Errors: ErrNoTenant (not_found) when ctx has no tenant; whatever fn returns.
func (d *DB) InTenant(ctx context.Context, fn func(pgx.Tx) error) error {
	id, ok := engine.TenantFrom(ctx)
	if !ok {
		return ErrNoTenant
	}
	return d.run(ctx, id, fn)
}

// InPlatform runs fn in a transaction with no tenant set. Registry tables are
// readable and writable; every tenant table reads as empty and refuses writes.
// It is for work that spans tenants: resolving the tenant of a request,
// listing tenants, and jobs that then visit each tenant through InTenant.
func (d *DB) InPlatform(ctx context.Context, fn func(pgx.Tx) error) error {
	return d.run(ctx, uuid.Nil, fn)
}

func (d *DB) run(ctx context.Context, tenant uuid.UUID, fn func(pgx.Tx) error) error {
	var err error
	for attempt := 1; ; attempt++ {
		err = d.once(ctx, tenant, fn)
		if err == nil || !retryable(err) || attempt == MaxAttempts {
			return err
		}
		// Back off a little, with jitter, before running fn again.
		wait := time.Duration(attempt*attempt) * time.Millisecond * time.Duration(1+rand.IntN(5))
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(wait):
		}
	}
}

func (d *DB) once(ctx context.Context, tenant uuid.UUID, fn func(pgx.Tx) error) (err error) {
	tx, err := d.begin(ctx, tenant)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			// Roll back even when ctx is cancelled, so the connection goes
			// back to the pool clean.
			_ = tx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	if err = fn(tx); err != nil {
		return err
	}
	if err = tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// begin opens the transaction and sets (or clears) the tenant. On a pool or
// a connection both go in one round trip, as one simple-protocol query:
// "BEGIN; SET LOCAL app.tenant_id = '<uuid>'". SET LOCAL is the statement
// form of set_config('app.tenant_id', v, true) — the same transaction-local
// setting — but PostgreSQL runs it without planning a SELECT, which keeps the
// tenant set-up within a few percent of a plain transaction (see
// BenchmarkTenantTransaction). The value is a UUID we formatted (or empty),
// so the literal needs no escaping. Nested in another transaction (tests),
// it is a savepoint plus set_config with a parameter.
func (d *DB) begin(ctx context.Context, tenant uuid.UUID) (pgx.Tx, error) {
	value := ""
	if tenant != uuid.Nil {
		value = tenant.String()
	}
	if b, ok := d.b.(txBeginner); ok {
		tx, err := b.BeginTx(ctx, pgx.TxOptions{
			BeginQuery: "BEGIN; SET LOCAL app.tenant_id = '" + value + "'",
		})
		if err != nil {
			return nil, fmt.Errorf("begin tenant transaction: %w", err)
		}
		return tx, nil
	}
	tx, err := d.b.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("begin tenant transaction: %w", err)
	}
	if _, err := tx.Exec(ctx, "SELECT set_config('app.tenant_id', $1, true)", value); err != nil {
		_ = tx.Rollback(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("set tenant: %w", err)
	}
	return tx, nil
}

// PostgreSQL error codes the engine maps.
const (
	codeSerializationFailure = "40001"
	codeDeadlockDetected     = "40P01"
	CodeUniqueViolation      = "23505"
	CodeForeignKeyViolation  = "23503"
	CodeCheckViolation       = "23514"
	CodeInsufficientPriv     = "42501"
)

func retryable(err error) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return false
	}
	return pgErr.Code == codeSerializationFailure || pgErr.Code == codeDeadlockDetected
}

// Constraint returns the name of the constraint err violated and the
// PostgreSQL error code, or "", "" when err is not a constraint violation.
// Store functions map named constraints to engine errors with it.
func Constraint(err error) (name, code string) {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.ConstraintName == "" {
		return "", ""
	}
	return pgErr.ConstraintName, pgErr.Code
}

// batchSender can send a pipeline of queries: pools, connections and
// transactions can.
type batchSender interface {
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// InTenantBatch runs the queries of b for the tenant in ctx in one network
// round trip: the tenant setting goes first in the same pipeline, and the
// whole pipeline runs as one implicit transaction (all or nothing). read
// gets the results of b's queries, in order. It is the fast path for a
// write that is one SQL call (an award); it retries like InTenant, so read
// must only read.
//
// Errors: ErrNoTenant; whatever the queries or read return.
func (d *DB) InTenantBatch(ctx context.Context, b *pgx.Batch, read func(pgx.BatchResults) error) error {
	id, ok := engine.TenantFrom(ctx)
	if !ok {
		return ErrNoTenant
	}
	sender, ok := d.b.(batchSender)
	if !ok {
		return fmt.Errorf("InTenantBatch: %T cannot send batches", d.b)
	}
	full := &pgx.Batch{}
	full.Queue("SELECT set_config('app.tenant_id', $1, true)", id.String())
	full.QueuedQueries = append(full.QueuedQueries, b.QueuedQueries...)
	var err error
	for attempt := 1; ; attempt++ {
		err = func() error {
			br := sender.SendBatch(ctx, full)
			if _, err := br.Exec(); err != nil {
				_ = br.Close()
				return fmt.Errorf("set tenant: %w", err)
			}
			if err := read(br); err != nil {
				_ = br.Close()
				return err
			}
			return br.Close()
		}()
		if err == nil || !retryable(err) || attempt == MaxAttempts {
			return err
		}
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(time.Duration(attempt*attempt) * time.Millisecond * time.Duration(1+rand.IntN(5))):
		}
	}
}
