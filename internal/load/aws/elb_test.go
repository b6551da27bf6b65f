package aws

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/ringfence/ringfence/internal/load/document"
)

// Shapes from the AWS CLI reference of aws elbv2 describe-listeners and
// describe-tags (its examples' fields).
const (
	lbDoc = `{"LoadBalancers": [{"LoadBalancerArn": "arn:lb/app/web/1", "LoadBalancerName": "web", "Type": "application",
  "Scheme": "internet-facing", "VpcId": "vpc-1", "IpAddressType": "dualstack", "SecurityGroups": ["sg-1"],
  "AvailabilityZones": [{"ZoneName": "us-east-1a", "SubnetId": "subnet-1"}]}]}`
	listenersDoc = `{
  "Listeners": [
    {"ListenerArn": "arn:listener/app/web/1/a", "LoadBalancerArn": "arn:lb/app/web/1", "Port": 443, "Protocol": "HTTPS",
     "Certificates": [{"CertificateArn": "arn:aws:acm:us-east-1:111122223333:certificate/x"}], "SslPolicy": "ELBSecurityPolicy-TLS13-1-2-2021-06",
     "DefaultActions": [{"Type": "forward", "TargetGroupArn": "arn:tg/a",
       "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": "arn:tg/a", "Weight": 1}, {"TargetGroupArn": "arn:tg/b", "Weight": 1}]}}]},
    {"ListenerArn": "arn:listener/app/web/1/b", "LoadBalancerArn": "arn:lb/app/web/1", "Port": 80, "Protocol": "HTTP",
     "DefaultActions": [{"Type": "redirect", "RedirectConfig": {"Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"}}]}
  ]
}`
	tagsDoc = `{"TagDescriptions": [
  {"ResourceArn": "arn:lb/app/web/1", "Tags": [{"Key": "elbv2.k8s.aws/cluster", "Value": "prod"}, {"Key": "ingress.k8s.aws/stack", "Value": "shop/web"}]},
  {"ResourceArn": "arn:tg/a", "Tags": [{"Key": "ingress.k8s.aws/stack", "Value": "shop/web"}]}
]}`
)

// Listeners are read with their ports and forward targets; tags land on
// the load balancer whichever file comes first.
func TestELBv2ListenersAndTags(t *testing.T) {
	for _, order := range [][]int{{0, 1, 2}, {2, 1, 0}} {
		docs := [][2]string{{"lbs.json", lbDoc}, {"listeners.json", listenersDoc}, {"tags.json", tagsDoc}}
		var in [][2]string
		for _, i := range order {
			in = append(in, docs[i])
		}
		w, _, err := build(t, in...)
		if err != nil {
			t.Fatal(err)
		}
		n := w.Network
		if len(n.Listeners) != 2 || len(n.LoadBalancers) != 1 {
			t.Fatalf("%d listeners, %d load balancers", len(n.Listeners), len(n.LoadBalancers))
		}
		var got []string
		for _, l := range n.Listeners {
			got = append(got, fmt.Sprintf("%s %s:%d %v @%s", l.LoadBalancer, l.Protocol, l.Port, l.TargetGroups, l.Source))
		}
		want := "arn:lb/app/web/1 HTTPS:443 [arn:tg/a arn:tg/b] @listeners.json:3|arn:lb/app/web/1 HTTP:80 [] @listeners.json:7"
		if strings.Join(got, "|") != want {
			t.Errorf("listeners:\n%s\nwant\n%s", strings.Join(got, "|"), want)
		}
		lb := n.LoadBalancers[0]
		if lb.Tags["ingress.k8s.aws/stack"] != "shop/web" || lb.Tags["elbv2.k8s.aws/cluster"] != "prod" || len(lb.Tags) != 2 || lb.IPAddressType != "dualstack" {
			t.Errorf("order %v: load balancer %+v", order, lb)
		}
	}
}

