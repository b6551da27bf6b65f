// Package inventory summarizes a loaded world for a person to check that
// ringfence read their environment right: namespaces, workloads and their
// pods, services, ingresses, policies with the workloads they select.
package inventory

import (
	"fmt"
	"sort"

	"github.com/ringfence/ringfence/internal/engine"
	"github.com/ringfence/ringfence/internal/load"
	"github.com/ringfence/ringfence/internal/load/document"
	"github.com/ringfence/ringfence/internal/model"
	networkingv1 "k8s.io/api/networking/v1"
)

// Inventory is the stable, documented shape of `ringfence inventory -o json`.
type Inventory struct {
	Namespaces      []Namespace       `json:"namespaces"`
	Workloads       []Workload        `json:"workloads"`
	Services        []Service         `json:"services"`
	Ingresses       []Ingress         `json:"ingresses"`
	NetworkPolicies []Policy          `json:"networkPolicies"`
	ServiceAccounts []ServiceAccount  `json:"serviceAccounts"`
	Nodes           []Node            `json:"nodes"`
	Secrets         []Secret          `json:"secrets,omitempty"`
	SecurityGroups  []SecurityGroup   `json:"securityGroups,omitempty"`
	Instances       []Instance        `json:"instances,omitempty"`
	SGPolicies      []SGPolicy        `json:"securityGroupPolicies,omitempty"`
	AWSNetwork      []NetworkObject   `json:"awsNetwork,omitempty"`
	Report          *document.Report  `json:"report"`
	Recognized      []load.Recognized `json:"recognized,omitempty"`
}

// Namespace is one namespace.
type Namespace struct {
	Name        string            `json:"name"`
	Labels      map[string]string `json:"labels"`
	Synthesized bool              `json:"synthesized,omitempty"`
	Source      string            `json:"source"`
}

// Workload is one workload with its pods.
type Workload struct {
	Kind       string `json:"kind"`
	APIVersion string `json:"apiVersion"`
	Namespace  string `json:"namespace"`
	Name       string `json:"name"`
	// GenerateName is set when Name was derived from it.
	GenerateName string   `json:"generateName,omitempty"`
	ML           bool     `json:"ml,omitempty"`
	Pods         []Pods   `json:"pods"`
	Instances    []string `json:"instances,omitempty"`
	Source       string   `json:"source"`
}

// Pods describes the pods of one template of a workload.
type Pods struct {
	Role           string             `json:"role,omitempty"`
	Replicas       int32              `json:"replicas"`
	Labels         map[string]string  `json:"labels"`
	VaryingLabels  []string           `json:"varyingLabels,omitempty"`
	Ports          []Port             `json:"ports,omitempty"`
	ServiceAccount string             `json:"serviceAccount"`
	AutomountToken bool               `json:"automountToken"`
	HostNetwork    bool               `json:"hostNetwork,omitempty"`
	GPUs           map[string]int64   `json:"gpus,omitempty"`
	Credentials    []model.Credential `json:"credentials,omitempty"`
	NodeSelector   map[string]string  `json:"nodeSelector,omitempty"`
	// Placement: the nodes the pods may run on and the security groups
	// that fence them.
	Placement engine.Placement `json:"placement"`
}

// SecurityGroup is one security group with its rule counts.
type SecurityGroup struct {
	ID      string `json:"id"`
	Name    string `json:"name,omitempty"`
	VPC     string `json:"vpc,omitempty"`
	Ingress int    `json:"ingressRules"`
	Egress  int    `json:"egressRules"`
	Source  string `json:"source"`
}

// Instance is one EC2 instance.
type Instance struct {
	ID             string   `json:"id"`
	IPs            []string `json:"privateIPs,omitempty"`
	Groups         []string `json:"securityGroups,omitempty"`
	MetadataTokens string   `json:"metadataTokens,omitempty"`
	HopLimit       int32    `json:"metadataHopLimit,omitempty"`
	Source         string   `json:"source"`
}

