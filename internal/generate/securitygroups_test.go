package generate

import (
	"encoding/json"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/ringfence/ringfence/api/v1alpha1"
	"github.com/ringfence/ringfence/internal/model"
	"github.com/ringfence/ringfence/internal/ranges"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const nodeGroup = "sg-0a1b2c3d4e5f60001"

func rulesText(rs []SGRule) string {
	var b strings.Builder
	for _, r := range rs {
		if strings.Contains(r.CIDR, ":") {
			continue // the IPv6 ranges of S3, checked by verification
		}
		b.WriteString(r.Protocol + " " + itoa(r.FromPort) + "-" + itoa(r.ToPort) + " " + r.CIDR + r.Group + r.PrefixList + r.ManagedPrefixList + r.OwnPrefixList + "\n")
	}
	return b.String()
}

func itoa(i int32) string { b, _ := json.Marshal(i); return string(b) }

// The example's Fences fence pods on the node group: its rules are S3 by
// the AWS-managed list, DNS, the controller's egress to the model server
// (the controller shares the group, whose open egress goes), the feature
// API and peers by the group itself (every pod is on it), the
// controller's ingress on the model
// server's port, and its open egress revoked; the result verifies.
func TestSecurityGroupsExample(t *testing.T) {
	w, doc := loadExample(t, filepath.Join("..", "..", "examples", "fences", "ml-platform.yaml"))
	out, err := Generate(w, doc, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.SecurityGroups) != 1 || out.SecurityGroups[0].GroupID != nodeGroup {
		t.Fatalf("groups %+v", out.SecurityGroups)
	}
	g := out.SecurityGroups[0]
	wantEgress := "tcp 443-443 com.amazonaws.us-east-1.s3\nudp 53-53 " + nodeGroup + "\ntcp 53-53 " + nodeGroup + "\ntcp 8080-8080 " + nodeGroup + "\n-1 -1--1 " + nodeGroup + "\n"
	if got := rulesText(g.Egress); got != wantEgress {
		t.Errorf("egress:\n%s\nwant:\n%s", got, wantEgress)
	}
	if got := rulesText(g.Ingress); got != "tcp 8080-8080 "+nodeGroup+"\n" {
		t.Errorf("ingress:\n%s", got)
	}
	var revoked []string
	for _, r := range g.Revoke {
		revoked = append(revoked, r.CIDR)
	}
	if strings.Join(revoked, " ") != "0.0.0.0/0 ::/0" {
		t.Errorf("revoked %v", revoked)
	}
	if problems, err := Verify(w, out, doc, Options{}); err != nil || len(problems) > 0 {
		t.Errorf("verification: %v %v", err, problems)
	}

	// Verification judges the groups: without the S3 rule, or with the
	// open egress left, it fails.
	noS3 := *out
	noS3.SecurityGroups = []GroupPlan{g}
	noS3.SecurityGroups[0].Egress = g.Egress[1:]
	problems, _ := Verify(w, &noS3, doc, Options{})
	if !strings.Contains(strings.Join(problems, "\n"), "security groups block part of S3 in us-east-1") {
		t.Errorf("a plan without S3 verified: %v", problems)
	}
	if kept := applyGroups(w.SecurityGroups, nil); len(kept) != len(w.SecurityGroups) || kept[0] != w.SecurityGroups[0] {
		t.Errorf("applying no plan changed the groups")
	}
}

// Verification fails when the groups still let the workloads reach the
// internet: a plan for a group that also has an open rule it does not
// revoke (here added under another CIDR than 0.0.0.0/0).
func TestSecurityGroupsVerifyInternet(t *testing.T) {
	w, doc := loadExample(t, filepath.Join("..", "..", "examples", "fences", "ml-platform.yaml"))
	world := *w
	world.SecurityGroups = nil
	for _, sg := range w.SecurityGroups {
		if sg.ID == nodeGroup {
			c := *sg
			c.Egress = append(append([]model.SGRule(nil), sg.Egress...), model.SGRule{Protocol: "tcp", FromPort: 80, ToPort: 80, CIDRs: []netip.Prefix{netip.MustParsePrefix("0.0.0.0/1")}})
			sg = &c
		}
		world.SecurityGroups = append(world.SecurityGroups, sg)
	}
	out, err := Generate(&world, doc, Options{})
	if err != nil {
		t.Fatal(err)
	}
	problems, _ := Verify(&world, out, doc, Options{})
	if !strings.Contains(strings.Join(problems, "\n"), "security groups still allow the internet") {
		t.Errorf("an open 0.0.0.0/1 rule verified: %v", problems)
	}
}

// A service with more aggregated ranges than a group may have rules goes
// into a prefix list of its own, with a warning that says the quota still
// counts its entries; the result still verifies.
func TestSecurityGroupsQuota(t *testing.T) {
	w, doc := loadExample(t)
	world := *w
	world.Fences = []*model.Fence{{Meta: model.Meta{Kind: "Fence", Namespace: "ml-workloads", Name: "ec2"}}}
	world.Fences[0].Spec.Workloads = metav1.LabelSelector{MatchLabels: map[string]string{"app": "ml-training"}}
	world.Fences[0].Spec.Egress = []v1alpha1.EgressIntent{{AWS: &v1alpha1.AWSDestination{Service: "EC2", Region: "us-east-1"}}}
	out, err := Generate(&world, doc, Options{})
	if err != nil {
		t.Fatal(err)
	}
	v4 := 0
	for _, p := range ranges.Aggregate(doc.Select(ranges.Filter{Services: []string{"EC2"}, Regions: []string{"us-east-1"}})) {
		if p.Addr().Is4() {
			v4++
		}
	}
	if v4 <= RulesPerGroup {
		t.Fatalf("EC2 us-east-1 has %d IPv4 prefixes: not enough to test the quota", v4)
	}
	if len(out.PrefixLists) == 0 || out.PrefixLists[0].AddressFamily != "IPv4" || out.PrefixLists[0].MaxEntries != v4 || len(out.PrefixLists[0].Entries) != v4 {
		t.Fatalf("prefix lists %+v, want one of %d IPv4 entries", out.PrefixLists, v4)
	}
	found := false
	for _, r := range out.SecurityGroups[0].Egress {
		if r.OwnPrefixList == out.PrefixLists[0].Name && r.Protocol == "tcp" && r.FromPort == 443 {
			found = true
		}
		if r.CIDR != "" && !strings.Contains(r.CIDR, ":") {
			t.Errorf("IPv4 CIDR rule %s left beside the prefix list", r.CIDR)
		}
	}
	if !found {
		t.Errorf("no rule references the prefix list")
	}
	if !strings.Contains(strings.Join(out.Warnings, "\n"), "still needs the quota") {
		t.Errorf("warnings %v", out.Warnings)
	}
	if problems, err := Verify(&world, out, doc, Options{}); err != nil || len(problems) > 0 {
		t.Errorf("verification: %v %v", err, problems)
	}
	tf := Terraform(out, doc.SyncToken)
	if !strings.Contains(string(tf), `resource "aws_ec2_managed_prefix_list" "ringfence-`+nodeGroup+`-egress-ipv4"`) ||
		!strings.Contains(string(tf), "prefix_list_id    = aws_ec2_managed_prefix_list.ringfence-"+nodeGroup+"-egress-ipv4.id") {
		t.Errorf("terraform lacks the prefix list or its reference:\n%.2000s", tf)
	}
}

// The Terraform output is valid HCL with one rule resource per planned
// rule, each with the attributes the AWS provider requires.
func TestTerraform(t *testing.T) {
	w, doc := loadExample(t, filepath.Join("..", "..", "examples", "fences", "ml-platform.yaml"))
	out, err := Generate(w, doc, Options{})
	if err != nil {
		t.Fatal(err)
	}
	src := Terraform(out, doc.SyncToken)
	f, diags := hclsyntax.ParseConfig(src, "ringfence.tf", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatalf("invalid HCL: %v\n%s", diags, src)
	}
	counts := map[string]int{}
	for _, b := range f.Body.(*hclsyntax.Body).Blocks {
		kind := b.Type + " " + b.Labels[0]
		counts[kind]++
		attrs := b.Body.Attributes
		if b.Type == "resource" && strings.HasPrefix(b.Labels[0], "aws_vpc_security_group_") {
			peers := 0
			for _, a := range []string{"cidr_ipv4", "cidr_ipv6", "referenced_security_group_id", "prefix_list_id"} {
				if attrs[a] != nil {
					peers++
				}
			}
			if peers != 1 || attrs["security_group_id"] == nil || attrs["ip_protocol"] == nil {
				t.Errorf("%s %s: want a group, a protocol and exactly one peer", b.Labels[0], b.Labels[1])
			}
		}
	}
	g := out.SecurityGroups[0]
	if counts["resource aws_vpc_security_group_egress_rule"] != len(g.Egress) || counts["resource aws_vpc_security_group_ingress_rule"] != len(g.Ingress) || counts["data aws_ec2_managed_prefix_list"] != 1 {
		t.Errorf("blocks %v for %d egress and %d ingress rules", counts, len(g.Egress), len(g.Ingress))
	}
	if !strings.Contains(string(src), `# Revoke its open egress: aws ec2 revoke-security-group-egress --group-id `+nodeGroup+` --ip-permissions '[{"IpProtocol":"-1","IpRanges":[{"CidrIp":"0.0.0.0/0"}]}]'`) {
		t.Errorf("no revoke of 0.0.0.0/0:\n%s", src)
	}
}

// The AWS CLI input: one authorize per group and direction, the managed
// list (its ID not in the inputs) as the CIDRs it stands for, with a note.
func TestCLI(t *testing.T) {
	w, doc := loadExample(t, filepath.Join("..", "..", "examples", "fences", "ml-platform.yaml"))
	out, err := Generate(w, doc, Options{})
	if err != nil {
		t.Fatal(err)
	}
	c, notes := CLI(out)
	if len(c.AuthorizeEgress) != 1 || len(c.AuthorizeIngress) != 1 || len(c.RevokeEgress) != 1 {
		t.Fatalf("%+v", c)
	}
	first := c.AuthorizeEgress[0].IPPermissions[0]
	v4 := 0
	for _, p := range ranges.Aggregate(doc.Select(ranges.Filter{Services: []string{"S3"}, Regions: []string{"us-east-1"}})) {
		if p.Addr().Is4() {
			v4++
		}
	}
	if first.IPProtocol != "tcp" || *first.FromPort != 443 || len(first.IPRanges) != v4 {
		t.Errorf("S3 permission %+v, want %d IPv4 ranges on TCP 443", first, v4)
	}
	if len(notes) != 2 || !strings.Contains(notes[0], "com.amazonaws.us-east-1.s3") || !strings.Contains(notes[1], "launch template") {
		t.Errorf("notes %v", notes)
	}
	if len(c.ModifyMetadata) != len(out.Metadata) || len(c.ModifyMetadata) == 0 || c.ModifyMetadata[0].HTTPTokens != "required" || c.ModifyMetadata[0].HTTPPutResponseHopLimit != 1 {
		t.Errorf("metadata inputs %+v", c.ModifyMetadata)
	}
	var peers *IPPermission
	for i, p := range c.AuthorizeEgress[0].IPPermissions {
		if p.IPProtocol == "-1" {
			peers = &c.AuthorizeEgress[0].IPPermissions[i]
		}
	}
	if peers == nil || peers.FromPort != nil || len(peers.UserIDGroupPairs) != 1 || peers.UserIDGroupPairs[0].GroupID != nodeGroup {
		t.Errorf("peers permission %+v", peers)
	}
}
