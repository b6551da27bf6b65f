package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/ringfence/ringfence/internal/engine"
	"github.com/ringfence/ringfence/internal/inventory"
	"github.com/ringfence/ringfence/internal/load/document"
	"github.com/ringfence/ringfence/internal/testenv"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// apply creates every Kubernetes object of a directory through the API,
// namespaces first, and writes the status of those that carry one (the API
// server drops status on create).
func apply(t *testing.T, cfg *rest.Config, dir string) {
	t.Helper()
	ctx := context.Background()
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))
	client, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var objs []*unstructured.Unstructured
	err = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".yaml") {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		docs, err := document.Read(p, f)
		if err != nil {
			return err
		}
		for _, o := range docs {
			u := &unstructured.Unstructured{}
			if err := u.UnmarshalJSON(o.JSON); err != nil {
				return err
			}
			neverCalled(u)
			objs = append(objs, u)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.SliceStable(objs, func(i, j int) bool { return objs[i].GetKind() == "Namespace" && objs[j].GetKind() != "Namespace" })
	for _, u := range objs {
		gvk := u.GroupVersionKind()
		m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			t.Fatalf("%s: %v", gvk, err)
		}
		var r dynamic.ResourceInterface = client.Resource(m.Resource)
		if u.GetNamespace() != "" {
			r = client.Resource(m.Resource).Namespace(u.GetNamespace())
		}
		created, err := r.Create(ctx, u, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			// kube-system: apply the manifest's labels over the live one.
			live, getErr := r.Get(ctx, u.GetName(), metav1.GetOptions{})
			if getErr != nil {
				t.Fatal(getErr)
			}
			live.SetLabels(u.GetLabels())
			created, err = r.Update(ctx, live, metav1.UpdateOptions{})
		}
		if err != nil {
			t.Fatalf("creating %s %s/%s: %v", gvk.Kind, u.GetNamespace(), u.GetName(), err)
		}
		if status, ok := u.Object["status"]; ok && (gvk.Kind == "Node" || gvk.Kind == "Pod") {
			created.Object["status"] = status
			if _, err := r.UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
				t.Fatalf("status of %s %s: %v", gvk.Kind, u.GetName(), err)
			}
		}
	}
}

