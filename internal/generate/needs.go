package generate

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"github.com/ringfence/ringfence/api/v1alpha1"
	"github.com/ringfence/ringfence/internal/engine"
	"github.com/ringfence/ringfence/internal/model"
	"github.com/ringfence/ringfence/internal/netset"
	"github.com/ringfence/ringfence/internal/ranges"
	"go4.org/netipx"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// ForgoAnnotation on a Fence lists the kinds of need its workloads go
// without, on purpose (comma-separated: credentials, dns, clients,
// scrapes, peers). Generate then leaves them out and prints each as a
// conscious choice.
const ForgoAnnotation = "ringfence.dev/forgo-needs"

// Kinds of need.
const (
	NeedCredentials  = "credentials"
	NeedDNS          = "dns"
	NeedClients      = "clients"
	NeedScrapes      = "scrapes"
	NeedPeers        = "peers"
	NeedControlPlane = "control-plane"
	NeedRegistry     = "registry"
	NeedAgents       = "agents"
	NeedNodeDNS      = "node-dns"
)

// Need statuses.
const (
	// NeedKept: the output allows it, and verification proved it.
	NeedKept = "kept"
	// NeedForgone: the Fence says its workloads go without it.
	NeedForgone = "forgone"
	// NeedUnseen: detection sees the need but not its other end; a person
	// must declare it (docs/generate.md).
	NeedUnseen = "unseen"
	// NeedCut: the output would cut it (generate refuses such output
	// unless --allow-breaking).
	NeedCut = "cut"
)

// Need is what a fenced workload, or a node group whose open egress the
// plan revokes, needs beyond its Fence's declared intents, detected from
// the inputs.
type Need struct {
	// Of is the workload (namespace/Kind/name) or "nodes of <group>".
	Of   string `json:"of"`
	Kind string `json:"kind"`
	// What is the traffic, e.g. "TCP 443 to aws:STS:us-east-1".
	What string `json:"what"`
	// Why says how it was detected.
	Why    string `json:"why"`
	Status string `json:"status"`
	// Note says why a need is forgone, unseen or cut.
	Note string `json:"note,omitempty"`

	fence string // namespace/name of the Fence whose workload has it

	// How verification proves it (one of these).
	from     *model.Workload                                // source workload, for egress and peers
	to       *model.Workload                                // destination workload, for clients and scrapes
	toSet    string                                         // a named destination (ranges.Named), egress from `from`
	toAddrs  []netip.Prefix                                 // or these addresses, which toSet names
	toDNS    bool                                           // the cluster DNS pods, egress from `from`
	toGroups []string                                       // node needs: destination groups
	node     string                                         // node needs: the group whose instances send
	match    func(*model.Workload, *model.PodTemplate) bool // the other end, for clients, scrapes and peers
	protocol netset.Protocol
	port     int32
	// endpoints are the interface VPC endpoints that meet the need: their
	// groups must admit the workload's.
	endpoints []*model.VPCEndpoint
	// ephemeral: verify an ephemeral port too (a job with a group of its
	// own keeps the collectives' ports).
	ephemeral bool
}

// String renders a need in one line.
func (n Need) String() string {
	s := fmt.Sprintf("%s needs %s (%s: %s)", n.Of, n.What, n.Kind, n.Why)
	if n.Note != "" {
		s += ": " + n.Note
	}
	return s
}

// Cut returns the needs the output would cut.
func (o *Output) Cut() []Need {
	var out []Need
	for _, n := range o.Needs {
		if n.Status == NeedCut {
			out = append(out, n)
		}
	}
	return out
}

// forgone returns the need kinds a Fence's annotation forgoes.
func forgone(f *model.Fence) map[string]bool {
	out := map[string]bool{}
	for _, k := range strings.Split(f.Annotations[ForgoAnnotation], ",") {
		if k = strings.TrimSpace(k); k != "" {
			out[k] = true
		}
	}
	return out
}

