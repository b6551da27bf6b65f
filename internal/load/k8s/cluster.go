package k8s

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/ringfence/ringfence/internal/load/document"
	"github.com/ringfence/ringfence/internal/model"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/pager"
)

// ClusterOptions select a live cluster, as kubectl's flags do.
type ClusterOptions struct {
	Kubeconfig string // --kubeconfig; empty: $KUBECONFIG, then ~/.kube/config
	Context    string // --context; empty: the current context
	// Namespace limits namespaced resources to one namespace; empty means
	// the context's namespace unless AllNamespaces.
	Namespace     string
	AllNamespaces bool
	Timeout       time.Duration
	// AllowPartial goes on when no NetworkPolicy can be read; they are
	// then unknown, never absent.
	AllowPartial bool
	// Progress, when set (a terminal: the caller decides), gets one line
	// redrawn as the lists come in, erased when the read ends.
	Progress io.Writer

	// jsonOnly reads built-in kinds as JSON too, as before protobuf was
	// used; only the benchmark that compares the two sets it.
	jsonOnly bool
}

// clusterResource is one resource ringfence lists.
type clusterResource struct {
	gvr        schema.GroupVersionResource
	kind       string
	namespaced bool
}

func res(group, version, resource, kind string, namespaced bool) clusterResource {
	return clusterResource{gvr: schema.GroupVersionResource{Group: group, Version: version, Resource: resource}, kind: kind, namespaced: namespaced}
}

// clusterResources are listed in a live cluster. Secrets are deliberately
// absent: listing them transfers their values, which ringfence never reads.
var clusterResources = []clusterResource{
	res("", "v1", "namespaces", "Namespace", false),
	res("", "v1", "nodes", "Node", false),
	res("networking.k8s.io", "v1", "ingressclasses", "IngressClass", false),
	// Admission webhooks name the Services the API server calls: RF019
	// judges who else can reach their pods.
	res("admissionregistration.k8s.io", "v1", "validatingwebhookconfigurations", "ValidatingWebhookConfiguration", false),
	res("admissionregistration.k8s.io", "v1", "mutatingwebhookconfigurations", "MutatingWebhookConfiguration", false),
	res("", "v1", "pods", "Pod", true),
	res("", "v1", "services", "Service", true),
	res("", "v1", "serviceaccounts", "ServiceAccount", true),
	res("", "v1", "replicationcontrollers", "ReplicationController", true),
	res("apps", "v1", "deployments", "Deployment", true),
	res("apps", "v1", "replicasets", "ReplicaSet", true),
	res("apps", "v1", "statefulsets", "StatefulSet", true),
	res("apps", "v1", "daemonsets", "DaemonSet", true),
	res("batch", "v1", "jobs", "Job", true),
	res("batch", "v1", "cronjobs", "CronJob", true),
	res("networking.k8s.io", "v1", "ingresses", "Ingress", true),
	res("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", true),
	res("kubeflow.org", "v1", "pytorchjobs", "PyTorchJob", true),
	res("kubeflow.org", "v1", "tfjobs", "TFJob", true),
	res("kubeflow.org", "v1", "mpijobs", "MPIJob", true),
	res("kubeflow.org", "v1", "xgboostjobs", "XGBoostJob", true),
	res("kubeflow.org", "v1", "paddlejobs", "PaddleJob", true),
	res("kubeflow.org", "v2beta1", "mpijobs", "MPIJob", true),
	res("serving.kserve.io", "v1beta1", "inferenceservices", "InferenceService", true),
	res("ray.io", "v1", "rayclusters", "RayCluster", true),
	res("ray.io", "v1", "rayjobs", "RayJob", true),
	res("ray.io", "v1", "rayservices", "RayService", true),
	res("vpcresources.k8s.aws", "v1beta1", "securitygrouppolicies", "SecurityGroupPolicy", true),
	res("crd.k8s.amazonaws.com", "v1alpha1", "eniconfigs", "ENIConfig", false),
	res("monitoring.coreos.com", "v1", "prometheuses", "Prometheus", true),
	res("monitoring.coreos.com", "v1", "alertmanagers", "Alertmanager", true),
	res("monitoring.coreos.com", "v1", "servicemonitors", "ServiceMonitor", true),
	res("monitoring.coreos.com", "v1", "podmonitors", "PodMonitor", true),
	// The tiered policies (docs/tiers.md).
	res("networking.k8s.aws", "v1alpha1", "clusternetworkpolicies", "ClusterNetworkPolicy", false),
	res("networking.k8s.aws", "v1alpha1", "applicationnetworkpolicies", "ApplicationNetworkPolicy", true),
	res("policy.networking.k8s.io", "v1alpha2", "clusternetworkpolicies", "ClusterNetworkPolicy", false),
	res("policy.networking.k8s.io", "v1alpha1", "adminnetworkpolicies", "AdminNetworkPolicy", false),
	res("policy.networking.k8s.io", "v1alpha1", "baselineadminnetworkpolicies", "BaselineAdminNetworkPolicy", false),
}

