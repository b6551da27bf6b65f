package engine

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/ringfence/ringfence/internal/model"
	"github.com/ringfence/ringfence/internal/netset"
	"go4.org/netipx"
	corev1 "k8s.io/api/core/v1"
)

// Which source address a Service's pods see decides what their
// NetworkPolicies and security groups are asked about. Behind a Network
// Load Balancer it is the client's own address when the target group
// preserves it, else one of the load balancer's private addresses (AWS,
// "Edit target group attributes for your Network Load Balancer", Client IP
// preservation). Each Service port has its own target group, so each port
// is judged on its own.

const tgAttributesAnnotation = "service.beta.kubernetes.io/aws-load-balancer-target-group-attributes"

// clientIPPreserved is the AWS rule: UDP, TCP_UDP, QUIC and TCP_QUIC target
// groups always preserve the client's address (it cannot be disabled); TCP
// and TLS ones follow preserve_client_ip.enabled, which defaults to on for
// instance targets and off for IP targets. attr is the attribute, nil when
// not set. An Application Load Balancer's target groups (HTTP, HTTPS)
// never do: the load balancer opens its own connections.
func clientIPPreserved(targetType, protocol string, attr *bool) bool {
	switch protocol {
	case "UDP", "TCP_UDP", "QUIC", "TCP_QUIC":
		return true
	case "HTTP", "HTTPS":
		return false
	}
	if attr != nil {
		return *attr
	}
	return targetType == "instance"
}

// annotatedAttr is a boolean target group attribute set by the Service's
// aws-load-balancer-target-group-attributes annotation ("k=v,k=v"), nil
// when the annotation does not set it (or sets it to something else than
// true or false, which the controller rejects).
func annotatedAttr(s *model.Service, key string) *bool {
	for _, kv := range strings.Split(s.Annotations[tgAttributesAnnotation], ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok || strings.TrimSpace(k) != key {
			continue
		}
		if b, err := strconv.ParseBool(strings.TrimSpace(v)); err == nil {
			return &b
		}
	}
	return nil
}

// tgProtocol is the protocol of the target group the AWS Load Balancer
// Controller builds for a Service port: UDP for a UDP port, TCP_UDP when
// the Service has a TCP and a UDP port of the same number (the controller
// merges them into one listener and target group), TCP otherwise.
func tgProtocol(s *model.Service, sp corev1.ServicePort) string {
	if sp.Protocol != corev1.ProtocolUDP && sp.Protocol != corev1.ProtocolTCP && sp.Protocol != "" {
		return string(sp.Protocol)
	}
	udp, tcp := false, false
	for _, o := range s.Spec.Ports {
		if o.Port != sp.Port {
			continue
		}
		switch o.Protocol {
		case corev1.ProtocolUDP:
			udp = true
		case corev1.ProtocolTCP, "":
			tcp = true
		}
	}
	switch {
	case udp && tcp:
		return "TCP_UDP"
	case udp:
		return "UDP"
	}
	return "TCP"
}

// portTarget is how the traffic of one Service port reaches its pods.
type portTarget struct {
	ip        bool // IP targets: the pods themselves
	preserved bool // the pods (or nodes) see the clients' addresses
	// mixed: the port's target groups disagree on preservation, so the
	// pods see the clients' addresses or the load balancer's.
	mixed bool
	// why says what decided it, "" when the annotations or their
	// defaults did (the hop's text then says enough).
	why string
}

// portTargets decides, for each port of a LoadBalancer Service, where its
// traffic lands and whether the client's address survives: from the
// target groups its listener on that port forwards to, when the load
// balancer m, its listeners and target groups are in the inputs (their
// attributes, where read, replace the annotation); else from the Service
// port's protocol, the target type (ipTargets) and the annotation.
func (a *Analysis) portTargets(s *model.Service, m *matchedLB, ipTargets bool) []portTarget {
	var annotated *bool
	if byLBC(s) {
		annotated = annotatedAttr(s, "preserve_client_ip.enabled")
	}
	out := make([]portTarget, len(s.Spec.Ports))
	for i, sp := range s.Spec.Ports {
		proto := tgProtocol(s, sp)
		tt := map[bool]string{true: "ip", false: "instance"}[ipTargets]
		out[i] = portTarget{ip: ipTargets, preserved: clientIPPreserved(tt, proto, annotated)}
		switch {
		case proto != "TCP" && out[i].preserved:
			out[i].why = fmt.Sprintf("%s: a %s target group always preserves the client's address", portName(sp), proto)
		case annotated != nil:
			out[i].why = fmt.Sprintf("%s: the Service's %s annotation sets preserve_client_ip.enabled=%t", portName(sp), tgAttributesAnnotation, *annotated)
		}
		if m == nil {
			continue
		}
		if t, ok := a.portTargetFromGroups(m.lb, sp, annotated); ok {
			out[i] = t
		}
	}
	return out
}

