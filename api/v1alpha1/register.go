package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// SchemeGroupVersion is the group and version of the Fence type.
var SchemeGroupVersion = schema.GroupVersion{Group: "ringfence.dev", Version: "v1alpha1"}

// AddToScheme registers Fence and FenceList, for clients that decode them
// (the controller).
func AddToScheme(s *runtime.Scheme) error {
	s.AddKnownTypes(SchemeGroupVersion, &Fence{}, &FenceList{})
	metav1.AddToGroupVersion(s, SchemeGroupVersion)
	return nil
}
