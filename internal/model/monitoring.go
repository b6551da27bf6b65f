package model

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// Monitor is a Prometheus operator ServiceMonitor or PodMonitor
// (monitoring.coreos.com/v1): which Services' endpoints, or which pods, a
// Prometheus that selects it scrapes, and on which ports.
type Monitor struct {
	Meta
	// Selector selects Services (ServiceMonitor) or pods (PodMonitor).
	Selector metav1.LabelSelector `json:"selector"`
	// AnyNamespace (namespaceSelector.any) looks in every namespace;
	// otherwise Namespaces (namespaceSelector.matchNames), else the
	// monitor's own namespace.
	AnyNamespace bool     `json:"anyNamespace,omitempty"`
	Namespaces   []string `json:"namespaces,omitempty"`
	// Endpoints are the scraped ports: for a ServiceMonitor a Service port
	// name (Port) or the pods' target port (TargetPort, a name or a
	// number); for a PodMonitor a pod port name (Port), number
	// (PortNumber) or the deprecated targetPort.
	Endpoints []MonitorEndpoint `json:"endpoints"`
}

// MonitorEndpoint is one scraped port of a Monitor.
type MonitorEndpoint struct {
	Port       string `json:"port,omitempty"`
	PortNumber int32  `json:"portNumber,omitempty"`
	TargetPort string `json:"targetPort,omitempty"`
	Source     Source `json:"source"`
}

// MonitorNamespaces reports whether a Monitor looks for targets in a
// namespace.
func (m *Monitor) MonitorNamespaces(ns string) bool {
	if m.AnyNamespace {
		return true
	}
	if len(m.Namespaces) == 0 {
		return ns == m.Namespace
	}
	for _, n := range m.Namespaces {
		if n == ns {
			return true
		}
	}
	return false
}

// PrometheusSelectors are the monitor selectors of a Prometheus object
// (monitoring.coreos.com/v1), whose pods are the workload of the same
// namespace and name. A nil selector selects no monitor; an empty one all.
// A nil namespace selector means the Prometheus's own namespace; an empty
// one every namespace.
type PrometheusSelectors struct {
	Meta
	ServiceMonitorSelector          *metav1.LabelSelector `json:"serviceMonitorSelector,omitempty"`
	ServiceMonitorNamespaceSelector *metav1.LabelSelector `json:"serviceMonitorNamespaceSelector,omitempty"`
	PodMonitorSelector              *metav1.LabelSelector `json:"podMonitorSelector,omitempty"`
	PodMonitorNamespaceSelector     *metav1.LabelSelector `json:"podMonitorNamespaceSelector,omitempty"`
}
