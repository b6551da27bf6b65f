package cli

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/ringfence/ringfence/internal/ranges"
	"github.com/ringfence/ringfence/internal/render"
	"github.com/spf13/cobra"
)

// rangeFlags select prefixes of a publication.
type rangeFlags struct {
	filter ranges.Filter
	file   string
}

func (f *rangeFlags) add(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringSliceVar(&f.filter.Services, "service", nil, "AWS service (S3, EC2, AMAZON, ...); repeatable or comma-separated")
	fl.StringSliceVar(&f.filter.Regions, "region", nil, "region (us-east-1, GLOBAL, ...); repeatable")
	fl.StringSliceVar(&f.filter.BorderGroups, "border-group", nil, "network border group (a region, or a local zone such as us-east-1-bos-1)")
	fl.BoolVar(&f.filter.IPv4, "ipv4", false, "IPv4 prefixes only")
	fl.BoolVar(&f.filter.IPv6, "ipv6", false, "IPv6 prefixes only")
}

// rangesSource returns the publication to use: --ranges-file, else the
// refreshed cache when newer, else the embedded snapshot.
func rangesSource(file string) (*ranges.Document, error) {
	if file != "" {
		f, err := os.Open(file)
		if err != nil {
			return nil, fmt.Errorf("--ranges-file: %w", err)
		}
		defer f.Close()
		return ranges.Parse(f, file)
	}
	store, err := ranges.DefaultStore()
	if err != nil {
		return ranges.Snapshot()
	}
	return store.Current()
}

// rangesOutput is the -o json|yaml shape of `ringfence ranges`.
type rangesOutput struct {
	SyncToken  string          `json:"syncToken"`
	CreateDate string          `json:"createDate"`
	Source     string          `json:"source"`
	Filter     ranges.Filter   `json:"filter"`
	Published  int             `json:"published"`
	CIDRs      []string        `json:"cidrs,omitempty"`
	Prefixes   []ranges.Prefix `json:"prefixes,omitempty"`
}

func newRanges(s Streams) *cobra.Command {
	var rf rangeFlags
	var out outputFlag
	var raw bool
	cmd := &cobra.Command{
		Use:   "ranges",
		Short: "Show AWS's published IP ranges for a service and region, aggregated",
		Long: `ranges selects AWS's published IP ranges (ip-ranges.json) by service, region and
border group and prints the fewest CIDRs that cover exactly the selected addresses
(address-set semantics: prefixes published twice or as pieces count once). --raw
prints the published prefixes instead.

The publication is the one embedded in ringfence (works offline), or the newer one
that 'ringfence ranges refresh' cached, or --ranges-file. Every output says which
syncToken it used.`,
		Example: `  ringfence ranges --service S3 --region us-east-1
  ringfence ranges --service S3 --region us-east-1 --ipv6 -o json
  ringfence ranges --service EC2 --region us-west-2 --raw
  ringfence ranges refresh
  ringfence ranges diff old.json new.json --service S3 --region us-east-1`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if err := out.check(); err != nil {
				return err
			}
			doc, err := rangesSource(rf.file)
			if err != nil {
				return err
			}
			sel := doc.Select(rf.filter)
			o := rangesOutput{SyncToken: doc.SyncToken, CreateDate: doc.CreateDate, Source: doc.Source, Filter: rf.filter, Published: len(sel)}
			if raw {
				o.Prefixes = sel
			} else {
				for _, p := range ranges.Aggregate(sel) {
					o.CIDRs = append(o.CIDRs, p.String())
				}
			}
			switch out.value {
			case "json":
				return render.JSON(s.Out, o)
			case "yaml":
				return render.YAML(s.Out, o)
			}
			fmt.Fprintf(s.Out, "# AWS ip-ranges syncToken %s (created %s) from %s\n", doc.SyncToken, doc.CreateDate, doc.Source)
			fmt.Fprintf(s.Out, "# %s: %d published prefixes", describeFilter(rf.filter), len(sel))
			if raw {
				fmt.Fprintln(s.Out)
				for _, p := range sel {
					fmt.Fprintf(s.Out, "%s\t%s\t%s\t%s\n", p.Prefix, p.Service, p.Region, p.BorderGroup)
				}
				return nil
			}
			fmt.Fprintf(s.Out, ", %d CIDRs aggregated\n", len(o.CIDRs))
			for _, c := range o.CIDRs {
				fmt.Fprintln(s.Out, c)
			}
			return nil
		},
	}
	rf.add(cmd)
	cmd.Flags().StringVar(&rf.file, "ranges-file", "", "read this ip-ranges.json instead of the cached or embedded publication")
	cmd.Flags().BoolVar(&raw, "raw", false, "print the published prefixes with their service, region and border group")
	out.add(cmd, "text", "json", "yaml")
	cmd.AddCommand(newRangesRefresh(s), newRangesDiff(s))
	return cmd
}

func describeFilter(f ranges.Filter) string {
	var parts []string
	if len(f.Services) > 0 {
		parts = append(parts, "service "+strings.Join(f.Services, ","))
	}
	if len(f.Regions) > 0 {
		parts = append(parts, "region "+strings.Join(f.Regions, ","))
	}
	if len(f.BorderGroups) > 0 {
		parts = append(parts, "border group "+strings.Join(f.BorderGroups, ","))
	}
	switch {
	case f.IPv4 && !f.IPv6:
		parts = append(parts, "IPv4")
	case f.IPv6 && !f.IPv4:
		parts = append(parts, "IPv6")
	default:
		parts = append(parts, "IPv4 and IPv6")
	}
	return strings.Join(parts, ", ")
}

