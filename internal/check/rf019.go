package check

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"

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
			"Secret it can. High; critical when the webhook runs an ingress-nginx release before v1.11.5 or v1.12.1.",
		Remediation: "Give the webhook's pods an ingress NetworkPolicy that admits the webhook port only from the " +
			"control plane (on EKS, the cluster security group's addresses or the VPC's control-plane subnets), and " +
			"upgrade ingress-nginx to v1.11.5, v1.12.1 or later.",
		Links: []string{"https://kubernetes.io/blog/2025/03/24/ingress-nginx-cve-2025-1974/"},
		check: func(c *Context) []Finding {
			peers := map[string]*engine.Peer{}
			for _, p := range c.Analysis.Peers() {
				peers[p.ID] = p
			}
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
						version, vulnerable := "", false
						for _, pt := range pods(dst) {
							if p, found := targetPort(svc, ws.Port, pt); found {
								port, ok = p, true
							}
							for _, ct := range pt.Containers {
								if v, bad := ingressNightmare(ct.Image); v != "" {
									version, vulnerable = v, bad
								}
							}
						}
						if !ok {
							continue
						}
						var from []Affected
						for _, conn := range c.Reach().Connections {
							src := peers[conn.Src]
							if conn.Dst != id || src == nil || src.Workload == nil || src.Workload == dst.Workload || !conn.Allow.Contains(netset.TCP, port) {
								continue
							}
							from = append(from, Affected{Object: src.Workload.Ref(), Source: src.Workload.Source, Detail: fmt.Sprintf("%s => %s : TCP %d", src.ID, id, port)})
						}
						if len(from) == 0 {
							continue
						}
						sort.Slice(from, func(i, j int) bool { return from[i].Detail < from[j].Detail })
						f := Finding{
							Object: wh.Ref(), Source: wh.Source, Severity: High, Key: ws.Webhook + " " + id, Affected: from,
							Message: fmt.Sprintf("%s %s calls Service %s/%s, whose pods (%s) %s can reach on TCP %d", wh.Kind, wh.Name, ws.Namespace, ws.Name, id, plural(len(from), "other workload", "other workloads"), port),
							Path: []string{
								fmt.Sprintf("webhook %s: clientConfig.service %s/%s port %d (%s)", ws.Webhook, ws.Namespace, ws.Name, ws.Port, wh.Source),
								fmt.Sprintf("Service %s/%s port %d => %s TCP %d (%s)", ws.Namespace, ws.Name, ws.Port, id, port, svc.Source),
							},
						}
						if in, _ := dst.Isolated(); !in {
							f.Path = append(f.Path, "NetworkPolicy: no policy selects "+id+" for ingress")
						}
						if version != "" {
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
			return out
		},
	}
}
