package cli

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ringfence/ringfence/internal/check"
	"github.com/ringfence/ringfence/internal/load/document"
	"github.com/ringfence/ringfence/internal/testenv"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// documentedRole reads the Role or ClusterRole of docs/rbac/<file>.
func documentedRole(t *testing.T, file string) []rbacv1.PolicyRule {
	t.Helper()
	path := filepath.Join("docs", "rbac", file)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	objs, err := document.Read(path, f)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		if o.Kind == "Role" || o.Kind == "ClusterRole" {
			var r rbacv1.ClusterRole
			if err := json.Unmarshal(o.JSON, &r); err != nil {
				t.Fatal(err)
			}
			return r.Rules
		}
	}
	t.Fatalf("%s: no role", path)
	return nil
}

// bind grants a group rules cluster-wide (namespace "") or in namespaces.
func bind(t *testing.T, cfg *rest.Config, name, group string, rules []rbacv1.PolicyRule, namespaces ...string) {
	t.Helper()
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	subjects := []rbacv1.Subject{{Kind: "Group", APIGroup: "rbac.authorization.k8s.io", Name: group}}
	if len(namespaces) == 0 {
		if _, err := cs.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: rules}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := cs.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name}, Subjects: subjects,
			RoleRef: rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: name}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		return
	}
	for _, ns := range namespaces {
		if _, err := cs.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: rules}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := cs.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name}, Subjects: subjects,
			RoleRef: rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: name}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
}

// withNamespace writes a copy of a kubeconfig whose context names a
// namespace, as `kubectl config set-context --current --namespace` does.
func withNamespace(t *testing.T, path, ns string) string {
	t.Helper()
	cfg, err := clientcmd.LoadFromFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Contexts[cfg.CurrentContext].Namespace = ns
	out := filepath.Join(t.TempDir(), "ns.kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, out); err != nil {
		t.Fatal(err)
	}
	return out
}

// parseFindings reads the findings of `audit -o json` output.
func parseFindings(t *testing.T, stdout string) []check.Finding {
	t.Helper()
	var r auditJSON
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatalf("%v: %s", err, stdout)
	}
	return r.Findings
}

