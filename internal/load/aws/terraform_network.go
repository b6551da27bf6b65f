package aws

import (
	"fmt"
	"strings"

	tfjson "github.com/hashicorp/terraform-json"
	"github.com/ringfence/ringfence/internal/model"
)

// primary are the resource types read in the first pass: others (rules,
// routes, associations) refer to them.
var primary = map[string]bool{
	"aws_security_group": true, "aws_network_acl": true, "aws_default_network_acl": true,
	"aws_route_table": true, "aws_default_route_table": true, "aws_subnet": true, "aws_vpc": true,
	"aws_vpc_endpoint": true, "aws_nat_gateway": true, "aws_internet_gateway": true,
	"aws_lb": true, "aws_alb": true, "aws_lb_target_group": true, "aws_alb_target_group": true,
}

// id is a resource's id, or its address while it is not created yet.
func (t *tfReader) id(r *tfjson.StateResource, attr string) string {
	if id := str(r.AttributeValues[attr]); id != "" {
		t.byAddress[r.Address] = id
		return id
	}
	t.byAddress[r.Address] = r.Address
	return r.Address
}

// ref is the id an attribute holds, or the address of the resource the
// configuration says it refers to when the plan does not know it yet; ""
// when neither is known.
func (t *tfReader) ref(r *tfjson.StateResource, attr string) string {
	if v := str(r.AttributeValues[attr]); v != "" {
		return v
	}
	return t.configRef(r, attr)
}

func (t *tfReader) configRef(r *tfjson.StateResource, attr string) string {
	refs := t.refs[configAddress(r.Address)+"."+attr]
	for _, ref := range refs {
		if id, ok := t.lookup(ref); ok {
			return id
		}
	}
	t.unresolved(r, attr, refs)
	return ""
}

// unresolved warns when an attribute refers to resources that are not in
// the plan or state (another configuration, a data source): its value is
// left unknown rather than dropped silently.
func (t *tfReader) unresolved(r *tfjson.StateResource, attr string, refs []string) {
	for _, ref := range refs {
		if strings.HasPrefix(ref, "aws_") || strings.HasPrefix(ref, "data.") || strings.HasPrefix(ref, "module.") {
			t.b.report.Warn(t.src, r.Address, "%s refers to %s, which is not in the plan or state: it is left unknown", attr, ref)
			return
		}
	}
}

func (t *tfReader) lookup(ref string) (string, bool) {
	for _, addr := range sortedKeys(t.byAddress) {
		if configAddress(addr) == ref || addr == ref || hasSuffixDot(addr, ref) {
			return t.byAddress[addr], true
		}
	}
	return "", false
}

func hasSuffixDot(addr, ref string) bool {
	return len(addr) > len(ref) && addr[len(addr)-len(ref)-1:] == "."+ref
}

// refs is a list attribute's ids, or those its configuration refers to.
func (t *tfReader) refList(r *tfjson.StateResource, attr string) []string {
	if v := strs(r.AttributeValues[attr]); len(v) > 0 {
		return v
	}
	var out []string
	refs := t.refs[configAddress(r.Address)+"."+attr]
	for _, ref := range refs {
		// "aws_x.a.id" and "aws_x.a" both name the same resource.
		if id, ok := t.lookup(ref); ok && !contains(out, id) {
			out = append(out, id)
		}
	}
	if len(out) == 0 {
		t.unresolved(r, attr, refs)
	}
	return out
}

