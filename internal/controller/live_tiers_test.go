package controller

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/ringfence/ringfence/api/v1alpha1"
	"github.com/ringfence/ringfence/internal/testenv"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// tierObjects are one object of each tiered kind (docs/tiers.md) in and
// around a fenced namespace; the ApplicationNetworkPolicy selects the
// fenced pods and carries the opt-in annotations of a managed rule, as if a
// user had copied them from a NetworkPolicy.
func tierObjects(ns string) []string {
	return []string{
		`{"apiVersion": "networking.k8s.aws/v1alpha1", "kind": "ClusterNetworkPolicy", "metadata": {"name": "deny-imds"},
		  "spec": {"tier": "Admin", "priority": 10, "subject": {"namespaces": {}}, "egress": [{"name": "imds", "action": "Deny", "to": [{"networks": ["169.254.169.254/32"]}]}]}}`,
		`{"apiVersion": "networking.k8s.aws/v1alpha1", "kind": "ApplicationNetworkPolicy", "metadata": {"name": "trainer-s3", "namespace": "` + ns + `",
		  "annotations": {"` + RangesAnnotation + `": "S3@us-east-1", "` + PortsAnnotation + `": "TCP/443"}},
		  "spec": {"podSelector": {"matchLabels": {"app": "trainer"}}, "policyTypes": ["Egress"],
		    "egress": [{"to": [{"domainNames": ["s3.us-east-1.amazonaws.com"]}], "ports": [{"port": 443}]}, {"to": [{"ipBlock": {"cidr": "192.0.2.0/24"}}]}]}}`,
		`{"apiVersion": "policy.networking.k8s.io/v1alpha2", "kind": "ClusterNetworkPolicy", "metadata": {"name": "ml-baseline"},
		  "spec": {"tier": "Baseline", "priority": 100, "subject": {"namespaces": {"matchLabels": {"kubernetes.io/metadata.name": "` + ns + `"}}},
		    "egress": [{"action": "Deny", "to": [{"networks": ["0.0.0.0/0"]}]}]}}`,
		`{"apiVersion": "policy.networking.k8s.io/v1alpha1", "kind": "AdminNetworkPolicy", "metadata": {"name": "pass-dns"},
		  "spec": {"priority": 20, "subject": {"namespaces": {}}, "egress": [{"action": "Pass", "to": [{"namespaces": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}}]}]}}`,
		`{"apiVersion": "policy.networking.k8s.io/v1alpha1", "kind": "BaselineAdminNetworkPolicy", "metadata": {"name": "default"},
		  "spec": {"subject": {"namespaces": {}}, "ingress": [{"action": "Deny", "from": [{"namespaces": {}}]}]}}`,
	}
}

// TestLiveTierKindsLeftAlone: the controller writes only networking.k8s.io
// NetworkPolicies, and deletes only those a Fence controls (an
// ownerReference to the Fence with controller: true, metav1.IsControlledBy).
// On a real API server with the tier CRDs installed, through a Fence's
// reconciliation and a new publication that rewrites the managed rules,
// every tiered object stays as it was (same resourceVersion): the one the
// Fence owns too (an ownerReference to it, as `generate -o eks-anp` output
// applied with ownership would carry), which the Kubernetes garbage
// collector, not the controller, removes with the Fence.
func TestLiveTierKindsLeftAlone(t *testing.T) {
	cl := startClusterDirs(t, filepath.Join(testenv.RepoRoot(), "deploy", "ringfence-controller", "crds"), testenv.TierCRDs())
	ctx := context.Background()
	ns := cl.namespace(t, "ml-tiers")
	one, two := readFile(t, april1), readFile(t, april2)
	srv := newFeedServer(t, one)
	f := cl.trainingFence(t, ns)
	var objs []*unstructured.Unstructured
	for i, j := range append(tierObjects(ns), `{"apiVersion": "networking.k8s.aws/v1alpha1", "kind": "ApplicationNetworkPolicy", "metadata": {"name": "owned", "namespace": "`+ns+`"},
		"spec": {"podSelector": {"matchLabels": {"app": "trainer"}}, "policyTypes": ["Egress"], "egress": [{"to": [{"domainNames": ["sts.us-east-1.amazonaws.com"]}]}]}}`) {
		u := &unstructured.Unstructured{}
		if err := json.Unmarshal([]byte(j), &u.Object); err != nil {
			t.Fatal(err)
		}
		if i == len(tierObjects(ns)) {
			yes := true
			u.SetOwnerReferences([]metav1.OwnerReference{{APIVersion: "ringfence.dev/v1alpha1", Kind: "Fence", Name: f.Name, UID: f.UID, Controller: &yes}})
		}
		if err := cl.c.Create(ctx, u); err != nil {
			t.Fatalf("creating %s %s: %v", u.GetKind(), u.GetName(), err)
		}
		objs = append(objs, u)
	}
	r := cl.run(t, runOptions{ns: ns, source: srv.source(t)})
	eventually(t, "the Fence's policy", func() (bool, string) {
		return cl.policy(t, ns, "ringfence-training") != nil, ""
	})
	srv.serve(two)
	waitToken(t, r, 1776118025)
	eventually(t, "the second publication in the Fence's policy", func() (bool, string) {
		got := ruleCIDRs(cl.policy(t, ns, "ringfence-training"), 0)
		return contains(got, fiveS3[0]), ""
	})
	// The Fence changes: its policy is rewritten.
	f = cl.fence(t, ns, "training")
	f.Spec.Egress = append(f.Spec.Egress, v1alpha1.EgressIntent{CIDR: &v1alpha1.CIDRDestination{CIDRs: []string{"192.0.2.0/24"}, Ports: []v1alpha1.Port{{Port: 5432}}}})
	if err := cl.c.Update(ctx, f); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the Fence's policy with 192.0.2.0/24", func() (bool, string) {
		p := cl.policy(t, ns, "ringfence-training")
		for i := range p.Spec.Egress {
			if contains(ruleCIDRs(p, i), "192.0.2.0/24") {
				return true, ""
			}
		}
		return false, ""
	})
	for _, want := range objs {
		got := &unstructured.Unstructured{}
		got.SetGroupVersionKind(want.GroupVersionKind())
		if err := cl.c.Get(ctx, client.ObjectKeyFromObject(want), got); err != nil {
			t.Errorf("%s %s: %v", want.GetKind(), want.GetName(), err)
			continue
		}
		if got.GetResourceVersion() != want.GetResourceVersion() {
			t.Errorf("%s %s was written by the controller (resourceVersion %s, created at %s)", want.GetKind(), want.GetName(), got.GetResourceVersion(), want.GetResourceVersion())
		}
	}
	if n := r.writes(t, "ClusterNetworkPolicy") + r.writes(t, "ApplicationNetworkPolicy") + r.writes(t, "AdminNetworkPolicy") + r.writes(t, "BaselineAdminNetworkPolicy"); n != 0 {
		t.Errorf("%v writes of tiered kinds counted", n)
	}
	if r.writes(t, "NetworkPolicy") == 0 {
		t.Error("the controller wrote no NetworkPolicy: the test proves nothing")
	}
}
