package engine

import (
	"strings"
	"testing"

	"github.com/ringfence/ringfence/internal/model"
)

// Two clusters with the same namespace/name: the tag of the cluster the
// Service was read from (its kubeconfig context, as aws eks
// update-kubeconfig names it) picks the load balancer; without a cluster
// name the tags are ambiguous and nothing matches.
func TestFindLBByClusterTag(t *testing.T) {
	prod := &model.LoadBalancer{ARN: "arn:lb/prod", Tags: map[string]string{tagServiceStack: "web/api", tagLBCCluster: "prod"}}
	stage := &model.LoadBalancer{ARN: "arn:lb/stage", Tags: map[string]string{tagServiceName: "web/api", tagClusterKey + "stage": "owned"}}
	a := &Analysis{g: &graph{world: &model.World{Network: model.VPCNetwork{LoadBalancers: []*model.LoadBalancer{prod, stage}}}}}
	for context, want := range map[string]string{
		"arn:aws:eks:us-east-1:111122223333:cluster/prod": "arn:lb/prod its tag service.k8s.aws/stack=web/api and elbv2.k8s.aws/cluster=prod",
		"stage": "arn:lb/stage its tag kubernetes.io/service-name=web/api and kubernetes.io/cluster/stage",
		"":      "",
		"dev":   "",
	} {
		m := a.findLB("Service", "web/api", nil, model.Source{Cluster: context})
		got := ""
		if m != nil {
			got = m.lb.ARN + " " + m.how
		}
		if got != want {
			t.Errorf("context %q: got %q, want %q", context, got, want)
		}
	}
	// One tagged load balancer matches without a cluster name.
	a.g.world.Network.LoadBalancers = []*model.LoadBalancer{prod}
	if m := a.findLB("Service", "web/api", nil, model.Source{}); m == nil || !strings.Contains(m.how, "service.k8s.aws/stack=web/api") {
		t.Errorf("single: %v", m)
	}
}
