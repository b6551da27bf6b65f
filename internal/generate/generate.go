// Package generate turns Fences (what ML workloads need) into
// least-privilege NetworkPolicies and Ingress allowlists, and checks its
// own output with the engine before anyone applies it.
package generate

import (
	"fmt"
	"sort"
	"strings"

	"github.com/ringfence/ringfence/api/v1alpha1"
	"github.com/ringfence/ringfence/internal/engine"
	"github.com/ringfence/ringfence/internal/model"
	"github.com/ringfence/ringfence/internal/ranges"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Labels and annotations on generated objects.
const (
	ManagedByLabel      = "app.kubernetes.io/managed-by"
	ManagedBy           = "ringfence"
	FenceAnnotation     = "ringfence.dev/fence"
	SyncTokenAnnotation = "ringfence.dev/ranges-sync-token"
	defaultDenyName     = "ringfence-default-deny"
)

// Output is what generate writes.
type Output struct {
	Policies []*networkingv1.NetworkPolicy `json:"policies"`
	// Patches set the allowlist of Ingresses that route to fenced
	// workloads.
	Patches []IngressPatch `json:"ingressPatches,omitempty"`
	// Replaces lists the existing policies that select fenced workloads:
	// the generated ones are meant to replace them (delete them when
	// applying), and verification judges the namespace without them.
	Replaces []model.Ref `json:"replaces,omitempty"`
	// SecurityGroups are the rules of the groups that fence the fenced
	// workloads; PrefixLists the prefix lists they reference that are
	// generated here.
	SecurityGroups []GroupPlan      `json:"securityGroups,omitempty"`
	PrefixLists    []PrefixListPlan `json:"prefixLists,omitempty"`
	// JobGroups are the security groups to create for jobs whose pods
	// have none of their own, with the SecurityGroupPolicies that attach
	// them (their rules are in SecurityGroups).
	JobGroups []JobGroup `json:"jobSecurityGroups,omitempty"`
	// ServicePatches close the ways around the Fences' ingress: load
	// balancers in front of fenced workloads, the ingress controller's
	// load balancer open wider than the Fences' source ranges.
	ServicePatches []ServicePatch `json:"servicePatches,omitempty"`
	// Metadata are the instance metadata options of the nodes that run
	// fenced workloads.
	Metadata []MetadataPlan `json:"instanceMetadata,omitempty"`
	// Needs are what the fenced workloads, and the nodes whose open egress
	// the plan revokes, need beyond the Fences' intents: kept (written
	// into the output and proved by verification), forgone by a Fence,
	// unseen (a person must declare the other end), or cut.
	Needs    []Need   `json:"needs,omitempty"`
	Warnings []string `json:"warnings,omitempty"`
	// Tiered and Domains are the objects of -o eks-cnp (Admin-tier
	// ClusterNetworkPolicies) and -o eks-anp (ApplicationNetworkPolicies,
	// read as the NetworkPolicies they are), read back from what is
	// written by the same loader as any input, so that Verify judges them
	// with the engine too.
	Tiered  []*model.TierPolicy    `json:"-"`
	Domains []*model.NetworkPolicy `json:"-"`

	// awsRules marks the egress rules written for AWS services, which a
	// CNI flavour may express otherwise.
	awsRules map[*networkingv1.NetworkPolicy][]awsRuleRef
}

// awsRuleRef is the egress rule index of an AWS destination.
type awsRuleRef struct {
	index  int
	intent *v1alpha1.AWSDestination
}

// Options tune generation.
type Options struct {
	// NodeGroups map nodes whose instances are not in the inputs to
	// their security groups.
	NodeGroups []engine.NodeGroups
	// AllowPrivateSourceRanges writes loadBalancerSourceRanges that hold
	// private (RFC 1918) ranges on an internet-facing load balancer, which
	// no client can match; without it generate leaves such a load
	// balancer as it is and says why.
	AllowPrivateSourceRanges bool
}

// IngressPatch is a merge patch of an Ingress's annotations.
type IngressPatch struct {
	Namespace  string `json:"namespace"`
	Name       string `json:"name"`
	Annotation string `json:"annotation"`
	Value      string `json:"value"`
}

// Generate writes the policies of every Fence of the world.
func Generate(w *model.World, doc *ranges.Document, opts Options) (*Output, error) {
	out := &Output{}
	// The needs kept become intents of the Fences, so that one generator
	// writes them into both layers.
	w, out.Needs = withNeeds(w, doc)
	namespaces := map[string]bool{}
	replaced := map[model.Ref]bool{}
	for _, f := range w.Fences {
		if !namespaces[f.Namespace] {
			namespaces[f.Namespace] = true
			out.Policies = append(out.Policies, defaultDeny(f.Namespace, doc))
		}
		ps, patches, warnings, err := fence(w, f, doc, out)
		if err != nil {
			return nil, err
		}
		out.Policies = append(out.Policies, ps...)
		out.Patches = append(out.Patches, patches...)
		out.Warnings = append(out.Warnings, warnings...)
		for _, p := range w.Policies {
			if p.Namespace == f.Namespace && p.Labels[ManagedByLabel] != ManagedBy && selectsAny(w, p, f) {
				replaced[p.Ref()] = true
			}
		}
	}
	extra, err := counterparts(w, namespaces, doc)
	if err != nil {
		return nil, err
	}
	out.Policies = append(out.Policies, extra...)
	out.Warnings = append(out.Warnings, unfenced(w, namespaces)...)
	for r := range replaced {
		out.Replaces = append(out.Replaces, r)
	}
	sort.Slice(out.Replaces, func(i, j int) bool { return out.Replaces[i].String() < out.Replaces[j].String() })
	sg, err := securityGroups(w, doc, out.Needs, opts)
	if err != nil {
		return nil, err
	}
	out.SecurityGroups, out.PrefixLists, out.JobGroups = sg.groups, sg.lists, sg.jobs
	out.Needs = append(out.Needs, sg.needs...)
	out.Warnings = append(out.Warnings, sg.warnings...)
	for _, j := range sg.jobs {
		for i := range out.Needs {
			if n := &out.Needs[i]; n.Kind == NeedPeers && n.from != nil && n.from.Namespace+"/"+n.from.Kind+"/"+n.from.Name == j.Job {
				n.ephemeral = true
				n.What += " (a security group of its own: " + j.ID + ")"
			}
		}
	}
	var warnings []string
	out.ServicePatches, warnings = servicePatches(w, opts.AllowPrivateSourceRanges)
	out.Warnings = append(out.Warnings, warnings...)
	if len(w.Instances) > 0 {
		placed, err := engine.Place(w, opts.NodeGroups)
		if err != nil {
			return nil, err
		}
		fencedPods := map[*model.PodTemplate]bool{}
		nodeRole := map[*model.PodTemplate]bool{} // pods whose Fence allows the node role
		for _, f := range w.Fences {
			for _, pts := range fenced(w, f) {
				for _, pt := range pts {
					fencedPods[pt] = true
					nodeRole[pt] = nodeRole[pt] || allowsIMDS(f)
				}
			}
		}
		out.Metadata, warnings = metadataPlans(w, placed, fencedPods, nodeRole, out.SecurityGroups)
		out.Warnings = append(out.Warnings, warnings...)
	}
	return out, nil
}

func meta(name, namespace, fence string, doc *ranges.Document) metav1.ObjectMeta {
	m := metav1.ObjectMeta{Name: name, Namespace: namespace, Labels: map[string]string{ManagedByLabel: ManagedBy}, Annotations: map[string]string{}}
	if fence != "" {
		m.Annotations[FenceAnnotation] = fence
	}
	if doc != nil {
		m.Annotations[SyncTokenAnnotation] = doc.SyncToken
	}
	return m
}

func typeMeta() metav1.TypeMeta {
	return metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy"}
}

func defaultDeny(ns string, doc *ranges.Document) *networkingv1.NetworkPolicy {
	return &networkingv1.NetworkPolicy{TypeMeta: typeMeta(), ObjectMeta: meta(defaultDenyName, ns, "", doc), Spec: networkingv1.NetworkPolicySpec{
		PodSelector: metav1.LabelSelector{},
		PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress},
	}}
}

