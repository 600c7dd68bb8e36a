package audit

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/guildhall/guildhall/engine"
)

func TestCursorRoundTrip(t *testing.T) {
	t.Parallel()
	c := Cursor{At: time.Date(2026, 11, 22, 10, 0, 0, 123000, time.UTC), ID: uuid.Must(uuid.NewV7())}
	got, err := DecodeCursor(c.Encode())
	if err != nil || !got.At.Equal(c.At) || got.ID != c.ID {
		t.Errorf("DecodeCursor(Encode(%v)) = %v, %v", c, got, err)
	}
	if got, err := DecodeCursor(""); got != nil || err != nil {
		t.Errorf("DecodeCursor(\"\") = %v, %v; want the first page", got, err)
	}
	for _, bad := range []string{"x", "e30", "!!!", "eyJ0IjoxfQ"} {
		if _, err := DecodeCursor(bad); engine.ErrorCode(err) != engine.CodeInvalid {
			t.Errorf("DecodeCursor(%q) = %v, want invalid", bad, err)
		}
	}
}

func FuzzDecodeCursor(f *testing.F) {
	f.Add(Cursor{At: time.Unix(1, 0).UTC(), ID: uuid.Must(uuid.NewV7())}.Encode())
	f.Add("")
	f.Add("e30")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := DecodeCursor(s)
		if err != nil {
			if engine.ErrorCode(err) != engine.CodeInvalid {
				t.Errorf("DecodeCursor(%q) = %v, want an invalid error", s, err)
			}
			return
		}
		if c != nil && c.ID == uuid.Nil {
			t.Errorf("DecodeCursor(%q) accepted a cursor without an ID", s)
		}
	})
}
