package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const vpcFixture = "internal/cli/testdata/aws-vpc"

// vpcExplain runs explain -o json on the VPC fixture.
func vpcExplain(t *testing.T, args ...string) map[string]any {
	t.Helper()
	return destExplain(t, []string{vpcFixture}, args...)
}

// A private subnet with no route out cannot reach the internet whatever
// the security groups say; its network ACL also drops the replies, and
// explain names the route table and the "*" rule that decide.
func TestVPCNoRouteOut(t *testing.T) {
	stdout, _, _ := run(t, "", "explain", "-f", vpcFixture, "--from", "shop/batch", "--to", "8.8.8.8", "--port", "443")
	for _, want := range []string{
		"shop/batch => 8.8.8.8, TCP 443: DENIED",
		"Security groups: allow All Connections",
		"route table rtb-isolated (explicit association with subnet-isolated, " + vpcFixture + "/route-tables.json:",
		"denied: no route covers 8.8.8.8",
		"network ACL, reply into subnet-isolated from 8.8.8.8 to the pods' ephemeral ports: DENIES",
		"network ACL acl-isolated rule * deny all traffic from 0.0.0.0/0",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("missing %q in:\n%s", want, stdout)
		}
	}
	e := vpcExplain(t, "--from", "shop/batch", "--to", "8.8.8.8", "--port", "443")
	if e["verdict"] != "denied" {
		t.Errorf("verdict %v", e["verdict"])
	}
	vpc := e["vpc"].(map[string]any)
	if r := vpc["routes"].(map[string]any); len(r["allowed"].(map[string]any)) != 0 {
		t.Errorf("routes allow %v", r)
	}
}

// Out through a NAT gateway: the route follows the NAT gateway's subnet to
// the internet gateway, hop by hop; UDP replies meet no rule in the
// stateless ACL (rule 110 admits TCP only), so DNS to the internet is
// denied while HTTPS is allowed.
func TestVPCNATAndStatelessReply(t *testing.T) {
	stdout, _, _ := run(t, "", "explain", "-f", vpcFixture, "--from", "shop/api", "--to", "8.8.8.8", "--port", "443")
	for _, want := range []string{
		"shop/api => 8.8.8.8, TCP 443: ALLOWED",
		"sends 0.0.0.0/0 -> nat-1 (" + vpcFixture + "/route-tables.json:",
		"out through NAT gateway nat-1",
		"sends 0.0.0.0/0 -> igw-1",
		"network ACL acl-private rule 110 allow tcp ports 1024-65535 from 0.0.0.0/0",
		"request out of subnet-public to 8.8.8.8",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("missing %q in:\n%s", want, stdout)
		}
	}
	// The hops come in the order a packet meets them: ACL out, route.
	if strings.Index(stdout, "request out of subnet-private") > strings.Index(stdout, "route from subnet-private") {
		t.Errorf("hop order:\n%s", stdout)
	}
	udp, _, _ := run(t, "", "explain", "-f", vpcFixture, "--from", "shop/api", "--to", "8.8.8.8", "--port", "53", "--protocol", "UDP")
	if !strings.Contains(udp, "UDP 53: DENIED") || !strings.Contains(udp, "network ACL acl-private rule * deny all traffic from 0.0.0.0/0 decides UDP 1024-65535") {
		t.Errorf("UDP reply:\n%s", udp)
	}
}

// The S3 gateway endpoint carries S3's addresses by its prefix-list route,
// more specific than the NAT gateway's 0.0.0.0/0; its policy is shown.
func TestVPCGatewayEndpoint(t *testing.T) {
	stdout, _, _ := run(t, "", "explain", "-f", vpcFixture, "--from", "shop/api", "--to", "52.216.1.1", "--port", "443")
	for _, want := range []string{
		"sends pl-6da54004 (entry 52.216.0.0/15) -> vpce-0s3gateway",
		"through gateway endpoint vpce-0s3gateway",
		"endpoint policy: only arn:aws:s3:::shop-data, arn:aws:s3:::shop-data/*",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("missing %q in:\n%s", want, stdout)
		}
	}
	if strings.Contains(stdout, "nat-1") {
		t.Errorf("S3 traffic shown through the NAT gateway:\n%s", stdout)
	}
}

// Between pods of two subnets both network ACLs apply, each direction and
// each reply; port 443 is admitted by acl-isolated's rule 100, port 80
// falls to its "*" rule. Pods whose node's subnet is unknown are unknown,
// never denied.
func TestVPCPodsAcrossSubnetsAndUnknown(t *testing.T) {
	e := vpcExplain(t, "--from", "shop/api", "--to", "shop/batch", "--port", "80")
	if e["verdict"] != "denied" {
		t.Errorf("port 80: verdict %v, want denied", e["verdict"])
	}
	acl := e["vpc"].(map[string]any)["networkACLs"].(map[string]any)
	if got, _ := json.Marshal(acl["allowed"]); string(got) != `{"TCP":[[443,443]]}` {
		t.Errorf("ACLs allow %s, want TCP 443 only", got)
	}
	e = vpcExplain(t, "--from", "shop/report", "--to", "8.8.8.8", "--port", "443")
	if e["verdict"] != "unknown" {
		t.Errorf("unknown subnet: verdict %v, want unknown", e["verdict"])
	}
	missing, _ := json.Marshal(e["missing"])
	if !strings.Contains(string(missing), "the subnet of the pods' nodes is not known") {
		t.Errorf("missing %s", missing)
	}
}

