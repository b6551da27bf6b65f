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

// VPC is an Amazon VPC and its CIDR blocks (the primary block first). Its
// addresses bound where nodes, load balancers and, on the VPC CNI, pods
// take theirs; the Amazon DNS resolver sits at the primary block's base +2.
type VPC struct {
	ID     string         `json:"id"`
	CIDRs  []netip.Prefix `json:"cidrs"`
	Source Source         `json:"source"`
}

// Subnet is a subnet of a VPC.
type Subnet struct {
	ID     string         `json:"id"`
	VPC    string         `json:"vpc,omitempty"`
	Zone   string         `json:"zone,omitempty"`
	CIDRs  []netip.Prefix `json:"cidrs"`
	Source Source         `json:"source"`
}