// LoadCluster lists every resource ringfence reads from a live cluster
// (read-only: list calls only) into the builder. A cluster that cannot be
// reached is an error. A resource that RBAC forbids is recorded as unread
// (World.Unread and the report), never taken for an empty list; with -A, a
// resource forbidden cluster-wide is read namespace by namespace. A run
// that can read NetworkPolicies nowhere is an error unless AllowPartial. A
// custom resource whose CRD is not installed has no objects.
func LoadCluster(ctx context.Context, opts ClusterOptions, b *Builder) error {
	c, err := connect(opts)
	if err != nil {
		return err
	}
	cfg := rest.CopyConfig(c.cfg)
	cfg.Timeout = c.timeout
	cfg.UserAgent = "ringfence"
	// client-go's default of 5 requests a second would spend seconds
	// throttling the two dozen lists ringfence makes; they are reads.
	cfg.QPS, cfg.Burst = 50, 100
	client, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return c.fail(err, "creating a client: "+err.Error(), "")
	}
	served, err := c.served(cfg)
	if err != nil {
		return err
	}
	typed := map[schema.GroupVersion]rest.Interface{}
	if !opts.jsonOnly {
		if typed, err = protobufClients(cfg); err != nil {
			return c.fail(err, "creating a client: "+err.Error(), "")
		}
	}
	// Objects keep the context they came from; in a pod without a
	// kubeconfig there is none, but they must never pass for a file's.
	name := c.context
	if name == "" {
		name = "(in-cluster)"
	}
	r := &clusterRead{conn: c, client: client, typed: typed, b: b, src: model.Source{Cluster: name}, readable: map[string]bool{}}
	if opts.Progress != nil {
		r.progress = newListProgress(opts.Progress, name)
		defer r.progress.done()
	}
	ns := c.namespace
	if opts.Namespace != "" {
		ns = opts.Namespace
	}
	if opts.AllNamespaces {
		ns = metav1.NamespaceAll
	}
	var fallback []clusterResource
	var fallbackErrs []error
	var namespaces []string
	namespacesListed := false
	var namespacesErr error
	lists := r.listAll(ctx, served, ns)
	for i, res := range clusterResources {
		if !served(res.gvr) {
			continue
		}
		scope := ""
		if res.namespaced {
			scope = ns
		}
		err := lists[i].err
		if err == nil {
			for _, u := range lists[i].items {
				if res.kind == "Namespace" {
					namespaces = append(namespaces, u.GetName())
				}
				if err = r.b.addLive(u.obj, res, r.src); err != nil {
					break
				}
			}
		}
		lists[i].items = nil // what the builder holds is all that is needed
		switch {
		case err == nil:
			r.readable[res.kind] = true
			namespacesListed = namespacesListed || res.kind == "Namespace"
		case apierrors.IsForbidden(err) && res.namespaced && scope == "":
			// -A without cluster-wide rights: read it namespace by namespace.
			fallback = append(fallback, res)
			fallbackErrs = append(fallbackErrs, err)
		case apierrors.IsForbidden(err):
			if res.kind == "Namespace" {
				namespacesErr = err
			}
			r.unread(res, scope, err)
		case apierrors.IsNotFound(err) && optional(res):
			// The CRD went away between discovery and the list.
		default:
			return r.fail(err, res, scope)
		}
	}
	if len(fallback) > 0 {
		if !namespacesListed {
			// Nothing says which namespaces exist: read the one the context
			// names, as kubectl without -A would, and say so.
			namespaces = []string{c.namespace}
			r.note = fmt.Sprintf("-A: the namespaces cannot be listed (%s), so only the context's namespace %q was read", forbiddenReason(namespacesErr), c.namespace)
			b.Report.Warn(r.src, "", "%s; give -n <namespace> to read another", r.note)
		}
		sort.Strings(namespaces)
		if err := r.perNamespace(ctx, fallback, fallbackErrs, namespaces, namespacesListed); err != nil {
			return err
		}
	}
	if !r.readable["NetworkPolicy"] && !opts.AllowPartial {
		msg := "no NetworkPolicy could be read (" + r.reasons["NetworkPolicy"] + "): without them every pod would look unisolated"
		if r.note != "" {
			msg = r.note + "; " + msg
		}
		return c.fail(nil, msg,
			"grant list on networkpolicies.networking.k8s.io (docs/rbac.md), give -n <namespace> where you may read them, or pass --allow-partial to analyse with them unknown")
	}
	return nil
}