// selectsAny reports whether an existing policy selects some pods the
// Fence selects.
func selectsAny(w *model.World, p *model.NetworkPolicy, f *model.Fence) bool {
	fsel, err1 := engine.ParseSelector(&f.Spec.Workloads)
	psel, err2 := engine.ParseSelector(&p.Spec.PodSelector)
	if err1 != nil || err2 != nil {
		return false
	}
	for _, wl := range w.Workloads {
		if wl.Namespace != f.Namespace {
			continue
		}
		for _, pt := range wl.Pods {
			if fsel.Matches(engine.PodLabels(pt)) == engine.Yes && psel.Matches(engine.PodLabels(pt)) != engine.No {
				return true
			}
		}
	}
	return false
}

// fenced returns the workloads and pod templates a Fence selects.
func fenced(w *model.World, f *model.Fence) map[*model.Workload][]*model.PodTemplate {
	out := map[*model.Workload][]*model.PodTemplate{}
	sel, err := engine.ParseSelector(&f.Spec.Workloads)
	if err != nil {
		return out
	}
	for _, wl := range w.Workloads {
		if wl.Namespace != f.Namespace {
			continue
		}
		for _, pt := range wl.Pods {
			if sel.Matches(engine.PodLabels(pt)) == engine.Yes {
				out[wl] = append(out[wl], pt)
			}
		}
	}
	return out
}

