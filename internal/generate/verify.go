package generate

import (
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"

	"github.com/ringfence/ringfence/api/v1alpha1"
	"github.com/ringfence/ringfence/internal/check"
	"github.com/ringfence/ringfence/internal/engine"
	"github.com/ringfence/ringfence/internal/model"
	"github.com/ringfence/ringfence/internal/netset"
	"github.com/ringfence/ringfence/internal/ranges"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Apply returns the world as it would be with the output applied: the
// replaced policies gone, the generated ones in, the Ingress allowlists,
// Service patches, security-group plan and instance metadata options
// applied.
func Apply(w *model.World, out *Output) *model.World {
	next := *w
	next.Ingresses = applyIngresses(w.Ingresses, out.Patches)
	next.Instances = applyMetadata(w.Instances, out.Metadata)
	replaced := map[model.Ref]bool{}
	for _, r := range out.Replaces {
		replaced[r] = true
	}
	next.Policies = nil
	for _, p := range w.Policies {
		if !replaced[p.Ref()] {
			next.Policies = append(next.Policies, p)
		}
	}
	for _, p := range out.Policies {
		next.Policies = append(next.Policies, &model.NetworkPolicy{
			Meta: model.Meta{Kind: "NetworkPolicy", APIVersion: "networking.k8s.io/v1", Namespace: p.Namespace, Name: p.Name, Labels: p.Labels, Annotations: p.Annotations,
				Source: model.Source{File: "generated"}},
			Spec: p.Spec,
		})
	}
	next.Policies = append(next.Policies, out.Domains...)
	sort.Slice(next.Policies, func(i, j int) bool { return next.Policies[i].Ref().String() < next.Policies[j].Ref().String() })
	if len(out.Tiered) > 0 {
		next.TierPolicies = append(slices.Clone(w.TierPolicies), out.Tiered...)
		model.SortTiers(next.TierPolicies)
	}
	groups, sgps := applyJobGroups(w, out.JobGroups)
	next.SecurityGroupPolicies = sgps
	next.Services, next.SecurityGroups = applyServices(w.Services, applyGroups(groups, out.SecurityGroups), out.ServicePatches)
	return &next
}

// applyIngresses returns the Ingresses with the allowlist patches applied.
func applyIngresses(ingresses []*model.Ingress, patches []IngressPatch) []*model.Ingress {
	out := make([]*model.Ingress, 0, len(ingresses))
	for _, ing := range ingresses {
		next := ing
		for _, p := range patches {
			if p.Namespace != ing.Namespace || p.Name != ing.Name {
				continue
			}
			if next == ing {
				c := *ing
				c.Annotations = map[string]string{}
				for k, v := range ing.Annotations {
					c.Annotations[k] = v
				}
				next = &c
			}
			next.Annotations[p.Annotation] = p.Value
		}
		out = append(out, next)
	}
	return out
}

// applyMetadata returns the instances with the planned metadata options.
func applyMetadata(instances []*model.Instance, plans []MetadataPlan) []*model.Instance {
	byID := map[string]MetadataPlan{}
	for _, p := range plans {
		byID[p.InstanceID] = p
	}
	out := make([]*model.Instance, 0, len(instances))
	for _, in := range instances {
		if p, ok := byID[in.ID]; ok {
			c := *in
			c.MetadataTokens, c.MetadataHopLimit = p.HTTPTokens, p.HopLimit
			in = &c
		}
		out = append(out, in)
	}
	return out
}

// applyGroups returns the groups with the planned rules in and the open
// egress out. Prefix lists count as the addresses they stand for (an
// AWS-managed list as the service's published ranges).
func applyGroups(groups []*model.SecurityGroup, plans []GroupPlan) []*model.SecurityGroup {
	byID := map[string]*GroupPlan{}
	for i := range plans {
		byID[plans[i].GroupID] = &plans[i]
	}
	convert := func(rs []SGRule) []model.SGRule {
		var out []model.SGRule
		for _, r := range rs {
			m := model.SGRule{Protocol: r.Protocol, FromPort: r.FromPort, ToPort: r.ToPort, Description: r.Description, Source: model.Source{File: "generated"}}
			if r.Group != "" {
				m.Groups = []string{r.Group}
			} else {
				m.CIDRs = r.covers
			}
			out = append(out, m)
		}
		return out
	}
	out := make([]*model.SecurityGroup, 0, len(groups))
	for _, g := range groups {
		p := byID[g.ID]
		if p == nil {
			out = append(out, g)
			continue
		}
		ng := *g
		ng.Egress = nil
		if len(p.Revoke) == 0 { // an endpoint's group: its egress stays
			ng.Egress = g.Egress
		}
		for _, r := range g.Egress {
			if len(p.Revoke) == 0 {
				break
			}
			nr := r
			nr.CIDRs = nil
			for _, c := range r.CIDRs {
				if c.Bits() != 0 {
					nr.CIDRs = append(nr.CIDRs, c)
				}
			}
			if len(nr.CIDRs) > 0 || len(nr.Groups) > 0 || len(nr.PrefixLists) > 0 {
				ng.Egress = append(ng.Egress, nr)
			}
		}
		ng.Egress = append(ng.Egress, convert(p.Egress)...)
		ng.Ingress = append(append([]model.SGRule(nil), g.Ingress...), convert(p.Ingress)...)
		out = append(out, &ng)
	}
	return out
}

// Verify checks generated output against its Fences with the engine:
// every intended flow is allowed, nothing else leaves the fenced
// workloads (no internet, no instance metadata, no other namespace than
// intended), and the audit of the result raises nothing high or critical
// on the fenced namespaces' workloads and policies. It returns the
// problems found.
func Verify(w *model.World, out *Output, doc *ranges.Document, opts Options) ([]string, error) {
	next := Apply(w, out)
	a, err := engine.Analyse(next, engine.Options{NodeGroups: opts.NodeGroups})
	if err != nil {
		return nil, err
	}
	out.Needs = slices.Clone(out.Needs) // a copy of an Output must not share the statuses
	if err := verifyNeeds(a, next, doc, out.Needs); err != nil {
		return nil, err
	}
	var problems []string
	fail := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	internet, _, _ := ranges.Named(doc, "internet")
	imds, _, _ := ranges.Named(doc, "imds")
	for _, f := range w.Fences {
		allowedNS := map[string]bool{"kube-system": hasDNS(f) || keptDNS(out.Needs, f)}
		allowedNS[f.Namespace] = true // after: a Fence in kube-system keeps its namespace
		for _, e := range f.Spec.Egress {
			if e.Service != nil {
				ns := e.Service.Namespace
				if ns == "" {
					ns = f.Namespace
				}
				allowedNS[ns] = true
			}
		}
		// An ingress controller reaches the workloads that name it.
		for _, g := range w.Fences {
			for _, in := range g.Spec.Ingress {
				if in.IngressController != nil && in.IngressController.Namespace == f.Namespace {
					allowedNS[g.Namespace] = true
				}
			}
		}
		for _, p := range fencedPeers(a, next, f) {
			for _, e := range f.Spec.Egress {
				switch {
				case e.AWS != nil:
					set, _, err := ranges.Named(doc, "aws:"+e.AWS.Service+":"+e.AWS.Region)
					if err != nil {
						return nil, err
					}
					x, err := engine.ExplainDestination(a, p.ID, engine.Destination{Name: e.AWS.Service, Set: set}, netset.TCP, 443)
					if err == nil && len(x.NetworkPolicy.Blocked) > 0 {
						fail("%s cannot reach all of %s in %s on TCP 443: %v blocked", p.ID, e.AWS.Service, e.AWS.Region, x.NetworkPolicy.Blocked)
					}
					if err == nil && x.SecurityGroups != nil && len(out.SecurityGroups) > 0 && len(x.SecurityGroups.Blocked) > 0 {
						fail("%s's security groups block part of %s in %s on TCP 443: %v", p.ID, e.AWS.Service, e.AWS.Region, x.SecurityGroups.Blocked)
					}
				case e.DNS != nil:
					dns, _ := a.ServiceBackends("kube-system", "kube-dns")
					for _, d := range dns {
						if x, err := engine.Explain(a, p.ID, d, netset.UDP, 53); err == nil && x.Verdict != "allowed" {
							fail("%s cannot reach DNS (%s) on UDP 53", p.ID, d)
						}
					}
				case e.CIDR != nil:
					for _, c := range e.CIDR.CIDRs {
						addr := netip.MustParsePrefix(c).Masked().Addr().String()
						for _, port := range e.CIDR.Ports {
							if x, err := engine.Explain(a, p.ID, addr, protocolOf(port), port.Port); err == nil && x.Verdict != "allowed" {
								fail("%s cannot reach %s on %s %d", p.ID, c, protocolOf(port), port.Port)
							}
						}
					}
				case e.Service != nil:
					ns := e.Service.Namespace
					if ns == "" {
						ns = f.Namespace
					}
					targets, _ := a.ServiceBackends(ns, e.Service.Name)
					port, proto := servicePort(next, ns, e.Service.Name, e.Service.Port)
					for _, d := range targets {
						if x, err := engine.Explain(a, p.ID, d, proto, port); err == nil && x.Verdict != "allowed" {
							fail("%s cannot reach Service %s/%s (%s) on %s %d", p.ID, ns, e.Service.Name, d, proto, port)
						}
					}
				}
			}
			for _, in := range f.Spec.Ingress {
				if in.From != nil {
					problems = append(problems, verifyClients(a, next, f, in, p)...)
					continue
				}
				controllers := controllerPeers(a, in.IngressController.Namespace)
				for _, c := range controllers {
					if x, err := engine.Explain(a, c, p.ID, 0, 0); err == nil && x.Verdict != "allowed" {
						fail("the ingress controller %s cannot reach %s: %s %s", c, p.ID, x.Verdict, strings.Join(x.Missing, "; "))
					}
				}
			}
			if x, err := engine.ExplainDestination(a, p.ID, engine.Destination{Name: "internet", Set: internet}, 0, 0); err == nil {
				if len(x.NetworkPolicy.Allowed) > 0 {
					fail("%s can reach the internet: %v", p.ID, x.NetworkPolicy.Allowed)
				}
				if len(out.SecurityGroups) > 0 && x.SecurityGroups != nil && len(x.SecurityGroups.Allowed) > 0 {
					fail("%s's security groups still allow the internet: %v", p.ID, x.SecurityGroups.Allowed)
				}
			}
			if x, err := engine.ExplainDestination(a, p.ID, engine.Destination{Name: "imds", Set: imds}, 0, 0); err == nil && len(x.NetworkPolicy.Allowed) > 0 && !allowsIMDS(f) {
				fail("%s can reach the instance metadata service", p.ID)
			}
		}
		// No connection from a fenced workload to a namespace it was not
		// meant to reach.
		fencedIDs := map[string]bool{}
		for _, p := range fencedPeers(a, next, f) {
			fencedIDs[p.ID] = true
		}
		peers := map[string]*engine.Peer{}
		for _, p := range a.Peers() {
			peers[p.ID] = p
		}
		for _, c := range a.Reach().Connections {
			dst := peers[c.Dst]
			if fencedIDs[c.Src] && dst != nil && dst.Workload != nil && !allowedNS[dst.Namespace] {
				fail("%s can reach %s in namespace %s: %s (unknown %s: %s)", c.Src, c.Dst, dst.Namespace, c.Allow, c.Unknown, strings.Join(c.Reasons, "; "))
			}
			// Pods whose addresses are not known stand for every namespace:
			// an ipBlock that may hold them cannot be verified as fenced.
			if fencedIDs[c.Src] && c.Dst == engine.UnknownAddressPods && !c.Unknown.IsEmpty() {
				fail("%s may reach pods of any namespace (unknown %s: %s)", c.Src, c.Unknown, strings.Join(c.Reasons, "; "))
			}
		}
	}
	// The audit of the result, on what the Fences touch: the fenced
	// workloads, the generated policies, their namespaces, and whatever
	// names a fenced workload (an exposure of it).
	touched := map[model.Ref]bool{}
	nodeRole := map[model.Ref]bool{} // workloads whose Fence allows the node role
	var fencedIDs []string
	for _, f := range w.Fences {
		touched[model.Ref{Kind: "Namespace", Name: f.Namespace}] = true
		for _, p := range fencedPeers(a, next, f) {
			touched[p.Workload.Ref()] = true
			nodeRole[p.Workload.Ref()] = nodeRole[p.Workload.Ref()] || allowsIMDS(f)
			fencedIDs = append(fencedIDs, p.ID)
		}
	}
	for _, p := range out.Policies {
		touched[model.Ref{Kind: "NetworkPolicy", Namespace: p.Namespace, Name: p.Name}] = true
	}
	// Only what a fence can fix: long-lived keys stay whatever the policies.
	findings, err := check.Run(&check.Context{World: next, Analysis: a, Ranges: doc}, check.NetworkRules())
	if err != nil {
		return nil, err
	}
	for _, f := range findings {
		if f.Severity < check.High || f.Object.Kind == "SecurityGroup" {
			continue
		}
		if f.Rule == "RF002" && nodeRole[f.Object] {
			continue // the Fence allows the node role: its conscious choice
		}
		relevant := touched[f.Object]
		for _, id := range fencedIDs {
			relevant = relevant || strings.Contains(f.Message, id)
		}
		if relevant {
			fail("audit after applying: %s %s: %s", f.Rule, f.Object, f.Message)
		}
	}
	sort.Strings(problems)
	return problems, nil
}

// verifyClients checks that the clients an ingress intent names reach a
// fenced peer on its ports: the first address of each range, and every
// workload the selectors match.
func verifyClients(a *engine.Analysis, w *model.World, f *model.Fence, in v1alpha1.IngressIntent, p *engine.Peer) []string {
	var problems []string
	var clients []string
	for _, c := range in.From.CIDRs {
		clients = append(clients, netip.MustParsePrefix(c).Masked().Addr().String())
	}
	if in.From.Namespaces != nil || in.From.Pods != nil {
		match, err := clientsOf(w, f.Namespace, in.From)
		if err != nil {
			return []string{err.Error()}
		}
		for _, q := range a.Peers() {
			if q.Workload == nil || q.Workload == p.Workload || q.HostNetwork {
				continue
			}
			for _, pt := range q.Workload.Pods {
				if match(q.Workload, pt) {
					clients = append(clients, q.ID)
					break
				}
			}
		}
	}
	for _, c := range clients {
		for _, port := range in.Ports {
			// Only the admitting side is the Fence's: whether a client
			// may send is its own policies' business.
			x, err := engine.Explain(a, c, p.ID, protocolOf(port), port.Port)
			if err == nil && !x.Ingress.Allowed.Contains(protocolOf(port), port.Port) {
				problems = append(problems, fmt.Sprintf("%s does not admit %s on %s %d", p.ID, c, protocolOf(port), port.Port))
			}
		}
	}
	return problems
}

// keptDNS reports whether generate kept the DNS need of a Fence's
// workloads (the Fence itself does not name it).
func keptDNS(needs []Need, f *model.Fence) bool {
	for _, n := range needs {
		if n.Kind == NeedDNS && n.Status == NeedKept && n.fence == f.Namespace+"/"+f.Name {
			return true
		}
	}
	return false
}

func hasDNS(f *model.Fence) bool {
	for _, e := range f.Spec.Egress {
		if e.DNS != nil {
			return true
		}
	}
	return false
}

// fencedPeers returns the peers of the workloads a Fence selects.
func fencedPeers(a *engine.Analysis, w *model.World, f *model.Fence) []*engine.Peer {
	ws := fenced(w, f)
	var out []*engine.Peer
	for _, p := range a.Peers() {
		if p.Workload != nil {
			if _, ok := ws[p.Workload]; ok {
				out = append(out, p)
			}
		}
	}
	return out
}

func controllerPeers(a *engine.Analysis, ns string) []string {
	var out []string
	for _, p := range a.Peers() {
		if p.Workload == nil || p.Namespace != ns {
			continue
		}
		for _, pt := range p.Workload.Pods {
			if pt.Labels["app.kubernetes.io/component"] == "controller" {
				out = append(out, p.ID)
				break
			}
		}
	}
	return out
}

// servicePort resolves a Service port to the pods' port number.
func servicePort(w *model.World, ns, name string, port intstr.IntOrString) (int32, netset.Protocol) {
	for _, s := range w.Services {
		if s.Namespace != ns || s.Name != name {
			continue
		}
		for _, sp := range s.Spec.Ports {
			if (port.Type == intstr.String && sp.Name == port.StrVal) || (port.Type == intstr.Int && sp.Port == port.IntVal) {
				proto, _ := netset.ParseProtocol(sp.Protocol)
				if sp.TargetPort.Type == intstr.Int && sp.TargetPort.IntVal != 0 {
					return sp.TargetPort.IntVal, proto
				}
				if sp.TargetPort.Type == intstr.String {
					for _, wl := range w.Workloads {
						for _, pt := range wl.Pods {
							for _, c := range pt.Containers {
								for _, cp := range c.Ports {
									if wl.Namespace == ns && cp.Name == sp.TargetPort.StrVal && cp.Protocol == corev1.Protocol(sp.Protocol) {
										return cp.Port, proto
									}
								}
							}
						}
					}
				}
				return sp.Port, proto
			}
		}
	}
	return 0, netset.TCP
}
