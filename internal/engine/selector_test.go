package engine

import (
	"math/rand/v2"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

func TestSelectorWithVaryingLabels(t *testing.T) {
	pods := LabelSet{Known: map[string]string{"app": "web", "tier": "front"}, Varying: []string{"pod-template-hash"}}
	tests := []struct {
		name string
		sel  *metav1.LabelSelector
		want Match
	}{
		{"nil selects nothing", nil, No},
		{"empty selects all", &metav1.LabelSelector{}, Yes},
		{"matchLabels", &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}, Yes},
		{"matchLabels mismatch", &metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}}, No},
		{"value of a varying label", &metav1.LabelSelector{MatchLabels: map[string]string{"pod-template-hash": "abc"}}, Maybe},
		{"varying label exists", expr("pod-template-hash", metav1.LabelSelectorOpExists), Yes},
		{"varying label does not exist", expr("pod-template-hash", metav1.LabelSelectorOpDoesNotExist), No},
		{"NotIn on varying", expr("pod-template-hash", metav1.LabelSelectorOpNotIn, "x"), Maybe},
		{"NotIn on absent", expr("zone", metav1.LabelSelectorOpNotIn, "x"), Yes},
		{"In on absent", expr("zone", metav1.LabelSelectorOpIn, "x"), No},
		{"a No beats a Maybe", &metav1.LabelSelector{MatchLabels: map[string]string{"pod-template-hash": "abc", "app": "db"}}, No},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ParseSelector(tt.sel)
			if err != nil {
				t.Fatal(err)
			}
			if got := s.Matches(pods); got != tt.want {
				t.Errorf("Matches = %v, want %v", got, tt.want)
			}
		})
	}
}

func expr(key string, op metav1.LabelSelectorOperator, values ...string) *metav1.LabelSelector {
	return &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: key, Operator: op, Values: values}}}
}

// With every label known, the answer is the API machinery's own.
func TestSelectorAgreesWithAPIMachinery(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	keys, values := []string{"a", "b", "c"}, []string{"x", "y"}
	ops := []metav1.LabelSelectorOperator{metav1.LabelSelectorOpIn, metav1.LabelSelectorOpNotIn, metav1.LabelSelectorOpExists, metav1.LabelSelectorOpDoesNotExist}
	for i := 0; i < 5000; i++ {
		set := map[string]string{}
		for _, k := range keys {
			if r.IntN(2) == 0 {
				set[k] = values[r.IntN(2)]
			}
		}
		sel := &metav1.LabelSelector{}
		for j := r.IntN(3); j > 0; j-- {
			sel.MatchExpressions = append(sel.MatchExpressions, randomRequirement(r, keys, values, ops))
		}
		if r.IntN(2) == 0 {
			sel.MatchLabels = map[string]string{keys[r.IntN(3)]: values[r.IntN(2)]}
		}
		want, err := metav1.LabelSelectorAsSelector(sel)
		if err != nil {
			t.Fatal(err)
		}
		s, err := ParseSelector(sel)
		if err != nil {
			t.Fatal(err)
		}
		got := s.Matches(LabelSet{Known: set})
		if (got == Yes) != want.Matches(labels.Set(set)) || got == Maybe {
			t.Fatalf("selector %v on %v: got %v, API machinery says %v", sel, set, got, want.Matches(labels.Set(set)))
		}
	}
}

func randomRequirement(r *rand.Rand, keys, values []string, ops []metav1.LabelSelectorOperator) metav1.LabelSelectorRequirement {
	req := metav1.LabelSelectorRequirement{Key: keys[r.IntN(len(keys))], Operator: ops[r.IntN(len(ops))]}
	if req.Operator == metav1.LabelSelectorOpIn || req.Operator == metav1.LabelSelectorOpNotIn {
		req.Values = []string{values[r.IntN(len(values))]}
		if r.IntN(2) == 0 {
			req.Values = values
		}
	}
	return req
}

// FuzzSelector: for any selector the API machinery accepts, the engine's
// answer on fully known labels is the API machinery's, and with the key
// varying it is never a certain answer the known value could contradict.
func FuzzSelector(f *testing.F) {
	f.Add("app", uint8(0), "web", "app", "web")
	f.Add("tier", uint8(3), "", "app", "db")
	f.Fuzz(func(t *testing.T, key string, op uint8, value, labelKey, labelValue string) {
		ops := []metav1.LabelSelectorOperator{metav1.LabelSelectorOpIn, metav1.LabelSelectorOpNotIn, metav1.LabelSelectorOpExists, metav1.LabelSelectorOpDoesNotExist}
		req := metav1.LabelSelectorRequirement{Key: key, Operator: ops[int(op)%len(ops)]}
		if req.Operator == metav1.LabelSelectorOpIn || req.Operator == metav1.LabelSelectorOpNotIn {
			req.Values = []string{value}
		}
		sel := &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{req}}
		want, err := metav1.LabelSelectorAsSelector(sel)
		if err != nil {
			if _, err2 := ParseSelector(sel); err2 == nil {
				t.Fatalf("engine accepts a selector the API machinery rejects: %v", err)
			}
			return
		}
		s, err := ParseSelector(sel)
		if err != nil {
			t.Fatal(err)
		}
		set := map[string]string{labelKey: labelValue}
		got := s.Matches(LabelSet{Known: set})
		if (got == Yes) != want.Matches(labels.Set(set)) || got == Maybe {
			t.Fatalf("%v on %v: engine %v, API machinery %v", sel, set, got, want.Matches(labels.Set(set)))
		}
		if m := s.Matches(LabelSet{Varying: []string{labelKey}}); m != Maybe && m != yesIf(want.Matches(labels.Set(set))) {
			t.Fatalf("%v with %s varying: %v, but the value %q gives %v", sel, labelKey, m, labelValue, want.Matches(labels.Set(set)))
		}
	})
}
