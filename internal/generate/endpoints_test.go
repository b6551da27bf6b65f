package generate

import (
	"path/filepath"
	"strings"
	"testing"
)

// With interface VPC endpoints for STS and ECR (private DNS) in the inputs,
// the model server's STS need and the nodes' image pulls go through them:
// egress to their subnets, their group admitting the node group on 443,
// and no public AMAZON ranges. Verification judges the endpoint group's
// ingress: without the planned rule the needs are cut.
func TestNeedsThroughEndpoints(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "needs", "endpoints")
	w, doc := loadExample(t, filepath.Join("..", "..", "examples", "fences", "ml-platform.yaml"), dir)
	out, err := Generate(w, doc, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if problems, err := Verify(w, out, doc, Options{}); err != nil || len(problems) > 0 || len(out.Cut()) > 0 {
		t.Fatalf("verification: %v %v, cut %v", err, problems, out.Cut())
	}
	var endpoint *GroupPlan
	for i, g := range out.SecurityGroups {
		if g.GroupID == "sg-0a1b2c3d4e5f6000e" {
			endpoint = &out.SecurityGroups[i]
		}
	}
	if endpoint == nil || len(endpoint.Ingress) != 1 || endpoint.Ingress[0].Group != nodeGroup || endpoint.Ingress[0].FromPort != 443 || len(endpoint.Revoke) != 0 {
		t.Fatalf("endpoint group plan %+v", endpoint)
	}
	if len(out.PrefixLists) != 0 {
		t.Errorf("the AMAZON ranges are still planned: %v", out.PrefixLists)
	}
	broken := *out
	broken.SecurityGroups = nil
	for _, g := range out.SecurityGroups {
		if g.GroupID != endpoint.GroupID {
			broken.SecurityGroups = append(broken.SecurityGroups, g)
		}
	}
	if _, err := Verify(w, &broken, doc, Options{}); err != nil {
		t.Fatal(err)
	}
	var cut []string
	for _, n := range broken.Cut() {
		cut = append(cut, n.Of+" "+n.Kind)
	}
	if got := strings.Join(cut, "; "); !strings.Contains(got, "ml-workloads/Deployment/model-server credentials") || !strings.Contains(got, "nodes of "+nodeGroup+" registry") {
		t.Errorf("without the endpoint group's ingress, cut: %s", got)
	}
}
