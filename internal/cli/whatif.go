package cli

import (
	"fmt"
	"io"
	"net/netip"
	"os"
	"time"

	"github.com/ringfence/ringfence/internal/engine"
	"github.com/ringfence/ringfence/internal/load"
	"github.com/ringfence/ringfence/internal/load/document"
	"github.com/ringfence/ringfence/internal/load/flows"
	"github.com/ringfence/ringfence/internal/model"
	"github.com/ringfence/ringfence/internal/render"
	"github.com/ringfence/ringfence/internal/traffic"
	"github.com/ringfence/ringfence/internal/whatif"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// flowFlags are the flags of the verbs that read observed flows.
type flowFlags struct {
	files      []string
	format     string
	rangesFile string
}

func (f *flowFlags) add(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringArrayVar(&f.files, "flows", nil, "observed flows: a VPC flow log (default or custom format, gzip too), Hubble JSON (hubble observe -o json) or CSV (src,dst,protocol,port); - for stdin; repeatable")
	fl.StringVar(&f.format, "flows-format", string(flows.FormatAuto), "format of --flows: auto, vpc, hubble or csv")
	fl.StringVar(&f.rangesFile, "ranges-file", "", "AWS ip-ranges.json that names AWS destinations (default: the cached or embedded publication)")
}

// aggregate reads every flow input into distinct flows, classified against
// the worlds (the first gives pods, nodes and Services; all of them the
// addresses their rules tell apart).
func (f *flowFlags) aggregate(cmd *cobra.Command, s Streams, worlds ...*model.World) (*traffic.Aggregator, []flows.Skip, error) {
	if len(f.files) == 0 {
		return nil, nil, usagef("--flows is required")
	}
	switch flows.Format(f.format) {
	case flows.FormatAuto, flows.FormatVPC, flows.FormatHubble, flows.FormatCSV:
	default:
		return nil, nil, usagef("unknown --flows-format %q: use auto, vpc, hubble or csv", f.format)
	}
	doc, err := rangesSource(f.rangesFile)
	if err != nil {
		return nil, nil, err
	}
	var cidrs []netip.Prefix
	for _, w := range worlds {
		cidrs = append(cidrs, traffic.CIDRs(w)...)
	}
	idx := traffic.NewIndex(worlds[0], doc, cidrs)
	agg := traffic.NewAggregator(idx)
	var skipped []flows.Skip
	for _, name := range f.files {
		sk, err := readFlows(cmd, s, name, flows.Format(f.format), agg)
		if err != nil {
			return nil, nil, err
		}
		skipped = append(skipped, sk...)
	}
	return agg, skipped, nil
}

// readFlows streams one input into the aggregator, with a progress line on
// standard error when it is a terminal.
func readFlows(cmd *cobra.Command, s Streams, name string, format flows.Format, agg *traffic.Aggregator) ([]flows.Skip, error) {
	var in io.Reader
	var size int64
	if name == "-" {
		in = cmd.InOrStdin()
	} else {
		file, err := os.Open(name)
		if err != nil {
			return nil, &document.Error{Source: model.Source{File: name}, Msg: cleanOpenError(err)}
		}
		defer file.Close()
		if st, err := file.Stat(); err == nil {
			size = st.Size()
		}
		in = file
	}
	r, err := flows.Open(in, name, format)
	if err != nil {
		return nil, err
	}
	bar := newProgress(s.Err, name, size)
	var rec flows.Record
	for n := 0; ; n++ {
		ok, err := r.Next(&rec)
		if err != nil {
			bar.done()
			return nil, err
		}
		if !ok {
			break
		}
		agg.Add(&rec, name)
		if n&0xffff == 0 {
			bar.update(r.BytesRead(), agg.Records)
		}
	}
	bar.done()
	return r.Skipped(), nil
}

func cleanOpenError(err error) string {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err.Error()
	}
	return err.Error()
}

// progress draws one line on a terminal, at most five times a second.
type progress struct {
	w     io.Writer
	on    bool
	name  string
	size  int64
	last  time.Time
	drawn bool
}

func newProgress(w io.Writer, name string, size int64) *progress {
	p := &progress{w: w, name: name, size: size}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.on = true
	}
	return p
}

func (p *progress) update(read int64, records uint64) {
	if !p.on || time.Since(p.last) < 200*time.Millisecond {
		return
	}
	p.last = time.Now()
	p.drawn = true
	if p.size > 0 {
		pct := float64(read) * 100 / float64(p.size)
		width := 30
		filled := int(pct / 100 * float64(width))
		if filled > width {
			filled = width
		}
		bar := make([]byte, width)
		for i := range bar {
			bar[i] = ' '
			if i < filled {
				bar[i] = '='
			}
		}
		fmt.Fprintf(p.w, "\r%s [%s] %3.0f%% %d records", p.name, bar, pct, records)
		return
	}
	fmt.Fprintf(p.w, "\r%s: %d MB, %d records", p.name, read>>20, records)
}

