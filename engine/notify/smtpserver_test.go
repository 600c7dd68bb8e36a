package notify

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"math/big"
	"net"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"
)

// testServerOptions choose how a testSMTPServer behaves.
type testServerOptions struct {
	// tls is TLSStartTLS (offer STARTTLS), TLSImplicit (a TLS listener) or
	// TLSNone (plain text, no STARTTLS offered).
	tls string
	// stall makes the server accept connections and never say a word.
	stall bool
}

// testSMTPServer is a minimal SMTP server on 127.0.0.1 that records each
// session: enough of RFC 5321 (EHLO, STARTTLS, AUTH PLAIN, MAIL, RCPT, DATA,
// RSET, NOOP, QUIT) to talk to net/smtp.
type testSMTPServer struct {
	addr     string
	roots    *x509.CertPool // trusts the server's certificate
	opts     testServerOptions
	tlsConf  *tls.Config
	sessions chan *smtpSession
	done     chan struct{}

	mu      sync.Mutex
	accepts int
}

// smtpCommand is one command verb and whether it came over TLS.
type smtpCommand struct {
	Verb string
	TLS  bool
}

// smtpSession is what one connection told the server.
type smtpSession struct {
	Commands []smtpCommand
	Hello    string
	AuthUser string
	AuthPass string
	MailFrom string
	RcptTo   []string
	Data     []byte
}

// newTestSMTPServer starts a server that stops when the test ends.
func newTestSMTPServer(t testing.TB, opts testServerOptions) *testSMTPServer {
	t.Helper()
	cert, roots := newTestCert(t)
	s := &testSMTPServer{
		roots:    roots,
		opts:     opts,
		tlsConf:  &tls.Config{Certificates: []tls.Certificate{cert}},
		sessions: make(chan *smtpSession, 16),
		done:     make(chan struct{}),
	}
	var ln net.Listener
	var err error
	if opts.tls == TLSImplicit {
		ln, err = tls.Listen("tcp", "127.0.0.1:0", s.tlsConf)
	} else {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	s.addr = ln.Addr().String()

	var wg sync.WaitGroup
	var connsMu sync.Mutex
	var conns []net.Conn
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.accepts++
			s.mu.Unlock()
			connsMu.Lock()
			conns = append(conns, c)
			connsMu.Unlock()
			wg.Go(func() { s.serve(c) })
		}
	})
	t.Cleanup(func() {
		close(s.done)
		_ = ln.Close()
		connsMu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		connsMu.Unlock()
		wg.Wait()
	})
	return s
}

// connections returns how many connections the server has accepted.
func (s *testSMTPServer) connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accepts
}

// nextSession returns the next finished session, failing the test if none
// finishes within a few seconds.
func (s *testSMTPServer) nextSession(t testing.TB) *smtpSession {
	t.Helper()
	select {
	case sess := <-s.sessions:
		return sess
	case <-time.After(5 * time.Second):
		t.Fatalf("no SMTP session finished")
		return nil
	}
}

func (s *testSMTPServer) serve(c net.Conn) {
	sess := &smtpSession{}
	defer func() {
		_ = c.Close()
		select {
		case s.sessions <- sess:
		default:
		}
	}()
	if s.opts.stall {
		<-s.done
		return
	}
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	tp := textproto.NewConn(c)
	isTLS := s.opts.tls == TLSImplicit
	_ = tp.PrintfLine("220 localhost test ESMTP")
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		verb = strings.ToUpper(verb)
		sess.Commands = append(sess.Commands, smtpCommand{Verb: verb, TLS: isTLS})
		switch verb {
		case "EHLO":
			sess.Hello = arg
			ext := []string{"localhost greets " + arg}
			if s.opts.tls == TLSStartTLS && !isTLS {
				ext = append(ext, "STARTTLS")
			}
			// AUTH is offered before STARTTLS too, as some servers do: the
			// client must not take up the offer.
			ext = append(ext, "AUTH PLAIN LOGIN", "8BITMIME")
			for i, e := range ext {
				sep := "-"
				if i == len(ext)-1 {
					sep = " "
				}
				_ = tp.PrintfLine("250%s%s", sep, e)
			}
		case "STARTTLS":
			if s.opts.tls != TLSStartTLS || isTLS {
				_ = tp.PrintfLine("502 5.5.1 not now")
				continue
			}
			_ = tp.PrintfLine("220 2.0.0 ready")
			tc := tls.Server(c, s.tlsConf)
			if err := tc.Handshake(); err != nil {
				return
			}
			c, tp, isTLS = tc, textproto.NewConn(tc), true
		case "AUTH":
			mech, resp, _ := strings.Cut(arg, " ")
			raw, err := base64.StdEncoding.DecodeString(resp)
			parts := strings.Split(string(raw), "\x00")
			if !strings.EqualFold(mech, "PLAIN") || err != nil || len(parts) != 3 {
				_ = tp.PrintfLine("501 5.5.2 bad AUTH")
				continue
			}
			sess.AuthUser, sess.AuthPass = parts[1], parts[2]
			_ = tp.PrintfLine("235 2.7.0 accepted")
		case "MAIL":
			sess.MailFrom = angleAddr(arg)
			_ = tp.PrintfLine("250 2.1.0 ok")
		case "RCPT":
			sess.RcptTo = append(sess.RcptTo, angleAddr(arg))
			_ = tp.PrintfLine("250 2.1.5 ok")
		case "DATA":
			_ = tp.PrintfLine("354 go ahead")
			data, err := tp.ReadDotBytes()
			if err != nil {
				return
			}
			sess.Data = data
			_ = tp.PrintfLine("250 2.0.0 queued")
		case "RSET", "NOOP":
			_ = tp.PrintfLine("250 2.0.0 ok")
		case "QUIT":
			_ = tp.PrintfLine("221 2.0.0 bye")
			return
		default:
			_ = tp.PrintfLine("502 5.5.2 unknown command")
		}
	}
}

// angleAddr returns the address between < and > in "FROM:<a@b> BODY=8BITMIME".
func angleAddr(arg string) string {
	_, rest, _ := strings.Cut(arg, "<")
	addr, _, _ := strings.Cut(rest, ">")
	return addr
}

// newTestCert returns a self-signed certificate for 127.0.0.1, ::1 and
// localhost, and a pool that trusts it.
func newTestCert(t testing.TB) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("generate key: %v", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "notify test server"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatalf("create certificate: %v", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("parse certificate: %v", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}
