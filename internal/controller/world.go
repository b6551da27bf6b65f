package controller

import (
	"context"
	"encoding/json"
	"sort"

	"github.com/ringfence/ringfence/api/v1alpha1"
	"github.com/ringfence/ringfence/internal/load/document"
	"github.com/ringfence/ringfence/internal/load/k8s"
	"github.com/ringfence/ringfence/internal/model"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// clusterSource marks objects read from the controller's cache.
var clusterSource = model.Source{Cluster: "in-cluster"}

// world builds the small world one Fence needs from the cache: the Fence,
// the namespaces, the Services (for service destinations, cluster DNS and
// the ports the ingress controller reaches) and the pods of the Fence's
// namespace and of its ingress controllers' namespaces, grouped into the
// workloads that own them. The objects go through the same decoder as
// every other input, so a Fence means the same here as in `generate`.
func (c *Controller) world(ctx context.Context, f *v1alpha1.Fence) (*model.World, error) {
	b := k8s.NewBuilder(f.Namespace, &document.Report{})
	add := func(apiVersion, kind string, obj any) error {
		j, err := json.Marshal(obj)
		if err != nil {
			return err
		}
		return b.Add(&document.Object{Source: clusterSource, JSON: j, APIVersion: apiVersion, Kind: kind})
	}
	fence := f.DeepCopy()
	fence.APIVersion, fence.Kind = v1alpha1.GroupVersion, "Fence"
	fence.Status = v1alpha1.FenceStatus{}
	fence.ManagedFields = nil
	if err := add(v1alpha1.GroupVersion, "Fence", fence); err != nil {
		return nil, err
	}
	var namespaces corev1.NamespaceList
	if err := c.client.List(ctx, &namespaces); err != nil {
		return nil, err
	}
	for i := range namespaces.Items {
		if err := add("v1", "Namespace", &namespaces.Items[i]); err != nil {
			return nil, err
		}
	}
	var services corev1.ServiceList
	if err := c.client.List(ctx, &services); err != nil {
		return nil, err
	}
	for i := range services.Items {
		if err := add("v1", "Service", &services.Items[i]); err != nil {
			return nil, err
		}
	}
	podNamespaces := map[string]bool{f.Namespace: true}
	for _, in := range f.Spec.Ingress {
		if in.IngressController != nil {
			podNamespaces[in.IngressController.Namespace] = true
		}
	}
	owners := map[string]metav1.OwnerReference{}
	for ns := range podNamespaces {
		var pods corev1.PodList
		if err := c.client.List(ctx, &pods, client.InNamespace(ns)); err != nil {
			return nil, err
		}
		for i := range pods.Items {
			p := &pods.Items[i]
			if p.DeletionTimestamp != nil || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
				continue
			}
			if top, ok := c.topOwner(ctx, p); ok {
				owners[ns+"/"+p.Name] = top
			}
			if err := add("v1", "Pod", p); err != nil {
				return nil, err
			}
		}
	}
	w := b.Finish()
	w.Workloads = groupByOwner(w.Workloads, owners)
	return w, nil
}

// topOwner follows a pod's controller up through the intermediate
// controllers the cluster makes (a Deployment's ReplicaSets, a CronJob's
// Jobs), read as metadata only.
func (c *Controller) topOwner(ctx context.Context, p *corev1.Pod) (metav1.OwnerReference, bool) {
	ref := metav1.GetControllerOf(p)
	if ref == nil {
		return metav1.OwnerReference{}, false
	}
	top := *ref
	for _, gvk := range []schema.GroupVersionKind{{Group: "apps", Version: "v1", Kind: "ReplicaSet"}, {Group: "batch", Version: "v1", Kind: "Job"}} {
		if top.Kind != gvk.Kind || top.APIVersion != gvk.GroupVersion().String() {
			continue
		}
		m := &metav1.PartialObjectMetadata{}
		m.SetGroupVersionKind(gvk)
		if err := c.client.Get(ctx, client.ObjectKey{Namespace: p.Namespace, Name: top.Name}, m); err == nil {
			if up := metav1.GetControllerOf(m); up != nil {
				top = *up
			}
		}
	}
	return top, true
}

// groupByOwner folds the pods (each decoded as its own workload) into one
// workload per owner, as the loader does when it sees the owners.
func groupByOwner(ws []*model.Workload, owners map[string]metav1.OwnerReference) []*model.Workload {
	var out []*model.Workload
	byOwner := map[model.Ref]*model.Workload{}
	for _, w := range ws {
		ref, ok := owners[w.Namespace+"/"+w.Name]
		if w.Kind != "Pod" || !ok {
			out = append(out, w)
			continue
		}
		key := model.Ref{Kind: ref.Kind, Namespace: w.Namespace, Name: ref.Name}
		g := byOwner[key]
		if g == nil {
			g = &model.Workload{Meta: model.Meta{Kind: ref.Kind, APIVersion: ref.APIVersion, Namespace: w.Namespace, Name: ref.Name, Source: w.Source}}
			byOwner[key] = g
			out = append(out, g)
		}
		g.Pods = append(g.Pods, w.Pods...)
		g.Instances = append(g.Instances, &model.Pod{Name: w.Name, Labels: w.Labels})
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.Kind < b.Kind
	})
	return out
}
