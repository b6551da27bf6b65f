package k8s

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/ringfence/ringfence/internal/load/document"
	"github.com/ringfence/ringfence/internal/model"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
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
}

// ClusterError is a live cluster that could not be read at all.
type ClusterError struct {
	Context string
	Err     error
}

func (e *ClusterError) Error() string {
	return fmt.Sprintf("cluster %s: %v", e.Context, e.Err)
}

func (e *ClusterError) Unwrap() error { return e.Err }

// RESTConfig resolves kubeconfig and context the way kubectl does, and
// returns the context's name and default namespace with the config.
func RESTConfig(opts ClusterOptions) (*rest.Config, string, string, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = opts.Kubeconfig
	overrides := &clientcmd.ConfigOverrides{CurrentContext: opts.Context}
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides)
	raw, err := cc.RawConfig()
	if err != nil {
		return nil, "", "", &ClusterError{Context: opts.Context, Err: fmt.Errorf("reading kubeconfig: %w", err)}
	}
	name := opts.Context
	if name == "" {
		name = raw.CurrentContext
	}
	cfg, err := cc.ClientConfig()
	if err != nil {
		return nil, name, "", &ClusterError{Context: name, Err: err}
	}
	ns, _, err := cc.Namespace()
	if err != nil {
		return nil, name, "", &ClusterError{Context: name, Err: err}
	}
	return cfg, name, ns, nil
}

// LoadCluster lists every resource ringfence reads from a live cluster
// (read-only: list calls only) into the builder. A cluster that cannot be
// reached is an error; a resource that RBAC forbids is reported and the
// rest is used; an ML resource whose CRD is not installed has no objects.
func LoadCluster(ctx context.Context, opts ClusterOptions, b *Builder) error {
	cfg, name, ns, err := RESTConfig(opts)
	if err != nil {
		return err
	}
	if opts.Namespace != "" {
		ns = opts.Namespace
	}
	if opts.AllNamespaces {
		ns = metav1.NamespaceAll
	}
	timeout := opts.Timeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	cfg.Timeout = timeout
	cfg.UserAgent = "ringfence"
	// client-go's default of 5 requests a second would spend seconds
	// throttling the two dozen lists ringfence makes; they are reads.
	cfg.QPS, cfg.Burst = 50, 100
	client, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return &ClusterError{Context: name, Err: err}
	}
	src := model.Source{Cluster: name}
	for i, r := range clusterResources {
		target := client.Resource(r.gvr)
		var lister dynamic.ResourceInterface = target
		if r.namespaced {
			lister = target.Namespace(ns)
		}
		p := pager.New(pager.SimplePageFunc(func(o metav1.ListOptions) (runtime.Object, error) {
			return lister.List(ctx, o)
		}))
		err := p.EachListItem(ctx, metav1.ListOptions{}, func(obj runtime.Object) error {
			return b.addLive(obj, r, src)
		})
		switch {
		case err == nil:
		case apierrors.IsForbidden(err):
			where := "cluster-wide"
			if r.namespaced && ns != "" {
				where = "in namespace " + ns
			}
			b.Report.Forbidden = append(b.Report.Forbidden, fmt.Sprintf("%s (%s): %s", r.gvr.GroupResource(), where, "forbidden by RBAC"))
		case apierrors.IsNotFound(err) && r.gvr.Group != "" && r.gvr.Group != "apps" && r.gvr.Group != "batch" && r.gvr.Group != "networking.k8s.io":
			// The CRD is not installed: there are no such objects.
		case i == 0:
			// The first list tells whether the cluster answers at all.
			return &ClusterError{Context: name, Err: fmt.Errorf("cannot list namespaces at %s: %w", cfg.Host, unwrapURL(err))}
		default:
			var de *document.Error
			if errors.As(err, &de) {
				return err
			}
			return &ClusterError{Context: name, Err: fmt.Errorf("listing %s: %w", r.gvr.GroupResource(), unwrapURL(err))}
		}
	}
	return nil
}

// unwrapURL keeps a transport error short: the request URL says nothing the
// message does not.
func unwrapURL(err error) error {
	var se *apierrors.StatusError
	if errors.As(err, &se) {
		return errors.New(se.ErrStatus.Message)
	}
	return err
}

func (b *Builder) addLive(obj runtime.Object, r clusterResource, src model.Source) error {
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return fmt.Errorf("unexpected %T in list of %s", obj, r.gvr.Resource)
	}
	unstructured.RemoveNestedField(u.Object, "metadata", "managedFields")
	j, err := json.Marshal(u.Object)
	if err != nil {
		return err
	}
	return b.Add(&document.Object{Source: src, JSON: j, APIVersion: r.gvr.GroupVersion().String(), Kind: r.kind})
}
