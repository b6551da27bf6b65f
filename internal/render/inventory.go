package render

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/ringfence/ringfence/internal/inventory"
	"github.com/ringfence/ringfence/internal/model"
)

// InventoryText writes the inventory as tables for a terminal.
func InventoryText(w io.Writer, inv *inventory.Inventory) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	section := func(title string, n int, header string) {
		fmt.Fprintf(tw, "\n%s (%d)\n", title, n)
		if n > 0 {
			fmt.Fprintln(tw, header)
		}
	}
	section("NAMESPACES", len(inv.Namespaces), "NAME\tLABELS\tSOURCE")
	for _, ns := range inv.Namespaces {
		src := ns.Source
		if ns.Synthesized {
			src = "synthesized (first used at " + src + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", ns.Name, labels(ns.Labels), src)
	}
	section("WORKLOADS", len(inv.Workloads), "NAMESPACE\tKIND\tNAME\tROLE\tPODS\tPORTS\tSERVICE ACCOUNT\tGPUS\tCREDENTIALS\tSECURITY GROUPS\tSOURCE")
	for _, wl := range inv.Workloads {
		kind := wl.Kind
		if wl.ML {
			kind += " (ML)"
		}
		name := wl.Name
		if wl.GenerateName != "" {
			name += " (named from generateName)"
		}
		for i, p := range wl.Pods {
			ns, k, name, src := wl.Namespace, kind, name, wl.Source
			if i > 0 {
				ns, k, name, src = "", "", "", ""
			}
			sa := p.ServiceAccount
			if p.AutomountToken {
				sa += " (token mounted)"
			}
			role := p.Role
			if role == "" {
				role = "-"
			}
			if p.HostNetwork {
				role += " hostNetwork"
			}
			groups := list(p.Placement.Groups)
			if p.Placement.Ambiguous {
				groups += " (depends on the node)"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", ns, k, name, role, replicas(p.Replicas), list(stringsOf(p.Ports)), sa, gpus(p.GPUs), credentials(p.Credentials), groups, src)
		}
		if len(wl.Pods) == 0 {
			fmt.Fprintf(tw, "%s\t%s\t%s\t-\t0\t-\t-\t-\t-\t-\t%s\n", wl.Namespace, kind, wl.Name, wl.Source)
		}
	}
	section("POD LABELS", len(inv.Workloads), "NAMESPACE\tWORKLOAD\tROLE\tLABELS")
	for _, wl := range inv.Workloads {
		for _, p := range wl.Pods {
			var parts []string
			if len(p.Labels) > 0 {
				parts = append(parts, labels(p.Labels))
			}
			for _, v := range p.VaryingLabels {
				parts = append(parts, v+"=<varies>")
			}
			l := dash(strings.Join(parts, ","))
			role := p.Role
			if role == "" {
				role = "-"
			}
			fmt.Fprintf(tw, "%s\t%s/%s\t%s\t%s\n", wl.Namespace, wl.Kind, wl.Name, role, l)
		}
	}
	section("SERVICES", len(inv.Services), "NAMESPACE\tNAME\tTYPE\tPORTS\tSELECTOR\tSOURCE RANGES\tSOURCE")
	for _, s := range inv.Services {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.Namespace, s.Name, s.Type, list(stringsOf(s.Ports)), labels(s.Selector), list(s.SourceRanges), s.Source)
	}
	section("INGRESSES", len(inv.Ingresses), "NAMESPACE\tNAME\tCLASS\tRULES\tSOURCE")
	for _, i := range inv.Ingresses {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", i.Namespace, i.Name, dash(i.Class), list(i.Rules), i.Source)
	}
	section("NETWORK POLICIES", len(inv.NetworkPolicies), "NAMESPACE\tNAME\tTYPES\tRULES (IN/OUT)\tSELECTS\tSOURCE")
	for _, p := range inv.NetworkPolicies {
		sel := list(p.Selects)
		if len(p.Selects) == 0 {
			sel = "(nothing)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d/%d\t%s\t%s\n", p.Namespace, p.Name, strings.Join(p.PolicyTypes, ","), p.IngressRules, p.EgressRules, sel, p.Source)
	}
	section("SERVICE ACCOUNTS", len(inv.ServiceAccounts), "NAMESPACE\tNAME\tIAM ROLE (IRSA)\tAUTOMOUNT\tSOURCE")
	for _, sa := range inv.ServiceAccounts {
		auto := "default"
		if sa.AutomountToken != nil {
			auto = fmt.Sprint(*sa.AutomountToken)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", sa.Namespace, sa.Name, dash(sa.RoleARN), auto, sa.Source)
	}
	section("NODES", len(inv.Nodes), "NAME\tPROVIDER ID\tINTERNAL IP\tGPUS\tTAINTS\tSOURCE")
	for _, n := range inv.Nodes {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", n.Name, dash(n.ProviderID), list(n.InternalIP), gpus(n.GPUs), list(n.Taints), n.Source)
	}
	if unplaced := unplaced(inv); len(unplaced) > 0 && len(inv.Nodes) > 0 {
		section("NOT PLACED: NO NODE ADMITS THE PODS", len(unplaced), "NAMESPACE\tWORKLOAD\tROLE\tWHY")
		for _, u := range unplaced {
			fmt.Fprintln(tw, u)
		}
	}
	if len(inv.Secrets) > 0 {
		section("SECRETS (names and keys only; values are never read)", len(inv.Secrets), "NAMESPACE\tNAME\tTYPE\tKEYS\tSOURCE")
		for _, s := range inv.Secrets {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.Namespace, s.Name, dash(s.Type), list(s.Keys), s.Source)
		}
	}
	if len(inv.SecurityGroups) > 0 {
		section("SECURITY GROUPS", len(inv.SecurityGroups), "ID\tNAME\tVPC\tRULES (IN/OUT)\tSOURCE")
		for _, g := range inv.SecurityGroups {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d/%d\t%s\n", g.ID, dash(g.Name), dash(g.VPC), g.Ingress, g.Egress, g.Source)
		}
	}
	if len(inv.Instances) > 0 {
		section("INSTANCES", len(inv.Instances), "ID\tPRIVATE IPS\tSECURITY GROUPS\tIMDS TOKENS\tHOP LIMIT\tSOURCE")
		for _, in := range inv.Instances {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", in.ID, list(in.IPs), list(in.Groups), dash(in.MetadataTokens), in.HopLimit, in.Source)
		}
	}
	if len(inv.SGPolicies) > 0 {
		section("SECURITY GROUP POLICIES", len(inv.SGPolicies), "NAMESPACE\tNAME\tSECURITY GROUPS\tSOURCE")
		for _, p := range inv.SGPolicies {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", p.Namespace, p.Name, list(p.Groups), p.Source)
		}
	}
	if len(inv.AWSNetwork) > 0 {
		section("AWS NETWORK", len(inv.AWSNetwork), "KIND\tID\tVPC\tDETAIL\tSOURCE")
		for _, o := range inv.AWSNetwork {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", o.Kind, o.ID, dash(o.VPC), o.Detail, o.Source)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return reportText(w, inv)
}

// unplaced lists the pods no given node admits, as table rows, with why
// (the taints they do not tolerate, when those are to blame).
func unplaced(inv *inventory.Inventory) []string {
	var out []string
	for _, wl := range inv.Workloads {
		for _, p := range wl.Pods {
			if len(p.Placement.Nodes) == 0 && p.Placement.Via != "" && !strings.HasPrefix(p.Placement.Via, "SecurityGroupPolicy") {
				out = append(out, fmt.Sprintf("%s\t%s/%s\t%s\t%s", wl.Namespace, wl.Kind, wl.Name, dash(p.Role), p.Placement.Via))
			}
		}
	}
	return out
}

// reportText says what was not modelled, so nothing is dropped silently.
func reportText(w io.Writer, inv *inventory.Inventory) error {
	r := inv.Report
	if len(r.Unknown) == 0 && len(r.Warnings) == 0 && len(r.Forbidden) == 0 && len(inv.Recognized) == 0 {
		_, err := fmt.Fprintln(w, "\nEverything given was read.")
		return err
	}
	if len(inv.Recognized) > 0 {
		fmt.Fprintf(w, "\nRECOGNIZED, READ BY OTHER COMMANDS (%d)\n", len(inv.Recognized))
		for _, d := range inv.Recognized {
			fmt.Fprintf(w, "  %s: %s\n", d.Source, d.Shape)
		}
	}
	if len(r.Unknown) > 0 {
		fmt.Fprintf(w, "\nUNKNOWN KINDS, SKIPPED (%d objects; --strict makes this an error)\n", r.UnknownCount())
		for _, u := range r.Unknown {
			fmt.Fprintf(w, "  %s %s: %d (first at %s)\n", u.APIVersion, u.Kind, u.Count, u.First)
		}
	}
	if len(r.Forbidden) > 0 {
		fmt.Fprintf(w, "\nNOT LISTED: FORBIDDEN (%d)\n", len(r.Forbidden))
		for _, f := range r.Forbidden {
			fmt.Fprintf(w, "  %s\n", f)
		}
	}
	if len(r.Warnings) > 0 {
		fmt.Fprintf(w, "\nWARNINGS (%d)\n", len(r.Warnings))
		for _, n := range r.Warnings {
			fmt.Fprintf(w, "  %s\n", n)
		}
	}
	return nil
}

func replicas(n int32) string {
	if n < 0 {
		return "per node"
	}
	return fmt.Sprint(n)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func list(s []string) string {
	if len(s) == 0 {
		return "-"
	}
	return strings.Join(s, ",")
}

func labels(m map[string]string) string { return pairs(m, "%s=%s") }

func gpus(m map[string]int64) string { return pairs(m, "%s=%d") }

// pairs renders a map as sorted key=value pairs, or "-".
func pairs[V any](m map[string]V, format string) string {
	if len(m) == 0 {
		return "-"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf(format, k, m[k])
	}
	return strings.Join(parts, ",")
}

// credentials summarizes where each credential comes from; never a value.
func credentials(cs []model.Credential) string {
	if len(cs) == 0 {
		return "-"
	}
	var parts []string
	for _, c := range cs {
		var s string
		switch c.Kind {
		case model.CredSecretEnv:
			s = fmt.Sprintf("env %s<-secret/%s[%s]", c.EnvVar, c.Secret, c.Key)
		case model.CredSecretEnvFrom:
			s = "envFrom secret/" + c.Secret
		case model.CredSecretVolume:
			s = "volume secret/" + c.Secret
			if c.MountPath != "" {
				s += " at " + c.MountPath
			}
		case model.CredLiteralEnv:
			s = "env " + c.EnvVar + " (literal in manifest)"
		case model.CredProjectedToken:
			s = "token for " + c.Audience
		case model.CredIRSA:
			s = "IRSA " + c.RoleARN
		case model.CredPodIdentity:
			s = "EKS Pod Identity"
		default:
			s = string(c.Kind)
		}
		if c.Cloud != "" {
			s += " (" + c.Cloud + ")"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}

func stringsOf[T fmt.Stringer](items []T) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.String()
	}
	return out
}
