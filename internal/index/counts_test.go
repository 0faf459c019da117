package index

import (
	"slices"
	"testing"

	"k8s.io/apimachinery/pkg/types"
)

func TestCountsFollowTenants(t *testing.T) {
	c := NewLookups().Users
	var heard []string
	c.Subscribe(func(tenant types.NamespacedName) { heard = append(heard, tenant.Name) })

	a, b := user("u1", "a@example.com", "1"), user("u2", "b@example.com", "2")
	c.update(nil, a)
	c.update(nil, b)
	if got := c.Of("ns", "t"); got != 2 {
		t.Fatalf("count after two creates = %d", got)
	}
	renamed := user("u1", "alice@example.com", "3")
	c.update(a, renamed)
	if !slices.Equal(heard, []string{"t", "t"}) {
		t.Fatalf("notified %q; an update within a tenant changes no count", heard)
	}
	moved := renamed.DeepCopy()
	moved.Spec.TenantRef.Name = "other"
	c.update(renamed, moved)
	c.update(b, nil)
	if c.Of("ns", "t") != 0 || c.Of("ns", "other") != 1 || c.Of("other-namespace", "other") != 0 {
		t.Fatalf("counts: t %d, other %d", c.Of("ns", "t"), c.Of("ns", "other"))
	}
	if len(c.n) != 1 {
		t.Fatalf("a tenant without objects is still counted: %v", c.n)
	}
}
