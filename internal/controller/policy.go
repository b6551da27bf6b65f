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
// in p, or -1 when there is none yet: the rule whose digest the policy
// records as written by the controller; failing that (first adoption, or a
// rule edited by hand), the first rule on exactly the intent's ports whose
// peers are all plain ipBlocks inside AWS's address space (or inside what
// the controller applies). A user's rule for other ports, other peers, or
// addresses outside AWS is never taken for it.
func ManagedRule(p *networkingv1.NetworkPolicy, in Intent, aws []netip.Prefix) int {
	if d := p.Annotations[ManagedRuleAnnotation]; d != "" {
		for i, r := range p.Spec.Egress {
			if ruleDigest(r) == d {
				return i
			}
		}
	}
	space := setOf(aws)
	for i, r := range p.Spec.Egress {
		if len(r.To) == 0 || !equality.Semantic.DeepEqual(r.Ports, in.Ports) {
			continue
		}
		ok := true
		for _, peer := range r.To {
			if peer.IPBlock == nil || peer.PodSelector != nil || peer.NamespaceSelector != nil || len(peer.IPBlock.Except) > 0 {
				ok = false
				break
			}
			pp, err := netip.ParsePrefix(peer.IPBlock.CIDR)
			if err != nil || !space.ContainsPrefix(pp.Masked()) {
				ok = false
				break
			}
		}
		if ok {
			return i
		}
	}
	return -1
}

// Rewrite returns p with its managed egress rule allowing exactly
// prefixes, and whether that changes p. Every other rule is left as it is.
func Rewrite(p *networkingv1.NetworkPolicy, in Intent, prefixes, aws []netip.Prefix) (*networkingv1.NetworkPolicy, bool, error) {
	if len(prefixes) == 0 {
		return nil, false, errors.New("no prefixes to allow: refusing to write a rule without peers, which would allow every address")
	}
	rule := networkingv1.NetworkPolicyEgressRule{Ports: in.Ports}
	for _, pp := range prefixes {
		if pp.Bits() == 0 {
			return nil, false, fmt.Errorf("refusing to write %s", pp)
		}
		rule.To = append(rule.To, networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: pp.String()}})
	}
	out := p.DeepCopy()
	var space []netip.Prefix
	space = append(append(space, aws...), prefixes...)
	i := ManagedRule(p, in, space)
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
	in, err := ParseIntent(p.Annotations)
	if err != nil {
		c.recorder.Eventf(&p, nil, corev1.EventTypeWarning, "InvalidAnnotation", "Reconcile", "%v", err)
		return reconcile.Result{}, nil
	}
	applied, next, err := c.state.resolve(ctx, in.Keys)
	var keyErr *keyError
	switch {
	case errors.Is(err, errNoPublication):
		return reconcile.Result{}, nil
	case errors.As(err, &keyErr):
		c.recorder.Eventf(&p, nil, corev1.EventTypeWarning, "RangesUnavailable", "Reconcile", "%v", err)
		return reconcile.Result{}, nil
	case err != nil:
		c.metrics.errors.WithLabelValues("reconcile").Inc()
		return reconcile.Result{}, err
	}
	doc, _ := c.state.feed()
	var all []Applied
	var union []netip.Prefix
	for _, a := range applied {
		union = append(union, a.Prefixes...)
		all = append(all, a)
		if a.Refused != nil && c.firstReport(req.String()+" "+a.Key.String(), a.Refused.SyncToken) {
			c.recorder.Eventf(&p, nil, corev1.EventTypeWarning, "ShrinkRefused", "Reconcile", "%s: publication %s would remove %d of its prefixes (%.0f%%, more than the %.0f%% allowed): %s kept", a.Key, a.Refused.SyncToken, len(a.Refused.Removed), 100*a.Refused.Share, 100*c.opts.Rules.MaxShrink, prefixList(a.Refused.Removed))
		}
	}
	union = setOf(union).Prefixes()
	updated, changed, err := Rewrite(&p, in, union, awsSpace(doc))
	if err != nil {
		c.recorder.Eventf(&p, nil, corev1.EventTypeWarning, "Refused", "Reconcile", "%v", err)
		return reconcile.Result{}, nil
	}
	if changed {
		metav1.SetMetaDataAnnotation(&updated.ObjectMeta, SyncTokenAnnotation, doc.SyncToken)
		if err := c.client.Update(ctx, updated); err != nil {
			c.metrics.errors.WithLabelValues("reconcile").Inc()
			return reconcile.Result{}, err
		}
		c.metrics.writes.WithLabelValues("NetworkPolicy", "update").Inc()
		c.recorder.Eventf(updated, nil, corev1.EventTypeNormal, "RangesUpdated", "Update", "updated the managed egress rule%s", rangeChange(&p, updated, all, doc))
	}
	c.metrics.lastSync.Set(float64(c.opts.Now().Unix()))
	var res reconcile.Result
	if !next.IsZero() {
		res.RequeueAfter = max(next.Sub(c.opts.Now()), time.Second)
	}
	return res, nil
}
