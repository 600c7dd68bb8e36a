package blob

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
)

// Spec is a parsed store specification: exactly one of Dir and S3 is set.
type Spec struct {
	// Dir is the directory of a Disk store.
	Dir string
	// S3 configures an S3 store, without credentials.
	S3 *S3Config
}

// Options are what Open needs beyond the spec. A Disk uses the first
// group, an S3 store the second; each ignores the other's.
type Options struct {
	// Secret signs Disk URLs (at least MinSecretLen bytes), BaseURL
	// prefixes them (default DefaultBaseURL), Log gets the Handler's I/O
	// failures: see DiskConfig.
	Secret  []byte
	BaseURL string
	Log     *slog.Logger

	// S3 credentials, which cmd reads from AWS_ACCESS_KEY_ID,
	// AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN.
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
}

// Open parses spec (see ParseSpec) and returns the store it names. A Disk
// creates its directory; an S3 store makes no request.
func Open(spec string, o Options) (Store, error) {
	sp, err := ParseSpec(spec)
	if err != nil {
		return nil, err
	}
	if sp.S3 != nil {
		c := *sp.S3
		c.AccessKeyID, c.SecretAccessKey, c.SessionToken = o.AccessKeyID, o.SecretAccessKey, o.SessionToken
		return NewS3(c)
	}
	return NewDisk(DiskConfig{Dir: sp.Dir, Secret: o.Secret, BaseURL: o.BaseURL, Log: o.Log})
}

// ParseSpec reads a store specification:
//
//	file:///var/lib/guildhall/blobs   a Disk store in that directory
//	/var/lib/guildhall/blobs          the same (a bare path may be relative)
//	s3://bucket/prefix/?endpoint=host:port&region=eu-west-1&secure=true
//
// For s3, the path is an optional key prefix, endpoint defaults to
// s3.amazonaws.com, region to us-east-1 and secure to true; any other
// parameter is an error. Credentials are not part of a spec: one holding
// a user or password is refused, and errors never repeat it.
func ParseSpec(spec string) (Spec, error) {
	if spec == "" {
		return Spec{}, errors.New("blob store: empty spec: want file:///path, a path, or s3://bucket")
	}
	if strings.ContainsFunc(spec, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return Spec{}, errors.New("blob store: spec holds control characters")
	}
	scheme, _, hasScheme := strings.Cut(spec, "://")
	if !hasScheme {
		if strings.Contains(spec, ":") {
			return Spec{}, errors.New("blob store: a bare path must not hold ':' (did you mean file:///path or s3://bucket?)")
		}
		return Spec{Dir: filepath.Clean(spec)}, nil
	}
	switch scheme {
	case "file":
		return parseFileSpec(spec)
	case "s3":
		return parseS3Spec(spec)
	}
	// Name the scheme only when it looks like one: the spec could hold a
	// secret anywhere.
	if len(scheme) > 16 || strings.ContainsFunc(scheme, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '+' || r == '-' || r == '.')
	}) {
		return Spec{}, errors.New("blob store: unknown scheme: want file or s3")
	}
	return Spec{}, fmt.Errorf("blob store: unknown scheme %q: want file or s3", scheme)
}

func parseFileSpec(spec string) (Spec, error) {
	u, err := url.Parse(spec)
	switch {
	case err != nil:
		return Spec{}, errors.New("blob store: file spec is not a valid URL")
	case u.User != nil:
		return Spec{}, errors.New("blob store: file spec must not hold a user")
	case u.Host != "" && u.Host != "localhost":
		// Not repeated: it may be user:password of a mistyped spec.
		return Spec{}, errors.New("blob store: file spec names a host: want file:///absolute/path")
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return Spec{}, errors.New("blob store: file spec takes no query or fragment")
	case !strings.HasPrefix(u.Path, "/") || filepath.Clean(u.Path) == "/":
		return Spec{}, errors.New("blob store: file spec needs an absolute path other than /: file:///var/lib/guildhall/blobs")
	}
	return Spec{Dir: filepath.Clean(u.Path)}, nil
}

