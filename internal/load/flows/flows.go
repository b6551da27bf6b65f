// Package flows reads observed network flows as a stream, one record at a
// time, in bounded memory: AWS VPC Flow Logs (the default version-2 format,
// and custom formats with their header line), Hubble flows (`hubble observe
// -o json`) and a plain CSV (src, dst, protocol, port). Gzip-compressed
// input (flow logs delivered to S3) is read as it is.
package flows

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"math"
	"net/netip"
	"sort"
	"strings"
	"time"

	"github.com/ringfence/ringfence/internal/load/document"
	"github.com/ringfence/ringfence/internal/model"
)

// MaxLine bounds one input line. A VPC flow log record is a few hundred
// bytes; a Hubble flow with many labels a few kilobytes.
const MaxLine = 1 << 20

// Format is a flow input format.
type Format string

// The formats Open understands.
const (
	FormatAuto   Format = "auto"
	FormatVPC    Format = "vpc"
	FormatHubble Format = "hubble"
	FormatCSV    Format = "csv"
	// FormatCloudWatch: flow log records in CloudWatch Logs JSON, a
	// subscription payload (logEvents) or the output of `aws logs
	// filter-log-events` / `get-log-events` (events), each event's message
	// a record.
	FormatCloudWatch Format = "cloudwatch"
)

// Action is what the network did with a flow, when the input says.
type Action uint8

// Actions.
const (
	// ActionUnknown: the input does not say (CSV without an action column).
	ActionUnknown Action = iota
	// ActionAccept: VPC ACCEPT, Hubble FORWARDED (and other non-drop verdicts).
	ActionAccept
	// ActionReject: VPC REJECT, Hubble DROPPED or ERROR.
	ActionReject
)

// Orientation says whether a record is the opening direction of a
// connection or its replies.
type Orientation uint8

// Orientations.
const (
	// Unoriented: the input does not say; ports decide later.
	Unoriented Orientation = iota
	// Request: the source opened the connection (a SYN without ACK, a
	// Hubble flow that is not a reply, a CSV row).
	Request
	// Reply: the source answers a connection the destination opened.
	Reply
)

// IANA protocol numbers.
const (
	ProtoICMP   = 1
	ProtoTCP    = 6
	ProtoUDP    = 17
	ProtoICMPv6 = 58
	ProtoSCTP   = 132
)

// Record is one observed flow. Readers reuse the Record they fill: copy
// what must outlive the next call.
type Record struct {
	Src, Dst         netip.Addr
	SrcPort, DstPort uint16
	Proto            uint8
	Action           Action
	Orientation      Orientation
	// Count is how many flows the record stands for (a CSV count column;
	// 1 otherwise).
	Count uint64
	// SrcPod and DstPod are "namespace/pod" when the input names the pods
	// (Hubble); SrcWorkload and DstWorkload "namespace/Kind/name".
	SrcPod, DstPod           string
	SrcWorkload, DstWorkload string
	// Line is the record's line in its input.
	Line int
	// Start and End are the capture window of the record in Unix seconds,
	// read only when the reader filters by time (SetWindow); 0 otherwise.
	Start, End int64
}

// Skip counts records that carry no flow, by reason.
type Skip struct {
	Reason string `json:"reason"`
	Count  uint64 `json:"count"`
	// First is where the first such record is.
	First model.Source `json:"first"`
}

// Reader reads flow records from one input.
type Reader struct {
	name   string
	format Format
	br     *bufio.Reader
	counter
	line int
	next func(r *Reader, line []byte, rec *Record) (bool, error)
	// vpc is the field layout of a VPC flow log.
	vpc vpcLayout
	// csv is the column layout of a CSV.
	csv     csvLayout
	skips   map[string]*Skip
	pending []byte // the first line, read to detect the format
	// pendingStripped: the pending line's CloudWatch time is removed.
	pendingStripped bool
	closer          io.Closer
	// hubbleState is what reading Hubble lines keeps between lines.
	hubbleState *hubbleState
	// cw reads CloudWatch Logs JSON.
	cw *cloudWatch
	// records counts the records returned.
	records uint64
	// since and until bound the records' times when windowed.
	windowed     bool
	since, until int64
}

// counter counts the bytes read from the underlying input, for progress.
type counter struct {
	r io.Reader
	n int64
}

