package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// The example's training job (a PyTorchJob of two pods) has no security
// group of its own, only the shared node group: generate plans a group for
// it, with every TCP port to and from itself (NCCL's and Gloo's ports are
// ephemeral), the SecurityGroupPolicy that attaches it to the job's pods
// beside the node group, and no job-peer rule on the node group. The
// flows between the job's pods on an ephemeral port stay allowed through
// both layers (TestGenerateKeepsNeeds replays one).
func TestGenerateJobSecurityGroup(t *testing.T) {
	args := []string{"generate", "-f", "examples/ml-platform", "-f", "examples/fences"}
	stdout, stderr, code := run(t, "", append(args, "-o", "json")...)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var g struct {
		JobSecurityGroups []struct {
			ID, VpcID, Job      string
			SecurityGroupPolicy struct {
				Namespace   string
				PodSelector map[string]string
				GroupIDs    []string
			}
		}
		SecurityGroups []struct {
			GroupID         string
			Egress, Ingress []struct {
				Description, Protocol, Group string
				FromPort, ToPort             int32
			}
		}
		Needs []struct{ Of, Kind, What, Status string }
	}
	if err := json.Unmarshal([]byte(stdout), &g); err != nil {
		t.Fatal(err)
	}
	const id = "ringfence-ml-workloads-text-embed-finetune"
	if len(g.JobSecurityGroups) != 1 {
		t.Fatalf("job groups %+v", g.JobSecurityGroups)
	}
	j := g.JobSecurityGroups[0]
	if j.ID != id || j.VpcID != "vpc-0abc1234def567890" || j.Job != "ml-workloads/PyTorchJob/text-embed-finetune" ||
		j.SecurityGroupPolicy.PodSelector["training.kubeflow.org/job-name"] != "text-embed-finetune" || len(j.SecurityGroupPolicy.PodSelector) != 1 ||
		strings.Join(j.SecurityGroupPolicy.GroupIDs, " ") != id+" sg-0a1b2c3d4e5f60001" {
		t.Errorf("job group %+v", j)
	}
	found := false
	for _, sg := range g.SecurityGroups {
		for _, r := range sg.Egress {
			if r.Protocol == "-1" && r.Group != "" {
				t.Errorf("%s: all protocols to %s", sg.GroupID, r.Group)
			}
			if sg.GroupID != id && strings.Contains(r.Description, "job peers") {
				t.Errorf("%s: job peers' rule on a shared group: %+v", sg.GroupID, r)
			}
		}
		if sg.GroupID == id {
			found = len(sg.Egress) == 1 && len(sg.Ingress) == 1
			for _, r := range append(sg.Egress, sg.Ingress...) {
				if r.Protocol != "tcp" || r.FromPort != 0 || r.ToPort != 65535 || r.Group != id {
					t.Errorf("job group rule %+v, want every TCP port to and from itself", r)
				}
			}
		}
	}
	if !found {
		t.Errorf("no plan for %s: %+v", id, g.SecurityGroups)
	}
	peers := false
	for _, n := range g.Needs {
		peers = peers || (n.Kind == "peers" && n.Status == "kept" && strings.Contains(n.What, "a security group of its own: "+id))
	}
	if !peers {
		t.Errorf("needs %+v", g.Needs)
	}

	// YAML: the SecurityGroupPolicy, and what it needs said.
	stdout, _, code = run(t, "", args...)
	for _, want := range []string{"apiVersion: vpcresources.k8s.aws/v1beta1\nkind: SecurityGroupPolicy", "training.kubeflow.org/job-name: text-embed-finetune",
		"ENABLE_POD_ENI=true", "    - " + id + "\n    - sg-0a1b2c3d4e5f60001\n"} {
		if code != ExitOK || !strings.Contains(stdout, want) {
			t.Errorf("yaml lacks %q (exit %d)", want, code)
		}
	}

	// Terraform: the group is a resource and its rules reference it.
	stdout, _, _ = run(t, "", append(args, "-o", "terraform")...)
	f, diags := hclsyntax.ParseConfig([]byte(stdout), "ringfence.tf", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatalf("invalid HCL: %v", diags)
	}
	refs := 0
	for _, b := range f.Body.(*hclsyntax.Body).Blocks {
		if b.Type != "resource" || !strings.HasPrefix(b.Labels[0], "aws_vpc_security_group_") {
			continue
		}
		if a := b.Body.Attributes["security_group_id"]; a != nil {
			for _, v := range a.Expr.Variables() {
				if v.RootName() == "aws_security_group" {
					refs++
				}
			}
		}
	}
	if refs != 2 || !strings.Contains(stdout, `resource "aws_security_group" "`+id+`"`) {
		t.Errorf("terraform: %d rules on the job group's resource", refs)
	}
}
