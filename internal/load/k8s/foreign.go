package k8s

import (
	"strings"

	"github.com/ringfence/ringfence/internal/load/document"
	"github.com/ringfence/ringfence/internal/model"
)

// Policy kinds ringfence does not evaluate, by API group. They decide
// traffic all the same (CNI policies, secondary networks), so
// they are recorded in the world: the engine lowers the verdicts they could
// change to unknown, and loading warns.
var foreignGroups = map[string]map[string]bool{
	"cilium.io":             {"CiliumNetworkPolicy": true, "CiliumClusterwideNetworkPolicy": true},
	"crd.projectcalico.org": {"NetworkPolicy": true, "GlobalNetworkPolicy": true, "StagedNetworkPolicy": true, "StagedGlobalNetworkPolicy": true},
	"projectcalico.org":     {"NetworkPolicy": true, "GlobalNetworkPolicy": true, "StagedNetworkPolicy": true, "StagedGlobalNetworkPolicy": true},
	"k8s.cni.cncf.io":       {"MultiNetworkPolicy": true},
}

// foreignClusterScoped are the cluster-wide ones: they may decide traffic
// in every namespace.
var foreignClusterScoped = map[string]bool{
	"CiliumClusterwideNetworkPolicy": true, "GlobalNetworkPolicy": true, "StagedGlobalNetworkPolicy": true,
}

// foreignPolicy reports whether an object is a policy kind ringfence does
// not evaluate, and its scope ("cluster" or "namespace").
func foreignPolicy(apiVersion, kind string) (string, bool) {
	if isTiered(apiVersion, kind) {
		return "", false
	}
	group, _, _ := strings.Cut(apiVersion, "/")
	if !foreignGroups[group][kind] {
		return "", false
	}
	if foreignClusterScoped[kind] {
		return "cluster", true
	}
	return "namespace", true
}

func decodeForeign(scope string) func(d *decoded, o *document.Object, m model.Meta) error {
	return func(d *decoded, o *document.Object, m model.Meta) error {
		meta := m
		where := "in namespace " + m.Namespace
		if scope == "cluster" {
			where = "in every namespace"
		}
		d.obj = &meta
		d.warn(o.Source, m.Kind+"/"+refName(m), "%s (%s) is a policy kind ringfence does not evaluate: verdicts on traffic %s it could change are reported as unknown", m.Kind, m.APIVersion, where)
		return nil
	}
}

func refName(m model.Meta) string {
	if m.Namespace == "" {
		return m.Name
	}
	return m.Namespace + "/" + m.Name
}