func fence(w *model.World, f *model.Fence, doc *ranges.Document, out *Output) ([]*networkingv1.NetworkPolicy, []IngressPatch, []string, error) {
	var warnings []string
	workloads := fenced(w, f)
	if len(workloads) == 0 {
		warnings = append(warnings, fmt.Sprintf("Fence %s/%s selects no workload", f.Namespace, f.Name))
	}
	p := &networkingv1.NetworkPolicy{TypeMeta: typeMeta(), ObjectMeta: meta("ringfence-"+f.Name, f.Namespace, f.Name, doc), Spec: networkingv1.NetworkPolicySpec{
		PodSelector: *f.Spec.Workloads.DeepCopy(),
		PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress},
		Ingress:     []networkingv1.NetworkPolicyIngressRule{},
		Egress:      []networkingv1.NetworkPolicyEgressRule{},
	}}
	policies := []*networkingv1.NetworkPolicy{p}
	for i, e := range f.Spec.Egress {
		switch {
		case e.AWS != nil:
			rule, err := awsRule(e.AWS, doc)
			if err != nil {
				return nil, nil, nil, fmt.Errorf("%s: Fence/%s/%s: spec.egress[%d]: %w", f.Source, f.Namespace, f.Name, i, err)
			}
			if out.awsRules == nil {
				out.awsRules = map[*networkingv1.NetworkPolicy][]awsRuleRef{}
			}
			out.awsRules[p] = append(out.awsRules[p], awsRuleRef{index: len(p.Spec.Egress), intent: e.AWS})
			p.Spec.Egress = append(p.Spec.Egress, rule)
		case e.DNS != nil:
			p.Spec.Egress = append(p.Spec.Egress, dnsRule(w))
		case e.Service != nil:
			rule, err := serviceRule(w, f.Namespace, e.Service)
			if err != nil {
				return nil, nil, nil, fmt.Errorf("%s: Fence/%s/%s: spec.egress[%d]: %w", f.Source, f.Namespace, f.Name, i, err)
			}
			p.Spec.Egress = append(p.Spec.Egress, rule)
		case e.Peers != nil && e.Peers.SameJob:
			ps, ws := peerPolicies(workloads, f, doc)
			policies = append(policies, ps...)
			warnings = append(warnings, ws...)
		case e.CIDR != nil:
			p.Spec.Egress = append(p.Spec.Egress, cidrRule(e.CIDR))
		case e.Host != nil:
			warnings = append(warnings, fmt.Sprintf("Fence %s/%s: egress to %s:%d is a DNS name, which a NetworkPolicy cannot express: with Cilium, -o cilium adds a toFQDNs policy; otherwise allow the CIDRs it resolves to (if they are stable) or route it through an egress proxy", f.Namespace, f.Name, e.Host.Name, e.Host.Port))
		}
	}
	var patches []IngressPatch
	for _, in := range f.Spec.Ingress {
		if in.From != nil {
			p.Spec.Ingress = append(p.Spec.Ingress, clientRule(in.From, in.Ports))
			continue
		}
		rule, err := controllerRule(w, workloads, in.IngressController)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("%s: Fence/%s/%s: %w", f.Source, f.Namespace, f.Name, err)
		}
		p.Spec.Ingress = append(p.Spec.Ingress, rule)
		if len(in.SourceRanges) > 0 {
			patches = append(patches, allowlistPatches(w, workloads, in.SourceRanges)...)
		}
	}
	return policies, patches, warnings, nil
}

