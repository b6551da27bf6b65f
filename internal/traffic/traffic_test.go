package traffic

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"

	"github.com/ringfence/ringfence/internal/benchcpu"
	"github.com/ringfence/ringfence/internal/load"
	"github.com/ringfence/ringfence/internal/load/flows"
	"github.com/ringfence/ringfence/internal/model"
	"github.com/ringfence/ringfence/internal/ranges"
)

func example(t testing.TB) (*model.World, *ranges.Document) {
	t.Helper()
	res, err := load.Load(context.Background(), load.Options{Files: []string{"../../examples/ml-platform", "../../examples/flows/ml-platform/pods.yaml"}})
	if err != nil {
		t.Fatal(err)
	}
	doc, err := ranges.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	return res.World, doc
}

func TestClassify(t *testing.T) {
	w, doc := example(t)
	x := NewIndex(w, doc, CIDRs(w))
	for addr, want := range map[string]string{
		"10.0.18.45":      "ml-workloads/text-embed-finetune",
		"10.0.34.112":     "ml-workloads/text-embed-finetune",
		"10.0.17.80":      "features/feature-api",
		"10.0.17.24":      "node/ip-10-0-17-24.ec2.internal",
		"172.20.0.10":     "service/kube-system/kube-dns",
		"54.231.1.1":      "aws:S3:us-east-1",
		"3.5.8.201":       "aws:S3:us-east-1", // listed under EC2 as well
		"3.218.181.20":    "aws:DYNAMODB:us-east-1",
		"169.254.169.254": LabelIMDS,
		"fd00:ec2::254":   LabelIMDS,
		"169.254.170.23":  LabelPodIdentity,
		"169.254.1.1":     LabelLinkLocal,
		"10.9.9.9":        LabelPrivate,
		"fd12::1":         LabelPrivate,
		"140.82.112.3":    LabelInternet,
		"2001:db8::1":     LabelInternet,
	} {
		if got := x.Endpoint(x.Lookup(netip.MustParseAddr(addr))).Name; got != want {
			t.Errorf("%s: %s, want %s", addr, got, want)
		}
	}
	master := x.Endpoint(x.Lookup(netip.MustParseAddr("10.0.18.45")))
	worker := x.Endpoint(x.Lookup(netip.MustParseAddr("10.0.34.112")))
	if master.Template.Role != "master" || worker.Template.Role != "worker" {
		t.Errorf("roles %q and %q, want master and worker", master.Template.Role, worker.Template.Role)
	}
	// The policy's 52.216.0.0/16 cuts the published 52.216.0.0/15: the two
	// halves are judged apart.
	a, b := x.Lookup(netip.MustParseAddr("52.216.1.1")), x.Lookup(netip.MustParseAddr("52.217.1.1"))
	if a == b || x.Endpoint(a).Name != "aws:S3:us-east-1" || x.Endpoint(b).Name != "aws:S3:us-east-1" {
		t.Errorf("52.216.1.1 and 52.217.1.1: blocks %v and %v (%s, %s), want two S3 blocks", a, b, x.Endpoint(a).Range, x.Endpoint(b).Range)
	}
	if r := x.Endpoint(a).Range; !r.Contains(netip.MustParseAddr("52.216.255.255")) || r.Contains(netip.MustParseAddr("52.217.0.0")) {
		t.Errorf("block of 52.216.1.1 = %s, want inside 52.216.0.0/16", r)
	}
	if n := testing.AllocsPerRun(100, func() { x.Lookup(netip.MustParseAddr("54.231.1.1")) }); n != 0 {
		t.Errorf("Lookup allocates %v times", n)
	}
}

// TestLabelsAgainstOracle checks every published prefix's first and last
// address against a brute-force reading of the publication: the most
// specific service wins, EC2 only where no other service is published,
// AMAZON only where nothing else is.
func TestLabelsAgainstOracle(t *testing.T) {
	doc, err := ranges.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	x := NewIndex(&model.World{}, doc, nil)
	rank := func(svc string) int {
		switch svc {
		case "AMAZON":
			return 0
		case "EC2":
			return 1
		}
		return 2
	}
	oracle := func(a netip.Addr) string {
		best := -1
		label := ""
		for i, p := range doc.Prefixes {
			if !p.Prefix.Contains(a) {
				continue
			}
			if best < 0 {
				best, label = i, "aws:"+p.Service+":"+p.Region
				continue
			}
			b := doc.Prefixes[best]
			better := rank(p.Service) > rank(b.Service) ||
				(rank(p.Service) == rank(b.Service) && p.Prefix.Bits() > b.Prefix.Bits()) ||
				(rank(p.Service) == rank(b.Service) && p.Prefix.Bits() == b.Prefix.Bits() && "aws:"+p.Service+":"+p.Region < label)
			if better {
				best, label = i, "aws:"+p.Service+":"+p.Region
			}
		}
		return label
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 1500; i++ {
		p := doc.Prefixes[rng.IntN(len(doc.Prefixes))].Prefix
		for _, a := range []netip.Addr{p.Addr(), lastAddr(p)} {
			if ip := a; ip.Is4() && (ip.As4()[0] == 169) {
				continue
			}
			if got, want := x.Endpoint(x.Lookup(a)).Name, oracle(a); got != want {
				t.Fatalf("%s (in %s): %s, want %s", a, p, got, want)
			}
		}
	}
}

func lastAddr(p netip.Prefix) netip.Addr {
	a := p.Masked().Addr()
	b := a.AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 1 << (7 - i%8)
	}
	out, _ := netip.AddrFromSlice(b)
	return out
}

