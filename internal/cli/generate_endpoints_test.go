package cli

import (
	"strings"
	"testing"
)

// With an STS interface VPC endpoint (private DNS) in the inputs, the
// model server's IRSA calls go through it: the NetworkPolicy allows its
// subnets on 443 instead of the region's AMAZON ranges, the endpoint's
// group admits the pods' group, and the need says which was chosen; ECR
// goes through its endpoints and S3 names its gateway endpoint. Without
// the endpoints, the public ranges are chosen and said so.
func TestGenerateNeedsThroughEndpoints(t *testing.T) {
	args := []string{"-f", "examples/ml-platform", "-f", "examples/fences", "-f", "testdata/needs/endpoints"}
	needs := generatedNeeds(t, args...)
	sts := findNeed(needs, "ml-workloads/Deployment/model-server", "credentials")
	if sts == nil || sts.Status != "kept" || !strings.Contains(sts.What, "through the interface VPC endpoint vpce-0sts0000000000001") ||
		!strings.Contains(sts.What, "10.0.8.0/24, 10.0.9.0/24") || !strings.Contains(sts.Why, "chosen: the interface VPC endpoint, not the region's public ranges") {
		t.Errorf("STS need %+v", sts)
	}
	var registry []string
	for _, n := range needs {
		if n.Kind == "registry" && n.Status == "kept" {
			registry = append(registry, n.What)
		}
	}
	all := strings.Join(registry, "\n")
	if !strings.Contains(all, "vpce-0ecrapi00000000002") || !strings.Contains(all, "vpce-0ecrdkr00000000003") || !strings.Contains(all, "gateway VPC endpoint vpce-0s3gw0000000000004") {
		t.Errorf("registry needs:\n%s", all)
	}
	stdout, stderr, code := run(t, "", append([]string{"generate"}, args...)...)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	// The inference policy: the endpoint's subnets on 443; no AMAZON range
	// (3.80.0.0/12 is one of us-east-1's) anywhere.
	if !strings.Contains(stdout, "cidr: 10.0.8.0/24") || strings.Contains(stdout, "3.80.0.0/12") {
		t.Errorf("policies do not go through the endpoint")
	}
	stdout, _, _ = run(t, "", append([]string{"generate", "-o", "awscli"}, args...)...)
	if !strings.Contains(stdout, `"GroupId": "sg-0a1b2c3d4e5f6000e"`) {
		t.Errorf("no rule on the endpoint's group:\n%.2000s", stdout)
	}
	// (generate exits 0 above only when verification proved, through
	// the engine, the flow to an endpoint address that carries its group.)
	plain := findNeed(generatedNeeds(t, "-f", "examples/ml-platform", "-f", "examples/fences"), "ml-workloads/Deployment/model-server", "credentials")
	if plain == nil || !strings.Contains(plain.Why, "chosen: the region's public ranges (no interface VPC endpoint for STS") {
		t.Errorf("without endpoints: %+v", plain)
	}
}
