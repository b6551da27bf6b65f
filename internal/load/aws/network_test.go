package aws

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/ringfence/ringfence/internal/load/document"
	"github.com/ringfence/ringfence/internal/model"
)

// vpcDocs are describe-* outputs in the shapes the AWS CLI prints them
// (taken from the field lists of the AWS CLI reference).
func vpcDocs(t *testing.T) [][2]string {
	t.Helper()
	paths, _ := filepath.Glob("testdata/vpc/*.json")
	sort.Strings(paths)
	var out [][2]string
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, [2]string{p, string(b)})
	}
	if len(out) != 9 {
		t.Fatalf("%d documents in testdata/vpc, want 9", len(out))
	}
	return out
}

// describeNetwork renders the VPC layer compactly for comparison.
func describeNetwork(n model.VPCNetwork) string {
	var b strings.Builder
	for _, v := range n.VPCs {
		fmt.Fprintf(&b, "vpc %s %v default=%v @%s\n", v.ID, v.CIDRs, v.IsDefault, v.Source)
	}
	for _, s := range n.Subnets {
		fmt.Fprintf(&b, "subnet %s vpc=%s az=%s %v %v public=%v @%s\n", s.ID, s.VPC, s.Zone, s.CIDR, s.IPv6CIDRs, s.MapPublicIP, s.Source)
	}
	for _, a := range n.NetworkACLs {
		fmt.Fprintf(&b, "acl %s vpc=%s subnets=%v @%s\n", a.ID, a.VPC, a.Subnets, a.Source)
		for _, e := range a.Entries {
			fmt.Fprintf(&b, "  %d egress=%v %s %d-%d %s allow=%v @%d\n", e.RuleNumber, e.Egress, e.Protocol, e.FromPort, e.ToPort, e.CIDR, e.Allow, e.Source.Line)
		}
	}
	for _, rt := range n.RouteTables {
		fmt.Fprintf(&b, "rtb %s vpc=%s main=%v assoc=%v @%s\n", rt.ID, rt.VPC, rt.Main(), rt.Associations, rt.Source)
		for _, r := range rt.Routes {
			dst := r.DestinationPrefixList
			if r.Destination.IsValid() {
				dst = r.Destination.String()
			}
			fmt.Fprintf(&b, "  %s -> %s %s blackhole=%v @%d\n", dst, r.TargetType, r.Target, r.Blackhole, r.Source.Line)
		}
	}
	for _, e := range n.Endpoints {
		fmt.Fprintf(&b, "vpce %s %s %s rtb=%v subnets=%v sg=%v dns=%v policy=%v @%s\n", e.ID, e.Type, e.Service, e.RouteTables, e.Subnets, e.Groups, e.PrivateDNS, e.Policy != "", e.Source)
	}
	for _, g := range n.NATGateways {
		fmt.Fprintf(&b, "nat %s subnet=%s %s public=%v private=%v @%s\n", g.ID, g.Subnet, g.Connectivity, g.PublicIPs, g.PrivateIPs, g.Source)
	}
	for _, g := range n.InternetGateways {
		fmt.Fprintf(&b, "igw %s vpcs=%v @%s\n", g.ID, g.VPCs, g.Source)
	}
	for _, l := range n.LoadBalancers {
		fmt.Fprintf(&b, "lb %s %s %s sg=%v subnets=%v @%s\n", l.Name, l.Type, l.Scheme, l.Groups, l.Subnets, l.Source)
	}
	for _, g := range n.TargetGroups {
		fmt.Fprintf(&b, "tg %s %s %s:%d lbs=%d @%s\n", g.Name, g.TargetType, g.Protocol, g.Port, len(g.LoadBalancers), g.Source)
	}
	return b.String()
}

