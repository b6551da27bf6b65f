// Package gencluster writes a synthetic multi-tenant cluster as YAML
// manifests, for load-testing ringfence's loader and engine (the hidden
// command `ringfence gencluster` and the benchmarks use it).
//
//	ringfence gencluster --namespaces 1000 --out /tmp/cluster [--seed 1]
//
// Every tenant namespace gets its own file (DIR/ns-NNNN.yaml) holding the
// Namespace, its workloads and its NetworkPolicies; DIR/kube-system.yaml holds
// CoreDNS, which the generated DNS egress policies point at.
//
// Each namespace draws from its own PCG stream seeded by (seed, index), so the
// output for a given seed is byte-identical whatever the worker scheduling.
package gencluster

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// Config says what to generate.
type Config struct {
	Namespaces int // tenant namespaces
	Workloads  int // workloads per namespace
	Policies   int // NetworkPolicies per namespace
	// SecurityGroups, when positive, adds the AWS layer: node pools (two
	// groups each), their Nodes and instances, and the groups' rules;
	// workloads are pinned to pools with a nodeSelector.
	SecurityGroups int
	Seed           uint64
	Out            string // directory, created if missing
}

// Summary is what Generate wrote.
type Summary struct {
	Bytes int64
	// Counts maps a feature tag to its occurrences.
	Counts map[string]int
}

// Generate writes the cluster into c.Out.
func Generate(c Config) (Summary, error) {
	if c.Out == "" || c.Namespaces < 0 || c.Workloads < 0 || c.Policies < 0 {
		return Summary{}, errors.New("gencluster: an output directory and non-negative counts are required")
	}
	pools := c.SecurityGroups / 2
	sum, err := generate(config{namespaces: c.Namespaces, workloads: c.Workloads, policies: c.Policies, seed: c.Seed, out: c.Out, pools: pools})
	if err != nil || pools == 0 {
		return Summary{Bytes: sum.bytes, Counts: sum.counts}, err
	}
	n, err := generateAWS(c.Out, pools, c.SecurityGroups, c.Seed)
	sum.bytes += n
	sum.counts["security-groups"] = c.SecurityGroups
	return Summary{Bytes: sum.bytes, Counts: sum.counts}, err
}

type config struct {
	namespaces, workloads, policies int
	pools                           int
	seed                            uint64
	out                             string
}

type summary struct {
	bytes  int64
	counts map[string]int // feature tag -> occurrences, for -stats and the report
}

// generate writes every file and returns totals. Namespaces are spread over
// GOMAXPROCS workers because YAML encoding dominates the run time.
func generate(c config) (summary, error) {
	if err := os.MkdirAll(c.out, 0o755); err != nil {
		return summary{}, err
	}
	// Leftovers from a bigger run would be loaded along with this cluster.
	old, _ := filepath.Glob(filepath.Join(c.out, "*.yaml"))
	for _, f := range old {
		var i int
		base := filepath.Base(f)
		if n, _ := fmt.Sscanf(base, "ns-%d.yaml", &i); base != "kube-system.yaml" && base != "nodes.yaml" && (n != 1 || i >= c.namespaces || base != fmt.Sprintf("ns-%04d.yaml", i)) {
			return summary{}, fmt.Errorf("%s holds %s, which this run would not overwrite; use an empty directory", c.out, base)
		}
	}
	type result struct {
		n      int64
		counts map[string]int
		err    error
	}
	results := make([]result, c.namespaces+1)
	next := make(chan int)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := range next {
				g := &nsGen{r: rand.New(rand.NewPCG(c.seed, uint64(i))), counts: map[string]int{}, pools: c.pools, index: i}
				var name string
				if i == c.namespaces {
					name = "kube-system.yaml"
					g.kubeSystem()
				} else {
					name = fmt.Sprintf("ns-%04d.yaml", i)
					g.tenant(i, c.workloads, c.policies)
				}
				err := os.WriteFile(filepath.Join(c.out, name), g.buf.Bytes(), 0o644)
				results[i] = result{int64(g.buf.Len()), g.counts, errors.Join(g.err, err)}
			}
		})
	}
	for i := range results {
		next <- i
	}
	close(next)
	wg.Wait()
	sum := summary{counts: map[string]int{}}
	for i, r := range results {
		if r.err != nil {
			return sum, r.err
		}
		sum.bytes += r.n
		if i < c.namespaces { // kube-system is reported apart so totals match the flags
			for k, v := range r.counts {
				sum.counts[k] += v
			}
		}
	}
	return sum, nil
}

// manifest is the top-level object we emit. The typed k8s.io/api kinds would
// also serialise an empty "status: {}", which real manifests never carry.
type manifest struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Metadata   metav1.ObjectMeta `json:"metadata"`
	Spec       any               `json:"spec,omitempty"`
}