// clusterRead is one read of a cluster into a builder.
type clusterRead struct {
	conn   *conn
	client dynamic.Interface
	// typed reads built-in kinds as protobuf, by group and version;
	// custom resources (and built-ins absent here) go through client as JSON.
	typed    map[schema.GroupVersion]rest.Interface
	progress *listProgress // nil: nothing drawn
	b        *Builder
	src      model.Source
	// readable kinds could be listed somewhere; reasons say why the others
	// could not (the first refusal of each).
	readable map[string]bool
	reasons  map[string]string
	// note says how -A was narrowed, for the error that may follow.
	note string
}

// optional resources are custom resources that may not be installed.
func optional(r clusterResource) bool {
	switch r.gvr.Group {
	case "", "apps", "batch", "networking.k8s.io", "admissionregistration.k8s.io":
		return false
	}
	return true
}

// served asks the API server which resources it serves, so that the custom
// resources of operators that are not installed are not listed (RBAC would
// answer Forbidden for them before saying they do not exist). Discovery is
// open to every authenticated user (system:discovery). When it cannot
// answer for a group, the group's resources are tried anyway.
func (c *conn) served(cfg *rest.Config) (func(schema.GroupVersionResource) bool, error) {
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, c.fail(err, "creating a client: "+err.Error(), "")
	}
	_, lists, err := dc.ServerGroupsAndResources()
	failed := map[schema.GroupVersion]bool{}
	switch {
	case err == nil:
	case discovery.IsGroupDiscoveryFailedError(err):
		var gd *discovery.ErrGroupDiscoveryFailed
		if errors.As(err, &gd) {
			for gv := range gd.Groups {
				failed[gv] = true
			}
		}
	case apierrors.IsForbidden(err):
		// A hardened server that hides discovery: list everything.
		return func(schema.GroupVersionResource) bool { return true }, nil
	default:
		return nil, c.explain(err, "asking the API server which resources it serves")
	}
	have := map[schema.GroupVersionResource]bool{}
	for _, l := range lists {
		gv, err := schema.ParseGroupVersion(l.GroupVersion)
		if err != nil {
			continue
		}
		for _, res := range l.APIResources {
			have[gv.WithResource(res.Name)] = true
		}
	}
	return func(gvr schema.GroupVersionResource) bool {
		return have[gvr] || failed[gvr.GroupVersion()]
	}, nil
}

// listAll lists every served resource in scope ("" is every namespace;
// cluster-scoped resources are always listed whole), some at a time: one
// after another, a large cluster's read was the sum of two dozen chains of
// pages. The caller adds the items in the fixed order of clusterResources,
// so the result does not depend on which answer came first. Entry i is
// clusterResources[i]'s.
func (r *clusterRead) listAll(ctx context.Context, served func(schema.GroupVersionResource) bool, scope string) []nsList {
	out := make([]nsList, len(clusterResources))
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i, res := range clusterResources {
		if !served(res.gvr) {
			continue
		}
		ns := ""
		if res.namespaced {
			ns = scope
		}
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			out[i].err = r.collect(ctx, res, ns, &out[i].items)
			r.progress.listed(res)
		})
	}
	wg.Wait()
	return out
}

