package inbox_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/db"
	"github.com/guildhall/guildhall/engine/db/dbtest"
	"github.com/guildhall/guildhall/engine/identity"
	"github.com/guildhall/guildhall/engine/identity/identitytest"
	"github.com/guildhall/guildhall/engine/inbox"
)

// instance is one server: its own listener connection, hub and HTTP
// server, on the shared database.
type instance struct {
	hub *inbox.Hub
	srv *httptest.Server
}

// tenantHeader names the tenant of a test request; the real server
// resolves it from the host.
const tenantHeader = "X-Test-Tenant"

func withTenant(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if id, err := uuid.Parse(r.Header.Get(tenantHeader)); err == nil {
			r = r.WithContext(engine.WithTenant(r.Context(), id))
		}
		next.ServeHTTP(w, r)
	})
}

// start runs an instance for b's service on pool (nil: a small pool on the
// shared test database) until the test ends. wrap, when set, wraps the
// server's listener (to shrink socket buffers).
func (b testBundle) start(t testing.TB, pool *pgxpool.Pool, cfg inbox.HubConfig, wrap func(net.Listener) net.Listener) *instance {
	t.Helper()
	if pool == nil {
		pc := dbtest.Pool(t).Config().Copy()
		pc.MaxConns = 4
		var err error
		if pool, err = pgxpool.NewWithConfig(t.Context(), pc); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(pool.Close)
	}
	log := slog.New(slog.DiscardHandler)
	l := db.NewListener(pool, log)
	hub := inbox.NewHub(b.inbox, cfg)
	hub.Subscribe(l)
	ctx, cancel := context.WithCancel(context.WithoutCancel(t.Context()))
	var wg sync.WaitGroup
	wg.Go(func() { _ = l.Run(ctx) })
	wg.Go(func() { _ = hub.Run(ctx) })
	mux := http.NewServeMux()
	mux.Handle("GET "+inbox.LivePath, inbox.LiveHandler(hub, b.ids.Service))
	srv := httptest.NewUnstartedServer(withTenant(mux))
	if wrap != nil {
		srv.Listener = wrap(srv.Listener)
	}
	srv.Start()
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		srv.Close()
	})
	select {
	case <-l.Ready():
	case <-time.After(10 * time.Second):
		t.Fatal("listener not ready")
	}
	return &instance{hub: hub, srv: srv}
}

// token signs member i in and returns an access token.
func (b testBundle) token(t testing.TB, i int) string {
	t.Helper()
	si, err := b.ids.Service.SignInWithPassword(b.ctx, identity.SignInParams{Email: b.emails[i], Password: "correct horse battery",
		Client: identity.Client{Kind: identity.KindAPI}})
	if err != nil {
		t.Fatalf("SignInWithPassword() = %v", err)
	}
	return si.Tokens.AccessToken
}

type message struct {
	Type         string              `json:"type"`
	Notification *inbox.Notification `json:"notification"`
	Unread       *int64              `json:"unread"`
}

// client is a test's live connection: a goroutine reads it into msgs
// (read deadlines would close a WebSocket), and err says why it ended.
type client struct {
	t    testing.TB
	ws   *websocket.Conn
	msgs chan []byte
	err  error // set before msgs is closed
}

func newClient(t testing.TB, ws *websocket.Conn) *client {
	c := &client{t: t, ws: ws, msgs: make(chan []byte, 1000)}
	go func() {
		defer close(c.msgs)
		for {
			_, b, err := ws.Read(context.WithoutCancel(t.Context()))
			if err != nil {
				c.err = err
				return
			}
			c.msgs <- b
		}
	}()
	t.Cleanup(func() { _ = ws.CloseNow() })
	return c
}

// dialOptions are a connection's: the tenant and token of a request.
func dialOptions(tenant uuid.UUID, token string) *websocket.DialOptions {
	h := http.Header{tenantHeader: {tenant.String()}}
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
	return &websocket.DialOptions{HTTPHeader: h}
}