// portTargetFromGroups judges a Service port by the target groups the
// load balancer's listeners on that port forward to; false when none of
// them is in the inputs.
func (a *Analysis) portTargetFromGroups(lb *model.LoadBalancer, sp corev1.ServicePort, annotated *bool) (portTarget, bool) {
	proto, ok := netset.ParseProtocol(sp.Protocol)
	if !ok {
		return portTarget{}, false
	}
	arns := map[string]bool{}
	for _, l := range a.listenersOf(lb) {
		for _, p := range listenerPorts(l) {
			if p.proto == proto && p.port == sp.Port {
				for _, tg := range l.TargetGroups {
					arns[tg] = true
				}
			}
		}
	}
	var t portTarget
	types, kept := map[string]bool{}, map[bool]bool{}
	var whys []string
	for _, tg := range a.g.world.Network.TargetGroups {
		if !arns[tg.ARN] || (tg.TargetType != "ip" && tg.TargetType != "instance") {
			continue
		}
		attr, from := annotated, "the Service's "+tgAttributesAnnotation+" annotation"
		if annotated == nil {
			from = "no preserve_client_ip.enabled attribute: the default"
		}
		if tg.Attributes != nil && tg.Attributes.PreserveClientIP != nil {
			attr, from = tg.Attributes.PreserveClientIP, fmt.Sprintf("its attribute preserve_client_ip.enabled=%t (%s)", *tg.Attributes.PreserveClientIP, tg.Attributes.Source)
		}
		p := clientIPPreserved(tg.TargetType, tg.Protocol, attr)
		switch tg.Protocol {
		case "UDP", "TCP_UDP", "QUIC", "TCP_QUIC":
			from = "a " + tg.Protocol + " target group always does"
		}
		types[tg.TargetType], kept[p] = true, true
		verb := map[bool]string{true: "preserves", false: "does not preserve"}[p]
		why := fmt.Sprintf("target group %s (%s targets, %s) %s the client's address: %s", tg.Name, tg.TargetType, tg.Protocol, verb, from)
		if tg.Attributes != nil && tg.Attributes.ProxyProtocolV2 != nil && *tg.Attributes.ProxyProtocolV2 {
			// The header is in the stream; the packets keep their
			// source address, which is all a NetworkPolicy sees.
			why += "; proxy protocol v2 sends the client's address in a header, the packets' source address is unchanged"
		}
		whys = append(whys, why)
	}
	if len(whys) == 0 || len(types) != 1 {
		return t, false
	}
	sort.Strings(whys)
	t.ip = types["ip"]
	t.preserved = kept[true]
	t.mixed = len(kept) > 1
	t.why = portName(sp) + ": " + strings.Join(whys, "; ")
	return t, true
}

// sourceView is the source address the pods of one Service port see.
type sourceView struct {
	seen *netipx.IPSet
	// rng is set when seen stands for addresses the inputs lack (the
	// nodes'): a rule admitting part of it maybe admits the source.
	rng  *addressRange
	text string
	// clients: seen is the clients' own addresses, judged by how much of
	// the internet gets through; otherwise admitting seen lets every
	// client through.
	clients bool
	// mixed: the clients' addresses or the load balancer's.
	mixed bool
	// viaLB: the traffic comes through a load balancer whose group or
	// VPC addresses a security group rule may name.
	viaLB bool
	// ip: IP targets (the pods' groups are asked for the target port,
	// not the node port).
	ip bool
}

// sourceViews gives the view of each port of a Service reached from
// sources (the clients that get past the load balancer or node port).
func (a *Analysis) sourceViews(s *model.Service, targets []portTarget, sources *netipx.IPSet, viaLB, bareLB bool) []sourceView {
	out := make([]sourceView, len(s.Spec.Ports))
	for i := range s.Spec.Ports {
		t := targets[i]
		v := sourceView{seen: sources, text: "the clients' addresses", clients: true, viaLB: viaLB, ip: t.ip}
		switch {
		case !t.ip && s.Spec.ExternalTrafficPolicy != corev1.ServiceExternalTrafficPolicyLocal:
			v.clients = false
			v.seen, v.text = a.nodeAddresses(), "the nodes' addresses (externalTrafficPolicy Cluster: kube-proxy SNATs the clients)"
			if n := a.g.addrs.nodes; len(v.seen.Ranges()) == 0 || !n.set.Equal(v.seen) {
				v.seen, v.rng = n.set, &n
				v.text = "a node's address (externalTrafficPolicy Cluster: kube-proxy SNATs the clients), " + n.what
			}
		case t.mixed:
			var b netipx.IPSetBuilder
			b.AddSet(sources)
			b.AddSet(privateAddresses())
			v.seen, _ = b.IPSet()
			v.clients, v.mixed = false, true
			v.text = "the clients' addresses or the load balancer's private addresses (its target groups disagree on client IP preservation)"
		case !t.preserved && t.ip:
			v.seen, v.clients = privateAddresses(), false
			v.text = "the load balancer's private addresses (IP targets without client IP preservation)"
		case !t.preserved:
			v.seen, v.clients = privateAddresses(), false
			v.text = "the load balancer's private addresses (instance targets without client IP preservation, externalTrafficPolicy Local)"
		}
		// A load balancer without security groups passes the clients'
		// packets on with their addresses: the targets' groups must
		// admit the clients, and a rule for a group or VPC addresses
		// does not admit them.
		if bareLB && t.preserved && !t.mixed {
			v.viaLB = false
		}
		if t.why != "" {
			v.text += " (" + t.why + ")"
		}
		out[i] = v
	}
	return out
}

// portName is a Service port as "UDP 53" (TCP when the protocol is not
// given, as the API server defaults it).
func portName(sp corev1.ServicePort) string {
	return fmt.Sprintf("%s %d", dashIfEmpty(string(sp.Protocol), "TCP"), sp.Port)
}
