package generate

import (
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"

	"github.com/ringfence/ringfence/internal/engine"
	"github.com/ringfence/ringfence/internal/model"
	corev1 "k8s.io/api/core/v1"
)

// ServicePatch is a JSON merge patch of a Service (kubectl patch --type
// merge), with why.
type ServicePatch struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// Type, when set, is the Service type to switch to (ClusterIP: the
	// API server then drops the node ports and the load balancer goes).
	Type corev1.ServiceType `json:"type,omitempty"`
	// SourceRanges, when set, are the load balancer's source ranges.
	SourceRanges []string `json:"loadBalancerSourceRanges,omitempty"`
	Reason       string   `json:"reason"`
}

// Merge returns the patch as a JSON merge patch document.
func (p ServicePatch) Merge() map[string]any {
	spec := map[string]any{}
	if p.Type != "" {
		spec["type"] = string(p.Type)
	}
	if p.SourceRanges != nil {
		spec["loadBalancerSourceRanges"] = p.SourceRanges
	}
	return map[string]any{"spec": spec}
}

// MetadataPlan sets the instance metadata options of a node that runs
// fenced workloads: security groups never filter the metadata service, so
// IMDSv2 with a hop limit of 1 is what keeps pods from the node's role.
type MetadataPlan struct {
	InstanceID string `json:"instanceId"`
	Node       string `json:"node"`
	HTTPTokens string `json:"httpTokens"`
	HopLimit   int32  `json:"httpPutResponseHopLimit"`
	// Was is the current setting, for the reader.
	Was string `json:"was"`
}

// CLI is the AWS CLI call that applies the plan to the running instance.
func (m MetadataPlan) CLI() string {
	return fmt.Sprintf("aws ec2 modify-instance-metadata-options --instance-id %s --http-tokens %s --http-put-response-hop-limit %d --http-endpoint enabled  # %s, now %s", m.InstanceID, m.HTTPTokens, m.HopLimit, m.Node, m.Was)
}

// servicePatches closes the ways around the Fences' ingress: a
// LoadBalancer or NodePort Service in front of fenced workloads (the
// generated policies admit only the ingress controller, so its load
// balancer would stay open for nothing), and the ingress controller's
// load balancer, narrowed to the Fences' source ranges when every Ingress
// it serves is fenced with them.
func servicePatches(w *model.World, allowPrivate bool) ([]ServicePatch, []string) {
	var out []ServicePatch
	var warnings []string
	patched := map[string]bool{}
	controllers := map[string][]string{} // controller namespace → source ranges
	covered := map[*model.Ingress]bool{}
	for _, f := range w.Fences {
		workloads := fenced(w, f)
		// A Fence that admits addresses may be meant to be reached
		// through a load balancer: its Services stay as they are.
		addresses := false
		for _, in := range f.Spec.Ingress {
			addresses = addresses || (in.From != nil && len(in.From.CIDRs) > 0)
		}
		for _, s := range servicesOf(w, workloads) {
			if addresses {
				break
			}
			key := s.Namespace + "/" + s.Name
			if patched[key] || (s.Spec.Type != corev1.ServiceTypeLoadBalancer && s.Spec.Type != corev1.ServiceTypeNodePort) {
				continue
			}
			patched[key] = true
			how := "only the ingress controller"
			if len(f.Spec.Ingress) == 0 {
				how = "no ingress"
			}
			out = append(out, ServicePatch{Namespace: s.Namespace, Name: s.Name, Type: corev1.ServiceTypeClusterIP,
				Reason: fmt.Sprintf("Fence %s/%s admits %s; this %s Service reaches its pods past the Ingress and its allowlist, and its load balancer and node ports would stay open", f.Namespace, f.Name, how, s.Spec.Type)})
		}
		for _, in := range f.Spec.Ingress {
			c := in.IngressController
			if c == nil || len(in.SourceRanges) == 0 {
				continue
			}
			controllers[c.Namespace] = append(controllers[c.Namespace], in.SourceRanges...)
			for _, ing := range routing(w, workloads) {
				covered[ing] = true
			}
		}
	}
	for _, ns := range sortedKeys(controllers) {
		var open []string
		for _, ing := range w.Ingresses {
			if !covered[ing] {
				open = append(open, ing.Namespace+"/"+ing.Name)
			}
		}
		ranges := sortedSet(controllers[ns])
		for _, s := range w.Services {
			if s.Namespace != ns || s.Spec.Type != corev1.ServiceTypeLoadBalancer || !selectsController(w, s) {
				continue
			}
			if len(open) > 0 {
				warnings = append(warnings, fmt.Sprintf("the load balancer of Service %s/%s keeps its source ranges: it also serves Ingresses no Fence gives source ranges (%s)", s.Namespace, s.Name, strings.Join(open, ", ")))
				continue
			}
			if strings.Join(sortedSet(s.Spec.LoadBalancerSourceRanges), ",") == strings.Join(ranges, ",") {
				continue
			}
			if private := privateRanges(ranges); len(private) > 0 && internetFacing(s) && !allowPrivate {
				warnings = append(warnings, fmt.Sprintf("not narrowing the load balancer of Service %s/%s to the Fences' source ranges: it is internet-facing and %s are private (RFC 1918), so no client could match them (clients reach it with public addresses) and the allowlist would only shut everyone out; give the public addresses your clients have, or --allow-private-source-ranges to write it anyway", s.Namespace, s.Name, strings.Join(private, ", ")))
				continue
			}
			out = append(out, ServicePatch{Namespace: s.Namespace, Name: s.Name, SourceRanges: ranges,
				Reason: "every Ingress the controller serves is fenced with these source ranges: the load balancer admits only them (its security group follows, written by the load balancer controller)"})
		}
	}
	return out, warnings
}