// withNeeds detects what each Fence's workloads need beyond its intents
// and returns a world whose Fences carry the needs kept as intents (so the
// one generator writes them, in both layers), and the needs.
func withNeeds(w *model.World, doc *ranges.Document) (*model.World, []Need) {
	next := *w
	next.Fences = nil
	var needs []Need
	for _, f := range w.Fences {
		nf := *f
		nf.Spec = *f.Spec.DeepCopy()
		skip := forgone(f)
		add := func(n Need, egress *v1alpha1.EgressIntent, ingress *v1alpha1.IngressIntent) {
			n.fence = f.Namespace + "/" + f.Name
			switch {
			case skip[n.Kind]:
				n.Status, n.Note = NeedForgone, fmt.Sprintf("a conscious choice: Fence %s/%s forgoes %s (%s)", f.Namespace, f.Name, n.Kind, ForgoAnnotation)
			case egress == nil && ingress == nil && n.Status == "":
				n.Status = NeedKept // declared by the Fence already
			case n.Status == "":
				n.Status = NeedKept
				if egress != nil && !hasEgress(nf.Spec.Egress, *egress) {
					nf.Spec.Egress = append(nf.Spec.Egress, *egress)
				}
				if ingress != nil && !hasIngress(nf.Spec.Ingress, *ingress) {
					nf.Spec.Ingress = append(nf.Spec.Ingress, *ingress)
				}
			}
			needs = append(needs, n)
		}
		workloads := fenced(w, f)
		for _, wl := range sortedWorkloads(workloads) {
			pts := workloads[wl]
			of := wl.Namespace + "/" + wl.Kind + "/" + wl.Name
			credentials(w, f, wl, pts, of, add)
			if !isDNS(w, wl, pts) && !allHostNetwork(pts) {
				var e *v1alpha1.EgressIntent
				if !hasDNS(f) {
					e = &v1alpha1.EgressIntent{DNS: &v1alpha1.DNSDestination{}}
				}
				add(Need{Of: of, Kind: NeedDNS, What: "UDP and TCP 53 to the cluster DNS (kube-system/kube-dns)", Why: "its pods resolve names through the cluster DNS (dnsPolicy ClusterFirst, the default)",
					from: wl, toDNS: true, protocol: netset.UDP, port: 53}, e, nil)
			}
			clients(w, f, wl, pts, of, add)
			scrapes(w, wl, pts, of, add)
			peers(f, wl, pts, of, add)
		}
		next.Fences = append(next.Fences, &nf)
	}
	return &next, needs
}

type addNeed func(Need, *v1alpha1.EgressIntent, *v1alpha1.IngressIntent)

// credentials: IRSA needs the regional STS endpoint (AssumeRoleWithWebIdentity),
// EKS Pod Identity its node agent, and the node role the instance metadata
// service, kept only where the Fence allows it (a cidr intent naming it).
func credentials(w *model.World, f *model.Fence, wl *model.Workload, pts []*model.PodTemplate, of string, add addNeed) {
	irsa, podIdentity := "", false
	for _, pt := range pts {
		for _, c := range pt.Credentials {
			switch c.Kind {
			case model.CredIRSA:
				irsa = c.RoleARN
			case model.CredPodIdentity:
				podIdentity = true
			}
		}
	}
	if irsa != "" {
		region := regionOf(w, f, pts)
		n := Need{Of: of, Kind: NeedCredentials, Why: "IRSA: its service account names the role " + irsa + "; the SDK calls AssumeRoleWithWebIdentity on the regional STS endpoint",
			from: wl, protocol: netset.TCP, port: 443}
		if region == "" {
			n.What, n.Status = "TCP 443 to STS", NeedUnseen
			n.Note = "no region in the inputs (node label topology.kubernetes.io/region, or an aws intent): declare aws: {service: AMAZON, region: <region>} or an STS VPC endpoint as a cidr intent"
			add(n, nil, nil)
		} else if ep := interfaceEndpoint(w, region, "sts"); ep != nil {
			// Chosen: the endpoint. Its private DNS puts the regional name
			// on its addresses, so the public ranges are not needed.
			n.toAddrs, n.toGroups, n.endpoints = endpointAddrs(w, ep), ep.Groups, []*model.VPCEndpoint{ep}
			n.What, n.toSet = "TCP 443 to STS ("+STSDestination(region)+") through "+endpointDescription(w, ep), ep.ID
			n.Why += "; chosen: the interface VPC endpoint, not the region's public ranges"
			var cidrs []string
			for _, p := range n.toAddrs {
				cidrs = append(cidrs, p.String())
			}
			add(n, &v1alpha1.EgressIntent{CIDR: &v1alpha1.CIDRDestination{CIDRs: cidrs, Ports: []v1alpha1.Port{{Protocol: "TCP", Port: 443}}}}, nil)
		} else {
			n.What, n.toSet = "TCP 443 to "+STSDestination(region), STSDestination(region)
			n.Why += "; chosen: the region's public ranges (no interface VPC endpoint for STS with private DNS in the inputs)"
			add(n, &v1alpha1.EgressIntent{AWS: &v1alpha1.AWSDestination{Service: "AMAZON", Region: region, Ports: []v1alpha1.Port{{Protocol: "TCP", Port: 443}}}}, nil)
		}
	}
	if podIdentity {
		var cidrs []string
		for _, p := range ranges.PodIdentity {
			cidrs = append(cidrs, p.String())
		}
		add(Need{Of: of, Kind: NeedCredentials, What: "TCP 80 to the EKS Pod Identity agent (" + strings.Join(cidrs, ", ") + ")",
			Why: "EKS Pod Identity: the SDK fetches credentials from the agent on its node", from: wl, toSet: "eks-pod-identity", protocol: netset.TCP, port: 80},
			&v1alpha1.EgressIntent{CIDR: &v1alpha1.CIDRDestination{CIDRs: cidrs, Ports: []v1alpha1.Port{{Protocol: "TCP", Port: 80}}}}, nil)
	}
	if allowsIMDS(f) {
		add(Need{Of: of, Kind: NeedCredentials, What: "TCP 80 to the instance metadata service (169.254.169.254)", Why: "the Fence allows the node role (a cidr intent naming 169.254.169.254)",
			from: wl, toSet: "imds", toAddrs: []netip.Prefix{netip.MustParsePrefix("169.254.169.254/32")}, protocol: netset.TCP, port: 80}, nil, nil)
	}
}

