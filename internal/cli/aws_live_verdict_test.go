package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// verdictWorld is what TestAWSLiveVerdicts seeds: subnet-a whose route
// table has only the local route, and subnet-b, public, whose network
// ACL denies TCP 443 out (rule 90) before allowing everything (rule 100).
type verdictWorld struct {
	vpc, subnetA, subnetB, rtbA, rtbB, acl, instA, instB string
}

func seedVerdicts(t *testing.T) verdictWorld {
	t.Helper()
	ctx := context.Background()
	c := ec2.NewFromConfig(must(config.LoadDefaultConfig(ctx)))
	var w verdictWorld
	w.vpc = *must(c.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: sdkaws.String("10.1.0.0/16")})).Vpc.VpcId
	subnet := func(cidr string) string {
		return *must(c.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: &w.vpc, CidrBlock: &cidr, AvailabilityZone: sdkaws.String("us-east-1a")})).Subnet.SubnetId
	}
	w.subnetA, w.subnetB = subnet("10.1.1.0/24"), subnet("10.1.2.0/24")
	must(c.ModifySubnetAttribute(ctx, &ec2.ModifySubnetAttributeInput{SubnetId: &w.subnetB, MapPublicIpOnLaunch: &ec2types.AttributeBooleanValue{Value: sdkaws.Bool(true)}}))
	igw := *must(c.CreateInternetGateway(ctx, &ec2.CreateInternetGatewayInput{})).InternetGateway.InternetGatewayId
	must(c.AttachInternetGateway(ctx, &ec2.AttachInternetGatewayInput{InternetGatewayId: &igw, VpcId: &w.vpc}))
	table := func(subnet string) string {
		id := *must(c.CreateRouteTable(ctx, &ec2.CreateRouteTableInput{VpcId: &w.vpc})).RouteTable.RouteTableId
		must(c.AssociateRouteTable(ctx, &ec2.AssociateRouteTableInput{RouteTableId: &id, SubnetId: &subnet}))
		return id
	}
	// subnet-a: the local route only, no way out.
	w.rtbA, w.rtbB = table(w.subnetA), table(w.subnetB)
	must(c.CreateRoute(ctx, &ec2.CreateRouteInput{RouteTableId: &w.rtbB, DestinationCidrBlock: sdkaws.String("0.0.0.0/0"), GatewayId: &igw}))
	w.acl = *must(c.CreateNetworkAcl(ctx, &ec2.CreateNetworkAclInput{VpcId: &w.vpc})).NetworkAcl.NetworkAclId
	for _, e := range []ec2.CreateNetworkAclEntryInput{
		{RuleNumber: sdkaws.Int32(90), Egress: sdkaws.Bool(true), Protocol: sdkaws.String("6"), RuleAction: ec2types.RuleActionDeny, CidrBlock: sdkaws.String("0.0.0.0/0"), PortRange: &ec2types.PortRange{From: sdkaws.Int32(443), To: sdkaws.Int32(443)}},
		{RuleNumber: sdkaws.Int32(100), Egress: sdkaws.Bool(true), Protocol: sdkaws.String("-1"), RuleAction: ec2types.RuleActionAllow, CidrBlock: sdkaws.String("0.0.0.0/0")},
		{RuleNumber: sdkaws.Int32(100), Egress: sdkaws.Bool(false), Protocol: sdkaws.String("-1"), RuleAction: ec2types.RuleActionAllow, CidrBlock: sdkaws.String("0.0.0.0/0")},
	} {
		e.NetworkAclId = &w.acl
		must(c.CreateNetworkAclEntry(ctx, &e))
	}
	acls := must(c.DescribeNetworkAcls(ctx, &ec2.DescribeNetworkAclsInput{Filters: []ec2types.Filter{{Name: sdkaws.String("association.subnet-id"), Values: []string{w.subnetB}}}}))
	for _, a := range acls.NetworkAcls[0].Associations {
		if *a.SubnetId == w.subnetB {
			must(c.ReplaceNetworkAclAssociation(ctx, &ec2.ReplaceNetworkAclAssociationInput{AssociationId: a.NetworkAclAssociationId, NetworkAclId: &w.acl}))
		}
	}
	instance := func(subnet string) string {
		return *must(c.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: sdkaws.String("ami-12c6146b"), MinCount: sdkaws.Int32(1), MaxCount: sdkaws.Int32(1),
			SubnetId: &subnet, InstanceType: ec2types.InstanceTypeM5Large})).Instances[0].InstanceId
	}
	w.instA, w.instB = instance(w.subnetA), instance(w.subnetB)
	return w
}

