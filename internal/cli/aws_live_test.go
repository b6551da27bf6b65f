package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/ringfence/ringfence/internal/load/awslive"
)

// secretKey is the dummy secret access key of the tests: it must never
// appear in any output.
const secretKey = "RINGFENCE-TEST-SECRET-KEY-91d2"

// startMoto starts moto_server (a real implementation of the EC2 and ELBv2
// APIs) on a free 127.0.0.1 port and stops it when the test ends. Without
// moto_server the test is skipped, unless CI=true or
// RINGFENCE_LIVE_TESTS=required (as `make test` sets it). `make test` finds
// it with hack/moto.sh and passes it as RINGFENCE_MOTO_SERVER.
func startMoto(t *testing.T) string {
	t.Helper()
	bin, err := os.Getenv("RINGFENCE_MOTO_SERVER"), error(nil)
	if bin == "" {
		bin, err = exec.LookPath("moto_server")
	}
	if err != nil {
		if os.Getenv("CI") == "true" || os.Getenv("RINGFENCE_LIVE_TESTS") == "required" {
			t.Fatal("moto_server is not installed: pip install 'moto[server]==5.2.1'")
		}
		t.Skip("moto_server not installed (pip install 'moto[server]'): the live AWS tests need it")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := fmt.Sprint(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", port)
	var logs strings.Builder
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	endpoint := "http://127.0.0.1:" + port
	deadline := time.Now().Add(90 * time.Second)
	for {
		resp, err := http.Get(endpoint + "/moto-api/")
		if err == nil {
			resp.Body.Close()
			return endpoint
		}
		if time.Now().After(deadline) {
			t.Fatalf("moto_server did not start: %v\n%s", err, logs.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// awsEnv points the SDK at endpoint with dummy credentials and nothing from
// the developer's own configuration.
func awsEnv(t *testing.T, endpoint string) {
	t.Setenv("AWS_ENDPOINT_URL", endpoint)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIARINGFENCETEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", secretKey)
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CONFIG_FILE", os.DevNull)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
}

// world is what the tests seed: a VPC with a public and a private subnet.
type world struct {
	vpc, other, public, private, igw, nat, rtbPublic, rtbPrivate, acl, vpce, nodes, instance, terminated, lbARN, tgARN string
}

// must stops the seeding at its first error (a panic fails the test with
// the call that failed).
func must[T any](v T, err error) T {
	if err != nil {
		panic(fmt.Sprintf("seeding moto: %v", err))
	}
	return v
}

// seed builds the environment through the same SDK ringfence reads with.
func seed(t *testing.T) world {
	ctx := context.Background()
	cfg := must(config.LoadDefaultConfig(ctx))
	c, lb := ec2.NewFromConfig(cfg), elb.NewFromConfig(cfg)
	var w world
	w.vpc = *must(c.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: sdkaws.String("10.0.0.0/16")})).Vpc.VpcId
	w.other = *must(c.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: sdkaws.String("10.9.0.0/16")})).Vpc.VpcId
	subnet := func(cidr, az string) string {
		return *must(c.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: &w.vpc, CidrBlock: &cidr, AvailabilityZone: &az})).Subnet.SubnetId
	}
	w.public, w.private = subnet("10.0.1.0/24", "us-east-1a"), subnet("10.0.2.0/24", "us-east-1b")
	w.igw = *must(c.CreateInternetGateway(ctx, &ec2.CreateInternetGatewayInput{})).InternetGateway.InternetGatewayId
	must(c.AttachInternetGateway(ctx, &ec2.AttachInternetGatewayInput{InternetGatewayId: &w.igw, VpcId: &w.vpc}))
	eip := must(c.AllocateAddress(ctx, &ec2.AllocateAddressInput{Domain: ec2types.DomainTypeVpc})).AllocationId
	w.nat = *must(c.CreateNatGateway(ctx, &ec2.CreateNatGatewayInput{SubnetId: &w.public, AllocationId: eip})).NatGateway.NatGatewayId
	table := func(subnet string) string {
		id := *must(c.CreateRouteTable(ctx, &ec2.CreateRouteTableInput{VpcId: &w.vpc})).RouteTable.RouteTableId
		must(c.AssociateRouteTable(ctx, &ec2.AssociateRouteTableInput{RouteTableId: &id, SubnetId: &subnet}))
		return id
	}
	w.rtbPublic, w.rtbPrivate = table(w.public), table(w.private)
	must(c.CreateRoute(ctx, &ec2.CreateRouteInput{RouteTableId: &w.rtbPublic, DestinationCidrBlock: sdkaws.String("0.0.0.0/0"), GatewayId: &w.igw}))
	must(c.CreateRoute(ctx, &ec2.CreateRouteInput{RouteTableId: &w.rtbPrivate, DestinationCidrBlock: sdkaws.String("0.0.0.0/0"), NatGatewayId: &w.nat}))
	w.vpce = *must(c.CreateVpcEndpoint(ctx, &ec2.CreateVpcEndpointInput{VpcId: &w.vpc, ServiceName: sdkaws.String("com.amazonaws.us-east-1.s3"),
		VpcEndpointType: ec2types.VpcEndpointTypeGateway, RouteTableIds: []string{w.rtbPrivate}})).VpcEndpoint.VpcEndpointId
	w.acl = *must(c.CreateNetworkAcl(ctx, &ec2.CreateNetworkAclInput{VpcId: &w.vpc})).NetworkAcl.NetworkAclId
	for _, e := range []ec2.CreateNetworkAclEntryInput{
		{RuleNumber: sdkaws.Int32(100), Egress: sdkaws.Bool(false), Protocol: sdkaws.String("6"), RuleAction: ec2types.RuleActionAllow, CidrBlock: sdkaws.String("10.0.0.0/16"), PortRange: &ec2types.PortRange{From: sdkaws.Int32(443), To: sdkaws.Int32(443)}},
		{RuleNumber: sdkaws.Int32(200), Egress: sdkaws.Bool(false), Protocol: sdkaws.String("6"), RuleAction: ec2types.RuleActionAllow, CidrBlock: sdkaws.String("0.0.0.0/0"), PortRange: &ec2types.PortRange{From: sdkaws.Int32(1024), To: sdkaws.Int32(65535)}},
		{RuleNumber: sdkaws.Int32(100), Egress: sdkaws.Bool(true), Protocol: sdkaws.String("-1"), RuleAction: ec2types.RuleActionAllow, CidrBlock: sdkaws.String("0.0.0.0/0")},
	} {
		e.NetworkAclId = &w.acl
		must(c.CreateNetworkAclEntry(ctx, &e))
	}
	// Move the private subnet from the default ACL to the new one.
	acls := must(c.DescribeNetworkAcls(ctx, &ec2.DescribeNetworkAclsInput{Filters: []ec2types.Filter{{Name: sdkaws.String("association.subnet-id"), Values: []string{w.private}}}}))
	for _, a := range acls.NetworkAcls[0].Associations {
		if *a.SubnetId == w.private {
			must(c.ReplaceNetworkAclAssociation(ctx, &ec2.ReplaceNetworkAclAssociationInput{AssociationId: a.NetworkAclAssociationId, NetworkAclId: &w.acl}))
		}
	}
	w.nodes = *must(c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{VpcId: &w.vpc, GroupName: sdkaws.String("nodes"), Description: sdkaws.String("EKS nodes")})).GroupId
	must(c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: &w.nodes, IpPermissions: []ec2types.IpPermission{
		{IpProtocol: sdkaws.String("tcp"), FromPort: sdkaws.Int32(22), ToPort: sdkaws.Int32(22), IpRanges: []ec2types.IpRange{{CidrIp: sdkaws.String("0.0.0.0/0")}}},
	}}))
	w.instance = *must(c.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: sdkaws.String("ami-12c6146b"), MinCount: sdkaws.Int32(1), MaxCount: sdkaws.Int32(1),
		SubnetId: &w.private, SecurityGroupIds: []string{w.nodes}, InstanceType: ec2types.InstanceTypeM5Large})).Instances[0].InstanceId
	w.terminated = *must(c.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: sdkaws.String("ami-12c6146b"), MinCount: sdkaws.Int32(1), MaxCount: sdkaws.Int32(1),
		SubnetId: &w.private})).Instances[0].InstanceId
	must(c.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{w.terminated}}))
	w.lbARN = *must(lb.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{Name: sdkaws.String("web"), Subnets: []string{w.public, w.private},
		SecurityGroups: []string{w.nodes}, Scheme: elbtypes.LoadBalancerSchemeEnumInternetFacing, Type: elbtypes.LoadBalancerTypeEnumApplication})).LoadBalancers[0].LoadBalancerArn
	w.tgARN = *must(lb.CreateTargetGroup(ctx, &elb.CreateTargetGroupInput{Name: sdkaws.String("api"), Port: sdkaws.Int32(8080), Protocol: elbtypes.ProtocolEnumHttp,
		VpcId: &w.vpc, TargetType: elbtypes.TargetTypeEnumIp})).TargetGroups[0].TargetGroupArn
	return w
}

