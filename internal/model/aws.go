package model

import (
	"net/netip"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// SecurityGroup is an EC2 security group: stateful, allow-only; the rules
// of several groups on one network interface add up.
type SecurityGroup struct {
	ID          string            `json:"id"`
	Name        string            `json:"name,omitempty"`
	VPC         string            `json:"vpc,omitempty"`
	Description string            `json:"description,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
	Ingress     []SGRule          `json:"ingress"`
	Egress      []SGRule          `json:"egress"`
	Source      Source            `json:"source"`
}

// SGRule is one rule of a security group: a protocol and port range, and
// the peers it admits (CIDRs, other groups, managed prefix lists).
type SGRule struct {
	// Protocol is "-1" (all protocols and ports), "tcp", "udp", "icmp",
	// "icmpv6" or another IP protocol number.
	Protocol string `json:"protocol"`
	// FromPort and ToPort bound the ports (tcp, udp); for ICMP they are the
	// type and code; -1 means all.
	FromPort    int32          `json:"fromPort"`
	ToPort      int32          `json:"toPort"`
	CIDRs       []netip.Prefix `json:"cidrs,omitempty"`
	Groups      []string       `json:"groups,omitempty"`
	PrefixLists []string       `json:"prefixLists,omitempty"`
	Description string         `json:"description,omitempty"`
	Source      Source         `json:"source"`
}

// Instance is an EC2 instance (a node) with its network interfaces' groups.
type Instance struct {
	ID         string       `json:"id"`
	PrivateIPs []netip.Addr `json:"privateIPs,omitempty"`
	Groups     []string     `json:"groups,omitempty"`
	Zone       string       `json:"zone,omitempty"`
	// Subnet is the subnet of the primary network interface, when given;
	// the engine otherwise finds it by the private address.
	Subnet string `json:"subnet,omitempty"`
	// MetadataTokens is "required" when IMDSv2 is enforced; HopLimit 1
	// keeps the metadata service out of reach of pods on the pod network.
	MetadataTokens   string `json:"metadataTokens,omitempty"`
	MetadataHopLimit int32  `json:"metadataHopLimit,omitempty"`
	Source           Source `json:"source"`
}

// PrefixList is a managed prefix list. Entries is nil when its entries were
// not given: rules that reference it are then unresolved, and say so.
type PrefixList struct {
	ID      string         `json:"id"`
	Name    string         `json:"name,omitempty"`
	Entries []netip.Prefix `json:"entries,omitempty"`
	Source  Source         `json:"source"`
}

// SecurityGroupPolicy (vpcresources.k8s.aws/v1beta1) gives the pods it
// selects their own security groups (branch network interfaces).
type SecurityGroupPolicy struct {
	Meta
	PodSelector            *metav1.LabelSelector `json:"podSelector,omitempty"`
	ServiceAccountSelector *metav1.LabelSelector `json:"serviceAccountSelector,omitempty"`
	GroupIDs               []string              `json:"groupIds"`
}

// ENIConfig (crd.k8s.amazonaws.com/v1alpha1, cluster-scoped) is the VPC
// CNI's custom networking configuration: with custom networking on, the
// pods of the nodes that name it take their addresses in Subnet, behind
// SecurityGroups (the node's primary interface's groups when empty).
type ENIConfig struct {
	Meta
	Subnet         string   `json:"subnet"`
	SecurityGroups []string `json:"securityGroups,omitempty"`
}

// VPCCNI is what an aws-node DaemonSet's environment says about custom
// networking. A value is "" when the environment cannot say (valueFrom,
// envFrom): the engine then takes both possibilities.
type VPCCNI struct {
	Meta
	// CustomNetworking is AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG as ipamd
	// reads it: "true", "false", or "" when not known.
	CustomNetworking string `json:"customNetworking"`
	// LabelDef and AnnotationDef are the node label and annotation that
	// name a node's ENIConfig (ENI_CONFIG_LABEL_DEF and
	// ENI_CONFIG_ANNOTATION_DEF; "" when not known).
	LabelDef      string `json:"labelDef"`
	AnnotationDef string `json:"annotationDef"`
	// ExternalSNAT is AWS_VPC_K8S_CNI_EXTERNALSNAT: "false" (the default)
	// means pods' traffic beyond the VPC is translated to the node's
	// primary address and leaves through its primary interface.
	ExternalSNAT string `json:"externalSNAT"`
}

// VPCNetwork is the VPC layer around the security groups: what decides
// whether a packet leaves a subnet at all (network ACLs, route tables,
// endpoints, gateways) and the load balancers in front of Services. Each
// slice is sorted by ID (ARN for load balancers and target groups).
type VPCNetwork struct {
	VPCs             []*VPC             `json:"vpcs,omitempty"`
	Subnets          []*Subnet          `json:"subnets,omitempty"`
	NetworkACLs      []*NetworkACL      `json:"networkACLs,omitempty"`
	RouteTables      []*RouteTable      `json:"routeTables,omitempty"`
	Endpoints        []*VPCEndpoint     `json:"vpcEndpoints,omitempty"`
	NATGateways      []*NATGateway      `json:"natGateways,omitempty"`
	InternetGateways []*InternetGateway `json:"internetGateways,omitempty"`
	LoadBalancers    []*LoadBalancer    `json:"loadBalancers,omitempty"`
	TargetGroups     []*TargetGroup     `json:"targetGroups,omitempty"`
	Listeners        []*Listener        `json:"listeners,omitempty"`
}

// Empty reports whether no object of the VPC layer was loaded.
func (n *VPCNetwork) Empty() bool {
	return len(n.VPCs)+len(n.Subnets)+len(n.NetworkACLs)+len(n.RouteTables)+len(n.Endpoints)+
		len(n.NATGateways)+len(n.InternetGateways)+len(n.LoadBalancers)+len(n.TargetGroups)+len(n.Listeners) == 0
}

// VPC is a virtual private cloud with its IPv4 and IPv6 CIDR blocks.
type VPC struct {
	ID        string         `json:"id"`
	CIDRs     []netip.Prefix `json:"cidrs,omitempty"`
	IsDefault bool           `json:"isDefault,omitempty"`
	// DNSSupport and DNSHostnames are the VPC's enableDnsSupport and
	// enableDnsHostnames attributes, which an interface endpoint's
	// private DNS needs both of; nil where the inputs do not say
	// (describe-vpcs does not print them, describe-vpc-attribute does).
	DNSSupport   *bool  `json:"dnsSupport,omitempty"`
	DNSHostnames *bool  `json:"dnsHostnames,omitempty"`
	Source       Source `json:"source"`
}

// Subnet is a subnet of a VPC in one availability zone.
type Subnet struct {
	ID   string `json:"id"`
	VPC  string `json:"vpc,omitempty"`
	Zone string `json:"zone,omitempty"`
	// CIDR is invalid for an IPv6-only subnet.
	CIDR      netip.Prefix   `json:"cidr,omitzero"`
	IPv6CIDRs []netip.Prefix `json:"ipv6Cidrs,omitempty"`
	// MapPublicIP gives instances launched in the subnet a public IPv4
	// address.
	MapPublicIP bool   `json:"mapPublicIp,omitempty"`
	Source      Source `json:"source"`
}

// Prefixes are the subnet's IPv4 block (when it has one) and IPv6 blocks.
func (s *Subnet) Prefixes() []netip.Prefix {
	var out []netip.Prefix
	if s.CIDR.IsValid() {
		out = append(out, s.CIDR)
	}
	return append(out, s.IPv6CIDRs...)
}

// NetworkACL is a network ACL: stateless, its entries evaluated in rule
// number order per direction, the first match deciding; a packet no entry
// matches is denied (the "*" rule AWS shows last).
type NetworkACL struct {
	ID        string      `json:"id"`
	VPC       string      `json:"vpc,omitempty"`
	IsDefault bool        `json:"isDefault,omitempty"`
	Entries   []NACLEntry `json:"entries"`
	// Subnets are the subnets associated with the ACL.
	Subnets []string `json:"subnets,omitempty"`
	Source  Source   `json:"source"`
}

// NACLEntry is one numbered entry of a network ACL.
type NACLEntry struct {
	// RuleNumber orders the entries (1-32766); 32767 is the "*" entry.
	RuleNumber int32 `json:"ruleNumber"`
	Egress     bool  `json:"egress"`
	// Protocol is normalised as SGRule.Protocol ("-1" is all).
	Protocol string `json:"protocol"`
	// FromPort and ToPort bound tcp and udp ports; for ICMP they are the
	// type and code; -1 means all.
	FromPort int32        `json:"fromPort"`
	ToPort   int32        `json:"toPort"`
	CIDR     netip.Prefix `json:"cidr"`
	Allow    bool         `json:"allow"`
	Source   Source       `json:"source"`
}

// RouteTable is a route table with its routes and associations.
type RouteTable struct {
	ID           string             `json:"id"`
	VPC          string             `json:"vpc,omitempty"`
	Routes       []Route            `json:"routes"`
	Associations []RouteAssociation `json:"associations,omitempty"`
	Source       Source             `json:"source"`
}

// Main reports whether the table is its VPC's main route table, used by
// the subnets that have no explicit association.
func (t *RouteTable) Main() bool {
	for _, a := range t.Associations {
		if a.Main {
			return true
		}
	}
	return false
}

// RouteAssociation ties a route table to a subnet, to a gateway (edge
// association), or marks it as its VPC's main table.
type RouteAssociation struct {
	Main    bool   `json:"main,omitempty"`
	Subnet  string `json:"subnet,omitempty"`
	Gateway string `json:"gateway,omitempty"`
}

// Route targets, named as AWS names the attribute that holds them.
const (
	TargetLocal           = "local"
	TargetInternetGateway = "internet-gateway"
	TargetEgressOnlyIGW   = "egress-only-internet-gateway"
	TargetNATGateway      = "nat-gateway"
	TargetVPCEndpoint     = "vpc-endpoint"
	TargetPeering         = "vpc-peering-connection"
	TargetTransitGateway  = "transit-gateway"
	TargetVirtualGateway  = "virtual-private-gateway"
	TargetNetworkIface    = "network-interface"
	TargetInstance        = "instance"
	TargetCarrierGateway  = "carrier-gateway"
	TargetLocalGateway    = "local-gateway"
	TargetCoreNetwork     = "core-network"
	// TargetUnknown is a target the inputs do not name (a plan's value
	// known only after apply, or a kind of target ringfence does not know).
	TargetUnknown = "unknown"
)

// Route is one route: a destination (a CIDR or a managed prefix list) and
// the target it sends matching packets to.
type Route struct {
	// Destination is invalid when the route's destination is a prefix list.
	Destination           netip.Prefix `json:"destination,omitzero"`
	DestinationPrefixList string       `json:"destinationPrefixList,omitempty"`
	// TargetType is one of the Target* constants; Target is the ID
	// ("local" for the VPC's local route).
	TargetType string `json:"targetType"`
	Target     string `json:"target"`
	// Blackhole is set when AWS reports the route's target gone (state
	// "blackhole"): matching packets are dropped.
	Blackhole bool   `json:"blackhole,omitempty"`
	Source    Source `json:"source"`
}

// VPCEndpoint is a VPC endpoint. Gateway endpoints (S3, DynamoDB) work
// through prefix-list routes in their route tables; interface endpoints
// are network interfaces in subnets with their own security groups.
type VPCEndpoint struct {
	ID string `json:"id"`
	// Type is "Gateway", "Interface", "GatewayLoadBalancer", "Resource" or
	// "ServiceNetwork" (the last two reach VPC Lattice resources).
	Type        string   `json:"type"`
	VPC         string   `json:"vpc,omitempty"`
	Service     string   `json:"service"`
	RouteTables []string `json:"routeTables,omitempty"`
	Subnets     []string `json:"subnets,omitempty"`
	Groups      []string `json:"groups,omitempty"`
	PrivateDNS  bool     `json:"privateDns,omitempty"`
	// Policy is the endpoint policy document as given; empty when not
	// given (AWS then applies the full-access default).
	Policy string `json:"policy,omitempty"`
	// Owner is the account that owns the endpoint, where given.
	Owner  string `json:"owner,omitempty"`
	Source Source `json:"source"`
}

// NATGateway is a NAT gateway in a subnet.
type NATGateway struct {
	ID     string `json:"id"`
	VPC    string `json:"vpc,omitempty"`
	Subnet string `json:"subnet,omitempty"`
	// Connectivity is "public" (to the internet through an internet
	// gateway) or "private" (to other networks only).
	Connectivity string       `json:"connectivity,omitempty"`
	PublicIPs    []netip.Addr `json:"publicIPs,omitempty"`
	PrivateIPs   []netip.Addr `json:"privateIPs,omitempty"`
	Source       Source       `json:"source"`
}

// InternetGateway is an internet gateway and the VPCs it is attached to.
type InternetGateway struct {
	ID     string   `json:"id"`
	VPCs   []string `json:"vpcs,omitempty"`
	Source Source   `json:"source"`
}

// LoadBalancer is an Elastic Load Balancing v2 load balancer.
type LoadBalancer struct {
	ARN  string `json:"arn"`
	Name string `json:"name"`
	// Type is "application", "network" or "gateway"; Scheme is
	// "internet-facing" or "internal".
	Type    string   `json:"type,omitempty"`
	Scheme  string   `json:"scheme,omitempty"`
	VPC     string   `json:"vpc,omitempty"`
	DNSName string   `json:"dnsName,omitempty"`
	Groups  []string `json:"groups,omitempty"`
	Subnets []string `json:"subnets,omitempty"`
	// IPAddressType is "ipv4" (the default: no IPv6 address), "dualstack"
	// or "dualstack-without-public-ipv4".
	IPAddressType string `json:"ipAddressType,omitempty"`
	// Tags are the load balancer's tags where the input holds them
	// (Terraform state, aws elbv2 describe-tags; describe-load-balancers
	// prints none).
	Tags   map[string]string `json:"tags,omitempty"`
	Source Source            `json:"source"`
}

// TargetGroup is an ELBv2 target group.
type TargetGroup struct {
	ARN  string `json:"arn"`
	Name string `json:"name"`
	// TargetType is "instance", "ip", "lambda" or "alb".
	TargetType    string   `json:"targetType,omitempty"`
	Protocol      string   `json:"protocol,omitempty"`
	Port          int32    `json:"port,omitempty"`
	VPC           string   `json:"vpc,omitempty"`
	LoadBalancers []string `json:"loadBalancers,omitempty"`
	// Attributes are the target group's attributes where the inputs hold
	// them (describe-target-group-attributes, Terraform, --aws); nil
	// otherwise.
	Attributes *TargetGroupAttributes `json:"attributes,omitempty"`
	Source     Source                 `json:"source"`
}

// TargetGroupAttributes are the attributes of a target group that decide
// which source address its targets see; nil fields are not in the input.
type TargetGroupAttributes struct {
	// PreserveClientIP is preserve_client_ip.enabled.
	PreserveClientIP *bool `json:"preserveClientIP,omitempty"`
	// ProxyProtocolV2 is proxy_protocol_v2.enabled: a header in the
	// stream carries the client's address; the packets' source address
	// is unchanged.
	ProxyProtocolV2 *bool  `json:"proxyProtocolV2,omitempty"`
	Source          Source `json:"source"`
}

// Listener is an ELBv2 listener: the port and protocol a load balancer
// accepts connections on, and the target groups its default action
// forwards to.
type Listener struct {
	ARN          string `json:"arn"`
	LoadBalancer string `json:"loadBalancer"`
	// Protocol is HTTP, HTTPS, TCP, TLS, UDP, TCP_UDP, QUIC, TCP_QUIC or
	// GENEVE (a Gateway Load Balancer's).
	Protocol     string   `json:"protocol,omitempty"`
	Port         int32    `json:"port,omitempty"`
	TargetGroups []string `json:"targetGroups,omitempty"`
	Source       Source   `json:"source"`
}
