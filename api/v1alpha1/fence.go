// Package v1alpha1 holds the Fence type (ringfence.dev/v1alpha1): what an ML
// workload needs, from which `ringfence generate` writes least-privilege
// NetworkPolicies and `ringfence controller` keeps them current.
//
// The CRD in deploy/ and the deep copies in zz_generated.deepcopy.go are
// generated from these types by controller-gen (hack/generate.sh).
//
// +kubebuilder:object:generate=true
// +groupName=ringfence.dev
package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// GroupVersion of the Fence type.
const GroupVersion = "ringfence.dev/v1alpha1"

// Fence describes the network needs of the workloads it selects.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Feed",type=string,JSONPath=`.status.conditions[?(@.type=="FeedHealthy")].status`
// +kubebuilder:printcolumn:name="SyncToken",type=string,JSONPath=`.status.syncToken`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Fence struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              FenceSpec `json:"spec"`
	// Status is written by `ringfence controller`.
	// +optional
	Status FenceStatus `json:"status,omitzero"`
}

// FenceList is a list of Fences.
//
// +kubebuilder:object:root=true
type FenceList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Fence `json:"items"`
}

// FenceStatus is what the controller last did with a Fence.
type FenceStatus struct {
	// ObservedGeneration is the generation of the spec the conditions
	// describe.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// SyncToken is the AWS ip-ranges publication that last changed the
	// Fence's policies (a publication that does not touch its services
	// changes nothing, this field included).
	// +optional
	SyncToken string `json:"syncToken,omitempty"`
	// Policies are the NetworkPolicies the Fence owns, sorted.
	// +optional
	Policies []string `json:"policies,omitempty"`
	// Conditions: Ready (the policies are written as the spec says),
	// FeedHealthy (the last publication read was valid and current) and
	// Synced (the policies hold the current ranges, grace periods and
	// refused shrinks aside).
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// FenceSpec selects workloads of the Fence's namespace and lists what they
// may reach and what may reach them.
type FenceSpec struct {
	// Workloads selects the pods of the Fence's namespace it fences.
	Workloads metav1.LabelSelector `json:"workloads"`
	Egress    []EgressIntent       `json:"egress,omitempty"`
	Ingress   []IngressIntent      `json:"ingress,omitempty"`
}

// EgressIntent is one destination; exactly one field is set.
type EgressIntent struct {
	// AWS is an AWS service's published ranges in a region.
	AWS *AWSDestination `json:"aws,omitempty"`
	// DNS is the cluster's DNS (kube-dns/CoreDNS), UDP and TCP 53.
	DNS *DNSDestination `json:"dns,omitempty"`
	// Peers are the workload's own pods (distributed training).
	Peers *PeersDestination `json:"peers,omitempty"`
	// Service is a Service's pods on the port it forwards to.
	Service *ServiceDestination `json:"service,omitempty"`
	// Host is a DNS name; a NetworkPolicy cannot express it.
	Host *HostDestination `json:"host,omitempty"`
	// CIDR is addresses outside the cluster that no other intent names
	// (the VPC's DNS resolver, the API server's endpoints, a database),
	// on the ports given. Never 0.0.0.0/0 or ::/0.
	CIDR *CIDRDestination `json:"cidr,omitempty"`
}

// CIDRDestination is address ranges on ports (required: least privilege
// names them).
type CIDRDestination struct {
	CIDRs []string `json:"cidrs"`
	Ports []Port   `json:"ports"`
}

// AWSDestination names an AWS service and region of ip-ranges.json.
type AWSDestination struct {
	Service string `json:"service"`
	Region  string `json:"region"`
	// Ports default to TCP 443.
	Ports []Port `json:"ports,omitempty"`
}

// Port is a protocol and port.
type Port struct {
	Protocol string `json:"protocol,omitempty"`
	Port     int32  `json:"port"`
}

// DNSDestination is the cluster DNS.
type DNSDestination struct{}

// PeersDestination allows all ports between the pods of one job.
type PeersDestination struct {
	SameJob bool `json:"sameJob"`
}

// ServiceDestination is a Service; Port is its port's name or number.
type ServiceDestination struct {
	Namespace string             `json:"namespace,omitempty"`
	Name      string             `json:"name"`
	Port      intstr.IntOrString `json:"port"`
}

// HostDestination is a DNS name and port.
type HostDestination struct {
	Name string `json:"name"`
	Port int32  `json:"port"`
}

// IngressIntent is one source; exactly one of ingressController and from
// is set.
type IngressIntent struct {
	// IngressController admits the controller's pods of a namespace.
	IngressController *ControllerSource `json:"ingressController,omitempty"`
	// SourceRanges become the allowlist of the Ingresses that route to
	// the workloads (with ingressController).
	SourceRanges []string `json:"sourceRanges,omitempty"`
	// From admits other clients on Ports: pods by namespace and pod
	// selectors, or addresses (the clients of a platform component:
	// every pod for DNS, the control plane for a webhook).
	From  *ClientSource `json:"from,omitempty"`
	Ports []Port        `json:"ports,omitempty"`
}

// ClientSource is pods (namespaces AND pods; namespaces {} is every
// namespace, pods alone the Fence's namespace) or address ranges.
type ClientSource struct {
	Namespaces *metav1.LabelSelector `json:"namespaces,omitempty"`
	Pods       *metav1.LabelSelector `json:"pods,omitempty"`
	CIDRs      []string              `json:"cidrs,omitempty"`
}

// ControllerSource names the ingress controller's namespace.
type ControllerSource struct {
	Namespace   string                `json:"namespace"`
	PodSelector *metav1.LabelSelector `json:"podSelector,omitempty"`
}
