// Package deploy holds the tests of the Helm chart and the generated CRD.
// The chart is rendered by Helm itself (hack/helm.sh, a pinned version
// built through the Go module proxy) and its objects are decoded, checked,
// and applied to a real kube-apiserver, where the controller then runs
// with exactly the chart's RBAC.
package deploy

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/ringfence/ringfence/internal/testenv"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
)

const chartDir = "ringfence-controller"

// render runs `helm template` on the chart with extra arguments.
func render(t *testing.T, args ...string) []runtime.Object {
	t.Helper()
	root := testenv.RepoRoot()
	cmd := exec.Command(filepath.Join(root, "hack", "helm.sh"), append([]string{"template", "ringfence-controller", filepath.Join(root, "deploy", chartDir), "--namespace", "ringfence-system", "--include-crds"}, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("helm template %v: %v\n%s", args, err, errb.String())
	}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := apiextensionsv1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	decoder := serializer.NewCodecFactory(scheme, serializer.EnableStrict).UniversalDeserializer()
	var objs []runtime.Object
	for _, doc := range strings.Split(out.String(), "\n---") {
		if strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(doc), "---")) == "" || !strings.Contains(doc, "kind:") {
			continue
		}
		obj, _, err := decoder.Decode([]byte(doc), nil, nil)
		if err != nil {
			t.Fatalf("a rendered object does not decode strictly: %v\n%s", err, doc)
		}
		objs = append(objs, obj)
	}
	return objs
}

func only[T runtime.Object](objs []runtime.Object) []T {
	var out []T
	for _, o := range objs {
		if x, ok := o.(T); ok {
			out = append(out, x)
		}
	}
	return out
}

