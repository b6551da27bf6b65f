// Package controller is `ringfence controller`: it keeps the AWS ranges in
// NetworkPolicies current inside the cluster. It renders and owns the
// policies of Fences (ringfence.dev/v1alpha1) and rewrites the one egress
// rule of policies that opt in with annotations. Publications of
// ip-ranges.json enter as an event source through a channel; what is
// applied per service@region is kept in a ledger (grace periods, refused
// shrinks) in a ConfigMap, so that restarts and a new leader continue where
// the last one stopped.
package controller

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/ringfence/ringfence/api/v1alpha1"
	"github.com/ringfence/ringfence/internal/feed"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/recorder"
)

// Annotations and names the controller reads and writes.
const (
	// RangesAnnotation opts a NetworkPolicy in: a comma-separated list of
	// SERVICE@region whose ranges one egress rule allows.
	RangesAnnotation = "ringfence.dev/aws-ranges"
	// PortsAnnotation gives that rule's ports: PROTOCOL/PORT, comma
	// separated (default TCP/443).
	PortsAnnotation = "ringfence.dev/ports"
	// ManagedRuleAnnotation records a digest of the egress rule the
	// controller wrote in an opted-in policy, to find it again.
	ManagedRuleAnnotation = "ringfence.dev/managed-rule"
	// SyncTokenAnnotation records the publication that last changed a
	// policy (the same annotation `ringfence generate` writes).
	SyncTokenAnnotation = "ringfence.dev/ranges-sync-token"
	// ApproveGrowthAnnotation, set by an operator on the ledger ConfigMap,
	// approves the additions the growth guard holds for the publications
	// it lists (syncTokens, comma separated).
	ApproveGrowthAnnotation = "ringfence.dev/approve-growth"
	// ConditionAnnotation holds, as JSON, the condition of an opted-in
	// policy's managed rule (a NetworkPolicy has no status since
	// Kubernetes 1.28): set when the controller restored a hand-edited rule.
	ConditionAnnotation = "ringfence.dev/managed-rule-condition"
	// DefaultStateName is the ledger ConfigMap.
	DefaultStateName = "ringfence-controller-state"
	// FieldOwner names the controller in managedFields and Events.
	FieldOwner = "ringfence-controller"
)

// Defaults of the safety rules and the feed.
const (
	DefaultGrace     = 24 * time.Hour
	DefaultMaxShrink = 0.2
	// DefaultMaxGrowth holds an addition that more than doubles a
	// service's addresses in a region until a later publication confirms
	// it. Between two real publications two hours apart (April 2026) the
	// largest growth was 11% (S3 ap-southeast-1).
	DefaultMaxGrowth = 1.0
	DefaultInterval  = 10 * time.Minute
)

// Options configure the controller.
type Options struct {
	// Source is where publications come from.
	Source feed.Source
	// Interval between two reads of the source.
	Interval time.Duration
	// Rules are the grace period and the shrink limit.
	Rules Rules
	// Namespace and StateName locate the ledger ConfigMap (the
	// controller's own namespace).
	Namespace, StateName string
	// Now is the clock (tests and the simulation set it).
	Now func() time.Time
	// Registerer receives the metrics (controller-runtime's registry in
	// the binary).
	Registerer prometheus.Registerer
}

// Controller is the running controller's shared parts.
type Controller struct {
	opts     Options
	client   client.Client
	state    *state
	metrics  *Metrics
	recorder recorder.EventRecorder
	scheme   *runtime.Scheme
	log      logr.Logger
	// notify carries "a publication or the feed's health changed" to each
	// reconciler's channel source.
	fences, policies chan event.GenericEvent

	// reported remembers the refusals already reported, so that a refusal
	// is one Event, not one per reconcile.
	reportedMu sync.Mutex
	reported   map[string]string
}

// firstReport reports whether what (a refusal) has not yet been reported
// for publication token.
func (c *Controller) firstReport(what, token string) bool {
	c.reportedMu.Lock()
	defer c.reportedMu.Unlock()
	if c.reported == nil {
		c.reported = map[string]string{}
	}
	if c.reported[what] == token {
		return false
	}
	c.reported[what] = token
	return true
}

