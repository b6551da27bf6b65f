package check

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/ringfence/ringfence/internal/engine"
	"github.com/ringfence/ringfence/internal/model"
	"github.com/ringfence/ringfence/internal/netset"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// ingressNginxImage matches the ingress-nginx controller image and its
// version.
var ingressNginxImage = regexp.MustCompile(`ingress-nginx/controller(?:-chroot)?:v(\d+)\.(\d+)\.(\d+)`)

// ingressNightmare says whether an image is an ingress-nginx controller
// release before the fixes for CVE-2025-1974 (v1.11.5, v1.12.1).
func ingressNightmare(image string) (string, bool) {
	m := ingressNginxImage.FindStringSubmatch(image)
	if m == nil {
		return "", false
	}
	major, _ := strconv.Atoi(m[1])
	minor, _ := strconv.Atoi(m[2])
	patch, _ := strconv.Atoi(m[3])
	vulnerable := major < 1 || major == 1 && (minor < 11 || minor == 11 && patch < 5 || minor == 12 && patch < 1)
	return fmt.Sprintf("v%d.%d.%d", major, minor, patch), vulnerable
}

// targetPort resolves a Service port to the container port of a pod
// template (a named targetPort is looked up on its containers).
func targetPort(s *model.Service, port int32, pt *model.PodTemplate) (int32, bool) {
	for _, sp := range s.Spec.Ports {
		if sp.Port != port {
			continue
		}
		switch {
		case sp.TargetPort.Type == intstr.String:
			for _, c := range pt.Containers {
				for _, p := range c.Ports {
					if p.Name == sp.TargetPort.StrVal {
						return p.Port, true
					}
				}
			}
			return 0, false
		case sp.TargetPort.IntVal > 0:
			return sp.TargetPort.IntVal, true
		}
		return sp.Port, true
	}
	return 0, false
}

func rf019() *Rule {
	return &Rule{
		ID: "RF019", Severity: Critical,
		Title: "An admission webhook's pods can be reached by other workloads",
		Rationale: "Only the API server needs to call an admission webhook. A webhook that every workload can reach " +
			"is an attack surface inside the cluster: ingress-nginx's admission controller (CVE-2025-1974, " +
			"IngressNightmare) let any pod that reached it on 8443 run code in the controller and read every " +
			"Secret it can. High; critical when the webhook runs an ingress-nginx release before v1.11.5 or v1.12.1. " +
			"When the webhook configurations could not be read (RBAC), one possible finding says so and lists the " +
			"Services and ports named like a webhook's (webhook, admission) that other workloads reach; it is " +
			"never critical, since which Service a webhook calls is then an assumption.",
		Remediation: "Give the webhook's pods an ingress NetworkPolicy that admits the webhook port only from the " +
			"control plane (on EKS, the cluster security group's addresses or the VPC's control-plane subnets), and " +
			"upgrade ingress-nginx to v1.11.5, v1.12.1 or later.",
		Links: []string{"https://kubernetes.io/blog/2025/03/24/ingress-nginx-cve-2025-1974/"},
		check: func(c *Context) []Finding {
			peers := peersByID(c)
			services := map[model.Ref]*model.Service{}
			for _, s := range c.World.Services {
				services[s.Ref()] = s
			}
			var out []Finding
			for _, wh := range c.World.Webhooks {
				for _, ws := range wh.Services {
					svc := services[model.Ref{Kind: "Service", Namespace: ws.Namespace, Name: ws.Name}]
					if svc == nil {
						continue
					}
					backends, _ := c.Analysis.ServiceBackends(ws.Namespace, ws.Name)
					for _, id := range backends {
						dst := peers[id]
						if dst == nil || dst.Workload == nil {
							continue
						}
						port, ok := int32(0), false
						for _, pt := range pods(dst) {
							if p, found := targetPort(svc, ws.Port, pt); found {
								port, ok = p, true
							}
						}
						if !ok {
							continue
						}
						from := reachersOn(c, peers, dst, port)
						if len(from) == 0 {
							continue
						}
						f := Finding{
							Object: wh.Ref(), Source: wh.Source, Severity: High, Key: ws.Webhook + " " + id, Affected: from,
							Message: fmt.Sprintf("%s %s calls Service %s/%s, whose pods (%s) %s can reach on TCP %d", wh.Kind, wh.Name, ws.Namespace, ws.Name, id, countWorkloads(from, "other workload", "other workloads"), port),
							Path: []string{
								fmt.Sprintf("webhook %s: clientConfig.service %s/%s port %d (%s)", ws.Webhook, ws.Namespace, ws.Name, ws.Port, wh.Source),
								fmt.Sprintf("Service %s/%s port %d => %s TCP %d (%s)", ws.Namespace, ws.Name, ws.Port, id, port, svc.Source),
							},
						}
						if in, _ := dst.Isolated(); !in {
							f.Path = append(f.Path, "NetworkPolicy: no policy selects "+id+" for ingress")
						}
						if version, vulnerable := nginxVersion(dst); version != "" {
							if vulnerable {
								f.Severity = Critical
								f.Message += fmt.Sprintf("; it runs ingress-nginx %s, vulnerable to CVE-2025-1974 (IngressNightmare)", version)
							}
							img := "image: ingress-nginx controller " + version
							if vulnerable {
								img += " (before the CVE-2025-1974 fixes)"
							}
							f.Path = append(f.Path, img)
						}
						out = append(out, f)
					}
				}
			}
			if f, ok := unreadWebhooks(c, peers); ok {
				out = append(out, f)
			}
			return out
		},
	}
}

