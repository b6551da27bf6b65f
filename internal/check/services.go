package check

import (
	"github.com/ringfence/ringfence/internal/engine"
	networkingv1 "k8s.io/api/networking/v1"
)

// ingressBackends names the Services an Ingress routes to.
func ingressBackends(spec networkingv1.IngressSpec) []string {
	var out []string
	if b := spec.DefaultBackend; b != nil && b.Service != nil {
		out = append(out, b.Service.Name)
	}
	for _, r := range spec.Rules {
		if r.HTTP == nil {
			continue
		}
		for _, p := range r.HTTP.Paths {
			if p.Backend.Service != nil {
				out = append(out, p.Backend.Service.Name)
			}
		}
	}
	return out
}

// serves reports whether the Service namespace/name selects the peer.
func serves(c *Context, namespace, name string, p *engine.Peer) bool {
	ids, err := c.Analysis.ServiceBackends(namespace, name)
	if err != nil {
		return false
	}
	for _, id := range ids {
		if id == p.ID {
			return true
		}
	}
	return false
}