// STSDestination is the named destination of a region's STS endpoint.
func STSDestination(region string) string { return "aws:STS:" + region }

// allowsIMDS reports whether a Fence's cidr intents name the instance
// metadata service.
func allowsIMDS(f *model.Fence) bool { return f.NamesIMDS() }

// regionOf is the region of the nodes the pods may run on, else of any
// node, else of the Fence's aws intents.
func regionOf(w *model.World, f *model.Fence, pts []*model.PodTemplate) string {
	for _, n := range w.Nodes {
		if r := n.Labels["topology.kubernetes.io/region"]; r != "" {
			return r
		}
	}
	for _, e := range f.Spec.Egress {
		if e.AWS != nil && e.AWS.Region != "" {
			return e.AWS.Region
		}
	}
	return ""
}

// clients: the ingress controllers whose Ingresses route to the
// workload's Services.
func clients(w *model.World, f *model.Fence, wl *model.Workload, pts []*model.PodTemplate, of string, add addNeed) {
	one := map[*model.Workload][]*model.PodTemplate{wl: pts}
	ings := routing(w, one)
	if len(ings) == 0 {
		return
	}
	var names []string
	for _, ing := range ings {
		names = append(names, ing.Namespace+"/"+ing.Name)
	}
	why := "the Ingresses " + strings.Join(names, ", ") + " route to its Services"
	controllers := map[string]bool{}
	for _, c := range w.Workloads {
		for _, pt := range c.Pods {
			if pt.Labels["app.kubernetes.io/component"] == "controller" && strings.Contains(pt.Labels["app.kubernetes.io/name"], "ingress") {
				controllers[c.Namespace] = true
			}
		}
	}
	if len(controllers) != 1 {
		add(Need{Of: of, Kind: NeedClients, What: "its Services' ports from the ingress controller", Why: why, Status: NeedUnseen,
			Note: "the ingress controller's pods are not told apart in the inputs: declare ingress: [{ingressController: {namespace: ...}}]"}, nil, nil)
		return
	}
	ns := sortedKeys(controllers)[0]
	var in *v1alpha1.IngressIntent
	declared := false
	for _, x := range f.Spec.Ingress {
		declared = declared || (x.IngressController != nil && x.IngressController.Namespace == ns)
	}
	if !declared {
		in = &v1alpha1.IngressIntent{IngressController: &v1alpha1.ControllerSource{Namespace: ns}}
	}
	port, proto := int32(0), netset.TCP
	for _, s := range servicesOf(w, one) {
		for _, sp := range s.Spec.Ports {
			if port == 0 {
				port, proto = servicePort(w, s.Namespace, s.Name, intstr.FromInt32(sp.Port))
			}
		}
	}
	add(Need{Of: of, Kind: NeedClients, What: fmt.Sprintf("%s %d from the ingress controller in %s", proto, port, ns), Why: why,
		to: wl, match: func(c *model.Workload, pt *model.PodTemplate) bool {
			return c.Namespace == ns && pt.Labels["app.kubernetes.io/component"] == "controller"
		}, protocol: proto, port: port}, nil, in)
}

