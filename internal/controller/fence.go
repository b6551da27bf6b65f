package controller

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"time"

	"github.com/ringfence/ringfence/api/v1alpha1"
	"github.com/ringfence/ringfence/internal/generate"
	"github.com/ringfence/ringfence/internal/netset"
	"github.com/ringfence/ringfence/internal/ranges"
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
// longer needs, and records what it did in the status and in Events.
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

	res, err := c.applyFence(ctx, &f, status)
	if serr := c.writeStatus(ctx, &f, status); serr != nil && err == nil {
		err = serr
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
	switch {
	case feedErr != nil:
		cond.Status, cond.Reason, cond.Message = metav1.ConditionFalse, "FeedRejected", "the last publication read was rejected and the policies keep the ranges they had: "+feedErr.Error()
	case haveDoc:
		cond.Status, cond.Reason, cond.Message = metav1.ConditionTrue, "Verified", "the last publication read was valid and not older than the one applied"
	default:
		cond.Status, cond.Reason, cond.Message = metav1.ConditionUnknown, "Waiting", "no publication read yet"
	}
	meta.SetStatusCondition(&status.Conditions, cond)
}

// applyFence does the work of a reconcile and fills in the Ready and
// Synced conditions.
func (c *Controller) applyFence(ctx context.Context, f *v1alpha1.Fence, status *v1alpha1.FenceStatus) (reconcile.Result, error) {
	ready := func(s metav1.ConditionStatus, reason, msg string) {
		meta.SetStatusCondition(&status.Conditions, metav1.Condition{Type: CondReady, Status: s, Reason: reason, Message: msg, ObservedGeneration: f.Generation})
	}
	synced := func(s metav1.ConditionStatus, reason, msg string) {
		meta.SetStatusCondition(&status.Conditions, metav1.Condition{Type: CondSynced, Status: s, Reason: reason, Message: msg, ObservedGeneration: f.Generation})
	}
	doc, _ := c.state.feed()
	applied, next, err := c.state.resolve(ctx, fenceKeys(f))
	var keyErr *keyError
	switch {
	case errors.Is(err, errNoPublication):
		ready(metav1.ConditionUnknown, "WaitingForFeed", "no AWS ip-ranges publication accepted yet; nothing is written before one")
		synced(metav1.ConditionUnknown, "WaitingForFeed", "no AWS ip-ranges publication accepted yet")
		return reconcile.Result{}, nil
	case errors.As(err, &keyErr):
		ready(metav1.ConditionFalse, "RangesUnavailable", keyErr.Error())
		synced(metav1.ConditionFalse, "RangesUnavailable", keyErr.Error())
		return reconcile.Result{}, nil
	case err != nil:
		return reconcile.Result{}, err
	}
	w, err := c.world(ctx, f)
	if err != nil {
		ready(metav1.ConditionFalse, "InvalidSpec", err.Error())
		return reconcile.Result{}, nil
	}
	out, err := generate.Generate(w, appliedDocument(doc, applied), generate.Options{})
	if err != nil {
		ready(metav1.ConditionFalse, "RenderFailed", err.Error())
		return reconcile.Result{}, nil
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
	names, changes, err := c.writePolicies(ctx, f, own, applied, doc)
	if err != nil {
		ready(metav1.ConditionFalse, "WriteFailed", err.Error())
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
	var grace, refused []string
	for _, a := range applied {
		if len(a.Pending) > 0 {
			grace = append(grace, fmt.Sprintf("%s keeps %s in its grace period", a.Key, prefixList(a.Pending)))
		}
		if a.Refused != nil {
			refused = append(refused, fmt.Sprintf("%s: publication %s would remove %d of its prefixes (%.0f%%, more than the %.0f%% allowed): %s kept", a.Key, a.Refused.SyncToken, len(a.Refused.Removed), 100*a.Refused.Share, 100*c.opts.Rules.MaxShrink, prefixList(a.Refused.Removed)))
		}
	}
	switch {
	case len(refused) > 0:
		synced(metav1.ConditionFalse, "ShrinkRefused", strings.Join(refused, "; "))
	case len(grace) > 0:
		synced(metav1.ConditionTrue, "GracePeriod", fmt.Sprintf("the policies hold AWS ip-ranges syncToken %s; %s", status.SyncToken, strings.Join(grace, "; ")))
	default:
		synced(metav1.ConditionTrue, "UpToDate", fmt.Sprintf("the policies hold AWS ip-ranges syncToken %s", status.SyncToken))
	}
	var res reconcile.Result
	if !next.IsZero() {
		res.RequeueAfter = max(next.Sub(c.opts.Now()), time.Second)
	}
	return res, nil
}

func prefixList(ps []netip.Prefix) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, ", ")
}