func TestDescribeVPCLayer(t *testing.T) {
	w, r, err := build(t, vpcDocs(t)...)
	if err != nil {
		t.Fatal(err)
	}
	want := `vpc vpc-06e4ab6c6cEXAMPLE [10.0.0.0/16 100.64.0.0/16 2600:1f18:abcd:1200::/56] default=false @testdata/vpc/vpcs.json:3
subnet subnet-0931fc2fa5EXAMPLE vpc=vpc-06e4ab6c6cEXAMPLE az=us-east-1a 10.0.0.0/20 [2600:1f18:abcd:1200::/64] public=false @testdata/vpc/subnets.json:3
subnet subnet-public vpc=vpc-06e4ab6c6cEXAMPLE az=us-east-1b 10.0.16.0/20 [] public=true @testdata/vpc/subnets.json:23
acl acl-0ea1f54ca7EXAMPLE vpc=vpc-06e4ab6c6cEXAMPLE subnets=[subnet-0931fc2fa5EXAMPLE] @testdata/vpc/network-acls.json:3
  90 egress=false icmpv6 3--1 ::/0 allow=false @42
  100 egress=false tcp 1024-65535 0.0.0.0/0 allow=true @34
  110 egress=false tcp 443-443 10.0.0.0/16 allow=true @26
  32767 egress=false -1 -1--1 0.0.0.0/0 allow=false @50
  100 egress=true -1 -1--1 0.0.0.0/0 allow=true @12
  32767 egress=true -1 -1--1 0.0.0.0/0 allow=false @19
rtb rtb-private vpc=vpc-06e4ab6c6cEXAMPLE main=false assoc=[{false subnet-0931fc2fa5EXAMPLE }] @testdata/vpc/route-tables.json:45
  10.0.0.0/16 -> local local blackhole=false @57
  0.0.0.0/0 -> nat-gateway nat-0b2c3d4e blackhole=false @63
  pl-63a5400a -> vpc-endpoint vpce-0s3gateway blackhole=false @69
  172.16.0.0/12 -> transit-gateway tgw-0123 blackhole=false @75
  192.168.0.0/16 -> vpc-peering-connection pcx-0456 blackhole=true @81
rtb rtb-public vpc=vpc-06e4ab6c6cEXAMPLE main=true assoc=[{true  } {false subnet-public }] @testdata/vpc/route-tables.json:3
  10.0.0.0/16 -> local local blackhole=false @22
  0.0.0.0/0 -> internet-gateway igw-0a1b2c3d blackhole=false @28
  ::/0 -> internet-gateway igw-0a1b2c3d blackhole=false @34
vpce vpce-0s3gateway Gateway com.amazonaws.us-east-1.s3 rtb=[rtb-private] subnets=[] sg=[] dns=false policy=true @testdata/vpc/vpc-endpoints.json:3
vpce vpce-0sts Interface com.amazonaws.us-east-1.sts rtb=[] subnets=[subnet-0931fc2fa5EXAMPLE] sg=[sg-0endpoints] dns=true policy=true @testdata/vpc/vpc-endpoints.json:19
nat nat-0b2c3d4e subnet=subnet-public public public=[198.51.100.57] private=[10.0.16.12] @testdata/vpc/nat-gateways.json:3
igw igw-0a1b2c3d vpcs=[vpc-06e4ab6c6cEXAMPLE] @testdata/vpc/internet-gateways.json:3
igw igw-0detached vpcs=[] @testdata/vpc/internet-gateways.json:9
lb my-load-balancer application internet-facing sg=[sg-0alb] subnets=[subnet-0931fc2fa5EXAMPLE subnet-public] @testdata/vpc/load-balancers.json:3
lb my-nlb network internal sg=[] subnets=[subnet-0931fc2fa5EXAMPLE] @testdata/vpc/load-balancers.json:20
tg my-targets ip HTTP:80 lbs=1 @testdata/vpc/target-groups.json:3
`
	if got := describeNetwork(w.Network); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	if len(r.Warnings) != 0 {
		t.Errorf("warnings: %v", r.Warnings)
	}
	// The endpoint policy is kept as the text AWS returned.
	if p := w.Network.Endpoints[0].Policy; !strings.Contains(p, `"Principal":"*"`) {
		t.Errorf("policy = %q", p)
	}
}

// Every VPC-layer shape is told from its top-level key, as the AWS CLI
// prints it, with and without a NextToken beside it.
func TestRecognizeVPCShapes(t *testing.T) {
	for key, shape := range networkShapes {
		for _, in := range []string{`{"` + key + `": []}`, `{"NextToken": "x", "` + key + `": []}`} {
			objs, err := document.Read("x.json", strings.NewReader(in))
			if err != nil {
				t.Fatal(err)
			}
			if got := Recognize(objs[0]); got != shape {
				t.Errorf("%s: shape %q, want %q", in, got, shape)
			}
		}
	}
}

// A recognised AWS output the model does not hold is a warning naming the
// command, never an abort.
func TestUnmodelledOutputWarns(t *testing.T) {
	w, r, err := build(t, [2]string{"eni.json", `{"NetworkInterfaces": [{"NetworkInterfaceId": "eni-1"}]}`},
		[2]string{"clb.json", `{"LoadBalancerDescriptions": []}`})
	if err != nil {
		t.Fatal(err)
	}
	if !w.Network.Empty() || len(r.Warnings) != 2 ||
		r.Warnings[0].String() != "eni.json:1: aws ec2 describe-network-interfaces: ringfence does not model this AWS output; it is not used" ||
		!strings.Contains(r.Warnings[1].String(), "Classic Load Balancer") {
		t.Errorf("warnings = %v", r.Warnings)
	}
}