// scrapes: Prometheus scrapes the ports its Services' or pods'
// prometheus.io/scrape annotations name, and those the ServiceMonitors and
// PodMonitors that select them name.
func scrapes(w *model.World, wl *model.Workload, pts []*model.PodTemplate, of string, add addNeed) {
	var targets []scrapeTarget
	one := map[*model.Workload][]*model.PodTemplate{wl: pts}
	annotated := func(port int32, why string) {
		t := scrapeTarget{port: port, why: why, scrapers: prometheusWorkloads(w)}
		if len(t.scrapers) == 0 {
			t.note = fmt.Sprintf("no Prometheus in the inputs: declare its pods with ingress: [{from: {namespaces: ..., pods: ...}, ports: [{port: %d}]}]", port)
		}
		targets = append(targets, t)
	}
	for _, s := range servicesOf(w, one) {
		if s.Annotations["prometheus.io/scrape"] != "true" {
			continue
		}
		why := fmt.Sprintf("Service %s/%s is annotated prometheus.io/scrape", s.Namespace, s.Name)
		if p := annotatedPort(s.Annotations); p > 0 {
			annotated(p, why)
			continue
		}
		for _, sp := range s.Spec.Ports {
			port, _ := servicePort(w, s.Namespace, s.Name, intstr.FromInt32(sp.Port))
			annotated(port, why)
		}
	}
	for _, pt := range pts {
		if pt.Annotations["prometheus.io/scrape"] != "true" {
			continue
		}
		why := "its pods are annotated prometheus.io/scrape"
		if p := annotatedPort(pt.Annotations); p > 0 {
			annotated(p, why)
			continue
		}
		for _, c := range pt.Containers {
			for _, cp := range c.Ports {
				annotated(cp.Port, why)
			}
		}
	}
	targets = append(targets, monitorTargets(w, wl, pts)...)
	seen := map[string]bool{}
	for _, t := range targets {
		if t.port == 0 {
			continue
		}
		what := fmt.Sprintf("TCP %d from Prometheus", t.port)
		if len(t.scrapers) == 0 {
			if !seen[fmt.Sprint(t.port, "unseen")] {
				seen[fmt.Sprint(t.port, "unseen")] = true
				add(Need{Of: of, Kind: NeedScrapes, What: what, Why: t.why, Status: NeedUnseen, Note: t.note}, nil, nil)
			}
			continue
		}
		for _, s := range t.scrapers {
			k := fmt.Sprint(t.port, s.Namespace, s.Kind, s.Name)
			if seen[k] {
				continue
			}
			seen[k] = true
			labels := identifying(s.Pods[0].Labels)
			in := &v1alpha1.IngressIntent{
				From: &v1alpha1.ClientSource{
					Namespaces: &metav1.LabelSelector{MatchLabels: map[string]string{model.NamespaceNameLabel: s.Namespace}},
					Pods:       &metav1.LabelSelector{MatchLabels: labels},
				},
				Ports: []v1alpha1.Port{{Protocol: "TCP", Port: t.port}},
			}
			ns := s.Namespace
			add(Need{Of: of, Kind: NeedScrapes, What: fmt.Sprintf("%s (%s/%s/%s)", what, s.Namespace, s.Kind, s.Name), Why: t.why,
				to: wl, match: func(c *model.Workload, pt *model.PodTemplate) bool {
					return c.Namespace == ns && selectedBy(ns, labels)(c, pt)
				}, protocol: netset.TCP, port: t.port}, nil, in)
		}
	}
}

func annotatedPort(a map[string]string) int32 {
	var p int32
	if _, err := fmt.Sscanf(a["prometheus.io/port"], "%d", &p); err != nil || p < 1 || p > 65535 {
		return 0
	}
	return p
}

// prometheusWorkloads are the Prometheus servers of the inputs (by the
// labels its chart and operator set, or its image).
func prometheusWorkloads(w *model.World) []*model.Workload {
	var out []*model.Workload
	for _, wl := range w.Workloads {
		if len(wl.Pods) == 0 {
			continue
		}
		pt := wl.Pods[0]
		is := pt.Labels["app.kubernetes.io/name"] == "prometheus" || pt.Labels["app"] == "prometheus"
		for _, c := range pt.Containers {
			is = is || strings.Contains(c.Image, "prometheus/prometheus") || strings.Contains(c.Image, "/prometheus:")
		}
		if is {
			out = append(out, wl)
		}
	}
	return out
}