func TestAggregate(t *testing.T) {
	w, doc := example(t)
	x := NewIndex(w, doc, CIDRs(w))
	g := NewAggregator(x)
	in := `2 1 eni-1 10.0.18.45 54.231.1.1 41000 443 6 1 1 1 1 ACCEPT OK
2 1 eni-1 10.0.18.45 54.231.9.9 41002 443 6 1 1 1 1 ACCEPT OK
2 1 eni-1 10.0.18.45 54.231.9.9 41004 443 6 1 1 1 1 REJECT OK
2 1 eni-1 54.231.9.9 10.0.18.45 443 41002 6 1 1 1 1 ACCEPT OK
2 1 eni-1 10.0.17.80 10.0.18.45 8080 50212 6 1 1 1 1 ACCEPT OK
2 1 eni-1 10.0.34.112 10.0.18.45 45110 23456 6 1 1 1 1 ACCEPT OK
2 1 eni-1 10.0.18.45 10.0.34.112 23456 45110 6 1 1 1 1 ACCEPT OK
`
	r, err := flows.Open(strings.NewReader(in), "log", flows.FormatAuto)
	if err != nil {
		t.Fatal(err)
	}
	var rec flows.Record
	for {
		ok, err := r.Next(&rec)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		g.Add(&rec, "log")
	}
	fs := g.Flows()
	// The REJECT record is a flow of its own (denied today): it never
	// stands for, or is the example of, the accepted ones.
	if g.Records != 7 || g.Replies != 3 || len(fs) != 3 {
		t.Fatalf("records %d, replies %d, flows %+v; want 7, 3 (S3's, feature-api's, the master's on 23456) and 3", g.Records, g.Replies, fs)
	}
	s3 := fs[0]
	if x.Endpoint(s3.Dst).Name != "aws:S3:us-east-1" || s3.Denied || s3.Records != 2 || s3.Accepted != 2 || s3.Rejected != 0 || s3.Port != 443 || len(s3.DstAddrs.Prefixes) != 2 || s3.First.Line != 1 {
		t.Errorf("S3 flow = %+v", s3)
	}
	if r := fs[1]; !r.Denied || r.Records != 1 || r.Rejected != 1 || r.First.Line != 3 {
		t.Errorf("rejected S3 flow = %+v, want the REJECT record apart", r)
	}
	if fs[2].Port != 23456 || x.Endpoint(fs[2].Dst).Template.Role != "master" {
		t.Errorf("third flow = %+v, want the worker to the master on 23456", fs[2])
	}
}

// records generates VPC flow log records (or Hubble JSON lines) of a
// platform's pods talking to S3, DynamoDB, the internet and each other,
// with replies.
type records struct {
	n, i   int
	pods   []string
	dsts   []string
	buf    []byte
	hubble bool
}

// hubbleFlow is a flow as `hubble observe -o json` prints it (Cilium 1.15),
// about 1 KB: source address, destination address, source port,
// destination port, TCP flags, source pod, is_reply.
const hubbleFlow = `{"flow":{"time":"2026-08-22T15:40:11.123456789Z","uuid":"2f1c9a7e-51d3-4c2b-9d1e-0b8f6a3c7d21","verdict":"FORWARDED","ethernet":{"source":"62:6b:d0:a4:c5:63","destination":"6e:d0:ea:78:fc:0a"},` +
	`"IP":{"source":"%s","destination":"%s","ipVersion":"IPv4"},"l4":{"TCP":{"source_port":%d,"destination_port":%d,"flags":{%s}}},` +
	`"source":{"ID":423,"identity":24753,"namespace":"ml-workloads","labels":["k8s:app.kubernetes.io/name=text-embed-finetune","k8s:io.kubernetes.pod.namespace=ml-workloads","k8s:training.kubeflow.org/job-name=text-embed-finetune"],"pod_name":"%s","workloads":[{"name":"text-embed-finetune","kind":"PyTorchJob"}]},` +
	`"destination":{"identity":2,"labels":["reserved:world"]},"Type":"L3_L4","node_name":"ip-10-0-18-201.ec2.internal","event_type":{"type":4},"traffic_direction":"EGRESS","trace_observation_point":"TO_STACK","is_reply":%t,` +
	`"interface":{"index":12,"name":"eth0"},"Summary":"TCP Flags: ACK"},"node_name":"ip-10-0-18-201.ec2.internal","time":"2026-08-22T15:40:11.123456789Z"}` + "\n"

