package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ringfence/ringfence/internal/engine"
	"github.com/ringfence/ringfence/internal/testenv"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// The upstream kinds of a live cluster: a v1alpha2 ClusterNetworkPolicy
// denying ml's pods web's API port, a legacy AdminNetworkPolicy passing
// monitoring's scrapes, and the BaselineAdminNetworkPolicy singleton.
var upstreamTierObjects = []string{
	`{"apiVersion": "policy.networking.k8s.io/v1alpha2", "kind": "ClusterNetworkPolicy", "metadata": {"name": "ml-not-to-api"},
	  "spec": {"tier": "Admin", "priority": 5, "subject": {"namespaces": {"matchLabels": {"team": "ml"}}},
	    "egress": [{"name": "api", "action": "Deny", "to": [{"namespaces": {"matchLabels": {"kubernetes.io/metadata.name": "web"}}}],
	      "protocols": [{"tcp": {"destinationPort": {"number": 8080}}}]}]}}`,
	`{"apiVersion": "policy.networking.k8s.io/v1alpha1", "kind": "AdminNetworkPolicy", "metadata": {"name": "scrapes"},
	  "spec": {"priority": 50, "subject": {"namespaces": {}},
	    "ingress": [{"name": "monitoring", "action": "Pass", "from": [{"namespaces": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}]}]}}`,
	`{"apiVersion": "policy.networking.k8s.io/v1alpha1", "kind": "BaselineAdminNetworkPolicy", "metadata": {"name": "default"},
	  "spec": {"subject": {"namespaces": {}}, "ingress": [{"name": "no-ml", "action": "Deny", "from": [{"namespaces": {"matchLabels": {"team": "ml"}}}]}]}}`,
}