// unread records a resource RBAC forbids in a scope: in the world (the
// engine turns it into unknowns) and in the report (every verb says it).
func (r *clusterRead) unread(res clusterResource, scope string, err error) {
	reason := forbiddenReason(err)
	r.b.unread = append(r.b.unread, model.Unread{Kind: res.kind, Namespace: scope, Reason: reason})
	where := "cluster-wide"
	if scope != "" {
		where = "in namespace " + scope
	}
	r.b.Report.Forbidden = append(r.b.Report.Forbidden, fmt.Sprintf("%s %s: %s", res.gvr.GroupResource(), where, reason))
	if r.reasons == nil {
		r.reasons = map[string]string{}
	}
	if _, ok := r.reasons[res.kind]; !ok {
		r.reasons[res.kind] = reason
	}
}

func (r *clusterRead) fail(err error, res clusterResource, scope string) error {
	var de *document.Error
	if errors.As(err, &de) {
		return err
	}
	what := "listing " + res.gvr.GroupResource().String()
	if scope != "" {
		what += " in namespace " + scope
	}
	return r.conn.explain(err, what)
}

// nsList is one resource listed in one namespace.
type nsList struct {
	items []listed
	err   error
}

// listed is one object of a list: typed (read as protobuf) or unstructured.
type listed struct {
	obj  runtime.Object
	meta metav1.Object
}

func (l listed) GetName() string { return l.meta.GetName() }

// perNamespace reads resources that are forbidden cluster-wide in each
// namespace, some at a time, then adds what it read in a fixed order
// (resource, then namespace) so the result does not depend on timing.
// clusterWide holds the cluster-wide refusal of each resource.
// When every namespace is known (all), a resource refused in each is
// recorded once, for every namespace.
func (r *clusterRead) perNamespace(ctx context.Context, resources []clusterResource, clusterWide []error, namespaces []string, all bool) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	out := make([][]nsList, len(resources))
	for i := range out {
		out[i] = make([]nsList, len(namespaces))
	}
	jobs := make(chan [2]int)
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				l := &out[j[0]][j[1]]
				l.err = r.collect(ctx, resources[j[0]], namespaces[j[1]], &l.items)
				if l.err != nil && !apierrors.IsForbidden(l.err) {
					cancel()
				}
			}
		}()
	}
feed:
	for i := range resources {
		for j := range namespaces {
			select {
			case jobs <- [2]int{i, j}:
			case <-ctx.Done():
				break feed
			}
		}
	}
	close(jobs)
	wg.Wait()
	// Jobs not fed after a failure hold nothing: find the failure before
	// anything is added.
	for i := range out {
		for j, l := range out[i] {
			if l.err != nil && !apierrors.IsForbidden(l.err) && !errors.Is(l.err, context.Canceled) {
				return r.fail(l.err, resources[i], namespaces[j])
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	var names []string
	for i, res := range resources {
		names = append(names, res.gvr.GroupResource().String())
		var denied []int
		for j, l := range out[i] {
			if l.err != nil {
				denied = append(denied, j)
				continue
			}
			for _, u := range l.items {
				if err := r.b.addLive(u.obj, res, r.src); err != nil {
					return err
				}
			}
		}
		switch {
		case all && len(denied) == len(namespaces):
			// Refused everywhere: one entry for every namespace.
			r.unread(res, "", clusterWide[i])
		default:
			if len(denied) < len(namespaces) {
				r.readable[res.kind] = true
			}
			for _, j := range denied {
				r.unread(res, namespaces[j], out[i][j].err)
			}
		}
	}
	r.b.Report.Warn(r.src, "", "-A: %s cannot be listed cluster-wide (forbidden); they were read namespace by namespace in %s (where a namespace refuses one, it is listed under forbidden)", strings.Join(names, ", "), strings.Join(namespaces, ", "))
	return nil
}

// collect lists one resource of one namespace ("" is every namespace, or
// a cluster-scoped resource) into items, a page (limit/continue) at a time:
// built-in kinds as protobuf, which the API server encodes and ringfence
// decodes several times faster than JSON, custom resources as JSON (the
// only encoding the API server offers for them).
func (r *clusterRead) collect(ctx context.Context, res clusterResource, ns string, items *[]listed) error {
	var page pager.ListPageFunc
	if c, ok := r.typed[res.gvr.GroupVersion()]; ok && !optional(res) {
		page = func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return c.Get().NamespaceIfScoped(ns, res.namespaced && ns != "").Resource(res.gvr.Resource).
				VersionedParams(&o, scheme.ParameterCodec).Do(ctx).Get()
		}
	} else {
		var lister dynamic.ResourceInterface = r.client.Resource(res.gvr)
		if res.namespaced && ns != "" {
			lister = r.client.Resource(res.gvr).Namespace(ns)
		}
		page = func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return lister.List(ctx, o)
		}
	}
	return pager.New(page).EachListItem(ctx, metav1.ListOptions{}, func(obj runtime.Object) error {
		m, err := meta.Accessor(obj)
		if err != nil {
			return fmt.Errorf("unexpected %T in list of %s", obj, res.gvr.Resource)
		}
		// Nothing reads who wrote which field; it is often half an object.
		m.SetManagedFields(nil)
		*items = append(*items, listed{obj: obj, meta: m})
		r.progress.add(1)
		return nil
	})
}