// Bad listeners are refused with their position; a Classic Load
// Balancer's describe-tags (names, not ARNs) is a warning.
func TestELBv2BadInput(t *testing.T) {
	for _, c := range []struct{ doc, want string }{
		{`{"Listeners": [{"LoadBalancerArn": "arn:lb/1", "Port": 80, "Protocol": "HTTP"}]}`, "x.json:1: Listeners[0] has no ListenerArn"},
		{`{"Listeners": [{"ListenerArn": "arn:l/1", "Port": 80, "Protocol": "HTTP"}]}`, "Listeners[0] has no LoadBalancerArn"},
		{"{\"Listeners\": [\n{\"ListenerArn\": \"arn:l/1\", \"LoadBalancerArn\": \"arn:lb/1\", \"Port\": 80, \"Protocol\": \"SMTP\"}]}", `x.json:2: Listener/arn:l/1: protocol "SMTP" is not one of`},
		{`{"Listeners": [{"ListenerArn": "arn:l/1", "LoadBalancerArn": "arn:lb/1", "Port": 0, "Protocol": "TCP"}]}`, "port 0 is not between 1 and 65535"},
		{`{"TagDescriptions": [{"Tags": []}]}`, "TagDescriptions[0] has no ResourceArn"},
	} {
		_, _, err := build(t, [2]string{"x.json", c.doc})
		var de *document.Error
		if err == nil || !errors.As(err, &de) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.doc, err, c.want)
		}
	}
	w, r, err := build(t, [2]string{"x.json", `{"TagDescriptions": [{"LoadBalancerName": "classic", "Tags": [{"Key": "a", "Value": "b"}]}]}`})
	if err != nil || len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0].Msg, "Classic Load Balancer") || len(w.Network.LoadBalancers) != 0 {
		t.Errorf("classic tags: %v %+v", err, r.Warnings)
	}
	// A GWLB's GENEVE listener has no port.
	if _, _, err := build(t, [2]string{"x.json", `{"Listeners": [{"ListenerArn": "arn:l/1", "LoadBalancerArn": "arn:lb/1", "Protocol": "GENEVE"}]}`}); err != nil {
		t.Errorf("GENEVE: %v", err)
	}
}

// terraform show -json: aws_lb_listener with the provider's attribute
// names; a listener whose protocol is not set takes the provider's
// default (TCP for a Network Load Balancer); a planned load balancer's
// ARN is not known yet, so the listener names it by address.
func TestELBv2TerraformListener(t *testing.T) {
	state := `{"format_version": "1.0", "terraform_version": "1.11.3", "values": {"root_module": {"resources": [
  {"address": "aws_lb.edge", "mode": "managed", "type": "aws_lb", "name": "edge", "values": {
    "arn": "arn:lb/net/edge/1", "load_balancer_type": "network", "internal": false, "ip_address_type": "ipv4", "subnets": ["subnet-1"], "security_groups": []}},
  {"address": "aws_lb_listener.tls", "mode": "managed", "type": "aws_lb_listener", "name": "tls", "values": {
    "arn": "arn:listener/net/edge/1/a", "load_balancer_arn": "arn:lb/net/edge/1", "port": 443,
    "default_action": [{"type": "forward", "target_group_arn": "",
      "forward": [{"target_group": [{"arn": "arn:tg/x", "weight": 1}, {"arn": "arn:tg/y", "weight": 0}]}]}]}},
  {"address": "aws_lb_listener.dns", "mode": "managed", "type": "aws_lb_listener", "name": "dns", "values": {
    "arn": "arn:listener/net/edge/1/b", "load_balancer_arn": "arn:lb/net/edge/1", "port": 53, "protocol": "TCP_UDP",
    "default_action": [{"type": "forward", "target_group_arn": "arn:tg/dns"}]}}
]}}}`
	w, _, err := build(t, [2]string{"state.json", state})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range w.Network.Listeners {
		got = append(got, fmt.Sprintf("%s %s %s:%d %v", l.ARN, l.LoadBalancer, l.Protocol, l.Port, l.TargetGroups))
	}
	want := "arn:listener/net/edge/1/a arn:lb/net/edge/1 TCP:443 [arn:tg/x arn:tg/y]|arn:listener/net/edge/1/b arn:lb/net/edge/1 TCP_UDP:53 [arn:tg/dns]"
	if strings.Join(got, "|") != want {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "|"), want)
	}
	if _, _, err := build(t, [2]string{"state.json", strings.Replace(state, `"port": 53`, `"port": 70000`, 1)}); err == nil || !strings.Contains(err.Error(), "aws_lb_listener.dns: port 70000") {
		t.Errorf("bad port: %v", err)
	}
}
