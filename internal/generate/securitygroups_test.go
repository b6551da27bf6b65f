package generate

import (
	"encoding/json"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/ringfence/ringfence/api/v1alpha1"
	"github.com/ringfence/ringfence/internal/model"
	"github.com/ringfence/ringfence/internal/ranges"
	"github.com/zclconf/go-cty/cty"
	"go4.org/netipx"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const (
	nodeGroup  = "sg-0a1b2c3d4e5f60001"
	jobGroupID = "ringfence-ml-workloads-text-embed-finetune"
)

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
// the AWS-managed list, DNS, the feature API and peers by the group
// itself (every pod is on it), the controller's ingress on the model
// server's port, and its open egress revoked; the nodes' own needs are
// kept (the cluster security group on 443, the region's AMAZON ranges for
// ECR and STS, through prefix lists); the controller, which shares the
// group, keeps its egress to the model server's port; the result verifies.
func TestSecurityGroupsExample(t *testing.T) {
	w, doc := loadExample(t, filepath.Join("..", "..", "examples", "fences", "ml-platform.yaml"))
	out, err := Generate(w, doc, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// The node group, then the training job's own group (its pods have
	// none, so generate plans one).
	if len(out.SecurityGroups) != 2 || out.SecurityGroups[0].GroupID != nodeGroup || out.SecurityGroups[1].GroupID != jobGroupID {
		t.Fatalf("groups %+v", out.SecurityGroups)
	}
	g := out.SecurityGroups[0]
	// No job peers' rule on the shared node group.
	wantEgress := "tcp 443-443 com.amazonaws.us-east-1.s3\nudp 53-53 " + nodeGroup + "\ntcp 53-53 " + nodeGroup + "\ntcp 8080-8080 " + nodeGroup +
		"\ntcp 443-443 sg-0a1b2c3d4e5f60002\ntcp 443-443 ringfence-" + nodeGroup + "-egress-ipv4\ntcp 443-443 ringfence-" + nodeGroup + "-egress-ipv6\n"
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

	// Verification judges the groups: without the S3 rule and the
	// region's AMAZON list (which holds S3's ranges too), it fails, and
	// the nodes' image pulls are cut.
	noS3 := *out
	noS3.SecurityGroups = []GroupPlan{g}
	noS3.SecurityGroups[0].Egress = nil
	for _, r := range g.Egress {
		if r.ManagedPrefixList == "" && !strings.HasSuffix(r.OwnPrefixList, "-ipv4") {
			noS3.SecurityGroups[0].Egress = append(noS3.SecurityGroups[0].Egress, r)
		}
	}
	problems, _ := Verify(w, &noS3, doc, Options{})
	if !strings.Contains(strings.Join(problems, "\n"), "security groups block part of S3 in us-east-1") {
		t.Errorf("a plan without S3 verified: %v", problems)
	}
	var cut []string
	for _, n := range noS3.Cut() {
		cut = append(cut, n.Kind)
	}
	if !strings.Contains(strings.Join(cut, " "), "registry") || len(out.Cut()) != 0 {
		t.Errorf("cut needs %v, of the output %v", cut, out.Cut())
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
	// The nodes' needs (the region's AMAZON ranges on 443) join EC2's in
	// one list: it holds every EC2 prefix, aggregated.
	if len(out.PrefixLists) == 0 || out.PrefixLists[0].AddressFamily != "IPv4" || out.PrefixLists[0].MaxEntries != len(out.PrefixLists[0].Entries) {
		t.Fatalf("prefix lists %+v, want one of IPv4 entries", out.PrefixLists)
	}
	var b netipx.IPSetBuilder
	for _, e := range out.PrefixLists[0].Entries {
		b.AddPrefix(netip.MustParsePrefix(e))
	}
	list, _ := b.IPSet()
	if len(list.Prefixes()) != len(out.PrefixLists[0].Entries) {
		t.Errorf("the list's %d entries are not aggregated (%d)", len(out.PrefixLists[0].Entries), len(list.Prefixes()))
	}
	for _, p := range doc.Select(ranges.Filter{Services: []string{"EC2"}, Regions: []string{"us-east-1"}}) {
		if p.Prefix.Addr().Is4() && !list.ContainsPrefix(p.Prefix) {
			t.Errorf("the list lacks EC2's %s", p)
		}
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
	egress, ingress, revoke := 0, 0, 0
	for _, g := range out.SecurityGroups {
		egress, ingress, revoke = egress+len(g.Egress), ingress+len(g.Ingress), revoke+len(g.Revoke)
	}
	if counts["resource aws_vpc_security_group_egress_rule"] != egress+revoke || counts["resource aws_vpc_security_group_ingress_rule"] != ingress ||
		counts["data aws_ec2_managed_prefix_list"] != 1 || counts["variable "+RevokeVariable] != 1 || counts["resource aws_ec2_managed_prefix_list"] != len(out.PrefixLists) ||
		counts["resource aws_security_group"] != 1 || counts["output "+jobGroupID+"_id"] != 1 {
		t.Errorf("blocks %v for %d egress, %d ingress rules and %d revocations", counts, egress, ingress, revoke)
	}
	// The job's group is a resource in the nodes' VPC, and its rules
	// reference it (the ID AWS gives it), not its name.
	for _, b := range f.Body.(*hclsyntax.Body).Blocks {
		if b.Type == "resource" && b.Labels[0] == "aws_security_group" {
			if v, _ := b.Body.Attributes["vpc_id"].Expr.Value(nil); b.Labels[1] != jobGroupID || v.AsString() != "vpc-0abc1234def567890" {
				t.Errorf("group %s in %v", b.Labels[1], v)
			}
		}
		if b.Type == "resource" && b.Labels[0] != "aws_security_group" && strings.Contains(b.Labels[1], jobGroupID) {
			for _, a := range []string{"security_group_id", "referenced_security_group_id"} {
				vars := b.Body.Attributes[a].Expr.Variables()
				if len(vars) != 1 || vars[0].RootName() != "aws_security_group" {
					t.Errorf("%s %s: %s is not a reference to the group's resource", b.Labels[0], b.Labels[1], a)
				}
			}
		}
	}
	// terraform fmt clean: formatting changes nothing.
	if formatted := hclwrite.Format(src); string(formatted) != string(src) {
		t.Errorf("not terraform fmt clean")
	}
	// The warning against mixing inline rules comes first, in the file.
	if !strings.HasPrefix(string(src), "# Generated by ringfence") || !strings.Contains(string(src[:800]), "perpetual diff") {
		t.Errorf("no perpetual-diff warning at the top:\n%.800s", src)
	}
	// The revocations are resources: each open rule, to import (the line
	// is beside it), counted out by the variable.
	revokes := 0
	for _, b := range f.Body.(*hclsyntax.Body).Blocks {
		if b.Type != "resource" || !strings.Contains(b.Labels[1], "_open_egress_") {
			continue
		}
		revokes++
		count, ok := b.Body.Attributes["count"]
		if !ok {
			t.Errorf("%s has no count", b.Labels[1])
			continue
		}
		for revoke, want := range map[bool]int64{true: 0, false: 1} {
			ctx := &hcl.EvalContext{Variables: map[string]cty.Value{"var": cty.ObjectVal(map[string]cty.Value{RevokeVariable: cty.BoolVal(revoke)})}}
			v, diags := count.Expr.Value(ctx)
			if n, _ := v.AsBigFloat().Int64(); diags.HasErrors() || n != want {
				t.Errorf("%s: count with %s=%v is %v, want %d", b.Labels[1], RevokeVariable, revoke, v, want)
			}
		}
		if !strings.Contains(string(src), "terraform import 'aws_vpc_security_group_egress_rule."+b.Labels[1]+"[0]'") {
			t.Errorf("no terraform import line for %s", b.Labels[1])
		}
	}
	if revokes != 2 {
		t.Errorf("%d revocations, want 0.0.0.0/0 and ::/0", revokes)
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
	// The node group's calls, then the job group's: created first, its
	// default open egress revoked.
	if len(c.AuthorizeEgress) != 2 || len(c.AuthorizeIngress) != 2 || len(c.RevokeEgress) != 2 || len(c.CreateSecurityGroups) != 1 {
		t.Fatalf("%+v", c)
	}
	if cg := c.CreateSecurityGroups[0]; cg.GroupName != jobGroupID || cg.VpcID != "vpc-0abc1234def567890" {
		t.Errorf("create %+v", cg)
	}
	if r := c.RevokeEgress[1]; r.GroupID != jobGroupID || r.IPPermissions[0].IPProtocol != "-1" || r.IPPermissions[0].IPRanges[0].CidrIP != "0.0.0.0/0" {
		t.Errorf("the new group's default egress is not revoked: %+v", r)
	}
	first := c.AuthorizeEgress[0].IPPermissions[0]
	v4 := 0
	for _, p := range ranges.Aggregate(doc.Select(ranges.Filter{Services: []string{"S3"}, Regions: []string{"us-east-1"}})) {
		if p.Addr().Is4() {
			v4++
		}
	}
	v4s3 := v4
	if first.IPProtocol != "tcp" || *first.FromPort != 443 || len(first.IPRanges) != v4 {
		t.Errorf("S3 permission %+v, want %d IPv4 ranges on TCP 443", first, v4)
	}
	if len(notes) != 4 || !strings.Contains(notes[0], "replace it with the ID") || !strings.Contains(notes[1], "create-security-group returns") ||
		!strings.Contains(notes[2], "com.amazonaws.us-east-1.s3") || !strings.Contains(notes[3], "launch template") {
		t.Errorf("notes %v", notes)
	}
	// The quota: no authorize call carries more than 60 ranges of a
	// family; the prefix lists are created 100 entries a call, each rule
	// through one references it, and every entry is in some call.
	for _, in := range c.AuthorizeEgress {
		v4, v6 := 0, 0
		for _, p := range in.IPPermissions {
			v4 += len(p.IPRanges)
			v6 += len(p.IPv6Ranges)
		}
		if v4 > RulesPerGroup+v4s3 || v6 > RulesPerGroup {
			t.Errorf("%s: %d IPv4 and %d IPv6 ranges in one call", in.GroupID, v4, v6)
		}
	}
	if len(c.CreatePrefixLists) != len(out.PrefixLists) || len(out.PrefixLists) != 2 {
		t.Fatalf("create %d lists, plan %d", len(c.CreatePrefixLists), len(out.PrefixLists))
	}
	for i, pl := range out.PrefixLists {
		got := len(c.CreatePrefixLists[i].Entries)
		if got > EntriesPerCall || c.CreatePrefixLists[i].MaxEntries != len(pl.Entries) {
			t.Errorf("create %s: %d entries", pl.Name, got)
		}
		version := int64(1)
		for _, m := range c.ModifyPrefixLists {
			if m.PrefixListID == pl.Name {
				if m.CurrentVersion != version || len(m.AddEntries) > EntriesPerCall {
					t.Errorf("modify %s: version %d (want %d), %d entries", pl.Name, m.CurrentVersion, version, len(m.AddEntries))
				}
				version++
				got += len(m.AddEntries)
			}
		}
		if got != len(pl.Entries) {
			t.Errorf("%s: %d entries in calls, %d planned", pl.Name, got, len(pl.Entries))
		}
		referenced := false
		for _, p := range c.AuthorizeEgress[0].IPPermissions {
			referenced = referenced || (len(p.PrefixListIDs) == 1 && p.PrefixListIDs[0].PrefixListID == pl.Name)
		}
		if !referenced {
			t.Errorf("no rule references %s", pl.Name)
		}
	}
	if len(c.ModifyMetadata) != len(out.Metadata) || len(c.ModifyMetadata) == 0 || c.ModifyMetadata[0].HTTPTokens != "required" || c.ModifyMetadata[0].HTTPPutResponseHopLimit != 1 {
		t.Errorf("metadata inputs %+v", c.ModifyMetadata)
	}
	// Job peers: never all protocols, nothing on the shared node group;
	// every TCP port within the job's own group, both ways.
	for _, p := range c.AuthorizeEgress[0].IPPermissions {
		if p.IPProtocol == "-1" || (len(p.UserIDGroupPairs) == 1 && strings.Contains(p.UserIDGroupPairs[0].Description, "job peers")) {
			t.Errorf("job peers on the node group: %+v", p)
		}
	}
	for _, in := range []CLIInput{c.AuthorizeEgress[1], c.AuthorizeIngress[1]} {
		p := in.IPPermissions
		if in.GroupID != jobGroupID || len(p) != 1 || p[0].IPProtocol != "tcp" || *p[0].FromPort != 0 || *p[0].ToPort != 65535 || p[0].UserIDGroupPairs[0].GroupID != jobGroupID {
			t.Errorf("job group permission %+v", in)
		}
	}
}

// A job with a group of its own (a SecurityGroupPolicy's, carried by no
// other pod) gets all traffic to that group, as collectives and EFA need;
// the shared node group never does.
func TestSecurityGroupsJobGroup(t *testing.T) {
	w, doc := loadExample(t, filepath.Join("..", "..", "examples", "fences", "ml-platform.yaml"))
	world := *w
	const jobGroup = "sg-0a1b2c3d4e5f6000a"
	world.SecurityGroupPolicies = []*model.SecurityGroupPolicy{{
		Meta:        model.Meta{Kind: "SecurityGroupPolicy", Namespace: "ml-workloads", Name: "text-embed-finetune"},
		PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"training.kubeflow.org/job-name": "text-embed-finetune"}},
		GroupIDs:    []string{jobGroup},
	}}
	world.SecurityGroups = append(append([]*model.SecurityGroup(nil), w.SecurityGroups...), &model.SecurityGroup{ID: jobGroup, Name: "text-embed-finetune",
		Egress: []model.SGRule{{Protocol: "-1", CIDRs: []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0")}}}})
	out, err := Generate(&world, doc, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var job *GroupPlan
	for i, g := range out.SecurityGroups {
		if g.GroupID == jobGroup {
			job = &out.SecurityGroups[i]
		}
		for _, r := range g.Egress {
			if r.Protocol == "-1" && r.Group == nodeGroup {
				t.Errorf("%s: all protocols to the node group", g.GroupID)
			}
		}
	}
	if job == nil {
		t.Fatalf("no plan for the job's group: %+v", out.SecurityGroups)
	}
	all := false
	for _, r := range job.Egress {
		all = all || (r.Protocol == "-1" && r.Group == jobGroup)
	}
	if !all {
		t.Errorf("the job's own group lacks all traffic to itself:\n%s", rulesText(job.Egress))
	}
}
