package check

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ringfence/ringfence/internal/engine"
	"github.com/ringfence/ringfence/internal/load"
	"github.com/ringfence/ringfence/internal/ranges"
)

// fixtures says, for every rule, inputs that trigger it and inputs that do
// not. The example platform carries the real-world mistakes; the locked one
// is the same platform done right.
var fixtures = map[string]struct{ trigger, clean []string }{
	"RF001": {examplePlatform, lockedPlatform},
	"RF002": {examplePlatform, lockedPlatform},
	"RF003": {examplePlatform, lockedPlatform},
	"RF004": {fixture("rf004-trigger.yaml"), fixture("rf004-clean.yaml")},
	"RF005": {examplePlatform, lockedPlatform},
	"RF006": {examplePlatform, lockedPlatform},
	"RF007": {examplePlatform, lockedPlatform},
	"RF008": {withSG("rf008-sg.json"), withSG("rf008-clean-sg.json")},
	"RF009": {examplePlatform, lockedPlatform},
	"RF010": {fixture("rf010-trigger.yaml"), fixture("rf010-clean.yaml")},
	"RF011": {fixture("rf011-trigger.yaml"), fixture("rf011-clean.yaml")},
	"RF012": {withSG("rf012-sg.json"), lockedPlatform},
	"RF013": {fixture("rf013-trigger.yaml"), fixture("rf013-clean.yaml")},
	"RF014": {fixture("rf014-trigger.yaml"), fixture("rf014-clean.yaml")},
	"RF015": {examplePlatform, lockedPlatform},
	"RF016": {fixture("rf016-trigger.yaml"), fixture("rf016-clean.yaml")},
	"RF017": {fixture("rf017-trigger.yaml"), fixture("rf017-clean.yaml")},
	"RF018": {fixture("rf018-trigger.yaml"), fixture("rf018-clean.yaml")},
	"RF019": {fixture("rf019-trigger.yaml"), fixture("rf019-clean.yaml")},
	"RF020": {fixture("rf020-trigger.yaml"), fixture("rf020-clean.yaml")},
	"RF023": {fixture("rf023-trigger.yaml"), fixture("rf023-clean.yaml")},
	"RF021": {withSG("rf021-sg.json", "rf021-services.yaml"), withSG("rf021-clean-sg.json", "rf021-services.yaml")},
	"RF022": {fixture("rf022-trigger.yaml"), fixture("rf022-clean.yaml")},
	"RF030": {vpcFixture, lockedPlatform},
	"RF031": {vpcFixture, lockedPlatform},
	"RF032": {vpcFixture, lockedPlatform},
	"RF033": {withSG("rf012-sg.json", "rf033-routes.json"), vpcFixture},
	"RF034": {vpcFixture, lockedPlatform},
	"RF035": {[]string{filepath.Join("testdata", "rf035-endpoints.json")}, vpcFixture},
	// The tier rules: testdata/tiers-audit holds one cause of each; the EKS
	// example (and a Pass-free truth table, for RF041) none.
	"RF040": {tierAudit, tierExample},
	"RF041": {tierAudit, []string{filepath.Join("..", "..", "testdata", "tiers", "eks", "01-deny-beats-accept", "input.yaml")}},
	"RF042": {tierAudit, tierExample},
	"RF043": {tierAudit, tierExample},
	"RF044": {tierAudit, tierExample},
}

var (
	tierAudit   = []string{filepath.Join("..", "..", "testdata", "tiers-audit", "input.yaml")}
	tierExample = []string{filepath.Join("..", "..", "examples", "tiers", "eks")}
)

var (
	examplePlatform = []string{filepath.Join("..", "..", "examples", "ml-platform")}
	lockedPlatform  = []string{filepath.Join("..", "..", "examples", "ml-platform-locked")}
	// vpcFixture has network ACLs, route tables, a NAT gateway, an S3
	// gateway endpoint and groups open to the world.
	vpcFixture = []string{filepath.Join("..", "cli", "testdata", "aws-vpc")}
)

func fixture(name string) []string {
	return []string{filepath.Join("testdata", "common.yaml"), filepath.Join("testdata", name)}
}

