package cli

import (
	"fmt"
	"net/netip"

	"github.com/ringfence/ringfence/internal/engine"
	"github.com/ringfence/ringfence/internal/netset"
	"github.com/ringfence/ringfence/internal/render"
	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
)

// maxExplained bounds `explain --all`: past it the answer is a listing
// nobody reads, and --from/--to say which part is wanted.
const maxExplained = 10000

// explainAll explains every pair of the focus (--from and --to as focus
// ends, either may be empty), allowed and denied alike: each source peer
// to each destination peer, outside addresses by the address ranges the
// analysis tells apart (every address of a range has the same verdict).
func explainAll(cmd *cobra.Command, s Streams, in *inputFlags, level, from, to, protocol string, port int32, output string) error {
	fc, err := parseFocus(from, to, protocol, port, in.rangesFile)
	if err != nil {
		return err
	}
	proto, _ := netset.ParseProtocol(corev1.Protocol(protocol))
	_, a, err := in.analyse(cmd, level)
	if err != nil {
		return err
	}
	// An outside range is asked about by its first address.
	name := func(p *engine.Peer) string {
		if p.Kind == engine.KindExternal && len(p.CIDRs) > 0 {
			if r := firstAddress(p.CIDRs); r != "" {
				return r
			}
		}
		return p.ID
	}
	var srcs, dsts []*engine.Peer
	for _, p := range a.Peers() {
		if fc.From.Peer(p) {
			srcs = append(srcs, p)
		}
		if fc.To.Peer(p) {
			dsts = append(dsts, p)
		}
	}
	var list []*engine.Explanation
	for _, src := range srcs {
		for _, dst := range dsts {
			if src.Kind == engine.KindExternal && dst.Kind == engine.KindExternal {
				continue
			}
			if len(list) == maxExplained {
				return usagef("--all: more than %d pairs; narrow them with --from and --to", maxExplained)
			}
			e, err := engine.Explain(a, name(src), name(dst), proto, port)
			if err != nil {
				return usageError{err}
			}
			if src.Kind == engine.KindExternal {
				e.From = src.ID
			}
			if dst.Kind == engine.KindExternal {
				e.To = dst.ID
			}
			list = append(list, e)
		}
	}
	if output == "json" {
		if list == nil {
			list = []*engine.Explanation{}
		}
		return render.JSON(s.Out, list)
	}
	allowed := 0
	for _, e := range list {
		if e.Verdict == "allowed" {
			allowed++
		}
	}
	fmt.Fprintf(s.Out, "# %d pairs: %d allowed, %d denied\n", len(list), allowed, len(list)-allowed)
	for _, e := range list {
		fmt.Fprintln(s.Out)
		if err := render.ExplainText(s.Out, e); err != nil {
			return err
		}
	}
	return nil
}

// firstAddress returns the first address of a range given as prefixes.
func firstAddress(prefixes []string) string {
	for _, c := range prefixes {
		if p, err := netip.ParsePrefix(c); err == nil {
			return p.Masked().Addr().String()
		}
	}
	return ""
}