func TestVPCLayerErrors(t *testing.T) {
	tests := []struct{ name, file, in, want string }{
		{"bad ACL CIDR", "acl.json", `{"NetworkAcls": [{"NetworkAclId": "acl-1", "Entries": [
  {"RuleNumber": 100, "Protocol": "-1", "RuleAction": "allow", "CidrBlock": "10.0.0.0/33", "Egress": false}]}]}`, `acl.json:2: NetworkACL/acl-1: "10.0.0.0/33" is not a CIDR`},
		{"IPv6 in the IPv4 field", "acl.json", `{"NetworkAcls": [{"NetworkAclId": "acl-1", "Entries": [
  {"RuleNumber": 100, "Protocol": "-1", "RuleAction": "allow", "CidrBlock": "::/0"}]}]}`, `acl.json:2: NetworkACL/acl-1: "::/0" is not an IPv4 CIDR`},
		{"bad action", "acl.json", `{"NetworkAcls": [{"NetworkAclId": "acl-1", "Entries": [
  {"RuleNumber": 100, "Protocol": "-1", "RuleAction": "maybe", "CidrBlock": "0.0.0.0/0"}]}]}`, `acl.json:2: NetworkACL/acl-1: rule action "maybe" is neither allow nor deny`},
		{"no rule number", "acl.json", `{"NetworkAcls": [{"NetworkAclId": "acl-1", "Entries": [{"Protocol": "-1", "RuleAction": "deny", "CidrBlock": "0.0.0.0/0"}]}]}`, `acl.json:1: NetworkACL/acl-1: entry has no RuleNumber`},
		{"no ACL id", "acl.json", `{"NetworkAcls": [{"VpcId": "vpc-1"}]}`, `acl.json:1: NetworkAcls[0] has no NetworkAclId`},
		{"bad route destination", "rtb.json", `{"RouteTables": [{"RouteTableId": "rtb-1", "Routes": [
  {"DestinationCidrBlock": "0.0.0.0/x", "GatewayId": "igw-1"}]}]}`, `rtb.json:2: RouteTable/rtb-1: destination: "0.0.0.0/x" is not a CIDR`},
		{"route without destination", "rtb.json", `{"RouteTables": [{"RouteTableId": "rtb-1", "Routes": [{"GatewayId": "igw-1"}]}]}`, `rtb.json:1: RouteTable/rtb-1: route has no destination`},
		{"odd gateway", "rtb.json", `{"RouteTables": [{"RouteTableId": "rtb-1", "Routes": [{"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": "xyz-1"}]}]}`, `rtb.json:1: RouteTable/rtb-1: gateway "xyz-1" is neither`},
		{"bad subnet CIDR", "sn.json", `{"Subnets": [{"SubnetId": "subnet-1", "CidrBlock": "10.0.0.0"}]}`, `sn.json:1: Subnet/subnet-1: "10.0.0.0" is not a CIDR`},
		{"bad VPC CIDR", "vpc.json", `{"Vpcs": [{"VpcId": "vpc-1", "CidrBlock": "10.0.0.0/8", "CidrBlockAssociationSet": [{"CidrBlock": "nope"}]}]}`, `vpc.json:1: VPC/vpc-1: "nope" is not a CIDR`},
		{"bad endpoint type", "ep.json", `{"VpcEndpoints": [{"VpcEndpointId": "vpce-1", "VpcEndpointType": "gateway"}]}`, `ep.json:1: VPCEndpoint/vpce-1: endpoint type "gateway" is not Gateway`},
		{"bad NAT address", "nat.json", `{"NatGateways": [{"NatGatewayId": "nat-1", "NatGatewayAddresses": [{"PublicIp": "1.2.3"}]}]}`, `nat.json:1: NATGateway/nat-1: "1.2.3" is not an IP address`},
		{"bad scheme", "lb.json", `{"LoadBalancers": [{"LoadBalancerArn": "arn:x", "LoadBalancerName": "a", "Scheme": "public"}]}`, `lb.json:1: LoadBalancer/a: scheme "public" is neither`},
		{"DNS attribute without a value", "dns.json", `{"VpcId": "vpc-1", "EnableDnsHostnames": {}}`, `dns.json:1: VPC/vpc-1: EnableDnsHostnames has no Value`},
		{"DNS attribute without a VPC", "dns.json", `{"EnableDnsSupport": {"Value": true}}`, `dns.json:1: aws ec2 describe-vpc-attribute --attribute enableDnsSupport output has no VpcId`},
		{"wrong types", "tg.json", `{"TargetGroups": [{"TargetGroupArn": 7}]}`, "tg.json:1: invalid aws elbv2 describe-target-groups output"},
	}
	for _, tt := range tests {
		_, _, err := build(t, [2]string{tt.file, tt.in})
		var de *document.Error
		if err == nil || !errors.As(err, &de) || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want %q", tt.name, err, tt.want)
		}
	}
}

