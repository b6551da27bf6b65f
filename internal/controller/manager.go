package controller

import (
	"errors"
	"net/http"
	"time"

	"github.com/go-logr/logr"
	"github.com/ringfence/ringfence/api/v1alpha1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
)

// ManagerOptions are how the controller runs: which namespaces it
// watches, leader election, endpoints and shutdown.
type ManagerOptions struct {
	// Namespaces limits the namespaced objects watched; empty means all.
	Namespaces []string
	// LeaderElection turns on the Lease-based election (replicas > 1).
	LeaderElection          bool
	LeaderElectionNamespace string
	LeaderElectionID        string
	// LeaseDuration, RenewDeadline and RetryPeriod tune the election
	// (zero: controller-runtime's 15 s, 10 s, 2 s).
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
	// MetricsAddr and ProbeAddr are the endpoints ("0" turns one off).
	MetricsAddr, ProbeAddr string
	// GracefulShutdown bounds how long running reconciles may finish.
	GracefulShutdown time.Duration
	// Logger is the manager's and the controller's logger (zero: the
	// process-wide one, ctrl.SetLogger).
	Logger logr.Logger
}

// NewScheme returns the Kubernetes types and Fence.
func NewScheme() (*runtime.Scheme, error) {
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, err
	}
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		return nil, err
	}
	return scheme, nil
}

// NewManager returns a controller-runtime manager with the controller's
// scheme, cache, election and probes.
func NewManager(cfg *rest.Config, o ManagerOptions) (ctrl.Manager, error) {
	skipNameValidation := true
	scheme, err := NewScheme()
	if err != nil {
		return nil, err
	}
	opts := ctrl.Options{
		Scheme:                        scheme,
		LeaderElection:                o.LeaderElection,
		LeaderElectionNamespace:       o.LeaderElectionNamespace,
		LeaderElectionID:              o.LeaderElectionID,
		LeaderElectionReleaseOnCancel: true,
		Metrics:                       metricsserver.Options{BindAddress: o.MetricsAddr},
		HealthProbeBindAddress:        o.ProbeAddr,
		Cache:                         cache.Options{DefaultTransform: cache.TransformStripManagedFields()},
		// Tests run several managers in one process.
		Controller: config.Controller{SkipNameValidation: &skipNameValidation},
		Logger:     o.Logger,
	}
	if opts.LeaderElectionID == "" {
		opts.LeaderElectionID = "ringfence-controller"
	}
	if len(o.Namespaces) > 0 {
		opts.Cache.DefaultNamespaces = map[string]cache.Config{}
		for _, ns := range o.Namespaces {
			opts.Cache.DefaultNamespaces[ns] = cache.Config{}
		}
	}
	if o.LeaseDuration > 0 {
		opts.LeaseDuration, opts.RenewDeadline, opts.RetryPeriod = &o.LeaseDuration, &o.RenewDeadline, &o.RetryPeriod
	}
	if o.GracefulShutdown > 0 {
		opts.GracefulShutdownTimeout = &o.GracefulShutdown
	}
	mgr, err := ctrl.NewManager(cfg, opts)
	if err != nil {
		return nil, err
	}
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return nil, err
	}
	// Ready once the informers have synced (followers included, so a
	// rolling update does not wait for an election).
	if err := mgr.AddReadyzCheck("cache", func(req *http.Request) error {
		if !mgr.GetCache().WaitForCacheSync(req.Context()) {
			return errors.New("informer caches not synced")
		}
		return nil
	}); err != nil {
		return nil, err
	}
	return mgr, nil
}