// TestLiveClusterAccess reads a real API server as users with partial
// rights, through the CLI: what RBAC hides is named and never taken for
// absent; the documented roles are enough; files win over the cluster.
func TestLiveClusterAccess(t *testing.T) {
	env := testenv.Start(t)
	apply(t, env.Config, "examples/ml-platform")
	apply(t, env.Config, "testdata/monitoring")
	admin := kubeconfig(t, env, envtest.User{Name: "admin", Groups: []string{"system:masters"}})
	full := documentedRole(t, "clusterrole.yaml")
	namespaced := documentedRole(t, "role.yaml")

	t.Run("the documented ClusterRole reads what an admin reads", func(t *testing.T) {
		bind(t, env.Config, "ringfence-reader", "ringfence:readers", full)
		reader := kubeconfig(t, env, envtest.User{Name: "reader", Groups: []string{"ringfence:readers"}})
		got := inventoryJSON(t, "--kubeconfig", reader, "-A")
		want := inventoryJSON(t, "--kubeconfig", admin, "-A")
		if len(got.Report.Forbidden) > 0 {
			t.Errorf("the documented role leaves lists forbidden: %v", got.Report.Forbidden)
		}
		if !reflect.DeepEqual(got, want) {
			a, _ := json.MarshalIndent(want, "", " ")
			b, _ := json.MarshalIndent(got, "", " ")
			t.Errorf("reader's inventory differs from admin's:\n%s", diff(string(a), string(b)))
		}
	})

	bind(t, env.Config, "ringfence-ns-reader", "ringfence:ns-readers", namespaced, "ml-workloads", "monitoring")
	nsReader := kubeconfig(t, env, envtest.User{Name: "ns-reader", Groups: []string{"ringfence:ns-readers"}})

	t.Run("the documented Role reads its namespace", func(t *testing.T) {
		inv := inventoryJSON(t, "--kubeconfig", nsReader, "-n", "ml-workloads")
		names := map[string]bool{}
		for _, w := range inv.Workloads {
			names[w.Name] = true
		}
		if !names["model-server"] || !names["text-embed-finetune"] || len(inv.NetworkPolicies) != 3 {
			t.Errorf("workloads %v, %d policies; want model-server, text-embed-finetune and 3 policies", names, len(inv.NetworkPolicies))
		}
		// The cluster-scoped kinds are unread, and said to be.
		want := []string{"namespaces cluster-wide: forbidden", "nodes cluster-wide: forbidden", "ingressclasses.networking.k8s.io cluster-wide: forbidden",
			"validatingwebhookconfigurations.admissionregistration.k8s.io cluster-wide: forbidden", "mutatingwebhookconfigurations.admissionregistration.k8s.io cluster-wide: forbidden",
			"eniconfigs.crd.k8s.amazonaws.com cluster-wide: forbidden"}
		if got := strings.Join(inv.Report.Forbidden, "\n"); len(inv.Report.Forbidden) != len(want) || !containsAll(got, want) {
			t.Errorf("forbidden = %q, want the six cluster-scoped kinds", inv.Report.Forbidden)
		}
	})

	t.Run("-A with a namespace-only Role falls back to the context's namespace", func(t *testing.T) {
		// The context names no namespace: "default", where nothing may be
		// read. That is no "0 findings": it is an error that says why.
		stdout, stderr, code := run(t, "", "audit", "--kubeconfig", nsReader, "-A")
		if code != ExitInput || stdout != "" {
			t.Errorf("exit %d, stdout %q; want 2 and nothing", code, stdout)
		}
		for _, want := range []string{`-A: the namespaces cannot be listed`, `no NetworkPolicy could be read (forbidden: User "ns-reader" cannot list resource "networkpolicies" in API group "networking.k8s.io" in the namespace "default")`, "give -n <namespace>", `context "envtest"`, "server https://127.0.0.1:"} {
			if !strings.Contains(stderr, want) {
				t.Errorf("stderr lacks %q:\n%s", want, stderr)
			}
		}
		// With the context's namespace set, -A reads it, and says so.
		inCtx := withNamespace(t, nsReader, "ml-workloads")
		stdout, stderr, code = run(t, "", "inventory", "--kubeconfig", inCtx, "-A")
		if code != ExitOK || !strings.Contains(stdout, "model-server") || !strings.Contains(stdout, `only the context's namespace "ml-workloads" was read`) {
			t.Errorf("exit %d:\n%s\n%s", code, stdout, stderr)
		}
	})

	t.Run("-A with rights in some namespaces reads those", func(t *testing.T) {
		bind(t, env.Config, "ringfence-ns-lister", "ringfence:ns-readers-plus", []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"namespaces"}, Verbs: []string{"list"}}})
		bind(t, env.Config, "ringfence-ns-reader-plus", "ringfence:ns-readers-plus", namespaced, "ml-workloads", "monitoring")
		user := kubeconfig(t, env, envtest.User{Name: "partial", Groups: []string{"ringfence:ns-readers-plus"}})
		stdout, stderr, code := run(t, "", "inventory", "--kubeconfig", user, "-A", "-o", "json")
		if code != ExitOK {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		var inv struct {
			Workloads []struct{ Namespace, Name string }
			Report    document.Report
		}
		if err := json.Unmarshal([]byte(stdout), &inv); err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, w := range inv.Workloads {
			seen[w.Namespace] = true
		}
		if !seen["ml-workloads"] || !seen["monitoring"] || seen["ingress-nginx"] || seen["kube-system"] {
			t.Errorf("namespaces read: %v; want ml-workloads and monitoring only", seen)
		}
		forbidden := strings.Join(inv.Report.Forbidden, "\n")
		for _, want := range []string{
			`networkpolicies.networking.k8s.io in namespace ingress-nginx: forbidden: User "partial" cannot list resource "networkpolicies" in API group "networking.k8s.io" in the namespace "ingress-nginx"`,
			`pods in namespace kube-system: forbidden`,
		} {
			if !strings.Contains(forbidden, want) {
				t.Errorf("forbidden lacks %q:\n%s", want, forbidden)
			}
		}
		if strings.Contains(forbidden, "in namespace ml-workloads") {
			t.Errorf("ml-workloads is readable but reported forbidden:\n%s", forbidden)
		}
		for _, want := range []string{"-A: pods, services", "cannot be listed cluster-wide (forbidden); they were read namespace by namespace in default, features, ingress-nginx,", "ringfence: warning: NetworkPolicy in namespace ingress-nginx could not be read"} {
			if !strings.Contains(stdout+stderr, want) {
				t.Errorf("output lacks %q:\n%s", want, stderr)
			}
		}
		// Findings that hidden policies could change are possible, not
		// certain; model-server is reached through ingress-nginx, whose
		// policies are unread.
		stdout, stderr, code = run(t, "", "audit", "--kubeconfig", user, "-A", "-o", "json")
		if code == ExitInput {
			t.Fatalf("audit: exit %d: %s", code, stderr)
		}
		for _, f := range parseFindings(t, stdout) {
			if f.Object.Namespace == "ml-workloads" && f.Rule != "RF013" && f.Confidence != check.ConfidencePossible {
				t.Errorf("%s %s is %q, but Namespaces and other namespaces' policies are unread", f.Rule, f.Object, f.Confidence)
			}
		}
	})

	t.Run("NetworkPolicies forbidden: exit 2, or possible findings with --allow-partial", func(t *testing.T) {
		var noPolicies []rbacv1.PolicyRule
		for _, r := range full {
			r := *r.DeepCopy()
			if r.APIGroups[0] == "networking.k8s.io" {
				r.Resources = []string{"ingressclasses", "ingresses"}
			}
			noPolicies = append(noPolicies, r)
		}
		bind(t, env.Config, "ringfence-no-policies", "ringfence:no-policies", noPolicies)
		user := kubeconfig(t, env, envtest.User{Name: "no-policies", Groups: []string{"ringfence:no-policies"}})
		for _, verb := range []string{"audit", "reach", "inventory", "generate"} {
			_, stderr, code := run(t, "", verb, "--kubeconfig", user, "-A")
			if code != ExitInput || !strings.Contains(stderr, "no NetworkPolicy could be read") {
				t.Errorf("%s: exit %d, want 2: %s", verb, code, stderr)
			}
		}
		stdout, stderr, code := run(t, "", "audit", "--kubeconfig", user, "-A", "--allow-partial", "-o", "json")
		if code == ExitInput {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		if !strings.Contains(stderr, `ringfence: warning: NetworkPolicy in every namespace could not be read (forbidden: User "no-policies" cannot list resource "networkpolicies" in API group "networking.k8s.io" at the cluster scope)`) {
			t.Errorf("stderr does not name the unread kind and why: %s", stderr)
		}
		findings := parseFindings(t, stdout)
		if len(findings) == 0 {
			t.Fatal("no findings")
		}
		for _, f := range findings {
			if f.Rule == "RF003" || strings.Contains(strings.Join(f.Path, " "), "not isolated") {
				if f.Confidence != check.ConfidencePossible || len(f.Assumptions) == 0 || !strings.Contains(f.Assumptions[0], "NetworkPolicy objects of any namespace could not be read") {
					t.Errorf("%s on %s says %q with %q although NetworkPolicies are unread", f.Rule, f.Object, f.Confidence, f.Assumptions)
				}
			}
		}
	})

	t.Run("files win over the cluster, whatever the order", func(t *testing.T) {
		src, err := os.ReadFile("examples/ml-platform/ml-workloads/networkpolicies.yaml")
		if err != nil {
			t.Fatal(err)
		}
		// The local change: restrict-ml-egress also allows DNS.
		changed := strings.Replace(string(src), "    - to:\n        - podSelector: {}\n", "    - to:\n        - podSelector: {}\n    - ports:\n        - protocol: UDP\n          port: 53\n", 1)
		if changed == string(src) {
			t.Fatal("the example changed; adapt the edit")
		}
		file := filepath.Join(t.TempDir(), "networkpolicies.yaml")
		if err := os.WriteFile(file, []byte(changed), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, args := range [][]string{{"-f", file, "--kubeconfig", admin, "-A"}, {"--kubeconfig", admin, "-A", "-f", file}} {
			inv := inventoryJSON(t, args...)
			found := false
			for _, p := range inv.NetworkPolicies {
				if p.Name == "restrict-ml-egress" {
					found = true
					if !strings.HasPrefix(p.Source, file+":") || p.EgressRules != 3 {
						t.Errorf("%v: restrict-ml-egress from %s with %d egress rules; want the file's copy (3 rules)", args, p.Source, p.EgressRules)
					}
				}
				if p.Name == "allow-nlb-health-checks" && !strings.HasPrefix(p.Source, file+":") {
					t.Errorf("%v: allow-nlb-health-checks from %s, want the file", args, p.Source)
				}
			}
			if !found {
				t.Errorf("%v: restrict-ml-egress missing", args)
			}
			warned := false
			for _, w := range inv.Report.Warnings {
				if strings.HasPrefix(w.Source.File, file) && w.Object == "NetworkPolicy/ml-workloads/restrict-ml-egress" && strings.Contains(w.Msg, "this file's copy is used over the live one in cluster envtest") {
					warned = true
				}
			}
			if !warned {
				t.Errorf("%v: no warning says which copy was used: %+v", args, inv.Report.Warnings)
			}
		}
		// The preview changes the verdict: the training job now reaches DNS.
		stdout, _, _ := run(t, "", "audit", "--kubeconfig", admin, "-A", "--rules", "RF005")
		if !strings.Contains(stdout, "text-embed-finetune") {
			t.Fatalf("live: RF005 does not flag the training job's missing DNS:\n%s", stdout)
		}
		stdout, _, _ = run(t, "", "audit", "--kubeconfig", admin, "-A", "--rules", "RF005", "-f", file)
		if strings.Contains(stdout, "text-embed-finetune") {
			t.Errorf("with the file: RF005 still flags the training job, the live copy was used:\n%s", stdout)
		}
	})

	t.Run("taints show in NODES and explain placement", func(t *testing.T) {
		stdout, stderr, code := run(t, "", "inventory", "--kubeconfig", admin, "-A")
		if code != ExitOK {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		// The API server taints new Nodes not-ready (TaintNodesByCondition).
		for _, want := range []string{"TAINTS", "node.kubernetes.io/not-ready:NoSchedule", "NOT PLACED: NO NODE ADMITS THE PODS",
			"taints it does not tolerate: node.kubernetes.io/not-ready:NoSchedule on "} {
			if !strings.Contains(stdout, want) {
				t.Errorf("inventory lacks %q:\n%s", want, stdout)
			}
		}
	})

	t.Run("Prometheus and Alertmanager pods match kube-prometheus's policies", func(t *testing.T) {
		ownedStatefulSet(t, env.Config)
		for _, args := range [][]string{{"--kubeconfig", admin, "-n", "monitoring"}, {"-f", "testdata/monitoring"}} {
			stdout, stderr, code := run(t, "", append([]string{"audit", "-o", "json", "--rules", "RF014"}, args...)...)
			if code == ExitInput {
				t.Fatalf("%v: exit %d: %s", args, code, stderr)
			}
			for _, f := range parseFindings(t, stdout) {
				if f.Object.Namespace == "monitoring" {
					t.Errorf("%v: %s", args, f.Message)
				}
			}
			stdout, stderr, code = run(t, "", append([]string{"reach"}, args...)...)
			if code != ExitOK || !strings.Contains(stdout, "monitoring/k8s => monitoring/main : TCP 8080,9093\n") || !strings.Contains(stdout, "monitoring/main => monitoring/main : TCP 9094; UDP 9094\n") {
				t.Errorf("%v: reach prometheus -> alertmanager: exit %d\n%s%s", args, code, stdout, stderr)
			}
			inv := inventoryJSON(t, append([]string{"-n", "monitoring"}, args...)...)
			for _, w := range inv.Workloads {
				if w.Kind == "StatefulSet" {
					t.Errorf("%v: the operator's StatefulSet %s is listed; it belongs to its Prometheus", args, w.Name)
				}
			}
		}
	})

	t.Run("ServiceMonitors and PodMonitors read live name the scrapers", func(t *testing.T) {
		needs := generatedNeeds(t, "--kubeconfig", admin, "-n", "monitoring", "-f", "testdata/needs/monitoring-fences.yaml")
		g := findNeed(needs, "monitoring/Deployment/grafana", "scrapes")
		if g == nil || g.Status != "kept" || g.What != "TCP 3000 from Prometheus (monitoring/Prometheus/k8s)" || !strings.Contains(g.Why, "ServiceMonitor monitoring/grafana selects it (cluster envtest") {
			t.Errorf("grafana's scrape: %+v", g)
		}
		a := findNeed(needs, "monitoring/Alertmanager/main", "scrapes")
		if a == nil || a.Status != "kept" || !strings.Contains(a.Why, "PodMonitor monitoring/alertmanager-main selects it") {
			t.Errorf("alertmanager's scrape: %+v", a)
		}
	})
}

func containsAll(s string, subs []string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

// ownedStatefulSet adds what the prometheus-operator would: the StatefulSet
// prometheus-k8s, owned by Prometheus monitoring/k8s.
func ownedStatefulSet(t *testing.T, cfg *rest.Config) {
	t.Helper()
	ctx := context.Background()
	dc, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	prom, err := dc.Resource(schema.GroupVersionResource{Group: "monitoring.coreos.com", Version: "v1", Resource: "prometheuses"}).Namespace("monitoring").Get(ctx, "k8s", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	yes := true
	labels := map[string]string{"app.kubernetes.io/name": "prometheus", "operator.prometheus.io/name": "k8s", "prometheus": "k8s"}
	ss := &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: "prometheus-k8s", Namespace: "monitoring",
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "monitoring.coreos.com/v1", Kind: "Prometheus", Name: "k8s", UID: prom.GetUID(), Controller: &yes}}},
		Spec: appsv1.StatefulSetSpec{Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "prometheus", Image: "prom/prometheus"}}}}},
	}
	if _, err := cs.AppsV1().StatefulSets("monitoring").Create(ctx, ss, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// TestClusterErrors checks the messages of a cluster that cannot be used:
// each in the user's words, naming the context and server and what to do,
// never a raw request URL; all exit 2.
func TestClusterErrors(t *testing.T) {
	dir := t.TempDir()
	writeConfig := func(name, server, token string) string {
		path := filepath.Join(dir, name+".kubeconfig")
		body := "apiVersion: v1\nkind: Config\ncurrent-context: " + name + "\nclusters:\n- name: c\n  cluster:\n    server: " + server + "\n    insecure-skip-tls-verify: true\ncontexts:\n- name: " + name + "\n  context: {cluster: c, user: u-" + name + "}\nusers:\n- name: u-" + name + "\n  user: {token: " + token + "}\n"
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	// A port nothing listens on: connection refused.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "https://" + l.Addr().String()
	l.Close()
	// A server that accepts and never answers: a timeout.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() {
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	t.Setenv("KUBECONFIG", "")
	// A kubeconfig whose credentials come from a plugin that is not there.
	plugin := filepath.Join(dir, "plugin.kubeconfig")
	if err := os.WriteFile(plugin, []byte("apiVersion: v1\nkind: Config\ncurrent-context: eks\nclusters:\n- name: c\n  cluster: {server: "+refused+", insecure-skip-tls-verify: true}\ncontexts:\n- name: eks\n  context: {cluster: c, user: eks-user}\nusers:\n- name: eks-user\n  user:\n    exec: {apiVersion: client.authentication.k8s.io/v1beta1, command: "+filepath.Join(dir, "no-such-aws")+", args: [eks, get-token], interactiveMode: Never}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		args []string
		want []string
	}{
		{"no kubeconfig", []string{"audit"}, []string{"no kubeconfig: $KUBECONFIG is not set and " + clientcmd.RecommendedHomeFile + " does not exist", "--kubeconfig <file>", "-f"}},
		{"missing --kubeconfig file", []string{"audit", "--kubeconfig", filepath.Join(dir, "nope")}, []string{"--kubeconfig " + filepath.Join(dir, "nope") + ": no such file or directory"}},
		{"unknown context", []string{"audit", "--kubeconfig", writeConfig("dev", refused, "t"), "--context", "prod"}, []string{`context "prod" does not exist in the kubeconfig`, "kubectl config get-contexts"}},
		{"connection refused", []string{"audit", "--kubeconfig", writeConfig("dev", refused, "t")}, []string{`cluster (context "dev", server ` + refused + `): the connection to the server was refused`, "kubectl --context dev cluster-info"}},
		{"credential plugin", []string{"reach", "--kubeconfig", plugin}, []string{`cluster (context "eks", server ` + refused + `): the kubeconfig's credential plugin for user "eks-user" failed`, "no-such-aws", "kubectl config view --minify"}},
		{"timeout", []string{"inventory", "--request-timeout", "1s", "--kubeconfig", writeConfig("slow", "https://"+silent.Addr().String(), "t")}, []string{`cluster (context "slow", server https://` + silent.Addr().String() + `): the server did not answer within 1s`, "--request-timeout"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := os.Stat(clientcmd.RecommendedHomeFile); err == nil && c.name == "no kubeconfig" {
				t.Skip("this machine has a kubeconfig at " + clientcmd.RecommendedHomeFile)
			}
			start := time.Now()
			stdout, stderr, code := run(t, "", c.args...)
			if code != ExitInput || stdout != "" {
				t.Errorf("exit %d, stdout %q; want 2 and nothing", code, stdout)
			}
			for _, w := range c.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
			for _, raw := range []string{`Get "`, "?limit=", "dial tcp", "KUBERNETES_MASTER"} {
				if strings.Contains(stderr, raw) {
					t.Errorf("stderr speaks client-go (%q):\n%s", raw, stderr)
				}
			}
			if d := time.Since(start); d > 20*time.Second {
				t.Errorf("took %s", d)
			}
		})
	}

	t.Run("unauthorized", func(t *testing.T) {
		env := testenv.Start(t)
		server := env.Config.Host
		if !strings.HasPrefix(server, "https://") {
			server = "https://" + server
		}
		path := writeConfig("stale", server, "expired-token")
		_, stderr, code := run(t, "", "audit", "--kubeconfig", path)
		if code != ExitInput {
			t.Errorf("exit %d, want 2", code)
		}
		for _, w := range []string{`cluster (context "stale", server ` + server + `): the API server rejected the credentials of user "u-stale" (401 Unauthorized)`, "log in again", "kubectl --context stale auth whoami"} {
			if !strings.Contains(stderr, w) {
				t.Errorf("stderr lacks %q:\n%s", w, stderr)
			}
		}
	})
}
