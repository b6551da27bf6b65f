package k8s

import (
	"slices"
	"sort"
	"strings"

	"github.com/ringfence/ringfence/internal/model"
)

// Finish completes the world once every object is added: pods and
// intermediate controllers are folded into the workload that owns them,
// namespaces are synthesized and labelled, and each pod's service account
// settings and IAM role are resolved. The builder must not be used after.
func (b *Builder) Finish() *model.World {
	b.resolveRay()
	b.foldOwned()
	b.namespaces()
	w := &model.World{}
	for _, obj := range b.objects {
		switch o := obj.(type) {
		case *model.Namespace:
			w.Namespaces = append(w.Namespaces, o)
		case *model.Workload:
			w.Workloads = append(w.Workloads, o)
		case *model.Service:
			w.Services = append(w.Services, o)
		case *model.Ingress:
			w.Ingresses = append(w.Ingresses, o)
		case *model.IngressClass:
			w.IngressClasses = append(w.IngressClasses, o)
		case *model.NetworkPolicy:
			w.Policies = append(w.Policies, o)
		case *model.ServiceAccount:
			w.ServiceAccounts = append(w.ServiceAccounts, o)
		case *model.Node:
			w.Nodes = append(w.Nodes, o)
		case *model.Secret:
			w.Secrets = append(w.Secrets, o)
		case *model.SecurityGroupPolicy:
			w.SecurityGroupPolicies = append(w.SecurityGroupPolicies, o)
		case *model.Fence:
			w.Fences = append(w.Fences, o)
		case *model.ENIConfig:
			w.ENIConfigs = append(w.ENIConfigs, o)
		case *model.VPCCNI:
			w.VPCCNI = append(w.VPCCNI, o)
		case *model.WebhookConfiguration:
			w.Webhooks = append(w.Webhooks, o)
		case *model.Monitor:
			w.Monitors = append(w.Monitors, o)
		case *model.PrometheusSelectors:
			w.Prometheuses = append(w.Prometheuses, o)
		case *model.TierPolicy:
			w.TierPolicies = append(w.TierPolicies, o)
		case *model.Meta:
			w.ForeignPolicies = append(w.ForeignPolicies, o)
		}
	}
	sortMeta(w.Namespaces, func(n *model.Namespace) *model.Meta { return &n.Meta })
	sortMeta(w.Workloads, func(n *model.Workload) *model.Meta { return &n.Meta })
	sortMeta(w.Services, func(n *model.Service) *model.Meta { return &n.Meta })
	sortMeta(w.Ingresses, func(n *model.Ingress) *model.Meta { return &n.Meta })
	sortMeta(w.IngressClasses, func(n *model.IngressClass) *model.Meta { return &n.Meta })
	sortMeta(w.Policies, func(n *model.NetworkPolicy) *model.Meta { return &n.Meta })
	sortMeta(w.ServiceAccounts, func(n *model.ServiceAccount) *model.Meta { return &n.Meta })
	sortMeta(w.Nodes, func(n *model.Node) *model.Meta { return &n.Meta })
	sortMeta(w.Secrets, func(n *model.Secret) *model.Meta { return &n.Meta })
	sortMeta(w.SecurityGroupPolicies, func(n *model.SecurityGroupPolicy) *model.Meta { return &n.Meta })
	sortMeta(w.Fences, func(n *model.Fence) *model.Meta { return &n.Meta })
	sortMeta(w.ENIConfigs, func(n *model.ENIConfig) *model.Meta { return &n.Meta })
	sortMeta(w.VPCCNI, func(n *model.VPCCNI) *model.Meta { return &n.Meta })
	sortMeta(w.Webhooks, func(n *model.WebhookConfiguration) *model.Meta { return &n.Meta })
	sortMeta(w.ForeignPolicies, func(n *model.Meta) *model.Meta { return n })
	sortMeta(w.Monitors, func(n *model.Monitor) *model.Meta { return &n.Meta })
	sortMeta(w.Prometheuses, func(n *model.PrometheusSelectors) *model.Meta { return &n.Meta })
	sortTiers(w.TierPolicies)
	b.resolveIdentities(w)
	w.Unread = b.unread
	sort.SliceStable(w.Unread, func(i, j int) bool {
		a, c := w.Unread[i], w.Unread[j]
		if a.Kind != c.Kind {
			return a.Kind < c.Kind
		}
		return a.Namespace < c.Namespace
	})
	return w
}

func sortMeta[T any](s []T, meta func(T) *model.Meta) {
	// slices.SortFunc: sort.Slice's reflection swapper was half of
	// Finish. Keys are unique (objects are kept by kind, namespace and
	// name), so the order is the same.
	slices.SortFunc(s, func(x, y T) int {
		a, b := meta(x), meta(y)
		if c := strings.Compare(a.Namespace, b.Namespace); c != 0 {
			return c
		}
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return strings.Compare(a.Kind, b.Kind)
	})
}

// top follows controller owner references from w up to the highest loaded
// workload. Cycles (only possible in hand-written input) stop the walk.
func (b *Builder) top(start ownerKey) *model.Workload {
	var top *model.Workload
	key, ok := start, true
	visited := map[ownerKey]bool{}
	for ok && !visited[key] {
		visited[key] = true
		w, isWorkload := b.objects[model.Ref{Kind: key.kind, Namespace: key.namespace, Name: key.name}].(*model.Workload)
		if !isWorkload {
			break
		}
		top = w
		key, ok = b.owners[w]
	}
	return top
}

