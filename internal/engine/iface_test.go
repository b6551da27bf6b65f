package engine

import (
	"testing"

	"github.com/ringfence/ringfence/internal/model"
)

// Private DNS of an interface endpoint, from the AWS PrivateLink guide:
// the service's name resolves to the endpoint only with private DNS on and
// both VPC attributes true; an attribute not given leaves it open.
func TestPrivateDNSTruthTable(t *testing.T) {
	yes, no := true, false
	for _, c := range []struct {
		private            bool
		support, hostnames *bool
		want               string
	}{
		{true, &yes, &yes, "yes"},
		{false, &yes, &yes, "no"},
		{true, &no, &yes, "no"},
		{true, &yes, &no, "no"},
		{true, nil, &yes, "maybe"},
		{true, &yes, nil, "maybe"},
		{true, nil, nil, "maybe"},
		{false, nil, nil, "no"},
		{true, nil, &no, "no"},
	} {
		w := &model.World{Network: model.VPCNetwork{VPCs: []*model.VPC{{ID: "vpc-1", DNSSupport: c.support, DNSHostnames: c.hostnames}}}}
		ep := &model.VPCEndpoint{ID: "vpce-1", Type: "Interface", VPC: "vpc-1", Service: "com.amazonaws.eu-west-1.sts", PrivateDNS: c.private}
		if got, why := compileNet(w).privateDNS(ep); got != c.want {
			t.Errorf("private %v support %v hostnames %v: %s (%s), want %s", c.private, c.support != nil && *c.support, c.hostnames != nil && *c.hostnames, got, why, c.want)
		}
	}
}

func TestEndpointServiceMatch(t *testing.T) {
	w := &model.World{Network: model.VPCNetwork{
		Subnets: []*model.Subnet{{ID: "subnet-a", VPC: "vpc-1"}},
		Endpoints: []*model.VPCEndpoint{
			{ID: "vpce-sts", Type: "Interface", VPC: "vpc-1", Service: "com.amazonaws.eu-west-1.sts"},
			{ID: "vpce-sts-other-vpc", Type: "Interface", VPC: "vpc-2", Service: "com.amazonaws.eu-west-1.sts"},
			{ID: "vpce-s3-gw", Type: "Gateway", VPC: "vpc-1", Service: "com.amazonaws.eu-west-1.s3"},
			{ID: "vpce-sts-us", Type: "Interface", VPC: "vpc-1", Service: "com.amazonaws.us-east-1.sts"},
		}}}
	n := compileNet(w)
	g := &subnetGroup{subnets: []*model.Subnet{n.subnets["subnet-a"]}}
	got := func(dest string) (ids []string) {
		for _, e := range n.interfaceEndpoints(dest, g) {
			ids = append(ids, e.ID)
		}
		return ids
	}
	if ids := got("aws:STS:eu-west-1"); len(ids) != 1 || ids[0] != "vpce-sts" {
		t.Errorf("aws:STS:eu-west-1: %v", ids)
	}
	if ids := got("aws:S3:eu-west-1"); len(ids) != 0 {
		t.Errorf("a gateway endpoint is not an interface endpoint: %v", ids)
	}
	if ids := got("internet"); len(ids) != 0 {
		t.Errorf("internet: %v", ids)
	}
	// Pods whose subnet is unknown may be in any VPC.
	if ids := (n.interfaceEndpoints("aws:STS:eu-west-1", &subnetGroup{subnets: []*model.Subnet{nil}})); len(ids) != 2 {
		t.Errorf("unknown subnet: %d endpoints, want both VPCs' (2)", len(ids))
	}
}
