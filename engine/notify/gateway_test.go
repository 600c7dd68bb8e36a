package notify

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/guildhall/guildhall/engine"
)

// gatewayRequest is what the test gateway received.
type gatewayRequest struct {
	Method        string
	Path          string
	ContentType   string
	Authorization string
	Body          map[string]string
}

// testGateway is an httptest SMS gateway that records requests and answers
// with status and body.
type testGateway struct {
	srv *httptest.Server

	mu       sync.Mutex
	requests []gatewayRequest
}

func newTestGateway(t testing.TB, status int, body string) *testGateway {
	t.Helper()
	g := &testGateway{}
	g.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		var fields map[string]string
		if err := json.Unmarshal(raw, &fields); err != nil {
			fields = map[string]string{"unparsable": string(raw)}
		}
		g.mu.Lock()
		g.requests = append(g.requests, gatewayRequest{
			Method:        r.Method,
			Path:          r.URL.Path,
			ContentType:   r.Header.Get("Content-Type"),
			Authorization: r.Header.Get("Authorization"),
			Body:          fields,
		})
		g.mu.Unlock()
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(g.srv.Close)
	return g
}

func (g *testGateway) received() []gatewayRequest {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]gatewayRequest(nil), g.requests...)
}

func mustNewHTTPGateway(t testing.TB, cfg HTTPGatewayConfig) *HTTPGateway {
	t.Helper()
	g, err := NewHTTPGateway(cfg)
	if err != nil {
		t.Fatalf("NewHTTPGateway() error = %v", err)
	}
	return g
}

func TestHTTPGateway_SendSMS(t *testing.T) {
	t.Parallel()

	t.Run("Accepted", func(t *testing.T) {
		t.Parallel()
		gw := newTestGateway(t, http.StatusAccepted, `{"id":"1"}`)
		g := mustNewHTTPGateway(t, HTTPGatewayConfig{URL: gw.srv.URL + "/v1/sms", Token: "t0ken"})

		if err := g.SendSMS(t.Context(), SMS{To: "+4915112345678", Text: "Dein Code: 123456 <ok>"}); err != nil {
			t.Fatalf("SendSMS() error = %v", err)
		}
		want := []gatewayRequest{{
			Method:        http.MethodPost,
			Path:          "/v1/sms",
			ContentType:   "application/json",
			Authorization: "Bearer t0ken",
			Body:          map[string]string{"to": "+4915112345678", "text": "Dein Code: 123456 <ok>"},
		}}
		if diff := cmp.Diff(want, gw.received()); diff != "" {
			t.Errorf("requests (-want +got):\n%s", diff)
		}
	})

	t.Run("NoToken", func(t *testing.T) {
		t.Parallel()
		gw := newTestGateway(t, http.StatusOK, "")
		g := mustNewHTTPGateway(t, HTTPGatewayConfig{URL: gw.srv.URL})

		if err := g.SendSMS(t.Context(), SMS{To: "+14155550123", Text: "hi"}); err != nil {
			t.Fatalf("SendSMS() error = %v", err)
		}
		if got := gw.received(); len(got) != 1 || got[0].Authorization != "" {
			t.Errorf("requests = %+v, want one without Authorization", got)
		}
	})

	t.Run("ServerError", func(t *testing.T) {
		t.Parallel()
		body := "upstream exploded " + strings.Repeat("x", 1000)
		gw := newTestGateway(t, http.StatusInternalServerError, body)
		g := mustNewHTTPGateway(t, HTTPGatewayConfig{URL: gw.srv.URL, Token: "t0ken"})

		err := g.SendSMS(t.Context(), SMS{To: "+4915112345678", Text: "Dein Code: 123456"})
		if err == nil {
			t.Fatal("SendSMS() error = nil, want the 500")
		}
		msg := err.Error()
		if !strings.Contains(msg, "500") || !strings.Contains(msg, "upstream exploded") {
			t.Errorf("SendSMS() error = %q, want the status and the start of the body", msg)
		}
		if strings.Contains(msg, strings.Repeat("x", 200)) {
			t.Errorf("SendSMS() error quotes more than 200 bytes of the body: %d bytes", len(msg))
		}
		if strings.Contains(msg, "t0ken") || strings.Contains(msg, "123456") {
			t.Errorf("SendSMS() error %q contains the token or the text", msg)
		}
		if got := engine.ErrorCode(err); got != engine.CodeInternal {
			t.Errorf("ErrorCode() = %q, want internal", got)
		}
	})

	t.Run("Redirect", func(t *testing.T) {
		t.Parallel()
		gw := httptest.NewServer(http.RedirectHandler("/elsewhere", http.StatusFound))
		t.Cleanup(gw.Close)
		g := mustNewHTTPGateway(t, HTTPGatewayConfig{URL: gw.URL})

		err := g.SendSMS(t.Context(), SMS{To: "+4915112345678", Text: "hi"})
		if err == nil || !strings.Contains(err.Error(), "302") {
			t.Errorf("SendSMS() error = %v, want the 302 as an error", err)
		}
	})

	t.Run("InvalidRecipient", func(t *testing.T) {
		t.Parallel()
		gw := newTestGateway(t, http.StatusOK, "")
		g := mustNewHTTPGateway(t, HTTPGatewayConfig{URL: gw.srv.URL})

		for _, to := range []string{"", "015112345678", "+015112345678", "+49 151 1234567", "+123456", "+1234567890123456", "+49151123456７"} {
			err := g.SendSMS(t.Context(), SMS{To: to, Text: "hi"})
			if !errors.Is(err, ErrInvalidRecipient) || engine.ErrorCode(err) != engine.CodeInvalid {
				t.Errorf("SendSMS(To: %q) error = %v, want ErrInvalidRecipient", to, err)
			}
		}
		if got := gw.received(); len(got) != 0 {
			t.Errorf("gateway received %d requests, want 0", len(got))
		}
	})

	t.Run("Stalled", func(t *testing.T) {
		t.Parallel()
		release := make(chan struct{})
		gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}))
		t.Cleanup(gw.Close)
		t.Cleanup(func() { close(release) })
		g := mustNewHTTPGateway(t, HTTPGatewayConfig{URL: gw.URL, Timeout: 200 * time.Millisecond})

		start := time.Now()
		err := g.SendSMS(t.Context(), SMS{To: "+4915112345678", Text: "hi"})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("SendSMS() error = %v, want a deadline error", err)
		}
		if elapsed := time.Since(start); elapsed > 3*time.Second {
			t.Errorf("SendSMS() returned after %v, want soon after 200ms", elapsed)
		}
	})
}

