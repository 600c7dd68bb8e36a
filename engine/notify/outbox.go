package notify

import (
	"context"
	"fmt"
	"strings"
	"sync"
)

// Outbox is the Mailer and Texter for tests: it records every message in
// memory instead of sending it, and lets a test read what was sent, wait for
// a message sent by another goroutine (a job), or make sends fail.
//
// It checks messages exactly as the real senders do and records only those
// that pass. The zero value is ready to use; an Outbox is safe for
// concurrent use.
type Outbox struct {
	mu     sync.Mutex
	emails []outboxEmail
	sms    []outboxSMS
	fail   error
	// changed is closed, and forgotten, when a message is recorded; a
	// waiter makes it when there is none.
	changed chan struct{}
}

type outboxEmail struct {
	Email
	addr  string // the parsed To, for comparisons
	taken bool   // returned by WaitEmail
}

type outboxSMS struct {
	SMS
	taken bool // returned by WaitSMS
}

var (
	_ Mailer = (*Outbox)(nil)
	_ Texter = (*Outbox)(nil)
)

// SendEmail records m, or returns the error set with FailWith.
func (o *Outbox) SendEmail(ctx context.Context, m Email) error {
	to, err := checkEmail(m)
	if err != nil {
		return fmt.Errorf("send email: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("send email: %w", err)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.fail != nil {
		return fmt.Errorf("send email: %w", o.fail)
	}
	o.emails = append(o.emails, outboxEmail{Email: m, addr: to})
	o.notifyLocked()
	return nil
}

// SendSMS records m, or returns the error set with FailWith.
func (o *Outbox) SendSMS(ctx context.Context, m SMS) error {
	if err := checkSMS(m); err != nil {
		return fmt.Errorf("send sms: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("send sms: %w", err)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.fail != nil {
		return fmt.Errorf("send sms: %w", o.fail)
	}
	o.sms = append(o.sms, outboxSMS{SMS: m})
	o.notifyLocked()
	return nil
}

// FailWith makes every later send fail with an error wrapping err, and
// record nothing; FailWith(nil) makes sends succeed again.
func (o *Outbox) FailWith(err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.fail = err
}

// Emails returns every email recorded, oldest first.
func (o *Outbox) Emails() []Email {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make([]Email, len(o.emails))
	for i, e := range o.emails {
		out[i] = e.Email
	}
	return out
}

// SMS returns every text message recorded, oldest first.
func (o *Outbox) SMS() []SMS {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make([]SMS, len(o.sms))
	for i, m := range o.sms {
		out[i] = m.SMS
	}
	return out
}

// LastEmailTo returns the newest email recorded for the address to
// (compared case-insensitively), and false when there is none.
func (o *Outbox) LastEmailTo(to string) (Email, bool) {
	addr, err := parseRecipient(to)
	if err != nil {
		return Email{}, false
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	for i := len(o.emails) - 1; i >= 0; i-- {
		if strings.EqualFold(o.emails[i].addr, addr) {
			return o.emails[i].Email, true
		}
	}
	return Email{}, false
}

// LastSMSTo returns the newest text message recorded for the number to, and
// false when there is none.
func (o *Outbox) LastSMSTo(to string) (SMS, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for i := len(o.sms) - 1; i >= 0; i-- {
		if o.sms[i].To == to {
			return o.sms[i].SMS, true
		}
	}
	return SMS{}, false
}

// WaitEmail returns the oldest email for the address to (compared
// case-insensitively) that no earlier WaitEmail returned, waiting for one to
// be sent until ctx is done. Each email is returned once, so a test that
// asks for two codes in a row reads the second with a second call.
func (o *Outbox) WaitEmail(ctx context.Context, to string) (Email, error) {
	addr, err := parseRecipient(to)
	if err != nil {
		return Email{}, fmt.Errorf("wait for email: %w", err)
	}
	for {
		o.mu.Lock()
		for i := range o.emails {
			if e := &o.emails[i]; !e.taken && strings.EqualFold(e.addr, addr) {
				e.taken = true
				o.mu.Unlock()
				return e.Email, nil
			}
		}
		changed := o.changedLocked()
		o.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return Email{}, fmt.Errorf("wait for email: %w", ctx.Err())
		}
	}
}

// WaitSMS returns the oldest text message for the number to that no
// earlier WaitSMS returned, waiting for one to be sent until ctx is done.
func (o *Outbox) WaitSMS(ctx context.Context, to string) (SMS, error) {
	for {
		o.mu.Lock()
		for i := range o.sms {
			if m := &o.sms[i]; !m.taken && m.To == to {
				m.taken = true
				o.mu.Unlock()
				return m.SMS, nil
			}
		}
		changed := o.changedLocked()
		o.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return SMS{}, fmt.Errorf("wait for sms: %w", ctx.Err())
		}
	}
}

// changedLocked returns the channel closed at the next recorded message.
func (o *Outbox) changedLocked() <-chan struct{} {
	if o.changed == nil {
		o.changed = make(chan struct{})
	}
	return o.changed
}

// notifyLocked wakes every waiter.
func (o *Outbox) notifyLocked() {
	if o.changed != nil {
		close(o.changed)
		o.changed = nil
	}
}
