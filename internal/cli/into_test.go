package cli

import (
	"context"
	"encoding/json"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/ringfence/ringfence/internal/check"
	"github.com/ringfence/ringfence/internal/engine"
	"github.com/ringfence/ringfence/internal/gencluster"
	"github.com/ringfence/ringfence/internal/load"
)

// intoInputs are the worlds the per-destination answers are held to the
// full pair list on: generated multi-tenant clusters (with and without the
// AWS layer, whose cross-namespace selectors admit shares of all
// namespaces) and every example.
func intoInputs(t *testing.T) map[string]string {
	t.Helper()
	dirs := map[string]string{}
	for name, cfg := range map[string]gencluster.Config{
		"generated":     {Namespaces: 60, Workloads: 8, Policies: 5, Seed: 3},
		"generated+aws": {Namespaces: 30, Workloads: 8, Policies: 5, SecurityGroups: 8, Seed: 5},
	} {
		cfg.Out = t.TempDir()
		if _, err := gencluster.Generate(cfg); err != nil {
			t.Fatal(err)
		}
		dirs[name] = cfg.Out
	}
	examples, err := filepath.Glob("examples/*")
	if err != nil || len(examples) == 0 {
		t.Fatalf("no examples (%v)", err)
	}
	for _, e := range examples {
		dirs[filepath.Base(e)] = e
	}
	return dirs
}

func analyseDir(t *testing.T, dir string) (*load.Result, *engine.Analysis) {
	t.Helper()
	res, err := load.Load(context.Background(), load.Options{Files: []string{dir}})
	if err != nil {
		t.Fatal(err)
	}
	a, err := engine.Analyse(res.World, engine.Options{Level: engine.LevelWorkload})
	if err != nil {
		t.Fatal(err)
	}
	return res, a
}

// TestIntoMatchesReach holds the per-destination connections the audit
// rules use (Analysis.Into: only the sources a destination's ingress may
// admit are paired with it) equal to Reach's full pair list filtered to
// that destination, for every peer: no connection, port, unknown, reason
// or layer differs.
func TestIntoMatchesReach(t *testing.T) {
	compared := map[string]int{}
	for name, dir := range intoInputs(t) {
		t.Run(name, func(t *testing.T) {
			_, a := analyseDir(t, dir)
			byDst := map[string][]engine.Connection{}
			for _, c := range a.Reach().Connections {
				byDst[c.Dst] = append(byDst[c.Dst], c)
			}
			total := 0
			for _, p := range a.Peers() {
				got, want := a.Into(p), byDst[p.ID]
				if len(got) == 0 && len(want) == 0 {
					continue
				}
				total += len(got)
				if !reflect.DeepEqual(got, want) {
					g, _ := json.Marshal(got)
					w, _ := json.Marshal(want)
					t.Fatalf("Into(%s) differs from Reach:\ngot  %s\nwant %s", p.ID, g, w)
				}
			}
			compared[name] = total
		})
	}
	// The generated clusters and the ML platform have connections of every
	// kind (pods, the pseudo-peer, address parts): a comparison of nothing
	// would prove nothing.
	for _, name := range []string{"generated", "generated+aws", "ml-platform"} {
		if compared[name] == 0 {
			t.Errorf("%s: no connections compared", name)
		}
	}
}

// TestAuditWithoutPairs holds the audit that never lists every pair
// (rules ask Into per destination and Exposures alone) to the audit run
// after the full Reach was computed (rules then filter its pair list): the
// same findings, on the generated clusters and every example.
func TestAuditWithoutPairs(t *testing.T) {
	doc, err := rangesSource("")
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]int{}
	rules := map[string]bool{} // of the ML platform

	for name, dir := range intoInputs(t) {
		t.Run(name, func(t *testing.T) {
			res, a := analyseDir(t, dir)
			lazy := &check.Context{World: res.World, Analysis: a, Ranges: doc}
			got, err := check.Run(lazy, nil)
			if err != nil {
				t.Fatal(err)
			}
			full := &check.Context{World: res.World, Analysis: a, Ranges: doc}
			full.Reach()
			want, err := check.Run(full, nil)
			if err != nil {
				t.Fatal(err)
			}
			found[name] = len(want)
			for _, f := range want {
				if name == "ml-platform" {
					rules[f.Rule] = true
				}
			}
			g, _ := json.Marshal(got)
			w, _ := json.Marshal(want)
			if string(g) != string(w) {
				t.Fatalf("findings differ without the pair list:\ngot  %s\nwant %s", g, w)
			}
		})
	}
	for _, name := range []string{"generated", "ml-platform"} {
		if found[name] == 0 {
			t.Errorf("%s: no findings compared", name)
		}
	}
	// The rules that read connections or exposures must be among them.
	for _, id := range []string{"RF009", "RF011", "RF019", "RF020"} {
		if !rules[id] {
			t.Errorf("ml-platform: no %s finding compared", id)
		}
	}
}
