package clientaddr

import (
	"net/netip"
	"testing"
	"time"
)

func TestBudgetBlocksOnlyTheAddressThatFailed(t *testing.T) {
	b := NewBudget(0.001, 3)
	attacker, idp := netip.MustParseAddr("198.51.100.1"), netip.MustParseAddr("203.0.113.9")
	for i := range 3 {
		if b.Blocked(attacker) {
			t.Fatalf("blocked after %d failures of a burst of 3", i)
		}
		b.Failed(attacker)
	}
	if !b.Blocked(attacker) {
		t.Error("not blocked after spending the burst")
	}
	if b.Blocked(idp) {
		t.Error("another address is blocked")
	}
	// An IPv6 host rotating within its /64 spends one budget.
	for i := range 3 {
		b.Failed(netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 15: byte(i)}))
	}
	if !b.Blocked(netip.MustParseAddr("2001:db8::ff")) {
		t.Error("addresses of one /64 have separate budgets")
	}
	if b.Blocked(netip.MustParseAddr("2001:db8:0:1::1")) {
		t.Error("another /64 is blocked")
	}
}

func TestBudgetMemoryIsBounded(t *testing.T) {
	b := NewBudget(1000, 1)
	for i := range maxTrackedAddresses {
		b.Failed(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}))
	}
	if n := len(b.limiters); n != maxTrackedAddresses {
		t.Fatalf("%d addresses tracked, want %d", n, maxTrackedAddresses)
	}
	// A full table forgets the budgets that have refilled (each in 1 ms here).
	time.Sleep(10 * time.Millisecond)
	b.Failed(netip.MustParseAddr("198.51.100.1"))
	if n := len(b.limiters); n != 1 {
		t.Errorf("%d addresses tracked after a sweep, want only the new one", n)
	}
}

func TestBudgetBeyondItsBoundSharesOne(t *testing.T) {
	b := NewBudget(0.001, 1)
	for i := range maxTrackedAddresses {
		b.Failed(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}))
	}
	newcomer := netip.MustParseAddr("198.51.100.1")
	if b.Blocked(newcomer) {
		t.Fatal("the shared budget is spent before anyone used it")
	}
	b.Failed(newcomer)
	if !b.Blocked(netip.MustParseAddr("198.51.100.2")) {
		t.Error("addresses beyond the bound do not share a budget")
	}
}