// A route whose target ringfence does not know is kept as leading to an
// unknown place, with a warning: it is never dropped or read as nowhere.
func TestUnknownRouteTarget(t *testing.T) {
	w, r, err := build(t, [2]string{"rtb.json", `{"RouteTables": [{"RouteTableId": "rtb-1", "Routes": [{"DestinationCidrBlock": "0.0.0.0/0", "OdbNetworkArn": "arn:x"}]}]}`})
	if err != nil {
		t.Fatal(err)
	}
	if rt := w.Network.RouteTables[0]; rt.Routes[0].TargetType != model.TargetUnknown || len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0].Msg, "where it leads is unknown") {
		t.Errorf("route = %+v, warnings %v", rt.Routes, r.Warnings)
	}
}

// A plan that creates a whole VPC: nothing has an id yet, so objects are
// named by their addresses and tied together through the configuration's
// references; the NAT route's target is not known until apply.
func TestTerraformVPCPlan(t *testing.T) {
	b, err := os.ReadFile("testdata/vpc-plan.json")
	if err != nil {
		t.Fatal(err)
	}
	w, r, err := build(t, [2]string{"plan.json", string(b)})
	if err != nil {
		t.Fatal(err)
	}
	want := `vpc aws_vpc.main [10.0.0.0/16] default=false @plan.json:7
subnet aws_subnet.private[0] vpc=aws_vpc.main az=us-east-1a 10.0.0.0/20 [] public=false @plan.json:9
acl aws_network_acl.private vpc=aws_vpc.main subnets=[aws_subnet.private[0]] @plan.json:19
  100 egress=false tcp 443-443 10.0.0.0/16 allow=true @19
  200 egress=false tcp 1024-65535 0.0.0.0/0 allow=true @22
  100 egress=true -1 -1--1 0.0.0.0/0 allow=true @19
rtb aws_route_table.private vpc= main=false assoc=[{false aws_subnet.private[0] }] @plan.json:13
  0.0.0.0/0 -> unknown  blackhole=false @13
rtb aws_route_table.public vpc= main=false assoc=[] @plan.json:17
  0.0.0.0/0 -> internet-gateway aws_internet_gateway.gw blackhole=false @15
vpce aws_vpc_endpoint.s3 Gateway com.amazonaws.us-east-1.s3 rtb=[aws_route_table.private] subnets=[] sg=[] dns=false policy=true @plan.json:24
nat aws_nat_gateway.nat subnet=aws_subnet.private[0] public public=[] private=[] @plan.json:12
igw aws_internet_gateway.gw vpcs=[aws_vpc.main] @plan.json:11
lb web application internet-facing sg=[] subnets=[] @plan.json:27
tg web ip HTTP:8080 lbs=0 @plan.json:29
`
	if got := describeNetwork(w.Network); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	// The route's target and the load balancer's group (from another
	// configuration) are not known: each says so.
	if len(r.Warnings) != 2 || !strings.Contains(r.Warnings[0].String(), "aws_route_table.private: the target of the route to 0.0.0.0/0 is not known until apply") ||
		r.Warnings[1].String() != "plan.json:27: aws_lb.web: security_groups refers to aws_security_group.lb, which is not in the plan or state: it is left unknown" {
		t.Errorf("warnings = %v", r.Warnings)
	}
}

func TestTerraformVPCErrors(t *testing.T) {
	plan := func(typ, values string) string {
		return `{"format_version": "1.2", "terraform_version": "1.11.3", "planned_values": {"root_module": {"resources": [
 {"address": "` + typ + `.x", "mode": "managed", "type": "` + typ + `", "name": "x", "values": ` + values + `}]}}}`
	}
	tests := []struct{ name, in, want string }{
		{"bad subnet CIDR", plan("aws_subnet", `{"cidr_block": "10.0.0.0/40"}`), `plan.json:2: aws_subnet.x: "10.0.0.0/40" is not a CIDR`},
		{"bad ACL action", plan("aws_network_acl", `{"ingress": [{"action": "permit", "cidr_block": "0.0.0.0/0", "protocol": "-1", "rule_no": 1}]}`), `plan.json:2: aws_network_acl.x: ingress: rule action "permit"`},
		{"bad route CIDR", plan("aws_route_table", `{"route": [{"cidr_block": "0.0.0.0", "gateway_id": "igw-1"}]}`), `plan.json:2: aws_route_table.x: route: destination: "0.0.0.0" is not a CIDR`},
		{"bad endpoint type", plan("aws_vpc_endpoint", `{"vpc_endpoint_type": "S3"}`), `plan.json:2: aws_vpc_endpoint.x: endpoint type "S3"`},
	}
	for _, tt := range tests {
		_, _, err := build(t, [2]string{"plan.json", tt.in})
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want %q", tt.name, err, tt.want)
		}
	}
}

