package flows

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math/bits"
	"strings"
	"unicode/utf8"
)

// A Hubble line is read in one of two ways. hubbleView.scan, a single pass
// over the bytes that validates the whole line and keeps only the fields
// below, takes the lines `hubble observe -o json` prints (for speed, a line
// of plain ASCII first has its quotes found in one pass into a bitmap, and
// a compact one is then read by the single loop of hubble_flat.go; other
// lines by a recursive descent); anything it is not sure
// encoding/json would read the same way (a syntax error, a field of the
// wrong type, a key differing only in case, a repeated field, an escape or
// invalid UTF-8 in a string ringfence reads, deep nesting) goes to
// encoding/json and the structs below, so results and error messages stay
// those of encoding/json. A differential test and a fuzz target compare the
// two on every line.
//
// Hand-written rather than a library: the JSON libraries that skip
// reflection either do not validate the line (buger/jsonparser) or build a
// tree of every value and validate in a second pass (valyala/fastjson), and
// none tells whether encoding/json would match a key case-insensitively or
// merge a repeated object, which is what decides when to fall back. A line
// is about 1 KB of which ringfence reads about 150 bytes, so the cost is
// the validating skip over the rest.

// hubbleLine is one line of `hubble observe -o json`: a GetFlowsResponse
// whose flow field holds the flow (older releases printed the flow
// itself, which the embedded fields read).
type hubbleLine struct {
	Flow *hubbleFlow `json:"flow"`
	hubbleFlow
	// Other events of the stream (agent and debug events, lost events,
	// node status), under their protojson names in both spellings.
	AgentEvent      any `json:"agent_event"`
	DebugEvent      any `json:"debug_event"`
	LostEvents      any `json:"lost_events"`
	NodeStatus      any `json:"node_status"`
	AgentEventCamel any `json:"agentEvent"`
	DebugEventCamel any `json:"debugEvent"`
	LostEventsCamel any `json:"lostEvents"`
	NodeStatusCamel any `json:"nodeStatus"`
}

// event reports whether the line is an event that is not a flow.
func (l *hubbleLine) event() bool {
	for _, e := range []any{l.AgentEvent, l.DebugEvent, l.LostEvents, l.NodeStatus, l.AgentEventCamel, l.DebugEventCamel, l.LostEventsCamel, l.NodeStatusCamel} {
		if e != nil {
			return true
		}
	}
	return false
}

// fold reads the camelCase names protojson writes by default (hubble
// observe -o jsonpb, and other protojson encoders) where the proto names
// are absent: sourcePort, destinationPort, isReply, podName.
func (f *hubbleFlow) fold() {
	if f.IsReply == nil {
		f.IsReply = f.IsReplyCamel
	}
	if f.L4 != nil {
		for _, p := range []*hubblePorts{f.L4.TCP, f.L4.UDP, f.L4.SCTP} {
			if p == nil {
				continue
			}
			if p.SourcePort == 0 && p.SourcePortCamel != nil {
				p.SourcePort = *p.SourcePortCamel
			}
			if p.DestinationPort == 0 && p.DestinationPortCamel != nil {
				p.DestinationPort = *p.DestinationPortCamel
			}
		}
	}
	for _, e := range []*hubbleEndpoint{f.Source, f.Destination} {
		if e != nil && e.PodName == "" {
			e.PodName = e.PodNameCamel
		}
	}
}

// hubbleFlow holds the fields of flow.Flow (cilium/cilium api/v1/flow) that
// ringfence reads, under their protojson names.
type hubbleFlow struct {
	Verdict string `json:"verdict"`
	IP      *struct {
		Source      string `json:"source"`
		Destination string `json:"destination"`
	} `json:"IP"`
	L4 *struct {
		TCP    *hubblePorts `json:"TCP"`
		UDP    *hubblePorts `json:"UDP"`
		SCTP   *hubblePorts `json:"SCTP"`
		ICMPv4 *struct{}    `json:"ICMPv4"`
		ICMPv6 *struct{}    `json:"ICMPv6"`
	} `json:"l4"`
	Source      *hubbleEndpoint `json:"source"`
	Destination *hubbleEndpoint `json:"destination"`
	// IsReply is a wrapped bool: absent when Hubble could not tell.
	IsReply      *bool `json:"is_reply"`
	IsReplyCamel *bool `json:"isReply"`
	Reply        bool  `json:"reply"`
}

type hubblePorts struct {
	SourcePort           uint16  `json:"source_port"`
	DestinationPort      uint16  `json:"destination_port"`
	SourcePortCamel      *uint16 `json:"sourcePort"`
	DestinationPortCamel *uint16 `json:"destinationPort"`
	Flags                *struct {
		SYN bool `json:"SYN"`
		ACK bool `json:"ACK"`
	} `json:"flags"`
}

