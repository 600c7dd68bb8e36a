package inbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

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
//
// On the wire it is one line that every hub reads for every commit, so it
// is made to be read without a JSON decoder: a kind letter, the tenant and
// the member (canonical UUIDs), a number, and for an inline notification
// its JSON after one more space:
//
//	n <tenant> <member> <seq> {"id":…,"seq":<seq>,"member_id":"<member>",…}
//	n <tenant> <member> <seq>
//	u <tenant> <member> <unread>
type payload struct {
	Tenant       uuid.UUID
	Member       uuid.UUID
	Seq          int64
	Unread       *int64
	Notification json.RawMessage
}

// encode writes p in the wire format.
func (p payload) encode() string {
	var b strings.Builder
	b.Grow(len(p.Notification) + 100)
	if p.Unread != nil {
		b.WriteString("u ")
	} else {
		b.WriteString("n ")
	}
	b.WriteString(p.Tenant.String())
	b.WriteByte(' ')
	b.WriteString(p.Member.String())
	b.WriteByte(' ')
	if p.Unread != nil {
		b.WriteString(strconv.FormatInt(*p.Unread, 10))
	} else {
		b.WriteString(strconv.FormatInt(p.Seq, 10))
	}
	if p.Notification != nil {
		b.WriteByte(' ')
		b.Write(p.Notification)
	}
	return b.String()
}

// notificationPayload returns the payload announcing n, inline when it
// fits, and n's JSON.
func notificationPayload(tenant uuid.UUID, n Notification) (string, []byte, error) {
	body, err := json.Marshal(n)
	if err != nil {
		return "", nil, fmt.Errorf("encode notification: %w", err)
	}
	p := payload{Tenant: tenant, Member: n.Member, Seq: n.Seq, Notification: body}
	s := p.encode()
	if len(s) > maxInlinePayload {
		p.Notification = nil
		s = p.encode()
	}
	return s, body, nil
}

// unreadPayload returns the payload announcing a member's unread count.
func unreadPayload(tenant, member uuid.UUID, unread int64) string {
	return payload{Tenant: tenant, Member: member, Unread: &unread}.encode()
}

var errBadPayload = errors.New("inbox payload is not valid")

// parsePayload reads a payload of the inbox channel. It accepts only what
// notificationPayload and unreadPayload make: a tenant and a member, and
// either a seq (with, optionally, the JSON object of the notification of
// that member and seq) or an unread count.
func parsePayload(s string) (payload, error) {
	const uuidLen = 36
	kind, rest, _ := strings.Cut(s, " ")
	if (kind != "n" && kind != "u") || len(rest) < 2*uuidLen+3 || rest[uuidLen] != ' ' || rest[2*uuidLen+1] != ' ' {
		return payload{}, fmt.Errorf("%w: not <kind> <tenant> <member> <number>", errBadPayload)
	}
	var p payload
	var err1, err2 error
	p.Tenant, err1 = uuid.Parse(rest[:uuidLen])
	p.Member, err2 = uuid.Parse(rest[uuidLen+1 : 2*uuidLen+1])
	if err1 != nil || err2 != nil || p.Tenant == uuid.Nil || p.Member == uuid.Nil ||
		p.Tenant.String() != rest[:uuidLen] || p.Member.String() != rest[uuidLen+1:2*uuidLen+1] {
		return payload{}, fmt.Errorf("%w: no tenant or member", errBadPayload)
	}
	num, body, inline := strings.Cut(rest[2*uuidLen+2:], " ")
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 || strconv.FormatInt(n, 10) != num {
		return payload{}, fmt.Errorf("%w: bad number %q", errBadPayload, num)
	}
	if kind == "u" {
		if inline {
			return payload{}, fmt.Errorf("%w: trailing data", errBadPayload)
		}
		p.Unread = &n
		return p, nil
	}
	if n == 0 {
		return payload{}, fmt.Errorf("%w: seq 0", errBadPayload)
	}
	p.Seq = n
	if inline {
		// The notification's JSON starts with its id, seq and member (the
		// order of Notification's fields): it must be the announced one.
		head := `","seq":` + num + `,"member_id":"` + p.Member.String() + `",`
		if len(body) < 7+uuidLen+len(head) || body[:7] != `{"id":"` || body[7+uuidLen:7+uuidLen+len(head)] != head ||
			!json.Valid([]byte(body)) {
			return payload{}, fmt.Errorf("%w: the notification is not the announced one", errBadPayload)
		}
		p.Notification = json.RawMessage(body)
	}
	return p, nil
}