// awsRule allows the service's current ranges, aggregated, on TCP 443 (or
// the ports given).
func awsRule(a *v1alpha1.AWSDestination, doc *ranges.Document) (networkingv1.NetworkPolicyEgressRule, error) {
	var rule networkingv1.NetworkPolicyEgressRule
	if doc == nil {
		return rule, fmt.Errorf("no AWS ranges publication")
	}
	sel := doc.Select(ranges.Filter{Services: []string{a.Service}, Regions: []string{a.Region}})
	if len(sel) == 0 {
		return rule, fmt.Errorf("AWS ip-ranges syncToken %s publishes no prefixes for %s in %s", doc.SyncToken, a.Service, a.Region)
	}
	for _, p := range ranges.Aggregate(sel) {
		rule.To = append(rule.To, networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: p.String()}})
	}
	ports := a.Ports
	if len(ports) == 0 {
		ports = []v1alpha1.Port{{Protocol: "TCP", Port: 443}}
	}
	rule.Ports = policyPorts(ports)
	return rule, nil
}

// policyPorts turns a Fence's ports into a policy's (TCP when no protocol
// is given, as in NetworkPolicy).
func policyPorts(ports []v1alpha1.Port) []networkingv1.NetworkPolicyPort {
	var out []networkingv1.NetworkPolicyPort
	for _, p := range ports {
		proto := corev1.Protocol(strings.ToUpper(p.Protocol))
		if proto == "" {
			proto = corev1.ProtocolTCP
		}
		port := intstr.FromInt32(p.Port)
		out = append(out, networkingv1.NetworkPolicyPort{Protocol: &proto, Port: &port})
	}
	return out
}

// cidrRule allows address ranges on ports.
func cidrRule(d *v1alpha1.CIDRDestination) networkingv1.NetworkPolicyEgressRule {
	rule := networkingv1.NetworkPolicyEgressRule{Ports: policyPorts(d.Ports)}
	for _, c := range d.CIDRs {
		rule.To = append(rule.To, networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: c}})
	}
	return rule
}

// clientRule admits pods by namespace and pod selectors, or addresses, on
// ports.
func clientRule(c *v1alpha1.ClientSource, ports []v1alpha1.Port) networkingv1.NetworkPolicyIngressRule {
	rule := networkingv1.NetworkPolicyIngressRule{Ports: policyPorts(ports)}
	if c.Namespaces != nil || c.Pods != nil {
		peer := networkingv1.NetworkPolicyPeer{NamespaceSelector: c.Namespaces.DeepCopy(), PodSelector: c.Pods.DeepCopy()}
		rule.From = append(rule.From, peer)
	}
	for _, cidr := range c.CIDRs {
		rule.From = append(rule.From, networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: cidr}})
	}
	return rule
}

