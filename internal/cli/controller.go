package cli

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/ringfence/ringfence/internal/controller"
	"github.com/ringfence/ringfence/internal/feed"
	"github.com/ringfence/ringfence/internal/load/k8s"
	"github.com/ringfence/ringfence/internal/ranges"
	"github.com/spf13/cobra"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

func newController(s Streams) *cobra.Command {
	var (
		kubeconfig, kubeContext         string
		feedURL, feedFile, feedCM       string
		namespace, stateName            string
		metricsAddr, probeAddr          string
		watch                           []string
		interval, grace, shutdown       time.Duration
		maxShrink, maxGrowth            float64
		leaderElect                     bool
		leaseDuration, renew, retryWait time.Duration
	)
	cmd := &cobra.Command{
		Use:   "controller",
		Short: "Keep the AWS ranges in NetworkPolicies current, in the cluster",
		Long: `controller runs in the cluster (see deploy/ringfence-controller, a Helm chart) and keeps
the AWS service ranges of NetworkPolicies current as AWS publishes new ones:

  - Fences (ringfence.dev/v1alpha1): it renders their NetworkPolicies as 'generate' does,
    owns them (ownerReferences) and keeps them in step with the ranges and the cluster;
    their status says Ready, FeedHealthy and Synced (with the syncToken).
  - NetworkPolicies annotated ringfence.dev/aws-ranges: "S3@us-east-1" (and optionally
    ringfence.dev/ports: "TCP/443"): it rewrites the one egress rule it manages and never
    touches the others.

It polls AWS's ip-ranges.json with conditional GETs (or reads --feed-file, or
--feed-configmap for air-gapped clusters) and verifies each publication: valid JSON, md5
when given, a syncToken not older than the last accepted, and plausible as a whole: every
service range inside the publication's AMAZON ranges, no service in a region covering more
than 1/64 of IPv4 or IPv6. Additions apply at once unless they grow a service's addresses
by more than --max-growth (held until a later publication confirms them, or approved with
the ringfence.dev/approve-growth annotation on the ledger ConfigMap); removals only after
--grace; a publication that would remove more than --max-shrink of a service's prefixes is
refused and reported; ipBlocks that together allow all of IPv4 or IPv6 are never written,
and a publication that does not touch the services in use writes no policy. What it applies per
service is kept in a ConfigMap (--state-configmap) so restarts and a new leader continue
grace periods where they were. See docs/controller.md.`,
		Example: `  # In the cluster (the Helm chart runs this):
  ringfence controller --namespace ringfence-system --leader-elect

  # Air-gapped: the publication comes from a ConfigMap (binaryData ip-ranges.json.gz)
  ringfence controller --namespace ringfence-system --feed-configmap ringfence-system/aws-ip-ranges

  # From a workstation against the current kubeconfig context, every 5 minutes
  ringfence controller --namespace ringfence-system --interval 5m`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if maxShrink < 0 || maxShrink > 1 {
				return usagef("--max-shrink %g: want a share between 0 and 1 (0.2 is 20%%)", maxShrink)
			}
			if maxGrowth <= 0 {
				return usagef("--max-growth %g: want a share above 0 (1 holds an addition that more than doubles a service's addresses)", maxGrowth)
			}
			if grace < 0 || interval <= 0 {
				return usagef("--grace must be >= 0 and --interval > 0")
			}
			if namespace == "" {
				return usagef("--namespace is required (the controller's own namespace, for its ledger ConfigMap and Lease; $POD_NAMESPACE in the chart)")
			}
			sources := 0
			for _, v := range []string{feedFile, feedCM} {
				if v != "" {
					sources++
				}
			}
			if sources > 1 || (sources == 1 && cmd.Flags().Changed("feed-url")) {
				return usagef("give one of --feed-url, --feed-file, --feed-configmap")
			}
			var web feed.Source
			if sources == 0 {
				h, err := feed.NewHTTP(feedURL, nil)
				if err != nil {
					return usageError{err}
				}
				web = h
			}
			ctrl.SetLogger(klog.NewKlogr())
			cfg, _, _, err := k8s.RESTConfig(k8s.ClusterOptions{Kubeconfig: kubeconfig, Context: kubeContext})
			if err != nil {
				return err
			}
			cfg.UserAgent = "ringfence-controller"
			mgr, err := controller.NewManager(cfg, controller.ManagerOptions{
				Namespaces: watch, LeaderElection: leaderElect, LeaderElectionNamespace: namespace,
				LeaseDuration: leaseDuration, RenewDeadline: renew, RetryPeriod: retryWait,
				MetricsAddr: metricsAddr, ProbeAddr: probeAddr, GracefulShutdown: shutdown,
			})
			if err != nil {
				return err
			}
			var src feed.Source
			switch {
			case feedFile != "":
				src = &feed.File{Path: feedFile}
			case feedCM != "":
				ns, name, ok := strings.Cut(feedCM, "/")
				if !ok || ns == "" || name == "" {
					return usagef("--feed-configmap %q: want <namespace>/<name>", feedCM)
				}
				reader, err := client.New(cfg, client.Options{Scheme: mgr.GetScheme()})
				if err != nil {
					return err
				}
				src = &feed.ConfigMap{Reader: reader, Namespace: ns, Name: name}
			default:
				src = web
			}
			if _, err := controller.Setup(mgr, controller.Options{
				Source: src, Interval: interval, Rules: controller.Rules{Grace: grace, MaxShrink: maxShrink, MaxGrowth: maxGrowth},
				Namespace: namespace, StateName: stateName, Registerer: metrics.Registry,
			}); err != nil {
				return err
			}
			fmt.Fprintf(s.Err, "ringfence: controller starting: ranges from %s every %s, grace %s, shrink limit %.0f%%, growth limit %.0f%%\n", src, interval, grace, 100*maxShrink, 100*maxGrowth)
			// Returns when the context ends (SIGTERM, SIGINT) once running
			// reconciles have finished, or when leadership is lost.
			return mgr.Start(cmd.Context())
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&kubeconfig, "kubeconfig", "", "path to the kubeconfig file (default: in-cluster, $KUBECONFIG or ~/.kube/config)")
	fl.StringVar(&kubeContext, "context", "", "kubeconfig context to use")
	fl.StringVar(&feedURL, "feed-url", ranges.DefaultURL, "https URL of ip-ranges.json, polled with conditional GETs")
	fl.StringVar(&feedFile, "feed-file", "", "read ip-ranges.json (or .json.gz) from this file instead, e.g. a mounted ConfigMap; a .md5 file beside it is checked")
	fl.StringVar(&feedCM, "feed-configmap", "", "read the publication from this ConfigMap (<namespace>/<name>; key ip-ranges.json, or binaryData ip-ranges.json.gz, optional md5)")
	fl.DurationVar(&interval, "interval", controller.DefaultInterval, "how often to read the feed")
	fl.DurationVar(&grace, "grace", controller.DefaultGrace, "how long a prefix AWS stops publishing stays allowed (some prefixes flap within hours)")
	fl.Float64Var(&maxShrink, "max-shrink", controller.DefaultMaxShrink, "largest share of a service's prefixes one publication may remove; a larger removal is refused and reported")
	fl.Float64Var(&maxGrowth, "max-growth", controller.DefaultMaxGrowth, "largest growth of a service's addresses one publication may bring (1 is doubling); a larger addition is held until a later publication confirms it or it is approved")
	fl.StringVar(&namespace, "namespace", os.Getenv("POD_NAMESPACE"), "the controller's own namespace: its ledger ConfigMap and leader-election Lease (default $POD_NAMESPACE)")
	fl.StringVar(&stateName, "state-configmap", controller.DefaultStateName, "name of the ledger ConfigMap")
	fl.StringSliceVar(&watch, "watch-namespace", nil, "namespaces whose Fences and NetworkPolicies to manage (comma separated or repeated; default all)")
	fl.BoolVar(&leaderElect, "leader-elect", false, "elect a leader through a Lease, so that of several replicas only one writes")
	fl.DurationVar(&leaseDuration, "leader-elect-lease-duration", 15*time.Second, "how long a follower waits before taking over a lease that was not renewed")
	fl.DurationVar(&renew, "leader-elect-renew-deadline", 10*time.Second, "how long the leader tries to renew before giving up")
	fl.DurationVar(&retryWait, "leader-elect-retry-period", 2*time.Second, "how often candidates try to acquire or renew")
	fl.StringVar(&metricsAddr, "metrics-bind-address", ":8080", "address of the Prometheus metrics endpoint (0 turns it off)")
	fl.StringVar(&probeAddr, "health-probe-bind-address", ":8081", "address of /healthz and /readyz (0 turns it off)")
	fl.DurationVar(&shutdown, "graceful-shutdown-timeout", 30*time.Second, "how long running reconciles may take to finish on SIGTERM")
	return cmd
}