// protobufClients are REST clients for the built-in groups and versions
// ringfence lists, asking for protobuf (JSON if a server will not give it),
// sharing one HTTP client.
func protobufClients(cfg *rest.Config) (map[schema.GroupVersion]rest.Interface, error) {
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, err
	}
	out := map[schema.GroupVersion]rest.Interface{}
	for _, res := range clusterResources {
		gv := res.gvr.GroupVersion()
		if _, ok := out[gv]; ok || optional(res) || !scheme.Scheme.IsVersionRegistered(gv) {
			continue
		}
		c := rest.CopyConfig(cfg)
		c.GroupVersion = &gv
		c.APIPath = "/apis"
		if gv.Group == "" {
			c.APIPath = "/api"
		}
		c.NegotiatedSerializer = scheme.Codecs.WithoutConversion()
		c.ContentType = runtime.ContentTypeProtobuf
		c.AcceptContentTypes = runtime.ContentTypeProtobuf + "," + runtime.ContentTypeJSON
		rc, err := rest.RESTClientForConfigAndClient(c, hc)
		if err != nil {
			return nil, err
		}
		out[gv] = rc
	}
	return out, nil
}

// ListedResources are the resources a live read lists (the verb is always
// list): docs/rbac/ grants exactly these.
func ListedResources() []schema.GroupResource {
	seen := map[schema.GroupResource]bool{}
	var out []schema.GroupResource
	for _, r := range clusterResources {
		if gr := r.gvr.GroupResource(); !seen[gr] {
			seen[gr] = true
			out = append(out, gr)
		}
	}
	return out
}

// NamespacedResource reports whether a listed resource is namespaced.
func NamespacedResource(gr schema.GroupResource) bool {
	for _, r := range clusterResources {
		if r.gvr.GroupResource() == gr {
			return r.namespaced
		}
	}
	return false
}

// addLive adds an object read from the cluster, unless a file gave the same
// object: the file's copy wins, as `kubectl apply -f` would make it, so that
// a change can be previewed against the live cluster.
func (b *Builder) addLive(obj runtime.Object, r clusterResource, src model.Source) error {
	j, err := json.Marshal(obj)
	if err != nil {
		return err
	}
	d, err := Decode(&document.Object{Source: src, JSON: j, APIVersion: r.gvr.GroupVersion().String(), Kind: r.kind}, b.DefaultNamespace)
	if err != nil {
		return err
	}
	if prev, ok := b.seen[d.ref]; ok && d.unknown == nil && prev.Cluster == "" {
		b.Report.Warn(prev, d.ref.String(), "this file's copy is used over the live one in %s, as kubectl apply would replace it", src)
		return nil
	}
	b.Register(d)
	return nil
}