// identifying keeps the labels that name a workload's pods, not its
// version (a selector on a version breaks at the next upgrade).
func identifying(labels map[string]string) map[string]string {
	for _, k := range []string{"app.kubernetes.io/name", "app", "k8s-app"} {
		if v, ok := labels[k]; ok {
			out := map[string]string{k: v}
			if i, ok := labels["app.kubernetes.io/instance"]; ok && k == "app.kubernetes.io/name" {
				out["app.kubernetes.io/instance"] = i
			}
			return out
		}
	}
	return labels
}

// peers: a job of several pods talks between its own pods (rendezvous,
// collectives on ephemeral ports).
func peers(f *model.Fence, wl *model.Workload, pts []*model.PodTemplate, of string, add addNeed) {
	pods := podCount(pts)
	key, value := jobLabel(pts)
	if pods < 2 || key == "" {
		return
	}
	var e *v1alpha1.EgressIntent
	declared := false
	for _, x := range f.Spec.Egress {
		declared = declared || (x.Peers != nil && x.Peers.SameJob)
	}
	if !declared {
		e = &v1alpha1.EgressIntent{Peers: &v1alpha1.PeersDestination{SameJob: true}}
	}
	port := int32(0)
	for _, pt := range pts {
		for _, c := range pt.Containers {
			for _, cp := range c.Ports {
				if port == 0 && cp.Protocol == "TCP" {
					port = cp.Port
				}
			}
		}
	}
	what := "every TCP port between its own pods"
	if port != 0 {
		what = fmt.Sprintf("TCP %d (and the collectives' ephemeral ports) between its own pods", port)
	}
	add(Need{Of: of, Kind: NeedPeers, What: what, Why: fmt.Sprintf("a job of %d pods (%s=%s)", pods, key, value),
		from: wl, to: wl, match: func(c *model.Workload, pt *model.PodTemplate) bool { return c == wl }, protocol: netset.TCP, port: port}, e, nil)
}

func hasEgress(list []v1alpha1.EgressIntent, e v1alpha1.EgressIntent) bool {
	for _, x := range list {
		switch {
		case e.DNS != nil && x.DNS != nil, e.Peers != nil && x.Peers != nil && x.Peers.SameJob:
			return true
		case e.AWS != nil && x.AWS != nil && sameAWS(x.AWS, e.AWS):
			return true
		case e.CIDR != nil && x.CIDR != nil && fmt.Sprint(*x.CIDR) == fmt.Sprint(*e.CIDR):
			return true
		}
	}
	return false
}

func sameAWS(a, b *v1alpha1.AWSDestination) bool {
	return strings.EqualFold(a.Service, b.Service) && a.Region == b.Region && fmt.Sprint(a.Ports) == fmt.Sprint(b.Ports)
}

func hasIngress(list []v1alpha1.IngressIntent, in v1alpha1.IngressIntent) bool {
	for _, x := range list {
		if fmt.Sprint(x.IngressController, x.From, x.Ports) == fmt.Sprint(in.IngressController, in.From, in.Ports) {
			return true
		}
	}
	return false
}

func sortedWorkloads(m map[*model.Workload][]*model.PodTemplate) []*model.Workload {
	out := make([]*model.Workload, 0, len(m))
	for wl := range m {
		out = append(out, wl)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Ref().String() < out[j].Ref().String() })
	return out
}

// isDNS reports whether the workload is the cluster DNS itself.
func isDNS(w *model.World, wl *model.Workload, pts []*model.PodTemplate) bool {
	sel := selectedBy("kube-system", dnsSelector(w))
	for _, pt := range pts {
		if sel(wl, pt) {
			return true
		}
	}
	return false
}

func allHostNetwork(pts []*model.PodTemplate) bool {
	for _, pt := range pts {
		if !pt.HostNetwork {
			return false
		}
	}
	return true
}

// clusterGroup is the EKS cluster security group (on the control plane's
// network interfaces): tagged aws:eks:cluster-name by EKS.
func clusterGroup(w *model.World) string {
	for _, g := range w.SecurityGroups {
		if g.Tags["aws:eks:cluster-name"] != "" || strings.HasPrefix(g.Name, "eks-cluster-sg-") {
			return g.ID
		}
	}
	return ""
}

// agentImages name the AWS agents that run as DaemonSets and call their
// service's regional endpoints.
var agentImages = []string{"cloudwatch-agent", "amazon-ssm-agent", "aws-for-fluent-bit", "aws-otel-collector", "eks-node-monitoring-agent"}

