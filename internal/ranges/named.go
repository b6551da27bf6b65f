package ranges

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/ringfence/ringfence/internal/netset"
	"go4.org/netipx"
)

// Well-known link-local endpoints of EC2 instances.
var (
	// IMDS serves the instance role's credentials to whatever reaches it.
	IMDS = []netip.Prefix{netip.MustParsePrefix("169.254.169.254/32"), netip.MustParsePrefix("fd00:ec2::254/128")}
	// PodIdentity is the EKS Pod Identity agent.
	PodIdentity = []netip.Prefix{netip.MustParsePrefix("169.254.170.23/32"), netip.MustParsePrefix("fd00:ec2::23/128")}
)

// IsNamed reports whether s names a destination Named resolves.
func IsNamed(s string) bool {
	return strings.HasPrefix(s, "aws:") || s == "internet" || s == "imds" || s == "eks-pod-identity" || s == "kubernetes-api"
}

// Named resolves a named destination against a publication:
// aws:<SERVICE>:<region> (aws:S3:us-east-1; the region may be omitted),
// internet (public addresses outside AWS's published space), imds and
// eks-pod-identity. It returns the addresses and a description that names
// the publication used.
func Named(d *Document, name string) (*netipx.IPSet, string, error) {
	var b netipx.IPSetBuilder
	switch {
	case strings.HasPrefix(name, "aws:"):
		parts := strings.Split(strings.TrimPrefix(name, "aws:"), ":")
		if len(parts) > 2 || parts[0] == "" {
			return nil, "", fmt.Errorf("%q: want aws:<SERVICE>[:<region>], e.g. aws:S3:us-east-1", name)
		}
		if set, desc, ok, err := credentialEndpoint(d, parts); ok {
			return set, desc, err
		}
		f := Filter{Services: []string{parts[0]}}
		if len(parts) == 2 {
			f.Regions = []string{parts[1]}
		}
		sel := d.Select(f)
		if len(sel) == 0 {
			return nil, "", fmt.Errorf("%q: syncToken %s publishes no prefixes for service %s%s (services: %s)", name, d.SyncToken, parts[0], regionText(f), strings.Join(d.Services(), ", "))
		}
		set := Set(sel)
		return set, fmt.Sprintf("%d published prefixes of %s%s, AWS ip-ranges syncToken %s (%s)", len(sel), strings.ToUpper(parts[0]), regionText(f), d.SyncToken, d.Source), nil
	case name == "internet":
		b.AddSet(netset.Public())
		b.RemoveSet(Set(d.Select(Filter{Services: []string{"AMAZON"}})))
		s, _ := b.IPSet()
		return s, fmt.Sprintf("public addresses outside AWS's published space (AWS ip-ranges syncToken %s)", d.SyncToken), nil
	case name == "imds":
		for _, p := range IMDS {
			b.AddPrefix(p)
		}
		s, _ := b.IPSet()
		return s, "the EC2 instance metadata service: the node role's credentials", nil
	case name == "kubernetes-api":
		// Pods reach the API server through the kubernetes Service, DNATed
		// to the control plane's endpoints; on EKS those are network
		// interfaces in the VPC, whose addresses the inputs do not give.
		for _, p := range []string{"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10"} {
			b.AddPrefix(netip.MustParsePrefix(p))
		}
		s, _ := b.IPSet()
		return s, "the Kubernetes API server: its endpoints are not in the inputs; on EKS they are network interfaces in the VPC, so the private address space stands for them (a private endpoint; a public endpoint is reached like the internet)", nil
	case name == "eks-pod-identity":
		for _, p := range PodIdentity {
			b.AddPrefix(p)
		}
		s, _ := b.IPSet()
		return s, "the EKS Pod Identity agent", nil
	}
	return nil, "", fmt.Errorf("unknown destination %q", name)
}

func regionText(f Filter) string {
	if len(f.Regions) == 0 {
		return ""
	}
	return " in " + f.Regions[0]
}