// connect opens a live connection (query: "", or "after=3") and waits
// for the first heartbeat, which follows the backlog.
func (in *instance) connect(t testing.TB, tenant uuid.UUID, token, query string) (*client, []inbox.Notification) {
	t.Helper()
	url := "ws" + strings.TrimPrefix(in.srv.URL, "http") + inbox.LivePath
	if query != "" {
		url += "?" + query
	}
	ws, res, err := websocket.Dial(t.Context(), url, dialOptions(tenant, token))
	if err != nil {
		status := 0
		if res != nil {
			status = res.StatusCode
		}
		t.Fatalf("Dial() = %v (status %d)", err, status)
	}
	c := newClient(t, ws)
	var backlog []inbox.Notification
	for {
		m := c.next()
		if m.Type == "heartbeat" {
			return c, backlog
		}
		backlog = append(backlog, *m.Notification)
	}
}

// next returns the next message within 5 seconds.
func (c *client) next() message {
	c.t.Helper()
	var b []byte
	select {
	case m, ok := <-c.msgs:
		if !ok {
			c.t.Fatalf("connection closed: %v", c.err)
		}
		b = m
	case <-time.After(5 * time.Second):
		c.t.Fatal("no message within 5s")
	}
	var m message
	if json.Unmarshal(b, &m) != nil || (m.Type == "notification") != (m.Notification != nil) {
		c.t.Fatalf("message %s is not a notification or a heartbeat", b)
	}
	return m
}

// closed waits for the connection to end and returns why.
func (c *client) closed() error {
	c.t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case _, ok := <-c.msgs:
			if !ok {
				return c.err
			}
		case <-timeout:
			c.t.Fatal("connection still open after 10s")
		}
	}
}

// notifications reads until it has n notifications, skipping heartbeats.
func (c *client) notifications(n int) []inbox.Notification {
	c.t.Helper()
	var out []inbox.Notification
	for len(out) < n {
		if m := c.next(); m.Notification != nil {
			out = append(out, *m.Notification)
		}
	}
	return out
}

// quiet fails if a notification arrives within d.
func (c *client) quiet(d time.Duration) {
	c.t.Helper()
	timeout := time.After(d)
	for {
		select {
		case b, ok := <-c.msgs:
			if ok && strings.Contains(string(b), `"notification"`) {
				c.t.Fatalf("unexpected message %s", b)
			}
			if !ok {
				return
			}
		case <-timeout:
			return
		}
	}
}

func (c *client) send(v any) {
	c.t.Helper()
	b, _ := json.Marshal(v)
	if err := c.ws.Write(c.t.Context(), websocket.MessageText, b); err != nil {
		c.t.Fatalf("Write() = %v", err)
	}
}

func TestHub_LiveOnCommit(t *testing.T) {
	t.Parallel()
	b := setup(t, 2)
	in := b.start(t, nil, inbox.HubConfig{}, nil)
	c, backlog := in.connect(t, b.tenant, b.token(t, 0), "")
	if len(backlog) != 0 {
		t.Fatalf("backlog without after = %v, want none", backlog)
	}

	// Rolled back: nothing is pushed. Another member's: not to me.
	err := b.db.InTenant(b.ctx, func(tx pgx.Tx) error {
		if _, _, err := b.inbox.AddTx(b.ctx, tx, inbox.AddParams{Member: b.members[0], Kind: "like", Text: "rolled back"}); err != nil {
			return err
		}
		return errors.New("roll back")
	})
	if err == nil {
		t.Fatal("InTenant() committed")
	}
	b.add(t, inbox.AddParams{Member: b.members[1], Text: "for someone else"})
	c.quiet(300 * time.Millisecond)

	start := time.Now()
	want := b.add(t, inbox.AddParams{Member: b.members[0], Text: "committed", Link: "/posts/1", Data: map[string]any{"coins": 2}})
	got := c.notifications(1)[0]
	if d := time.Since(start); d > time.Second {
		t.Errorf("delivered %v after the commit, want within a second", d)
	}
	if got.ID != want.ID || got.Seq != 1 || got.Text != "committed" || got.Data["coins"] != float64(2) || !got.CreatedAt.Equal(want.CreatedAt) {
		t.Errorf("pushed %+v, want %+v", got, want)
	}

	// Large notifications travel by reference and are loaded.
	big := inbox.AddParams{Member: b.members[0], Text: strings.Repeat("ü", inbox.MaxText), Link: "/" + strings.Repeat("p", 1999),
		Data: map[string]any{"blob": strings.Repeat("x", 4000)}}
	want = b.add(t, big)
	if got := c.notifications(1)[0]; got.Seq != 2 || got.Text != big.Text || got.Data["blob"] != big.Data["blob"] {
		t.Errorf("large notification pushed as seq %d, text %d chars", got.Seq, len(got.Text))
	}
}