// webhookKinds are the kinds whose objects name the Services admission
// webhooks call.
var webhookKinds = []string{"MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"}

// nginxVersion returns the ingress-nginx controller release a peer's pods
// run, if any, and whether it is before the CVE-2025-1974 fixes.
func nginxVersion(p *engine.Peer) (version string, vulnerable bool) {
	for _, pt := range pods(p) {
		for _, ct := range pt.Containers {
			if v, bad := ingressNightmare(ct.Image); v != "" {
				version, vulnerable = v, bad
			}
		}
	}
	return version, vulnerable
}

// reachersOn lists the other workloads that reach a peer on a TCP port,
// sorted.
func reachersOn(c *Context, peers map[string]*engine.Peer, dst *engine.Peer, port int32) []Affected {
	var from []Affected
	for _, conn := range c.Into(dst) {
		src := peers[conn.Src]
		if src == nil || src.Workload == nil || src.Workload == dst.Workload || !conn.Allow.Contains(netset.TCP, port) {
			continue
		}
		from = append(from, Affected{Object: src.Workload.Ref(), Source: src.Workload.Source, Detail: fmt.Sprintf("%s => %s : TCP %d", src.ID, dst.ID, port)})
	}
	sort.Slice(from, func(i, j int) bool { return from[i].Detail < from[j].Detail })
	return from
}

