package render

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/ringfence/ringfence/internal/engine"
	"github.com/ringfence/ringfence/internal/gencluster"
	"github.com/ringfence/ringfence/internal/load"
	"github.com/ringfence/ringfence/internal/netset"
)

// TestConnectionsJSONInBlocks holds the connections written by several
// workers, block by block, to what one writer writes connection by
// connection: the same bytes, reasons numbered in the same order, for a
// compact result (shared tails) and a full one, however the blocks fall.
func TestConnectionsJSONInBlocks(t *testing.T) {
	dir := t.TempDir()
	if _, err := gencluster.Generate(gencluster.Config{Namespaces: 12, Workloads: 8, Policies: 5, Seed: 3, Out: dir}); err != nil {
		t.Fatal(err)
	}
	res, err := load.Load(context.Background(), load.Options{Files: []string{dir}})
	if err != nil {
		t.Fatal(err)
	}
	a, err := engine.Analyse(res.World, engine.Options{Level: engine.LevelWorkload})
	if err != nil {
		t.Fatal(err)
	}
	// A full result whose connections carry reasons in an order that
	// differs from the order they are first listed in.
	why := func(rs ...string) engine.Connection {
		return engine.Connection{Allow: netset.PortRange(netset.TCP, 80, 80), Unknown: netset.PortRange(netset.TCP, 443, 443), Reasons: rs}
	}
	var made []engine.Connection
	for i := range 40 {
		c := why(fmt.Sprintf("reason %d", i%7), fmt.Sprintf("reason %d", (i*5)%11))
		if i%3 == 0 {
			c = engine.Connection{Allow: netset.AllPorts()}
		}
		c.Src, c.Dst = fmt.Sprintf("ns/a%d", i), "ns/b"
		made = append(made, c)
	}
	results := map[string]*engine.Result{"compact": a.ReachCompact(), "full": a.Reach(), "reasons": {Connections: made}}
	for name, r := range results {
		if r.ConnectionCount() < 20 {
			t.Fatalf("%s: only %d connections", name, r.ConnectionCount())
		}
		write := func(block, workers int) (string, []string) {
			var out bytes.Buffer
			bw := bufio.NewWriter(&out)
			reasons := newReasonIndex()
			connectionsJSON(bw, r, reasons, block, workers)
			bw.Flush()
			return out.String(), reasons.list
		}
		want, wantReasons := write(r.ConnectionCount(), 1)
		if name == "reasons" && len(wantReasons) != 11 {
			t.Fatalf("%d reasons numbered, want 11", len(wantReasons))
		}
		for _, bw := range [][2]int{{1, 2}, {3, 2}, {7, 3}, {64, 4}, {r.ConnectionCount() - 1, 2}} {
			got, gotReasons := write(bw[0], bw[1])
			if got != want {
				t.Errorf("%s, blocks of %d by %d workers: %d bytes, %d one by one", name, bw[0], bw[1], len(got), len(want))
			}
			if fmt.Sprint(gotReasons) != fmt.Sprint(wantReasons) {
				t.Errorf("%s, blocks of %d by %d workers: reasons %q, want %q", name, bw[0], bw[1], gotReasons, wantReasons)
			}
		}
	}
}
