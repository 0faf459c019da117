package controllers_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	identityv1alpha1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/connectors"
	"github.com/scim-operator/scim-operator/connectors/webhook"
)

const webhookSecret = "a-webhook-secret-of-some-length"

// receiver is a webhook app: it verifies every delivery's signature, as the README
// tells receivers to, and keeps what it was told.
type receiver struct {
	*httptest.Server
	mu sync.Mutex
	// byUser is every distinct document per user id, in arrival order (a retry of the
	// same delivery id is recorded once).
	byUser map[string][]connectors.UserDocument
	seen   map[string]bool
	// answer decides the status for a verified document; nil answers 200.
	answer func(connectors.UserDocument) int
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{byUser: map[string][]connectors.UserDocument{}, seen: map[string]bool{}}
	rc.Server = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	doc, err := webhook.ReadUserDocument(r, []byte(webhookSecret), time.Now(), 5*time.Minute)
	switch {
	case errors.Is(err, webhook.ErrUnverified):
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	case err != nil:
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	rc.mu.Lock()
	answer := rc.answer
	rc.mu.Unlock()
	status := http.StatusOK
	if answer != nil {
		status = answer(doc)
	}
	if status >= 300 {
		http.Error(w, fmt.Sprintf("the receiver says %d", status), status)
		return
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if !rc.seen[doc.DeliveryID] {
		rc.seen[doc.DeliveryID] = true
		rc.byUser[doc.ID] = append(rc.byUser[doc.ID], doc)
	}
	w.WriteHeader(status)
}

func (rc *receiver) setAnswer(f func(connectors.UserDocument) int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.answer = f
}

// last is the latest document the app applied for a user, nil if none.
func (rc *receiver) last(id string) *connectors.UserDocument {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	docs := rc.byUser[id]
	if len(docs) == 0 {
		return nil
	}
	d := docs[len(docs)-1]
	return &d
}

func (rc *receiver) count(id string) int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.byUser[id])
}

// newWebhookApp creates an app of tenant "t" delivering to url, with its Secret.
func newWebhookApp(t *testing.T, namespace, name, url string, mutate func(*identityv1alpha1.DownstreamApp)) *identityv1alpha1.DownstreamApp {
	t.Helper()
	ctx := context.Background()
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name + "-webhook"},
		StringData: map[string]string{"secret": webhookSecret}}
	if err := k8sClient.Create(ctx, secret); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	app := &identityv1alpha1.DownstreamApp{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec: identityv1alpha1.DownstreamAppSpec{
			TenantRef: identityv1alpha1.TenantReference{Name: "t"},
			Scope:     identityv1alpha1.AppScope{Type: identityv1alpha1.ScopeAllUsers},
			Webhook:   &identityv1alpha1.WebhookConnector{URL: url, SecretRef: identityv1alpha1.SecretReference{Name: secret.Name}, Timeout: "2s"},
		},
	}
	if mutate != nil {
		mutate(app)
	}
	if err := k8sClient.Create(ctx, app); err != nil {
		t.Fatal(err)
	}
	return app
}

func deliveryOf(g Gomega, user *identityv1alpha1.ScimUser, app string) *identityv1alpha1.AppDelivery {
	g.Expect(k8sClient.Get(context.Background(), client.ObjectKeyFromObject(user), user)).To(Succeed())
	for _, a := range user.Status.Apps {
		if a.App == app {
			return &a
		}
	}
	return nil
}

func createUsers(t *testing.T, namespace string, n int, prefix string) []*identityv1alpha1.ScimUser {
	t.Helper()
	users := make([]*identityv1alpha1.ScimUser, n)
	for i := range users {
		users[i] = validUser(namespace, "t", fmt.Sprintf("%s-%03d", prefix, i))
		if err := k8sClient.Create(context.Background(), users[i]); err != nil {
			t.Fatal(err)
		}
	}
	return users
}

// createGroup creates a group of tenant "t" with the users as members.
func createGroup(t *testing.T, namespace, name, displayName string, members ...*identityv1alpha1.ScimUser) *identityv1alpha1.ScimGroup {
	t.Helper()
	group := &identityv1alpha1.ScimGroup{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec: identityv1alpha1.ScimGroupSpec{TenantRef: identityv1alpha1.TenantReference{Name: "t"}, DisplayName: displayName}}
	for _, m := range members {
		group.Spec.Members = append(group.Spec.Members, identityv1alpha1.GroupMember{Value: m.Name})
	}
	if err := k8sClient.Create(context.Background(), group); err != nil {
		t.Fatal(err)
	}
	return group
}

