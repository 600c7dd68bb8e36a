package inbox

import (
	"cmp"
	"context"
	"encoding/json"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/api"
	"github.com/guildhall/guildhall/engine/db"
)

// HubConfig configures a Hub. Zero values take the defaults.
type HubConfig struct {
	// Heartbeat is how often every connection gets {"type":"heartbeat",
	// "unread":N} (default 25s: under the idle timeouts of common proxies).
	Heartbeat time.Duration
	// MaxConnsPerMember bounds one member's connections on this server
	// (default 10); one more is answered 429.
	MaxConnsPerMember int
	// SendQueue is how many messages may wait for a connection's writer
	// (default 256). A client that lets more pile up is too slow: its
	// connection is closed (1008, policy violation) and it resumes with
	// after=<last seq> when it reconnects.
	SendQueue int
	// WriteTimeout bounds one write to a client (default 10s); a client
	// that takes longer is disconnected (within a quarter more: one
	// watchdog checks every connection's write, no timer per write).
	WriteTimeout time.Duration
	// AllowedOrigins are host patterns (path.Match, as in
	// websocket.AcceptOptions.OriginPatterns) of other origins whose pages
	// may connect. The request's own host is always allowed, and clients
	// that send no Origin (apps, servers) are not checked.
	AllowedOrigins []string
	// Sessions, when set, is asked at every heartbeat which of the
	// connections' sessions have ended (signed out, revoked, expired, the
	// member banned): those connections are closed with StatusSessionEnded.
	// Without it a connection lives until the client leaves.
	Sessions SessionChecker
	// Log receives connection trouble (default: discarded).
	Log *slog.Logger
}

// SessionChecker tells which sessions of the tenant in ctx may no longer
// be used (identity.Service does).
type SessionChecker interface {
	EndedSessions(ctx context.Context, sessions []uuid.UUID) ([]uuid.UUID, error)
}

// StatusSessionEnded closes a connection whose session has ended: the
// client should not reconnect until it has signed in again.
const StatusSessionEnded websocket.StatusCode = 4401

func (c *HubConfig) defaults() {
	if c.Heartbeat <= 0 {
		c.Heartbeat = 25 * time.Second
	}
	if c.MaxConnsPerMember <= 0 {
		c.MaxConnsPerMember = 10
	}
	if c.SendQueue <= 0 {
		c.SendQueue = 256
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = 10 * time.Second
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
}

// Hub keeps this server's live connections by (tenant, member) and pushes
// each committed notification to the member's connections. Every server
// runs one: the inbox channel (LISTEN/NOTIFY, through a db.Listener) tells
// each of them about every commit, and each delivers to its own
// connections. See the package documentation for its guarantees.
//
// Memory: an idle connection holds one goroutine (its reader, parked in
// the network poller), the WebSocket's buffers and a small struct. Writers
// run only while a connection has something to send, heartbeats share one
// ticker, and nothing keeps a timer per connection.
type Hub struct {
	svc *Service
	cfg HubConfig

	mu      sync.RWMutex
	members map[memberKey][]*conn
	count   int
	stopped bool
	readers sync.WaitGroup
}

type memberKey struct{ tenant, member uuid.UUID }

// NewHub returns a hub that loads what it must from s.
func NewHub(s *Service, cfg HubConfig) *Hub {
	cfg.defaults()
	return &Hub{svc: s, cfg: cfg, members: map[memberKey][]*conn{}}
}

// Subscribe makes l deliver the inbox channel to the hub. Call it before
// l.Run.
func (h *Hub) Subscribe(l *db.Listener) { l.Subscribe(channel, h.notify) }

// Run sends the heartbeats until ctx is done, then closes every connection
// (1001, going away: clients reconnect, to another server) and returns
// once their readers have ended.
func (h *Hub) Run(ctx context.Context) error {
	t := time.NewTicker(h.cfg.Heartbeat)
	defer t.Stop()
	w := time.NewTicker(h.cfg.WriteTimeout / 4)
	defer w.Stop()
	for {
		select {
		case <-ctx.Done():
			h.stop()
			return nil
		case <-t.C:
			h.heartbeat(ctx)
		case now := <-w.C:
			h.stuckWrites(ctx, now)
		}
	}
}

// stuckWrites drops the connections whose write under way began more
// than WriteTimeout before now: their writes fail, and their writers shut
// them. It runs every quarter of WriteTimeout, so a stuck write ends
// within 1.25 × WriteTimeout.
func (h *Hub) stuckWrites(ctx context.Context, now time.Time) {
	limit := now.Add(-h.cfg.WriteTimeout).UnixNano()
	var stuck []*conn
	h.mu.RLock()
	for _, cs := range h.members {
		for _, c := range cs {
			if since := c.writeSince.Load(); since != 0 && since < limit {
				stuck = append(stuck, c)
			}
		}
	}
	h.mu.RUnlock()
	for _, c := range stuck {
		h.cfg.Log.WarnContext(ctx, "inbox write timed out: connection dropped", "tenant_id", c.key.tenant, "member_id", c.key.member)
		_ = c.ws.CloseNow()
	}
}

// Conns returns how many connections the hub holds.
func (h *Hub) Conns() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.count
}

