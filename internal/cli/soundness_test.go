package cli

import (
	"encoding/json"
	"fmt"
	"github.com/ringfence/ringfence/internal/check"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The soundness cases of issue 13, each as a user meets it: where the
// inputs cannot decide, the verdict is unknown with the missing fact,
// never denied.

// copyExample copies an example without some of its files, as a user who
// did not export them would have it.
func copyExample(t *testing.T, example string, without ...string) string {
	t.Helper()
	dir := t.TempDir()
	err := filepath.WalkDir(example, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(example, path)
		for _, w := range without {
			if rel == w {
				return nil
			}
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		dst := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func explainJSON(t *testing.T, stdin string, args ...string) map[string]any {
	t.Helper()
	stdout, stderr, code := run(t, stdin, append([]string{"explain", "-o", "json"}, args...)...)
	if code != ExitOK {
		t.Fatalf("explain %v: exit %d: %s", args, code, stderr)
	}
	var out map[string]any
	if err := json.Unmarshal([]byte(stdout), &out); err != nil {
		t.Fatalf("explain %v: %v\n%s", args, err, stdout)
	}
	return out
}

// Case 1: on the VPC CNI pod addresses are VPC addresses. An ipBlock that
// covers the pod range admits the pods; one that covers part of it, or
// any pod-holding ipBlock when no range is known, gives unknown.
func TestUnknownPodAddresses(t *testing.T) {
	args := []string{"--from", "features/feature-api", "--to", "ml-workloads/model-server", "--port", "8080"}
	// The example gives the VPC (describe-vpcs, describe-subnets).
	e := explainJSON(t, "", append([]string{"-f", "examples/ml-platform"}, args...)...)
	if e["verdict"] != "allowed" {
		t.Errorf("with the VPC given: verdict %v, want allowed (allow-nlb-health-checks admits 10.0.0.0/16, the VPC)", e["verdict"])
	}
	bare := copyExample(t, "examples/ml-platform", "aws/vpcs.json", "aws/subnets.json")
	e = explainJSON(t, "", append([]string{"-f", bare}, args...)...)
	missing, _ := json.Marshal(e["missing"])
	if e["verdict"] != "unknown" || !strings.Contains(string(missing), "ipBlock 10.0.0.0/16") || !strings.Contains(string(missing), "--pod-cidr") {
		t.Errorf("without the VPC: verdict %v, missing %s; want unknown, naming the ipBlock and --pod-cidr", e["verdict"], missing)
	}
	if e := explainJSON(t, "", append([]string{"-f", bare, "--pod-cidr", "10.0.16.0/20,10.0.32.0/20"}, args...)...); e["verdict"] != "allowed" {
		t.Errorf("--pod-cidr inside the ipBlock: verdict %v, want allowed", e["verdict"])
	}
	if e := explainJSON(t, "", append([]string{"-f", bare, "--pod-cidr", "10.0.0.0/8"}, args...)...); e["verdict"] != "unknown" {
		t.Errorf("--pod-cidr wider than the ipBlock: verdict %v, want unknown", e["verdict"])
	}
	if e := explainJSON(t, "", append([]string{"-f", bare, "--pod-cidr", "100.64.0.0/16"}, args...)...); e["verdict"] != "denied" {
		t.Errorf("--pod-cidr outside the ipBlock: verdict %v, want denied", e["verdict"])
	}
	// reach -o json carries the unknown part beside allow.
	stdout, _, code := run(t, "", "reach", "-f", bare, "-o", "json")
	if code != ExitOK {
		t.Fatal(stdout)
	}
	var r struct {
		Connections []struct {
			Src, Dst string
			Allow    map[string][][2]int32
			Unknown  map[string][][2]int32
			Reasons  []int
		}
		UnknownReasons []string
	}
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatal(err)
	}
	// An ipBlock that may hold unknown pod addresses is listed once per
	// pod, against the pseudo-peer of pods whose addresses are not known,
	// not once per pod pair (explain above answers the pair).
	found := false
	for _, c := range r.Connections {
		if c.Src == "features/feature-api" && c.Dst == "ml-workloads/model-server" && len(c.Allow) > 0 {
			t.Errorf("reach -o json gives features/feature-api => ml-workloads/model-server as allowed: %v", c.Allow)
		}
		if c.Src == "(pods, addresses unknown)" && c.Dst == "ml-workloads/model-server" {
			found = len(c.Allow) == 0 && len(c.Unknown["TCP"]) == 1 && c.Unknown["TCP"][0] == [2]int32{8080, 8080} && len(c.Reasons) > 0 && strings.Contains(r.UnknownReasons[c.Reasons[0]], "10.0.0.0/16")
		}
	}
	if !found {
		t.Errorf("reach -o json does not give (pods, addresses unknown) => ml-workloads/model-server as unknown TCP 8080 with its reason")
	}
	// The risk is reported: the inference pods accept other workloads.
	stdout, _, _ = run(t, "", "audit", "-f", "examples/ml-platform", "-o", "json")
	if !strings.Contains(stdout, `"RF011"`) {
		t.Errorf("RF011 does not fire on the example")
	}
}

const lbInference = `apiVersion: v1
kind: Namespace
metadata: {name: serve}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: infer, namespace: serve}
spec:
  selector: {matchLabels: {app: infer}}
  template:
    metadata: {labels: {app: infer}}
    spec:
      containers:
      - name: model
        image: vllm/vllm-openai:v0.6.3
        ports: [{name: http, containerPort: 8000}]
        resources: {limits: {nvidia.com/gpu: 1}}
---
apiVersion: v1
kind: Service
metadata: {name: infer, namespace: serve}
spec:
  type: LoadBalancer
  externalTrafficPolicy: Cluster
  selector: {app: infer}
  ports: [{port: 80, targetPort: http}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: ingress, namespace: serve}
spec:
  podSelector: {matchLabels: {app: infer}}
  ingress: [FROM]
`

// Case 2: behind a LoadBalancer with externalTrafficPolicy Cluster the
// pods see some node's address. Without Nodes an allow-all still admits
// it; a specific ipBlock is unknown, and audit reports the exposure as
// possible with its assumption.
func TestUnknownNodeAddresses(t *testing.T) {
	allowAll := strings.Replace(lbInference, "[FROM]", "[{}]", 1)
	stdout, _, _ := run(t, allowAll, "explain", "-f", "-", "--from", "internet", "--to", "serve/infer")
	if !strings.HasPrefix(stdout, "internet => serve/infer: REACHABLE") {
		t.Errorf("allow-all behind a Cluster-policy load balancer, no Nodes:\n%s", stdout)
	}
	stdout, _, _ = run(t, allowAll, "audit", "-f", "-", "-o", "json")
	if !strings.Contains(stdout, `"RF009"`) {
		t.Errorf("no internet-exposure finding:\n%s", stdout)
	}
	block := strings.Replace(lbInference, "[FROM]", "[{from: [{ipBlock: {cidr: 10.0.0.0/16}}]}]", 1)
	stdout, _, _ = run(t, block, "explain", "-f", "-", "--from", "internet", "--to", "serve/infer")
	if !strings.HasPrefix(stdout, "internet => serve/infer: UNKNOWN") || !strings.Contains(stdout, "node's address") {
		t.Errorf("an ipBlock for the nodes' addresses, no Nodes:\n%s", stdout)
	}
	stdout, _, _ = run(t, block, "audit", "-f", "-", "-o", "json")
	var audit struct {
		Findings []struct {
			Rule        string   `json:"rule"`
			Confidence  string   `json:"confidence"`
			Assumptions []string `json:"assumptions"`
		} `json:"findings"`
	}
	if err := json.Unmarshal([]byte(stdout), &audit); err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	possible := false
	for _, f := range audit.Findings {
		possible = possible || (f.Rule == "RF009" && f.Confidence == "possible" && len(f.Assumptions) > 0)
	}
	if !possible {
		t.Errorf("the possible exposure is not reported as a possible RF009 finding with its assumption:\n%s", stdout)
	}
	// With the Nodes given, the ipBlock decides.
	nodes := block + "---\napiVersion: v1\nkind: Node\nmetadata: {name: n1}\nstatus: {addresses: [{type: InternalIP, address: 10.0.1.5}]}\n"
	stdout, _, _ = run(t, nodes, "explain", "-f", "-", "--from", "internet", "--to", "serve/infer")
	if !strings.HasPrefix(stdout, "internet => serve/infer: REACHABLE") {
		t.Errorf("the node's address is in the ipBlock:\n%s", stdout)
	}
}

const hostNetworkExporter = `apiVersion: v1
kind: Namespace
metadata: {name: monitoring}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: node-exporter, namespace: monitoring}
spec:
  selector: {matchLabels: {app: node-exporter}}
  template:
    metadata: {labels: {app: node-exporter}}
    spec:
      hostNetwork: true
      containers: [{name: exporter, image: quay.io/prometheus/node-exporter:v1.8.2, ports: [{containerPort: 9100}]}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: exporter-ingress, namespace: monitoring}
spec:
  podSelector: {matchLabels: {app: node-exporter}}
  policyTypes: [Ingress]
`

// Case 7: a policy selecting host-network pods selects them and cannot
// isolate them; no verb calls it dead.
func TestHostNetworkSelected(t *testing.T) {
	stdout, _, _ := run(t, hostNetworkExporter, "audit", "-f", "-")
	if strings.Contains(stdout, "selects no workload") || !strings.Contains(stdout, "selects only host-network pods (monitoring/node-exporter), which it cannot isolate") {
		t.Errorf("audit:\n%s", stdout)
	}
	stdout, _, _ = run(t, hostNetworkExporter, "inventory", "-f", "-")
	if !strings.Contains(stdout, "host network: cannot be isolated") {
		t.Errorf("inventory:\n%s", stdout)
	}
	stdout, _, _ = run(t, hostNetworkExporter, "explain", "-f", "-", "--from", "10.0.0.9", "--to", "monitoring/node-exporter", "--port", "9100")
	if !strings.Contains(stdout, ": ALLOWED") || !strings.Contains(stdout, "the pod uses the host network: NetworkPolicies do not isolate it") {
		t.Errorf("explain:\n%s", stdout)
	}
	stdout, _, _ = run(t, hostNetworkExporter, "reach", "-f", "-")
	if !strings.Contains(stdout, "monitoring/node-exporter uses the host network") {
		t.Errorf("reach:\n%s", stdout)
	}
}

const runtimeLabels = `apiVersion: v1
kind: Namespace
metadata: {name: ml}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: ml}
spec:
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec: {containers: [{name: c, image: nginx:1.27, ports: [{containerPort: 8080}]}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: client, namespace: ml}
spec:
  selector: {matchLabels: {app: client}}
  template:
    metadata: {labels: {app: client}}
    spec: {containers: [{name: c, image: curlimages/curl:8.10.1}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: api-from-one-revision, namespace: ml}
spec:
  podSelector: {matchLabels: {app: api}}
  ingress:
  - from: [{podSelector: {matchLabels: {app: client, pod-template-hash: 5d8f7c9b6d}}}]
`

// Case 9: a selector on a label whose value is set at run time
// (pod-template-hash) may or may not match: unknown, naming the label.
func TestRuntimeLabels(t *testing.T) {
	e := explainJSON(t, runtimeLabels, "-f", "-", "--from", "ml/client", "--to", "ml/api", "--port", "8080")
	missing, _ := json.Marshal(e["missing"])
	if e["verdict"] != "unknown" || !strings.Contains(string(missing), "pod-template-hash") {
		t.Errorf("peer selector on pod-template-hash: verdict %v, missing %s", e["verdict"], missing)
	}
	// The same label in the policy's podSelector: the policy may isolate
	// the pods or not.
	isolating := strings.Replace(runtimeLabels, "podSelector: {matchLabels: {app: api}}", "podSelector: {matchLabels: {app: api, pod-template-hash: 7f9c6d5b8a}}", 1)
	isolating = strings.Replace(isolating, "{app: client, pod-template-hash: 5d8f7c9b6d}", "{app: nobody}", 1)
	e = explainJSON(t, isolating, "-f", "-", "--from", "ml/client", "--to", "ml/api", "--port", "8080")
	if e["verdict"] != "unknown" {
		t.Errorf("podSelector on pod-template-hash: verdict %v, want unknown", e["verdict"])
	}
}

// closedNodeGroup rewrites the example's node group egress: the given
// permissions instead of everything.
func closedNodeGroup(t *testing.T, egress string) string {
	t.Helper()
	return editNodeGroup(t, "IpPermissionsEgress", egress)
}

// editNodeGroup replaces one permission list of the example's node group.
func editNodeGroup(t *testing.T, field, perms string) string {
	t.Helper()
	dir := copyExample(t, "examples/ml-platform")
	path := filepath.Join(dir, "aws", "security-groups.json")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string][]map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	var list []any
	if err := json.Unmarshal([]byte(perms), &list); err != nil {
		t.Fatal(err)
	}
	for _, g := range doc["SecurityGroups"] {
		if g["GroupName"] == "ml-node-sg" {
			g[field] = list
		}
	}
	out, _ := json.MarshalIndent(doc, "", "  ")
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// Cases 3, 5 and 10: the security groups decide every destination form.
// A rule naming another group admits its members, which the inputs know
// only in part: unknown. An address outside every rule is denied, even
// with no NetworkPolicy. The VPC's DNS resolver is never filtered.
func TestSecurityGroupsEveryDestination(t *testing.T) {
	dir := closedNodeGroup(t, `[
	  {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "UserIdGroupPairs": [{"GroupId": "sg-0a1b2c3d4e5f60002"}]},
	  {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "10.0.0.0/16"}]}
	]`)
	// Case 5: an IP address goes through both layers.
	e := explainJSON(t, "", "-f", dir, "--from", "ml-workloads/model-server", "--to", "8.8.8.8", "--port", "443")
	sg, _ := e["securityGroups"].(map[string]any)
	if e["verdict"] != "denied" || sg == nil {
		t.Errorf("model-server to 8.8.8.8:443 with node egress only to the VPC: verdict %v, security groups %v", e["verdict"], e["securityGroups"])
	}
	if e := explainJSON(t, "", "-f", dir, "--from", "ml-workloads/model-server", "--to", "10.0.9.10", "--port", "443"); e["verdict"] != "allowed" {
		t.Errorf("model-server to 10.0.9.10:443: verdict %v, want allowed", e["verdict"])
	}
	// Case 3: egress to the cluster security group, whose members (the
	// control plane's interfaces) are not in the inputs.
	api := closedNodeGroup(t, `[{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "UserIdGroupPairs": [{"GroupId": "sg-0a1b2c3d4e5f60002"}]}]`)
	stdout, _, _ := run(t, "", "explain", "-f", api, "--from", "ml-workloads/model-server", "--to", "kubernetes-api", "-o", "json")
	var x struct {
		Verdict        string
		SecurityGroups struct {
			Unknown []string
			Missing []string
		}
	}
	if err := json.Unmarshal([]byte(stdout), &x); err != nil {
		t.Fatal(err)
	}
	if x.Verdict == "denied" || len(x.SecurityGroups.Unknown) == 0 || !strings.Contains(strings.Join(x.SecurityGroups.Missing, " "), "sg-0a1b2c3d4e5f60002") {
		t.Errorf("kubernetes-api through a rule naming the cluster group: %s", stdout)
	}
	// A node of the group itself is a known member: a rule naming the
	// node group admits it surely.
	self := closedNodeGroup(t, `[{"IpProtocol": "tcp", "FromPort": 10250, "ToPort": 10250, "UserIdGroupPairs": [{"GroupId": "sg-0a1b2c3d4e5f60001"}]}]`)
	if e := explainJSON(t, "", "-f", self, "--from", "ml-workloads/model-server", "--to", "10.0.33.151", "--port", "10250"); e["verdict"] != "allowed" {
		t.Errorf("to a node of the referenced group: verdict %v, want allowed", e["verdict"])
	}
	if e := explainJSON(t, "", "-f", self, "--from", "ml-workloads/model-server", "--to", "10.0.9.10", "--port", "10250"); e["verdict"] != "unknown" {
		t.Errorf("to a VPC address not known to be in the referenced group: verdict %v, want unknown", e["verdict"])
	}
	// Case 10: the VPC's resolver (base +2) and the link-local services
	// are not filtered.
	for _, to := range []string{"10.0.0.2", "169.254.169.253", "169.254.170.2", "169.254.169.251", "169.254.170.23"} {
		if e := explainJSON(t, "", "-f", dir, "--from", "kube-system/coredns", "--to", to, "--port", "53", "--protocol", "UDP"); e["verdict"] != "allowed" {
			t.Errorf("coredns to %s UDP 53: verdict %v, want allowed (security groups do not filter it)", to, e["verdict"])
		}
	}
}

// Case 4: a prefix list whose entries are not in the inputs may admit any
// address: unknown, naming the list and the command that gives it.
func TestUnresolvedPrefixList(t *testing.T) {
	dir := closedNodeGroup(t, `[{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "PrefixListIds": [{"PrefixListId": "pl-0f00ba5e0f00ba5e0"}]}]`)
	e := explainJSON(t, "", "-f", dir, "--from", "ml-workloads/model-server", "--to", "52.94.1.1", "--port", "443")
	missing, _ := json.Marshal(e["missing"])
	if e["verdict"] != "unknown" || !strings.Contains(string(missing), "pl-0f00ba5e0f00ba5e0") {
		t.Errorf("through an unresolved prefix list: verdict %v, missing %s", e["verdict"], missing)
	}
	if e := explainJSON(t, "", "-f", dir, "--from", "ml-workloads/model-server", "--to", "52.94.1.1", "--port", "80"); e["verdict"] != "denied" {
		t.Errorf("a port the prefix-list rule does not name: verdict %v, want denied", e["verdict"])
	}
}

const foreignPolicies = `apiVersion: v1
kind: Namespace
metadata: {name: a}
---
apiVersion: v1
kind: Namespace
metadata: {name: b}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: a, labels: {app: web}}
spec: {containers: [{name: c, image: nginx:1.27, ports: [{containerPort: 80}]}]}
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: b, labels: {app: client}}
spec: {containers: [{name: c, image: curlimages/curl:8.10.1}]}
---
apiVersion: v1
kind: Pod
metadata: {name: other, namespace: b, labels: {app: other}}
spec: {containers: [{name: c, image: nginx:1.27, ports: [{containerPort: 80}]}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-all, namespace: a}
spec: {podSelector: {}, policyTypes: [Ingress]}
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: allow-web, namespace: a}
spec:
  endpointSelector: {matchLabels: {app: web}}
  ingress: [{fromEndpoints: [{}]}]
`

// Case 8: a policy of a kind ringfence does not evaluate makes the
// verdicts it could change unknown (its namespace, or every namespace for
// a cluster-wide kind), and loading says so.
func TestForeignPolicyKinds(t *testing.T) {
	e := explainJSON(t, foreignPolicies, "-f", "-", "--from", "b/client", "--to", "a/web", "--port", "80")
	missing, _ := json.Marshal(e["missing"])
	if e["verdict"] != "unknown" || !strings.Contains(string(missing), "CiliumNetworkPolicy a/allow-web") {
		t.Errorf("into namespace a, which a CiliumNetworkPolicy may open: verdict %v, missing %s", e["verdict"], missing)
	}
	if e := explainJSON(t, foreignPolicies, "-f", "-", "--from", "b/client", "--to", "b/other", "--port", "80"); e["verdict"] != "allowed" {
		t.Errorf("namespace b, outside the policy's scope: verdict %v, want allowed", e["verdict"])
	}
	stdout, _, _ := run(t, foreignPolicies, "inventory", "-f", "-", "-o", "json")
	if !strings.Contains(stdout, "is a policy kind ringfence does not evaluate") {
		t.Errorf("loading does not warn about the CiliumNetworkPolicy:\n%s", stdout)
	}
	anp := foreignPolicies + `---
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: cluster-floor}
spec:
  priority: 10
  subject: {namespaces: {}}
  ingress: [{action: Deny, from: [{namespaces: {}}]}]
`
	// AdminNetworkPolicy is evaluated since the tier evaluator
	// (docs/tiers.md): its Admin-tier Deny decides, and explain names it.
	e = explainJSON(t, anp, "-f", "-", "--from", "b/client", "--to", "b/other", "--port", "80")
	ingress, _ := json.Marshal(e["ingress"])
	if e["verdict"] != "denied" || !strings.Contains(string(ingress), "AdminNetworkPolicy/cluster-floor") {
		t.Errorf("an Admin-tier Deny of every namespace: verdict %v, want denied by AdminNetworkPolicy/cluster-floor: %s", e["verdict"], ingress)
	}
}

// Case 11: RF007, RF008 and RF021 compare address sets: two halves of the
// address space are all of it.
func TestEverywhereBySets(t *testing.T) {
	dir := editNodeGroup(t, "IpPermissions", `[
	  {"IpProtocol": "tcp", "FromPort": 30000, "ToPort": 32767, "IpRanges": [{"CidrIp": "0.0.0.0/1"}]},
	  {"IpProtocol": "tcp", "FromPort": 30000, "ToPort": 32767, "IpRanges": [{"CidrIp": "128.0.0.0/1"}]}
	]`)
	stdout, _, _ := run(t, "", "audit", "-f", dir)
	if !strings.Contains(stdout, "RF021") || !strings.Contains(stdout, "opens the NodePort range (tcp 30000-32767) to the world") || strings.Contains(stdout, "to 128.0.0.0/1") {
		t.Errorf("the NodePort range open to 0.0.0.0/1 and 128.0.0.0/1 is not reported as open to the world, once:\n%s", stdout)
	}
	dir = editNodeGroup(t, "IpPermissions", `[
	  {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/1"}]},
	  {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "128.0.0.0/1"}]}
	]`)
	stdout, _, _ = run(t, "", "audit", "-f", dir)
	if !strings.Contains(stdout, "RF008") || !strings.Contains(stdout, "allows ingress of every protocol from 0.0.0.0/0") {
		t.Errorf("ingress from 0.0.0.0/1 and 128.0.0.0/1 is not reported:\n%s", stdout)
	}
	dir = closedNodeGroup(t, `[{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/1"}, {"CidrIp": "128.0.0.0/2"}, {"CidrIp": "192.0.0.0/2"}]}]`)
	stdout, _, _ = run(t, "", "audit", "-f", dir)
	if !strings.Contains(stdout, "RF007") {
		t.Errorf("egress to three prefixes that make 0.0.0.0/0 is not reported:\n%s", stdout)
	}
}

// The example README's expected-reachability table is the contract: each
// row, read from the README, is asked of explain.
func TestExampleReadmeReachability(t *testing.T) {
	b, err := os.ReadFile("examples/ml-platform/README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	start := strings.Index(text, "### Expected reachability")
	if start < 0 {
		t.Fatal("no expected-reachability table in the example README")
	}
	// How each row's endpoints are asked; rows about paths from the
	// internet or a node port are checked through explain --from internet.
	asks := map[string][]string{
		"training → kube-dns 53/UDP":                    {"--from", "ml-workloads/text-embed-finetune", "--to", "kube-system/coredns", "--port", "53", "--protocol", "UDP"},
		"training → 52.216.10.20:443 (S3)":              {"--from", "ml-workloads/text-embed-finetune", "--to", "52.216.10.20", "--port", "443"},
		"training → 54.231.0.10:443 (S3)":               {"--from", "ml-workloads/text-embed-finetune", "--to", "54.231.0.10", "--port", "443"},
		"training → feature-api 8080":                   {"--from", "ml-workloads/text-embed-finetune", "--to", "features/feature-api", "--port", "8080"},
		"training master ↔ worker 23456":                {"--from", "ml-workloads/text-embed-finetune", "--to", "ml-workloads/text-embed-finetune", "--port", "23456"},
		"training → 169.254.169.254:80":                 {"--from", "ml-workloads/text-embed-finetune", "--to", "169.254.169.254", "--port", "80"},
		"model-server → 0.0.0.0/0 any port":             {"--from", "ml-workloads/model-server", "--to", "8.8.8.8", "--port", "9999"},
		"model-server → 169.254.169.254:80":             {"--from", "ml-workloads/model-server", "--to", "169.254.169.254", "--port", "80"},
		"model-server → ingress-nginx 8443":             {"--from", "ml-workloads/model-server", "--to", "ingress-nginx/ingress-nginx-controller", "--port", "8443"},
		"ingress-nginx → model-server 8080":             {"--from", "ingress-nginx/ingress-nginx-controller", "--to", "ml-workloads/model-server", "--port", "8080"},
		"feature-api → model-server 8080":               {"--from", "features/feature-api", "--to", "ml-workloads/model-server", "--port", "8080"},
		"VPC host → node:30443":                         {"--from", "10.0.5.9", "--to", "ingress-nginx/ingress-nginx-controller", "--port", "30443"},
		"internet → model-server NLB:80 → pod 8080":     {"internet", "ml-workloads/model-server"},
		"internet → ingress-nginx NLB:443 → controller": {"internet", "ingress-nginx/ingress-nginx-controller"},
	}
	rows := 0
	for _, line := range strings.Split(text[start:], "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 4 || !strings.Contains(cells[1], "→") && !strings.Contains(cells[1], "↔") {
			continue
		}
		row := strings.TrimSpace(cells[1])
		if row == "from → to" {
			continue
		}
		want := strings.Trim(strings.TrimSpace(cells[2]), "*")
		want = strings.Fields(want)[0]
		args, ok := asks[row]
		if !ok {
			t.Errorf("README row %q is not checked: add it to the test", row)
			continue
		}
		rows++
		if args[0] == "internet" {
			stdout, _, _ := run(t, "", "explain", "-f", "examples/ml-platform", "--from", "internet", "--to", args[1])
			if want == "allowed" && !strings.Contains(stdout, ": REACHABLE") {
				t.Errorf("README says %q is %s; explain says:\n%s", row, want, stdout)
			}
			continue
		}
		// The node port (30443) is judged at the node's security group,
		// which admits the VPC on the NodePort range; no policy isolates
		// the controller.
		e := explainJSON(t, "", append([]string{"-f", "examples/ml-platform"}, args...)...)
		if e["verdict"] != want {
			t.Errorf("README says %q is %s; explain says %v (missing %v)", row, want, e["verdict"], e["missing"])
		}
	}
	if rows != len(asks) {
		t.Errorf("checked %d rows of the README table, want %d", rows, len(asks))
	}
}

const fencedRay = `apiVersion: v1
kind: Namespace
metadata: {name: ray}
---
apiVersion: ray.io/v1
kind: RayCluster
metadata: {name: fenced, namespace: ray}
spec:
  networkPolicy: {mode: DenyAll}
  headGroupSpec:
    rayStartParams: {}
    template:
      spec: {containers: [{name: ray-head, image: rayproject/ray:2.40.0, ports: [{name: dashboard, containerPort: 8265}]}]}
  workerGroupSpecs:
  - groupName: gpu
    replicas: 2
    rayStartParams: {}
    template:
      spec: {containers: [{name: ray-worker, image: rayproject/ray:2.40.0}]}
`

// Case 6: a RayCluster whose operator fences it with NetworkPolicies is
// not reported open: until those policies are modelled, its namespace's
// verdicts are unknown, and loading says why.
func TestOperatorMadePolicies(t *testing.T) {
	e := explainJSON(t, fencedRay, "-f", "-", "--from", "203.0.113.7", "--to", "ray/fenced", "--port", "8265")
	missing, _ := json.Marshal(e["missing"])
	if e["verdict"] != "unknown" || !strings.Contains(string(missing), "RayCluster.spec.networkPolicy") {
		t.Errorf("a fenced RayCluster from the internet: verdict %v, missing %s", e["verdict"], missing)
	}
	open := strings.Replace(fencedRay, "  networkPolicy: {mode: DenyAll}\n", "", 1)
	if e := explainJSON(t, open, "-f", "-", "--from", "203.0.113.7", "--to", "ray/fenced", "--port", "8265"); e["verdict"] != "allowed" {
		t.Errorf("an unfenced RayCluster: verdict %v, want allowed", e["verdict"])
	}
}

const kubeRayOperator = `apiVersion: v1
kind: Namespace
metadata: {name: kuberay}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: kuberay-operator, namespace: kuberay}
spec:
  selector: {matchLabels: {app.kubernetes.io/name: kuberay}}
  template:
    metadata: {labels: {app.kubernetes.io/name: kuberay}}
    spec:
      containers:
      - name: kuberay-operator
        image: quay.io/kuberay/operator:v1.7.0
        command: [/manager]
        args:
        - --feature-gates=RayClusterStatusConditions=true,RayClusterNetworkPolicy=true
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: ray, labels: {app: client}}
spec: {containers: [{name: c, image: curlimages/curl:8.10.1}]}
`

// fencedRayRules is fencedRay with rules of its own: the client may reach
// the head's Ray client port, the gpu workers may reach 203.0.113.0/24 on
// TCP 443.
var fencedRayRules = strings.Replace(fencedRay, "  networkPolicy: {mode: DenyAll}\n", `  networkPolicy:
    mode: DenyAll
    head:
      ingressRules:
      - from: [{podSelector: {matchLabels: {app: client}}}]
        ports: [{port: 10001}]
    worker:
      egressRules:
      - to: [{ipBlock: {cidr: 203.0.113.0/24}}]
        ports: [{port: 443}]
`, 1)

// Case 6, exact: with the KubeRay operator's Deployment in the inputs, its
// flags decide. Feature gate RayClusterNetworkPolicy on: the head and
// worker-group policies KubeRay v1.7.0 makes are evaluated (the cluster's
// own pods on every port, plus the spec's rules). Gate off (its default):
// spec.networkPolicy makes nothing. Gates from a --config file: unknown.
func TestKubeRayOperatorPolicies(t *testing.T) {
	on := fencedRayRules + "---\n" + kubeRayOperator
	verdict := func(in string, args ...string) any {
		t.Helper()
		return explainJSON(t, in, append([]string{"-f", "-"}, args...)...)["verdict"]
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--from", "203.0.113.7", "--to", "ray/fenced/head", "--port", "8265"}, "denied"},
		{[]string{"--from", "ray/client", "--to", "ray/fenced/head", "--port", "10001"}, "allowed"},
		{[]string{"--from", "ray/client", "--to", "ray/fenced/head", "--port", "8265"}, "denied"},
		{[]string{"--from", "ray/fenced/worker/gpu", "--to", "ray/fenced/head", "--port", "6379"}, "allowed"},
		{[]string{"--from", "ray/fenced/worker/gpu", "--to", "203.0.113.9", "--port", "443"}, "allowed"},
		{[]string{"--from", "ray/fenced/worker/gpu", "--to", "8.8.8.8", "--port", "443"}, "denied"},
		{[]string{"--from", "ray/fenced/head", "--to", "203.0.113.9", "--port", "443"}, "denied"},
		{[]string{"--from", "ray/client", "--to", "8.8.8.8", "--port", "443"}, "allowed"},
	} {
		if got := verdict(on, c.args...); got != c.want {
			t.Errorf("gate on, %v: verdict %v, want %s", c.args, got, c.want)
		}
	}
	stdout, _, code := run(t, on, "inventory", "-f", "-", "-o", "json")
	if code != ExitOK || !strings.Contains(stdout, `"fenced-head"`) || !strings.Contains(stdout, `"fenced-workers-gpu"`) {
		t.Errorf("inventory does not list the policies KubeRay makes (exit %d)", code)
	}
	off := strings.Replace(on, ",RayClusterNetworkPolicy=true", "", 1)
	if got := verdict(off, "--from", "203.0.113.7", "--to", "ray/fenced", "--port", "8265"); got != "allowed" {
		t.Errorf("gate off: verdict %v, want allowed (the operator makes no policy)", got)
	}
	if _, stderr, _ := run(t, off, "reach", "-f", "-", "-v"); !strings.Contains(stderr, "spec.networkPolicy has no effect") {
		t.Errorf("gate off: no warning that spec.networkPolicy has no effect:\n%s", stderr)
	}
	config := strings.Replace(on, "--feature-gates=RayClusterStatusConditions=true,RayClusterNetworkPolicy=true", "--config=/etc/kuberay/config.yaml", 1)
	if got := verdict(config, "--from", "203.0.113.7", "--to", "ray/fenced", "--port", "8265"); got != "unknown" {
		t.Errorf("gates from a config file: verdict %v, want unknown", got)
	}
	// A RayJob's cluster is named by the operator: its policies' selectors
	// are not known, so the verdicts they could change are unknown.
	job := "apiVersion: ray.io/v1\nkind: RayJob\nmetadata: {name: j, namespace: ray}\nspec:\n  entrypoint: python x.py\n  rayClusterSpec:\n    networkPolicy: {mode: DenyAll}\n    headGroupSpec:\n      template:\n        spec: {containers: [{name: ray-head, image: rayproject/ray:2.40.0}]}\n"
	if got := verdict(job, "--from", "203.0.113.7", "--to", "ray/j", "--port", "8265"); got != "unknown" {
		t.Errorf("a RayJob's fenced cluster: verdict %v, want unknown", got)
	}
	elsewhere := strings.Replace(on, "        - --feature-gates", "        - --watch-namespace=other\n        - --feature-gates", 1)
	if got := verdict(elsewhere, "--from", "203.0.113.7", "--to", "ray/fenced", "--port", "8265"); got != "allowed" {
		t.Errorf("operator watching another namespace: verdict %v, want allowed", got)
	}
}

// Without the VPC in the inputs the pods' addresses are not known, so
// whether allow-nlb-health-checks' 10.0.0.0/16 admits other pods is
// unknown: the audit still reports RF011, as possible, with the reason.
func TestInferenceIngressPossibleWithoutVPC(t *testing.T) {
	dir := copyExample(t, "examples/ml-platform", filepath.Join("aws", "vpcs.json"), filepath.Join("aws", "subnets.json"))
	var rf011 []check.Finding
	for _, f := range auditFindings(t, "-f", dir) {
		if f.Rule == "RF011" {
			rf011 = append(rf011, f)
		}
	}
	if len(rf011) != 1 || rf011[0].Object.String() != "Deployment/ml-workloads/model-server" {
		t.Fatalf("RF011: %+v", rf011)
	}
	f := rf011[0]
	path := strings.Join(f.Path, "\n")
	if f.Confidence != check.ConfidencePossible || len(f.Assumptions) == 0 || !strings.Contains(path, "(pods, addresses unknown) => ml-workloads/model-server") || !strings.Contains(strings.Join(f.Assumptions, "\n"), "10.0.0.0/16") {
		t.Errorf("RF011 should be possible, through pods of unknown address, assuming what 10.0.0.0/16 holds: %+v", f)
	}
}

// Case 4: the AWS-managed S3 and DynamoDB lists resolve from the embedded
// ip-ranges when their entries are not given: the entries lie within the
// service's published prefixes of the region, so an address there is
// unknown and one elsewhere denied. A list given with its entries is exact.
func TestManagedPrefixListFromRanges(t *testing.T) {
	// By well-known ID: the example is in us-east-1 (Node labels, zones),
	// where pl-63a5400a is com.amazonaws.us-east-1.s3.
	dir := closedNodeGroup(t, `[{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "PrefixListIds": [{"PrefixListId": "pl-63a5400a"}]}]`)
	e := explainJSON(t, "", "-f", dir, "--from", "ml-workloads/model-server", "--to", "52.216.1.1", "--port", "443")
	missing, _ := json.Marshal(e["missing"])
	if e["verdict"] != "unknown" || !strings.Contains(string(missing), "com.amazonaws.us-east-1.s3") || !strings.Contains(string(missing), "published S3 prefixes of us-east-1") {
		t.Errorf("to an S3 address of us-east-1 through pl-63a5400a: verdict %v, missing %s; want unknown naming the list and the publication", e["verdict"], missing)
	}
	for _, to := range []string{"8.8.8.8", "52.94.0.1", "10.0.9.10"} { // outside, DynamoDB, the VPC
		if e := explainJSON(t, "", "-f", dir, "--from", "ml-workloads/model-server", "--to", to, "--port", "443"); e["verdict"] != "denied" {
			t.Errorf("to %s (no S3 address) through pl-63a5400a: verdict %v, want denied", to, e["verdict"])
		}
	}
	// By name (describe-managed-prefix-lists), for an ID not in the table.
	named := closedNodeGroup(t, `[{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "PrefixListIds": [{"PrefixListId": "pl-0123456789abcdef0"}]}]`)
	putFile(t, filepath.Join(named, "aws", "prefix-lists.json"), `{"PrefixLists": [{"PrefixListId": "pl-0123456789abcdef0", "PrefixListName": "com.amazonaws.us-east-1.dynamodb"}]}`)
	if e := explainJSON(t, "", "-f", named, "--from", "ml-workloads/model-server", "--to", "52.94.0.1", "--port", "443"); e["verdict"] != "unknown" {
		t.Errorf("to a DynamoDB address through the named DynamoDB list: verdict %v, want unknown", e["verdict"])
	}
	if e := explainJSON(t, "", "-f", named, "--from", "ml-workloads/model-server", "--to", "52.216.1.1", "--port", "443"); e["verdict"] != "denied" {
		t.Errorf("to an S3 address through the named DynamoDB list: verdict %v, want denied", e["verdict"])
	}
	// Entries given: exact, even for S3 addresses the entries leave out.
	putFile(t, filepath.Join(dir, "aws", "pl-63a5400a.json"), `{"Entries": [{"Cidr": "52.216.0.0/15"}]}`)
	if e := explainJSON(t, "", "-f", dir, "--from", "ml-workloads/model-server", "--to", "52.216.1.1", "--port", "443"); e["verdict"] != "allowed" {
		t.Errorf("to an entry of the given list: verdict %v, want allowed", e["verdict"])
	}
	if e := explainJSON(t, "", "-f", dir, "--from", "ml-workloads/model-server", "--to", "54.231.0.1", "--port", "443"); e["verdict"] != "denied" {
		t.Errorf("to an S3 address outside the given entries: verdict %v, want denied", e["verdict"])
	}
	// An ID without its name in a region the table does not know stays
	// unknown everywhere: the same ID names other lists in other regions.
	other := closedNodeGroup(t, `[{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "PrefixListIds": [{"PrefixListId": "pl-63a5400a"}]}]`)
	for _, f := range []string{"nodes.yaml", "aws/instances.json", "aws/subnets.json"} {
		b, err := os.ReadFile(filepath.Join(other, f))
		if err != nil {
			t.Fatal(err)
		}
		putFile(t, filepath.Join(other, f), strings.ReplaceAll(string(b), "us-east-1", "ap-south-2"))
	}
	if e := explainJSON(t, "", "-f", other, "--from", "ml-workloads/model-server", "--to", "8.8.8.8", "--port", "443"); e["verdict"] != "unknown" {
		t.Errorf("pl-63a5400a in ap-south-2: verdict %v, want unknown", e["verdict"])
	}
}

// putFile writes content at path.
func putFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// reach -o json's layers carry each fence's unknown ports beside the ports
// it surely allows: a connection that is partly unknown names a layer that
// may allow it, never layers that both look closed.
func TestReachLayersCarryUnknown(t *testing.T) {
	type layers struct {
		NetworkPolicy         map[string][][2]int  `json:"networkPolicy"`
		NetworkPolicyUnknown  map[string][][2]int  `json:"networkPolicyUnknown"`
		SecurityGroups        *map[string][][2]int `json:"securityGroups"`
		SecurityGroupsUnknown map[string][][2]int  `json:"securityGroupsUnknown"`
	}
	var out struct {
		Connections []struct {
			Src, Dst string
			Unknown  map[string][][2]int
			Layers   *layers
		}
	}
	dir := closedNodeGroup(t, `[{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "PrefixListIds": [{"PrefixListId": "pl-63a5400a"}]}]`)
	stdout, stderr, code := run(t, "", "reach", "-f", dir, "-o", "json")
	if code != ExitOK {
		t.Fatalf("reach: exit %d: %s", code, stderr)
	}
	if err := json.Unmarshal([]byte(stdout), &out); err != nil {
		t.Fatal(err)
	}
	s3 := false
	for _, c := range out.Connections {
		if c.Layers == nil || len(c.Unknown) == 0 {
			continue
		}
		l := c.Layers
		if len(l.NetworkPolicyUnknown) == 0 && l.SecurityGroups != nil && len(l.SecurityGroupsUnknown) == 0 {
			t.Errorf("%s => %s is partly unknown, but neither layer says what may be allowed: %+v", c.Src, c.Dst, *l)
		}
		if c.Src == "ml-workloads/model-server" && strings.Contains(c.Dst, "54.231.0.0/16") {
			s3 = fmt.Sprint(l.SecurityGroupsUnknown["TCP"]) == "[[443 443]]" && l.SecurityGroups != nil && len(*l.SecurityGroups) == 0
		}
	}
	if !s3 {
		t.Errorf("model-server => the S3 prefixes (egress only through pl-63a5400a): want securityGroups {} and securityGroupsUnknown TCP 443")
	}
}

// RF005 from an unknown DNS verdict is possible, with the assumption: the
// egress rule's ipBlock may or may not hold the DNS pods' addresses. With
// no rule that could admit DNS it stays certain.
func TestDNSFindingPossibleWhenUnknown(t *testing.T) {
	type finding struct {
		Rule        string   `json:"rule"`
		Confidence  string   `json:"confidence"`
		Assumptions []string `json:"assumptions"`
	}
	rf005 := func(stdin string, args ...string) *finding {
		t.Helper()
		stdout, stderr, _ := run(t, stdin, append([]string{"audit", "-o", "json"}, args...)...)
		var out struct{ Findings []finding }
		if err := json.Unmarshal([]byte(stdout), &out); err != nil {
			t.Fatalf("audit: %v\n%s", err, stderr)
		}
		for i := range out.Findings {
			if out.Findings[i].Rule == "RF005" {
				return &out.Findings[i]
			}
		}
		return nil
	}
	f := rf005("", "-f", "internal/cli/testdata/rf005-unknown-dns.yaml")
	if f == nil || f.Confidence != "possible" || !strings.Contains(strings.Join(f.Assumptions, " "), "ipBlock 10.96.0.0/12") {
		t.Errorf("egress to DNS through an ipBlock that may hold the DNS pods: RF005 %+v, want possible naming the ipBlock", f)
	}
	b, err := os.ReadFile("internal/cli/testdata/rf005-unknown-dns.yaml")
	if err != nil {
		t.Fatal(err)
	}
	closed := strings.Replace(string(b), "10.96.0.0/12", "203.0.113.0/24", 1)
	if f := rf005(closed, "-f", "-"); f == nil || f.Confidence == "possible" {
		t.Errorf("egress only to a public block: RF005 %+v, want certain", f)
	}
	// A pod range outside the ipBlock decides it: certain again.
	if f := rf005("", "-f", "internal/cli/testdata/rf005-unknown-dns.yaml", "--pod-cidr", "192.168.0.0/16"); f == nil || f.Confidence == "possible" {
		t.Errorf("--pod-cidr outside the ipBlock: RF005 %+v, want certain", f)
	}
}

// reach -o dot draws the pseudo-peer for pods of unknown address as a
// dashed node of its own, labelled, not as a namespace cluster without a
// name.
func TestReachDotLabelsUnknownAddressPods(t *testing.T) {
	bare := copyExample(t, "examples/ml-platform", "aws/vpcs.json", "aws/subnets.json")
	stdout, stderr, code := run(t, "", "reach", "-f", bare, "-o", "dot")
	if code != ExitOK {
		t.Fatalf("reach -o dot: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, `"(pods, addresses unknown)" [shape=ellipse, style=dashed, color=gray40, label="pods whose addresses\nare not in the inputs\n(ipBlocks may hold them)"];`) {
		t.Errorf("the pseudo-peer is not drawn as a labelled dashed node:\n%s", stdout)
	}
	if strings.Contains(stdout, `label="";`) {
		t.Errorf("a cluster without a label:\n%s", stdout)
	}
	if !strings.Contains(stdout, `"(pods, addresses unknown)" -> "ml-workloads/model-server" [label="None\nunknown: TCP 8080", style=dashed];`) {
		t.Errorf("no edge to the pseudo-peer:\n%s", stdout)
	}
}

// Case 8, duplicates: an object defined twice is reported by every verb
// (the later copy is used, as kubectl apply would; here it turns a
// deny-all into an allow-all), on stderr and in the JSON warnings.
func TestDuplicateReportedByEveryVerb(t *testing.T) {
	in := `apiVersion: v1
kind: Pod
metadata: {name: web, namespace: a, labels: {app: web}}
spec: {containers: [{name: c, image: nginx:1.27}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: fence, namespace: a}
spec: {podSelector: {}, policyTypes: [Ingress]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: fence, namespace: a}
spec: {podSelector: {}, ingress: [{}]}
`
	for _, args := range [][]string{
		{"inventory"}, {"reach"}, {"audit"}, {"explain", "--from", "203.0.113.7", "--to", "a/web"}, {"report", "-o", "json"},
	} {
		_, stderr, _ := run(t, in, append(args, "-f", "-")...)
		if !strings.Contains(stderr, "defined twice") {
			t.Errorf("%v: stderr does not report the duplicate:\n%s", args, stderr)
		}
	}
	stdout, _, _ := run(t, in, "reach", "-f", "-", "-o", "json")
	if !strings.Contains(stdout, `"category":"duplicate"`) && !strings.Contains(stdout, `"category": "duplicate"`) {
		t.Errorf("reach -o json warnings do not carry the duplicate:\n%s", stdout)
	}
}