// A user's whole life reaches the app, signed, with its mapped role, workspace and
// quota; the ScimUser is released only once the app acknowledged its deletion.
func TestWebhookReceivesEveryEvent(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := "deliver-events"
	newTenantWithToken(t, ns, "t", func(tt *identityv1alpha1.ScimTenant) {
		q := resource.MustParse("50Gi")
		tt.Spec.DefaultStorageQuota = &q
	})
	rc := newReceiver(t)
	app := newWebhookApp(t, ns, "backup", rc.URL, func(a *identityv1alpha1.DownstreamApp) {
		a.Spec.RoleMapping = []identityv1alpha1.AppRoleMapping{{Role: "viewer", AppRole: "reader"}}
	})
	user := validUser(ns, "t", "ada")
	user.Spec.DisplayName = "Ada Lovelace"
	user.Spec.Emails = []identityv1alpha1.MultiValuedAttribute{{Value: "ada@example.com", Type: "work", Primary: ptr.To(true)}}
	g.Expect(k8sClient.Create(ctx, user)).To(Succeed())

	g.Eventually(func() *connectors.UserDocument { return rc.last("ada") }, eventually).ShouldNot(BeNil())
	doc := rc.last("ada")
	g.Expect(doc.Event).To(Equal(connectors.EventUpsert))
	g.Expect(doc.User).To(And(HaveField("UserName", "ada@example.com"), HaveField("DisplayName", "Ada Lovelace"), HaveField("Active", true)))
	g.Expect(doc.User.Emails).To(ConsistOf(connectors.Email{Value: "ada@example.com", Type: "work", Primary: true}))
	g.Expect(*doc.Entitlements).To(Equal(connectors.Entitlements{Role: "reader", Workspace: ns,
		StorageQuota: &connectors.Quota{Bytes: 50 << 30, Quantity: "50Gi"}}))
	g.Expect(doc.DeliveryID).NotTo(BeEmpty())
	g.Eventually(func(g Gomega) {
		d := deliveryOf(g, user, "backup")
		g.Expect(d).NotTo(BeNil())
		g.Expect(d.State).To(Equal(identityv1alpha1.AppDeliverySynced))
		g.Expect(d.Hash).To(HaveLen(64))
		g.Expect(d.LastDelivered).NotTo(BeNil())
	}, eventually).Should(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(app), app)).To(Succeed())
		g.Expect(app.Status.Synced).To(HaveValue(BeEquivalentTo(1)))
		g.Expect(app.Status.Connector).To(Equal(identityv1alpha1.ConnectorWebhook))
		g.Expect(conditionStatus(app.Status.Conditions, identityv1alpha1.ConditionReady)).To(Equal(metav1.ConditionTrue))
		g.Expect(conditionStatus(app.Status.Conditions, identityv1alpha1.ConditionDelivered)).To(Equal(metav1.ConditionTrue))
	}, eventually).Should(Succeed())

	change(t, user, func(u *identityv1alpha1.ScimUser) { u.Spec.Active = ptr.To(false) })
	g.Eventually(func() connectors.Event { return rc.last("ada").Event }, eventually).Should(Equal(connectors.EventDeactivate))
	g.Expect(rc.last("ada").Entitlements).To(BeNil(), "a deactivated user is sent no entitlements")
	change(t, user, func(u *identityv1alpha1.ScimUser) { u.Spec.Active = ptr.To(true) })
	g.Eventually(func() connectors.Event { return rc.last("ada").Event }, eventually).Should(Equal(connectors.EventUpsert))

	// The app is down when the user is deleted: the user waits for it.
	rc.setAnswer(func(connectors.UserDocument) int { return http.StatusServiceUnavailable })
	g.Expect(k8sClient.Delete(ctx, user)).To(Succeed())
	g.Consistently(func() error { return k8sClient.Get(ctx, client.ObjectKeyFromObject(user), user) }, 3*time.Second).Should(Succeed())
	rc.setAnswer(nil)
	g.Eventually(func() connectors.Event { return rc.last("ada").Event }, eventually).Should(Equal(connectors.EventDelete))
	g.Eventually(func() bool { return apierrors.IsNotFound(k8sClient.Get(ctx, client.ObjectKeyFromObject(user), user)) }, eventually).Should(BeTrue())
	g.Expect(rc.count("ada")).To(Equal(4), "upsert, deactivate, upsert, delete: each once")
}

func conditionStatus(conds []metav1.Condition, typ string) metav1.ConditionStatus {
	for _, c := range conds {
		if c.Type == typ {
			return c.Status
		}
	}
	return ""
}