// dnsRule allows the cluster DNS pods (the kube-system/kube-dns Service's
// selector, k8s-app: kube-dns by default) on UDP and TCP 53.
func dnsRule(w *model.World) networkingv1.NetworkPolicyEgressRule {
	selector := dnsSelector(w)
	udp, tcp := corev1.ProtocolUDP, corev1.ProtocolTCP
	port := intstr.FromInt32(53)
	return networkingv1.NetworkPolicyEgressRule{
		To: []networkingv1.NetworkPolicyPeer{{
			NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{model.NamespaceNameLabel: "kube-system"}},
			PodSelector:       &metav1.LabelSelector{MatchLabels: selector},
		}},
		Ports: []networkingv1.NetworkPolicyPort{{Protocol: &udp, Port: &port}, {Protocol: &tcp, Port: &port}},
	}
}

// serviceRule allows a Service's pods on the port the Service forwards to.
func serviceRule(w *model.World, ns string, d *v1alpha1.ServiceDestination) (networkingv1.NetworkPolicyEgressRule, error) {
	var rule networkingv1.NetworkPolicyEgressRule
	if d.Namespace != "" {
		ns = d.Namespace
	}
	for _, s := range w.Services {
		if s.Namespace != ns || s.Name != d.Name {
			continue
		}
		if len(s.Spec.Selector) == 0 {
			return rule, fmt.Errorf("the Service %s/%s has no selector: its endpoints are not in the inputs", ns, d.Name)
		}
		for _, sp := range s.Spec.Ports {
			if (d.Port.Type == intstr.String && sp.Name == d.Port.StrVal) || (d.Port.Type == intstr.Int && sp.Port == d.Port.IntVal) {
				target := sp.TargetPort
				if target.Type == intstr.Int && target.IntVal == 0 {
					target = intstr.FromInt32(sp.Port)
				}
				proto := sp.Protocol
				rule.To = []networkingv1.NetworkPolicyPeer{{
					NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{model.NamespaceNameLabel: ns}},
					PodSelector:       &metav1.LabelSelector{MatchLabels: s.Spec.Selector},
				}}
				rule.Ports = []networkingv1.NetworkPolicyPort{{Protocol: &proto, Port: &target}}
				return rule, nil
			}
		}
		return rule, fmt.Errorf("the Service %s/%s has no port %s", ns, d.Name, d.Port.String())
	}
	return rule, fmt.Errorf("no Service %s/%s in the inputs", ns, d.Name)
}

// jobLabels are the labels that name a job's pods, by operator.
var jobLabels = []string{"training.kubeflow.org/job-name", "batch.kubernetes.io/job-name", "ray.io/cluster", "app.kubernetes.io/instance"}

// peerPolicies lets each job's pods talk to each other on every port, and
// only to each other: one policy per job, so two jobs fenced together stay
// apart.
func peerPolicies(workloads map[*model.Workload][]*model.PodTemplate, f *model.Fence, doc *ranges.Document) ([]*networkingv1.NetworkPolicy, []string) {
	var out []*networkingv1.NetworkPolicy
	var warnings []string
	names := make([]*model.Workload, 0, len(workloads))
	for wl := range workloads {
		names = append(names, wl)
	}
	sort.Slice(names, func(i, j int) bool { return names[i].Name < names[j].Name })
	for _, wl := range names {
		key, value := "", ""
		for _, k := range jobLabels {
			if v, ok := workloads[wl][0].Labels[k]; ok {
				key, value = k, v
				break
			}
		}
		if key == "" {
			warnings = append(warnings, fmt.Sprintf("Fence %s/%s: %s/%s has no label that names its job's pods (%s): no peers policy", f.Namespace, f.Name, wl.Kind, wl.Name, strings.Join(jobLabels, ", ")))
			continue
		}
		sel := metav1.LabelSelector{MatchLabels: map[string]string{key: value}}
		peer := networkingv1.NetworkPolicyPeer{PodSelector: sel.DeepCopy()}
		out = append(out, &networkingv1.NetworkPolicy{TypeMeta: typeMeta(), ObjectMeta: meta("ringfence-"+f.Name+"-peers-"+wl.Name, f.Namespace, f.Name, doc), Spec: networkingv1.NetworkPolicySpec{
			PodSelector: sel,
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress},
			Ingress:     []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{peer}}},
			Egress:      []networkingv1.NetworkPolicyEgressRule{{To: []networkingv1.NetworkPolicyPeer{peer}}},
		}})
	}
	return out, warnings
}