// PyTorchJob has no Go types in our dependencies; this mirrors the parts of
// kubeflow.org/v1 we generate.
type pytorchJobSpec struct {
	PyTorchReplicaSpecs map[string]replicaSpec `json:"pytorchReplicaSpecs"`
}

type replicaSpec struct {
	Replicas      *int32                 `json:"replicas"`
	RestartPolicy string                 `json:"restartPolicy"`
	Template      corev1.PodTemplateSpec `json:"template"`
}

// nsGen builds one file. Errors are sticky so the builders stay linear.
type nsGen struct {
	r      *rand.Rand
	buf    bytes.Buffer
	err    error
	counts map[string]int
	ns     string
	ml     bool
	work   []workload // what policies may point at
	names  map[string]bool
	// pools, when positive, pins the namespace's workloads to node pool
	// index % pools.
	pools, index int
}

type workload struct {
	app, tier, version string
	ports              []corev1.ContainerPort
}

func (g *nsGen) emit(apiVersion, kind, name string, labels map[string]string, spec any) {
	b, err := yaml.Marshal(manifest{apiVersion, kind, metav1.ObjectMeta{Name: name, Namespace: g.ns, Labels: labels}, spec})
	if err != nil && g.err == nil {
		g.err = fmt.Errorf("%s %s/%s: %w", kind, g.ns, name, err)
	}
	if g.buf.Len() > 0 {
		g.buf.WriteString("---\n")
	}
	g.buf.Write(b)
}

func (g *nsGen) count(tags ...string) {
	for _, t := range tags {
		g.counts[t]++
	}
}

func (g *nsGen) chance(p float64) bool { return g.r.Float64() < p }

func pick[T any](r *rand.Rand, xs ...T) T { return xs[r.IntN(len(xs))] }

var envs = []string{"prod", "prod", "staging", "dev"} // duplicates weight the draw

func (g *nsGen) tenant(i, nWork, nPol int) {
	name := fmt.Sprintf("tenant-%04d", i)
	labels := map[string]string{"team": fmt.Sprintf("team-%02d", i%20), "env": pick(g.r, envs...)}
	g.count("env=" + labels["env"])
	// The API server adds this label itself; leaving it out of some manifests
	// checks that the loader infers it as the server would.
	if g.chance(0.85) {
		labels["kubernetes.io/metadata.name"] = name
	} else {
		g.count("ns-without-metadata.name-label")
	}
	if g.ml = g.chance(0.15); g.ml {
		labels["ml"] = "true"
		g.count("ml-namespaces")
	}
	g.count("namespaces")
	g.emit("v1", "Namespace", name, labels, nil) // g.ns still "": cluster-scoped
	g.ns = name

	g.names = map[string]bool{}
	for range nWork {
		g.workload()
	}
	g.names = map[string]bool{}
	g.policies(nPol)
}

// app vocabulary: few names and tiers, so label sets repeat across namespaces
// and the engine can exploit pods that share them.
var apps = []struct{ name, tier string }{
	{"frontend", "web"}, {"web", "web"}, {"api", "api"}, {"auth", "api"},
	{"cart", "api"}, {"catalog", "api"}, {"search", "api"}, {"postgres", "db"},
	{"redis", "db"}, {"worker", "worker"}, {"ingest", "worker"}, {"mailer", "worker"},
}

var mlApps = []struct{ name, tier string }{
	{"trainer", "train"}, {"trainer", "train"}, {"inference", "infer"}, {"feature-store", "api"},
}

