package cli

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestGenerateEKSClusterPolicies judges the ClusterNetworkPolicies of
// generate -o eks-cnp alone (read back by the loader, evaluated by the
// engine with the eks profile, no NetworkPolicy of ringfence's): no pod
// reaches the instance metadata service, the fenced namespace reaches the
// AWS addresses its policies allow but nothing else outside the cluster,
// and a namespace without Fences keeps the internet.
func TestGenerateEKSClusterPolicies(t *testing.T) {
	stdout, stderr, code := run(t, "", "generate", "-f", "examples/ml-platform", "-f", "examples/fences/ml-platform.yaml", "-o", "eks-cnp")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var cnps []string
	for _, doc := range strings.Split(stdout, "\n---\n") {
		if strings.Contains(doc, "kind: ClusterNetworkPolicy") {
			cnps = append(cnps, doc)
		}
	}
	if len(cnps) < 4 {
		t.Fatalf("want the IMDS deny, an accept and the namespace's pass and deny, got %d policies:\n%s", len(cnps), stdout)
	}
	file := filepath.Join(t.TempDir(), "cnp.yaml")
	if err := os.WriteFile(file, []byte(strings.Join(cnps, "\n---\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	out, stderr, code := run(t, "", "reach", "-f", "examples/ml-platform", "-f", file, "-o", "text", "--tier-profile", "eks")
	if code != ExitOK {
		t.Fatalf("reach: exit %d: %s", code, stderr)
	}
	reaches := func(src string, addr netip.Addr) bool {
		for _, l := range strings.Split(out, "\n") {
			from, rest, ok := strings.Cut(l, " => ")
			if !ok || from != src {
				continue
			}
			dst, ports, _ := strings.Cut(rest, " : ")
			if ports == "None" || strings.HasPrefix(ports, "None;") {
				continue
			}
			for _, c := range strings.Split(dst, ",") {
				if p, err := netip.ParsePrefix(c); err == nil && p.Contains(addr) {
					return true
				}
			}
		}
		return false
	}
	imds, internet, s3 := netip.MustParseAddr("169.254.169.254"), netip.MustParseAddr("1.1.1.1"), netip.MustParseAddr("52.216.0.1")
	for _, src := range []string{"ml-workloads/model-server", "ml-workloads/text-embed-finetune", "features/feature-api"} {
		if reaches(src, imds) {
			t.Errorf("%s reaches the instance metadata service", src)
		}
	}
	if reaches("ml-workloads/model-server", internet) {
		t.Errorf("the fenced model-server reaches the internet")
	}
	if !reaches("ml-workloads/model-server", s3) {
		t.Errorf("the fenced model-server lost S3 (its Fence's intent)")
	}
	if !reaches("features/feature-api", internet) {
		t.Errorf("feature-api, without Fences, lost the internet: the guardrails reach too far")
	}
	if !strings.Contains(out, "profile eks") {
		t.Errorf("the profile is not reported")
	}
}

// TestRF044ExemptsNodeRole: a Fence that gives a workload the instance
// metadata service says it needs the node role. generate -o eks-cnp leaves
// it out of the IMDS Deny (an Admin Pass to its NetworkPolicies), and RF044
// does not report it, while it reports the other pods until the generated
// guardrail is in the inputs.
func TestRF044ExemptsNodeRole(t *testing.T) {
	dir := t.TempDir()
	fences := filepath.Join(dir, "fences.yaml")
	os.WriteFile(fences, []byte(`apiVersion: ringfence.dev/v1alpha1
kind: Fence
metadata: {name: training, namespace: ml-workloads}
spec:
  workloads: {matchLabels: {app: ml-training}}
  egress:
  - aws: {service: S3, region: us-east-1}
  - dns: {}
  - peers: {sameJob: true}
  - service: {namespace: features, name: feature-api, port: http}
  - cidr: {cidrs: [169.254.169.254/32], ports: [{port: 80}]}
`), 0o644)
	tiered := filepath.Join(dir, "tiered.yaml")
	os.WriteFile(tiered, []byte(`apiVersion: networking.k8s.aws/v1alpha1
kind: ClusterNetworkPolicy
metadata: {name: deny-example}
spec:
  tier: Admin
  priority: 5
  subject: {namespaces: {}}
  egress:
  - {name: example, action: Deny, to: [{networks: [192.0.2.0/24]}]}
`), 0o644)
	affected := func(args ...string) string {
		t.Helper()
		stdout, stderr, code := run(t, "", append([]string{"audit", "--rules", "RF044", "-o", "json"}, args...)...)
		if code != ExitOK && code != ExitFindings {
			t.Fatalf("audit: exit %d: %s", code, stderr)
		}
		var out []string
		for _, l := range strings.Split(stdout, "\n") {
			if k, v, ok := strings.Cut(strings.TrimSpace(l), `"detail": "`); ok && k == "" {
				out = append(out, strings.TrimSuffix(strings.TrimSuffix(v, ","), `"`))
			}
		}
		return strings.Join(out, ",")
	}
	got := affected("-f", "examples/ml-platform", "-f", tiered, "-f", fences)
	if strings.Contains(got, "text-embed-finetune") || !strings.Contains(got, "ml-workloads/model-server") {
		t.Errorf("RF044 affects %q: want model-server and not the training job its Fence gives IMDS", got)
	}
	if without := affected("-f", "examples/ml-platform", "-f", tiered); !strings.Contains(without, "text-embed-finetune") {
		t.Errorf("without the Fence, RF044 affects %q: want the training job too", without)
	}
	stdout, stderr, code := run(t, "", "generate", "-f", "examples/ml-platform", "-f", fences, "-o", "eks-cnp", "--allow-breaking")
	if code != ExitOK {
		t.Fatalf("generate: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "name: ringfence-imds-pass-ml-workloads-training") {
		t.Fatalf("no IMDS Pass for the training Fence:\n%s", stdout)
	}
	var cnps []string
	for _, doc := range strings.Split(stdout, "\n---\n") {
		if strings.Contains(doc, "kind: ClusterNetworkPolicy") {
			cnps = append(cnps, doc)
		}
	}
	generated := filepath.Join(dir, "cnp.yaml")
	os.WriteFile(generated, []byte(strings.Join(cnps, "\n---\n")), 0o644)
	if got := affected("-f", "examples/ml-platform", "-f", generated, "-f", fences); got != "" {
		t.Errorf("with the generated guardrail, RF044 still affects %q", got)
	}
}

// TestGenerateEKSApplicationPolicies: generate -o eks-anp says domainNames
// need EKS Auto Mode, and its ApplicationNetworkPolicies alone (read back,
// judged by the engine) isolate the fenced pods' egress: the internet is
// denied, S3's addresses are not (the names resolve to them).
func TestGenerateEKSApplicationPolicies(t *testing.T) {
	stdout, stderr, code := run(t, "", "generate", "-f", "examples/ml-platform", "-f", "examples/fences/ml-platform.yaml", "-o", "eks-anp")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "enforced only in EKS Auto Mode") || !strings.Contains(stderr, "enforced only in EKS Auto Mode") {
		t.Errorf("the output does not say domainNames need EKS Auto Mode:\n%s", stderr)
	}
	var anps []string
	for _, doc := range strings.Split(stdout, "\n---\n") {
		if strings.Contains(doc, "kind: ApplicationNetworkPolicy") {
			anps = append(anps, doc)
		}
	}
	if len(anps) == 0 || !strings.Contains(stdout, "- s3.us-east-1.amazonaws.com") {
		t.Fatalf("no ApplicationNetworkPolicy with S3's endpoint name:\n%s", stdout)
	}
	// The inference server's IRSA role needs STS: the rule generate wrote
	// for it to the region's AMAZON ranges carries STS's name.
	sts := false
	for _, a := range anps {
		sts = sts || strings.Contains(a, "name: inference-domains") && strings.Contains(a, "- sts.us-east-1.amazonaws.com")
	}
	if !sts || strings.Contains(stderr, "no endpoint names for AMAZON") {
		t.Errorf("the IRSA need's STS rule is not named sts.us-east-1.amazonaws.com:\n%s\n%s", stdout, stderr)
	}
	file := filepath.Join(t.TempDir(), "anp.yaml")
	os.WriteFile(file, []byte(strings.Join(anps, "\n---\n")), 0o644)
	out, stderr, code := run(t, "", "reach", "-f", "examples/ml-platform", "-f", file, "-o", "text")
	if code != ExitOK {
		t.Fatalf("reach: exit %d: %s", code, stderr)
	}
	open := func(addr netip.Addr) (found bool) {
		for _, l := range strings.Split(out, "\n") {
			from, rest, ok := strings.Cut(l, " => ")
			if !ok || from != "ml-workloads/model-server" {
				continue
			}
			dst, ports, _ := strings.Cut(rest, " : ")
			for _, c := range strings.Split(dst, ",") {
				if p, err := netip.ParsePrefix(c); err == nil && p.Contains(addr) && ports != "None" {
					return true
				}
			}
		}
		return false
	}
	if open(netip.MustParseAddr("1.1.1.1")) {
		t.Errorf("model-server reaches the internet under its ApplicationNetworkPolicy")
	}
	if !open(netip.MustParseAddr("52.216.0.1")) {
		t.Errorf("model-server's S3 addresses are denied, though its domainNames name S3")
	}
}
