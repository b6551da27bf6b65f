package cli

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/ringfence/ringfence/internal/load/document"
	"github.com/ringfence/ringfence/internal/load/flows"
	"github.com/ringfence/ringfence/internal/model"
	"github.com/ringfence/ringfence/internal/traffic"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// flowFlags are the flags of the verbs that read observed flows.
type flowFlags struct {
	files        []string
	format       string
	logFormat    string
	rangesFile   string
	since, until string
}

func (f *flowFlags) add(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringArrayVar(&f.files, "flows", nil, "observed flows: a VPC flow log (default or custom format, gzip too; a directory of .log/.log.gz files as delivered to S3; CloudWatch Logs JSON or exports; Athena CSV), Hubble JSON (hubble observe -o json) or CSV (src,dst,protocol,port); - for stdin; repeatable")
	fl.StringVar(&f.format, "flows-format", string(flows.FormatAuto), "format of --flows: auto, vpc, hubble, csv or cloudwatch")
	fl.StringVar(&f.logFormat, "flow-log-format", "", "the VPC flow log's custom format, for records without a header line (CloudWatch Logs): its LogFormat as aws ec2 describe-flow-logs shows it, '${version} ${srcaddr} ...'")
	fl.StringVar(&f.rangesFile, "ranges-file", "", "AWS ip-ranges.json that names AWS destinations (default: the cached or embedded publication)")
	fl.StringVar(&f.since, "since", "", "only records whose capture window ends at or after this time: RFC 3339 (2026-08-22T15:00:00Z) or a duration before now (2h)")
	fl.StringVar(&f.until, "until", "", "only records whose capture window starts before this time: RFC 3339 or a duration before now")
}

// flowRead is what reading the flow inputs gave besides the flows.
type flowRead struct {
	skipped []flows.Skip
	files   int
}

// flowTime reads --since or --until.
func flowTime(flag, v string, now time.Time) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(v); err == nil {
		return now.Add(-d), nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, usagef("--%s %q: want an RFC 3339 time (2026-08-22T15:00:00Z) or a duration (2h)", flag, v)
	}
	return t, nil
}

// aggregate reads every flow input into distinct flows, classified against
// the worlds (the first gives pods, nodes and Services; all of them the
// addresses their rules tell apart).
func (f *flowFlags) aggregate(cmd *cobra.Command, s Streams, worlds ...*model.World) (*traffic.Aggregator, flowRead, error) {
	var read flowRead
	if len(f.files) == 0 {
		return nil, read, usagef("--flows is required")
	}
	switch flows.Format(f.format) {
	case flows.FormatAuto, flows.FormatVPC, flows.FormatHubble, flows.FormatCSV, flows.FormatCloudWatch:
	default:
		return nil, read, usagef("unknown --flows-format %q: use auto, vpc, hubble, csv or cloudwatch", f.format)
	}
	if err := flows.CheckLogFormat(f.logFormat); err != nil {
		return nil, read, usagef("--flow-log-format: %v", err)
	}
	now := time.Now()
	since, err := flowTime("since", f.since, now)
	if err != nil {
		return nil, read, err
	}
	until, err := flowTime("until", f.until, now)
	if err != nil {
		return nil, read, err
	}
	doc, err := rangesSource(f.rangesFile)
	if err != nil {
		return nil, read, err
	}
	var cidrs []netip.Prefix
	for _, w := range worlds {
		cidrs = append(cidrs, traffic.CIDRs(w)...)
	}
	idx := traffic.NewIndex(worlds[0], doc, cidrs)
	agg := traffic.NewAggregator(idx)
	skips := map[string]*flows.Skip{}
	var order []string
	for _, name := range f.files {
		in := flowInput{name: name, format: flows.Format(f.format), logFormat: f.logFormat, since: since, until: until, stdin: cmd.InOrStdin()}
		files, err := in.list()
		if err != nil {
			return nil, read, err
		}
		res, err := in.read(cmd.Context(), s.Err, idx, files, agg)
		if err != nil {
			return nil, read, err
		}
		read.files += len(files)
		for _, sk := range res.skipped {
			if cur, ok := skips[sk.Reason]; ok {
				cur.Count += sk.Count
				continue
			}
			sk := sk
			skips[sk.Reason] = &sk
			order = append(order, sk.Reason)
		}
		if res.records == 0 {
			return nil, read, in.empty(len(files), res.skipped)
		}
	}
	sort.Strings(order)
	for _, r := range order {
		read.skipped = append(read.skipped, *skips[r])
	}
	return agg, read, nil
}

