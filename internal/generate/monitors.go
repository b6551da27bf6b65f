package generate

import (
	"fmt"
	"sort"
	"strconv"

	"github.com/ringfence/ringfence/internal/engine"
	"github.com/ringfence/ringfence/internal/model"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// scrapeTarget is a port of a workload that something scrapes, and who.
type scrapeTarget struct {
	port int32
	why  string
	// scrapers are the Prometheus workloads that scrape it; note says
	// why there are none (the need is then unseen).
	scrapers []*model.Workload
	note     string
}

// monitorTargets are the ports of a workload that the ServiceMonitors and
// PodMonitors of the inputs select (through its Services, or its pods),
// with the Prometheus workloads that select each monitor: by the
// Prometheus objects' serviceMonitorSelector / podMonitorSelector and
// their namespace selectors when the inputs hold Prometheus objects;
// otherwise, as an assumption that the output says, the Prometheus pods of
// the monitoring namespace (or of any namespace, when none is there).
func monitorTargets(w *model.World, wl *model.Workload, pts []*model.PodTemplate) []scrapeTarget {
	var out []scrapeTarget
	one := map[*model.Workload][]*model.PodTemplate{wl: pts}
	for _, m := range w.Monitors {
		sel, err := engine.ParseSelector(&m.Selector)
		if err != nil {
			continue // the loader refuses such selectors
		}
		var ports []int32
		switch m.Kind {
		case "ServiceMonitor":
			for _, s := range servicesOf(w, one) {
				if !m.MonitorNamespaces(s.Namespace) || sel.Matches(engine.LabelSet{Known: s.Labels}) != engine.Yes {
					continue
				}
				for _, e := range m.Endpoints {
					switch {
					case e.Port != "":
						if p, _ := servicePort(w, s.Namespace, s.Name, intstr.FromString(e.Port)); p != 0 {
							ports = append(ports, p)
						}
					case e.TargetPort != "":
						ports = append(ports, podPort(pts, e.TargetPort)...)
					}
				}
			}
		case "PodMonitor":
			selected := false
			for _, pt := range pts {
				selected = selected || sel.Matches(engine.PodLabels(pt)) == engine.Yes
			}
			if !selected || !m.MonitorNamespaces(wl.Namespace) {
				continue
			}
			for _, e := range m.Endpoints {
				switch {
				case e.PortNumber != 0:
					ports = append(ports, e.PortNumber)
				case e.Port != "":
					ports = append(ports, podPort(pts, e.Port)...)
				case e.TargetPort != "":
					ports = append(ports, podPort(pts, e.TargetPort)...)
				}
			}
		}
		if len(ports) == 0 {
			continue
		}
		why := fmt.Sprintf("%s %s/%s selects it (%s)", m.Kind, m.Namespace, m.Name, m.Source)
		scrapers, note := monitorScrapers(w, m)
		if note == "" && len(w.Prometheuses) == 0 {
			why += "; no Prometheus object in the inputs says which Prometheus selects the monitor, so its scraper is assumed to be " + names(scrapers)
		}
		for _, p := range ports {
			out = append(out, scrapeTarget{port: p, why: why, scrapers: scrapers, note: note})
		}
	}
	return out
}

// monitorScrapers are the Prometheus workloads that select a monitor.
func monitorScrapers(w *model.World, m *model.Monitor) ([]*model.Workload, string) {
	if len(w.Prometheuses) == 0 {
		all := prometheusWorkloads(w)
		var monitoring []*model.Workload
		for _, p := range all {
			if p.Namespace == "monitoring" {
				monitoring = append(monitoring, p)
			}
		}
		if len(monitoring) > 0 {
			all = monitoring
		}
		if len(all) == 0 {
			return nil, fmt.Sprintf("no Prometheus in the inputs to scrape %s %s/%s: give its Prometheus object or pods, or declare them with ingress: [{from: {namespaces: ..., pods: ...}, ports: [...]}]", m.Kind, m.Namespace, m.Name)
		}
		return all, ""
	}
	var out []*model.Workload
	for _, p := range w.Prometheuses {
		sel, nsSel := p.ServiceMonitorSelector, p.ServiceMonitorNamespaceSelector
		if m.Kind == "PodMonitor" {
			sel, nsSel = p.PodMonitorSelector, p.PodMonitorNamespaceSelector
		}
		if sel == nil { // a null selector selects no monitor
			continue
		}
		s, err := engine.ParseSelector(sel)
		if err != nil || s.Matches(engine.LabelSet{Known: m.Labels}) != engine.Yes {
			continue
		}
		if nsSel == nil { // the Prometheus's own namespace
			if m.Namespace != p.Namespace {
				continue
			}
		} else {
			ns, err := engine.ParseSelector(nsSel)
			if err != nil || ns.Matches(engine.LabelSet{Known: namespaceLabels(w, m.Namespace)}) != engine.Yes {
				continue
			}
		}
		for _, wl := range w.Workloads {
			if wl.Kind == "Prometheus" && wl.Namespace == p.Namespace && wl.Name == p.Name && len(wl.Pods) > 0 {
				out = append(out, wl)
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Sprintf("no Prometheus object of the inputs selects %s %s/%s (serviceMonitorSelector / podMonitorSelector and their namespace selectors)", m.Kind, m.Namespace, m.Name)
	}
	return out, ""
}

func namespaceLabels(w *model.World, name string) map[string]string {
	for _, n := range w.Namespaces {
		if n.Name == name {
			return n.Labels
		}
	}
	return map[string]string{model.NamespaceNameLabel: name}
}

// podPort resolves a pod port by name or number.
func podPort(pts []*model.PodTemplate, port string) []int32 {
	if n, err := strconv.Atoi(port); err == nil && n > 0 && n <= 65535 {
		return []int32{int32(n)}
	}
	for _, pt := range pts {
		for _, c := range pt.Containers {
			for _, cp := range c.Ports {
				if cp.Name == port {
					return []int32{cp.Port}
				}
			}
		}
	}
	return nil
}

func names(ws []*model.Workload) string {
	var out []string
	for _, w := range ws {
		out = append(out, w.Namespace+"/"+w.Kind+"/"+w.Name)
	}
	sort.Strings(out)
	s := ""
	for i, n := range out {
		if i > 0 {
			s += ", "
		}
		s += n
	}
	return s
}