// Errors Serve answers before upgrading.
var (
	ErrTooManyConns = &engine.Error{Code: engine.CodeRateLimited, Message: "Too many live connections for this account; close one first."}
	ErrStopping     = &engine.Error{Code: engine.CodeUnavailable, Message: "This server is shutting down; connect again."}
	errBadAfter     = engine.Invalid([]engine.FieldError{{Field: "after", Message: "must be a whole number, 0 or more: the seq of the last notification the client has"}})
)

// maxClientMessage is the largest message a client may send.
const maxClientMessage = 1024

// Serve upgrades r, whose sender is already authenticated as member of
// tenant (the API's access token, the web app's session cookie), to a
// WebSocket connection that the hub then serves, and returns. The query
// parameter after=<seq> asks first for every stored notification with a
// higher seq, in order, then the live ones; without it only notifications
// committed from now on are sent. Before upgrading it answers problems: 422
// (a bad after), 429 (ErrTooManyConns), 503 (ErrStopping), and 403 for a
// cross-origin request from an origin not allowed.
//
// The connection outlives r: it ends when the client leaves, when it is
// too slow (SendQueue, WriteTimeout), or when Run ends.
func (h *Hub) Serve(w http.ResponseWriter, r *http.Request, tenant, member, session uuid.UUID) {
	after := int64(-1)
	if v := r.URL.Query().Get("after"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			api.WriteProblem(w, r, 0, errBadAfter)
			return
		}
		after = n
	}
	// Registered before the upgrade, so nothing committed from here on is
	// missed; until the first catch-up is done, live notifications wait
	// in pending and no writer may start (writing).
	c := &conn{hub: h, key: memberKey{tenant, member}, session: session, sent: after, fresh: true, syncing: true, writing: true}
	if err := h.add(c); err != nil {
		api.WriteProblem(w, r, 0, err)
		return
	}
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		OriginPatterns:  h.cfg.AllowedOrigins,
		CompressionMode: websocket.CompressionDisabled,
	})
	if err != nil {
		// Accept has answered (400, 403, 426).
		h.remove(c)
		return
	}
	ws.SetReadLimit(maxClientMessage)
	c.mu.Lock()
	c.ws = ws
	closed := c.closed
	c.mu.Unlock()
	if closed {
		// The hub stopped meanwhile.
		_ = ws.Close(websocket.StatusGoingAway, "server shutting down")
		h.remove(c)
		return
	}
	// r's context ends with this handler (and has the request's timeout):
	// the connection keeps only its values, for logs.
	ctx := context.WithoutCancel(r.Context())
	go c.read(ctx)
	go c.drain(ctx)
}

func (h *Hub) add(c *conn) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.stopped {
		return ErrStopping
	}
	cs := h.members[c.key]
	if len(cs) >= h.cfg.MaxConnsPerMember {
		return ErrTooManyConns
	}
	h.members[c.key] = append(cs, c)
	h.count++
	h.readers.Add(1)
	return nil
}

// remove forgets c; it is idempotent.
func (h *Hub) remove(c *conn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	cs := h.members[c.key]
	i := slices.Index(cs, c)
	if i < 0 {
		return
	}
	if len(cs) == 1 {
		delete(h.members, c.key)
	} else {
		h.members[c.key] = slices.Delete(cs, i, i+1)
	}
	h.count--
	h.readers.Done()
}

