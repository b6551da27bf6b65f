package flows

// flat reads a plain line (see hubbleScanner.plain) written compactly, with
// no white space between tokens, as hubble prints it: one loop over the
// tokens with an explicit stack, so that no member costs a function call.
// It takes the same lines as the recursive scanner, or fewer: anything
// else (white space, nesting deeper than 63 levels inside a skipped value)
// it refuses, and the recursive scanner reads the line. On false v is
// undefined.
func (v *hubbleView) flat(s *hubbleScanner) bool {
	b := s.b
	// A container ringfence reads. Skipped containers are not pushed:
	// skip counts those open above the top frame and skipArr tells, bit
	// d for depth d+1, whether each is an array.
	type frame struct {
		keys *keySet
		kind uint8
		arr  bool
		seen uint32
		// first: a workloads array has had no element yet, or a
		// workload is the first, the one kept.
		first bool
		fv    *hubbleFlowView
		pv    *hubblePortsView
		ev    *hubbleEndpointView
	}
	var st [8]frame
	sp := -1
	skip := 0
	var skipArr uint64
	// any is set while skipping an event, which encoding/json decodes
	// into an interface (see hubbleScanner.inAny).
	any := false
	var endpoint bool // an endpoint object's presence, not kept

	// What the value at i must be, and where it goes.
	want := fLine
	var (
		wt   *[]byte
		wb   *bool
		wp16 *uint16
		wkey = &lineKeys
		wkin = uint8(kLine)
		wpr  *bool
		wfv  *hubbleFlowView
		wpv  *hubblePortsView
		wev  *hubbleEndpointView
	)
	i := 0

value:
	if i >= len(b) {
		return false
	}
	c := b[i]
	// Every value but the line and a workload may be null, which leaves
	// what it would set as it is.
	if c == 'n' && want > fWorkload {
		if i = s.null(i); i < 0 {
			return false
		}
		goto after
	}
	switch want {
	case fSkip:
		switch c {
		case '"':
			j := s.quoteAfter(i + 1)
			if j < 0 {
				return false
			}
			i = j + 1
		case '{', '[':
			if skip >= 63 {
				return false
			}
			if c == '[' {
				skipArr |= 1 << skip
			} else {
				skipArr &^= 1 << skip
			}
			skip++
			i++
			if i < len(b) && b[i] == c+2 { // '}' or ']'
				skip--
				i++
				break
			}
			if c == '{' {
				goto member
			}
			goto value
		case 't':
			if i = s.lit(i, "true"); i < 0 {
				return false
			}
		case 'f':
			if i = s.lit(i, "false"); i < 0 {
				return false
			}
		default:
			s.inAny = any
			if i = s.number(i); i < 0 {
				return false
			}
		}
	case fText:
		if c != '"' {
			return false
		}
		j := s.quoteAfter(i + 1)
		if j < 0 {
			return false
		}
		if wt != nil {
			*wt = b[i+1 : j]
		}
		i = j + 1
	case fBool:
		if i = s.boolean(i, wb); i < 0 {
			return false
		}
	case fIsReply:
		wfv.isReplySet = true
		if i = s.boolean(i, &wfv.isReply); i < 0 {
			return false
		}
	case fPort:
		if i = s.port(i, wp16); i < 0 {
			return false
		}
	case fEvent:
		v.event, any, want = true, true, fSkip
		goto value
	case fLine, fObject, fWorkload:
		if c != '{' || sp+1 >= len(st) {
			return false
		}
		sp++
		f := &st[sp]
		*f = frame{keys: wkey, kind: wkin, fv: wfv, pv: wpv, ev: wev}
		switch want {
		case fObject:
			*wpr = true
		case fWorkload:
			if w := &st[sp-1]; w.first {
				w.first, f.first = false, true
				wev.workload = true
			}
		}
		i++
		if i < len(b) && b[i] == '}' {
			sp--
			i++
			break
		}
		goto member
	case fWorkloads:
		if c != '[' || sp+1 >= len(st) {
			return false
		}
		sp++
		st[sp] = frame{kind: kWorkloads, arr: true, first: true, ev: wev}
		i++
		if i < len(b) && b[i] == ']' {
			sp--
			i++
			break
		}
		want, wkey, wkin = fWorkload, &workloadKeys, kWorkload
		goto value
	default:
		return false
	}
	goto after

member:
	// At the quote of a key: the first member of an object, or one after
	// a comma.
	{
		if i >= len(b) || b[i] != '"' {
			return false
		}
		j := s.quoteAfter(i + 1)
		if j < 0 || j+1 >= len(b) || b[j+1] != ':' {
			return false
		}
		key := b[i+1 : j]
		i = j + 2
		if skip > 0 {
			want = fSkip
			goto value
		}
		f := &st[sp]
		k := f.keys.index(key)
		switch {
		case k == -1:
			want = fSkip
			goto value
		case k < 0, f.seen&(1<<k) != 0:
			return false
		}
		f.seen |= 1 << k
		fv := f.fv
		switch f.kind {
		case kLine:
			switch {
			case k == 7: // flow
				want, wkey, wkin, wpr, wfv, wpv, wev = fObject, &flowKeys, kFlow, &v.hasFlow, &v.flow, nil, nil
				goto value
			case k >= 8: // agent_event, debug_event, lost_events, node_status
				want = fEvent
				goto value
			}
			fv = &v.top
			fallthrough
		case kFlow:
			switch k {
			case 0: // verdict
				want, wt = fText, &fv.verdict
			case 1: // IP
				want, wkey, wkin, wpr, wfv, wpv, wev = fObject, &ipKeys, kIP, &fv.ip, fv, nil, nil
			case 2: // l4
				want, wkey, wkin, wpr, wfv, wpv, wev = fObject, &l4Keys, kL4, &fv.l4, fv, nil, nil
			case 3: // source
				want, wkey, wkin, wpr, wfv, wpv, wev = fObject, &endpointKeys, kEndpoint, &endpoint, nil, nil, &fv.source
			case 4: // destination
				want, wkey, wkin, wpr, wfv, wpv, wev = fObject, &endpointKeys, kEndpoint, &endpoint, nil, nil, &fv.destination
			case 5: // is_reply
				want, wfv = fIsReply, fv
			default: // reply
				want, wb = fBool, &fv.reply
			}
		case kIP:
			want, wt = fText, &fv.src
			if k == 1 {
				wt = &fv.dst
			}
		case kL4:
			want, wkey, wkin, wfv, wev = fObject, &portsKeys, kPorts, nil, nil
			switch k {
			case 0: // TCP
				wpv = &fv.tcp
			case 1: // UDP
				wpv = &fv.udp
			case 2: // SCTP
				wpv = &fv.sctp
			case 3: // ICMPv4
				wkey, wkin, wpv, wpr = &noKeys, kEmpty, nil, &fv.icmpv4
				goto value
			default: // ICMPv6
				wkey, wkin, wpv, wpr = &noKeys, kEmpty, nil, &fv.icmpv6
				goto value
			}
			wpr = &wpv.present
		case kPorts:
			pv := f.pv
			switch k {
			case 0: // source_port
				want, wp16 = fPort, &pv.sport
			case 1: // destination_port
				want, wp16 = fPort, &pv.dport
			default: // flags
				want, wkey, wkin, wpr, wfv, wpv, wev = fObject, &flagsKeys, kFlags, &pv.flags, nil, pv, nil
			}
		case kFlags:
			want, wb = fBool, &f.pv.syn
			if k == 1 {
				wb = &f.pv.ack
			}
		case kEndpoint:
			switch k {
			case 0: // namespace
				want, wt = fText, &f.ev.namespace
			case 1: // pod_name
				want, wt = fText, &f.ev.pod
			default: // workloads
				want, wev = fWorkloads, f.ev
			}
		case kWorkload:
			// The names of workloads after the first are read, not
			// kept (wt nil).
			want, wt = fText, nil
			if f.first {
				wt = &f.ev.wname
				if k == 1 {
					wt = &f.ev.wkind
				}
			}
		default:
			return false
		}
		goto value
	}

after:
	// After a value: a comma, or the close of its container.
	if sp < 0 {
		return i == len(b)
	}
	if i >= len(b) {
		return false
	}
	if skip > 0 {
		arr := skipArr>>(skip-1)&1 != 0
		switch c := b[i]; {
		case c == ',':
			i++
			if arr {
				want = fSkip
				goto value
			}
			goto member
		case c == '}' && !arr, c == ']' && arr:
			skip--
			i++
			goto after
		}
		return false
	}
	any = false
	{
		f := &st[sp]
		switch c := b[i]; {
		case c == ',':
			i++
			if f.arr {
				want, wkey, wkin, wev = fWorkload, &workloadKeys, kWorkload, f.ev
				goto value
			}
			goto member
		case c == '}' && !f.arr, c == ']' && f.arr:
			sp--
			i++
			goto after
		}
	}
	return false
}

// What flat wants of the next value.
const (
	fLine      = iota // the line's object
	fWorkload         // a workload object
	fSkip             // any value, validated and skipped
	fText             // a string or null, kept
	fBool             // true, false or null
	fIsReply          // is_reply: null, or a boolean that sets isReplySet
	fPort             // a port or null
	fEvent            // an event: null, or any value that marks the line as one
	fObject           // an object ringfence reads, or null
	fWorkloads        // an array of workloads, or null
)

// The containers flat reads.
const (
	kLine = iota
	kFlow
	kIP
	kL4
	kPorts
	kFlags
	kEndpoint
	kWorkloads
	kWorkload
	kEmpty // ICMPv4, ICMPv6: members skipped
)
