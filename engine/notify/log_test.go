package notify

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLog(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	l := NewLog(slog.New(slog.NewJSONHandler(&buf, nil)))

	if err := l.SendEmail(t.Context(), Email{To: "ada@example.org", Subject: "Your code", Text: "Code: 123456", HTML: "<p>Code</p>", FromName: "Chess Club"}); err != nil {
		t.Fatalf("SendEmail() error = %v", err)
	}
	if err := l.SendSMS(t.Context(), SMS{To: "+4915112345678", Text: "Code: 654321"}); err != nil {
		t.Fatalf("SendSMS() error = %v", err)
	}
	if err := l.SendEmail(t.Context(), Email{To: "nobody", Subject: "x", Text: "x"}); !errors.Is(err, ErrInvalidRecipient) {
		t.Errorf("SendEmail(bad To) error = %v, want ErrInvalidRecipient", err)
	}
	if err := l.SendSMS(t.Context(), SMS{To: "12345", Text: "x"}); !errors.Is(err, ErrInvalidRecipient) {
		t.Errorf("SendSMS(bad To) error = %v, want ErrInvalidRecipient", err)
	}

	var got []map[string]any
	for line := range strings.Lines(buf.String()) {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		delete(rec, "time")
		got = append(got, rec)
	}
	want := []map[string]any{
		{"level": "INFO", "msg": "email not sent (development)", "to": "ada@example.org", "from_name": "Chess Club", "subject": "Your code", "text": "Code: 123456"},
		{"level": "INFO", "msg": "sms not sent (development)", "to": "+4915112345678", "text": "Code: 654321"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("log (-want +got):\n%s", diff)
	}
}
