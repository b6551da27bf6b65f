package aws

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"github.com/ringfence/ringfence/internal/load/document"
	"github.com/ringfence/ringfence/internal/model"
)

// The VPC layer's shapes: EC2 describe-* and ELBv2 outputs.
const (
	ShapeNetworkACLs  Shape = "aws ec2 describe-network-acls"
	ShapeRouteTables  Shape = "aws ec2 describe-route-tables"
	ShapeSubnets      Shape = "aws ec2 describe-subnets"
	ShapeVPCs         Shape = "aws ec2 describe-vpcs"
	ShapeVPCEndpoints Shape = "aws ec2 describe-vpc-endpoints"
	// The VPC's DNS attributes, one per describe-vpc-attribute output.
	ShapeVPCDNSSupport    Shape = "aws ec2 describe-vpc-attribute --attribute enableDnsSupport"
	ShapeVPCDNSHostnames  Shape = "aws ec2 describe-vpc-attribute --attribute enableDnsHostnames"
	ShapeNATGateways      Shape = "aws ec2 describe-nat-gateways"
	ShapeInternetGateways Shape = "aws ec2 describe-internet-gateways"
	ShapeLoadBalancers    Shape = "aws elbv2 describe-load-balancers"
	ShapeTargetGroups     Shape = "aws elbv2 describe-target-groups"
	ShapeListeners        Shape = "aws elbv2 describe-listeners"
	ShapeLBTags           Shape = "aws elbv2 describe-tags"
	// ShapeTargetGroupAttributes is {"Attributes": [{"Key", "Value"}]}:
	// describe-target-group-attributes' output, which names no target
	// group, or with "TargetGroupArn" beside it (the input of
	// modify-target-group-attributes, as --generate-cli-skeleton prints
	// it), which ties it to one.
	ShapeTargetGroupAttributes Shape = "aws elbv2 describe-target-group-attributes"
)

// networkShapes maps a describe-* output's top-level key to its shape.
var networkShapes = map[string]Shape{
	"NetworkAcls":        ShapeNetworkACLs,
	"RouteTables":        ShapeRouteTables,
	"Subnets":            ShapeSubnets,
	"Vpcs":               ShapeVPCs,
	"VpcEndpoints":       ShapeVPCEndpoints,
	"EnableDnsSupport":   ShapeVPCDNSSupport,
	"EnableDnsHostnames": ShapeVPCDNSHostnames,
	"NatGateways":        ShapeNATGateways,
	"InternetGateways":   ShapeInternetGateways,
	"LoadBalancers":      ShapeLoadBalancers,
	"TargetGroups":       ShapeTargetGroups,
	"Listeners":          ShapeListeners,
	"TagDescriptions":    ShapeLBTags,
}

// unmodelledShapes are AWS outputs recognised by their top-level key that
// the model does not hold: reading them is a warning, never an abort.
var unmodelledShapes = map[string]string{
	"NetworkInterfaces":          "aws ec2 describe-network-interfaces",
	"TransitGateways":            "aws ec2 describe-transit-gateways",
	"VpcPeeringConnections":      "aws ec2 describe-vpc-peering-connections",
	"EgressOnlyInternetGateways": "aws ec2 describe-egress-only-internet-gateways",
	"Addresses":                  "aws ec2 describe-addresses",
	"LoadBalancerDescriptions":   "aws elb describe-load-balancers (Classic Load Balancer)",
	"TargetHealthDescriptions":   "aws elbv2 describe-target-health",
	"ServiceDetails":             "aws ec2 describe-vpc-endpoint-services",
	"FlowLogs":                   "aws ec2 describe-flow-logs",
}

// ShapeUnmodelled is an AWS output the model does not hold.
const ShapeUnmodelled Shape = "unmodelled AWS output"

// network holds the VPC layer while documents are added.
type network struct {
	vpcs      map[string]*model.VPC
	subnets   map[string]*model.Subnet
	acls      map[string]*model.NetworkACL
	tables    map[string]*model.RouteTable
	endpoints map[string]*model.VPCEndpoint
	nats      map[string]*model.NATGateway
	igws      map[string]*model.InternetGateway
	lbs       map[string]*model.LoadBalancer
	tgs       map[string]*model.TargetGroup
	listeners map[string]*model.Listener
	// tags are describe-tags' tags by resource ARN, put on the load
	// balancers when every document is in (files come in any order).
	tags map[string]map[string]string
	// dns holds describe-vpc-attribute answers until the VPCs are known.
	dns []vpcAttribute
	// tgAttrs are target groups' attributes by ARN, put on the target
	// groups when every document is in.
	tgAttrs map[string]*model.TargetGroupAttributes
}

// vpcAttribute is one describe-vpc-attribute answer.
type vpcAttribute struct {
	vpc       string
	hostnames bool
	value     bool
	src       model.Source
}

func newNetwork() network {
	return network{
		vpcs: map[string]*model.VPC{}, subnets: map[string]*model.Subnet{}, acls: map[string]*model.NetworkACL{},
		tables: map[string]*model.RouteTable{}, endpoints: map[string]*model.VPCEndpoint{}, nats: map[string]*model.NATGateway{},
		igws: map[string]*model.InternetGateway{}, lbs: map[string]*model.LoadBalancer{}, tgs: map[string]*model.TargetGroup{},
		listeners: map[string]*model.Listener{}, tags: map[string]map[string]string{},
		tgAttrs: map[string]*model.TargetGroupAttributes{},
	}
}

