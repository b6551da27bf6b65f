package gencluster

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"context"
	"github.com/ringfence/ringfence/internal/engine"
	"github.com/ringfence/ringfence/internal/load"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	netv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"
)

func TestGenerateDecodesStrictly(t *testing.T) {
	for _, c := range []config{
		{namespaces: 3, workloads: 8, policies: 5},  // the defaults
		{namespaces: 3, workloads: 2, policies: 12}, // more policies than kinds: pool refills, names dedupe
		{namespaces: 2, workloads: 0, policies: 1},
		{namespaces: 40, workloads: 8, policies: 5}, // enough to hit every feature
	} {
		t.Run(fmt.Sprintf("%d-%d-%d", c.namespaces, c.workloads, c.policies), func(t *testing.T) {
			c.out, c.seed = t.TempDir(), 42
			sum, err := generate(c)
			if err != nil {
				t.Fatal(err)
			}
			got := validateDir(t, c.out)
			want := map[string]int{
				"Namespace":     c.namespaces + 1, // + kube-system
				"workloads":     c.namespaces*c.workloads + 1,
				"NetworkPolicy": c.namespaces * c.policies,
			}
			for k, v := range want {
				if got[k] != v {
					t.Errorf("%s: got %d, want %d (all counts %v)", k, got[k], v, got)
				}
			}
			if c.namespaces >= 40 {
				for _, k := range []string{"Deployment", "StatefulSet", "Job", "PyTorchJob"} {
					if got[k] == 0 {
						t.Errorf("no %s generated", k)
					}
				}
				for _, k := range allFeatures {
					if sum.counts[k] == 0 {
						t.Errorf("feature %q never generated", k)
					}
				}
			}
			if sum.counts["workloads"] != c.namespaces*c.workloads || sum.counts["policies"] != c.namespaces*c.policies {
				t.Errorf("summary counts %v disagree with flags", sum.counts)
			}
		})
	}
}

var allFeatures = []string{
	"ns-without-metadata.name-label", "ml-namespaces", "gpu-workloads", "udp-container-ports",
	"default-deny-all", "default-deny-ingress", "dns-egress", "dns-named-ports",
	"intra-namespace-allow", "podSelector-matchExpressions", "ingress+egress-policy",
	"cross-namespace-allow", "cross-namespace-egress", "multi-peer-rule",
	"nsSelector-In", "nsSelector-NotIn", "nsSelector-Exists", "nsSelector-DoesNotExist",
	"nsSelector-matchLabels+expressions", "s3-ipBlock-egress", "ipBlock-except", "ipBlock-ipv6",
	"same-namespace-allow", "endPort-range", "protocol-only-port", "allow-all-rule",
	"no-policyTypes", "port=named", "port=numeric",
}

// TestValidateDir checks a directory generated outside the test, e.g. the
// 1,000-namespace one: GENCLUSTER_DIR=/tmp/c go test -run ValidateDir ./internal/gencluster.
func TestValidateDir(t *testing.T) {
	dir := os.Getenv("GENCLUSTER_DIR")
	if dir == "" {
		t.Skip("GENCLUSTER_DIR not set")
	}
	t.Log(validateDir(t, dir))
}

