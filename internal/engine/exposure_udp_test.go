package engine_test

import (
	"strings"
	"testing"

	"github.com/ringfence/ringfence/internal/engine"
)

// udpService is an internet-facing NLB Service of the AWS Load Balancer
// Controller with IP targets and the given ports and extra annotations.
func udpService(annotations, ports string) string {
	return `apiVersion: v1
kind: Service
metadata:
  name: infer
  namespace: ml
  annotations:
    service.beta.kubernetes.io/aws-load-balancer-type: external
    service.beta.kubernetes.io/aws-load-balancer-scheme: internet-facing
    service.beta.kubernetes.io/aws-load-balancer-nlb-target-type: ip
` + annotations + `spec:
  type: LoadBalancer
  selector: {app: infer}
  ports: ` + ports + `
`
}

// Two NetworkPolicies for UDP 5353 (and TCP 8080): one admitting only the
// VPC, one admitting only public addresses (everything but the private
// ranges, a common "internet only" rule: "restricted", as it leaves out
// IPv6 and the other special-purpose ranges).
const vpcOnlyBoth = `---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: vpc-only, namespace: ml}
spec:
  podSelector: {matchLabels: {app: infer}}
  ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/8}}], ports: [{protocol: UDP, port: 5353}, {port: 8080}]}]
`

const publicOnlyBoth = `---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: public-only, namespace: ml}
spec:
  podSelector: {matchLabels: {app: infer}}
  ingress:
  - from: [{ipBlock: {cidr: 0.0.0.0/0, except: [10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 100.64.0.0/10]}}]
    ports: [{protocol: UDP, port: 5353}, {port: 8080}]
`

// npVerdicts are the verdicts of the NetworkPolicy hops of the one
// exposure, by the port in their detail.
func npVerdicts(t *testing.T, es []engine.Exposure) (map[string]string, engine.Exposure) {
	t.Helper()
	if len(es) != 1 {
		t.Fatalf("%d exposures", len(es))
	}
	out := map[string]string{}
	for _, h := range es[0].Hops {
		if !strings.HasPrefix(h.Step, "NetworkPolicy of ") {
			continue
		}
		for _, p := range []string{"UDP 5353", "TCP 8080"} {
			if strings.Contains(h.Detail, p) {
				out[p] = h.Verdict
			}
		}
	}
	return out, es[0]
}

// A UDP target group always preserves the client's address (AWS: it
// cannot be disabled), so the pods of a UDP port see the clients, not the
// load balancer; a TCP port of the same IP-target Service sees the load
// balancer by default. Judging the UDP port as if the pods saw the load
// balancer's private addresses says a public-only policy blocks the
// internet (unsound: the clients get through) and a VPC-only one lets
// everyone in (it blocks them).
func TestUDPTargetGroupPreservesClientIP(t *testing.T) {
	twoPorts := "[{name: dns, protocol: UDP, port: 53, targetPort: 5353}, {name: web, protocol: TCP, port: 80, targetPort: 8080}]"
	tests := []struct {
		name, annotations, ports, policy string
		want                             map[string]string
		internet                         bool
	}{
		{"public-only policy admits internet clients on UDP, not the load balancer on TCP", "", twoPorts, publicOnlyBoth,
			map[string]string{"UDP 5353": "restricted", "TCP 8080": "blocked"}, true},
		{"VPC-only policy blocks internet clients on UDP, admits the load balancer on TCP", "", twoPorts, vpcOnlyBoth,
			map[string]string{"UDP 5353": "blocked", "TCP 8080": "open"}, true},
		{"the annotation cannot turn preservation off for UDP", "    service.beta.kubernetes.io/aws-load-balancer-target-group-attributes: preserve_client_ip.enabled=false\n",
			"[{protocol: UDP, port: 53, targetPort: 5353}]", publicOnlyBoth, map[string]string{"UDP 5353": "restricted"}, true},
		{"the annotation turns it on for TCP", "    service.beta.kubernetes.io/aws-load-balancer-target-group-attributes: stickiness.enabled=true,preserve_client_ip.enabled=true\n",
			"[{port: 80, targetPort: 8080}]", publicOnlyBoth, map[string]string{"TCP 8080": "restricted"}, true},
		{"TCP and UDP on one port make a TCP_UDP target group: both preserve", "",
			"[{name: u, protocol: UDP, port: 53, targetPort: 5353}, {name: t, protocol: TCP, port: 53, targetPort: 8080}]", vpcOnlyBoth,
			map[string]string{"UDP 5353": "blocked", "TCP 8080": "blocked"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, e := npVerdicts(t, exposures(t, udpService(tt.annotations, tt.ports)+tt.policy))
			for p, v := range tt.want {
				if got[p] != v {
					t.Errorf("%s: %q, want %q; hops %+v", p, got[p], v, e.Hops)
				}
			}
			if e.Internet != tt.internet {
				t.Errorf("internet %v, want %v", e.Internet, tt.internet)
			}
		})
	}
}

// The source the pods see is named per port when the ports differ, and
// says why a UDP port sees the clients.
func TestSourceSeenPerPort(t *testing.T) {
	es := exposures(t, udpService("", "[{name: dns, protocol: UDP, port: 53, targetPort: 5353}, {name: web, protocol: TCP, port: 80, targetPort: 8080}]"))
	var seen []string
	for _, h := range es[0].Hops {
		if h.Step == "source seen by the pods" {
			seen = append(seen, h.Detail)
		}
	}
	want := []string{
		"UDP 53: the clients' addresses (UDP 53: a UDP target group always preserves the client's address)",
		"TCP 80: the load balancer's private addresses (IP targets without client IP preservation)",
	}
	if strings.Join(seen, "\n") != strings.Join(want, "\n") {
		t.Errorf("seen:\n%s\nwant:\n%s", strings.Join(seen, "\n"), strings.Join(want, "\n"))
	}
}

// Instance targets with preservation turned off and
// externalTrafficPolicy Local: the nodes, and so the pods, see the load
// balancer's private addresses.
func TestInstanceTargetsWithoutPreservation(t *testing.T) {
	svc := strings.Replace(udpService("    service.beta.kubernetes.io/aws-load-balancer-target-group-attributes: preserve_client_ip.enabled=false\n", "[{port: 80, targetPort: 8080}]"),
		"nlb-target-type: ip", "nlb-target-type: instance", 1) + "  externalTrafficPolicy: Local\n"
	got, e := npVerdicts(t, exposures(t, svc+vpcOnlyBoth))
	if got["TCP 8080"] != "open" {
		t.Errorf("TCP 8080: %q, want open (the VPC-only policy admits the load balancer); hops %+v", got["TCP 8080"], e.Hops)
	}
	for _, h := range e.Hops {
		if h.Step == "source seen by the pods" && h.Detail != "the load balancer's private addresses (instance targets without client IP preservation, externalTrafficPolicy Local) (TCP 80: the Service's service.beta.kubernetes.io/aws-load-balancer-target-group-attributes annotation sets preserve_client_ip.enabled=false)" {
			t.Errorf("source seen: %s", h.Detail)
		}
	}
	got, e = npVerdicts(t, exposures(t, svc+publicOnlyBoth))
	if got["TCP 8080"] != "blocked" {
		t.Errorf("TCP 8080: %q, want blocked; hops %+v", got["TCP 8080"], e.Hops)
	}
}
