package flows

import (
	"encoding/json"
	"strings"
)

// hubbleOracle is the decoder hubble.go had before its scanner (encoding/json
// into the structs, plus the camelCase fold and node status events), kept as
// the oracle the scanner is checked against.
func (r *Reader) hubbleOracle(line []byte, rec *Record) (bool, error) {
	var l hubbleLine
	if err := json.Unmarshal(line, &l); err != nil {
		return false, r.errorf(r.line, "not a Hubble flow (hubble observe -o json): %v", err)
	}
	f := l.Flow
	if f == nil {
		if l.event() {
			r.skip("Hubble events that are not flows (agent, debug, lost events, node status)")
			return false, nil
		}
		f = &l.hubbleFlow
	}
	f.fold()
	if f.IP == nil {
		r.skip("Hubble flows without IP addresses (L2 or L7-only events)")
		return false, nil
	}
	var ok bool
	if rec.Src, ok = parseAddr([]byte(f.IP.Source)); !ok {
		return false, r.errorf(r.line, "flow.IP.source %q is not an IP address", f.IP.Source)
	}
	if rec.Dst, ok = parseAddr([]byte(f.IP.Destination)); !ok {
		return false, r.errorf(r.line, "flow.IP.destination %q is not an IP address", f.IP.Destination)
	}
	var ports *hubblePorts
	switch {
	case f.L4 == nil:
		r.skip("Hubble flows without a layer-4 header")
		return false, nil
	case f.L4.TCP != nil:
		rec.Proto, ports = ProtoTCP, f.L4.TCP
	case f.L4.UDP != nil:
		rec.Proto, ports = ProtoUDP, f.L4.UDP
	case f.L4.SCTP != nil:
		rec.Proto, ports = ProtoSCTP, f.L4.SCTP
	case f.L4.ICMPv4 != nil:
		rec.Proto = ProtoICMP
	case f.L4.ICMPv6 != nil:
		rec.Proto = ProtoICMPv6
	default:
		r.skip("Hubble flows of other layer-4 protocols")
		return false, nil
	}
	if ports != nil {
		rec.SrcPort, rec.DstPort = ports.SourcePort, ports.DestinationPort
	}
	switch f.Verdict {
	case "DROPPED", "ERROR":
		rec.Action = ActionReject
	case "FORWARDED", "TRANSLATED", "REDIRECTED", "TRACED", "AUDIT":
		rec.Action = ActionAccept
	}
	switch {
	case f.IsReply != nil && *f.IsReply, f.IsReply == nil && f.Reply:
		rec.Orientation = Reply
	case f.IsReply != nil:
		rec.Orientation = Request
	case ports != nil && ports.Flags != nil && ports.Flags.SYN:
		rec.Orientation = Request
		if ports.Flags.ACK {
			rec.Orientation = Reply
		}
	}
	rec.SrcPod, rec.SrcWorkload = oracleNames(f.Source)
	rec.DstPod, rec.DstWorkload = oracleNames(f.Destination)
	return true, nil
}

func oracleNames(e *hubbleEndpoint) (pod, workload string) {
	if e == nil || e.Namespace == "" {
		return "", ""
	}
	if e.PodName != "" {
		pod = e.Namespace + "/" + e.PodName
	}
	if len(e.Workloads) > 0 && e.Workloads[0].Name != "" {
		workload = e.Namespace + "/" + strings.TrimSpace(e.Workloads[0].Kind) + "/" + e.Workloads[0].Name
	}
	return pod, workload
}
