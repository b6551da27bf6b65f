package check

import (
	"testing"

	"github.com/ringfence/ringfence/internal/model"
)

// TestAssumeUnread: a finding that unread objects could change is
// possible, with the assumption named; one about a single object that was
// read, or about a namespace the unread kind does not touch, stays certain.
func TestAssumeUnread(t *testing.T) {
	finding := func(ns string, path ...string) Finding {
		return Finding{Object: model.Ref{Kind: "Deployment", Namespace: ns, Name: "w"}, Path: path}
	}
	unread := []model.Unread{{Kind: "NetworkPolicy", Namespace: "ml", Reason: "forbidden: User \"u\" cannot list"}}
	cases := []struct {
		f     Finding
		scope unreadScope
		want  Confidence
	}{
		{finding("ml"), unreadNearby, ConfidencePossible},
		{finding("web", "reaches ml/model-server on TCP 8080"), unreadNearby, ConfidencePossible},
		{finding("web"), unreadNearby, ""},
		{finding("ml"), unreadNever, ""},
		{finding("web"), unreadAnywhere, ""},
	}
	for i, c := range cases {
		f := c.f
		assumeUnread(&f, c.scope, unread)
		if f.Confidence != c.want {
			t.Errorf("%d: %s with scope %d is %q, want %q", i, f.Object.Namespace, c.scope, f.Confidence, c.want)
		}
		if i == 0 {
			if a := f.Assumptions; len(a) != 1 || a[0] != `the NetworkPolicy objects of namespace ml could not be read (forbidden: User "u" cannot list); the finding holds if they do not change it` {
				t.Errorf("assumptions = %q", a)
			}
		}
	}
	// Pods unread anywhere make every dead-policy finding possible: its
	// peers may live in any namespace.
	f := finding("web")
	assumeUnread(&f, unreadAnywhere, []model.Unread{{Kind: "Pod", Namespace: "ml", Reason: "forbidden"}})
	if f.Confidence != ConfidencePossible {
		t.Errorf("RF014 with pods unread in ml: %q", f.Confidence)
	}
}

// The rules declare their scope: the self-contained ones never depend on
// what could not be read, RF014 on any namespace's pods.
func TestRulesDeclareUnreadScope(t *testing.T) {
	want := map[string]unreadScope{"RF004": unreadNever, "RF007": unreadNever, "RF008": unreadNever, "RF013": unreadNever, "RF014": unreadAnywhere, "RF001": unreadNearby}
	for _, r := range Rules() {
		if s, ok := want[r.ID]; ok && r.unread != s {
			t.Errorf("%s: unread scope %d, want %d", r.ID, r.unread, s)
		}
	}
}