// flowInput is one --flows argument: a file, standard input or a
// directory tree of flow log files.
type flowInput struct {
	name         string
	format       flows.Format
	logFormat    string
	since, until time.Time
	stdin        io.Reader
	dir          bool
}

// list returns the files of the input: itself, or the flow log files of a
// directory tree as VPC flow logs are delivered to S3
// (AWSLogs/<account>/vpcflowlogs/<region>/<yyyy>/<mm>/<dd>/*.log.gz), in
// path order. Parquet files are listed to be refused.
func (in *flowInput) list() ([]string, error) {
	if in.name == "-" {
		return []string{"-"}, nil
	}
	st, err := os.Stat(in.name)
	if err != nil {
		return nil, &document.Error{Source: model.Source{File: in.name}, Msg: cleanOpenError(err)}
	}
	if !st.IsDir() {
		return []string{in.name}, nil
	}
	in.dir = true
	var files []string
	err = filepath.WalkDir(in.name, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return &document.Error{Source: model.Source{File: path}, Msg: cleanOpenError(err)}
		}
		n := d.Name()
		if !d.IsDir() && (strings.HasSuffix(n, ".log") || strings.HasSuffix(n, ".log.gz") || strings.HasSuffix(n, ".parquet")) {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, &document.Error{Source: model.Source{File: in.name}, Msg: "no flow log files (.log, .log.gz) in the directory"}
	}
	sort.Strings(files)
	return files, nil
}

// empty is the error of an input that held no flow record.
func (in *flowInput) empty(files int, skipped []flows.Skip) error {
	msg := "holds no flow records"
	if in.dir {
		msg = fmt.Sprintf("its %d files hold no flow records", files)
	}
	var parts []string
	for _, sk := range skipped {
		parts = append(parts, fmt.Sprintf("%d %s", sk.Count, sk.Reason))
	}
	if len(parts) > 0 {
		msg += " (skipped: " + strings.Join(parts, "; ") + ")"
	}
	return &document.Error{Source: model.Source{File: in.name}, Msg: msg}
}

// fileResult is what reading one file gave.
type fileResult struct {
	agg     *traffic.Aggregator
	skipped []flows.Skip
	records uint64
	err     error
}

// read reads the files of the input into agg: one file at a time on
// standard input or a single file, in parallel across the files of a
// directory (one aggregator each, merged in path order so the output does
// not depend on scheduling), with one progress line on a terminal.
func (in *flowInput) read(ctx context.Context, errw io.Writer, idx *traffic.Index, files []string, agg *traffic.Aggregator) (fileResult, error) {
	var total int64
	for _, f := range files {
		if st, err := os.Stat(f); err == nil && f != "-" {
			total += st.Size()
		}
	}
	bar := newProgress(errw, in.name, total, len(files))
	defer bar.done()
	workers := min(runtime.GOMAXPROCS(0), len(files))
	results := make([]chan fileResult, len(files))
	for i := range results {
		results[i] = make(chan fileResult, 1)
	}
	stop := make(chan struct{})
	work := make(chan int)
	window := make(chan struct{}, 2*workers) // files read but not merged
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				results[i] <- in.readFile(files[i], idx, bar, stop)
			}
		}()
	}
	go func() {
		defer close(work)
		for i := range files {
			select {
			case window <- struct{}{}:
			case <-stop:
				return
			}
			select {
			case work <- i:
			case <-stop:
				return
			}
		}
	}()
	var out fileResult
	skips := map[string]int{}
	var err error
	for i := range files {
		var r fileResult
		select {
		case r = <-results[i]:
		case <-ctx.Done():
			err = ctx.Err()
		}
		if err == nil {
			err = r.err
		}
		if err != nil {
			break
		}
		<-window
		agg.Merge(r.agg)
		out.records += r.records
		for _, sk := range r.skipped {
			if j, ok := skips[sk.Reason]; ok {
				out.skipped[j].Count += sk.Count
				continue
			}
			skips[sk.Reason] = len(out.skipped)
			out.skipped = append(out.skipped, sk)
		}
		bar.fileDone()
	}
	close(stop)
	wg.Wait()
	return out, err
}

