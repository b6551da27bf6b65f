package whatif

import (
	"sort"

	"github.com/ringfence/ringfence/internal/model"
)

// DeleteAnnotation on an object of the proposal removes the current object
// of the same kind, namespace and name.
const DeleteAnnotation = "ringfence.dev/whatif"

// Overlay returns the current world with the proposal laid over it: an
// object with the kind, namespace and name of a current one replaces it
// (security groups, instances and prefix lists by id), others are added,
// and one annotated ringfence.dev/whatif: delete removes its namesake.
// Namespaces the proposal only refers to do not replace loaded ones.
func Overlay(current, proposal *model.World) *model.World {
	next := *current
	var namespaces []*model.Namespace
	for _, n := range proposal.Namespaces {
		if !n.Synthesized {
			namespaces = append(namespaces, n)
		}
	}
	next.Namespaces = overlay(current.Namespaces, namespaces)
	next.Workloads = overlay(current.Workloads, proposal.Workloads)
	next.Services = overlay(current.Services, proposal.Services)
	next.Ingresses = overlay(current.Ingresses, proposal.Ingresses)
	next.IngressClasses = overlay(current.IngressClasses, proposal.IngressClasses)
	next.Policies = overlay(current.Policies, proposal.Policies)
	next.ServiceAccounts = overlay(current.ServiceAccounts, proposal.ServiceAccounts)
	next.Nodes = overlay(current.Nodes, proposal.Nodes)
	next.Secrets = overlay(current.Secrets, proposal.Secrets)
	next.SecurityGroupPolicies = overlay(current.SecurityGroupPolicies, proposal.SecurityGroupPolicies)
	next.Fences = overlay(current.Fences, proposal.Fences)
	next.Webhooks = overlay(current.Webhooks, proposal.Webhooks)
	next.SecurityGroups = overlayByID(current.SecurityGroups, proposal.SecurityGroups, func(g *model.SecurityGroup) string { return g.ID })
	next.Instances = overlayByID(current.Instances, proposal.Instances, func(i *model.Instance) string { return i.ID })
	next.PrefixLists = overlayByID(current.PrefixLists, proposal.PrefixLists, func(p *model.PrefixList) string { return p.ID })
	return &next
}

func overlay[T model.Object](current, proposal []T) []T {
	over := map[model.Ref]T{}
	for _, o := range proposal {
		over[o.GetMeta().Ref()] = o
	}
	var out []T
	for _, o := range current {
		ref := o.GetMeta().Ref()
		if p, ok := over[ref]; ok {
			delete(over, ref)
			if p.GetMeta().Annotations[DeleteAnnotation] == "delete" {
				continue
			}
			o = p
		}
		out = append(out, o)
	}
	for _, o := range proposal {
		if _, left := over[o.GetMeta().Ref()]; left && o.GetMeta().Annotations[DeleteAnnotation] != "delete" {
			out = append(out, o)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i].GetMeta(), out[j].GetMeta()
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.Kind < b.Kind
	})
	return out
}

func overlayByID[T any](current, proposal []T, id func(T) string) []T {
	over := map[string]T{}
	for _, o := range proposal {
		over[id(o)] = o
	}
	var out []T
	for _, o := range current {
		if p, ok := over[id(o)]; ok {
			delete(over, id(o))
			o = p
		}
		out = append(out, o)
	}
	for _, o := range proposal {
		if _, left := over[id(o)]; left {
			out = append(out, o)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return id(out[i]) < id(out[j]) })
	return out
}
