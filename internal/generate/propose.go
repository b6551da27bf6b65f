package generate

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/ringfence/ringfence/api/v1alpha1"
	"github.com/ringfence/ringfence/internal/model"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Proposal is a Fence proposed for an ML workload, with the reasons for
// each of its parts, for a person to review.
type Proposal struct {
	Fence   v1alpha1.Fence `json:"fence"`
	Reasons []string       `json:"reasons"`
}

// selectorKeys are the labels that name a workload's pods, most specific
// first.
var selectorKeys = []string{"app.kubernetes.io/name", "app", "training.kubeflow.org/job-name", "ray.io/cluster", "serving.kserve.io/inferenceservice"}

// Propose proposes a Fence for every ML workload from what it is: AWS
// credentials mean S3 in the nodes' region; every workload gets cluster
// DNS; a job of several pods, its peers; a workload behind an Ingress,
// the ingress controller (and the Ingress's current allowlist). What it
// cannot see (the Services and hosts a workload calls) the reasons say
// to add.
func Propose(w *model.World) []Proposal {
	region := nodeRegion(w)
	var out []Proposal
	for _, wl := range w.Workloads {
		if !wl.IsML() || len(wl.Pods) == 0 {
			continue
		}
		p := Proposal{Fence: v1alpha1.Fence{
			TypeMeta:   metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion, Kind: "Fence"},
			ObjectMeta: metav1.ObjectMeta{Name: strings.ToLower(wl.Name), Namespace: wl.Namespace},
		}}
		key, value := "", ""
		for _, k := range selectorKeys {
			v, ok := wl.Pods[0].Labels[k]
			same := ok
			for _, pt := range wl.Pods {
				same = same && pt.Labels[k] == v
			}
			if same {
				key, value = k, v
				break
			}
		}
		if key == "" {
			p.Reasons = append(p.Reasons, fmt.Sprintf("%s/%s: no label names all its pods (%s): set spec.workloads by hand", wl.Kind, wl.Name, strings.Join(selectorKeys, ", ")))
		} else {
			p.Fence.Spec.Workloads = metav1.LabelSelector{MatchLabels: map[string]string{key: value}}
			p.Reasons = append(p.Reasons, fmt.Sprintf("workloads: the pods of %s/%s carry %s=%s (check that no other workload's do)", wl.Kind, wl.Name, key, value))
		}
		var creds []string
		for _, pt := range wl.Pods {
			creds = append(creds, pt.AWSCredentials()...)
		}
		if len(creds) > 0 {
			if region == "" {
				p.Reasons = append(p.Reasons, "it holds AWS credentials ("+strings.Join(slices.Compact(slices.Sorted(slices.Values(creds))), "; ")+"), but the nodes' region is not in the inputs: add aws: {service: S3, region: ...}")
			} else {
				p.Fence.Spec.Egress = append(p.Fence.Spec.Egress, v1alpha1.EgressIntent{AWS: &v1alpha1.AWSDestination{Service: "S3", Region: region}})
				p.Reasons = append(p.Reasons, fmt.Sprintf("aws S3 %s: it holds AWS credentials (%s) and its nodes are in %s; add the other services it calls", region, strings.Join(slices.Compact(slices.Sorted(slices.Values(creds))), "; "), region))
			}
		}
		p.Fence.Spec.Egress = append(p.Fence.Spec.Egress, v1alpha1.EgressIntent{DNS: &v1alpha1.DNSDestination{}})
		p.Reasons = append(p.Reasons, "dns: every workload resolves names")
		var replicas int32
		for _, pt := range wl.Pods {
			replicas += pt.Replicas
		}
		if len(wl.Pods) > 1 || (replicas > 1 && isJob(wl)) {
			p.Fence.Spec.Egress = append(p.Fence.Spec.Egress, v1alpha1.EgressIntent{Peers: &v1alpha1.PeersDestination{SameJob: true}})
			p.Reasons = append(p.Reasons, fmt.Sprintf("peers: %s/%s runs %d pods that train together", wl.Kind, wl.Name, replicas))
		}
		workloads := map[*model.Workload][]*model.PodTemplate{wl: wl.Pods}
		if in, ok := ingressIntent(w, workloads); ok {
			p.Fence.Spec.Ingress = append(p.Fence.Spec.Ingress, in)
			p.Reasons = append(p.Reasons, fmt.Sprintf("ingress: an Ingress routes to it through the controller in %s", in.IngressController.Namespace))
		}
		p.Reasons = append(p.Reasons, "not seen offline: the Services and hosts it calls (add service: and host: entries)")
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].Fence, out[j].Fence
		return a.Namespace+"/"+a.Name < b.Namespace+"/"+b.Name
	})
	return out
}

func isJob(wl *model.Workload) bool {
	return wl.Kind != "Deployment" && wl.Kind != "StatefulSet" && wl.Kind != "DaemonSet" && wl.Kind != "ReplicaSet" && wl.Kind != "InferenceService"
}

// nodeRegion is the region all the nodes agree on, if any.
func nodeRegion(w *model.World) string {
	region := ""
	for _, n := range w.Nodes {
		r := n.Labels[corev1.LabelTopologyRegion]
		if r == "" || (region != "" && r != region) {
			return ""
		}
		region = r
	}
	return region
}

// ingressIntent finds the controller of the Ingresses that route to the
// workloads' Services, with their current allowlist.
func ingressIntent(w *model.World, workloads map[*model.Workload][]*model.PodTemplate) (v1alpha1.IngressIntent, bool) {
	for _, ing := range routing(w, workloads) {
		for _, c := range w.Workloads {
			for _, pt := range c.Pods {
				if pt.Labels["app.kubernetes.io/component"] != "controller" || !strings.Contains(pt.Labels["app.kubernetes.io/name"], "ingress") {
					continue
				}
				in := v1alpha1.IngressIntent{IngressController: &v1alpha1.ControllerSource{Namespace: c.Namespace}}
				for _, k := range []string{"nginx.ingress.kubernetes.io/allowlist-source-range", "nginx.ingress.kubernetes.io/whitelist-source-range"} {
					for _, r := range strings.Split(ing.Annotations[k], ",") {
						if r = strings.TrimSpace(r); r != "" {
							in.SourceRanges = append(in.SourceRanges, r)
						}
					}
				}
				return in, true
			}
		}
	}
	return v1alpha1.IngressIntent{}, false
}