func sortedValues[V any](m map[string]V) []V {
	out := make([]V, 0, len(m))
	for _, k := range sortedKeys(m) {
		out = append(out, m[k])
	}
	return out
}

func (n *network) finish(w *model.World, report *document.Report) {
	for _, a := range n.dns {
		v := n.vpcs[a.vpc]
		if v == nil {
			report.Warn(a.src, "VPC/"+a.vpc, "a DNS attribute of %s is given, but the VPC is not in the inputs (aws ec2 describe-vpcs): it is not used", a.vpc)
			continue
		}
		val := a.value
		if a.hostnames {
			v.DNSHostnames = &val
		} else {
			v.DNSSupport = &val
		}
	}
	for _, id := range sortedKeys(n.acls) {
		a := n.acls[id]
		a.Entries = uniqueEntries(a, report)
		// Evaluation order: per direction, by rule number.
		sort.SliceStable(a.Entries, func(i, j int) bool {
			x, y := a.Entries[i], a.Entries[j]
			if x.Egress != y.Egress {
				return !x.Egress
			}
			return x.RuleNumber < y.RuleNumber
		})
		sort.Strings(a.Subnets)
		a.Subnets = dedupe(a.Subnets)
	}
	for _, id := range sortedKeys(n.tables) {
		rt := n.tables[id]
		rt.Routes = uniqueRoutes(rt, report)
	}
	for _, arn := range sortedKeys(n.tags) {
		t := n.tags[arn]
		lb := n.lbs[arn]
		if lb == nil {
			// Tags of a target group, a listener, or a load balancer
			// whose describe-load-balancers output was not given.
			continue
		}
		if lb.Tags == nil {
			lb.Tags = map[string]string{}
		}
		for k, v := range t {
			lb.Tags[k] = v
		}
	}
	for _, arn := range sortedKeys(n.tgAttrs) {
		a := n.tgAttrs[arn]
		tg := n.tgs[arn]
		if tg == nil {
			report.Warn(a.Source, "TargetGroup/"+arn, "attributes of target group %s are given, but the target group is not in the inputs (aws elbv2 describe-target-groups): they are not used", arn)
			continue
		}
		tg.Attributes = a
	}
	w.Network = model.VPCNetwork{
		VPCs: sortedValues(n.vpcs), Subnets: sortedValues(n.subnets), NetworkACLs: sortedValues(n.acls),
		RouteTables: sortedValues(n.tables), Endpoints: sortedValues(n.endpoints), NATGateways: sortedValues(n.nats),
		InternetGateways: sortedValues(n.igws), LoadBalancers: sortedValues(n.lbs), TargetGroups: sortedValues(n.tgs),
		Listeners: sortedValues(n.listeners),
	}
}

func dedupe(s []string) []string {
	out := s[:0]
	for i, x := range s {
		if i == 0 || x != s[i-1] {
			out = append(out, x)
		}
	}
	return out
}

// addNetwork reads one VPC-layer document.
func (b *Builder) addNetwork(o *document.Object, shape Shape) error {
	switch shape {
	case ShapeNetworkACLs:
		return b.networkACLs(o)
	case ShapeRouteTables:
		return b.routeTables(o)
	case ShapeSubnets:
		return b.subnetsDoc(o)
	case ShapeVPCs:
		return b.vpcsDoc(o)
	case ShapeVPCEndpoints:
		return b.endpointsDoc(o)
	case ShapeVPCDNSSupport, ShapeVPCDNSHostnames:
		return b.vpcAttributeDoc(o, shape == ShapeVPCDNSHostnames)
	case ShapeNATGateways:
		return b.natsDoc(o)
	case ShapeInternetGateways:
		return b.igwsDoc(o)
	case ShapeLoadBalancers:
		return b.lbsDoc(o)
	case ShapeTargetGroups:
		return b.tgsDoc(o)
	case ShapeListeners:
		return b.listenersDoc(o)
	case ShapeLBTags:
		return b.tagsDoc(o)
	case ShapeTargetGroupAttributes:
		return b.tgAttributesDoc(o)
	}
	return fmt.Errorf("unhandled shape %s", shape)
}

func decode(o *document.Object, shape Shape, v any) error {
	if err := json.Unmarshal(o.JSON, v); err != nil {
		return &document.Error{Source: o.Source, Msg: fmt.Sprintf("invalid %s output: %v", shape, err)}
	}
	return nil
}

// need fails when an object has no ID.
func need(src model.Source, list string, i int, field, v string) error {
	if v == "" {
		return &document.Error{Source: src, Msg: fmt.Sprintf("%s[%d] has no %s", list, i, field)}
	}
	return nil
}

