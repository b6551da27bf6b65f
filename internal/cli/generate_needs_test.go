package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// needsInputs are the example platform, its pods as a live cluster shows
// them, and a Prometheus that scrapes the model server (testdata/needs).
var needsInputs = []string{"-f", "examples/ml-platform", "-f", "examples/flows/ml-platform/pods.yaml", "-f", "testdata/needs/monitoring.yaml"}

// needsFlows is a VPC flow log of what the workloads and nodes need beyond
// the Fences' intents: the model server's IRSA calls to STS, DNS (UDP and
// TCP), Prometheus scraping the model server, the training job's
// rendezvous, the ingress controller's requests, and a GPU node pulling
// images from ECR (api and dkr) and their layers from S3. (Traffic to the
// VPC resolver, IMDS and the Pod Identity agent never appears in VPC flow
// logs; verification proves those.)
const needsFlows = "testdata/needs/vpc-flow-log.txt"

type generatedJSON struct {
	Needs []struct{ Of, Kind, What, Status, Note string }
}

// TestGenerateKeepsNeeds is the acceptance: with the example
// Fences, whatever generate writes keeps every need of every workload and
// of the nodes, proven by whatif on a flow log of those needs (nothing
// breaks), and generate says what it kept.
func TestGenerateKeepsNeeds(t *testing.T) {
	args := append([]string{"whatif", "--apply-fences", "-f", "examples/fences", "-o", "json", "--flows", needsFlows}, needsInputs...)
	stdout, stderr, code := run(t, "", args...)
	if code != ExitOK {
		t.Fatalf("whatif exit %d: %s\n%s", code, stderr, stdout)
	}
	wantBroken(t, stdout)
	var r whatifJSON
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatal(err)
	}
	if judged := r.Counts["allowed"].Flows + r.Counts["opened"].Flows; judged != 12 || r.Counts["not judged"].Flows != 0 {
		t.Errorf("counts %+v: want all 12 flows judged and allowed", r.Counts)
	}

	stdout, stderr, code = run(t, "", append([]string{"generate", "-f", "examples/fences", "-o", "json"}, needsInputs...)...)
	if code != ExitOK {
		t.Fatalf("generate exit %d: %s", code, stderr)
	}
	var g generatedJSON
	if err := json.Unmarshal([]byte(stdout), &g); err != nil {
		t.Fatal(err)
	}
	kept := map[string]bool{}
	for _, n := range g.Needs {
		if n.Status == "cut" {
			t.Errorf("cut: %+v", n)
		}
		if n.Status == "kept" {
			kept[n.Of+" "+n.Kind] = true
		}
	}
	for _, want := range []string{
		"ml-workloads/Deployment/model-server credentials", "ml-workloads/Deployment/model-server dns",
		"ml-workloads/Deployment/model-server scrapes", "ml-workloads/Deployment/model-server clients",
		"ml-workloads/PyTorchJob/text-embed-finetune dns", "ml-workloads/PyTorchJob/text-embed-finetune peers",
		"nodes of sg-0a1b2c3d4e5f60001 control-plane", "nodes of sg-0a1b2c3d4e5f60001 registry", "nodes of sg-0a1b2c3d4e5f60001 node-dns",
	} {
		if !kept[want] {
			t.Errorf("need %q not kept: %+v", want, g.Needs)
		}
	}
}

