package k8s

import (
	"github.com/ringfence/ringfence/internal/load/document"
	"github.com/ringfence/ringfence/internal/load/strictjson"
	"github.com/ringfence/ringfence/internal/model"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// preDecoders decode the most common kinds whole before their metadata is
// read, so the metadata is decoded once (see decode). Each kind's decoder
// takes the object with typed, of the same type.
var preDecoders = map[string]func(*document.Object) (any, *metav1.ObjectMeta){
	"v1/Namespace":                       preDecode[corev1.Namespace],
	"v1/Service":                         preDecode[corev1.Service],
	"v1/ServiceAccount":                  preDecode[corev1.ServiceAccount],
	"v1/Pod":                             preDecode[corev1.Pod],
	"v1/ReplicationController":           preDecode[corev1.ReplicationController],
	"networking.k8s.io/v1/NetworkPolicy": preDecode[networkingv1.NetworkPolicy],
	"apps/v1/Deployment":                 preDecode[appsv1.Deployment],
	"apps/v1/ReplicaSet":                 preDecode[appsv1.ReplicaSet],
	"apps/v1/StatefulSet":                preDecode[appsv1.StatefulSet],
	"apps/v1/DaemonSet":                  preDecode[appsv1.DaemonSet],
	"batch/v1/Job":                       preDecode[batchv1.Job],
	"batch/v1/CronJob":                   preDecode[batchv1.CronJob],
}

// preDecode decodes o into a T with the fast strict decoder, and returns
// it and its metadata, or nil when the fast decoder does not take o
// exactly (the ordinary path then decodes it, with its messages).
func preDecode[T any, P interface {
	*T
	GetObjectMeta() metav1.Object
}](o *document.Object) (any, *metav1.ObjectMeta) {
	v := P(new(T))
	if !strictjson.Unmarshal(o.JSON, v, strictjson.Strict) {
		return nil, nil
	}
	om, ok := v.GetObjectMeta().(*metav1.ObjectMeta)
	if !ok {
		return nil, nil
	}
	return v, om
}

// typed is the object decoded as a T: the one decode already made, or
// decoded now (d.decode: strict, with warnings).
func typed[T any](d *decoded, o *document.Object, m model.Meta) (*T, error) {
	if v, ok := d.pre.(*T); ok {
		d.pre = nil
		return v, nil
	}
	v := new(T)
	if err := d.decode(o, m, v); err != nil {
		return nil, err
	}
	return v, nil
}