// A Terraform state lists the rules and routes of separate resources in
// the ACL's and table's own blocks too: each is kept once, and a number or
// destination given twice with different contents is a warning.
func TestTerraformStateDuplicates(t *testing.T) {
	state := `{"format_version": "1.0", "terraform_version": "1.11.3", "values": {"root_module": {"resources": [
 {"address": "aws_network_acl.a", "mode": "managed", "type": "aws_network_acl", "name": "a", "values": {"id": "acl-1", "vpc_id": "vpc-1",
  "ingress": [{"action": "allow", "cidr_block": "0.0.0.0/0", "from_port": 1024, "to_port": 65535, "protocol": "6", "rule_no": 200, "icmp_code": 0, "icmp_type": 0, "ipv6_cidr_block": ""}], "egress": []}},
 {"address": "aws_network_acl_rule.eph", "mode": "managed", "type": "aws_network_acl_rule", "name": "eph", "values": {"network_acl_id": "acl-1", "rule_number": 200, "egress": false, "protocol": "6", "rule_action": "allow", "cidr_block": "0.0.0.0/0", "from_port": 1024, "to_port": 65535}},
 {"address": "aws_network_acl_rule.other", "mode": "managed", "type": "aws_network_acl_rule", "name": "other", "values": {"network_acl_id": "acl-1", "rule_number": 200, "egress": false, "protocol": "6", "rule_action": "deny", "cidr_block": "0.0.0.0/0", "from_port": 22, "to_port": 22}},
 {"address": "aws_route_table.p", "mode": "managed", "type": "aws_route_table", "name": "p", "values": {"id": "rtb-1", "vpc_id": "vpc-1",
  "route": [{"cidr_block": "0.0.0.0/0", "nat_gateway_id": "nat-1", "gateway_id": ""}]}},
 {"address": "aws_route.nat", "mode": "managed", "type": "aws_route", "name": "nat", "values": {"route_table_id": "rtb-1", "destination_cidr_block": "0.0.0.0/0", "nat_gateway_id": "nat-1"}}
]}}}`
	w, r, err := build(t, [2]string{"state.json", state})
	if err != nil {
		t.Fatal(err)
	}
	acl, rt := w.Network.NetworkACLs[0], w.Network.RouteTables[0]
	if len(acl.Entries) != 1 || !acl.Entries[0].Allow || len(rt.Routes) != 1 || rt.Routes[0].Target != "nat-1" {
		t.Errorf("entries %+v\nroutes %+v", acl.Entries, rt.Routes)
	}
	if len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0].String(), "state.json:5: NetworkACL/acl-1: rule 200 is given twice with different contents; the one at state.json:2 is used") {
		t.Errorf("warnings = %v", r.Warnings)
	}
}

// describe-vpc-attribute answers set the VPC's DNS attributes, whichever
// file comes first; one for a VPC not given is a warning.
func TestVPCDNSAttributes(t *testing.T) {
	w, r, err := build(t,
		[2]string{"hostnames.json", `{"VpcId": "vpc-1", "EnableDnsHostnames": {"Value": false}}`},
		[2]string{"vpcs.json", `{"Vpcs": [{"VpcId": "vpc-1", "CidrBlock": "10.0.0.0/16"}]}`},
		[2]string{"support.json", `{"VpcId": "vpc-1", "EnableDnsSupport": {"Value": true}}`},
		[2]string{"other.json", `{"VpcId": "vpc-9", "EnableDnsSupport": {"Value": true}}`})
	if err != nil {
		t.Fatal(err)
	}
	v := w.Network.VPCs[0]
	if v.DNSSupport == nil || !*v.DNSSupport || v.DNSHostnames == nil || *v.DNSHostnames {
		t.Errorf("support %v hostnames %v, want true and false", v.DNSSupport, v.DNSHostnames)
	}
	if len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0].String(), "other.json") || !strings.Contains(r.Warnings[0].Msg, "the VPC is not in the inputs") {
		t.Errorf("warnings %v", r.Warnings)
	}
}
