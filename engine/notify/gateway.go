package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DefaultGatewayTimeout bounds one send when HTTPGatewayConfig.Timeout is
// zero.
const DefaultGatewayTimeout = 10 * time.Second

// maxErrorBody is how much of a failed answer's body an error quotes.
const maxErrorBody = 200

// HTTPGatewayConfig says how to reach an SMS gateway that takes one message
// per JSON POST.
type HTTPGatewayConfig struct {
	// URL is the endpoint messages are POSTed to. It must be https, or http
	// to a loopback host.
	URL string
	// Token, when set, is sent as "Authorization: Bearer <Token>". It never
	// appears in errors, logs (see LogValue) or JSON.
	Token string `json:"-"`
	// Timeout bounds one send; zero means DefaultGatewayTimeout.
	Timeout time.Duration
	// Client sends the requests; nil means a client that does not follow
	// redirects (a redirected POST would silently lose its body).
	Client *http.Client `json:"-"`
}

// String describes c without its token.
func (c HTTPGatewayConfig) String() string {
	return fmt.Sprintf("sms gateway url=%s token_set=%t", redactURL(c.URL), c.Token != "")
}

// LogValue describes c for slog without its token.
func (c HTTPGatewayConfig) LogValue() slog.Value {
	return slog.GroupValue(slog.String("url", redactURL(c.URL)), slog.Bool("token_set", c.Token != ""))
}

func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(malformed)"
	}
	return u.Redacted()
}

// HTTPGateway is the Texter that POSTs each message as JSON,
// {"to": "+4915112345678", "text": "..."}, to an SMS gateway. Any 2xx answer
// means the gateway accepted the message; any other is an error quoting the
// status and at most 200 bytes of the body. It is safe for concurrent use.
type HTTPGateway struct {
	url     string
	token   string
	timeout time.Duration
	client  *http.Client
}

var _ Texter = (*HTTPGateway)(nil)

// NewHTTPGateway returns an HTTPGateway for cfg, after validating cfg.
func NewHTTPGateway(cfg HTTPGatewayConfig) (*HTTPGateway, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return nil, errors.New("configure sms gateway: malformed URL")
	}
	switch {
	case u.Host == "" || u.Hostname() == "":
		return nil, errors.New("configure sms gateway: URL has no host")
	case u.Scheme == "https":
	case u.Scheme == "http" && isLoopback(u.Hostname()):
	default:
		return nil, errors.New("configure sms gateway: URL must be https (or http to a loopback host)")
	}
	if strings.ContainsAny(cfg.Token, "\r\n") {
		return nil, errors.New("configure sms gateway: token contains a line break")
	}
	if cfg.Timeout < 0 {
		return nil, errors.New("configure sms gateway: timeout is negative")
	}
	g := &HTTPGateway{url: cfg.URL, token: cfg.Token, timeout: cfg.Timeout, client: cfg.Client}
	if g.timeout == 0 {
		g.timeout = DefaultGatewayTimeout
	}
	if g.client == nil {
		g.client = &http.Client{
			Timeout: g.timeout,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		}
	}
	return g, nil
}

// SendSMS POSTs m to the gateway, within ctx and the configured timeout. See
// Texter for the errors.
func (g *HTTPGateway) SendSMS(ctx context.Context, m SMS) error {
	if err := checkSMS(m); err != nil {
		return fmt.Errorf("send sms: %w", err)
	}
	body, err := json.Marshal(struct {
		To   string `json:"to"`
		Text string `json:"text"`
	}{m.To, m.Text})
	if err != nil {
		return fmt.Errorf("send sms: encode: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, g.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("send sms: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "guildhall")
	if g.token != "" {
		req.Header.Set("Authorization", "Bearer "+g.token)
	}
	resp, err := g.client.Do(req)
	if err != nil {
		return fmt.Errorf("send sms: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		// Drain a little so the connection can be reused.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		return nil
	}
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	return fmt.Errorf("send sms: gateway answered %d %s: %q",
		resp.StatusCode, http.StatusText(resp.StatusCode), strings.ToValidUTF8(string(snippet), ""))
}