type hubbleEndpoint struct {
	Namespace    string `json:"namespace"`
	PodName      string `json:"pod_name"`
	PodNameCamel string `json:"podName"`
	Workloads    []struct {
		Name string `json:"name"`
		Kind string `json:"kind"`
	} `json:"workloads"`
}

// hubbleView is what ringfence reads of one line, filled by hubbleScan or
// from the structs. Byte slices point into the line; a JSON null reads as
// absent, as it does into the structs when no field repeats.
type hubbleView struct {
	hasFlow   bool // a "flow" object
	event     bool // an agent_event, debug_event or lost_events
	flow, top hubbleFlowView
}

type hubbleFlowView struct {
	verdict             []byte
	ip                  bool
	src, dst            []byte
	l4                  bool
	tcp, udp, sctp      hubblePortsView
	icmpv4, icmpv6      bool
	source, destination hubbleEndpointView
	isReplySet, isReply bool
	reply               bool
}

type hubblePortsView struct {
	present      bool
	sport, dport uint16
	flags        bool
	syn, ack     bool
}

type hubbleEndpointView struct {
	namespace, pod []byte
	workload       bool // workloads has a first element
	wname, wkind   []byte
}

// hubbleState is what a Reader of Hubble lines keeps between lines.
type hubbleState struct {
	view hubbleView
	// names interns "namespace/pod" and "namespace/Kind/name": a stream
	// names the same pods again and again. Cleared when it grows past
	// maxHubbleNames, so memory stays bounded.
	names   map[string]string
	last    [4]string // see name
	scratch []byte
	quotes  []uint64 // the scanner's, kept for the next line
}

const maxHubbleNames = 1 << 14

// hubble parses one JSON line.
func (r *Reader) hubble(line []byte, rec *Record) (bool, error) {
	if r.hubbleState == nil {
		r.hubbleState = &hubbleState{names: map[string]string{}}
	}
	h := r.hubbleState
	v := &h.view
	*v = hubbleView{}
	if !v.scan(line, &h.quotes) {
		if err := v.decode(line); err != nil {
			return false, r.errorf(r.line, "not a Hubble flow (hubble observe -o json): %v", err)
		}
	}
	f := &v.flow
	if !v.hasFlow {
		if v.event {
			r.skip("Hubble events that are not flows (agent, debug, lost events, node status)")
			return false, nil
		}
		f = &v.top
	}
	if !f.ip {
		r.skip("Hubble flows without IP addresses (L2 or L7-only events)")
		return false, nil
	}
	var ok bool
	if rec.Src, ok = parseAddr(f.src); !ok {
		return false, r.errorf(r.line, "flow.IP.source %q is not an IP address", f.src)
	}
	if rec.Dst, ok = parseAddr(f.dst); !ok {
		return false, r.errorf(r.line, "flow.IP.destination %q is not an IP address", f.dst)
	}
	var ports *hubblePortsView
	switch {
	case !f.l4:
		r.skip("Hubble flows without a layer-4 header")
		return false, nil
	case f.tcp.present:
		rec.Proto, ports = ProtoTCP, &f.tcp
	case f.udp.present:
		rec.Proto, ports = ProtoUDP, &f.udp
	case f.sctp.present:
		rec.Proto, ports = ProtoSCTP, &f.sctp
	case f.icmpv4:
		rec.Proto = ProtoICMP
	case f.icmpv6:
		rec.Proto = ProtoICMPv6
	default:
		r.skip("Hubble flows of other layer-4 protocols")
		return false, nil
	}
	if ports != nil {
		rec.SrcPort, rec.DstPort = ports.sport, ports.dport
	}
	switch string(f.verdict) {
	case "DROPPED", "ERROR":
		rec.Action = ActionReject
	case "FORWARDED", "TRANSLATED", "REDIRECTED", "TRACED", "AUDIT":
		rec.Action = ActionAccept
	}
	switch {
	case f.isReplySet && f.isReply, !f.isReplySet && f.reply:
		rec.Orientation = Reply
	case f.isReplySet:
		rec.Orientation = Request
	case ports != nil && ports.flags && ports.syn:
		rec.Orientation = Request
		if ports.ack {
			rec.Orientation = Reply
		}
	}
	rec.SrcPod, rec.SrcWorkload = h.endpointNames(&f.source, h.last[0:2])
	rec.DstPod, rec.DstWorkload = h.endpointNames(&f.destination, h.last[2:4])
	return true, nil
}