// unreadWebhooks is the one possible finding for webhook configurations
// that could not be read: which Services the API server calls is then
// unknown, so an unfenced webhook would be a silent miss. It lists the
// pods behind Services named like a webhook's ("webhook", "admission", as
// ingress-nginx, cert-manager and Gatekeeper name theirs) or on container
// ports so named, that other workloads reach.
func unreadWebhooks(c *Context, peers map[string]*engine.Peer) (Finding, bool) {
	var kinds, reasons []string
	for _, k := range webhookKinds {
		for _, u := range c.World.Unread {
			if u.Kind == k {
				kinds = append(kinds, k)
				reasons = append(reasons, fmt.Sprintf("the %s objects could not be read (%s)", k, u.Reason))
				break
			}
		}
	}
	if len(kinds) == 0 {
		return Finding{}, false
	}
	type candidate struct {
		peer *engine.Peer
		port int32
		via  string
	}
	var cands []candidate
	webhookish := func(name string) bool {
		name = strings.ToLower(name)
		return strings.Contains(name, "webhook") || strings.Contains(name, "admission")
	}
	for _, s := range c.World.Services {
		if !webhookish(s.Name) {
			continue
		}
		backends, _ := c.Analysis.ServiceBackends(s.Namespace, s.Name)
		for _, id := range backends {
			dst := peers[id]
			if dst == nil || dst.Workload == nil {
				continue
			}
			for _, sp := range s.Spec.Ports {
				for _, pt := range pods(dst) {
					if p, ok := targetPort(s, sp.Port, pt); ok {
						cands = append(cands, candidate{dst, p, fmt.Sprintf("Service %s/%s port %d (%s)", s.Namespace, s.Name, sp.Port, s.Source)})
						break
					}
				}
			}
		}
	}
	for _, p := range peers {
		if p.Workload == nil {
			continue
		}
		for _, pt := range pods(p) {
			for _, ct := range pt.Containers {
				for _, cp := range ct.Ports {
					if webhookish(cp.Name) {
						cands = append(cands, candidate{p, cp.Port, fmt.Sprintf("container port %s %d of %s (%s)", cp.Name, cp.Port, p.ID, p.Workload.Source)})
					}
				}
			}
		}
	}
	seen := map[string]bool{}
	var affected []Affected
	exposed := map[string]bool{}
	for _, cd := range cands {
		key := fmt.Sprintf("%s %d", cd.peer.ID, cd.port)
		if seen[key] {
			continue
		}
		seen[key] = true
		from := reachersOn(c, peers, cd.peer, cd.port)
		if len(from) == 0 {
			continue
		}
		exposed[cd.peer.Workload.Ref().String()] = true
		detail := fmt.Sprintf("%s: TCP %d (%s) reached by %s", cd.peer.ID, cd.port, cd.via, countWorkloads(from, "other workload", "other workloads"))
		if v, bad := nginxVersion(cd.peer); bad {
			detail += fmt.Sprintf("; it runs ingress-nginx %s, vulnerable to CVE-2025-1974 (IngressNightmare)", v)
		}
		affected = append(affected, Affected{Object: cd.peer.Workload.Ref(), Source: cd.peer.Workload.Source, Detail: detail})
	}
	sort.Slice(affected, func(i, j int) bool {
		a, b := affected[i], affected[j]
		return a.Object.String() < b.Object.String() || a.Object == b.Object && a.Detail < b.Detail
	})
	f := Finding{
		Object: model.Ref{Kind: kinds[0], Name: "*"}, Source: clusterSource(c.World), Severity: High, Key: "unread",
		Confidence: ConfidencePossible, Affected: affected,
		Path: []string{fmt.Sprintf("%s: not read, so which Services the API server calls is not known", strings.Join(kinds, ", "))},
	}
	f.Assumptions = append(reasons, "a webhook calls one of the Services or ports named like a webhook's (webhook, admission) listed below")
	switch len(affected) {
	case 0:
		f.Severity = Low
		f.Message = fmt.Sprintf("the admission webhook configurations could not be read (%s): whether other workloads reach a webhook's pods is unknown; no Service or port named like a webhook's is reached by other workloads", strings.Join(kinds, ", "))
		f.Assumptions[len(f.Assumptions)-1] = "a webhook calls a Service whose name does not say so"
	default:
		f.Message = fmt.Sprintf("the admission webhook configurations could not be read (%s): %s named like webhook servers can be reached by other workloads", strings.Join(kinds, ", "), plural(len(exposed), "workload", "workloads"))
	}
	return f, true
}

// clusterSource is where the objects of a live cluster come from, for a
// finding about objects that could not be read there.
func clusterSource(w *model.World) model.Source {
	for _, n := range w.Namespaces {
		if n.Source.Cluster != "" {
			return model.Source{Cluster: n.Source.Cluster}
		}
	}
	for _, wl := range w.Workloads {
		if wl.Source.Cluster != "" {
			return model.Source{Cluster: wl.Source.Cluster}
		}
	}
	return model.Source{}
}
