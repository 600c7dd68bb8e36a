package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/api"
	"github.com/guildhall/guildhall/engine/blob"
	"github.com/guildhall/guildhall/engine/notify"
	"github.com/guildhall/guildhall/engine/secret"
)

// Config is everything the server is configured with, read once from flags
// and environment variables and validated before anything starts.
type Config struct {
	DatabaseURL     string
	Addr            string
	BaseURL         *url.URL
	BaseDomain      string
	LogLevel        slog.Level
	LogFormat       string
	TrustedProxies  api.Proxies
	PlatformToken   string
	ShutdownTimeout time.Duration
	RequestTimeout  time.Duration
	MaxBodyBytes    int64
	DBMaxConns      int32
	SecretKeys      []secret.Key // seal secrets at rest, key one-time code MACs; first seals
	JWTKeys         []secret.Key // sign access tokens; first signs
	SMTP            *notify.SMTPConfig
	SMS             *notify.HTTPGatewayConfig
	// DevDelivery logs emails and texts (codes included) instead of
	// dropping them when no SMTP server or gateway is configured. Only dev
	// sets it.
	DevDelivery bool
	// BlobStore is where uploads live (blob.ParseSpec form); BlobBaseURL
	// the path signed file links point to. S3 credentials come from the
	// standard AWS variables only, never flags (AWSCredentials).
	BlobStore   string
	BlobBaseURL string
	AWS         blob.Options // only the credentials: AccessKeyID, SecretAccessKey, SessionToken
}

// setting is one configuration value: its flag, its environment variable,
// its default and how to apply it.
type setting struct {
	flag, env, def, help string
	apply                func(c *Config, v string) error
}

