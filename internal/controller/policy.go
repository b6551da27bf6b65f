package controller

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ringfence/ringfence/internal/ranges"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"
)

// optedIn reports whether a policy asks for its ranges to be kept.
func optedIn(o client.Object) bool {
	_, ok := o.GetAnnotations()[RangesAnnotation]
	return ok
}

func (c *Controller) setupPolicies(mgr ctrl.Manager) error {
	all := handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, _ client.Object) []reconcile.Request {
		var list networkingv1.NetworkPolicyList
		if err := c.client.List(ctx, &list); err != nil {
			c.log.Error(err, "listing NetworkPolicies")
			return nil
		}
		var out []reconcile.Request
		for i := range list.Items {
			if optedIn(&list.Items[i]) {
				out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
			}
		}
		return out
	})
	return ctrl.NewControllerManagedBy(mgr).
		Named("annotated-networkpolicy").
		For(&networkingv1.NetworkPolicy{}, builder.WithPredicates(predicate.NewPredicateFuncs(optedIn))).
		WatchesRawSource(source.Channel(c.policies, all)).
		Complete(reconcile.Func(c.reconcilePolicy))
}

// Intent is what a policy's annotations ask for.
type Intent struct {
	Keys  []Key
	Ports []networkingv1.NetworkPolicyPort
}

// ParseIntent reads the annotations of an opted-in policy.
func ParseIntent(annotations map[string]string) (Intent, error) {
	var in Intent
	seen := map[Key]bool{}
	for _, s := range strings.Split(annotations[RangesAnnotation], ",") {
		k, err := ParseKey(s)
		if err != nil {
			return in, fmt.Errorf("annotation %s: %w", RangesAnnotation, err)
		}
		if !seen[k] {
			seen[k] = true
			in.Keys = append(in.Keys, k)
		}
	}
	sort.Slice(in.Keys, func(i, j int) bool { return in.Keys[i].String() < in.Keys[j].String() })
	ports := annotations[PortsAnnotation]
	if strings.TrimSpace(ports) == "" {
		ports = "TCP/443"
	}
	for _, s := range strings.Split(ports, ",") {
		proto, num, ok := strings.Cut(strings.TrimSpace(s), "/")
		if !ok {
			proto, num = "TCP", proto
		}
		proto = strings.ToUpper(proto)
		n, err := strconv.ParseInt(num, 10, 32)
		if err != nil || n < 1 || n > 65535 || (proto != "TCP" && proto != "UDP" && proto != "SCTP") {
			return in, fmt.Errorf("annotation %s: %q: want PROTOCOL/PORT, e.g. TCP/443", PortsAnnotation, s)
		}
		p := corev1.Protocol(proto)
		port := intstr.FromInt32(int32(n))
		in.Ports = append(in.Ports, networkingv1.NetworkPolicyPort{Protocol: &p, Port: &port})
	}
	return in, nil
}

