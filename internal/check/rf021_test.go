package check

import "testing"

// RF021: the world is high, a private range medium; the Services listed
// are those with node ports.
func TestRF021Severity(t *testing.T) {
	got := map[string]Severity{}
	for _, f := range audit(t, withSG("rf021-sg.json", "rf021-services.yaml"), "RF021") {
		got[f.Key] = f.Severity
		if len(f.Affected) != 1 || f.Affected[0].Object.Name != "infer-np" || f.Affected[0].Detail != "node ports 30080/TCP" {
			t.Errorf("affected: %+v", f.Affected)
		}
	}
	if got["ingress tcp 30000-32767 from 0.0.0.0/0"] != High || got["ingress tcp 30000-32767 from 10.0.0.0/16"] != Medium || len(got) != 2 {
		t.Errorf("RF021 findings: %v", got)
	}
}