var settings = map[string]setting{
	"database-url": {"database-url", "DATABASE_URL", "", "PostgreSQL connection string", func(c *Config, v string) error {
		c.DatabaseURL = v
		return nil
	}},
	"addr": {"addr", "GUILDHALL_ADDR", "127.0.0.1:8080", "address to listen on (host:port)", func(c *Config, v string) error {
		if _, port, err := net.SplitHostPort(v); err != nil || port == "" {
			return fmt.Errorf("want host:port such as 127.0.0.1:8080 or :8080")
		}
		c.Addr = v
		return nil
	}},
	"base-url": {"base-url", "GUILDHALL_BASE_URL", "http://localhost:8080", "public URL of the platform host; tenants live at slug.<its host>", func(c *Config, v string) error {
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			return fmt.Errorf("want an http(s) URL with a host and no path, such as https://guildhall.example")
		}
		c.BaseURL = u
		if c.BaseDomain == "" {
			c.BaseDomain = strings.ToLower(u.Hostname())
		}
		return nil
	}},
	"base-domain": {"base-domain", "GUILDHALL_BASE_DOMAIN", "", "domain whose subdomains are tenant slugs (default: the host of the base URL)", func(c *Config, v string) error {
		if v == "" {
			return nil
		}
		if strings.ContainsAny(v, ":/ ") || strings.HasPrefix(v, ".") || strings.HasSuffix(v, ".") {
			return fmt.Errorf("want a domain name such as guildhall.example")
		}
		c.BaseDomain = strings.ToLower(v)
		return nil
	}},
	"log-level": {"log-level", "GUILDHALL_LOG_LEVEL", "info", "debug, info, warn or error", func(c *Config, v string) error {
		return c.LogLevel.UnmarshalText([]byte(v))
	}},
	"log-format": {"log-format", "GUILDHALL_LOG_FORMAT", "", "json or text (default: json for serve, text for dev)", func(c *Config, v string) error {
		if v != "" && v != "json" && v != "text" {
			return fmt.Errorf("want json or text")
		}
		c.LogFormat = v
		return nil
	}},
	"trusted-proxies": {"trusted-proxies", "GUILDHALL_TRUSTED_PROXIES", "", "comma-separated CIDRs whose X-Forwarded-* headers are trusted (default: none)", func(c *Config, v string) error {
		ps, err := api.ParseProxies(v)
		c.TrustedProxies = ps
		return err
	}},
	"platform-token": {"platform-token", "GUILDHALL_PLATFORM_TOKEN", "", "bearer token for the platform API (at least 32 characters; empty disables it)", func(c *Config, v string) error {
		if v != "" && len(v) < 32 {
			return fmt.Errorf("want at least 32 characters")
		}
		c.PlatformToken = v
		return nil
	}},
	"shutdown-timeout": {"shutdown-timeout", "GUILDHALL_SHUTDOWN_TIMEOUT", "20s", "how long to let requests in flight finish on shutdown", durationSetting(func(c *Config) *time.Duration { return &c.ShutdownTimeout })},
	"request-timeout":  {"request-timeout", "GUILDHALL_REQUEST_TIMEOUT", "30s", "how long a request may take", durationSetting(func(c *Config) *time.Duration { return &c.RequestTimeout })},
	"max-body-bytes": {"max-body-bytes", "GUILDHALL_MAX_BODY_BYTES", "10485760", "largest request body accepted (API operations have smaller limits)", func(c *Config, v string) error {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1024 {
			return fmt.Errorf("want a number of bytes, at least 1024")
		}
		c.MaxBodyBytes = n
		return nil
	}},
	"blob-store": {"blob-store", "GUILDHALL_BLOB_STORE", "file:///var/lib/guildhall/blobs", "where uploads live: file:///path, a path, or s3://bucket/prefix?endpoint=host:port&region=…&secure=true (credentials from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN)", func(c *Config, v string) error {
		if _, err := blob.ParseSpec(v); err != nil {
			return err
		}
		c.BlobStore = v
		return nil
	}},
	"blob-base-url": {"blob-base-url", "GUILDHALL_BLOB_BASE_URL", blob.DefaultBaseURL, "path that signed links to uploaded files point to, served by every host", func(c *Config, v string) error {
		if !strings.HasPrefix(v, "/") || strings.HasPrefix(v, "//") || strings.ContainsAny(v, "?# ") || v == "/" {
			return fmt.Errorf("want a path such as /files")
		}
		c.BlobBaseURL = strings.TrimRight(v, "/")
		return nil
	}},
	"secret-keys": {"secret-keys", "GUILDHALL_SECRET_KEYS", "", "id:base64 keys (32 bytes) sealing secrets at rest; the first seals, all open (required by serve)", func(c *Config, v string) error {
		if v == "" {
			return nil
		}
		keys, err := secret.ParseKeys(v)
		if err == nil {
			_, err = secret.NewKeyring(keys...)
		}
		c.SecretKeys = keys
		return err
	}},
	"jwt-keys": {"jwt-keys", "GUILDHALL_JWT_KEYS", "", "id:base64 keys (32 bytes) signing access tokens; the first signs, all verify (required by serve)", func(c *Config, v string) error {
		if v == "" {
			return nil
		}
		keys, err := secret.ParseKeys(v)
		if err == nil {
			_, err = secret.NewKeyring(keys...)
		}
		c.JWTKeys = keys
		return err
	}},
	"smtp-url": {"smtp-url", "GUILDHALL_SMTP_URL", "", "SMTP server for email, e.g. smtp://user:pass@mail.example:587?from=noreply@example.com (default: none)", func(c *Config, v string) error {
		if v == "" {
			return nil
		}
		cfg, err := notify.ParseSMTPURL(v)
		if err != nil {
			return err
		}
		c.SMTP = &cfg
		return nil
	}},
	"sms-url": {"sms-url", "GUILDHALL_SMS_URL", "", "HTTP gateway texts are POSTed to as JSON {to, text} (default: none)", func(c *Config, v string) error {
		if v == "" {
			return nil
		}
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return fmt.Errorf("want an http(s) URL")
		}
		c.SMS = &notify.HTTPGatewayConfig{URL: v}
		return nil
	}},
	"sms-token": {"sms-token", "GUILDHALL_SMS_TOKEN", "", "bearer token for the SMS gateway", func(c *Config, v string) error {
		if v != "" && c.SMS != nil {
			c.SMS.Token = v
		}
		return nil
	}},
	"db-max-conns": {"db-max-conns", "GUILDHALL_DB_MAX_CONNS", "20", "largest number of database connections", func(c *Config, v string) error {
		n, err := strconv.ParseInt(v, 10, 32)
		if err != nil || n < 2 || n > 1000 {
			return fmt.Errorf("want a number from 2 to 1000")
		}
		c.DBMaxConns = int32(n)
		return nil
	}},
}

