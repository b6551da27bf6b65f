package engine

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/ringfence/ringfence/internal/model"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestPlace(t *testing.T) {
	node := func(name, group, ip string, taint bool) *model.Node {
		n := &model.Node{Meta: model.Meta{Kind: "Node", Name: name, Labels: map[string]string{"eks.amazonaws.com/nodegroup": group}},
			ProviderID: "aws:///us-east-1a/i-" + name, Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: ip}}}
		if taint {
			n.Taints = []corev1.Taint{{Key: "nvidia.com/gpu", Value: "true", Effect: corev1.TaintEffectNoSchedule}}
		}
		return n
	}
	w := &model.World{
		Nodes: []*model.Node{node("cpu1", "cpu", "10.0.0.1", false), node("cpu2", "cpu", "10.0.0.2", false), node("gpu1", "gpu", "10.0.1.1", true), node("other", "spot", "10.0.2.1", false)},
		Instances: []*model.Instance{
			{ID: "i-cpu1", Groups: []string{"sg-cpu"}},
			// Matched by private IP: the node's providerID names no given instance.
			{ID: "i-elsewhere", PrivateIPs: []netip.Addr{netip.MustParseAddr("10.0.0.2")}, Groups: []string{"sg-cpu"}},
			{ID: "i-gpu1", Groups: []string{"sg-gpu", "sg-shared"}},
		},
		SecurityGroupPolicies: []*model.SecurityGroupPolicy{{Meta: model.Meta{Namespace: "ml", Name: "trainers"}, PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "train"}}, GroupIDs: []string{"sg-pod"}}},
	}
	tol := []corev1.Toleration{{Key: "nvidia.com/gpu", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}}
	pods := map[string]*model.PodTemplate{
		"anywhere":        {PodSpec: model.PodSpec{}},
		"cpu":             {PodSpec: model.PodSpec{NodeSelector: map[string]string{"eks.amazonaws.com/nodegroup": "cpu"}}},
		"gpu untolerated": {PodSpec: model.PodSpec{NodeSelector: map[string]string{"eks.amazonaws.com/nodegroup": "gpu"}}},
		"gpu tolerated":   {PodSpec: model.PodSpec{NodeSelector: map[string]string{"eks.amazonaws.com/nodegroup": "gpu"}, Tolerations: tol}},
		"affinity": {PodSpec: model.PodSpec{Affinity: &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
			NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "eks.amazonaws.com/nodegroup", Operator: corev1.NodeSelectorOpIn, Values: []string{"gpu", "spot"}}}}}}}}, Tolerations: tol}},
		"pinned":      {PodSpec: model.PodSpec{NodeName: "gpu1"}},
		"sgp":         {Labels: map[string]string{"app": "train"}, PodSpec: model.PodSpec{NodeSelector: map[string]string{"eks.amazonaws.com/nodegroup": "cpu"}}},
		"sgp hostnet": {Labels: map[string]string{"app": "train"}, PodSpec: model.PodSpec{HostNetwork: true, NodeName: "cpu1"}},
	}
	for name, pt := range pods {
		w.Workloads = append(w.Workloads, &model.Workload{Meta: model.Meta{Kind: "Pod", Namespace: "ml", Name: name}, Pods: []*model.PodTemplate{pt}})
	}
	got, err := Place(w, []NodeGroups{{Selector: metav1.LabelSelector{MatchLabels: map[string]string{"eks.amazonaws.com/nodegroup": "spot"}}, Groups: []string{"sg-spot"}}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"anywhere":        "nodes=cpu1,cpu2,other groups=sg-cpu,sg-spot ambiguous=true",
		"cpu":             "nodes=cpu1,cpu2 groups=sg-cpu ambiguous=false",
		"gpu untolerated": "nodes= groups= ambiguous=false",
		"gpu tolerated":   "nodes=gpu1 groups=sg-gpu,sg-shared ambiguous=false",
		"affinity":        "nodes=gpu1,other groups=sg-gpu,sg-shared,sg-spot ambiguous=true",
		"pinned":          "nodes=gpu1 groups=sg-gpu,sg-shared ambiguous=false",
		"sgp":             "nodes=cpu1,cpu2 groups=sg-pod ambiguous=false",
		"sgp hostnet":     "nodes=cpu1 groups=sg-cpu ambiguous=false",
	}
	for name, pt := range pods {
		p := got[pt]
		s := "nodes=" + strings.Join(p.Nodes, ",") + " groups=" + strings.Join(p.Groups, ",") + " ambiguous=" + map[bool]string{true: "true", false: "false"}[p.Ambiguous]
		if s != want[name] {
			t.Errorf("%s: %s, want %s (%s)", name, s, want[name], p.Via)
		}
	}
}