// endpointNames returns an endpoint's pod and workload names; last holds
// the two names it returned for the same endpoint of the line before.
func (h *hubbleState) endpointNames(e *hubbleEndpointView, last []string) (pod, workload string) {
	if len(e.namespace) == 0 {
		return "", ""
	}
	if len(e.pod) != 0 {
		pod = h.name(&last[0], e.namespace, nil, e.pod, false)
	}
	if e.workload && len(e.wname) != 0 {
		kind := e.wkind
		// As bytes.TrimSpace, which a kind that starts and ends with
		// ASCII other than white space (as every kind does) does not
		// need.
		if n := len(kind); n == 0 || kind[0]-0x21 >= 0x5f || kind[n-1]-0x21 >= 0x5f {
			kind = bytes.TrimSpace(kind)
		}
		workload = h.name(&last[1], e.namespace, kind, e.wname, true)
	}
	return pod, workload
}

// name returns ns/leaf, or ns/mid/leaf with mid, interned; *last is the
// name returned before at the same place of a line, compared first since a
// stream repeats the last line's names more often than not.
func (h *hubbleState) name(last *string, ns, mid, leaf []byte, withMid bool) string {
	n := len(ns) + 1 + len(leaf)
	if withMid {
		n += len(mid) + 1
	}
	if l := *last; len(l) == n && l[len(ns)] == '/' && l[:len(ns)] == string(ns) && l[n-len(leaf):] == string(leaf) &&
		(!withMid || l[n-len(leaf)-1] == '/' && l[len(ns)+1:n-len(leaf)-1] == string(mid)) {
		return l
	}
	b := append(h.scratch[:0], ns...)
	if withMid {
		b = append(append(b, '/'), mid...)
	}
	b = append(append(b, '/'), leaf...)
	h.scratch = b
	if s, ok := h.names[string(b)]; ok {
		*last = s
		return s
	}
	if len(h.names) >= maxHubbleNames {
		clear(h.names)
	}
	s := string(b)
	h.names[s] = s
	*last = s
	return s
}

// decode reads a line with encoding/json, for the lines hubbleScan refuses.
func (v *hubbleView) decode(line []byte) error {
	var l hubbleLine
	*v = hubbleView{}
	if err := json.Unmarshal(line, &l); err != nil {
		return err
	}
	v.hasFlow = l.Flow != nil
	v.event = l.event()
	if l.Flow != nil {
		l.Flow.fold()
		v.flow.from(l.Flow)
	}
	l.hubbleFlow.fold()
	v.top.from(&l.hubbleFlow)
	return nil
}

func (v *hubbleFlowView) from(f *hubbleFlow) {
	v.verdict = []byte(f.Verdict)
	if f.IP != nil {
		v.ip, v.src, v.dst = true, []byte(f.IP.Source), []byte(f.IP.Destination)
	}
	if f.L4 != nil {
		v.l4 = true
		v.tcp.from(f.L4.TCP)
		v.udp.from(f.L4.UDP)
		v.sctp.from(f.L4.SCTP)
		v.icmpv4, v.icmpv6 = f.L4.ICMPv4 != nil, f.L4.ICMPv6 != nil
	}
	v.source.from(f.Source)
	v.destination.from(f.Destination)
	if f.IsReply != nil {
		v.isReplySet, v.isReply = true, *f.IsReply
	}
	v.reply = f.Reply
}

func (v *hubblePortsView) from(p *hubblePorts) {
	if p == nil {
		return
	}
	*v = hubblePortsView{present: true, sport: p.SourcePort, dport: p.DestinationPort}
	if p.Flags != nil {
		v.flags, v.syn, v.ack = true, p.Flags.SYN, p.Flags.ACK
	}
}

func (v *hubbleEndpointView) from(e *hubbleEndpoint) {
	if e == nil {
		return
	}
	v.namespace, v.pod = []byte(e.Namespace), []byte(e.PodName)
	if len(e.Workloads) > 0 {
		v.workload, v.wname, v.wkind = true, []byte(e.Workloads[0].Name), []byte(e.Workloads[0].Kind)
	}
}

// The members ringfence reads, by object, under their proto names and,
// after a bar, the camelCase names protojson writes by default (both
// spellings of a member count as one: a line with both goes to
// encoding/json). A line has a flow's members (the older form) and the
// rest of lineMembers.
var (
	lineMembers  = []string{"verdict", "IP", "l4", "source", "destination", "is_reply|isReply", "reply", "flow", "agent_event|agentEvent", "debug_event|debugEvent", "lost_events|lostEvents", "node_status|nodeStatus"}
	lineKeys     = newKeySet(lineMembers...)
	flowKeys     = newKeySet(lineMembers[:7]...)
	ipKeys       = newKeySet("source", "destination")
	l4Keys       = newKeySet("TCP", "UDP", "SCTP", "ICMPv4", "ICMPv6")
	portsKeys    = newKeySet("source_port|sourcePort", "destination_port|destinationPort", "flags")
	flagsKeys    = newKeySet("SYN", "ACK")
	endpointKeys = newKeySet("namespace", "pod_name|podName", "workloads")
	workloadKeys = newKeySet("name", "kind")
	noKeys       keySet
)

