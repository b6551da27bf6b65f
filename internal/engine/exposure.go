package engine

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"github.com/ringfence/ringfence/internal/model"
	"github.com/ringfence/ringfence/internal/netset"
	"go4.org/netipx"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
)

// A request from the internet takes a path: a load balancer or a node
// port, perhaps an ingress controller, then the pods. Each hop can stop it;
// an exposure lists the hops with their verdicts and what decided them.

// Hop verdicts, for traffic that comes from the internet.
const (
	HopOpen       = "open"       // every public address gets through
	HopRestricted = "restricted" // some public addresses get through
	HopBlocked    = "blocked"    // no public address gets through
	HopUnknown    = "unknown"    // cannot be judged from the inputs
)

// Hop is one step of the path.
type Hop struct {
	Step    string `json:"step"`
	Verdict string `json:"verdict"`
	Detail  string `json:"detail"`
	Source  string `json:"source,omitempty"`
	// ports holds the indexes of the Service ports whose paths the hop
	// is on, as ",0,2,"; "" for a hop on every path. The ports are
	// alternative ways in: the exposure holds when one gets through.
	ports string
}

// Exposure is one way in from outside the cluster.
type Exposure struct {
	// Entry is the Service or Ingress, as Kind/namespace/name.
	Entry  string       `json:"entry"`
	Source model.Source `json:"source"`
	// Backends are the peers the path ends at.
	Backends []string `json:"backends"`
	Hops     []Hop    `json:"hops"`
	// Internet is true when every hop admits some public address.
	Internet bool `json:"internet"`
	// Possible is true when no hop blocks the path but some cannot be
	// judged: the exposure holds if the unknowns resolve badly, as
	// Assumptions say.
	Possible    bool     `json:"possible,omitempty"`
	Assumptions []string `json:"assumptions,omitempty"`
	// Via is the Entry of the ingress controller's own Service an Ingress
	// is reached through ("" when the inputs hold none): its load
	// balancer decides whether the Ingress faces the internet. Outputs
	// show it in the hop's detail already.
	Via string `json:"-"`
}

// Exposures follows every LoadBalancer and NodePort Service and every
// Ingress from outside the cluster to the pods behind it.
func (a *Analysis) Exposures() []Exposure {
	w := a.g.world
	var out []Exposure
	for _, s := range w.Services {
		if s.Spec.Type != corev1.ServiceTypeLoadBalancer && s.Spec.Type != corev1.ServiceTypeNodePort {
			continue
		}
		out = append(out, a.serviceExposure(s))
	}
	for _, ing := range w.Ingresses {
		out = append(out, a.ingressExposure(ing))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Entry < out[j].Entry })
	return out
}

// backend is a pod template a Service selects and the port traffic
// reaches it on.
type backend struct {
	workload *model.Workload
	pods     *model.PodTemplate
	port     int32
	proto    netset.Protocol
	// sp is the index of the Service port in the Service's spec.
	sp int
}

// backends resolves a Service's selector and target ports.
func (a *Analysis) backends(s *model.Service) []backend {
	if len(s.Spec.Selector) == 0 {
		return nil
	}
	var out []backend
	for _, wl := range a.g.world.Workloads {
		if wl.Namespace != s.Namespace {
			continue
		}
		for _, pt := range wl.Pods {
			match := true
			for k, v := range s.Spec.Selector {
				if pt.Labels[k] != v {
					match = false
				}
			}
			if !match {
				continue
			}
			for i, sp := range s.Spec.Ports {
				proto, _ := netset.ParseProtocol(sp.Protocol)
				port := sp.TargetPort.IntVal
				if sp.TargetPort.StrVal != "" {
					port = namedPort(pt, sp.TargetPort.StrVal, sp.Protocol)
				} else if port == 0 {
					port = sp.Port
				}
				if port > 0 {
					out = append(out, backend{workload: wl, pods: pt, port: port, proto: proto, sp: i})
				}
			}
		}
	}
	return out
}

