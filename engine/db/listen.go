package db

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Notification is delivered to a Listener's subscribers. Resync is true
// (with an empty Payload) right after the listener (re)connects: anything
// sent while it was disconnected is lost, so a subscriber reloads its state.
type Notification struct {
	Channel string
	Payload string
	Resync  bool
}

// Listener holds one connection that LISTENs on the subscribed channels and
// hands each notification to the channel's subscribers, in order, on one
// goroutine. It reconnects with backoff when the connection drops. It is how
// in-memory snapshots (the tenant registry, later membership and flags) stay
// current on every server instance.
type Listener struct {
	pool *pgxpool.Pool
	log  *slog.Logger

	mu    sync.Mutex
	subs  map[string][]func(context.Context, Notification)
	ready chan struct{}
	once  sync.Once
}

// NewListener returns a Listener that takes its connection from pool.
func NewListener(pool *pgxpool.Pool, log *slog.Logger) *Listener {
	return &Listener{pool: pool, log: log, subs: map[string][]func(context.Context, Notification){}, ready: make(chan struct{})}
}

// Subscribe registers fn for channel. Call it before Run.
func (l *Listener) Subscribe(channel string, fn func(context.Context, Notification)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.subs[channel] = append(l.subs[channel], fn)
}

// Ready is closed once the listener is first listening on every channel.
func (l *Listener) Ready() <-chan struct{} { return l.ready }

// Run listens until ctx is done. It returns nil on cancellation.
func (l *Listener) Run(ctx context.Context) error {
	backoff := 100 * time.Millisecond
	for {
		err := l.listen(ctx)
		if ctx.Err() != nil {
			return nil
		}
		l.log.WarnContext(ctx, "notification listener disconnected", "error", err, "retry_in", backoff)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 10*time.Second)
	}
}

func (l *Listener) listen(ctx context.Context) error {
	pooled, err := l.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("acquire listener connection: %w", err)
	}
	// The connection will carry LISTEN state: take it out of the pool for
	// good and close it when done.
	conn := pooled.Hijack()
	defer conn.Close(context.WithoutCancel(ctx))

	l.mu.Lock()
	channels := make([]string, 0, len(l.subs))
	for ch := range l.subs {
		channels = append(channels, ch)
	}
	l.mu.Unlock()
	for _, ch := range channels {
		if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{ch}.Sanitize()); err != nil {
			return fmt.Errorf("listen %s: %w", ch, err)
		}
	}
	l.once.Do(func() { close(l.ready) })
	for _, ch := range channels {
		l.dispatch(ctx, Notification{Channel: ch, Resync: true})
	}
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			if errors.Is(err, context.Canceled) {
				return nil
			}
			return fmt.Errorf("wait for notification: %w", err)
		}
		l.dispatch(ctx, Notification{Channel: n.Channel, Payload: n.Payload})
	}
}

func (l *Listener) dispatch(ctx context.Context, n Notification) {
	l.mu.Lock()
	subs := l.subs[n.Channel]
	l.mu.Unlock()
	for _, fn := range subs {
		fn(ctx, n)
	}
}