func (b *Builder) networkACLs(o *document.Object) error {
	var doc struct {
		NetworkAcls []struct {
			NetworkAclId, VpcId string
			IsDefault           bool
			Entries             []struct {
				RuleNumber               *int32
				Egress                   bool
				Protocol, RuleAction     string
				CidrBlock, Ipv6CidrBlock string
				PortRange                *struct{ From, To *int32 }
				IcmpTypeCode             *struct{ Type, Code *int32 }
			}
			Associations []struct{ SubnetId string }
		}
	}
	if err := decode(o, ShapeNetworkACLs, &doc); err != nil {
		return err
	}
	for i, a := range doc.NetworkAcls {
		src := o.Source.At(o.Line("NetworkAcls", i))
		if err := need(src, "NetworkAcls", i, "NetworkAclId", a.NetworkAclId); err != nil {
			return err
		}
		acl := &model.NetworkACL{ID: a.NetworkAclId, VPC: a.VpcId, IsDefault: a.IsDefault, Entries: []model.NACLEntry{}, Source: src}
		obj := "NetworkACL/" + acl.ID
		for j, e := range a.Entries {
			esrc := o.Source.At(o.Line("NetworkAcls", i, "Entries", j))
			fail := func(format string, args ...any) error {
				return &document.Error{Source: esrc, Object: obj, Msg: fmt.Sprintf(format, args...)}
			}
			if e.RuleNumber == nil {
				return fail("entry has no RuleNumber")
			}
			entry := model.NACLEntry{RuleNumber: *e.RuleNumber, Egress: e.Egress, FromPort: -1, ToPort: -1, Source: esrc}
			var err error
			if entry.Protocol, err = protocol(e.Protocol); err != nil {
				return fail("%v", err)
			}
			if entry.Allow, err = ruleAction(e.RuleAction); err != nil {
				return fail("%v", err)
			}
			if entry.CIDR, err = oneCIDR(e.CidrBlock, e.Ipv6CidrBlock); err != nil {
				return fail("%v", err)
			}
			if p := e.PortRange; p != nil && (entry.Protocol == "tcp" || entry.Protocol == "udp") {
				entry.FromPort, entry.ToPort = port(p.From), port(p.To)
			}
			if c := e.IcmpTypeCode; c != nil && (entry.Protocol == "icmp" || entry.Protocol == "icmpv6") {
				entry.FromPort, entry.ToPort = port(c.Type), port(c.Code)
			}
			acl.Entries = append(acl.Entries, entry)
		}
		for _, as := range a.Associations {
			if as.SubnetId != "" {
				acl.Subnets = append(acl.Subnets, as.SubnetId)
			}
		}
		b.net.acls[acl.ID] = acl
	}
	return nil
}

func ruleAction(s string) (bool, error) {
	switch s {
	case "allow":
		return true, nil
	case "deny":
		return false, nil
	}
	return false, fmt.Errorf("rule action %q is neither allow nor deny", s)
}

// oneCIDR reads an entry's destination, given as exactly one of an IPv4
// and an IPv6 CIDR.
func oneCIDR(v4, v6 string) (netip.Prefix, error) {
	switch {
	case v4 != "" && v6 != "":
		return netip.Prefix{}, fmt.Errorf("both an IPv4 (%s) and an IPv6 (%s) CIDR", v4, v6)
	case v4 != "":
		return cidrFamily(v4, true)
	case v6 != "":
		return cidrFamily(v6, false)
	}
	return netip.Prefix{}, fmt.Errorf("no CIDR block")
}

func cidrFamily(s string, v4 bool) (netip.Prefix, error) {
	p, err := cidr(s)
	if err != nil {
		return p, err
	}
	if p.Addr().Is4() != v4 {
		return p, fmt.Errorf("%q is not an IPv%s CIDR", s, map[bool]string{true: "4", false: "6"}[v4])
	}
	return p, nil
}

type wireRoute struct {
	DestinationCidrBlock, DestinationIpv6CidrBlock, DestinationPrefixListId                   string
	GatewayId, NatGatewayId, TransitGatewayId, VpcPeeringConnectionId, NetworkInterfaceId     string
	InstanceId, EgressOnlyInternetGatewayId, CarrierGatewayId, LocalGatewayId, CoreNetworkArn string
	State                                                                                     string
}

func (b *Builder) routeTables(o *document.Object) error {
	var doc struct {
		RouteTables []struct {
			RouteTableId, VpcId string
			Routes              []wireRoute
			Associations        []struct {
				Main                bool
				SubnetId, GatewayId string
			}
		}
	}
	if err := decode(o, ShapeRouteTables, &doc); err != nil {
		return err
	}
	for i, t := range doc.RouteTables {
		src := o.Source.At(o.Line("RouteTables", i))
		if err := need(src, "RouteTables", i, "RouteTableId", t.RouteTableId); err != nil {
			return err
		}
		rt := &model.RouteTable{ID: t.RouteTableId, VPC: t.VpcId, Routes: []model.Route{}, Source: src}
		for j, r := range t.Routes {
			rsrc := o.Source.At(o.Line("RouteTables", i, "Routes", j))
			route, err := routeOf(r, rsrc)
			if err != nil {
				return &document.Error{Source: rsrc, Object: "RouteTable/" + rt.ID, Msg: err.Error()}
			}
			if route.TargetType == model.TargetUnknown {
				b.report.Warn(rsrc, "RouteTable/"+rt.ID, "the route to %s has a target ringfence does not know: where it leads is unknown", routeDest(route))
			}
			rt.Routes = append(rt.Routes, route)
		}
		for _, a := range t.Associations {
			rt.Associations = append(rt.Associations, model.RouteAssociation{Main: a.Main, Subnet: a.SubnetId, Gateway: a.GatewayId})
		}
		b.net.tables[rt.ID] = rt
	}
	return nil
}