func namedPort(pt *model.PodTemplate, name string, proto corev1.Protocol) int32 {
	for _, c := range pt.Containers {
		for _, p := range c.Ports {
			if p.Name == name && p.Protocol == proto {
				return p.Port
			}
		}
	}
	return 0
}

// peerOf returns the peer standing for a pod template.
func (a *Analysis) peerOf(wl *model.Workload, pt *model.PodTemplate) *Peer {
	for _, p := range a.peers {
		if p.Namespace == wl.Namespace && (p.ID == wl.Namespace+"/"+wl.Name || p.ID == wl.Namespace+"/"+wl.Name+"/"+pt.Role) {
			return p
		}
	}
	return nil
}

// byLBC reports whether the AWS Load Balancer Controller builds the
// Service's load balancer (rather than the in-tree cloud provider, which
// reads none of the controller's annotations).
func byLBC(s *model.Service) bool {
	t := s.Annotations["service.beta.kubernetes.io/aws-load-balancer-type"]
	return t == "external" || t == "nlb-ip" || (s.Spec.LoadBalancerClass != nil && *s.Spec.LoadBalancerClass == "service.k8s.aws/nlb")
}

// loadBalancer judges the load balancer of a Service: its scheme (the AWS
// Load Balancer Controller's annotation, internal by default; the legacy
// in-tree controller's, internet-facing by default) and its source ranges.
func loadBalancer(s *model.Service) (hop Hop, sources *netipx.IPSet) {
	ann := s.Annotations
	lbc := byLBC(s)
	internal := false
	how := ""
	switch {
	case lbc:
		internal = ann["service.beta.kubernetes.io/aws-load-balancer-scheme"] != "internet-facing"
		how = "AWS Load Balancer Controller, scheme " + map[bool]string{true: "internal (the default)", false: "internet-facing"}[internal]
		if v, ok := ann["service.beta.kubernetes.io/aws-load-balancer-scheme"]; ok {
			how = "AWS Load Balancer Controller, scheme " + v
		}
	default:
		v := ann["service.beta.kubernetes.io/aws-load-balancer-internal"]
		internal = v != "" && v != "false"
		how = "in-tree cloud provider, " + map[bool]string{true: "internal", false: "internet-facing (the default)"}[internal]
	}
	ranges := s.Spec.LoadBalancerSourceRanges
	if len(ranges) == 0 && ann["service.beta.kubernetes.io/load-balancer-source-ranges"] != "" {
		ranges = strings.Split(ann["service.beta.kubernetes.io/load-balancer-source-ranges"], ",")
	}
	var b netipx.IPSetBuilder
	if len(ranges) == 0 {
		b.AddSet(netset.Everything())
	}
	for _, r := range ranges {
		if p, err := netip.ParsePrefix(strings.TrimSpace(r)); err == nil {
			b.AddPrefix(p.Masked())
		}
	}
	sources, _ = b.IPSet()
	hop = Hop{Step: "load balancer", Source: s.Source.String()}
	switch {
	case internal:
		hop.Verdict, hop.Detail = HopBlocked, how+": not reachable from the internet"
	default:
		hop.Verdict = publicVerdict(sources)
		hop.Detail = how + ", source ranges " + strings.Join(ranges, ",")
		if len(ranges) == 0 {
			hop.Detail = how + ", no source ranges: the whole internet"
		}
	}
	hop.Detail = "inferred from the annotations (no load balancer in the AWS inputs matches): " + hop.Detail
	return hop, sources
}

