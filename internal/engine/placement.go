package engine

import (
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/ringfence/ringfence/internal/model"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"
	"k8s.io/klog/v2"
)

// NodeGroups maps nodes selected by labels to security groups, for nodes
// whose instances were not given (`--node-sg <selector>=sg-a,sg-b`).
type NodeGroups struct {
	Selector metav1.LabelSelector
	Groups   []string
}

// Placement says where the pods of a template may run and which security
// groups fence them.
type Placement struct {
	// Nodes are the nodes the pods may be scheduled on; more than one when
	// the manifests do not pin them (the union of their groups applies).
	Nodes []string `json:"nodes,omitempty"`
	// Groups fence the pods: their SecurityGroupPolicy's, else their
	// nodes'.
	Groups []string `json:"securityGroups,omitempty"`
	// Via says where the groups come from.
	Via string `json:"via,omitempty"`
	// Ambiguous is set when the pods may land on nodes with different
	// groups.
	Ambiguous bool `json:"ambiguous,omitempty"`
	// OwnENI is set when a SecurityGroupPolicy gives the pods interfaces
	// of their own: their traffic crosses security groups even between
	// pods of one node.
	OwnENI bool `json:"ownInterfaces,omitempty"`
}

// Place decides, for every pod template of the world, the nodes it may run
// on and the security groups that fence it: a SecurityGroupPolicy selecting
// the pods (by labels or service account) gives them their own groups
// (hostNetwork pods excepted: they use the node's network interface);
// otherwise the groups of the nodes they may be scheduled on, found from
// nodeName, nodeSelector, required node affinity and taints, and of each
// node's instance (by providerID or private IP) or an explicit mapping.
func Place(w *model.World, overrides []NodeGroups) (map[*model.PodTemplate]Placement, error) {
	nodeGroups := map[string][]string{}
	instances := NodeInstances(w)
	for _, n := range w.Nodes {
		in := instances[n.Name]
		if in != nil {
			nodeGroups[n.Name] = in.Groups
		}
		for _, o := range overrides {
			sel, err := ParseSelector(&o.Selector)
			if err != nil {
				return nil, err
			}
			if sel.Matches(LabelSet{Known: n.Labels}) == Yes {
				nodeGroups[n.Name] = o.Groups
			}
		}
	}
	nodes := make(map[string]*model.Node, len(w.Nodes))
	for _, n := range w.Nodes {
		nodes[n.Name] = n
	}
	pn := newPodNetwork(w)
	out := map[*model.PodTemplate]Placement{}
	sched := newScheduler(w.Nodes)
	for _, wl := range w.Workloads {
		for _, pt := range wl.Pods {
			p := Placement{Nodes: sched.candidates(pt)}
			if sgp := securityGroupPolicy(w, wl.Namespace, pt); sgp != nil && !pt.HostNetwork {
				p.Groups, p.Via, p.OwnENI = sgp.GroupIDs, "SecurityGroupPolicy "+wl.Namespace+"/"+sgp.Name, true
				out[pt] = p
				continue
			}
			seen := map[string]bool{}
			var first []string
			unknown := ""
			for i, n := range p.Nodes {
				gs := nodeGroups[n]
				if !pt.HostNetwork {
					// The pods' own interfaces (custom networking);
					// hostNetwork pods use the node's.
					var why string
					if gs, why = pn.groups(nodes[n], gs); why != "" && unknown == "" {
						unknown = why
					}
				}
				if i == 0 {
					first = gs
				} else if strings.Join(gs, ",") != strings.Join(first, ",") {
					p.Ambiguous = true
				}
				for _, g := range gs {
					seen[g] = true
				}
			}
			for g := range seen {
				p.Groups = append(p.Groups, g)
			}
			sort.Strings(p.Groups)
			switch {
			case unknown != "":
				p.Groups, p.Ambiguous, p.Via = nil, false, unknown
			case len(p.Nodes) == 0 && len(w.Nodes) > 0:
				p.Via = "none of the given nodes admits it (nodeName, nodeSelector, required affinity, taints)" + untolerated(w.Nodes, pt)
			case len(p.Nodes) == 0:
				p.Via = "no node it can be scheduled on was given"
			case len(p.Groups) == 0:
				p.Via = "its nodes' instances were not given (aws ec2 describe-instances, or --node-sg)"
			case pn.mode == cniOn && !pt.HostNetwork:
				p.Via = "its nodes' ENIConfigs (" + pn.prefix() + "see docs/aws.md)"
			default:
				p.Via = "its nodes' network interfaces"
			}
			out[pt] = p
		}
	}
	return out, nil
}

// NodeInstances maps node names to their EC2 instances: by the node's
// providerID (aws:///zone/i-...), else by its InternalIP.
func NodeInstances(w *model.World) map[string]*model.Instance {
	byID := map[string]*model.Instance{}
	byIP := map[string]*model.Instance{}
	for _, in := range w.Instances {
		byID[in.ID] = in
		for _, ip := range in.PrivateIPs {
			byIP[ip.String()] = in
		}
	}
	out := map[string]*model.Instance{}
	for _, n := range w.Nodes {
		var in *model.Instance
		if i := strings.LastIndexByte(n.ProviderID, '/'); i >= 0 && strings.HasPrefix(n.ProviderID, "aws://") {
			in = byID[n.ProviderID[i+1:]]
		}
		for _, a := range n.Addresses {
			if in == nil && a.Type == corev1.NodeInternalIP {
				in = byIP[a.Address]
			}
		}
		if in != nil {
			out[n.Name] = in
		}
	}
	return out
}