// The verdicts of the VPC layer on an account read live: moto_server
// holds the network ACL entries and route tables, ringfence reads them
// with --aws (AWS_ENDPOINT_URL) and explains pods on the seeded
// instances. A NAT-less, IGW-less subnet cannot reach the internet (the
// route table is named); network ACL rule 90 denies HTTPS out of the
// other subnet (the rule is named), while HTTP leaves by the internet
// gateway.
func TestAWSLiveVerdicts(t *testing.T) {
	endpoint := startMoto(t)
	awsEnv(t, endpoint)
	w := seedVerdicts(t)
	dir := t.TempDir()
	var manifests strings.Builder
	for _, n := range []struct{ pool, instance string }{{"a", w.instA}, {"b", w.instB}} {
		fmt.Fprintf(&manifests, `apiVersion: v1
kind: Node
metadata: {name: node-%[1]s, labels: {pool: %[1]s}}
spec: {providerID: "aws:///us-east-1a/%[2]s"}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: app-%[1]s, namespace: shop}
spec:
  selector: {matchLabels: {app: %[1]s}}
  template:
    metadata: {labels: {app: %[1]s}}
    spec:
      nodeSelector: {pool: %[1]s}
      containers: [{name: app, image: registry.example.com/app:1.0}]
---
`, n.pool, n.instance)
	}
	if err := os.WriteFile(filepath.Join(dir, "cluster.yaml"), []byte(manifests.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	explain := func(from, port string) (map[string]any, string) {
		t.Helper()
		args := []string{"explain", "-f", dir, "--aws", "--aws-vpc", w.vpc, "--from", from, "--to", "8.8.8.8", "--port", port}
		stdout, stderr, code := run(t, "", append(args, "-o", "json")...)
		if code != ExitOK {
			t.Fatalf("%v: exit %d: %s", args, code, stderr)
		}
		var e map[string]any
		if err := json.Unmarshal([]byte(stdout), &e); err != nil {
			t.Fatal(err)
		}
		text, stderr, code := run(t, "", args...)
		if code != ExitOK || strings.Contains(text+stderr, secretKey) {
			t.Fatalf("%v: exit %d: %s", args, code, stderr)
		}
		return e, text
	}
	layer := func(e map[string]any, name string) string {
		v, _ := e["vpc"].(map[string]any)[name].(map[string]any)
		b, _ := json.Marshal(v["allowed"])
		return string(b)
	}

	// The VPC's DNS attributes are read too (moto's defaults: support on,
	// hostnames off).
	stdout, stderr, code := run(t, "", "inventory", "-f", dir, "--aws", "--aws-vpc", w.vpc, "-o", "json")
	if code != ExitOK || !strings.Contains(stdout, "enableDnsSupport true, enableDnsHostnames false") {
		t.Errorf("inventory: exit %d, DNS attributes not read: %s", code, stderr)
	}

	e, text := explain("shop/app-a", "443")
	if e["verdict"] != "denied" || layer(e, "routes") != "{}" {
		t.Errorf("subnet-a to the internet: verdict %v, routes allow %s; want denied by the route", e["verdict"], layer(e, "routes"))
	}
	if want := "route table " + w.rtbA + " (explicit association with " + w.subnetA; !strings.Contains(text, want) || !strings.Contains(text, "denied: no route covers 8.8.8.8") {
		t.Errorf("the text does not name %s and its missing route:\n%s", w.rtbA, text)
	}

	e, text = explain("shop/app-b", "443")
	// The ACLs allow every port but TCP 443; the route allows all.
	if e["verdict"] != "denied" || !strings.Contains(layer(e, "networkACLs"), `"TCP":[[1,442],[444,65535]]`) || !strings.Contains(layer(e, "routes"), `"TCP":[[1,65535]]`) {
		t.Errorf("subnet-b HTTPS out: verdict %v, ACLs allow %s, routes %s; want denied by the ACL alone", e["verdict"], layer(e, "networkACLs"), layer(e, "routes"))
	}
	if want := "network ACL " + w.acl + " rule 90 deny tcp port 443 to 0.0.0.0/0"; !strings.Contains(text, want) {
		t.Errorf("missing %q in:\n%s", want, text)
	}

	e, text = explain("shop/app-b", "80")
	if e["verdict"] != "allowed" || !strings.Contains(text, "to the internet through internet gateway") {
		t.Errorf("subnet-b HTTP out: verdict %v; want allowed through the internet gateway:\n%s", e["verdict"], text)
	}
}