func (a *Analysis) serviceExposure(s *model.Service) Exposure {
	e := Exposure{Entry: "Service/" + s.Namespace + "/" + s.Name, Source: s.Source}
	sources := netset.Everything()
	ipTargets := false
	// bareLB: an NLB in the inputs without security groups (see
	// sourceViews).
	viaLB, bareLB := s.Spec.Type == corev1.ServiceTypeLoadBalancer, false
	var matched *matchedLB
	if s.Spec.Type == corev1.ServiceTypeLoadBalancer {
		var lb Hop
		ipTargets = s.Annotations["service.beta.kubernetes.io/aws-load-balancer-nlb-target-type"] == "ip" || s.Annotations["service.beta.kubernetes.io/aws-load-balancer-type"] == "nlb-ip"
		var subnets *Hop
		if m := a.findLB("Service", s.Namespace+"/"+s.Name, s.LoadBalancerIngress, s.Source); m != nil {
			matched = m
			var ports []lbPort
			lb, ports, sources = a.lbHop("load balancer", m, s.Spec.Ports)
			if lb.Verdict != HopBlocked {
				if h, in := a.lbSubnetsHop(m.lb, ports); h != nil {
					subnets, sources = h, netset.Intersect(sources, in)
				}
			}
			bareLB = m.lb.Scheme == "internet-facing" && len(m.lb.Groups) == 0
			// The target groups say where the traffic lands: instance
			// targets are the nodes' NodePorts, ip targets the pods.
			switch t, groups := a.lbTargetType(m.lb); t {
			case "ip", "instance":
				ipTargets = t == "ip"
				lb.Detail += "; " + strings.Join(groups, "; ")
			case "":
				if len(groups) == 0 {
					groups = []string{"none of its target groups is in the inputs"}
				}
				lb.Detail += "; target type inferred from the annotations (" + strings.Join(groups, "; ") + ")"
			default:
				lb.Detail += "; " + strings.Join(groups, "; ")
			}
		} else {
			lb, sources = loadBalancer(s)
		}
		e.Hops = append(e.Hops, lb)
		if subnets != nil {
			e.Hops = append(e.Hops, *subnets)
		}
	} else {
		e.Hops = append(e.Hops, Hop{Step: "node port", Verdict: HopUnknown, Source: s.Source.String(),
			Detail: "reachable from outside only if the nodes have public addresses (not in the inputs)"})
	}
	// Who the pods see as the source of the traffic, port by port: each
	// Service port has its own target group.
	var views []sourceView
	if s.Spec.Type == corev1.ServiceTypeLoadBalancer {
		views = a.sourceViews(s, a.portTargets(s, matched, ipTargets), sources, viaLB, bareLB)
	} else {
		// A node port: the nodes' addresses under Cluster, else the
		// clients' (instance-like: kube-proxy on the node).
		targets := make([]portTarget, len(s.Spec.Ports))
		for i := range targets {
			targets[i].preserved = true
		}
		views = a.sourceViews(s, targets, sources, false, false)
	}
	e.Hops = append(e.Hops, seenHops(s, views)...)
	bs := a.backends(s)
	if len(bs) == 0 {
		e.Hops = append(e.Hops, Hop{Step: "backends", Verdict: HopBlocked, Detail: "the selector matches no pods", Source: s.Source.String()})
	}
	e.Hops = append(e.Hops, a.podHops(bs, func(b backend) sourceView { return views[b.sp] }, s, &e)...)
	e.finish()
	return e
}

// finish decides whether the path is open, or possibly open with the
// assumptions its unknown hops rest on.
func (e *Exposure) finish() {
	e.Internet = internet(e.Hops)
	if pathVerdict(e.Hops) != HopUnknown {
		return
	}
	e.Possible = true
	for _, h := range e.Hops {
		if h.Verdict == HopUnknown {
			e.Assumptions = append(e.Assumptions, "assuming "+h.Step+" lets it through: "+h.Detail)
		}
	}
}

// publicVerdict says how much of the internet a set of sources admits.
func publicVerdict(sources *netipx.IPSet) string {
	return clientVerdict(sources, netset.Public())
}

