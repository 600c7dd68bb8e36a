package notify

import (
	"context"
	"fmt"
	"log/slog"
)

// Log is the Mailer and Texter for development: instead of sending, it
// writes one Info line per message with the recipient, subject and text, so
// a developer can read a sign-in code from the log.
//
// Log must not be used in production: it writes message text, one-time
// codes included, to the log, which the rest of Guildhall never does.
// It checks messages exactly as the real senders do, so a bad recipient
// fails in development as it would in production.
type Log struct {
	log *slog.Logger
}

var (
	_ Mailer = (*Log)(nil)
	_ Texter = (*Log)(nil)
)

// NewLog returns a Log writing to log.
func NewLog(log *slog.Logger) *Log {
	return &Log{log: log}
}

// SendEmail logs m as "email not sent (development)" with keys to,
// from_name, subject and text; the HTML part is left out.
func (l *Log) SendEmail(ctx context.Context, m Email) error {
	if _, err := checkEmail(m); err != nil {
		return fmt.Errorf("send email: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("send email: %w", err)
	}
	l.log.InfoContext(ctx, "email not sent (development)",
		slog.String("to", m.To),
		slog.String("from_name", m.FromName),
		slog.String("subject", m.Subject),
		slog.String("text", m.Text),
	)
	return nil
}

// SendSMS logs m as "sms not sent (development)" with keys to and text.
func (l *Log) SendSMS(ctx context.Context, m SMS) error {
	if err := checkSMS(m); err != nil {
		return fmt.Errorf("send sms: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("send sms: %w", err)
	}
	l.log.InfoContext(ctx, "sms not sent (development)",
		slog.String("to", m.To),
		slog.String("text", m.Text),
	)
	return nil
}
