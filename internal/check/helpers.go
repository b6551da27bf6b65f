package check

import (
	"fmt"
	"sort"
	"strings"

	"github.com/ringfence/ringfence/internal/engine"
	"github.com/ringfence/ringfence/internal/model"
	"github.com/ringfence/ringfence/internal/netset"
	"github.com/ringfence/ringfence/internal/ranges"
	"go4.org/netipx"
)

// workloadPeers returns the peers that stand for workloads or pods.
func workloadPeers(c *Context) []*engine.Peer {
	var out []*engine.Peer
	for _, p := range c.Analysis.Peers() {
		if p.Workload != nil {
			out = append(out, p)
		}
	}
	return out
}

// pods returns the pod templates a peer stands for.
func pods(p *engine.Peer) []*model.PodTemplate {
	if p.Pods != nil {
		return []*model.PodTemplate{p.Pods}
	}
	return p.Workload.Pods
}

// named resolves a named destination, from the ranges when given.
func named(c *Context, name string) engine.Destination {
	if c.Ranges != nil {
		if set, desc, err := ranges.Named(c.Ranges, name); err == nil {
			return engine.Destination{Name: name, Description: desc, Set: set}
		}
	}
	var b netipx.IPSetBuilder
	switch name {
	case "internet":
		b.AddSet(netset.Public())
	case "imds":
		for _, p := range ranges.IMDS {
			b.AddPrefix(p)
		}
	}
	s, _ := b.IPSet()
	return engine.Destination{Name: name, Set: s}
}

// egress explains egress from a peer to a destination on a port (0: any).
func egress(c *Context, p *engine.Peer, dst engine.Destination, proto netset.Protocol, port int32) *engine.SetExplanation {
	if c.Analysis.Err() != nil {
		// Stopped (a signal): Run discards this rule's findings, so the
		// rest of its loop should cost nothing.
		return nil
	}
	e, err := engine.ExplainDestination(c.Analysis, p.ID, dst, proto, port)
	if err != nil {
		return nil
	}
	return e
}

// coveragePath lists what lets traffic through, layer by layer.
func coveragePath(e *engine.SetExplanation) []string {
	var path []string
	np := e.NetworkPolicy
	if len(np.Rules) == 0 && np.Reason != "" {
		path = append(path, "NetworkPolicy: "+np.Reason)
	}
	path = append(path, np.Rules...)
	if sg := e.SecurityGroups; sg != nil {
		if len(sg.Rules) == 0 && sg.Reason != "" {
			path = append(path, "security groups: "+sg.Reason)
		}
		path = append(path, sg.Rules...)
	} else {
		path = append(path, "security groups: not given (only the NetworkPolicy was judged)")
	}
	return path
}

// isInference reports whether a workload serves models: an
// InferenceService, or an ML workload some Service selects.
func isInference(c *Context, w *model.Workload) bool {
	if w.Kind == "InferenceService" {
		return true
	}
	if !w.IsML() {
		return false
	}
	for _, s := range c.ServicesIn(w.Namespace) {
		if len(s.Spec.Selector) == 0 {
			continue
		}
		for _, pt := range w.Pods {
			match := true
			for k, v := range s.Spec.Selector {
				if pt.Labels[k] != v {
					match = false
				}
			}
			if match {
				return true
			}
		}
	}
	return false
}

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

// countWorkloads counts the distinct workloads of a list of affected
// entries: a workload whose roles policies tell apart (a PyTorchJob's
// master and workers) is listed once per role but is one workload, and the
// count says which workloads were listed by role.
func countWorkloads(affected []Affected, one, many string) string {
	roles := map[model.Ref]int{}
	var order []model.Ref
	for _, a := range affected {
		if roles[a.Object] == 0 {
			order = append(order, a.Object)
		}
		roles[a.Object]++
	}
	s := plural(len(roles), one, many)
	var split []string
	for _, r := range order {
		if n := roles[r]; n > 1 {
			split = append(split, fmt.Sprintf("%s/%s in %d roles", r.Namespace, r.Name, n))
		}
	}
	sort.Strings(split)
	if len(split) > 0 {
		s += " (" + strings.Join(split, ", ") + ")"
	}
	return s
}

