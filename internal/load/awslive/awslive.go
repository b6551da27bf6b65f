// Package awslive reads the AWS side of an environment from a live account
// with aws-sdk-go-v2: the same resources ringfence reads from describe-*
// files, through read-only Describe* calls. Each call's pages are turned
// into the document shape the AWS CLI prints for it and given to the same
// builder the files go through, so one model holds both.
package awslive

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/smithy-go"
	"github.com/ringfence/ringfence/internal/load/aws"
	"github.com/ringfence/ringfence/internal/load/document"
	"github.com/ringfence/ringfence/internal/model"
)

// Options says which account, region and VPC to read. Empty fields fall
// back to the SDK's standard chain (AWS_PROFILE, AWS_REGION, shared
// config, SSO, web identity, instance roles); AWS_ENDPOINT_URL and
// AWS_ENDPOINT_URL_EC2 / _ELASTIC_LOAD_BALANCING_V2 redirect the calls.
type Options struct {
	Profile string
	Region  string
	// VPC, when set, scopes every read that can be filtered to one VPC.
	VPC string
	// Timeout bounds each request (each page of a call), retries
	// included; 0 means none.
	Timeout time.Duration
}

// Actions are the IAM actions Read calls, in the order it calls them;
// docs/aws.md's minimal policy lists exactly these.
var Actions = []string{
	"ec2:DescribeVpcs",
	"ec2:DescribeSubnets",
	"ec2:DescribeNetworkAcls",
	"ec2:DescribeRouteTables",
	"ec2:DescribeVpcEndpoints",
	"ec2:DescribeNatGateways",
	"ec2:DescribeInternetGateways",
	"ec2:DescribeSecurityGroups",
	"ec2:DescribeInstances",
	"ec2:DescribeVpcAttribute",
	"ec2:DescribeManagedPrefixLists",
	"ec2:GetManagedPrefixListEntries",
	"elasticloadbalancing:DescribeLoadBalancers",
	"elasticloadbalancing:DescribeTargetGroups",
	"elasticloadbalancing:DescribeListeners",
	"elasticloadbalancing:DescribeTags",
	"elasticloadbalancing:DescribeTargetGroupAttributes",
}

