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
