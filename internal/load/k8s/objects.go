package k8s

import (
	"encoding/base64"
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"github.com/ringfence/ringfence/api/v1alpha1"
	"github.com/ringfence/ringfence/internal/load/document"
	"github.com/ringfence/ringfence/internal/model"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	networkingv1beta1 "k8s.io/api/networking/v1beta1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// decoders maps apiVersion/kind to the function that reads it. It is a fixed
// table, never written after initialization.
var decoders = map[string]kindDecoder{
	"v1/Namespace":                                     decodeNamespace,
	"v1/Service":                                       decodeService,
	"v1/ServiceAccount":                                decodeServiceAccount,
	"v1/Node":                                          decodeNode,
	"v1/Secret":                                        decodeSecret,
	"networking.k8s.io/v1/Ingress":                     decodeIngress,
	"networking.k8s.io/v1/IngressClass":                decodeIngressClass,
	"networking.k8s.io/v1/NetworkPolicy":               decodeNetworkPolicy,
	"v1/Pod":                                           decodePod,
	"v1/ReplicationController":                         decodeReplicationController,
	"apps/v1/Deployment":                               decodeDeployment,
	"apps/v1/ReplicaSet":                               decodeReplicaSet,
	"apps/v1/StatefulSet":                              decodeStatefulSet,
	"apps/v1/DaemonSet":                                decodeDaemonSet,
	"batch/v1/Job":                                     decodeJob,
	"batch/v1/CronJob":                                 decodeCronJob,
	"kubeflow.org/v1/PyTorchJob":                       decodeKubeflowJob,
	"kubeflow.org/v1/TFJob":                            decodeKubeflowJob,
	"kubeflow.org/v1/MPIJob":                           decodeKubeflowJob,
	"kubeflow.org/v1/XGBoostJob":                       decodeKubeflowJob,
	"kubeflow.org/v1/PaddleJob":                        decodeKubeflowJob,
	"kubeflow.org/v2beta1/MPIJob":                      decodeMPIJobV2,
	"serving.kserve.io/v1beta1/InferenceService":       decodeInferenceService,
	"ray.io/v1/RayCluster":                             decodeRayCluster,
	"ray.io/v1/RayJob":                                 decodeRayJob,
	"ray.io/v1/RayService":                             decodeRayService,
	"vpcresources.k8s.aws/v1beta1/SecurityGroupPolicy": decodeSecurityGroupPolicy,
	"crd.k8s.amazonaws.com/v1alpha1/ENIConfig":         decodeENIConfig,
	"monitoring.coreos.com/v1/Prometheus":              decodePrometheus,
	"monitoring.coreos.com/v1/Alertmanager":            decodeAlertmanager,
	"monitoring.coreos.com/v1/ServiceMonitor":          decodeServiceMonitor,
	"monitoring.coreos.com/v1/PodMonitor":              decodePodMonitor,
	"ringfence.dev/v1alpha1/Fence":                     decodeFence,
	// Versions the API server no longer serves, still in many
	// repositories: read as their current version, with a warning
	// (removedVersions). Dropping them would silently change verdicts.
	"batch/v1beta1/CronJob":                                          decodeCronJob,
	"extensions/v1beta1/NetworkPolicy":                               decodeNetworkPolicy,
	"extensions/v1beta1/Ingress":                                     decodeIngressV1beta1,
	"networking.k8s.io/v1beta1/Ingress":                              decodeIngressV1beta1,
	"admissionregistration.k8s.io/v1/ValidatingWebhookConfiguration": decodeValidatingWebhooks,
	"admissionregistration.k8s.io/v1/MutatingWebhookConfiguration":   decodeMutatingWebhooks,
}

func decodeNamespace(d *decoded, o *document.Object, m model.Meta) error {
	_, err := typed[corev1.Namespace](d, o, m)
	if err != nil {
		return err
	}
	d.obj = &model.Namespace{Meta: m}
	return nil
}

func decodeService(d *decoded, o *document.Object, m model.Meta) error {
	s, err := typed[corev1.Service](d, o, m)
	if err != nil {
		return err
	}
	// The API server's defaults, so files and live clusters read the same.
	if s.Spec.Type == "" {
		s.Spec.Type = corev1.ServiceTypeClusterIP
	}
	if s.Spec.ExternalTrafficPolicy == "" && (s.Spec.Type == corev1.ServiceTypeNodePort || s.Spec.Type == corev1.ServiceTypeLoadBalancer) {
		s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyCluster
	}
	for i := range s.Spec.Ports {
		if s.Spec.Ports[i].Protocol == "" {
			s.Spec.Ports[i].Protocol = corev1.ProtocolTCP
		}
	}
	d.obj = &model.Service{Meta: m, Spec: s.Spec, LoadBalancerIngress: lbIngress(s.Status.LoadBalancer.Ingress)}
	return nil
}

func decodeServiceAccount(d *decoded, o *document.Object, m model.Meta) error {
	sa, err := typed[corev1.ServiceAccount](d, o, m)
	if err != nil {
		return err
	}
	d.obj = &model.ServiceAccount{Meta: m, AutomountToken: sa.AutomountServiceAccountToken}
	return nil
}

func decodeNode(d *decoded, o *document.Object, m model.Meta) error {
	var n corev1.Node
	if err := d.decode(o, m, &n); err != nil {
		return err
	}
	d.obj = &model.Node{
		Meta:       m,
		ProviderID: n.Spec.ProviderID,
		Addresses:  n.Status.Addresses,
		Taints:     n.Spec.Taints,
		GPUs:       accelerators(n.Status.Capacity, nil),
	}
	cidrs := n.Spec.PodCIDRs
	if len(cidrs) == 0 && n.Spec.PodCIDR != "" {
		cidrs = []string{n.Spec.PodCIDR}
	}
	for _, c := range cidrs {
		p, err := netip.ParsePrefix(c)
		if err != nil {
			return &document.Error{Source: m.Source, Object: "Node/" + m.Name, Msg: fmt.Sprintf("spec.podCIDRs: %q is not a CIDR", c)}
		}
		d.obj.(*model.Node).PodCIDRs = append(d.obj.(*model.Node).PodCIDRs, p.Masked())
	}
	return nil
}

// secretMeta is a Secret without its values: decoding into it never holds
// them longer than the JSON text the object came in.
type secretMeta struct {
	metav1.TypeMeta `json:",inline"`
	Metadata        metav1.ObjectMeta `json:"metadata"`
	Immutable       *bool             `json:"immutable"`
	Type            string            `json:"type"`
	Data            map[string]any    `json:"data"`
	StringData      map[string]any    `json:"stringData"`
}

func decodeSecret(d *decoded, o *document.Object, m model.Meta) error {
	var s secretMeta
	if err := d.decode(o, m, &s); err != nil {
		return err
	}
	keys := make([]string, 0, len(s.Data)+len(s.StringData))
	for k := range s.Data {
		keys = append(keys, k)
	}
	for k := range s.StringData {
		if _, dup := s.Data[k]; !dup {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	// Annotations of a Secret can carry its values too (tools copy data
	// into them); keep none.
	m.Annotations = nil
	d.obj = &model.Secret{Meta: m, Type: s.Type, Keys: keys, KeyIDPrefixes: keyIDPrefixes(s.Data, s.StringData)}
	return nil
}

// keyIDPrefixes finds the keys whose value is an AWS access key ID and
// keeps its four-letter prefix (AKIA: long-lived; ASIA: temporary), the
// only part of a Secret value ringfence keeps.
func keyIDPrefixes(data, stringData map[string]any) map[string]string {
	var out map[string]string
	note := func(k, v string) {
		if accessKeyID.MatchString(v) {
			if out == nil {
				out = map[string]string{}
			}
			out[k] = v[:4]
		}
	}
	for k, v := range data {
		if s, ok := v.(string); ok {
			if b, err := base64.StdEncoding.DecodeString(s); err == nil {
				note(k, strings.TrimSpace(string(b)))
			}
		}
	}
	for k, v := range stringData {
		if s, ok := v.(string); ok {
			note(k, strings.TrimSpace(s))
		}
	}
	return out
}

func decodeIngress(d *decoded, o *document.Object, m model.Meta) error {
	var ing networkingv1.Ingress
	if err := d.decode(o, m, &ing); err != nil {
		return err
	}
	var lbs []corev1.LoadBalancerIngress
	for _, l := range ing.Status.LoadBalancer.Ingress {
		lbs = append(lbs, corev1.LoadBalancerIngress{Hostname: l.Hostname, IP: l.IP})
	}
	d.obj = &model.Ingress{Meta: m, Spec: ing.Spec, LoadBalancerIngress: lbIngress(lbs)}
	return nil
}

// lbIngress lists the hostnames and IPs a load balancer status holds.
func lbIngress(in []corev1.LoadBalancerIngress) []string {
	var out []string
	for _, l := range in {
		for _, v := range []string{l.Hostname, l.IP} {
			if v != "" {
				out = append(out, v)
			}
		}
	}
	return out
}

// decodeIngressV1beta1 reads an extensions/v1beta1 or networking.k8s.io/v1beta1
// Ingress (the two have one schema) and converts it as the API server
// does: backend becomes defaultBackend, serviceName and servicePort become
// service.name and service.port.number or .name, and a missing pathType is
// ImplementationSpecific, v1beta1's default.
func decodeIngressV1beta1(d *decoded, o *document.Object, m model.Meta) error {
	var ing networkingv1beta1.Ingress
	if err := d.decode(o, m, &ing); err != nil {
		return err
	}
	spec := networkingv1.IngressSpec{IngressClassName: ing.Spec.IngressClassName, DefaultBackend: ingressBackendV1(ing.Spec.Backend)}
	for _, t := range ing.Spec.TLS {
		spec.TLS = append(spec.TLS, networkingv1.IngressTLS{Hosts: t.Hosts, SecretName: t.SecretName})
	}
	for _, r := range ing.Spec.Rules {
		rule := networkingv1.IngressRule{Host: r.Host}
		if r.HTTP != nil {
			rule.HTTP = &networkingv1.HTTPIngressRuleValue{}
			for _, p := range r.HTTP.Paths {
				pathType := networkingv1.PathTypeImplementationSpecific
				if p.PathType != nil {
					pathType = networkingv1.PathType(*p.PathType)
				}
				rule.HTTP.Paths = append(rule.HTTP.Paths, networkingv1.HTTPIngressPath{Path: p.Path, PathType: &pathType, Backend: *ingressBackendV1(&p.Backend)})
			}
		}
		spec.Rules = append(spec.Rules, rule)
	}
	d.obj = &model.Ingress{Meta: m, Spec: spec}
	return nil
}

func ingressBackendV1(b *networkingv1beta1.IngressBackend) *networkingv1.IngressBackend {
	if b == nil {
		return nil
	}
	out := &networkingv1.IngressBackend{Resource: b.Resource}
	if b.ServiceName != "" {
		out.Service = &networkingv1.IngressServiceBackend{Name: b.ServiceName}
		if b.ServicePort.Type == intstr.String {
			out.Service.Port.Name = b.ServicePort.StrVal
		} else {
			out.Service.Port.Number = b.ServicePort.IntVal
		}
	}
	return out
}

func decodeIngressClass(d *decoded, o *document.Object, m model.Meta) error {
	var ic networkingv1.IngressClass
	if err := d.decode(o, m, &ic); err != nil {
		return err
	}
	d.obj = &model.IngressClass{Meta: m, Spec: ic.Spec}
	return nil
}

func decodeNetworkPolicy(d *decoded, o *document.Object, m model.Meta) error {
	np, err := typed[networkingv1.NetworkPolicy](d, o, m)
	if err != nil {
		return err
	}
	if err := validateNetworkPolicy(o, m, np); err != nil {
		return err
	}
	p := &model.NetworkPolicy{Meta: m, Spec: np.Spec}
	for i := range np.Spec.Ingress {
		p.IngressRules = append(p.IngressRules, o.Source.At(o.Line("spec", "ingress", i)))
	}
	for i := range np.Spec.Egress {
		p.EgressRules = append(p.EgressRules, o.Source.At(o.Line("spec", "egress", i)))
	}
	d.obj = p
	return nil
}

func decodeSecurityGroupPolicy(d *decoded, o *document.Object, m model.Meta) error {
	var sgp struct {
		Spec struct {
			PodSelector            *metav1.LabelSelector `json:"podSelector"`
			ServiceAccountSelector *metav1.LabelSelector `json:"serviceAccountSelector"`
			SecurityGroups         struct {
				GroupIDs []string `json:"groupIds"`
			} `json:"securityGroups"`
		} `json:"spec"`
	}
	if err := d.decodeLoose(o, m, &sgp); err != nil {
		return err
	}
	for _, sel := range []*metav1.LabelSelector{sgp.Spec.PodSelector, sgp.Spec.ServiceAccountSelector} {
		if _, err := metav1.LabelSelectorAsSelector(sel); err != nil {
			return &document.Error{Source: o.Source, Object: m.Ref().String(), Msg: err.Error()}
		}
	}
	if len(sgp.Spec.SecurityGroups.GroupIDs) == 0 {
		return &document.Error{Source: o.Source, Object: m.Ref().String(), Msg: "spec.securityGroups.groupIds is empty"}
	}
	d.obj = &model.SecurityGroupPolicy{Meta: m, PodSelector: sgp.Spec.PodSelector, ServiceAccountSelector: sgp.Spec.ServiceAccountSelector, GroupIDs: sgp.Spec.SecurityGroups.GroupIDs}
	return nil
}

// fencePorts checks the protocol and number of a Fence's ports.
func fencePorts(path []any, field string, ports []v1alpha1.Port, fail func([]any, string, ...any) error) error {
	for _, p := range ports {
		switch strings.ToUpper(p.Protocol) {
		case "", "TCP", "UDP", "SCTP":
		default:
			return fail(path, "%s: unknown protocol %q (TCP, UDP or SCTP)", field, p.Protocol)
		}
		if p.Port < 1 || p.Port > 65535 {
			return fail(path, "%s: port %d is out of range 1-65535", field, p.Port)
		}
	}
	return nil
}

func decodeFence(d *decoded, o *document.Object, m model.Meta) error {
	var f v1alpha1.Fence
	if err := d.decode(o, m, &f); err != nil {
		return err
	}
	fail := func(path []any, format string, args ...any) error {
		return &document.Error{Source: o.Source.At(o.Line(path...)), Object: m.Ref().String(), Msg: fmt.Sprintf(format, args...)}
	}
	if _, err := metav1.LabelSelectorAsSelector(&f.Spec.Workloads); err != nil {
		return fail([]any{"spec", "workloads"}, "spec.workloads: %v", err)
	}
	cidrs := func(path []any, field string, list []string, egress bool) error {
		for _, r := range list {
			p, err := netip.ParsePrefix(r)
			if err != nil {
				return fail(path, "%s: %q is not a CIDR", field, r)
			}
			if egress && p.Bits() == 0 {
				return fail(path, "%s: %s is every address: name the ranges the workloads need", field, r)
			}
		}
		return nil
	}
	for i, e := range f.Spec.Egress {
		n := 0
		for _, set := range []bool{e.AWS != nil, e.DNS != nil, e.Peers != nil, e.Service != nil, e.Host != nil, e.CIDR != nil} {
			if set {
				n++
			}
		}
		path := []any{"spec", "egress", i}
		if n != 1 {
			return fail(path, "spec.egress[%d]: give exactly one of aws, dns, peers, service, host, cidr", i)
		}
		switch {
		case e.AWS != nil && (e.AWS.Service == "" || e.AWS.Region == ""):
			return fail(path, "spec.egress[%d].aws: service and region are required", i)
		case e.Service != nil && e.Service.Name == "":
			return fail(path, "spec.egress[%d].service: name is required", i)
		case e.Host != nil && (e.Host.Name == "" || e.Host.Port == 0):
			return fail(path, "spec.egress[%d].host: name and port are required", i)
		case e.CIDR != nil && (len(e.CIDR.CIDRs) == 0 || len(e.CIDR.Ports) == 0):
			return fail(path, "spec.egress[%d].cidr: cidrs and ports are required", i)
		case e.CIDR != nil:
			if err := cidrs(path, fmt.Sprintf("spec.egress[%d].cidr.cidrs", i), e.CIDR.CIDRs, true); err != nil {
				return err
			}
			if err := fencePorts(path, fmt.Sprintf("spec.egress[%d].cidr.ports", i), e.CIDR.Ports, fail); err != nil {
				return err
			}
		}
	}
	for i, in := range f.Spec.Ingress {
		path := []any{"spec", "ingress", i}
		switch {
		case (in.IngressController == nil) == (in.From == nil):
			return fail(path, "spec.ingress[%d]: give exactly one of ingressController, from", i)
		case in.From != nil && in.From.Namespaces == nil && in.From.Pods == nil && len(in.From.CIDRs) == 0:
			return fail(path, "spec.ingress[%d].from: give namespaces, pods or cidrs", i)
		case in.From != nil && len(in.Ports) == 0:
			return fail(path, "spec.ingress[%d]: ports are required with from", i)
		case in.From != nil && len(in.SourceRanges) > 0:
			return fail(path, "spec.ingress[%d]: sourceRanges go with ingressController (with from, use from.cidrs)", i)
		}
		if err := cidrs(path, fmt.Sprintf("spec.ingress[%d].sourceRanges", i), in.SourceRanges, false); err != nil {
			return err
		}
		if in.From != nil {
			if err := cidrs(path, fmt.Sprintf("spec.ingress[%d].from.cidrs", i), in.From.CIDRs, false); err != nil {
				return err
			}
			for _, sel := range []*metav1.LabelSelector{in.From.Namespaces, in.From.Pods} {
				if _, err := metav1.LabelSelectorAsSelector(sel); err != nil {
					return fail(path, "spec.ingress[%d].from: %v", i, err)
				}
			}
		}
		if err := fencePorts(path, fmt.Sprintf("spec.ingress[%d].ports", i), in.Ports, fail); err != nil {
			return err
		}
	}
	d.obj = &model.Fence{Meta: m, Spec: f.Spec}
	return nil
}

func decodeValidatingWebhooks(d *decoded, o *document.Object, m model.Meta) error {
	var c admissionregistrationv1.ValidatingWebhookConfiguration
	if err := d.decode(o, m, &c); err != nil {
		return err
	}
	w := &model.WebhookConfiguration{Meta: m}
	for _, h := range c.Webhooks {
		w.Services = appendWebhookService(w.Services, h.Name, h.ClientConfig)
	}
	d.obj = w
	return nil
}

func decodeMutatingWebhooks(d *decoded, o *document.Object, m model.Meta) error {
	var c admissionregistrationv1.MutatingWebhookConfiguration
	if err := d.decode(o, m, &c); err != nil {
		return err
	}
	w := &model.WebhookConfiguration{Meta: m}
	for _, h := range c.Webhooks {
		w.Services = appendWebhookService(w.Services, h.Name, h.ClientConfig)
	}
	d.obj = w
	return nil
}

// appendWebhookService adds the Service a webhook calls; a webhook called
// by URL is outside the cluster and not added.
func appendWebhookService(list []model.WebhookService, name string, cc admissionregistrationv1.WebhookClientConfig) []model.WebhookService {
	if cc.Service == nil {
		return list
	}
	port := int32(443)
	if cc.Service.Port != nil {
		port = *cc.Service.Port
	}
	return append(list, model.WebhookService{Webhook: name, Namespace: cc.Service.Namespace, Name: cc.Service.Name, Port: port})
}