// reach -o json reports each VPC fence on its own beside networkPolicy
// and securityGroups; the connection's allow is what every fence allows.
func TestVPCReachLayers(t *testing.T) {
	stdout, stderr, code := run(t, "", "reach", "-f", vpcFixture, "-o", "json")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var r struct {
		Connections []struct {
			Src, Dst string
			Allow    map[string][][2]int
			Layers   struct {
				SecurityGroups map[string][][2]int `json:"securityGroups"`
				VPC            *struct {
					NetworkACLs, Routes *struct {
						Allowed, Unknown map[string][][2]int
					}
				} `json:"vpc"`
			}
		}
	}
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, c := range r.Connections {
		switch {
		case c.Src == "shop/batch" && strings.HasPrefix(c.Dst, "0.0.0.0/"):
			t.Errorf("shop/batch reaches the internet: %+v", c)
		case c.Src == "shop/api" && c.Dst == "52.216.0.0/15":
			seen["s3"] = true
			if c.Layers.VPC == nil || c.Layers.VPC.Routes == nil || len(c.Layers.VPC.Routes.Allowed["TCP"]) == 0 || c.Allow["UDP"] != nil {
				t.Errorf("api to S3: %+v", c)
			}
		case c.Src == "shop/api" && c.Dst == "shop/batch":
			seen["pair"] = true
			if c.Layers.VPC == nil || c.Layers.VPC.NetworkACLs == nil || len(c.Layers.VPC.NetworkACLs.Allowed["UDP"]) != 0 {
				t.Errorf("api to batch: %+v", c)
			}
		}
	}
	if !seen["s3"] || !seen["pair"] {
		t.Errorf("connections missing: %v", seen)
	}
}

// The AWS audit rules, each on the fixture's objects: SSH/RDP open to
// the world, the default group with rules, a group that fences nothing,
// network ACLs dropping replies, and (on a copy whose private table has
// no S3 endpoint) S3 through the NAT gateway.
func TestVPCAuditRules(t *testing.T) {
	type finding struct {
		Rule, Message, Confidence string
		Object                    struct{ Kind, Name string }
	}
	audit := func(dir string) []finding {
		t.Helper()
		stdout, stderr, code := run(t, "", "audit", "-f", dir, "--rules", "RF030,RF031,RF032,RF033,RF034", "-o", "json")
		if code != ExitFindings {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		var r struct{ Findings []finding }
		if err := json.Unmarshal([]byte(stdout), &r); err != nil {
			t.Fatal(err)
		}
		return r.Findings
	}
	got := map[string]bool{}
	for _, f := range audit(vpcFixture) {
		got[f.Rule+" "+f.Object.Kind+"/"+f.Object.Name] = true
		if f.Rule == "RF034" && f.Object.Name == "acl-private" && (!strings.Contains(f.Message, "shop/api") || !strings.Contains(f.Message, "UDP")) {
			t.Errorf("RF034 on acl-private: %s", f.Message)
		}
	}
	for _, want := range []string{
		"RF030 SecurityGroup/sg-bastion", "RF030 SecurityGroup/sg-wide-open", "RF031 SecurityGroup/sg-default",
		"RF032 SecurityGroup/sg-wide-open", "RF034 NetworkACL/acl-private", "RF034 NetworkACL/acl-isolated",
	} {
		if !got[want] {
			t.Errorf("missing %s in %v", want, got)
		}
	}
	// sg-bastion admits RDP from the VPC only, and is no open door; the
	// private table's S3 endpoint keeps RF033 quiet.
	for _, not := range []string{"RF032 SecurityGroup/sg-bastion", "RF032 SecurityGroup/sg-node", "RF033 RouteTable/rtb-private"} {
		if got[not] {
			t.Errorf("unexpected %s", not)
		}
	}
	dir := t.TempDir()
	entries, _ := os.ReadDir(vpcFixture)
	for _, e := range entries {
		if e.Name() == "vpc-endpoints.json" {
			continue
		}
		b, err := os.ReadFile(filepath.Join(vpcFixture, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if e.Name() == "route-tables.json" {
			b = []byte(strings.Replace(string(b), `{"DestinationPrefixListId": "pl-6da54004", "GatewayId": "vpce-0s3gateway", "State": "active"}`, `{"DestinationCidrBlock": "192.0.2.0/24", "GatewayId": "local", "State": "active"}`, 1))
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	found := false
	for _, f := range audit(dir) {
		found = found || (f.Rule == "RF033" && f.Object.Name == "rtb-private" && strings.Contains(f.Message, "nat-1"))
	}
	if !found {
		t.Error("RF033: S3 through the NAT gateway not reported")
	}
}
