package generate

import (
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/ringfence/ringfence/internal/model"
	"github.com/ringfence/ringfence/internal/ranges"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// EKS ClusterNetworkPolicies (networking.k8s.aws/v1alpha1) are Admin-tier
// guardrails a namespace's own policies cannot loosen. The EKS agent
// decides rules of equal priority Deny before Accept before Pass whatever
// their order (docs/tiers.md), so every exemption is a policy of its own at
// a lower priority number than the Deny it escapes.

// The priorities of the guardrails, lower first.
const (
	eksPriorityIMDSPass    = 100
	eksPriorityIMDSDeny    = 101
	eksPriorityAccept      = 110
	eksPriorityInCluster   = 111
	eksPriorityNoInternet  = 112
	eksClusterPolicyAPI    = model.EKSGroup + "/v1alpha1"
	eksNamespaceNameLabel  = "kubernetes.io/metadata.name"
	eksClusterPolicyPrefix = "ringfence-"
)

// IMDSNetworks are the instance metadata service's addresses, IPv4 and the
// Nitro IPv6 endpoint.
var IMDSNetworks = []string{"169.254.169.254/32", "fd00:ec2::254/128"}

// EKSClusterPolicies returns the Admin-tier guardrails for the generated
// output: every pod is denied the instance metadata service except the
// fenced workloads whose Fences name it (they pass to their
// NetworkPolicies), and each fenced namespace is denied the internet
// except the destinations its generated policies allow by address, which
// are accepted for the pods those policies select; in-cluster traffic is
// passed to the NetworkPolicies.
func EKSClusterPolicies(w *model.World, out *Output, doc *ranges.Document) []map[string]any {
	var objs []map[string]any
	fences := append([]*model.Fence(nil), w.Fences...)
	sort.Slice(fences, func(i, j int) bool {
		if fences[i].Namespace != fences[j].Namespace {
			return fences[i].Namespace < fences[j].Namespace
		}
		return fences[i].Name < fences[j].Name
	})
	for _, f := range fences {
		if !allowsIMDS(f) {
			continue
		}
		objs = append(objs, eksPolicy("imds-pass-"+f.Namespace+"-"+f.Name, f.Name, eksPriorityIMDSPass,
			eksPods(f.Namespace, selectorMap(&f.Spec.Workloads)), doc,
			eksRule("imds", "Pass", []any{map[string]any{"networks": anyList(IMDSNetworks)}}, nil)))
	}
	objs = append(objs, eksPolicy("deny-imds", "", eksPriorityIMDSDeny, map[string]any{"namespaces": map[string]any{}}, doc,
		eksRule("imds", "Deny", []any{map[string]any{"networks": anyList(IMDSNetworks)}}, nil)))

	namespaces := map[string]bool{}
	for _, f := range fences {
		namespaces[f.Namespace] = true
	}
	policies := append([]*networkingv1.NetworkPolicy(nil), out.Policies...)
	sort.Slice(policies, func(i, j int) bool {
		if policies[i].Namespace != policies[j].Namespace {
			return policies[i].Namespace < policies[j].Namespace
		}
		return policies[i].Name < policies[j].Name
	})
	for _, p := range policies {
		if !namespaces[p.Namespace] {
			continue
		}
		var rules []any
		for i, r := range p.Spec.Egress {
			var nets []any
			for _, peer := range r.To {
				if peer.IPBlock != nil && len(peer.IPBlock.Except) == 0 {
					nets = append(nets, peer.IPBlock.CIDR)
				}
			}
			// A rule with other peers or excepts is left to the
			// NetworkPolicy: only whole address blocks are accepted.
			if len(nets) == 0 || len(nets) != len(r.To) {
				continue
			}
			rules = append(rules, eksRule(p.Name+"-"+strconv.Itoa(i), "Accept", []any{map[string]any{"networks": nets}}, eksPorts(r.Ports)))
		}
		if len(rules) == 0 {
			continue
		}
		objs = append(objs, eksPolicy(p.Namespace+"-"+strings.TrimPrefix(p.Name, eksClusterPolicyPrefix), p.Annotations[FenceAnnotation], eksPriorityAccept,
			eksPods(p.Namespace, selectorMap(&p.Spec.PodSelector)), doc, rules...))
	}
	for _, ns := range sortedKeys(namespaces) {
		subject := map[string]any{"namespaces": map[string]any{"matchLabels": map[string]any{eksNamespaceNameLabel: ns}}}
		objs = append(objs,
			eksPolicy(ns+"-in-cluster", "", eksPriorityInCluster, subject, doc,
				eksRule("in-cluster", "Pass", []any{map[string]any{"namespaces": map[string]any{}}}, nil)),
			eksPolicy(ns+"-no-internet", "", eksPriorityNoInternet, subject, doc,
				eksRule("internet", "Deny", []any{map[string]any{"networks": []any{"0.0.0.0/0", "::/0"}}}, nil)))
	}
	return objs
}

func eksPolicy(name, fence string, priority int, subject map[string]any, doc *ranges.Document, egress ...any) map[string]any {
	return map[string]any{
		"apiVersion": eksClusterPolicyAPI,
		"kind":       "ClusterNetworkPolicy",
		"metadata":   objectMeta(eksClusterPolicyPrefix+name, "", fence, doc),
		"spec": map[string]any{
			"tier":     "Admin",
			"priority": priority,
			"subject":  subject,
			"egress":   egress,
		},
	}
}

func eksPods(ns string, pods map[string]any) map[string]any {
	return map[string]any{"pods": map[string]any{
		"namespaceSelector": map[string]any{"matchLabels": map[string]any{eksNamespaceNameLabel: ns}},
		"podSelector":       pods,
	}}
}

func eksRule(name, action string, to []any, ports []any) map[string]any {
	r := map[string]any{"name": name, "action": action, "to": to}
	if len(ports) > 0 {
		r["ports"] = ports
	}
	return r
}

// eksPorts writes NetworkPolicy ports as a ClusterNetworkPolicy's.
func eksPorts(ports []networkingv1.NetworkPolicyPort) []any {
	var out []any
	for _, p := range ports {
		proto := "TCP"
		if p.Protocol != nil {
			proto = string(*p.Protocol)
		}
		switch {
		case p.Port == nil:
			out = append(out, map[string]any{"portRange": map[string]any{"protocol": proto, "start": 1, "end": 65535}})
		case p.Port.Type == intstr.String:
			out = append(out, map[string]any{"namedPort": p.Port.StrVal})
		case p.EndPort != nil:
			out = append(out, map[string]any{"portRange": map[string]any{"protocol": proto, "start": p.Port.IntVal, "end": *p.EndPort}})
		default:
			out = append(out, map[string]any{"portNumber": map[string]any{"protocol": proto, "port": p.Port.IntVal}})
		}
	}
	return out
}

func anyList(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// awsEndpointNames are the DNS names of an AWS service's regional
// endpoints, as ApplicationNetworkPolicy domainNames: S3's virtual-hosted
// bucket names too. Services not listed have no names here.
func awsEndpointNames(service, region string) []string {
	switch strings.ToUpper(service) {
	case "S3":
		return []string{"s3." + region + ".amazonaws.com", "*.s3." + region + ".amazonaws.com"}
	case "DYNAMODB":
		return []string{"dynamodb." + region + ".amazonaws.com"}
	case "STS":
		return []string{"sts." + region + ".amazonaws.com"}
	case "ECR":
		// The registry API and the registries' Docker endpoints
		// (<account>.dkr.ecr.<region>.amazonaws.com).
		return []string{"api.ecr." + region + ".amazonaws.com", "*.dkr.ecr." + region + ".amazonaws.com"}
	}
	return nil
}

// amazonStandsFor names the services a Fence's rule to a region's AMAZON
// ranges was written for, when generate wrote it for a need it detected:
// STS for IRSA (the need's destination is aws:STS:<region>), ECR for image
// pulls. A rule the Fence declares itself says no service: nil.
func amazonStandsFor(needs []Need, fence, region string) []string {
	var out []string
	for _, n := range needs {
		if n.fence != fence || n.Status != NeedKept {
			continue
		}
		switch {
		case n.toSet == STSDestination(region):
			out = append(out, "STS")
		case n.Kind == NeedRegistry && n.toSet == "aws:AMAZON:"+region:
			out = append(out, "ECR")
		}
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// EKSApplicationPolicies returns, for each generated NetworkPolicy with
// AWS service rules, an ApplicationNetworkPolicy (networking.k8s.aws/
// v1alpha1, namespaced) for the same pods that allows the services'
// endpoint names on the same ports. domainNames are enforced only in EKS
// Auto Mode; the NetworkPolicies keep the address rules, so the names add
// nothing elsewhere. It returns the AWS services it has no names for.
func EKSApplicationPolicies(out *Output, doc *ranges.Document) ([]map[string]any, []string) {
	var objs []map[string]any
	var unnamed []string
	policies := append([]*networkingv1.NetworkPolicy(nil), out.Policies...)
	sort.Slice(policies, func(i, j int) bool {
		if policies[i].Namespace != policies[j].Namespace {
			return policies[i].Namespace < policies[j].Namespace
		}
		return policies[i].Name < policies[j].Name
	})
	for _, p := range policies {
		var egress []any
		for _, r := range out.awsRules[p] {
			names := awsEndpointNames(r.intent.Service, r.intent.Region)
			if strings.EqualFold(r.intent.Service, "AMAZON") {
				// The region's AMAZON ranges stand for services
				// ip-ranges does not list: named when the need that
				// wrote the rule says which.
				for _, sv := range amazonStandsFor(out.Needs, p.Namespace+"/"+p.Annotations[FenceAnnotation], r.intent.Region) {
					names = append(names, awsEndpointNames(sv, r.intent.Region)...)
				}
			}
			if len(names) == 0 {
				unnamed = append(unnamed, r.intent.Service+" in "+r.intent.Region+" ("+p.Namespace+"/"+p.Name+")")
				continue
			}
			var ports []any
			for _, port := range p.Spec.Egress[r.index].Ports {
				x := map[string]any{"port": port.Port.IntValue()}
				if port.Protocol != nil {
					x["protocol"] = string(*port.Protocol)
				}
				ports = append(ports, x)
			}
			rule := map[string]any{"to": []any{map[string]any{"domainNames": anyList(names)}}}
			if len(ports) > 0 {
				rule["ports"] = ports
			}
			egress = append(egress, rule)
		}
		if len(egress) == 0 {
			continue
		}
		objs = append(objs, map[string]any{
			"apiVersion": eksClusterPolicyAPI,
			"kind":       "ApplicationNetworkPolicy",
			"metadata":   objectMeta(strings.TrimPrefix(p.Name, eksClusterPolicyPrefix)+"-domains", p.Namespace, p.Annotations[FenceAnnotation], doc),
			"spec": map[string]any{
				"podSelector": selectorMap(&p.Spec.PodSelector),
				"policyTypes": []any{"Egress"},
				"egress":      egress,
			},
		})
	}
	return objs, unnamed
}
