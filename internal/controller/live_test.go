package controller

import (
	"context"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// fiveS3 are the /22s the second April publication adds to S3 us-east-1.
var fiveS3 = []string{"16.15.156.0/22", "16.15.160.0/22", "16.15.164.0/22", "16.15.168.0/22", "16.15.172.0/22"}

// optedInPolicy is a hand-written policy whose S3 rule opts in, beside a
// rule of the user's own.
func optedInPolicy(ns, staleS3 string) *networkingv1.NetworkPolicy {
	tcp := corev1.ProtocolTCP
	pg, https := intstr.FromInt32(5432), intstr.FromInt32(443)
	return &networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "legacy-egress", Namespace: ns, Annotations: map[string]string{RangesAnnotation: "S3@us-east-1", PortsAnnotation: "TCP/443"}},
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "legacy"}},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress},
			Egress: []networkingv1.NetworkPolicyEgressRule{
				{To: []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: "10.20.0.0/16"}}}, Ports: []networkingv1.NetworkPolicyPort{{Protocol: &tcp, Port: &pg}}},
				{To: []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: staleS3}}}, Ports: []networkingv1.NetworkPolicyPort{{Protocol: &tcp, Port: &https}}},
			},
		},
	}
}

// The core: the real April publications, served over HTTPS; after the
// second one the S3 us-east-1 rules gain the five /22s and an Event says
// so; a user's edit to a rule the controller does not manage survives; a
// publication that does not touch S3 us-east-1 causes no write at all.
func TestLiveRangesUpdate(t *testing.T) {
	cl := startCluster(t)
	ctx := context.Background()
	ns := cl.namespace(t, "ml-training")
	one, two := readFile(t, april1), readFile(t, april2)
	srv := newFeedServer(t, one)
	f := cl.trainingFence(t, ns)
	first := s3(t, one)
	if err := cl.c.Create(ctx, optedInPolicy(ns, first[0])); err != nil {
		t.Fatal(err)
	}
	r := cl.run(t, runOptions{ns: ns, source: srv.source(t)})

	eventually(t, "the Fence's policy with the first publication's S3 ranges", func() (bool, string) {
		p := cl.policy(t, ns, "ringfence-training")
		got := ruleCIDRs(p, 0)
		return slices.Equal(got, first), strings.Join(got, " ")
	})
	p := cl.policy(t, ns, "ringfence-training")
	if !metav1.IsControlledBy(p, f) {
		t.Errorf("ringfence-training is not controlled by the Fence: %+v", p.OwnerReferences)
	}
	if dd := cl.policy(t, ns, "ringfence-default-deny"); dd == nil || len(dd.OwnerReferences) != 1 || dd.OwnerReferences[0].UID != f.UID {
		t.Errorf("default-deny missing or not owned by the Fence: %+v", dd)
	}
	eventually(t, "the opted-in policy's managed rule", func() (bool, string) {
		got := ruleCIDRs(cl.policy(t, ns, "legacy-egress"), 1)
		return slices.Equal(got, first), strings.Join(got, " ")
	})
	eventually(t, "the Fence's status", func() (bool, string) {
		f := cl.fence(t, ns, "training")
		return condition(f, CondReady).Status == metav1.ConditionTrue && condition(f, CondFeedHealthy).Status == metav1.ConditionTrue &&
			condition(f, CondSynced).Status == metav1.ConditionTrue && f.Status.SyncToken == "1776110825", f.Status.SyncToken
	})
	for _, c := range ruleCIDRs(cl.policy(t, ns, "ringfence-training"), 0) {
		for _, p := range fiveS3 {
			if contains([]string{c}, p) {
				t.Fatalf("%s already allowed before the second publication", p)
			}
		}
	}

	// The user edits their own rule of the opted-in policy.
	legacy := cl.policy(t, ns, "legacy-egress")
	legacy.Spec.Egress[0].To = append(legacy.Spec.Egress[0].To, networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: "10.30.0.0/16"}})
	if err := cl.c.Update(ctx, legacy); err != nil {
		t.Fatal(err)
	}
	userRule := legacy.Spec.Egress[0]

	srv.serve(two)
	second := s3(t, two)
	eventually(t, "the second publication's S3 ranges in both policies", func() (bool, string) {
		a := ruleCIDRs(cl.policy(t, ns, "ringfence-training"), 0)
		b := ruleCIDRs(cl.policy(t, ns, "legacy-egress"), 1)
		return slices.Equal(a, second) && slices.Equal(b, second), strings.Join(a, " ")
	})
	for _, name := range []string{"ringfence-training", "legacy-egress"} {
		cidrs := ruleCIDRs(cl.policy(t, ns, name), map[string]int{"ringfence-training": 0, "legacy-egress": 1}[name])
		for _, p := range fiveS3 {
			if !contains(cidrs, p) {
				t.Errorf("%s does not allow %s after the second publication", name, p)
			}
		}
	}
	if got := cl.policy(t, ns, "legacy-egress"); len(got.Spec.Egress) != 2 || !equalRule(got.Spec.Egress[0], userRule) {
		t.Errorf("the user's rule changed: %+v", got.Spec.Egress)
	}
	eventually(t, "Events listing the five /22s", func() (bool, string) {
		notes := cl.events(t, ns, "RangesUpdated")
		for _, regarding := range []string{"Fence/training", "NetworkPolicy/legacy-egress"} {
			found := false
			for _, n := range notes {
				if strings.HasPrefix(n, regarding+":") && strings.Contains(n, "S3@us-east-1 added "+strings.Join(fiveS3, ", ")) {
					found = true
				}
			}
			if !found {
				return false, strings.Join(notes, "\n")
			}
		}
		return true, ""
	})
	t.Logf("Events:\n%s", strings.Join(append(cl.events(t, ns, "RangesUpdated"), cl.events(t, ns, "PolicyCreated")...), "\n"))
	if got := cl.fence(t, ns, "training").Status.SyncToken; got != "1776118025" {
		t.Errorf("status.syncToken %s, want the second publication's", got)
	}

	// A later publication that changes other services only: zero writes.
	eventually(t, "the controller to settle", func() (bool, string) {
		return r.metric(t, "ringfence_feed_sync_token", nil) == 1776118025, ""
	})
	writes := r.writes(t, "")
	before := map[string]string{}
	for _, name := range []string{"ringfence-training", "ringfence-default-deny", "legacy-egress"} {
		before[name] = cl.policy(t, ns, name).ResourceVersion
	}
	fenceRV := cl.fence(t, ns, "training").ResourceVersion
	other := variant(t, two, 1776125225, without(firstPrefix(t, two, "EC2", "eu-west-1")))
	srv.serve(other)
	eventually(t, "the unrelated publication to be accepted", func() (bool, string) {
		return r.metric(t, "ringfence_feed_sync_token", nil) == 1776125225, ""
	})
	// Give the reconcilers the chance to (wrongly) write.
	eventually(t, "conditional GETs of the unchanged publication", func() (bool, string) {
		return srv.notMod.Load() >= 3, ""
	})
	if got := r.writes(t, ""); got != writes {
		t.Errorf("a publication that does not touch S3 us-east-1 caused %v API writes", got-writes)
	}
	for name, rv := range before {
		if got := cl.policy(t, ns, name).ResourceVersion; got != rv {
			t.Errorf("%s was written (resourceVersion %s -> %s)", name, rv, got)
		}
	}
	if got := cl.fence(t, ns, "training").ResourceVersion; got != fenceRV {
		t.Errorf("the Fence (status) was written for an unrelated publication")
	}
}

func equalRule(a, b networkingv1.NetworkPolicyEgressRule) bool {
	if len(a.To) != len(b.To) || len(a.Ports) != len(b.Ports) {
		return false
	}
	for i := range a.To {
		if a.To[i].IPBlock == nil || b.To[i].IPBlock == nil || a.To[i].IPBlock.CIDR != b.To[i].IPBlock.CIDR {
			return false
		}
	}
	return true
}

// firstPrefix returns the first IPv4 prefix published for service in region.
func firstPrefix(t testing.TB, body []byte, service, region string) string {
	t.Helper()
	doc := parseDoc(t, body)
	for _, p := range doc.Prefixes {
		if p.Service == service && p.Region == region && p.Prefix.Addr().Is4() {
			return p.Prefix.String()
		}
	}
	t.Fatalf("no %s prefix in %s", service, region)
	return ""
}
