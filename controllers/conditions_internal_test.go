package controllers

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"

	jsonpatch "github.com/evanphx/json-patch/v5"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	identityv1alpha1 "github.com/scim-operator/scim-operator/api/v1alpha1"
)

// The status patch says only what changed in the status, a field that went away
// included, and applied to the stored object gives the new status and leaves the
// rest of the object as it was.
func TestStatusPatchCarriesOnlyTheStatusChange(t *testing.T) {
	stored := &identityv1alpha1.ScimGroup{
		ObjectMeta: metav1.ObjectMeta{Namespace: "idp", Name: "g", Generation: 3},
		Spec:       identityv1alpha1.ScimGroupSpec{TenantRef: identityv1alpha1.TenantReference{Name: "entra"}, DisplayName: "Everyone"},
		Status: identityv1alpha1.ScimGroupStatus{Role: "viewer", MemberCount: ptr.To(int32(2)), UnresolvedMembers: []string{"u7"},
			Conditions: []metav1.Condition{{Type: identityv1alpha1.ConditionReady, Status: metav1.ConditionTrue, Reason: "Bound", Message: "bound"}}},
	}
	for i := range 1000 {
		stored.Spec.Members = append(stored.Spec.Members, identityv1alpha1.GroupMember{Value: fmt.Sprintf("u%d", i)})
	}
	changed := stored.DeepCopy()
	changed.Status.Role, changed.Status.MemberCount, changed.Status.UnresolvedMembers = "editor", ptr.To(int32(1000)), nil

	p := statusMergePatch{before: stored.Status, after: changed.Status}
	if p.Type() != types.MergePatchType {
		t.Fatalf("patch type %s", p.Type())
	}
	data, err := p.Data(changed)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"status":{"memberCount":1000,"role":"editor","unresolvedMembers":null}}`; string(data) != want {
		t.Errorf("patch %s, want %s", data, want)
	}

	original, err := json.Marshal(stored)
	if err != nil {
		t.Fatal(err)
	}
	patched, err := jsonpatch.MergePatch(original, data)
	if err != nil {
		t.Fatal(err)
	}
	var got identityv1alpha1.ScimGroup
	if err := json.Unmarshal(patched, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Status, changed.Status) || !reflect.DeepEqual(got.Spec, stored.Spec) || !reflect.DeepEqual(got.ObjectMeta, stored.ObjectMeta) {
		t.Errorf("patched object differs:\n got status %+v\nwant status %+v", got.Status, changed.Status)
	}
}