// Read reads the account into b.
func Read(ctx context.Context, opts Options, b *aws.Builder) error {
	var load []func(*config.LoadOptions) error
	if opts.Profile != "" {
		load = append(load, config.WithSharedConfigProfile(opts.Profile))
	}
	if opts.Region != "" {
		load = append(load, config.WithRegion(opts.Region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, load...)
	if err != nil {
		// The SDK's message names the profile or file, never a secret.
		return fmt.Errorf("aws: loading the configuration: %v", err)
	}
	if cfg.Region == "" {
		return errors.New("aws: no region: give --aws-region, or set AWS_REGION or a region in the profile")
	}
	r := &reader{ec2: ec2.NewFromConfig(cfg), elb: elb.NewFromConfig(cfg), opts: opts, region: cfg.Region, b: b}
	return r.read(context.WithValue(ctx, timeoutKey{}, opts.Timeout))
}

type reader struct {
	ec2    *ec2.Client
	elb    *elb.Client
	opts   Options
	region string
	b      *aws.Builder
}

// timeoutKey carries Options.Timeout to collect through the context.
type timeoutKey struct{}

// collect gathers every page of a paginated call, each page within the
// request timeout.
func collect[O, T any](ctx context.Context, more func() bool, next func(context.Context) (O, error), items func(O) []T) ([]T, error) {
	out := []T{}
	timeout, _ := ctx.Value(timeoutKey{}).(time.Duration)
	for more() {
		pctx, cancel := ctx, context.CancelFunc(func() {})
		if timeout > 0 {
			pctx, cancel = context.WithTimeout(ctx, timeout)
		}
		page, err := next(pctx)
		cancel()
		if err != nil {
			return nil, err
		}
		out = append(out, items(page)...)
	}
	return out, nil
}

// filter scopes a call to the VPC, when one is given, and to the states
// given (name=value pairs).
func (r *reader) filter(name string, states ...string) []ec2types.Filter {
	var out []ec2types.Filter
	if r.opts.VPC != "" {
		out = append(out, ec2types.Filter{Name: sdkaws.String(name), Values: []string{r.opts.VPC}})
	}
	if len(states) > 0 {
		out = append(out, ec2types.Filter{Name: sdkaws.String(states[0]), Values: states[1:]})
	}
	return out
}

// read makes the calls. Deleted NAT gateways and terminated instances,
// which AWS lists for an hour after they go, are left out: they carry no
// traffic (a route to a deleted gateway is reported as a blackhole).
func (r *reader) read(ctx context.Context) error {
	c := r.ec2
	steps := []struct {
		action string
		key    string
		call   func() (any, error)
	}{
		{"ec2:DescribeVpcs", "Vpcs", func() (any, error) {
			p := ec2.NewDescribeVpcsPaginator(c, &ec2.DescribeVpcsInput{Filters: r.filter("vpc-id")})
			return collect(ctx, p.HasMorePages, func(ctx context.Context) (*ec2.DescribeVpcsOutput, error) { return p.NextPage(ctx) },
				func(o *ec2.DescribeVpcsOutput) []ec2types.Vpc { return o.Vpcs })
		}},
		{"ec2:DescribeSubnets", "Subnets", func() (any, error) {
			p := ec2.NewDescribeSubnetsPaginator(c, &ec2.DescribeSubnetsInput{Filters: r.filter("vpc-id")})
			return collect(ctx, p.HasMorePages, func(ctx context.Context) (*ec2.DescribeSubnetsOutput, error) { return p.NextPage(ctx) },
				func(o *ec2.DescribeSubnetsOutput) []ec2types.Subnet { return o.Subnets })
		}},
		{"ec2:DescribeNetworkAcls", "NetworkAcls", func() (any, error) {
			p := ec2.NewDescribeNetworkAclsPaginator(c, &ec2.DescribeNetworkAclsInput{Filters: r.filter("vpc-id")})
			return collect(ctx, p.HasMorePages, func(ctx context.Context) (*ec2.DescribeNetworkAclsOutput, error) { return p.NextPage(ctx) },
				func(o *ec2.DescribeNetworkAclsOutput) []ec2types.NetworkAcl { return o.NetworkAcls })
		}},
		{"ec2:DescribeRouteTables", "RouteTables", func() (any, error) {
			p := ec2.NewDescribeRouteTablesPaginator(c, &ec2.DescribeRouteTablesInput{Filters: r.filter("vpc-id")})
			return collect(ctx, p.HasMorePages, func(ctx context.Context) (*ec2.DescribeRouteTablesOutput, error) { return p.NextPage(ctx) },
				func(o *ec2.DescribeRouteTablesOutput) []ec2types.RouteTable { return o.RouteTables })
		}},
		{"ec2:DescribeVpcEndpoints", "VpcEndpoints", func() (any, error) {
			p := ec2.NewDescribeVpcEndpointsPaginator(c, &ec2.DescribeVpcEndpointsInput{Filters: r.filter("vpc-id")})
			return collect(ctx, p.HasMorePages, func(ctx context.Context) (*ec2.DescribeVpcEndpointsOutput, error) { return p.NextPage(ctx) },
				func(o *ec2.DescribeVpcEndpointsOutput) []ec2types.VpcEndpoint { return o.VpcEndpoints })
		}},
		{"ec2:DescribeNatGateways", "NatGateways", func() (any, error) {
			p := ec2.NewDescribeNatGatewaysPaginator(c, &ec2.DescribeNatGatewaysInput{Filter: r.filter("vpc-id", "state", "pending", "available")})
			return collect(ctx, p.HasMorePages, func(ctx context.Context) (*ec2.DescribeNatGatewaysOutput, error) { return p.NextPage(ctx) },
				func(o *ec2.DescribeNatGatewaysOutput) []ec2types.NatGateway { return o.NatGateways })
		}},
		{"ec2:DescribeInternetGateways", "InternetGateways", func() (any, error) {
			p := ec2.NewDescribeInternetGatewaysPaginator(c, &ec2.DescribeInternetGatewaysInput{Filters: r.filter("attachment.vpc-id")})
			return collect(ctx, p.HasMorePages, func(ctx context.Context) (*ec2.DescribeInternetGatewaysOutput, error) { return p.NextPage(ctx) },
				func(o *ec2.DescribeInternetGatewaysOutput) []ec2types.InternetGateway { return o.InternetGateways })
		}},
		{"ec2:DescribeSecurityGroups", "SecurityGroups", func() (any, error) {
			p := ec2.NewDescribeSecurityGroupsPaginator(c, &ec2.DescribeSecurityGroupsInput{Filters: r.filter("vpc-id")})
			return collect(ctx, p.HasMorePages, func(ctx context.Context) (*ec2.DescribeSecurityGroupsOutput, error) { return p.NextPage(ctx) },
				func(o *ec2.DescribeSecurityGroupsOutput) []ec2types.SecurityGroup { return o.SecurityGroups })
		}},
		{"ec2:DescribeInstances", "Reservations", func() (any, error) {
			p := ec2.NewDescribeInstancesPaginator(c, &ec2.DescribeInstancesInput{Filters: r.filter("vpc-id", "instance-state-name", "pending", "running", "stopping", "stopped")})
			return collect(ctx, p.HasMorePages, func(ctx context.Context) (*ec2.DescribeInstancesOutput, error) { return p.NextPage(ctx) },
				func(o *ec2.DescribeInstancesOutput) []ec2types.Reservation { return o.Reservations })
		}},
	}
	var vpcs []ec2types.Vpc
	for _, s := range steps {
		items, err := s.call()
		if err != nil {
			return r.apiError(s.action, err)
		}
		if v, ok := items.([]ec2types.Vpc); ok {
			vpcs = v
		}
		if err := r.add(s.action, map[string]any{s.key: items}); err != nil {
			return err
		}
	}
	if err := r.dnsAttributes(ctx, vpcs); err != nil {
		return err
	}
	if err := r.prefixLists(ctx); err != nil {
		return err
	}
	return r.loadBalancing(ctx)
}

// dnsAttributes reads each VPC's enableDnsSupport and enableDnsHostnames,
// which describe-vpcs does not return: an interface endpoint's private
// DNS needs both.
func (r *reader) dnsAttributes(ctx context.Context, vpcs []ec2types.Vpc) error {
	for _, v := range vpcs {
		for _, a := range []struct {
			attr ec2types.VpcAttributeName
			key  string
		}{{ec2types.VpcAttributeNameEnableDnsSupport, "EnableDnsSupport"}, {ec2types.VpcAttributeNameEnableDnsHostnames, "EnableDnsHostnames"}} {
			out, err := r.ec2.DescribeVpcAttribute(ctx, &ec2.DescribeVpcAttributeInput{VpcId: v.VpcId, Attribute: a.attr})
			if err != nil {
				return r.apiError("ec2:DescribeVpcAttribute", err)
			}
			val := out.EnableDnsSupport
			if a.key == "EnableDnsHostnames" {
				val = out.EnableDnsHostnames
			}
			if val == nil || val.Value == nil {
				continue
			}
			if err := r.add("ec2:DescribeVpcAttribute", map[string]any{"VpcId": sdkaws.ToString(v.VpcId), a.key: map[string]any{"Value": *val.Value}}); err != nil {
				return err
			}
		}
	}
	return nil
}

// prefixLists reads the managed prefix lists and the entries of each:
// security group rules and gateway-endpoint routes refer to them.
func (r *reader) prefixLists(ctx context.Context) error {
	p := ec2.NewDescribeManagedPrefixListsPaginator(r.ec2, &ec2.DescribeManagedPrefixListsInput{})
	lists, err := collect(ctx, p.HasMorePages, func(ctx context.Context) (*ec2.DescribeManagedPrefixListsOutput, error) { return p.NextPage(ctx) },
		func(o *ec2.DescribeManagedPrefixListsOutput) []ec2types.ManagedPrefixList { return o.PrefixLists })
	if err != nil {
		return r.apiError("ec2:DescribeManagedPrefixLists", err)
	}
	if err := r.add("ec2:DescribeManagedPrefixLists", map[string]any{"PrefixLists": lists}); err != nil {
		return err
	}
	for _, l := range lists {
		id := sdkaws.ToString(l.PrefixListId)
		p := ec2.NewGetManagedPrefixListEntriesPaginator(r.ec2, &ec2.GetManagedPrefixListEntriesInput{PrefixListId: l.PrefixListId})
		entries, err := collect(ctx, p.HasMorePages, func(ctx context.Context) (*ec2.GetManagedPrefixListEntriesOutput, error) { return p.NextPage(ctx) },
			func(o *ec2.GetManagedPrefixListEntriesOutput) []ec2types.PrefixListEntry { return o.Entries })
		if err != nil {
			return r.apiError("ec2:GetManagedPrefixListEntries", err)
		}
		o, err := r.object("ec2:GetManagedPrefixListEntries "+id, map[string]any{"Entries": entries})
		if err != nil {
			return err
		}
		if err := r.b.AddPrefixListEntries(o, id); err != nil {
			return err
		}
	}
	return nil
}

// loadBalancing reads ELBv2 load balancers, target groups, the load
// balancers' listeners and tags; the API has no VPC filter, so --aws-vpc
// is applied to what it returns.
func (r *reader) loadBalancing(ctx context.Context) error {
	lp := elb.NewDescribeLoadBalancersPaginator(r.elb, &elb.DescribeLoadBalancersInput{})
	lbs, err := collect(ctx, lp.HasMorePages, func(ctx context.Context) (*elb.DescribeLoadBalancersOutput, error) { return lp.NextPage(ctx) },
		func(o *elb.DescribeLoadBalancersOutput) []elbtypes.LoadBalancer { return o.LoadBalancers })
	if err != nil {
		return r.apiError("elasticloadbalancing:DescribeLoadBalancers", err)
	}
	tp := elb.NewDescribeTargetGroupsPaginator(r.elb, &elb.DescribeTargetGroupsInput{})
	tgs, err := collect(ctx, tp.HasMorePages, func(ctx context.Context) (*elb.DescribeTargetGroupsOutput, error) { return tp.NextPage(ctx) },
		func(o *elb.DescribeTargetGroupsOutput) []elbtypes.TargetGroup { return o.TargetGroups })
	if err != nil {
		return r.apiError("elasticloadbalancing:DescribeTargetGroups", err)
	}
	if v := r.opts.VPC; v != "" {
		lbs = keep(lbs, func(l elbtypes.LoadBalancer) bool { return sdkaws.ToString(l.VpcId) == v })
		tgs = keep(tgs, func(g elbtypes.TargetGroup) bool { return sdkaws.ToString(g.VpcId) == v })
	}
	if err := r.add("elasticloadbalancing:DescribeLoadBalancers", map[string]any{"LoadBalancers": lbs}); err != nil {
		return err
	}
	if err := r.add("elasticloadbalancing:DescribeTargetGroups", map[string]any{"TargetGroups": tgs}); err != nil {
		return err
	}
	// Listeners are listed per load balancer; tags for up to 20
	// resources a call (the API's limit).
	listeners := []elbtypes.Listener{}
	var arns []string
	for _, l := range lbs {
		arn := l.LoadBalancerArn
		arns = append(arns, sdkaws.ToString(arn))
		p := elb.NewDescribeListenersPaginator(r.elb, &elb.DescribeListenersInput{LoadBalancerArn: arn})
		ls, err := collect(ctx, p.HasMorePages, func(ctx context.Context) (*elb.DescribeListenersOutput, error) { return p.NextPage(ctx) },
			func(o *elb.DescribeListenersOutput) []elbtypes.Listener { return o.Listeners })
		if err != nil {
			return r.apiError("elasticloadbalancing:DescribeListeners", err)
		}
		listeners = append(listeners, ls...)
	}
	tags := []elbtypes.TagDescription{}
	for len(arns) > 0 {
		batch := arns[:min(20, len(arns))]
		arns = arns[len(batch):]
		out, err := collect(ctx, once(), func(ctx context.Context) (*elb.DescribeTagsOutput, error) {
			return r.elb.DescribeTags(ctx, &elb.DescribeTagsInput{ResourceArns: batch})
		}, func(o *elb.DescribeTagsOutput) []elbtypes.TagDescription { return o.TagDescriptions })
		if err != nil {
			return r.apiError("elasticloadbalancing:DescribeTags", err)
		}
		tags = append(tags, out...)
	}
	if err := r.add("elasticloadbalancing:DescribeListeners", map[string]any{"Listeners": listeners}); err != nil {
		return err
	}
	if err := r.add("elasticloadbalancing:DescribeTags", map[string]any{"TagDescriptions": tags}); err != nil {
		return err
	}
	return r.targetGroupAttributes(ctx, tgs)
}

// targetGroupAttributes reads each target group's attributes (client IP
// preservation and proxy protocol decide which source address the targets
// see). The call takes one target group and has one page; its answer
// names no target group, so each is added with its ARN beside it, the
// shape a file gives it.
func (r *reader) targetGroupAttributes(ctx context.Context, tgs []elbtypes.TargetGroup) error {
	const action = "elasticloadbalancing:DescribeTargetGroupAttributes"
	for _, g := range tgs {
		arn := g.TargetGroupArn
		attrs, err := collect(ctx, once(), func(ctx context.Context) (*elb.DescribeTargetGroupAttributesOutput, error) {
			return r.elb.DescribeTargetGroupAttributes(ctx, &elb.DescribeTargetGroupAttributesInput{TargetGroupArn: arn})
		}, func(o *elb.DescribeTargetGroupAttributesOutput) []elbtypes.TargetGroupAttribute { return o.Attributes })
		if err != nil {
			return r.apiError(action, err)
		}
		if err := r.add(action, map[string]any{"TargetGroupArn": sdkaws.ToString(arn), "Attributes": attrs}); err != nil {
			return err
		}
	}
	return nil
}

// once is a "more pages" function for a call that has one page.
func once() func() bool {
	done := false
	return func() bool {
		more := !done
		done = true
		return more
	}
}

func keep[T any](xs []T, ok func(T) bool) []T {
	out := []T{}
	for _, x := range xs {
		if ok(x) {
			out = append(out, x)
		}
	}
	return out
}

// object turns a call's results into the document the AWS CLI would print
// for it; its source names the call and region.
func (r *reader) object(action string, doc map[string]any) (*document.Object, error) {
	data, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("aws: %s: encoding the response: %v", action, err)
	}
	return &document.Object{Source: model.Source{File: "aws " + action + " (" + r.region + ")"}, JSON: data}, nil
}

func (r *reader) add(action string, doc map[string]any) error {
	o, err := r.object(action, doc)
	if err != nil {
		return err
	}
	shape := aws.Recognize(o)
	if shape == "" {
		return fmt.Errorf("aws: %s: the response is not in a shape ringfence reads", action)
	}
	_, err = r.b.Add(o, shape)
	return err
}

// apiError says which call failed and, when access was denied, which IAM
// action to allow. Credentials are never part of the message: the SDK's
// errors carry the request ID and AWS's message, not the keys.
func (r *reader) apiError(action string, err error) error {
	where := "region " + r.region
	if r.opts.Profile != "" {
		where = "profile " + r.opts.Profile + ", " + where
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "UnauthorizedOperation", "AccessDenied", "AccessDeniedException":
			return fmt.Errorf("aws: %s is not allowed for these credentials (%s): AWS answered %s; allow it in their IAM policy (docs/aws.md lists the minimal read-only policy)", action, where, ae.ErrorCode())
		case "AuthFailure", "InvalidClientTokenId", "UnrecognizedClientException", "SignatureDoesNotMatch", "ExpiredToken", "RequestExpired":
			return fmt.Errorf("aws: %s: AWS rejected the credentials (%s): %s", action, where, ae.ErrorCode())
		}
		return fmt.Errorf("aws: %s (%s): %s: %s", action, where, ae.ErrorCode(), ae.ErrorMessage())
	}
	if errors.Is(err, context.DeadlineExceeded) && r.opts.Timeout > 0 {
		return fmt.Errorf("aws: %s (%s): no answer within %s (--request-timeout)", action, where, r.opts.Timeout)
	}
	msg := err.Error()
	if strings.Contains(msg, "failed to retrieve credentials") || strings.Contains(msg, "no EC2 IMDS role found") {
		return fmt.Errorf("aws: %s: no AWS credentials found (%s): set AWS_PROFILE or --aws-profile, or the standard AWS_* variables", action, where)
	}
	return fmt.Errorf("aws: %s (%s): %v", action, where, err)
}
