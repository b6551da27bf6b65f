package k8s

import (
	"encoding/json"
	"reflect"
	"strings"

	"github.com/ringfence/ringfence/internal/load/document"
	"github.com/ringfence/ringfence/internal/load/strictjson"
	"github.com/ringfence/ringfence/internal/model"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kjson "sigs.k8s.io/json"
)

// The ML custom resources are read through small local types that hold
// only the fields that decide which pods run: importing the operators' Go
// modules would pull in their whole dependency trees for a few structs.
// Facts about the labels and ports each operator adds are taken from the
// operators' source (kubeflow/training-operator, kubeflow/mpi-operator,
// kserve/kserve, ray-project/kuberay); docs/ml-workloads.md lists them.

// decodeLoose reads a custom resource without strict field checks: the
// local types model only part of each CRD's schema.
func (d *decoded) decodeLoose(o *document.Object, m model.Meta, into any) error {
	return d.decodeLooseData(o, m, o.JSON, into)
}

// decodeLooseData is decodeLoose of part of o (data), such as a spec
// member kept raw.
func (d *decoded) decodeLooseData(o *document.Object, m model.Meta, data []byte, into any) error {
	if !d.slow && strictjson.Unmarshal(data, into, strictjson.Ignore) {
		return nil
	}
	reflect.ValueOf(into).Elem().SetZero()
	if err := kjson.UnmarshalCaseSensitivePreserveInts(data, into); err != nil {
		return decodeError(o, m, err)
	}
	return nil
}

// Labels of the Kubeflow training operators.
const (
	labelKFOperator     = "training.kubeflow.org/operator-name"
	labelKFJobName      = "training.kubeflow.org/job-name"
	labelKFReplicaType  = "training.kubeflow.org/replica-type"
	labelKFReplicaIndex = "training.kubeflow.org/replica-index"
	labelKFJobRole      = "training.kubeflow.org/job-role"
)

type replicaSpec struct {
	Replicas *int32                 `json:"replicas"`
	Template corev1.PodTemplateSpec `json:"template"`
}

// kubeflowKind is what differs between the training operator's job kinds.
type kubeflowKind struct {
	specField string
	operator  string
	container string // the container the operator requires and adds the port to
	portName  string
	port      int32
	types     []string // replica types, in the order pods are listed
	// master reports which replica type carries job-role=master, given
	// the types present; "" when none.
	master func(present map[string]bool) string
}

var kubeflowKinds = map[string]kubeflowKind{
	"PyTorchJob": {specField: "pytorchReplicaSpecs", operator: "pytorchjob-controller", container: "pytorch", portName: "pytorchjob-port", port: 23456,
		types: []string{"Master", "Worker"}, master: fixedMaster("Master")},
	"TFJob": {specField: "tfReplicaSpecs", operator: "tfjob-controller", container: "tensorflow", portName: "tfjob-port", port: 2222,
		types: []string{"Chief", "Master", "PS", "Worker", "Evaluator"}, master: tfMaster},
	"XGBoostJob": {specField: "xgbReplicaSpecs", operator: "xgboostjob-controller", container: "xgboost", portName: "xgboostjob-port", port: 9999,
		types: []string{"Master", "Worker"}, master: fixedMaster("Master")},
	"PaddleJob": {specField: "paddleReplicaSpecs", operator: "paddlejob-controller", container: "paddle", portName: "master", port: 36543,
		types: []string{"Master", "Worker"}, master: fixedMaster("Master")},
	// The v1 MPIJob controller injects no port and creates no Services.
	"MPIJob": {specField: "mpiReplicaSpecs", operator: "mpijob-controller", container: "mpi",
		types: []string{"Launcher", "Worker"}, master: fixedMaster("Launcher")},
}

func fixedMaster(t string) func(map[string]bool) string {
	return func(map[string]bool) string { return t }
}

