package k8s

import (
	"net/netip"
	"regexp"
	"sort"
	"strings"

	"github.com/ringfence/ringfence/internal/load/document"
	"github.com/ringfence/ringfence/internal/model"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Labels the built-in controllers add to the pods they create.
const (
	labelPodTemplateHash     = "pod-template-hash"
	labelControllerRevision  = "controller-revision-hash"
	labelStatefulSetPodName  = "statefulset.kubernetes.io/pod-name"
	labelPodIndex            = "apps.kubernetes.io/pod-index"
	labelTemplateGeneration  = "pod-template-generation"
	labelJobName             = "batch.kubernetes.io/job-name"
	labelLegacyJobName       = "job-name"
	labelControllerUID       = "batch.kubernetes.io/controller-uid"
	labelLegacyControllerUID = "controller-uid"
	labelCompletionIndex     = "batch.kubernetes.io/job-completion-index"
)

// template describes how a controller turns a pod template into pods.
type template struct {
	role     string
	replicas int32
	spec     corev1.PodTemplateSpec
	// base labels the controller adds that the template's own labels
	// override.
	base map[string]string
	// labels the controller adds with values known offline; they override
	// the template's.
	labels map[string]string
	// varying label keys the controller sets with values not known
	// offline; they replace any value the template gives.
	varying []string
	// unlessSet are varying label keys the controller sets only when the
	// template does not.
	unlessSet []string
}

// addWorkload records a workload with the pods of its templates.
func (d *decoded) addWorkload(m model.Meta, owners []metav1.OwnerReference, templates ...template) *model.Workload {
	w := &model.Workload{Meta: m}
	for _, t := range templates {
		w.Pods = append(w.Pods, d.podTemplate(t))
	}
	d.obj = w
	if o := controllerOf(owners); o != nil {
		d.owner = &ownerKey{kind: o.Kind, namespace: m.Namespace, name: o.Name}
	}
	return w
}

func controllerOf(owners []metav1.OwnerReference) *metav1.OwnerReference {
	for i := range owners {
		if owners[i].Controller != nil && *owners[i].Controller {
			return &owners[i]
		}
	}
	return nil
}

func (d *decoded) podTemplate(t template) *model.PodTemplate {
	labels := make(map[string]string, len(t.base)+len(t.spec.Labels)+len(t.labels))
	for k, v := range t.base {
		labels[k] = v
	}
	for k, v := range t.spec.Labels {
		labels[k] = v
	}
	for k, v := range t.labels {
		labels[k] = v
	}
	varying := append([]string(nil), t.varying...)
	for _, k := range t.varying {
		delete(labels, k)
	}
	for _, k := range t.unlessSet {
		if _, set := labels[k]; !set {
			varying = append(varying, k)
		}
	}
	sort.Strings(varying)
	pt := &model.PodTemplate{
		Role:          t.role,
		Replicas:      t.replicas,
		Labels:        labels,
		VaryingLabels: varying,
		Annotations:   cleanAnnotations(t.spec.Annotations),
		PodSpec:       podSpec(&t.spec.Spec),
	}
	// Unset is what Finish reads for a template it has no entry for.
	if a := t.spec.Spec.AutomountServiceAccountToken; a != nil {
		d.podAuto = append(d.podAuto, podAuto{pt, a})
	}
	if op := kubeRayOperator(&t.spec.Spec); op != nil {
		d.rayOperator = op
	}
	if c := awsNodeSettings(&t.spec.Spec); c != nil {
		d.vpcCNI = c
	}
	return pt
}

// podSpec extracts what the model keeps of a pod spec.
func podSpec(s *corev1.PodSpec) model.PodSpec {
	sa := s.ServiceAccountName
	if sa == "" {
		sa = s.DeprecatedServiceAccount
	}
	if sa == "" {
		sa = "default"
	}
	ps := model.PodSpec{
		ServiceAccount: sa,
		HostNetwork:    s.HostNetwork,
		NodeName:       s.NodeName,
		NodeSelector:   s.NodeSelector,
		Affinity:       s.Affinity,
		Tolerations:    s.Tolerations,
	}
	for i := range s.InitContainers {
		ps.Containers = append(ps.Containers, container(&s.InitContainers[i], true))
	}
	for i := range s.Containers {
		ps.Containers = append(ps.Containers, container(&s.Containers[i], false))
	}
	ps.GPUs = podGPUs(ps.Containers, s)
	ps.Credentials = credentials(s)
	ps.CallsServices = serviceNames(s)
	return ps
}

// serviceDNS matches a Service's cluster DNS name: <name>.<namespace>.svc
// (with or without the cluster domain).
var serviceDNS = regexp.MustCompile(`\b([a-z0-9](?:[-a-z0-9]*[a-z0-9])?)\.([a-z0-9](?:[-a-z0-9]*[a-z0-9])?)\.svc(?:\.cluster\.local)?\b`)

// serviceNames lists the Services a pod's containers name by their DNS
// name in commands, arguments and literal environment values: the
// connections the workload is configured to make.
func serviceNames(s *corev1.PodSpec) []model.Ref {
	seen := map[model.Ref]bool{}
	var out []model.Ref
	scan := func(text string) {
		for _, m := range serviceDNS.FindAllStringSubmatch(text, -1) {
			ref := model.Ref{Kind: "Service", Namespace: m[2], Name: m[1]}
			if !seen[ref] {
				seen[ref] = true
				out = append(out, ref)
			}
		}
	}
	for _, list := range [][]corev1.Container{s.InitContainers, s.Containers} {
		for _, c := range list {
			for _, t := range append(append([]string{}, c.Command...), c.Args...) {
				scan(t)
			}
			for _, e := range c.Env {
				scan(e.Value)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

func container(c *corev1.Container, init bool) model.Container {
	mc := model.Container{Name: c.Name, Image: c.Image, Init: init, GPUs: accelerators(c.Resources.Requests, c.Resources.Limits)}
	for _, p := range c.Ports {
		proto := p.Protocol
		if proto == "" {
			proto = corev1.ProtocolTCP
		}
		mc.Ports = append(mc.Ports, model.Port{Name: p.Name, Port: p.ContainerPort, Protocol: proto, HostPort: p.HostPort})
	}
	return mc
}

// acceleratorResource reports whether a resource name is a GPU or another ML
// accelerator.
func acceleratorResource(name corev1.ResourceName) bool {
	n := string(name)
	switch n {
	case "nvidia.com/gpu", "amd.com/gpu", "aws.amazon.com/neuron", "aws.amazon.com/neuroncore",
		"aws.amazon.com/neurondevice", "habana.ai/gaudi", "google.com/tpu", "gpu.intel.com/i915", "gpu.intel.com/xe":
		return true
	}
	return strings.HasPrefix(n, "nvidia.com/mig-")
}

// accelerators counts accelerator resources. Extended resources cannot be
// overcommitted, so a limit alone also sets the request; the larger counts.
func accelerators(requests, limits corev1.ResourceList) map[string]int64 {
	var out map[string]int64
	for _, list := range []corev1.ResourceList{requests, limits} {
		for name, q := range list {
			if !acceleratorResource(name) {
				continue
			}
			if out == nil {
				out = map[string]int64{}
			}
			if v := q.Value(); v > out[string(name)] {
				out[string(name)] = v
			}
		}
	}
	return out
}

// podGPUs is the pod's effective accelerator request: the sum over app and
// sidecar containers, or the largest init container if that is more.
func podGPUs(cs []model.Container, s *corev1.PodSpec) map[string]int64 {
	sidecar := map[string]bool{}
	for _, c := range s.InitContainers {
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			sidecar[c.Name] = true
		}
	}
	sum, initMax := map[string]int64{}, map[string]int64{}
	for _, c := range cs {
		for r, v := range c.GPUs {
			if c.Init && !sidecar[c.Name] {
				initMax[r] = max(initMax[r], v)
			} else {
				sum[r] += v
			}
		}
	}
	for r, v := range initMax {
		sum[r] = max(sum[r], v)
	}
	if len(sum) == 0 {
		return nil
	}
	return sum
}

func decodePod(d *decoded, o *document.Object, m model.Meta) error {
	p, err := typed[corev1.Pod](d, o, m)
	if err != nil {
		return err
	}
	ips := podIPs(p.Status)
	if owner := controllerOf(p.OwnerReferences); owner != nil {
		// A pod a controller made belongs to that controller's workload;
		// it is attached once every object is loaded.
		w := &model.Workload{Meta: m}
		w.Instances = []*model.Pod{{Name: m.Name, Labels: m.Labels, IPs: ips, NodeName: p.Spec.NodeName, HostNetwork: p.Spec.HostNetwork, Phase: string(p.Status.Phase)}}
		t := template{replicas: 1, spec: corev1.PodTemplateSpec{ObjectMeta: p.ObjectMeta, Spec: p.Spec}}
		w.Pods = []*model.PodTemplate{d.podTemplate(t)}
		w.Pods[0].IPs = ips
		d.obj = w
		d.live = &livePod{workload: w, owner: ownerKey{kind: owner.Kind, namespace: m.Namespace, name: owner.Name}}
		return nil
	}
	w := d.addWorkload(m, nil, template{replicas: 1, spec: corev1.PodTemplateSpec{ObjectMeta: p.ObjectMeta, Spec: p.Spec}})
	w.Pods[0].IPs = ips
	return nil
}

func podIPs(st corev1.PodStatus) []netip.Addr {
	var ips []netip.Addr
	for _, ip := range st.PodIPs {
		if a, err := netip.ParseAddr(ip.IP); err == nil {
			ips = append(ips, a)
		}
	}
	if len(ips) == 0 {
		if a, err := netip.ParseAddr(st.PodIP); err == nil {
			ips = append(ips, a)
		}
	}
	return ips
}

// replicas returns *r, or def when unset (the API server's default).
func replicas(r *int32, def int32) int32 {
	if r == nil {
		return def
	}
	return *r
}

// appsTemplate gives the pods of an apps kind (Deployment, ReplicaSet,
// StatefulSet, DaemonSet) of any version: the labels its controller adds
// and how many pods it runs (-1 for a DaemonSet: one per node).
func appsTemplate(kind string, r *int32, spec corev1.PodTemplateSpec) template {
	switch kind {
	case "Deployment":
		return template{replicas: replicas(r, 1), spec: spec, varying: []string{labelPodTemplateHash}}
	case "StatefulSet":
		return template{replicas: replicas(r, 1), spec: spec, varying: []string{labelControllerRevision, labelStatefulSetPodName, labelPodIndex}}
	case "DaemonSet":
		return template{replicas: -1, spec: spec, varying: []string{labelControllerRevision, labelTemplateGeneration}}
	}
	return template{replicas: replicas(r, 1), spec: spec}
}

func decodeDeployment(d *decoded, o *document.Object, m model.Meta) error {
	dep, err := typed[appsv1.Deployment](d, o, m)
	if err != nil {
		return err
	}
	d.addWorkload(m, dep.OwnerReferences, appsTemplate("Deployment", dep.Spec.Replicas, dep.Spec.Template))
	return nil
}

func decodeReplicaSet(d *decoded, o *document.Object, m model.Meta) error {
	rs, err := typed[appsv1.ReplicaSet](d, o, m)
	if err != nil {
		return err
	}
	d.addWorkload(m, rs.OwnerReferences, appsTemplate("ReplicaSet", rs.Spec.Replicas, rs.Spec.Template))
	return nil
}

func decodeReplicationController(d *decoded, o *document.Object, m model.Meta) error {
	rc, err := typed[corev1.ReplicationController](d, o, m)
	if err != nil {
		return err
	}
	var spec corev1.PodTemplateSpec
	if rc.Spec.Template != nil {
		spec = *rc.Spec.Template
	}
	d.addWorkload(m, rc.OwnerReferences, template{replicas: replicas(rc.Spec.Replicas, 1), spec: spec})
	return nil
}

func decodeStatefulSet(d *decoded, o *document.Object, m model.Meta) error {
	ss, err := typed[appsv1.StatefulSet](d, o, m)
	if err != nil {
		return err
	}
	d.addWorkload(m, ss.OwnerReferences, appsTemplate("StatefulSet", ss.Spec.Replicas, ss.Spec.Template))
	return nil
}

func decodeDaemonSet(d *decoded, o *document.Object, m model.Meta) error {
	ds, err := typed[appsv1.DaemonSet](d, o, m)
	if err != nil {
		return err
	}
	d.addWorkload(m, ds.OwnerReferences, appsTemplate("DaemonSet", nil, ds.Spec.Template))
	return nil
}

// jobTemplate gives the pods of a Job named name; the API server adds the
// job-name labels to the template when the Job is created (unless the user
// manages the selector), and the controller-uid ones that cannot be known
// offline.
func jobTemplate(name string, spec batchv1.JobSpec) template {
	t := template{
		replicas: replicas(spec.Parallelism, 1),
		spec:     spec.Template,
		varying:  []string{labelControllerUID, labelLegacyControllerUID},
	}
	if spec.ManualSelector == nil || !*spec.ManualSelector {
		if name == "" {
			t.varying = append(t.varying, labelJobName, labelLegacyJobName)
		} else {
			t.labels = map[string]string{labelJobName: name, labelLegacyJobName: name}
		}
	}
	if spec.CompletionMode != nil && *spec.CompletionMode == batchv1.IndexedCompletion {
		t.varying = append(t.varying, labelCompletionIndex)
	}
	return t
}

func decodeJob(d *decoded, o *document.Object, m model.Meta) error {
	j, err := typed[batchv1.Job](d, o, m)
	if err != nil {
		return err
	}
	d.addWorkload(m, j.OwnerReferences, jobTemplate(m.Name, j.Spec))
	return nil
}

func decodeCronJob(d *decoded, o *document.Object, m model.Meta) error {
	cj, err := typed[batchv1.CronJob](d, o, m)
	if err != nil {
		return err
	}
	// Each run is a Job named after the schedule time: its name is not
	// known offline, so the job-name labels are varying.
	t := jobTemplate("", cj.Spec.JobTemplate.Spec)
	d.addWorkload(m, cj.OwnerReferences, t)
	return nil
}
