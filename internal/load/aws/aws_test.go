package aws

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ringfence/ringfence/internal/load/document"
	"github.com/ringfence/ringfence/internal/model"
)

// build reads AWS documents, each given as name -> JSON.
func build(t *testing.T, docs ...[2]string) (*model.World, *document.Report, error) {
	t.Helper()
	r := &document.Report{}
	b := NewBuilder(r)
	for _, d := range docs {
		objs, err := document.Read(d[0], strings.NewReader(d[1]))
		if err != nil {
			return nil, nil, err
		}
		for _, o := range objs {
			shape := Recognize(o)
			if shape == "" {
				t.Fatalf("%s: shape not recognised", d[0])
			}
			if _, err := b.Add(o, shape); err != nil {
				return nil, nil, err
			}
		}
	}
	w := &model.World{}
	b.Finish(w)
	return w, r, nil
}

func rules(rs []model.SGRule) string {
	var out []string
	for _, r := range rs {
		out = append(out, fmt.Sprintf("%s %d-%d cidrs=%v groups=%v pl=%v @%d", r.Protocol, r.FromPort, r.ToPort, r.CIDRs, r.Groups, r.PrefixLists, r.Source.Line))
	}
	return strings.Join(out, "\n")
}

func TestDescribeSecurityGroups(t *testing.T) {
	in := `{"SecurityGroups": [{
  "GroupId": "sg-1", "GroupName": "nodes", "VpcId": "vpc-1",
  "Tags": [{"Key": "Name", "Value": "n"}],
  "IpPermissions": [
    {"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": "sg-1", "UserId": "1"}]},
    {"IpProtocol": "tcp", "FromPort": 30000, "ToPort": 32767, "IpRanges": [{"CidrIp": "10.0.0.0/16"}], "Ipv6Ranges": [{"CidrIpv6": "2600:1f18::/56"}]},
    {"IpProtocol": "icmp", "FromPort": 8, "ToPort": -1, "IpRanges": [{"CidrIp": "10.0.0.1/8"}]}
  ],
  "IpPermissionsEgress": [
    {"IpProtocol": "6", "FromPort": 443, "ToPort": 443, "PrefixListIds": [{"PrefixListId": "pl-63a5400a"}]}
  ]}]}`
	w, r, err := build(t, [2]string{"sg.json", in})
	if err != nil {
		t.Fatal(err)
	}
	g := w.SecurityGroups[0]
	if g.ID != "sg-1" || g.Name != "nodes" || g.VPC != "vpc-1" || g.Tags["Name"] != "n" || g.Source.Line != 1 {
		t.Errorf("group = %+v", g)
	}
	wantIn := "-1 -1--1 cidrs=[] groups=[sg-1] pl=[] @5\ntcp 30000-32767 cidrs=[10.0.0.0/16 2600:1f18::/56] groups=[] pl=[] @6\nicmp 8--1 cidrs=[10.0.0.0/8] groups=[] pl=[] @7"
	if got := rules(g.Ingress); got != wantIn {
		t.Errorf("ingress:\n%s\nwant:\n%s", got, wantIn)
	}
	if got := rules(g.Egress); got != "tcp 443-443 cidrs=[] groups=[] pl=[pl-63a5400a] @10" {
		t.Errorf("egress: %s", got)
	}
	if len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0].String(), "sg.json:10: SecurityGroup/sg-1: prefix list pl-63a5400a is referenced but its entries were not given") {
		t.Errorf("warnings = %v", r.Warnings)
	}
	// With the entries, the warning goes.
	_, r, err = build(t, [2]string{"sg.json", in}, [2]string{"pl-63a5400a.json", `{"Entries": [{"Cidr": "52.216.0.0/15"}, {"Cidr": "3.5.0.0/19"}]}`})
	if err != nil || len(r.Warnings) != 0 {
		t.Errorf("with entries: %v %v", err, r.Warnings)
	}
}