// stop refuses new connections, closes every connection and waits for
// their readers to end.
func (h *Hub) stop() {
	h.mu.Lock()
	h.stopped = true
	for _, cs := range h.members {
		for _, c := range cs {
			c.shut(websocket.StatusGoingAway, "server shutting down")
		}
	}
	h.mu.Unlock()
	h.readers.Wait()
}

// notify is the Listener's subscriber: it runs on the listener's
// goroutine, so it only parses, looks up and hands over; database work and
// writes happen on the connections' writers.
func (h *Hub) notify(ctx context.Context, n db.Notification) {
	if n.Resync {
		h.resync(ctx)
		return
	}
	p, err := parsePayload(n.Payload)
	if err != nil {
		h.cfg.Log.WarnContext(ctx, "inbox notification dropped", "error", err)
		return
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	cs := h.members[memberKey{p.Tenant, p.Member}]
	if len(cs) == 0 {
		return
	}
	switch {
	case p.Unread != nil:
		msg := heartbeatMessage(*p.Unread)
		for _, c := range cs {
			c.send(ctx, msg)
		}
	case p.Notification != nil:
		msg := notificationMessage(p.Notification)
		for _, c := range cs {
			c.offer(ctx, p.Seq, msg)
		}
	default:
		// Announced by reference (too large to carry): the writers load it.
		for _, c := range cs {
			c.offer(ctx, p.Seq, nil)
		}
	}
}

// resync makes every connection catch up from the database: the listener
// has reconnected and anything sent while it was away is lost.
func (h *Hub) resync(ctx context.Context) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	for _, cs := range h.members {
		for _, c := range cs {
			c.catchUpLater(ctx)
		}
	}
}

// heartbeatBatch is how many members' unread counts one query reads.
const heartbeatBatch = 5000

// heartbeat closes the connections of ended sessions, then sends every
// other connection its member's unread count, with one query of each kind
// per tenant (per heartbeatBatch members or sessions).
func (h *Hub) heartbeat(ctx context.Context) {
	byTenant := map[uuid.UUID][]uuid.UUID{}
	sessions := map[uuid.UUID]map[uuid.UUID][]*conn{}
	h.mu.RLock()
	for k, cs := range h.members {
		byTenant[k.tenant] = append(byTenant[k.tenant], k.member)
		if h.cfg.Sessions == nil {
			continue
		}
		for _, c := range cs {
			if sessions[k.tenant] == nil {
				sessions[k.tenant] = map[uuid.UUID][]*conn{}
			}
			sessions[k.tenant][c.session] = append(sessions[k.tenant][c.session], c)
		}
	}
	h.mu.RUnlock()
	for tenant, conns := range sessions {
		h.endSessions(ctx, tenant, conns)
	}
	for tenant, members := range byTenant {
		for chunk := range slices.Chunk(members, heartbeatBatch) {
			counts, err := h.svc.unreadCounts(engine.WithTenant(ctx, tenant), chunk)
			if err != nil {
				if ctx.Err() == nil {
					h.cfg.Log.WarnContext(ctx, "inbox heartbeat skipped", "tenant_id", tenant, "error", err)
				}
				continue
			}
			h.mu.RLock()
			for _, m := range chunk {
				msg := heartbeatMessage(counts[m])
				for _, c := range h.members[memberKey{tenant, m}] {
					c.send(ctx, msg)
				}
			}
			h.mu.RUnlock()
		}
	}
}

// endSessions closes the connections, among conns (by session), whose
// sessions have ended.
func (h *Hub) endSessions(ctx context.Context, tenant uuid.UUID, conns map[uuid.UUID][]*conn) {
	ids := slices.Collect(maps.Keys(conns))
	for chunk := range slices.Chunk(ids, heartbeatBatch) {
		ended, err := h.cfg.Sessions.EndedSessions(engine.WithTenant(ctx, tenant), chunk)
		if err != nil {
			if ctx.Err() == nil {
				h.cfg.Log.WarnContext(ctx, "inbox session check skipped", "tenant_id", tenant, "error", err)
			}
			continue
		}
		for _, id := range ended {
			for _, c := range conns[id] {
				c.shut(StatusSessionEnded, "session ended: sign in again")
			}
		}
	}
}

// Messages to clients.

func notificationMessage(n json.RawMessage) []byte {
	b := make([]byte, 0, len(n)+40)
	b = append(b, `{"type":"notification","notification":`...)
	b = append(b, n...)
	return append(b, '}')
}

