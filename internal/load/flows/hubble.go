package flows

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math/bits"
	"strings"
	"unicode/utf8"
)

// A Hubble line is read in one of two ways. hubbleScan, a single pass over
// the bytes that validates the whole line and keeps only the fields below,
// takes the lines `hubble observe -o json` prints; anything it is not sure
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
	if !v.scan(line) {
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
		pod = h.name(&last[0], e.namespace, e.pod)
	}
	if e.workload && len(e.wname) != 0 {
		workload = h.name(&last[1], e.namespace, bytes.TrimSpace(e.wkind), e.wname)
	}
	return pod, workload
}

// name returns the parts joined with slashes, interned; *last is the name
// returned before at the same place of a line, compared first since a
// stream repeats the last line's names more often than not.
func (h *hubbleState) name(last *string, parts ...[]byte) string {
	b := h.scratch[:0]
	for i, p := range parts {
		if i > 0 {
			b = append(b, '/')
		}
		b = append(b, p...)
	}
	h.scratch = b
	if string(b) == *last {
		return *last
	}
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
)

// keySet is the members of an object ringfence reads; lens has bit n set
// when a name is n bytes long, so most other keys are told apart at once.
type keySet struct {
	names []string
	// member is the index of the member each name spells.
	member []int
	lens   uint64
}

// index returns the index of the member key names, or -1 and whether key
// is a name but for case.
func (ks *keySet) index(key []byte) (k int, folded bool) {
	if len(key) >= 64 || ks.lens&(1<<len(key)) == 0 {
		return -1, false
	}
	for i, name := range ks.names {
		// Keys beyond ASCII never get here, and ASCII letters fold only
		// to the same letter with bit 0x20 flipped: a first byte that
		// differs but for that bit rules the name out, even folded.
		if len(name) != len(key) || (name[0]|0x20) != (key[0]|0x20) {
			continue
		}
		if string(key) == name {
			return ks.member[i], false
		}
		folded = folded || bytes.EqualFold(key, []byte(name))
	}
	return -1, folded
}

func newKeySet(members ...string) keySet {
	var ks keySet
	for i, m := range members {
		for _, n := range strings.Split(m, "|") {
			ks.names = append(ks.names, n)
			ks.member = append(ks.member, i)
			ks.lens |= 1 << len(n)
		}
	}
	return ks
}

// scan reads a line in one pass; false means it is not sure encoding/json
// would read the line the same way (or at all), and v is then undefined.
func (v *hubbleView) scan(line []byte) bool {
	s := hubbleScanner{b: line}
	s.ws()
	ok := s.object(lineKeys, func(k int) bool {
		switch k {
		case 7: // flow
			return s.optional(&v.hasFlow, flowKeys, func(k int) bool { return s.flowMember(k, &v.flow) })
		case 8, 9, 10, 11: // agent_event, debug_event, lost_events, node_status
			return s.event(&v.event)
		}
		return s.flowMember(k, &v.top)
	})
	s.ws()
	return ok && s.i == len(s.b)
}

