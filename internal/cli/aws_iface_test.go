package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	stsFixture = "internal/cli/testdata/aws-vpc-sts"
	dnsFixture = "internal/cli/testdata/aws-vpc-dns"
)

// destExplain runs explain -o json on the given inputs.
func destExplain(t *testing.T, files []string, args ...string) map[string]any {
	t.Helper()
	var all []string
	for _, f := range files {
		all = append(all, "-f", f)
	}
	stdout, stderr, code := run(t, "", append(append([]string{"explain"}, all...), append(args, "-o", "json")...)...)
	if code == ExitInput || code == ExitInternal {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var e map[string]any
	if err := json.Unmarshal([]byte(stdout), &e); err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	return e
}

func endpointHop(t *testing.T, e map[string]any) map[string]any {
	t.Helper()
	eps, _ := e["interfaceEndpoints"].([]any)
	if len(eps) != 1 {
		t.Fatalf("interface endpoints %v, want vpce-0sts", e["interfaceEndpoints"])
	}
	return eps[0].(map[string]any)
}

func allowedText(v any) string {
	b, _ := json.Marshal(v.(map[string]any)["allowed"])
	return string(b)
}

// Truth table of an interface endpoint's private DNS (AWS PrivateLink
// guide: private DNS needs enableDnsSupport and enableDnsHostnames) and
// of its security group (sg-vpce admits TCP 443 from subnet-private
// only). The public path (NAT gateway) would allow TCP 80 from shop/api;
// where the endpoint carries the traffic, its group decides instead.
func TestInterfaceEndpointPrivateDNSTruthTable(t *testing.T) {
	withDNS := []string{vpcFixture, stsFixture, dnsFixture}
	noDNS := []string{vpcFixture, stsFixture}
	dir := t.TempDir()
	// enableDnsHostnames false: the private hosted zone does not answer.
	if err := os.WriteFile(filepath.Join(dir, "hostnames.json"), []byte(`{"VpcId": "vpc-1", "EnableDnsHostnames": {"Value": false}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "support.json"), []byte(`{"VpcId": "vpc-1", "EnableDnsSupport": {"Value": true}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	hostnamesOff := []string{vpcFixture, stsFixture, dir}
	for _, c := range []struct {
		name    string
		files   []string
		from    string
		port    string
		carries string
		verdict string
		sg      string // the endpoint's groups' allowed ports
	}{
		{"both attributes, 443 from subnet-private", withDNS, "shop/api", "443", "yes", "allowed", `{"TCP":[[443,443]]}`},
		{"both attributes, 80: the endpoint's group refuses what the NAT path allows", withDNS, "shop/api", "80", "yes", "denied", `{}`},
		{"attributes not given, 80: the two paths disagree", noDNS, "shop/api", "80", "maybe", "unknown", `{}`},
		{"attributes not given, 443: both paths allow (IPv4; the public IPv6 ranges have no route)", noDNS, "shop/api", "443", "maybe", "partly allowed", `{"TCP":[[443,443]]}`},
		{"enableDnsHostnames false: the public path decides", hostnamesOff, "shop/api", "80", "no", "partly allowed", `{}`},
		{"subnet-isolated is not in the group's rule", withDNS, "shop/batch", "443", "yes", "denied", `{}`},
		{"pods of an unknown subnet", withDNS, "shop/report", "443", "yes", "unknown", `{}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := destExplain(t, c.files, "--from", c.from, "--to", "aws:STS:us-east-1", "--port", c.port)
			h := endpointHop(t, e)
			if h["carries"] != c.carries || e["verdict"] != c.verdict {
				t.Errorf("carries %v, verdict %v; want %s, %s (why: %v)", h["carries"], e["verdict"], c.carries, c.verdict, h["why"])
			}
			if got := allowedText(h["endpointSecurityGroups"]); got != c.sg {
				t.Errorf("endpoint groups allow %s, want %s", got, c.sg)
			}
		})
	}
	e := destExplain(t, noDNS, "--from", "shop/api", "--to", "aws:STS:us-east-1", "--port", "80")
	if why, _ := endpointHop(t, e)["why"].(string); !strings.Contains(why, "aws ec2 describe-vpc-attribute --vpc-id vpc-1") {
		t.Errorf("maybe: why %q does not say what to give", why)
	}
	// The batch pods' replies also die in acl-isolated (only TCP 443 in).
	e = destExplain(t, withDNS, "--from", "shop/batch", "--to", "aws:STS:us-east-1", "--port", "443")
	vpc := endpointHop(t, e)["vpc"].(map[string]any)
	if got := allowedText(vpc["networkACLs"]); got != `{}` {
		t.Errorf("batch -> endpoint: ACLs allow %s", got)
	}
}

// The text names the endpoint, its group's rule and the hops to it.
func TestInterfaceEndpointExplainText(t *testing.T) {
	stdout, stderr, code := run(t, "", "explain", "-f", vpcFixture, "-f", stsFixture, "-f", dnsFixture, "--from", "shop/api", "--to", "aws:STS:us-east-1", "--port", "443")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{
		"shop/api => aws:STS:us-east-1, TCP 443: ALLOWED",
		"Interface endpoint vpce-0sts carries this traffic (private DNS)",
		"Interface endpoint vpce-0sts (com.amazonaws.us-east-1.sts, " + stsFixture + "/vpc-endpoints.json:3): ALLOWED",
		"the endpoint's security groups from the pods: allows TCP 443",
		"by security group sg-vpce (sts-endpoint) inbound rule 0 (" + stsFixture + "/security-groups.json:9): tcp 443 to 10.0.1.0/24",
		"network ACL, request into subnet-public from subnet-private: allows",
		"sends 10.0.0.0/16 -> local",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("missing %q in:\n%s", want, stdout)
		}
	}
}

// Where the endpoint's groups or subnets are not in the inputs, its hop is
// unknown, never denied.
func TestInterfaceEndpointUnknownParts(t *testing.T) {
	dir := t.TempDir()
	ep := `{"VpcEndpoints": [{"VpcEndpointId": "vpce-0sts", "VpcEndpointType": "Interface", "VpcId": "vpc-1", "ServiceName": "com.amazonaws.us-east-1.sts",
	  "SubnetIds": ["subnet-elsewhere"], "Groups": [{"GroupId": "sg-notgiven"}], "PrivateDnsEnabled": true}]}`
	if err := os.WriteFile(filepath.Join(dir, "vpc-endpoints.json"), []byte(ep), 0o644); err != nil {
		t.Fatal(err)
	}
	e := destExplain(t, []string{vpcFixture, dir, dnsFixture}, "--from", "shop/api", "--to", "aws:STS:us-east-1", "--port", "443")
	h := endpointHop(t, e)
	if e["verdict"] != "unknown" || h["verdict"] != "unknown" {
		t.Errorf("verdict %v, hop %v: want unknown", e["verdict"], h["verdict"])
	}
	b, _ := json.Marshal(h)
	for _, want := range []string{"security group sg-notgiven of interface endpoint vpce-0sts is not in the inputs", "subnet subnet-elsewhere of interface endpoint vpce-0sts is not in the inputs"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("missing %q in %s", want, b)
		}
	}
}

// explain --to a named destination shows the VPC layer hop by hop, like
// explain to an address: the isolated subnet has no route out, so the
// internet is denied by the route table; S3 from subnet-private takes the
// gateway endpoint.
func TestExplainDestinationVPC(t *testing.T) {
	e := destExplain(t, []string{vpcFixture}, "--from", "shop/batch", "--to", "internet", "--port", "443")
	if e["verdict"] != "denied" {
		t.Errorf("batch -> internet: %v, want denied", e["verdict"])
	}
	vpc, _ := e["vpc"].(map[string]any)
	if vpc == nil || len(vpc["allowed"].([]any)) != 0 {
		t.Fatalf("vpc coverage %v, want none allowed", e["vpc"])
	}
	stdout, _, _ := run(t, "", "explain", "-f", vpcFixture, "--from", "shop/batch", "--to", "internet", "--port", "443")
	for _, want := range []string{"VPC (network ACLs, routes, gateway endpoints): allows none of it", "route table rtb-isolated", "denied: no route covers", "All layers: allows none of it"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("missing %q in:\n%s", want, stdout)
		}
	}
	stdout, _, _ = run(t, "", "explain", "-f", vpcFixture, "--from", "shop/api", "--to", "aws:S3:us-east-1", "--port", "443")
	for _, want := range []string{"-> vpce-0s3gateway", "through gateway endpoint vpce-0s3gateway", "shop/api => aws:S3:us-east-1, TCP 443: PARTLY ALLOWED"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("missing %q in:\n%s", want, stdout)
		}
	}
	// Unknown subnet: unknown, with the reason.
	e = destExplain(t, []string{vpcFixture}, "--from", "shop/report", "--to", "internet", "--port", "443")
	if e["verdict"] != "unknown" {
		t.Errorf("report -> internet: %v, want unknown", e["verdict"])
	}
	if b, _ := json.Marshal(e["both"]); !strings.Contains(string(b), "the subnet of the pods' nodes is not known") {
		t.Errorf("missing reason in %s", b)
	}
}

// RF035 through the CLI: the default policy and a wildcard bucket name are
// findings, a policy kept to the account by aws:ResourceAccount is not,
// and neither is the fixture's policy naming its buckets.
func TestEndpointPolicyAudit(t *testing.T) {
	stdout, stderr, code := run(t, "", "audit", "-f", "internal/check/testdata/rf035-endpoints.json", "-f", vpcFixture, "--rules", "RF035", "-o", "json")
	// Medium findings are below the default --fail-on.
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var r struct {
		Findings []struct {
			Rule, Message string
			Object        struct{ Name string }
		}
	}
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, f := range r.Findings {
		got[f.Object.Name] = f.Message
	}
	if len(got) != 2 || !strings.Contains(got["vpce-0s3default"], "full-access default") || !strings.Contains(got["vpce-0s3wildcard"], "buckets of any account") {
		t.Errorf("findings %v, want vpce-0s3default and vpce-0s3wildcard only", got)
	}
}

// RF034 for connections between pods of two subnets: shop/batch may only
// reach shop/api's pods; acl-isolated admits TCP 443 in and nothing
// else, so the replies from subnet-private to batch's ephemeral ports die
// there. The finding is possible: sg-node admits 10.0.0.0/16, and the
// pods' addresses are not in the inputs. With an inbound entry for the
// ephemeral ports it is quiet.
func TestReplyBlockedBetweenPods(t *testing.T) {
	policy := `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: batch-to-api, namespace: shop}
spec:
  podSelector: {matchLabels: {app: batch}}
  policyTypes: [Egress]
  egress:
  - to: [{podSelector: {matchLabels: {app: api}}}]
`
	copyFixture := func(acl func(string) string) string {
		dir := t.TempDir()
		entries, _ := os.ReadDir(vpcFixture)
		for _, e := range entries {
			b, err := os.ReadFile(filepath.Join(vpcFixture, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			if e.Name() == "network-acls.json" {
				b = []byte(acl(string(b)))
			}
			if err := os.WriteFile(filepath.Join(dir, e.Name()), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(dir, "policy.yaml"), []byte(policy), 0o644); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	findings := func(dir string) map[string]string {
		stdout, stderr, code := run(t, "", "audit", "-f", dir, "--rules", "RF034", "-o", "json")
		if code != ExitOK && code != ExitFindings {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		var r struct {
			Findings []struct {
				Message, Confidence string
				Object              struct{ Name string }
			}
		}
		if err := json.Unmarshal([]byte(stdout), &r); err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, f := range r.Findings {
			out[f.Object.Name] = f.Confidence + ": " + f.Message
		}
		return out
	}
	got := findings(copyFixture(func(s string) string { return s }))
	if f := got["acl-isolated"]; !strings.Contains(f, "shop/batch") || !strings.Contains(f, "for example to pods of shop/api") || !strings.Contains(f, "reply into subnet-isolated") || !strings.HasPrefix(f, "possible") {
		t.Errorf("acl-isolated: %q (all: %v)", f, got)
	}
	ephemeral := `{"RuleNumber": 100, "Egress": false, "Protocol": "6", "PortRange": {"From": 443, "To": 443}, "RuleAction": "allow", "CidrBlock": "10.0.0.0/16"},
        {"RuleNumber": 110, "Egress": false, "Protocol": "-1", "RuleAction": "allow", "CidrBlock": "10.0.0.0/16"},`
	got = findings(copyFixture(func(s string) string {
		return strings.Replace(s, `{"RuleNumber": 100, "Egress": false, "Protocol": "6", "PortRange": {"From": 443, "To": 443}, "RuleAction": "allow", "CidrBlock": "10.0.0.0/16"},`, ephemeral, 1)
	}))
	if f, ok := got["acl-isolated"]; ok {
		t.Errorf("acl-isolated admits the replies, yet: %s", f)
	}
}