// tfMaster: the chief (or master) leads a TFJob; without one, worker 0 does.
func tfMaster(present map[string]bool) string {
	switch {
	case present["Chief"]:
		return "Chief"
	case present["Master"]:
		return "Master"
	}
	return "Worker"
}

func decodeKubeflowJob(d *decoded, o *document.Object, m model.Meta) error {
	k := kubeflowKinds[o.Kind]
	var job struct {
		metav1.ObjectMeta `json:"metadata"`
		Spec              map[string]json.RawMessage `json:"spec"`
	}
	if err := d.decodeLoose(o, m, &job); err != nil {
		return err
	}
	var specs map[string]replicaSpec
	if raw, ok := job.Spec[k.specField]; ok {
		if err := d.decodeLooseData(o, m, raw, &specs); err != nil {
			return err
		}
	}
	// The operator accepts replica types in any case and normalizes them.
	present := map[string]replicaSpec{}
	for name, rs := range specs {
		t := canonicalReplicaType(name, k.types)
		if t == "" {
			d.warn(o.Source.At(o.Line("spec", k.specField, name)), m.Ref().String(), "unknown replica type %q for %s (known: %s); its pods are not modelled", name, o.Kind, strings.Join(k.types, ", "))
			continue
		}
		present[t] = rs
	}
	if len(present) == 0 {
		d.warn(o.Source, m.Ref().String(), "spec.%s is empty: the job runs no pods", k.specField)
	}
	has := map[string]bool{}
	for t := range present {
		has[t] = true
	}
	master := k.master(has)
	var templates []template
	for _, t := range k.types {
		rs, ok := present[t]
		if !ok {
			continue
		}
		tpl := template{
			role:     strings.ToLower(t),
			replicas: replicas(rs.Replicas, 1),
			spec:     *rs.Template.DeepCopy(),
			labels: map[string]string{
				labelKFOperator:    k.operator,
				labelKFJobName:     strings.ReplaceAll(m.Name, "/", "-"),
				labelKFReplicaType: strings.ToLower(t),
			},
		}
		// The MPI launcher is a single pod without an index label.
		if !(o.Kind == "MPIJob" && t == "Launcher") {
			tpl.varying = append(tpl.varying, labelKFReplicaIndex)
		}
		switch {
		case t == master && !(o.Kind == "TFJob" && t == "Worker"):
			tpl.labels[labelKFJobRole] = "master"
		case t == master:
			// Only worker 0 leads a TFJob without a chief.
			tpl.varying = append(tpl.varying, labelKFJobRole)
		}
		if k.portName != "" {
			addDefaultPort(&tpl.spec.Spec, k.container, k.portName, k.port)
		}
		templates = append(templates, tpl)
	}
	d.addWorkload(m, job.OwnerReferences, templates...)
	return nil
}

func canonicalReplicaType(name string, known []string) string {
	for _, k := range known {
		if strings.EqualFold(name, k) {
			return k
		}
	}
	return ""
}

// addDefaultPort adds the port a training operator injects when the
// container it requires has no port of that name: on the named container,
// or on the first one when none has the name.
func addDefaultPort(s *corev1.PodSpec, container, name string, port int32) {
	if len(s.Containers) == 0 {
		return
	}
	target := &s.Containers[0]
	for i := range s.Containers {
		if s.Containers[i].Name == container {
			target = &s.Containers[i]
		}
	}
	for _, p := range target.Ports {
		if p.Name == name {
			return
		}
	}
	target.Ports = append(target.Ports, corev1.ContainerPort{Name: name, ContainerPort: port, Protocol: corev1.ProtocolTCP})
}

