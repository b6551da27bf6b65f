package cli

import (
	"context"
	"fmt"
	"github.com/ringfence/ringfence/internal/benchcpu"
	"net/netip"
	"testing"
	"time"

	"github.com/ringfence/ringfence/internal/engine"
	"github.com/ringfence/ringfence/internal/gencluster"
	"github.com/ringfence/ringfence/internal/load"
	"github.com/ringfence/ringfence/internal/model"
)

// vpcFor adds the VPC layer to a generated world: one subnet per node pool
// (10.0.16+p.0/24, as gencluster places the pool's nodes), each with its
// own network ACL (an SSH deny, the VPC, TCP ephemeral ports, a partner
// range of its own, the "*" rule) and route table (local, an S3 gateway
// endpoint's prefix list, and a NAT gateway route out in every other
// pool), and a public subnet with the NAT gateway behind the main table's
// internet gateway route.
func vpcFor(w *model.World, pools int) {
	p := netip.MustParsePrefix
	net := &w.Network
	net.VPCs = []*model.VPC{{ID: "vpc-0abc1234def567890", CIDRs: []netip.Prefix{p("10.0.0.0/16")}}}
	net.Subnets = []*model.Subnet{{ID: "subnet-public", VPC: "vpc-0abc1234def567890", CIDR: p("10.0.0.0/24"), MapPublicIP: true}}
	net.NATGateways = []*model.NATGateway{{ID: "nat-1", VPC: "vpc-0abc1234def567890", Subnet: "subnet-public", Connectivity: "public"}}
	net.Endpoints = []*model.VPCEndpoint{{ID: "vpce-s3", Type: "Gateway", VPC: "vpc-0abc1234def567890", Service: "com.amazonaws.us-east-1.s3"}}
	w.PrefixLists = append(w.PrefixLists, &model.PrefixList{ID: "pl-63a5400a", Entries: []netip.Prefix{p("52.216.0.0/15"), p("3.5.0.0/19"), p("16.15.192.0/18")}})
	net.RouteTables = []*model.RouteTable{{ID: "rtb-main", VPC: "vpc-0abc1234def567890", Associations: []model.RouteAssociation{{Main: true}}, Routes: []model.Route{
		{Destination: p("10.0.0.0/16"), TargetType: model.TargetLocal, Target: "local"},
		{Destination: p("0.0.0.0/0"), TargetType: model.TargetInternetGateway, Target: "igw-1"},
	}}}
	all := func(n int32, egress bool, proto string, from, to int32, cidr string, allow bool) model.NACLEntry {
		return model.NACLEntry{RuleNumber: n, Egress: egress, Protocol: proto, FromPort: from, ToPort: to, CIDR: p(cidr), Allow: allow}
	}
	net.NetworkACLs = []*model.NetworkACL{{ID: "acl-default", VPC: "vpc-0abc1234def567890", IsDefault: true, Entries: []model.NACLEntry{
		all(100, true, "-1", -1, -1, "0.0.0.0/0", true), all(100, false, "-1", -1, -1, "0.0.0.0/0", true),
	}}}
	for i := 0; i < pools; i++ {
		id := fmt.Sprintf("subnet-pool-%02d", i)
		net.Subnets = append(net.Subnets, &model.Subnet{ID: id, VPC: "vpc-0abc1234def567890", CIDR: p(fmt.Sprintf("10.0.%d.0/24", 16+i))})
		net.NetworkACLs = append(net.NetworkACLs, &model.NetworkACL{ID: fmt.Sprintf("acl-pool-%02d", i), VPC: "vpc-0abc1234def567890", Subnets: []string{id}, Entries: []model.NACLEntry{
			all(90, false, "tcp", 22, 22, "0.0.0.0/0", false),
			all(100, false, "-1", -1, -1, "10.0.0.0/16", true),
			all(110, false, "tcp", 1024, 65535, "0.0.0.0/0", true),
			all(80, true, "-1", -1, -1, fmt.Sprintf("198.51.%d.0/24", i%256), false),
			all(100, true, "-1", -1, -1, "0.0.0.0/0", true),
		}})
		rt := &model.RouteTable{ID: fmt.Sprintf("rtb-pool-%02d", i), VPC: "vpc-0abc1234def567890", Associations: []model.RouteAssociation{{Subnet: id}}, Routes: []model.Route{
			{Destination: p("10.0.0.0/16"), TargetType: model.TargetLocal, Target: "local"},
			{DestinationPrefixList: "pl-63a5400a", TargetType: model.TargetVPCEndpoint, Target: "vpce-s3"},
		}}
		if i%2 == 0 {
			rt.Routes = append(rt.Routes, model.Route{Destination: p("0.0.0.0/0"), TargetType: model.TargetNATGateway, Target: "nat-1"})
		}
		net.RouteTables = append(net.RouteTables, rt)
	}
}

// BenchmarkReachCrossLayerVPC is BenchmarkReachCrossLayer with the VPC
// layer added: the 1,000-namespace cluster with 50 security groups and 25
// subnets, each with a network ACL and a route table, against the same
// world with NetworkPolicies only (target: at most twice the time). The
// VPC layer's cost grows with subnets and address parts, not pod pairs.
func BenchmarkReachCrossLayerVPC(b *testing.B) {
	dir := b.TempDir()
	if _, err := gencluster.Generate(gencluster.Config{Namespaces: 1000, Workloads: 8, Policies: 5, SecurityGroups: 50, Seed: 1, Out: dir}); err != nil {
		b.Fatal(err)
	}
	res, err := load.Load(context.Background(), load.Options{Files: []string{dir}})
	if err != nil {
		b.Fatal(err)
	}
	vpcFor(res.World, 25)
	npOnly := *res.World
	npOnly.SecurityGroups, npOnly.Network = nil, model.VPCNetwork{}
	var npNs, allNs int64
	var npCPU, allCPU time.Duration
	for b.Loop() {
		start, cpu0 := time.Now(), benchcpu.Time()
		if _, err := engine.Reach(&npOnly, engine.Options{}); err != nil {
			b.Fatal(err)
		}
		mid, cpu1 := time.Now(), benchcpu.Time()
		r, err := engine.Reach(res.World, engine.Options{})
		allCPU += benchcpu.Time() - cpu1
		npCPU += cpu1 - cpu0
		if err != nil {
			b.Fatal(err)
		}
		applied := false
		for _, c := range r.Connections {
			applied = applied || (c.Layers != nil && c.Layers.VPC != nil && c.Layers.VPC.NetworkACLs != nil && c.Layers.VPC.NetworkACLs.Unknown.IsEmpty())
		}
		if !applied {
			b.Fatal("the VPC layer was not applied")
		}
		npNs += mid.Sub(start).Nanoseconds()
		allNs += time.Since(mid).Nanoseconds()
	}
	b.ReportMetric(float64(npNs)/float64(b.N)/1e6, "np-only-ms/op")
	b.ReportMetric(float64(allNs)/float64(b.N)/1e6, "np+sg+nacl+routes-ms/op")
	b.ReportMetric(float64(allNs)/float64(npNs), "ratio")
	// CPU time (user and system) counts the work, not the waits of a
	// shared machine.
	b.ReportMetric(float64(npCPU.Milliseconds())/float64(b.N), "np-only-cpu-ms/op")
	b.ReportMetric(float64(allCPU.Milliseconds())/float64(b.N), "np+sg+nacl+routes-cpu-ms/op")
	b.ReportMetric(float64(allCPU)/float64(npCPU), "cpu-ratio")
}
