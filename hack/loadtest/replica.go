package main

import (
	"context"
	"fmt"
	"io"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	identityv1alpha1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/manager"
)

// Names of the operations measured on a replica without the controllers.
const (
	lookupWithoutControllers = "user lookup (absent), no controllers"
	createWithoutControllers = "user create, no controllers"
)

// leaseHolder is who holds the controllers' Lease while the replica is measured.
const leaseHolder = "loadtest"

// createOnFollower measures SCIM creates of n more users (the first numbered from) on
// a replica that is not the leader, which serves SCIM but runs no controllers: each
// user is then one API write, as each of the ceiling's is, where the initial cycle's
// users cost four with the controllers' (a RoleBinding, the status, an Event). The
// tool holds the Lease, so the manager, started with leader election, never leads. It
// runs with the manager stopped, and stops the one it started.
func (e *environment) createOnFollower(ctx context.Context, cfg config, sc *scimClient, from, n int, res *results, out io.Writer) error {
	now := metav1.NewMicroTime(time.Now())
	lease := &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Namespace: tenantNamespace, Name: manager.LeaderElectionID},
		Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr.To(leaseHolder), LeaseDurationSeconds: ptr.To[int32](3600),
			AcquireTime: &now, RenewTime: &now},
	}
	if err := e.client.Create(ctx, lease); err != nil {
		return fmt.Errorf("holding the controllers' Lease: %w", err)
	}
	defer func() { _ = e.client.Delete(context.WithoutCancel(ctx), lease) }()

	mgr, _, err := e.startManager(ctx, "", e.managerBin, cfg.managerReadyTimeout, out, "--leader-elect", "--leader-election-namespace="+tenantNamespace)
	if mgr != nil {
		defer mgr.Stop(managerGrace)
	}
	if err != nil {
		return fmt.Errorf("starting a replica that does not lead: %w", err)
	}
	lookup, create := res.add(&op{Name: lookupWithoutControllers}), res.add(&op{Name: createWithoutControllers})
	ids, wall := createUsers(ctx, cfg, sc, lookup, create, from, n, "users created on a replica without controllers", out)
	fmt.Fprintf(out, "without controllers: %d users in %s\n", n, wall.Round(time.Millisecond))
	return e.checkNotReconciled(ctx, ids)
}

// checkNotReconciled makes sure the measurement was what it says: no controller went
// through the users created (none has a status), and the tool still holds the Lease.
func (e *environment) checkNotReconciled(ctx context.Context, ids []string) error {
	for _, id := range []string{ids[0], ids[len(ids)-1]} {
		if id == "" {
			continue
		}
		u := &identityv1alpha1.ScimUser{}
		if err := e.client.Get(ctx, client.ObjectKey{Namespace: tenantNamespace, Name: id}, u); err != nil {
			return err
		}
		if u.Status.ObservedGeneration != 0 {
			return fmt.Errorf("user %s was reconciled while the controllers were to be stopped", id)
		}
	}
	lease := &coordinationv1.Lease{}
	if err := e.client.Get(ctx, client.ObjectKey{Namespace: tenantNamespace, Name: manager.LeaderElectionID}, lease); err != nil {
		return err
	}
	if holder := ptr.Deref(lease.Spec.HolderIdentity, ""); holder != leaseHolder {
		return fmt.Errorf("the controllers' Lease went to %q during the measurement", holder)
	}
	return nil
}
