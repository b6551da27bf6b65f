package controller

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"sort"
	"strings"
	"time"

	"github.com/ringfence/ringfence/api/v1alpha1"
	"github.com/ringfence/ringfence/internal/generate"
	"github.com/ringfence/ringfence/internal/netset"
	"github.com/ringfence/ringfence/internal/ranges"
	"go4.org/netipx"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"
)

// Condition types of a Fence's status.
const (
	CondReady       = "Ready"
	CondFeedHealthy = "FeedHealthy"
	CondSynced      = "Synced"
)

func (c *Controller) setupFences(mgr ctrl.Manager) error {
	all := handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, _ client.Object) []reconcile.Request {
		return c.fenceRequests(ctx, func(*v1alpha1.Fence) bool { return true })
	})
	// A pod matters to the Fences of its namespace and to those whose
	// ingress controller runs there; only its labels and life matter.
	pods := handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, o client.Object) []reconcile.Request {
		return c.fenceRequests(ctx, func(f *v1alpha1.Fence) bool {
			if f.Namespace == o.GetNamespace() {
				return true
			}
			for _, in := range f.Spec.Ingress {
				if in.IngressController != nil && in.IngressController.Namespace == o.GetNamespace() {
					return true
				}
			}
			return false
		})
	})
	return ctrl.NewControllerManagedBy(mgr).
		Named("fence").
		For(&v1alpha1.Fence{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Owns(&networkingv1.NetworkPolicy{}).
		Watches(&corev1.Pod{}, pods, builder.WithPredicates(podChanged())).
		Watches(&corev1.Service{}, all, builder.WithPredicates(serviceChanged())).
		WatchesRawSource(source.Channel(c.fences, all)).
		Complete(reconcile.Func(c.reconcileFence))
}

// podChanged passes the pod events that can change a Fence's policies:
// new and deleted pods, new labels, a pod that finished or is going.
func podChanged() predicate.Predicate {
	return predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
		o, n := e.ObjectOld.(*corev1.Pod), e.ObjectNew.(*corev1.Pod)
		return !equality.Semantic.DeepEqual(o.Labels, n.Labels) || o.Status.Phase != n.Status.Phase || (o.DeletionTimestamp == nil) != (n.DeletionTimestamp == nil)
	}}
}

// serviceChanged passes Service events unless only the status changed
// (Services have no generation to compare).
func serviceChanged() predicate.Predicate {
	return predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
		o, n := e.ObjectOld.(*corev1.Service), e.ObjectNew.(*corev1.Service)
		return !equality.Semantic.DeepEqual(o.Spec, n.Spec)
	}}
}

func (c *Controller) fenceRequests(ctx context.Context, keep func(*v1alpha1.Fence) bool) []reconcile.Request {
	var list v1alpha1.FenceList
	if err := c.client.List(ctx, &list); err != nil {
		c.log.Error(err, "listing Fences")
		return nil
	}
	var out []reconcile.Request
	for i := range list.Items {
		if keep(&list.Items[i]) {
			out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
		}
	}
	return out
}