func TestNewHTTPGateway(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		cfg     HTTPGatewayConfig
		wantErr string // "" for success
	}{
		{"HTTPS", HTTPGatewayConfig{URL: "https://sms.example.com/send", Token: "t0ken"}, ""},
		{"HTTPToLoopback", HTTPGatewayConfig{URL: "http://127.0.0.1:8080/send"}, ""},
		{"HTTPToRemote", HTTPGatewayConfig{URL: "http://sms.example.com/send", Token: "t0ken"}, "must be https"},
		{"OtherScheme", HTTPGatewayConfig{URL: "ftp://sms.example.com/send"}, "must be https"},
		{"NoHost", HTTPGatewayConfig{URL: "https:///send"}, "no host"},
		{"Malformed", HTTPGatewayConfig{URL: "https://sms.example.com/%zz", Token: "t0ken"}, "malformed URL"},
		{"TokenWithLineBreak", HTTPGatewayConfig{URL: "https://sms.example.com/send", Token: "t0ken\r\nX: y"}, "line break"},
		{"NegativeTimeout", HTTPGatewayConfig{URL: "https://sms.example.com/send", Timeout: -time.Second}, "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := NewHTTPGateway(tt.cfg)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("NewHTTPGateway() error = %v, want nil", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("NewHTTPGateway() error = %v, want one mentioning %q", err, tt.wantErr)
			case err != nil && strings.Contains(err.Error(), "t0ken"):
				t.Errorf("NewHTTPGateway() error %q contains the token", err)
			}
		})
	}
}

func TestHTTPGatewayConfig_String(t *testing.T) {
	t.Parallel()
	cfg := HTTPGatewayConfig{URL: "https://user:pw@sms.example.com/send", Token: "t0ken"}
	for _, s := range []string{cfg.String(), cfg.LogValue().String()} {
		if strings.Contains(s, "t0ken") || strings.Contains(s, ":pw@") {
			t.Errorf("%q contains a secret", s)
		}
	}
}
