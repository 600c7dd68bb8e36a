package notify

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/mail"
	"net/netip"
	"net/smtp"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The TLS modes of SMTPConfig.
const (
	// TLSStartTLS connects in plain text and upgrades with STARTTLS before
	// anything else is said; a server that does not offer STARTTLS is an
	// error, never a reason to go on in plain text. The usual mode on port
	// 587.
	TLSStartTLS = "starttls"
	// TLSImplicit speaks TLS from the first byte, usually on port 465.
	TLSImplicit = "tls"
	// TLSNone speaks plain text. It is only allowed to a loopback host, such
	// as a mail catcher in development.
	TLSNone = "none"
)

// DefaultSMTPTimeout bounds one send when SMTPConfig.Timeout is zero.
const DefaultSMTPTimeout = 30 * time.Second

// SMTPConfig says how to reach an SMTP server. ParseSMTPURL reads one from a
// URL, so the server can be configured with one environment variable.
type SMTPConfig struct {
	// Addr is the server's host:port.
	Addr string
	// Username, when set, authenticates with AUTH PLAIN, which is only ever
	// sent over TLS or to a loopback host.
	Username string
	// Password goes with Username. It never appears in errors, logs (see
	// LogValue) or JSON.
	Password string `json:"-"`
	// From is the sender's address, for the envelope and the From header.
	// It may carry a display name ("Guildhall <noreply@example.com>"), used
	// for emails without a FromName.
	From string
	// TLS is TLSStartTLS (the default when empty), TLSImplicit or TLSNone.
	TLS string
	// Timeout bounds one whole send, from dialling to the server's answer;
	// zero means DefaultSMTPTimeout.
	Timeout time.Duration
	// HelloName is the client's name in EHLO; empty means "localhost".
	HelloName string
	// RootCAs, when set, are the only authorities trusted to sign the
	// server's certificate; nil means the system's. Tests use it to trust a
	// self-signed certificate.
	RootCAs *x509.CertPool
	// Now is the clock for the Date header; nil means time.Now.
	Now func() time.Time
}

// String describes c without its password.
func (c SMTPConfig) String() string {
	return fmt.Sprintf("smtp addr=%s tls=%s username=%q from=%q", c.Addr, c.TLS, c.Username, c.From)
}

// LogValue describes c for slog without its password.
func (c SMTPConfig) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("addr", c.Addr),
		slog.String("tls", c.TLS),
		slog.String("username", c.Username),
		slog.String("from", c.From),
	)
}

func (c SMTPConfig) withDefaults() SMTPConfig {
	if c.TLS == "" {
		c.TLS = TLSStartTLS
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultSMTPTimeout
	}
	if c.HelloName == "" {
		c.HelloName = "localhost"
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// validate checks c, which has its defaults. Its errors never contain the
// password.
func (c SMTPConfig) validate() error {
	host, port, err := net.SplitHostPort(c.Addr)
	if err != nil || host == "" {
		return fmt.Errorf("addr %q is not host:port", c.Addr)
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
		return fmt.Errorf("addr %q has no valid port", c.Addr)
	}
	switch c.TLS {
	case TLSStartTLS, TLSImplicit:
	case TLSNone:
		if !isLoopback(host) {
			return fmt.Errorf("tls %q is only allowed to a loopback host, not %q", TLSNone, host)
		}
	default:
		return fmt.Errorf("tls %q is not %q, %q or %q", c.TLS, TLSStartTLS, TLSImplicit, TLSNone)
	}
	if c.From == "" {
		return errors.New("from address is missing")
	}
	if checkHeaderText(c.From) != nil {
		return errors.New("from address contains control characters")
	}
	from, err := mail.ParseAddress(c.From)
	if err != nil {
		return fmt.Errorf("from address: %w", err)
	}
	if len(from.Address) > maxAddressLen {
		return errors.New("from address is too long")
	}
	if c.Timeout < 0 {
		return errors.New("timeout is negative")
	}
	if strings.ContainsFunc(c.HelloName, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(".-:[]", r))
	}) {
		return errors.New("hello name must be a host name or address literal")
	}
	if c.Username == "" && c.Password != "" {
		return errors.New("password without username")
	}
	if strings.ContainsRune(c.Username, 0) || strings.ContainsRune(c.Password, 0) {
		return errors.New("username and password must not contain NUL")
	}
	return nil
}

