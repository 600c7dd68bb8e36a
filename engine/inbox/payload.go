package inbox

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/google/uuid"
)

// channel is the LISTEN/NOTIFY channel of the inbox: AddTx, MarkRead and
// MarkAllRead notify on it in their transactions, so every server's Hub
// hears of a change when, and only if, it commits.
const channel = "inbox"

// maxInlinePayload is the largest payload that carries the notification
// itself. PostgreSQL refuses payloads of 8000 bytes or more; a larger
// notification is announced by reference (tenant, member, seq) and the hubs
// load it from the database.
const maxInlinePayload = 7000

// payload is what the inbox channel carries. It is one of:
//
//   - a notification, inline: Seq and Notification (the notification's
//     JSON as the API shows it);
//   - a notification by reference: Seq alone (the hubs load it);
//   - a new unread count after a read: Unread alone.
type payload struct {
	Tenant       uuid.UUID       `json:"tenant_id"`
	Member       uuid.UUID       `json:"member_id"`
	Seq          int64           `json:"seq,omitempty"`
	Unread       *int64          `json:"unread,omitempty"`
	Notification json.RawMessage `json:"notification,omitempty"`
}

// notificationPayload returns the payload announcing n, inline when it
// fits, and n's JSON.
func notificationPayload(tenant uuid.UUID, n Notification) (string, []byte, error) {
	body, err := json.Marshal(n)
	if err != nil {
		return "", nil, fmt.Errorf("encode notification: %w", err)
	}
	p := payload{Tenant: tenant, Member: n.Member, Seq: n.Seq, Notification: body}
	b, _ := json.Marshal(p) // a struct of marshalable fields
	if len(b) > maxInlinePayload {
		p.Notification = nil
		b, _ = json.Marshal(p)
	}
	return string(b), body, nil
}

// unreadPayload returns the payload announcing a member's unread count.
func unreadPayload(tenant, member uuid.UUID, unread int64) string {
	b, _ := json.Marshal(payload{Tenant: tenant, Member: member, Unread: &unread})
	return string(b)
}

var errBadPayload = errors.New("inbox payload is not valid")

// parsePayload reads a payload of the inbox channel. It accepts only what
// notificationPayload and unreadPayload make: a tenant and a member, and
// either a seq (with, optionally, a notification object of that member and
// seq) or an unread count.
func parsePayload(s string) (payload, error) {
	var p payload
	dec := json.NewDecoder(bytes.NewReader([]byte(s)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return payload{}, fmt.Errorf("%w: %w", errBadPayload, err)
	}
	if dec.More() {
		return payload{}, fmt.Errorf("%w: trailing data", errBadPayload)
	}
	switch {
	case p.Tenant == uuid.Nil || p.Member == uuid.Nil:
		return payload{}, fmt.Errorf("%w: no tenant or member", errBadPayload)
	case p.Seq < 0 || (p.Seq > 0) == (p.Unread != nil):
		return payload{}, fmt.Errorf("%w: want a seq or an unread count", errBadPayload)
	case p.Unread != nil && (*p.Unread < 0 || p.Notification != nil):
		return payload{}, fmt.Errorf("%w: bad unread count", errBadPayload)
	}
	if p.Notification != nil {
		var head struct {
			Seq    int64     `json:"seq"`
			Member uuid.UUID `json:"member_id"`
		}
		if bytes.TrimSpace(p.Notification)[0] != '{' || json.Unmarshal(p.Notification, &head) != nil ||
			head.Seq != p.Seq || head.Member != p.Member {
			return payload{}, fmt.Errorf("%w: the notification is not the announced one", errBadPayload)
		}
	}
	return p, nil
}