func routeOf(r wireRoute, src model.Source) (model.Route, error) {
	route := model.Route{DestinationPrefixList: r.DestinationPrefixListId, Blackhole: r.State == "blackhole", Source: src}
	switch {
	case r.DestinationCidrBlock != "" || r.DestinationIpv6CidrBlock != "":
		p, err := oneCIDR(r.DestinationCidrBlock, r.DestinationIpv6CidrBlock)
		if err != nil {
			return route, fmt.Errorf("destination: %v", err)
		}
		route.Destination = p
	case r.DestinationPrefixListId == "":
		return route, fmt.Errorf("route has no destination (CIDR or prefix list)")
	}
	var err error
	route.TargetType, route.Target, err = routeTarget(map[string]string{
		"gateway_id": r.GatewayId, "nat_gateway_id": r.NatGatewayId, "transit_gateway_id": r.TransitGatewayId,
		"vpc_peering_connection_id": r.VpcPeeringConnectionId, "network_interface_id": r.NetworkInterfaceId,
		"instance_id": r.InstanceId, "egress_only_gateway_id": r.EgressOnlyInternetGatewayId,
		"carrier_gateway_id": r.CarrierGatewayId, "local_gateway_id": r.LocalGatewayId, "core_network_arn": r.CoreNetworkArn,
	})
	return route, err
}

// routeTarget names a route's target from the attribute that holds it
// (Terraform's names; describe-route-tables fields are mapped onto them).
// gateway_id holds local, internet, virtual private gateways and gateway
// endpoints alike; their ID prefix tells them apart.
func routeTarget(attrs map[string]string) (string, string, error) {
	kinds := map[string]string{
		"nat_gateway_id": model.TargetNATGateway, "transit_gateway_id": model.TargetTransitGateway,
		"vpc_peering_connection_id": model.TargetPeering, "network_interface_id": model.TargetNetworkIface,
		"instance_id": model.TargetInstance, "egress_only_gateway_id": model.TargetEgressOnlyIGW,
		"carrier_gateway_id": model.TargetCarrierGateway, "local_gateway_id": model.TargetLocalGateway,
		"core_network_arn": model.TargetCoreNetwork, "vpc_endpoint_id": model.TargetVPCEndpoint,
	}
	if g := attrs["gateway_id"]; g != "" {
		switch {
		case g == "local":
			return model.TargetLocal, g, nil
		case hasPrefix(g, "igw-"):
			return model.TargetInternetGateway, g, nil
		case hasPrefix(g, "vgw-"):
			return model.TargetVirtualGateway, g, nil
		case hasPrefix(g, "vpce-"):
			return model.TargetVPCEndpoint, g, nil
		}
		// A plan's reference to a gateway not created yet.
		switch {
		case hasPrefix(g, "aws_internet_gateway.") || containsStr(g, ".aws_internet_gateway."):
			return model.TargetInternetGateway, g, nil
		case hasPrefix(g, "aws_vpn_gateway.") || containsStr(g, ".aws_vpn_gateway."):
			return model.TargetVirtualGateway, g, nil
		}
		return "", "", fmt.Errorf("gateway %q is neither local nor an internet, virtual private or endpoint gateway", g)
	}
	// The instance a NAT instance route names comes with its interface;
	// the interface is the target AWS routes to.
	for _, k := range []string{"nat_gateway_id", "transit_gateway_id", "vpc_peering_connection_id", "network_interface_id",
		"instance_id", "egress_only_gateway_id", "carrier_gateway_id", "local_gateway_id", "core_network_arn", "vpc_endpoint_id"} {
		if v := attrs[k]; v != "" {
			return kinds[k], v, nil
		}
	}
	// A target this version does not know, or one a plan does not know
	// yet: where the route leads is unknown, which is never "nowhere".
	return model.TargetUnknown, "", nil
}

func hasPrefix(s, p string) bool { return strings.HasPrefix(s, p) }

func containsStr(s, sub string) bool { return strings.Contains(s, sub) }

func (b *Builder) subnetsDoc(o *document.Object) error {
	var doc struct {
		Subnets []struct {
			SubnetId, VpcId, AvailabilityZone, CidrBlock string
			MapPublicIpOnLaunch                          bool
			Ipv6CidrBlockAssociationSet                  []struct{ Ipv6CidrBlock string }
		}
	}
	if err := decode(o, ShapeSubnets, &doc); err != nil {
		return err
	}
	for i, s := range doc.Subnets {
		src := o.Source.At(o.Line("Subnets", i))
		if err := need(src, "Subnets", i, "SubnetId", s.SubnetId); err != nil {
			return err
		}
		sn := &model.Subnet{ID: s.SubnetId, VPC: s.VpcId, Zone: s.AvailabilityZone, MapPublicIP: s.MapPublicIpOnLaunch, Source: src}
		var v6 []string
		for _, a := range s.Ipv6CidrBlockAssociationSet {
			v6 = append(v6, a.Ipv6CidrBlock)
		}
		if err := subnetCIDRs(sn, s.CidrBlock, v6); err != nil {
			return &document.Error{Source: src, Object: "Subnet/" + sn.ID, Msg: err.Error()}
		}
		b.net.subnets[sn.ID] = sn
	}
	return nil
}

