package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const udpFixture = "internal/cli/testdata/aws-elb-udp"

// npHops are an exposure's NetworkPolicy verdicts by the port their
// detail names, and its "source seen by the pods" details.
func npHops(t *testing.T, e map[string]any) (map[string]string, string) {
	t.Helper()
	if e == nil {
		t.Fatal("no such exposure")
	}
	out := map[string]string{}
	var seen []string
	for _, h := range e["hops"].([]any) {
		h := h.(map[string]any)
		step, detail := h["step"].(string), h["detail"].(string)
		if step == "source seen by the pods" {
			seen = append(seen, detail)
		}
		if strings.HasPrefix(step, "NetworkPolicy of ") {
			for _, p := range []string{"UDP 5353", "TCP 8080"} {
				if strings.Contains(detail, p) {
					out[p] = h["verdict"].(string)
				}
			}
		}
	}
	return out, strings.Join(seen, "\n")
}

// An NLB's UDP target group with IP targets always preserves the client's
// address (AWS: it cannot be disabled), so its pods see the clients: the
// NetworkPolicy admitting only public addresses lets the internet in on
// UDP 53 (judged as if the pods saw the load balancer's private
// addresses, it was "blocked": not an exposure, wrongly). The TCP target
// group of the same load balancer does not preserve it by default: there
// the policy admits no source. With the TCP target group's attributes
// (preserve_client_ip.enabled=true) both ports let the clients in, and
// the hop names the attribute's file and line.
func TestUDPTargetGroupExposureCLI(t *testing.T) {
	files := []string{udpFixture + "/services.yaml", udpFixture + "/load-balancers.json", udpFixture + "/listeners.json", udpFixture + "/target-groups.json"}
	e := elbExposures(t, "edge/dns", files...)["Service/edge/dns"]
	np, seen := npHops(t, e)
	if np["UDP 5353"] != "restricted" || np["TCP 8080"] != "blocked" || e["internet"] != true {
		t.Errorf("without attributes: NetworkPolicy %v, internet %v", np, e["internet"])
	}
	for _, want := range []string{
		"UDP 53: the clients' addresses (UDP 53: target group k8s-edge-dns-53 (ip targets, UDP) preserves the client's address: a UDP target group always does)",
		"TCP 80: the load balancer's private addresses (IP targets without client IP preservation) (TCP 80: target group k8s-edge-dns-80 (ip targets, TCP) does not preserve the client's address: no preserve_client_ip.enabled attribute: the default)",
	} {
		if !strings.Contains(seen, want) {
			t.Errorf("source seen lacks %q:\n%s", want, seen)
		}
	}

	// The TCP target group's attributes turn preservation on.
	attrs := udpFixture + "/attributes/k8s-edge-dns-80.json"
	e = elbExposures(t, "edge/dns", append(files, attrs)...)["Service/edge/dns"]
	np, seen = npHops(t, e)
	if np["UDP 5353"] != "restricted" || np["TCP 8080"] != "restricted" {
		t.Errorf("with attributes: NetworkPolicy %v", np)
	}
	for _, want := range []string{"its attribute preserve_client_ip.enabled=true (" + attrs + ":3)",
		"proxy protocol v2 sends the client's address in a header, the packets' source address is unchanged"} {
		if !strings.Contains(seen, want) {
			t.Errorf("source seen lacks %q:\n%s", want, seen)
		}
	}

	// describe-target-group-attributes as the CLI prints it names no
	// target group: a warning saying how to tie it, and it is not used.
	dir := t.TempDir()
	raw, err := os.ReadFile(attrs)
	if err != nil {
		t.Fatal(err)
	}
	plain := filepath.Join(dir, "attrs.json")
	if err := os.WriteFile(plain, []byte(strings.Replace(string(raw), `"TargetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:111122223333:targetgroup/k8s-edge-dns-80/bbbbbbbbbbbbbbbb",`, "", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"explain", "-v", "-o", "json", "--from", "internet", "--to", "edge/dns", "-f", plain}
	for _, f := range files {
		args = append(args, "-f", f)
	}
	stdout, stderr, code := run(t, "", args...)
	if code == ExitInput || !strings.Contains(stderr, plain+":1") || !strings.Contains(stderr, "does not name the target group") || !strings.Contains(stdout, `admits no TCP 8080 from the traffic's source`) {
		t.Errorf("plain output: exit %d\n%s", code, stderr)
	}

	// A bad value is refused with its file and line, exit 2.
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(strings.Replace(string(raw), `{"Key": "preserve_client_ip.enabled", "Value": "true"}`, `{"Key": "preserve_client_ip.enabled", "Value": "on"}`, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr, code = run(t, "", "explain", "--from", "internet", "--to", "edge/dns", "-f", bad, "-f", udpFixture+"/services.yaml")
	if code != ExitInput || !strings.Contains(stderr, bad+":5") || !strings.Contains(stderr, `preserve_client_ip.enabled has value "on"`) {
		t.Errorf("bad value: exit %d: %s", code, stderr)
	}
}

// Terraform: an aws_lb_target_group's preserve_client_ip replaces the
// annotation for a TCP target group ("false" here, where the Service's
// annotation asks for true), and cannot turn it off for a UDP one.
func TestUDPTargetGroupTerraform(t *testing.T) {
	state := `{"format_version": "1.0", "terraform_version": "1.11.3", "values": {"root_module": {"resources": [
  {"address": "aws_lb.dns", "mode": "managed", "type": "aws_lb", "name": "dns", "values": {
    "arn": "arn:lb/net/dns/1", "name": "dns", "load_balancer_type": "network", "internal": false, "ip_address_type": "ipv4",
    "dns_name": "k8s-edge-dns-4f5e6d7c8b-0a1b2c3d4e5f6a7b.elb.us-east-1.amazonaws.com", "subnets": ["subnet-1"], "security_groups": []}},
  {"address": "aws_lb_listener.dns", "mode": "managed", "type": "aws_lb_listener", "name": "dns", "values": {
    "arn": "arn:listener/net/dns/1/a", "load_balancer_arn": "arn:lb/net/dns/1", "port": 53, "protocol": "UDP",
    "default_action": [{"type": "forward", "target_group_arn": "arn:tg/dns"}]}},
  {"address": "aws_lb_listener.web", "mode": "managed", "type": "aws_lb_listener", "name": "web", "values": {
    "arn": "arn:listener/net/dns/1/b", "load_balancer_arn": "arn:lb/net/dns/1", "port": 80, "protocol": "TCP",
    "default_action": [{"type": "forward", "target_group_arn": "arn:tg/web"}]}},
  {"address": "aws_lb_target_group.dns", "mode": "managed", "type": "aws_lb_target_group", "name": "dns", "values": {
    "arn": "arn:tg/dns", "name": "dns", "port": 5353, "protocol": "UDP", "target_type": "ip", "vpc_id": "vpc-1",
    "preserve_client_ip": "false", "proxy_protocol_v2": false}},
  {"address": "aws_lb_target_group.web", "mode": "managed", "type": "aws_lb_target_group", "name": "web", "values": {
    "arn": "arn:tg/web", "name": "web", "port": 8080, "protocol": "TCP", "target_type": "ip", "vpc_id": "vpc-1",
    "preserve_client_ip": "false", "proxy_protocol_v2": false}}
]}}}`
	dir := t.TempDir()
	raw, err := os.ReadFile(udpFixture + "/services.yaml")
	if err != nil {
		t.Fatal(err)
	}
	svc := strings.Replace(string(raw), "    service.beta.kubernetes.io/aws-load-balancer-scheme: internet-facing\n",
		"    service.beta.kubernetes.io/aws-load-balancer-scheme: internet-facing\n    service.beta.kubernetes.io/aws-load-balancer-target-group-attributes: preserve_client_ip.enabled=true\n", 1)
	for name, body := range map[string]string{"state.json": state, "services.yaml": svc} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	e := elbExposures(t, "edge/dns", filepath.Join(dir, "services.yaml"), filepath.Join(dir, "state.json"))["Service/edge/dns"]
	np, seen := npHops(t, e)
	if np["UDP 5353"] != "restricted" || np["TCP 8080"] != "blocked" {
		t.Errorf("NetworkPolicy %v\n%s", np, seen)
	}
	if want := "its attribute preserve_client_ip.enabled=false (" + filepath.Join(dir, "state.json") + ":"; !strings.Contains(seen, want) {
		t.Errorf("source seen lacks %q:\n%s", want, seen)
	}
	// Without the state, the annotation decides: the TCP port sees the
	// clients too.
	e = elbExposures(t, "edge/dns", filepath.Join(dir, "services.yaml"))["Service/edge/dns"]
	if np, seen := npHops(t, e); np["TCP 8080"] != "restricted" {
		t.Errorf("annotation only: NetworkPolicy %v\n%s", np, seen)
	}
}

// A listener forwarding to two target groups that disagree on client IP
// preservation (weighted forward: k8s-edge-dns-80 does not preserve, a
// canary group does): the pods see the clients or the load balancer, so
// the NetworkPolicy admitting only public addresses is unknown there, not
// blocked.
func TestTargetGroupsDisagreeOnPreservation(t *testing.T) {
	dir := t.TempDir()
	const web = "arn:aws:elasticloadbalancing:us-east-1:111122223333:targetgroup/k8s-edge-dns-80/bbbbbbbbbbbbbbbb"
	const canary = "arn:aws:elasticloadbalancing:us-east-1:111122223333:targetgroup/k8s-edge-canary/cccccccccccccccc"
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ls, err := os.ReadFile(udpFixture + "/listeners.json")
	if err != nil {
		t.Fatal(err)
	}
	listeners := write("listeners.json", strings.Replace(string(ls), `{"Type": "forward", "TargetGroupArn": "`+web+`"}`,
		`{"Type": "forward", "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": "`+web+`", "Weight": 9}, {"TargetGroupArn": "`+canary+`", "Weight": 1}]}}`, 1))
	tgs := write("canary-tg.json", `{"TargetGroups": [{"TargetGroupArn": "`+canary+`", "TargetGroupName": "k8s-edge-canary", "Protocol": "TCP", "Port": 8080, "VpcId": "vpc-1", "TargetType": "ip"}]}`)
	attrs := write("canary-attrs.json", `{"TargetGroupArn": "`+canary+`", "Attributes": [{"Key": "preserve_client_ip.enabled", "Value": "true"}]}`)
	e := elbExposures(t, "edge/dns", udpFixture+"/services.yaml", udpFixture+"/load-balancers.json", udpFixture+"/target-groups.json", listeners, tgs, attrs)["Service/edge/dns"]
	np, seen := npHops(t, e)
	if np["TCP 8080"] != "unknown" || !strings.Contains(seen, "TCP 80: the clients' addresses or the load balancer's private addresses (its target groups disagree on client IP preservation)") {
		t.Errorf("NetworkPolicy %v\n%s", np, seen)
	}
}