func TestRulesInstancesAndPrefixLists(t *testing.T) {
	w, _, err := build(t,
		[2]string{"rules.json", `{"SecurityGroupRules": [
  {"GroupId": "sg-2", "IsEgress": true, "IpProtocol": "-1", "FromPort": -1, "ToPort": -1, "CidrIpv4": "0.0.0.0/0"},
  {"GroupId": "sg-2", "IsEgress": false, "IpProtocol": "udp", "FromPort": 53, "ToPort": 53, "ReferencedGroupInfo": {"GroupId": "sg-3"}}]}`},
		[2]string{"instances.json", `{"Reservations": [{"Instances": [{"InstanceId": "i-1", "PrivateIpAddress": "10.0.1.5",
  "Placement": {"AvailabilityZone": "us-east-1a"}, "SecurityGroups": [{"GroupId": "sg-2"}],
  "MetadataOptions": {"HttpTokens": "optional", "HttpPutResponseHopLimit": 2},
  "NetworkInterfaces": [{"Groups": [{"GroupId": "sg-3"}], "PrivateIpAddresses": [{"PrivateIpAddress": "10.0.1.5"}, {"PrivateIpAddress": "10.0.1.77"}]}]}]}]}`},
		[2]string{"lists.json", `{"PrefixLists": [{"PrefixListId": "pl-63a5400a", "PrefixListName": "com.amazonaws.us-east-1.s3"}]}`},
	)
	if err != nil {
		t.Fatal(err)
	}
	g := w.SecurityGroups[0]
	if rules(g.Egress) != "-1 -1--1 cidrs=[0.0.0.0/0] groups=[] pl=[] @2" || rules(g.Ingress) != "udp 53-53 cidrs=[] groups=[sg-3] pl=[] @3" {
		t.Errorf("rules: %s / %s", rules(g.Egress), rules(g.Ingress))
	}
	in := w.Instances[0]
	if in.ID != "i-1" || fmt.Sprint(in.PrivateIPs) != "[10.0.1.5 10.0.1.77]" || strings.Join(in.Groups, ",") != "sg-2,sg-3" || in.MetadataTokens != "optional" || in.MetadataHopLimit != 2 {
		t.Errorf("instance = %+v", in)
	}
	if pl := w.PrefixLists[0]; pl.Name != "com.amazonaws.us-east-1.s3" || pl.Entries != nil {
		t.Errorf("prefix list = %+v", pl)
	}
}

func TestErrors(t *testing.T) {
	tests := []struct{ name, file, in, want string }{
		{"bad CIDR", "sg.json", `{"SecurityGroups": [{"GroupId": "sg-1",
 "IpPermissions": [{"IpProtocol": "tcp", "IpRanges": [{"CidrIp": "10.0.0.0/33"}]}]}]}`, `sg.json:2: SecurityGroup/sg-1: "10.0.0.0/33" is not a CIDR`},
		{"bad protocol", "sg.json", `{"SecurityGroups": [{"GroupId": "sg-1", "IpPermissions": [], "IpPermissionsEgress": [
  {"IpProtocol": "smtp"}]}]}`, `sg.json:2: SecurityGroup/sg-1: unknown IP protocol "smtp"`},
		{"no group id", "sg.json", `{"SecurityGroups": [{"GroupName": "x"}]}`, `sg.json:1: SecurityGroups[0] has no GroupId`},
		{"entries without list id", "entries.json", `{"Entries": []}`, "entries.json:1: get-managed-prefix-list-entries output does not say which prefix list it lists"},
		{"wrong types", "sg.json", `{"SecurityGroups": [{"GroupId": 7}]}`, "sg.json:1: invalid describe-security-groups output"},
	}
	for _, tt := range tests {
		_, _, err := build(t, [2]string{tt.file, tt.in})
		var de *document.Error
		if err == nil || !errors.As(err, &de) || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want %q", tt.name, err, tt.want)
		}
	}
}

