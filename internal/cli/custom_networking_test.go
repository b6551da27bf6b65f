package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ringfence/ringfence/internal/testenv"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// Custom networking through the CLI: the aws-node DaemonSet and ENIConfigs
// as a repository or cluster holds them decide the pods' security groups
// (docs/aws.md, "Custom networking").
func TestCustomNetworking(t *testing.T) {
	const example = "examples/ml-platform"
	cn := filepath.Join("internal", "cli", "testdata", "custom-networking")
	explain := func(paths ...string) (string, int) {
		args := []string{"explain", "--from", "ml-workloads/text-embed-finetune", "--to", "52.216.10.1", "--port", "443"}
		for _, p := range append([]string{example}, paths...) {
			args = append(args, "-f", p)
		}
		out, errs, code := run(t, "", args...)
		return out + errs, code
	}

	// Without custom networking the node's group (all egress) applies.
	if out, _ := explain(); !strings.HasPrefix(out, "ml-workloads/text-embed-finetune => 52.216.10.1, TCP 443: ALLOWED") {
		t.Fatalf("the example without custom networking:\n%s", out)
	}

	// On, with external SNAT: the ENIConfig's group (TCP 443 to the VPC
	// only) fences the pods, and denies the public address.
	out, _ := explain(cn)
	if !strings.HasPrefix(out, "ml-workloads/text-embed-finetune => 52.216.10.1, TCP 443: DENIED") {
		t.Errorf("custom networking on, external SNAT:\n%s", out)
	}
	inv, _, _ := run(t, "", "inventory", "-o", "json", "-f", example, "-f", cn)
	for _, want := range []string{`"via": "its nodes' ENIConfigs (custom networking is on (DaemonSet/kube-system/aws-node sets AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG=true`} {
		if !strings.Contains(inv, want) {
			t.Errorf("inventory lacks %s", want)
		}
	}
	// hostNetwork pods keep the node's interface and group.
	if !hostNetworkKeepsNodeGroup(t, example, cn) {
		t.Error("aws-node (hostNetwork) should keep the node's group")
	}

	// On, with SNAT (the default): traffic beyond the VPC leaves by the
	// node's interface, the rest by the ENIConfig's: unknown, never the
	// node's group taken for the pods'.
	dir := t.TempDir()
	node, err := os.ReadFile(filepath.Join(cn, "aws-node.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	snat := strings.Replace(string(node), "AWS_VPC_K8S_CNI_EXTERNALSNAT\n              value: \"true\"", "AWS_VPC_K8S_CNI_EXTERNALSNAT\n              value: \"false\"", 1)
	if snat == string(node) {
		t.Fatal("the fixture's EXTERNALSNAT line moved")
	}
	for name, body := range map[string]string{"aws-node.yaml": snat} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out, _ = explain(dir, filepath.Join(cn, "eniconfigs.yaml"), filepath.Join(cn, "pods-sg.json"))
	if !strings.HasPrefix(out, "ml-workloads/text-embed-finetune => 52.216.10.1, TCP 443: UNKNOWN") || !strings.Contains(out, "custom networking is on") {
		t.Errorf("custom networking on, SNAT:\n%s", out)
	}

	// ENIConfigs without the DaemonSet that says whether they apply.
	out, _ = explain(filepath.Join(cn, "eniconfigs.yaml"), filepath.Join(cn, "pods-sg.json"))
	if !strings.HasPrefix(out, "ml-workloads/text-embed-finetune => 52.216.10.1, TCP 443: UNKNOWN") || !strings.Contains(out, "custom networking may be on") {
		t.Errorf("ENIConfigs alone:\n%s", out)
	}

	// The DaemonSet saying it is off: the ENIConfigs do not apply.
	off := strings.Replace(string(node), "AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG\n              value: \"true\"", "AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG\n              value: \"false\"", 1)
	if err := os.WriteFile(filepath.Join(dir, "aws-node.yaml"), []byte(off), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, _ = explain(dir, filepath.Join(cn, "eniconfigs.yaml"), filepath.Join(cn, "pods-sg.json")); !strings.HasPrefix(out, "ml-workloads/text-embed-finetune => 52.216.10.1, TCP 443: ALLOWED") {
		t.Errorf("custom networking off:\n%s", out)
	}

	// An ENIConfig without its required subnet is refused as the API
	// server refuses it.
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("apiVersion: crd.k8s.amazonaws.com/v1alpha1\nkind: ENIConfig\nmetadata:\n  name: us-east-1a\nspec:\n  securityGroups: [sg-1]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, errs, code := run(t, "", "inventory", "-f", bad)
	if code != ExitInput || !strings.Contains(errs, bad+":1") || !strings.Contains(errs, "ENIConfig") || !strings.Contains(errs, "spec.subnet is required") {
		t.Errorf("ENIConfig without a subnet: exit %d\n%s", code, errs)
	}
}

// hostNetworkKeepsNodeGroup reports whether inventory places the aws-node
// DaemonSet (hostNetwork) behind the node's group, not the ENIConfig's.
func hostNetworkKeepsNodeGroup(t *testing.T, paths ...string) bool {
	t.Helper()
	args := []string{"inventory"}
	for _, p := range paths {
		args = append(args, "-f", p)
	}
	out, _, _ := run(t, "", args...)
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "aws-node") && strings.Contains(line, "DaemonSet") {
			return strings.Contains(line, "sg-0a1b2c3d4e5f60001") && !strings.Contains(line, "sg-0a1b2c3d4e5f60010")
		}
	}
	return false
}

// Custom networking moves the pods' subnet: the batch pods' node is in a
// subnet without a route out, but its ENIConfig puts their interfaces in
// the private subnet, whose route goes through the NAT gateway.
func TestCustomNetworkingSubnet(t *testing.T) {
	dir := t.TempDir()
	write := func(snat string) {
		t.Helper()
		ds := `apiVersion: apps/v1
kind: DaemonSet
metadata: {name: aws-node, namespace: kube-system}
spec:
  selector: {matchLabels: {k8s-app: aws-node}}
  template:
    metadata: {labels: {k8s-app: aws-node}}
    spec:
      hostNetwork: true
      containers:
      - name: aws-node
        image: 602401143452.dkr.ecr.us-east-1.amazonaws.com/amazon-k8s-cni:v1.19.2-eksbuild.1
        env:
        - {name: AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG, value: "true"}
        - {name: ENI_CONFIG_LABEL_DEF, value: pool}
        - {name: AWS_VPC_K8S_CNI_EXTERNALSNAT, value: "` + snat + `"}
---
apiVersion: crd.k8s.amazonaws.com/v1alpha1
kind: ENIConfig
metadata: {name: isolated}
spec: {subnet: subnet-private}
`
		if err := os.WriteFile(filepath.Join(dir, "cni.yaml"), []byte(ds), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	explain := func() string {
		out, errs, _ := run(t, "", "explain", "-f", vpcFixture, "-f", dir, "--from", "shop/batch", "--to", "8.8.8.8", "--port", "443")
		return out + errs
	}
	write("true")
	if out := explain(); !strings.Contains(out, "shop/batch => 8.8.8.8, TCP 443: ALLOWED") || !strings.Contains(out, "nat-1") {
		t.Errorf("pods in the ENIConfig's subnet, external SNAT:\n%s", out)
	}
	// With SNAT the traffic leaves by the node's interface in the
	// isolated subnet, while the pods are in the private one: unknown.
	write("false")
	if out := explain(); !strings.Contains(out, "shop/batch => 8.8.8.8, TCP 443: UNKNOWN") {
		t.Errorf("pods in the ENIConfig's subnet, SNAT:\n%s", out)
	}
}

// Read live: the ENIConfigs and the aws-node DaemonSet in the API server
// decide the pods' groups as they do from files, for an admin and for the
// documented ClusterRole alike.
func TestLiveCustomNetworking(t *testing.T) {
	env := testenv.Start(t)
	apply(t, env.Config, "examples/ml-platform")
	apply(t, env.Config, "internal/cli/testdata/custom-networking")
	// The API server taints new Nodes not-ready (no kubelet reports here);
	// a cluster's ready nodes carry no such taint.
	cs := kubernetes.NewForConfigOrDie(env.Config)
	nodes, err := cs.CoreV1().Nodes().List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range nodes.Items {
		n := &nodes.Items[i]
		n.Spec.Taints = nil
		if _, err := cs.CoreV1().Nodes().Update(context.Background(), n, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	admin := kubeconfig(t, env, envtest.User{Name: "admin", Groups: []string{"system:masters"}})
	bind(t, env.Config, "ringfence-reader", "ringfence:readers", documentedRole(t, "clusterrole.yaml"))
	reader := kubeconfig(t, env, envtest.User{Name: "reader", Groups: []string{"ringfence:readers"}})
	for _, kc := range []string{admin, reader} {
		out, errs, _ := run(t, "", "explain", "--kubeconfig", kc, "-A", "-f", "examples/ml-platform/aws", "-f", "internal/cli/testdata/custom-networking/pods-sg.json",
			"--from", "ml-workloads/text-embed-finetune", "--to", "52.216.10.1", "--port", "443")
		if !strings.HasPrefix(out, "ml-workloads/text-embed-finetune => 52.216.10.1, TCP 443: DENIED") {
			t.Errorf("%s:\n%s%s", filepath.Base(kc), out, errs)
		}
	}
}