// agentServices are the AWS services (endpoint names) each agent calls;
// when each has an interface VPC endpoint, the agent's need goes through
// them. (The EKS node monitoring agent is left to the public ranges.)
var agentServices = map[string][]string{
	"cloudwatch-agent":   {"logs", "monitoring"},
	"amazon-ssm-agent":   {"ssm", "ssmmessages", "ec2messages"},
	"aws-for-fluent-bit": {"logs"},
	"aws-otel-collector": {"logs", "monitoring", "xray"},
}

// nodeNeeds are what the instances of a node group need once its open
// egress is revoked, and the rules that keep them: the kubelet to the EKS
// API (the cluster security group, TCP 443), image pulls from ECR (its api
// and dkr endpoints under the region's AMAZON ranges, layers from S3
// through its managed prefix list), the VPC DNS resolver (security groups
// do not filter it), and the regional endpoints of the AWS agents that run
// as DaemonSets.
func nodeNeeds(w *model.World, doc *ranges.Document, group string) ([]Need, []SGRule, error) {
	of := "nodes of " + group
	var needs []Need
	var rules []SGRule
	cluster := clusterGroup(w)
	cp := Need{Of: of, Kind: NeedControlPlane, What: "TCP 443 to the EKS API server", Why: "the kubelet and the node's agents talk to the API server", node: group, protocol: netset.TCP, port: 443}
	if cluster == "" {
		cp.Status, cp.Note = NeedCut, "the EKS cluster security group (tag aws:eks:cluster-name) is not in the inputs, so no rule can name the API server's network interfaces: give describe-security-groups output with it"
	} else {
		cp.What += " (its cluster security group " + cluster + ")"
		cp.toGroups = []string{cluster}
		rules = append(rules, groupRule("tcp", 443, 443, cluster, "EKS API server (kubelet)"))
	}
	needs = append(needs, cp)
	region := ""
	for _, n := range w.Nodes {
		if r := n.Labels["topology.kubernetes.io/region"]; r != "" {
			region = r
			break
		}
	}
	if region == "" {
		needs = append(needs, Need{Of: of, Kind: NeedRegistry, What: "TCP 443 to ECR and S3", Why: "image pulls", Status: NeedCut,
			Note: "no region in the inputs (node label topology.kubernetes.io/region)"})
		return needs, rules, nil
	}
	s3, err := awsSGRules(w, doc, &v1alpha1.AWSDestination{Service: "S3", Region: region})
	if err != nil {
		return nil, nil, err
	}
	rules = append(rules, s3...)
	amazonNeeded := false
	// through returns the interface endpoints of the services when each
	// has one (the need is then met through them), and their rules.
	through := func(services []string, desc string) ([]*model.VPCEndpoint, []string) {
		var eps []*model.VPCEndpoint
		for _, sv := range services {
			e := interfaceEndpoint(w, region, sv)
			if e == nil {
				return nil, nil
			}
			eps = append(eps, e)
		}
		var groups []string
		for _, r := range endpointRules(eps, desc) {
			rules = append(rules, r)
			groups = append(groups, r.Group)
		}
		return eps, groups
	}
	ecr := Need{Of: of, Kind: NeedRegistry, Why: "the kubelet pulls images", node: group, protocol: netset.TCP, port: 443}
	if eps, groups := through([]string{"ecr.api", "ecr.dkr"}, "ECR (image pulls)"); eps != nil {
		ecr.What = "TCP 443 to ECR through " + endpointDescription(w, eps[0]) + " and " + endpointDescription(w, eps[1])
		ecr.Why += "; chosen: the interface VPC endpoints, not the region's public ranges"
		ecr.toGroups, ecr.endpoints = groups, eps
	} else {
		amazonNeeded = true
		ecr.What = "TCP 443 to ECR (api." + region + " and dkr endpoints, " + "aws:AMAZON:" + region + ")"
		ecr.Why += "; ECR's endpoints are not a service of ip-ranges.json, so the region's AMAZON ranges stand for them (no interface VPC endpoints for ecr.api and ecr.dkr with private DNS in the inputs)"
		ecr.toSet = "aws:AMAZON:" + region
	}
	layers := "TCP 443 to S3 in " + region + " (ECR's image layers)"
	if g := gatewayEndpoint(w, region, "s3"); g != nil {
		layers += ", through the gateway VPC endpoint " + g.ID + " (its routes take S3's managed prefix list, which the rule names)"
	}
	needs = append(needs, ecr,
		Need{Of: of, Kind: NeedRegistry, What: layers, Why: "ECR serves layers from S3", node: group, toSet: "aws:S3:" + region, protocol: netset.TCP, port: 443},
		Need{Of: of, Kind: NeedNodeDNS, What: "UDP 53 to the VPC DNS resolver", Why: "the node resolves names (and CoreDNS forwards to it)", node: group, toSet: "vpc-dns", protocol: netset.UDP, port: 53})
	for _, wl := range w.Workloads {
		if wl.Kind != "DaemonSet" {
			continue
		}
		for _, pt := range wl.Pods {
			for _, c := range pt.Containers {
				for _, a := range agentImages {
					if !strings.Contains(c.Image, a) {
						continue
					}
					n := Need{Of: of, Kind: NeedAgents, Why: fmt.Sprintf("the DaemonSet %s/%s runs %s", wl.Namespace, wl.Name, a), node: group, protocol: netset.TCP, port: 443}
					if eps, groups := through(agentServices[a], a); eps != nil {
						var ids []string
						for _, e := range eps {
							ids = append(ids, e.ID+" ("+e.Service+")")
						}
						n.What = "TCP 443 to its services through the interface VPC endpoints " + strings.Join(ids, ", ")
						n.Why += "; chosen: the interface VPC endpoints, not the region's public ranges"
						n.toGroups, n.endpoints = groups, eps
					} else {
						amazonNeeded = true
						n.What, n.toSet = "TCP 443 to the regional AWS endpoints (aws:AMAZON:"+region+")", "aws:AMAZON:"+region
					}
					needs = append(needs, n)
				}
			}
		}
	}
	if amazonNeeded {
		amazon, err := awsSGRules(w, doc, &v1alpha1.AWSDestination{Service: "AMAZON", Region: region})
		if err != nil {
			return nil, nil, err
		}
		rules = append(rules, amazon...)
	}
	for i := range needs {
		if needs[i].Status == "" {
			needs[i].Status = NeedKept
		}
	}
	return needs, rules, nil
}