func TestHub_Resume(t *testing.T) {
	t.Parallel()
	b := setup(t, 1)
	in := b.start(t, nil, inbox.HubConfig{}, nil)
	me := b.members[0]
	for range 5 {
		b.add(t, inbox.AddParams{Member: me})
	}
	// More commit while the client connects and reads its backlog.
	const total = 60
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range total - 5 {
			b.add(t, inbox.AddParams{Member: me})
			time.Sleep(time.Millisecond)
		}
	}()
	c, backlog := in.connect(t, b.tenant, b.token(t, 0), "after=2")
	if len(backlog) == 0 || backlog[0].Seq != 3 {
		t.Fatalf("backlog starts at %v, want seq 3", seqs(backlog))
	}
	got := append(seqs(backlog), seqs(c.notifications(total-2-len(backlog)))...)
	<-done
	want := make([]int64, 0, total-2)
	for s := int64(3); s <= total; s++ {
		want = append(want, s)
	}
	if !slices.Equal(got, want) {
		t.Errorf("seqs received = %v, want 3..%d once each, in order", got, total)
	}
	c.quiet(200 * time.Millisecond)

	// A resume from the future starts from what exists; from 0, all.
	c2, backlog := in.connect(t, b.tenant, b.token(t, 0), "after=1000")
	if len(backlog) != 0 {
		t.Errorf("backlog after 1000 = %v, want none", seqs(backlog))
	}
	b.add(t, inbox.AddParams{Member: me})
	if got := c2.notifications(1)[0].Seq; got != total+1 {
		t.Errorf("next live seq = %d, want %d", got, total+1)
	}
	_, backlog = in.connect(t, b.tenant, b.token(t, 0), "after=0")
	if len(backlog) != total+1 {
		t.Errorf("backlog after 0 = %d notifications, want %d", len(backlog), total+1)
	}
}

func TestHub_TwoInstances(t *testing.T) {
	t.Parallel()
	b := setup(t, 2)
	one := b.start(t, nil, inbox.HubConfig{}, nil)
	two := b.start(t, nil, inbox.HubConfig{}, nil)
	tok0, tok1 := b.token(t, 0), b.token(t, 1)
	a1, _ := one.connect(t, b.tenant, tok0, "")
	a2, _ := two.connect(t, b.tenant, tok0, "")
	b2, _ := two.connect(t, b.tenant, tok1, "")
	n := b.add(t, inbox.AddParams{Member: b.members[0], Text: "to both of A's connections"})
	for i, c := range []*client{a1, a2} {
		if got := c.notifications(1)[0]; got.ID != n.ID {
			t.Errorf("connection %d got %s, want %s", i+1, got.ID, n.ID)
		}
	}
	m := b.add(t, inbox.AddParams{Member: b.members[1], Text: "to B"})
	if got := b2.notifications(1)[0]; got.ID != m.ID {
		t.Errorf("B got %s, want %s", got.ID, m.ID)
	}
	a1.quiet(200 * time.Millisecond)
	if one.hub.Conns() != 1 || two.hub.Conns() != 2 {
		t.Errorf("Conns() = %d, %d; want 1, 2", one.hub.Conns(), two.hub.Conns())
	}
}