// SGPolicy is one SecurityGroupPolicy.
type SGPolicy struct {
	Namespace string   `json:"namespace"`
	Name      string   `json:"name"`
	Groups    []string `json:"securityGroups"`
	Source    string   `json:"source"`
}

// Port is a container port of a pod.
type Port struct {
	Container string `json:"container"`
	model.Port
}

func (p Port) String() string {
	s := fmt.Sprintf("%d/%s", p.Port.Port, p.Protocol)
	if p.Name != "" {
		s = p.Name + "=" + s
	}
	if p.HostPort != 0 {
		s += fmt.Sprintf(" (hostPort %d)", p.HostPort)
	}
	return s
}

// ServicePort is a port of a Service.
type ServicePort struct {
	Name       string `json:"name,omitempty"`
	Port       int32  `json:"port"`
	Protocol   string `json:"protocol"`
	TargetPort string `json:"targetPort"`
	NodePort   int32  `json:"nodePort,omitempty"`
}

func (p ServicePort) String() string {
	s := fmt.Sprintf("%d/%s->%s", p.Port, p.Protocol, p.TargetPort)
	if p.NodePort != 0 {
		s += fmt.Sprintf(" (nodePort %d)", p.NodePort)
	}
	return s
}

// Service is one Service.
type Service struct {
	Namespace     string            `json:"namespace"`
	Name          string            `json:"name"`
	Type          string            `json:"type"`
	Ports         []ServicePort     `json:"ports,omitempty"`
	Selector      map[string]string `json:"selector,omitempty"`
	SourceRanges  []string          `json:"loadBalancerSourceRanges,omitempty"`
	TrafficPolicy string            `json:"externalTrafficPolicy,omitempty"`
	Annotations   map[string]string `json:"annotations,omitempty"`
	Source        string            `json:"source"`
}