func (c *counter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// Open starts reading flows from r; name is used in errors. FormatAuto
// tells the format from the first line: `{` is Hubble JSON, a VPC flow log
// header or a version-2 record is a VPC flow log, a comma-separated header
// a CSV.
func Open(r io.Reader, name string, format Format) (*Reader, error) {
	return OpenLogFormat(r, name, format, "")
}

// CheckLogFormat says what is wrong with a flow log format, if anything.
func CheckLogFormat(logFormat string) error {
	_, err := customLayout(logFormat)
	return err
}

func customLayout(logFormat string) (*vpcLayout, error) {
	if logFormat = strings.TrimSpace(logFormat); logFormat == "" {
		return nil, nil
	}
	l, header, err := vpcHeader([]byte(logFormat))
	if err == nil && !header {
		err = fmt.Errorf("it names no srcaddr field")
	}
	if err != nil {
		return nil, fmt.Errorf("flow log format %q: %v", logFormat, err)
	}
	return &l, nil
}

// OpenLogFormat is Open for VPC flow log records in a custom format whose
// header line the input does not carry: CloudWatch Logs (a subscription
// payload, filter-log-events JSON, an export's timestamped lines) holds
// only the records. logFormat is the flow log's LogFormat as
// `aws ec2 describe-flow-logs` shows it (`${version} ${srcaddr} ...`; the
// names without ${} too). A header line in the input wins over it.
func OpenLogFormat(r io.Reader, name string, format Format, logFormat string) (*Reader, error) {
	rd := &Reader{name: name, skips: map[string]*Skip{}}
	custom, err := customLayout(logFormat)
	if err != nil {
		return nil, err
	}
	rd.counter.r = r
	br := bufio.NewReaderSize(&rd.counter, 64<<10)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return nil, rd.errorf(1, "gzip: %v", err)
		}
		rd.closer = gz
		br = bufio.NewReaderSize(gz, 64<<10)
	}
	if magic, _ := br.Peek(4); string(magic) == "PAR1" {
		return nil, rd.errorf(1, "%s", parquetRefusal)
	}
	rd.br = br
	first, err := rd.readLine()
	for err == nil && len(bytes.TrimSpace(first)) == 0 {
		first, err = rd.readLine()
	}
	if err == io.EOF {
		return nil, rd.errorf(0, "no flow records")
	}
	if err != nil {
		return nil, err
	}
	first = bytes.TrimSpace(first)
	if format == FormatAuto || format == "" {
		format = detect(first)
		if format == "" && custom != nil && len(first) > 0 && first[0] != '{' && first[0] != '[' && !bytes.ContainsRune(first, ',') {
			// A record of the custom format named by logFormat.
			format = FormatVPC
		}
		if format == "" {
			return nil, rd.errorf(rd.line, "not a flow input ringfence reads: want a VPC flow log (version 2 records, or a header line naming srcaddr and dstaddr), Hubble JSON lines (hubble observe -o json) or a CSV with a header (src,dst,protocol,port)")
		}
	}
	rd.format = format
	switch format {
	case FormatCloudWatch:
		rd.cw = newCloudWatch(io.MultiReader(bytes.NewReader(append(append([]byte(nil), first...), '\n')), rd.br), rd.line)
		if custom != nil {
			rd.vpc, rd.cw.layout = *custom, true
		}
	case FormatHubble:
		if custom != nil {
			return nil, rd.errorf(rd.line, "a flow log format names the fields of VPC flow log records; these are Hubble flows")
		}
		rd.next = (*Reader).hubble
		rd.pending = append([]byte(nil), first...)
	case FormatVPC:
		ts := timestamped(first)
		if ts {
			first = bytes.TrimLeft(first[bytes.IndexAny(first, " \t"):], " \t")
		}
		layout, header, err := vpcHeader(first)
		if err != nil {
			return nil, rd.errorf(rd.line, "%v", err)
		}
		if !header && custom != nil {
			layout = *custom
		}
		layout.timestamped = ts
		rd.vpc = layout
		rd.next = (*Reader).vpcRecord
		if !header {
			rd.pending = append([]byte(nil), first...)
			rd.pendingStripped = ts
		}
	case FormatCSV:
		if custom != nil {
			return nil, rd.errorf(rd.line, "a flow log format names the fields of VPC flow log records; this is a CSV, whose header names its columns")
		}
		layout, err := csvHeader(first)
		if err != nil {
			return nil, rd.errorf(rd.line, "%v", err)
		}
		rd.csv = layout
		rd.next = (*Reader).csvRecord
	default:
		return nil, fmt.Errorf("unknown flow format %q: use auto, vpc, hubble, csv or cloudwatch", format)
	}
	return rd, nil
}

// parquetRefusal says what to do with a Parquet file.
const parquetRefusal = "a Parquet file (flow logs delivered to S3 with file format parquet): ringfence reads flow logs as text. " +
	"Deliver them as plain text (the default .log.gz), or export them as CSV with the flow-log columns, which ringfence reads: " +
	"an Athena query's result CSV, or `duckdb -c \"COPY (SELECT * FROM 'file.parquet') TO 'file.csv' (HEADER)\"`"

