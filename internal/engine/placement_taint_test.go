package engine

import (
	"testing"

	"github.com/ringfence/ringfence/internal/model"
	corev1 "k8s.io/api/core/v1"
)

// TestPlacementNamesTaints: when taints keep pods off every node, the
// placement says which taint on which nodes; a tolerated taint, or one
// on a node the selector rules out anyway, is not blamed.
func TestPlacementNamesTaints(t *testing.T) {
	notReady := corev1.Taint{Key: "node.kubernetes.io/not-ready", Effect: corev1.TaintEffectNoSchedule}
	gpu := corev1.Taint{Key: "nvidia.com/gpu", Value: "true", Effect: corev1.TaintEffectNoSchedule}
	node := func(name string, labels map[string]string, taints ...corev1.Taint) *model.Node {
		return &model.Node{Meta: model.Meta{Kind: "Node", Name: name, Labels: labels}, Taints: taints}
	}
	pt := &model.PodTemplate{PodSpec: model.PodSpec{
		NodeSelector: map[string]string{"pool": "gpu"},
		Tolerations:  []corev1.Toleration{{Key: "nvidia.com/gpu", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}},
	}}
	w := &model.World{
		Nodes: []*model.Node{
			node("gpu-a", map[string]string{"pool": "gpu"}, gpu, notReady),
			node("gpu-b", map[string]string{"pool": "gpu"}, notReady),
			node("cpu-a", map[string]string{"pool": "cpu"}, corev1.Taint{Key: "dedicated", Value: "cpu", Effect: corev1.TaintEffectNoExecute}),
		},
		Workloads: []*model.Workload{{Meta: model.Meta{Kind: "Deployment", Namespace: "ml", Name: "train"}, Pods: []*model.PodTemplate{pt}}},
	}
	placed, err := Place(w, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := placed[pt]
	want := "none of the given nodes admits it (nodeName, nodeSelector, required affinity, taints); taints it does not tolerate: node.kubernetes.io/not-ready:NoSchedule on gpu-a, gpu-b"
	if len(p.Nodes) != 0 || p.Via != want {
		t.Errorf("placement = %+v\nwant via %q", p, want)
	}
	// Once the nodes are ready, the pods are placed on the GPU pool.
	for _, n := range w.Nodes[:2] {
		n.Taints = n.Taints[:len(n.Taints)-1]
	}
	w.Nodes[1].Taints = nil
	placed, _ = Place(w, nil)
	if got := placed[pt].Nodes; len(got) != 2 {
		t.Errorf("ready nodes: placed on %v, want gpu-a and gpu-b", got)
	}
}
