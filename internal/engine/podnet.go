package engine

import (
	"strings"

	"github.com/ringfence/ringfence/internal/model"
)

// The VPC CNI's custom networking: with AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG
// on, ipamd gives a node's pods interfaces in the subnet and security
// groups of the ENIConfig the node names (the node's primary interface's
// groups when the ENIConfig lists none), never the primary interface
// itself. Unless AWS_VPC_K8S_CNI_EXTERNALSNAT is true, the pods' traffic
// beyond the VPC is translated to the node's primary address and leaves
// through the primary interface: its groups and subnet then fence that
// traffic. The engine keeps one set of groups and one subnet per pod, so
// where the two interfaces differ, the pods' groups or subnet are unknown
// (with the reason), never the node's taken for them.

// cniMode is whether custom networking is on.
type cniMode int

const (
	cniOff cniMode = iota
	cniOn
	cniMaybe // the inputs cannot say
)

// externalConfigLabel is the node label that names a node's ENIConfig
// ahead of the configured annotation and label (ipamd's eniconfig package).
const externalConfigLabel = "vpc.amazonaws.com/externalEniConfig"

// podNetwork is the VPC CNI's settings, compiled.
type podNetwork struct {
	mode cniMode
	// why says what decided the mode.
	why string
	// cni is the aws-node settings when every aws-node in the inputs
	// agrees; nil otherwise.
	cni     *model.VPCCNI
	configs map[string]*model.ENIConfig
	// unread is why the ENIConfigs could not be read, if so.
	unread string
}

func newPodNetwork(w *model.World) *podNetwork {
	p := &podNetwork{configs: make(map[string]*model.ENIConfig, len(w.ENIConfigs))}
	for _, c := range w.ENIConfigs {
		p.configs[c.Name] = c
	}
	for _, u := range w.Unread {
		if u.Kind == "ENIConfig" {
			p.unread = u.Reason
		}
	}
	if len(w.VPCCNI) == 0 {
		if len(w.ENIConfigs) > 0 {
			p.mode, p.why = cniMaybe, "ENIConfig objects are in the inputs, but not the aws-node DaemonSet whose "+
				"AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG says whether they apply"
		}
		return p
	}
	first := w.VPCCNI[0]
	for _, c := range w.VPCCNI[1:] {
		if c.CustomNetworking != first.CustomNetworking || c.LabelDef != first.LabelDef ||
			c.AnnotationDef != first.AnnotationDef || c.ExternalSNAT != first.ExternalSNAT {
			p.mode, p.why = cniMaybe, "the aws-node pod specs in the inputs ("+first.Ref().String()+", "+c.Ref().String()+") configure the VPC CNI differently"
			return p
		}
	}
	p.cni = first
	switch first.CustomNetworking {
	case "true":
		p.mode, p.why = cniOn, first.Ref().String()+" sets AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG=true ("+first.Source.String()+")"
	case "":
		p.mode, p.why = cniMaybe, first.Ref().String()+" takes AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG from valueFrom or envFrom, which the inputs do not resolve"
	}
	return p
}

// configOf finds the ENIConfig a node names, as ipamd does: the external
// label, else the configured annotation, else the configured label, else
// "default". nil with the reason when the inputs cannot decide.
func (p *podNetwork) configOf(n *model.Node) (*model.ENIConfig, string) {
	// how names where the name came from; the text is built only for a
	// reason (Place asks once per pod template and node).
	name, how := n.Labels[externalConfigLabel], func() string { return "label " + externalConfigLabel }
	if name == "" {
		if p.cni == nil || p.cni.AnnotationDef == "" || p.cni.LabelDef == "" {
			return nil, "the node label and annotation that name node " + n.Name + "'s ENIConfig are not known (ENI_CONFIG_LABEL_DEF, ENI_CONFIG_ANNOTATION_DEF)"
		}
		var ok bool
		if name, ok = n.Annotations[p.cni.AnnotationDef]; ok {
			how = func() string { return "annotation " + p.cni.AnnotationDef }
		} else if name, ok = n.Labels[p.cni.LabelDef]; ok {
			how = func() string { return "label " + p.cni.LabelDef }
		} else {
			name, how = "default", func() string { return "no label or annotation: the default" }
		}
	}
	if c := p.configs[name]; c != nil {
		return c, ""
	}
	why := "node " + n.Name + " names ENIConfig " + name + " (" + how() + "), which is not in the inputs"
	if p.unread != "" {
		why += " (ENIConfigs could not be read: " + p.unread + ")"
	}
	return nil, why
}

// snat reports whether the pods' traffic beyond the VPC may leave through
// the node's primary interface.
func (p *podNetwork) snat() bool { return p.cni == nil || p.cni.ExternalSNAT != "true" }

// groups are the security groups fencing the pods (not hostNetwork, not
// with a SecurityGroupPolicy) on node n, whose primary interface has
// nodeGroups; "" or the reason they are not known.
func (p *podNetwork) groups(n *model.Node, nodeGroups []string) ([]string, string) {
	if p.mode == cniOff {
		return nodeGroups, ""
	}
	c, why := p.configOf(n)
	if c == nil {
		return nil, p.prefix() + why
	}
	gs := c.SecurityGroups
	if len(gs) == 0 || sameStrings(gs, nodeGroups) {
		return nodeGroups, "" // the same groups either way
	}
	if p.mode == cniMaybe {
		return nil, p.prefix() + "ENIConfig " + c.Name + " gives node " + n.Name + "'s pods groups " + strings.Join(gs, ",") + ", its primary interface has others"
	}
	if p.snat() {
		return nil, p.prefix() + "node " + n.Name + "'s pods cross ENIConfig " + c.Name + "'s groups (" + strings.Join(gs, ",") +
			") within the VPC and the node's primary interface's beyond it (AWS_VPC_K8S_CNI_EXTERNALSNAT is not true)"
	}
	return sortedCopy(gs), ""
}

// subnet is the subnet of the pods' interfaces on node n, whose primary
// interface is in nodeSubnet ("" when not known); ownENI pods have branch
// interfaces of a SecurityGroupPolicy. "" with the reason when not known.
func (p *podNetwork) subnet(n *model.Node, nodeSubnet string, ownENI bool) (string, string) {
	if p.mode == cniOff {
		return nodeSubnet, ""
	}
	c, why := p.configOf(n)
	switch {
	case c == nil:
		return "", p.prefix() + why
	case c.Subnet == nodeSubnet:
		return nodeSubnet, ""
	case p.mode == cniMaybe:
		return "", p.prefix() + "ENIConfig " + c.Name + " puts node " + n.Name + "'s pods in " + c.Subnet + ", its primary interface is elsewhere"
	case ownENI:
		return "", p.prefix() + "where a SecurityGroupPolicy's branch interfaces take addresses under custom networking is not modelled"
	case p.snat():
		return "", p.prefix() + "node " + n.Name + "'s pods are in ENIConfig " + c.Name + "'s subnet " + c.Subnet +
			" within the VPC and leave through the node's primary interface beyond it (AWS_VPC_K8S_CNI_EXTERNALSNAT is not true)"
	}
	return c.Subnet, ""
}

func (p *podNetwork) prefix() string {
	if p.mode == cniMaybe {
		return "custom networking may be on (" + p.why + "): "
	}
	return "custom networking is on (" + p.why + "): "
}

func sameStrings(a, b []string) bool {
	return strings.Join(sortedCopy(a), ",") == strings.Join(sortedCopy(b), ",")
}
