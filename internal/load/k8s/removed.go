package k8s

import (
	"github.com/ringfence/ringfence/internal/load/document"
	"github.com/ringfence/ringfence/internal/model"
	appsv1beta1 "k8s.io/api/apps/v1beta1"
	appsv1beta2 "k8s.io/api/apps/v1beta2"
	corev1 "k8s.io/api/core/v1"
	extensionsv1beta1 "k8s.io/api/extensions/v1beta1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// removed is an apiVersion the API server stopped serving, and the one it
// is read as ("" when the kind has no replacement and is not read).
type removed struct {
	removed, version string
}

// removedVersions are the served-but-removed versions real repositories
// still carry. Those with a replacement are in decoders: their schemas
// match the current version's for every field ringfence reads (the pod
// template, replicas, NetworkPolicy, CronJob), or are converted field by
// field (Ingress). Each is read with a warning naming the removal and the
// replacement; dropping one would silently change verdicts.
var removedVersions = map[string]removed{
	"batch/v1beta1/CronJob":             {"removed in Kubernetes 1.25", "batch/v1"},
	"extensions/v1beta1/NetworkPolicy":  {"removed in Kubernetes 1.16", "networking.k8s.io/v1"},
	"extensions/v1beta1/Ingress":        {"removed in Kubernetes 1.22", "networking.k8s.io/v1"},
	"networking.k8s.io/v1beta1/Ingress": {"removed in Kubernetes 1.22", "networking.k8s.io/v1"},
	"extensions/v1beta1/Deployment":     {"removed in Kubernetes 1.16", "apps/v1"},
	"extensions/v1beta1/DaemonSet":      {"removed in Kubernetes 1.16", "apps/v1"},
	"extensions/v1beta1/ReplicaSet":     {"removed in Kubernetes 1.16", "apps/v1"},
	"apps/v1beta1/Deployment":           {"removed in Kubernetes 1.16", "apps/v1"},
	"apps/v1beta1/StatefulSet":          {"removed in Kubernetes 1.16", "apps/v1"},
	"apps/v1beta2/Deployment":           {"removed in Kubernetes 1.16", "apps/v1"},
	"apps/v1beta2/StatefulSet":          {"removed in Kubernetes 1.16", "apps/v1"},
	"apps/v1beta2/DaemonSet":            {"removed in Kubernetes 1.16", "apps/v1"},
	"apps/v1beta2/ReplicaSet":           {"removed in Kubernetes 1.16", "apps/v1"},
	// PodSecurityPolicy has no successor kind: Pod Security Admission
	// (namespace labels) replaced it. It admits pods; it does not filter
	// traffic, so skipping it changes no verdict.
	"extensions/v1beta1/PodSecurityPolicy": {"removed in Kubernetes 1.16", ""},
	"policy/v1beta1/PodSecurityPolicy":     {"removed in Kubernetes 1.25", ""},
}

// removedNotice is the warning for an object of a removed apiVersion.
func removedNotice(o *document.Object, object string, r removed) document.Notice {
	n := document.Notice{Category: document.Deprecated, Source: o.Source, Object: object}
	if r.version == "" {
		n.Msg = o.APIVersion + " " + o.Kind + " is no longer served by the API server (" + r.removed + ") and has no replacement kind (Pod Security Admission replaced it): not read; it admits pods and does not filter traffic, so no verdict depends on it"
	} else {
		n.Msg = o.APIVersion + " " + o.Kind + " is no longer served by the API server (" + r.removed + "): read as " + r.version + " " + o.Kind + "; update the manifest"
	}
	return n
}

// legacyWorkload decodes a workload kind of a removed apps or extensions
// version into its own type (so its fields are checked against its own
// schema) and reads its pod template as the apps/v1 kind does.
func legacyWorkload[T any](kind string, parts func(*T) (metav1.ObjectMeta, *int32, corev1.PodTemplateSpec)) kindDecoder {
	return func(d *decoded, o *document.Object, m model.Meta) error {
		var v T
		if err := d.decode(o, m, &v); err != nil {
			return err
		}
		meta, r, spec := parts(&v)
		d.addWorkload(m, meta.OwnerReferences, appsTemplate(kind, r, spec))
		return nil
	}
}

// legacyDecoders read the removed workload versions.
var legacyDecoders = map[string]kindDecoder{
	"extensions/v1beta1/Deployment": legacyWorkload("Deployment", func(v *extensionsv1beta1.Deployment) (metav1.ObjectMeta, *int32, corev1.PodTemplateSpec) {
		return v.ObjectMeta, v.Spec.Replicas, v.Spec.Template
	}),
	"extensions/v1beta1/DaemonSet": legacyWorkload("DaemonSet", func(v *extensionsv1beta1.DaemonSet) (metav1.ObjectMeta, *int32, corev1.PodTemplateSpec) {
		return v.ObjectMeta, nil, v.Spec.Template
	}),
	"extensions/v1beta1/ReplicaSet": legacyWorkload("ReplicaSet", func(v *extensionsv1beta1.ReplicaSet) (metav1.ObjectMeta, *int32, corev1.PodTemplateSpec) {
		return v.ObjectMeta, v.Spec.Replicas, v.Spec.Template
	}),
	"apps/v1beta1/Deployment": legacyWorkload("Deployment", func(v *appsv1beta1.Deployment) (metav1.ObjectMeta, *int32, corev1.PodTemplateSpec) {
		return v.ObjectMeta, v.Spec.Replicas, v.Spec.Template
	}),
	"apps/v1beta1/StatefulSet": legacyWorkload("StatefulSet", func(v *appsv1beta1.StatefulSet) (metav1.ObjectMeta, *int32, corev1.PodTemplateSpec) {
		return v.ObjectMeta, v.Spec.Replicas, v.Spec.Template
	}),
	"apps/v1beta2/Deployment": legacyWorkload("Deployment", func(v *appsv1beta2.Deployment) (metav1.ObjectMeta, *int32, corev1.PodTemplateSpec) {
		return v.ObjectMeta, v.Spec.Replicas, v.Spec.Template
	}),
	"apps/v1beta2/StatefulSet": legacyWorkload("StatefulSet", func(v *appsv1beta2.StatefulSet) (metav1.ObjectMeta, *int32, corev1.PodTemplateSpec) {
		return v.ObjectMeta, v.Spec.Replicas, v.Spec.Template
	}),
	"apps/v1beta2/DaemonSet": legacyWorkload("DaemonSet", func(v *appsv1beta2.DaemonSet) (metav1.ObjectMeta, *int32, corev1.PodTemplateSpec) {
		return v.ObjectMeta, nil, v.Spec.Template
	}),
	"apps/v1beta2/ReplicaSet": legacyWorkload("ReplicaSet", func(v *appsv1beta2.ReplicaSet) (metav1.ObjectMeta, *int32, corev1.PodTemplateSpec) {
		return v.ObjectMeta, v.Spec.Replicas, v.Spec.Template
	}),
}
