package k8s

import (
	"fmt"
	"strings"

	"github.com/ringfence/ringfence/internal/load/document"
	"github.com/ringfence/ringfence/internal/model"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The prometheus-operator (monitoring.coreos.com/v1) runs each Prometheus
// and Alertmanager as a StatefulSet of its own making. The pods' labels and
// ports below are those of the operator's source (pkg/prometheus/server and
// pkg/alertmanager: makeSelectorLabels, BuildPodMetadata,
// MakeContainerPorts, CreateConfigReloader); docs/ml-workloads.md lists
// them. kube-prometheus's own NetworkPolicies select these pods.
const (
	labelAppName       = "app.kubernetes.io/name"
	labelAppInstance   = "app.kubernetes.io/instance"
	labelAppVersion    = "app.kubernetes.io/version"
	labelManagedBy     = "app.kubernetes.io/managed-by"
	promOperator       = "prometheus-operator"
	labelPromName      = "operator.prometheus.io/name"
	labelPromShard     = "operator.prometheus.io/shard"
	portConfigReloader = 8080
)

// monitoringSpec holds the fields of a Prometheus or Alertmanager spec that
// decide its pods.
type monitoringSpec struct {
	Replicas    *int32 `json:"replicas"`
	Shards      *int32 `json:"shards"`
	Version     string `json:"version"`
	PortName    string `json:"portName"`
	ListenLocal bool   `json:"listenLocal"`
	PodMetadata *struct {
		Labels      map[string]string `json:"labels"`
		Annotations map[string]string `json:"annotations"`
	} `json:"podMetadata"`
	ServiceAccountName           string              `json:"serviceAccountName"`
	AutomountServiceAccountToken *bool               `json:"automountServiceAccountToken"`
	NodeSelector                 map[string]string   `json:"nodeSelector"`
	Tolerations                  []corev1.Toleration `json:"tolerations"`
	Affinity                     *corev1.Affinity    `json:"affinity"`
	HostNetwork                  bool                `json:"hostNetwork"`
	Containers                   []corev1.Container  `json:"containers"`
	InitContainers               []corev1.Container  `json:"initContainers"`
	Thanos                       *struct{}           `json:"thanos"`
	// Prometheus only: which monitors it scrapes.
	ServiceMonitorSelector          *metav1.LabelSelector `json:"serviceMonitorSelector"`
	ServiceMonitorNamespaceSelector *metav1.LabelSelector `json:"serviceMonitorNamespaceSelector"`
	PodMonitorSelector              *metav1.LabelSelector `json:"podMonitorSelector"`
	PodMonitorNamespaceSelector     *metav1.LabelSelector `json:"podMonitorNamespaceSelector"`
}

func decodePrometheus(d *decoded, o *document.Object, m model.Meta) error {
	var p struct {
		metav1.ObjectMeta `json:"metadata"`
		Spec              monitoringSpec `json:"spec"`
	}
	if err := d.decodeLoose(o, m, &p); err != nil {
		return err
	}
	s := p.Spec
	containers := []corev1.Container{{Name: "prometheus", Ports: webPort(s, 9090)}, configReloader(s)}
	if s.Thanos != nil {
		// The sidecar declares both ports even when it binds them to
		// 127.0.0.1 (listenLocal).
		containers = append(containers, corev1.Container{Name: "thanos-sidecar", Ports: []corev1.ContainerPort{
			{Name: "http", ContainerPort: 10902, Protocol: corev1.ProtocolTCP},
			{Name: "grpc", ContainerPort: 10901, Protocol: corev1.ProtocolTCP},
		}})
	}
	shards := replicas(s.Shards, 1)
	if shards < 1 {
		shards = 1
	}
	n := replicas(s.Replicas, 1)
	if n < 0 {
		n = 1
	}
	var templates []template
	for shard := int32(0); shard < shards; shard++ {
		t := monitoringTemplate(s, containers, n, map[string]string{
			labelManagedBy:   promOperator,
			labelAppName:     "prometheus",
			labelAppInstance: m.Name,
			labelPromName:    m.Name,
			"prometheus":     m.Name,
			labelPromShard:   fmt.Sprint(shard),
		})
		if shards > 1 {
			t.role = fmt.Sprintf("shard-%d", shard)
		}
		templates = append(templates, t)
	}
	d.addWorkload(m, p.OwnerReferences, templates...)
	sel := &model.PrometheusSelectors{Meta: m, ServiceMonitorSelector: s.ServiceMonitorSelector, ServiceMonitorNamespaceSelector: s.ServiceMonitorNamespaceSelector,
		PodMonitorSelector: s.PodMonitorSelector, PodMonitorNamespaceSelector: s.PodMonitorNamespaceSelector}
	d.also = map[model.Ref]any{{Kind: prometheusSelectorsKind, Namespace: m.Namespace, Name: m.Name}: sel}
	return selectorsValid(o, m, s.ServiceMonitorSelector, s.ServiceMonitorNamespaceSelector, s.PodMonitorSelector, s.PodMonitorNamespaceSelector)
}

func decodeAlertmanager(d *decoded, o *document.Object, m model.Meta) error {
	var a struct {
		metav1.ObjectMeta `json:"metadata"`
		Spec              monitoringSpec `json:"spec"`
	}
	if err := d.decodeLoose(o, m, &a); err != nil {
		return err
	}
	s := a.Spec
	// The cluster (gossip) port is declared on TCP and UDP whatever the
	// replicas; the web port unless it listens on 127.0.0.1 only.
	ports := append(webPort(s, 9093),
		corev1.ContainerPort{Name: "mesh-tcp", ContainerPort: 9094, Protocol: corev1.ProtocolTCP},
		corev1.ContainerPort{Name: "mesh-udp", ContainerPort: 9094, Protocol: corev1.ProtocolUDP})
	n := replicas(s.Replicas, 1)
	if n < 0 {
		n = 0
	}
	t := monitoringTemplate(s, []corev1.Container{{Name: "alertmanager", Ports: ports}, configReloader(s)}, n, map[string]string{
		labelAppName:     "alertmanager",
		labelManagedBy:   promOperator,
		labelAppInstance: m.Name,
		"alertmanager":   m.Name,
	})
	d.addWorkload(m, a.OwnerReferences, t)
	return nil
}

func webPort(s monitoringSpec, port int32) []corev1.ContainerPort {
	if s.ListenLocal {
		return nil
	}
	name := s.PortName
	if name == "" {
		name = "web"
	}
	return []corev1.ContainerPort{{Name: name, ContainerPort: port, Protocol: corev1.ProtocolTCP}}
}

func configReloader(s monitoringSpec) corev1.Container {
	c := corev1.Container{Name: "config-reloader"}
	if !s.ListenLocal {
		c.Ports = []corev1.ContainerPort{{Name: "reloader-web", ContainerPort: portConfigReloader, Protocol: corev1.ProtocolTCP}}
	}
	return c
}

// monitoringTemplate builds the pods of an operator-made StatefulSet: the
// version label, then spec.podMetadata.labels over it, then the operator's
// selector labels over both; containers of spec.containers patch the
// operator's of the same name and add the others.
func monitoringTemplate(s monitoringSpec, operator []corev1.Container, n int32, selector map[string]string) template {
	spec := corev1.PodTemplateSpec{Spec: corev1.PodSpec{
		ServiceAccountName:           s.ServiceAccountName,
		AutomountServiceAccountToken: s.AutomountServiceAccountToken,
		NodeSelector:                 s.NodeSelector,
		Tolerations:                  s.Tolerations,
		Affinity:                     s.Affinity,
		HostNetwork:                  s.HostNetwork,
		Containers:                   mergeContainers(operator, s.Containers),
		InitContainers:               s.InitContainers,
	}}
	if s.PodMetadata != nil {
		spec.Labels, spec.Annotations = s.PodMetadata.Labels, s.PodMetadata.Annotations
	}
	t := template{
		replicas: n,
		spec:     spec,
		labels:   selector,
		varying:  []string{labelControllerRevision, labelStatefulSetPodName, labelPodIndex},
	}
	if s.Version != "" {
		t.base = map[string]string{labelAppVersion: strings.TrimPrefix(s.Version, "v")}
	} else {
		// The operator's default version is not known offline.
		t.unlessSet = []string{labelAppVersion}
	}
	return t
}

// mergeContainers applies spec.containers to the operator's containers as
// the operator does (a strategic merge by name): a container of the same
// name adds its ports (by port and protocol), environment and mounts; the
// others run beside them.
func mergeContainers(operator, user []corev1.Container) []corev1.Container {
	out := make([]corev1.Container, len(operator))
	copy(out, operator)
	for _, u := range user {
		i := -1
		for j := range out {
			if out[j].Name == u.Name {
				i = j
			}
		}
		if i < 0 {
			out = append(out, u)
			continue
		}
		c := &out[i]
		for _, p := range u.Ports {
			proto := p.Protocol
			if proto == "" {
				proto = corev1.ProtocolTCP
			}
			replaced := false
			for k := range c.Ports {
				if c.Ports[k].ContainerPort == p.ContainerPort && c.Ports[k].Protocol == proto {
					c.Ports[k], replaced = p, true
				}
			}
			if !replaced {
				c.Ports = append(c.Ports, p)
			}
		}
		c.Env = append(c.Env, u.Env...)
		c.EnvFrom = append(c.EnvFrom, u.EnvFrom...)
		c.VolumeMounts = append(c.VolumeMounts, u.VolumeMounts...)
		if len(u.Resources.Limits)+len(u.Resources.Requests) > 0 {
			c.Resources = u.Resources
		}
	}
	return out
}