// The app is down while users are provisioned: deliveries are pending, the app says it
// is unavailable, and once it is back every user arrives, each exactly once.
func TestWebhookOutageLosesNothing(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := "deliver-outage"
	newTenantWithToken(t, ns, "t", func(*identityv1alpha1.ScimTenant) {})
	rc := newReceiver(t)
	rc.setAnswer(func(connectors.UserDocument) int { return http.StatusBadGateway })
	app := newWebhookApp(t, ns, "portal", rc.URL, nil)
	users := createUsers(t, ns, 30, "u")

	g.Eventually(func(g Gomega) {
		g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(app), app)).To(Succeed())
		g.Expect(app.Status.Pending).To(HaveValue(BeNumerically(">", 0)))
		g.Expect(conditionStatus(app.Status.Conditions, identityv1alpha1.ConditionReady)).To(Equal(metav1.ConditionFalse))
		g.Expect(app.Status.LastError).To(ContainSubstring("502"))
	}, eventually).Should(Succeed())
	g.Eventually(func(g Gomega) {
		d := deliveryOf(g, users[0], "portal")
		g.Expect(d).NotTo(BeNil())
		g.Expect(d.State).To(Equal(identityv1alpha1.AppDeliveryPending))
		g.Expect(d.LastError).To(ContainSubstring("502"))
	}, eventually).Should(Succeed())

	rc.setAnswer(nil)
	back := time.Now()
	g.Eventually(func(g Gomega) {
		g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(app), app)).To(Succeed())
		g.Expect(app.Status.Synced).To(HaveValue(BeEquivalentTo(30)))
		g.Expect(app.Status.Pending).To(HaveValue(BeEquivalentTo(0)))
	}, 2*time.Minute).Should(Succeed())
	t.Logf("30 users delivered %s after the app came back", time.Since(back).Round(100*time.Millisecond))
	for _, u := range users {
		g.Expect(rc.count(u.Name)).To(Equal(1), "user %s delivered %d times", u.Name, rc.count(u.Name))
		g.Expect(rc.last(u.Name).Event).To(Equal(connectors.EventUpsert))
	}
}

// A 4xx refusal fails that user's delivery with the app's message and is not retried
// while the user is unchanged; other users are unaffected; a change delivers again.
func TestWebhookRefusalFailsOneUser(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := "deliver-refusal"
	newTenantWithToken(t, ns, "t", func(*identityv1alpha1.ScimTenant) {})
	rc := newReceiver(t)
	var refusals sync.Map
	rc.setAnswer(func(d connectors.UserDocument) int {
		if d.User.UserName == "bad-000@example.com" && d.User.DisplayName == "" {
			n, _ := refusals.LoadOrStore("n", new(int))
			*n.(*int)++
			return http.StatusUnprocessableEntity
		}
		return http.StatusOK
	})
	app := newWebhookApp(t, ns, "crm", rc.URL, nil)
	bad := createUsers(t, ns, 1, "bad")[0]
	good := createUsers(t, ns, 1, "good")[0]

	g.Eventually(func(g Gomega) {
		d := deliveryOf(g, bad, "crm")
		g.Expect(d).NotTo(BeNil())
		g.Expect(d.State).To(Equal(identityv1alpha1.AppDeliveryFailed))
		g.Expect(d.LastError).To(ContainSubstring("422"))
		g.Expect(d.LastError).To(ContainSubstring("the receiver says 422"))
	}, eventually).Should(Succeed())
	g.Eventually(func() *connectors.UserDocument { return rc.last(good.Name) }, eventually).ShouldNot(BeNil())
	g.Eventually(func(g Gomega) {
		g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(app), app)).To(Succeed())
		g.Expect(app.Status.Failed).To(HaveValue(BeEquivalentTo(1)))
		g.Expect(app.Status.Synced).To(HaveValue(BeEquivalentTo(1)))
		g.Expect(conditionStatus(app.Status.Conditions, identityv1alpha1.ConditionDelivered)).To(Equal(metav1.ConditionFalse))
	}, eventually).Should(Succeed())
	g.Eventually(func(g Gomega) {
		var events corev1.EventList
		g.Expect(k8sClient.List(ctx, &events, client.InNamespace(ns))).To(Succeed())
		g.Expect(events.Items).To(ContainElement(HaveField("Reason", "DeliveryRefused")))
	}, eventually).Should(Succeed())
	n, _ := refusals.Load("n")
	g.Consistently(func() int { return *n.(*int) }, 3*time.Second).Should(Equal(1), "a refused delivery was retried unchanged")

	change(t, bad, func(u *identityv1alpha1.ScimUser) { u.Spec.DisplayName = "Now Acceptable" })
	g.Eventually(func(g Gomega) {
		g.Expect(deliveryOf(g, bad, "crm").State).To(Equal(identityv1alpha1.AppDeliverySynced))
	}, eventually).Should(Succeed())
}