// ruleDigest identifies the rule the controller wrote last, recorded in
// ManagedRuleAnnotation with the rule (NetworkPolicy rules have no names).
func ruleDigest(r networkingv1.NetworkPolicyEgressRule) string {
	b, _ := json.Marshal(r)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// ManagedRule returns the index of the egress rule the controller manages
// in p, or -1 when there is none (yet), and whether the rule was edited by
// hand since the controller wrote it. The managed rule is the one whose
// digest the policy records (ManagedRuleAnnotation). When a digest is
// recorded but no rule has it, the rule was edited: it is the rule whose
// peers are all ipBlocks and most of them inside space (AWS's addresses
// and what the controller applies), on the intent's ports if one is;
// -1 if the user removed it. Without a digest (first adoption) it is the
// first rule on exactly the intent's ports whose peers are all plain
// ipBlocks inside space. A user's rule for other peers, or for addresses
// outside AWS only, is never taken for it.
func ManagedRule(p *networkingv1.NetworkPolicy, in Intent, space []netip.Prefix) (int, bool) {
	set := setOf(space)
	if d := p.Annotations[ManagedRuleAnnotation]; d != "" {
		for i, r := range p.Spec.Egress {
			if ruleDigest(r) == d {
				return i, false
			}
		}
		best, bestScore := -1, 0
		for i, r := range p.Spec.Egress {
			inside, all := awsPeers(r, set)
			if inside == 0 || !all {
				continue
			}
			score := inside
			if equality.Semantic.DeepEqual(r.Ports, in.Ports) {
				score += 1 << 20
			}
			if score > bestScore {
				best, bestScore = i, score
			}
		}
		return best, true
	}
	for i, r := range p.Spec.Egress {
		if len(r.To) == 0 || !equality.Semantic.DeepEqual(r.Ports, in.Ports) {
			continue
		}
		inside, all := awsPeers(r, set)
		if all && inside == len(r.To) {
			if plain(r) {
				return i, false
			}
		}
	}
	return -1, false
}

// awsPeers counts the peers of r that are ipBlocks inside set; all says
// whether every peer is an ipBlock (no pod or namespace selector).
func awsPeers(r networkingv1.NetworkPolicyEgressRule, set interface{ ContainsPrefix(netip.Prefix) bool }) (inside int, all bool) {
	all = true
	for _, peer := range r.To {
		if peer.IPBlock == nil || peer.PodSelector != nil || peer.NamespaceSelector != nil {
			all = false
			continue
		}
		if pp, err := netip.ParsePrefix(peer.IPBlock.CIDR); err == nil && set.ContainsPrefix(pp.Masked()) {
			inside++
		}
	}
	return inside, all
}

// plain reports whether no ipBlock of r has excepts.
func plain(r networkingv1.NetworkPolicyEgressRule) bool {
	for _, peer := range r.To {
		if peer.IPBlock != nil && len(peer.IPBlock.Except) > 0 {
			return false
		}
	}
	return true
}

// Rewrite returns p with its managed egress rule allowing exactly
// prefixes, and whether that changes p. Every other rule is left as it
// is; a managed rule edited by hand is restored.
func Rewrite(p *networkingv1.NetworkPolicy, in Intent, prefixes, aws []netip.Prefix) (*networkingv1.NetworkPolicy, bool, error) {
	if len(prefixes) == 0 {
		return nil, false, errors.New("no prefixes to allow: refusing to write a rule without peers, which would allow every address")
	}
	if all, ok := wholeSpace(setOf(prefixes)); ok {
		return nil, false, fmt.Errorf("refusing to write ranges that together allow %s", all)
	}
	rule := networkingv1.NetworkPolicyEgressRule{Ports: in.Ports}
	for _, pp := range prefixes {
		rule.To = append(rule.To, networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: pp.String()}})
	}
	out := p.DeepCopy()
	var space []netip.Prefix
	space = append(append(space, aws...), prefixes...)
	i, _ := ManagedRule(p, in, space)
	if i >= 0 && equality.Semantic.DeepEqual(p.Spec.Egress[i], rule) {
		return p, false, nil
	}
	if i < 0 {
		out.Spec.Egress = append(out.Spec.Egress, rule)
	} else {
		out.Spec.Egress[i] = rule
	}
	metav1.SetMetaDataAnnotation(&out.ObjectMeta, ManagedRuleAnnotation, ruleDigest(rule))
	return out, true, nil
}

// awsSpace is every address AWS publishes (service AMAZON holds them all).
func awsSpace(doc *ranges.Document) []netip.Prefix {
	return ranges.Aggregate(doc.Select(ranges.Filter{Services: []string{"AMAZON"}}))
}