// fenceKeys are the service@region keys a Fence's egress names.
func fenceKeys(f *v1alpha1.Fence) []Key {
	seen := map[Key]bool{}
	var out []Key
	for _, e := range f.Spec.Egress {
		if e.AWS == nil {
			continue
		}
		k := Key{Service: strings.ToUpper(e.AWS.Service), Region: strings.ToLower(e.AWS.Region)}
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

// appliedDocument is a publication that holds, for each key, exactly what
// the ledger applies; generate renders the Fence from it.
func appliedDocument(doc *ranges.Document, applied []Applied) *ranges.Document {
	out := &ranges.Document{SyncToken: doc.SyncToken, CreateDate: doc.CreateDate, Created: doc.Created, Source: doc.Source}
	for _, a := range applied {
		for _, p := range a.Prefixes {
			out.Prefixes = append(out.Prefixes, ranges.Prefix{Prefix: p, Service: a.Key.Service, Region: a.Key.Region, BorderGroup: a.Key.Region})
		}
	}
	return out
}

// reconcileFence renders a Fence's policies from the cluster and the
// ranges the ledger applies, writes those that differ, deletes those it no
// longer needs, and records what it did in one status write and in Events.
func (c *Controller) reconcileFence(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	var f v1alpha1.Fence
	if err := c.client.Get(ctx, req.NamespacedName, &f); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	if f.DeletionTimestamp != nil {
		// The garbage collector removes what the Fence owns.
		return reconcile.Result{}, nil
	}
	status := f.Status.DeepCopy()
	status.ObservedGeneration = f.Generation
	doc, feedErr := c.state.feed()
	setFeedCondition(status, f.Generation, feedErr, doc != nil)
	var warnings []warning
	var refused *RefusedPublication
	if errors.As(feedErr, &refused) {
		warnings = append(warnings, warning{"PublicationRefused", "RefusePublication " + refused.SyncToken, feedErr.Error()})
	}

	res, err := c.applyFence(ctx, &f, status, &warnings)
	if serr := c.writeStatus(ctx, &f, status); serr != nil && err == nil {
		if apierrors.IsConflict(serr) {
			// Read from a cache older than the Fence: do it again with the
			// newer one rather than write a status computed from stale data.
			return reconcile.Result{RequeueAfter: conflictRetry}, nil
		}
		err = serr
	}
	c.warn("Fence "+req.String(), &f, warnings)
	if apierrors.IsConflict(err) {
		// A policy changed since the cache was read: again, with the
		// newer one (not an error, not backoff).
		return reconcile.Result{RequeueAfter: conflictRetry}, nil
	}
	if err != nil {
		c.metrics.errors.WithLabelValues("reconcile").Inc()
		return reconcile.Result{}, err
	}
	c.metrics.lastSync.Set(float64(c.opts.Now().Unix()))
	return res, nil
}

func setFeedCondition(status *v1alpha1.FenceStatus, gen int64, feedErr error, haveDoc bool) {
	cond := metav1.Condition{Type: CondFeedHealthy, ObservedGeneration: gen}
	var refused *RefusedPublication
	switch {
	case errors.As(feedErr, &refused):
		cond.Status, cond.Reason, cond.Message = metav1.ConditionFalse, "PublicationRefused", "the last publication read was refused as implausible and the policies keep the ranges they had: "+feedErr.Error()
	case feedErr != nil:
		cond.Status, cond.Reason, cond.Message = metav1.ConditionFalse, "FeedRejected", "the last publication read was rejected and the policies keep the ranges they had: "+feedErr.Error()
	case haveDoc:
		cond.Status, cond.Reason, cond.Message = metav1.ConditionTrue, "Verified", "the last publication read was valid and not older than the one applied"
	default:
		cond.Status, cond.Reason, cond.Message = metav1.ConditionUnknown, "Waiting", "no publication read yet"
	}
	meta.SetStatusCondition(&status.Conditions, cond)
}

// requeueAt is the result that wakes a reconcile when the next grace
// period ends; every path of a reconcile that does not fail returns it, so
// that a refusal never delays a removal (or what comes after it).
func (c *Controller) requeueAt(next time.Time) reconcile.Result {
	if next.IsZero() {
		return reconcile.Result{}
	}
	return reconcile.Result{RequeueAfter: max(next.Sub(c.opts.Now()), time.Second)}
}

// applyFence does the work of a reconcile and fills in the Ready and
// Synced conditions; what the Fence should be warned of goes to warnings.
func (c *Controller) applyFence(ctx context.Context, f *v1alpha1.Fence, status *v1alpha1.FenceStatus, warnings *[]warning) (reconcile.Result, error) {
	ready := func(s metav1.ConditionStatus, reason, msg string) {
		meta.SetStatusCondition(&status.Conditions, metav1.Condition{Type: CondReady, Status: s, Reason: reason, Message: msg, ObservedGeneration: f.Generation})
	}
	synced := func(s metav1.ConditionStatus, reason, msg string) {
		meta.SetStatusCondition(&status.Conditions, metav1.Condition{Type: CondSynced, Status: s, Reason: reason, Message: msg, ObservedGeneration: f.Generation})
	}
	doc, _ := c.state.feed()
	keys := fenceKeys(f)
	applied, next, err := c.state.resolve(ctx, keys)
	res := c.requeueAt(next)
	var keyErr *keyError
	switch {
	case errors.Is(err, errNoPublication):
		ready(metav1.ConditionUnknown, "WaitingForFeed", "no AWS ip-ranges publication accepted yet; nothing is written before one")
		synced(metav1.ConditionUnknown, "WaitingForFeed", "no AWS ip-ranges publication accepted yet")
		return res, nil
	case errors.As(err, &keyErr):
		*warnings = append(*warnings, warning{"RangesUnavailable", "", keyErr.Error()})
		if len(applied) < len(keys) {
			// A service never resolved: writing without it would leave
			// out what the Fence asks for.
			ready(metav1.ConditionFalse, "RangesUnavailable", keyErr.Error())
			synced(metav1.ConditionFalse, "RangesUnavailable", keyErr.Error())
			return res, nil
		}
		// Every service keeps what the ledger holds: write the rest.
	case err != nil:
		return reconcile.Result{}, err
	}
	pw := problemWarnings(applied, c.opts.Rules)
	*warnings = append(*warnings, pw...)
	w, err := c.world(ctx, f)
	if err != nil {
		ready(metav1.ConditionFalse, "InvalidSpec", err.Error())
		return res, nil
	}
	out, err := generate.Generate(w, appliedDocument(doc, applied), generate.Options{})
	if err != nil {
		ready(metav1.ConditionFalse, "RenderFailed", err.Error())
		return res, nil
	}
	// Owner references cannot cross namespaces: a policy generate writes
	// elsewhere (for another namespace's workloads) is left to
	// `ringfence generate` and said in the Ready message.
	var own []*networkingv1.NetworkPolicy
	for _, p := range out.Policies {
		if p.Namespace == f.Namespace {
			own = append(own, p)
		} else {
			out.Warnings = append(out.Warnings, fmt.Sprintf("NetworkPolicy %s/%s is outside the Fence's namespace and not written by the controller", p.Namespace, p.Name))
		}
	}
	// Every policy is checked before any is written: a refused render
	// writes nothing, says why, and still wakes at the next grace expiry.
	for _, p := range own {
		if err := guardPolicy(p); err != nil {
			ready(metav1.ConditionFalse, "Refused", err.Error())
			*warnings = append(*warnings, warning{"Refused", "", err.Error()})
			return res, nil
		}
	}
	names, changes, err := c.writePolicies(ctx, f, own, applied, doc)
	if err != nil {
		if !apierrors.IsConflict(err) {
			ready(metav1.ConditionFalse, "WriteFailed", err.Error())
		}
		return reconcile.Result{}, err
	}
	status.Policies = names
	if len(changes) > 0 || status.SyncToken == "" {
		status.SyncToken = doc.SyncToken
	}
	msg := fmt.Sprintf("%d NetworkPolicies written from the Fence", len(names))
	if len(out.Warnings) > 0 {
		msg += "; " + strings.Join(out.Warnings, "; ")
	}
	ready(metav1.ConditionTrue, "Applied", msg)
	reason, problems, grace := appliedProblems(applied, pw)
	switch {
	case keyErr != nil:
		synced(metav1.ConditionFalse, "RangesUnavailable", fmt.Sprintf("the policies hold AWS ip-ranges syncToken %s; %s", status.SyncToken, strings.Join(append([]string{keyErr.Error()}, problems...), "; ")))
	case reason != "":
		synced(metav1.ConditionFalse, reason, fmt.Sprintf("the policies hold AWS ip-ranges syncToken %s; %s", status.SyncToken, strings.Join(problems, "; ")))
	case len(grace) > 0:
		synced(metav1.ConditionTrue, "GracePeriod", fmt.Sprintf("the policies hold AWS ip-ranges syncToken %s; %s", status.SyncToken, strings.Join(grace, "; ")))
	default:
		synced(metav1.ConditionTrue, "UpToDate", fmt.Sprintf("the policies hold AWS ip-ranges syncToken %s", status.SyncToken))
	}
	return res, nil
}

// appliedProblems describes what the ledger refused, held or dropped for
// the keys (reason is the first kind), and the prefixes in a grace period.
func appliedProblems(applied []Applied, pw []warning) (reason string, problems, grace []string) {
	for _, w := range pw {
		if reason == "" {
			reason = w.reason
		}
		problems = append(problems, w.note)
	}
	for _, a := range applied {
		if len(a.Pending) > 0 {
			grace = append(grace, fmt.Sprintf("%s keeps %s in its grace period", a.Key, shortList(a.Pending)))
		}
	}
	return reason, problems, grace
}

// problemWarnings are the Warnings of what the ledger refused (a shrink),
// holds (a growth) or does not apply (too wide) for the keys.
func problemWarnings(applied []Applied, rules Rules) []warning {
	var out []warning
	for _, a := range applied {
		if a.Refused != nil {
			out = append(out, warning{"ShrinkRefused", "RefuseShrink " + a.Refused.SyncToken, fmt.Sprintf("%s: publication %s would remove %d of its prefixes (%.0f%%, more than the %.0f%% allowed): %s kept", a.Key, a.Refused.SyncToken, len(a.Refused.Removed), 100*a.Refused.Share, 100*rules.MaxShrink, shortList(a.Refused.Removed))})
		}
		if a.Held != nil {
			out = append(out, warning{"GrowthHeld", "HoldGrowth " + a.Held.SyncToken, fmt.Sprintf("%s: publication %s would add %s, growing its addresses by %s (more than the %.0f%% allowed): held until a later publication confirms it, or annotate the ledger ConfigMap %s=%s", a.Key, a.Held.SyncToken, shortList(a.Held.Added), growthText(a.Held.Share), 100*rules.maxGrowth(), ApproveGrowthAnnotation, a.Held.SyncToken)})
		}
		if len(a.Dropped) > 0 {
			out = append(out, warning{"RangesDropped", "", fmt.Sprintf("%s: the ledger holds %s, with which it would cover more than 1/64 of an address family: not applied", a.Key, shortList(a.Dropped))})
		}
	}
	return out
}

func growthText(g float64) string {
	if math.IsInf(g, 1) {
		return "a new address family"
	}
	return fmt.Sprintf("%.0f%%", 100*g)
}

// writeStatus writes the status, when it changed, in one update that
// carries the conditions and the syncToken together. An update (not a
// merge patch) fails on a Fence changed since it was read, so a status
// computed from a stale cache never lands.
func (c *Controller) writeStatus(ctx context.Context, f *v1alpha1.Fence, status *v1alpha1.FenceStatus) error {
	if equality.Semantic.DeepEqual(&f.Status, status) {
		return nil
	}
	f.Status = *status
	if err := c.client.Status().Update(ctx, f); err != nil {
		return client.IgnoreNotFound(err)
	}
	c.metrics.writes.WithLabelValues("Fence", "status").Inc()
	return nil
}

// writePolicies makes the cluster hold the desired policies of f: creates,
// updates what differs (a policy whose rules are unchanged is not written,
// so its syncToken annotation stays), deletes what f owns and no longer
// needs, and emits an Event per change with the prefixes added and
// removed. It returns the policy names and the changes made.
func (c *Controller) writePolicies(ctx context.Context, f *v1alpha1.Fence, desired []*networkingv1.NetworkPolicy, applied []Applied, doc *ranges.Document) ([]string, []string, error) {
	var names, changes []string
	want := map[string]bool{}
	for _, d := range desired {
		want[d.Name] = true
		names = append(names, d.Name)
		var live networkingv1.NetworkPolicy
		err := c.client.Get(ctx, types.NamespacedName{Namespace: d.Namespace, Name: d.Name}, &live)
		shared := d.Annotations[generate.FenceAnnotation] == ""
		switch {
		case apierrors.IsNotFound(err):
			obj := d.DeepCopy()
			obj.TypeMeta = metav1.TypeMeta{}
			if err := c.own(f, obj, shared); err != nil {
				return nil, nil, err
			}
			if err := c.client.Create(ctx, obj); err != nil {
				return nil, nil, fmt.Errorf("creating NetworkPolicy %s/%s: %w", d.Namespace, d.Name, err)
			}
			c.metrics.writes.WithLabelValues("NetworkPolicy", "create").Inc()
			short, full := rangeChange(nil, obj, applied, doc)
			note := fmt.Sprintf("created NetworkPolicy %s/%s%s", d.Namespace, d.Name, short)
			c.logChange(note, short, full)
			c.event(f, obj, corev1.EventTypeNormal, "PolicyCreated", "Create", note)
			changes = append(changes, note)
			continue
		case err != nil:
			return nil, nil, err
		}
		if live.Labels[generate.ManagedByLabel] != generate.ManagedBy {
			return nil, nil, fmt.Errorf("NetworkPolicy %s/%s exists and is not managed by ringfence: rename or delete it", d.Namespace, d.Name)
		}
		if !shared && !metav1.IsControlledBy(&live, f) {
			return nil, nil, fmt.Errorf("NetworkPolicy %s/%s belongs to another owner", d.Namespace, d.Name)
		}
		updated := live.DeepCopy()
		updated.Spec = d.Spec
		for k, v := range d.Labels {
			metav1.SetMetaDataLabel(&updated.ObjectMeta, k, v)
		}
		if err := c.own(f, updated, shared); err != nil {
			return nil, nil, err
		}
		specChanged := !equality.Semantic.DeepEqual(live.Spec, updated.Spec)
		if specChanged {
			metav1.SetMetaDataAnnotation(&updated.ObjectMeta, SyncTokenAnnotation, d.Annotations[SyncTokenAnnotation])
		}
		if equality.Semantic.DeepEqual(live.ObjectMeta, updated.ObjectMeta) && !specChanged {
			continue
		}
		if err := c.client.Update(ctx, updated); err != nil {
			return nil, nil, fmt.Errorf("updating NetworkPolicy %s/%s: %w", d.Namespace, d.Name, err)
		}
		c.metrics.writes.WithLabelValues("NetworkPolicy", "update").Inc()
		if specChanged {
			reason, note := "PolicyUpdated", fmt.Sprintf("updated NetworkPolicy %s/%s", d.Namespace, d.Name)
			if short, full := rangeChange(&live, updated, applied, doc); short != "" {
				reason, note = "RangesUpdated", note+short
				c.logChange(note, short, full)
			}
			c.event(f, updated, corev1.EventTypeNormal, reason, "Update", note)
			changes = append(changes, note)
		}
	}
	// Delete what f controls and no longer wants (a finished job's peers).
	existing, err := c.managedPolicies(ctx, f.Namespace)
	if err != nil {
		return nil, nil, err
	}
	for i := range existing {
		p := &existing[i]
		if want[p.Name] || !metav1.IsControlledBy(p, f) {
			continue
		}
		if err := c.client.Delete(ctx, p); client.IgnoreNotFound(err) != nil {
			return nil, nil, err
		}
		c.metrics.writes.WithLabelValues("NetworkPolicy", "delete").Inc()
		note := fmt.Sprintf("deleted NetworkPolicy %s/%s, which the Fence no longer needs", p.Namespace, p.Name)
		c.event(f, p, corev1.EventTypeNormal, "PolicyDeleted", "Delete", note)
		changes = append(changes, note)
	}
	sort.Strings(names)
	return names, changes, nil
}

// own makes f an owner of obj: the controller of the Fence's own
// policies; one of the owners of the namespace's shared default-deny, so
// that the garbage collector removes it with the last Fence.
func (c *Controller) own(f *v1alpha1.Fence, obj *networkingv1.NetworkPolicy, shared bool) error {
	gvk := v1alpha1.SchemeGroupVersion.WithKind("Fence")
	if shared {
		for _, r := range obj.OwnerReferences {
			if r.UID == f.UID {
				return nil
			}
		}
		obj.OwnerReferences = append(obj.OwnerReferences, metav1.OwnerReference{APIVersion: gvk.GroupVersion().String(), Kind: gvk.Kind, Name: f.Name, UID: f.UID})
		return nil
	}
	if metav1.IsControlledBy(obj, f) {
		return nil
	}
	return controllerutil.SetControllerReference(f, obj, c.scheme)
}

// rangeChange describes the addresses a write adds to and removes from
// the policy's egress, naming the keys it serves: short names at most a
// few prefixes per list (for Events), full all of them (for the log).
// Additions are named by the prefixes AWS published for them where
// possible.
func rangeChange(old, new *networkingv1.NetworkPolicy, applied []Applied, doc *ranges.Document) (short, full string) {
	added, removed := Diff(ipBlocks(old), ipBlocks(new))
	if len(added) == 0 && len(removed) == 0 {
		return "", ""
	}
	keys := make([]string, len(applied))
	var published []netip.Prefix
	for i, a := range applied {
		keys[i] = a.Key.String()
		if doc != nil {
			published = append(published, selectKey(doc, a.Key)...)
		}
	}
	text := func(list func([]netip.Prefix) string) string {
		var parts []string
		if old == nil {
			parts = append(parts, fmt.Sprintf("%d CIDRs", len(ipBlocks(new))))
		} else {
			if len(added) > 0 {
				parts = append(parts, "added "+list(asPublished(added, published)))
			}
			if len(removed) > 0 {
				parts = append(parts, "removed "+list(removed))
			}
		}
		t := strings.Join(parts, "; ")
		if len(keys) > 0 {
			t = strings.Join(keys, ", ") + " " + t
		}
		return ": " + t
	}
	return text(shortList), text(prefixList)
}

// logChange logs the full change when the Event's note names only part.
func (c *Controller) logChange(note, short, full string) {
	if short != full {
		c.log.Info("ranges changed (the Event lists part)", "event", note, "change", strings.TrimPrefix(full, ": "))
	}
}

func prefixList(ps []netip.Prefix) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, ", ")
}

