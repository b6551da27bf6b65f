package k8s

import (
	"strconv"
	"strings"

	"github.com/ringfence/ringfence/internal/load/document"
	"github.com/ringfence/ringfence/internal/model"
	corev1 "k8s.io/api/core/v1"
)

// The VPC CNI's custom networking (docs/aws.md, "Custom networking"): with
// AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG on, ipamd gives pods interfaces in the
// subnet and security groups of the ENIConfig its node names, not those of
// the node's primary interface. Both halves are read here: the ENIConfig
// objects, and the aws-node DaemonSet's environment that says whether (and
// by which node label or annotation) they apply.

// vpcCNIKind keys the aws-node settings among the builder's objects.
const vpcCNIKind = "VPCCNI"

// The environment variables ipamd reads, and its defaults.
const (
	envCustomNetwork      = "AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG"
	envENIConfigLabel     = "ENI_CONFIG_LABEL_DEF"
	envENIConfigAnno      = "ENI_CONFIG_ANNOTATION_DEF"
	envExternalSNAT       = "AWS_VPC_K8S_CNI_EXTERNALSNAT"
	defaultENIConfigLabel = "k8s.amazonaws.com/eniConfig"
)

func decodeENIConfig(d *decoded, o *document.Object, m model.Meta) error {
	var c struct {
		Spec struct {
			Subnet         string   `json:"subnet"`
			SecurityGroups []string `json:"securityGroups"`
		} `json:"spec"`
	}
	if err := d.decodeLoose(o, m, &c); err != nil {
		return err
	}
	// The CRD's schema requires the subnet; the API server refuses the
	// object without it.
	if c.Spec.Subnet == "" {
		return &document.Error{Source: o.Source, Object: m.Ref().String(), Msg: "spec.subnet is required"}
	}
	d.obj = &model.ENIConfig{Meta: m, Subnet: c.Spec.Subnet, SecurityGroups: c.Spec.SecurityGroups}
	return nil
}

// awsNodeSettings reads ipamd's custom networking settings from a pod spec
// running the VPC CNI (its container "aws-node"); nil for other pods.
func awsNodeSettings(s *corev1.PodSpec) *model.VPCCNI {
	for i := range s.Containers {
		c := &s.Containers[i]
		if c.Name != "aws-node" && !strings.Contains(c.Image, "/amazon-k8s-cni:") {
			continue
		}
		return &model.VPCCNI{
			CustomNetworking: envBool(c, envCustomNetwork),
			LabelDef:         envName(c, envENIConfigLabel),
			AnnotationDef:    envName(c, envENIConfigAnno),
			ExternalSNAT:     envBool(c, envExternalSNAT),
		}
	}
	return nil
}

// envValue is the literal value a container's environment gives name, as
// the kubelet builds it (envFrom first, env after it, the last entry of a
// name winning); known is false when a valueFrom or an envFrom source may
// set it.
func envValue(c *corev1.Container, name string) (value string, set, known bool) {
	known = len(c.EnvFrom) == 0
	for _, e := range c.Env {
		if e.Name != name {
			continue
		}
		if e.ValueFrom != nil {
			value, set, known = "", true, false
			continue
		}
		value, set, known = e.Value, true, true
	}
	return value, set, known
}

// envBool is ipamd's reading of a boolean variable: strconv.ParseBool, and
// false when unset, empty or not a boolean. "" when it cannot be known.
func envBool(c *corev1.Container, name string) string {
	v, _, known := envValue(c, name)
	if !known {
		return ""
	}
	if b, err := strconv.ParseBool(v); err == nil && b {
		return "true"
	}
	return "false"
}

// envName is ipamd's reading of ENI_CONFIG_LABEL_DEF and
// ENI_CONFIG_ANNOTATION_DEF: the default when unset or empty. "" when it
// cannot be known.
func envName(c *corev1.Container, name string) string {
	v, _, known := envValue(c, name)
	switch {
	case !known:
		return ""
	case v == "":
		return defaultENIConfigLabel
	}
	return v
}