// A user's groups are read from the member index, not its status: a membership change
// alone (no write to the user) must redeliver the members it concerns, and only them.
func TestMembershipChangesRedeliverTheirMembers(t *testing.T) {
	g := NewWithT(t)
	ns := "deliver-members"
	newTenantWithToken(t, ns, "t", func(*identityv1alpha1.ScimTenant) {})
	users := createUsers(t, ns, 3, "m")
	joins, stays, outsider := users[0], users[1], users[2]
	group := createGroup(t, ns, "ops", "Operations", stays)
	app := newReceiver(t)
	newWebhookApp(t, ns, "pager", app.URL, func(a *identityv1alpha1.DownstreamApp) {
		a.Spec.Scope = identityv1alpha1.AppScope{Type: identityv1alpha1.ScopeGroups, Groups: []string{"Operations", "SRE"}}
	})
	g.Eventually(func(g Gomega) {
		g.Expect(deliveryOf(g, stays, "pager")).NotTo(BeNil())
		g.Expect(deliveryOf(g, stays, "pager").State).To(Equal(identityv1alpha1.AppDeliverySynced))
	}, eventually).Should(Succeed())
	g.Expect(app.last(stays.Name).User.Groups).To(Equal([]string{"Operations"}))
	g.Expect(app.last(joins.Name)).To(BeNil())

	change(t, group, func(gr *identityv1alpha1.ScimGroup) {
		gr.Spec.Members = append(gr.Spec.Members, identityv1alpha1.GroupMember{Value: joins.Name})
	})
	g.Eventually(func() *connectors.UserDocument { return app.last(joins.Name) }, eventually).ShouldNot(BeNil())
	g.Expect(app.last(joins.Name).Event).To(Equal(connectors.EventUpsert))
	g.Expect(app.last(joins.Name).User.Groups).To(Equal([]string{"Operations"}))

	// A rename changes every member's document; the scope still names the group.
	change(t, group, func(gr *identityv1alpha1.ScimGroup) { gr.Spec.DisplayName = "SRE" })
	for _, u := range []*identityv1alpha1.ScimUser{joins, stays} {
		g.Eventually(func() []string { return app.last(u.Name).User.Groups }, eventually).Should(Equal([]string{"SRE"}))
	}
	g.Consistently(func() *connectors.UserDocument { return app.last(outsider.Name) }, 2*time.Second).Should(BeNil())
}

// Scope by group: only members are delivered; a member who leaves is deactivated in the
// app; a hanging app does not hold up another app of the same tenant.
func TestWebhookScopeAndSlowApps(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := "deliver-scope"
	newTenantWithToken(t, ns, "t", func(*identityv1alpha1.ScimTenant) {})
	member := createUsers(t, ns, 1, "member")[0]
	other := createUsers(t, ns, 1, "other")[0]
	group := createGroup(t, ns, "eng", "Engineering", member)

	scoped := newReceiver(t)
	newWebhookApp(t, ns, "eng-tool", scoped.URL, func(a *identityv1alpha1.DownstreamApp) {
		a.Spec.Scope = identityv1alpha1.AppScope{Type: identityv1alpha1.ScopeGroups, Groups: []string{"engineering"}}
	})
	hanging := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(3 * time.Second):
		}
	}))
	t.Cleanup(hanging.Close)
	newWebhookApp(t, ns, "hangs", hanging.URL, nil)

	g.Eventually(func() *connectors.UserDocument { return scoped.last(member.Name) }, eventually).ShouldNot(BeNil())
	g.Expect(scoped.last(member.Name).User.Groups).To(Equal([]string{"Engineering"}))
	g.Consistently(func() *connectors.UserDocument { return scoped.last(other.Name) }, 2*time.Second).Should(BeNil())

	change(t, group, func(gr *identityv1alpha1.ScimGroup) { gr.Spec.Members = nil })
	g.Eventually(func() connectors.Event { return scoped.last(member.Name).Event }, eventually).Should(Equal(connectors.EventDeactivate))
	g.Eventually(func(g Gomega) {
		d := deliveryOf(g, member, "hangs")
		g.Expect(d).NotTo(BeNil())
		g.Expect(d.State).To(Equal(identityv1alpha1.AppDeliveryPending))
		g.Expect(d.LastError).To(ContainSubstring("deadline exceeded"))
	}, eventually).Should(Succeed())

	// Deleting an app forgets it: its entries leave the users' status.
	g.Expect(k8sClient.Delete(ctx, &identityv1alpha1.DownstreamApp{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "hangs"}})).To(Succeed())
	g.Eventually(func(g Gomega) { g.Expect(deliveryOf(g, member, "hangs")).To(BeNil()) }, eventually).Should(Succeed())
	g.Eventually(func() bool {
		return apierrors.IsNotFound(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "hangs"}, &identityv1alpha1.DownstreamApp{}))
	}, eventually).Should(BeTrue())
}
