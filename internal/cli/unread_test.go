package cli

import (
	"testing"

	"github.com/ringfence/ringfence/internal/check"
	"github.com/ringfence/ringfence/internal/model"
)

// TestPossibleWhereUnread: a finding that unread objects could change is
// possible, with the assumption named; one about a single object that was
// read, or about a namespace the unread kind does not touch, stays certain.
func TestPossibleWhereUnread(t *testing.T) {
	finding := func(rule, ns string, path ...string) check.Finding {
		return check.Finding{Rule: rule, Object: model.Ref{Kind: "Deployment", Namespace: ns, Name: "w"}, Path: path}
	}
	unread := []model.Unread{{Kind: "NetworkPolicy", Namespace: "ml", Reason: "forbidden: User \"u\" cannot list"}}
	got := possibleWhereUnread([]check.Finding{
		finding("RF003", "ml"),
		finding("RF001", "web", "reaches ml/model-server on TCP 8080"),
		finding("RF001", "web"),
		finding("RF007", "ml"),
		finding("RF014", "web"),
	}, unread)
	want := []check.Confidence{check.ConfidencePossible, check.ConfidencePossible, "", "", ""}
	for i, f := range got {
		if f.Confidence != want[i] {
			t.Errorf("%d: %s in %s is %q, want %q", i, f.Rule, f.Object.Namespace, f.Confidence, want[i])
		}
	}
	if a := got[0].Assumptions; len(a) != 1 || a[0] != `the NetworkPolicy objects of namespace ml could not be read (forbidden: User "u" cannot list); the finding holds if they do not change it` {
		t.Errorf("assumptions = %q", a)
	}
	// Pods unread anywhere make every dead-policy finding possible: its
	// peers may live in any namespace.
	got = possibleWhereUnread([]check.Finding{finding("RF014", "web")}, []model.Unread{{Kind: "Pod", Namespace: "ml", Reason: "forbidden"}})
	if got[0].Confidence != check.ConfidencePossible {
		t.Errorf("RF014 with pods unread in ml: %q", got[0].Confidence)
	}
}