func heartbeatMessage(unread int64) []byte {
	b := append([]byte(`{"type":"heartbeat","unread":`), strconv.FormatInt(unread, 10)...)
	return append(b, '}')
}

// clientMessage is what a client may send.
type clientMessage struct {
	Type    string `json:"type"`
	UpToSeq int64  `json:"up_to_seq"`
}

// backlogPage is how many stored notifications a catch-up reads at once.
const backlogPage = 100

// conn is one live connection. Its reader goroutine lives as long as the
// connection; a writer goroutine (drain) runs only while there is
// something to send or to catch up on.
//
// Delivery: sent is the seq of the newest notification handed to the
// client. A live notification with seq sent+1 is queued; one at or below
// sent is a duplicate and dropped; one above sent+1 means something was
// missed, and the connection catches up from the database (syncing).
// While syncing, live notifications wait in pending; once the database
// has nothing more after sent, pending is delivered in seq order without
// duplicates. Seqs commit in order, and NOTIFY delivers in commit order,
// so anything not in the last read is in pending: nothing is lost, nothing
// is sent twice.
type conn struct {
	hub        *Hub
	ws         *websocket.Conn
	key        memberKey
	session    uuid.UUID    // the sign-in it was opened with
	writeSince atomic.Int64 // when the write under way began (Unix ns); 0 when none

	mu      sync.Mutex
	sent    int64      // -1 before the first catch-up when the client gave no after
	queue   [][]byte   // messages for the writer; nil when idle
	pending []liveItem // live notifications that came while syncing
	fresh   bool       // the first catch-up is still to come
	syncing bool       // the writer must catch up from the database
	lost    bool       // pending overflowed, or a notification must be loaded: read again
	writing bool       // a writer runs (or Serve has not started it yet)
	closed  bool
}

type liveItem struct {
	seq int64
	msg []byte
}

// offer hands the connection a committed notification (msg nil: announced
// by reference, to load from the database).
func (c *conn) offer(ctx context.Context, seq int64, msg []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.closed:
	case c.syncing:
		if msg == nil || len(c.pending) >= c.hub.cfg.SendQueue {
			c.lost = true
			return
		}
		c.pending = append(c.pending, liveItem{seq, msg})
	case seq <= c.sent:
		// Already delivered (from the database, or by another path).
	case seq == c.sent+1 && msg != nil:
		c.sent = seq
		c.pushLocked(ctx, msg)
	default:
		// A gap: the notifications between were missed. Or one to load.
		c.syncing = true
		if msg != nil {
			c.pending = append(c.pending, liveItem{seq, msg})
		}
		c.startLocked(ctx)
	}
}

// send queues a message that has no seq (a heartbeat).
func (c *conn) send(ctx context.Context, msg []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.closed {
		c.pushLocked(ctx, msg)
	}
}

// catchUpLater makes the writer catch up from the database.
func (c *conn) catchUpLater(ctx context.Context) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.closed:
	case c.syncing:
		// Reading already; what it reads may predate the loss: read again.
		c.lost = true
	default:
		c.syncing = true
		c.startLocked(ctx)
	}
}

func (c *conn) pushLocked(ctx context.Context, msg []byte) {
	if len(c.queue) >= c.hub.cfg.SendQueue {
		c.hub.cfg.Log.WarnContext(ctx, "inbox connection too slow: closed", "tenant_id", c.key.tenant, "member_id", c.key.member)
		c.shutLocked(websocket.StatusPolicyViolation, "too slow: reconnect with after=<last seq>")
		return
	}
	c.queue = append(c.queue, msg)
	c.startLocked(ctx)
}

// startLocked starts the writer unless one runs.
func (c *conn) startLocked(ctx context.Context) {
	if !c.writing {
		c.writing = true
		go c.drain(ctx)
	}
}

// shut closes the connection with code; the reader then ends and removes
// it from the hub.
func (c *conn) shut(code websocket.StatusCode, reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.shutLocked(code, reason)
}

func (c *conn) shutLocked(code websocket.StatusCode, reason string) {
	if c.closed {
		return
	}
	c.closed = true
	c.queue, c.pending = nil, nil
	if ws := c.ws; ws != nil {
		// Close waits for the close handshake (or a blocked writer):
		// never under the lock or on the caller's goroutine.
		go func() { _ = ws.Close(code, reason) }()
	}
}

