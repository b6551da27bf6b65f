package flows

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
)

// defaultVPC is the field list of the default (version 2) flow log format.
var defaultVPC = []string{"version", "account-id", "interface-id", "srcaddr", "dstaddr", "srcport", "dstport", "protocol", "packets", "bytes", "start", "end", "action", "log-status"}

// vpcLayout says where each field a record needs sits; -1 when absent.
type vpcLayout struct {
	names                         []string
	src, dst, pktSrc, pktDst      int
	srcPort, dstPort, proto       int
	action, status, flags, fields int
	start, end                    int
	// timestamped: each line starts with a time (a CloudWatch export).
	timestamped bool
	buf         [][]byte
}

// vpcHeader reads the layout from a header line (custom formats delivered
// to S3 start with one; its names may be written ${name} as in the format
// string), or returns the default layout when the line is a record.
func vpcHeader(line []byte) (vpcLayout, bool, error) {
	names := defaultVPC
	header := false
	if bytes.Contains(line, []byte("srcaddr")) {
		header = true
		names = nil
		for _, f := range bytes.Fields(line) {
			n := strings.TrimSuffix(strings.TrimPrefix(string(f), "${"), "}")
			names = append(names, n)
		}
	}
	l := vpcLayout{names: names, src: -1, dst: -1, pktSrc: -1, pktDst: -1, srcPort: -1, dstPort: -1, proto: -1, action: -1, status: -1, flags: -1, start: -1, end: -1, fields: len(names)}
	for i, n := range names {
		switch n {
		case "srcaddr":
			l.src = i
		case "dstaddr":
			l.dst = i
		case "pkt-srcaddr":
			l.pktSrc = i
		case "pkt-dstaddr":
			l.pktDst = i
		case "srcport":
			l.srcPort = i
		case "dstport":
			l.dstPort = i
		case "protocol":
			l.proto = i
		case "action":
			l.action = i
		case "log-status":
			l.status = i
		case "tcp-flags":
			l.flags = i
		case "start":
			l.start = i
		case "end":
			l.end = i
		}
	}
	var missing []string
	for n, i := range map[string]int{"srcaddr": l.src, "dstaddr": l.dst, "dstport": l.dstPort, "protocol": l.proto} {
		if i < 0 {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		return l, header, fmt.Errorf("the VPC flow log header lacks %s: ringfence needs srcaddr, dstaddr, dstport and protocol", strings.Join(sortStrings(missing), ", "))
	}
	l.buf = make([][]byte, 0, len(names))
	return l, header, nil
}

// isVPCHeader tells a header line from a record: records start with a
// number, an address or "-"; a header names srcaddr and dstaddr. Files
// concatenated (zcat *.log.gz) repeat their header lines.
func isVPCHeader(line []byte) bool {
	c := line[0]
	if c >= '0' && c <= '9' || c == '-' || c == ':' {
		return false
	}
	return bytes.Contains(line, []byte("srcaddr")) && bytes.Contains(line, []byte("dstaddr"))
}

// vpcRecord parses one space-separated record.
func (r *Reader) vpcRecord(line []byte, rec *Record) (bool, error) {
	if len(line) > 0 && isVPCHeader(line) {
		layout, _, err := vpcHeader(line)
		if err != nil {
			return false, r.errorf(r.line, "%v", err)
		}
		layout.timestamped = r.vpc.timestamped
		r.vpc = layout
		r.skip("header lines (of files read one after another)")
		return false, nil
	}
	l := &r.vpc
	f := l.buf[:0]
	for i := 0; i < len(line); {
		for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
			i++
		}
		if i == len(line) {
			break
		}
		j := i
		for j < len(line) && line[j] != ' ' && line[j] != '\t' {
			j++
		}
		if len(f) == l.fields {
			return false, r.errorf(r.line, "more than the %d fields of the format (%s)", l.fields, strings.Join(l.names, " "))
		}
		f = append(f, line[i:j])
		i = j
	}
	l.buf = f
	if len(f) != l.fields {
		return false, r.errorf(r.line, "%d fields, want the %d of the format (%s)", len(f), l.fields, strings.Join(l.names, " "))
	}
	if l.status >= 0 {
		switch string(f[l.status]) {
		case "OK":
		case "NODATA":
			r.skip("NODATA (no traffic on the interface in the capture window)")
			return false, nil
		case "SKIPDATA":
			r.skip("SKIPDATA (AWS skipped records in the capture window: flows are missing from the log)")
			return false, nil
		default:
			return false, r.errorf(r.line, "log-status %q: want OK, NODATA or SKIPDATA", f[l.status])
		}
	}
	addr := func(i, pkt int, what string) (bool, error) {
		if pkt >= 0 && !dash(f[pkt]) {
			i = pkt
		}
		if dash(f[i]) {
			return false, nil
		}
		a, ok := parseAddr(f[i])
		if !ok {
			return false, r.errorf(r.line, "%s %q is not an IP address", l.names[i], f[i])
		}
		if what == "src" {
			rec.Src = a
		} else {
			rec.Dst = a
		}
		return true, nil
	}
	okSrc, err := addr(l.src, l.pktSrc, "src")
	if err != nil {
		return false, err
	}
	okDst, err := addr(l.dst, l.pktDst, "dst")
	if err != nil {
		return false, err
	}
	if !okSrc || !okDst || dash(f[l.proto]) {
		r.skip("no addresses or protocol (-)")
		return false, nil
	}
	p, ok := atoi(f[l.proto])
	if !ok || p > 255 {
		return false, r.errorf(r.line, "protocol %q is not an IANA protocol number", f[l.proto])
	}
	rec.Proto = uint8(p)
	port := func(i int) (uint16, error) {
		if i < 0 || dash(f[i]) {
			return 0, nil
		}
		n, ok := atoi(f[i])
		if !ok || n > 65535 {
			return 0, r.errorf(r.line, "%s %q is not a port", l.names[i], f[i])
		}
		return uint16(n), nil
	}
	if rec.SrcPort, err = port(l.srcPort); err != nil {
		return false, err
	}
	if rec.DstPort, err = port(l.dstPort); err != nil {
		return false, err
	}
	if l.action >= 0 {
		switch string(f[l.action]) {
		case "ACCEPT":
			rec.Action = ActionAccept
		case "REJECT":
			rec.Action = ActionReject
		case "-":
		default:
			return false, r.errorf(r.line, "action %q: want ACCEPT or REJECT", f[l.action])
		}
	}
	if r.windowed {
		if err := r.times(f, l.names, l.start, l.end, dash, rec); err != nil {
			return false, err
		}
	}
	if l.flags >= 0 && rec.Proto == ProtoTCP && !dash(f[l.flags]) {
		flags, ok := atoi(f[l.flags])
		if !ok {
			return false, r.errorf(r.line, "tcp-flags %q is not a number", f[l.flags])
		}
		rec.Orientation = tcpOrientation(flags)
	}
	return true, nil
}

// tcpOrientation reads a flow log's tcp-flags: SYN is 2 and SYN-ACK 18,
// OR-ed over the capture window with FIN (1) and RST (4); ACK alone is not
// recorded, so a long-lived connection's records carry 0 or FIN only and
// say nothing.
func tcpOrientation(flags int) Orientation {
	switch {
	case flags&18 == 18:
		return Reply
	case flags&2 == 2:
		return Request
	}
	return Unoriented
}

func dash(b []byte) bool { return len(b) == 1 && b[0] == '-' }

func sortStrings(s []string) []string {
	sort.Strings(s)
	return s
}

// times reads a record's start and end columns (-1 when the format has
// none) for --since/--until; a blank value leaves the time unset.
func (r *Reader) times(f [][]byte, names []string, start, end int, blank func([]byte) bool, rec *Record) error {
	for _, t := range [2]struct {
		i int
		v *int64
	}{{start, &rec.Start}, {end, &rec.End}} {
		if t.i < 0 || blank(f[t.i]) {
			continue
		}
		n, ok := atoi64(f[t.i])
		if !ok {
			return r.errorf(r.line, "%s %q is not a time in Unix seconds", names[t.i], f[t.i])
		}
		*t.v = n
	}
	return nil
}