// The Terraform 1.11 excerpt creates a group and attaches
// aws_vpc_security_group_*_rule resources to it through the configuration.
func TestTerraformPlan(t *testing.T) {
	path := filepath.Join("..", "..", "..", "..", "shared", "data", "aws-ec2", "terraform-plan_tf1.11_vpc_sg_rules_EXCERPT.json")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Skip("../shared/data not present")
	}
	w, r, err := build(t, [2]string{"plan.json", string(data)})
	if err != nil {
		t.Fatal(err)
	}
	if len(w.SecurityGroups) != 1 {
		t.Fatalf("groups = %d", len(w.SecurityGroups))
	}
	g := w.SecurityGroups[0]
	var protos []string
	for _, rr := range append(append([]model.SGRule(nil), g.Ingress...), g.Egress...) {
		protos = append(protos, fmt.Sprintf("%s:%d-%d:%v:%v:%v", rr.Protocol, rr.FromPort, rr.ToPort, rr.CIDRs, rr.PrefixLists, rr.Groups))
	}
	// The group's inline blocks, then the separate rule resources.
	want := "tcp:443-443:[10.0.0.0/16]:[]:[] | tcp:443-443:[10.0.0.0/16]:[]:[] | -1:-1--1:[0.0.0.0/0 ::/0]:[]:[] | -1:-1--1:[0.0.0.0/0]:[]:[]"
	if got := strings.Join(protos, " | "); g.ID != "sg-009cf1dbfc71a52ad" || got != want || len(r.Warnings) != 0 {
		t.Errorf("group %s: %s\nwant %s (warnings %v)", g.ID, got, want, r.Warnings)
	}
}

// A group not created yet has no id in the plan: its rules find it through
// the configuration's references, in the root module and in a module.
func TestTerraformUnknownIDs(t *testing.T) {
	plan := `{"format_version": "1.2", "terraform_version": "1.11.3",
 "planned_values": {"root_module": {"resources": [
   {"address": "aws_security_group.nodes", "mode": "managed", "type": "aws_security_group", "name": "nodes",
    "values": {"name": "nodes", "egress": [{"protocol": "-1", "from_port": 0, "to_port": 0, "cidr_blocks": ["0.0.0.0/0"], "ipv6_cidr_blocks": [], "prefix_list_ids": [], "security_groups": [], "self": false, "description": ""}], "ingress": []}},
   {"address": "aws_security_group_rule.dns", "mode": "managed", "type": "aws_security_group_rule", "name": "dns",
    "values": {"type": "ingress", "protocol": "udp", "from_port": 53, "to_port": 53, "cidr_blocks": null, "self": true}}],
  "child_modules": [{"address": "module.s3", "resources": [
   {"address": "module.s3.aws_vpc_security_group_egress_rule.s3", "mode": "managed", "type": "aws_vpc_security_group_egress_rule", "name": "s3",
    "values": {"ip_protocol": "tcp", "from_port": 443, "to_port": 443, "prefix_list_id": "pl-63a5400a"}}]}]}},
 "configuration": {"root_module": {
   "resources": [{"address": "aws_security_group_rule.dns", "mode": "managed", "type": "aws_security_group_rule", "name": "dns",
     "expressions": {"security_group_id": {"references": ["aws_security_group.nodes.id", "aws_security_group.nodes"]}}}],
   "module_calls": {"s3": {"module": {"resources": [{"address": "aws_vpc_security_group_egress_rule.s3", "mode": "managed", "type": "aws_vpc_security_group_egress_rule", "name": "s3",
     "expressions": {"security_group_id": {"references": ["var.group"]}}}]}}}}}}`
	w, r, err := build(t, [2]string{"plan.json", plan})
	if err != nil {
		t.Fatal(err)
	}
	g := w.SecurityGroups[0]
	if g.ID != "aws_security_group.nodes" || rules(g.Ingress) != "udp 53-53 cidrs=[] groups=[aws_security_group.nodes] pl=[] @5" || rules(g.Egress) != "-1 -1--1 cidrs=[0.0.0.0/0] groups=[] pl=[] @3" {
		t.Errorf("group %s\ningress %s\negress %s", g.ID, rules(g.Ingress), rules(g.Egress))
	}
	// The module's rule refers to a variable: which group is not known.
	var skipped bool
	for _, n := range r.Warnings {
		skipped = skipped || strings.Contains(n.String(), "module.s3.aws_vpc_security_group_egress_rule.s3: security_group_id is not known")
	}
	if !skipped {
		t.Errorf("no warning for the unresolvable rule: %v", r.Warnings)
	}
}