// vpcResolver is the Route 53 Resolver's link-local address; the VPC's
// base + 2 is the same service, which security groups do not filter
// either.
var vpcResolver = netip.MustParseAddr("169.254.169.253")

// ephemeralPort is a port of Linux's default ephemeral range
// (net.ipv4.ip_local_port_range 32768-60999), where NCCL's and Gloo's
// sockets land.
const ephemeralPort = 40000

// verifyNeeds proves through the engine, across both layers, that every
// need marked kept stays allowed in the world as the output leaves it, and
// marks those that do not as cut.
func verifyNeeds(a *engine.Analysis, next *model.World, doc *ranges.Document, needs []Need) error {
	peersOf := func(match func(*model.Workload, *model.PodTemplate) bool) []*engine.Peer {
		var out []*engine.Peer
		for _, p := range a.Peers() {
			if p.Workload == nil {
				continue
			}
			for _, pt := range p.Workload.Pods {
				if match(p.Workload, pt) {
					out = append(out, p)
					break
				}
			}
		}
		return out
	}
	of := func(wl *model.Workload) []*engine.Peer {
		return peersOf(func(c *model.Workload, _ *model.PodTemplate) bool { return c == wl })
	}
	dns, _ := a.ServiceBackends("kube-system", "kube-dns")
	peerByID := map[string]*engine.Peer{}
	for _, p := range a.Peers() {
		peerByID[p.ID] = p
	}
	for i := range needs {
		n := &needs[i]
		if n.Status != NeedKept {
			continue
		}
		var problems []string
		switch {
		case n.node != "":
			problems = verifyNodeNeed(a, next, doc, n)
		case n.toSet != "":
			var set *netipx.IPSet
			if len(n.toAddrs) > 0 {
				var b netipx.IPSetBuilder
				for _, p := range n.toAddrs {
					b.AddPrefix(p)
				}
				set, _ = b.IPSet()
			} else {
				var err error
				if set, _, err = namedSet(doc, n.toSet); err != nil {
					return err
				}
			}
			// An interface endpoint: a flow to an address of its subnets
			// (the first AWS does not reserve) that carries its groups, so
			// that their ingress is judged too.
			if len(n.toGroups) > 0 && len(n.toAddrs) > 0 {
				a0 := n.toAddrs[0].Masked().Addr().Next().Next().Next().Next()
				for _, p := range of(n.from) {
					if v := a.JudgeFlow(engine.FlowEnd{Peer: p}, engine.FlowEnd{Addr: a0, Groups: n.toGroups}, n.protocol, n.port); !v.Allowed {
						problems = append(problems, fmt.Sprintf("%s to %s (%s): %s", p.ID, n.toSet, a0, denials(v)))
					}
				}
			}
			for _, p := range of(n.from) {
				x, err := engine.ExplainDestination(a, p.ID, engine.Destination{Name: n.toSet, Set: set}, n.protocol, n.port)
				if err != nil {
					return err
				}
				if len(x.NetworkPolicy.Blocked) > 0 {
					problems = append(problems, fmt.Sprintf("%s: NetworkPolicies block %s", p.ID, strings.Join(head(x.NetworkPolicy.Blocked), ", ")))
				}
				if x.SecurityGroups != nil && x.SecurityGroups.Reason == "" && len(x.SecurityGroups.Blocked) > 0 {
					problems = append(problems, fmt.Sprintf("%s: security groups block %s", p.ID, strings.Join(head(x.SecurityGroups.Blocked), ", ")))
				}
			}
		case n.toDNS:
			for _, p := range of(n.from) {
				for _, d := range dns {
					for _, proto := range []netset.Protocol{netset.UDP, netset.TCP} {
						v := a.JudgeFlow(engine.FlowEnd{Peer: p}, engine.FlowEnd{Peer: peerByID[d]}, proto, 53)
						if !v.Allowed {
							problems = append(problems, fmt.Sprintf("%s to %s on %s 53: %s", p.ID, d, proto, denials(v)))
						}
					}
				}
			}
		case n.match != nil:
			srcs, dsts := peersOf(n.match), of(n.to)
			if n.from != nil { // peers: the job's pods to each other
				srcs = of(n.from)
			}
			ports := []int32{n.port}
			if n.port == 0 {
				ports[0] = 1024
			}
			if n.ephemeral {
				ports = append(ports, ephemeralPort)
			}
			for _, s := range srcs {
				for _, d := range dsts {
					for _, port := range ports {
						v := a.JudgeFlow(engine.FlowEnd{Peer: s}, engine.FlowEnd{Peer: d}, n.protocol, port)
						if !v.Allowed {
							problems = append(problems, fmt.Sprintf("%s to %s on %s %d: %s", s.ID, d.ID, n.protocol, port, denials(v)))
						}
					}
				}
			}
		}
		if len(problems) > 0 {
			n.Status, n.Note = NeedCut, strings.Join(problems, "; ")
		}
	}
	return nil
}

