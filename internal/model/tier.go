package model

import (
	"sort"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Tier is where a cluster-wide policy sits in the evaluation order: the
// Admin tier before NetworkPolicies, the Baseline tier after them.
type Tier string

// The tiers of ClusterNetworkPolicy (both API groups) and of the legacy
// AdminNetworkPolicy (Admin) and BaselineAdminNetworkPolicy (Baseline).
const (
	TierAdmin    Tier = "Admin"
	TierBaseline Tier = "Baseline"
)

// TierAction is what a tier rule does to the traffic it matches. The
// legacy AdminNetworkPolicy's "Allow" is read as Accept.
type TierAction string

// Tier rule actions.
const (
	ActionAccept TierAction = "Accept"
	ActionDeny   TierAction = "Deny"
	ActionPass   TierAction = "Pass"
)

// TierPolicy is one cluster-wide tiered policy, whatever its kind:
// networking.k8s.aws/v1alpha1 ClusterNetworkPolicy,
// policy.networking.k8s.io/v1alpha2 ClusterNetworkPolicy, or the
// v1alpha1 AdminNetworkPolicy and BaselineAdminNetworkPolicy. The loaders
// adapt each kind into it; the engine evaluates only this.
type TierPolicy struct {
	Meta
	Tier Tier `json:"tier"`
	// Priority orders policies within a tier, lower first (0-1000). A
	// BaselineAdminNetworkPolicy has none (it is a singleton): 0.
	Priority int32 `json:"priority"`
	// Subject selects the pods the policy applies to (host-network pods
	// never): the pods matching Pods in the namespaces matching
	// Namespaces; Pods nil means every pod of those namespaces.
	Subject TierSubject `json:"subject"`
	Ingress []TierRule  `json:"ingress,omitempty"`
	Egress  []TierRule  `json:"egress,omitempty"`
}

// TierSubject is a policy's subject, or a selector peer of one of its
// rules.
type TierSubject struct {
	Namespaces metav1.LabelSelector  `json:"namespaces"`
	Pods       *metav1.LabelSelector `json:"pods,omitempty"`
}

// TierRule is one ingress or egress rule of a tiered policy.
type TierRule struct {
	// Name is the rule's name, when it has one.
	Name   string     `json:"name,omitempty"`
	Action TierAction `json:"action"`
	Source Source     `json:"source"`
	// Selectors are the namespaces and pods peers (host-network pods are
	// never among them).
	Selectors []TierSubject `json:"selectors,omitempty"`
	// Networks are the CIDRs of networks peers.
	Networks []string `json:"networks,omitempty"`
	// Nodes are nodes peers: the addresses of the matching nodes.
	Nodes []metav1.LabelSelector `json:"nodes,omitempty"`
	// DomainNames are domainNames peers (egress only).
	DomainNames []string `json:"domainNames,omitempty"`
	// Ports, nil for every port, as NetworkPolicy ports: a number with
	// an optional end port, a named port, or a protocol alone.
	Ports []networkingv1.NetworkPolicyPort `json:"ports,omitempty"`
}

// TierProfile says whose semantics decide tiered policies.
type TierProfile string

// The profiles.
const (
	// ProfileUpstream is the network-policy-api's: within a tier, policies
	// by priority, and within a policy the first matching rule.
	ProfileUpstream TierProfile = "upstream"
	// ProfileEKS is the Amazon VPC CNI network policy agent's: at equal
	// priority Deny beats Accept beats Pass, whatever the rule order.
	ProfileEKS TierProfile = "eks"
)

// EKSGroup is the API group of the EKS kinds.
const EKSGroup = "networking.k8s.aws"

// Group returns the API group of the object's apiVersion.
func (m *Meta) Group() string {
	for i := 0; i < len(m.APIVersion); i++ {
		if m.APIVersion[i] == '/' {
			return m.APIVersion[:i]
		}
	}
	return ""
}

// SortTiers orders tiered policies as World.TierPolicies holds them: tier
// (Admin first), priority, then API version, kind and name. Whoever adds
// tiered policies to a world (the loaders, generate's verification) sorts
// them with it.
func SortTiers(ps []*TierPolicy) {
	sort.SliceStable(ps, func(i, j int) bool {
		a, b := ps[i], ps[j]
		if a.Tier != b.Tier {
			return a.Tier == TierAdmin
		}
		if a.Priority != b.Priority {
			return a.Priority < b.Priority
		}
		if a.APIVersion != b.APIVersion {
			return a.APIVersion < b.APIVersion
		}
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		return a.Name < b.Name
	})
}