// controllerRule admits the ingress controller's pods on the ports the
// fenced workloads serve through Services (every port when none does).
func controllerRule(w *model.World, workloads map[*model.Workload][]*model.PodTemplate, c *v1alpha1.ControllerSource) (networkingv1.NetworkPolicyIngressRule, error) {
	pods := c.PodSelector
	if pods == nil {
		pods = &metav1.LabelSelector{}
		for _, wl := range w.Workloads {
			for _, pt := range wl.Pods {
				if wl.Namespace == c.Namespace && pt.Labels["app.kubernetes.io/component"] == "controller" && pt.Labels["app.kubernetes.io/name"] != "" {
					pods = &metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io/name": pt.Labels["app.kubernetes.io/name"], "app.kubernetes.io/component": "controller"}}
				}
			}
		}
	}
	rule := networkingv1.NetworkPolicyIngressRule{From: []networkingv1.NetworkPolicyPeer{{
		NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{model.NamespaceNameLabel: c.Namespace}},
		PodSelector:       pods,
	}}}
	seen := map[string]bool{}
	for _, s := range servicesOf(w, workloads) {
		for _, sp := range s.Spec.Ports {
			target := sp.TargetPort
			if target.Type == intstr.Int && target.IntVal == 0 {
				target = intstr.FromInt32(sp.Port)
			}
			key := string(sp.Protocol) + "/" + target.String()
			if seen[key] {
				continue
			}
			seen[key] = true
			proto := sp.Protocol
			rule.Ports = append(rule.Ports, networkingv1.NetworkPolicyPort{Protocol: &proto, Port: &target})
		}
	}
	return rule, nil
}

// servicesOf returns the Services that select some fenced pods.
func servicesOf(w *model.World, workloads map[*model.Workload][]*model.PodTemplate) []*model.Service {
	var out []*model.Service
	for _, s := range w.Services {
		selects := selectedBy(s.Namespace, s.Spec.Selector)
	match:
		for wl, pts := range workloads {
			for _, pt := range pts {
				if selects(wl, pt) {
					out = append(out, s)
					break match
				}
			}
		}
	}
	return out
}

// allowlistPatches set the source allowlist of every Ingress that routes
// to a fenced workload's Service, under the annotation it already uses.
func allowlistPatches(w *model.World, workloads map[*model.Workload][]*model.PodTemplate, sourceRanges []string) []IngressPatch {
	var out []IngressPatch
	for _, ing := range routing(w, workloads) {
		key := "nginx.ingress.kubernetes.io/allowlist-source-range"
		if _, ok := ing.Annotations["nginx.ingress.kubernetes.io/whitelist-source-range"]; ok {
			key = "nginx.ingress.kubernetes.io/whitelist-source-range"
		}
		out = append(out, IngressPatch{Namespace: ing.Namespace, Name: ing.Name, Annotation: key, Value: strings.Join(sourceRanges, ",")})
	}
	return out
}

// routing returns the Ingresses that route to a Service of the workloads.
func routing(w *model.World, workloads map[*model.Workload][]*model.PodTemplate) []*model.Ingress {
	services := map[string]bool{}
	for _, s := range servicesOf(w, workloads) {
		services[s.Namespace+"/"+s.Name] = true
	}
	var out []*model.Ingress
	for _, ing := range w.Ingresses {
		for _, name := range backends(ing.Spec) {
			if services[ing.Namespace+"/"+name] {
				out = append(out, ing)
				break
			}
		}
	}
	return out
}

func backends(spec networkingv1.IngressSpec) []string {
	var out []string
	if b := spec.DefaultBackend; b != nil && b.Service != nil {
		out = append(out, b.Service.Name)
	}
	for _, r := range spec.Rules {
		if r.HTTP != nil {
			for _, p := range r.HTTP.Paths {
				if p.Backend.Service != nil {
					out = append(out, p.Backend.Service.Name)
				}
			}
		}
	}
	return out
}
