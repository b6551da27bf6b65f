package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/ringfence/ringfence/internal/netset"
)

type reachJSON struct {
	Peers []struct {
		ID, Kind, Namespace string
	}
	Connections []struct {
		Src, Dst string
		Allow    netset.Ports
	}
}

func reachOf(t *testing.T, args ...string) reachJSON {
	t.Helper()
	out, errOut, code := run(t, "", append([]string{"reach", "-f", "examples/ml-platform", "-o", "json"}, args...)...)
	if code != ExitOK {
		t.Fatalf("reach %v: exit %d: %s", args, code, errOut)
	}
	var r reachJSON
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// TestReachFocus: a focused reach is exactly the unfocused one filtered
// by hand: the same pairs, narrowed to the port.
func TestReachFocus(t *testing.T) {
	all := reachOf(t)
	kind := map[string]string{}
	for _, p := range all.Peers {
		kind[p.ID] = p.Kind
	}
	for _, c := range []struct {
		args     []string
		from, to func(string) bool
		port     int32
	}{
		{[]string{"--from", "ml-workloads"}, func(s string) bool { return strings.HasPrefix(s, "ml-workloads/") }, func(string) bool { return true }, 0},
		{[]string{"--to", "app=feature-api"}, func(string) bool { return true }, func(s string) bool { return s == "features/feature-api" }, 0},
		{[]string{"--from", "ml-workloads/model-server", "--to", "kube-system", "--port", "53", "--protocol", "UDP"},
			func(s string) bool { return s == "ml-workloads/model-server" }, func(s string) bool { return strings.HasPrefix(s, "kube-system/") }, 53},
		// 10.0.0.2 is in the VPC range the policies and groups cut out.
		{[]string{"--to", "10.0.0.2"}, func(s string) bool { return kind[s] != "External" }, func(s string) bool { return kind[s] == "External" && strings.Contains(s, "10.0.0.") }, 0},
	} {
		got := reachOf(t, c.args...)
		var want []string
		for _, conn := range all.Connections {
			if !c.from(conn.Src) || !c.to(conn.Dst) {
				continue
			}
			allow := conn.Allow
			if c.port != 0 {
				allow = allow.Intersect(netset.PortRange(netset.UDP, c.port, c.port))
				if allow.IsEmpty() {
					continue
				}
			}
			want = append(want, conn.Src+" => "+conn.Dst+" : "+allow.String())
		}
		var have []string
		for _, conn := range got.Connections {
			have = append(have, conn.Src+" => "+conn.Dst+" : "+conn.Allow.String())
		}
		if strings.Join(have, "\n") != strings.Join(want, "\n") || len(want) == 0 {
			t.Errorf("reach %v:\ngot:\n%s\nwant (filtered by hand, non-empty):\n%s", c.args, strings.Join(have, "\n"), strings.Join(want, "\n"))
		}
	}
	if _, errOut, code := run(t, "", "reach", "-f", "examples/ml-platform", "--to", "app in (a"); code != ExitInput || !strings.Contains(errOut, "--to") {
		t.Errorf("a bad selector: exit %d, %q", code, errOut)
	}
}

// TestExplainAll: every pair of the focus, each with the verdict explain
// gives for that pair alone.
func TestExplainAll(t *testing.T) {
	out, errOut, code := run(t, "", "explain", "-f", "examples/ml-platform", "--all", "--from", "ml-workloads", "--to", "kube-system", "--port", "53", "--protocol", "UDP", "-o", "json")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var list []struct{ From, To, Verdict string }
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 {
		t.Fatalf("want ml-workloads' 2 workloads to coredns, got %+v", list)
	}
	verdicts := map[string]string{}
	for _, e := range list {
		one, _, _ := run(t, "", "explain", "-f", "examples/ml-platform", "--from", e.From, "--to", e.To, "--port", "53", "--protocol", "UDP", "-o", "json")
		var single struct{ Verdict string }
		if err := json.Unmarshal([]byte(one), &single); err != nil || single.Verdict != e.Verdict {
			t.Errorf("%s => %s: --all says %s, alone %s", e.From, e.To, e.Verdict, single.Verdict)
		}
		verdicts[e.From] = e.Verdict
	}
	// The trainer's egress is isolated without a DNS rule; the model
	// server's is open.
	if verdicts["ml-workloads/text-embed-finetune"] != "denied" || verdicts["ml-workloads/model-server"] != "allowed" {
		t.Errorf("verdicts %v", verdicts)
	}
}

// TestDiffFocus: the port focus keeps the change on that port only, and
// the exit status follows what is in the focus.
func TestDiffFocus(t *testing.T) {
	base, head := "testdata/diff/allow-port/base", "testdata/diff/allow-port/head"
	out, _, code := run(t, "", "diff", "--base", base, "--head", head, "--port", "8080", "-o", "json")
	lines := diffLines(t, out, code)
	if strings.Join(lines, "\n") != "connection changed shop/a => shop/b opened TCP 8080 closed None\nexit 1" {
		t.Errorf("--port 8080: %v", lines)
	}
	out, _, code = run(t, "", "diff", "--base", base, "--head", head, "--port", "80", "-o", "json")
	if lines := diffLines(t, out, code); strings.Join(lines, "\n") != "exit 0" {
		t.Errorf("--port 80 (unchanged): %v", lines)
	}
	out, _, code = run(t, "", "diff", "--base", base, "--head", head, "--from", "shop/b", "-o", "json")
	if lines := diffLines(t, out, code); strings.Join(lines, "\n") != "exit 0" {
		t.Errorf("--from shop/b (nothing changed from b): %v", lines)
	}
}