// ParseSMTPURL reads an SMTPConfig from a URL:
//
//	smtp://user:pass@host:587?from=noreply@example.com          STARTTLS, port 587 by default
//	smtps://user:pass@host:465?from=noreply@example.com         implicit TLS, port 465 by default
//	smtp+insecure://localhost:1025?from=noreply@example.com     no TLS, loopback only, port 25 by default
//
// The user name and password are percent-encoded. Query parameters: from
// (required), hello (HelloName) and timeout (a time.ParseDuration string).
// The result has been validated as NewSMTP does. Errors never contain the
// password.
func ParseSMTPURL(s string) (SMTPConfig, error) {
	// url.Parse's errors quote the whole input, password included, and no
	// part of its detail is safe to pass on.
	u, err := url.Parse(s)
	if err != nil {
		return SMTPConfig{}, errors.New("parse smtp url: malformed URL (percent-encode special characters in the user name and password)")
	}
	var c SMTPConfig
	var port string
	switch u.Scheme {
	case "smtp":
		c.TLS, port = TLSStartTLS, "587"
	case "smtps":
		c.TLS, port = TLSImplicit, "465"
	case "smtp+insecure":
		c.TLS, port = TLSNone, "25"
	default:
		return SMTPConfig{}, errors.New("parse smtp url: scheme must be smtp, smtps or smtp+insecure")
	}
	if u.Opaque != "" || u.Host == "" || u.Hostname() == "" {
		return SMTPConfig{}, errors.New("parse smtp url: missing host (write scheme://host:port)")
	}
	if u.Path != "" && u.Path != "/" {
		return SMTPConfig{}, errors.New("parse smtp url: unexpected path")
	}
	if u.Fragment != "" {
		return SMTPConfig{}, errors.New("parse smtp url: unexpected fragment")
	}
	if p := u.Port(); p != "" {
		port = p
	}
	c.Addr = net.JoinHostPort(u.Hostname(), port)
	if u.User != nil {
		c.Username = u.User.Username()
		c.Password, _ = u.User.Password()
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return SMTPConfig{}, errors.New("parse smtp url: malformed query")
	}
	for k, vs := range q {
		if len(vs) != 1 {
			return SMTPConfig{}, fmt.Errorf("parse smtp url: parameter %q given %d times", k, len(vs))
		}
		switch v := vs[0]; k {
		case "from":
			c.From = v
		case "hello":
			c.HelloName = v
		case "timeout":
			d, err := time.ParseDuration(v)
			if err != nil {
				return SMTPConfig{}, fmt.Errorf("parse smtp url: timeout: %w", err)
			}
			c.Timeout = d
		default:
			return SMTPConfig{}, fmt.Errorf("parse smtp url: unknown parameter %q (want from, hello or timeout)", k)
		}
	}
	if err := c.withDefaults().validate(); err != nil {
		return SMTPConfig{}, fmt.Errorf("parse smtp url: %w", err)
	}
	return c, nil
}

// SMTP is the Mailer that sends through an SMTP server: a mail provider's
// submission port or a relay. Each send opens its own connection, so SMTP is
// safe for concurrent use. Server replies come back as *textproto.Error in
// the error chain; a 5xx code there is permanent.
type SMTP struct {
	cfg      SMTPConfig // with defaults, validated
	host     string
	fromName string
	fromAddr string
}

var _ Mailer = (*SMTP)(nil)

// NewSMTP returns an SMTP mailer for cfg, after validating cfg.
func NewSMTP(cfg SMTPConfig) (*SMTP, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("configure smtp: %w", err)
	}
	host, _, _ := net.SplitHostPort(cfg.Addr)
	from, _ := mail.ParseAddress(cfg.From)
	return &SMTP{cfg: cfg, host: host, fromName: from.Name, fromAddr: from.Address}, nil
}

// SendEmail sends m in one SMTP session, within ctx and the configured
// timeout. See Mailer for the errors.
func (s *SMTP) SendEmail(ctx context.Context, m Email) error {
	to, err := checkEmail(m)
	if err != nil {
		return fmt.Errorf("send email: %w", err)
	}
	h := messageHeader{
		date:      s.cfg.Now(),
		messageID: "<" + rand.Text() + "@" + domainOf(s.fromAddr) + ">",
		fromName:  s.fromName,
		fromAddr:  s.fromAddr,
		to:        to,
	}
	if m.FromName != "" {
		h.fromName = m.FromName
	}
	msg := buildMessage(h, m)

	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	if err := s.deliver(ctx, to, msg); err != nil {
		// A stalled server surfaces as a deadline error on the connection;
		// say why the deadline was there. The connection's deadline can
		// pass a moment before ctx notices its own.
		ctxErr := ctx.Err()
		if d, ok := ctx.Deadline(); ok && ctxErr == nil && !time.Now().Before(d) {
			ctxErr = context.DeadlineExceeded
		}
		if ctxErr != nil && !errors.Is(err, ctxErr) {
			return fmt.Errorf("send email: %w: %w", ctxErr, err)
		}
		return fmt.Errorf("send email: %w", err)
	}
	return nil
}

