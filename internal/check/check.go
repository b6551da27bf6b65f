// Package check holds ringfence's audit rules: each a small, self-contained
// check over the model and the engine's results, registered once with its
// rationale and remediation. Rules never see raw input.
package check

import (
	"fmt"
	"sort"
	"strings"

	"github.com/ringfence/ringfence/internal/engine"
	"github.com/ringfence/ringfence/internal/model"
	"github.com/ringfence/ringfence/internal/ranges"
)

// Severity orders findings.
type Severity int

// The severities, lowest first.
const (
	Info Severity = iota
	Low
	Medium
	High
	Critical
)

var severityNames = [...]string{"info", "low", "medium", "high", "critical"}

func (s Severity) String() string { return severityNames[s] }

// MarshalText writes the severity's name.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads a severity's name, so JSON outputs read back.
func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	if err != nil || v > Critical {
		return fmt.Errorf("unknown severity %q", b)
	}
	*s = v
	return nil
}

// ParseSeverity reads a severity name; "none" is above every severity.
func ParseSeverity(s string) (Severity, error) {
	for i, n := range severityNames {
		if strings.EqualFold(s, n) {
			return Severity(i), nil
		}
	}
	if strings.EqualFold(s, "none") {
		return Critical + 1, nil
	}
	return 0, fmt.Errorf("unknown severity %q: use critical, high, medium, low, info or none", s)
}

// Rule is one audit rule.
type Rule struct {
	ID    string `json:"id"`
	Title string `json:"title"`
	// Severity is the rule's severity; a finding may set a lower one
	// (a rule documents when in its rationale), never a higher one.
	Severity    Severity `json:"severity"`
	Rationale   string   `json:"rationale"`
	Remediation string   `json:"remediation"`
	Links       []string `json:"links,omitempty"`
	// Network is false for rules no NetworkPolicy or Fence can satisfy:
	// what pods hold (long-lived keys, RF017) and what only a VPC endpoint
	// fixes (RF018).
	Network bool `json:"network"`
	// unread says which kinds that could not be read can change the
	// rule's findings.
	unread unreadScope
	check  func(*Context) []Finding
}

// Finding is one risk, on one object: its cause. When one cause puts
// several workloads at risk (a security group rule, a missing default-deny,
// an instance metadata setting), the finding is reported once and Affected
// lists them.
type Finding struct {
	Rule     string       `json:"rule"`
	Severity Severity     `json:"severity"`
	Object   model.Ref    `json:"object"`
	Source   model.Source `json:"source"`
	Message  string       `json:"message"`
	// Path is what makes the finding true, hop by hop, each with where it
	// is written.
	Path        []string `json:"path"`
	Remediation string   `json:"remediation"`
	// Suppressed is set when an annotation or the config accepts the
	// finding.
	Suppressed *Suppression `json:"suppressed,omitempty"`
	// Confidence is ConfidenceCertain when the inputs decide the finding,
	// ConfidencePossible when it holds only if an unknown resolves badly;
	// Assumptions then say which ("assuming the NLB's source is a node
	// address"). Severity stays that of the risk either way.
	Confidence  Confidence `json:"confidence,omitempty"`
	Assumptions []string   `json:"assumptions,omitempty"`
	// Affected are the objects (usually workloads) the cause puts at risk,
	// sorted, each with where it is written and what holds for it.
	Affected []Affected `json:"affected,omitempty"`
	// Key tells apart findings of one rule on one object (the rule of a
	// security group, the egress rule of a policy) without a line number,
	// so fingerprints survive edits.
	Key string `json:"key,omitempty"`
}

// Affected is one object a finding's cause puts at risk.
type Affected struct {
	Object model.Ref    `json:"object"`
	Source model.Source `json:"source"`
	// Detail says what holds for this object ("holds Secret x keys a, b").
	Detail string `json:"detail,omitempty"`
}

// Certain reports whether the inputs decide the finding.
func (f *Finding) Certain() bool { return f.Confidence != ConfidencePossible }

// Confidence says whether the inputs decide a finding.
type Confidence string

// The confidences; an empty Confidence reads as certain.
const (
	ConfidenceCertain  Confidence = "certain"
	ConfidencePossible Confidence = "possible"
)

// Context is what rules read.
type Context struct {
	World    *model.World
	Analysis *engine.Analysis
	// Ranges is the AWS publication to compare ipBlocks with.
	Ranges *ranges.Document
	// NodeGroups map nodes to security groups (--node-sg).
	NodeGroups []engine.NodeGroups
	reach      *engine.Result
	placements map[*model.PodTemplate]engine.Placement
	// exposures, into and servicesIn are computed on first use, so that
	// rules about a few destinations never list every pair of peers
	// (Reach): its size grows with the square of the cluster.
	exposures  []engine.Exposure
	exposed    bool
	into       map[*engine.Peer][]engine.Connection
	byDst      map[string][]engine.Connection
	servicesIn map[string][]*model.Service
	peers      map[string]*engine.Peer
}

// Reach returns the reachability of the world, computed once. It lists
// every connection: rules that ask about some destinations use Into, and
// rules about the ways in use Exposures.
func (c *Context) Reach() *engine.Result {
	if c.reach == nil {
		c.reach = c.Analysis.Reach()
	}
	return c.reach
}