// networkResource reads a resource of the VPC layer; it reports whether
// the type is one.
func (t *tfReader) networkResource(r *tfjson.StateResource, src model.Source) bool {
	v := r.AttributeValues
	n := &t.b.net
	switch r.Type {
	case "aws_vpc":
		id := t.id(r, "id")
		ps, err := cidrList([]string{str(v["cidr_block"]), str(v["ipv6_cidr_block"])})
		if err != nil {
			t.fail(src, r.Address, "%v", err)
			return true
		}
		vpc := &model.VPC{ID: id, CIDRs: ps, Source: src}
		// The state holds both DNS attributes (the provider's defaults
		// filled in); a plan may leave them unknown.
		if b, ok := v["enable_dns_support"].(bool); ok {
			vpc.DNSSupport = &b
		}
		if b, ok := v["enable_dns_hostnames"].(bool); ok {
			vpc.DNSHostnames = &b
		}
		n.vpcs[id] = vpc
	case "aws_subnet":
		id := t.id(r, "id")
		sn := &model.Subnet{ID: id, VPC: t.ref(r, "vpc_id"), Zone: str(v["availability_zone"]), Source: src}
		sn.MapPublicIP, _ = v["map_public_ip_on_launch"].(bool)
		if err := subnetCIDRs(sn, str(v["cidr_block"]), []string{str(v["ipv6_cidr_block"])}); err != nil {
			t.fail(src, r.Address, "%v", err)
			return true
		}
		n.subnets[id] = sn
	case "aws_network_acl", "aws_default_network_acl":
		id := t.id(r, "id")
		acl := &model.NetworkACL{ID: id, VPC: t.ref(r, "vpc_id"), IsDefault: r.Type == "aws_default_network_acl", Entries: []model.NACLEntry{}, Source: src}
		if acl.IsDefault && acl.VPC == "" {
			acl.VPC = t.ref(r, "default_network_acl_id")
		}
		acl.Subnets = t.refList(r, "subnet_ids")
		for _, dir := range []string{"ingress", "egress"} {
			blocks, _ := v[dir].([]any)
			for _, blk := range blocks {
				m, _ := blk.(map[string]any)
				e, err := tfNACLEntry(m, "rule_no", "action", dir == "egress", src)
				if err != nil {
					t.fail(src, r.Address, "%s: %v", dir, err)
					return true
				}
				acl.Entries = append(acl.Entries, e)
			}
		}
		n.acls[id] = acl
	case "aws_network_acl_rule":
		id := t.ref(r, "network_acl_id")
		acl := n.acls[id]
		if acl == nil {
			t.b.report.Warn(src, r.Address, "network ACL %s is not in the plan or state: the rule is skipped", dash(id))
			return true
		}
		egress, _ := v["egress"].(bool)
		e, err := tfNACLEntry(v, "rule_number", "rule_action", egress, src)
		if err != nil {
			t.fail(src, r.Address, "%v", err)
			return true
		}
		acl.Entries = append(acl.Entries, e)
	case "aws_network_acl_association":
		id := t.ref(r, "network_acl_id")
		if acl := n.acls[id]; acl != nil {
			if s := t.ref(r, "subnet_id"); s != "" {
				acl.Subnets = append(acl.Subnets, s)
			}
		} else {
			t.b.report.Warn(src, r.Address, "network ACL %s is not in the plan or state: the association is skipped", dash(id))
		}
	case "aws_route_table", "aws_default_route_table":
		id := t.id(r, "id")
		rt := &model.RouteTable{ID: id, VPC: t.ref(r, "vpc_id"), Routes: []model.Route{}, Source: src}
		if r.Type == "aws_default_route_table" {
			rt.Associations = append(rt.Associations, model.RouteAssociation{Main: true})
		}
		routes, _ := v["route"].([]any)
		for _, blk := range routes {
			m, _ := blk.(map[string]any)
			route, err := tfRoute(m, "cidr_block", "ipv6_cidr_block", "destination_prefix_list_id", src)
			if err != nil {
				t.fail(src, r.Address, "route: %v", err)
				return true
			}
			t.unknownTarget(route, r.Address)
			rt.Routes = append(rt.Routes, route)
		}
		n.tables[id] = rt
	case "aws_route":
		rt := t.table(r, src)
		if rt == nil {
			return true
		}
		m := map[string]any{}
		for k, val := range v {
			m[k] = val
		}
		for _, k := range []string{"gateway_id", "nat_gateway_id", "vpc_endpoint_id", "transit_gateway_id", "vpc_peering_connection_id", "network_interface_id", "egress_only_gateway_id"} {
			if str(m[k]) == "" {
				if ref := t.configRef(r, k); ref != "" {
					m[k] = ref
				}
			}
		}
		route, err := tfRoute(m, "destination_cidr_block", "destination_ipv6_cidr_block", "destination_prefix_list_id", src)
		if err != nil {
			t.fail(src, r.Address, "%v", err)
			return true
		}
		t.unknownTarget(route, r.Address)
		rt.Routes = append(rt.Routes, route)
	case "aws_route_table_association":
		if rt := t.table(r, src); rt != nil {
			rt.Associations = append(rt.Associations, model.RouteAssociation{Subnet: t.ref(r, "subnet_id"), Gateway: t.ref(r, "gateway_id")})
		}
	case "aws_main_route_table_association":
		if rt := t.table(r, src); rt != nil {
			rt.Associations = append(rt.Associations, model.RouteAssociation{Main: true})
		}
	case "aws_vpc_endpoint":
		id := t.id(r, "id")
		typ := str(v["vpc_endpoint_type"])
		if typ == "" {
			typ = "Gateway" // the provider's default
		}
		if err := endpointType(typ); err != nil {
			t.fail(src, r.Address, "%v", err)
			return true
		}
		ep := &model.VPCEndpoint{ID: id, Type: typ, VPC: t.ref(r, "vpc_id"), Service: str(v["service_name"]),
			RouteTables: t.refList(r, "route_table_ids"), Subnets: t.refList(r, "subnet_ids"), Groups: t.refList(r, "security_group_ids"), Policy: str(v["policy"]), Owner: str(v["owner_id"]), Source: src}
		ep.PrivateDNS, _ = v["private_dns_enabled"].(bool)
		n.endpoints[id] = ep
	case "aws_vpc_endpoint_route_table_association":
		id := t.ref(r, "vpc_endpoint_id")
		if ep := n.endpoints[id]; ep != nil {
			if rt := t.ref(r, "route_table_id"); rt != "" {
				ep.RouteTables = append(ep.RouteTables, rt)
			}
		}
	case "aws_nat_gateway":
		id := t.id(r, "id")
		nat := &model.NATGateway{ID: id, Subnet: t.ref(r, "subnet_id"), Connectivity: str(v["connectivity_type"]), Source: src}
		var err error
		if nat.PublicIPs, err = addrs([]string{str(v["public_ip"])}); err == nil {
			nat.PrivateIPs, err = addrs([]string{str(v["private_ip"])})
		}
		if err != nil {
			t.fail(src, r.Address, "%v", err)
			return true
		}
		n.nats[id] = nat
	case "aws_internet_gateway":
		id := t.id(r, "id")
		igw := &model.InternetGateway{ID: id, Source: src}
		if vpc := t.ref(r, "vpc_id"); vpc != "" {
			igw.VPCs = []string{vpc}
		}
		n.igws[id] = igw
	case "aws_lb", "aws_alb":
		id := t.id(r, "arn")
		lb := &model.LoadBalancer{ARN: id, Name: str(v["name"]), Type: str(v["load_balancer_type"]), VPC: str(v["vpc_id"]), DNSName: str(v["dns_name"]),
			Groups: t.refList(r, "security_groups"), Subnets: t.refList(r, "subnets"), IPAddressType: str(v["ip_address_type"]), Source: src}
		for _, key := range []string{"tags_all", "tags"} {
			if tags, ok := v[key].(map[string]any); ok && len(tags) > 0 && lb.Tags == nil {
				lb.Tags = map[string]string{}
				for k, t := range tags {
					lb.Tags[k] = str(t)
				}
			}
		}
		if lb.Type == "" {
			lb.Type = "application" // the provider's default
		}
		lb.Scheme = "internet-facing"
		if internal, _ := v["internal"].(bool); internal {
			lb.Scheme = "internal"
		}
		if maps, _ := v["subnet_mapping"].([]any); len(lb.Subnets) == 0 {
			for _, m := range maps {
				mm, _ := m.(map[string]any)
				if s := str(mm["subnet_id"]); s != "" {
					lb.Subnets = append(lb.Subnets, s)
				}
			}
		}
		n.lbs[id] = lb
	case "aws_lb_target_group", "aws_alb_target_group":
		id := t.id(r, "arn")
		tg := &model.TargetGroup{ARN: id, Name: str(v["name"]), TargetType: str(v["target_type"]), Protocol: str(v["protocol"]), VPC: t.ref(r, "vpc_id"), Source: src}
		if p := num(v["port"]); p > 0 {
			tg.Port = p
		}
		if tg.TargetType == "" {
			tg.TargetType = "instance" // the provider's default
		}
		// preserve_client_ip is a string ("true"/"false", known after
		// apply when not set); proxy_protocol_v2 a boolean.
		a := &model.TargetGroupAttributes{Source: src}
		for _, at := range []struct {
			key string
			dst **bool
		}{{"preserve_client_ip", &a.PreserveClientIP}, {"proxy_protocol_v2", &a.ProxyProtocolV2}} {
			switch x := v[at.key].(type) {
			case nil:
			case bool:
				*at.dst = &x
			case string:
				if x == "" {
					continue
				}
				if x != "true" && x != "false" {
					t.fail(src, r.Address, "%s is %q, want \"true\" or \"false\"", at.key, x)
					continue
				}
				val := x == "true"
				*at.dst = &val
			default:
				t.fail(src, r.Address, "%s is %v, want true or false", at.key, x)
			}
		}
		if a.PreserveClientIP != nil || a.ProxyProtocolV2 != nil {
			tg.Attributes = a
		}
		n.tgs[id] = tg
	case "aws_lb_listener", "aws_alb_listener":
		id := t.id(r, "arn")
		li := &model.Listener{ARN: id, LoadBalancer: t.ref(r, "load_balancer_arn"), Protocol: str(v["protocol"]), Source: src}
		if li.Protocol == "" {
			// The provider's default: HTTP for an ALB, TCP for an NLB
			// (a GWLB's listener has none).
			li.Protocol = "HTTP"
			if lb := n.lbs[li.LoadBalancer]; lb != nil && lb.Type == "network" {
				li.Protocol = "TCP"
			} else if lb != nil && lb.Type == "gateway" {
				li.Protocol = "GENEVE"
			}
		}
		var port *int32
		if p := num(v["port"]); p >= 0 {
			port = &p
		}
		if err := listenerCheck(li, port); err != nil {
			t.fail(src, r.Address, "%v", err)
			return true
		}
		actions, _ := v["default_action"].([]any)
		for _, a := range actions {
			am, _ := a.(map[string]any)
			if tg := str(am["target_group_arn"]); tg != "" {
				li.TargetGroups = appendNew(li.TargetGroups, tg)
			}
			fwd, _ := am["forward"].([]any)
			for _, f := range fwd {
				fm, _ := f.(map[string]any)
				tgs, _ := fm["target_group"].([]any)
				for _, g := range tgs {
					gm, _ := g.(map[string]any)
					if arn := str(gm["arn"]); arn != "" {
						li.TargetGroups = appendNew(li.TargetGroups, arn)
					}
				}
			}
		}
		n.listeners[id] = li
	default:
		return false
	}
	return true
}

