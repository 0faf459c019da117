package clientaddr

import (
	"net/http"
	"net/netip"
	"slices"
	"testing"
)

func TestOf(t *testing.T) {
	trusted, err := ParseTrustedProxies("10.244.0.0/16, 192.0.2.7, fd00:10:244::/56")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, peer string
		xff        []string
		want       string
	}{
		{"no proxy configured: the peer", "203.0.113.9:5123", nil, "203.0.113.9"},
		{"an untrusted peer's header is ignored", "203.0.113.9:5123", []string{"198.51.100.1"}, "203.0.113.9"},
		{"through the Ingress", "10.244.1.5:40000", []string{"198.51.100.1"}, "198.51.100.1"},
		{"a client's own claim left of the real hop is not believed", "10.244.1.5:40000", []string{"1.2.3.4, 198.51.100.1"}, "198.51.100.1"},
		{"two trusted hops", "192.0.2.7:1", []string{"198.51.100.1, 10.244.3.3"}, "198.51.100.1"},
		{"headers repeated", "10.244.1.5:40000", []string{"1.2.3.4", "198.51.100.1"}, "198.51.100.1"},
		{"a trusted peer without a header", "10.244.1.5:40000", nil, "10.244.1.5"},
		{"every hop trusted", "10.244.1.5:40000", []string{"10.244.9.9"}, "10.244.9.9"},
		{"garbage stops at the last trusted hop", "10.244.1.5:40000", []string{"198.51.100.1, not-an-ip"}, "10.244.1.5"},
		{"IPv6 through the Ingress", "[fd00:10:244::5]:8080", []string{"2001:db8::1"}, "2001:db8::1"},
		{"IPv4 mapped in IPv6", "[::ffff:203.0.113.9]:1", nil, "203.0.113.9"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := http.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = tc.peer
			for _, v := range tc.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := Of(r, trusted); got != netip.MustParseAddr(tc.want) {
				t.Errorf("Of = %v, want %s", got, tc.want)
			}
		})
	}
}

func TestParseTrustedProxies(t *testing.T) {
	got, err := ParseTrustedProxies(" 10.0.0.0/8,,192.0.2.7 ,10.1.2.3/8, ::1")
	if err != nil {
		t.Fatal(err)
	}
	want := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.7/32"),
		netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	if !slices.Equal(got, want) {
		t.Errorf("parsed %v, want %v", got, want)
	}
	for _, bad := range []string{"10.0.0.0/33", "example.com", "10.0.0.1/8/8"} {
		if _, err := ParseTrustedProxies(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// X-Forwarded-For is whatever a client sends: any header yields the peer or one of
// the header's addresses, and never a panic.
func FuzzOf(f *testing.F) {
	f.Add("10.244.1.5:40000", "1.2.3.4, 198.51.100.1")
	f.Add("[fd00:10:244::5]:8080", "2001:db8::1,,  ,::ffff:1.2.3.4")
	f.Add("garbage", "%zz, [::1]:80")
	trusted, _ := ParseTrustedProxies("10.244.0.0/16,fd00:10:244::/56")
	f.Fuzz(func(t *testing.T, peer, xff string) {
		r, _ := http.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = peer
		r.Header.Set("X-Forwarded-For", xff)
		got := Of(r, trusted)
		if got == remoteAddr(r) {
			return
		}
		for _, hop := range forwardedFor([]string{xff}) {
			if a, err := netip.ParseAddr(hop); err == nil && a.Unmap() == got {
				return
			}
		}
		t.Fatalf("Of(%q, %q) = %v: neither the peer nor a forwarded address", peer, xff, got)
	})
}