// seenHops are the "source seen by the pods" hops: one when every port
// agrees, else one per view naming its ports.
func seenHops(s *model.Service, views []sourceView) []Hop {
	var texts []string
	ports, on := map[string][]string{}, map[string]string{}
	for i, v := range views {
		if ports[v.text] == nil {
			texts = append(texts, v.text)
			on[v.text] = ","
		}
		ports[v.text] = append(ports[v.text], portName(s.Spec.Ports[i]))
		on[v.text] += fmt.Sprintf("%d,", i)
	}
	var hops []Hop
	for _, t := range texts {
		h := Hop{Step: "source seen by the pods", Verdict: HopOpen, Detail: t, Source: s.Source.String()}
		if len(texts) > 1 {
			h.Detail, h.ports = strings.Join(ports[t], ",")+": "+t, on[t]
		}
		hops = append(hops, h)
	}
	return hops
}

// podHops judges the last two fences, security groups and
// NetworkPolicies, for traffic to each backend from the source its
// Service port's view says the pods see.
//
// When the pods see the clients' addresses, a hop is as open as the
// public addresses it admits; when they see a load balancer's or the
// nodes' addresses, admitting those lets every client through.
func (a *Analysis) podHops(bs []backend, view func(backend) sourceView, s *model.Service, e *Exposure) []Hop {
	var hops []Hop
	for _, b := range bs {
		p := a.peerOf(b.workload, b.pods)
		if p == nil {
			continue
		}
		v := view(b)
		e.Backends = appendUnique(e.Backends, p.ID)
		port := b.port
		if !v.ip && s != nil && s.Spec.Type != corev1.ServiceTypeClusterIP {
			// Instance targets and node ports: the nodes' groups are
			// asked for the node port of this Service port.
			if np := s.Spec.Ports[b.sp].NodePort; np != 0 {
				port = np
			}
		}
		// Each backend is a path of its own: traffic reaches any one of
		// them, so one blocked backend does not close the others.
		on := onBackend(-1, p.ID)
		if s != nil {
			on = onBackend(b.sp, p.ID)
		}
		if a.sg != nil {
			h := a.sgHop(p, b.proto, port, v.viaLB)
			h.ports = on
			hops = appendHop(hops, h)
		}
		allowed, rules := ingressAddresses(p.identity, b.proto, b.port)
		np := Hop{Step: "NetworkPolicy of " + p.ID, Source: strings.Join(rules, "; "), ports: on}
		through := netset.Intersect(allowed, v.seen)
		switch {
		case len(p.identity.ingress) == 0 || p.identity.hostNetwork:
			np.Verdict, np.Detail = HopOpen, fmt.Sprintf("no policy isolates its ingress: %s %d from anywhere", b.proto, b.port)
		case len(through.Ranges()) == 0:
			np.Verdict, np.Detail = HopBlocked, fmt.Sprintf("admits no %s %d from the traffic's source", b.proto, b.port)
		case v.rng != nil && !covers(allowed, v.seen):
			np.Verdict, np.Detail = HopUnknown, fmt.Sprintf("admits %s %d from %s, part of %s: whether the source node's address is among them is not known (%s)", b.proto, b.port, strings.Join(netset.PrefixStrings(through), ","), v.rng.what, v.rng.remedy)
		case v.mixed && !covers(allowed, v.seen):
			np.Verdict, np.Detail = HopUnknown, fmt.Sprintf("admits %s %d from %s: whether that holds the traffic's source depends on which target group carries it", b.proto, b.port, strings.Join(netset.PrefixStrings(through), ","))
		case v.clients:
			np.Verdict = publicVerdict(through)
			np.Detail = fmt.Sprintf("admits %s %d from %s", b.proto, b.port, strings.Join(netset.PrefixStrings(through), ","))
		default:
			np.Verdict = HopOpen
			np.Detail = fmt.Sprintf("admits %s %d from %s, which holds the traffic's source: every client gets through", b.proto, b.port, strings.Join(netset.PrefixStrings(through), ","))
		}
		hops = appendHop(hops, np)
	}
	return hops
}

