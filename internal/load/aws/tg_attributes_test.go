package aws

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/ringfence/ringfence/internal/load/document"
	"github.com/ringfence/ringfence/internal/model"
)

// The shapes of aws elbv2 describe-target-group-attributes (its output
// for a Network Load Balancer's target group) and describe-target-groups.
const (
	tgsDoc = `{"TargetGroups": [
  {"TargetGroupArn": "arn:tg/dns", "TargetGroupName": "dns", "Protocol": "UDP", "Port": 5353, "VpcId": "vpc-1", "TargetType": "ip", "LoadBalancerArns": ["arn:lb/net/edge/1"]},
  {"TargetGroupArn": "arn:tg/web", "TargetGroupName": "web", "Protocol": "TCP", "Port": 8080, "VpcId": "vpc-1", "TargetType": "ip", "LoadBalancerArns": ["arn:lb/net/edge/1"]}
]}`
	tgAttrsDoc = `{
    "Attributes": [
        {"Key": "stickiness.enabled", "Value": "false"},
        {"Key": "deregistration_delay.timeout_seconds", "Value": "300"},
        {"Key": "proxy_protocol_v2.enabled", "Value": "true"},
        {"Key": "preserve_client_ip.enabled", "Value": "true"},
        {"Key": "deregistration_delay.connection_termination.enabled", "Value": "false"}
    ]
}`
)

// withARN is a describe-target-group-attributes output tied to its target
// group as modify-target-group-attributes' input is.
func withARN(arn, doc string) string {
	return strings.Replace(doc, "{\n", fmt.Sprintf("{\n    \"TargetGroupArn\": %q,\n", arn), 1)
}

func attrsOf(w *model.World, arn string) string {
	for _, tg := range w.Network.TargetGroups {
		if tg.ARN != arn {
			continue
		}
		a := tg.Attributes
		if a == nil {
			return "none"
		}
		b := func(p *bool) string {
			if p == nil {
				return "unset"
			}
			return fmt.Sprint(*p)
		}
		return fmt.Sprintf("preserve %s, proxy v2 %s @%s", b(a.PreserveClientIP), b(a.ProxyProtocolV2), a.Source)
	}
	return "no such target group"
}

// Attributes tied by TargetGroupArn land on their target group, whichever
// file comes first; the plain output, which names no target group, is a
// warning saying how to tie it; attributes of a target group not in the
// inputs are a warning too.
func TestTargetGroupAttributes(t *testing.T) {
	for _, order := range [][]int{{0, 1}, {1, 0}} {
		docs := [][2]string{{"tgs.json", tgsDoc}, {"attrs-web.json", withARN("arn:tg/web", tgAttrsDoc)}}
		w, r, err := build(t, docs[order[0]], docs[order[1]])
		if err != nil {
			t.Fatal(err)
		}
		if got := attrsOf(w, "arn:tg/web"); got != "preserve true, proxy v2 true @attrs-web.json:3" {
			t.Errorf("order %v: web %s", order, got)
		}
		if got := attrsOf(w, "arn:tg/dns"); got != "none" {
			t.Errorf("dns %s", got)
		}
		if len(r.Warnings) != 0 {
			t.Errorf("warnings %v", r.Warnings)
		}
	}
	w, r, err := build(t, [2]string{"tgs.json", tgsDoc}, [2]string{"attrs.json", tgAttrsDoc}, [2]string{"other.json", withARN("arn:tg/gone", tgAttrsDoc)},
		[2]string{"lb-attrs.json", `{"Attributes": [{"Key": "deletion_protection.enabled", "Value": "false"}, {"Key": "load_balancing.cross_zone.enabled", "Value": "true"}]}`})
	if err != nil {
		t.Fatal(err)
	}
	if attrsOf(w, "arn:tg/web") != "none" {
		t.Errorf("untied attributes were used: %s", attrsOf(w, "arn:tg/web"))
	}
	var warns []string
	for _, n := range r.Warnings {
		warns = append(warns, fmt.Sprint(n))
	}
	all := strings.Join(warns, "\n")
	for _, want := range []string{"attrs.json:1", "does not name the target group", "TargetGroupArn", "jq --arg a ARN",
		"other.json:3", "target group arn:tg/gone are given, but the target group is not in the inputs",
		"lb-attrs.json:1", "describe-load-balancer-attributes"} {
		if !strings.Contains(all, want) {
			t.Errorf("warnings lack %q:\n%s", want, all)
		}
	}
}

// A value other than true or false is refused with its position.
func TestTargetGroupAttributesBadInput(t *testing.T) {
	for _, c := range []struct{ doc, want string }{
		{"{\"TargetGroupArn\": \"arn:tg/web\",\n\"Attributes\": [\n{\"Key\": \"preserve_client_ip.enabled\", \"Value\": \"yes\"}]}", `x.json:3: TargetGroup/arn:tg/web: attribute preserve_client_ip.enabled has value "yes", want "true" or "false"`},
		{"{\"TargetGroupArn\": \"arn:tg/web\",\n\"Attributes\": [\n{\"Key\": \"proxy_protocol_v2.enabled\"}]}", `x.json:3: TargetGroup/arn:tg/web: attribute proxy_protocol_v2.enabled has value ""`},
		{"{\"Attributes\": [{\"Key\": \"\", \"Value\": \"x\"}]}", "x.json:1: Attributes[0] has no Key"},
		{`{"TargetGroupArn": 7, "Attributes": []}`, "invalid aws elbv2 describe-target-group-attributes output"},
	} {
		_, _, err := build(t, [2]string{"x.json", c.doc})
		var de *document.Error
		if err == nil || !errors.As(err, &de) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.doc, err, c.want)
		}
	}
}

// Terraform's aws_lb_target_group carries preserve_client_ip (a string)
// and proxy_protocol_v2 (a boolean); a plan that does not know them yet
// leaves them unset.
func TestTargetGroupAttributesTerraform(t *testing.T) {
	state := `{"format_version": "1.0", "terraform_version": "1.11.3", "values": {"root_module": {"resources": [
  {"address": "aws_lb_target_group.web", "mode": "managed", "type": "aws_lb_target_group", "name": "web", "values": {
    "arn": "arn:tg/web", "name": "web", "port": 8080, "protocol": "TCP", "target_type": "ip", "vpc_id": "vpc-1",
    "preserve_client_ip": "true", "proxy_protocol_v2": false}},
  {"address": "aws_lb_target_group.dns", "mode": "managed", "type": "aws_lb_target_group", "name": "dns", "values": {
    "arn": "arn:tg/dns", "name": "dns", "port": 5353, "protocol": "UDP", "target_type": "ip", "vpc_id": "vpc-1"}}
]}}}`
	w, _, err := build(t, [2]string{"state.json", state})
	if err != nil {
		t.Fatal(err)
	}
	if got := attrsOf(w, "arn:tg/web"); got != "preserve true, proxy v2 false @state.json:2" {
		t.Errorf("web %s", got)
	}
	if got := attrsOf(w, "arn:tg/dns"); got != "none" {
		t.Errorf("dns %s", got)
	}
	_, _, err = build(t, [2]string{"state.json", strings.Replace(state, `"preserve_client_ip": "true"`, `"preserve_client_ip": "maybe"`, 1)})
	if err == nil || !strings.Contains(err.Error(), `aws_lb_target_group.web: preserve_client_ip is "maybe"`) {
		t.Errorf("bad value: %v", err)
	}
}