// Ingress is one Ingress.
type Ingress struct {
	Namespace   string            `json:"namespace"`
	Name        string            `json:"name"`
	Class       string            `json:"class,omitempty"`
	Rules       []string          `json:"rules"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Source      string            `json:"source"`
}

// Policy is one NetworkPolicy and what it selects.
type Policy struct {
	Namespace    string   `json:"namespace"`
	Name         string   `json:"name"`
	PolicyTypes  []string `json:"policyTypes"`
	IngressRules int      `json:"ingressRules"`
	EgressRules  int      `json:"egressRules"`
	// Selects lists kind/name[/role] of the selected pods; a "?" suffix
	// marks pods selected only if labels unknown offline match.
	Selects []string `json:"selects"`
	Source  string   `json:"source"`
}

// ServiceAccount is one ServiceAccount.
type ServiceAccount struct {
	Namespace      string `json:"namespace"`
	Name           string `json:"name"`
	RoleARN        string `json:"roleArn,omitempty"`
	AutomountToken *bool  `json:"automountToken,omitempty"`
	Source         string `json:"source"`
}

// Node is one Node.
type Node struct {
	Name       string            `json:"name"`
	ProviderID string            `json:"providerID,omitempty"`
	InternalIP []string          `json:"internalIPs,omitempty"`
	Labels     map[string]string `json:"labels,omitempty"`
	GPUs       map[string]int64  `json:"gpus,omitempty"`
	// Taints are key=value:effect, as kubectl describe shows them.
	Taints []string `json:"taints,omitempty"`
	Source string   `json:"source"`
}

// Secret names a Secret and its keys; never its values.
type Secret struct {
	Namespace string   `json:"namespace"`
	Name      string   `json:"name"`
	Type      string   `json:"type,omitempty"`
	Keys      []string `json:"keys,omitempty"`
	Source    string   `json:"source"`
}

// Build summarizes a load result; overrides map nodes to security groups
// where their instances are not given.
func Build(res *load.Result, overrides []engine.NodeGroups) (*Inventory, error) {
	w := res.World
	placements, err := engine.Place(w, overrides)
	if err != nil {
		return nil, err
	}
	// Every list is present (never null) so consumers can iterate blindly.
	inv := &Inventory{
		Namespaces: []Namespace{}, Workloads: []Workload{}, Services: []Service{}, Ingresses: []Ingress{},
		NetworkPolicies: []Policy{}, ServiceAccounts: []ServiceAccount{}, Nodes: []Node{},
		Report: res.Report, Recognized: res.Recognized,
	}
	for _, ns := range w.Namespaces {
		inv.Namespaces = append(inv.Namespaces, Namespace{Name: ns.Name, Labels: ns.Labels, Synthesized: ns.Synthesized, Source: ns.Source.String()})
	}
	for _, wl := range w.Workloads {
		iw := Workload{Kind: wl.Kind, APIVersion: wl.APIVersion, Namespace: wl.Namespace, Name: wl.Name, GenerateName: wl.GenerateName, ML: wl.IsML(), Source: wl.Source.String()}
		for _, p := range wl.Pods {
			ip := pods(p)
			ip.Placement = placements[p]
			iw.Pods = append(iw.Pods, ip)
		}
		for _, in := range wl.Instances {
			iw.Instances = append(iw.Instances, in.Name)
		}
		inv.Workloads = append(inv.Workloads, iw)
	}
	for _, s := range w.Services {
		is := Service{Namespace: s.Namespace, Name: s.Name, Type: string(s.Spec.Type), Selector: s.Spec.Selector,
			SourceRanges: s.Spec.LoadBalancerSourceRanges, TrafficPolicy: string(s.Spec.ExternalTrafficPolicy), Annotations: s.Annotations, Source: s.Source.String()}
		for _, p := range s.Spec.Ports {
			// An unset targetPort defaults to the port.
			target := p.TargetPort.String()
			if target == "0" || target == "" {
				target = fmt.Sprint(p.Port)
			}
			is.Ports = append(is.Ports, ServicePort{Name: p.Name, Port: p.Port, Protocol: string(p.Protocol), TargetPort: target, NodePort: p.NodePort})
		}
		inv.Services = append(inv.Services, is)
	}
	for _, ing := range w.Ingresses {
		inv.Ingresses = append(inv.Ingresses, ingress(ing))
	}
	byNS := engine.WorkloadsByNamespace(w)
	for _, p := range w.Policies {
		ip, err := policy(byNS[p.Namespace], p)
		if err != nil {
			return nil, err
		}
		inv.NetworkPolicies = append(inv.NetworkPolicies, ip)
	}
	for _, sa := range w.ServiceAccounts {
		inv.ServiceAccounts = append(inv.ServiceAccounts, ServiceAccount{Namespace: sa.Namespace, Name: sa.Name, RoleARN: sa.RoleARN(), AutomountToken: sa.AutomountToken, Source: sa.Source.String()})
	}
	for _, n := range w.Nodes {
		in := Node{Name: n.Name, ProviderID: n.ProviderID, Labels: n.Labels, GPUs: n.GPUs, Source: n.Source.String()}
		for _, t := range n.Taints {
			in.Taints = append(in.Taints, t.ToString())
		}
		for _, a := range n.Addresses {
			if a.Type == "InternalIP" {
				in.InternalIP = append(in.InternalIP, a.Address)
			}
		}
		inv.Nodes = append(inv.Nodes, in)
	}
	for _, s := range w.Secrets {
		inv.Secrets = append(inv.Secrets, Secret{Namespace: s.Namespace, Name: s.Name, Type: s.Type, Keys: s.Keys, Source: s.Source.String()})
	}
	for _, g := range w.SecurityGroups {
		inv.SecurityGroups = append(inv.SecurityGroups, SecurityGroup{ID: g.ID, Name: g.Name, VPC: g.VPC, Ingress: len(g.Ingress), Egress: len(g.Egress), Source: g.Source.String()})
	}
	for _, in := range w.Instances {
		ii := Instance{ID: in.ID, Groups: in.Groups, MetadataTokens: in.MetadataTokens, HopLimit: in.MetadataHopLimit, Source: in.Source.String()}
		for _, ip := range in.PrivateIPs {
			ii.IPs = append(ii.IPs, ip.String())
		}
		inv.Instances = append(inv.Instances, ii)
	}
	for _, p := range w.SecurityGroupPolicies {
		inv.SGPolicies = append(inv.SGPolicies, SGPolicy{Namespace: p.Namespace, Name: p.Name, Groups: p.GroupIDs, Source: p.Source.String()})
	}
	inv.AWSNetwork = network(w)
	return inv, nil
}

func pods(p *model.PodTemplate) Pods {
	out := Pods{
		Role: p.Role, Replicas: p.Replicas, Labels: p.Labels, VaryingLabels: p.VaryingLabels,
		ServiceAccount: p.ServiceAccount, AutomountToken: p.AutomountToken, HostNetwork: p.HostNetwork,
		GPUs: p.GPUs, Credentials: p.Credentials, NodeSelector: p.NodeSelector,
	}
	for _, c := range p.Containers {
		for _, port := range c.Ports {
			out.Ports = append(out.Ports, Port{Container: c.Name, Port: port})
		}
	}
	return out
}

func ingress(ing *model.Ingress) Ingress {
	out := Ingress{Namespace: ing.Namespace, Name: ing.Name, Annotations: ing.Annotations, Source: ing.Source.String()}
	if ing.Spec.IngressClassName != nil {
		out.Class = *ing.Spec.IngressClassName
	} else if c := ing.Annotations["kubernetes.io/ingress.class"]; c != "" {
		out.Class = c
	}
	if b := ing.Spec.DefaultBackend; b != nil {
		out.Rules = append(out.Rules, "* -> "+backend(b))
	}
	for _, r := range ing.Spec.Rules {
		host := r.Host
		if host == "" {
			host = "*"
		}
		if r.HTTP == nil {
			continue
		}
		for _, p := range r.HTTP.Paths {
			out.Rules = append(out.Rules, host+p.Path+" -> "+backend(&p.Backend))
		}
	}
	return out
}

func backend(b *networkingv1.IngressBackend) string {
	switch {
	case b.Service != nil && b.Service.Port.Name != "":
		return b.Service.Name + ":" + b.Service.Port.Name
	case b.Service != nil:
		return fmt.Sprintf("%s:%d", b.Service.Name, b.Service.Port.Number)
	case b.Resource != nil:
		return b.Resource.Kind + "/" + b.Resource.Name
	}
	return "?"
}

// policy summarizes p; workloads are those of its namespace.
func policy(workloads []*model.Workload, p *model.NetworkPolicy) (Policy, error) {
	out := Policy{Namespace: p.Namespace, Name: p.Name, IngressRules: len(p.Spec.Ingress), EgressRules: len(p.Spec.Egress), Source: p.Source.String(), Selects: []string{}}
	for _, t := range engine.PolicyTypes(p) {
		out.PolicyTypes = append(out.PolicyTypes, string(t))
	}
	sel, err := engine.SelectedPodsAmong(workloads, p)
	if err != nil {
		return out, fmt.Errorf("%s: NetworkPolicy/%s/%s: %w", p.Source, p.Namespace, p.Name, err)
	}
	seen := map[string]bool{}
	for _, s := range sel {
		name := s.Workload.Kind + "/" + s.Workload.Name
		if s.Pods.Role != "" && !allRolesSelected(sel, s.Workload) {
			name += "/" + s.Pods.Role
		}
		if s.Match == engine.Maybe {
			name += "?"
		}
		if s.Pods.HostNetwork {
			// Selected, and not isolated: host-network pods use the
			// node's network, which NetworkPolicies do not fence.
			name += " (host network: cannot be isolated)"
		}
		if !seen[name] {
			seen[name] = true
			out.Selects = append(out.Selects, name)
		}
	}
	sort.Strings(out.Selects)
	return out, nil
}

// allRolesSelected reports whether every pod template of wl is selected for
// sure, so the inventory can name the workload rather than each role.
func allRolesSelected(sel []engine.Selection, wl *model.Workload) bool {
	n := 0
	for _, s := range sel {
		if s.Workload == wl && s.Match == engine.Yes {
			n++
		}
	}
	return n == len(wl.Pods)
}