// rfc1918 is the private address space of RFC 1918.
var rfc1918 = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("172.16.0.0/12"), netip.MustParsePrefix("192.168.0.0/16")}

// privateRanges returns the ranges inside RFC 1918's private space.
func privateRanges(list []string) []string {
	var out []string
	for _, r := range list {
		p, err := netip.ParsePrefix(r)
		if err != nil {
			continue
		}
		for _, q := range rfc1918 {
			if q.Bits() <= p.Bits() && q.Contains(p.Addr()) {
				out = append(out, r)
				break
			}
		}
	}
	return out
}

// internetFacing reports whether a LoadBalancer Service's load balancer
// faces the internet: the AWS Load Balancer Controller's only with its
// scheme annotation so (its default is internal), the in-tree
// controller's unless annotated internal.
func internetFacing(s *model.Service) bool {
	ann := s.Annotations
	if t := ann["service.beta.kubernetes.io/aws-load-balancer-type"]; t == "external" || t == "nlb-ip" || (s.Spec.LoadBalancerClass != nil && *s.Spec.LoadBalancerClass == "service.k8s.aws/nlb") {
		return ann["service.beta.kubernetes.io/aws-load-balancer-scheme"] == "internet-facing"
	}
	v := ann["service.beta.kubernetes.io/aws-load-balancer-internal"]
	return v == "" || v == "false"
}

// selectsController reports whether a Service fronts an ingress
// controller's pods.
func selectsController(w *model.World, s *model.Service) bool {
	sel := selectedBy(s.Namespace, s.Spec.Selector)
	for _, wl := range w.Workloads {
		for _, pt := range wl.Pods {
			if sel(wl, pt) && pt.Labels["app.kubernetes.io/component"] == "controller" {
				return true
			}
		}
	}
	return false
}

