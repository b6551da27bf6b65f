package k8s

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/ringfence/ringfence/internal/load/document"
	"github.com/ringfence/ringfence/internal/model"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// KubeRay's NetworkPolicy controller (ray-project/kuberay v1.7.0,
// ray-operator/controllers/ray/networkpolicy_controller.go) makes, for a
// RayCluster with spec.networkPolicy, one policy for the head
// (<cluster>-head) and one per worker group (<cluster>-workers-<group>).
// Each allows every port to and from the cluster's own pods, plus the
// rules the spec adds; the mode decides which directions are isolated. It
// runs only when the operator's alpha feature gate RayClusterNetworkPolicy
// is on (off by default), so whether the policies exist depends on the
// operator's flags: the builder decides once every object is in.

// rayNetworkPolicy is RayCluster.spec.networkPolicy.
type rayNetworkPolicy struct {
	Mode         *string          `json:"mode"`
	Head         *rayPolicyRules  `json:"head"`
	Worker       *rayPolicyRules  `json:"worker"`
	WorkerGroups []rayGroupPolicy `json:"workerGroups"`
}

type rayPolicyRules struct {
	IngressRules []networkingv1.NetworkPolicyIngressRule `json:"ingressRules"`
	EgressRules  []networkingv1.NetworkPolicyEgressRule  `json:"egressRules"`
}

type rayGroupPolicy struct {
	GroupName string `json:"groupName"`
	rayPolicyRules
}

// rayMade is what a RayCluster's spec.networkPolicy makes, pending the
// operator's feature gate.
type rayMade struct {
	cluster  model.Ref
	src      model.Source
	policies []*model.NetworkPolicy
	// marker stands for the policies when the gate is not known.
	marker *model.Meta
}

const (
	rayGate     = "RayClusterNetworkPolicy"
	labelRayJob = "ray.io/job-submission-mode"
)

// rayPolicies builds the policies KubeRay makes for a RayCluster.
func rayPolicies(o *document.Object, m model.Meta, owners []metav1.OwnerReference, spec rayClusterSpec, np *rayNetworkPolicy) ([]*model.NetworkPolicy, error) {
	mode := "DenyAll"
	if np.Mode != nil {
		mode = *np.Mode
	}
	ingress, egress := mode == "DenyAll" || mode == "DenyAllIngress", mode == "DenyAll" || mode == "DenyAllEgress"
	if !ingress && !egress {
		return nil, &document.Error{Source: o.Source.At(o.Line("spec", "networkPolicy", "mode")), Object: "RayCluster/" + m.Name,
			Msg: fmt.Sprintf("spec.networkPolicy.mode %q is not one of DenyAll, DenyAllIngress, DenyAllEgress", mode)}
	}
	src := o.Source.At(o.Line("spec", "networkPolicy"))
	own := &metav1.LabelSelector{MatchLabels: map[string]string{labelRayCluster: m.Name}}
	build := func(name, group string, selector map[string]string, extraIngress []networkingv1.NetworkPolicyIngressRule, custom *rayPolicyRules) *model.NetworkPolicy {
		p := &model.NetworkPolicy{Meta: model.Meta{Kind: "NetworkPolicy", APIVersion: "networking.k8s.io/v1", Namespace: m.Namespace, Name: name, Source: src,
			Labels:      map[string]string{labelRayCluster: m.Name, labelRayGroup: group, "app.kubernetes.io/name": "kuberay", "app.kubernetes.io/created-by": "kuberay-operator"},
			Annotations: map[string]string{"ringfence.io/made-by": "the KubeRay operator, from RayCluster " + m.Namespace + "/" + m.Name + " spec.networkPolicy"}}}
		p.Spec.PodSelector = metav1.LabelSelector{MatchLabels: selector}
		if ingress {
			p.Spec.PolicyTypes = append(p.Spec.PolicyTypes, networkingv1.PolicyTypeIngress)
			p.Spec.Ingress = append([]networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{{PodSelector: own}}}}, extraIngress...)
			if custom != nil {
				p.Spec.Ingress = append(p.Spec.Ingress, custom.IngressRules...)
			}
		}
		if egress {
			p.Spec.PolicyTypes = append(p.Spec.PolicyTypes, networkingv1.PolicyTypeEgress)
			p.Spec.Egress = []networkingv1.NetworkPolicyEgressRule{{To: []networkingv1.NetworkPolicyPeer{{PodSelector: own}}}}
			if custom != nil {
				p.Spec.Egress = append(p.Spec.Egress, custom.EgressRules...)
			}
		}
		for range p.Spec.Ingress {
			p.IngressRules = append(p.IngressRules, src)
		}
		for range p.Spec.Egress {
			p.EgressRules = append(p.EgressRules, src)
		}
		return p
	}
	out := []*model.NetworkPolicy{build(m.Name+"-head", "headgroup", map[string]string{labelRayCluster: m.Name, labelRayNodeType: "head"}, raySubmitterRule(m, owners, spec), np.Head)}
	for _, g := range spec.WorkerGroupSpecs {
		custom := np.Worker
		for i := range np.WorkerGroups {
			if np.WorkerGroups[i].GroupName == g.GroupName {
				custom = &np.WorkerGroups[i].rayPolicyRules
				break
			}
		}
		out = append(out, build(m.Name+"-workers-"+g.GroupName, g.GroupName, map[string]string{labelRayCluster: m.Name, labelRayNodeType: "worker", labelRayGroup: g.GroupName}, nil, custom))
	}
	for _, p := range out {
		if err := validateMade(o, p); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// raySubmitterRule is the head's rule for the submitter pod of the RayJob
// that owns the cluster in K8sJobMode: its dashboard port.
func raySubmitterRule(m model.Meta, owners []metav1.OwnerReference, spec rayClusterSpec) []networkingv1.NetworkPolicyIngressRule {
	if m.Labels[labelRayJob] != "K8sJobMode" {
		return nil
	}
	for _, o := range owners {
		if o.Kind != "RayJob" || o.Controller == nil || !*o.Controller || !strings.HasPrefix(o.APIVersion, "ray.io/") {
			continue
		}
		port := int32(8265)
		if p, err := strconv.ParseInt(spec.HeadGroupSpec.RayStartParams["dashboard-port"], 10, 32); err == nil {
			port = int32(p)
		}
		tcp, dashboard := corev1.ProtocolTCP, intstr.FromInt32(port)
		return []networkingv1.NetworkPolicyIngressRule{{
			From:  []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"ray.io/originated-from-cr-name": o.Name, "ray.io/originated-from-crd": "RayJob"}}}},
			Ports: []networkingv1.NetworkPolicyPort{{Protocol: &tcp, Port: &dashboard}},
		}}
	}
	return nil
}