// reconcilePolicy keeps the managed egress rule of an opted-in policy.
func (c *Controller) reconcilePolicy(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	var p networkingv1.NetworkPolicy
	if err := c.client.Get(ctx, req.NamespacedName, &p); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	if !optedIn(&p) || p.DeletionTimestamp != nil {
		return reconcile.Result{}, nil
	}
	who := "NetworkPolicy " + req.String()
	in, err := ParseIntent(p.Annotations)
	if err != nil {
		c.warn(who, &p, []warning{{"InvalidAnnotation", "", err.Error()}})
		return reconcile.Result{}, nil
	}
	var warnings []warning
	defer func() { c.warn(who, &p, warnings) }()
	doc, feedErr := c.state.feed()
	var refused *RefusedPublication
	if errors.As(feedErr, &refused) {
		warnings = append(warnings, warning{"PublicationRefused", "RefusePublication " + refused.SyncToken, feedErr.Error()})
	}
	applied, next, err := c.state.resolve(ctx, in.Keys)
	res := c.requeueAt(next)
	var keyErr *keyError
	switch {
	case errors.Is(err, errNoPublication):
		return res, nil
	case errors.As(err, &keyErr):
		warnings = append(warnings, warning{"RangesUnavailable", "", err.Error()})
		if len(applied) < len(in.Keys) {
			return res, nil
		}
	case err != nil:
		c.metrics.errors.WithLabelValues("reconcile").Inc()
		return reconcile.Result{}, err
	}
	var union []netip.Prefix
	for _, a := range applied {
		union = append(union, a.Prefixes...)
	}
	warnings = append(warnings, problemWarnings(applied, c.opts.Rules)...)
	union = setOf(union).Prefixes()
	aws := awsSpace(doc)
	updated, changed, err := Rewrite(&p, in, union, aws)
	if err == nil {
		err = guardPolicy(updated)
	}
	if err != nil {
		warnings = append(warnings, warning{"Refused", "", err.Error()})
		return res, nil
	}
	if !changed {
		c.metrics.lastSync.Set(float64(c.opts.Now().Unix()))
		return res, nil
	}
	metav1.SetMetaDataAnnotation(&updated.ObjectMeta, SyncTokenAnnotation, doc.SyncToken)
	restored := ""
	if i, edited := ManagedRule(&p, in, append(append([]netip.Prefix{}, aws...), union...)); edited {
		restored = c.restoreNote(&p, i, in, union)
		cond, _ := json.Marshal(metav1.Condition{Type: "ManagedRuleRestored", Status: metav1.ConditionTrue, Reason: "EditedByHand", Message: restored, LastTransitionTime: metav1.NewTime(c.opts.Now().UTC().Truncate(time.Second))})
		metav1.SetMetaDataAnnotation(&updated.ObjectMeta, ConditionAnnotation, string(cond))
	}
	if err := c.client.Update(ctx, updated); err != nil {
		if apierrors.IsConflict(err) {
			// Read from a cache older than the policy: again, with the
			// newer one.
			return reconcile.Result{RequeueAfter: conflictRetry}, nil
		}
		c.metrics.errors.WithLabelValues("reconcile").Inc()
		return reconcile.Result{}, err
	}
	c.metrics.writes.WithLabelValues("NetworkPolicy", "update").Inc()
	if restored != "" {
		// Every restore is a write of its own: one Warning each.
		c.event(updated, nil, corev1.EventTypeWarning, "ManagedRuleRestored", "Update", restored)
	}
	if short, full := rangeChange(&p, updated, applied, doc); short != "" {
		note := "updated the managed egress rule" + short
		c.logChange(note, short, full)
		c.event(updated, nil, corev1.EventTypeNormal, "RangesUpdated", "Update", note)
	}
	c.metrics.lastSync.Set(float64(c.opts.Now().Unix()))
	return res, nil
}

// restoreNote says how a hand-edited managed rule (index i, -1 when it was
// removed) differed from what the controller applies.
func (c *Controller) restoreNote(p *networkingv1.NetworkPolicy, i int, in Intent, union []netip.Prefix) string {
	keys := make([]string, len(in.Keys))
	for j, k := range in.Keys {
		keys[j] = k.String()
	}
	what := "removed"
	if i >= 0 {
		var r networkingv1.NetworkPolicy
		r.Spec.Egress = []networkingv1.NetworkPolicyEgressRule{p.Spec.Egress[i]}
		extra, missing := Diff(union, ipBlocks(&r))
		var parts []string
		if len(extra) > 0 {
			parts = append(parts, "added "+shortList(extra))
		}
		if len(missing) > 0 {
			parts = append(parts, "removed "+shortList(missing))
		}
		if !equality.Semantic.DeepEqual(p.Spec.Egress[i].Ports, in.Ports) {
			parts = append(parts, "changed its ports")
		}
		what = strings.Join(parts, ", ")
		if what == "" {
			what = "changed"
		}
	}
	return fmt.Sprintf("the egress rule the controller manages (%s) was edited by hand (%s): restored to the ranges of %s; put other addresses in a rule of their own", ManagedRuleAnnotation, what, strings.Join(keys, ", "))
}
