package unseen

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestFuture(t *testing.T) {
	known := map[string]bool{"team-a": true, "team-b": true}
	name := func(op metav1.LabelSelectorOperator, values ...string) *metav1.LabelSelector {
		return &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: nameLabel, Operator: op, Values: values}}}
	}
	for _, c := range []struct {
		what string
		sel  *metav1.LabelSelector
		want bool
	}{
		{"every namespace", &metav1.LabelSelector{}, true},
		{"a label any new namespace can carry", &metav1.LabelSelector{MatchLabels: map[string]string{"team": "a"}}, true},
		{"an existing name", &metav1.LabelSelector{MatchLabels: map[string]string{nameLabel: "team-a"}}, false},
		{"existing names", name(metav1.LabelSelectorOpIn, "team-a", "team-b"), false},
		{"a name not in the inputs", name(metav1.LabelSelectorOpIn, "team-a", "team-c"), true},
		{"an existing name and a label", &metav1.LabelSelector{MatchLabels: map[string]string{nameLabel: "team-a", "env": "prod"}}, false},
		{"every name but one", name(metav1.LabelSelectorOpNotIn, "team-a"), true},
		{"any name", name(metav1.LabelSelectorOpExists), true},
		{"no name, which no namespace is", name(metav1.LabelSelectorOpDoesNotExist), false},
		{"an unparsable selector: unknown is not safe", &metav1.LabelSelector{MatchLabels: map[string]string{"bad key!": "x"}}, true},
	} {
		if got := future(c.sel, known); got != c.want {
			t.Errorf("%s: future = %t, want %t", c.what, got, c.want)
		}
	}
}