// writeStatus updates the status only when it changed.
func (cr *Controller) writeStatus(ctx context.Context, f *v1alpha1.Fence, status *v1alpha1.FenceStatus) error {
	if equality.Semantic.DeepEqual(&f.Status, status) {
		return nil
	}
	if c := meta.FindStatusCondition(status.Conditions, CondSynced); c != nil && c.Reason == "ShrinkRefused" && !meta.IsStatusConditionPresentAndEqual(f.Status.Conditions, CondSynced, c.Status) {
		cr.recorder.Eventf(f, nil, corev1.EventTypeWarning, "ShrinkRefused", "Reconcile", "%s", c.Message)
	}
	patch := client.MergeFrom(f.DeepCopy())
	f.Status = *status
	if err := cr.client.Status().Patch(ctx, f, patch); err != nil {
		return client.IgnoreNotFound(err)
	}
	cr.metrics.writes.WithLabelValues("Fence", "status").Inc()
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
		if err := guardPolicy(d); err != nil {
			return nil, nil, err
		}
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
			note := fmt.Sprintf("created NetworkPolicy %s/%s%s", d.Namespace, d.Name, rangeChange(nil, obj, applied, doc))
			c.recorder.Eventf(f, obj, corev1.EventTypeNormal, "PolicyCreated", "Create", "%s", note)
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
			if rc := rangeChange(&live, updated, applied, doc); rc != "" {
				reason, note = "RangesUpdated", note+rc
			}
			c.recorder.Eventf(f, updated, corev1.EventTypeNormal, reason, "Update", "%s", note)
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
		c.recorder.Eventf(f, p, corev1.EventTypeNormal, "PolicyDeleted", "Delete", "%s", note)
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
// the policy's egress, naming the keys it serves. Additions are named by
// the prefixes AWS published for them where possible.
func rangeChange(old, new *networkingv1.NetworkPolicy, applied []Applied, doc *ranges.Document) string {
	added, removed := Diff(ipBlocks(old), ipBlocks(new))
	if len(added) == 0 && len(removed) == 0 {
		return ""
	}
	keys := make([]string, len(applied))
	var published []netip.Prefix
	for i, a := range applied {
		keys[i] = a.Key.String()
		if doc != nil {
			published = append(published, selectKey(doc, a.Key)...)
		}
	}
	var parts []string
	if old == nil {
		parts = append(parts, fmt.Sprintf("%d CIDRs", len(ipBlocks(new))))
	} else {
		if len(added) > 0 {
			parts = append(parts, "added "+prefixList(asPublished(added, published)))
		}
		if len(removed) > 0 {
			parts = append(parts, "removed "+prefixList(removed))
		}
	}
	text := strings.Join(parts, "; ")
	if len(keys) > 0 {
		text = strings.Join(keys, ", ") + " " + text
	}
	return ": " + text
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

// guardPolicy refuses to write what the controller must never write: an
// ipBlock for the whole address space.
func guardPolicy(p *networkingv1.NetworkPolicy) error {
	for _, pp := range ipBlocks(p) {
		if pp.Bits() == 0 {
			return fmt.Errorf("refusing to write %s into NetworkPolicy %s/%s", pp, p.Namespace, p.Name)
		}
	}
	return nil
}
