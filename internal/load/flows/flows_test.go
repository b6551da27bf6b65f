package flows

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/netip"
	"runtime"
	"strings"
	"testing"

	"github.com/ringfence/ringfence/internal/benchcpu"
)

// readAll reads every record of an input, copying each.
func readAll(t *testing.T, in string) ([]Record, *Reader, error) {
	t.Helper()
	r, err := Open(strings.NewReader(in), "flows.txt", FormatAuto)
	if err != nil {
		return nil, nil, err
	}
	var out []Record
	var rec Record
	for {
		ok, err := r.Next(&rec)
		if err != nil {
			return out, r, err
		}
		if !ok {
			return out, r, nil
		}
		out = append(out, rec)
	}
}

func TestVPCDefaultFormat(t *testing.T) {
	// Records in the default version-2 format, as AWS documents them:
	// accepted and rejected traffic, a NODATA and a SKIPDATA record, IPv6.
	in := `2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK
2 123456789010 eni-1235b8ca123456789 172.31.9.69 172.31.9.12 49761 3389 6 20 4249 1418530010 1418530070 REJECT OK

2 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA
2 123456789010 eni-11111111aaaaaaaaa - - - - - - - 1431280876 1431280934 - SKIPDATA
2 123456789010 eni-f41c42bf 2001:db8:1234:a100:8d6e:3477:df66:f105 2001:db8:1234:a102:3304:8879:34cf:4071 34892 22 6 54 8855 1477913708 1477913820 ACCEPT OK
`
	recs, r, err := readAll(t, in)
	if err != nil {
		t.Fatal(err)
	}
	if r.Format() != FormatVPC || len(recs) != 3 {
		t.Fatalf("format %s, %d records, want vpc and 3", r.Format(), len(recs))
	}
	want := []Record{
		{Src: netip.MustParseAddr("172.31.16.139"), Dst: netip.MustParseAddr("172.31.16.21"), SrcPort: 20641, DstPort: 22, Proto: ProtoTCP, Action: ActionAccept, Count: 1, Line: 1},
		{Src: netip.MustParseAddr("172.31.9.69"), Dst: netip.MustParseAddr("172.31.9.12"), SrcPort: 49761, DstPort: 3389, Proto: ProtoTCP, Action: ActionReject, Count: 1, Line: 2},
		{Src: netip.MustParseAddr("2001:db8:1234:a100:8d6e:3477:df66:f105"), Dst: netip.MustParseAddr("2001:db8:1234:a102:3304:8879:34cf:4071"), SrcPort: 34892, DstPort: 22, Proto: ProtoTCP, Action: ActionAccept, Count: 1, Line: 6},
	}
	for i := range want {
		if recs[i] != want[i] {
			t.Errorf("record %d = %+v, want %+v", i, recs[i], want[i])
		}
	}
	sk := r.Skipped()
	if len(sk) != 2 || !strings.HasPrefix(sk[0].Reason, "NODATA") || sk[0].First.Line != 4 || !strings.HasPrefix(sk[1].Reason, "SKIPDATA") || sk[1].First.Line != 5 {
		t.Errorf("skipped = %+v, want NODATA at line 4 and SKIPDATA at line 5", sk)
	}
}

func TestVPCCustomFormat(t *testing.T) {
	// A custom format delivered to S3: the header names the fields; traffic
	// through a NAT gateway carries the original addresses in
	// pkt-srcaddr/pkt-dstaddr; TCP flags say who opened the connection.
	in := `version interface-id srcaddr dstaddr pkt-srcaddr pkt-dstaddr srcport dstport protocol tcp-flags action log-status
5 eni-1 10.40.1.175 10.40.2.236 10.40.1.175 203.0.113.5 36206 443 6 2 ACCEPT OK
5 eni-1 10.40.2.236 10.40.1.175 203.0.113.5 10.40.1.175 443 36206 6 18 ACCEPT OK
5 eni-1 10.40.1.175 10.40.2.236 - - 5353 53 17 - ACCEPT OK
`
	recs, _, err := readAll(t, in)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 3 {
		t.Fatalf("%d records, want 3", len(recs))
	}
	if recs[0].Dst != netip.MustParseAddr("203.0.113.5") || recs[0].Orientation != Request || recs[0].Line != 2 {
		t.Errorf("record 1 = %+v, want pkt-dstaddr 203.0.113.5, a request (SYN), line 2", recs[0])
	}
	if recs[1].Src != netip.MustParseAddr("203.0.113.5") || recs[1].Orientation != Reply {
		t.Errorf("record 2 = %+v, want pkt-srcaddr 203.0.113.5 and a reply (SYN-ACK)", recs[1])
	}
	if recs[2].Dst != netip.MustParseAddr("10.40.2.236") || recs[2].Proto != ProtoUDP || recs[2].Orientation != Unoriented {
		t.Errorf("record 3 = %+v, want dstaddr (pkt-dstaddr is -), UDP, unoriented", recs[2])
	}
}