func subnetCIDRs(sn *model.Subnet, v4 string, v6 []string) error {
	if v4 != "" {
		p, err := cidrFamily(v4, true)
		if err != nil {
			return err
		}
		sn.CIDR = p
	}
	for _, c := range v6 {
		if c == "" {
			continue
		}
		p, err := cidrFamily(c, false)
		if err != nil {
			return err
		}
		sn.IPv6CIDRs = append(sn.IPv6CIDRs, p)
	}
	return nil
}

func cidrList(ss []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, c := range ss {
		if c == "" {
			continue
		}
		p, err := cidr(c)
		if err != nil {
			return nil, err
		}
		if !containsPrefix(out, p) {
			out = append(out, p)
		}
	}
	return out, nil
}

func containsPrefix(ps []netip.Prefix, p netip.Prefix) bool {
	for _, x := range ps {
		if x == p {
			return true
		}
	}
	return false
}

// vpcAttributeDoc reads describe-vpc-attribute's answer for
// enableDnsSupport or enableDnsHostnames: {"VpcId": ..., "EnableDnsSupport": {"Value": true}}.
func (b *Builder) vpcAttributeDoc(o *document.Object, hostnames bool) error {
	var doc struct {
		VpcId                                string
		EnableDnsSupport, EnableDnsHostnames *struct{ Value *bool }
	}
	shape := ShapeVPCDNSSupport
	if hostnames {
		shape = ShapeVPCDNSHostnames
	}
	if err := decode(o, shape, &doc); err != nil {
		return err
	}
	attr, name := doc.EnableDnsSupport, "EnableDnsSupport"
	if hostnames {
		attr, name = doc.EnableDnsHostnames, "EnableDnsHostnames"
	}
	if doc.VpcId == "" {
		return &document.Error{Source: o.Source, Msg: fmt.Sprintf("%s output has no VpcId", shape)}
	}
	if attr == nil || attr.Value == nil {
		return &document.Error{Source: o.Source, Object: "VPC/" + doc.VpcId, Msg: fmt.Sprintf("%s has no Value (want {\"%s\": {\"Value\": true|false}})", name, name)}
	}
	b.net.dns = append(b.net.dns, vpcAttribute{vpc: doc.VpcId, hostnames: hostnames, value: *attr.Value, src: o.Source})
	return nil
}

func (b *Builder) vpcsDoc(o *document.Object) error {
	var doc struct {
		Vpcs []struct {
			VpcId, CidrBlock            string
			IsDefault                   bool
			CidrBlockAssociationSet     []struct{ CidrBlock string }
			Ipv6CidrBlockAssociationSet []struct{ Ipv6CidrBlock string }
		}
	}
	if err := decode(o, ShapeVPCs, &doc); err != nil {
		return err
	}
	for i, v := range doc.Vpcs {
		src := o.Source.At(o.Line("Vpcs", i))
		if err := need(src, "Vpcs", i, "VpcId", v.VpcId); err != nil {
			return err
		}
		cidrs := []string{v.CidrBlock}
		for _, a := range v.CidrBlockAssociationSet {
			cidrs = append(cidrs, a.CidrBlock)
		}
		for _, a := range v.Ipv6CidrBlockAssociationSet {
			cidrs = append(cidrs, a.Ipv6CidrBlock)
		}
		ps, err := cidrList(cidrs)
		if err != nil {
			return &document.Error{Source: src, Object: "VPC/" + v.VpcId, Msg: err.Error()}
		}
		b.net.vpcs[v.VpcId] = &model.VPC{ID: v.VpcId, CIDRs: ps, IsDefault: v.IsDefault, Source: src}
	}
	return nil
}

func (b *Builder) endpointsDoc(o *document.Object) error {
	var doc struct {
		VpcEndpoints []struct {
			VpcEndpointId, VpcEndpointType, VpcId, ServiceName, PolicyDocument, OwnerId string
			RouteTableIds, SubnetIds                                                    []string
			Groups                                                                      []struct{ GroupId string }
			PrivateDnsEnabled                                                           bool
		}
	}
	if err := decode(o, ShapeVPCEndpoints, &doc); err != nil {
		return err
	}
	for i, e := range doc.VpcEndpoints {
		src := o.Source.At(o.Line("VpcEndpoints", i))
		if err := need(src, "VpcEndpoints", i, "VpcEndpointId", e.VpcEndpointId); err != nil {
			return err
		}
		if err := endpointType(e.VpcEndpointType); err != nil {
			return &document.Error{Source: src, Object: "VPCEndpoint/" + e.VpcEndpointId, Msg: err.Error()}
		}
		ep := &model.VPCEndpoint{ID: e.VpcEndpointId, Type: e.VpcEndpointType, VPC: e.VpcId, Service: e.ServiceName,
			RouteTables: e.RouteTableIds, Subnets: e.SubnetIds, PrivateDNS: e.PrivateDnsEnabled, Policy: e.PolicyDocument, Owner: e.OwnerId, Source: src}
		for _, g := range e.Groups {
			ep.Groups = append(ep.Groups, g.GroupId)
		}
		b.net.endpoints[ep.ID] = ep
	}
	return nil
}