func TestHub_HeartbeatAndRead(t *testing.T) {
	t.Parallel()
	b := setup(t, 1)
	in := b.start(t, nil, inbox.HubConfig{Heartbeat: 100 * time.Millisecond}, nil)
	me := b.members[0]
	b.add(t, inbox.AddParams{Member: me})
	b.add(t, inbox.AddParams{Member: me})
	c, _ := in.connect(t, b.tenant, b.token(t, 0), "")
	for i := 0; ; i++ {
		m := c.next()
		if m.Type == "heartbeat" && *m.Unread == 2 {
			break
		}
		if i > 10 {
			t.Fatalf("no heartbeat with unread 2 in %d messages", i)
		}
	}
	c.send(map[string]any{"type": "read", "up_to_seq": 1})
	for i := 0; ; i++ {
		if m := c.next(); m.Type == "heartbeat" && *m.Unread == 1 {
			break
		}
		if i > 10 {
			t.Fatal("no heartbeat with unread 1 after reading")
		}
	}
	if n, err := b.inbox.UnreadCount(b.as(me)); err != nil || n != 1 {
		t.Errorf("UnreadCount() = %d, %v; want 1", n, err)
	}
	// Unknown types are ignored; a non-JSON message closes.
	c.send(map[string]any{"type": "typing"})
	if err := c.ws.Write(t.Context(), websocket.MessageText, []byte("nope")); err != nil {
		t.Fatal(err)
	}
	if err := c.closed(); websocket.CloseStatus(err) != websocket.StatusUnsupportedData {
		t.Errorf("closed with %v, want 1003", err)
	}
}

// TestHub_ReadElsewhere: a read through the API reaches the member's live
// connections as a new unread count.
func TestHub_ReadElsewhere(t *testing.T) {
	t.Parallel()
	b := setup(t, 1)
	in := b.start(t, nil, inbox.HubConfig{}, nil)
	me := b.members[0]
	b.add(t, inbox.AddParams{Member: me})
	c, _ := in.connect(t, b.tenant, b.token(t, 0), "")
	if _, err := b.inbox.MarkAllRead(b.as(me), 1); err != nil {
		t.Fatal(err)
	}
	if m := c.next(); m.Type != "heartbeat" || *m.Unread != 0 {
		t.Errorf("message after a read = %+v, want a heartbeat with unread 0", m)
	}
}

