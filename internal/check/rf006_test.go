package check

import (
	"context"
	"testing"

	"github.com/ringfence/ringfence/internal/engine"
	"github.com/ringfence/ringfence/internal/load"
	"github.com/ringfence/ringfence/internal/model"
	"github.com/ringfence/ringfence/internal/ranges"
	networkingv1 "k8s.io/api/networking/v1"
)

// EC2's ranges overlap other services' (S3's among them): a rule that
// lists exactly EC2's current ranges of a region is current, not an
// incomplete list of S3; one prefix fewer and it is judged again.
func TestRF006ExactServiceRanges(t *testing.T) {
	doc, err := ranges.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	count := func(drop int) int {
		res, err := load.Load(context.Background(), load.Options{Files: fixture("rf004-clean.yaml")})
		if err != nil {
			t.Fatal(err)
		}
		var rule networkingv1.NetworkPolicyEgressRule
		for _, p := range ranges.Aggregate(doc.Select(ranges.Filter{Services: []string{"EC2"}, Regions: []string{"us-east-1"}})) {
			if p.Addr().Is4() {
				rule.To = append(rule.To, networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: p.String()}})
			}
		}
		rule.To = rule.To[drop:]
		w := res.World
		w.Policies = append(w.Policies, &model.NetworkPolicy{Meta: model.Meta{Kind: "NetworkPolicy", Namespace: "ml", Name: "ec2"},
			Spec: networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}, Egress: []networkingv1.NetworkPolicyEgressRule{rule}}})
		a, err := engine.Analyse(w, engine.Options{})
		if err != nil {
			t.Fatal(err)
		}
		found, err := Run(&Context{World: w, Analysis: a, Ranges: doc}, []string{"RF006"})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, f := range found {
			if f.Object.Name == "ec2" {
				n++
			}
		}
		return n
	}
	if n := count(0); n != 0 {
		t.Errorf("EC2's exact ranges raised %d RF006 findings", n)
	}
	if n := count(1); n == 0 {
		t.Errorf("EC2's ranges less one raised no RF006 finding (they overlap S3's)")
	}
}