func newRangesRefresh(s Streams) *cobra.Command {
	var opts ranges.RefreshOptions
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "refresh",
		Short: "Fetch AWS's current ip-ranges.json into the local cache",
		Long: `refresh downloads ip-ranges.json over HTTPS (certificates verified), checks that it
is a valid publication whose syncToken is not older than the one at hand, checks
--md5 when given (AWS's AmazonIpSpaceChanged notification carries it), and replaces
the cache in the user cache directory atomically. A bad download never replaces a
good cache. This is the only ringfence command that uses the network.`,
		Example: `  ringfence ranges refresh
  ringfence ranges refresh --md5 63431d35877fa5386ded1a7df9cfa971`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			store, err := ranges.DefaultStore()
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			doc, changed, err := store.Refresh(ctx, opts)
			if err != nil {
				return err
			}
			if !changed {
				fmt.Fprintf(s.Out, "already current: syncToken %s (created %s) from %s\n", doc.SyncToken, doc.CreateDate, doc.Source)
				return nil
			}
			fmt.Fprintf(s.Out, "cached syncToken %s (created %s) in %s\n", doc.SyncToken, doc.CreateDate, store.Path())
			return nil
		},
	}
	cmd.Flags().StringVar(&opts.URL, "url", ranges.DefaultURL, "where to fetch from (HTTPS only), e.g. an internal mirror")
	cmd.Flags().StringVar(&opts.MD5, "md5", "", "expected md5 of the document")
	cmd.Flags().DurationVar(&timeout, "timeout", time.Minute, "give up after this long")
	return cmd
}

// diffOutput is the -o json|yaml shape of `ringfence ranges diff`.
type diffOutput struct {
	Old          docRef          `json:"old"`
	New          docRef          `json:"new"`
	Filter       ranges.Filter   `json:"filter"`
	Added        []ranges.Prefix `json:"added"`
	Removed      []ranges.Prefix `json:"removed"`
	AddedCIDRs   []netip.Prefix  `json:"addedAddresses"`
	RemovedCIDRs []netip.Prefix  `json:"removedAddresses"`
}

type docRef struct {
	SyncToken  string `json:"syncToken"`
	CreateDate string `json:"createDate"`
	Source     string `json:"source"`
}

func newRangesDiff(s Streams) *cobra.Command {
	var rf rangeFlags
	var out outputFlag
	cmd := &cobra.Command{
		Use:   "diff OLD NEW",
		Short: "Show what one ip-ranges.json publication adds to and removes from another",
		Long: `diff compares two publications as address sets: the published prefixes of NEW whose
addresses OLD did not hold are added (+), those of OLD that NEW no longer holds are
removed (-), followed by the exact address difference, aggregated. Exit status 1
when anything changed, as diff(1).`,
		Example: `  ringfence ranges diff ip-ranges-old.json ip-ranges-new.json --service S3 --region us-east-1`,
		Args:    cobra.ExactArgs(2),
		RunE: func(_ *cobra.Command, args []string) error {
			if err := out.check(); err != nil {
				return err
			}
			docs := make([]*ranges.Document, 2)
			for i, path := range args {
				f, err := os.Open(path)
				if err != nil {
					return err
				}
				docs[i], err = ranges.Parse(f, path)
				f.Close()
				if err != nil {
					return err
				}
			}
			c := ranges.Diff(docs[0], docs[1], rf.filter)
			o := diffOutput{
				Old:    docRef{docs[0].SyncToken, docs[0].CreateDate, docs[0].Source},
				New:    docRef{docs[1].SyncToken, docs[1].CreateDate, docs[1].Source},
				Filter: rf.filter, Added: c.Added, Removed: c.Removed, AddedCIDRs: c.AddedSet, RemovedCIDRs: c.RemovedSet,
			}
			var err error
			switch out.value {
			case "json":
				err = render.JSON(s.Out, o)
			case "yaml":
				err = render.YAML(s.Out, o)
			default:
				fmt.Fprintf(s.Out, "# old: syncToken %s (created %s) %s\n# new: syncToken %s (created %s) %s\n# %s\n",
					o.Old.SyncToken, o.Old.CreateDate, o.Old.Source, o.New.SyncToken, o.New.CreateDate, o.New.Source, describeFilter(rf.filter))
				for _, p := range c.Added {
					fmt.Fprintf(s.Out, "+ %s\t%s\t%s\t%s\n", p.Prefix, p.Service, p.Region, p.BorderGroup)
				}
				for _, p := range c.Removed {
					fmt.Fprintf(s.Out, "- %s\t%s\t%s\t%s\n", p.Prefix, p.Service, p.Region, p.BorderGroup)
				}
				fmt.Fprintf(s.Out, "# addresses added: %s; removed: %s\n", prefixList(c.AddedSet), prefixList(c.RemovedSet))
			}
			if err != nil {
				return err
			}
			if len(c.AddedSet)+len(c.RemovedSet) > 0 {
				return findingsError{}
			}
			return nil
		},
	}
	rf.add(cmd)
	out.add(cmd, "text", "json", "yaml")
	return cmd
}

func prefixList(ps []netip.Prefix) string {
	if len(ps) == 0 {
		return "none"
	}
	parts := make([]string, len(ps))
	for i, p := range ps {
		parts[i] = p.String()
	}
	return strings.Join(parts, ", ")
}