// TestLiveTiers reads the five tiered kinds from a real API server with
// their CRDs installed, through the CLI: the EKS example's Admin Deny of
// 169.254.169.254/32 denies a pod's IMDS egress, the profile is chosen from
// the API group and reported, the upstream kinds are evaluated alongside;
// the documented role reads them all; a user who may not list them gets
// unknown, never denied; with the CRDs gone the kinds have no objects.
func TestLiveTiers(t *testing.T) {
	env := testenv.Start(t, testenv.TierCRDs())
	apply(t, env.Config, "examples/tiers/eks")
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "upstream.yaml"), []byte(strings.Join(upstreamTierObjects, "\n---\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	apply(t, env.Config, dir)
	client, err := dynamic.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	admin := kubeconfig(t, env, envtest.User{Name: "admin", Groups: []string{"system:masters"}})

	// The API server checks what the CRDs say: a second
	// BaselineAdminNetworkPolicy is refused, as ringfence refuses one in a
	// file.
	banp := &unstructured.Unstructured{}
	_ = banp.UnmarshalJSON([]byte(`{"apiVersion": "policy.networking.k8s.io/v1alpha1", "kind": "BaselineAdminNetworkPolicy", "metadata": {"name": "other"}, "spec": {"subject": {"namespaces": {}}}}`))
	if _, err := client.Resource(schema.GroupVersionResource{Group: "policy.networking.k8s.io", Version: "v1alpha1", Resource: "baselineadminnetworkpolicies"}).Create(ctx, banp, metav1.CreateOptions{}); err == nil {
		t.Error("the test CRD accepts a BaselineAdminNetworkPolicy not named default")
	}

	explainFrom := func(t *testing.T, kc, from, to string, port string) *engine.Explanation {
		t.Helper()
		args := []string{"explain", "--kubeconfig", kc, "-A", "--from", from, "--to", to, "--port", port, "-o", "json"}
		stdout, stderr, code := run(t, "", args...)
		if code != ExitOK {
			t.Fatalf("%v: exit %d: %s", args, code, stderr)
		}
		var e engine.Explanation
		if err := json.Unmarshal([]byte(stdout), &e); err != nil {
			t.Fatalf("%v: %s", err, stdout)
		}
		return &e
	}
	explain := func(t *testing.T, kc, to string, port string) *engine.Explanation {
		t.Helper()
		return explainFrom(t, kc, "ml/trainer", to, port)
	}
	steps := func(e *engine.Explanation) string {
		var s []string
		for _, d := range []engine.Direction{e.Egress, e.Ingress} {
			for _, st := range d.Tiers {
				if st.Policy != "" {
					s = append(s, st.Tier+" "+st.Policy+" "+st.Action+" "+st.Source)
				}
			}
		}
		return strings.Join(s, "\n")
	}

	t.Run("Admin Deny of IMDS", func(t *testing.T) {
		e := explain(t, admin, "169.254.169.254", "80")
		if e.Verdict != engine.StateDenied || e.TierProfile != "eks" {
			t.Errorf("verdict %s, profile %q; want denied by the eks profile", e.Verdict, e.TierProfile)
		}
		if s := steps(e); !strings.Contains(s, "Admin ClusterNetworkPolicy/deny-imds Deny cluster ") {
			t.Errorf("the Deny is not named with its live source:\n%s", s)
		}
		// web's pods: IMDS denied too, any other address allowed (ml's
		// pods have the internet denied as well).
		if e := explainFrom(t, admin, "web/api", "169.254.169.254", "80"); e.Verdict != engine.StateDenied {
			t.Errorf("web/api to IMDS: %s, want denied", e.Verdict)
		}
		if e := explainFrom(t, admin, "web/api", "192.0.2.10", "80"); e.Verdict != engine.StateAllowed {
			t.Errorf("web/api to 192.0.2.10: %s, want allowed (no tier denies it)", e.Verdict)
		}
		stdout, stderr, code := run(t, "", "explain", "--kubeconfig", admin, "-A", "--from", "ml/trainer", "--to", "imds")
		if code != ExitOK || !strings.Contains(stdout, "blocked: 169.254.169.254/32") || !strings.Contains(stdout, "tier profile: eks") {
			t.Errorf("explain --to imds: exit %d:\n%s%s", code, stdout, stderr)
		}
	})
	t.Run("upstream kinds", func(t *testing.T) {
		// ml -> web:8080 is denied by the v1alpha2 Admin policy at
		// priority 5, before the EKS policies.
		e := explain(t, admin, "web/api", "8080")
		if e.Verdict != engine.StateDenied || !strings.Contains(steps(e), "Admin ClusterNetworkPolicy/ml-not-to-api Deny") {
			t.Errorf("ml/trainer -> web/api:8080: %s\n%s", e.Verdict, steps(e))
		}
		// monitoring -> ml passes the AdminNetworkPolicy; the EKS Admin
		// Accept on 9100 decides first (priority 20 < 50).
		stdout, stderr, code := run(t, "", "explain", "--kubeconfig", admin, "-A", "--from", "monitoring/prometheus", "--to", "ml/trainer", "--port", "9100", "-o", "json")
		if code != ExitOK || !strings.Contains(stdout, `"verdict": "allowed"`) || !strings.Contains(stdout, "ClusterNetworkPolicy/allow-monitoring") {
			t.Errorf("monitoring scrape: exit %d: %s%s", code, stdout, stderr)
		}
		// The Baseline singleton denies ml's pods into web's frontend,
		// which no NetworkPolicy isolates for ingress.
		stdout, _, _ = run(t, "", "explain", "--kubeconfig", admin, "-A", "--from", "ml/trainer", "--to", "web/frontend", "--port", "8080", "-o", "json")
		if !strings.Contains(stdout, `"verdict": "denied"`) || !strings.Contains(stdout, "BaselineAdminNetworkPolicy/default") {
			t.Errorf("the Baseline singleton does not decide ml -> web/frontend:\n%s", stdout)
		}
		// --tier-profile overrides the group's choice, and says so.
		stdout, _, _ = run(t, "", "reach", "--kubeconfig", admin, "-A", "--tier-profile", "upstream")
		if !strings.Contains(stdout, "tiered policies: profile upstream (set by --tier-profile)") {
			t.Errorf("reach does not report the flag's profile:\n%s", stdout)
		}
		stdout, _, _ = run(t, "", "reach", "--kubeconfig", admin, "-A")
		if !strings.Contains(stdout, "tiered policies: profile eks (chosen from API group networking.k8s.aws") {
			t.Errorf("reach does not report the profile chosen from the API group:\n%s", stdout)
		}
	})
	t.Run("audit", func(t *testing.T) {
		// Every pod's IMDS egress is denied: no RF044.
		stdout, stderr, code := run(t, "", "audit", "--kubeconfig", admin, "-A", "-o", "json")
		if code != ExitOK && code != ExitFindings {
			t.Fatalf("audit: exit %d: %s", code, stderr)
		}
		rules := map[string]bool{}
		for _, f := range parseFindings(t, stdout) {
			rules[f.Rule] = true
		}
		if rules["RF044"] {
			t.Errorf("RF044 though deny-imds holds every pod")
		}
		// A run that read nothing would pass the check above.
		if len(rules) == 0 {
			t.Errorf("audit found nothing: %s", stdout)
		}
	})
	t.Run("the documented role reads them", func(t *testing.T) {
		reader := kubeconfig(t, env, envtest.User{Name: "reader", Groups: []string{"ringfence:tier-readers"}})
		bind(t, env.Config, "ringfence-tier-reader", "ringfence:tier-readers", documentedRole(t, "clusterrole.yaml"))
		e := explain(t, reader, "169.254.169.254", "80")
		if e.Verdict != engine.StateDenied {
			t.Errorf("with docs/rbac/clusterrole.yaml: %s, want denied", e.Verdict)
		}
	})
	t.Run("forbidden is unknown, not denied", func(t *testing.T) {
		// The documented role without the tiered kinds.
		var rules []rbacv1.PolicyRule
		for _, r := range documentedRole(t, "clusterrole.yaml") {
			if r.APIGroups[0] != "networking.k8s.aws" && r.APIGroups[0] != "policy.networking.k8s.io" {
				rules = append(rules, r)
			}
		}
		viewer := kubeconfig(t, env, envtest.User{Name: "no-tiers", Groups: []string{"ringfence:no-tiers"}})
		bind(t, env.Config, "ringfence-no-tiers", "ringfence:no-tiers", rules)
		e := explain(t, viewer, "169.254.169.254", "80")
		if e.Verdict != engine.StateUnknown {
			t.Errorf("IMDS egress with the tiered kinds unread: %s, want unknown", e.Verdict)
		}
		if !strings.Contains(strings.Join(e.Missing, "\n"), "clusternetworkpolicies") {
			t.Errorf("the unknown does not name the unread kind: %v", e.Missing)
		}
		_, stderr, _ := run(t, "", "reach", "--kubeconfig", viewer, "-A")
		if !strings.Contains(stderr, "ClusterNetworkPolicy") || !strings.Contains(stderr, "could not be read") {
			t.Errorf("reach does not warn that the tiered kinds were not read: %s", stderr)
		}
	})
	t.Run("no CRD, no objects", func(t *testing.T) {
		// Without the EKS CRDs their kinds cannot exist: the verdicts are
		// the remaining policies', and nothing is reported unread.
		crds := client.Resource(schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"})
		for _, name := range []string{"clusternetworkpolicies.networking.k8s.aws", "applicationnetworkpolicies.networking.k8s.aws"} {
			if err := crds.Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		dc, err := discovery.NewDiscoveryClientForConfig(env.Config)
		if err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(time.Minute); ; time.Sleep(200 * time.Millisecond) {
			if _, err := dc.ServerResourcesForGroupVersion("networking.k8s.aws/v1alpha1"); apierrors.IsNotFound(err) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("networking.k8s.aws/v1alpha1 is still served a minute after its CRDs were deleted")
			}
		}
		e := explain(t, admin, "169.254.169.254", "80")
		if e.Verdict != engine.StateAllowed || len(e.Missing) > 0 {
			t.Errorf("IMDS egress without the EKS CRDs: %s %v, want allowed (no policy denies it)", e.Verdict, e.Missing)
		}
		// The upstream policies are still read, and now choose the
		// profile.
		stdout, stderr, _ := run(t, "", "reach", "--kubeconfig", admin, "-A")
		if !strings.Contains(stdout, "tiered policies: profile upstream (chosen from API group policy.networking.k8s.io") || strings.Contains(stderr, "could not be read") {
			t.Errorf("without the EKS CRDs:\n%s\n%s", stdout, stderr)
		}
	})
}