func dash(s string) string {
	if s == "" {
		return "(unknown)"
	}
	return s
}

// table is the route table a route or association belongs to.
func (t *tfReader) table(r *tfjson.StateResource, src model.Source) *model.RouteTable {
	id := t.ref(r, "route_table_id")
	rt := t.b.net.tables[id]
	if rt == nil {
		t.b.report.Warn(src, r.Address, "route table %s is not in the plan or state: %s is skipped", dash(id), r.Type)
	}
	return rt
}

// tfNACLEntry reads an ACL entry written as an inline block (rule_no,
// action) or an aws_network_acl_rule (rule_number, rule_action).
func tfNACLEntry(m map[string]any, numberKey, actionKey string, egress bool, src model.Source) (model.NACLEntry, error) {
	e := model.NACLEntry{Egress: egress, FromPort: -1, ToPort: -1, Source: src}
	n := num(m[numberKey])
	if n < 0 {
		return e, fmt.Errorf("no %s", numberKey)
	}
	e.RuleNumber = n
	var err error
	if e.Protocol, err = protocol(protoString(m["protocol"])); err != nil {
		return e, err
	}
	if e.Allow, err = ruleAction(str(m[actionKey])); err != nil {
		return e, err
	}
	if e.CIDR, err = oneCIDR(str(m["cidr_block"]), str(m["ipv6_cidr_block"])); err != nil {
		return e, err
	}
	switch e.Protocol {
	case "tcp", "udp":
		e.FromPort, e.ToPort = num(m["from_port"]), num(m["to_port"])
	case "icmp", "icmpv6":
		e.FromPort, e.ToPort = num(m["icmp_type"]), num(m["icmp_code"])
	}
	return e, nil
}

