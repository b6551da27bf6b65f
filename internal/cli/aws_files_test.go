package cli

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// The VPC layer's describe-* outputs load from a directory beside
// manifests and are listed by inventory, each with its file:line; explain
// and audit say once that load balancers are not evaluated yet.
func TestVPCLayerFromFiles(t *testing.T) {
	stdout, stderr, code := run(t, "", "inventory", "-f", "internal/load/aws/testdata/vpc", "-f", "internal/cli/testdata/aws", "-o", "json")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var inv struct {
		AWSNetwork []struct{ Kind, ID, Source string } `json:"awsNetwork"`
	}
	if err := json.Unmarshal([]byte(stdout), &inv); err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, o := range inv.AWSNetwork {
		kinds[o.Kind]++
		if !strings.HasPrefix(o.Source, "internal/load/aws/testdata/vpc/") || !strings.Contains(o.Source, ".json:") {
			t.Errorf("%s %s: source %q is not file:line", o.Kind, o.ID, o.Source)
		}
	}
	want := map[string]int{"VPC": 1, "Subnet": 2, "NetworkACL": 1, "RouteTable": 2, "VPCEndpoint": 2, "NATGateway": 1, "InternetGateway": 2, "LoadBalancer": 2, "TargetGroup": 1}
	for k, n := range want {
		if kinds[k] != n {
			t.Errorf("%s: %d listed, want %d (%v)", k, kinds[k], n, kinds)
		}
	}
	stdout, _, _ = run(t, "", "inventory", "-f", "internal/load/aws/testdata/vpc/route-tables.json", "-f", "internal/cli/testdata/aws")
	if !strings.Contains(stdout, "AWS NETWORK (2)") || !strings.Contains(stdout, "0.0.0.0/0->nat-0b2c3d4e") {
		t.Errorf("inventory text:\n%s", stdout)
	}
	for _, args := range [][]string{
		{"audit", "-f", "internal/load/aws/testdata/vpc", "-f", "internal/cli/testdata/aws"},
		{"explain", "-f", "internal/load/aws/testdata/vpc", "-f", "internal/cli/testdata/aws", "--from", "shop/api", "--to", "internet", "--port", "443"},
	} {
		_, stderr, code := run(t, "", args...)
		// Load balancers take part in exposures now (TestELBExposure):
		// no note says they are only listed.
		if code == ExitInput || code == ExitInternal || strings.Contains(stderr, "still infer") {
			t.Errorf("%s: exit %d: %q", args[0], code, stderr)
		}
	}
}

// A recognised AWS output ringfence does not model is a warning, not an
// abort; a bad value in a modelled one is exit 2 with file:line.
func TestAWSFileWarningsAndErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		t.Helper()
		p := dir + "/" + name
		if err := writeRaw(p, content); err != nil {
			t.Fatal(err)
		}
		return p
	}
	eni := write("enis.json", `{"NetworkInterfaces": [{"NetworkInterfaceId": "eni-1"}]}`)
	stdout, stderr, code := run(t, "", "inventory", "-f", eni, "-f", "internal/cli/testdata/aws")
	if code != ExitOK || !strings.Contains(stdout+stderr, "aws ec2 describe-network-interfaces: ringfence does not model this AWS output") {
		t.Errorf("unmodelled output: exit %d\n%s\n%s", code, stdout, stderr)
	}
	bad := write("acls.json", "{\"NetworkAcls\": [{\"NetworkAclId\": \"acl-1\",\n \"Entries\": [{\"RuleNumber\": 100, \"Protocol\": \"-1\", \"RuleAction\": \"allow\", \"CidrBlock\": \"10.0.0.0/99\"}]}]}")
	_, stderr, code = run(t, "", "inventory", "-f", bad)
	if want := "ringfence: " + bad + ":2: NetworkACL/acl-1: \"10.0.0.0/99\" is not a CIDR"; code != ExitInput || !strings.HasPrefix(stderr, want) {
		t.Errorf("bad CIDR: exit %d %q, want %q", code, stderr, want)
	}
}

// --node-sg names a group that exists only in a Terraform plan by its
// address, in a module too.
func TestNodeSGTerraformAddress(t *testing.T) {
	stdout, stderr, code := run(t, "", "inventory", "-f", "examples/ml-platform", "-f", "internal/cli/testdata/aws-tf/nodes-plan.json", "-o", "json",
		"--node-sg", "eks.amazonaws.com/nodegroup=gpu=module.eks.aws_security_group.gpu_nodes")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var inv struct {
		SecurityGroups []struct{ ID string }
		Workloads      []struct {
			Name string
			Pods []struct {
				Placement struct{ SecurityGroups []string } `json:"placement"`
			}
		}
	}
	if err := json.Unmarshal([]byte(stdout), &inv); err != nil {
		t.Fatal(err)
	}
	var found, placed bool
	for _, g := range inv.SecurityGroups {
		found = found || g.ID == "module.eks.aws_security_group.gpu_nodes"
	}
	for _, w := range inv.Workloads {
		if w.Name == "text-embed-finetune" {
			placed = strings.Join(w.Pods[0].Placement.SecurityGroups, ",") == "module.eks.aws_security_group.gpu_nodes"
		}
	}
	if !found || !placed {
		t.Errorf("plan group read: %v; placed on the GPU pool's pods: %v", found, placed)
	}
	for _, v := range []string{"a=b=aws_security_group.x[0],sg-1", "pool=gpu=module.m[\"k\"].aws_security_group.n"} {
		if sel, groups, ok := splitNodeSG(v); !ok || sel == "" || len(groups) == 0 {
			t.Errorf("%q: %q %v %v", v, sel, groups, ok)
		}
	}
	for _, v := range []string{"pool=gpu", "pool=aws_instance.x", "pool=sg-1,nodes"} {
		if _, stderr, code := run(t, "", "inventory", "-f", "internal/cli/testdata/aws", "--node-sg", v); code != ExitInput || !strings.Contains(stderr, "--node-sg") {
			t.Errorf("--node-sg %q: exit %d %q", v, code, stderr)
		}
	}
}

// writeRaw writes a file, returning the error for the caller to judge.
func writeRaw(path, content string) error { return os.WriteFile(path, []byte(content), 0o644) }