// sgHop judges the pod's (or its nodes') security groups for traffic on
// port: a CIDR rule admitting public addresses opens it; a rule naming
// another group admits only that group's interfaces (a load balancer's, if
// it is that group).
func (a *Analysis) sgHop(p *Peer, proto netset.Protocol, port int32, viaLB bool) Hop {
	h := Hop{Step: "security groups of " + p.ID}
	if !a.sg.known(p.identity.groups) {
		h.Verdict, h.Detail = HopUnknown, "the pods' security groups are not known"
		return h
	}
	var open, refs []string
	for _, gid := range p.identity.groups {
		g := a.sg.groups[gid]
		for i := range g.Ingress {
			r := &g.Ingress[i]
			c := a.sg.addrs[r]
			if !c.ports.Contains(proto, port) {
				continue
			}
			if c.set != nil && netset.Overlaps(c.set, netset.Public()) {
				open = append(open, fmt.Sprintf("%s ingress rule %d (%s)", g.ID, i, r.Source))
			}
			if otherGroup(r.Groups, p.identity.groups) || (c.set != nil && netset.Overlaps(c.set, privateAddresses())) {
				refs = append(refs, fmt.Sprintf("%s ingress rule %d (%s)", g.ID, i, r.Source))
			}
		}
	}
	switch {
	case len(open) > 0:
		h.Verdict, h.Detail, h.Source = HopOpen, fmt.Sprintf("%s %d admitted from public addresses", proto, port), strings.Join(open, "; ")
	case viaLB && len(refs) > 0:
		// The load balancer's traffic comes from its own group or its
		// addresses in the VPC; which rule is the load balancer's is not
		// in the inputs, but one admitting a group or private addresses
		// on this port is how the AWS Load Balancer Controller admits it.
		h.Verdict, h.Detail, h.Source = HopOpen, fmt.Sprintf("%s %d admitted from another security group or VPC addresses, as a load balancer's traffic is", proto, port), strings.Join(refs, "; ")
	default:
		h.Verdict, h.Detail = HopBlocked, fmt.Sprintf("no rule admits %s %d from outside", proto, port)
	}
	return h
}

// appendHop adds a hop unless the same one is there (a Service's ports
// often share a verdict); then the existing one is on h's ports too.
func appendHop(hops []Hop, h Hop) []Hop {
	for i, x := range hops {
		if x.Step == h.Step && x.Verdict == h.Verdict && x.Detail == h.Detail && x.Source == h.Source {
			if x.ports != "" && h.ports != "" && !strings.Contains(x.ports, h.ports) {
				hops[i].ports += h.ports[1:]
			}
			return hops
		}
	}
	return append(hops, h)
}

// onBackend is the ports value of a hop on one backend's path behind
// Service port i (i < 0: an Ingress backend, behind no Service port).
func onBackend(i int, peer string) string {
	if i < 0 {
		return ",@" + peer + ","
	}
	return fmt.Sprintf(",%d@%s,", i, peer)
}

