package check

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/ringfence/ringfence/internal/netset"
	"go4.org/netipx"
)

func rf010() *Rule {
	return &Rule{
		ID: "RF010", Severity: Medium,
		Title: "An Ingress to an ML backend has no source allowlist, or one that admits public addresses",
		Rationale: "The ingress controller is the front door of a model; without an allowlist (or with one that admits " +
			"public ranges) everyone who can reach the controller can reach the model.",
		Remediation: "Set nginx.ingress.kubernetes.io/allowlist-source-range (whitelist-source-range on older " +
			"releases) to the trusted ranges, or alb.ingress.kubernetes.io/inbound-cidrs for an ALB; with " +
			"ingress-nginx behind a load balancer, keep the client address (externalTrafficPolicy: Local or the " +
			"PROXY protocol) or the allowlist sees the nodes.",
		check: func(c *Context) []Finding {
			var out []Finding
			for _, ing := range c.World.Ingresses {
				ml := false
				for _, name := range ingressBackends(ing.Spec) {
					for _, p := range workloadPeers(c) {
						if p.Workload.IsML() && p.Namespace == ing.Namespace && serves(c, ing.Namespace, name, p) {
							ml = true
						}
					}
				}
				if !ml {
					continue
				}
				key, list := "", ""
				for _, k := range []string{"nginx.ingress.kubernetes.io/allowlist-source-range", "nginx.ingress.kubernetes.io/whitelist-source-range", "alb.ingress.kubernetes.io/inbound-cidrs"} {
					if v, ok := ing.Annotations[k]; ok && list == "" {
						key, list = k, v
					}
				}
				msg := ""
				switch {
				case list == "":
					msg = fmt.Sprintf("Ingress %s/%s routes to an ML backend without a source allowlist", ing.Namespace, ing.Name)
				default:
					var b netipx.IPSetBuilder
					for _, c := range strings.Split(list, ",") {
						if p, err := netip.ParsePrefix(strings.TrimSpace(c)); err == nil {
							b.AddPrefix(p.Masked())
						}
					}
					s, _ := b.IPSet()
					public := netset.Intersect(s, netset.Public())
					if len(public.Ranges()) == 0 {
						continue
					}
					msg = fmt.Sprintf("Ingress %s/%s routes to an ML backend and its allowlist (%s) admits public addresses: %s", ing.Namespace, ing.Name, key, strings.Join(netset.PrefixStrings(public), ", "))
				}
				out = append(out, Finding{Object: ing.Ref(), Source: ing.Source, Message: msg, Path: []string{fmt.Sprintf("Ingress %s/%s (%s)", ing.Namespace, ing.Name, ing.Source)}})
			}
			return out
		},
	}
}