// kubeconfig writes a kubeconfig for a user of the test control plane.
func kubeconfig(t *testing.T, env *testenv.Env, user envtest.User) string {
	t.Helper()
	u, err := env.AddUser(user, nil)
	if err != nil {
		t.Fatal(err)
	}
	kc, err := u.KubeConfig()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), user.Name+".kubeconfig")
	if err := os.WriteFile(path, kc, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func inventoryJSON(t *testing.T, args ...string) *inventory.Inventory {
	t.Helper()
	stdout, stderr, code := run(t, "", append([]string{"inventory", "-o", "json"}, args...)...)
	if code != ExitOK {
		t.Fatalf("inventory %v: exit %d: %s", args, code, stderr)
	}
	var inv inventory.Inventory
	if err := json.Unmarshal([]byte(stdout), &inv); err != nil {
		t.Fatal(err)
	}
	return &inv
}

// comparable strips what legitimately differs between a file and a live
// cluster: where objects came from, the namespaces a cluster always has and
// their objects (the kubernetes Service),
// Secrets (never listed live), AWS documents (not in a cluster), and node
// ports the API server allocates.
func comparable(inv *inventory.Inventory, namespaces map[string]bool, nodePorts bool) {
	var nss []inventory.Namespace
	for _, ns := range inv.Namespaces {
		if namespaces[ns.Name] {
			ns.Source, ns.Synthesized = "", false
			nss = append(nss, ns)
		}
	}
	inv.Namespaces = nss
	var workloads []inventory.Workload
	for _, w := range inv.Workloads {
		if namespaces[w.Namespace] {
			w.Source = ""
			// The AWS layer (instances, groups) is not in a cluster.
			for i := range w.Pods {
				w.Pods[i].Placement = engine.Placement{}
			}
			workloads = append(workloads, w)
		}
	}
	inv.Workloads = workloads
	var services []inventory.Service
	for _, s := range inv.Services {
		if namespaces[s.Namespace] {
			s.Source = ""
			if !nodePorts {
				for j := range s.Ports {
					s.Ports[j].NodePort = 0
				}
			}
			services = append(services, s)
		}
	}
	inv.Services = services
	for i := range inv.Ingresses {
		inv.Ingresses[i].Source = ""
	}
	for i := range inv.NetworkPolicies {
		inv.NetworkPolicies[i].Source = ""
	}
	var accounts []inventory.ServiceAccount
	for _, sa := range inv.ServiceAccounts {
		if namespaces[sa.Namespace] {
			sa.Source = ""
			accounts = append(accounts, sa)
		}
	}
	inv.ServiceAccounts = accounts
	for i := range inv.Nodes {
		// The API server taints every new Node not-ready until a kubelet
		// reports (TaintNodesByCondition); the files' nodes are ready.
		inv.Nodes[i].Source, inv.Nodes[i].Taints = "", nil
	}
	inv.Secrets, inv.Recognized, inv.Report = nil, nil, nil
	inv.SecurityGroups, inv.Instances, inv.SGPolicies, inv.AWSNetwork = nil, nil, nil, nil
}

func TestLiveClusterMatchesFiles(t *testing.T) {
	env := testenv.Start(t)
	apply(t, env.Config, "examples/ml-platform")
	admin := kubeconfig(t, env, envtest.User{Name: "admin", Groups: []string{"system:masters"}})

	files := inventoryJSON(t, "-f", "examples/ml-platform")
	live := inventoryJSON(t, "--kubeconfig", admin, "-A")
	if len(live.Secrets) != 0 {
		t.Errorf("secrets were listed from the cluster: %+v", live.Secrets)
	}
	if !strings.HasPrefix(live.Workloads[0].Source, "cluster ") {
		t.Errorf("live source = %q, want the cluster context", live.Workloads[0].Source)
	}
	namespaces := map[string]bool{}
	for _, ns := range files.Namespaces {
		namespaces[ns.Name] = true
	}
	// The example fixes the node ports of ingress-nginx; the API server
	// allocates the others.
	comparable(files, namespaces, false)
	comparable(live, namespaces, false)
	if !reflect.DeepEqual(files, live) {
		a, _ := json.MarshalIndent(files, "", " ")
		b, _ := json.MarshalIndent(live, "", " ")
		t.Errorf("live inventory differs from the files':\n%s", diff(string(a), string(b)))
	}

	t.Run("one namespace", func(t *testing.T) {
		inv := inventoryJSON(t, "--kubeconfig", admin, "-n", "ml-workloads")
		for _, w := range inv.Workloads {
			if w.Namespace != "ml-workloads" {
				t.Errorf("workload %s/%s read with -n ml-workloads", w.Namespace, w.Name)
			}
		}
		if len(inv.Workloads) != 2 {
			t.Errorf("%d workloads in ml-workloads, want 2", len(inv.Workloads))
		}
	})

	t.Run("RBAC forbids some lists", func(t *testing.T) {
		viewer := kubeconfig(t, env, envtest.User{Name: "viewer", Groups: []string{"ringfence:viewers"}})
		grantList(t, env.Config, "ringfence:viewers", map[string][]string{
			"":                  {"namespaces", "services", "serviceaccounts", "nodes"},
			"apps":              {"deployments"},
			"networking.k8s.io": {"ingresses"},
			"kubeflow.org":      {"pytorchjobs"},
		})
		// No NetworkPolicy can be read: that is no all-clear, but an error
		// unless --allow-partial.
		_, stderr, code := run(t, "", "inventory", "--kubeconfig", viewer, "-A")
		if code != ExitInput || !strings.Contains(stderr, `no NetworkPolicy could be read (forbidden: User "viewer" cannot list resource "networkpolicies" in API group "networking.k8s.io" at the cluster scope)`) || !strings.Contains(stderr, "--allow-partial") {
			t.Errorf("without --allow-partial: exit %d, want 2 and why: %s", code, stderr)
		}
		stdout, stderr, code := run(t, "", "inventory", "--kubeconfig", viewer, "-A", "--allow-partial")
		if code != ExitOK {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		for _, want := range []string{"NOT LISTED: FORBIDDEN",
			`pods cluster-wide: forbidden: User "viewer" cannot list resource "pods" in API group "" at the cluster scope`,
			`networkpolicies.networking.k8s.io cluster-wide: forbidden: User "viewer" cannot list resource "networkpolicies"`,
			"model-server", "text-embed-finetune"} {
			if !strings.Contains(stdout, want) {
				t.Errorf("output lacks %q:\n%s", want, stdout)
			}
		}
		if !strings.Contains(stderr, `ringfence: warning: NetworkPolicy in every namespace could not be read (forbidden: User "viewer" cannot list`) {
			t.Errorf("stderr does not say NetworkPolicies were unread: %s", stderr)
		}
	})

	t.Run("live pods fold into their workload", func(t *testing.T) {
		addOwnedPod(t, env.Config)
		inv := inventoryJSON(t, "--kubeconfig", admin, "-n", "ml-workloads")
		for _, w := range inv.Workloads {
			if w.Kind == "ReplicaSet" || w.Kind == "Pod" {
				t.Errorf("%s %s listed as a workload; it belongs to model-server", w.Kind, w.Name)
			}
			if w.Name == "model-server" && strings.Join(w.Instances, ",") != "model-server-7c9d-abcde" {
				t.Errorf("model-server instances = %v", w.Instances)
			}
		}
		// At pod level the live pod is a peer of its own, with the
		// workload's policies applied to its real labels.
		stdout, stderr, code := run(t, "", "reach", "--kubeconfig", admin, "-A", "--level", "pod")
		if code != ExitOK {
			t.Fatalf("reach: exit %d: %s", code, stderr)
		}
		if !strings.Contains(stdout, "ingress-nginx/ingress-nginx-controller => ml-workloads/model-server-7c9d-abcde : TCP 8080") {
			t.Errorf("reach --level pod does not show the live pod behind the ingress controller:\n%s", stdout)
		}
		// With the Deployment from a file, the file's template is what
		// runs once applied: the live pods of the old one are not its
		// instances.
		file := "examples/ml-platform/ml-workloads/model-server.yaml"
		inv = inventoryJSON(t, "--kubeconfig", admin, "-n", "ml-workloads", "-f", file)
		for _, w := range inv.Workloads {
			if w.Name == "model-server" && (len(w.Instances) != 0 || !strings.HasPrefix(w.Source, file+":")) {
				t.Errorf("model-server from %s with instances %v; want the file's copy without live pods", w.Source, w.Instances)
			}
		}
	})
}

// grantList lets a group list (and only list) the given resources.
func grantList(t *testing.T, cfg *rest.Config, group string, resources map[string][]string) {
	t.Helper()
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "ringfence-partial-reader"}}
	for apiGroup, res := range resources {
		role.Rules = append(role.Rules, rbacv1.PolicyRule{APIGroups: []string{apiGroup}, Resources: res, Verbs: []string{"list"}})
	}
	ctx := context.Background()
	if _, err := cs.RbacV1().ClusterRoles().Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "ringfence-partial-reader"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: role.Name},
		Subjects:   []rbacv1.Subject{{Kind: "Group", APIGroup: "rbac.authorization.k8s.io", Name: group}},
	}
	if _, err := cs.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// addOwnedPod adds what a Deployment controller would: a ReplicaSet owned by
