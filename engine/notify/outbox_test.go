package notify

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestOutbox(t *testing.T) {
	t.Parallel()

	t.Run("Records", func(t *testing.T) {
		t.Parallel()
		var o Outbox
		e1 := Email{To: "ada@example.org", Subject: "Code", Text: "111111"}
		e2 := Email{To: "bob@example.org", Subject: "Invite", Text: "Join us", HTML: "<p>Join us</p>", FromName: "Chess Club"}
		s1 := SMS{To: "+4915112345678", Text: "222222"}
		for _, err := range []error{
			o.SendEmail(t.Context(), e1),
			o.SendEmail(t.Context(), e2),
			o.SendSMS(t.Context(), s1),
		} {
			if err != nil {
				t.Fatalf("send error = %v", err)
			}
		}
		if diff := cmp.Diff([]Email{e1, e2}, o.Emails()); diff != "" {
			t.Errorf("Emails() (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]SMS{s1}, o.SMS()); diff != "" {
			t.Errorf("SMS() (-want +got):\n%s", diff)
		}
	})

	t.Run("ChecksLikeTheRealSenders", func(t *testing.T) {
		t.Parallel()
		var o Outbox
		if err := o.SendEmail(t.Context(), Email{To: "not an address", Subject: "Code", Text: "1"}); !errors.Is(err, ErrInvalidRecipient) {
			t.Errorf("SendEmail(bad To) error = %v, want ErrInvalidRecipient", err)
		}
		if err := o.SendEmail(t.Context(), Email{To: "ada@example.org", Subject: "a\r\nBcc: eve@example.net", Text: "1"}); !errors.Is(err, ErrUnsafeHeader) {
			t.Errorf("SendEmail(injected Subject) error = %v, want ErrUnsafeHeader", err)
		}
		if err := o.SendSMS(t.Context(), SMS{To: "0151 12345678", Text: "1"}); !errors.Is(err, ErrInvalidRecipient) {
			t.Errorf("SendSMS(bad To) error = %v, want ErrInvalidRecipient", err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if err := o.SendEmail(ctx, Email{To: "ada@example.org", Subject: "Code", Text: "1"}); !errors.Is(err, context.Canceled) {
			t.Errorf("SendEmail(cancelled ctx) error = %v, want context.Canceled", err)
		}
		if n, m := len(o.Emails()), len(o.SMS()); n != 0 || m != 0 {
			t.Errorf("recorded %d emails and %d sms, want none", n, m)
		}
	})

	t.Run("LastTo", func(t *testing.T) {
		t.Parallel()
		var o Outbox
		if _, ok := o.LastEmailTo("ada@example.org"); ok {
			t.Error("LastEmailTo() on an empty outbox ok = true")
		}
		for _, m := range []Email{
			{To: "ada@example.org", Subject: "Code", Text: "111111"},
			{To: "bob@example.org", Subject: "Code", Text: "222222"},
			{To: "Ada@Example.org", Subject: "Code", Text: "333333"},
		} {
			if err := o.SendEmail(t.Context(), m); err != nil {
				t.Fatalf("SendEmail() error = %v", err)
			}
		}
		if got, ok := o.LastEmailTo("ADA@example.org"); !ok || got.Text != "333333" {
			t.Errorf("LastEmailTo() = %+v, %t; want the third email", got, ok)
		}
		if err := o.SendSMS(t.Context(), SMS{To: "+4915112345678", Text: "444444"}); err != nil {
			t.Fatalf("SendSMS() error = %v", err)
		}
		if got, ok := o.LastSMSTo("+4915112345678"); !ok || got.Text != "444444" {
			t.Errorf("LastSMSTo() = %+v, %t; want the sms", got, ok)
		}
		if _, ok := o.LastSMSTo("+14155550123"); ok {
			t.Error("LastSMSTo(other number) ok = true")
		}
	})

	t.Run("WaitEmailReturnsEachOnce", func(t *testing.T) {
		t.Parallel()
		var o Outbox
		for _, m := range []Email{
			{To: "ada@example.org", Subject: "Code", Text: "111111"},
			{To: "bob@example.org", Subject: "Code", Text: "222222"},
			{To: "ada@example.org", Subject: "Code", Text: "333333"},
		} {
			if err := o.SendEmail(t.Context(), m); err != nil {
				t.Fatalf("SendEmail() error = %v", err)
			}
		}
		var got []string
		for range 2 {
			m, err := o.WaitEmail(t.Context(), "ada@example.org")
			if err != nil {
				t.Fatalf("WaitEmail() error = %v", err)
			}
			got = append(got, m.Text)
		}
		if diff := cmp.Diff([]string{"111111", "333333"}, got); diff != "" {
			t.Errorf("WaitEmail() texts (-want +got):\n%s", diff)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		defer cancel()
		if m, err := o.WaitEmail(ctx, "ada@example.org"); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("third WaitEmail() = %+v, %v; want a deadline error", m, err)
		}
	})

	t.Run("WaitForAnotherGoroutine", func(t *testing.T) {
		t.Parallel()
		var o Outbox
		var wg sync.WaitGroup
		defer wg.Wait()
		wg.Go(func() {
			time.Sleep(50 * time.Millisecond)
			_ = o.SendEmail(context.Background(), Email{To: "bob@example.org", Subject: "Code", Text: "other"})
			_ = o.SendSMS(context.Background(), SMS{To: "+4915112345678", Text: "555555"})
			_ = o.SendEmail(context.Background(), Email{To: "ada@example.org", Subject: "Code", Text: "444444"})
		})
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		m, err := o.WaitEmail(ctx, "ada@example.org")
		if err != nil || m.Text != "444444" {
			t.Errorf("WaitEmail() = %+v, %v; want the email sent later", m, err)
		}
		s, err := o.WaitSMS(ctx, "+4915112345678")
		if err != nil || s.Text != "555555" {
			t.Errorf("WaitSMS() = %+v, %v; want the sms sent later", s, err)
		}
	})

	t.Run("ConcurrentSends", func(t *testing.T) {
		t.Parallel()
		var o Outbox
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() {
				if err := o.SendEmail(t.Context(), Email{To: "ada@example.org", Subject: "Code", Text: "1"}); err != nil {
					t.Errorf("SendEmail() error = %v", err)
				}
			})
			wg.Go(func() { _ = o.Emails() })
		}
		wg.Wait()
		if n := len(o.Emails()); n != 20 {
			t.Errorf("recorded %d emails, want 20", n)
		}
	})

	t.Run("FailWith", func(t *testing.T) {
		t.Parallel()
		var o Outbox
		errDown := errors.New("relay down")
		o.FailWith(errDown)
		if err := o.SendEmail(t.Context(), Email{To: "ada@example.org", Subject: "Code", Text: "1"}); !errors.Is(err, errDown) {
			t.Errorf("SendEmail() error = %v, want %v", err, errDown)
		}
		if err := o.SendSMS(t.Context(), SMS{To: "+4915112345678", Text: "1"}); !errors.Is(err, errDown) {
			t.Errorf("SendSMS() error = %v, want %v", err, errDown)
		}
		if n, m := len(o.Emails()), len(o.SMS()); n != 0 || m != 0 {
			t.Errorf("recorded %d emails and %d sms while failing, want none", n, m)
		}
		o.FailWith(nil)
		if err := o.SendEmail(t.Context(), Email{To: "ada@example.org", Subject: "Code", Text: "1"}); err != nil {
			t.Errorf("SendEmail() after FailWith(nil) error = %v", err)
		}
	})
}