// permissions flattens RBAC rules into "group/resource verb" entries.
func permissions(t *testing.T, rules []rbacv1.PolicyRule) []string {
	t.Helper()
	var out []string
	for _, r := range rules {
		for _, g := range r.APIGroups {
			for _, res := range r.Resources {
				for _, v := range r.Verbs {
					if g == "*" || res == "*" || v == "*" {
						t.Errorf("wildcard in %+v", r)
					}
					out = append(out, g+"/"+res+" "+v)
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

// namespaced is what the controller does in the namespaces it manages:
// read Fences and the workloads they select, write Fence status and
// NetworkPolicies, record Events. Nothing else (no Secrets, no writes to
// workloads).
var namespaced = []string{
	"/pods get", "/pods list", "/pods watch", "/services get", "/services list", "/services watch",
	"apps/replicasets get", "apps/replicasets list", "apps/replicasets watch",
	"batch/jobs get", "batch/jobs list", "batch/jobs watch",
	"events.k8s.io/events create", "events.k8s.io/events patch",
	"networking.k8s.io/networkpolicies create", "networking.k8s.io/networkpolicies delete", "networking.k8s.io/networkpolicies get",
	"networking.k8s.io/networkpolicies list", "networking.k8s.io/networkpolicies patch", "networking.k8s.io/networkpolicies update", "networking.k8s.io/networkpolicies watch",
	"ringfence.dev/fences get", "ringfence.dev/fences list", "ringfence.dev/fences watch",
	"ringfence.dev/fences/finalizers update",
	"ringfence.dev/fences/status get", "ringfence.dev/fences/status patch", "ringfence.dev/fences/status update",
}

// self is what it does in its own namespace: its ledger, its Lease.
var self = []string{
	"/configmaps create", "/configmaps get", "/configmaps update",
	"/events create", "/events patch",
	"coordination.k8s.io/leases create", "coordination.k8s.io/leases get", "coordination.k8s.io/leases update",
	"events.k8s.io/events create", "events.k8s.io/events patch",
}

func sorted(s []string) []string {
	out := slices.Clone(s)
	sort.Strings(out)
	return out
}

func TestChartDefaults(t *testing.T) {
	objs := render(t)
	crds := only[*apiextensionsv1.CustomResourceDefinition](objs)
	if len(crds) != 1 || crds[0].Name != "fences.ringfence.dev" {
		t.Fatalf("CRDs %v", crds)
	}
	deps := only[*appsv1.Deployment](objs)
	if len(deps) != 1 {
		t.Fatalf("%d Deployments", len(deps))
	}
	d := deps[0]
	if *d.Spec.Replicas != 2 {
		t.Errorf("replicas %d, want 2 (one leader, one standby)", *d.Spec.Replicas)
	}
	pod := d.Spec.Template.Spec
	if pod.SecurityContext == nil || pod.SecurityContext.RunAsNonRoot == nil || !*pod.SecurityContext.RunAsNonRoot || *pod.SecurityContext.RunAsUser == 0 {
		t.Errorf("pod security context %+v: want non-root", pod.SecurityContext)
	}
	c := pod.Containers[0]
	sc := c.SecurityContext
	if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
		sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
		t.Errorf("container security context %+v: want non-root, read-only root FS, no privilege escalation, no capabilities", sc)
	}
	if pod.SecurityContext.SeccompProfile == nil || pod.SecurityContext.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Error("no RuntimeDefault seccomp profile")
	}
	if c.LivenessProbe == nil || c.LivenessProbe.HTTPGet.Path != "/healthz" || c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet.Path != "/readyz" {
		t.Error("probes missing")
	}
	args := strings.Join(c.Args, " ")
	for _, want := range []string{"controller", "--leader-elect", "--feed-url=https://ip-ranges.amazonaws.com/ip-ranges.json", "--grace=24h", "--max-shrink=0.2", "--max-growth=1", "--interval=10m"} {
		if !strings.Contains(args, want) {
			t.Errorf("args %q lack %s", args, want)
		}
	}
	if strings.Contains(args, "--watch-namespace") {
		t.Error("--watch-namespace without watchNamespaces")
	}
	// RBAC: exactly what the controller uses.
	var cluster, local []string
	for _, r := range only[*rbacv1.ClusterRole](objs) {
		cluster = append(cluster, permissions(t, r.Rules)...)
	}
	for _, r := range only[*rbacv1.Role](objs) {
		if r.Namespace != "ringfence-system" {
			t.Errorf("Role in %s without watchNamespaces", r.Namespace)
		}
		local = append(local, permissions(t, r.Rules)...)
	}
	sort.Strings(cluster)
	if want := sorted(append([]string{"/namespaces get", "/namespaces list", "/namespaces watch"}, namespaced...)); !slices.Equal(cluster, want) {
		t.Errorf("cluster permissions:\n%s\nwant:\n%s", strings.Join(cluster, "\n"), strings.Join(want, "\n"))
	}
	sort.Strings(local)
	if !slices.Equal(local, sorted(self)) {
		t.Errorf("own-namespace permissions:\n%s", strings.Join(local, "\n"))
	}
	// The controller's own NetworkPolicy selects its pods, both directions.
	nps := only[*networkingv1.NetworkPolicy](objs)
	if len(nps) != 1 {
		t.Fatalf("%d NetworkPolicies", len(nps))
	}
	np := nps[0]
	for k, v := range np.Spec.PodSelector.MatchLabels {
		if d.Spec.Template.Labels[k] != v {
			t.Errorf("the NetworkPolicy does not select the controller's pods (%s=%s)", k, v)
		}
	}
	if len(np.Spec.PolicyTypes) != 2 || len(np.Spec.Ingress) != 1 || np.Spec.Ingress[0].Ports[0].Port.IntValue() != 8080 {
		t.Errorf("NetworkPolicy %+v: want ingress to the metrics port only, and egress", np.Spec)
	}
}

func TestChartWatchNamespacesAndConfigMapFeed(t *testing.T) {
	objs := render(t, "--set", "watchNamespaces={ml-training,ml-serving}", "--set", "feed.file=/var/run/ringfence/feed/ip-ranges.json.gz", "--set", "feed.volume.configMap=aws-ip-ranges", "--set", "replicaCount=1")
	if n := len(only[*rbacv1.ClusterRole](objs)); n != 1 {
		t.Errorf("%d ClusterRoles, want only the one for namespaces", n)
	}
	byNS := map[string][]string{}
	for _, r := range only[*rbacv1.Role](objs) {
		byNS[r.Namespace] = append(byNS[r.Namespace], permissions(t, r.Rules)...)
	}
	for _, ns := range []string{"ml-training", "ml-serving"} {
		got := sorted(byNS[ns])
		if !slices.Equal(got, sorted(namespaced)) {
			t.Errorf("Role in %s: %v", ns, got)
		}
	}
	d := only[*appsv1.Deployment](objs)[0]
	args := strings.Join(d.Spec.Template.Spec.Containers[0].Args, " ")
	if !strings.Contains(args, "--watch-namespace=ml-training,ml-serving") || !strings.Contains(args, "--feed-file=/var/run/ringfence/feed/ip-ranges.json.gz") || strings.Contains(args, "--feed-url") {
		t.Errorf("args %s", args)
	}
	var mounted bool
	for _, m := range d.Spec.Template.Spec.Containers[0].VolumeMounts {
		mounted = mounted || (m.MountPath == "/var/run/ringfence/feed" && m.ReadOnly)
	}
	if !mounted {
		t.Error("the feed ConfigMap is not mounted at the file's directory")
	}
}

// Values the controller could not work with are refused at install time.
func TestChartRefusesBadValues(t *testing.T) {
	root := testenv.RepoRoot()
	for _, args := range [][]string{
		{"--set", "feed.configMap=elsewhere/aws-ip-ranges"},
		{"--set", "feed.configMap=ringfence-system/a", "--set", "feed.file=/x/ip-ranges.json"},
	} {
		cmd := exec.Command(filepath.Join(root, "hack", "helm.sh"), append([]string{"template", "x", filepath.Join(root, "deploy", chartDir), "--namespace", "ringfence-system"}, args...)...)
		if out, err := cmd.CombinedOutput(); err == nil {
			t.Errorf("%v rendered:\n%.300s", args, out)
		}
	}
	objs := render(t, "--set", "feed.configMap=ringfence-system/aws-ip-ranges")
	args := strings.Join(only[*appsv1.Deployment](objs)[0].Spec.Template.Spec.Containers[0].Args, " ")
	if !strings.Contains(args, "--feed-configmap=ringfence-system/aws-ip-ranges") {
		t.Errorf("args %s", args)
	}
}

// The committed CRD and deep copies are what controller-gen makes of
// api/v1alpha1 today.
func TestGeneratedUpToDate(t *testing.T) {
	root := testenv.RepoRoot()
	crds, objects := t.TempDir(), t.TempDir()
	cmd := exec.Command(filepath.Join(root, "hack", "generate.sh"), crds, objects)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("hack/generate.sh: %v\n%s", err, out)
	}
	for fresh, committed := range map[string]string{
		filepath.Join(crds, "ringfence.dev_fences.yaml"):   filepath.Join(root, "deploy", chartDir, "crds", "ringfence.dev_fences.yaml"),
		filepath.Join(objects, "zz_generated.deepcopy.go"): filepath.Join(root, "api", "v1alpha1", "zz_generated.deepcopy.go"),
	} {
		a, err := os.ReadFile(fresh)
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(committed)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("%s is stale: run hack/generate.sh and commit the result", committed)
		}
	}
}
