package deploy

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ringfence/ringfence/api/v1alpha1"
	"github.com/ringfence/ringfence/internal/cli"
	"github.com/ringfence/ringfence/internal/controller"
	"github.com/ringfence/ringfence/internal/testenv"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// The chart's objects are valid for a real API server, and the controller
// does its whole job with exactly the chart's RBAC: run as the chart's
// ServiceAccount, it writes a Fence's policies and status, rewrites an
// opted-in policy's rule, records Events, keeps its ledger and holds its
// Lease.
func TestLiveChartRBAC(t *testing.T) {
	objs := render(t)
	env := testenv.Start(t, filepath.Join(testenv.RepoRoot(), "deploy", chartDir, "crds"))
	scheme, err := controller.NewScheme()
	if err != nil {
		t.Fatal(err)
	}
	admin, err := client.New(env.Config, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, ns := range []string{"ringfence-system", "ml"} {
		if err := admin.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
			t.Fatal(err)
		}
	}
	for _, o := range objs {
		if _, crd := o.(*apiextensionsv1.CustomResourceDefinition); crd {
			continue // installed with the control plane
		}
		obj, ok := o.(client.Object)
		if !ok {
			t.Fatalf("%T is not an object", o)
		}
		if err := admin.Create(ctx, obj); err != nil {
			t.Fatalf("the API server refuses the chart's %T %s: %v", o, obj.GetName(), err)
		}
	}
	user, err := env.AddUser(envtest.User{Name: "system:serviceaccount:ringfence-system:ringfence-controller", Groups: []string{"system:serviceaccounts", "system:serviceaccounts:ringfence-system", "system:authenticated"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	kc, err := user.KubeConfig()
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig := filepath.Join(t.TempDir(), "sa.kubeconfig")
	if err := os.WriteFile(kubeconfig, kc, 0o600); err != nil {
		t.Fatal(err)
	}

	f := &v1alpha1.Fence{ObjectMeta: metav1.ObjectMeta{Name: "training", Namespace: "ml"}, Spec: v1alpha1.FenceSpec{
		Workloads: metav1.LabelSelector{MatchLabels: map[string]string{"app": "trainer"}},
		Egress:    []v1alpha1.EgressIntent{{AWS: &v1alpha1.AWSDestination{Service: "S3", Region: "us-east-1"}}, {DNS: &v1alpha1.DNSDestination{}}, {Peers: &v1alpha1.PeersDestination{SameJob: true}}},
	}}
	if err := admin.Create(ctx, f); err != nil {
		t.Fatal(err)
	}
	// The pods of a PyTorchJob, as its operator makes them.
	job := "text-embed-finetune"
	yes := true
	owner := metav1.OwnerReference{APIVersion: "kubeflow.org/v1", Kind: "PyTorchJob", Name: job, UID: "4bd0c5c1-8a4e-4a36-9d7e-2f0f3c1b5e21", Controller: &yes}
	for i := range 2 {
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: job + "-worker-" + string(rune('0'+i)), Namespace: "ml", OwnerReferences: []metav1.OwnerReference{owner},
			Labels: map[string]string{"app": "trainer", "training.kubeflow.org/job-name": job}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "pytorch", Image: "pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime"}}}}
		if err := admin.Create(ctx, pod); err != nil {
			t.Fatal(err)
		}
	}
	tcp, https := corev1.ProtocolTCP, intstr.FromInt32(443)
	legacy := &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "legacy", Namespace: "ml", Annotations: map[string]string{controller.RangesAnnotation: "S3@us-east-1"}},
		Spec: networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}, Egress: []networkingv1.NetworkPolicyEgressRule{
			{To: []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: "52.216.0.0/15"}}}, Ports: []networkingv1.NetworkPolicyPort{{Protocol: &tcp, Port: &https}}}}}}
	if err := admin.Create(ctx, legacy); err != nil {
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
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var stderr testenv.Buffer
	done := make(chan int, 1)
	go func() {
		done <- cli.Main(runCtx, []string{"controller", "--kubeconfig", kubeconfig, "--namespace", "ringfence-system", "--feed-file", rangesFile,
			"--interval", "200ms", "--leader-elect", "--health-probe-bind-address", "0", "--metrics-bind-address", "0"}, cli.Streams{In: strings.NewReader(""), Out: io.Discard, Err: &stderr})
	}()
	deadline := time.Now().Add(45 * time.Second)
	check := func() string {
		var p networkingv1.NetworkPolicyList
		if err := admin.List(ctx, &p, client.InNamespace("ml")); err != nil {
			return err.Error()
		}
		names := map[string]*networkingv1.NetworkPolicy{}
		for i := range p.Items {
			names[p.Items[i].Name] = &p.Items[i]
		}
		for _, n := range []string{"ringfence-default-deny", "ringfence-training", "ringfence-training-peers-" + job} {
			if names[n] == nil {
				return "no NetworkPolicy " + n
			}
		}
		if l := names["legacy"]; l.Annotations[controller.SyncTokenAnnotation] != "1776118025" || len(l.Spec.Egress[0].To) < 2 {
			return "the opted-in policy was not rewritten"
		}
		var fence v1alpha1.Fence
		if err := admin.Get(ctx, client.ObjectKeyFromObject(f), &fence); err != nil || fence.Status.SyncToken != "1776118025" {
			return "no Fence status"
		}
		var events eventsv1.EventList
		if err := admin.List(ctx, &events, client.InNamespace("ml")); err != nil || len(events.Items) == 0 {
			return "no Events"
		}
		var cm corev1.ConfigMap
		if err := admin.Get(ctx, client.ObjectKey{Namespace: "ringfence-system", Name: controller.DefaultStateName}, &cm); err != nil {
			return "no ledger: " + err.Error()
		}
		var lease coordinationv1.Lease
		if err := admin.Get(ctx, client.ObjectKey{Namespace: "ringfence-system", Name: "ringfence-controller"}, &lease); err != nil || lease.Spec.HolderIdentity == nil {
			return "no Lease held"
		}
		return ""
	}
	for {
		msg := check()
		if msg == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("with the chart's RBAC: %s\n%s", msg, stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The job ends: its peers policy goes (the controller deletes what the
	// Fence no longer needs).
	if err := admin.DeleteAllOf(ctx, &corev1.Pod{}, client.InNamespace("ml"), client.GracePeriodSeconds(0)); err != nil {
		t.Fatal(err)
	}
	for {
		var p networkingv1.NetworkPolicy
		err := admin.Get(ctx, client.ObjectKey{Namespace: "ml", Name: "ringfence-training-peers-" + job}, &p)
		if apierrors.IsNotFound(err) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the finished job's peers policy is still there: %v\n%s", err, stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	cancel()
	select {
	case code := <-done:
		if code != cli.ExitOK {
			t.Errorf("exit %d: %s", code, stderr.String())
		}
	case <-time.After(40 * time.Second):
		t.Fatal("the controller did not stop")
	}
}
