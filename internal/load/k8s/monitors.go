package k8s

import (
	"fmt"

	"github.com/ringfence/ringfence/internal/load/document"
	"github.com/ringfence/ringfence/internal/model"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// prometheusSelectorsKind keys a Prometheus object's monitor selectors in
// the builder, beside the workload of the same name.
const prometheusSelectorsKind = "Prometheus.selectors"

// monitorSpec is what ringfence reads of a ServiceMonitor or PodMonitor
// (monitoring.coreos.com/v1).
type monitorSpec struct {
	Selector          metav1.LabelSelector `json:"selector"`
	NamespaceSelector struct {
		Any        bool     `json:"any"`
		MatchNames []string `json:"matchNames"`
	} `json:"namespaceSelector"`
	Endpoints           []monitorEndpoint `json:"endpoints"`
	PodMetricsEndpoints []monitorEndpoint `json:"podMetricsEndpoints"`
}

type monitorEndpoint struct {
	Port       string              `json:"port"`
	PortNumber int32               `json:"portNumber"`
	TargetPort *intstr.IntOrString `json:"targetPort"`
}

func decodeServiceMonitor(d *decoded, o *document.Object, m model.Meta) error {
	return decodeMonitor(d, o, m, "endpoints")
}

func decodePodMonitor(d *decoded, o *document.Object, m model.Meta) error {
	return decodeMonitor(d, o, m, "podMetricsEndpoints")
}

// decodeMonitor reads a ServiceMonitor or PodMonitor: its selector, the
// namespaces it looks in, and the ports it scrapes.
func decodeMonitor(d *decoded, o *document.Object, m model.Meta, field string) error {
	var x struct {
		Spec monitorSpec `json:"spec"`
	}
	if err := d.decodeLoose(o, m, &x); err != nil {
		return err
	}
	if err := selectorsValid(o, m, &x.Spec.Selector); err != nil {
		return err
	}
	mon := &model.Monitor{Meta: m, Selector: x.Spec.Selector, AnyNamespace: x.Spec.NamespaceSelector.Any, Namespaces: x.Spec.NamespaceSelector.MatchNames}
	eps := x.Spec.Endpoints
	if field == "podMetricsEndpoints" {
		eps = x.Spec.PodMetricsEndpoints
	}
	for i, e := range eps {
		src := o.Source.At(o.Line("spec", field, i))
		if e.PortNumber < 0 || e.PortNumber > 65535 {
			return &document.Error{Source: src, Object: m.Ref().String(), Msg: fmt.Sprintf("spec.%s[%d].portNumber %d is out of range 1-65535", field, i, e.PortNumber)}
		}
		ep := model.MonitorEndpoint{Port: e.Port, PortNumber: e.PortNumber, Source: src}
		if e.TargetPort != nil {
			ep.TargetPort = e.TargetPort.String()
		}
		if ep.Port == "" && ep.PortNumber == 0 && ep.TargetPort == "" {
			d.warn(src, m.Ref().String(), "spec.%s[%d] names no port: ringfence cannot tell which port it scrapes", field, i)
			continue
		}
		mon.Endpoints = append(mon.Endpoints, ep)
	}
	d.obj = mon
	return nil
}

// selectorsValid refuses a label selector the API server would not take
// (an unknown operator, values with Exists).
func selectorsValid(o *document.Object, m model.Meta, sels ...*metav1.LabelSelector) error {
	for _, s := range sels {
		if _, err := metav1.LabelSelectorAsSelector(s); err != nil {
			return &document.Error{Source: o.Source, Object: m.Ref().String(), Msg: err.Error()}
		}
	}
	return nil
}
