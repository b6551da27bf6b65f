package flows

import (
	"bytes"
	"fmt"
	"strings"
)

// csvLayout is the column of each field; -1 when absent.
type csvLayout struct {
	names                         []string
	src, dst, proto, port         int
	srcPort, count, action, total int
	status, flags, start, end     int
	// flowLog: the columns are a VPC flow log's (an Athena query's result,
	// a Parquet file exported): a row is a record of one direction, not
	// a connection as its opener made it.
	flowLog bool
	buf     [][]byte
}

// csvColumns are the accepted header names of each column.
// The flow-log columns are those of the Athena tables AWS documents for
// VPC flow logs (version, account_id, interface_id, srcaddr, ...,
// log_status; older tables: sourceaddress, destinationport, logstatus).
var csvColumns = map[string][]string{
	"src":        {"src", "source", "src_ip", "srcaddr", "source_ip", "sourceaddress", "pkt_srcaddr"},
	"dst":        {"dst", "destination", "dst_ip", "dstaddr", "destination_ip", "destinationaddress", "pkt_dstaddr"},
	"protocol":   {"protocol", "proto"},
	"port":       {"port", "dst_port", "dstport", "dport", "destination_port", "destinationport"},
	"src_port":   {"src_port", "srcport", "sport", "source_port", "sourceport"},
	"count":      {"count", "flows", "records"},
	"action":     {"action", "verdict"},
	"log_status": {"log_status", "logstatus", "log-status"},
	"tcp_flags":  {"tcp_flags", "tcpflags", "tcp-flags"},
	"start":      {"start", "starttime", "start_time"},
	"end":        {"end", "endtime", "end_time"},
	"flowlog":    {"interface_id", "interfaceid", "interface-id", "account_id", "account-id", "log_status", "logstatus", "log-status"},
}

func csvHeader(line []byte) (csvLayout, error) {
	l := csvLayout{src: -1, dst: -1, proto: -1, port: -1, srcPort: -1, count: -1, action: -1, status: -1, flags: -1, start: -1, end: -1}
	flowLog := -1
	cols := map[string]*int{"src": &l.src, "dst": &l.dst, "protocol": &l.proto, "port": &l.port, "src_port": &l.srcPort, "count": &l.count, "action": &l.action,
		"log_status": &l.status, "tcp_flags": &l.flags, "start": &l.start, "end": &l.end, "flowlog": &flowLog}
	for i, f := range bytes.Split(line, []byte(",")) {
		name := strings.ToLower(strings.Trim(strings.TrimSpace(string(f)), `"`))
		l.names = append(l.names, name)
		for col, aliases := range csvColumns {
			for _, a := range aliases {
				// The first column of a name wins (srcaddr before
				// pkt_srcaddr, as the flow log reader reads them).
				if name == a && *cols[col] < 0 {
					*cols[col] = i
				}
			}
		}
	}
	l.flowLog = flowLog >= 0
	l.total = len(l.names)
	if l.src < 0 || l.dst < 0 || l.proto < 0 || l.port < 0 {
		return l, fmt.Errorf("the CSV header %q lacks a column: want src, dst, protocol and port (optional: src_port, count, action)", line)
	}
	l.buf = make([][]byte, 0, l.total)
	return l, nil
}

func (r *Reader) csvRecord(line []byte, rec *Record) (bool, error) {
	l := &r.csv
	f := l.buf[:0]
	for {
		i := bytes.IndexByte(line, ',')
		field := line
		if i >= 0 {
			field = line[:i]
		}
		field = bytes.TrimSpace(field)
		if len(field) >= 2 && field[0] == '"' && field[len(field)-1] == '"' {
			field = field[1 : len(field)-1]
		}
		f = append(f, field)
		if i < 0 {
			break
		}
		line = line[i+1:]
	}
	l.buf = f
	if len(f) != l.total {
		return false, r.errorf(r.line, "%d columns, want the %d of the header (%s)", len(f), l.total, strings.Join(l.names, ","))
	}
	if l.flowLog {
		if l.status >= 0 {
			switch strings.ToUpper(string(f[l.status])) {
			case "NODATA":
				r.skip("NODATA (no traffic on the interface in the capture window)")
				return false, nil
			case "SKIPDATA":
				r.skip("SKIPDATA (AWS skipped records in the capture window: flows are missing from the log)")
				return false, nil
			}
		}
		if empty(f[l.src]) || empty(f[l.dst]) || empty(f[l.proto]) {
			r.skip("no addresses or protocol (-)")
			return false, nil
		}
	}
	var ok bool
	if rec.Src, ok = parseAddr(f[l.src]); !ok {
		return false, r.errorf(r.line, "%s %q is not an IP address", l.names[l.src], f[l.src])
	}
	if rec.Dst, ok = parseAddr(f[l.dst]); !ok {
		return false, r.errorf(r.line, "%s %q is not an IP address", l.names[l.dst], f[l.dst])
	}
	if rec.Proto, ok = ParseProto(string(f[l.proto])); !ok {
		return false, r.errorf(r.line, "%s %q: want TCP, UDP, SCTP, ICMP or an IANA protocol number", l.names[l.proto], f[l.proto])
	}
	port := func(i int) (uint16, error) {
		if i < 0 || empty(f[i]) {
			return 0, nil
		}
		n, ok := atoi(f[i])
		if !ok || n > 65535 {
			return 0, r.errorf(r.line, "%s %q is not a port", l.names[i], f[i])
		}
		return uint16(n), nil
	}
	var err error
	if rec.DstPort, err = port(l.port); err != nil {
		return false, err
	}
	if rec.DstPort == 0 && (rec.Proto == ProtoTCP || rec.Proto == ProtoUDP || rec.Proto == ProtoSCTP) {
		return false, r.errorf(r.line, "%s: a %s flow needs a destination port", l.names[l.port], ProtoName(rec.Proto))
	}
	if rec.SrcPort, err = port(l.srcPort); err != nil {
		return false, err
	}
	if l.count >= 0 && len(f[l.count]) > 0 {
		n, ok := atoi(f[l.count])
		if !ok {
			return false, r.errorf(r.line, "%s %q is not a count", l.names[l.count], f[l.count])
		}
		rec.Count = uint64(n)
	}
	if l.action >= 0 {
		switch strings.ToUpper(string(f[l.action])) {
		case "ACCEPT", "ALLOW", "ALLOWED", "FORWARDED":
			rec.Action = ActionAccept
		case "REJECT", "DENY", "DENIED", "DROP", "DROPPED":
			rec.Action = ActionReject
		case "", "-":
		default:
			return false, r.errorf(r.line, "%s %q: want ACCEPT or REJECT", l.names[l.action], f[l.action])
		}
	}
	if r.windowed {
		if err := r.times(f, l.names, l.start, l.end, empty, rec); err != nil {
			return false, err
		}
	}
	if !l.flowLog {
		// A row is a connection as its opener made it.
		rec.Orientation = Request
		return true, nil
	}
	// A flow log's row is one direction of a connection, as in the log.
	if l.flags >= 0 && rec.Proto == ProtoTCP && !empty(f[l.flags]) {
		flags, ok := atoi(f[l.flags])
		if !ok {
			return false, r.errorf(r.line, "%s %q is not a number", l.names[l.flags], f[l.flags])
		}
		rec.Orientation = tcpOrientation(flags)
	}
	return true, nil
}

func empty(b []byte) bool { return len(b) == 0 || dash(b) }
