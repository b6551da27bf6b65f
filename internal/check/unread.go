package check

import (
	"fmt"
	"slices"
	"strings"

	"github.com/ringfence/ringfence/internal/model"
)

// unreadScope says which kinds that could not be read (World.Unread) can
// change a rule's findings. The engine already turns unread policy kinds
// into unknown verdicts (and rules reading those mark their findings
// possible); what it cannot see is a finding's claim about objects that
// are absent because they could not be listed: a NetworkPolicy RBAC hid
// may isolate the pods a finding calls open, a hidden pod may be a dead
// policy's peer.
type unreadScope int

const (
	// unreadNearby: kinds unread in every namespace, in the finding's own,
	// or in one its path names.
	unreadNearby unreadScope = iota
	// unreadNever: the rule judges one object that was read (a policy's
	// own rules, a security group, a workload's hostNetwork).
	unreadNever
	// unreadAnywhere: kinds other than NetworkPolicy unread in any
	// namespace (a dead policy's peers may live anywhere), and
	// NetworkPolicy as unreadNearby.
	unreadAnywhere
)

// reportedByOwnRule are kinds that feed one rule only, which reports
// their absence itself (RF019: admission webhook configurations name the
// Services the API server calls); they change no other rule's findings.
func reportedByOwnRule(kind string) bool {
	return kind == "ValidatingWebhookConfiguration" || kind == "MutatingWebhookConfiguration"
}

// assumeUnread marks a finding that unread kinds could change as
// possible, naming each assumption it rests on.
func assumeUnread(f *Finding, scope unreadScope, unread []model.Unread) {
	if scope == unreadNever {
		return
	}
	text := f.Message + "\n" + strings.Join(f.Path, "\n")
	for _, u := range unread {
		if reportedByOwnRule(u.Kind) {
			continue
		}
		affects := u.Namespace == "" || u.Namespace == f.Object.Namespace || strings.Contains(text, u.Namespace+"/")
		if scope == unreadAnywhere && u.Kind != "NetworkPolicy" {
			affects = true
		}
		if !affects {
			continue
		}
		f.Confidence = ConfidencePossible
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