func (p *progress) done() {
	if p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
	}
}

func newWhatif(s Streams) *cobra.Command {
	var in inputFlags
	var out outputFlag
	var ff flowFlags
	var proposed []string
	cmd := &cobra.Command{
		Use:   "whatif -f <current> [--proposed <files>] --flows <flow log>",
		Short: "Which observed flows a policy change would cut, and the rule that cuts each",
		Long: `whatif replays observed traffic (AWS VPC Flow Logs, Hubble flows, or a CSV)
against a configuration and lists the flows that are allowed today and would be
denied, grouped by workload and destination, with the NetworkPolicy or security
group that would deny each and how many records it carries. It exits 1 when
anything would break.

Two ways to say what "today" and "the proposal" are:

  -f <inputs> --flows <log>
      The inputs (policies included) are the proposal; today is what the log
      saw: every record it does not mark rejected (VPC REJECT, Hubble DROPPED)
      was allowed. Use it before applying policies to a cluster that has been
      running without them.
  -f <current> --proposed <files> --flows <log>
      Today is the -f inputs; the proposal is the same inputs with the objects
      of --proposed laid over them: an object with the kind, namespace and name
      (a security group: the id) of a current one replaces it, others are added,
      and one annotated ringfence.dev/whatif: delete removes its namesake.

Addresses map to pods (pod IPs from a live cluster or Pod status), nodes,
Services (ClusterIPs, judged after DNAT on the target port of the pods behind
them), AWS services (aws:S3:us-east-1, the most specific published service),
imds, eks-pod-identity, private and internet. Records are aggregated by
(source, destination, protocol, port) before anything is judged; replies are
counted and judged with the connection they answer.`,
		Example: `  ringfence whatif -f examples/ml-platform -f examples/flows/ml-platform/pods.yaml \
    --flows examples/flows/ml-platform/vpc-flow-log.txt
  ringfence whatif -f cluster/ --proposed new-policies.yaml --flows flowlog.log.gz -o markdown
  hubble observe -o json --last 100000 | ringfence whatif -A --proposed lockdown.yaml --flows -`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := out.check(); err != nil {
				return err
			}
			res, err := in.load(cmd)
			if err != nil {
				return err
			}
			groups, _ := in.nodeGroups()
			var current, next *whatif.State
			world := res.World
			if in.applyFences {
				// The proposal is generate's output for the Fences of the
				// inputs; today is the inputs as they are.
				if len(proposed) > 0 {
					return usagef("--apply-fences and --proposed: give one proposal")
				}
				a, err := engine.Analyse(world, engine.Options{NodeGroups: groups})
				if err != nil {
					return err
				}
				current = whatif.NewState(world, a)
				if err := in.apply(cmd, res, groups); err != nil {
					return err
				}
				world, res.World = res.World, world
			}
			if len(proposed) > 0 {
				a, err := engine.Analyse(world, engine.Options{NodeGroups: groups})
				if err != nil {
					return err
				}
				current = whatif.NewState(world, a)
				popts, err := in.options(cmd)
				if err != nil {
					return err
				}
				popts.Files, popts.Cluster, popts.Kustomize, popts.Charts = proposed, nil, nil, nil
				pres, err := load.Load(cmd.Context(), popts)
				if err != nil {
					return err
				}
				// What the proposal's files could not use is reported with the rest.
				res.Report.Warnings = append(res.Report.Warnings, pres.Report.All()...)
				in.summarize(cmd.ErrOrStderr(), pres.Report)
				world = whatif.Overlay(world, pres.World)
			}
			a, err := engine.Analyse(world, engine.Options{NodeGroups: groups})
			if err != nil {
				return err
			}
			next = whatif.NewState(world, a)
			worlds := []*model.World{res.World}
			if world != res.World {
				worlds = append(worlds, world)
			}
			agg, skipped, err := ff.aggregate(cmd, s, worlds...)
			if err != nil {
				return err
			}
			r := whatif.Compare(agg, current, next)
			r.Inputs, r.Skipped = ff.files, skipped
			r.Proposed = "the -f inputs"
			if len(proposed) > 0 {
				r.Proposed = "the -f inputs with --proposed laid over them"
			}
			if in.applyFences {
				r.Proposed = "the -f inputs with generate's output for their Fences applied"
			}
			switch out.value {
			case "json":
				err = in.json(s.Out, r, "")
			case "markdown":
				err = render.WhatifMarkdown(s.Out, r)
			default:
				err = render.WhatifText(s.Out, r)
			}
			if err != nil {
				return err
			}
			if r.Broke() {
				return findingsError{}
			}
			return nil
		},
	}
	in.add(cmd)
	in.addApply(cmd)
	ff.add(cmd)
	out.add(cmd, "text", "json", "markdown")
	cmd.Flags().StringArrayVar(&proposed, "proposed", nil, "the proposal: files or directories laid over the -f inputs (same kind/namespace/name replaced); repeatable")
	return cmd
}
