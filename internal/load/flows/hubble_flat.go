package flows

import "encoding/binary"

// flat reads a plain line (see hubbleScanner.plain) written compactly, with
// no white space between tokens, as hubble prints it: one loop over the
// members of the objects ringfence reads, with an explicit stack. A
// member's value that is a string, a number or a literal is read where its
// key is, and a value ringfence does not read is validated and skipped by
// the same loop (at skip), with a depth counter rather than a frame a
// container. The loop calls no function: Go keeps no register across a
// call, so every call in it would make the compiler store and reload the
// loop's variables at every member. It takes the same lines as the
// recursive scanner, or fewer: anything else (white space, a number other
// than an integer in a value it skips, nesting deeper than 63 levels
// inside a skipped value, a key that matches a name but for case) it
// refuses, and the recursive scanner reads the line. On false v is
// undefined.
func (v *hubbleView) flat(s *hubbleScanner) bool {
	b, q := s.b, s.quotes
	// A container ringfence reads. Skipped containers are not pushed.
	type frame struct {
		kind uint8
		// first: a workloads array has had no element yet, or a
		// workload is the first, the one kept.
		first bool
		seen  uint32
		fv    *hubbleFlowView
		pv    *hubblePortsView
		ev    *hubbleEndpointView
	}
	var st [6]frame
	if len(b) < 2 || b[0] != '{' {
		return false
	}
	st[0].kind = kLine
	sp := 0
	i := 1
	// Where the string value at text goes; discard takes the names of
	// workloads after the first, read and not kept.
	var t *[]byte
	var discard []byte
	// Where the boolean at boolean and the port at port go.
	var wb *bool
	var wp *uint16
	// The object the value opens, if it is one ringfence reads, and the
	// flow the object of the member at hand belongs to.
	var open frame
	var fv *hubbleFlowView
	// The containers open in a value skipped (see skip).
	var depth int
	var arr uint64
	if b[i] == '}' {
		return len(b) == 2
	}

member:
	// At the quote of a key: the first member of an object, or one after
	// a comma. (Written out rather than calling functions: Go saves no
	// register across a call, so each call would store and reload the
	// loop's variables.)
	{
		if i >= len(b) || b[i] != '"' {
			return false
		}
		j := quoteAfter(q, i+1)
		if j < 0 || j+2 >= len(b) || b[j+1] != ':' {
			return false
		}
		f := &st[sp]
		// keySet.index, written out with no call on any path, the
		// key's 16 bytes read in place and masked to its length: a key
		// longer than any name names none (all the line's bytes are
		// ASCII, which folds only to bytes of the same length), and a
		// key that matches a name but for case is left to the
		// recursive scanner.
		ks := flatKeys[f.kind]
		k := -1
		if n := j - i - 1; uint(n-1) < keySetMaxLen {
			var lo, hi uint64
			if i+17 <= len(b) {
				w := b[i+1 : i+17 : i+17]
				lo = binary.LittleEndian.Uint64(w[:8]) & loMask[n&31]
				hi = binary.LittleEndian.Uint64(w[8:]) & hiMask[n&31]
			} else {
				for m, c := range b[i+1 : j] {
					if m < 8 {
						lo |= uint64(c) << (8 * m)
					} else {
						hi |= uint64(c) << (8 * (m - 8))
					}
				}
			}
			if e := &ks.tab[((lo|ones*0x20)^uint64(n))*ks.mul>>58]; len(e.name) == n {
				switch d := (lo ^ e.lo) | (hi ^ e.hi); {
				case d == 0:
					k = e.member
				case d&^(ones*0x20) == 0:
					return false
				}
			}
		}
		i = j + 2
		if k < 0 {
			// Skipped: most such values are strings.
			if b[i] == '"' {
				if i = quoteAfter(q, i+1); i < 0 {
					return false
				}
				i++
				goto leaf
			}
			goto skip
		}
		if f.seen&(1<<k) != 0 {
			return false
		}
		f.seen |= 1 << k
		// Every member ringfence reads may be null, which leaves what it
		// would set as it is.
		if b[i] == 'n' {
			if i+4 > len(b) || string(b[i:i+4]) != "null" {
				return false
			}
			i += 4
			goto leaf
		}
		fv = f.fv
		switch f.kind {
		case kLine:
			switch {
			case k == 7: // flow
				v.hasFlow = true
				open = frame{kind: kFlow, fv: &v.flow}
				goto push
			case k >= 8: // agent_event, debug_event, lost_events, node_status
				v.event = true
				goto skip
			}
			fv = &v.top
			fallthrough
		case kFlow:
			switch k {
			case 0: // verdict
				t = &fv.verdict
				goto text
			case 1: // IP
				fv.ip = true
				open = frame{kind: kIP, fv: fv}
				goto push
			case 2: // l4
				fv.l4 = true
				open = frame{kind: kL4, fv: fv}
				goto push
			case 3: // source
				open = frame{kind: kEndpoint, ev: &fv.source}
				goto push
			case 4: // destination
				open = frame{kind: kEndpoint, ev: &fv.destination}
				goto push
			case 5: // is_reply
				fv.isReplySet = true
				wb = &fv.isReply
				goto boolean
			default: // reply
				wb = &fv.reply
				goto boolean
			}
		case kIP:
			t = &fv.src
			if k == 1 {
				t = &fv.dst
			}
			goto text
		case kL4:
			var pv *hubblePortsView
			switch k {
			case 0: // TCP
				pv = &fv.tcp
			case 1: // UDP
				pv = &fv.udp
			case 2: // SCTP
				pv = &fv.sctp
			case 3: // ICMPv4
				fv.icmpv4 = true
				open = frame{kind: kEmpty}
				goto push
			default: // ICMPv6
				fv.icmpv6 = true
				open = frame{kind: kEmpty}
				goto push
			}
			pv.present = true
			open = frame{kind: kPorts, pv: pv}
			goto push
		case kPorts:
			pv := f.pv
			switch k {
			case 0: // source_port
				wp = &pv.sport
				goto port
			case 1: // destination_port
				wp = &pv.dport
				goto port
			default: // flags
				pv.flags = true
				open = frame{kind: kFlags, pv: pv}
				goto push
			}
		case kFlags:
			if k == 0 {
				wb = &f.pv.syn
				goto boolean
			} else {
				wb = &f.pv.ack
				goto boolean
			}
		case kEndpoint:
			switch k {
			case 0: // namespace
				t = &f.ev.namespace
				goto text
			case 1: // pod_name
				t = &f.ev.pod
				goto text
			default: // workloads
				if b[i] != '[' || sp+1 >= len(st) {
					return false
				}
				sp++
				st[sp] = frame{kind: kWorkloads, first: true, ev: f.ev}
				i++
				if i < len(b) && b[i] == ']' {
					sp--
					i++
					goto after
				}
				goto element
			}
		case kWorkload:
			// The names of workloads after the first are read, not
			// kept.
			t = &discard
			if f.first {
				t = &f.ev.wname
				if k == 1 {
					t = &f.ev.wkind
				}
			}
			goto text
		}
		return false

	text:
		if b[i] != '"' {
			return false
		}
		if j := quoteAfter(q, i+1); j >= 0 {
			*t = b[i+1 : j]
			i = j + 1
			goto leaf
		}
		return false

	boolean:
		if i+4 <= len(b) && string(b[i:i+4]) == "true" {
			*wb = true
			i += 4
			goto leaf
		}
		if i+5 <= len(b) && string(b[i:i+5]) == "false" {
			*wb = false
			i += 5
			goto leaf
		}
		return false

	port:
		// As hubbleScanner.port: plain digits that fit in a uint16.
		{
			start, n := i, 0
			for i < len(b) && b[i]-'0' < 10 && i-start < 6 {
				n = n*10 + int(b[i]-'0')
				i++
			}
			if d := i - start; d == 0 || d > 5 || n > 65535 || d > 1 && b[start] == '0' ||
				i < len(b) && (b[i] == '.' || b[i]|0x20 == 'e') {
				return false
			}
			*wp = uint16(n)
		}
		goto leaf

	push:
		if b[i] != '{' || sp+1 >= len(st) {
			return false
		}
		sp++
		st[sp] = open
		i++
		if i < len(b) && b[i] == '}' {
			sp--
			i++
			goto after
		}
		goto member
	}

element:
	// At an element of a workloads array: a workload object.
	{
		if i >= len(b) || b[i] != '{' || sp+1 >= len(st) {
			return false
		}
		w := &st[sp]
		f := &st[sp+1]
		*f = frame{kind: kWorkload, ev: w.ev}
		if w.first {
			w.first, f.first = false, true
			w.ev.workload = true
		}
		sp++
		i++
		if i < len(b) && b[i] == '}' {
			sp--
			i++
			goto after
		}
		goto member
	}

leaf:
	// After a string, number or literal, or a value skipped, all of them
	// members of objects: a comma means another member.
	if i < len(b) && b[i] == ',' {
		i++
		goto member
	}
	goto after

skip:
	// The value at i, which ringfence does not read, validated and
	// skipped: depth counts the containers open in it, and bit d of arr
	// tells whether the one at depth d+1 is an array. Numbers other than
	// integers of up to 100 characters are left to the recursive scanner
	// (encoding/json fails on events' numbers that do not fit a float64,
	// see hubbleScanner.inAny).
	depth, arr = 0, 0
skipValue:
	if i >= len(b) {
		return false
	}
	switch c := b[i]; c {
	case '"':
		if i = quoteAfter(q, i+1); i < 0 {
			return false
		}
		i++
	case '{', '[':
		if depth >= 63 {
			return false
		}
		arr &^= 1 << depth
		if c == '[' {
			arr |= 1 << depth
		}
		depth++
		i++
		if i < len(b) && b[i] == c+2 { // '}' or ']'
			depth--
			i++
			break
		}
		if c == '{' {
			goto skipMember
		}
		goto skipValue
	case 't':
		if i+4 > len(b) || string(b[i:i+4]) != "true" {
			return false
		}
		i += 4
	case 'f':
		if i+5 > len(b) || string(b[i:i+5]) != "false" {
			return false
		}
		i += 5
	case 'n':
		if i+4 > len(b) || string(b[i:i+4]) != "null" {
			return false
		}
		i += 4
	default:
		start := i
		if c == '-' {
			i++
		}
		if i >= len(b) || b[i]-'0' >= 10 {
			return false
		}
		if b[i] == '0' {
			i++
		} else {
			for i++; i < len(b) && b[i]-'0' < 10; i++ {
			}
		}
		if i-start > 100 || i < len(b) && (b[i]-'0' < 10 || b[i] == '.' || b[i]|0x20 == 'e') {
			return false
		}
	}
skipAfter:
	if depth == 0 {
		goto leaf
	}
	if i >= len(b) {
		return false
	}
	{
		inArr := arr>>(depth-1)&1 != 0
		switch c := b[i]; {
		case c == ',':
			i++
			if inArr {
				goto skipValue
			}
			goto skipMember
		case c == '}' && !inArr, c == ']' && inArr:
			depth--
			i++
			goto skipAfter
		}
	}
	return false
skipMember:
	if i >= len(b) || b[i] != '"' {
		return false
	}
	if j := quoteAfter(q, i+1); j >= 0 && j+1 < len(b) && b[j+1] == ':' {
		i = j + 2
		goto skipValue
	}
	return false

after:
	// After a value: a comma, or the close of its container.
	if i >= len(b) {
		return false
	}
	{
		arr := st[sp].kind == kWorkloads
		switch c := b[i]; {
		case c == ',':
			i++
			if arr {
				goto element
			}
			goto member
		case c == '}' && !arr, c == ']' && arr:
			i++
			if sp--; sp < 0 {
				return i == len(b)
			}
			goto after
		}
	}
	return false
}

// flatKeys holds the members flat reads of each of its containers.
var flatKeys = [...]*keySet{
	kLine:      &lineKeys,
	kFlow:      &flowKeys,
	kIP:        &ipKeys,
	kL4:        &l4Keys,
	kPorts:     &portsKeys,
	kFlags:     &flagsKeys,
	kEndpoint:  &endpointKeys,
	kWorkloads: &noKeys,
	kWorkload:  &workloadKeys,
	kEmpty:     &noKeys,
}

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