// Exposures returns the ways in from outside the cluster (Reach's
// Exposures), computed once, without computing the connections.
func (c *Context) Exposures() []engine.Exposure {
	switch {
	case c.reach != nil:
		return c.reach.Exposures
	case !c.exposed:
		c.exposures, c.exposed = c.Analysis.Exposures(), true
	}
	return c.exposures
}

// Into returns Reach's connections whose destination is dst, computed
// once per peer from that peer alone (engine.Analysis.Into).
func (c *Context) Into(dst *engine.Peer) []engine.Connection {
	if c.reach != nil {
		// Already listed: indexing it once costs less than recomputing.
		if c.byDst == nil {
			c.byDst = map[string][]engine.Connection{}
			for _, conn := range c.reach.Connections {
				c.byDst[conn.Dst] = append(c.byDst[conn.Dst], conn)
			}
		}
		return c.byDst[dst.ID]
	}
	if conns, ok := c.into[dst]; ok {
		return conns
	}
	if c.into == nil {
		c.into = map[*engine.Peer][]engine.Connection{}
	}
	c.into[dst] = c.Analysis.Into(dst)
	return c.into[dst]
}

// peersByID indexes the analysis's peers by ID, once.
func peersByID(c *Context) map[string]*engine.Peer {
	if c.peers == nil {
		c.peers = map[string]*engine.Peer{}
		for _, p := range c.Analysis.Peers() {
			c.peers[p.ID] = p
		}
	}
	return c.peers
}

// ServicesIn returns the Services of a namespace, indexed once.
func (c *Context) ServicesIn(namespace string) []*model.Service {
	if c.servicesIn == nil {
		c.servicesIn = map[string][]*model.Service{}
		for _, s := range c.World.Services {
			c.servicesIn[s.Namespace] = append(c.servicesIn[s.Namespace], s)
		}
	}
	return c.servicesIn[namespace]
}

// Rules returns every rule, by ID. Each rule is defined in a file of its
// own; this list is the one place that names them all.
func Rules() []*Rule {
	out := []*Rule{
		rf001(), rf002(), rf003(), rf004(), rf005(), rf006(), rf007(), rf008(),
		rf009(), rf010(), rf011(), rf012(), rf013(), rf014(), rf015(), rf016(),
		rf017(), rf018(), rf019(), rf020(), rf021(), rf022(), rf023(),
		rf030(), rf031(), rf032(), rf033(), rf034(), rf035(),
		rf040(), rf041(), rf042(), rf043(), rf044(),
	}
	for _, r := range out {
		r.Network = r.ID != "RF017" && r.ID != "RF018"
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// NetworkRules are the IDs of the rules a network fence can satisfy.
func NetworkRules() []string {
	var out []string
	for _, r := range Rules() {
		if r.Network {
			out = append(out, r.ID)
		}
	}
	return out
}

// Run runs the rules whose IDs are given (all when none), and returns
// their findings sorted by severity (highest first), rule, object. It
// returns the analysis's Err when its context is done.
func Run(c *Context, ids []string) ([]Finding, error) {
	rules := Rules()
	known := map[string]bool{}
	for _, r := range rules {
		known[r.ID] = true
	}
	want := map[string]bool{}
	for _, id := range ids {
		id = strings.ToUpper(strings.TrimSpace(id))
		if !known[id] {
			return nil, fmt.Errorf("unknown rule %q", id)
		}
		want[id] = true
	}
	var out []Finding
	for _, r := range rules {
		if len(want) > 0 && !want[r.ID] {
			continue
		}
		// A stopped analysis (Ctrl-C) gives incomplete answers: stop
		// between rules rather than report from them.
		if c.Analysis != nil && c.Analysis.Err() != nil {
			return nil, c.Analysis.Err()
		}
		for _, f := range r.check(c) {
			f.Rule = r.ID
			// A rule lowers a finding's severity by setting it; Info (the
			// zero value) takes the rule's.
			if f.Severity == Info || f.Severity > r.Severity {
				f.Severity = r.Severity
			}
			if c.World != nil {
				assumeUnread(&f, r.unread, c.World.Unread)
			}
			if f.Confidence == "" {
				f.Confidence = ConfidenceCertain
			}
			// A finding that rests on an assumption is never critical:
			// critical is for what the inputs show.
			if f.Confidence == ConfidencePossible && f.Severity == Critical {
				f.Severity = High
			}
			if f.Remediation == "" {
				f.Remediation = r.Remediation
			}
			sortAffected(f.Affected)
			out = append(out, f)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Severity != b.Severity {
			return a.Severity > b.Severity
		}
		if a.Certain() != b.Certain() {
			return a.Certain()
		}
		if a.Rule != b.Rule {
			return a.Rule < b.Rule
		}
		if a.Object.String() != b.Object.String() {
			return a.Object.String() < b.Object.String()
		}
		return a.Message < b.Message
	})
	return out, nil
}

func sortAffected(list []Affected) {
	sort.SliceStable(list, func(i, j int) bool {
		return list[i].Object.String() < list[j].Object.String()
	})
}
