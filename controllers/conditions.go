package controllers

import (
	"context"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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

// patchStatusIfChanged writes the status only when it differs from before, so that a
// reconcile that changes nothing causes no write and therefore no new event.
func patchStatusIfChanged[T client.Object](ctx context.Context, c client.Client, before, after T, status func(T) any) error {
	if equality.Semantic.DeepEqual(status(before), status(after)) {
		return nil
	}
	return c.Status().Patch(ctx, after, client.MergeFrom(before))
}