func detect(first []byte) Format {
	switch {
	case isCloudWatchJSON(first):
		return FormatCloudWatch
	case len(first) > 0 && first[0] == '{':
		return FormatHubble
	case bytes.Contains(first, []byte("srcaddr")) && bytes.Contains(first, []byte("dstaddr")) && !bytes.ContainsRune(first, ','):
		return FormatVPC
	case bytes.ContainsRune(first, ','):
		return FormatCSV
	}
	f := bytes.Fields(first)
	if len(f) > 1 && timestamped(first) {
		f = f[1:]
		if bytes.Contains(first, []byte("srcaddr")) && bytes.Contains(first, []byte("dstaddr")) {
			return FormatVPC
		}
	}
	if len(f) == len(defaultVPC) && string(f[0]) == "2" {
		return FormatVPC
	}
	return ""
}

// isCloudWatchJSON tells CloudWatch Logs JSON from Hubble lines by its
// first line: a subscription payload (messageType, logEvents), the
// output of the logs CLI (an object whose first line is its brace, or
// that names events), or an array of events.
func isCloudWatchJSON(first []byte) bool {
	if len(first) == 0 || (first[0] != '{' && first[0] != '[') {
		return false
	}
	if first[0] == '[' || len(bytes.TrimSpace(first)) == 1 {
		return true
	}
	return bytes.Contains(first, []byte(`"logEvents"`)) || bytes.Contains(first, []byte(`"messageType"`)) || bytes.HasPrefix(first, []byte(`{"events"`)) || bytes.HasPrefix(first, []byte(`{ "events"`))
}

// timestamped tells a line prefixed with an ISO 8601 time, as CloudWatch
// Logs exports to S3 write each event ("2026-08-22T15:40:11.000Z 2 ...").
func timestamped(line []byte) bool {
	return len(line) > 20 && line[4] == '-' && line[7] == '-' && line[10] == 'T' && line[0] >= '0' && line[0] <= '9' && bytes.IndexAny(line, " \t") > 10
}

// Format returns the input's format.
func (r *Reader) Format() Format { return r.format }

// BytesRead is how much of the (possibly compressed) input has been read.
func (r *Reader) BytesRead() int64 { return r.counter.n }

// Next fills rec with the next record. It returns false at the end of the
// input. Lines that carry no flow (NODATA, blank lines, replies the input
// marks) are counted in Skipped, never dropped silently.
func (r *Reader) Next(rec *Record) (bool, error) {
	for {
		if r.cw != nil {
			ok, err := r.cloudWatchNext(rec)
			if !ok || err != nil {
				return false, err
			}
			if !r.inWindow(rec) {
				continue
			}
			r.records++
			return true, nil
		}
		var line []byte
		stripped := false
		if r.pending != nil {
			line, r.pending, stripped = r.pending, nil, r.pendingStripped
		} else {
			var err error
			line, err = r.readLine()
			if err == io.EOF {
				if r.closer != nil {
					r.closer.Close()
				}
				return false, nil
			}
			if err != nil {
				return false, err
			}
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		*rec = Record{Count: 1, Line: r.line}
		if r.vpc.timestamped && !stripped {
			var err error
			if line, err = r.stripTime(line, rec); err != nil {
				return false, err
			}
		}
		ok, err := r.next(r, line, rec)
		if err != nil {
			return false, err
		}
		if ok && r.inWindow(rec) {
			r.records++
			return true, nil
		}
	}
}

// Records is how many records Next has returned.
func (r *Reader) Records() uint64 { return r.records }

// SetWindow keeps only records whose capture window overlaps [since,
// until); a zero time leaves that end open. The records must carry times:
// VPC flow logs with start and end (or a CloudWatch timestamp), CSV with
// start/end columns.
func (r *Reader) SetWindow(since, until time.Time) error {
	if since.IsZero() && until.IsZero() {
		return nil
	}
	switch {
	case r.format == FormatHubble:
		return r.errorf(1, "--since/--until: ringfence does not read the times of Hubble flows; filter with hubble observe --since/--until")
	case r.format == FormatVPC && (r.vpc.start < 0 || r.vpc.end < 0) && !r.vpc.timestamped:
		return r.errorf(1, "--since/--until: the flow log format has no start and end fields")
	case r.format == FormatCSV && r.csv.start < 0 && r.csv.end < 0:
		return r.errorf(1, "--since/--until: the CSV has no start or end column")
	}
	r.windowed = true
	r.since, r.until = math.MinInt64, math.MaxInt64
	if !since.IsZero() {
		r.since = since.Unix()
	}
	if !until.IsZero() {
		r.until = until.Unix()
	}
	return nil
}

// inWindow reports whether a record is kept by the time window, counting
// it as skipped if not.
func (r *Reader) inWindow(rec *Record) bool {
	if !r.windowed {
		return true
	}
	end := rec.End
	if end == 0 {
		end = rec.Start
	}
	if end < r.since || rec.Start >= r.until {
		r.skip("records outside --since/--until")
		return false
	}
	return true
}

// stripTime removes the time a CloudWatch export puts before each record,
// keeping it as the record's time when the record has none.
func (r *Reader) stripTime(line []byte, rec *Record) ([]byte, error) {
	i := bytes.IndexAny(line, " \t")
	if i < 0 || !timestamped(line) {
		return nil, r.errorf(r.line, "want a time and a record (a CloudWatch Logs export), got %q", line)
	}
	if r.windowed {
		t, err := time.Parse(time.RFC3339Nano, string(line[:i]))
		if err != nil {
			return nil, r.errorf(r.line, "time %q: %v", line[:i], err)
		}
		rec.Start, rec.End = t.Unix(), t.Unix()
	}
	return bytes.TrimLeft(line[i:], " \t"), nil
}

// readLine returns the next line without its newline; the slice is valid
// until the next call.
func (r *Reader) readLine() ([]byte, error) {
	line, err := r.br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		// Long lines (Hubble flows with many labels) are joined up to
		// MaxLine.
		buf := append([]byte(nil), line...)
		for errors.Is(err, bufio.ErrBufferFull) {
			line, err = r.br.ReadSlice('\n')
			buf = append(buf, line...)
			if len(buf) > MaxLine {
				return nil, r.errorf(r.line+1, "line longer than %d bytes", MaxLine)
			}
		}
		line = buf
	}
	if err == io.EOF && len(line) > 0 {
		err = nil
	}
	if err != nil {
		if err == io.EOF {
			return nil, err
		}
		return nil, r.errorf(r.line+1, "%v", err)
	}
	r.line++
	return line, nil
}

