// Package engine decides which pods policies select and what may reach
// what. It is pure: it reads the model and does no I/O.
package engine

import (
	"github.com/ringfence/ringfence/internal/model"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/selection"
)

// Match is a three-valued answer: a pod template stands for pods whose
// labels may not all be known offline.
type Match int

// The answers of a selector for a set of pods.
const (
	No Match = iota
	// Maybe: the answer depends on a label whose value is not known
	// offline (a hash, a uid, a per-pod index).
	Maybe
	Yes
)

func (m Match) String() string {
	return [...]string{"no", "maybe", "yes"}[m]
}

// LabelSet is the labels of a group of pods: known values, plus keys that
// are present with values not known offline.
type LabelSet struct {
	Known   map[string]string
	Varying []string
}

func (l LabelSet) varying(key string) bool {
	for _, k := range l.Varying {
		if k == key {
			return true
		}
	}
	return false
}

// Selector is a parsed label selector.
type Selector struct {
	reqs    []requirementSpec
	nothing bool
}

// requirementSpec is one requirement, its values kept in a slice: the API
// machinery's Values() builds a new set on every call, and selectors are
// evaluated once per identity and policy.
type requirementSpec struct {
	key    string
	op     selection.Operator
	values []string
}

func (r requirementSpec) has(v string) bool {
	for _, x := range r.values {
		if x == v {
			return true
		}
	}
	return false
}

// ParseSelector parses a metav1.LabelSelector with the API machinery's own
// rules. A nil selector selects nothing (as in a NetworkPolicy peer, where
// an absent selector means the peer does not constrain that dimension, the
// caller decides); an empty one selects everything.
func ParseSelector(s *metav1.LabelSelector) (Selector, error) {
	if s == nil {
		return Selector{nothing: true}, nil
	}
	sel, err := metav1.LabelSelectorAsSelector(s)
	if err != nil {
		return Selector{}, err
	}
	reqs, _ := sel.Requirements()
	out := Selector{reqs: make([]requirementSpec, len(reqs))}
	for i, r := range reqs {
		out.reqs[i] = requirementSpec{key: r.Key(), op: r.Operator(), values: r.ValuesUnsorted()}
	}
	return out, nil
}

// Matches evaluates the selector against a label set.
func (s Selector) Matches(l LabelSet) Match {
	if s.nothing {
		return No
	}
	result := Yes
	for _, r := range s.reqs {
		m := requirement(r, l)
		if m == No {
			return No
		}
		if m == Maybe {
			result = Maybe
		}
	}
	return result
}

// varyingKeys lists the keys the selector reads whose values the label set
// does not know: why it answers Maybe.
func (s Selector) varyingKeys(l LabelSet) []string {
	var out []string
	for _, r := range s.reqs {
		if _, known := l.Known[r.key]; !known && l.varying(r.key) {
			out = append(out, r.key)
		}
	}
	return out
}

func requirement(r requirementSpec, l LabelSet) Match {
	val, known := l.Known[r.key]
	vary := !known && l.varying(r.key)
	present := known || vary
	switch r.op {
	case selection.Exists:
		return yesIf(present)
	case selection.DoesNotExist:
		return yesIf(!present)
	case selection.In, selection.Equals, selection.DoubleEquals:
		switch {
		case known:
			return yesIf(r.has(val))
		case vary:
			return Maybe
		}
		return No
	case selection.NotIn, selection.NotEquals:
		switch {
		case known:
			return yesIf(!r.has(val))
		case vary:
			return Maybe
		}
		return Yes
	}
	// Gt and Lt are not allowed in label selectors of these APIs.
	return No
}

func yesIf(b bool) Match {
	if b {
		return Yes
	}
	return No
}

// PodLabels returns the label set of a pod template.
func PodLabels(p *model.PodTemplate) LabelSet {
	return LabelSet{Known: p.Labels, Varying: p.VaryingLabels}
}

// Selection is a pod template a policy selects.
type Selection struct {
	Workload *model.Workload
	Pods     *model.PodTemplate
	Match    Match
}

// SelectedPods returns the pod templates of the policy's namespace that its
// spec.podSelector selects, in the world's order.
func SelectedPods(w *model.World, p *model.NetworkPolicy) ([]Selection, error) {
	return SelectedPodsAmong(w.Workloads, p)
}

// SelectedPodsAmong is SelectedPods over the given workloads (those of
// other namespaces are skipped): a caller asking for every policy passes
// each policy its namespace's workloads (WorkloadsByNamespace), so the cost
// grows with the cluster, not with policies times workloads.
func SelectedPodsAmong(workloads []*model.Workload, p *model.NetworkPolicy) ([]Selection, error) {
	sel, err := ParseSelector(&p.Spec.PodSelector)
	if err != nil {
		return nil, err
	}
	var out []Selection
	for _, wl := range workloads {
		if wl.Namespace != p.Namespace {
			continue
		}
		for _, pt := range wl.Pods {
			if m := sel.Matches(PodLabels(pt)); m != No {
				out = append(out, Selection{Workload: wl, Pods: pt, Match: m})
			}
		}
	}
	return out, nil
}

// WorkloadsByNamespace groups the world's workloads by namespace, each
// group in the world's order.
func WorkloadsByNamespace(w *model.World) map[string][]*model.Workload {
	m := map[string][]*model.Workload{}
	for _, wl := range w.Workloads {
		m[wl.Namespace] = append(m[wl.Namespace], wl)
	}
	return m
}

// PolicyTypes returns the directions a policy isolates: spec.policyTypes,
// or when it is empty, Ingress plus Egress if the policy has egress rules
// (the API server's defaulting).
func PolicyTypes(p *model.NetworkPolicy) []networkingv1.PolicyType {
	if len(p.Spec.PolicyTypes) > 0 {
		return p.Spec.PolicyTypes
	}
	types := []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
	if len(p.Spec.Egress) > 0 {
		types = append(types, networkingv1.PolicyTypeEgress)
	}
	return types
}