// withSG is the common fixture on one node (instance i-1) whose security
// groups are in sgFile, plus more files.
func withSG(sgFile string, more ...string) []string {
	files := append(fixture("rf017-node.yaml"), filepath.Join("testdata", "rf012-aws.json"), filepath.Join("testdata", sgFile))
	for _, m := range more {
		files = append(files, filepath.Join("testdata", m))
	}
	return files
}

func audit(t *testing.T, files []string, rule string) []Finding {
	t.Helper()
	res, err := load.Load(context.Background(), load.Options{Files: files})
	if err != nil {
		t.Fatal(err)
	}
	a, err := engine.Analyse(res.World, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	doc, err := ranges.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	if rule != "" {
		ids = []string{rule}
	}
	findings, err := Run(&Context{World: res.World, Analysis: a, Ranges: doc}, ids)
	if err != nil {
		t.Fatal(err)
	}
	return findings
}

func TestRulesTriggerAndStayQuiet(t *testing.T) {
	for _, r := range Rules() {
		fx, ok := fixtures[r.ID]
		if !ok {
			t.Errorf("%s has no fixtures", r.ID)
			continue
		}
		t.Run(r.ID, func(t *testing.T) {
			found := audit(t, fx.trigger, r.ID)
			if len(found) == 0 {
				t.Errorf("%s does not trigger on %v", r.ID, fx.trigger)
			}
			for _, f := range found {
				if f.Rule != r.ID || f.Severity > r.Severity || f.Confidence == "" || f.Message == "" || len(f.Path) == 0 || f.Remediation == "" || f.Object.Name == "" || f.Source.File == "" {
					t.Errorf("incomplete finding: %+v", f)
				}
			}
			if clean := audit(t, fx.clean, r.ID); len(clean) != 0 {
				t.Errorf("%s triggers on %v: %+v", r.ID, fx.clean, clean)
			}
		})
	}
}

// Every rule documents itself: the catalogue (docs/rules.md) is generated
// from these fields.
func TestRulesAreDocumented(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range Rules() {
		if seen[r.ID] {
			t.Errorf("%s twice", r.ID)
		}
		seen[r.ID] = true
		if !strings.HasPrefix(r.ID, "RF") || len(r.ID) != 5 || r.Title == "" || len(r.Rationale) < 80 || len(r.Remediation) < 40 || r.check == nil {
			t.Errorf("%s lacks an ID, title, rationale, remediation or check: %+v", r.ID, r)
		}
	}
	for id := range fixtures {
		if !seen[id] {
			t.Errorf("fixtures for unknown rule %s", id)
		}
	}
}

// The example's seed risks, as the issue states them.
func TestExampleAudit(t *testing.T) {
	found := map[string]bool{}
	for _, f := range audit(t, examplePlatform, "") {
		found[f.Rule] = true
	}
	for _, want := range []string{"RF001", "RF005", "RF006", "RF007", "RF009", "RF017"} {
		if !found[want] {
			t.Errorf("the example does not raise %s", want)
		}
	}
	for _, f := range audit(t, lockedPlatform, "") {
		if f.Severity > Low {
			t.Errorf("the locked platform raises %s %s: %s", f.Severity, f.Rule, f.Message)
		}
	}
}

func TestRunRejectsUnknownRules(t *testing.T) {
	if _, err := Run(&Context{}, []string{"RF999"}); err == nil {
		t.Error("RF999 accepted")
	}
}

// RF012's other half: the policy allows egress the security groups block.
func TestRF012BlockedEgress(t *testing.T) {
	files := append(fixture("rf012-blocked.yaml"), filepath.Join("testdata", "rf012-aws.json"), filepath.Join("testdata", "rf012-sg.json"))
	found := audit(t, files, "RF012")
	var msgs []string
	for _, f := range found {
		msgs = append(msgs, f.Message+" | "+strings.Join(f.Path, " | "))
	}
	all := strings.Join(msgs, "\n")
	if !strings.Contains(all, "ml/client: the NetworkPolicy allows egress the security groups block") || !strings.Contains(all, "to 52.216.0.0/15: the NetworkPolicy allows TCP 443, the security groups block it") {
		t.Errorf("findings:\n%s", all)
	}
}