func (r *Reader) skip(reason string) {
	s := r.skips[reason]
	if s == nil {
		s = &Skip{Reason: reason, First: model.Source{File: r.name, Line: r.line}}
		r.skips[reason] = s
	}
	s.Count++
}

// Skipped returns the records that carried no flow, by reason.
func (r *Reader) Skipped() []Skip {
	out := make([]Skip, 0, len(r.skips))
	for _, s := range r.skips {
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Reason < out[j].Reason })
	return out
}

func (r *Reader) errorf(line int, format string, args ...any) error {
	return &document.Error{Source: model.Source{File: r.name, Line: line}, Msg: fmt.Sprintf(format, args...)}
}

// ProtoName names an IANA protocol number.
func ProtoName(p uint8) string {
	switch p {
	case ProtoTCP:
		return "TCP"
	case ProtoUDP:
		return "UDP"
	case ProtoSCTP:
		return "SCTP"
	case ProtoICMP:
		return "ICMP"
	case ProtoICMPv6:
		return "ICMPv6"
	}
	return fmt.Sprintf("protocol %d", p)
}

// ParseProto reads a protocol name or number.
func ParseProto(s string) (uint8, bool) {
	switch strings.ToUpper(s) {
	case "TCP":
		return ProtoTCP, true
	case "UDP":
		return ProtoUDP, true
	case "SCTP":
		return ProtoSCTP, true
	case "ICMP", "ICMPV4":
		return ProtoICMP, true
	case "ICMPV6":
		return ProtoICMPv6, true
	}
	n, ok := atoi([]byte(s))
	if !ok || n > 255 {
		return 0, false
	}
	return uint8(n), true
}

// atoi64 parses a non-negative decimal number of at most 18 digits.
func atoi64(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// atoi parses a non-negative decimal number of at most 9 digits.
func atoi(b []byte) (int, bool) {
	if len(b) == 0 || len(b) > 9 {
		return 0, false
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// parseAddr parses an address without allocating for IPv4; it accepts
// what netip.ParseAddr accepts (no zones), IPv4-mapped IPv6 as IPv4.
func parseAddr(b []byte) (netip.Addr, bool) {
	var v4 [4]byte
	part, n, digits := 0, 0, 0
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9' && !(digits == 1 && n == 0) && n*10+int(c-'0') <= 255:
			n = n*10 + int(c-'0')
			digits++
		case c == '.' && digits > 0 && part < 3:
			v4[part] = byte(n)
			part, n, digits = part+1, 0, 0
		default:
			return parseSlow(b)
		}
	}
	if part != 3 || digits == 0 {
		return parseSlow(b)
	}
	v4[3] = byte(n)
	return netip.AddrFrom4(v4), true
}

// parseSlow parses IPv6 and whatever the fast path refused.
func parseSlow(b []byte) (netip.Addr, bool) {
	a, err := netip.ParseAddr(string(b))
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}