// deliver runs one SMTP session that sends msg to to.
func (s *SMTP) deliver(ctx context.Context, to string, msg []byte) error {
	conn, err := s.dial(ctx)
	if err != nil {
		return fmt.Errorf("dial: %w", err)
	}
	defer conn.Close()
	// The deadline covers a server that stops answering; the AfterFunc
	// covers a ctx cancelled without one. Either makes the blocked read or
	// write return at once.
	if d, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(d)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	if s.cfg.TLS == TLSNone {
		// "none" was allowed for a loopback name; make sure that is where
		// the name led.
		ap, err := netip.ParseAddrPort(conn.RemoteAddr().String())
		if err != nil || !ap.Addr().Unmap().IsLoopback() {
			return errors.New("plain-text connection did not reach a loopback address")
		}
	}

	c, err := smtp.NewClient(conn, s.host)
	if err != nil {
		return fmt.Errorf("read greeting: %w", err)
	}
	defer c.Close()
	if err := c.Hello(s.cfg.HelloName); err != nil {
		return fmt.Errorf("hello: %w", err)
	}
	if s.cfg.TLS == TLSStartTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return errors.New("server does not offer STARTTLS")
		}
		if err := c.StartTLS(s.tlsConfig()); err != nil {
			return fmt.Errorf("starttls: %w", err)
		}
	}
	if s.cfg.Username != "" {
		if err := s.auth(c); err != nil {
			return fmt.Errorf("auth: %w", err)
		}
	}
	if err := c.Mail(s.fromAddr); err != nil {
		return fmt.Errorf("mail from: %w", err)
	}
	if err := c.Rcpt(to); err != nil {
		return fmt.Errorf("rcpt to: %w", err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("data: %w", err)
	}
	if _, err := w.Write(msg); err != nil {
		return fmt.Errorf("write message: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("end message: %w", err)
	}
	// The server has accepted the message; a failed goodbye does not
	// unsend it, and reporting it would invite a duplicate.
	_ = c.Quit()
	return nil
}

func (s *SMTP) dial(ctx context.Context) (net.Conn, error) {
	d := &net.Dialer{}
	if s.cfg.TLS == TLSImplicit {
		td := &tls.Dialer{NetDialer: d, Config: s.tlsConfig()}
		return td.DialContext(ctx, "tcp", s.cfg.Addr)
	}
	return d.DialContext(ctx, "tcp", s.cfg.Addr)
}

func (s *SMTP) tlsConfig() *tls.Config {
	return &tls.Config{ServerName: s.host, RootCAs: s.cfg.RootCAs, MinVersion: tls.VersionTLS12}
}

// auth authenticates with AUTH PLAIN, the one mechanism every submission
// server offers; it is only sent over TLS or to a loopback host.
func (s *SMTP) auth(c *smtp.Client) error {
	_, isTLS := c.TLSConnectionState()
	if !isTLS && !isLoopback(s.host) {
		return errors.New("refusing to send credentials without TLS")
	}
	ok, mechs := c.Extension("AUTH")
	if !ok || !containsFold(strings.Fields(mechs), "PLAIN") {
		return errors.New("server does not offer AUTH PLAIN")
	}
	return c.Auth(plainAuth{username: s.cfg.Username, password: s.cfg.Password})
}

// plainAuth is RFC 4616 PLAIN. Unlike smtp.PlainAuth it leaves the decision
// whether the connection may carry credentials to SMTP.auth, which also
// accepts every loopback address.
type plainAuth struct {
	username, password string
}

func (a plainAuth) Start(*smtp.ServerInfo) (string, []byte, error) {
	return "PLAIN", []byte("\x00" + a.username + "\x00" + a.password), nil
}

func (a plainAuth) Next(_ []byte, more bool) ([]byte, error) {
	if more {
		return nil, errors.New("unexpected server challenge")
	}
	return nil, nil
}

// isLoopback reports whether host names this machine: "localhost" or a
// loopback IP address.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

// domainOf returns the part of addr after its last "@".
func domainOf(addr string) string {
	return addr[strings.LastIndexByte(addr, '@')+1:]
}
