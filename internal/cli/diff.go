package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/ringfence/ringfence/internal/check"
	rfdiff "github.com/ringfence/ringfence/internal/diff"
	"github.com/ringfence/ringfence/internal/engine"
	"github.com/ringfence/ringfence/internal/load"
	"github.com/ringfence/ringfence/internal/model"
	"github.com/ringfence/ringfence/internal/render"
	"github.com/ringfence/ringfence/internal/unseen"
	"github.com/spf13/cobra"
)

func newDiff(s Streams) *cobra.Command {
	var in inputFlags
	var out outputFlag
	var base, head []string
	var baseRef, failOn, configFile string
	var fc focusFlags
	cmd := &cobra.Command{
		Use:   "diff (--base <path> --head <path> | --base-ref <rev> [--head <path>])",
		Short: "Show what a change opens and closes: connections, exposures, findings",
		Long: `diff compares two versions of the inputs, a base and a head, and reports what the
change opens and closes:

  connections   added, removed and changed (ports, and each fence's own verdict:
                NetworkPolicy, security groups), each with the policy rules and
                security groups that decide it on either side ("-" base, "+" head)
  exposures     ways in from outside the cluster added, removed or changed
  unknown peers workloads newly open to namespaces not in the inputs (a
                namespaceSelector that namespaces created later would match)
  findings      audit findings introduced and resolved

Each side is a set of -f style inputs (files, directories, AWS documents): give
--base and --head (each repeatable), or --base-ref with a git revision of the
current repository: the --head paths (default: the current directory) are read
from the work tree and, for the base, as committed at that revision, without a
checkout.

--from, --to and --port narrow the report to some traffic (findings are kept
whole); the exit status then counts only what is in the focus.

-o md writes a pull-request comment: a summary table first, details folded.

Exit status: 1 when the change opens anything (a connection or port, an
exposure, an opening to unknown namespaces, or a finding at --fail-on); 0 when
it opens nothing; 2 on bad usage or input.`,
		Example: `  ringfence diff --base old/ --head new/
  ringfence diff --base-ref origin/main --head deploy/ --head aws/ -o md > comment.md
  ringfence diff --base-ref HEAD~1 -f manifests/ -o json | jq '.connections[] | select(.change == "added")'
  ringfence diff --base prod/ --head staging/ --fail-on none -o sarif > diff.sarif
  ringfence diff --base-ref origin/main -f deploy/ --to ml-workloads --port 443`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := out.check(); err != nil {
				return err
			}
			threshold, err := check.ParseSeverity(failOn)
			if err != nil {
				return usageError{err}
			}
			focus, err := fc.parse(in.rangesFile)
			if err != nil {
				return err
			}
			baseRoot := ""
			switch {
			case baseRef != "" && len(base) > 0:
				return usagef("give --base or --base-ref, not both")
			case baseRef != "":
				if len(head) == 0 {
					head = []string{"."}
				}
				rev, err := extractRevision(cmd.Context(), baseRef, head)
				if err != nil {
					return err
				}
				defer os.RemoveAll(rev.Dir)
				base, baseRoot = rev.Paths, rev.Root
			case len(base) == 0 || len(head) == 0:
				return usagef("give --base and --head, or --base-ref")
			}
			// The sides are independent: they load and analyse at the same
			// time, so a diff costs about one reach of wall time per core.
			var sides [2]*rfdiff.Side
			var errs [2]error
			var wg sync.WaitGroup
			errw := &lockedWriter{w: s.Err}
			// Files with the same bytes on both sides (most of them, in a
			// review) are decoded once.
			cache := load.NewCache()
			for i, sd := range []struct {
				name  string
				files []string
				root  string
			}{{"base", base, baseRoot}, {"head", head, ""}} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if len(sd.files) == 0 {
						// Nothing at the revision: the base is empty.
						sides[i], errs[i] = emptySide()
						return
					}
					f := in
					f.files, f.cache = sd.files, cache
					ss := Streams{In: s.In, Out: s.Out, Err: &prefixWriter{w: errw, prefix: sd.name + ": "}}
					run, err := f.audit(cmd, ss, "", configFile)
					if err != nil {
						errs[i] = fmt.Errorf("%s: %w", sd.name, err)
						return
					}
					a := run.check.Analysis
					sides[i] = &rfdiff.Side{Analysis: a, Result: run.check.Reach(), Findings: run.findings, Unseen: unseen.Find(run.check.World, a), Root: sd.root}
				}()
			}
			wg.Wait()
			if err := errors.Join(errs[0], errs[1]); err != nil {
				return err
			}
			b, h := sides[0], sides[1]
			opts := rfdiff.Options{FailOn: threshold}
			d := rfdiff.Compare(b, h, opts)
			if !focus.Empty() {
				peers := map[string]*engine.Peer{}
				for _, r := range []*engine.Result{b.Result, h.Result} {
					for _, p := range r.Peers {
						peers[p.ID] = p
					}
				}
				d = focus.Diff(d, peers, fc.fromInternet())
				d.Tally(opts)
			}
			switch out.value {
			case "json":
				err = render.JSON(s.Out, d)
			case "md", "markdown":
				err = render.DiffMarkdown(s.Out, d)
			case "sarif":
				err = render.DiffSARIF(s.Out, d, check.Rules(), Version())
			default:
				err = render.DiffText(s.Out, d)
			}
			if err != nil {
				return err
			}
			if d.Opens {
				return findingsError{}
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVar(&base, "base", nil, "the inputs before the change: file, directory or AWS document; repeatable")
	fl.StringArrayVarP(&head, "head", "f", nil, "the inputs after the change (with --base-ref, read from the work tree; default .); repeatable")
	fl.StringVar(&baseRef, "base-ref", "", "git revision whose --head paths are the base (read from the repository, no checkout)")
	fl.StringVarP(&in.namespace, "namespace", "n", "", "namespace for objects without one")
	fl.BoolVar(&in.strict, "strict", false, "fail on objects of kinds ringfence does not read")
	fl.StringArrayVar(&in.nodeSG, "node-sg", nil, "security groups of nodes whose instances are not given: <node-label-selector>=sg-a,sg-b (repeatable)")
	fl.StringVar(&in.rangesFile, "ranges-file", "", "AWS ip-ranges.json to compare ipBlocks with (default: the cached or embedded publication)")
	fl.StringVar(&failOn, "fail-on", "high", "exit 1 when an introduced finding is at least this severe: critical, high, medium, low, info or none")
	fl.StringVar(&configFile, "config", "", "suppressions file, for both sides (default: .ringfence.yaml when present)")
	fc.add(cmd)
	out.add(cmd, "text", "json", "md", "sarif")
	return cmd
}

// emptySide is a configuration with nothing in it: no objects, so no
// connection between pods, no exposure and no finding.
func emptySide() (*rfdiff.Side, error) {
	a, err := engine.Analyse(&model.World{}, engine.Options{})
	if err != nil {
		return nil, err
	}
	return &rfdiff.Side{Analysis: a, Result: a.Reach()}, nil
}

// lockedWriter serialises writes from the sides' goroutines.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// prefixWriter says which side a warning is about: each write is whole
// lines (Fprintf of one message), prefixed after "ringfence: ".
type prefixWriter struct {
	w      io.Writer
	prefix string
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	line := b
	if rest, ok := bytes.CutPrefix(b, []byte("ringfence: ")); ok {
		line = append([]byte("ringfence: "+p.prefix), rest...)
	} else {
		line = append([]byte(p.prefix), b...)
	}
	if _, err := p.w.Write(line); err != nil {
		return 0, err
	}
	return len(b), nil
}