func endpointType(t string) error {
	switch t {
	case "Gateway", "Interface", "GatewayLoadBalancer", "Resource", "ServiceNetwork":
		return nil
	}
	return fmt.Errorf("endpoint type %q is not Gateway, Interface, GatewayLoadBalancer, Resource or ServiceNetwork", t)
}

func addrs(ss []string) ([]netip.Addr, error) {
	var out []netip.Addr
	for _, s := range ss {
		if s == "" {
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("%q is not an IP address", s)
		}
		out = append(out, a)
	}
	return out, nil
}

func (b *Builder) natsDoc(o *document.Object) error {
	var doc struct {
		NatGateways []struct {
			NatGatewayId, VpcId, SubnetId, ConnectivityType string
			NatGatewayAddresses                             []struct{ PublicIp, PrivateIp string }
		}
	}
	if err := decode(o, ShapeNATGateways, &doc); err != nil {
		return err
	}
	for i, n := range doc.NatGateways {
		src := o.Source.At(o.Line("NatGateways", i))
		if err := need(src, "NatGateways", i, "NatGatewayId", n.NatGatewayId); err != nil {
			return err
		}
		var pub, priv []string
		for _, a := range n.NatGatewayAddresses {
			pub, priv = append(pub, a.PublicIp), append(priv, a.PrivateIp)
		}
		nat := &model.NATGateway{ID: n.NatGatewayId, VPC: n.VpcId, Subnet: n.SubnetId, Connectivity: n.ConnectivityType, Source: src}
		var err error
		if nat.PublicIPs, err = addrs(pub); err == nil {
			nat.PrivateIPs, err = addrs(priv)
		}
		if err != nil {
			return &document.Error{Source: src, Object: "NATGateway/" + nat.ID, Msg: err.Error()}
		}
		b.net.nats[nat.ID] = nat
	}
	return nil
}

func (b *Builder) igwsDoc(o *document.Object) error {
	var doc struct {
		InternetGateways []struct {
			InternetGatewayId string
			Attachments       []struct{ VpcId, State string }
		}
	}
	if err := decode(o, ShapeInternetGateways, &doc); err != nil {
		return err
	}
	for i, g := range doc.InternetGateways {
		src := o.Source.At(o.Line("InternetGateways", i))
		if err := need(src, "InternetGateways", i, "InternetGatewayId", g.InternetGatewayId); err != nil {
			return err
		}
		igw := &model.InternetGateway{ID: g.InternetGatewayId, Source: src}
		for _, a := range g.Attachments {
			// "available" is what describe-internet-gateways reports for an
			// attached gateway; a detached one carries no traffic.
			if a.VpcId != "" && a.State != "detached" && a.State != "detaching" {
				igw.VPCs = append(igw.VPCs, a.VpcId)
			}
		}
		b.net.igws[igw.ID] = igw
	}
	return nil
}

func (b *Builder) lbsDoc(o *document.Object) error {
	var doc struct {
		LoadBalancers []struct {
			LoadBalancerArn, LoadBalancerName, DNSName, Scheme, VpcId, Type, IpAddressType string
			SecurityGroups                                                                 []string
			AvailabilityZones                                                              []struct{ ZoneName, SubnetId string }
		}
	}
	if err := decode(o, ShapeLoadBalancers, &doc); err != nil {
		return err
	}
	for i, l := range doc.LoadBalancers {
		src := o.Source.At(o.Line("LoadBalancers", i))
		if err := need(src, "LoadBalancers", i, "LoadBalancerArn", l.LoadBalancerArn); err != nil {
			return err
		}
		lb := &model.LoadBalancer{ARN: l.LoadBalancerArn, Name: l.LoadBalancerName, Type: l.Type, Scheme: l.Scheme, VPC: l.VpcId, DNSName: l.DNSName, Groups: l.SecurityGroups, IPAddressType: l.IpAddressType, Source: src}
		if err := lbScheme(lb.Scheme); err != nil {
			return &document.Error{Source: src, Object: "LoadBalancer/" + lb.Name, Msg: err.Error()}
		}
		for _, z := range l.AvailabilityZones {
			if z.SubnetId != "" {
				lb.Subnets = append(lb.Subnets, z.SubnetId)
			}
		}
		b.net.lbs[lb.ARN] = lb
	}
	return nil
}

func lbScheme(s string) error {
	switch s {
	case "internet-facing", "internal", "":
		return nil
	}
	return fmt.Errorf("scheme %q is neither internet-facing nor internal", s)
}