// metadataPlans requires IMDSv2 with a hop limit of 1 where pods can
// still reach the metadata service, on the hosts the plan fences: the
// nodes fenced workloads may run on, and the nodes whose security groups
// the plan rewrites (their pods lose the open egress; they must not keep
// the node's role either).
func metadataPlans(w *model.World, placed map[*model.PodTemplate]engine.Placement, fencedPods, nodeRole map[*model.PodTemplate]bool, plans []GroupPlan) ([]MetadataPlan, []string) {
	hosts := map[string]bool{}
	hopTwo := map[string]bool{} // nodes of pods whose Fence allows the node role
	for pt := range fencedPods {
		for _, n := range placed[pt].Nodes {
			hosts[n] = true
			hopTwo[n] = hopTwo[n] || nodeRole[pt]
		}
	}
	rewritten := map[string]bool{}
	for _, p := range plans {
		if !strings.HasPrefix(p.Via, "SecurityGroupPolicy") {
			rewritten[p.GroupID] = true
		}
	}
	var out []MetadataPlan
	for n, in := range engine.NodeInstances(w) {
		// A container reaches IMDSv2 only with a hop limit of 2: the
		// Fence that allows the node role keeps that.
		hop := int32(1)
		if hopTwo[n] {
			hop = 2
		}
		if in.MetadataTokens == "required" && in.MetadataHopLimit == hop {
			continue
		}
		fences := hosts[n]
		for _, g := range in.Groups {
			fences = fences || rewritten[g]
		}
		if fences {
			out = append(out, MetadataPlan{InstanceID: in.ID, Node: n, HTTPTokens: "required", HopLimit: hop,
				Was: fmt.Sprintf("HttpTokens %s, hop limit %d", orUnknown(in.MetadataTokens), in.MetadataHopLimit)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Node < out[j].Node })
	if len(out) == 0 {
		return nil, nil
	}
	var one, two []string
	for _, p := range out {
		if p.HopLimit == 2 {
			two = append(two, p.Node)
		} else {
			one = append(one, p.Node)
		}
	}
	var warnings []string
	if len(one) > 0 {
		warnings = append(warnings, fmt.Sprintf("requiring IMDSv2 with a hop limit of 1 on %s keeps every pod on them from the node's IAM role: pods that call AWS with it must move to IRSA or EKS Pod Identity (host-network pods such as the VPC CNI keep it); set the same metadata options in the node groups' launch template, or replaced instances come back open", strings.Join(one, ", ")))
	}
	if len(two) > 0 {
		warnings = append(warnings, fmt.Sprintf("a Fence allows the node role (a cidr intent naming 169.254.169.254): on %s IMDSv2 is required with a hop limit of 2, so that its pods reach it; any pod there that no NetworkPolicy stops can take the node's IAM role too", strings.Join(two, ", ")))
	}
	return out, warnings
}

// sortedSet returns the distinct values, sorted (a copy).
func sortedSet(list []string) []string {
	return slices.Compact(slices.Sorted(slices.Values(list)))
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// applyServices returns the Services with the patches applied, and the
// security groups as the AWS Load Balancer Controller would leave its
// frontend groups: gone with a load balancer that goes, admitting the
// source ranges on the listener ports when they change.
func applyServices(services []*model.Service, groups []*model.SecurityGroup, patches []ServicePatch) ([]*model.Service, []*model.SecurityGroup) {
	byName := map[string]ServicePatch{}
	for _, p := range patches {
		byName[p.Namespace+"/"+p.Name] = p
	}
	outServices := make([]*model.Service, 0, len(services))
	changed := map[string]*model.Service{}
	for _, s := range services {
		p, ok := byName[s.Namespace+"/"+s.Name]
		if !ok {
			outServices = append(outServices, s)
			continue
		}
		ns := *s
		ns.Spec = *s.Spec.DeepCopy()
		if p.Type == corev1.ServiceTypeClusterIP {
			// What the API server does on a type change (its strategy
			// drops the fields of the old type).
			ns.Spec.Type = corev1.ServiceTypeClusterIP
			for i := range ns.Spec.Ports {
				ns.Spec.Ports[i].NodePort = 0
			}
			ns.Spec.HealthCheckNodePort = 0
			ns.Spec.ExternalTrafficPolicy = ""
			ns.Spec.LoadBalancerSourceRanges = nil
		}
		if p.SourceRanges != nil {
			ns.Spec.LoadBalancerSourceRanges = p.SourceRanges
		}
		changed[s.Namespace+"/"+s.Name] = &ns
		outServices = append(outServices, &ns)
	}
	outGroups := make([]*model.SecurityGroup, 0, len(groups))
	for _, g := range groups {
		s := changed[g.Tags["service.k8s.aws/stack"]]
		if s == nil || g.Tags["service.k8s.aws/resource"] != "ManagedLBSecurityGroup" {
			outGroups = append(outGroups, g)
			continue
		}
		if s.Spec.Type != corev1.ServiceTypeLoadBalancer {
			continue
		}
		ng := *g
		ng.Ingress = nil
		for _, sp := range s.Spec.Ports {
			for _, r := range s.Spec.LoadBalancerSourceRanges {
				p, err := netip.ParsePrefix(r)
				if err != nil {
					continue
				}
				proto := strings.ToLower(string(sp.Protocol))
				if proto == "" {
					proto = "tcp"
				}
				ng.Ingress = append(ng.Ingress, model.SGRule{Protocol: proto, FromPort: sp.Port, ToPort: sp.Port,
					CIDRs: []netip.Prefix{p.Masked()}, Source: model.Source{File: "generated"}})
			}
		}
		outGroups = append(outGroups, &ng)
	}
	return outServices, outGroups
}
