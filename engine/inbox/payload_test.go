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
	head := `"tenant_id":"` + tenant + `","member_id":"` + member + `"`
	for _, s := range []string{
		``, `null`, `[]`, `{}`, `{` + head + `}`,
		`{` + head + `,"seq":-1}`,
		`{` + head + `,"seq":1,"unread":2}`,
		`{` + head + `,"unread":-2}`,
		`{` + head + `,"unread":2,"notification":{}}`,
		`{` + head + `,"seq":1,"notification":[]}`,
		`{` + head + `,"seq":1,"notification":null}`,
		`{` + head + `,"seq":1,"notification":{"seq":2,"member_id":"` + member + `"}}`,
		`{` + head + `,"seq":1,"notification":{"seq":1,"member_id":"` + tenant + `"}}`,
		`{` + head + `,"seq":1,"extra":true}`,
		`{` + head + `,"seq":1} {}`,
		`{"tenant_id":"` + uuid.Nil.String() + `","member_id":"` + member + `","seq":1}`,
	} {
		if p, err := parsePayload(s); err == nil {
			t.Errorf("parsePayload(%s) = %+v, want an error", s, p)
		}
	}
}

func FuzzParsePayload(f *testing.F) {
	tenant, member := uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())
	s, _, _ := notificationPayload(tenant, Notification{Seq: 1, Member: member, Kind: "like", Text: "x", Data: map[string]any{"a": 1}})
	f.Add(s)
	f.Add(unreadPayload(tenant, member, 0))
	f.Add(`{"tenant_id":"` + tenant.String() + `","member_id":"` + member.String() + `","seq":9}`)
	f.Add(`{"seq":1e999}`)
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
		// A parsed payload survives a round trip.
		b, _ := json.Marshal(p)
		if _, err := parsePayload(string(b)); err != nil {
			t.Fatalf("re-encoded %s does not parse: %v", b, err)
		}
	})
}
