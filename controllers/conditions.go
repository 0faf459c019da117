package controllers

import (
	"context"
	"encoding/json"

	jsonpatch "github.com/evanphx/json-patch/v5"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// condition is the outcome of one reconcile step, turned into a metav1.Condition by
// the reconciler's single status update, never set by the step itself.
type condition struct {
	Type    string
	Status  metav1.ConditionStatus
	Reason  string
	Message string
}

func conditionTrue(typ, reason, message string) condition {
	return condition{Type: typ, Status: metav1.ConditionTrue, Reason: reason, Message: message}
}

func conditionFalse(typ, reason, message string) condition {
	return condition{Type: typ, Status: metav1.ConditionFalse, Reason: reason, Message: message}
}

// setConditions records outcomes on a status, keeping each transition time when the
// status of a condition did not change.
func setConditions(conds *[]metav1.Condition, generation int64, outcomes ...condition) {
	for _, c := range outcomes {
		meta.SetStatusCondition(conds, metav1.Condition{
			Type:               c.Type,
			Status:             c.Status,
			Reason:             c.Reason,
			Message:            c.Message,
			ObservedGeneration: generation,
		})
	}
}

// patchStatusIfChanged writes obj's status, now is, only when it differs from was (a
// copy taken before the reconcile changed it), so that a reconcile that changes
// nothing causes no write and therefore no new event. Only the status is copied: a
// copy of a whole group is a copy of its members.
func patchStatusIfChanged(ctx context.Context, c client.Client, obj client.Object, was, is any) error {
	if equality.Semantic.DeepEqual(was, is) {
		return nil
	}
	return c.Status().Patch(ctx, obj, statusMergePatch{before: was, after: is})
}

// statusMergePatch is the JSON merge patch from one status to another. client.MergeFrom
// diffs whole objects, each written out as JSON and read back: for a group that is its
// thousand members, four times per status write, for a change the status subresource
// ignores anyway outside the status.
type statusMergePatch struct{ before, after any }

func (statusMergePatch) Type() types.PatchType { return types.MergePatchType }

func (p statusMergePatch) Data(client.Object) ([]byte, error) {
	before, err := json.Marshal(map[string]any{"status": p.before})
	if err != nil {
		return nil, err
	}
	after, err := json.Marshal(map[string]any{"status": p.after})
	if err != nil {
		return nil, err
	}
	return jsonpatch.CreateMergePatch(before, after)
}
