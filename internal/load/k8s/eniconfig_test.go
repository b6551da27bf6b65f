package k8s

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// ipamd reads its booleans with Go's strconv.ParseBool (false when unset,
// empty or not a boolean) and takes the default label and annotation when
// theirs are unset or empty; the kubelet applies envFrom first, then env,
// the last entry of a name winning.
func TestAWSNodeSettings(t *testing.T) {
	env := func(kv ...string) []corev1.EnvVar {
		var out []corev1.EnvVar
		for i := 0; i < len(kv); i += 2 {
			out = append(out, corev1.EnvVar{Name: kv[i], Value: kv[i+1]})
		}
		return out
	}
	fromField := corev1.EnvVar{Name: envCustomNetwork, ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}}
	for _, c := range []struct {
		name            string
		container       corev1.Container
		on, label, anno string
		snat            string
		wantNil         bool
	}{
		{name: "unset: off, defaults", container: corev1.Container{Name: "aws-node"}, on: "false", label: defaultENIConfigLabel, anno: defaultENIConfigLabel, snat: "false"},
		{name: "true", container: corev1.Container{Name: "aws-node", Env: env(envCustomNetwork, "true", envENIConfigLabel, "topology.kubernetes.io/zone", envExternalSNAT, "TRUE")}, on: "true", label: "topology.kubernetes.io/zone", anno: defaultENIConfigLabel, snat: "true"},
		{name: "1 is true", container: corev1.Container{Name: "aws-node", Env: env(envCustomNetwork, "1")}, on: "true", label: defaultENIConfigLabel, anno: defaultENIConfigLabel, snat: "false"},
		{name: "yes is not a boolean: the default", container: corev1.Container{Name: "aws-node", Env: env(envCustomNetwork, "yes")}, on: "false", label: defaultENIConfigLabel, anno: defaultENIConfigLabel, snat: "false"},
		{name: "the last entry wins", container: corev1.Container{Name: "aws-node", Env: env(envCustomNetwork, "false", envCustomNetwork, "true")}, on: "true", label: defaultENIConfigLabel, anno: defaultENIConfigLabel, snat: "false"},
		{name: "empty label: the default", container: corev1.Container{Name: "aws-node", Env: env(envENIConfigLabel, "")}, on: "false", label: defaultENIConfigLabel, anno: defaultENIConfigLabel, snat: "false"},
		{name: "valueFrom: unknown", container: corev1.Container{Name: "aws-node", Env: []corev1.EnvVar{fromField}}, on: "", label: defaultENIConfigLabel, anno: defaultENIConfigLabel, snat: "false"},
		{name: "envFrom: unknown unless env sets it", container: corev1.Container{Name: "aws-node", EnvFrom: []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cni"}}}}, Env: env(envCustomNetwork, "true")}, on: "true", label: "", anno: "", snat: ""},
		{name: "by image", container: corev1.Container{Name: "cni", Image: "602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon-k8s-cni:v1.19.2"}, on: "false", label: defaultENIConfigLabel, anno: defaultENIConfigLabel, snat: "false"},
		{name: "the init image is not ipamd", container: corev1.Container{Name: "init", Image: "602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon-k8s-cni-init:v1.19.2"}, wantNil: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := awsNodeSettings(&corev1.PodSpec{Containers: []corev1.Container{c.container}})
			if c.wantNil {
				if got != nil {
					t.Errorf("read %+v from a pod that runs no ipamd", got)
				}
				return
			}
			if got == nil {
				t.Fatal("not read")
			}
			if got.CustomNetworking != c.on || got.LabelDef != c.label || got.AnnotationDef != c.anno || got.ExternalSNAT != c.snat {
				t.Errorf("got %+v, want on=%q label=%q anno=%q snat=%q", got, c.on, c.label, c.anno, c.snat)
			}
		})
	}
}
