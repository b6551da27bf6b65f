package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

var flowExample = []string{"-f", "examples/ml-platform", "-f", "examples/flows/ml-platform/pods.yaml", "--flows", "examples/flows/ml-platform/vpc-flow-log.txt"}

type whatifJSON struct {
	Broken []struct {
		Source, Destination string
		Flows               []struct {
			Protocol  string
			Port      int
			Service   string
			Addresses []string
			Records   int
			Proposed  struct {
				Denials []struct{ Layer, Direction, Of string }
			}
		}
	}
	Counts map[string]struct{ Flows, Records int }
}

func brokenSet(t *testing.T, stdout string) []string {
	t.Helper()
	var r whatifJSON
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, g := range r.Broken {
		for _, f := range g.Flows {
			var by []string
			for _, d := range f.Proposed.Denials {
				by = append(by, d.Layer+" "+d.Direction)
			}
			out = append(out, strings.Join([]string{g.Source, g.Destination, f.Service, f.Protocol, itoa(f.Port), strings.Join(f.Addresses, ","), strings.Join(by, "+")}, " "))
		}
	}
	sort.Strings(out)
	return out
}

// wantBroken fails unless whatif's JSON output lists exactly these broken
// flows (as brokenSet writes them).
func wantBroken(t *testing.T, stdout string, want ...string) {
	t.Helper()
	got := brokenSet(t, stdout)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("broken flows:\n%s\nwant exactly:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestWhatifExample is the acceptance: on the example platform with
// a flow log of the training job's feature-API calls and its S3 traffic to
// several current S3 prefixes, whatif lists exactly the flows the example's
// policies cut, and learn's additions make it report nothing broken.
func TestWhatifExample(t *testing.T) {
	for _, format := range []string{"text", "json", "markdown"} {
		stdout, stderr, code := run(t, "", append([]string{"whatif", "-o", format}, flowExample...)...)
		if code != ExitFindings {
			t.Fatalf("%s: exit %d, want 1 (flows break): %s", format, code, stderr)
		}
		golden(t, "whatif/ml-platform."+format, stdout)
		if format != "json" {
			continue
		}
		deny := "NetworkPolicy egress"
		want := []string{
			"ml-workloads/text-embed-finetune aws:S3:us-east-1  TCP 443 16.15.192.0/18 " + deny,
			"ml-workloads/text-embed-finetune aws:S3:us-east-1  TCP 443 16.182.0.0/16 " + deny,
			"ml-workloads/text-embed-finetune aws:S3:us-east-1  TCP 443 3.5.0.0/19 " + deny,
			"ml-workloads/text-embed-finetune aws:S3:us-east-1  TCP 443 52.217.0.0/16 " + deny,
			"ml-workloads/text-embed-finetune aws:S3:us-east-1  TCP 443 54.231.0.0/16 " + deny,
			"ml-workloads/text-embed-finetune features/feature-api  TCP 8080  " + deny,
			"ml-workloads/text-embed-finetune internet  TCP 443 140.82.112.3 " + deny,
			"ml-workloads/text-embed-finetune kube-system/coredns  UDP 53  " + deny,
		}
		sort.Strings(want)
		if got := brokenSet(t, stdout); strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("broken flows:\n%s\nwant exactly:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		// S3 through the policy's 52.216.0.0/16, the job's own peers,
		// inference and the platform stay allowed.
		var r whatifJSON
		json.Unmarshal([]byte(stdout), &r)
		if c := r.Counts["allowed"]; c.Flows != 7 {
			t.Errorf("allowed flows = %d, want 7", c.Flows)
		}
	}

	stdout, stderr, code := run(t, "", append([]string{"learn"}, flowExample...)...)
	if code != ExitOK {
		t.Fatalf("learn: exit %d: %s", code, stderr)
	}
	golden(t, "whatif/learn.yaml", stdout)
	for _, never := range []string{"0.0.0.0/0", "::/0", "169.254.169.254"} {
		if strings.Contains(stdout, "cidr: "+never) {
			t.Errorf("learn proposes %s", never)
		}
	}
	learned := filepath.Join(t.TempDir(), "learned.yaml")
	if err := os.WriteFile(learned, []byte(stdout), 0o644); err != nil {
		t.Fatal(err)
	}
	after, stderr, code := run(t, "", append([]string{"whatif", "-f", learned}, flowExample...)...)
	if code != ExitOK || !strings.Contains(after, "Nothing would break") {
		t.Errorf("whatif with learn's additions: exit %d, %s\n%s", code, stderr, after)
	}
	for _, format := range []string{"text", "fences"} {
		stdout, stderr, code := run(t, "", append([]string{"learn", "-o", format}, flowExample...)...)
		if code != ExitOK {
			t.Fatalf("learn -o %s: exit %d: %s", format, code, stderr)
		}
		golden(t, "whatif/learn."+format, stdout)
	}
}

// TestWhatifProposed lays a proposal over the current inputs: a policy
// replaced by name (DNS added to training's egress: those flows open) and
// one deleted (the NLB's admission to model-server: its flows break).
func TestWhatifProposed(t *testing.T) {
	dir := t.TempDir()
	proposal := filepath.Join(dir, "proposal.yaml")
	os.WriteFile(proposal, []byte(`apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: restrict-ml-egress, namespace: ml-workloads}
spec:
  podSelector: {matchLabels: {app: ml-training}}
  policyTypes: [Egress]
  egress:
  - to: [{ipBlock: {cidr: 52.216.0.0/16}}]
    ports: [{protocol: TCP, port: 443}]
  - to: [{podSelector: {}}]
  - to: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}, podSelector: {matchLabels: {k8s-app: kube-dns}}}]
    ports: [{protocol: UDP, port: 53}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-nlb-health-checks, namespace: ml-workloads, annotations: {ringfence.dev/whatif: delete}}
spec: {podSelector: {}}
`), 0o644)
	stdout, stderr, code := run(t, "", append([]string{"whatif", "--proposed", proposal, "-o", "json"}, flowExample...)...)
	if code != ExitFindings {
		t.Fatalf("exit %d, want 1: %s", code, stderr)
	}
	wantBroken(t, stdout, "private ml-workloads/model-server  TCP 8080 10.0.2.77 NetworkPolicy ingress")
	var r whatifJSON
	json.Unmarshal([]byte(stdout), &r)
	if c := r.Counts["opened"]; c.Flows != 1 || c.Records != 4 {
		t.Errorf("opened = %+v, want training's DNS: 1 flow, 4 records", c)
	}
	if c := r.Counts["denied today"]; c.Flows != 8 {
		t.Errorf("denied today = %+v, want 8 flows (feature-api, five blocks of S3 outside 52.216.0.0/16, the internet, the SSH scan)", c)
	}
}

// TestWhatifInputs covers Hubble on stdin, a CSV addressed to a ClusterIP
// (judged after DNAT), and bad input.
func TestWhatifInputs(t *testing.T) {
	hubble := `{"flow":{"verdict":"FORWARDED","IP":{"source":"10.0.34.112","destination":"10.0.33.40","ipVersion":"IPv4"},"l4":{"TCP":{"source_port":50930,"destination_port":8080,"flags":{"SYN":true}}},"source":{"namespace":"ml-workloads","pod_name":"text-embed-finetune-worker-0"},"destination":{"namespace":"features","pod_name":"feature-api-7c9d5b6f48-t5n9c"},"traffic_direction":"EGRESS","is_reply":false}}
{"flow":{"verdict":"FORWARDED","IP":{"source":"10.0.33.40","destination":"10.0.34.112","ipVersion":"IPv4"},"l4":{"TCP":{"source_port":8080,"destination_port":50930}},"is_reply":true}}
`
	stdout, stderr, code := run(t, hubble, "whatif", "-f", "examples/ml-platform", "-f", "examples/flows/ml-platform/pods.yaml", "--flows", "-", "-o", "json")
	if code != ExitFindings || strings.Join(brokenSet(t, stdout), "") != "ml-workloads/text-embed-finetune features/feature-api  TCP 8080  NetworkPolicy egress" {
		t.Errorf("hubble: exit %d %s\n%s", code, stderr, stdout)
	}
	dir := t.TempDir()
	csv := filepath.Join(dir, "flows.csv")
	os.WriteFile(csv, []byte("src,dst,protocol,port,count\n10.0.18.45,172.20.0.10,UDP,53,40\n10.0.18.60,172.20.0.10,UDP,53,12\n"), 0o644)
	stdout, stderr, code = run(t, "", "whatif", "-f", "examples/ml-platform", "-f", "examples/flows/ml-platform/pods.yaml", "--flows", csv, "-o", "json")
	if code != ExitFindings || strings.Join(brokenSet(t, stdout), "") != "ml-workloads/text-embed-finetune kube-system/coredns kube-system/kube-dns:53 UDP 53  NetworkPolicy egress" {
		t.Errorf("csv: exit %d %s\n%s", code, stderr, stdout)
	}
	bad := filepath.Join(dir, "bad.log")
	os.WriteFile(bad, []byte("2 1 eni-1 10.0.18.45 52.216.1.1 40000 443 6 1 1 1 1 ACCEPT OK\n2 1 eni-1 10.0.18.45 52.216.1.1 40000 443 6 1 1 1 1 ACCEPTED OK\n"), 0o644)
	if _, stderr, code := run(t, "", "whatif", "-f", "examples/ml-platform", "--flows", bad); code != ExitInput || !strings.Contains(stderr, bad+`:2: action "ACCEPTED"`) {
		t.Errorf("bad record: exit %d %s", code, stderr)
	}
	if _, stderr, code := run(t, "", "whatif", "-f", "examples/ml-platform"); code != ExitInput || !strings.Contains(stderr, "--flows is required") {
		t.Errorf("no --flows: exit %d %s", code, stderr)
	}
	if _, stderr, code := run(t, "", "whatif", "-f", "examples/ml-platform", "--flows", filepath.Join(dir, "missing.log")); code != ExitInput || !strings.Contains(stderr, "missing.log: no such file") {
		t.Errorf("missing file: exit %d %s", code, stderr)
	}
}

// TestWhatifSecurityGroups proposes a node group whose open egress is
// replaced by HTTPS to S3 and the VPC: the flows it cuts are reported with
// the group that denies them, the NetworkPolicy layer being silent.
func TestWhatifSecurityGroups(t *testing.T) {
	var doc map[string][]map[string]any
	b, err := os.ReadFile("examples/ml-platform/aws/security-groups.json")
	if err != nil {
		t.Fatal(err)
	}
	json.Unmarshal(b, &doc)
	var groups []map[string]any
	for _, g := range doc["SecurityGroups"] {
		if g["GroupId"] == "sg-0a1b2c3d4e5f60001" {
			g["IpPermissionsEgress"] = []map[string]any{
				{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": []map[string]any{{"CidrIp": "52.216.0.0/15"}}},
				{"IpProtocol": "-1", "IpRanges": []map[string]any{{"CidrIp": "10.0.0.0/16"}}},
			}
			groups = append(groups, g)
		}
	}
	out, _ := json.Marshal(map[string]any{"SecurityGroups": groups})
	proposal := filepath.Join(t.TempDir(), "sg.json")
	os.WriteFile(proposal, out, 0o644)
	stdout, stderr, code := run(t, "", append([]string{"whatif", "--proposed", proposal, "-o", "json"}, flowExample...)...)
	if code != ExitFindings {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	got := brokenSet(t, stdout)
	want := []string{"features/feature-api aws:DYNAMODB:us-east-1  TCP 443 3.218.180.0/22 security groups egress"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("broken flows:\n%s\nwant exactly:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// Before applying the generated Fences, whatif shows what they would cut of
// the observed traffic: only the load balancer's direct path to inference,
// which the inference Fence closes on purpose (its Service goes ClusterIP).
// The feature API's DynamoDB reads, the training job's S3 prefixes, DNS and
// feature-API calls stay open.
func TestWhatifApplyFences(t *testing.T) {
	args := append([]string{"whatif", "--apply-fences", "-f", "examples/fences", "-o", "json"}, flowExample...)
	stdout, stderr, code := run(t, "", args...)
	if code != ExitFindings {
		t.Fatalf("exit %d, want 1: %s", code, stderr)
	}
	wantBroken(t, stdout, "private ml-workloads/model-server  TCP 8080 10.0.2.77 NetworkPolicy ingress")
	var r whatifJSON
	json.Unmarshal([]byte(stdout), &r)
	if c := r.Counts["opened"]; c.Flows != 7 {
		t.Errorf("opened = %+v, want 7 flows (S3 outside the stale /16, feature API, DNS)", c)
	}
	if _, stderr, code := run(t, "", append(args, "--proposed", "examples/fences")...); code != ExitInput || !strings.Contains(stderr, "give one proposal") {
		t.Errorf("--apply-fences with --proposed: exit %d %s", code, stderr)
	}
}

// A proposal with a policy kind ringfence does not evaluate in the
// training job's namespace: the flows its NetworkPolicies cut may be
// allowed by it, and the flows they allow may be cut: each is unknown,
// named with the policy, not reported broken or kept; whatif still fails.
func TestWhatifForeignPolicyIsUnknown(t *testing.T) {
	cnp := filepath.Join(t.TempDir(), "cnp.yaml")
	if err := os.WriteFile(cnp, []byte("apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: training-extra, namespace: ml-workloads}\nspec:\n  endpointSelector: {}\n  egress: [{toEntities: [world]}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := run(t, "", append([]string{"whatif", "-o", "json", "-f", cnp}, flowExample...)...)
	if code != ExitFindings {
		t.Fatalf("exit %d, want 1 (flows may break): %s", code, stderr)
	}
	for _, b := range brokenSet(t, stdout) {
		if strings.HasPrefix(b, "ml-workloads/") && strings.HasSuffix(b, "NetworkPolicy egress") {
			t.Errorf("reported broken although a CiliumNetworkPolicy selects its source: %s", b)
		}
	}
	var r struct {
		Unknown []struct {
			Source, Destination string
			Port                int
			Proposed            struct {
				Unknown bool
				Reasons []string
			}
		}
	}
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, f := range r.Unknown {
		if f.Source == "ml-workloads/text-embed-finetune" && f.Destination == "features/feature-api" && f.Port == 8080 {
			found = f.Proposed.Unknown && strings.Contains(strings.Join(f.Proposed.Reasons, " "), "CiliumNetworkPolicy ml-workloads/training-extra")
		}
	}
	if !found {
		t.Errorf("the training job's feature-API calls are not unknown with the CiliumNetworkPolicy named: %+v", r.Unknown)
	}
	text, _, _ := run(t, "", append([]string{"whatif", "-f", cnp}, flowExample...)...)
	if !strings.Contains(text, "may break: the proposal's verdict depends on policies") {
		t.Errorf("text output does not say which flows may break:\n%s", text)
	}
}