func (g *nsGen) workload() {
	a := pick(g.r, apps...)
	if g.ml && g.chance(0.5) {
		a = pick(g.r, mlApps...)
	}
	// A second workload of the same app is a canary: same app label, v2.
	name, version := a.name, pick(g.r, "v1", "v1", "v1", "v2")
	for n := 2; g.names[name]; n++ {
		name, version = fmt.Sprintf("%s-v%d", a.name, n), fmt.Sprintf("v%d", n)
	}
	g.names[name] = true
	labels := map[string]string{"app": a.name, "tier": a.tier, "version": version}
	ports, gpus := g.ports(a.name, a.tier)
	c := corev1.Container{
		Name:  a.name,
		Image: fmt.Sprintf("registry.example.com/%s:1.%d.%d", a.name, g.r.IntN(30), g.r.IntN(10)),
		Ports: ports,
		Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(pick(g.r, "100m", "250m", "500m", "2")),
				corev1.ResourceMemory: resource.MustParse(pick(g.r, "128Mi", "512Mi", "2Gi"))},
		},
	}
	tmpl := corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{Containers: []corev1.Container{c}}}
	if g.pools > 0 {
		tmpl.Spec.NodeSelector = map[string]string{poolLabel: poolName(g.index % g.pools)}
	}
	if gpus > 0 {
		// Extended resources need requests == limits; GPU nodes are tainted.
		q := *resource.NewQuantity(int64(gpus), resource.DecimalSI)
		c.Resources.Requests["nvidia.com/gpu"] = q
		c.Resources.Limits = corev1.ResourceList{"nvidia.com/gpu": q}
		tmpl.Spec.Tolerations = []corev1.Toleration{{Key: "nvidia.com/gpu", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}}
		tmpl.Spec.Containers[0] = c
		g.count("gpu-workloads")
	}
	g.work = append(g.work, workload{a.name, a.tier, version, ports})
	g.count("workloads", "tier="+a.tier)
	selector := &metav1.LabelSelector{MatchLabels: map[string]string{"app": a.name, "version": version}}
	switch {
	case a.tier == "train" && g.ml:
		c.Name = "pytorch" // the training operator finds the trainer by this name
		tmpl.Spec.Containers[0] = c
		tmpl.Spec.RestartPolicy = ""
		g.count("kind=PyTorchJob")
		g.emit("kubeflow.org/v1", "PyTorchJob", name, labels, pytorchJobSpec{map[string]replicaSpec{
			"Master": {new(int32(1)), "OnFailure", tmpl},
			"Worker": {new(int32(1 + g.r.Int32N(8))), "OnFailure", tmpl},
		}})
	case a.tier == "train" || a.tier == "worker" && g.chance(0.4):
		tmpl.Spec.RestartPolicy = corev1.RestartPolicyOnFailure
		g.count("kind=Job")
		g.emit("batch/v1", "Job", name, labels, batchv1.JobSpec{BackoffLimit: new(int32(4)), Template: tmpl})
	case a.tier == "db":
		g.count("kind=StatefulSet")
		g.emit("apps/v1", "StatefulSet", name, labels, appsv1.StatefulSetSpec{
			Replicas: new(int32(1 + g.r.Int32N(3))), ServiceName: name, Selector: selector, Template: tmpl})
	default:
		g.count("kind=Deployment")
		g.emit("apps/v1", "Deployment", name, labels, appsv1.DeploymentSpec{
			Replicas: new(int32(1 + g.r.Int32N(5))), Selector: selector, Template: tmpl})
	}
}

func port(name string, n int32, proto corev1.Protocol) corev1.ContainerPort {
	return corev1.ContainerPort{Name: name, ContainerPort: n, Protocol: proto}
}

// ports returns container ports and GPU count. The same name does not always
// mean the same number ("http" is 3000 on frontend), so named policy ports
// must be resolved per pod.
func (g *nsGen) ports(app, tier string) ([]corev1.ContainerPort, int) {
	metrics := port("metrics", 9100, corev1.ProtocolTCP)
	switch tier {
	case "web":
		n := int32(8080)
		if app == "frontend" {
			n = 3000
		}
		return []corev1.ContainerPort{port("http", n, corev1.ProtocolTCP), metrics}, 0
	case "api":
		return []corev1.ContainerPort{port("http", 8080, corev1.ProtocolTCP), port("grpc", 9090, corev1.ProtocolTCP), metrics}, 0
	case "db":
		if app == "redis" {
			return []corev1.ContainerPort{port("redis", 6379, corev1.ProtocolTCP)}, 0
		}
		return []corev1.ContainerPort{port("db", 5432, corev1.ProtocolTCP), metrics}, 0
	case "worker":
		ps := []corev1.ContainerPort{metrics}
		if g.chance(0.5) {
			ps = append(ps, port("statsd", 8125, corev1.ProtocolUDP))
			g.count("udp-container-ports")
		}
		return ps, 0
	case "train":
		return []corev1.ContainerPort{port("pytorchjob-port", 23456, corev1.ProtocolTCP), metrics}, pick(g.r, 1, 2, 4, 8)
	default: // infer
		return []corev1.ContainerPort{port("http", 8080, corev1.ProtocolTCP), port("grpc", 9090, corev1.ProtocolTCP), metrics}, 1
	}
}

func (g *nsGen) kubeSystem() {
	g.ns = ""
	g.emit("v1", "Namespace", "kube-system", map[string]string{"kubernetes.io/metadata.name": "kube-system"}, nil)
	g.ns = "kube-system"
	labels := map[string]string{"k8s-app": "kube-dns"}
	g.emit("apps/v1", "Deployment", "coredns", labels, appsv1.DeploymentSpec{
		Replicas: new(int32(2)),
		Selector: &metav1.LabelSelector{MatchLabels: labels},
		Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "coredns", Image: "registry.k8s.io/coredns/coredns:v1.12.1",
				Args: []string{"-conf", "/etc/coredns/Corefile"},
				Ports: []corev1.ContainerPort{port("dns", 53, corev1.ProtocolUDP), port("dns-tcp", 53, corev1.ProtocolTCP),
					port("metrics", 9153, corev1.ProtocolTCP)}}}}},
	})
}