// decodeMPIJobV2 reads an MPIJob of kubeflow/mpi-operator (v2beta1): its
// launcher runs as a batch Job named <job>-launcher and its workers as pods;
// no replica-type label, the role is in job-role.
func decodeMPIJobV2(d *decoded, o *document.Object, m model.Meta) error {
	var job struct {
		metav1.ObjectMeta `json:"metadata"`
		Spec              struct {
			MPIReplicaSpecs map[string]replicaSpec `json:"mpiReplicaSpecs"`
		} `json:"spec"`
	}
	if err := d.decodeLoose(o, m, &job); err != nil {
		return err
	}
	common := map[string]string{labelKFOperator: "mpi-operator", labelKFJobName: m.Name}
	var templates []template
	for _, t := range []string{"Launcher", "Worker"} {
		var rs replicaSpec
		found := false
		for name, s := range job.Spec.MPIReplicaSpecs {
			if strings.EqualFold(name, t) {
				rs, found = s, true
			}
		}
		if !found {
			continue
		}
		labels := map[string]string{labelKFJobRole: strings.ToLower(t)}
		for k, v := range common {
			labels[k] = v
		}
		tpl := template{role: strings.ToLower(t), replicas: replicas(rs.Replicas, 1), spec: rs.Template, labels: labels}
		if t == "Launcher" {
			lj := jobTemplate(m.Name+"-launcher", batchv1.JobSpec{Template: rs.Template})
			for k, v := range lj.labels {
				tpl.labels[k] = v
			}
			tpl.varying = lj.varying
			tpl.replicas = 1
		} else {
			tpl.varying = []string{labelKFReplicaIndex}
		}
		templates = append(templates, tpl)
	}
	d.addWorkload(m, job.OwnerReferences, templates...)
	return nil
}

// KServe labels and names.
const (
	labelKServeISVC      = "serving.kserve.io/inferenceservice"
	labelKServeComponent = "component"
	annotDeploymentMode  = "serving.kserve.io/deploymentMode"
	kserveContainer      = "kserve-container"
)

