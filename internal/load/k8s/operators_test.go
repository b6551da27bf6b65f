package k8s

import (
	"reflect"
	"testing"
)

// TestMonitoringPods checks the pods the prometheus-operator makes for its
// custom resources: the selector labels over spec.podMetadata over the
// version label, the ports of each container, shards and listenLocal.
func TestMonitoringPods(t *testing.T) {
	sts := "varying=apps.kubernetes.io/pod-index,controller-revision-hash,statefulset.kubernetes.io/pod-name"
	tests := []struct {
		name, kind, input string
		want              []string
	}{
		{
			name: "Prometheus: podMetadata cannot override the selector labels; version without v",
			kind: "Prometheus",
			input: `apiVersion: monitoring.coreos.com/v1
kind: Prometheus
metadata: {name: k8s, namespace: monitoring, labels: {team: obs}}
spec:
  replicas: 2
  version: v3.5.0
  podMetadata: {labels: {app.kubernetes.io/name: mine, app.kubernetes.io/version: x, app.kubernetes.io/part-of: kube-prometheus}}`,
			want: []string{"role= replicas=2 labels=app.kubernetes.io/instance:k8s,app.kubernetes.io/managed-by:prometheus-operator,app.kubernetes.io/name:prometheus,app.kubernetes.io/part-of:kube-prometheus,app.kubernetes.io/version:x,operator.prometheus.io/name:k8s,operator.prometheus.io/shard:0,prometheus:k8s " +
				sts + " ports=prometheus:web=9090/TCP,config-reloader:reloader-web=8080/TCP"},
		},
		{
			name: "Prometheus: shards, the Thanos sidecar, a custom port name, an unknown default version",
			kind: "Prometheus",
			input: `apiVersion: monitoring.coreos.com/v1
kind: Prometheus
metadata: {name: p, namespace: m}
spec:
  shards: 2
  portName: http-web
  thanos: {image: thanos}
  containers:
  - {name: prometheus, ports: [{name: extra, containerPort: 9091}]}
  - {name: oauth-proxy, ports: [{name: https, containerPort: 8443}]}`,
			want: []string{
				"role=shard-0 replicas=1 labels=app.kubernetes.io/instance:p,app.kubernetes.io/managed-by:prometheus-operator,app.kubernetes.io/name:prometheus,operator.prometheus.io/name:p,operator.prometheus.io/shard:0,prometheus:p varying=app.kubernetes.io/version,apps.kubernetes.io/pod-index,controller-revision-hash,statefulset.kubernetes.io/pod-name" +
					" ports=prometheus:http-web=9090/TCP,prometheus:extra=9091/TCP,config-reloader:reloader-web=8080/TCP,thanos-sidecar:http=10902/TCP,thanos-sidecar:grpc=10901/TCP,oauth-proxy:https=8443/TCP",
				"role=shard-1 replicas=1 labels=app.kubernetes.io/instance:p,app.kubernetes.io/managed-by:prometheus-operator,app.kubernetes.io/name:prometheus,operator.prometheus.io/name:p,operator.prometheus.io/shard:1,prometheus:p varying=app.kubernetes.io/version,apps.kubernetes.io/pod-index,controller-revision-hash,statefulset.kubernetes.io/pod-name" +
					" ports=prometheus:http-web=9090/TCP,prometheus:extra=9091/TCP,config-reloader:reloader-web=8080/TCP,thanos-sidecar:http=10902/TCP,thanos-sidecar:grpc=10901/TCP,oauth-proxy:https=8443/TCP",
			},
		},
		{
			name: "Alertmanager: web, the cluster port on TCP and UDP, the reloader",
			kind: "Alertmanager",
			input: `apiVersion: monitoring.coreos.com/v1
kind: Alertmanager
metadata: {name: main, namespace: monitoring}
spec:
  replicas: 3
  version: 0.28.1
  podMetadata: {labels: {app.kubernetes.io/component: alert-router}}`,
			want: []string{"role= replicas=3 labels=alertmanager:main,app.kubernetes.io/component:alert-router,app.kubernetes.io/instance:main,app.kubernetes.io/managed-by:prometheus-operator,app.kubernetes.io/name:alertmanager,app.kubernetes.io/version:0.28.1 " +
				sts + " ports=alertmanager:web=9093/TCP,alertmanager:mesh-tcp=9094/TCP,alertmanager:mesh-udp=9094/UDP,config-reloader:reloader-web=8080/TCP"},
		},
		{
			name: "Alertmanager listening on 127.0.0.1 declares only the cluster port",
			kind: "Alertmanager",
			input: `apiVersion: monitoring.coreos.com/v1
kind: Alertmanager
metadata: {name: a, namespace: m}
spec: {listenLocal: true, version: v0.28.1}`,
			want: []string{"role= replicas=1 labels=alertmanager:a,app.kubernetes.io/instance:a,app.kubernetes.io/managed-by:prometheus-operator,app.kubernetes.io/name:alertmanager,app.kubernetes.io/version:0.28.1 " +
				sts + " ports=alertmanager:mesh-tcp=9094/TCP,alertmanager:mesh-udp=9094/UDP"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, _ := build(t, "", tt.input)
			var name string
			for _, wl := range w.Workloads {
				if wl.Kind == tt.kind {
					name = wl.Name
				}
			}
			got := podsSummary(workload(t, w, tt.kind, name))
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

// TestMonitoringServiceAccount: the pods run as spec.serviceAccountName.
func TestMonitoringServiceAccount(t *testing.T) {
	w, _ := build(t, "", `apiVersion: monitoring.coreos.com/v1
kind: Prometheus
metadata: {name: k8s, namespace: monitoring}
spec: {serviceAccountName: prometheus-k8s, automountServiceAccountToken: false}`)
	pt := workload(t, w, "Prometheus", "k8s").Pods[0]
	if pt.ServiceAccount != "prometheus-k8s" || pt.AutomountToken {
		t.Errorf("service account %q, token mounted %v; want prometheus-k8s without a token", pt.ServiceAccount, pt.AutomountToken)
	}
}