// keySet is the members of an object ringfence reads, in a table indexed
// by a hash of the key's length and first eight bytes (bit 0x20 of those
// set, so a key differing only in case hashes alike): a key is looked up
// with one multiplication and one comparison of two words.
type keySet struct {
	tab [64]keyName
	mul uint64 // the hash's multiplier, chosen so that no names collide
}

type keyName struct {
	lo, hi uint64 // the name's bytes, little-endian, zero beyond its end
	name   string // empty in a slot no name hashes to
	member int    // the index of the member it spells
}

// keySetMaxLen bounds the names of a keySet (the longest is
// destination_port), so a name fits in two words.
const keySetMaxLen = 16

// find returns the index of the member key names, lo and hi being its
// first 16 bytes as two little-endian words, zero beyond its end; -1 if it
// names none, -2 if it names one but for case (encoding/json would take
// it).
func (ks *keySet) find(lo, hi uint64, key []byte) int {
	e := &ks.tab[((lo|ones*0x20)^uint64(len(key)))*ks.mul>>58]
	if len(e.name) != len(key) {
		return -1
	}
	d := (lo ^ e.lo) | (hi ^ e.hi)
	switch {
	case d == 0:
		return e.member
	case d&^(ones*0x20) != 0:
		// Keys beyond ASCII never get here, and ASCII letters fold
		// only to the same letter with bit 0x20 flipped: a key that
		// differs in any other bit is not the name, even folded.
		return -1
	case bytes.EqualFold(key, []byte(e.name)):
		return -2
	}
	return -1
}

// index is find for a key anywhere.
func (ks *keySet) index(key []byte) int {
	if len(key) == 0 || len(key) > keySetMaxLen {
		return -1
	}
	var w [16]byte
	copy(w[:], key)
	return ks.find(binary.LittleEndian.Uint64(w[:]), binary.LittleEndian.Uint64(w[8:]), key)
}

// loMask and hiMask hold the masks of a key's first and second words by
// its length, 0 to 16 (sized 32 so that indexing with n&31 needs no
// bounds check).
var loMask, hiMask = func() (lo, hi [32]uint64) {
	for n := range 17 {
		switch {
		case n < 8:
			lo[n] = 1<<(8*n) - 1
		case n < 16:
			lo[n], hi[n] = ^uint64(0), 1<<(8*(n-8))-1
		default:
			lo[n], hi[n] = ^uint64(0), ^uint64(0)
		}
	}
	return lo, hi
}()

func newKeySet(members ...string) keySet {
	var ks keySet
	// Odd multipliers from the golden ratio's, until the names fall in
	// distinct slots.
	for ks.mul = 0x9e3779b97f4a7c15; ; ks.mul += 2 {
		ks.tab = [64]keyName{}
		collide := false
		for i, m := range members {
			for _, n := range strings.Split(m, "|") {
				var w [16]byte
				copy(w[:], n)
				lo, hi := binary.LittleEndian.Uint64(w[:]), binary.LittleEndian.Uint64(w[8:])
				e := &ks.tab[((lo|ones*0x20)^uint64(len(n)))*ks.mul>>58]
				if e.name != "" {
					collide = true
				}
				*e = keyName{lo, hi, n, i}
			}
		}
		if !collide {
			return ks
		}
	}
}

// scan reads a line in one pass; false means it is not sure encoding/json
// would read the line the same way (or at all), and v is then undefined.
// quotes is memory to reuse from line to line.
func (v *hubbleView) scan(line []byte, quotes *[]uint64) bool {
	s := newHubbleScanner(line, quotes)
	if s.plain && v.flat(&s) {
		return true
	}
	*v = hubbleView{}
	return v.descend(&s)
}

func newHubbleScanner(line []byte, quotes *[]uint64) hubbleScanner {
	s := hubbleScanner{b: line}
	*quotes, s.plain = findQuotes(line, (*quotes)[:0])
	if s.plain {
		s.quotes = *quotes
	}
	return s
}

// descend reads a line by recursive descent, a method for each object:
// the lines flat does not take (white space between tokens, escapes, bytes
// beyond ASCII).
func (v *hubbleView) descend(s *hubbleScanner) bool {
	i := s.ws(0)
	i = s.object(i, &lineKeys, func(k, i int) int {
		switch k {
		case 7: // flow
			return s.optional(i, &v.hasFlow, &flowKeys, func(k, i int) int { return s.flowMember(k, i, &v.flow) })
		case 8, 9, 10, 11: // agent_event, debug_event, lost_events, node_status
			return s.event(i, &v.event)
		}
		return s.flowMember(k, i, &v.top)
	})
	return i >= 0 && s.ws(i) == len(s.b)
}