func (a *Analysis) ingressExposure(ing *model.Ingress) Exposure {
	e := Exposure{Entry: "Ingress/" + ing.Namespace + "/" + ing.Name, Source: ing.Source}
	class := ""
	if ing.Spec.IngressClassName != nil {
		class = *ing.Spec.IngressClassName
	} else {
		class = ing.Annotations["kubernetes.io/ingress.class"]
	}
	controller := ""
	for _, ic := range a.g.world.IngressClasses {
		if ic.Name == class {
			controller = ic.Spec.Controller
		}
	}
	var controllers []backend
	alb := controller == "ingress.k8s.aws/alb" || class == "alb"
	stack := ing.Namespace + "/" + ing.Name
	if g := ing.Annotations["alb.ingress.kubernetes.io/group.name"]; g != "" {
		// The controller builds one ALB for an IngressGroup and tags it
		// with the group's name.
		stack = g
	}
	if m := a.findLB("Ingress", stack, ing.LoadBalancerIngress, ing.Source); alb && m != nil {
		hop, ports, _ := a.lbHop("application load balancer", m, nil)
		e.Hops = append(e.Hops, hop)
		if hop.Verdict != HopBlocked {
			if h, _ := a.lbSubnetsHop(m.lb, ports); h != nil {
				e.Hops = append(e.Hops, *h)
			}
		}
	} else if alb {
		scheme := ing.Annotations["alb.ingress.kubernetes.io/scheme"]
		hop := Hop{Step: "application load balancer", Source: ing.Source.String()}
		cidrs := ing.Annotations["alb.ingress.kubernetes.io/inbound-cidrs"]
		switch {
		case scheme != "internet-facing":
			hop.Verdict, hop.Detail = HopBlocked, "inferred from the annotations (no load balancer in the AWS inputs matches): scheme internal (the default): not reachable from the internet"
		case cidrs == "":
			hop.Verdict, hop.Detail = HopOpen, "inferred from the annotations (no load balancer in the AWS inputs matches): internet-facing, no inbound-cidrs: the whole internet"
		default:
			hop.Verdict, hop.Detail = allowlistVerdict(cidrs), "inferred from the annotations (no load balancer in the AWS inputs matches): internet-facing, inbound-cidrs "+cidrs
		}
		e.Hops = append(e.Hops, hop)
	} else {
		// The controller's own Service is the way in.
		ctl := a.controllerPods(controller, class)
		hop := Hop{Step: "ingress controller", Verdict: HopUnknown, Detail: fmt.Sprintf("class %q (controller %q): no controller pods or Service found", class, controller)}
		for _, s := range a.g.world.Services {
			for _, b := range a.backends(s) {
				for _, c := range ctl {
					if b.pods == c.pods && (s.Spec.Type == corev1.ServiceTypeLoadBalancer || s.Spec.Type == corev1.ServiceTypeNodePort) {
						sub := a.serviceExposure(s)
						e.Via = sub.Entry
						hop = Hop{Step: "ingress controller", Verdict: pathVerdict(sub.Hops),
							Detail: fmt.Sprintf("class %q, reached through %s (%s)", class, sub.Entry, hopSummary(sub.Hops)), Source: s.Source.String()}
					}
				}
			}
		}
		controllers = ctl
		e.Hops = append(e.Hops, hop)
		allow := ing.Annotations["nginx.ingress.kubernetes.io/allowlist-source-range"]
		if allow == "" {
			allow = ing.Annotations["nginx.ingress.kubernetes.io/whitelist-source-range"]
		}
		al := Hop{Step: "source allowlist", Source: ing.Source.String()}
		switch {
		case allow == "":
			al.Verdict, al.Detail = HopOpen, "no allowlist-source-range or whitelist-source-range annotation"
		default:
			al.Verdict, al.Detail = allowlistVerdict(allow), "allowlist "+allow
		}
		if deny := ing.Annotations["nginx.ingress.kubernetes.io/denylist-source-range"]; deny != "" {
			al.Detail += "; denylist " + deny
		}
		e.Hops = append(e.Hops, al)
	}
	// The controller (or the ALB) then reaches the backend Services' pods.
	for _, name := range ingressServices(ing) {
		for _, s := range a.g.world.Services {
			if s.Namespace != ing.Namespace || s.Name != name {
				continue
			}
			if alb {
				// The ALB's traffic comes from its addresses in the VPC.
				alb := sourceView{seen: privateAddresses(), viaLB: true, ip: true}
				e.Hops = append(e.Hops, a.podHops(a.backends(s), func(backend) sourceView { return alb }, nil, &e)...)
				continue
			}
			for _, b := range a.backends(s) {
				p := a.peerOf(b.workload, b.pods)
				if p == nil {
					continue
				}
				e.Backends = appendUnique(e.Backends, p.ID)
				hop := Hop{Step: "NetworkPolicy of " + p.ID}
				admitted, maybe := false, ""
				for _, c := range controllers {
					if cp := a.peerOf(c.workload, c.pods); cp != nil {
						v := side(cp.identity, p.identity, nil, true).and(side(p.identity, cp.identity, nil, false))
						switch v.State(b.proto, b.port) {
						case StateAllowed:
							admitted = true
							hop.Detail = fmt.Sprintf("admits %s %d from the controller %s", b.proto, b.port, cp.ID)
						case StateUnknown:
							maybe = fmt.Sprintf("may admit %s %d from the controller %s: %s", b.proto, b.port, cp.ID, strings.Join(v.Reasons, "; "))
						}
					}
				}
				switch {
				case admitted:
					hop.Verdict = HopOpen
				case maybe != "":
					hop.Verdict, hop.Detail = HopUnknown, maybe
				case len(controllers) == 0:
					hop.Verdict, hop.Detail = HopUnknown, "the traffic's source (the load balancer) is not in the inputs"
				default:
					hop.Verdict, hop.Detail = HopBlocked, fmt.Sprintf("does not admit %s %d from the ingress controller", b.proto, b.port)
				}
				e.Hops = append(e.Hops, hop)
			}
		}
	}
	e.finish()
	return e
}

