package generate

import (
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"

	"github.com/ringfence/ringfence/api/v1alpha1"
	"github.com/ringfence/ringfence/internal/engine"
	"github.com/ringfence/ringfence/internal/model"
	"github.com/ringfence/ringfence/internal/netset"
	"github.com/ringfence/ringfence/internal/ranges"
	"go4.org/netipx"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// RulesPerGroup is AWS's default quota of inbound or outbound rules per
// security group, counted separately for IPv4 and IPv6.
const RulesPerGroup = 60

// GroupPlan is what one security group needs for the Fences whose
// workloads it fences: the rules to authorize and the open egress to
// revoke.
type GroupPlan struct {
	GroupID string `json:"groupId"`
	// Fences are the Fences (namespace/name) whose workloads the group
	// fences.
	Fences []string `json:"fences"`
	// Via says where the group comes from: the pods' own
	// (SecurityGroupPolicy) or their nodes'.
	Via     string   `json:"via"`
	Egress  []SGRule `json:"egress"`
	Ingress []SGRule `json:"ingress,omitempty"`
	// Revoke are the group's egress rules open to every address
	// (0.0.0.0/0, ::/0), one CIDR each.
	Revoke []SGRule `json:"revokeEgress,omitempty"`
	// SharedWith are the workloads outside the Fences that the group also
	// fences: its new rules are theirs too.
	SharedWith []string `json:"sharedWith,omitempty"`
}

// SGRule is one security-group rule: one protocol and port range, one
// peer (a CIDR, a group, or a prefix list by ID, AWS-managed name, or as
// generated here).
type SGRule struct {
	Description string `json:"description"`
	Protocol    string `json:"protocol"` // tcp, udp or -1
	FromPort    int32  `json:"fromPort"`
	ToPort      int32  `json:"toPort"`
	CIDR        string `json:"cidr,omitempty"`
	Group       string `json:"group,omitempty"`
	PrefixList  string `json:"prefixList,omitempty"`
	// ManagedPrefixList names an AWS-managed prefix list whose ID the
	// inputs do not give (Terraform looks it up by name).
	ManagedPrefixList string `json:"managedPrefixList,omitempty"`
	// OwnPrefixList names a prefix list of Output.PrefixLists.
	OwnPrefixList string `json:"ownPrefixList,omitempty"`

	// covers is what the peer stands for, for verification.
	covers []netip.Prefix
	// source is where a rule that exists today was read.
	source model.Source
}

// PrefixListPlan is a customer-managed prefix list to create: the CIDRs
// that would take more rules than a group may have.
type PrefixListPlan struct {
	Name          string   `json:"name"`
	AddressFamily string   `json:"addressFamily"`
	MaxEntries    int      `json:"maxEntries"`
	Entries       []string `json:"entries"`
}

func (r SGRule) key() string {
	return fmt.Sprintf("%s|%d|%d|%s|%s|%s|%s|%s", r.Protocol, r.FromPort, r.ToPort, r.CIDR, r.Group, r.PrefixList, r.ManagedPrefixList, r.OwnPrefixList)
}

// weight is what the rule counts against the group's quota; AWS counts a
// prefix list as its maximum entries, except the AWS-managed S3 and
// DynamoDB lists, which weigh 1.
func (r SGRule) weight(w *model.World) int {
	if r.PrefixList != "" {
		for _, pl := range w.PrefixLists {
			if pl.ID == r.PrefixList && !lightManagedList(pl.Name) {
				return max(len(pl.Entries), 1)
			}
		}
	}
	return 1
}

func lightManagedList(name string) bool {
	return strings.HasPrefix(name, "com.amazonaws.") && (strings.HasSuffix(name, ".s3") || strings.HasSuffix(name, ".dynamodb"))
}

// securityGroups plans the rules of the groups that fence each Fence's
// workloads: egress to what the Fence names (AWS services by their
// managed prefix list or ranges, DNS and Services by their pods' groups,
// job peers by theirs), ingress from the ingress controller's groups,
// and the open egress revoked.
func securityGroups(w *model.World, doc *ranges.Document, podNeeds []Need, opts Options) (*sgPlan, error) {
	if len(w.SecurityGroups) == 0 && len(opts.NodeGroups) == 0 {
		return &sgPlan{}, nil
	}
	placed, err := engine.Place(w, opts.NodeGroups)
	if err != nil {
		return nil, err
	}
	var jobs []JobGroup
	fenceGroups := map[string][]string{}
	groupsOf := func(match func(*model.Workload, *model.PodTemplate) bool) []string {
		seen := map[string]bool{}
		var out []string
		for _, wl := range w.Workloads {
			for _, pt := range wl.Pods {
				if !match(wl, pt) {
					continue
				}
				for _, g := range placed[pt].Groups {
					if !seen[g] {
						seen[g] = true
						out = append(out, g)
					}
				}
			}
		}
		sort.Strings(out)
		return out
	}
	plans := map[string]*GroupPlan{}
	seen := map[string]map[string]bool{}
	var warnings []string
	add := func(group string, ingress bool, r SGRule) {
		p := plans[group]
		k := fmt.Sprint(ingress) + r.key()
		if seen[group][k] || exists(w, group, ingress, r) {
			return
		}
		seen[group][k] = true
		if ingress {
			p.Ingress = append(p.Ingress, r)
		} else {
			p.Egress = append(p.Egress, r)
		}
	}
	fencedPods := map[*model.PodTemplate]bool{}
	for _, f := range w.Fences {
		workloads := fenced(w, f)
		isFenced := func(wl *model.Workload, pt *model.PodTemplate) bool {
			for _, x := range workloads[wl] {
				if x == pt {
					return true
				}
			}
			return false
		}
		groups := groupsOf(isFenced)
		name := f.Namespace + "/" + f.Name
		fenceGroups[name] = groups
		if len(groups) == 0 {
			if len(workloads) > 0 {
				warnings = append(warnings, fmt.Sprintf("Fence %s: no security group is known for its workloads (give their instances, a SecurityGroupPolicy, or --node-sg): no security-group rules", name))
			}
			continue
		}
		// Where each group comes from: the pods' own (SecurityGroupPolicy)
		// or their nodes'.
		via := map[string]string{}
		for _, pts := range workloads {
			for _, pt := range pts {
				fencedPods[pt] = true
				for _, g := range placed[pt].Groups {
					via[g] = placed[pt].Via
				}
			}
		}
		var rules []SGRule
		var ingress []SGRule
		for _, e := range f.Spec.Egress {
			switch {
			case e.AWS != nil:
				rs, err := awsSGRules(w, doc, e.AWS)
				if err != nil {
					return nil, fmt.Errorf("%s: Fence/%s: %w", f.Source, name, err)
				}
				rules = append(rules, rs...)
			case e.DNS != nil:
				dns := groupsOf(selectedBy("kube-system", dnsSelector(w)))
				if len(dns) == 0 {
					warnings = append(warnings, fmt.Sprintf("Fence %s: the cluster DNS pods' security groups are not known: no DNS rule", name))
				}
				for _, g := range dns {
					rules = append(rules, groupRule("udp", 53, 53, g, "cluster DNS"), groupRule("tcp", 53, 53, g, "cluster DNS"))
				}
			case e.Service != nil:
				ns := e.Service.Namespace
				if ns == "" {
					ns = f.Namespace
				}
				sel := serviceSelector(w, ns, e.Service.Name)
				port, proto := servicePort(w, ns, e.Service.Name, e.Service.Port)
				targets := groupsOf(selectedBy(ns, sel))
				if len(targets) == 0 || port == 0 {
					warnings = append(warnings, fmt.Sprintf("Fence %s: the security groups of Service %s/%s's pods are not known: no rule for it", name, ns, e.Service.Name))
				}
				for _, g := range targets {
					rules = append(rules, portRule(proto, port, g, fmt.Sprintf("Service %s/%s", ns, e.Service.Name)))
				}
			case e.Peers != nil && e.Peers.SameJob:
				rs, js, ws := peerSGRules(w, placed, workloads, groups, via, name)
				rules = append(rules, rs...)
				jobs = append(jobs, js...)
				warnings = append(warnings, ws...)
			case e.CIDR != nil:
				rules = append(rules, cidrSGRules(e.CIDR.CIDRs, e.CIDR.Ports, "addresses of Fence "+name)...)
			}
		}
		for _, in := range f.Spec.Ingress {
			if in.From != nil {
				ingress = append(ingress, cidrSGRules(in.From.CIDRs, in.Ports, "clients of Fence "+name)...)
				if in.From.Namespaces != nil || in.From.Pods != nil {
					clients, err := clientsOf(w, f.Namespace, in.From)
					if err != nil {
						return nil, fmt.Errorf("%s: Fence/%s: %w", f.Source, name, err)
					}
					for _, g := range groupsOf(clients) {
						for _, p := range in.Ports {
							ingress = append(ingress, portRule(protocolOf(p), p.Port, g, "clients of Fence "+name))
						}
					}
				}
				continue
			}
			c := in.IngressController
			controllers := groupsOf(func(wl *model.Workload, pt *model.PodTemplate) bool {
				return wl.Namespace == c.Namespace && pt.Labels["app.kubernetes.io/component"] == "controller"
			})
			for _, s := range servicesOf(w, workloads) {
				for _, sp := range s.Spec.Ports {
					port, proto := servicePort(w, s.Namespace, s.Name, intstr.FromInt32(sp.Port))
					for _, g := range controllers {
						ingress = append(ingress, portRule(proto, port, g, "the ingress controller in "+c.Namespace))
						// The controller's egress leaves through a group this
						// plan may close (the nodes' group both share): let it
						// reach the fenced pods.
						if slices.Contains(groups, g) {
							for _, t := range groups {
								rules = append(rules, portRule(proto, port, t, "the ingress controller in "+c.Namespace+" to Fence "+name))
							}
						}
					}
				}
			}
		}
		for _, g := range groups {
			if plans[g] == nil {
				plans[g] = &GroupPlan{GroupID: g, Via: via[g]}
				seen[g] = map[string]bool{}
			}
			plans[g].Fences = append(plans[g].Fences, name)
			for _, r := range rules {
				add(g, false, r)
			}
			for _, r := range ingress {
				add(g, true, r)
			}
		}
	}
	for _, j := range jobs {
		if plans[j.ID] != nil {
			continue // two Fences select the job
		}
		plans[j.ID] = &GroupPlan{GroupID: j.ID, Via: "generated for the job " + j.Job, Fences: []string{j.Fence}}
		seen[j.ID] = map[string]bool{}
		self := jobRule(j.ID, j.Job)
		add(j.ID, false, self)
		add(j.ID, true, self)
	}
	// A client whose group the plan rewrites (its open egress revoked)
	// needs the egress half of each ingress rule that admits it: a
	// Prometheus on the node group scrapes fenced pods on the node group.
	for _, g := range sortedKeys(plans) {
		for _, r := range plans[g].Ingress {
			if r.Group != "" && plans[r.Group] != nil {
				m := r
				m.Group = g
				add(r.Group, false, m)
			}
		}
	}
	var out []GroupPlan
	var lists []PrefixListPlan
	var needs []Need
	// The nodes' own needs, kept on their group when the plan revokes its
	// open egress.
	for _, g := range sortedKeys(plans) {
		if plans[g].Via == "its nodes' network interfaces" && len(openEgress(w, g)) > 0 {
			ns, rules, err := nodeNeeds(w, doc, g)
			if err != nil {
				return nil, err
			}
			needs = append(needs, ns...)
			for _, r := range rules {
				add(g, false, r)
			}
		}
	}
	// The interface VPC endpoints that meet needs admit the groups that
	// need them.
	for _, n := range append(append([]Need(nil), podNeeds...), needs...) {
		if n.Status != NeedKept {
			continue
		}
		from := fenceGroups[n.fence]
		if n.node != "" {
			from = []string{n.node}
		}
		for _, e := range n.endpoints {
			for _, eg := range e.Groups {
				if plans[eg] == nil {
					plans[eg] = &GroupPlan{GroupID: eg, Via: "the interface VPC endpoint " + e.ID}
					seen[eg] = map[string]bool{}
				}
				for _, g := range from {
					add(eg, true, groupRule("tcp", 443, 443, g, "to "+e.Service+" through "+e.ID))
				}
			}
		}
	}
	// The groups that exist first, then the ones to create.
	order := sortedKeys(plans)
	sort.SliceStable(order, func(i, j int) bool {
		return !strings.HasPrefix(plans[order[i]].Via, "generated") && strings.HasPrefix(plans[order[j]].Via, "generated")
	})
	for _, g := range order {
		p := plans[g]
		if strings.HasPrefix(p.Via, "the interface VPC endpoint") {
			if len(p.Ingress) > 0 { // (its own egress is left as it is)
				out = append(out, *p)
			}
			continue
		}
		p.Revoke = openEgress(w, g)
		p.SharedWith = sharing(w, placed, fencedPods, g)
		if len(p.Revoke) > 0 && len(p.SharedWith) > 0 {
			warnings = append(warnings, fmt.Sprintf("revoking the open egress of %s closes it for the workloads it also fences (%s): their needs that no Fence names and detection cannot see (a database, an AWS service they call) are cut; fence them too, or give the fenced pods groups of their own with a SecurityGroupPolicy", g, strings.Join(p.SharedWith, ", ")))
		}
		var own []PrefixListPlan
		p.Egress, own = fitQuota(w, g, p.Egress)
		for _, list := range own {
			lists = append(lists, list)
			warnings = append(warnings, fmt.Sprintf("%s would need more than %d %s egress rules: the CIDRs go into the prefix list %s, but AWS counts a referenced prefix list as its maximum entries (%d), so the group still needs the quota \"Inbound or outbound rules per security group\" raised", g, RulesPerGroup, list.AddressFamily, list.Name, list.MaxEntries))
		}
		out = append(out, *p)
	}
	return &sgPlan{groups: out, lists: lists, needs: needs, jobs: jobs, warnings: warnings}, nil
}

// sgPlan is the security-group half of the output.
type sgPlan struct {
	groups   []GroupPlan
	lists    []PrefixListPlan
	needs    []Need
	jobs     []JobGroup
	warnings []string
}

// peerSGRules lets a job's pods reach each other through their groups.
// A group of the job's own (a SecurityGroupPolicy's that fences nothing
// else) admits all its traffic to itself, as collectives and EFA need. A
// job whose pods have only shared groups (the node group) gets a group of
// its own (jobGroups), which admits every TCP port from itself. Where no
// such group can be planned, the shared group gets only the ports the
// job's pods declare: all protocols to it would be all protocols to every
// pod and node that carries it.
func peerSGRules(w *model.World, placed map[*model.PodTemplate]engine.Placement, workloads map[*model.Workload][]*model.PodTemplate, groups []string, via map[string]string, fence string) ([]SGRule, []JobGroup, []string) {
	mine := map[*model.PodTemplate]bool{}
	for _, pts := range workloads {
		for _, pt := range pts {
			mine[pt] = true
		}
	}
	shared := map[string]bool{}
	for _, wl := range w.Workloads {
		for _, pt := range wl.Pods {
			if mine[pt] {
				continue
			}
			for _, g := range placed[pt].Groups {
				shared[g] = true
			}
		}
	}
	own := func(g string) bool { return strings.HasPrefix(via[g], "SecurityGroupPolicy") && !shared[g] }
	jobs, covered, warnings := jobGroups(w, placed, workloads, own, fence)
	type port struct {
		proto netset.Protocol
		port  int32
	}
	var ports []port
	seen := map[port]bool{}
	for _, wl := range sortedWorkloads(workloads) {
		if covered[wl] {
			continue
		}
		for _, pt := range workloads[wl] {
			for _, c := range pt.Containers {
				for _, cp := range c.Ports {
					proto, ok := netset.ParseProtocol(cp.Protocol)
					if p := (port{proto, cp.Port}); ok && !seen[p] {
						seen[p] = true
						ports = append(ports, p)
					}
				}
			}
		}
	}
	uncovered := len(covered) < len(workloads)
	var rules []SGRule
	for _, g := range groups {
		if own(g) {
			rules = append(rules, groupRule("-1", -1, -1, g, "job peers (the job's own group)"))
			continue
		}
		if !uncovered {
			continue // each job has a group of its own now
		}
		for _, p := range ports {
			rules = append(rules, portRule(p.proto, p.port, g, "job peers"))
		}
		warnings = append(warnings, fmt.Sprintf("Fence %s: %s is shared with other pods or nodes, so the job peers' rules on it name only the ports the job's pods declare (%d): traffic on other ports between them (NCCL and other collectives pick ephemeral ports unless pinned) is cut in the security-group layer; give each job a group of its own with a SecurityGroupPolicy, or pin and declare the ports", fence, g, len(ports)))
	}
	return rules, jobs, warnings
}

// exists reports whether a group already has a rule (AWS refuses to
// authorize a duplicate).
func exists(w *model.World, group string, ingress bool, r SGRule) bool {
	for _, g := range w.SecurityGroups {
		if g.ID != group {
			continue
		}
		rules := g.Egress
		if ingress {
			rules = g.Ingress
		}
		for _, x := range rules {
			if x.Protocol != r.Protocol || (r.Protocol != "-1" && (x.FromPort != r.FromPort || x.ToPort != r.ToPort)) {
				continue
			}
			for _, c := range x.CIDRs {
				if c.String() == r.CIDR {
					return true
				}
			}
			for _, id := range x.Groups {
				if id == r.Group {
					return true
				}
			}
			for _, id := range x.PrefixLists {
				if id == r.PrefixList {
					return true
				}
			}
		}
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func groupRule(proto string, from, to int32, group, desc string) SGRule {
	return SGRule{Description: "ringfence: " + desc, Protocol: proto, FromPort: from, ToPort: to, Group: group}
}

// portRule allows one port of a Kubernetes protocol; AWS knows SCTP only
// as IP protocol 132, without ports.
func portRule(proto netset.Protocol, port int32, group, desc string) SGRule {
	switch proto {
	case netset.UDP:
		return groupRule("udp", port, port, group, desc)
	case netset.SCTP:
		return groupRule("132", -1, -1, group, desc)
	}
	return groupRule("tcp", port, port, group, desc)
}

// cidrSGRules allows address ranges on ports, one rule per range and port.
func cidrSGRules(cidrs []string, ports []v1alpha1.Port, desc string) []SGRule {
	var out []SGRule
	for _, c := range cidrs {
		p, err := netip.ParsePrefix(c)
		if err != nil {
			continue // the loader refuses such Fences
		}
		p = p.Masked()
		for _, port := range ports {
			r := portRule(protocolOf(port), port.Port, "", desc)
			r.CIDR, r.covers = p.String(), []netip.Prefix{p}
			out = append(out, r)
		}
	}
	return out
}

func protocolOf(p v1alpha1.Port) netset.Protocol {
	proto, ok := netset.ParseProtocol(corev1.Protocol(strings.ToUpper(p.Protocol)))
	if !ok || p.Protocol == "" {
		return netset.TCP
	}
	return proto
}

// clientsOf matches the pods a Fence's ingress source names: pods of the
// namespaces its namespace selector selects (the Fence's own without one)
// that its pod selector selects (all without one).
func clientsOf(w *model.World, ns string, c *v1alpha1.ClientSource) (func(*model.Workload, *model.PodTemplate) bool, error) {
	pods, err := engine.ParseSelector(c.Pods)
	if err != nil {
		return nil, err
	}
	namespaces := map[string]bool{ns: c.Namespaces == nil}
	if c.Namespaces != nil {
		sel, err := engine.ParseSelector(c.Namespaces)
		if err != nil {
			return nil, err
		}
		for _, n := range w.Namespaces {
			namespaces[n.Name] = sel.Matches(engine.LabelSet{Known: n.Labels}) == engine.Yes
		}
	}
	return func(wl *model.Workload, pt *model.PodTemplate) bool {
		return namespaces[wl.Namespace] && (c.Pods == nil || pods.Matches(engine.PodLabels(pt)) == engine.Yes)
	}, nil
}

// awsSGRules allows an AWS service: through its AWS-managed prefix list
// where AWS keeps one (S3, DynamoDB: one rule, always current), else its
// published ranges, aggregated, one rule per CIDR and port.
func awsSGRules(w *model.World, doc *ranges.Document, a *v1alpha1.AWSDestination) ([]SGRule, error) {
	if doc == nil {
		return nil, fmt.Errorf("no AWS ranges publication")
	}
	sel := ranges.Aggregate(doc.Select(ranges.Filter{Services: []string{a.Service}, Regions: []string{a.Region}}))
	if len(sel) == 0 {
		return nil, fmt.Errorf("AWS ip-ranges syncToken %s publishes no prefixes for %s in %s", doc.SyncToken, a.Service, a.Region)
	}
	ports := a.Ports
	if len(ports) == 0 {
		ports = []v1alpha1.Port{{Protocol: "TCP", Port: 443}}
	}
	desc := fmt.Sprintf("ringfence: %s %s", a.Service, a.Region)
	managed := ""
	if s := strings.ToLower(a.Service); s == "s3" || s == "dynamodb" {
		managed = "com.amazonaws." + a.Region + "." + s
	}
	var v4 []netip.Prefix
	for _, p := range sel {
		if p.Addr().Is4() {
			v4 = append(v4, p)
		}
	}
	var out []SGRule
	for _, port := range ports {
		proto := strings.ToLower(port.Protocol)
		if proto == "" {
			proto = "tcp"
		}
		base := SGRule{Description: desc, Protocol: proto, FromPort: port.Port, ToPort: port.Port}
		if managed != "" {
			r := base
			r.ManagedPrefixList = managed
			r.covers = v4
			for _, pl := range w.PrefixLists {
				if pl.Name == managed {
					r.PrefixList, r.ManagedPrefixList = pl.ID, ""
				}
			}
			out = append(out, r)
			// The managed list holds IPv4 only: IPv6 ranges by CIDR.
			for _, p := range sel {
				if p.Addr().Is6() {
					r := base
					r.CIDR, r.covers = p.String(), []netip.Prefix{p}
					out = append(out, r)
				}
			}
			continue
		}
		for _, p := range sel {
			r := base
			r.CIDR, r.covers = p.String(), []netip.Prefix{p}
			out = append(out, r)
		}
	}
	return out, nil
}

// fitQuota moves a group's CIDR egress rules of one address family into
// prefix lists of their own when they would take more rules than the group
// may have (the quota counts IPv4 and IPv6 rules apart). A list holds the
// CIDRs of one protocol and port (a list referenced on a port admits all
// its entries there), aggregated; the largest go first, until the rest
// fit.
func fitQuota(w *model.World, group string, rules []SGRule) ([]SGRule, []PrefixListPlan) {
	var lists []PrefixListPlan
	for _, family := range []string{"IPv4", "IPv6"} {
		inFamily := func(r SGRule) bool { return r.CIDR != "" && strings.Contains(r.CIDR, ":") == (family == "IPv6") }
		count := 0
		byPort := map[string][]SGRule{}
		for _, r := range rules {
			if inFamily(r) || (family == "IPv4" && r.CIDR == "") {
				count += r.weight(w)
			}
			if inFamily(r) {
				k := fmt.Sprintf("%s|%d|%d", r.Protocol, r.FromPort, r.ToPort)
				byPort[k] = append(byPort[k], r)
			}
		}
		if count <= RulesPerGroup {
			continue
		}
		keys := sortedKeys(byPort)
		sort.SliceStable(keys, func(i, j int) bool { return len(byPort[keys[i]]) > len(byPort[keys[j]]) })
		moved := map[string]*SGRule{}
		for _, k := range keys {
			if count <= RulesPerGroup {
				break
			}
			name := "ringfence-" + group + "-egress-" + strings.ToLower(family)
			if len(lists) > 0 && strings.HasPrefix(lists[len(lists)-1].Name, name) {
				name += fmt.Sprintf("-%d", len(moved)+1)
			}
			var b netipx.IPSetBuilder
			for _, r := range byPort[k] {
				for _, c := range r.covers {
					b.AddPrefix(c)
				}
			}
			set, _ := b.IPSet()
			list := PrefixListPlan{Name: name, AddressFamily: family}
			for _, p := range set.Prefixes() {
				list.Entries = append(list.Entries, p.String())
			}
			sort.Strings(list.Entries)
			list.MaxEntries = len(list.Entries)
			nr := byPort[k][0]
			nr.CIDR, nr.OwnPrefixList, nr.covers = "", list.Name, set.Prefixes()
			nr.Description = "ringfence: the CIDRs of " + list.Name
			moved[k] = &nr
			count -= len(byPort[k]) - 1
			lists = append(lists, list)
		}
		var kept []SGRule
		for _, r := range rules {
			if !inFamily(r) || moved[fmt.Sprintf("%s|%d|%d", r.Protocol, r.FromPort, r.ToPort)] == nil {
				kept = append(kept, r)
			}
		}
		for _, k := range keys {
			if moved[k] != nil {
				kept = append(kept, *moved[k])
			}
		}
		rules = kept
	}
	return rules, lists
}

// openEgress returns a group's egress rules open to every address, one
// CIDR each, to revoke.
func openEgress(w *model.World, group string) []SGRule {
	var out []SGRule
	for _, g := range w.SecurityGroups {
		if g.ID != group {
			continue
		}
		for _, r := range g.Egress {
			for _, c := range r.CIDRs {
				if c.Bits() == 0 {
					out = append(out, SGRule{Description: r.Description, Protocol: r.Protocol, FromPort: r.FromPort, ToPort: r.ToPort, CIDR: c.String(), source: r.Source})
				}
			}
		}
	}
	return out
}

// sharing names the workloads outside the Fences that a group fences too.
func sharing(w *model.World, placed map[*model.PodTemplate]engine.Placement, fencedPods map[*model.PodTemplate]bool, group string) []string {
	seen := map[string]bool{}
	var out []string
	for _, wl := range w.Workloads {
		for _, pt := range wl.Pods {
			if fencedPods[pt] {
				continue
			}
			for _, g := range placed[pt].Groups {
				name := wl.Namespace + "/" + wl.Kind + "/" + wl.Name
				if g == group && !seen[name] {
					seen[name] = true
					out = append(out, name)
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

// selectedBy matches the pods of a namespace that carry every label of a
// Service-style selector.
func selectedBy(ns string, sel map[string]string) func(*model.Workload, *model.PodTemplate) bool {
	return func(wl *model.Workload, pt *model.PodTemplate) bool {
		if wl.Namespace != ns || len(sel) == 0 {
			return false
		}
		for k, v := range sel {
			if pt.Labels[k] != v {
				return false
			}
		}
		return true
	}
}

func serviceSelector(w *model.World, ns, name string) map[string]string {
	for _, s := range w.Services {
		if s.Namespace == ns && s.Name == name {
			return s.Spec.Selector
		}
	}
	return nil
}

func dnsSelector(w *model.World) map[string]string {
	if sel := serviceSelector(w, "kube-system", "kube-dns"); len(sel) > 0 {
		return sel
	}
	return map[string]string{"k8s-app": "kube-dns"}
}
