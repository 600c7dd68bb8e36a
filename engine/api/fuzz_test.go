package api

import (
	"net/netip"
	"testing"
)

func FuzzParseProxies(f *testing.F) {
	for _, s := range []string{"10.0.0.0/8", "10.0.0.1, 192.168.0.0/16", "::1", "fe80::/10", "", " , ", "10.0.0.0/33", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ps, err := ParseProxies(s)
		if err != nil {
			return
		}
		for _, p := range ps {
			if !p.IsValid() || p != p.Masked() {
				t.Errorf("ParseProxies(%q) gave %v, not a valid masked prefix", s, p)
			}
			if !ps.trusts(p.Addr()) {
				t.Errorf("ParseProxies(%q): %v does not trust its own address", s, p)
			}
		}
		_ = ps.trusts(netip.MustParseAddr("203.0.113.1"))
	})
}