// hubbleScanner walks one line; every method returns false (refusing the
// line) on anything it does not take.
type hubbleScanner struct {
	b []byte
	i int
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

func (s *hubbleScanner) ws() {
	if s.i < len(s.b) && s.b[s.i] > ' ' {
		return
	}
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// peek tells whether the next byte is c.
func (s *hubbleScanner) peek(c byte) bool {
	return s.i < len(s.b) && s.b[s.i] == c
}

// null consumes a null if one comes next.
func (s *hubbleScanner) null() bool {
	return s.literal("null")
}

// member reads the key of an object's next member (the n-th) and the colon
// after it; at the first member the scanner is at the opening brace. done
// is true at the closing brace, which is consumed.
func (s *hubbleScanner) member(n int) (key []byte, done, ok bool) {
	if n == 0 {
		s.i++ // the brace
		s.ws()
		if s.peek('}') {
			s.i++
			return nil, true, true
		}
	} else {
		s.ws()
		if s.peek('}') {
			s.i++
			return nil, true, true
		}
		if !s.peek(',') {
			return nil, false, false
		}
		s.i++
		s.ws()
	}
	if !s.peek('"') {
		return nil, false, false
	}
	// A key beyond ASCII might fold to a field's name.
	key, esc, high, ok := s.str()
	if !ok || esc || high {
		return nil, false, false
	}
	s.ws()
	if !s.peek(':') {
		return nil, false, false
	}
	s.i++
	s.ws()
	return key, false, true
}

// object reads an object, calling read with the index in keys of each
// member ringfence reads (the scanner at its value) and skipping the
// others. It refuses a key of keys that repeats (encoding/json would
// overwrite or merge) and a key that matches one only without regard to
// case (encoding/json would take it).
func (s *hubbleScanner) object(keys keySet, read func(k int) bool) bool {
	if !s.peek('{') {
		return false
	}
	var seen uint32
	for n := 0; ; n++ {
		key, done, ok := s.member(n)
		if !ok {
			return false
		}
		if done {
			return true
		}
		k, folded := keys.index(key)
		switch {
		case k >= 0:
			if seen&(1<<k) != 0 || !read(k) {
				return false
			}
			seen |= 1 << k
		case folded || !s.skip(0):
			return false
		}
	}
}

// optional reads an object, or null; present tells which.
func (s *hubbleScanner) optional(present *bool, keys keySet, read func(k int) bool) bool {
	if s.null() {
		return true
	}
	*present = true
	return s.object(keys, read)
}

// event reads an agent, debug or lost event: any value but null.
func (s *hubbleScanner) event(event *bool) bool {
	if s.null() {
		return true
	}
	*event = true
	s.inAny = true
	ok := s.skip(0)
	s.inAny = false
	return ok
}

// flowMember reads the value of flowKeys[k].
func (s *hubbleScanner) flowMember(k int, f *hubbleFlowView) bool {
	switch k {
	case 0: // verdict
		return s.text(&f.verdict)
	case 1: // IP
		return s.optional(&f.ip, ipKeys, func(k int) bool {
			if k == 0 {
				return s.text(&f.src)
			}
			return s.text(&f.dst)
		})
	case 2: // l4
		return s.optional(&f.l4, l4Keys, func(k int) bool {
			switch k {
			case 0: // TCP
				return s.ports(&f.tcp)
			case 1: // UDP
				return s.ports(&f.udp)
			case 2: // SCTP
				return s.ports(&f.sctp)
			case 3: // ICMPv4
				return s.optional(&f.icmpv4, keySet{}, nil)
			}
			return s.optional(&f.icmpv6, keySet{}, nil)
		})
	case 3: // source
		return s.endpoint(&f.source)
	case 4: // destination
		return s.endpoint(&f.destination)
	case 5: // is_reply
		if s.null() {
			return true
		}
		f.isReplySet = true
		return s.boolean(&f.isReply)
	}
	return s.boolean(&f.reply)
}

func (s *hubbleScanner) ports(p *hubblePortsView) bool {
	return s.optional(&p.present, portsKeys, func(k int) bool {
		switch k {
		case 0: // source_port
			return s.port(&p.sport)
		case 1: // destination_port
			return s.port(&p.dport)
		}
		return s.optional(&p.flags, flagsKeys, func(k int) bool {
			if k == 0 {
				return s.boolean(&p.syn)
			}
			return s.boolean(&p.ack)
		})
	})
}

func (s *hubbleScanner) endpoint(e *hubbleEndpointView) bool {
	var present bool
	return s.optional(&present, endpointKeys, func(k int) bool {
		switch k {
		case 0: // namespace
			return s.text(&e.namespace)
		case 1: // pod_name
			return s.text(&e.pod)
		}
		return s.workloads(e)
	})
}

// workloads reads an array of workload objects, keeping the first.
func (s *hubbleScanner) workloads(e *hubbleEndpointView) bool {
	if s.null() {
		return true
	}
	if !s.peek('[') {
		return false
	}
	s.i++
	s.ws()
	if s.peek(']') {
		s.i++
		return true
	}
	for n := 0; ; n++ {
		var name, kind []byte
		if !s.object(workloadKeys, func(k int) bool {
			if k == 0 {
				return s.text(&name)
			}
			return s.text(&kind)
		}) {
			return false
		}
		if n == 0 {
			e.workload, e.wname, e.wkind = true, name, kind
		}
		s.ws()
		switch {
		case s.peek(']'):
			s.i++
			return true
		case !s.peek(','):
			return false
		}
		s.i++
		s.ws()
	}
}

// text reads a string ringfence uses, or null. Escapes and invalid UTF-8
// (which encoding/json replaces) are left to encoding/json.
func (s *hubbleScanner) text(v *[]byte) bool {
	if s.null() {
		return true
	}
	if !s.peek('"') {
		return false
	}
	b, esc, high, ok := s.str()
	*v = b
	return ok && !esc && (!high || utf8.Valid(b))
}

// boolean reads true, false or null.
func (s *hubbleScanner) boolean(v *bool) bool {
	switch {
	case s.null():
	case s.literal("true"):
		*v = true
	case s.literal("false"):
		*v = false
	default:
		return false
	}
	return true
}

// port reads a number that fits in a uint16 written in plain digits, or
// null; anything else (a fraction, an exponent, a sign) is left to
// encoding/json.
func (s *hubbleScanner) port(v *uint16) bool {
	if s.null() {
		return true
	}
	start, n := s.i, 0
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' && s.i-start < 6 {
		n = n*10 + int(s.b[s.i]-'0')
		s.i++
	}
	digits := s.i - start
	if digits == 0 || digits > 5 || n > 65535 || (digits > 1 && s.b[start] == '0') {
		return false
	}
	if s.i < len(s.b) {
		switch s.b[s.i] {
		case '.', 'e', 'E':
			return false
		}
	}
	*v = uint16(n)
	return true
}

// str reads the string whose opening quote is at the scanner, returning
// its bytes between the quotes and whether it has escapes or bytes beyond
// ASCII. Eight bytes at a time while none of them is a quote, a backslash
// or a control character: most of a line is strings.
func (s *hubbleScanner) str() (b []byte, esc, high bool, ok bool) {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	start := s.i + 1
	i := start
	var seen uint64 // the bytes passed, OR-ed, for their high bits
	for {
		if i+8 <= len(s.b) {
			x := binary.LittleEndian.Uint64(s.b[i:])
			q, bs := x^(ones*'"'), x^(ones*'\\')
			// A byte below 0x20, a zero byte in q (a quote) or in bs (a
			// backslash) sets its high bit here; the lowest set bit is
			// exact, as borrows only run upwards from such a byte.
			m := ((x - ones*0x20) | (q - ones) | (bs - ones)) &^ x & highs
			if m == 0 {
				seen |= x
				i += 8
				continue
			}
			k := bits.TrailingZeros64(m) / 8
			seen |= x & (1<<(8*k) - 1)
			i += k
		} else {
			for i < len(s.b) && plain[s.b[i]] {
				seen |= uint64(s.b[i])
				i++
			}
			if i >= len(s.b) {
				return nil, false, false, false
			}
		}
		switch s.b[i] {
		case '"':
			s.i = i + 1
			return s.b[start:i], esc, seen&highs != 0, true
		case '\\':
			esc = true
			if i+1 >= len(s.b) {
				return nil, false, false, false
			}
			switch s.b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(s.b) {
					return nil, false, false, false
				}
				for _, c := range s.b[i+2 : i+6] {
					if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
						return nil, false, false, false
					}
				}
				i += 6
			default:
				return nil, false, false, false
			}
		default: // a control character
			return nil, false, false, false
		}
	}
}