// validateMade checks a made policy as the API server would check the
// rules the spec gives it, reporting at spec.networkPolicy.
func validateMade(o *document.Object, p *model.NetworkPolicy) error {
	np := &networkingv1.NetworkPolicy{Spec: p.Spec}
	if err := validateNetworkPolicy(o, p.Meta, np); err != nil {
		return fmt.Errorf("RayCluster spec.networkPolicy makes an invalid NetworkPolicy %s: %w", p.Name, err)
	}
	return nil
}

// rayOperator is what a KubeRay operator's flags say about the policies it
// makes: gate is "true", "false" or "" when a config file decides it.
type rayOperator struct {
	gate  string
	watch []string // nil: every namespace
}

// kubeRayOperator reads the KubeRay operator's flags from a pod spec; nil
// when the spec runs no KubeRay operator.
func kubeRayOperator(s *corev1.PodSpec) *rayOperator {
	for _, c := range s.Containers {
		if !strings.Contains(c.Image, "kuberay/operator") && c.Name != "kuberay-operator" {
			continue
		}
		op := &rayOperator{gate: "false"} // the gate is alpha, off by default
		args := append(append([]string(nil), c.Command...), c.Args...)
		for i, a := range args {
			name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
			if !strings.HasPrefix(a, "-") {
				continue
			}
			if !hasValue && i+1 < len(args) {
				value = args[i+1]
			}
			switch name {
			case "config":
				op.gate = "" // flags are ignored; the file decides
				return op
			case "feature-gates":
				for _, g := range strings.Split(value, ",") {
					if k, v, _ := strings.Cut(g, "="); strings.TrimSpace(k) == rayGate {
						op.gate = strings.ToLower(strings.TrimSpace(v))
					}
				}
			case "watch-namespace":
				for _, n := range strings.Split(value, ",") {
					if n = strings.TrimSpace(n); n != "" {
						op.watch = append(op.watch, n)
					}
				}
			}
		}
		return op
	}
	return nil
}

func (op *rayOperator) watches(ns string) bool {
	if len(op.watch) == 0 {
		return true
	}
	for _, n := range op.watch {
		if n == ns {
			return true
		}
	}
	return false
}

// resolveRay puts into the world what each RayCluster's spec.networkPolicy
// makes: the policies when a KubeRay operator in the inputs runs with the
// gate on for its namespace; nothing when every operator there runs with
// it off; otherwise a marker that lowers the namespace's verdicts to
// unknown. Policies already in the inputs (a live cluster) are kept.
func (b *Builder) resolveRay() {
	for _, made := range b.rayMade {
		present := true
		for _, p := range made.policies {
			if _, ok := b.objects[p.Ref()].(*model.NetworkPolicy); !ok {
				present = false
			}
		}
		if present {
			continue
		}
		on, unknown, watched := false, len(b.rayOperators) == 0, false
		for _, op := range b.rayOperators {
			if !op.watches(made.cluster.Namespace) {
				continue
			}
			watched = true
			switch op.gate {
			case "true":
				on = true
			case "false":
			default:
				unknown = true
			}
		}
		object := made.cluster.String()
		switch {
		case unknown:
			b.objects[made.marker.Ref()] = made.marker
			why := "no KubeRay operator Deployment is in the inputs"
			if len(b.rayOperators) > 0 {
				why = "the KubeRay operator reads its feature gates from a --config file"
			}
			b.Report.Note(document.ForeignPolicy, made.src, object, "the KubeRay operator makes %d NetworkPolicies from spec.networkPolicy only when its feature gate %s is on (alpha, off by default), and %s: verdicts in namespace %s are reported as unknown", len(made.policies), rayGate, why, made.cluster.Namespace)
		case on:
			var names []string
			for _, p := range made.policies {
				if existing, taken := b.objects[p.Ref()]; taken {
					if _, isPolicy := existing.(*model.NetworkPolicy); isPolicy {
						b.Report.Warn(made.src, object, "NetworkPolicy %s already exists: the KubeRay operator refuses to replace a policy it does not own, so this cluster is not isolated by it", p.Ref())
					}
					continue
				}
				b.objects[p.Ref()] = p
				names = append(names, p.Name)
			}
			sort.Strings(names)
			b.Report.Warn(made.src, object, "the KubeRay operator (feature gate %s on) makes NetworkPolicies %s from spec.networkPolicy; they are evaluated", rayGate, strings.Join(names, ", "))
		case !watched:
			b.Report.Warn(made.src, object, "spec.networkPolicy has no effect: no KubeRay operator in the inputs watches namespace %s", made.cluster.Namespace)
		default:
			b.Report.Warn(made.src, object, "spec.networkPolicy has no effect: the KubeRay operator runs without feature gate %s=true, so it makes no NetworkPolicy", rayGate)
		}
	}
}