func TestLiveHandler_Auth(t *testing.T) {
	t.Parallel()
	a := setup(t, 1)
	other := setup(t, 0)
	in := a.start(t, nil, inbox.HubConfig{AllowedOrigins: []string{"app.example"}}, nil)
	tok := a.token(t, 0)
	key, err := a.ids.Service.CreateAPIKey(a.ctx, identity.CreateAPIKeyParams{Name: "integration", Scopes: []string{"events:write"}})
	if err != nil {
		t.Fatal(err)
	}
	url := "ws" + strings.TrimPrefix(in.srv.URL, "http") + inbox.LivePath
	tests := []struct {
		name   string
		tenant uuid.UUID
		token  string
		query  string
		origin string
		status int
	}{
		{"NoToken", a.tenant, "", "", "", http.StatusUnauthorized},
		{"BadToken", a.tenant, "not-a-token", "", "", http.StatusUnauthorized},
		{"ForgedToken", a.tenant, tok[:len(tok)-2] + "xx", "", "", http.StatusUnauthorized},
		{"OtherTenant", other.tenant, tok, "", "", http.StatusUnauthorized},
		{"NoTenant", uuid.Nil, tok, "", "", http.StatusNotFound},
		{"APIKey", a.tenant, key.Token, "", "", http.StatusForbidden},
		{"BadAfter", a.tenant, tok, "after=-1", "", http.StatusUnprocessableEntity},
		{"ForeignOrigin", a.tenant, tok, "", "https://evil.example", http.StatusForbidden},
		{"QueryToken", a.tenant, "", "access_token=" + tok, "", http.StatusSwitchingProtocols},
		{"AllowedOrigin", a.tenant, tok, "", "https://app.example", http.StatusSwitchingProtocols},
		{"SameOrigin", a.tenant, tok, "", in.srv.URL, http.StatusSwitchingProtocols},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := url
			if tt.query != "" {
				u += "?" + tt.query
			}
			opts := dialOptions(tt.tenant, tt.token)
			if tt.tenant == uuid.Nil {
				opts.HTTPHeader.Del(tenantHeader)
			}
			if tt.origin != "" {
				opts.HTTPHeader.Set("Origin", tt.origin)
			}
			ws, res, err := websocket.Dial(t.Context(), u, opts)
			if ws != nil {
				defer ws.CloseNow()
			}
			if res == nil {
				t.Fatalf("Dial() = %v, no response", err)
			}
			if res.StatusCode != tt.status {
				t.Fatalf("status = %d (%v), want %d", res.StatusCode, err, tt.status)
			}
			if tt.status == http.StatusUnauthorized && res.Header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
			if tt.status >= 400 && tt.status != http.StatusForbidden && res.Header.Get("Content-Type") != "application/problem+json" {
				t.Errorf("Content-Type = %q, want a problem", res.Header.Get("Content-Type"))
			}
		})
	}
}

func TestHub_ConnLimit(t *testing.T) {
	t.Parallel()
	b := setup(t, 1)
	in := b.start(t, nil, inbox.HubConfig{MaxConnsPerMember: 2}, nil)
	tok := b.token(t, 0)
	c1, _ := in.connect(t, b.tenant, tok, "")
	in.connect(t, b.tenant, tok, "")
	url := "ws" + strings.TrimPrefix(in.srv.URL, "http") + inbox.LivePath
	_, res, err := websocket.Dial(t.Context(), url, dialOptions(b.tenant, tok))
	if res == nil || res.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("third Dial() = %v, want 429", err)
	}
	_ = c1.ws.Close(websocket.StatusNormalClosure, "")
	waitFor(t, func() bool { return in.hub.Conns() == 1 })
	in.connect(t, b.tenant, tok, "")
}

func waitFor(t testing.TB, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 15s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// smallBuffers wraps a listener so that accepted connections have tiny
// send buffers: a client that stops reading backs the server up at once.
type smallBuffers struct{ net.Listener }

func (l smallBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(4096)
	}
	return c, err
}

// burst commits n notifications of about 800 bytes each for member, in
// one transaction.
func (b testBundle) burst(t *testing.T, member uuid.UUID, n int) {
	t.Helper()
	err := b.db.InTenant(b.ctx, func(tx pgx.Tx) error {
		for i := range n {
			p := inbox.AddParams{Member: member, Kind: "comment", Text: strconv.Itoa(i) + strings.Repeat("ö", 400)}
			if _, _, err := b.inbox.AddTx(b.ctx, tx, p); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// dialSlow connects to in with a small receive buffer, for clients that
// stop reading.
func dialSlow(t *testing.T, in *instance, tenant uuid.UUID, token string) *websocket.Conn {
	t.Helper()
	url := "ws" + strings.TrimPrefix(in.srv.URL, "http") + inbox.LivePath
	opts := dialOptions(tenant, token)
	opts.HTTPClient = &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetReadBuffer(4096)
		}
		return c, err
	}}}
	ws, _, err := websocket.Dial(t.Context(), url, opts)
	if err != nil {
		t.Fatal(err)
	}
	return ws
}

