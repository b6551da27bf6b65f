package render

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"github.com/ringfence/ringfence/internal/engine"
	"github.com/ringfence/ringfence/internal/netset"
)

// ReachText writes one line per connection: `src => dst : TCP 80,443; UDP
// 53` or `All Connections`; then self traffic and notes, marked so that a
// reader of the connections never mistakes them for pairs.
//
// Ports that may be allowed or denied are marked `unknown: TCP 443 [1,2]`,
// the numbers pointing at the reasons listed at the end.
func ReachText(w io.Writer, r *engine.Result) error {
	reasons := newReasonIndex()
	bw := bufio.NewWriterSize(w, 1<<16)
	tails := newTails(r)
	for i := range r.ConnectionCount() {
		src, dst, c := r.ConnectionAt(i)
		bw.WriteString(src)
		bw.WriteString(" => ")
		bw.WriteString(dst)
		bw.Write(tails.get(c, func(b []byte) []byte {
			b = append(b, " : "...)
			b = append(b, allowText(*c)...)
			return append(append(b, reasons.mark(*c)...), '\n')
		}))
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if len(r.Self) > 0 {
		fmt.Fprintf(w, "\n# A pod to itself (undefined upstream; most CNIs allow it whatever the policies say). What the policies allow:\n")
		for _, c := range r.Self {
			fmt.Fprintf(w, "# %s => itself : %s%s\n", c.Src, c.Allow, reasons.mark(c))
		}
	}
	for _, e := range r.Exposures {
		verdict := "not reachable from the internet"
		switch {
		case e.Internet:
			verdict = "REACHABLE FROM THE INTERNET"
		case e.Possible:
			verdict = "maybe reachable from the internet (unknown hops)"
		}
		fmt.Fprintf(w, "\n# exposure %s (%s) -> %s: %s\n", e.Entry, e.Source, strings.Join(e.Backends, ","), verdict)
		for _, h := range e.Hops {
			src := ""
			if h.Source != "" {
				src = " [" + h.Source + "]"
			}
			fmt.Fprintf(w, "#   %s: %s: %s%s\n", h.Step, h.Verdict, h.Detail, src)
		}
	}
	if len(r.Notes) > 0 {
		fmt.Fprintln(w)
		for _, n := range r.Notes {
			fmt.Fprintf(w, "# note: %s\n", n)
		}
	}
	if len(reasons.list) > 0 {
		fmt.Fprintln(w)
		for i, reason := range reasons.list {
			fmt.Fprintf(w, "# unknown [%d]: %s\n", i+1, reason)
		}
	}
	return nil
}

// tails keeps, for a compact result (engine.Result.Compact), what a
// format writes of a connection after its source and destination: the
// same for every connection sharing the verdict, so written once. It is
// filled in the order connections are met, so reasons are numbered as
// when each connection wrote its own.
type tails struct {
	of  map[*engine.Connection][]byte
	buf []byte
	// last and lastTail are the tail asked for last: a source's
	// connections often share one verdict in a row.
	last     *engine.Connection
	lastTail []byte
}

func newTails(r *engine.Result) *tails {
	if !r.Compact() {
		return &tails{}
	}
	return &tails{of: map[*engine.Connection][]byte{}}
}

// get is c's tail, written by write when not kept.
func (t *tails) get(c *engine.Connection, write func([]byte) []byte) []byte {
	if t.of == nil {
		t.buf = write(t.buf[:0])
		return t.buf
	}
	if c == t.last {
		return t.lastTail
	}
	b, ok := t.of[c]
	if !ok {
		b = write(nil)
		t.of[c] = b
	}
	t.last, t.lastTail = c, b
	return b
}

// allowText is what surely gets through; "None" with only unknown ports.
func allowText(c engine.Connection) string { return c.Allow.String() }

// reasonIndex numbers the distinct reasons of unknown verdicts in the
// order they are first met, so that each is written once.
type reasonIndex struct {
	list []string
	at   map[string]int
}

func newReasonIndex() *reasonIndex { return &reasonIndex{at: map[string]int{}} }

func (x *reasonIndex) ids(reasons []string) []int {
	out := make([]int, 0, len(reasons))
	for _, r := range reasons {
		i, ok := x.at[r]
		if !ok {
			i = len(x.list)
			x.at[r] = i
			x.list = append(x.list, r)
		}
		out = append(out, i)
	}
	return out
}

// mark is the text suffix of a connection with unknown ports.
func (x *reasonIndex) mark(c engine.Connection) string {
	if c.Unknown.IsEmpty() {
		return ""
	}
	var nums []string
	for _, i := range x.ids(c.Reasons) {
		nums = append(nums, strconv.Itoa(i+1))
	}
	return fmt.Sprintf("; unknown: %s [%s]", c.Unknown, strings.Join(nums, ","))
}

// ReachCSV writes src,dst,allow rows with a header.
func ReachCSV(w io.Writer, r *engine.Result) error {
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"src", "dst", "allow", "unknown", "reasons"}); err != nil {
		return err
	}
	for i := range r.ConnectionCount() {
		src, dst, c := r.ConnectionAt(i)
		unknown := ""
		if !c.Unknown.IsEmpty() {
			unknown = c.Unknown.String()
		}
		if err := cw.Write([]string{src, dst, c.Allow.String(), unknown, strings.Join(c.Reasons, "; ")}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// ReachMarkdown writes the connections as a Markdown table.
func ReachMarkdown(w io.Writer, r *engine.Result) error {
	fmt.Fprintln(w, "| source | destination | allowed | unknown |")
	fmt.Fprintln(w, "|---|---|---|---|")
	reasons := newReasonIndex()
	for i := range r.ConnectionCount() {
		src, dst, c := r.ConnectionAt(i)
		unknown := ""
		if !c.Unknown.IsEmpty() {
			unknown = strings.TrimPrefix(reasons.mark(*c), "; unknown: ")
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", mdEscape(src), mdEscape(dst), mdEscape(c.Allow.String()), mdEscape(unknown))
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "\n> %s\n", mdEscape(n))
	}
	for i, reason := range reasons.list {
		fmt.Fprintf(w, "\n> unknown [%d]: %s\n", i+1, mdEscape(reason))
	}
	return nil
}

func mdEscape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// ReachDot writes a Graphviz digraph: namespaces as clusters, external
// ranges as boxes, edges labelled with what they allow.
func ReachDot(w io.Writer, r *engine.Result) error {
	fmt.Fprintln(w, "digraph reach {")
	fmt.Fprintln(w, `  rankdir=LR; node [fontname="Helvetica", fontsize=10]; edge [fontname="Helvetica", fontsize=9];`)
	byNS := map[string][]*engine.Peer{}
	var namespaces []string
	for _, p := range r.Peers {
		switch p.Kind {
		case engine.KindExternal:
			fmt.Fprintf(w, "  %q [shape=box, style=dashed, label=%q];\n", p.ID, wrapCIDRs(p.CIDRs))
			continue
		case engine.KindUnknownAddress:
			// No namespace: it stands for pods of every namespace whose
			// addresses ipBlocks may or may not hold.
			fmt.Fprintf(w, "  %q [shape=ellipse, style=dashed, color=gray40, label=%q];\n", p.ID, "pods whose addresses\nare not in the inputs\n(ipBlocks may hold them)")
			continue
		}
		if _, ok := byNS[p.Namespace]; !ok {
			namespaces = append(namespaces, p.Namespace)
		}
		byNS[p.Namespace] = append(byNS[p.Namespace], p)
	}
	for i, ns := range namespaces {
		fmt.Fprintf(w, "  subgraph cluster_%d {\n    label=%q;\n", i, ns)
		for _, p := range byNS[ns] {
			fmt.Fprintf(w, "    %q [label=%q];\n", p.ID, p.Kind+"\n"+p.Name)
		}
		fmt.Fprintln(w, "  }")
	}
	for i := range r.ConnectionCount() {
		src, dst, c := r.ConnectionAt(i)
		if c.Unknown.IsEmpty() {
			fmt.Fprintf(w, "  %q -> %q [label=%q];\n", src, dst, c.Allow.String())
			continue
		}
		// Unknown ports: a dashed edge, so that a maybe never reads as a yes.
		fmt.Fprintf(w, "  %q -> %q [label=%q, style=dashed];\n", src, dst, c.Allow.String()+"\nunknown: "+c.Unknown.String())
	}
	fmt.Fprintln(w, "}")
	return nil
}

// wrapCIDRs keeps box labels of large ranges readable.
func wrapCIDRs(cidrs []string) string {
	const most = 6
	if len(cidrs) > most {
		return strings.Join(cidrs[:most], "\n") + fmt.Sprintf("\n(+%d more)", len(cidrs)-most)
	}
	return strings.Join(cidrs, "\n")
}

// ReachJSON writes the result as JSON with one peer or connection per line:
// valid JSON that greps well, and fast to write for the hundreds of
// thousands of connections of a large cluster.
func ReachJSON(w io.Writer, r *engine.Result) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	var buf []byte
	bw.WriteString("{\n  \"peers\": [")
	for i, p := range r.Peers {
		b, err := json.Marshal(p)
		if err != nil {
			return err
		}
		bw.WriteString(sep(i))
		bw.Write(b)
	}
	bw.WriteString(closing(len(r.Peers)) + ",\n  \"connections\": [")
	reasons := newReasonIndex()
	n := r.ConnectionCount()
	connectionsJSON(bw, r, reasons, jsonBlock, runtime.GOMAXPROCS(0))
	bw.WriteString(closing(n))
	if len(r.Self) > 0 {
		bw.WriteString(",\n  \"self\": [")
		for i, c := range r.Self {
			buf = appendVerdict(appendEnds(buf[:0], c.Src, c.Dst), &c, reasons)
			bw.WriteString(sep(i))
			bw.Write(buf)
		}
		bw.WriteString(closing(len(r.Self)))
	}
	if len(r.Exposures) > 0 {
		bw.WriteString(",\n  \"exposures\": [")
		for i, e := range r.Exposures {
			b, err := json.Marshal(e)
			if err != nil {
				return err
			}
			bw.WriteString(sep(i))
			bw.Write(b)
		}
		bw.WriteString(closing(len(r.Exposures)))
	}
	if len(reasons.list) > 0 {
		// Connections name their reasons by index into this list: a
		// reason shared by a million connections is written once.
		bw.WriteString(",\n  \"unknownReasons\": [")
		for i, n := range reasons.list {
			b, _ := json.Marshal(n)
			bw.WriteString(sep(i))
			bw.Write(b)
		}
		bw.WriteString(closing(len(reasons.list)))
	}
	if len(r.Notes) > 0 {
		bw.WriteString(",\n  \"notes\": [")
		for i, n := range r.Notes {
			b, _ := json.Marshal(n)
			bw.WriteString(sep(i))
			bw.Write(b)
		}
		bw.WriteString(closing(len(r.Notes)))
	}
	bw.WriteString("\n}\n")
	return bw.Flush()
}

// jsonBlock is how many connections a worker of connectionsJSON writes at
// a time: a few megabytes of JSON.
const jsonBlock = 1 << 15

// connectionsJSON writes the connections (appendEnds, then appendVerdict's
// tail), each after its separator, with up to workers goroutines writing
// blocks of block connections side by side and bw taking the blocks in
// order: at 10,000 namespaces (12 million connections) writing them was a
// second on one core while the other idled.
//
// Reasons are numbered in the order the connections meet them, first, in
// one pass: then the workers only read the reasons' and the tails' maps.
func connectionsJSON(bw *bufio.Writer, r *engine.Result, reasons *reasonIndex, block, workers int) {
	tails := newTails(r)
	n := r.ConnectionCount()
	if n <= block || workers < 2 {
		var buf []byte
		for i := range n {
			src, dst, c := r.ConnectionAt(i)
			buf = appendEnds(buf[:0], src, dst)
			bw.WriteString(sep(i))
			bw.Write(buf)
			bw.Write(tails.get(c, func(b []byte) []byte { return appendVerdict(b, c, reasons) }))
		}
		return
	}
	for i := range n {
		_, _, c := r.ConnectionAt(i)
		if tails.of != nil {
			tails.get(c, func(b []byte) []byte { return appendVerdict(b, c, reasons) })
		} else if !c.Unknown.IsEmpty() {
			// What appendVerdict numbers, in the same order.
			reasons.ids(c.Reasons)
		}
	}
	write := func(buf []byte, lo, hi int) []byte {
		var last *engine.Connection
		var tail []byte
		for i := lo; i < hi; i++ {
			src, dst, c := r.ConnectionAt(i)
			buf = appendEnds(append(buf, sep(i)...), src, dst)
			switch {
			case tails.of == nil:
				buf = appendVerdict(buf, c, reasons)
				continue
			case c != last:
				last, tail = c, tails.of[c]
			}
			buf = append(buf, tail...)
		}
		return buf
	}
	bufs := make([][]byte, workers)
	var wg sync.WaitGroup
	for lo := 0; lo < n; lo += block * workers {
		for w := range workers {
			start := lo + w*block
			if start >= n {
				bufs[w] = bufs[w][:0]
				continue
			}
			wg.Go(func() { bufs[w] = write(bufs[w][:0], start, min(start+block, n)) })
		}
		wg.Wait()
		for _, b := range bufs {
			bw.Write(b)
		}
	}
}

func sep(i int) string {
	if i == 0 {
		return "\n    "
	}
	return ",\n    "
}

func closing(n int) string {
	if n == 0 {
		return "]"
	}
	return "\n  ]"
}

// appendEnds and appendVerdict write a connection as
// {"src":…,"dst":…,"allow":{"TCP":[[lo,hi]],…}} (then "unknown" and
// "reasons", indexes into "unknownReasons", when some ports may be allowed
// or denied, and "layers" when security groups were given) with protocols
// in sorted order, as encoding/json orders map keys. appendEnds writes
// the start, up to the destination; appendVerdict the rest, which
// depends on the verdict alone.
func appendEnds(b []byte, src, dst string) []byte {
	b = append(b, `{"src":`...)
	b = appendQuote(b, src)
	b = append(b, `,"dst":`...)
	return appendQuote(b, dst)
}

// appendQuote is strconv.AppendQuote, without its per-rune decoding for
// the printable ASCII peer IDs are made of (a million connections name
// two each).
func appendQuote(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' || c > '~' || c == '"' || c == '\\' {
			return strconv.AppendQuote(b, s)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

func appendVerdict(b []byte, c *engine.Connection, reasons *reasonIndex) []byte {
	b = append(b, `,"allow":`...)
	b = appendPorts(b, c.Allow)
	if !c.Unknown.IsEmpty() {
		b = append(b, `,"unknown":`...)
		b = appendPorts(b, c.Unknown)
		b = append(b, `,"reasons":[`...)
		for i, n := range reasons.ids(c.Reasons) {
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendInt(b, int64(n), 10)
		}
		b = append(b, ']')
	}
	if c.Layers != nil {
		b = append(b, `,"layers":{"networkPolicy":`...)
		b = appendPorts(b, c.Layers.NetworkPolicy)
		if !c.Layers.NetworkPolicyUnknown.IsEmpty() {
			b = append(b, `,"networkPolicyUnknown":`...)
			b = appendPorts(b, c.Layers.NetworkPolicyUnknown)
		}
		b = append(b, `,"securityGroups":`...)
		if c.Layers.SecurityGroups == nil {
			b = append(b, "null"...)
		} else {
			b = appendPorts(b, *c.Layers.SecurityGroups)
		}
		if !c.Layers.SecurityGroupsUnknown.IsEmpty() {
			b = append(b, `,"securityGroupsUnknown":`...)
			b = appendPorts(b, c.Layers.SecurityGroupsUnknown)
		}
		if c.Layers.Unfiltered {
			b = append(b, `,"unfiltered":true`...)
		}
		if v := c.Layers.VPC; v != nil {
			b = append(b, `,"vpc":{`...)
			sep := ""
			for _, l := range []struct {
				key string
				v   *engine.Verdict
			}{{"networkACLs", v.NetworkACLs}, {"routes", v.Routes}} {
				if l.v == nil {
					continue
				}
				b = append(b, sep+`"`+l.key+`":{"allowed":`...)
				b = appendPorts(b, l.v.Allowed)
				if !l.v.Unknown.IsEmpty() {
					b = append(b, `,"unknown":`...)
					b = appendPorts(b, l.v.Unknown)
				}
				b = append(b, '}')
				sep = ","
			}
			b = append(b, '}')
		}
		b = append(b, '}')
	}
	return append(b, '}')
}

func appendPorts(b []byte, ports netset.Ports) []byte {
	b = append(b, '{')
	first := true
	for _, p := range []netset.Protocol{netset.SCTP, netset.TCP, netset.UDP} {
		rs := ports.Ranges(p)
		if len(rs) == 0 {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, '"')
		b = append(b, p.String()...)
		b = append(b, `":[`...)
		for i, r := range rs {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '[')
			b = strconv.AppendInt(b, int64(r.Lo), 10)
			b = append(b, ',')
			b = strconv.AppendInt(b, int64(r.Hi), 10)
			b = append(b, ']')
		}
		b = append(b, ']')
	}
	return append(b, '}')
}
