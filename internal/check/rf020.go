package check

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/ringfence/ringfence/internal/engine"
	"github.com/ringfence/ringfence/internal/model"
	corev1 "k8s.io/api/core/v1"
)

// allowlistKeys are the Ingress annotations that hold a source allowlist,
// in the order the controllers read them.
var allowlistKeys = []string{"nginx.ingress.kubernetes.io/allowlist-source-range", "nginx.ingress.kubernetes.io/whitelist-source-range", "alb.ingress.kubernetes.io/inbound-cidrs"}

// clusterAddresses are the addresses the inputs show the cluster using:
// nodes' addresses, instances' private IPs and pods' IPs.
func clusterAddresses(w *model.World) []netip.Addr {
	var out []netip.Addr
	for _, n := range w.Nodes {
		for _, a := range n.Addresses {
			if a.Type == corev1.NodeInternalIP {
				if ip, err := netip.ParseAddr(a.Address); err == nil {
					out = append(out, ip)
				}
			}
		}
	}
	for _, in := range w.Instances {
		out = append(out, in.PrivateIPs...)
	}
	for _, wl := range w.Workloads {
		for _, p := range wl.Instances {
			out = append(out, p.IPs...)
		}
	}
	slices.SortFunc(out, func(a, b netip.Addr) int { return a.Compare(b) })
	return slices.Compact(out)
}

// private reports whether a prefix lies in the private (RFC 1918, ULA) or
// shared (RFC 6598) space, which no client on the internet has.
func private(p netip.Prefix) bool {
	shared := netip.MustParsePrefix("100.64.0.0/10")
	return privateAll(p) || shared.Contains(p.Addr()) && p.Bits() >= shared.Bits()
}

func listCapped(list []string, n int) string {
	if len(list) <= n {
		return strings.Join(list, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(list[:n], ", "), len(list)-n)
}

// privateAll reports whether the whole prefix is private, not only its
// first address (10.0.0.0/7 starts private and is not).
func privateAll(p netip.Prefix) bool {
	for _, r := range []string{"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"} {
		if q := netip.MustParsePrefix(r); q.Bits() <= p.Bits() && q.Contains(p.Addr()) {
			return true
		}
	}
	return false
}

// scheme says whether an entry's load balancer faces the internet, or why
// the inputs cannot say.
type scheme struct {
	facing  bool
	unknown string
}

// entrySchemes judges each Ingress by its load balancer alone: the ALB's
// scheme, or the load balancer of the ingress controller's Service. What
// lies behind it (security groups, policies) does not change who can send
// it a request. An ingress controller whose Service is not in the inputs,
// or that is exposed through node ports, leaves the scheme unknown.
func entrySchemes(exposures []engine.Exposure) map[string]scheme {
	byEntry := map[string]engine.Exposure{}
	for _, e := range exposures {
		byEntry[e.Entry] = e
	}
	out := map[string]scheme{}
	for _, e := range exposures {
		if !strings.HasPrefix(e.Entry, "Ingress/") || len(e.Hops) == 0 {
			continue
		}
		lb := e.Hops[0]
		if lb.Step == "ingress controller" {
			sub, ok := byEntry[e.Via]
			if !ok || len(sub.Hops) == 0 {
				out[e.Entry] = scheme{unknown: "the ingress controller's Service is not in the inputs: " + lb.Detail}
				continue
			}
			lb = sub.Hops[0]
		}
		switch {
		case lb.Step == "node port":
			out[e.Entry] = scheme{unknown: "the ingress controller is reached through node ports, and the load balancer in front of them is not in the inputs"}
		default:
			out[e.Entry] = scheme{facing: lb.Verdict == engine.HopOpen || lb.Verdict == engine.HopRestricted}
		}
	}
	return out
}

func rf020() *Rule {
	return &Rule{
		ID: "RF020", Severity: Medium,
		Title: "An Ingress allowlist defeats itself",
		Rationale: "A source allowlist that contains the cluster's own addresses (10.0.0.0/8 holds every node and, on " +
			"the VPC CNI, every pod) admits every workload of the cluster, so a compromised pod passes it; reported on " +
			"an internet-facing entry, or for a range wider than a /16 (an internal entry may mean its VPC). A private " +
			"range on an internet-facing load balancer never matches a client, who arrive from public addresses: " +
			"the entry is either broken for the people it was meant for, or the range is a leftover nobody checks. " +
			"When the cluster's addresses are not in the inputs, a private range of /16 or wider is reported as possible; " +
			"so is a narrower private range when the entry's load balancer is not in the inputs (the ingress " +
			"controller's Service is missing, or is a NodePort behind a load balancer the inputs do not show), " +
			"assuming that load balancer is internet-facing.",
		Remediation: "List the public ranges of the clients (offices, VPN egress, partners) and nothing of the cluster's; " +
			"for clients inside the VPC, use an internal load balancer and its own allowlist.",
		check: func(c *Context) []Finding {
			addrs := clusterAddresses(c.World)
			schemes := entrySchemes(c.Exposures())
			var out []Finding
			for _, ing := range c.World.Ingresses {
				key, list := "", ""
				for _, k := range allowlistKeys {
					if v := ing.Annotations[k]; v != "" && list == "" {
						key, list = k, v
					}
				}
				if list == "" {
					continue
				}
				var problems, assumptions []string
				for _, s := range strings.Split(list, ",") {
					p, err := netip.ParsePrefix(strings.TrimSpace(s))
					if err != nil {
						continue
					}
					var inside []string
					for _, a := range addrs {
						if p.Contains(a) {
							inside = append(inside, a.String())
						}
					}
					scheme := schemes["Ingress/"+ing.Namespace+"/"+ing.Name]
					facing := scheme.facing
					switch {
					case len(inside) > 0 && (facing || p.Bits() < 16):
						problems = append(problems, fmt.Sprintf("%s contains the cluster's own addresses (%s): it admits every node and, on the VPC CNI, every pod", p, listCapped(inside, 3)))
					case len(addrs) == 0 && private(p) && p.Bits() <= 16:
						problems = append(problems, fmt.Sprintf("%s is a wide private range: it may hold the cluster's nodes and pods", p))
						assumptions = append(assumptions, fmt.Sprintf("the cluster's nodes and pods have addresses in %s (no node or instance addresses in the inputs)", p))
					case private(p) && facing:
						problems = append(problems, fmt.Sprintf("%s is a private range on an internet-facing entry: no client on the internet has such an address, so it never matches", p))
					case private(p) && scheme.unknown != "":
						problems = append(problems, fmt.Sprintf("%s is a private range: if the entry's load balancer is internet-facing, no client on the internet has such an address, so it never matches", p))
						assumptions = append(assumptions, fmt.Sprintf("the entry's load balancer is internet-facing (%s)", scheme.unknown))
					}
				}
				if len(problems) == 0 {
					continue
				}
				f := Finding{
					Object: ing.Ref(), Source: ing.Source, Key: key,
					Message: fmt.Sprintf("Ingress %s/%s: its allowlist (%s) defeats itself: %s", ing.Namespace, ing.Name, key, strings.Join(problems, "; ")),
					Path:    append([]string{fmt.Sprintf("Ingress %s/%s (%s): %s: %s", ing.Namespace, ing.Name, ing.Source, key, list)}, problems...),
				}
				if len(assumptions) == len(problems) {
					f.Confidence, f.Assumptions = ConfidencePossible, assumptions
				}
				out = append(out, f)
			}
			return out
		},
	}
}
