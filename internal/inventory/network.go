package inventory

import (
	"fmt"
	"strings"

	"github.com/ringfence/ringfence/internal/model"
)

// NetworkObject is one object of the AWS VPC layer, summarised in one
// line.
type NetworkObject struct {
	Kind   string `json:"kind"`
	ID     string `json:"id"`
	VPC    string `json:"vpc,omitempty"`
	Detail string `json:"detail"`
	Source string `json:"source"`
}

// network lists the VPC layer in a fixed kind order, each kind sorted by
// ID as the model keeps it.
func network(w *model.World) []NetworkObject {
	var out []NetworkObject
	add := func(kind, id, vpc string, src model.Source, format string, args ...any) {
		out = append(out, NetworkObject{Kind: kind, ID: id, VPC: vpc, Detail: fmt.Sprintf(format, args...), Source: src.String()})
	}
	n := &w.Network
	for _, v := range n.VPCs {
		dns := ""
		for _, a := range []struct {
			name string
			val  *bool
		}{{"enableDnsSupport", v.DNSSupport}, {"enableDnsHostnames", v.DNSHostnames}} {
			if a.val != nil {
				dns += fmt.Sprintf(", %s %v", a.name, *a.val)
			}
		}
		add("VPC", v.ID, "", v.Source, "cidrs %s%s", join(v.CIDRs), dns)
	}
	for _, s := range n.Subnets {
		cidrs := append([]string{}, strs(s.IPv6CIDRs)...)
		if s.CIDR.IsValid() {
			cidrs = append([]string{s.CIDR.String()}, cidrs...)
		}
		add("Subnet", s.ID, s.VPC, s.Source, "%s %s, public IP on launch %v", dashed(s.Zone), strings.Join(cidrs, ","), s.MapPublicIP)
	}
	for _, a := range n.NetworkACLs {
		in := 0
		for _, e := range a.Entries {
			if !e.Egress {
				in++
			}
		}
		add("NetworkACL", a.ID, a.VPC, a.Source, "%d inbound / %d outbound entries, subnets %s", in, len(a.Entries)-in, dashed(strings.Join(a.Subnets, ",")))
	}
	for _, rt := range n.RouteTables {
		var assoc, routes []string
		for _, as := range rt.Associations {
			switch {
			case as.Main:
				assoc = append(assoc, "main")
			case as.Subnet != "":
				assoc = append(assoc, as.Subnet)
			case as.Gateway != "":
				assoc = append(assoc, as.Gateway)
			}
		}
		for _, r := range rt.Routes {
			dst := r.DestinationPrefixList
			if r.Destination.IsValid() {
				dst = r.Destination.String()
			}
			target := r.Target
			if target == "" {
				target = r.TargetType
			}
			if r.Blackhole {
				target += " (blackhole)"
			}
			routes = append(routes, dst+"->"+target)
		}
		add("RouteTable", rt.ID, rt.VPC, rt.Source, "for %s; routes %s", dashed(strings.Join(assoc, ",")), dashed(strings.Join(routes, " ")))
	}
	for _, e := range n.Endpoints {
		where := strings.Join(e.RouteTables, ",")
		if e.Type != "Gateway" {
			where = strings.Join(e.Subnets, ",")
		}
		add("VPCEndpoint", e.ID, e.VPC, e.Source, "%s %s in %s, groups %s, private DNS %v, policy %s", e.Type, e.Service, dashed(where), dashed(strings.Join(e.Groups, ",")), e.PrivateDNS, given(e.Policy))
	}
	for _, g := range n.NATGateways {
		add("NATGateway", g.ID, g.VPC, g.Source, "%s in %s, public %s", dashed(g.Connectivity), dashed(g.Subnet), dashed(join(g.PublicIPs)))
	}
	for _, g := range n.InternetGateways {
		add("InternetGateway", g.ID, strings.Join(g.VPCs, ","), g.Source, "attached %v", len(g.VPCs) > 0)
	}
	for _, l := range n.LoadBalancers {
		add("LoadBalancer", l.Name, l.VPC, l.Source, "%s %s, groups %s, subnets %s", dashed(l.Type), dashed(l.Scheme), dashed(strings.Join(l.Groups, ",")), dashed(strings.Join(l.Subnets, ",")))
	}
	for _, g := range n.TargetGroups {
		add("TargetGroup", g.Name, g.VPC, g.Source, "%s targets, %s:%d, %d load balancers", dashed(g.TargetType), dashed(g.Protocol), g.Port, len(g.LoadBalancers))
	}
	for _, l := range n.Listeners {
		add("Listener", l.ARN, "", l.Source, "%s:%d of %s, to %s", l.Protocol, l.Port, dashed(l.LoadBalancer), dashed(strings.Join(l.TargetGroups, ",")))
	}
	return out
}

func strs[T fmt.Stringer](xs []T) []string {
	out := make([]string, 0, len(xs))
	for _, x := range xs {
		out = append(out, x.String())
	}
	return out
}

func join[T fmt.Stringer](xs []T) string { return strings.Join(strs(xs), ",") }

func dashed(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func given(s string) string {
	if s == "" {
		return "not given"
	}
	return "given"
}
