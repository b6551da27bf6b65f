package gencluster

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// poolLabel pins workloads to node pools.
const poolLabel = "ringfence.dev/pool"

func poolName(i int) string { return fmt.Sprintf("pool-%02d", i) }

// The AWS CLI's JSON shapes, as much of them as ringfence reads.
type (
	awsRange  struct{ CidrIp string }
	awsRange6 struct{ CidrIpv6 string }
	awsPair   struct{ GroupId string }
	awsPerm   struct {
		IpProtocol       string
		FromPort         *int32 `json:",omitempty"`
		ToPort           *int32 `json:",omitempty"`
		IpRanges         []awsRange
		Ipv6Ranges       []awsRange6
		UserIdGroupPairs []awsPair
	}
	awsGroup struct {
		GroupId, GroupName, VpcId string
		IpPermissions             []awsPerm
		IpPermissionsEgress       []awsPerm
	}
)

func ports(from, to int32) (*int32, *int32) { return &from, &to }

// generateAWS writes two groups per node pool (the pool's own and a shared
// one), three nodes per pool with their instances, into DIR/nodes.yaml and
// DIR/aws/. Egress rules mix tight CIDRs (S3-like, VPC endpoints, a
// partner range) with, in some pools, 0.0.0.0/0, so the address space is cut
// by security groups as well as policies.
func generateAWS(dir string, pools, groups int, seed uint64) (int64, error) {
	r := rand.New(rand.NewPCG(seed, 1<<40))
	var sgs []awsGroup
	for i := 0; i < groups; i++ {
		g := awsGroup{GroupId: fmt.Sprintf("sg-%017x", i+1), GroupName: fmt.Sprintf("group-%02d", i), VpcId: "vpc-0abc1234def567890"}
		self := []awsPair{{GroupId: g.GroupId}}
		g.IpPermissions = []awsPerm{{IpProtocol: "-1", UserIdGroupPairs: self}}
		f, t := ports(30000, 32767)
		g.IpPermissions = append(g.IpPermissions, awsPerm{IpProtocol: "tcp", FromPort: f, ToPort: t, IpRanges: []awsRange{{CidrIp: "10.0.0.0/16"}}})
		if r.IntN(4) == 0 {
			f, t := ports(443, 443)
			g.IpPermissions = append(g.IpPermissions, awsPerm{IpProtocol: "tcp", FromPort: f, ToPort: t, IpRanges: []awsRange{{CidrIp: "0.0.0.0/0"}}})
		}
		if r.IntN(3) == 0 {
			g.IpPermissionsEgress = []awsPerm{{IpProtocol: "-1", IpRanges: []awsRange{{CidrIp: "0.0.0.0/0"}}, Ipv6Ranges: []awsRange6{{CidrIpv6: "::/0"}}}}
		} else {
			f, t := ports(443, 443)
			dnsF, dnsT := ports(53, 53)
			g.IpPermissionsEgress = []awsPerm{
				{IpProtocol: "tcp", FromPort: f, ToPort: t, IpRanges: []awsRange{{CidrIp: "52.216.0.0/15"}, {CidrIp: "3.5.0.0/19"}, {CidrIp: "16.15.192.0/18"}, {CidrIp: fmt.Sprintf("198.51.%d.0/24", i%256)}}},
				{IpProtocol: "udp", FromPort: dnsF, ToPort: dnsT, IpRanges: []awsRange{{CidrIp: "10.0.0.2/32"}}},
				{IpProtocol: "-1", IpRanges: []awsRange{{CidrIp: "10.0.0.0/16"}}, UserIdGroupPairs: self},
			}
		}
		sgs = append(sgs, g)
	}
	type instance struct {
		InstanceId, PrivateIpAddress string
		SecurityGroups               []awsPair
	}
	var instances []instance
	var nodes []byte
	for p := 0; p < pools; p++ {
		for k := 0; k < 3; k++ {
			id := fmt.Sprintf("i-%017x", p*3+k+1)
			ip := fmt.Sprintf("10.0.%d.%d", 16+p, 10+k)
			instances = append(instances, instance{InstanceId: id, PrivateIpAddress: ip,
				SecurityGroups: []awsPair{{GroupId: sgs[2*p].GroupId}, {GroupId: sgs[2*p+1].GroupId}}})
			node := corev1.Node{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Node"},
				ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("ip-10-0-%d-%d.ec2.internal", 16+p, 10+k), Labels: map[string]string{poolLabel: poolName(p)}},
				Spec:       corev1.NodeSpec{ProviderID: "aws:///us-east-1a/" + id},
				Status:     corev1.NodeStatus{Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: ip}}}}
			b, err := yaml.Marshal(node)
			if err != nil {
				return 0, err
			}
			nodes = append(append(nodes, "---\n"...), b...)
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, "aws"), 0o755); err != nil {
		return 0, err
	}
	var total int64
	write := func(name string, data []byte) error {
		total += int64(len(data))
		return os.WriteFile(filepath.Join(dir, name), data, 0o644)
	}
	sgJSON, _ := json.MarshalIndent(map[string]any{"SecurityGroups": sgs}, "", "  ")
	instJSON, _ := json.MarshalIndent(map[string]any{"Reservations": []any{map[string]any{"Instances": instances}}}, "", "  ")
	for name, data := range map[string][]byte{"nodes.yaml": nodes, "aws/security-groups.json": sgJSON, "aws/instances.json": instJSON} {
		if err := write(name, data); err != nil {
			return total, err
		}
	}
	return total, nil
}