func TestErrorsCarryFileAndLine(t *testing.T) {
	for name, tc := range map[string]struct{ in, want string }{
		"bad address":    {"2 1 eni-1 10.0.0.1 10.0.0.2 1 2 6 1 1 1 1 ACCEPT OK\n2 1 eni-1 10.0.0.300 10.0.0.2 1 2 6 1 1 1 1 ACCEPT OK\n", `flows.txt:2: srcaddr "10.0.0.300" is not an IP address`},
		"short record":   {"2 1 eni-1 10.0.0.1 10.0.0.2 1 2 6 1 1 1 1 ACCEPT OK\n2 1 eni-1 10.0.0.1\n", "flows.txt:2: 4 fields, want the 14 of the format"},
		"bad port":       {"2 1 eni-1 10.0.0.1 10.0.0.2 1 70000 6 1 1 1 1 ACCEPT OK\n", `flows.txt:1: dstport "70000" is not a port`},
		"bad action":     {"2 1 eni-1 10.0.0.1 10.0.0.2 1 2 6 1 1 1 1 MAYBE OK\n", `flows.txt:1: action "MAYBE"`},
		"header lacks":   {"version srcaddr dstaddr action\n", "flows.txt:1: the VPC flow log header lacks dstport, protocol"},
		"hubble json":    {`{"flow":{"IP":{"source":"10.0.0.1","destination":"nope"},"l4":{"TCP":{"destination_port":80}}}}` + "\n", `flows.txt:1: flow.IP.destination "nope" is not an IP address`},
		"hubble broken":  {"{\"flow\":\n", "flows.txt:1: not a Hubble flow"},
		"csv header":     {"from,to\n1.2.3.4,5.6.7.8\n", "flows.txt:1: the CSV header"},
		"csv protocol":   {"src,dst,protocol,port\n10.0.0.1,10.0.0.2,GRE?,80\n", `flows.txt:2: protocol "GRE?"`},
		"csv no port":    {"src,dst,protocol,port\n10.0.0.1,10.0.0.2,TCP,\n", "flows.txt:2: port: a TCP flow needs a destination port"},
		"unknown format": {"hello world\n", "flows.txt:1: not a flow input"},
		"empty":          {"\n\n", "flows.txt: no flow records"},
	} {
		t.Run(name, func(t *testing.T) {
			_, _, err := readAll(t, tc.in)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

// Lines in the shape `hubble observe -o json` prints (GetFlowsResponse with
// the flow's protojson names), from Cilium 1.15+.
const hubbleLines = `{"flow":{"time":"2026-08-22T15:40:11.123456789Z","uuid":"2f1c","verdict":"FORWARDED","ethernet":{"source":"62:6b:d0:a4:c5:63","destination":"6e:d0:ea:78:fc:0a"},"IP":{"source":"10.0.18.45","destination":"10.0.17.80","ipVersion":"IPv4"},"l4":{"TCP":{"source_port":50212,"destination_port":8080,"flags":{"SYN":true}}},"source":{"ID":423,"identity":24753,"namespace":"ml-workloads","labels":["k8s:app=ml-training"],"pod_name":"text-embed-finetune-master-0","workloads":[{"name":"text-embed-finetune","kind":"PyTorchJob"}]},"destination":{"identity":24075,"namespace":"features","labels":["k8s:app=feature-api"],"pod_name":"feature-api-7c9d5b6f48-hj2mz","workloads":[{"name":"feature-api","kind":"Deployment"}]},"Type":"L3_L4","node_name":"ip-10-0-18-201","event_type":{"type":4},"traffic_direction":"EGRESS","is_reply":false,"Summary":"TCP Flags: SYN"},"node_name":"ip-10-0-18-201","time":"2026-08-22T15:40:11.123456789Z"}
{"flow":{"verdict":"FORWARDED","IP":{"source":"10.0.17.80","destination":"10.0.18.45","ipVersion":"IPv4"},"l4":{"TCP":{"source_port":8080,"destination_port":50212,"flags":{"SYN":true,"ACK":true}}},"traffic_direction":"INGRESS","is_reply":true},"node_name":"ip-10-0-17-24"}
{"flow":{"verdict":"DROPPED","drop_reason_desc":"POLICY_DENIED","IP":{"source":"10.0.18.45","destination":"10.0.17.10","ipVersion":"IPv4"},"l4":{"UDP":{"source_port":38611,"destination_port":53}},"traffic_direction":"EGRESS","is_reply":false}}
{"flow":{"verdict":"FORWARDED","IP":{"source":"fd00:10::5","destination":"2600:1f18::1","ipVersion":"IPv6"},"l4":{"ICMPv6":{"type":128}}}}
{"flow":{"verdict":"FORWARDED","l7":{"type":"REQUEST"}}}
{"lost_events":{"source":"HUBBLE_RING_BUFFER","num_events_lost":12}}
`

func TestHubble(t *testing.T) {
	recs, r, err := readAll(t, hubbleLines)
	if err != nil {
		t.Fatal(err)
	}
	if r.Format() != FormatHubble || len(recs) != 4 {
		t.Fatalf("format %s, %d records, want hubble and 4", r.Format(), len(recs))
	}
	a := recs[0]
	if a.Src != netip.MustParseAddr("10.0.18.45") || a.DstPort != 8080 || a.Proto != ProtoTCP || a.Action != ActionAccept || a.Orientation != Request ||
		a.SrcPod != "ml-workloads/text-embed-finetune-master-0" || a.DstWorkload != "features/Deployment/feature-api" {
		t.Errorf("record 1 = %+v", a)
	}
	if recs[1].Orientation != Reply {
		t.Errorf("record 2 is a reply (is_reply true), got %+v", recs[1])
	}
	if recs[2].Action != ActionReject || recs[2].Proto != ProtoUDP || recs[2].DstPort != 53 {
		t.Errorf("record 3 = %+v, want a dropped UDP 53 flow", recs[2])
	}
	if recs[3].Proto != ProtoICMPv6 || !recs[3].Dst.Is6() {
		t.Errorf("record 4 = %+v, want ICMPv6 over IPv6", recs[3])
	}
	sk := r.Skipped()
	if len(sk) != 2 || sk[0].First.Line != 6 || sk[1].First.Line != 5 {
		t.Errorf("skipped = %+v, want the lost events (line 6) and the L7-only flow (line 5)", sk)
	}
}

func TestCSV(t *testing.T) {
	in := "src,dst,protocol,port,count,action\n10.0.18.45,172.20.0.10,UDP,53,12,ACCEPT\n\"10.0.18.45\",52.216.8.1,tcp,443,,\n10.0.18.45,10.0.17.80,6,8080,3,REJECT\n"
	recs, _, err := readAll(t, in)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 3 || recs[0].Count != 12 || recs[0].Proto != ProtoUDP || recs[1].Count != 1 || recs[1].Action != ActionUnknown || recs[2].Proto != ProtoTCP || recs[2].Action != ActionReject {
		t.Errorf("records = %+v", recs)
	}
	for _, r := range recs {
		if r.Orientation != Request {
			t.Errorf("a CSV row is a request, got %+v", r)
		}
	}
}

func TestGzip(t *testing.T) {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	fmt.Fprint(gz, "2 1 eni-1 10.0.0.1 10.0.0.2 1 443 6 1 1 1 1 ACCEPT OK\n")
	gz.Close()
	r, err := Open(&buf, "flows.log.gz", FormatAuto)
	if err != nil {
		t.Fatal(err)
	}
	var rec Record
	ok, err := r.Next(&rec)
	if err != nil || !ok || rec.DstPort != 443 {
		t.Fatalf("got %v %v %+v, want the record from the gzip stream", ok, err, rec)
	}
}

func TestParseAddr(t *testing.T) {
	for _, s := range []string{"0.0.0.0", "10.0.18.45", "255.255.255.255", "1.2.3", "1.2.3.4.5", "01.2.3.4", "256.1.1.1", "1..2.3", "::1", "fe80::1%eth0", "::ffff:10.0.0.1", "2600:1f18::1", "", "1.2.3.4a", "1.2.3.0400", "1.2.3.40", "0.0.0.00", "1.2.3.4.", ".1.2.3", "1.2.3.-4", "1.2.3.255", "1.2.3.256", "9.99.199.249"} {
		got, ok := parseAddr([]byte(s))
		want, err := netip.ParseAddr(s)
		wantOK := err == nil && want.Zone() == ""
		if wantOK {
			want = want.Unmap()
		}
		if ok != wantOK || (ok && got != want) {
			t.Errorf("parseAddr(%q) = %v %v, want %v %v", s, got, ok, want, wantOK)
		}
	}
}

// stream generates n VPC flow log records without holding them.
type stream struct {
	n, i int
	buf  []byte
}

func (s *stream) Read(p []byte) (int, error) {
	for len(s.buf) < len(p) && s.i < s.n {
		s.buf = fmt.Appendf(s.buf, "2 111122223333 eni-0a7f3c2e91b4d6001 10.0.%d.%d 52.216.%d.%d %d 443 6 12 4211 1787412000 1787412060 ACCEPT OK\n", s.i%200, s.i%250, s.i%256, s.i%199, 32768+s.i%20000)
		s.i++
	}
	if len(s.buf) == 0 {
		return 0, io.EOF
	}
	n := copy(p, s.buf)
	s.buf = s.buf[n:]
	return n, nil
}

// TestBoundedMemory reads a large generated stream and checks that the heap
// does not grow with the input: the reader holds one buffer, not records.
func TestBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 2 million records")
	}
	heapAfter := func(n int) uint64 {
		r, err := Open(&stream{n: n}, "generated", FormatAuto)
		if err != nil {
			t.Fatal(err)
		}
		var rec Record
		var peak uint64
		var ms runtime.MemStats
		for i := 0; ; i++ {
			ok, err := r.Next(&rec)
			if err != nil {
				t.Fatal(err)
			}
			if !ok {
				break
			}
			if i%250000 == 0 {
				runtime.GC()
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapAlloc)
			}
		}
		return peak
	}
	small := heapAfter(100000)
	large := heapAfter(2000000) // about 220 MB of records
	if large > small+8<<20 {
		t.Errorf("heap grew with the input: %d bytes after 100,000 records, %d after 2,000,000", small, large)
	}
}

// BenchmarkVPCParse measures parsing alone; see traffic's benchmark for
// parsing plus classification.
func BenchmarkVPCParse(b *testing.B) {
	const n = 200000
	var size int64
	{
		s := &stream{n: n}
		m, _ := io.Copy(io.Discard, s)
		size = m
	}
	b.SetBytes(size)
	b.ResetTimer()
	for range b.N {
		r, err := Open(&stream{n: n}, "generated", FormatVPC)
		if err != nil {
			b.Fatal(err)
		}
		var rec Record
		for {
			ok, err := r.Next(&rec)
			if err != nil {
				b.Fatal(err)
			}
			if !ok {
				break
			}
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkHubbleParse measures Hubble JSON lines (read by the scanner in
// hubble.go: about 1 KB a line, so slower per record than the VPC text
// format).
func BenchmarkHubbleParse(b *testing.B) {
	first := strings.SplitN(hubbleLines, "\n", 2)[0] + "\n"
	const n = 20000
	in := strings.Repeat(first, n)
	b.SetBytes(int64(len(in)))
	b.ResetTimer()
	cpu := benchcpu.Time()
	for range b.N {
		r, err := Open(strings.NewReader(in), "generated", FormatHubble)
		if err != nil {
			b.Fatal(err)
		}
		var rec Record
		for {
			ok, err := r.Next(&rec)
			if err != nil {
				b.Fatal(err)
			}
			if !ok {
				break
			}
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
	// Lines a second of CPU time: with -cpu 1 the reader runs on one core,
	// and CPU time, unlike the wall clock, does not count the time other
	// processes of a shared machine hold that core.
	benchcpu.Report(b, cpu, float64(n)*float64(b.N), "lines/s/core")
}

// TestVPCNoAllocation checks that reading an IPv4 record allocates
// nothing: the reader reuses its buffer and the caller's Record.
func TestVPCNoAllocation(t *testing.T) {
	line := "2 111122223333 eni-0a7f3c2e91b4d6001 10.0.18.45 52.216.164.77 41234 443 6 1450 1790220 1787412000 1787412060 ACCEPT OK\n"
	r, err := Open(strings.NewReader(strings.Repeat(line, 1000)), "generated", FormatVPC)
	if err != nil {
		t.Fatal(err)
	}
	var rec Record
	if n := testing.AllocsPerRun(500, func() {
		if ok, err := r.Next(&rec); !ok || err != nil {
			t.Fatal("input ended early", err)
		}
	}); n != 0 {
		t.Errorf("Next allocates %v times a record", n)
	}
}