// scheduler finds the nodes pods may be put on. Most templates of a
// cluster pin their pods with one of a few node selectors and nothing
// else: their candidates are found once per selector.
type scheduler struct {
	nodes []*model.Node
	// objects are the nodes as the affinity matcher reads them.
	objects []*corev1.Node
	// bySelector holds the candidates of templates with a node selector
	// and no affinity, tolerations or node name, by selector.
	bySelector map[string][]string
	// key and keys are scratch for the selector's key, reused: the
	// look-up costs no allocation.
	key  []byte
	keys []string
}

func newScheduler(nodes []*model.Node) *scheduler {
	s := &scheduler{nodes: nodes, objects: make([]*corev1.Node, len(nodes)), bySelector: map[string][]string{}}
	for i, n := range nodes {
		s.objects[i] = &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: n.Name, Labels: n.Labels}}
	}
	return s
}

// candidates is candidateNodes, from the selector's entry when the
// template has nothing else that schedules it (a copy: callers own it).
func (s *scheduler) candidates(pt *model.PodTemplate) []string {
	if pt.NodeName != "" || pt.Affinity != nil || len(pt.Tolerations) > 0 {
		return candidateNodes(s.nodes, s.objects, pt)
	}
	s.keys = s.keys[:0]
	for k := range pt.NodeSelector {
		s.keys = append(s.keys, k)
	}
	sort.Strings(s.keys)
	s.key = s.key[:0]
	for _, k := range s.keys {
		// Label keys hold no '=' and values no ',' (the API's syntax),
		// and lengths make the key unambiguous anyway.
		v := pt.NodeSelector[k]
		s.key = strconv.AppendInt(s.key, int64(len(k)), 10)
		s.key = append(append(append(s.key, ':'), k...), '=')
		s.key = strconv.AppendInt(s.key, int64(len(v)), 10)
		s.key = append(append(append(s.key, ':'), v...), ',')
	}
	out, ok := s.bySelector[string(s.key)]
	if !ok {
		out = candidateNodes(s.nodes, s.objects, pt)
		s.bySelector[string(s.key)] = out
	}
	return slices.Clone(out)
}

// candidateNodes lists the nodes the scheduler may put the pods on;
// objects are the nodes as the affinity matcher reads them.
func candidateNodes(nodes []*model.Node, objects []*corev1.Node, pt *model.PodTemplate) []string {
	if pt.NodeName != "" {
		return []string{pt.NodeName}
	}
	pod := &corev1.Pod{Spec: corev1.PodSpec{NodeSelector: pt.NodeSelector, Affinity: pt.Affinity, Tolerations: pt.Tolerations}}
	required := nodeaffinity.GetRequiredNodeAffinity(pod)
	var out []string
	for i, n := range nodes {
		if ok, _ := required.Match(objects[i]); !ok {
			continue
		}
		if !tolerates(pt.Tolerations, n.Taints) {
			continue
		}
		out = append(out, n.Name)
	}
	return out
}

// untolerated says which taints keep pods off the nodes their selectors
// and affinity admit ("; tainted node.kubernetes.io/not-ready:NoSchedule,
// not tolerated, on a, b"), or "" when no taint is to blame.
func untolerated(nodes []*model.Node, pt *model.PodTemplate) string {
	pod := &corev1.Pod{Spec: corev1.PodSpec{NodeSelector: pt.NodeSelector, Affinity: pt.Affinity}}
	required := nodeaffinity.GetRequiredNodeAffinity(pod)
	on := map[string][]string{}
	var taints []string
	for _, n := range nodes {
		node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: n.Name, Labels: n.Labels}}
		if ok, _ := required.Match(node); !ok {
			continue
		}
		for i := range n.Taints {
			t := &n.Taints[i]
			if t.Effect == corev1.TaintEffectPreferNoSchedule || tolerates(pt.Tolerations, n.Taints[i:i+1]) {
				continue
			}
			key := t.ToString()
			if on[key] == nil {
				taints = append(taints, key)
			}
			on[key] = append(on[key], n.Name)
		}
	}
	if len(taints) == 0 {
		return ""
	}
	sort.Strings(taints)
	parts := make([]string, len(taints))
	for i, t := range taints {
		parts[i] = t + " on " + strings.Join(on[t], ", ")
	}
	return "; taints it does not tolerate: " + strings.Join(parts, "; ")
}

// tolerates reports whether tolerations admit every NoSchedule and
// NoExecute taint of a node.
func tolerates(tols []corev1.Toleration, taints []corev1.Taint) bool {
	for i := range taints {
		t := &taints[i]
		if t.Effect == corev1.TaintEffectPreferNoSchedule {
			continue
		}
		ok := false
		for j := range tols {
			// Comparison operators (Gt, Lt) are an alpha feature; off by
			// default, as in a cluster.
			if tols[j].ToleratesTaint(klog.Background(), t, false) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// securityGroupPolicy returns the policy whose pod or service account
// selector selects the pods.
func securityGroupPolicy(w *model.World, ns string, pt *model.PodTemplate) *model.SecurityGroupPolicy {
	for _, p := range w.SecurityGroupPolicies {
		if p.Namespace != ns {
			continue
		}
		if p.PodSelector != nil {
			if sel, err := ParseSelector(p.PodSelector); err == nil && sel.Matches(PodLabels(pt)) == Yes {
				return p
			}
		}
		if p.ServiceAccountSelector != nil {
			for _, sa := range w.ServiceAccounts {
				if sa.Namespace == ns && sa.Name == pt.ServiceAccount {
					if sel, err := ParseSelector(p.ServiceAccountSelector); err == nil && sel.Matches(LabelSet{Known: sa.Labels}) == Yes {
						return p
					}
				}
			}
		}
	}
	return nil
}