func durationSetting(field func(*Config) *time.Duration) func(*Config, string) error {
	return func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return fmt.Errorf("want a positive duration such as 30s")
		}
		*field(c) = d
		return nil
	}
}

// configFlags registers the named settings on fs and returns a function
// that, after fs.Parse, builds and validates the Config: a flag wins over its
// environment variable, which wins over the default.
func configFlags(fs *flag.FlagSet, getenv func(string) string, names ...string) func() (Config, error) {
	vals := map[string]*string{}
	for _, n := range names {
		s := settings[n]
		vals[n] = fs.String(s.flag, "", s.help+" (env "+s.env+", default "+quoteDefault(s.def)+")")
	}
	return func() (Config, error) {
		c := Config{LogLevel: slog.LevelInfo, ShutdownTimeout: 20 * time.Second, RequestTimeout: 30 * time.Second,
			MaxBodyBytes: 10 << 20, DBMaxConns: 20}
		// base-domain before base-url, so an explicit one is kept.
		order := append([]string{}, names...)
		for i, n := range order {
			if n == "base-domain" {
				order = append([]string{n}, append(order[:i:i], order[i+1:]...)...)
				break
			}
		}
		for _, n := range order {
			s := settings[n]
			v, source := *vals[n], "--"+s.flag
			if v == "" {
				v, source = getenv(s.env), s.env
			}
			if v == "" {
				v, source = s.def, "default of --"+s.flag
			}
			if err := s.apply(&c, v); err != nil {
				return Config{}, usagef("invalid %s %q: %v", source, redact(n, v), err)
			}
			if n == "blob-store" {
				// Credentials stay out of flags, and so out of process listings.
				c.AWS = blob.Options{AccessKeyID: getenv("AWS_ACCESS_KEY_ID"), SecretAccessKey: getenv("AWS_SECRET_ACCESS_KEY"), SessionToken: getenv("AWS_SESSION_TOKEN")}
			}
		}
		return c, nil
	}
}

func quoteDefault(d string) string {
	if d == "" {
		return "none"
	}
	return d
}

// redact keeps secrets out of error messages.
func redact(name, v string) string {
	switch name {
	case "platform-token", "secret-keys", "jwt-keys", "sms-token":
		return "…"
	case "smtp-url":
		if u, err := url.Parse(v); err == nil && u.User != nil {
			u.User = url.User(u.User.Username())
			return u.String()
		}
	case "database-url":
		if u, err := url.Parse(v); err == nil && u.User != nil {
			if _, ok := u.User.Password(); ok {
				u.User = url.UserPassword(u.User.Username(), "xxxxx")
				return u.String()
			}
		}
	}
	return v
}

// newLogger builds the process's one logger.
func newLogger(c Config, w io.Writer, defaultFormat string) *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.LogLevel}
	format := c.LogFormat
	if format == "" {
		format = defaultFormat
	}
	var h slog.Handler = slog.NewJSONHandler(w, opts)
	if format == "text" {
		h = slog.NewTextHandler(w, opts)
	}
	return slog.New(engine.NewLogHandler(h))
}

var errHelp = errors.New("help shown")
