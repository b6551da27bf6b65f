package cli

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/ringfence/ringfence/internal/check"
	"github.com/ringfence/ringfence/internal/load"
	"github.com/ringfence/ringfence/internal/model"
)

// warnUnread says, for every verb, which kinds could not be read and why:
// what depends on them is unknown, never allowed or denied by default. How
// a live read was narrowed (-A without cluster-wide rights) is said too:
// those are the report's notices about a cluster as a whole.
func warnUnread(w io.Writer, res *load.Result) {
	for _, n := range res.Report.Warnings {
		if n.Source.Cluster != "" && n.Object == "" {
			fmt.Fprintf(w, "ringfence: warning: %s\n", n)
		}
	}
	for _, u := range res.World.Unread {
		where := "in every namespace"
		if u.Namespace != "" {
			where = "in namespace " + u.Namespace
		}
		fmt.Fprintf(w, "ringfence: warning: %s %s could not be read (%s): what depends on them is unknown\n", u.Kind, where, u.Reason)
	}
}

// selfContained rules judge one object that was read (a policy's own
// rules, a security group, a workload's hostNetwork): what could not be
// read elsewhere does not change them.
var selfContained = map[string]bool{"RF004": true, "RF007": true, "RF008": true, "RF013": true}

// reportedByRule are kinds that feed one rule only, which reports their
// absence itself (RF019: admission webhook configurations name the
// Services the API server calls): they change no other finding.
var reportedByRule = map[string]bool{"ValidatingWebhookConfiguration": true, "MutatingWebhookConfiguration": true}

// possibleWhereUnread marks findings that objects which could not be read
// might change as possible, with the assumption they rest on: a
// NetworkPolicy that RBAC hid may isolate the pods a finding calls open.
//
// This is deliberately coarse and sits here until the engine carries
// World.Unread into its verdicts (the soundness work, issue 13): a finding
// is affected when an unread kind's namespace is every namespace, the
// finding's own, or one its path names; a dead-policy finding (RF014)
// whenever pods, workloads or namespaces are unread anywhere, since its
// peers may live in any namespace.
func possibleWhereUnread(findings []check.Finding, unread []model.Unread) []check.Finding {
	if len(unread) == 0 {
		return findings
	}
	for i := range findings {
		f := &findings[i]
		if selfContained[f.Rule] {
			continue
		}
		text := f.Message + "\n" + strings.Join(f.Path, "\n")
		for _, u := range unread {
			if reportedByRule[u.Kind] {
				continue
			}
			affects := u.Namespace == "" || u.Namespace == f.Object.Namespace || strings.Contains(text, u.Namespace+"/")
			if f.Rule == "RF014" && u.Kind != "NetworkPolicy" {
				affects = true
			}
			if !affects {
				continue
			}
			f.Confidence = check.ConfidencePossible
			where := "any namespace"
			if u.Namespace != "" {
				where = "namespace " + u.Namespace
			}
			a := fmt.Sprintf("the %s objects of %s could not be read (%s); the finding holds if they do not change it", u.Kind, where, u.Reason)
			if !slices.Contains(f.Assumptions, a) {
				f.Assumptions = append(f.Assumptions, a)
			}
		}
	}
	return findings
}