func parseS3Spec(spec string) (Spec, error) {
	u, err := url.Parse(spec)
	if err != nil {
		return Spec{}, errors.New("blob store: s3 spec is not a valid URL")
	}
	if u.User != nil {
		return Spec{}, errors.New("blob store: s3 spec must not hold credentials: pass them as options")
	}
	if u.Fragment != "" {
		return Spec{}, errors.New("blob store: s3 spec takes no fragment")
	}
	c := &S3Config{Bucket: u.Host, Endpoint: defaultS3Endpoint, Region: defaultS3Region, Secure: true}
	if !validBucket(c.Bucket) {
		msg := "want 3 to 63 of [a-z0-9.-], starting and ending with a letter or digit"
		if strings.ContainsAny(c.Bucket, ":@") {
			// It may be user:password of a mistyped spec: don't repeat it.
			return Spec{}, errors.New("blob store: s3 bucket: " + msg)
		}
		return Spec{}, fmt.Errorf("blob store: s3 bucket %q: %s", c.Bucket, msg)
	}
	if u.RawPath != "" {
		return Spec{}, errors.New("blob store: s3 prefix must not need escaping")
	}
	if p := strings.TrimPrefix(u.Path, "/"); p != "" {
		if !strings.HasSuffix(p, "/") {
			p += "/"
		}
		if !validPrefix(p) {
			return Spec{}, fmt.Errorf("blob store: s3 prefix %q: want segments of [a-z0-9._-]", p)
		}
		c.Prefix = p
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return Spec{}, errors.New("blob store: s3 spec query does not parse")
	}
	for name, vs := range q {
		if len(vs) != 1 {
			return Spec{}, fmt.Errorf("blob store: s3 parameter %q given %d times", name, len(vs))
		}
		v := vs[0]
		switch name {
		case "endpoint":
			if err := checkEndpoint(v); err != nil {
				return Spec{}, fmt.Errorf("blob store: s3 %w", err)
			}
			c.Endpoint = v
		case "region":
			if !validRegion(v) {
				return Spec{}, fmt.Errorf("blob store: s3 region %q: want letters, digits and dashes", v)
			}
			c.Region = v
		case "secure":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return Spec{}, fmt.Errorf("blob store: s3 secure=%q: want true or false", v)
			}
			c.Secure = b
		default:
			return Spec{}, fmt.Errorf("blob store: unknown s3 parameter %q: want endpoint, region or secure", name)
		}
	}
	return Spec{S3: c}, nil
}

// checkEndpoint accepts host, host:port, [ipv6] or [ipv6]:port, without
// scheme or path.
func checkEndpoint(e string) error {
	if strings.Contains(e, "://") {
		return fmt.Errorf("endpoint %q: want host[:port] without a scheme (secure=false selects http)", e)
	}
	bad := fmt.Errorf("endpoint %q: want host[:port], with an IPv6 address in brackets", e)
	host, port := e, ""
	switch {
	case strings.HasPrefix(e, "[") && strings.HasSuffix(e, "]"):
		host = e[1 : len(e)-1]
		if !strings.Contains(host, ":") {
			return bad
		}
	case strings.Contains(e, ":"):
		h, p, err := net.SplitHostPort(e)
		if err != nil || strings.Contains(h, ":") != strings.HasPrefix(e, "[") {
			return bad
		}
		host, port = h, p
	}
	if port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != port {
			return fmt.Errorf("endpoint %q: port must be 1 to 65535", e)
		}
	}
	if ip := net.ParseIP(host); ip != nil {
		if strings.Contains(host, ":") != (ip.To4() == nil) || strings.Contains(host, ".") && strings.Contains(host, ":") {
			return bad // IPv4-mapped and other mixed spellings
		}
		return nil
	}
	if !validHostname(host) {
		return bad
	}
	return nil
}

// validHostname reports whether h is a DNS name of letters, digits, dashes
// and dots.
func validHostname(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for label := range strings.SplitSeq(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i] | 0x20
			if !(c >= 'a' && c <= 'z' || label[i] >= '0' && label[i] <= '9' || label[i] == '-') {
				return false
			}
		}
	}
	return true
}

// validBucket applies S3's naming rules for new buckets, which every
// S3-compatible service accepts.
func validBucket(b string) bool {
	if len(b) < 3 || len(b) > 63 || net.ParseIP(b) != nil || strings.Contains(b, "..") {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		alnum := c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || i == len(b)-1 || c != '.' && c != '-') {
			return false
		}
	}
	return true
}

// validPrefix accepts "" or key segments ending in "/".
func validPrefix(p string) bool {
	return p == "" || strings.HasSuffix(p, "/") && ValidKey(strings.TrimSuffix(p, "/"))
}

func validRegion(r string) bool {
	if r == "" || len(r) > 32 {
		return false
	}
	for i := 0; i < len(r); i++ {
		c := r[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}