func (b *Builder) tgsDoc(o *document.Object) error {
	var doc struct {
		TargetGroups []struct {
			TargetGroupArn, TargetGroupName, Protocol, VpcId, TargetType string
			Port                                                         *int32
			LoadBalancerArns                                             []string
		}
	}
	if err := decode(o, ShapeTargetGroups, &doc); err != nil {
		return err
	}
	for i, g := range doc.TargetGroups {
		src := o.Source.At(o.Line("TargetGroups", i))
		if err := need(src, "TargetGroups", i, "TargetGroupArn", g.TargetGroupArn); err != nil {
			return err
		}
		tg := &model.TargetGroup{ARN: g.TargetGroupArn, Name: g.TargetGroupName, TargetType: g.TargetType, Protocol: g.Protocol, VPC: g.VpcId, LoadBalancers: g.LoadBalancerArns, Source: src}
		if g.Port != nil {
			tg.Port = *g.Port
		}
		b.net.tgs[tg.ARN] = tg
	}
	return nil
}

// listenerProtocols are the protocols an ELBv2 listener takes
// (elasticloadbalancingv2 ProtocolEnum).
var listenerProtocols = map[string]bool{"HTTP": true, "HTTPS": true, "TCP": true, "TLS": true, "UDP": true, "TCP_UDP": true, "GENEVE": true, "QUIC": true, "TCP_QUIC": true}

func (b *Builder) listenersDoc(o *document.Object) error {
	var doc struct {
		Listeners []struct {
			ListenerArn, LoadBalancerArn, Protocol string
			Port                                   *int32
			DefaultActions                         []wireAction
		}
	}
	if err := decode(o, ShapeListeners, &doc); err != nil {
		return err
	}
	for i, l := range doc.Listeners {
		src := o.Source.At(o.Line("Listeners", i))
		if err := need(src, "Listeners", i, "ListenerArn", l.ListenerArn); err != nil {
			return err
		}
		if err := need(src, "Listeners", i, "LoadBalancerArn", l.LoadBalancerArn); err != nil {
			return err
		}
		li := &model.Listener{ARN: l.ListenerArn, LoadBalancer: l.LoadBalancerArn, Protocol: l.Protocol, Source: src}
		if err := listenerCheck(li, l.Port); err != nil {
			return &document.Error{Source: src, Object: "Listener/" + li.ARN, Msg: err.Error()}
		}
		for _, a := range l.DefaultActions {
			li.TargetGroups = append(li.TargetGroups, a.targetGroups()...)
		}
		b.net.listeners[li.ARN] = li
	}
	return nil
}

// listenerCheck sets a listener's port and checks its protocol and port.
func listenerCheck(li *model.Listener, port *int32) error {
	if !listenerProtocols[li.Protocol] {
		return fmt.Errorf("protocol %q is not one of HTTP, HTTPS, TCP, TLS, UDP, TCP_UDP, QUIC, TCP_QUIC, GENEVE", li.Protocol)
	}
	if port != nil {
		li.Port = *port
	}
	// A Gateway Load Balancer's listener has no port (GENEVE on 6081).
	if li.Protocol != "GENEVE" && (li.Port < 1 || li.Port > 65535) {
		return fmt.Errorf("port %d is not between 1 and 65535", li.Port)
	}
	return nil
}

// wireAction is a listener action: a forward to one target group, or to
// several with weights.
type wireAction struct {
	Type           string
	TargetGroupArn string
	ForwardConfig  *struct {
		TargetGroups []struct{ TargetGroupArn string }
	}
}

func (a wireAction) targetGroups() []string {
	var out []string
	if a.TargetGroupArn != "" {
		out = append(out, a.TargetGroupArn)
	}
	if a.ForwardConfig != nil {
		for _, g := range a.ForwardConfig.TargetGroups {
			if g.TargetGroupArn != "" && g.TargetGroupArn != a.TargetGroupArn {
				out = append(out, g.TargetGroupArn)
			}
		}
	}
	return out
}

// tagsDoc reads aws elbv2 describe-tags. The Classic Load Balancer's
// describe-tags has the same top-level key but names load balancers, not
// ARNs: it is not modelled.
func (b *Builder) tagsDoc(o *document.Object) error {
	var doc struct {
		TagDescriptions []struct {
			ResourceArn, LoadBalancerName string
			Tags                          []struct{ Key, Value string }
		}
	}
	if err := decode(o, ShapeLBTags, &doc); err != nil {
		return err
	}
	for i, d := range doc.TagDescriptions {
		src := o.Source.At(o.Line("TagDescriptions", i))
		if d.ResourceArn == "" && d.LoadBalancerName != "" {
			b.report.Warn(src, "", "aws elb describe-tags (Classic Load Balancer): ringfence does not model this AWS output; it is not used")
			continue
		}
		if err := need(src, "TagDescriptions", i, "ResourceArn", d.ResourceArn); err != nil {
			return err
		}
		t := b.net.tags[d.ResourceArn]
		if t == nil {
			t = map[string]string{}
			b.net.tags[d.ResourceArn] = t
		}
		for _, kv := range d.Tags {
			t[kv.Key] = kv.Value
		}
	}
	return nil
}

// networkKey is the top-level key of a VPC-layer shape, or "".
func networkKey(s Shape) string {
	for k, v := range networkShapes {
		if v == s {
			return k
		}
	}
	return ""
}