// hubbleScanner walks one line. Its methods take the index of where to
// start and return the index after what they read, or -1 to refuse the
// line: the index stays in a register rather than going through memory at
// every byte, which is most of the difference with a scanner that keeps it
// in a field.
type hubbleScanner struct {
	b []byte
	// plain is set when the line holds no backslash, control character
	// or byte beyond ASCII, as the lines hubble prints: every quote then
	// delimits a string, and quotes has bit i%64 of word i/64 set for a
	// quote at i, so a string's end is found without reading it.
	plain  bool
	quotes []uint64
	// inAny is set while skipping a value encoding/json decodes into an
	// interface (the events), where it parses numbers as float64 and fails
	// on those out of range.
	inAny bool
}

// hubbleMaxDepth bounds the nesting the scanner follows; deeper lines go to
// encoding/json, which allows 10,000 levels.
const hubbleMaxDepth = 100

// plain marks the bytes a JSON string holds as they are: not a quote, a
// backslash or a control character.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// ws skips white space from i. Compact lines have none, so the first test
// is the only one most calls make.
func (s *hubbleScanner) ws(i int) int {
	if i < 0 || i >= len(s.b) || s.b[i] > ' ' {
		return i
	}
	return s.wsLoop(i)
}

func (s *hubbleScanner) wsLoop(i int) int {
	for i < len(s.b) {
		switch s.b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// is tells whether the byte at i is c.
func (s *hubbleScanner) is(i int, c byte) bool {
	return i >= 0 && i < len(s.b) && s.b[i] == c
}

// lit returns the index after lit if it comes at i, else -1.
func (s *hubbleScanner) lit(i int, lit string) int {
	if i < 0 || i+len(lit) > len(s.b) || string(s.b[i:i+len(lit)]) != lit {
		return -1
	}
	return i + len(lit)
}

// null returns the index after a null at i, else -1.
func (s *hubbleScanner) null(i int) int {
	return s.lit(i, "null")
}

// member reads a member's key at i (a quote, checked) and the colon after
// it, returning the index in keys of the member it names (as keySet.index
// does) and the index of the value.
func (s *hubbleScanner) member(i int, keys *keySet) (k, j int) {
	b := s.b
	if i < 0 || i >= len(b) || b[i] != '"' {
		return -1, -1
	}
	if s.plain {
		if j = s.quoteAfter(i + 1); j < 0 {
			return -1, -1
		}
		j++
	} else {
		// A key beyond ASCII might fold to a field's name.
		var esc, high bool
		if j, esc, high = s.str(i); j < 0 || esc || high {
			return -1, -1
		}
	}
	k = keys.index(b[i+1 : j-1])
	// Compact lines have the colon right after the key and the value
	// right after the colon.
	if j+1 < len(b) && b[j] == ':' && b[j+1] > ' ' {
		return k, j + 1
	}
	if j = s.ws(j); !s.is(j, ':') {
		return -1, -1
	}
	return k, s.ws(j + 1)
}

// after reads what follows an object member or array element at i: the
// index of the next one and true after a comma, the index after the close
// and false at it.
func (s *hubbleScanner) after(i int, close byte) (int, bool) {
	if i = s.ws(i); i < 0 || i >= len(s.b) {
		return -1, false
	}
	switch s.b[i] {
	case ',':
		if i+1 < len(s.b) && s.b[i+1] > ' ' {
			return i + 1, true
		}
		return s.ws(i + 1), true
	case close:
		return i + 1, false
	}
	return -1, false
}

// open reads the opening brace or bracket open at i: the index of the first
// member or element and true, or the index after an empty object or array
// and false.
func (s *hubbleScanner) open(i int, open, close byte) (int, bool) {
	if !s.is(i, open) {
		return -1, false
	}
	if i = s.ws(i + 1); s.is(i, close) {
		return i + 1, false
	}
	return i, true
}

// object reads an object at i, calling read with the index in keys of each
// member ringfence reads and the index of its value, and skipping the
// others. It refuses a key of keys that repeats (encoding/json would
// overwrite or merge) and a key that matches one only without regard to
// case (encoding/json would take it).
func (s *hubbleScanner) object(i int, keys *keySet, read func(k, i int) int) int {
	i, more := s.open(i, '{', '}')
	var seen uint32
	for more {
		k, j := s.member(i, keys)
		switch {
		case j < 0:
			return -1
		case k >= 0:
			if seen&(1<<k) != 0 {
				return -1
			}
			seen |= 1 << k
			j = read(k, j)
		case k == -1:
			j = s.skip(j, 0)
		default:
			return -1
		}
		// A comma and the next key's quote, as in compact lines.
		if b := s.b; j >= 0 && j+1 < len(b) && b[j] == ',' && b[j+1] == '"' {
			i = j + 1
			continue
		}
		i, more = s.after(j, '}')
	}
	return i
}

// optional reads an object, or null; present tells which.
func (s *hubbleScanner) optional(i int, present *bool, keys *keySet, read func(k, i int) int) int {
	if j := s.null(i); j >= 0 {
		return j
	}
	*present = true
	return s.object(i, keys, read)
}

// event reads an agent, debug or lost event: any value but null.
func (s *hubbleScanner) event(i int, event *bool) int {
	if j := s.null(i); j >= 0 {
		return j
	}
	*event = true
	s.inAny = true
	i = s.skip(i, 0)
	s.inAny = false
	return i
}

// flowMember reads the value of flowKeys[k].
func (s *hubbleScanner) flowMember(k, i int, f *hubbleFlowView) int {
	switch k {
	case 0: // verdict
		return s.text(i, &f.verdict)
	case 1: // IP
		return s.optional(i, &f.ip, &ipKeys, func(k, i int) int {
			if k == 0 {
				return s.text(i, &f.src)
			}
			return s.text(i, &f.dst)
		})
	case 2: // l4
		return s.optional(i, &f.l4, &l4Keys, func(k, i int) int {
			switch k {
			case 0: // TCP
				return s.ports(i, &f.tcp)
			case 1: // UDP
				return s.ports(i, &f.udp)
			case 2: // SCTP
				return s.ports(i, &f.sctp)
			case 3: // ICMPv4
				return s.optional(i, &f.icmpv4, &noKeys, nil)
			}
			return s.optional(i, &f.icmpv6, &noKeys, nil)
		})
	case 3: // source
		return s.endpoint(i, &f.source)
	case 4: // destination
		return s.endpoint(i, &f.destination)
	case 5: // is_reply
		if j := s.null(i); j >= 0 {
			return j
		}
		f.isReplySet = true
		return s.boolean(i, &f.isReply)
	}
	return s.boolean(i, &f.reply)
}

func (s *hubbleScanner) ports(i int, p *hubblePortsView) int {
	return s.optional(i, &p.present, &portsKeys, func(k, i int) int {
		switch k {
		case 0: // source_port
			return s.port(i, &p.sport)
		case 1: // destination_port
			return s.port(i, &p.dport)
		}
		return s.optional(i, &p.flags, &flagsKeys, func(k, i int) int {
			if k == 0 {
				return s.boolean(i, &p.syn)
			}
			return s.boolean(i, &p.ack)
		})
	})
}

func (s *hubbleScanner) endpoint(i int, e *hubbleEndpointView) int {
	var present bool
	return s.optional(i, &present, &endpointKeys, func(k, i int) int {
		switch k {
		case 0: // namespace
			return s.text(i, &e.namespace)
		case 1: // pod_name
			return s.text(i, &e.pod)
		}
		return s.workloads(i, e)
	})
}

// workloads reads an array of workload objects, keeping the first.
func (s *hubbleScanner) workloads(i int, e *hubbleEndpointView) int {
	if j := s.null(i); j >= 0 {
		return j
	}
	i, more := s.open(i, '[', ']')
	for n := 0; more; n++ {
		var name, kind []byte
		if i = s.object(i, &workloadKeys, func(k, i int) int {
			if k == 0 {
				return s.text(i, &name)
			}
			return s.text(i, &kind)
		}); i < 0 {
			return -1
		}
		if n == 0 {
			e.workload, e.wname, e.wkind = true, name, kind
		}
		i, more = s.after(i, ']')
	}
	return i
}

// text reads a string ringfence uses, or null. Escapes and invalid UTF-8
// (which encoding/json replaces) are left to encoding/json.
func (s *hubbleScanner) text(i int, v *[]byte) int {
	if j := s.null(i); j >= 0 {
		return j
	}
	if !s.is(i, '"') {
		return -1
	}
	j, esc, high := s.str(i)
	if j < 0 || esc {
		return -1
	}
	*v = s.b[i+1 : j-1]
	if high && !utf8.Valid(*v) {
		return -1
	}
	return j
}

// boolean reads true, false or null.
func (s *hubbleScanner) boolean(i int, v *bool) int {
	if i < 0 || i >= len(s.b) {
		return -1
	}
	switch s.b[i] {
	case 'n':
		return s.null(i)
	case 't':
		*v = true
		return s.lit(i, "true")
	case 'f':
		*v = false
		return s.lit(i, "false")
	}
	return -1
}

// port reads a number that fits in a uint16 written in plain digits, or
// null; anything else (a fraction, an exponent, a sign) is left to
// encoding/json.
func (s *hubbleScanner) port(i int, v *uint16) int {
	if j := s.null(i); j >= 0 {
		return j
	}
	b := s.b
	start, n := i, 0
	for i < len(b) && b[i] >= '0' && b[i] <= '9' && i-start < 6 {
		n = n*10 + int(b[i]-'0')
		i++
	}
	digits := i - start
	if digits == 0 || digits > 5 || n > 65535 || (digits > 1 && b[start] == '0') {
		return -1
	}
	if i < len(b) {
		switch b[i] {
		case '.', 'e', 'E':
			return -1
		}
	}
	*v = uint16(n)
	return i
}

// SWAR constants: a byte's worth repeated eight times.
const ones, highs = 0x0101010101010101, 0x8080808080808080

// special returns a mask with the high bit set in each byte of x that is
// below 0x20, a quote or a backslash, and maybe in bytes above one; its
// lowest set bit is exact, as borrows only run upwards from such a byte.
func special(x uint64) uint64 {
	return ((x - ones*0x20) | ((x ^ ones*'"') - ones) | ((x ^ ones*'\\') - ones)) &^ x & highs
}

// findQuotes returns the bits of the quotes of b (see hubbleScanner.quotes)
// in q, and whether b holds no backslash, control character or byte beyond
// ASCII; if it does, the bits are meaningless. One pass over the line with
// no branch but the loop's, instead of a search for the end of each of the
// line's sixty-odd strings: 64 bytes at a time by quoteBlocks (a vector
// kernel on amd64, quote_amd64.s), the rest padded with spaces to 64.
func findQuotes(b []byte, q []uint64) ([]uint64, bool) {
	n := (len(b) + 63) / 64
	if cap(q) < n {
		q = make([]uint64, n)
	}
	q = q[:n]
	full := len(b) &^ 63
	plain := quoteBlocks(b[:full], q)
	if full < len(b) {
		tail := spaces
		copy(tail[:], b[full:])
		plain = quoteBlocks(tail[:], q[n-1:]) && plain
	}
	return q, plain
}

// spaces pads the end of a line to 64 bytes.
var spaces = [64]byte(bytes.Repeat([]byte{' '}, 64))

// quoteBlocksGo is quoteBlocks in Go: the fallback where there is no
// kernel (other architectures, the purego tag), and the reference the
// kernels are tested against. len(b) is a multiple of 64 and q has a word
// for each 64 bytes. Eight bytes at a time.
func quoteBlocksGo(b []byte, q []uint64) bool {
	// A backslash is looked for apart, with the runtime's vector
	// search: one test fewer in each step.
	if bytes.IndexByte(b, '\\') >= 0 {
		return false
	}
	var odd uint64 // high bits set if some byte is not plain ASCII
	w := 0
	for ; len(b) >= 64; b = b[64:] {
		// Written out rather than a call a word: the loop's
		// variables stay in registers.
		p := (*[64]byte)(b)
		q0, o0 := quoteByte(binary.LittleEndian.Uint64(p[0:]))
		q1, o1 := quoteByte(binary.LittleEndian.Uint64(p[8:]))
		q2, o2 := quoteByte(binary.LittleEndian.Uint64(p[16:]))
		q3, o3 := quoteByte(binary.LittleEndian.Uint64(p[24:]))
		q4, o4 := quoteByte(binary.LittleEndian.Uint64(p[32:]))
		q5, o5 := quoteByte(binary.LittleEndian.Uint64(p[40:]))
		q6, o6 := quoteByte(binary.LittleEndian.Uint64(p[48:]))
		q7, o7 := quoteByte(binary.LittleEndian.Uint64(p[56:]))
		odd |= o0 | o1 | o2 | o3 | o4 | o5 | o6 | o7
		if w < len(q) {
			q[w] = q0 | q1<<8 | q2<<16 | q3<<24 | q4<<32 | q5<<40 | q6<<48 | q7<<56
		}
		w++
	}
	return odd&highs == 0
}

// quoteByte returns the quotes of the eight bytes of x as the bits of a
// byte (byte k's as bit k), and a word with the high bit of a byte set if x
// has a control character or a byte beyond ASCII.
func quoteByte(x uint64) (q, odd uint64) {
	// A byte's high bit: set in x beyond ASCII; in x-0x20.. below 0x20
	// (or above such a byte, from the borrow).
	odd = x | (x - ones*0x20)
	// With every byte below 0x80 (else odd tells), adding 0x7f to each
	// byte of x XOR quotes carries into its high bit unless the byte is a
	// quote, and never into the next byte.
	m := ^((x ^ ones*'"') + ones*0x7f) & highs
	// Gather the eight high bits into the top byte, then shift it down.
	return m * 0x0002040810204081 >> 56, odd
}

// quoteAfter returns the index of the first quote at i or after it in a
// plain line, or -1.
func (s *hubbleScanner) quoteAfter(i int) int {
	return quoteAfter(s.quotes, i)
}

// quoteAfter returns the index of the first quote at i or after it, q being
// a plain line's quote bits, or -1.
func quoteAfter(q []uint64, i int) int {
	w := uint(i) >> 6
	if w >= uint(len(q)) {
		return -1
	}
	// The padding after the line holds no quote.
	if x := q[w] >> (i & 63); x != 0 {
		return i + bits.TrailingZeros64(x)
	}
	for w++; w < uint(len(q)); w++ {
		if x := q[w]; x != 0 {
			return int(w)<<6 + bits.TrailingZeros64(x)
		}
	}
	return -1
}

// str reads the string whose opening quote is at i, returning the index
// after its closing quote and whether it has escapes or bytes beyond ASCII.
// Eight bytes at a time while none of them is a quote, a backslash or a
// control character.
func (s *hubbleScanner) str(i int) (j int, esc, high bool) {
	if s.plain {
		if j = s.quoteAfter(i + 1); j < 0 {
			return -1, false, false
		}
		return j + 1, false, false
	}
	b := s.b
	var seen uint64 // the bytes passed, OR-ed, for their high bits
	for i++; ; {
		if i+8 <= len(b) {
			x := binary.LittleEndian.Uint64(b[i:])
			m := special(x)
			if m == 0 {
				seen |= x
				i += 8
				continue
			}
			k := bits.TrailingZeros64(m)
			seen |= x & (1<<k - 1)
			i += k >> 3
		} else {
			for i < len(b) && plain[b[i]] {
				seen |= uint64(b[i])
				i++
			}
			if i >= len(b) {
				return -1, false, false
			}
		}
		if b[i] == '"' {
			return i + 1, esc, seen&highs != 0
		}
		esc = true
		if i = s.escape(i); i < 0 {
			return -1, false, false
		}
	}
}

// skipStr is str for a string whose content is not read: it only finds the
// end, validating on the way.
func (s *hubbleScanner) skipStr(i int) int {
	if s.plain {
		if i = s.quoteAfter(i + 1); i < 0 {
			return -1
		}
		return i + 1
	}
	b := s.b
	for i++; ; {
		if i+8 <= len(b) {
			m := special(binary.LittleEndian.Uint64(b[i:]))
			if m == 0 {
				i += 8
				continue
			}
			i += bits.TrailingZeros64(m) >> 3
		} else {
			for i < len(b) && plain[b[i]] {
				i++
			}
			if i >= len(b) {
				return -1
			}
		}
		if b[i] == '"' {
			return i + 1
		}
		if i = s.escape(i); i < 0 {
			return -1
		}
	}
}

// escape reads the escape or control character at i within a string,
// returning the index after the escape or -1 (a control character or a
// malformed escape).
func (s *hubbleScanner) escape(i int) int {
	b := s.b
	if b[i] != '\\' || i+1 >= len(b) {
		return -1
	}
	switch b[i+1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return i + 2
	case 'u':
		if i+6 > len(b) {
			return -1
		}
		for _, c := range b[i+2 : i+6] {
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return -1
			}
		}
		return i + 6
	}
	return -1
}

// skip validates and skips the value at i.
func (s *hubbleScanner) skip(i, depth int) int {
	b := s.b
	if i < 0 || i >= len(b) || depth > hubbleMaxDepth {
		return -1
	}
	switch c := b[i]; c {
	case '"':
		return s.skipStr(i)
	case '{':
		i, more := s.open(i, '{', '}')
		for more {
			if !s.is(i, '"') {
				return -1
			}
			if i = s.skipStr(i); i < 0 {
				return -1
			}
			if i = s.ws(i); !s.is(i, ':') {
				return -1
			}
			if i = s.skip(s.ws(i+1), depth+1); i < 0 {
				return -1
			}
			i, more = s.after(i, '}')
		}
		return i
	case '[':
		i, more := s.open(i, '[', ']')
		for more {
			if i = s.skip(i, depth+1); i < 0 {
				return -1
			}
			i, more = s.after(i, ']')
		}
		return i
	case 't':
		return s.lit(i, "true")
	case 'f':
		return s.lit(i, "false")
	case 'n':
		return s.lit(i, "null")
	}
	return s.number(i)
}

// number skips a number in JSON's grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *hubbleScanner) number(start int) int {
	b, i := s.b, start
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		i = digits(b, i)
	default:
		return -1
	}
	if i < len(b) && b[i] == '.' {
		j := digits(b, i+1)
		if j == i+1 {
			return -1
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		if s.inAny {
			return -1
		}
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := digits(b, i)
		if j == i {
			return -1
		}
		i = j
	}
	if s.inAny && i-start > 100 {
		return -1
	}
	return i
}

func digits(b []byte, i int) int {
	for i < len(b) && '0' <= b[i] && b[i] <= '9' {
		i++
	}
	return i
}