// protoString reads a protocol Terraform may hold as a string or number.
func protoString(v any) string {
	if f, ok := v.(float64); ok {
		return fmt.Sprint(int(f))
	}
	return str(v)
}

func tfRoute(m map[string]any, v4, v6, pl string, src model.Source) (model.Route, error) {
	route := model.Route{DestinationPrefixList: str(m[pl]), Source: src}
	if str(m[v4]) != "" || str(m[v6]) != "" {
		p, err := oneCIDR(str(m[v4]), str(m[v6]))
		if err != nil {
			return route, fmt.Errorf("destination: %v", err)
		}
		route.Destination = p
	} else if route.DestinationPrefixList == "" {
		return route, fmt.Errorf("route has no destination (CIDR or prefix list)")
	}
	attrs := map[string]string{}
	for _, k := range []string{"gateway_id", "nat_gateway_id", "transit_gateway_id", "vpc_peering_connection_id", "network_interface_id",
		"instance_id", "egress_only_gateway_id", "carrier_gateway_id", "local_gateway_id", "core_network_arn", "vpc_endpoint_id"} {
		attrs[k] = str(m[k])
	}
	var err error
	route.TargetType, route.Target, err = routeTarget(attrs)
	return route, err
}

// unknownTarget warns about a route whose target the plan does not know:
// it is kept, as a route to an unknown target, never dropped.
func (t *tfReader) unknownTarget(route model.Route, address string) {
	if route.TargetType == model.TargetUnknown {
		t.b.report.Warn(route.Source, address, "the target of the route to %s is not known until apply: where it leads is unknown", routeDest(route))
	}
}

func routeDest(r model.Route) string {
	if r.DestinationPrefixList != "" {
		return r.DestinationPrefixList
	}
	return r.Destination.String()
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func appendNew(s []string, x string) []string {
	if contains(s, x) {
		return s
	}
	return append(s, x)
}