func TestHub_SlowConsumer(t *testing.T) {
	t.Parallel()
	b := setup(t, 1)
	in := b.start(t, nil, inbox.HubConfig{SendQueue: 4, WriteTimeout: time.Second},
		func(l net.Listener) net.Listener { return smallBuffers{l} })
	ws := dialSlow(t, in, b.tenant, b.token(t, 0))
	defer ws.CloseNow()
	waitFor(t, func() bool { return in.hub.Conns() == 1 })
	time.Sleep(200 * time.Millisecond) // the first catch-up

	// The client reads nothing while a burst arrives in one commit.
	b.burst(t, b.members[0], 200)
	waitFor(t, func() bool { return in.hub.Conns() == 0 })
	// The client finds its connection closed after what was buffered.
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	n := 0
	for {
		_, _, err := ws.Read(ctx)
		if err != nil {
			if ctx.Err() != nil {
				t.Fatalf("connection still open after %d messages", n)
			}
			if s := websocket.CloseStatus(err); s != -1 && s != websocket.StatusPolicyViolation {
				t.Errorf("closed with %v, want 1008 or a dropped connection", err)
			}
			break
		}
		n++
	}
	if n >= 200 {
		t.Errorf("read all %d messages: the client was not slow", n)
	}
}

// TestHub_WriteTimeout: a client that stops reading while its queue has
// room still cannot hold a writer forever: the write that blocks past
// WriteTimeout drops the connection.
func TestHub_WriteTimeout(t *testing.T) {
	t.Parallel()
	b := setup(t, 1)
	in := b.start(t, nil, inbox.HubConfig{SendQueue: 10000, WriteTimeout: 300 * time.Millisecond},
		func(l net.Listener) net.Listener { return smallBuffers{l} })
	ws := dialSlow(t, in, b.tenant, b.token(t, 0))
	defer ws.CloseNow()
	waitFor(t, func() bool { return in.hub.Conns() == 1 })
	time.Sleep(200 * time.Millisecond) // the first catch-up

	// Far more than the sockets' buffers hold, far less than the queue.
	start := time.Now()
	b.burst(t, b.members[0], 300)
	waitFor(t, func() bool { return in.hub.Conns() == 0 })
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Errorf("dropped after %v, before the write timeout", d)
	}
}