// A Fence that forgoes a need (the annotation) gets it printed as a
// conscious choice, and the flow log shows what that costs: the model
// server's STS calls break.
func TestGenerateForgoneNeed(t *testing.T) {
	dir := t.TempDir()
	b, err := os.ReadFile("examples/fences/ml-platform.yaml")
	if err != nil {
		t.Fatal(err)
	}
	forgo := strings.Replace(string(b), "metadata: {name: inference, namespace: ml-workloads}",
		`metadata: {name: inference, namespace: ml-workloads, annotations: {ringfence.dev/forgo-needs: "credentials"}}`, 1)
	if forgo == string(b) {
		t.Fatal("the inference Fence moved")
	}
	os.WriteFile(filepath.Join(dir, "ml-platform.yaml"), []byte(forgo), 0o644)
	stdout, stderr, code := run(t, "", append([]string{"whatif", "--apply-fences", "-f", dir, "-o", "json", "--flows", needsFlows}, needsInputs...)...)
	if code != ExitFindings {
		t.Fatalf("whatif exit %d, want 1: %s", code, stderr)
	}
	wantBroken(t, stdout, "ml-workloads/model-server aws:AMAZON:us-east-1  TCP 443 209.54.176.0/21 NetworkPolicy egress")
	stdout, stderr, code = run(t, "", append([]string{"generate", "-f", dir}, needsInputs...)...)
	if code != ExitOK || !strings.Contains(stdout, "# Need (forgone): ml-workloads/Deployment/model-server needs TCP 443 to aws:STS:us-east-1") ||
		!strings.Contains(stderr, "a conscious choice: Fence ml-workloads/inference forgoes credentials (ringfence.dev/forgo-needs)") {
		t.Errorf("exit %d, stderr %s", code, stderr)
	}
}

// Output that would cut a need is refused with the reason (exit 4), and
// written with --allow-breaking: here the inputs lack the EKS cluster
// security group, so no rule can keep the kubelet's way to the API server
// once the node group's open egress is revoked.
func TestGenerateRefusesCuttingNeeds(t *testing.T) {
	dir := t.TempDir()
	copyTree(t, "examples/ml-platform", dir, "")
	path := filepath.Join(dir, "aws", "security-groups.json")
	var doc map[string][]map[string]any
	b, _ := os.ReadFile(path)
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	var groups []map[string]any
	for _, g := range doc["SecurityGroups"] {
		if g["GroupId"] != "sg-0a1b2c3d4e5f60002" {
			groups = append(groups, g)
		}
	}
	doc["SecurityGroups"] = groups
	b, _ = json.Marshal(doc)
	os.WriteFile(path, b, 0o644)

	args := []string{"generate", "-f", dir, "-f", "examples/fences/ml-platform.yaml"}
	stdout, stderr, code := run(t, "", args...)
	if code != ExitBreaking || stdout != "" || !strings.Contains(stderr, "refusing to write output that cuts what workloads need") ||
		!strings.Contains(stderr, "nodes of sg-0a1b2c3d4e5f60001 needs TCP 443 to the EKS API server") || !strings.Contains(stderr, "cluster security group (tag aws:eks:cluster-name) is not in the inputs") {
		t.Errorf("exit %d, stdout %d bytes, stderr:\n%s", code, len(stdout), stderr)
	}
	stdout, stderr, code = run(t, "", append(args, "--allow-breaking")...)
	if code != ExitOK || !strings.Contains(stdout, "# Need (cut): nodes of sg-0a1b2c3d4e5f60001 needs TCP 443 to the EKS API server") ||
		!strings.Contains(stdout, "kind: NetworkPolicy") || !strings.Contains(stderr, "the output cuts what workloads need (--allow-breaking)") {
		t.Errorf("--allow-breaking: exit %d, stderr:\n%s", code, stderr)
	}
}