// isvcComponent is a predictor, transformer or explainer: a pod spec with
// KServe's extensions, plus (for predictors) a model to serve.
type isvcComponent struct {
	corev1.PodSpec
	MinReplicas *int32            `json:"minReplicas"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	// Model and the framework shortcuts are served by a runtime container
	// that KServe picks; their inline container fields override it.
	Model *corev1.Container `json:"model"`
}

// kserveFrameworks are the predictor shortcuts KServe turns into a model.
var kserveFrameworks = []string{"sklearn", "xgboost", "tensorflow", "pytorch", "triton", "onnx", "huggingface", "pmml", "lightgbm", "paddle"}

func decodeInferenceService(d *decoded, o *document.Object, m model.Meta) error {
	var isvc struct {
		metav1.ObjectMeta `json:"metadata"`
		Spec              map[string]json.RawMessage `json:"spec"`
	}
	if err := d.decodeLoose(o, m, &isvc); err != nil {
		return err
	}
	mode := m.Annotations[annotDeploymentMode]
	var templates []template
	for _, comp := range []string{"predictor", "transformer", "explainer"} {
		raw, ok := isvc.Spec[comp]
		if !ok {
			continue
		}
		var c isvcComponent
		var fields map[string]json.RawMessage
		if err := kjson.UnmarshalCaseSensitivePreserveInts(raw, &c); err != nil {
			return decodeError(o, m, err)
		}
		if err := kjson.UnmarshalCaseSensitivePreserveInts(raw, &fields); err != nil {
			return decodeError(o, m, err)
		}
		for _, fw := range kserveFrameworks {
			if fwRaw, ok := fields[fw]; ok && c.Model == nil {
				c.Model = &corev1.Container{}
				if err := kjson.UnmarshalCaseSensitivePreserveInts(fwRaw, c.Model); err != nil {
					return decodeError(o, m, err)
				}
			}
		}
		templates = append(templates, kserveTemplate(m, comp, mode, c))
	}
	if len(templates) == 0 {
		d.warn(o.Source, m.Ref().String(), "spec.predictor is missing: the service runs no pods")
	}
	d.addWorkload(m, isvc.OwnerReferences, templates...)
	return nil
}

func kserveTemplate(m model.Meta, comp, mode string, c isvcComponent) template {
	spec := c.PodSpec
	spec.Containers = append([]corev1.Container(nil), spec.Containers...)
	if c.Model != nil {
		mc := *c.Model
		mc.Name = kserveContainer
		spec.Containers = append([]corev1.Container{mc}, spec.Containers...)
	} else if len(spec.Containers) > 0 && (len(spec.Containers) == 1 || spec.Containers[0].Name == "") {
		spec.Containers[0].Name = kserveContainer
	}
	name := m.Name + "-" + comp
	t := template{
		role:     comp,
		replicas: replicas(c.MinReplicas, 1),
		spec:     corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: c.Labels, Annotations: c.Annotations}, Spec: spec},
		base:     m.Labels,
		labels:   map[string]string{labelKServeISVC: m.Name, labelKServeComponent: comp},
	}
	switch mode {
	case "RawDeployment", "Standard":
		t.labels["app"] = "isvc." + name
		t.varying = []string{labelPodTemplateHash}
	case "Serverless", "Knative":
		t.varying = []string{"serving.knative.dev/revision", "serving.knative.dev/revisionUID", "serving.knative.dev/configurationGeneration"}
		t.labels["serving.knative.dev/service"] = name
		t.labels["serving.knative.dev/configuration"] = name
		t.unlessSet = []string{"app"}
		addQueueProxy(&t.spec.Spec)
	default:
		// The mode is the cluster's default (inferenceservice-config),
		// which is not known offline: only the labels both modes share.
		t.unlessSet = []string{"app"}
	}
	return t
}

// addQueueProxy adds the Knative sidecar every serverless pod runs: traffic
// enters through it, so policies must allow its ports.
func addQueueProxy(s *corev1.PodSpec) {
	if len(s.Containers) > 0 && len(s.Containers[0].Ports) == 0 {
		s.Containers[0].Ports = []corev1.ContainerPort{{Name: "user-port", ContainerPort: 8080, Protocol: corev1.ProtocolTCP}}
	}
	s.Containers = append(s.Containers, corev1.Container{Name: "queue-proxy", Ports: []corev1.ContainerPort{
		{Name: "http-queueadm", ContainerPort: 8022, Protocol: corev1.ProtocolTCP},
		{Name: "http-autometric", ContainerPort: 9090, Protocol: corev1.ProtocolTCP},
		{Name: "http-usermetric", ContainerPort: 9091, Protocol: corev1.ProtocolTCP},
		{Name: "queue-port", ContainerPort: 8012, Protocol: corev1.ProtocolTCP},
	}})
}

// KubeRay labels.
const (
	labelRayCluster    = "ray.io/cluster"
	labelRayNodeType   = "ray.io/node-type"
	labelRayGroup      = "ray.io/group"
	labelRayIdentifier = "ray.io/identifier"
	labelRayIsNode     = "ray.io/is-ray-node"
	labelRayServe      = "ray.io/serve"
)

type rayClusterSpec struct {
	HeadGroupSpec struct {
		Template       corev1.PodTemplateSpec `json:"template"`
		RayStartParams map[string]string      `json:"rayStartParams"`
	} `json:"headGroupSpec"`
	WorkerGroupSpecs []struct {
		GroupName   string                 `json:"groupName"`
		Replicas    *int32                 `json:"replicas"`
		MinReplicas *int32                 `json:"minReplicas"`
		NumOfHosts  *int32                 `json:"numOfHosts"`
		Suspend     *bool                  `json:"suspend"`
		Template    corev1.PodTemplateSpec `json:"template"`
	} `json:"workerGroupSpecs"`
}

// rayTemplates gives the head and worker pods of a Ray cluster; cluster is
// "" when its name is generated (RayJob, RayService).
func rayTemplates(cluster string, spec rayClusterSpec) []template {
	base := func(nodeType, group string) template {
		t := template{
			base: map[string]string{
				labelRayIsNode:                 "yes",
				"app.kubernetes.io/name":       "kuberay",
				"app.kubernetes.io/created-by": "kuberay-operator",
			},
			labels: map[string]string{labelRayNodeType: nodeType, labelRayGroup: group},
		}
		if cluster == "" {
			t.varying = []string{labelRayCluster}
			t.unlessSet = []string{labelRayIdentifier}
		} else {
			t.labels[labelRayCluster] = cluster
			t.base[labelRayIdentifier] = cluster + "-" + nodeType
		}
		return t
	}
	head := base("head", "headgroup")
	head.role, head.replicas, head.spec = "head", 1, *spec.HeadGroupSpec.Template.DeepCopy()
	addRayMetricsPort(&head.spec.Spec)
	out := []template{head}
	for _, g := range spec.WorkerGroupSpecs {
		w := base("worker", g.GroupName)
		w.role, w.spec = "worker/"+g.GroupName, *g.Template.DeepCopy()
		n := replicas(g.Replicas, replicas(g.MinReplicas, 0))
		if g.Suspend != nil && *g.Suspend {
			n = 0
		}
		w.replicas = n * replicas(g.NumOfHosts, 1)
		addRayMetricsPort(&w.spec.Spec)
		out = append(out, w)
	}
	return out
}

// addRayMetricsPort adds the metrics port KubeRay gives every Ray container.
func addRayMetricsPort(s *corev1.PodSpec) {
	if len(s.Containers) == 0 {
		return
	}
	c := &s.Containers[0]
	for _, p := range c.Ports {
		if p.Name == "metrics" || p.ContainerPort == 8080 {
			return
		}
	}
	c.Ports = append(c.Ports, corev1.ContainerPort{Name: "metrics", ContainerPort: 8080, Protocol: corev1.ProtocolTCP})
}

func decodeRayCluster(d *decoded, o *document.Object, m model.Meta) error {
	var rc struct {
		metav1.ObjectMeta `json:"metadata"`
		Spec              rayClusterSpec `json:"spec"`
	}
	if err := d.decodeLoose(o, m, &rc); err != nil {
		return err
	}
	d.addWorkload(m, rc.OwnerReferences, rayTemplates(m.Name, rc.Spec)...)
	var np struct {
		Spec struct {
			NetworkPolicy *rayNetworkPolicy `json:"networkPolicy"`
		} `json:"spec"`
	}
	if err := d.decodeLoose(o, m, &np); err != nil {
		return err
	}
	if np.Spec.NetworkPolicy == nil {
		return nil
	}
	policies, err := rayPolicies(o, m, rc.OwnerReferences, rc.Spec, np.Spec.NetworkPolicy)
	if err != nil {
		return err
	}
	// Whether the operator makes them depends on its feature gate: the
	// marker stands for them (verdicts they could change are unknown)
	// unless the inputs show the operator's flags.
	marker := m
	marker.Kind, marker.Labels, marker.Annotations = "RayCluster.spec.networkPolicy", nil, nil
	d.ray = &rayMade{cluster: m.Ref(), src: o.Source.At(o.Line("spec", "networkPolicy")), policies: policies, marker: &marker}
	return nil
}

func decodeRayJob(d *decoded, o *document.Object, m model.Meta) error {
	var rj struct {
		metav1.ObjectMeta `json:"metadata"`
		Spec              struct {
			RayClusterSpec       *rayClusterSpec         `json:"rayClusterSpec"`
			ClusterSelector      map[string]string       `json:"clusterSelector"`
			SubmissionMode       string                  `json:"submissionMode"`
			SubmitterPodTemplate *corev1.PodTemplateSpec `json:"submitterPodTemplate"`
		} `json:"spec"`
	}
	if err := d.decodeLoose(o, m, &rj); err != nil {
		return err
	}
	var templates []template
	if rj.Spec.RayClusterSpec != nil && len(rj.Spec.ClusterSelector) == 0 {
		// The cluster is named <rayjob>-raycluster-<random>.
		templates = rayTemplates("", *rj.Spec.RayClusterSpec)
	}
	mode := rj.Spec.SubmissionMode
	if mode == "" || mode == "K8sJobMode" {
		// The submitter runs as a batch Job named after the RayJob.
		var tpl corev1.PodTemplateSpec
		if rj.Spec.SubmitterPodTemplate != nil {
			tpl = *rj.Spec.SubmitterPodTemplate
		} else {
			tpl.Spec.Containers = []corev1.Container{{Name: "ray-job-submitter"}}
			if rj.Spec.RayClusterSpec != nil && len(rj.Spec.RayClusterSpec.HeadGroupSpec.Template.Spec.Containers) > 0 {
				tpl.Spec.Containers[0].Image = rj.Spec.RayClusterSpec.HeadGroupSpec.Template.Spec.Containers[0].Image
			}
		}
		sub := jobTemplate(m.Name, batchv1.JobSpec{Template: tpl})
		sub.role = "submitter"
		templates = append(templates, sub)
	}
	d.addWorkload(m, rj.OwnerReferences, templates...)
	if rj.Spec.RayClusterSpec != nil && len(rj.Spec.ClusterSelector) == 0 {
		d.generatedRayCluster(o, m, "rayClusterSpec")
	}
	return nil
}

func decodeRayService(d *decoded, o *document.Object, m model.Meta) error {
	var rs struct {
		metav1.ObjectMeta `json:"metadata"`
		Spec              struct {
			RayClusterConfig rayClusterSpec `json:"rayClusterConfig"`
		} `json:"spec"`
	}
	if err := d.decodeLoose(o, m, &rs); err != nil {
		return err
	}
	templates := rayTemplates("", rs.Spec.RayClusterConfig)
	for i := range templates {
		if templates[i].role == "head" {
			// The controller flips the head's serve label as Serve comes up.
			templates[i].varying = append(templates[i].varying, labelRayServe)
		} else {
			templates[i].labels[labelRayServe] = "true"
		}
	}
	d.addWorkload(m, rs.OwnerReferences, templates...)
	d.generatedRayCluster(o, m, "rayClusterConfig")
	return nil
}

// generatedRayCluster marks the policies KubeRay may make for a RayCluster
// a RayJob or RayService creates with spec.<field>.networkPolicy: the
// cluster's name, which their selectors hold, is generated, so they are
// not derived; the verdicts they could change are unknown.
func (d *decoded) generatedRayCluster(o *document.Object, m model.Meta, field string) {
	type embedded struct {
		NetworkPolicy json.RawMessage `json:"networkPolicy"`
	}
	var np struct {
		Spec struct {
			RayClusterSpec   embedded `json:"rayClusterSpec"`
			RayClusterConfig embedded `json:"rayClusterConfig"`
		} `json:"spec"`
	}
	if json.Unmarshal(o.JSON, &np) != nil {
		return
	}
	raw := np.Spec.RayClusterSpec.NetworkPolicy
	if field == "rayClusterConfig" {
		raw = np.Spec.RayClusterConfig.NetworkPolicy
	}
	if len(raw) == 0 || string(raw) == "null" {
		return
	}
	made := m
	made.Kind, made.Labels, made.Annotations = m.Kind+".spec."+field+".networkPolicy", nil, nil
	d.foreign = append(d.foreign, &made)
	d.warn(o.Source, m.Kind+"/"+m.Namespace+"/"+m.Name, "the KubeRay operator may make NetworkPolicies from spec.%s.networkPolicy (feature gate %s) for the RayCluster it creates, whose name is generated: verdicts in namespace %s are reported as unknown", field, rayGate, m.Namespace)
}