func join(parts []string) string { return strings.Join(parts, "; ") }

// placement returns where a template's pods may run, computed once.
func (c *Context) placement(pt *model.PodTemplate) engine.Placement {
	if c.placements == nil {
		c.placements, _ = engine.Place(c.World, c.NodeGroups)
		if c.placements == nil {
			c.placements = map[*model.PodTemplate]engine.Placement{}
		}
	}
	return c.placements[pt]
}

// imdsCause is why a peer's pods can read the node role's credentials
// from the instance metadata service, beyond a NetworkPolicy that lets
// them reach 169.254.169.254 (security groups never filter it).
type imdsCause struct {
	// Key groups peers with the same cause: "hostNetwork", "unknown", or
	// the instances' metadata options.
	Key string
	// Instances are those whose options let the pods in (Key is their
	// options), with where they are written.
	Instances []*model.Instance
	// Nodes name the nodes concerned; Unknown says what is not known.
	Nodes   []string
	Unknown string
}

// imds says why the peer's pods can read the node role's credentials from
// the instance metadata service: the NetworkPolicy lets them reach
// 169.254.169.254 (security groups never filter it), and their nodes do
// not require IMDSv2 with a hop limit of 1 (which keeps the token's reply
// from crossing into the pod network). It returns the NetworkPolicy path
// and the causes (none when the pods cannot).
func imds(c *Context, p *engine.Peer) ([]string, []imdsCause) {
	e := egress(c, p, named(c, "imds"), netset.TCP, 80)
	if e == nil || len(e.NetworkPolicy.Allowed) == 0 {
		return nil, nil
	}
	var path []string
	if np := e.NetworkPolicy; len(np.Rules) == 0 && np.Reason != "" {
		path = append(path, "NetworkPolicy: "+np.Reason)
	}
	path = append(path, e.NetworkPolicy.Rules...)
	if p.HostNetwork {
		return path, []imdsCause{{Key: "hostNetwork"}}
	}
	instances := map[string]*model.Instance{}
	for _, in := range c.World.Instances {
		instances[in.ID] = in
	}
	nodes := map[string]*model.Node{}
	for _, n := range c.World.Nodes {
		nodes[n.Name] = n
	}
	byKey := map[string]*imdsCause{}
	var keys []string
	cause := func(key string) *imdsCause {
		if byKey[key] == nil {
			byKey[key] = &imdsCause{Key: key}
			keys = append(keys, key)
		}
		return byKey[key]
	}
	for _, pt := range pods(p) {
		pl := c.placement(pt)
		if len(pl.Nodes) == 0 {
			cause("unknown").Unknown = "its nodes are not in the inputs"
		}
		for _, name := range pl.Nodes {
			in := instances[instanceID(nodes[name])]
			switch {
			case in == nil:
				u := cause("unknown")
				u.Nodes = append(u.Nodes, name)
				u.Unknown = "the metadata options of its nodes are not in the inputs (give aws ec2 describe-instances)"
			case in.MetadataTokens != "required" || in.MetadataHopLimit > 1:
				k := cause(fmt.Sprintf("HttpTokens %s, hop limit %d", orDefault(in.MetadataTokens, "optional"), in.MetadataHopLimit))
				k.Nodes = append(k.Nodes, name)
				k.Instances = append(k.Instances, in)
			}
		}
	}
	out := make([]imdsCause, 0, len(keys))
	for _, k := range keys {
		out = append(out, *byKey[k])
	}
	return path, out
}

func instanceID(n *model.Node) string {
	if n == nil {
		return ""
	}
	if i := strings.LastIndexByte(n.ProviderID, '/'); i >= 0 {
		return n.ProviderID[i+1:]
	}
	return ""
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