// controllerPods finds the pods of an ingress controller by the
// conventional labels of ingress-nginx.
func (a *Analysis) controllerPods(controller, class string) []backend {
	if controller != "k8s.io/ingress-nginx" && class != "nginx" {
		return nil
	}
	var out []backend
	for _, wl := range a.g.world.Workloads {
		for _, pt := range wl.Pods {
			if pt.Labels["app.kubernetes.io/name"] == "ingress-nginx" && pt.Labels["app.kubernetes.io/component"] == "controller" {
				out = append(out, backend{workload: wl, pods: pt})
			}
		}
	}
	return out
}

func ingressServices(ing *model.Ingress) []string {
	var out []string
	add := func(b *networkingv1.IngressBackend) {
		if b != nil && b.Service != nil {
			out = appendUnique(out, b.Service.Name)
		}
	}
	add(ing.Spec.DefaultBackend)
	for _, r := range ing.Spec.Rules {
		if r.HTTP != nil {
			for i := range r.HTTP.Paths {
				add(&r.HTTP.Paths[i].Backend)
			}
		}
	}
	return out
}

// allowlistVerdict: an allowlist with a public address admits (part of)
// the internet.
func allowlistVerdict(list string) string {
	var b netipx.IPSetBuilder
	for _, c := range strings.Split(list, ",") {
		if p, err := netip.ParsePrefix(strings.TrimSpace(c)); err == nil {
			b.AddPrefix(p.Masked())
		}
	}
	s, _ := b.IPSet()
	return publicVerdict(s)
}

// pathVerdict is the weakest hop of a path: blocked or unknown stops it,
// restricted narrows it. Hops on some Service ports only are on
// alternative paths: the strongest of those paths counts.
func pathVerdict(hops []Hop) string {
	var common []Hop
	alts := map[string][]Hop{}
	for _, h := range hops {
		if h.ports == "" {
			common = append(common, h)
			continue
		}
		for _, p := range strings.Split(strings.Trim(h.ports, ","), ",") {
			alts[p] = append(alts[p], h)
		}
	}
	v := weakest(common)
	if len(alts) == 0 {
		return v
	}
	// The alternatives are the Service ports' paths and, behind a port,
	// each backend's (its own hops after the port's): a port with
	// backends is judged through them.
	withBackends := map[string]bool{}
	for k := range alts {
		if port, _, ok := strings.Cut(k, "@"); ok {
			withBackends[port] = true
		}
	}
	best := HopBlocked
	for k, hs := range alts {
		port, _, backend := strings.Cut(k, "@")
		switch {
		case !backend && withBackends[k]:
			continue
		case backend && port != "":
			hs = append(append([]Hop(nil), alts[port]...), hs...)
		}
		if w := weakest(hs); verdictRank(w) > verdictRank(best) {
			best = w
		}
	}
	if verdictRank(best) < verdictRank(v) {
		return best
	}
	return v
}