// drain is the connection's writer: it catches up when syncing, then
// writes the queue, and ends when there is nothing left. Only one runs at
// a time (writing), so it alone writes to the WebSocket, and sent changes
// only under its hand while syncing.
func (c *conn) drain(ctx context.Context) {
	for {
		c.mu.Lock()
		switch {
		case c.closed:
			c.writing = false
			c.mu.Unlock()
			return
		case c.syncing:
			c.mu.Unlock()
			if err := c.catchUp(ctx); err != nil {
				if ctx.Err() == nil {
					c.hub.cfg.Log.WarnContext(ctx, "inbox catch-up failed: connection closed", "member_id", c.key.member, "error", err)
				}
				c.shut(websocket.StatusInternalError, "try again")
			}
			continue
		case len(c.queue) == 0:
			c.writing = false
			c.mu.Unlock()
			return
		}
		msgs := c.queue
		c.queue = nil
		c.mu.Unlock()
		for _, m := range msgs {
			if err := c.write(ctx, m); err != nil {
				c.shut(websocket.StatusAbnormalClosure, "")
				break
			}
		}
	}
}

// write writes one message. WriteTimeout is enforced by the hub's
// watchdog (stuckWrites), not by a timer per write: writing marks when it
// began.
func (c *conn) write(ctx context.Context, msg []byte) error {
	c.writeSince.Store(time.Now().UnixNano())
	defer c.writeSince.Store(0)
	return c.ws.Write(ctx, websocket.MessageText, msg)
}

// catchUp writes what the database holds after sent, then what came live
// meanwhile (see conn). The first catch-up also settles sent (the
// client's after, or the member's last seq when it gave none or one from
// the future) and sends the unread count.
func (c *conn) catchUp(ctx context.Context) error {
	tctx := engine.WithTenant(ctx, c.key.tenant)
	c.mu.Lock()
	from, fresh := c.sent, c.fresh
	c.mu.Unlock()
	unread := int64(-1)
	if fresh {
		last, n, err := c.hub.svc.liveState(tctx, c.key.member)
		if err != nil {
			return err
		}
		if from < 0 || from > last {
			from = last
		}
		unread = n
	}
	for {
		ns, err := c.hub.svc.since(tctx, c.key.member, from, backlogPage)
		if err != nil {
			return err
		}
		for _, n := range ns {
			body, err := json.Marshal(n)
			if err != nil {
				return err
			}
			if err := c.write(ctx, notificationMessage(body)); err != nil {
				return err
			}
			from = n.Seq
		}
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			return nil
		}
		c.sent, c.fresh = from, false
		if len(ns) == backlogPage {
			c.mu.Unlock()
			continue
		}
		if c.lost {
			c.lost = false
			c.pending = c.pending[:0]
			c.mu.Unlock()
			continue
		}
		slices.SortFunc(c.pending, func(a, b liveItem) int { return cmp.Compare(a.seq, b.seq) })
		for _, it := range c.pending {
			if it.seq > c.sent {
				c.sent = it.seq
				c.queue = append(c.queue, it.msg)
			}
		}
		c.pending = nil
		c.syncing = false
		if unread >= 0 {
			c.queue = append(c.queue, heartbeatMessage(unread))
		}
		c.mu.Unlock()
		return nil
	}
}

// read serves the client's messages until the connection ends, then
// removes it from the hub. A client may send {"type":"read","up_to_seq":n}
// to mark its notifications up to n read; other types are ignored.
func (c *conn) read(ctx context.Context) {
	defer c.hub.remove(c)
	defer c.shut(websocket.StatusNormalClosure, "")
	for {
		typ, b, err := c.ws.Read(ctx)
		if err != nil {
			return
		}
		var m clientMessage
		if typ != websocket.MessageText || json.Unmarshal(b, &m) != nil {
			c.shut(websocket.StatusUnsupportedData, "messages are JSON objects")
			return
		}
		if m.Type != "read" || m.UpToSeq < 1 {
			continue
		}
		res, err := c.hub.svc.markRead(engine.WithTenant(ctx, c.key.tenant), c.key.member, nil, m.UpToSeq)
		switch {
		case err != nil:
			c.hub.cfg.Log.WarnContext(ctx, "inbox read from a live connection failed", "member_id", c.key.member, "error", err)
		case res.Marked == 0:
			// Nothing changed, so no one is told: answer this client.
			c.send(ctx, heartbeatMessage(res.Unread))
		}
	}
}