// readFile streams one file into an aggregator of its own.
func (in *flowInput) readFile(name string, idx *traffic.Index, bar *progress, stop <-chan struct{}) fileResult {
	var src io.Reader
	if name == "-" {
		src = in.stdin
	} else {
		file, err := os.Open(name)
		if err != nil {
			return fileResult{err: &document.Error{Source: model.Source{File: name}, Msg: cleanOpenError(err)}}
		}
		defer file.Close()
		src = file
	}
	r, err := flows.OpenLogFormat(src, name, in.format, in.logFormat)
	if err != nil {
		if in.dir && strings.Contains(err.Error(), "no flow records") {
			// An empty file of a delivery: nothing to read.
			return fileResult{agg: traffic.NewAggregator(idx)}
		}
		return fileResult{err: err}
	}
	if err := r.SetWindow(in.since, in.until); err != nil {
		return fileResult{err: err}
	}
	agg := traffic.NewAggregator(idx)
	var rec flows.Record
	var lastBytes int64
	var lastRecords uint64
	for n := 1; ; n++ {
		ok, err := r.Next(&rec)
		if err != nil {
			return fileResult{err: err}
		}
		if !ok {
			break
		}
		agg.Add(&rec, name)
		if n&0xffff == 0 {
			select {
			case <-stop:
				return fileResult{err: context.Canceled}
			default:
			}
			bar.add(r.BytesRead()-lastBytes, agg.Records-lastRecords)
			lastBytes, lastRecords = r.BytesRead(), agg.Records
		}
	}
	bar.add(r.BytesRead()-lastBytes, agg.Records-lastRecords)
	return fileResult{agg: agg, skipped: r.Skipped(), records: r.Records()}
}

func cleanOpenError(err error) string {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err.Error()
	}
	return err.Error()
}

// progress draws one line on a terminal, at most five times a second,
// for all the files of an input.
type progress struct {
	mu            sync.Mutex
	w             io.Writer
	on            bool
	name          string
	size, read    int64
	records       uint64
	files, filesN int
	last          time.Time
	drawn         bool
}

func newProgress(w io.Writer, name string, size int64, files int) *progress {
	p := &progress{w: w, name: name, size: size, filesN: files}
	if f, ok := unwrap(w).(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.on = true
	}
	return p
}

func (p *progress) add(read int64, records uint64) {
	if !p.on {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.read += read
	p.records += records
	p.draw()
}

func (p *progress) fileDone() {
	if !p.on {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.files++
	p.draw()
}

func (p *progress) draw() {
	if time.Since(p.last) < 200*time.Millisecond {
		return
	}
	p.last = time.Now()
	p.drawn = true
	files := ""
	if p.filesN > 1 {
		files = fmt.Sprintf(" %d/%d files,", p.files, p.filesN)
	}
	if p.size > 0 {
		// Compressed files are counted by what was read of them: a
		// gzip file's size is not its text's.
		pct := min(float64(p.read)*100/float64(p.size), 100)
		width := 30
		filled := int(pct / 100 * float64(width))
		bar := strings.Repeat("=", filled) + strings.Repeat(" ", width-filled)
		fmt.Fprintf(p.w, "\r%s [%s] %3.0f%%%s %d records", p.name, bar, pct, files, p.records)
		return
	}
	fmt.Fprintf(p.w, "\r%s:%s %d MB, %d records", p.name, files, p.read>>20, p.records)
}

func (p *progress) done() {
	if p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
	}
}