// verdictRank orders verdicts from the weakest path to the strongest.
func verdictRank(v string) int {
	switch v {
	case HopBlocked:
		return 0
	case HopUnknown:
		return 1
	case HopRestricted:
		return 2
	}
	return 3
}

// weakest is the verdict of hops in a row.
func weakest(hops []Hop) string {
	v := HopOpen
	for _, h := range hops {
		if verdictRank(h.Verdict) < verdictRank(v) {
			v = h.Verdict
		}
	}
	return v
}

func hopSummary(hops []Hop) string {
	var parts []string
	for _, h := range hops {
		parts = append(parts, h.Step+": "+h.Verdict)
	}
	return strings.Join(parts, ", ")
}

// internet reports whether some public address gets through every hop.
func internet(hops []Hop) bool {
	v := pathVerdict(hops)
	return len(hops) > 0 && (v == HopOpen || v == HopRestricted)
}

func (a *Analysis) nodeAddresses() *netipx.IPSet {
	var b netipx.IPSetBuilder
	for _, n := range a.g.world.Nodes {
		for _, ad := range n.Addresses {
			if ip, err := netip.ParseAddr(ad.Address); err == nil && ad.Type == corev1.NodeInternalIP {
				b.Add(ip)
			}
		}
	}
	s, _ := b.IPSet()
	return s
}

func privateAddresses() *netipx.IPSet {
	var b netipx.IPSetBuilder
	for _, p := range []string{"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7"} {
		b.AddPrefix(netip.MustParsePrefix(p))
	}
	s, _ := b.IPSet()
	return s
}

// ingressAddresses is the set of addresses an identity's ingress admits on
// a port, and the rules that admit them.
func ingressAddresses(id *identity, proto netset.Protocol, port int32) (*netipx.IPSet, []string) {
	if id.hostNetwork || len(id.ingress) == 0 {
		return netset.Everything(), nil
	}
	var b netipx.IPSetBuilder
	var rules []string
	for _, p := range id.ingress {
		for _, r := range p.ingress {
			if !r.allowed(id).Contains(proto, port) {
				continue
			}
			switch {
			case r.allPeers:
				b.AddSet(netset.Everything())
			case r.ips != nil:
				b.AddSet(r.ips)
			default:
				continue
			}
			rules = append(rules, fmt.Sprintf("%s/%s ingress[%d] (%s)", p.src.Namespace, p.src.Name, r.index, r.source))
		}
	}
	s, _ := b.IPSet()
	return s, rules
}

func appendUnique(list []string, v string) []string {
	for _, x := range list {
		if x == v {
			return list
		}
	}
	return append(list, v)
}

// otherGroup reports whether a rule names a group the pod does not have: a
// group naming itself admits its own members, not a load balancer.
func otherGroup(named, own []string) bool {
	for _, n := range named {
		mine := false
		for _, o := range own {
			mine = mine || n == o
		}
		if !mine {
			return true
		}
	}
	return false
}

// ServiceBackends returns the peers behind a Service.
func (a *Analysis) ServiceBackends(namespace, name string) ([]string, error) {
	for _, s := range a.g.world.Services {
		if s.Namespace == namespace && s.Name == name {
			var out []string
			for _, b := range a.backends(s) {
				if p := a.peerOf(b.workload, b.pods); p != nil {
					out = appendUnique(out, p.ID)
				}
			}
			return out, nil
		}
	}
	return nil, fmt.Errorf("no Service %s/%s", namespace, name)
}