// Setup adds the feed poller and both reconcilers to mgr. Everything runs
// only in the leader.
func Setup(mgr manager.Manager, opts Options) (*Controller, error) {
	if opts.Source == nil {
		return nil, errors.New("no ranges source")
	}
	if opts.Interval <= 0 {
		opts.Interval = DefaultInterval
	}
	if opts.Rules.Grace < 0 || opts.Rules.MaxShrink < 0 || opts.Rules.MaxShrink > 1 || opts.Rules.MaxGrowth < 0 {
		return nil, fmt.Errorf("grace %s, shrink limit %g, growth limit %g: want a grace >= 0, a shrink limit between 0 and 1 and a growth limit > 0", opts.Rules.Grace, opts.Rules.MaxShrink, opts.Rules.MaxGrowth)
	}
	opts.Rules.MaxGrowth = opts.Rules.maxGrowth()
	if opts.StateName == "" {
		opts.StateName = DefaultStateName
	}
	if opts.Namespace == "" {
		return nil, errors.New("no namespace for the ledger ConfigMap")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	c := &Controller{
		opts:     opts,
		client:   client.WithFieldOwner(mgr.GetClient(), FieldOwner),
		recorder: mgr.GetEventRecorder(FieldOwner),
		scheme:   mgr.GetScheme(),
		log:      mgr.GetLogger().WithName("ringfence"),
		fences:   make(chan event.GenericEvent, 1),
		policies: make(chan event.GenericEvent, 1),
	}
	c.state = &state{client: c.client, reader: mgr.GetAPIReader(), namespace: opts.Namespace, name: opts.StateName, rules: opts.Rules, now: opts.Now}
	m, err := newMetrics(opts.Registerer, c.feedAge)
	if err != nil {
		return nil, err
	}
	c.metrics, c.state.metrics = m, m
	if err := mgr.Add(c); err != nil {
		return nil, err
	}
	if err := c.setupFences(mgr); err != nil {
		return nil, err
	}
	if err := c.setupPolicies(mgr); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Controller) feedAge() float64 {
	doc, _ := c.state.feed()
	if doc == nil {
		return 0
	}
	return c.opts.Now().Sub(doc.Created).Seconds()
}

// NeedLeaderElection: only the leader reads the feed.
func (c *Controller) NeedLeaderElection() bool { return true }

// Start polls the source until ctx ends: at once, then every interval.
func (c *Controller) Start(ctx context.Context) error {
	t := time.NewTicker(c.opts.Interval)
	defer t.Stop()
	for {
		c.poll(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// poll reads the source once and tells the reconcilers when the
// publication or the feed's health changed.
func (c *Controller) poll(ctx context.Context) {
	last, err := c.state.lastToken(ctx)
	if err != nil {
		// The ledger is unreadable (API server down): try next time.
		c.metrics.errors.WithLabelValues("ledger").Inc()
		c.log.Error(err, "reading the ledger")
		return
	}
	// An operator's approval of a held growth (an annotation on the
	// ledger ConfigMap) applies at the next reconcile.
	approved, aerr := c.state.approvals(ctx)
	if aerr != nil {
		c.metrics.errors.WithLabelValues("ledger").Inc()
		c.log.Error(aerr, "reading growth approvals")
	}
	f, err := c.opts.Source.Fetch(ctx)
	if err == nil && f.NotModified {
		c.metrics.feedChecked.Set(float64(c.opts.Now().Unix()))
		if c.state.unchanged() || approved {
			c.notify()
		}
		return
	}
	changed := approved
	if err == nil {
		doc, verr := feed.Verify(f, last)
		if verr == nil {
			// Plausibility before state: a publication refused as a whole
			// is not committed (read again next time) and changes nothing.
			if perr := CheckPublication(doc); perr != nil {
				var refused *RefusedPublication
				if errors.As(perr, &refused) {
					c.metrics.refused.WithLabelValues(refused.Reason).Inc()
					c.log.Info("publication refused as implausible", "syncToken", refused.SyncToken, "source", f.Name, "problems", refused.Problems)
				}
				verr = fmt.Errorf("%s: %w", f.Name, perr)
			}
		}
		if verr == nil {
			c.opts.Source.Commit(f)
			if c.state.accept(doc) {
				changed = true
				c.log.Info("publication accepted", "syncToken", doc.SyncToken, "source", f.Name)
			}
			c.metrics.feedChecked.Set(float64(c.opts.Now().Unix()))
			c.metrics.feedToken.Set(float64(doc.Token()))
			if rerr := c.state.recordAccepted(ctx); rerr != nil {
				// Recorded with the next ledger write, or the next poll.
				c.metrics.errors.WithLabelValues("ledger").Inc()
				c.log.Error(rerr, "recording the accepted syncToken")
			}
		}
		err = verr
	}
	if err != nil {
		c.metrics.errors.WithLabelValues("feed").Inc()
		c.log.Error(err, "feed")
		if c.state.fail(err) {
			changed = true
		}
	}
	if changed {
		c.notify()
	}
}

// notify wakes both reconcilers; a wake-up already pending is enough.
func (c *Controller) notify() {
	for _, ch := range []chan event.GenericEvent{c.fences, c.policies} {
		select {
		case ch <- event.GenericEvent{Object: &v1alpha1.Fence{}}:
		default:
		}
	}
}

// ownedPolicies lists the NetworkPolicies of a namespace managed by ringfence.
func (c *Controller) managedPolicies(ctx context.Context, ns string) ([]networkingv1.NetworkPolicy, error) {
	var list networkingv1.NetworkPolicyList
	if err := c.client.List(ctx, &list, client.InNamespace(ns), client.MatchingLabels{"app.kubernetes.io/managed-by": "ringfence"}); err != nil {
		return nil, err
	}
	return list.Items, nil
}
