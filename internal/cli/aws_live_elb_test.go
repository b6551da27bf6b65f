package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// elbServices is an inference server (RF009 watches those); elbService a
// LoadBalancer Service for it with no status: only the tags the AWS Load
// Balancer Controller puts on its load balancer tie them together.
const elbServices = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: vllm/vllm-openai:v0.6.3
        ports: [{name: http, containerPort: 8080}]
        resources: {limits: {nvidia.com/gpu: 1}}
`

func elbService(name string) string {
	return `---
apiVersion: v1
kind: Service
metadata:
  name: ` + name + `
  namespace: web
  annotations:
    service.beta.kubernetes.io/aws-load-balancer-type: external
    service.beta.kubernetes.io/aws-load-balancer-nlb-target-type: ip
    service.beta.kubernetes.io/aws-load-balancer-scheme: internal
spec:
  type: LoadBalancer
  selector: {app: web}
  ports: [{name: https, port: 443, targetPort: http, protocol: TCP}]
`
}

// The live path decides an exposure on moto: a VPC with a public subnet
// (0.0.0.0/0 to an internet gateway) and a private one (local route
// only), a security group admitting the world on 443 and 22, and two
// internet-facing NLBs with a TCP:443 listener, tagged for the Services
// web/public and web/stuck (both annotated internal: the load balancers
// read from the account win). public's is in the public subnet: its
// groups are judged on 443 only and the internet reaches it; stuck's is
// in the private subnet: no client from the internet reaches it.
func TestAWSLiveELBExposureOnMoto(t *testing.T) {
	endpoint := startMoto(t)
	awsEnv(t, endpoint)
	ctx := context.Background()
	cfg := must(config.LoadDefaultConfig(ctx))
	c, lbc := ec2.NewFromConfig(cfg), elb.NewFromConfig(cfg)
	vpc := *must(c.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: sdkaws.String("10.0.0.0/16")})).Vpc.VpcId
	subnet := func(cidr string) string {
		return *must(c.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: &vpc, CidrBlock: &cidr, AvailabilityZone: sdkaws.String("us-east-1a")})).Subnet.SubnetId
	}
	public, private := subnet("10.0.1.0/24"), subnet("10.0.2.0/24")
	igw := *must(c.CreateInternetGateway(ctx, &ec2.CreateInternetGatewayInput{})).InternetGateway.InternetGatewayId
	must(c.AttachInternetGateway(ctx, &ec2.AttachInternetGatewayInput{InternetGatewayId: &igw, VpcId: &vpc}))
	table := func(s string) string {
		id := *must(c.CreateRouteTable(ctx, &ec2.CreateRouteTableInput{VpcId: &vpc})).RouteTable.RouteTableId
		must(c.AssociateRouteTable(ctx, &ec2.AssociateRouteTableInput{RouteTableId: &id, SubnetId: &s}))
		return id
	}
	rtPublic := table(public)
	table(private)
	must(c.CreateRoute(ctx, &ec2.CreateRouteInput{RouteTableId: &rtPublic, DestinationCidrBlock: sdkaws.String("0.0.0.0/0"), GatewayId: &igw}))
	sg := *must(c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{VpcId: &vpc, GroupName: sdkaws.String("k8s-web"), Description: sdkaws.String("NLB")})).GroupId
	must(c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: &sg, IpPermissions: []ec2types.IpPermission{
		{IpProtocol: sdkaws.String("tcp"), FromPort: sdkaws.Int32(443), ToPort: sdkaws.Int32(443), IpRanges: []ec2types.IpRange{{CidrIp: sdkaws.String("0.0.0.0/0")}}},
		{IpProtocol: sdkaws.String("tcp"), FromPort: sdkaws.Int32(22), ToPort: sdkaws.Int32(22), IpRanges: []ec2types.IpRange{{CidrIp: sdkaws.String("0.0.0.0/0")}}},
	}}))
	for _, lb := range []struct{ name, subnet string }{{"public", public}, {"stuck", private}} {
		arn := must(lbc.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{Name: sdkaws.String("k8s-web-" + lb.name), Subnets: []string{lb.subnet},
			SecurityGroups: []string{sg}, Scheme: elbtypes.LoadBalancerSchemeEnumInternetFacing, Type: elbtypes.LoadBalancerTypeEnumNetwork,
			Tags: []elbtypes.Tag{{Key: sdkaws.String("service.k8s.aws/stack"), Value: sdkaws.String("web/" + lb.name)},
				{Key: sdkaws.String("elbv2.k8s.aws/cluster"), Value: sdkaws.String("prod")}}})).LoadBalancers[0].LoadBalancerArn
		tg := must(lbc.CreateTargetGroup(ctx, &elb.CreateTargetGroupInput{Name: sdkaws.String("k8s-web-" + lb.name), Port: sdkaws.Int32(8080),
			Protocol: elbtypes.ProtocolEnumTcp, VpcId: &vpc, TargetType: elbtypes.TargetTypeEnumIp})).TargetGroups[0].TargetGroupArn
		must(lbc.CreateListener(ctx, &elb.CreateListenerInput{LoadBalancerArn: arn, Port: sdkaws.Int32(443), Protocol: elbtypes.ProtocolEnumTcp,
			DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: tg}}}))
		if lb.name == "public" {
			// public's target group preserves the clients' addresses.
			must(lbc.ModifyTargetGroupAttributes(ctx, &elb.ModifyTargetGroupAttributesInput{TargetGroupArn: tg, Attributes: []elbtypes.TargetGroupAttribute{
				{Key: sdkaws.String("preserve_client_ip.enabled"), Value: sdkaws.String("true")}}}))
		}
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "web.yaml"), []byte(elbServices+elbService("public")+elbService("stuck")), 0o644); err != nil {
		t.Fatal(err)
	}

	es := elbExposures(t, "web/web", dir, "--aws")
	for name, want := range map[string]struct{ subnets, detail string }{
		"public": {"open", public + ": route table " + rtPublic + " sends 0.0.0.0/0 to " + igw + ": public"},
		"stuck":  {"blocked", private + ": route table "},
	} {
		e := es["Service/web/"+name]
		lb := firstHop(t, e)
		if lb["verdict"] != "open" || !strings.Contains(lb["detail"].(string), "matched by its tag service.k8s.aws/stack=web/"+name) ||
			!strings.Contains(lb["detail"].(string), "admit the whole internet on TCP 443 (its listeners TCP:443 (aws elasticloadbalancing:DescribeListeners (us-east-1)") ||
			!strings.Contains(lb["detail"].(string), "target group k8s-web-"+name+": ip targets on TCP:8080, from listener TCP:443") {
			t.Errorf("%s: load balancer hop %v", name, lb)
		}
		h := hopOf(t, e, "load balancer subnets")
		if h == nil || h["verdict"] != want.subnets || !strings.Contains(h["detail"].(string), want.detail) {
			t.Errorf("%s: subnets hop %v, want %s with %q", name, h, want.subnets, want.detail)
		}
	}
	// DescribeTargetGroupAttributes: public's pods see the clients, by
	// the attribute; stuck's (no attribute set) the load balancer's.
	if h := hopOf(t, es["Service/web/public"], "source seen by the pods"); h == nil ||
		!strings.Contains(h["detail"].(string), "the clients' addresses (TCP 443: target group k8s-web-public (ip targets, TCP) preserves the client's address: its attribute preserve_client_ip.enabled=true (aws elasticloadbalancing:DescribeTargetGroupAttributes (us-east-1))") {
		t.Errorf("public: source seen %v", h)
	}
	if h := hopOf(t, es["Service/web/stuck"], "source seen by the pods"); h == nil || !strings.Contains(h["detail"].(string), "the load balancer's private addresses") {
		t.Errorf("stuck: source seen %v", h)
	}
	if e := es["Service/web/stuck"]; e["internet"] != false || e["possible"] == true {
		t.Errorf("stuck: an internet-facing NLB in a subnet without a route to an internet gateway is reachable? %v", e)
	}

	// audit --aws: RF009 names web/public's exposure, never web/stuck's.
	stdout, stderr, code := run(t, "", "audit", "-f", dir, "--aws", "-o", "json")
	if code != ExitOK && code != ExitFindings {
		t.Fatalf("audit: exit %d: %s", code, stderr)
	}
	var audit struct {
		Findings []struct{ Rule, Message string } `json:"findings"`
	}
	if err := json.Unmarshal([]byte(stdout), &audit); err != nil {
		t.Fatal(err)
	}
	var rf009 []string
	for _, f := range audit.Findings {
		if f.Rule == "RF009" {
			rf009 = append(rf009, f.Message)
		}
	}
	if got := strings.Join(rf009, "\n"); !strings.Contains(got, "Service/web/public") || strings.Contains(got, "Service/web/stuck") {
		t.Errorf("RF009 findings:\n%s", got)
	}
	if strings.Contains(stdout+stderr, secretKey) {
		t.Error("the secret access key was printed")
	}
}