// unmodelledName names the command whose output o is.
func unmodelledName(o *document.Object) string {
	var top map[string]json.RawMessage
	_ = json.Unmarshal(o.JSON, &top)
	for _, k := range sortedKeys(top) {
		if n, ok := unmodelledShapes[k]; ok {
			return n
		}
	}
	return "AWS output"
}

// uniqueEntries keeps one entry per direction and rule number, as AWS
// does: a Terraform state lists the rules of aws_network_acl_rule
// resources in the ACL's own blocks as well. Two different entries under
// one number contradict each other: the first is kept, with a warning.
func uniqueEntries(a *model.NetworkACL, report *document.Report) []model.NACLEntry {
	type key struct {
		egress bool
		n      int32
	}
	seen := map[key]model.NACLEntry{}
	out := a.Entries[:0]
	for _, e := range a.Entries {
		k := key{e.Egress, e.RuleNumber}
		if first, ok := seen[k]; ok {
			x, y := first, e
			x.Source, y.Source = model.Source{}, model.Source{}
			if x != y {
				report.Warn(e.Source, "NetworkACL/"+a.ID, "rule %d is given twice with different contents; the one at %s is used", e.RuleNumber, first.Source)
			}
			continue
		}
		seen[k] = e
		out = append(out, e)
	}
	return out
}

// uniqueRoutes keeps one route per destination, as AWS does (a state lists
// aws_route resources in the table's own route blocks as well).
func uniqueRoutes(rt *model.RouteTable, report *document.Report) []model.Route {
	seen := map[string]model.Route{}
	out := rt.Routes[:0]
	for _, r := range rt.Routes {
		k := routeDest(r)
		if first, ok := seen[k]; ok {
			if first.TargetType != r.TargetType || first.Target != r.Target {
				report.Warn(r.Source, "RouteTable/"+rt.ID, "the route to %s is given twice with different targets; the one at %s is used", k, first.Source)
			}
			continue
		}
		seen[k] = r
		out = append(out, r)
	}
	return out
}

// tgAttributeKeys are the attributes of a target group (not of a load
// balancer, whose describe-load-balancer-attributes has the same shape):
// ELBv2 TargetGroupAttribute keys.
var tgAttributeKeys = []string{"deregistration_delay.", "stickiness.", "preserve_client_ip.", "proxy_protocol_v2.",
	"load_balancing.algorithm.", "slow_start.", "lambda.", "target_failover.", "target_health_state.", "target_group_health.",
	"deregistration_delay.connection_termination."}

// tgAttributesDoc reads a target group's attributes: preserve_client_ip.enabled
// and proxy_protocol_v2.enabled, the two that say which source address the
// targets see. describe-target-group-attributes prints no ARN; without
// "TargetGroupArn" beside "Attributes" the document cannot be tied to a
// target group and is a warning.
func (b *Builder) tgAttributesDoc(o *document.Object) error {
	var doc struct {
		TargetGroupArn string
		Attributes     []struct{ Key, Value *string }
	}
	if err := decode(o, ShapeTargetGroupAttributes, &doc); err != nil {
		return err
	}
	a := &model.TargetGroupAttributes{Source: o.Source.At(o.Line("Attributes"))}
	mine := false
	for i, kv := range doc.Attributes {
		src := o.Source.At(o.Line("Attributes", i))
		if kv.Key == nil || *kv.Key == "" {
			return &document.Error{Source: src, Msg: fmt.Sprintf("Attributes[%d] has no Key", i)}
		}
		for _, p := range tgAttributeKeys {
			mine = mine || strings.HasPrefix(*kv.Key, p)
		}
		var dst **bool
		switch *kv.Key {
		case "preserve_client_ip.enabled":
			dst = &a.PreserveClientIP
		case "proxy_protocol_v2.enabled":
			dst = &a.ProxyProtocolV2
		default:
			continue
		}
		v := ""
		if kv.Value != nil {
			v = *kv.Value
		}
		if v != "true" && v != "false" {
			return &document.Error{Source: src, Object: "TargetGroup/" + dashIfEmpty(doc.TargetGroupArn, "?"), Msg: fmt.Sprintf("attribute %s has value %q, want \"true\" or \"false\"", *kv.Key, v)}
		}
		val := v == "true"
		*dst = &val
	}
	switch {
	case doc.TargetGroupArn != "":
		b.net.tgAttrs[doc.TargetGroupArn] = a
	case !mine:
		b.report.Warn(o.Source, "", "an ELBv2 attributes output without target group attributes (aws elbv2 describe-load-balancer-attributes?): ringfence does not model it; it is not used")
	default:
		b.report.Warn(o.Source, "", "aws elbv2 describe-target-group-attributes: its output does not name the target group, so it is not used; "+
			"add \"TargetGroupArn\": \"arn:...\" beside \"Attributes\" (the shape of modify-target-group-attributes --generate-cli-skeleton), e.g. "+
			"aws elbv2 describe-target-group-attributes --target-group-arn ARN | jq --arg a ARN '{TargetGroupArn: $a} + .'")
	}
	return nil
}

func dashIfEmpty(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}