// TestHub_ListenerResync: notifications committed while the listener's
// connection is down reach the client after it reconnects (the hub
// catches up from the database).
func TestHub_ListenerResync(t *testing.T) {
	t.Parallel()
	d := dbtest.NewDatabase(t)
	tenant := uuid.Must(uuid.NewV7())
	ctx := engine.WithTenant(t.Context(), tenant)
	err := db.New(d.App).InTenant(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO tenants (id, slug, name, kind, time_zone, currency, plugins)
			VALUES ($1, $2, 'Resync', 'social', 'UTC', 'EUR', '{social}')`, tenant, dbtest.RandomSlug())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	b := bundleOn(t, d.App, ctx, tenant, 1)
	in := b.start(t, d.App, inbox.HubConfig{}, nil)
	c, _ := in.connect(t, b.tenant, b.token(t, 0), "")
	b.add(t, inbox.AddParams{Member: b.members[0], Text: "before"})
	if got := c.notifications(1)[0].Seq; got != 1 {
		t.Fatalf("first seq = %d", got)
	}

	admin, err := pgx.ConnectConfig(t.Context(), dbtest.AdminConfig(t).ConnConfig)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(context.WithoutCancel(t.Context()))
	var killed int
	// OFFSET 0 keeps the filter apart: PostgreSQL could otherwise call
	// pg_terminate_backend on rows of other databases before filtering.
	if err := admin.QueryRow(t.Context(), `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM (
		SELECT pid FROM pg_stat_activity WHERE datname = $1 AND query LIKE 'LISTEN%' OFFSET 0) s`, d.Name).Scan(&killed); err != nil || killed != 1 {
		t.Fatalf("terminated %d listener connections (%v), want 1", killed, err)
	}
	for i := range 5 {
		b.add(t, inbox.AddParams{Member: b.members[0], Text: fmt.Sprintf("while away %d", i)})
	}
	got := seqs(c.notifications(5))
	if !slices.Equal(got, []int64{2, 3, 4, 5, 6}) {
		t.Errorf("seqs after the listener reconnected = %v, want 2..6", got)
	}
	b.add(t, inbox.AddParams{Member: b.members[0], Text: "after"})
	if got := c.notifications(1)[0].Seq; got != 7 {
		t.Errorf("seq after = %d, want 7", got)
	}
	c.quiet(200 * time.Millisecond)
}

// bundleOn is setup on another database's pool, for a tenant that exists
// there.
func bundleOn(t testing.TB, pool *pgxpool.Pool, ctx context.Context, tenant uuid.UUID, n int) testBundle {
	t.Helper()
	d := db.New(pool)
	b := testBundle{ctx: ctx, tenant: tenant, db: d}
	b.ids = identitytest.New(t, d, identity.Config{})
	b.clock = b.ids.Clock
	b.inbox = inbox.NewService(d, inbox.Config{Now: b.clock.Now})
	for i := range n {
		email := fmt.Sprintf("m%d@example.com", i)
		b.members = append(b.members, b.member(t, email))
		b.emails = append(b.emails, email)
	}
	return b
}

// TestHub_SessionEnded: a connection ends within a heartbeat of its
// session: signed out, its member banned, or expired. Others stay open.
func TestHub_SessionEnded(t *testing.T) {
	t.Parallel()
	b := setup(t, 4)
	in := b.start(t, nil, inbox.HubConfig{Heartbeat: 100 * time.Millisecond, Sessions: b.ids.Service}, nil)
	tokens := make([]string, 4)
	conns := make([]*client, 4)
	for i := range conns {
		tokens[i] = b.token(t, i)
		conns[i], _ = in.connect(t, b.tenant, tokens[i], "")
	}
	// Member 0 signs out (the session of that token).
	p, err := b.ids.Service.AuthenticateBearer(b.ctx, tokens[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := b.ids.Service.SignOut(engine.WithPrincipal(b.ctx, p)); err != nil {
		t.Fatal(err)
	}
	if err := conns[0].closed(); websocket.CloseStatus(err) != inbox.StatusSessionEnded {
		t.Errorf("signed-out connection closed with %v, want %d", err, inbox.StatusSessionEnded)
	}
	// Member 1 is banned.
	staff := engine.WithPrincipal(b.ctx, engine.Principal{Kind: engine.PrincipalPlatform, Name: "platform_admin:test"})
	if _, err := b.ids.Service.Ban(staff, b.members[1], "spam"); err != nil {
		t.Fatal(err)
	}
	if err := conns[1].closed(); websocket.CloseStatus(err) != inbox.StatusSessionEnded {
		t.Errorf("banned member's connection closed with %v, want %d", err, inbox.StatusSessionEnded)
	}
	// Members 2 and 3 are still served live.
	for i := 2; i < 4; i++ {
		n := b.add(t, inbox.AddParams{Member: b.members[i]})
		if got := conns[i].notifications(1); got[0].Seq != n.Seq {
			t.Errorf("member %d got %+v after the others ended, want seq %d", i, got, n.Seq)
		}
	}
	// Past every session's lifetime the rest end too.
	b.clock.Advance(100 * 24 * time.Hour)
	for i := 2; i < 4; i++ {
		if err := conns[i].closed(); websocket.CloseStatus(err) != inbox.StatusSessionEnded {
			t.Errorf("expired session's connection closed with %v, want %d", err, inbox.StatusSessionEnded)
		}
	}
}