// skip validates and skips any value.
func (s *hubbleScanner) skip(depth int) bool {
	if s.i >= len(s.b) || depth > hubbleMaxDepth {
		return false
	}
	switch c := s.b[s.i]; {
	case c == '"':
		_, _, _, ok := s.str()
		return ok
	case c == '{':
		for n := 0; ; n++ {
			_, done, ok := s.member(n)
			if !ok {
				return false
			}
			if done {
				return true
			}
			if !s.skip(depth + 1) {
				return false
			}
		}
	case c == '[':
		s.i++
		s.ws()
		if s.peek(']') {
			s.i++
			return true
		}
		for {
			if !s.skip(depth + 1) {
				return false
			}
			s.ws()
			switch {
			case s.peek(']'):
				s.i++
				return true
			case !s.peek(','):
				return false
			}
			s.i++
			s.ws()
		}
	case c == '-' || '0' <= c && c <= '9':
		return s.number()
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	}
	return false
}

// literal consumes lit if it comes next.
func (s *hubbleScanner) literal(lit string) bool {
	if s.i+len(lit) > len(s.b) || string(s.b[s.i:s.i+len(lit)]) != lit {
		return false
	}
	s.i += len(lit)
	return true
}

// number skips a number in JSON's grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *hubbleScanner) number() bool {
	b, i := s.b, s.i
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		i = digits(b, i)
	default:
		return false
	}
	if i < len(b) && b[i] == '.' {
		j := digits(b, i+1)
		if j == i+1 {
			return false
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		if s.inAny {
			return false
		}
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := digits(b, i)
		if j == i {
			return false
		}
		i = j
	}
	if s.inAny && i-s.i > 100 {
		return false
	}
	s.i = i
	return true
}

func digits(b []byte, i int) int {
	for i < len(b) && '0' <= b[i] && b[i] <= '9' {
		i++
	}
	return i
}