// verifyNodeNeed judges a node need from each instance of the group:
// every prefix of an address destination (its first and last address),
// or the destination groups.
func verifyNodeNeed(a *engine.Analysis, w *model.World, doc *ranges.Document, n *Need) []string {
	var problems []string
	for _, in := range w.Instances {
		if len(in.PrivateIPs) == 0 || !contains(in.Groups, n.node) {
			continue
		}
		src := engine.FlowEnd{Addr: in.PrivateIPs[0], Groups: in.Groups}
		var dsts []engine.FlowEnd
		switch {
		case len(n.toGroups) > 0:
			dsts = append(dsts, engine.FlowEnd{Groups: n.toGroups})
		case n.toSet == "vpc-dns":
			dsts = append(dsts, engine.FlowEnd{Addr: vpcResolver})
		default:
			set, _, err := namedSet(doc, n.toSet)
			if err != nil {
				return []string{err.Error()}
			}
			for _, p := range set.Prefixes() {
				dsts = append(dsts, engine.FlowEnd{Addr: p.Addr()}, engine.FlowEnd{Addr: netipx.PrefixLastIP(p)})
			}
		}
		for _, d := range dsts {
			if v := a.JudgeFlow(src, d, n.protocol, n.port); !v.Allowed {
				problems = append(problems, fmt.Sprintf("%s (%s) to %s: %s", in.ID, src.Addr, d.Addr, denials(v)))
				break
			}
		}
	}
	return problems
}

// namedSet resolves a need's destination (ranges.Named).
func namedSet(doc *ranges.Document, name string) (*netipx.IPSet, string, error) {
	return ranges.Named(doc, name)
}

func denials(v engine.FlowVerdict) string {
	var out []string
	for _, d := range v.Denials {
		out = append(out, d.String())
	}
	return strings.Join(out, "; ")
}

func head(list []string) []string {
	if len(list) > 3 {
		return append(append([]string(nil), list[:3]...), fmt.Sprintf("and %d more", len(list)-3))
	}
	return list
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
