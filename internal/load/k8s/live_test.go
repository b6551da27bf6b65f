package k8s

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ringfence/ringfence/internal/load/document"
	"github.com/ringfence/ringfence/internal/testenv"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// recordingProxy serves the test control plane's API on plain HTTP at
// 127.0.0.1, authenticating as the test's admin, and records the Accept
// header of every list request by path. It returns a kubeconfig for it.
func recordingProxy(t testing.TB, cfg *rest.Config) (kubeconfig string, accepts func() map[string]string) {
	t.Helper()
	rt, err := rest.TransportFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	target, err := url.Parse(cfg.Host)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	seen := map[string]string{}
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.Transport = rt
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			mu.Lock()
			seen[r.URL.Path] = r.Header.Get("Accept")
			mu.Unlock()
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	kc := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: envtest, cluster: {server: %q}}]
users: [{name: admin, user: {}}]
contexts: [{name: envtest, context: {cluster: envtest, user: admin}}]
current-context: envtest
`, srv.URL)
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(path, []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, func() map[string]string {
		mu.Lock()
		defer mu.Unlock()
		out := map[string]string{}
		for k, v := range seen {
			out[k] = v
		}
		return out
	}
}

// seed creates namespaces namespaces holding pods Pods, services Services
// and policies NetworkPolicies between them, through the API, 16 at a time.
func seed(t testing.TB, cfg *rest.Config, namespaces, pods, services, policies int) {
	t.Helper()
	c := rest.CopyConfig(cfg)
	c.QPS, c.Burst = 1000, 1000
	c.ContentType = runtime.ContentTypeProtobuf
	cs, err := kubernetes.NewForConfig(c)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ns := func(i int) string { return fmt.Sprintf("team-%04d", i%namespaces) }
	for i := range namespaces {
		if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns(i), Labels: map[string]string{"team": ns(i)}}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	jobs := make(chan func() error)
	errs := make(chan error, 1)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for j := range jobs {
				if err := j(); err != nil {
					select {
					case errs <- err:
					default:
					}
				}
			}
		})
	}
	for i := range pods {
		jobs <- func() error {
			app := fmt.Sprintf("app-%d", i%25)
			_, err := cs.CoreV1().Pods(ns(i)).Create(ctx, &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("pod-%d", i), Labels: map[string]string{"app": app, "tier": "backend"}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "registry.example/app:1",
					Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}}}}},
			}, metav1.CreateOptions{})
			return err
		}
	}
	for i := range services {
		jobs <- func() error {
			_, err := cs.CoreV1().Services(ns(i)).Create(ctx, &corev1.Service{
				ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("svc-%d", i)},
				Spec: corev1.ServiceSpec{Selector: map[string]string{"app": fmt.Sprintf("app-%d", i%25)},
					Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromString("http")}}},
			}, metav1.CreateOptions{})
			return err
		}
	}
	tcp := corev1.ProtocolTCP
	for i := range policies {
		jobs <- func() error {
			port := intstr.FromInt32(8080)
			_, err := cs.NetworkingV1().NetworkPolicies(ns(i)).Create(ctx, &networkingv1.NetworkPolicy{
				ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("np-%d", i)},
				Spec: networkingv1.NetworkPolicySpec{
					PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": fmt.Sprintf("app-%d", i%25)}},
					Ingress: []networkingv1.NetworkPolicyIngressRule{{
						From:  []networkingv1.NetworkPolicyPeer{{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"team": ns(i + 1)}}}},
						Ports: []networkingv1.NetworkPolicyPort{{Protocol: &tcp, Port: &port}},
					}},
					PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
				},
			}, metav1.CreateOptions{})
			return err
		}
	}
	close(jobs)
	wg.Wait()
	select {
	case err := <-errs:
		t.Fatalf("seeding: %v", err)
	default:
	}
}

// readCluster reads the whole cluster the kubeconfig names, as -A does.
func readCluster(t testing.TB, kubeconfig string, jsonOnly bool) *Builder {
	t.Helper()
	b := NewBuilder("", &document.Report{})
	opts := ClusterOptions{Kubeconfig: kubeconfig, AllNamespaces: true, Timeout: 5 * time.Minute, jsonOnly: jsonOnly}
	if err := LoadCluster(context.Background(), opts, b); err != nil {
		t.Fatal(err)
	}
	return b
}

// TestLiveListsAskForProtobuf reads a cluster through a proxy that records
// what each list asked for: built-in kinds ask for protobuf (JSON second,
// for servers that cannot), custom resources for JSON only, and what is
// read is the same either way.
func TestLiveListsAskForProtobuf(t *testing.T) {
	env := testenv.Start(t)
	seed(t, env.Config, 3, 30, 6, 6)
	kc, accepts := recordingProxy(t, env.Config)
	w := readCluster(t, kc, false).Finish()
	got := accepts()
	for path, want := range map[string]string{
		"/api/v1/pods":     "application/vnd.kubernetes.protobuf,application/json",
		"/api/v1/services": "application/vnd.kubernetes.protobuf,application/json",
		"/apis/networking.k8s.io/v1/networkpolicies": "application/vnd.kubernetes.protobuf,application/json",
		"/apis/apps/v1/deployments":                  "application/vnd.kubernetes.protobuf,application/json",
		"/apis/ray.io/v1/rayclusters":                "application/json",
	} {
		if got[path] != want {
			t.Errorf("list %s asked for %q, want %q", path, got[path], want)
		}
	}
	if len(w.Policies) != 6 || len(w.Services) < 6 || len(w.Workloads) < 30 {
		t.Errorf("read %d policies, %d services, %d workloads; want 6, at least 6 and 30", len(w.Policies), len(w.Services), len(w.Workloads))
	}
	// The same cluster read as JSON gives the same world.
	j := readCluster(t, kc, true).Finish()
	for i, p := range w.Policies {
		if !reflect.DeepEqual(p.Spec, j.Policies[i].Spec) || p.Meta.Name != j.Policies[i].Meta.Name {
			t.Errorf("policy %s read as protobuf differs from JSON", p.Meta.Name)
		}
	}
	if len(j.Workloads) != len(w.Workloads) || len(j.Services) != len(w.Services) {
		t.Errorf("JSON read %d workloads and %d services, protobuf %d and %d", len(j.Workloads), len(j.Services), len(w.Workloads), len(w.Services))
	}
}

// BenchmarkLiveRead lists 20,000 pods, 5,000 Services and 5,000
// NetworkPolicies (200 namespaces) from a real kube-apiserver and etcd, as
// `ringfence -A` does, into the builder. Seeding is not measured. It
// reports the client's CPU time (the API server's is its own process) and
// compares protobuf with JSON for the built-in kinds in the same run.
func BenchmarkLiveRead(b *testing.B) {
	env := testenv.Start(b)
	start := time.Now()
	seed(b, env.Config, 200, 20000, 5000, 5000)
	b.Logf("seeded 20,000 pods, 5,000 Services, 5,000 NetworkPolicies in %s", time.Since(start).Round(time.Second))
	kc, _ := recordingProxy(b, env.Config)
	for _, mode := range []struct {
		name     string
		jsonOnly bool
	}{{"protobuf", false}, {"json", true}} {
		b.Run(mode.name, func(b *testing.B) {
			cpu0 := cpuTime()
			for b.Loop() {
				w := readCluster(b, kc, mode.jsonOnly).Finish()
				if len(w.Policies) != 5000 || len(w.Services) < 5000 {
					b.Fatalf("read %d policies and %d services", len(w.Policies), len(w.Services))
				}
			}
			b.ReportMetric((cpuTime()-cpu0).Seconds()/float64(b.N), "cpu-s/op")
		})
	}
}

// cpuTime is the process's user and system time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
