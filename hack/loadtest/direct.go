package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	identityv1alpha1 "github.com/scim-operator/scim-operator/api/v1alpha1"
)

// Names of the operations measured with the controllers, SCIM against direct writes.
const (
	lookupBesideDirect  = "user lookup (absent), beside direct writes"
	createBesideDirect  = "user create, beside direct writes"
	directWithReconcile = "direct ScimUser write, reconciled"
)

// besideBlocks is how many blocks of each the SCIM creates and the direct writes
// alternate in, each pair in the other order than the last, so that neither always
// comes after the other's backlog of reconciles.
const besideBlocks = 4

// directUser is user i as the SCIM server stores it: its tenant, its finalizer.
func directUser(namespace, tenant, name string, i int) *identityv1alpha1.ScimUser {
	return &identityv1alpha1.ScimUser{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name, Finalizers: []string{identityv1alpha1.FinalizerCleanup}},
		Spec: identityv1alpha1.ScimUserSpec{TenantRef: identityv1alpha1.TenantReference{Name: tenant},
			UserName: userName(i), ExternalID: fmt.Sprintf("ext-%07d", i), Active: ptr.To(true), DisplayName: fmt.Sprintf("Load Test %d", i),
			Name:       &identityv1alpha1.PersonName{GivenName: "Load", FamilyName: fmt.Sprintf("Test %d", i)},
			Emails:     []identityv1alpha1.MultiValuedAttribute{{Value: userName(i), Type: "work", Primary: ptr.To(true)}},
			Enterprise: &identityv1alpha1.EnterpriseUser{Department: "Load"}},
	}
}

// createBesideDirectWrites compares, with the manager and its controllers running, n
// users created through SCIM (each looked up first) with n equivalent ScimUsers of the
// same tenant written straight to the API server, in blocks that alternate. Both kinds
// then cost the same reconciles (a RoleBinding, the status, an Event), which the
// ceiling, written with the manager stopped, does not: this ratio is the SCIM server's
// own cost under the operator's whole load, measured on one machine at one time. It
// starts a manager and waits for its controllers to be idle first, and for them to
// have caught up afterwards, when it checks that a user of each kind is bound.
func (e *environment) createBesideDirectWrites(ctx context.Context, cfg config, sc *scimClient, from, n int, res *results, out io.Writer) error {
	mgr, _, err := e.startManager(ctx, "", e.managerBin, cfg.managerReadyTimeout, out)
	if mgr != nil {
		defer mgr.Stop(managerGrace)
	}
	if err != nil {
		return fmt.Errorf("starting the manager: %w", err)
	}
	if _, err := e.quiet(ctx, cfg.settleTimeout); err != nil {
		return err
	}
	lookup, create := res.add(&op{Name: lookupBesideDirect}), res.add(&op{Name: createBesideDirect})
	direct := res.add(&op{Name: directWithReconcile})
	var scimWall, directWall time.Duration
	var firstSCIM string
	scimBlock := func(b int) {
		lo, hi := from+n*b/besideBlocks, from+n*(b+1)/besideBlocks
		ids, wall := createUsers(ctx, cfg, sc, lookup, create, lo, hi-lo, "", nil)
		if i := slices.IndexFunc(ids, func(id string) bool { return id != "" }); firstSCIM == "" && i >= 0 {
			firstSCIM = ids[i] // "" is a create that failed
		}
		scimWall += wall
	}
	directBlock := func(b int) {
		lo, hi := from+n+n*b/besideBlocks, from+n+n*(b+1)/besideBlocks
		directWall += parallel(hi-lo, cfg.concurrency, func(k int) {
			timed(direct, func() error {
				return e.client.Create(ctx, directUser(tenantNamespace, tenantName, fmt.Sprintf("direct-%07d", lo+k), lo+k))
			})
		})
	}
	for b := range besideBlocks {
		if b%2 == 0 {
			scimBlock(b)
			directBlock(b)
		} else {
			directBlock(b)
			scimBlock(b)
		}
	}
	lookup.finish(scimWall)
	create.finish(scimWall)
	direct.finish(directWall)
	if direct.PerSecond > 0 {
		res.CreateDirectRatioReconciled = createRate(lookup, create) / direct.PerSecond
	}
	fmt.Fprintf(out, "with the controllers: %d users through SCIM in %s, %d written straight in %s\n",
		n, scimWall.Round(time.Millisecond), n, directWall.Round(time.Millisecond))
	caughtUp, err := e.quiet(ctx, cfg.settleTimeout)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "controllers caught up %s after them\n", caughtUp.Round(100*time.Millisecond))
	if firstSCIM == "" {
		return fmt.Errorf("no user was created through SCIM beside the direct writes: %s", create.FirstError)
	}
	return e.checkBound(ctx, firstSCIM, fmt.Sprintf("direct-%07d", from+n))
}

// checkBound makes sure the comparison was of equals: a user of each kind was
// reconciled to Ready.
func (e *environment) checkBound(ctx context.Context, names ...string) error {
	for _, name := range names {
		u := &identityv1alpha1.ScimUser{}
		if err := e.client.Get(ctx, client.ObjectKey{Namespace: tenantNamespace, Name: name}, u); err != nil {
			return err
		}
		if !meta.IsStatusConditionTrue(u.Status.Conditions, identityv1alpha1.ConditionReady) {
			return fmt.Errorf("user %s was not reconciled to Ready: %+v", name, u.Status.Conditions)
		}
	}
	return nil
}
