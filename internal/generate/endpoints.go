package generate

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/ringfence/ringfence/internal/model"
)

// interfaceEndpoint is the interface VPC endpoint of an AWS service in a
// region that takes the service's public name (private DNS enabled: the
// SDKs' and agents' calls to <service>.<region>.amazonaws.com then resolve
// to its addresses in the VPC). Without private DNS the name still
// resolves to the public endpoint, so the endpoint does not meet the need.
func interfaceEndpoint(w *model.World, region, service string) *model.VPCEndpoint {
	name := "com.amazonaws." + region + "." + service
	for _, e := range w.Network.Endpoints {
		if e.Type == "Interface" && e.Service == name && e.PrivateDNS && len(e.Subnets) > 0 {
			return e
		}
	}
	return nil
}

// gatewayEndpoint is the gateway VPC endpoint of a service (S3, DynamoDB)
// in a region, if any: traffic to the service's managed prefix list then
// takes it.
func gatewayEndpoint(w *model.World, region, service string) *model.VPCEndpoint {
	name := "com.amazonaws." + region + "." + service
	for _, e := range w.Network.Endpoints {
		if e.Type == "Gateway" && e.Service == name {
			return e
		}
	}
	return nil
}

// endpointAddrs are the addresses an interface endpoint's network
// interfaces take: its subnets' ranges (the interfaces' own addresses are
// in describe-network-interfaces, which ringfence does not read).
func endpointAddrs(w *model.World, e *model.VPCEndpoint) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range w.Network.Subnets {
		if contains(e.Subnets, s.ID) {
			if s.CIDR.IsValid() {
				out = append(out, s.CIDR)
			}
			out = append(out, s.IPv6CIDRs...)
		}
	}
	return out
}

// endpointDescription names an endpoint and where its addresses are.
func endpointDescription(w *model.World, e *model.VPCEndpoint) string {
	var cidrs []string
	for _, p := range endpointAddrs(w, e) {
		cidrs = append(cidrs, p.String())
	}
	return fmt.Sprintf("the interface VPC endpoint %s (%s, private DNS; subnets %s: %s; groups %s)", e.ID, e.Service,
		strings.Join(e.Subnets, ", "), strings.Join(cidrs, ", "), strings.Join(e.Groups, ", "))
}

// endpointRules are the rules that let a group reach interface endpoints
// on TCP 443: egress to the endpoints' groups, and, on each endpoint
// group, ingress from the group (a group reference admits exactly its
// members; a rule by address the group may have already is left as it
// is).
func endpointRules(eps []*model.VPCEndpoint, desc string) []SGRule {
	var out []SGRule
	seen := map[string]bool{}
	for _, e := range eps {
		for _, g := range e.Groups {
			if !seen[g] {
				seen[g] = true
				out = append(out, groupRule("tcp", 443, 443, g, desc+" through "+e.ID))
			}
		}
	}
	return out
}
