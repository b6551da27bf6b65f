package cli

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ringfence/ringfence/api/v1alpha1"
	"github.com/ringfence/ringfence/internal/controller"
	"github.com/ringfence/ringfence/internal/testenv"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func get(url string) (int, string) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// `ringfence controller` as the chart runs it, with the publication from a
// mounted file: it fences a Fence's workloads with the current S3 ranges,
// answers its probes and metrics, and on SIGTERM (a cancelled context)
// stops cleanly and hands its Lease back.
func TestLiveControllerCommand(t *testing.T) {
	env := testenv.Start(t, filepath.Join(testenv.RepoRoot(), "deploy", "ringfence-controller", "crds"))
	admin := kubeconfig(t, env, envtest.User{Name: "admin", Groups: []string{"system:masters"}})
	scheme, err := controller.NewScheme()
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(env.Config, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, ns := range []string{"ringfence-system", "ml"} {
		if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
			t.Fatal(err)
		}
	}
	fence := &v1alpha1.Fence{ObjectMeta: metav1.ObjectMeta{Name: "training", Namespace: "ml"}, Spec: v1alpha1.FenceSpec{
		Workloads: metav1.LabelSelector{MatchLabels: map[string]string{"app": "trainer"}},
		Egress:    []v1alpha1.EgressIntent{{AWS: &v1alpha1.AWSDestination{Service: "S3", Region: "us-east-1"}}},
	}}
	if err := c.Create(ctx, fence); err != nil {
		t.Fatal(err)
	}
	rangesFile := filepath.Join(t.TempDir(), "ip-ranges.json")
	data, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "internal", "ranges", "testdata", "ip-ranges-2026-04-13-22-07-05.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(rangesFile, data, 0o644); err != nil {
		t.Fatal(err)
	}
	probes, metricsAddr := freeAddr(t), freeAddr(t)
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var stderr testenv.Buffer
	done := make(chan int, 1)
	go func() {
		done <- Main(runCtx, []string{"controller", "--kubeconfig", admin, "--namespace", "ringfence-system", "--feed-file", rangesFile,
			"--interval", "200ms", "--leader-elect", "--health-probe-bind-address", probes, "--metrics-bind-address", metricsAddr}, Streams{In: strings.NewReader(""), Out: io.Discard, Err: &stderr})
	}()
	deadline := time.Now().Add(45 * time.Second)
	for {
		var p networkingv1.NetworkPolicy
		err := c.Get(ctx, client.ObjectKey{Namespace: "ml", Name: "ringfence-training"}, &p)
		if err == nil && strings.Contains(p.Annotations[controller.SyncTokenAnnotation], "1776118025") && len(p.Spec.Egress) == 1 && hasCIDR(p, "16.15.156.0/22") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no ringfence-training policy with the S3 ranges: %v\n%s", err, stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		if code, body := get("http://" + probes + path); code != http.StatusOK {
			t.Errorf("%s: %d %s", path, code, body)
		}
	}
	code, body := get("http://" + metricsAddr + "/metrics")
	for _, m := range []string{"ringfence_api_writes_total", "ringfence_feed_age_seconds", "ringfence_prefixes{key=\"S3@us-east-1\"}", "ringfence_last_sync_timestamp_seconds", "ringfence_errors_total"} {
		if code != http.StatusOK || !strings.Contains(body, m) {
			t.Errorf("metrics lack %s (%d)", m, code)
		}
	}
	cancel()
	select {
	case code := <-done:
		if code != ExitOK {
			t.Errorf("exit %d on shutdown: %s", code, stderr.String())
		}
	case <-time.After(40 * time.Second):
		t.Fatal("the controller did not stop")
	}
	var lease coordinationv1.Lease
	if err := c.Get(ctx, client.ObjectKey{Namespace: "ringfence-system", Name: "ringfence-controller"}, &lease); err != nil {
		t.Fatalf("no Lease: %v", err)
	}
	if h := lease.Spec.HolderIdentity; h != nil && *h != "" {
		t.Errorf("the Lease is still held by %s after shutdown", *h)
	}
}

func hasCIDR(p networkingv1.NetworkPolicy, cidr string) bool {
	for _, r := range p.Spec.Egress {
		for _, peer := range r.To {
			if peer.IPBlock != nil && peer.IPBlock.CIDR == cidr {
				return true
			}
		}
	}
	return false
}

// Bad safety-rule flags exit 2 before anything starts, saying which.
func TestControllerRuleFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--max-growth", "0"}, "--max-growth 0: want a share above 0"},
		{[]string{"--max-growth", "-1"}, "--max-growth -1"},
		{[]string{"--max-shrink", "2"}, "--max-shrink 2"},
	} {
		_, stderr, code := run(t, "", append([]string{"controller", "--namespace", "ringfence-system"}, c.args...)...)
		if code != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, %s", c.args, code, stderr)
		}
	}
}