// recorder forwards to moto and records the IAM action of every call
// (EC2 and ELBv2 speak the query protocol: Action=... in the form).
type recorder struct {
	mu      sync.Mutex
	actions map[string]bool
}

func (r *recorder) proxy(t *testing.T, endpoint string) string {
	target, _ := url.Parse(endpoint)
	rp := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		form, _ := url.ParseQuery(string(body))
		// The credential scope names the signing service: ec2 or
		// elasticloadbalancing.
		service := regexp.MustCompile(`Credential=[^/]+/[^/]+/[^/]+/([^/]+)/`).FindStringSubmatch(req.Header.Get("Authorization"))
		if len(service) == 2 && form.Get("Action") != "" {
			r.mu.Lock()
			r.actions[service[1]+":"+form.Get("Action")] = true
			r.mu.Unlock()
		}
		req.Body = io.NopCloser(strings.NewReader(string(body)))
		rp.ServeHTTP(w, req)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestAWSLiveOnMoto(t *testing.T) {
	endpoint := startMoto(t)
	awsEnv(t, endpoint)
	w := seed(t)

	rec := &recorder{actions: map[string]bool{}}
	t.Setenv("AWS_ENDPOINT_URL", rec.proxy(t, endpoint))
	stdout, stderr, code := run(t, "", "inventory", "-f", "internal/cli/testdata/aws", "--aws", "-o", "json")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var inv struct {
		SecurityGroups []struct{ ID, Name string }
		Instances      []struct {
			ID     string
			Groups []string `json:"securityGroups"`
		}
		AWSNetwork []struct{ Kind, ID, VPC, Detail, Source string } `json:"awsNetwork"`
	}
	if err := json.Unmarshal([]byte(stdout), &inv); err != nil {
		t.Fatal(err)
	}
	objects := map[string]string{}
	for _, o := range inv.AWSNetwork {
		objects[o.Kind+" "+o.ID] = o.VPC + " | " + o.Detail
		if !strings.HasPrefix(o.Source, "aws ") || !strings.HasSuffix(o.Source, "(us-east-1)") {
			t.Errorf("%s %s: source %q does not name the call and region", o.Kind, o.ID, o.Source)
		}
	}
	// Each object is read with its VPC and the details that matter.
	want := map[string]string{
		"Subnet " + w.private:        w.vpc + " | us-east-1b 10.0.2.0/24, public IP on launch false",
		"RouteTable " + w.rtbPrivate: w.vpc + " | for " + w.private + "; routes 10.0.0.0/16->local 0.0.0.0/0->" + w.nat,
		"RouteTable " + w.rtbPublic:  w.vpc + " | for " + w.public + "; routes 10.0.0.0/16->local 0.0.0.0/0->" + w.igw,
		"NetworkACL " + w.acl:        w.vpc + " | 2 inbound / 1 outbound entries, subnets " + w.private,
		"InternetGateway " + w.igw:   w.vpc + " | attached true",
		"NATGateway " + w.nat:        w.vpc + " | ",
		"LoadBalancer web":           w.vpc + " | application internet-facing, groups " + w.nodes + ", subnets ",
		"TargetGroup api":            w.vpc + " | ip targets, HTTP:8080, 0 load balancers",
		"VPCEndpoint " + w.vpce:      w.vpc + " | Gateway com.amazonaws.us-east-1.s3 in " + w.rtbPrivate + ",",
	}
	for k, v := range want {
		if got := objects[k]; !strings.HasPrefix(got, v) {
			t.Errorf("%s: got %q, want it to start with %q", k, got, v)
		}
	}
	if got := objects["NATGateway "+w.nat]; !strings.Contains(got, " in "+w.public+", public ") {
		t.Errorf("NAT gateway %s: %q, want it in subnet %s with its public IP", w.nat, got, w.public)
	}
	if _, ok := objects["VPC "+w.other]; !ok {
		t.Errorf("without --aws-vpc, the other VPC %s is not read", w.other)
	}
	var group, instance bool
	for _, g := range inv.SecurityGroups {
		group = group || g.ID == w.nodes && g.Name == "nodes"
	}
	for _, in := range inv.Instances {
		instance = instance || in.ID == w.instance && strings.Join(in.Groups, ",") == w.nodes
	}
	if strings.Contains(stdout, w.terminated) {
		t.Errorf("terminated instance %s was read", w.terminated)
	}
	if !group || !instance {
		t.Errorf("group %s read: %v; instance %s with it: %v", w.nodes, group, w.instance, instance)
	}

	// The calls made are exactly the documented read-only actions.
	var called []string
	for a := range rec.actions {
		called = append(called, a)
	}
	sort.Strings(called)
	documented := append([]string(nil), awslive.Actions...)
	sort.Strings(documented)
	if strings.Join(called, "\n") != strings.Join(documented, "\n") {
		t.Errorf("actions called:\n%s\nactions documented (awslive.Actions):\n%s", strings.Join(called, "\n"), strings.Join(documented, "\n"))
	}

	// --aws-vpc scopes the read.
	stdout, stderr, code = run(t, "", "inventory", "-f", "internal/cli/testdata/aws", "--aws", "--aws-vpc", w.other, "-o", "json")
	if code != ExitOK || strings.Contains(stdout, w.vpc) || !strings.Contains(stdout, w.other) {
		t.Errorf("--aws-vpc %s: exit %d, VPC %s still read or %s missing: %s", w.other, code, w.vpc, w.other, stderr)
	}

	// audit reads the account as well and never prints the credentials.
	stdout, stderr, code = run(t, "", "audit", "-f", "internal/cli/testdata/aws", "--aws", "-o", "json")
	if code != ExitOK && code != ExitFindings {
		t.Fatalf("audit: exit %d: %s", code, stderr)
	}
	if strings.Contains(stderr, "still infer") {
		t.Errorf("load balancers take part in exposures, yet a note says they are only listed: %s", stderr)
	}
	if strings.Contains(stdout+stderr, secretKey) {
		t.Error("the secret access key was printed")
	}
}

// An UnauthorizedOperation answer (the EC2 wire shape) names the call and
// the IAM action to allow; an AccessDenied from ELBv2 likewise.
func TestAWSPermissionErrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		form, _ := url.ParseQuery(string(body))
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(http.StatusForbidden)
		if form.Get("Version") == "2015-12-01" { // ELBv2
			fmt.Fprint(w, `<ErrorResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User is not authorized</Message></Error><RequestId>1</RequestId></ErrorResponse>`)
			return
		}
		fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?>
<Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>You are not authorized to perform this operation. User: arn:aws:iam::111122223333:user/ci is not authorized to perform: ec2:`+form.Get("Action")+`</Message></Error></Errors><RequestID>0a1b</RequestID></Response>`)
	}))
	defer srv.Close()
	awsEnv(t, srv.URL)
	_, stderr, code := run(t, "", "inventory", "-f", "internal/cli/testdata/aws", "--aws", "--aws-region", "eu-west-1")
	want := "ringfence: aws: ec2:DescribeVpcs is not allowed for these credentials (region eu-west-1): AWS answered UnauthorizedOperation"
	if code != ExitInput || !strings.HasPrefix(stderr, want) || strings.Contains(stderr, secretKey) {
		t.Errorf("exit %d, stderr %q, want it to start with %q", code, stderr, want)
	}
	// A server that does not answer: the request timeout ends the wait.
	hang := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) { <-hang }))
	defer slow.Close()
	defer close(hang)
	t.Setenv("AWS_ENDPOINT_URL", slow.URL)
	start := time.Now()
	_, stderr, code = run(t, "", "inventory", "-f", "internal/cli/testdata/aws", "--aws", "--request-timeout", "1s")
	if code != ExitInput || !strings.Contains(stderr, "ec2:DescribeVpcs (region us-east-1): no answer within 1s (--request-timeout)") || time.Since(start) > 20*time.Second {
		t.Errorf("unanswered call: exit %d after %s, %q", code, time.Since(start), stderr)
	}
	// No region anywhere.
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	if _, stderr, code := run(t, "", "inventory", "-f", "internal/cli/testdata/aws", "--aws"); code != ExitInput || !strings.Contains(stderr, "aws: no region: give --aws-region") {
		t.Errorf("no region: exit %d %q", code, stderr)
	}
	// Flags that need --aws.
	if _, stderr, code := run(t, "", "inventory", "-f", "internal/cli/testdata/aws", "--aws-vpc", "vpc-1"); code != ExitInput || !strings.Contains(stderr, "--aws-vpc needs --aws") {
		t.Errorf("--aws-vpc without --aws: exit %d %q", code, stderr)
	}
	if _, stderr, code := run(t, "", "inventory", "-f", "internal/cli/testdata/aws", "--aws", "--aws-vpc", "subnet-1"); code != ExitInput || !strings.Contains(stderr, "want a VPC id") {
		t.Errorf("--aws-vpc subnet-1: exit %d %q", code, stderr)
	}
}