// model-server and a running Pod owned by the ReplicaSet.
func addOwnedPod(t *testing.T, cfg *rest.Config) {
	t.Helper()
	ctx := context.Background()
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dep, err := cs.AppsV1().Deployments("ml-workloads").Get(ctx, "model-server", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	yes := true
	rs := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: "model-server-7c9d", Namespace: "ml-workloads",
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "Deployment", Name: dep.Name, UID: dep.UID, Controller: &yes}}},
		Spec: appsv1.ReplicaSetSpec{Selector: dep.Spec.Selector, Template: dep.Spec.Template},
	}
	rs.Spec.Template.Labels = map[string]string{"app": "ml-inference", "app.kubernetes.io/name": "model-server", "pod-template-hash": "7c9d"}
	if rs, err = cs.AppsV1().ReplicaSets("ml-workloads").Create(ctx, rs, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "model-server-7c9d-abcde", Namespace: "ml-workloads", Labels: rs.Spec.Template.Labels,
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: rs.Name, UID: rs.UID, Controller: &yes}}},
		Spec: rs.Spec.Template.Spec,
	}
	if pod, err = cs.CoreV1().Pods("ml-workloads").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pod.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.0.18.55", PodIPs: []corev1.PodIP{{IP: "10.0.18.55"}}}
	if _, err := cs.CoreV1().Pods("ml-workloads").UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// neverCalled makes an admission webhook configuration match no object: the
// test API server runs no pods, so a webhook it calls (ingress-nginx's
// admission controller in the example) would reject what it matches, and
// the call would leave the machine. The objects are still created.
func neverCalled(u *unstructured.Unstructured) {
	if u.GetAPIVersion() != "admissionregistration.k8s.io/v1" || !strings.HasSuffix(u.GetKind(), "WebhookConfiguration") {
		return
	}
	hooks, _, _ := unstructured.NestedSlice(u.Object, "webhooks")
	for _, h := range hooks {
		if m, ok := h.(map[string]any); ok {
			m["objectSelector"] = map[string]any{"matchLabels": map[string]any{"ringfence.test/admission": "never"}}
		}
	}
	_ = unstructured.SetNestedSlice(u.Object, hooks, "webhooks")
}
