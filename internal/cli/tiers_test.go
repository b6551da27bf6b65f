package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTierTruthTables runs the truth tables of testdata/tiers, one
// directory per profile, written from the network-policy-api reference and
// the EKS network policy agent's documented behaviour independently of the
// engine: each expected.txt lists exactly the pod-to-pod connections the
// profile allows (args holds the case's flags).
func TestTierTruthTables(t *testing.T) {
	cases, err := filepath.Glob("testdata/tiers/*/*/input.yaml")
	if err != nil || len(cases) == 0 {
		t.Fatalf("no tier cases (%v)", err)
	}
	profiles := map[string]int{}
	for _, input := range cases {
		dir := filepath.Dir(input)
		profiles[filepath.Base(filepath.Dir(dir))]++
		t.Run(filepath.Base(filepath.Dir(dir))+"/"+filepath.Base(dir), func(t *testing.T) {
			want, err := os.ReadFile(filepath.Join(dir, "expected.txt"))
			if err != nil {
				t.Fatal(err)
			}
			args := []string{"reach", "-f", input, "-o", "text", "--level", "pod"}
			if extra, err := os.ReadFile(filepath.Join(dir, "args")); err == nil {
				args = append(args, strings.Fields(string(extra))...)
			}
			stdout, stderr, code := run(t, "", args...)
			if code != ExitOK {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			if got := podLines(stdout); got != connectionLines(string(want)) {
				t.Errorf("connections differ from %s/expected.txt:\n%s", dir, diff(connectionLines(string(want)), got))
			}
			if !strings.Contains(stdout, "# note: tiered policies: profile ") {
				t.Errorf("the profile is not reported:\n%s", stdout)
			}
		})
	}
	if profiles["upstream"] == 0 || profiles["eks"] == 0 {
		t.Errorf("want truth tables for both profiles, have %v", profiles)
	}
}

// podLines keeps the connections between the frame's pods.
func podLines(s string) string {
	var out []string
	for _, l := range strings.Split(connectionLines(s), "\n") {
		src, rest, ok := strings.Cut(l, " => ")
		dst, _, ok2 := strings.Cut(rest, " : ")
		if ok && ok2 && isFramePod(src) && isFramePod(dst) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func isFramePod(s string) bool {
	switch s {
	case "x/a", "x/b", "y/a", "y/b":
		return true
	}
	return false
}

// TestTierAuditRules: testdata/tiers-audit holds one cause of each tier
// rule; each is found on the object that causes it.
func TestTierAuditRules(t *testing.T) {
	stdout, stderr, code := run(t, "", "audit", "-f", "testdata/tiers-audit/input.yaml", "-o", "json")
	if code != ExitFindings {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var out struct {
		Findings []struct {
			Rule   string `json:"rule"`
			Object struct {
				Kind, Name string
			} `json:"object"`
			Affected []struct {
				Detail string `json:"detail"`
			} `json:"affected"`
		} `json:"findings"`
	}
	if err := json.Unmarshal([]byte(stdout), &out); err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, f := range out.Findings {
		if strings.HasPrefix(f.Rule, "RF04") {
			got[f.Rule] = append(got[f.Rule], f.Object.Kind+"/"+f.Object.Name)
		}
	}
	want := map[string][]string{
		"RF040": {"AdminNetworkPolicy/deny-y-into-x"},
		"RF041": {"AdminNetworkPolicy/pass-y-out"},
		"RF042": {"AdminNetworkPolicy/tie-accept"},
		"RF043": {"BaselineAdminNetworkPolicy/default"},
		"RF044": {"Cluster/tiers"},
	}
	for rule, objs := range want {
		if strings.Join(got[rule], ",") != strings.Join(objs, ",") {
			t.Errorf("%s found on %v, want %v", rule, got[rule], objs)
		}
	}
	if len(got) != len(want) {
		t.Errorf("tier rules found: %v", got)
	}
	// The EKS example denies IMDS for every pod: no RF044 there, and no
	// shadowed Deny either.
	stdout, _, _ = run(t, "", "audit", "-f", "examples/tiers/eks", "-o", "json")
	for _, r := range []string{"RF040", "RF044"} {
		if strings.Contains(stdout, `"rule": "`+r+`"`) {
			t.Errorf("examples/tiers/eks: unexpected %s", r)
		}
	}
}

// TestTierBadInput: an object the API server would reject is an error
// with file:line and the field, exit 2.
func TestTierBadInput(t *testing.T) {
	for _, c := range []struct{ yaml, want string }{
		{"apiVersion: networking.k8s.aws/v1alpha1\nkind: ClusterNetworkPolicy\nmetadata: {name: p}\nspec:\n  tier: Admin\n  priority: 2000\n  subject: {namespaces: {}}\n", "stdin:6: ClusterNetworkPolicy/p: spec.priority: 2000 is out of range 0-1000"},
		{"apiVersion: networking.k8s.aws/v1alpha1\nkind: ClusterNetworkPolicy\nmetadata: {name: p}\nspec:\n  tier: Admin\n  priority: 1\n  subject: {namespaces: {}}\n  egress:\n  - action: Deny\n    to: [{domainNames: [example.com]}]\n", "a domainNames peer can only be used with action Accept"},
		{"apiVersion: policy.networking.k8s.io/v1alpha1\nkind: BaselineAdminNetworkPolicy\nmetadata: {name: other}\nspec:\n  subject: {namespaces: {}}\n", "only one BaselineAdminNetworkPolicy, named default"},
		{"apiVersion: policy.networking.k8s.io/v1alpha2\nkind: ClusterNetworkPolicy\nmetadata: {name: p}\nspec:\n  tier: Middle\n  priority: 1\n  subject: {namespaces: {}}\n", "spec.tier: unsupported value \"Middle\""},
	} {
		_, stderr, code := run(t, c.yaml, "reach", "-f", "-")
		if code != ExitInput || !strings.Contains(stderr, c.want) {
			t.Errorf("exit %d, stderr %q; want exit %d and %q", code, stderr, ExitInput, c.want)
		}
	}
}
