package generate

import (
	"fmt"
	"sort"
	"strings"

	"github.com/ringfence/ringfence/internal/engine"
	"github.com/ringfence/ringfence/internal/model"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// JobGroup is a security group generated for a distributed job whose pods
// have no group of their own: its members may reach each other on every
// TCP port (the collectives' ephemeral ports), and nothing else carries it.
// The SecurityGroupPolicy attaches it to the job's pods beside the groups
// they have now (security groups for pods give a pod only the groups its
// policy names, so the nodes' groups stay in the list and with them every
// other rule of the plan).
type JobGroup struct {
	// ID is a placeholder until AWS creates the group: its name.
	// Terraform references the resource; the AWS CLI input and the
	// SecurityGroupPolicy hold the name, to replace with the ID
	// create-security-group returns.
	ID          string `json:"id"`
	VPC         string `json:"vpcId"`
	Description string `json:"description"`
	// Job is the job (namespace/Kind/name), Fence the Fence
	// (namespace/name) that selects it.
	Job   string `json:"job"`
	Fence string `json:"fence"`
	// Policy attaches the group to the job's pods.
	Policy SecurityGroupPolicyPlan `json:"securityGroupPolicy"`
}

// SecurityGroupPolicyPlan is a SecurityGroupPolicy (vpcresources.k8s.aws/v1beta1)
// to apply. It takes effect only with the VPC CNI's ENABLE_POD_ENI=true on
// Nitro instances (the pods then get branch network interfaces).
type SecurityGroupPolicyPlan struct {
	Namespace   string            `json:"namespace"`
	Name        string            `json:"name"`
	PodSelector map[string]string `json:"podSelector"`
	GroupIDs    []string          `json:"groupIds"`
}

// Object is the SecurityGroupPolicy as a Kubernetes object.
func (j JobGroup) Object() map[string]any {
	p := j.Policy
	return map[string]any{
		"apiVersion": "vpcresources.k8s.aws/v1beta1",
		"kind":       "SecurityGroupPolicy",
		"metadata": map[string]any{
			"name": p.Name, "namespace": p.Namespace,
			"labels":      map[string]any{ManagedByLabel: ManagedBy},
			"annotations": map[string]any{FenceAnnotation: j.Fence},
		},
		"spec": map[string]any{
			"podSelector":    map[string]any{"matchLabels": p.PodSelector},
			"securityGroups": map[string]any{"groupIds": p.GroupIDs},
		},
	}
}

// jobGroupPorts is what a job's own group admits from itself: all of TCP.
// PyTorch's rendezvous (c10d TCPStore on MASTER_PORT, 23456 by the
// training operator's default) is a declared port, but NCCL's and Gloo's
// bootstrap and data sockets, MPI's daemons and Ray's object manager,
// raylets and workers (10002-19999 unless set) bind ports the kernel or
// the framework picks: only a rule on every TCP port keeps them, and on a
// group that only the job's pods carry that admits nobody else.
const jobGroupFrom, jobGroupTo = 0, 65535

// jobGroups plans a group of its own for each job of a Fence whose pods
// have only shared groups (their nodes'), when the VPC of those groups is
// known. It returns the groups and the workloads they cover.
func jobGroups(w *model.World, placed map[*model.PodTemplate]engine.Placement, workloads map[*model.Workload][]*model.PodTemplate, own func(string) bool, fence string) ([]JobGroup, map[*model.Workload]bool, []string) {
	covered := map[*model.Workload]bool{}
	var out []JobGroup
	var warnings []string
	for _, wl := range sortedWorkloads(workloads) {
		pts := workloads[wl]
		key, value := jobLabel(pts)
		if key == "" || podCount(pts) < 2 {
			continue
		}
		var current []string
		mine := false
		for _, pt := range pts {
			// Pods a SecurityGroupPolicy already places keep it (a second
			// policy for the same pods would compete with it).
			mine = mine || strings.HasPrefix(placed[pt].Via, "SecurityGroupPolicy")
			for _, g := range placed[pt].Groups {
				mine = mine || own(g)
				if !contains(current, g) {
					current = append(current, g)
				}
			}
		}
		if mine || len(current) == 0 {
			continue
		}
		sort.Strings(current)
		vpc := ""
		for _, g := range w.SecurityGroups {
			if contains(current, g.ID) && g.VPC != "" {
				vpc = g.VPC
			}
		}
		job := wl.Namespace + "/" + wl.Kind + "/" + wl.Name
		if vpc == "" {
			warnings = append(warnings, fmt.Sprintf("Fence %s: the VPC of %s's groups (%s) is not in the inputs, so no group of its own can be planned for the job", fence, job, strings.Join(current, ", ")))
			continue
		}
		name := "ringfence-" + wl.Namespace + "-" + wl.Name
		out = append(out, JobGroup{
			ID: name, VPC: vpc, Job: job, Fence: fence,
			Description: fmt.Sprintf("ringfence: the pods of %s (%s=%s) and nothing else", job, key, value),
			Policy: SecurityGroupPolicyPlan{Namespace: wl.Namespace, Name: name, PodSelector: map[string]string{key: value},
				GroupIDs: append([]string{name}, current...)},
		})
		covered[wl] = true
	}
	return out, covered, warnings
}

// jobRule is a job group's rule, egress and ingress: every TCP port to
// and from itself.
func jobRule(id, job string) SGRule {
	return groupRule("tcp", jobGroupFrom, jobGroupTo, id, "job peers of "+job+" (its own group)")
}

// jobLabel is the label that names a job's pods (not the Helm instance
// label, which many non-job workloads carry).
func jobLabel(pts []*model.PodTemplate) (string, string) {
	for _, k := range jobLabels {
		if v, ok := pts[0].Labels[k]; ok && k != "app.kubernetes.io/instance" {
			return k, v
		}
	}
	return "", ""
}

// podCount is the number of pods of a workload (an unknown count stands
// for several).
func podCount(pts []*model.PodTemplate) int32 {
	var pods int32
	for _, pt := range pts {
		if pt.Replicas < 0 {
			pods += 2
		} else {
			pods += pt.Replicas
		}
	}
	return pods
}

// applyJobGroups adds the generated groups (their rules come from the
// plan) and the SecurityGroupPolicies that attach them.
func applyJobGroups(w *model.World, jobs []JobGroup) ([]*model.SecurityGroup, []*model.SecurityGroupPolicy) {
	groups := append([]*model.SecurityGroup(nil), w.SecurityGroups...)
	policies := append([]*model.SecurityGroupPolicy(nil), w.SecurityGroupPolicies...)
	for _, j := range jobs {
		groups = append(groups, &model.SecurityGroup{ID: j.ID, Name: j.ID, VPC: j.VPC, Description: j.Description, Source: model.Source{File: "generated"}})
		policies = append(policies, &model.SecurityGroupPolicy{
			Meta: model.Meta{Kind: "SecurityGroupPolicy", APIVersion: "vpcresources.k8s.aws/v1beta1", Namespace: j.Policy.Namespace, Name: j.Policy.Name,
				Source: model.Source{File: "generated"}},
			PodSelector: &metav1.LabelSelector{MatchLabels: j.Policy.PodSelector},
			GroupIDs:    j.Policy.GroupIDs,
		})
	}
	return groups, policies
}
