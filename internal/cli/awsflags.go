package cli

import (
	"context"
	"regexp"
	"strings"
	"time"

	"github.com/ringfence/ringfence/internal/load"
	"github.com/ringfence/ringfence/internal/load/aws"
	"github.com/ringfence/ringfence/internal/load/awslive"
	"github.com/spf13/cobra"
)

// awsFlags read a live AWS account beside files and clusters.
type awsFlags struct {
	enabled bool
	live    awslive.Options
}

func (a *awsFlags) add(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.BoolVar(&a.enabled, "aws", false, "read the AWS account too (read-only Describe* calls; standard credential chain, AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL*): VPCs, subnets, network ACLs, route tables, endpoints, gateways, security groups, instances, prefix lists, load balancers")
	fl.StringVar(&a.live.Profile, "aws-profile", "", "AWS shared-config profile for --aws (default: $AWS_PROFILE)")
	fl.StringVar(&a.live.Region, "aws-region", "", "AWS region for --aws (default: $AWS_REGION or the profile's)")
	fl.StringVar(&a.live.VPC, "aws-vpc", "", "with --aws, read only this VPC (vpc-...)")
}

// apply sets the live AWS reader of the load options, when --aws is given.
func (a *awsFlags) apply(cmd *cobra.Command, opts *load.Options, timeout time.Duration) error {
	fl := cmd.Flags()
	if !a.enabled {
		for _, name := range []string{"aws-profile", "aws-region", "aws-vpc"} {
			if fl.Changed(name) {
				return usagef("--%s needs --aws", name)
			}
		}
		return nil
	}
	if v := a.live.VPC; v != "" && !strings.HasPrefix(v, "vpc-") {
		return usagef("--aws-vpc %q: want a VPC id (vpc-...)", v)
	}
	live := a.live
	live.Timeout = timeout
	opts.AWS = func(ctx context.Context, b *aws.Builder) error { return awslive.Read(ctx, live, b) }
	return nil
}

// nodeSGGroup is a security group in --node-sg: an id, or the address of
// an aws_security_group in a Terraform plan that has no id yet.
var nodeSGGroup = regexp.MustCompile(`^(sg-[0-9a-zA-Z]+|(module\.[A-Za-z0-9_-]+(\[[^\]]+\])?\.)*aws_security_group\.[A-Za-z0-9_-]+(\[[^\]]+\])?)$`)

// splitNodeSG splits a --node-sg value into its selector and groups: at
// the rightmost "=" after which every comma-separated item is a group (a
// selector may hold "=" itself).
func splitNodeSG(v string) (string, []string, bool) {
	for i := strings.LastIndex(v, "="); i > 0; i = strings.LastIndex(v[:i], "=") {
		groups := strings.Split(v[i+1:], ",")
		ok := true
		for _, g := range groups {
			ok = ok && nodeSGGroup.MatchString(g)
		}
		if ok {
			return v[:i], groups, true
		}
	}
	return "", nil, false
}
