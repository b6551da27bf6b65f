package engine

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/ringfence/ringfence/internal/model"
)

// On the VPC CNI a pod takes an address from its node's subnets: with the
// instances and subnets known, the pods' range is those subnets (so a
// subnet no node is in, such as the EKS control plane's, holds no pod);
// without the instances it is the whole VPC.
func TestPodRangeFromNodeSubnets(t *testing.T) {
	pfx := netip.MustParsePrefix
	w := &model.World{Network: model.VPCNetwork{
		VPCs: []*model.VPC{{ID: "vpc-1", CIDRs: []netip.Prefix{pfx("10.0.0.0/16")}}},
		Subnets: []*model.Subnet{
			{ID: "subnet-nodes", VPC: "vpc-1", CIDR: pfx("10.0.0.0/22")},
			{ID: "subnet-control-plane", VPC: "vpc-1", CIDR: pfx("10.0.8.0/24")},
		},
	}}
	node, controlPlane := netip.MustParseAddr("10.0.2.10"), netip.MustParseAddr("10.0.8.10")

	r := ranges(w, nil)
	if !r.pods.set.Contains(node) || !r.pods.set.Contains(controlPlane) {
		t.Fatalf("without instances the pods' range is the VPC: %v", r.pods.set.Prefixes())
	}

	w.Instances = []*model.Instance{{ID: "i-1", PrivateIPs: []netip.Addr{netip.MustParseAddr("10.0.1.5")}}}
	r = ranges(w, nil)
	if !r.pods.set.Contains(node) || r.pods.set.Contains(controlPlane) {
		t.Fatalf("with the instances the pods' range is their subnets: %v", r.pods.set.Prefixes())
	}
	if r.pods.set.Contains(netip.MustParseAddr("10.0.0.1")) {
		t.Errorf("AWS keeps the first addresses of a subnet: %v", r.pods.set.Prefixes())
	}
	if !strings.Contains(r.pods.what, "subnet-nodes") || !strings.Contains(r.pods.remedy, "custom networking") {
		t.Errorf("the reason names the subnets and the remedy: %q / %q", r.pods.what, r.pods.remedy)
	}

	// An instance outside every known subnet: the subnets cannot bound the
	// pods, so the range stays the VPC.
	w.Instances = append(w.Instances, &model.Instance{ID: "i-2", PrivateIPs: []netip.Addr{netip.MustParseAddr("10.0.20.5")}})
	if r = ranges(w, nil); !r.pods.set.Contains(controlPlane) {
		t.Fatalf("an instance in an unknown subnet widens the range back to the VPC: %v", r.pods.set.Prefixes())
	}
}
