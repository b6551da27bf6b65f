// Package model is the one typed picture of an environment that every other
// part of ringfence reads: namespaces, workloads and the pods they run,
// services, ingresses, network policies, service accounts and nodes. Loaders
// build it; the engine, checks and renderers only read it.
package model

import (
	"net/netip"
	"strings"

	"github.com/ringfence/ringfence/api/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
)

// NamespaceNameLabel is the label the API server puts on every namespace;
// selectors written against it must work offline too.
const NamespaceNameLabel = "kubernetes.io/metadata.name"

// Meta is what every object has: its identity, labels and where it came from.
type Meta struct {
	Kind       string `json:"kind"`
	APIVersion string `json:"apiVersion"`
	Namespace  string `json:"namespace,omitempty"`
	Name       string `json:"name"`
	// GenerateName is set when the object had only metadata.generateName:
	// Name is then derived from it (see k8s.GeneratedNameMarker), since the
	// API server's random suffix is not known offline.
	GenerateName string            `json:"generateName,omitempty"`
	Labels       map[string]string `json:"labels,omitempty"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	Source       Source            `json:"source"`
}

// GetMeta returns the metadata; every model object has it through Meta.
func (m *Meta) GetMeta() *Meta { return m }

// Object is any model object.
type Object interface{ GetMeta() *Meta }

// Ref returns the object's reference.
func (m *Meta) Ref() Ref { return Ref{Kind: m.Kind, Namespace: m.Namespace, Name: m.Name} }

// World is everything loaded from one set of inputs. Every slice is sorted
// by namespace, then name (then kind), so output built from it is stable.
type World struct {
	Namespaces     []*Namespace     `json:"namespaces"`
	Workloads      []*Workload      `json:"workloads"`
	Services       []*Service       `json:"services"`
	Ingresses      []*Ingress       `json:"ingresses"`
	IngressClasses []*IngressClass  `json:"ingressClasses"`
	Policies       []*NetworkPolicy `json:"networkPolicies"`
	// TierPolicies are the cluster-wide tiered policies (ClusterNetworkPolicy
	// of both API groups, AdminNetworkPolicy, BaselineAdminNetworkPolicy),
	// sorted by tier, priority, then name.
	TierPolicies    []*TierPolicy     `json:"tierPolicies,omitempty"`
	ServiceAccounts []*ServiceAccount `json:"serviceAccounts"`
	Nodes           []*Node           `json:"nodes"`
	Secrets         []*Secret         `json:"secrets"`
	// Webhooks are the admission webhook configurations (validating and
	// mutating), for the Services the API server calls.
	Webhooks []*WebhookConfiguration `json:"webhooks,omitempty"`

	// The AWS layer, sorted by ID.
	SecurityGroups        []*SecurityGroup       `json:"securityGroups"`
	Instances             []*Instance            `json:"instances"`
	PrefixLists           []*PrefixList          `json:"prefixLists"`
	SecurityGroupPolicies []*SecurityGroupPolicy `json:"securityGroupPolicies"`
	// ENIConfigs and VPCCNI say where the VPC CNI's custom networking puts
	// the pods' network interfaces (docs/aws.md, "Custom networking").
	ENIConfigs []*ENIConfig `json:"eniConfigs,omitempty"`
	VPCCNI     []*VPCCNI    `json:"vpcCNI,omitempty"`
	// Network is the VPC layer: subnets, ACLs, routes, endpoints, gateways
	// and load balancers.
	Network VPCNetwork `json:"network"`

	// Fences are the intents `ringfence generate` turns into policies.
	Fences []*Fence `json:"fences"`

	// Monitors are the ServiceMonitors and PodMonitors; Prometheuses the
	// monitor selectors of the Prometheus objects. Who scrapes whom.
	Monitors     []*Monitor             `json:"monitors,omitempty"`
	Prometheuses []*PrometheusSelectors `json:"prometheuses,omitempty"`

	// What the inputs are known to lack. The engine turns each into
	// "unknown" verdicts where it could change them, never into "denied".
	//
	// ForeignPolicies are policy objects of kinds ringfence does not
	// evaluate (CiliumNetworkPolicy, Calico, MultiNetworkPolicy, ...).
	ForeignPolicies []*Meta `json:"foreignPolicies,omitempty"`
	// Unread are kinds that could not be read (RBAC, a failed list), per
	// namespace; Namespace "" means every namespace.
	Unread []Unread `json:"unread,omitempty"`
}

// Unread is a kind the inputs should hold but could not be read, and why.
type Unread struct {
	// Kind is the Kubernetes kind, e.g. "NetworkPolicy" or "Pod".
	Kind string `json:"kind"`
	// Namespace is where it could not be read; "" means every namespace.
	Namespace string `json:"namespace,omitempty"`
	// Reason says why, in the user's words ("forbidden: cannot list
	// networkpolicies.networking.k8s.io in namespace ml").
	Reason string `json:"reason"`
}

// Namespace is a Kubernetes namespace. Labels always include
// kubernetes.io/metadata.name.
type Namespace struct {
	Meta
	// Synthesized is true when no Namespace object was loaded and the
	// namespace exists only because objects refer to it.
	Synthesized bool `json:"synthesized,omitempty"`
}

// Workload is anything that runs pods: a bare Pod, a built-in controller
// (Deployment, Job, ...) or an ML custom resource (PyTorchJob,
// InferenceService, RayCluster, ...).
type Workload struct {
	Meta
	// Pods are the kinds of pod the workload runs, one per distinct
	// template: a Deployment has one, a PyTorchJob one per replica type, a
	// RayCluster one for the head and one per worker group.
	Pods []*PodTemplate `json:"pods"`
	// Instances are the pods observed in a live cluster that belong to the
	// workload (through ownerReferences), with their real labels and IPs.
	Instances []*Pod `json:"instances,omitempty"`
	// Owned lists the intermediate objects folded into this workload, such
	// as the ReplicaSets of a Deployment seen in a live cluster.
	Owned []Ref `json:"owned,omitempty"`
}

// mlAPIGroups are the API groups of ML workload operators.
var mlAPIGroups = []string{"kubeflow.org/", "serving.kserve.io/", "ray.io/"}

// IsML reports whether a workload is an ML workload: an ML operator's
// resource, or pods that request accelerators.
func (w *Workload) IsML() bool {
	for _, g := range mlAPIGroups {
		if strings.HasPrefix(w.APIVersion, g) {
			return true
		}
	}
	for _, p := range w.Pods {
		if len(p.GPUs) > 0 {
			return true
		}
	}
	return false
}

// AWSCredentials describes the AWS credentials the pods hold, never their
// values.
func (p *PodTemplate) AWSCredentials() []string {
	var out []string
	for _, c := range p.Credentials {
		if c.Cloud != "aws" {
			continue
		}
		switch c.Kind {
		case CredSecretEnv:
			out = append(out, "env "+c.EnvVar+" from Secret "+c.Secret)
		case CredSecretEnvFrom:
			out = append(out, "env from Secret "+c.Secret)
		case CredSecretVolume:
			out = append(out, "Secret "+c.Secret+" mounted at "+c.MountPath)
		case CredLiteralEnv:
			if c.KeyIDPrefix != "" {
				out = append(out, "literal "+c.EnvVar+" in the manifest (an access key ID starting "+c.KeyIDPrefix+")")
			} else {
				out = append(out, "literal "+c.EnvVar+" in the manifest")
			}
		case CredIRSA:
			out = append(out, "IAM role "+c.RoleARN+" (IRSA)")
		case CredPodIdentity:
			out = append(out, "EKS Pod Identity")
		case CredProjectedToken:
			out = append(out, "token for "+c.Audience)
		}
	}
	return out
}

// PodTemplate describes the pods of one role of a workload as the
// workload's controller would create them.
type PodTemplate struct {
	// Role names the template inside its workload ("master", "worker",
	// "head", "worker/gpu-group", "predictor"); empty for single-template
	// workloads.
	Role string `json:"role,omitempty"`
	// Replicas is the number of pods; -1 when it cannot be known offline
	// (a DaemonSet runs one per eligible node, an autoscaler decides).
	Replicas int32 `json:"replicas"`
	// Labels are the labels the pods carry in a real cluster: the template's
	// labels plus those the controller adds with values known offline.
	Labels map[string]string `json:"labels,omitempty"`
	// VaryingLabels are label keys that the pods carry but whose values are
	// not known offline (hashes, uids, per-pod indexes). Selectors that test
	// only their existence can still be decided.
	VaryingLabels []string          `json:"varyingLabels,omitempty"`
	Annotations   map[string]string `json:"annotations,omitempty"`
	PodSpec
}

// Pod is one pod seen in a live cluster, or a bare Pod from a manifest.
type Pod struct {
	Name        string            `json:"name"`
	Labels      map[string]string `json:"labels,omitempty"`
	IPs         []netip.Addr      `json:"ips,omitempty"`
	NodeName    string            `json:"nodeName,omitempty"`
	HostNetwork bool              `json:"hostNetwork,omitempty"`
	Phase       string            `json:"phase,omitempty"`
}

// PodSpec is what ringfence needs of a pod spec: where it runs, what it
// listens on, what identity and credentials it holds.
type PodSpec struct {
	ServiceAccount string `json:"serviceAccount"`
	// AutomountToken reports whether a service account token is mounted,
	// after the pod and service account settings are combined (the pod's
	// setting wins; the default is true).
	AutomountToken bool                `json:"automountToken"`
	HostNetwork    bool                `json:"hostNetwork,omitempty"`
	NodeName       string              `json:"nodeName,omitempty"`
	NodeSelector   map[string]string   `json:"nodeSelector,omitempty"`
	Affinity       *corev1.Affinity    `json:"affinity,omitempty"`
	Tolerations    []corev1.Toleration `json:"tolerations,omitempty"`
	Containers     []Container         `json:"containers"`
	// GPUs totals accelerator requests by resource name (nvidia.com/gpu,
	// aws.amazon.com/neuron, ...) over the pod's containers.
	GPUs        map[string]int64 `json:"gpus,omitempty"`
	Credentials []Credential     `json:"credentials,omitempty"`
	// CallsServices are the Services the containers name by their cluster
	// DNS name (<name>.<namespace>.svc) in commands, arguments or literal
	// environment values: connections the pods are configured to make.
	CallsServices []Ref `json:"callsServices,omitempty"`
	// IPs are the pod's addresses when known (status.podIPs of a bare Pod).
	IPs []netip.Addr `json:"ips,omitempty"`
}

// Container is one container of a pod; init containers included (they run
// with the same network identity).
type Container struct {
	Name  string           `json:"name"`
	Image string           `json:"image,omitempty"`
	Init  bool             `json:"init,omitempty"`
	Ports []Port           `json:"ports,omitempty"`
	GPUs  map[string]int64 `json:"gpus,omitempty"`
}

// Port is a container port. Protocol is always set (TCP when omitted).
type Port struct {
	Name     string          `json:"name,omitempty"`
	Port     int32           `json:"port"`
	Protocol corev1.Protocol `json:"protocol"`
	HostPort int32           `json:"hostPort,omitempty"`
}

// CredentialKind says how a pod obtains a credential.
type CredentialKind string

// Ways a pod carries credentials. None of them records a secret's value:
// ringfence never reads one.
const (
	// CredSecretEnv is an environment variable from a Secret key (env.valueFrom.secretKeyRef).
	CredSecretEnv CredentialKind = "secret-env"
	// CredSecretEnvFrom is every key of a Secret as environment variables (envFrom.secretRef).
	CredSecretEnvFrom CredentialKind = "secret-envfrom"
	// CredSecretVolume is a Secret mounted as files (a secret volume or a projected secret source).
	CredSecretVolume CredentialKind = "secret-volume"
	// CredLiteralEnv is a well-known credential variable set to a literal in the manifest.
	CredLiteralEnv CredentialKind = "literal-env"
	// CredProjectedToken is a projected service account token for an
	// audience other than the API server (for example sts.amazonaws.com).
	CredProjectedToken CredentialKind = "projected-token"
	// CredIRSA is an IAM role for service accounts: the service account's
	// eks.amazonaws.com/role-arn annotation.
	CredIRSA CredentialKind = "irsa"
	// CredPodIdentity is EKS Pod Identity, seen through the agent's
	// environment variables.
	CredPodIdentity CredentialKind = "pod-identity"
)

// Credential is one credential a pod holds.
type Credential struct {
	Kind      CredentialKind `json:"kind"`
	Container string         `json:"container,omitempty"`
	Secret    string         `json:"secret,omitempty"`
	Key       string         `json:"key,omitempty"`
	EnvVar    string         `json:"envVar,omitempty"`
	MountPath string         `json:"mountPath,omitempty"`
	RoleARN   string         `json:"roleArn,omitempty"`
	Audience  string         `json:"audience,omitempty"`
	// KeyIDPrefix is the first four characters of a literal access key ID
	// (AKIA: an IAM user's long-lived key; ASIA: temporary), the only part
	// of a credential value ringfence keeps.
	KeyIDPrefix string `json:"keyIdPrefix,omitempty"`
	// Cloud is "aws" when the credential is evidently for AWS (an AWS_*
	// variable, an AWS role, an STS audience).
	Cloud string `json:"cloud,omitempty"`
}

// Service is a Kubernetes Service.
type Service struct {
	Meta
	Spec corev1.ServiceSpec `json:"spec"`
	// LoadBalancerIngress are the hostnames and IPs of
	// status.loadBalancer.ingress: the load balancer's DNS name, which ties
	// the Service to an ELBv2 load balancer in the AWS inputs.
	LoadBalancerIngress []string `json:"loadBalancerIngress,omitempty"`
}

// Ingress is a networking.k8s.io/v1 Ingress.
type Ingress struct {
	Meta
	Spec networkingv1.IngressSpec `json:"spec"`
	// LoadBalancerIngress is status.loadBalancer.ingress's hostnames and
	// IPs, as for a Service.
	LoadBalancerIngress []string `json:"loadBalancerIngress,omitempty"`
}

// IngressClass is a networking.k8s.io/v1 IngressClass.
type IngressClass struct {
	Meta
	Spec networkingv1.IngressClassSpec `json:"spec"`
}

// NetworkPolicy is a networking.k8s.io/v1 NetworkPolicy with the source
// position of each of its rules.
type NetworkPolicy struct {
	Meta
	Spec networkingv1.NetworkPolicySpec `json:"spec"`
	// IngressRules and EgressRules hold the source of spec.ingress[i] and
	// spec.egress[i], so an explanation can point at the rule.
	IngressRules []Source `json:"ingressRuleSources,omitempty"`
	EgressRules  []Source `json:"egressRuleSources,omitempty"`
	// EgressDomains holds the domainNames peers of spec.egress[i] of an
	// EKS ApplicationNetworkPolicy (Kind says which): its spec is a
	// NetworkPolicy's whose egress peers may also name domains. A rule
	// whose only peers are domains has no spec.egress[i].to but is not
	// open to everything.
	EgressDomains [][]string `json:"egressDomains,omitempty"`
}

// Domains returns the domainNames of egress rule i.
func (p *NetworkPolicy) Domains(i int) []string {
	if i < len(p.EgressDomains) {
		return p.EgressDomains[i]
	}
	return nil
}

// ServiceAccount is a Kubernetes ServiceAccount.
type ServiceAccount struct {
	Meta
	// AutomountToken is the account's automountServiceAccountToken; nil
	// when unset.
	AutomountToken *bool `json:"automountToken,omitempty"`
}

// IRSARoleAnnotation is the annotation through which EKS gives a service
// account an IAM role.
const IRSARoleAnnotation = "eks.amazonaws.com/role-arn"

// RoleARN returns the IAM role of the service account (IRSA), if any.
func (s *ServiceAccount) RoleARN() string { return s.Annotations[IRSARoleAnnotation] }

// Node is a Kubernetes Node.
type Node struct {
	Meta
	ProviderID string               `json:"providerID,omitempty"`
	Addresses  []corev1.NodeAddress `json:"addresses,omitempty"`
	Taints     []corev1.Taint       `json:"taints,omitempty"`
	// PodCIDRs are spec.podCIDRs (or spec.podCIDR): where the node's pods
	// take their addresses on CNIs that use them.
	PodCIDRs []netip.Prefix `json:"podCIDRs,omitempty"`
	// GPUs is the node's accelerator capacity by resource name.
	GPUs map[string]int64 `json:"gpus,omitempty"`
}

// Secret records that a Secret exists, its type and the names of its keys.
// Its values are never kept.
type Secret struct {
	Meta
	Type string   `json:"type,omitempty"`
	Keys []string `json:"keys,omitempty"`
	// KeyIDPrefixes maps the keys whose value is an AWS access key ID to
	// the ID's first four characters (AKIA, ASIA); nothing more of a value
	// is kept.
	KeyIDPrefixes map[string]string `json:"keyIdPrefixes,omitempty"`
}

// WebhookConfiguration is an admissionregistration.k8s.io/v1
// ValidatingWebhookConfiguration or MutatingWebhookConfiguration: what
// ringfence needs of it is the Services its webhooks call.
type WebhookConfiguration struct {
	Meta
	Services []WebhookService `json:"services,omitempty"`
}

// WebhookService is the Service one webhook calls (clientConfig.service).
type WebhookService struct {
	Webhook   string `json:"webhook"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// Port is the Service port (443 when omitted, as the API server defaults it).
	Port int32 `json:"port"`
}

// Fence is a ringfence.dev/v1alpha1 Fence: what the workloads it selects
// need.
type Fence struct {
	Meta
	Spec v1alpha1.FenceSpec `json:"spec"`
}

// NamesIMDS reports whether the Fence's cidr intents name the instance
// metadata service (169.254.169.254): its workloads need the node role,
// which generate keeps and audit's RF044 exempts.
func (f *Fence) NamesIMDS() bool {
	imds := netip.MustParseAddr("169.254.169.254")
	for _, e := range f.Spec.Egress {
		if e.CIDR == nil {
			continue
		}
		for _, c := range e.CIDR.CIDRs {
			if p, err := netip.ParsePrefix(c); err == nil && p.Contains(imds) {
				return true
			}
		}
	}
	return false
}

// TemplateOf finds the template a live pod was made from: the one whose
// known labels the pod carries (the first when none matches).
func (wl *Workload) TemplateOf(pod *Pod) *PodTemplate {
	for _, t := range wl.Pods {
		match := true
		for k, v := range t.Labels {
			if pod.Labels[k] != v {
				match = false
				break
			}
		}
		if match {
			return t
		}
	}
	return wl.Pods[0]
}