func TestDeterministic(t *testing.T) {
	gen := func(seed uint64) map[string][]byte {
		c := config{namespaces: 5, workloads: 8, policies: 5, seed: seed, out: t.TempDir()}
		if _, err := generate(c); err != nil {
			t.Fatal(err)
		}
		files := map[string][]byte{}
		entries, _ := os.ReadDir(c.out)
		for _, e := range entries {
			b, err := os.ReadFile(filepath.Join(c.out, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			files[e.Name()] = b
		}
		return files
	}
	a, b, other := gen(7), gen(7), gen(8)
	if len(a) != 6 || len(a) != len(b) {
		t.Fatalf("file counts %d, %d; want 6", len(a), len(b))
	}
	for name := range a {
		if !bytes.Equal(a[name], b[name]) {
			t.Errorf("%s differs between two runs with the same seed", name)
		}
	}
	if bytes.Equal(a["ns-0000.yaml"], other["ns-0000.yaml"]) {
		t.Error("seeds 7 and 8 produced the same namespace")
	}
}

// validateDir strictly decodes every document into its k8s.io/api type, runs
// the checks the API server would otherwise catch, and counts kinds.
func validateDir(t *testing.T, dir string) map[string]int {
	t.Helper()
	counts := map[string]int{}
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests in %s: %v", dir, err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var nsName string
		for i, doc := range strings.Split(string(data), "\n---\n") {
			where := fmt.Sprintf("%s doc %d", filepath.Base(f), i)
			var tm metav1.TypeMeta
			if err := yaml.Unmarshal([]byte(doc), &tm); err != nil {
				t.Fatalf("%s: %v", where, err)
			}
			obj, err := decode(tm, []byte(doc))
			if err != nil {
				t.Errorf("%s (%s): %v", where, tm.Kind, err)
				continue
			}
			counts[tm.Kind]++
			if tm.Kind != "NetworkPolicy" && tm.Kind != "Namespace" {
				counts["workloads"]++
			}
			meta := obj.(metav1.ObjectMetaAccessor).GetObjectMeta()
			if i == 0 {
				nsName = meta.GetName() // the Namespace opens each file
				if tm.Kind != "Namespace" || meta.GetNamespace() != "" {
					t.Errorf("%s: file must open with its cluster-scoped Namespace", where)
				}
			} else if meta.GetNamespace() != nsName {
				t.Errorf("%s: namespace %q, want %q", where, meta.GetNamespace(), nsName)
			}
			for _, e := range checkObject(obj) {
				t.Errorf("%s %s/%s: %s", where, tm.Kind, meta.GetName(), e)
			}
		}
	}
	return counts
}

// unstructuredPyTorchJob satisfies ObjectMetaAccessor for the map-decoded CRD.
type unstructuredPyTorchJob struct {
	metav1.ObjectMeta
	Spec map[string]any
}

func decode(tm metav1.TypeMeta, doc []byte) (any, error) {
	var obj any
	switch tm.APIVersion + "/" + tm.Kind {
	case "v1/Namespace":
		obj = &corev1.Namespace{}
	case "apps/v1/Deployment":
		obj = &appsv1.Deployment{}
	case "apps/v1/StatefulSet":
		obj = &appsv1.StatefulSet{}
	case "batch/v1/Job":
		obj = &batchv1.Job{}
	case "networking.k8s.io/v1/NetworkPolicy":
		obj = &netv1.NetworkPolicy{}
	case "kubeflow.org/v1/PyTorchJob":
		var m map[string]any
		if err := yaml.UnmarshalStrict(doc, &m); err != nil {
			return nil, err
		}
		var j struct {
			Metadata metav1.ObjectMeta `json:"metadata"`
		}
		if err := yaml.Unmarshal(doc, &j); err != nil {
			return nil, err
		}
		spec, _ := m["spec"].(map[string]any)
		return &unstructuredPyTorchJob{j.Metadata, spec}, nil
	default:
		return nil, fmt.Errorf("unexpected kind %s %s", tm.APIVersion, tm.Kind)
	}
	return obj, yaml.UnmarshalStrict(doc, obj)
}

// checkObject covers the API server validation that matters to ringfence:
// names, labels, selectors, ports and CIDRs.
func checkObject(obj any) (errs []string) {
	add := func(msgs []string, what string) {
		for _, m := range msgs {
			errs = append(errs, what+": "+m)
		}
	}
	meta := obj.(metav1.ObjectMetaAccessor).GetObjectMeta()
	add(validation.IsDNS1123Label(meta.GetName()), "name")
	add(checkLabels(meta.GetLabels()), "labels")
	selector := func(s *metav1.LabelSelector, what string) labels.Selector {
		sel, err := metav1.LabelSelectorAsSelector(s)
		if err != nil {
			errs = append(errs, what+": "+err.Error())
		}
		return sel
	}
	pod := func(sel *metav1.LabelSelector, tmpl corev1.PodTemplateSpec, wantRestart bool) {
		add(checkLabels(tmpl.Labels), "template labels")
		if sel != nil && !selector(sel, "selector").Matches(labels.Set(tmpl.Labels)) {
			errs = append(errs, "selector does not match template labels")
		}
		if len(tmpl.Spec.Containers) == 0 {
			errs = append(errs, "no containers")
		}
		if wantRestart && tmpl.Spec.RestartPolicy != corev1.RestartPolicyOnFailure && tmpl.Spec.RestartPolicy != corev1.RestartPolicyNever {
			errs = append(errs, "job pods need restartPolicy OnFailure or Never")
		}
		for _, c := range tmpl.Spec.Containers {
			for _, p := range c.Ports {
				add(validation.IsValidPortName(p.Name), "container port name")
				add(validation.IsValidPortNum(int(p.ContainerPort)), "container port")
			}
			for r, q := range c.Resources.Limits {
				if req, ok := c.Resources.Requests[r]; ok && req.Cmp(q) != 0 && strings.Contains(string(r), "/") {
					errs = append(errs, "extended resource requests must equal limits")
				}
			}
		}
	}
	switch o := obj.(type) {
	case *corev1.Namespace:
		if v, ok := o.Labels["kubernetes.io/metadata.name"]; ok && v != o.Name {
			errs = append(errs, "kubernetes.io/metadata.name label differs from name")
		}
	case *appsv1.Deployment:
		pod(o.Spec.Selector, o.Spec.Template, false)
	case *appsv1.StatefulSet:
		pod(o.Spec.Selector, o.Spec.Template, false)
	case *batchv1.Job:
		pod(nil, o.Spec.Template, true)
	case *unstructuredPyTorchJob:
		rs, _ := o.Spec["pytorchReplicaSpecs"].(map[string]any)
		if rs["Master"] == nil || rs["Worker"] == nil {
			errs = append(errs, "PyTorchJob needs Master and Worker replica specs")
		}
		for _, r := range rs {
			var spec replicaSpec
			b, _ := yaml.Marshal(r)
			if err := yaml.UnmarshalStrict(b, &spec); err != nil {
				errs = append(errs, err.Error())
			}
			pod(nil, spec.Template, false)
			if cs := spec.Template.Spec.Containers; len(cs) == 0 || cs[0].Name != "pytorch" {
				errs = append(errs, "the training operator needs a container named pytorch")
			}
		}
	case *netv1.NetworkPolicy:
		add(validation.IsDNS1123Subdomain(o.Name), "name")
		selector(&o.Spec.PodSelector, "podSelector")
		var peers []netv1.NetworkPolicyPeer
		var ports []netv1.NetworkPolicyPort
		for _, r := range o.Spec.Ingress {
			peers, ports = append(peers, r.From...), append(ports, r.Ports...)
		}
		for _, r := range o.Spec.Egress {
			peers, ports = append(peers, r.To...), append(ports, r.Ports...)
		}
		if len(o.Spec.Egress) > 0 && o.Spec.PolicyTypes != nil && !slices.Contains(o.Spec.PolicyTypes, netv1.PolicyTypeEgress) {
			errs = append(errs, "egress rules without Egress policy type are ignored")
		}
		for _, p := range peers {
			if p.IPBlock != nil && (p.PodSelector != nil || p.NamespaceSelector != nil) {
				errs = append(errs, "ipBlock cannot be combined with selectors")
			}
			if p.PodSelector != nil {
				selector(p.PodSelector, "peer podSelector")
			}
			if p.NamespaceSelector != nil {
				selector(p.NamespaceSelector, "peer namespaceSelector")
			}
			if p.IPBlock != nil {
				errs = append(errs, checkIPBlock(*p.IPBlock)...)
			}
		}
		for _, p := range ports {
			if p.Port != nil && p.Port.StrVal != "" {
				add(validation.IsValidPortName(p.Port.StrVal), "policy port name")
			}
			if p.EndPort != nil && (p.Port == nil || p.Port.StrVal != "" || *p.EndPort < p.Port.IntVal) {
				errs = append(errs, "endPort needs a numeric port no greater than it")
			}
		}
	}
	return errs
}

func checkLabels(m map[string]string) (errs []string) {
	for k, v := range m {
		errs = append(errs, validation.IsQualifiedName(k)...)
		errs = append(errs, validation.IsValidLabelValue(v)...)
	}
	return errs
}

// checkIPBlock wants canonical CIDRs and excepts strictly inside, same family.
func checkIPBlock(b netv1.IPBlock) (errs []string) {
	p, err := netip.ParsePrefix(b.CIDR)
	if err != nil || p != p.Masked() {
		return []string{fmt.Sprintf("ipBlock cidr %q is not a canonical prefix", b.CIDR)}
	}
	for _, e := range b.Except {
		x, err := netip.ParsePrefix(e)
		if err != nil || x != x.Masked() || x.Addr().Is4() != p.Addr().Is4() || x.Bits() <= p.Bits() || !p.Contains(x.Addr()) {
			errs = append(errs, fmt.Sprintf("except %q is not strictly inside %s", e, b.CIDR))
		}
	}
	return errs
}

// The AWS layer loads: every workload lands on one pool, fenced by that
// pool's two groups.
func TestGenerateAWSLayer(t *testing.T) {
	dir := t.TempDir()
	if _, err := Generate(Config{Namespaces: 6, Workloads: 3, Policies: 2, SecurityGroups: 4, Seed: 3, Out: dir}); err != nil {
		t.Fatal(err)
	}
	res, err := load.Load(context.Background(), load.Options{Files: []string{dir}})
	if err != nil {
		t.Fatal(err)
	}
	w := res.World
	if len(w.SecurityGroups) != 4 || len(w.Instances) != 6 || len(w.Nodes) != 6 {
		t.Fatalf("groups %d instances %d nodes %d", len(w.SecurityGroups), len(w.Instances), len(w.Nodes))
	}
	placed, err := engine.Place(w, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, wl := range w.Workloads {
		if wl.Namespace == "kube-system" {
			continue
		}
		for _, pt := range wl.Pods {
			p := placed[pt]
			if len(p.Nodes) != 3 || len(p.Groups) != 2 || p.Ambiguous {
				t.Errorf("%s/%s: %+v", wl.Namespace, wl.Name, p)
			}
		}
	}
}