// foldOwned attaches live pods and intermediate controllers (a
// Deployment's ReplicaSets, a CronJob's Jobs) to their top workload.
func (b *Builder) foldOwned() {
	// Resolve every top before removing anything: a pod's owner may itself
	// be folded.
	tops := map[*model.Workload]*model.Workload{}
	for w, key := range b.owners {
		if top := b.top(key); top != nil && top != w {
			tops[w] = top
		}
	}
	podTops := make([]*model.Workload, len(b.pods))
	for i, p := range b.pods {
		podTops[i] = b.top(p.owner)
	}
	for w, top := range tops {
		top.Owned = append(top.Owned, w.Ref())
		delete(b.objects, w.Ref())
	}
	for i, p := range b.pods {
		if top := podTops[i]; top != nil {
			// A workload a file replaced runs the file's template once
			// applied: its live pods, made from the old one, are not its
			// instances.
			if top.Source.Cluster != "" || p.workload.Source.Cluster == "" {
				top.Instances = append(top.Instances, p.workload.Instances...)
			}
			delete(b.objects, p.workload.Ref())
			continue
		}
		// The owner was not loaded: the pod stands for itself.
		p.workload.Instances = nil
	}
	for _, obj := range b.objects {
		if w, ok := obj.(*model.Workload); ok {
			sort.Slice(w.Owned, func(i, j int) bool { return w.Owned[i].String() < w.Owned[j].String() })
			sort.Slice(w.Instances, func(i, j int) bool { return w.Instances[i].Name < w.Instances[j].Name })
		}
	}
}

// namespaces gives every namespace the kubernetes.io/metadata.name label
// the API server enforces, and synthesizes those referred to but not loaded.
func (b *Builder) namespaces() {
	// A synthesized namespace is shown at the first object in it (by
	// file and line): the map's order would change the output from run to
	// run.
	used := map[string]model.Source{}
	for ref, obj := range b.objects {
		if ref.Namespace != "" {
			src := sourceOf(obj)
			if prev, seen := used[ref.Namespace]; !seen || earlier(src, prev) {
				used[ref.Namespace] = src
			}
		}
	}
	for name, src := range used {
		ref := model.Ref{Kind: "Namespace", Name: name}
		if _, ok := b.objects[ref]; !ok {
			b.objects[ref] = &model.Namespace{Meta: model.Meta{Kind: "Namespace", APIVersion: "v1", Name: name, Source: src}, Synthesized: true}
		}
	}
	for _, obj := range b.objects {
		if ns, ok := obj.(*model.Namespace); ok {
			labels := make(map[string]string, len(ns.Labels)+1)
			for k, v := range ns.Labels {
				labels[k] = v
			}
			labels[model.NamespaceNameLabel] = ns.Name
			ns.Labels = labels
		}
	}
}

// earlier orders sources by cluster, file and line.
func earlier(a, b model.Source) bool {
	if a.Cluster != b.Cluster {
		return a.Cluster < b.Cluster
	}
	if a.File != b.File {
		return a.File < b.File
	}
	return a.Line < b.Line
}

func sourceOf(obj any) model.Source {
	if o, ok := obj.(model.Object); ok {
		return o.GetMeta().Source
	}
	return model.Source{}
}

// resolveIdentities settles what each pod's service account gives it: a
// mounted API token (the pod's setting wins over the account's, default
// true) and an IAM role through IRSA. It also marks Secret-backed
// credentials as AWS ones when the Secret's key names say so.
func (b *Builder) resolveIdentities(w *model.World) {
	accounts := map[model.Ref]*model.ServiceAccount{}
	for _, sa := range w.ServiceAccounts {
		accounts[sa.Ref()] = sa
	}
	secrets := map[model.Ref]*model.Secret{}
	for _, s := range w.Secrets {
		secrets[s.Ref()] = s
	}
	for _, wl := range w.Workloads {
		for _, pt := range wl.Pods {
			sa := accounts[model.Ref{Kind: "ServiceAccount", Namespace: wl.Namespace, Name: pt.ServiceAccount}]
			pt.AutomountToken = true
			switch {
			case b.podAuto[pt] != nil:
				pt.AutomountToken = *b.podAuto[pt]
			case sa != nil && sa.AutomountToken != nil:
				pt.AutomountToken = *sa.AutomountToken
			}
			for i := range pt.Credentials {
				c := &pt.Credentials[i]
				if s := secrets[model.Ref{Kind: "Secret", Namespace: wl.Namespace, Name: c.Secret}]; c.Cloud == "" && s != nil && awsSecret(s) {
					c.Cloud = "aws"
				}
			}
			if sa != nil && sa.RoleARN() != "" && !hasRole(pt.Credentials, sa.RoleARN()) {
				pt.Credentials = append(pt.Credentials, model.Credential{Kind: model.CredIRSA, RoleARN: sa.RoleARN(), Cloud: "aws"})
				sortCredentials(pt.Credentials)
			}
		}
	}
}

func hasRole(cs []model.Credential, arn string) bool {
	for _, c := range cs {
		if c.Kind == model.CredIRSA && c.RoleARN == arn {
			return true
		}
	}
	return false
}

// awsSecret reports whether a Secret's key names say it holds AWS
// credentials (static keys, or an AWS CLI credentials file).
func awsSecret(s *model.Secret) bool {
	for _, k := range s.Keys {
		if awsName(k) || strings.EqualFold(k, "credentials") {
			return true
		}
	}
	return false
}