func (s *records) Read(p []byte) (int, error) {
	for len(s.buf) < len(p) && s.i < s.n {
		src := s.pods[s.i%len(s.pods)]
		dst := s.dsts[(s.i/3)%len(s.dsts)]
		port := 33000 + s.i%28000
		switch {
		case s.hubble && s.i%4 == 3:
			s.buf = fmt.Appendf(s.buf, hubbleFlow, dst, src, 443, port, `"ACK":true`, "text-embed-finetune-worker-0", true)
		case s.hubble:
			s.buf = fmt.Appendf(s.buf, hubbleFlow, src, dst, port, 443, `"SYN":true`, "text-embed-finetune-worker-0", false)
		case s.i%4 == 3:
			s.buf = fmt.Appendf(s.buf, "2 111122223333 eni-0a7f3c2e91b4d6001 %s %s 443 %d 6 9 3120 1787412000 1787412060 ACCEPT OK\n", dst, src, port)
		default:
			s.buf = fmt.Appendf(s.buf, "2 111122223333 eni-0a7f3c2e91b4d6001 %s %s %d 443 6 12 4211 1787412000 1787412060 ACCEPT OK\n", src, dst, port)
		}
		s.i++
	}
	if len(s.buf) == 0 {
		return 0, io.EOF
	}
	n := copy(p, s.buf)
	s.buf = s.buf[n:]
	return n, nil
}

func newRecords(n int) *records {
	r := &records{n: n, pods: []string{"10.0.18.45", "10.0.34.112", "10.0.18.46", "10.0.18.60", "10.0.34.90", "10.0.17.80", "10.0.33.40"}}
	for i := 0; i < 97; i++ {
		r.dsts = append(r.dsts, fmt.Sprintf("52.216.%d.%d", i, i*7%250+1), fmt.Sprintf("54.231.%d.9", i), fmt.Sprintf("3.218.181.%d", i), fmt.Sprintf("140.82.%d.3", i))
	}
	return r
}

// BenchmarkParseClassify measures the whole path of a record: parsing a
// VPC flow log line, classifying both addresses, telling replies apart and
// aggregating. Run with -cpu 1 for the per-core figure.
func BenchmarkParseClassify(b *testing.B) {
	benchmarkParseClassify(b, flows.FormatVPC, 500000)
}

// BenchmarkHubbleParseClassify is BenchmarkParseClassify with the same
// flows as Hubble JSON lines of about 1 KB. Formatting such a line with fmt
// costs more than reading it, so the lines are generated once, before the
// timer, and read from memory.
func BenchmarkHubbleParseClassify(b *testing.B) {
	benchmarkParseClassify(b, flows.FormatHubble, 100000)
}

func benchmarkParseClassify(b *testing.B, format flows.Format, n int) {
	w, doc := example(b)
	x := NewIndex(w, doc, CIDRs(w))
	gen := func() io.Reader { return newRecords(n) }
	if format == flows.FormatHubble {
		r := newRecords(n)
		r.hubble = true
		data, _ := io.ReadAll(r)
		gen = func() io.Reader { return bytes.NewReader(data) }
	}
	size, _ := io.Copy(io.Discard, gen())
	b.SetBytes(size)
	b.ResetTimer()
	cpu := benchcpu.Time()
	for range b.N {
		g := NewAggregator(x)
		r, err := flows.Open(gen(), "generated", format)
		if err != nil {
			b.Fatal(err)
		}
		var rec flows.Record
		for {
			ok, err := r.Next(&rec)
			if err != nil {
				b.Fatal(err)
			}
			if !ok {
				break
			}
			g.Add(&rec, "generated")
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
	// A record is a line in both formats. With -cpu 1, per second of
	// the process's CPU time is per core, and a shared machine's other
	// processes do not count.
	benchcpu.Report(b, cpu, float64(n)*float64(b.N), "lines/s/core")
}

// BenchmarkNewIndex measures building the index from the embedded ranges.
func BenchmarkNewIndex(b *testing.B) {
	w, doc := example(b)
	cidrs := CIDRs(w)
	for range b.N {
		NewIndex(w, doc, cidrs)
	}
}