// aws:STS:<region> is a named destination: the region's AMAZON ranges
// stand for it, and the fenced model server reaches all of it on 443 in
// both layers.
func TestExplainSTS(t *testing.T) {
	stdout, stderr, code := run(t, "", "explain", "-f", "examples/ml-platform", "-f", "examples/fences", "--apply-fences",
		"--from", "ml-workloads/model-server", "--to", "aws:STS:us-east-1", "--port", "443", "-o", "json")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var e struct {
		Verdict, Description string
		SecurityGroups       *struct{ Blocked []string }
	}
	if err := json.Unmarshal([]byte(stdout), &e); err != nil {
		t.Fatal(err)
	}
	if e.Verdict != "allowed" || !strings.Contains(e.Description, "sts.us-east-1.amazonaws.com") || !strings.Contains(e.Description, "AMAZON prefixes of us-east-1") ||
		e.SecurityGroups == nil || len(e.SecurityGroups.Blocked) != 0 {
		t.Errorf("%s", stdout)
	}
	// The training job has static keys, not IRSA: no STS for it.
	stdout, _, _ = run(t, "", "explain", "-f", "examples/ml-platform", "-f", "examples/fences", "--apply-fences",
		"--from", "ml-workloads/text-embed-finetune", "--to", "aws:STS:us-east-1", "--port", "443", "-o", "json")
	if !strings.Contains(stdout, `"verdict": "partly allowed"`) && !strings.Contains(stdout, `"verdict": "denied"`) {
		t.Errorf("training reaches STS: %.400s", stdout)
	}
	if _, stderr, code := run(t, "", "explain", "-f", "examples/ml-platform", "--from", "ml-workloads/model-server", "--to", "aws:STS"); code != ExitInput || !strings.Contains(stderr, "needs a region") {
		t.Errorf("aws:STS without a region: exit %d %s", code, stderr)
	}
}

// A Fence's private source range on an internet-facing load balancer
// matches no client: generate does not write it as the load balancer's
// loadBalancerSourceRanges and says why, unless told to.
func TestGeneratePrivateSourceRanges(t *testing.T) {
	dir := t.TempDir()
	b, err := os.ReadFile("examples/fences/ml-platform.yaml")
	if err != nil {
		t.Fatal(err)
	}
	private := strings.Replace(string(b), "sourceRanges: [203.0.113.0/24]", "sourceRanges: [192.168.1.0/24]", 1)
	os.WriteFile(filepath.Join(dir, "ml-platform.yaml"), []byte(private), 0o644)
	args := []string{"generate", "-f", "examples/ml-platform", "-f", dir}
	stdout, stderr, code := run(t, "", args...)
	if code != ExitOK || strings.Contains(stdout, "loadBalancerSourceRanges") ||
		!strings.Contains(stderr, "not narrowing the load balancer of Service ingress-nginx/ingress-nginx-controller to the Fences' source ranges: it is internet-facing and 192.168.1.0/24 are private (RFC 1918)") {
		t.Errorf("exit %d, stderr %s", code, stderr)
	}
	stdout, _, code = run(t, "", append(args, "--allow-private-source-ranges")...)
	if code != ExitOK || !strings.Contains(stdout, `kubectl patch service -n ingress-nginx ingress-nginx-controller --type merge -p '{"spec":{"loadBalancerSourceRanges":["192.168.1.0/24"]}}'`) {
		t.Errorf("--allow-private-source-ranges: exit %d", code)
	}
	// The example's public range is written.
	stdout, _, _ = run(t, "", "generate", "-f", "examples/ml-platform", "-f", "examples/fences/ml-platform.yaml")
	if !strings.Contains(stdout, `"loadBalancerSourceRanges":["203.0.113.0/24"]`) {
		t.Errorf("the example's public range is not written")
	}
}

// Without the node instances the pods' range is the whole VPC, so the
// platform Fences' control-plane ipBlock (10.0.8.0/23) may hold pods of any
// namespace: verification cannot prove the fence and says why, naming the
// input that would decide it.
func TestGenerateVerifiesUnknownPodAddresses(t *testing.T) {
	dir := copyExample(t, "examples/ml-platform", filepath.Join("aws", "instances.json"))
	_, stderr, code := run(t, "", "generate", "-f", dir, "-f", "examples/fences", "-o", "json")
	if code == ExitOK || !strings.Contains(stderr, "kube-system/coredns may reach pods of any namespace") || !strings.Contains(stderr, "ipBlock 10.0.8.0/23 holds part of the pods' addresses") || !strings.Contains(stderr, "describe-instances") {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	if _, stderr, code := run(t, "", "generate", "-f", "examples/ml-platform", "-f", "examples/fences", "-o", "json"); code != ExitOK {
		t.Fatalf("with the instances their subnets bound the pods' addresses and the Fences verify: exit %d\n%s", code, stderr)
	}
}
