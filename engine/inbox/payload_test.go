package inbox

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

func TestNotificationPayload(t *testing.T) {
	t.Parallel()
	tenant, member := uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())
	n := Notification{ID: uuid.Must(uuid.NewV7()), Seq: 7, Member: member, Kind: "like", Text: "Ada liked your post",
		CreatedAt: time.Date(2026, 11, 22, 10, 0, 0, 123000, time.UTC)}
	s, body, err := notificationPayload(tenant, n)
	if err != nil {
		t.Fatal(err)
	}
	p, err := parsePayload(s)
	if err != nil {
		t.Fatalf("parsePayload(%s) = %v", s, err)
	}
	if p.Tenant != tenant || p.Member != member || p.Seq != 7 || string(p.Notification) != string(body) {
		t.Errorf("parsePayload() = %+v", p)
	}

	// Too large to carry: by reference, under PostgreSQL's limit.
	n.Text = strings.Repeat("ü", MaxText)
	n.Link = "/" + strings.Repeat("p", MaxLink-1)
	n.Data = map[string]any{"blob": strings.Repeat("x", MaxData)}
	s, _, err = notificationPayload(tenant, n)
	if err != nil {
		t.Fatal(err)
	}
	if p, err := parsePayload(s); err != nil || p.Notification != nil || p.Seq != 7 || len(s) >= 8000 {
		t.Errorf("large payload %d bytes, parsed %+v, %v; want a reference", len(s), p, err)
	}

	p, err = parsePayload(unreadPayload(tenant, member, 3))
	if err != nil || p.Unread == nil || *p.Unread != 3 || p.Seq != 0 {
		t.Errorf("unread payload parsed %+v, %v", p, err)
	}
}

func TestParsePayload_Invalid(t *testing.T) {
	t.Parallel()
	tenant, member := uuid.Must(uuid.NewV7()).String(), uuid.Must(uuid.NewV7()).String()
	head := tenant + " " + member
	body := func(seq, member string) string {
		return `{"id":"` + uuid.Must(uuid.NewV7()).String() + `","seq":` + seq + `,"member_id":"` + member + `","kind":"like"}`
	}
	if _, err := parsePayload("n " + head + " 1 " + body("1", member)); err != nil {
		t.Fatalf("the valid payload the cases spoil is refused: %v", err)
	}
	for _, s := range []string{
		``, `n`, `{}`, `null`, "n " + head, "n " + head + " ",
		`{"tenant_id":"` + tenant + `","member_id":"` + member + `","seq":1}`,
		"x " + head + " 1",
		"n " + tenant + "  " + member + " 1",
		"n " + uuid.Nil.String() + " " + member + " 1",
		"n " + tenant + " " + uuid.Nil.String() + " 1",
		"n {" + tenant[1:] + " " + member + " 1",
		"n " + head + " 0",
		"n " + head + " -1",
		"n " + head + " +1",
		"n " + head + " 01",
		"n " + head + " 1e3",
		"n " + head + " 99999999999999999999",
		"u " + head + " -2",
		"u " + head + " 2 " + body("2", member),
		"n " + head + " 1 ",
		"n " + head + " 1 []",
		"n " + head + " 1 null",
		"n " + head + " 1 " + body("2", member),
		"n " + head + " 1 " + body("1", tenant),
		"n " + head + " 1 " + body("1", member) + "}",
		"n " + head + " 1 " + strings.TrimSuffix(body("1", member), "}"),
	} {
		if p, err := parsePayload(s); err == nil {
			t.Errorf("parsePayload(%q) = %+v, want an error", s, p)
		}
	}
}

func FuzzParsePayload(f *testing.F) {
	tenant, member := uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())
	s, _, _ := notificationPayload(tenant, Notification{Seq: 1, Member: member, Kind: "like", Text: "x", Data: map[string]any{"a": 1}})
	f.Add(s)
	f.Add(unreadPayload(tenant, member, 0))
	f.Add("n " + tenant.String() + " " + member.String() + " 9")
	f.Add("u " + tenant.String() + " " + member.String() + " 1e999")
	f.Add(`{"notification":{"seq":1}}`)
	f.Fuzz(func(t *testing.T, s string) {
		p, err := parsePayload(s)
		if err != nil {
			return
		}
		if p.Tenant == uuid.Nil || p.Member == uuid.Nil || p.Seq < 0 || (p.Seq > 0) == (p.Unread != nil) {
			t.Fatalf("parsePayload(%q) accepted %+v", s, p)
		}
		if p.Notification != nil {
			var head struct {
				Seq    int64     `json:"seq"`
				Member uuid.UUID `json:"member_id"`
			}
			if err := json.Unmarshal(p.Notification, &head); err != nil || head.Seq != p.Seq || head.Member != p.Member {
				t.Fatalf("parsePayload(%q) accepted a notification that is not the announced one", s)
			}
			// What the hub sends is valid JSON.
			if !json.Valid(notificationMessage(p.Notification)) {
				t.Fatalf("message of %q is not JSON", s)
			}
		}
		// A parsed payload is written back as it was read.
		if got := p.encode(); got != s {
			t.Fatalf("parsePayload(%q) re-encodes as %q", s, got)
		}
	})
}