// asPublished names the addresses of set by the published prefixes that
// lie in it, and the rest by aggregated CIDRs.
func asPublished(set, published []netip.Prefix) []netip.Prefix {
	s := setOf(set)
	var out, rest []netip.Prefix
	seen := map[netip.Prefix]bool{}
	for _, p := range published {
		if s.ContainsPrefix(p) && !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	rest = netset.Difference(s, setOf(out)).Prefixes()
	out = append(out, rest...)
	sortPrefixes(out)
	return out
}

// ipBlocks returns the egress ipBlock CIDRs of a policy.
func ipBlocks(p *networkingv1.NetworkPolicy) []netip.Prefix {
	if p == nil {
		return nil
	}
	var out []netip.Prefix
	for _, r := range p.Spec.Egress {
		for _, peer := range r.To {
			if peer.IPBlock != nil {
				if pp, err := netip.ParsePrefix(peer.IPBlock.CIDR); err == nil {
					out = append(out, pp.Masked())
				}
			}
		}
	}
	return out
}

// ipBlockSet is the set of addresses a policy's egress ipBlocks allow
// (each CIDR minus its excepts).
func ipBlockSet(p *networkingv1.NetworkPolicy) *netipx.IPSet {
	var b netipx.IPSetBuilder
	for _, r := range p.Spec.Egress {
		for _, peer := range r.To {
			if peer.IPBlock == nil {
				continue
			}
			var one netipx.IPSetBuilder
			if pp, err := netip.ParsePrefix(peer.IPBlock.CIDR); err == nil {
				one.AddPrefix(pp.Masked())
			}
			for _, x := range peer.IPBlock.Except {
				if xp, err := netip.ParsePrefix(x); err == nil {
					one.RemovePrefix(xp.Masked())
				}
			}
			s, _ := one.IPSet()
			b.AddSet(s)
		}
	}
	s, _ := b.IPSet()
	return s
}

// guardPolicy refuses to write what the controller must never write:
// egress ipBlocks that together allow a whole address family, however
// they are split (0.0.0.0/1 and 128.0.0.0/1 are 0.0.0.0/0).
func guardPolicy(p *networkingv1.NetworkPolicy) error {
	if all, ok := wholeSpace(ipBlockSet(p)); ok {
		return fmt.Errorf("refusing to write NetworkPolicy %s/%s: its egress ipBlocks together allow %s", p.Namespace, p.Name, all)
	}
	return nil
}
