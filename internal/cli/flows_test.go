package cli

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// The example platform with and without its security groups, and the pods
// that give the addresses.
var (
	withGroups    = []string{"-f", "examples/ml-platform", "-f", "examples/flows/ml-platform/pods.yaml"}
	withoutGroups = []string{"-f", "examples/ml-platform/ml-workloads", "-f", "examples/ml-platform/namespaces.yaml", "-f", "examples/flows/ml-platform/pods.yaml"}
)

type flowReport struct {
	whatifJSON
	Ambiguous []struct {
		Source, Destination, Ambiguous, Example string
		Port                                    int
	}
	Classified []struct {
		Rule    string
		Records int
	}
	Replies int
	Flows   []struct {
		Source, Destination, Status, Direction, Ambiguous string
		Port                                              int
	}
}

func decodeReport(t *testing.T, stdout string) flowReport {
	t.Helper()
	var r flowReport
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	return r
}

func (r flowReport) classified(rule string) int {
	for _, c := range r.Classified {
		if strings.HasPrefix(c.Rule, rule) {
			return c.Records
		}
	}
	return 0
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// A gRPC call from model-server (source port 40000) to a host on the
// internet listening on 50051, logged in both directions in the default
// format (no TCP flags): both ports are ephemeral, so no port rule decides.
const highPortsLog = `2 111122223333 eni-0b8e4d3fa2c5e7002 10.0.18.60 203.0.113.9 40000 50051 6 10 1000 1787412000 1787412060 ACCEPT OK
2 111122223333 eni-0b8e4d3fa2c5e7002 203.0.113.9 10.0.18.60 50051 40000 6 10 1000 1787412000 1787412060 ACCEPT OK
`

// TestRepliesByStatefulness: the node's security group admits the pod's
// egress to the internet as a new connection but not the internet's
// ingress to port 40000, so the inbound record is a reply, not a new
// connection from the internet the pod's ingress policies would cut; learn
// proposes no internet ingress rule for it.
func TestRepliesByStatefulness(t *testing.T) {
	log := writeFile(t, "high.log", highPortsLog)
	stdout, stderr, code := run(t, "", append([]string{"whatif", "-o", "json", "--flows", log}, withGroups...)...)
	if code != ExitOK {
		t.Fatalf("exit %d, want 0 (nothing breaks): %s\n%s", code, stderr, stdout)
	}
	r := decodeReport(t, stdout)
	if len(r.Broken) != 0 || len(r.Ambiguous) != 0 || r.Replies != 1 {
		t.Errorf("broken %+v, ambiguous %+v, replies %d; want none, none, 1", r.Broken, r.Ambiguous, r.Replies)
	}
	if n := r.classified("the statefulness of security groups"); n != 2 {
		t.Errorf("records oriented by statefulness = %d, want 2: %+v", n, r.Classified)
	}
	if len(r.Flows) != 1 || r.Flows[0].Source != "ml-workloads/model-server" || r.Flows[0].Port != 50051 || !strings.Contains(r.Flows[0].Direction, "statefulness") {
		t.Errorf("flows = %+v, want model-server to the internet on 50051, oriented by statefulness", r.Flows)
	}
	text, _, _ := run(t, "", append([]string{"whatif", "--flows", log}, withGroups...)...)
	if !strings.Contains(text, "Nothing would break") || !strings.Contains(text, "the statefulness of security groups (only one direction is admitted as a new connection): 2 records") {
		t.Errorf("text output:\n%s", text)
	}
	learned, stderr, code := run(t, "", append([]string{"learn", "--flows", log}, withGroups...)...)
	if code != ExitOK || strings.Contains(learned, "203.0.113.9") || strings.Contains(learned, "ingress") {
		t.Errorf("learn: exit %d %s\n%s", code, stderr, learned)
	}
}

// TestRepliesAmbiguous: without security groups nothing tells who opened
// the conversation. The proposal allows it if model-server opened it and
// denies it if the internet did: whatif says exactly that (exit 1, never a
// plain break), and learn proposes no ingress rule from the internet.
func TestRepliesAmbiguous(t *testing.T) {
	log := writeFile(t, "high.log", highPortsLog)
	stdout, stderr, code := run(t, "", append([]string{"whatif", "-o", "json", "--flows", log}, withoutGroups...)...)
	if code != ExitFindings {
		t.Fatalf("exit %d, want 1: %s\n%s", code, stderr, stdout)
	}
	r := decodeReport(t, stdout)
	if len(r.Broken) != 0 || len(r.Ambiguous) != 1 || !strings.Contains(r.Ambiguous[0].Ambiguous, "breaks only if internet opened the connection") {
		t.Fatalf("broken %+v, ambiguous %+v; want one ambiguous flow and no break", r.Broken, r.Ambiguous)
	}
	if n := r.classified("undecided"); n != 2 {
		t.Errorf("undecided records = %d, want 2: %+v", n, r.Classified)
	}
	text, _, _ := run(t, "", append([]string{"whatif", "--flows", log}, withoutGroups...)...)
	if strings.Contains(text, "Nothing would break") || !strings.Contains(text, "ambiguous: breaks only if internet opened") {
		t.Errorf("text output:\n%s", text)
	}
	learned, stderr, code := run(t, "", append([]string{"learn", "--flows", log}, withoutGroups...)...)
	if strings.Contains(learned, "cidr: 203.0.113.9") || code != ExitFindings || !strings.Contains(stderr, "learn does not guess a direction") {
		t.Errorf("learn on an ambiguous conversation: exit %d, %s\n%s", code, stderr, learned)
	}
}

// TestRepliesMirrorOfKnownConnection: a custom-format log (v3 tcp-flags)
// where the opening record carries SYN (2) and the answers of the
// long-lived connection carry no flags or FIN only (AWS logs ACK-only
// traffic as 0). The answers are the mirror image of the oriented
// connection: replies, not connections from the internet.
func TestRepliesMirrorOfKnownConnection(t *testing.T) {
	log := writeFile(t, "flags.log", `version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status tcp-flags
3 111122223333 eni-0b8e4d3fa2c5e7002 10.0.18.60 203.0.113.9 40000 50051 6 10 1000 1787412000 1787412060 ACCEPT OK 2
3 111122223333 eni-0b8e4d3fa2c5e7002 203.0.113.9 10.0.18.60 50051 40000 6 10 1000 1787412000 1787412060 ACCEPT OK 0
3 111122223333 eni-0b8e4d3fa2c5e7002 203.0.113.9 10.0.18.60 50051 40000 6 10 1000 1787412060 1787412120 ACCEPT OK 1
`)
	stdout, stderr, code := run(t, "", append([]string{"whatif", "-o", "json", "--flows", log}, withoutGroups...)...)
	if code != ExitOK {
		t.Fatalf("exit %d, want 0: %s\n%s", code, stderr, stdout)
	}
	r := decodeReport(t, stdout)
	if r.Replies != 2 || r.classified("the mirror image") != 2 || r.classified("marked") != 1 {
		t.Errorf("replies %d, classified %+v; want 2 replies by the mirror rule, 1 record marked", r.Replies, r.Classified)
	}
}

// TestRejectedApart: a REJECT record and ACCEPT records of the same flow
// are kept apart: the rejected one counts as denied today, and the broken
// flow's example is an accepted record, never the REJECT line.
func TestRejectedApart(t *testing.T) {
	log := writeFile(t, "mixed.log", `2 111122223333 eni-0a7f3c2e91b4d6001 10.0.18.45 140.82.112.3 41330 443 6 1 40 1787412000 1787412060 REJECT OK
2 111122223333 eni-0a7f3c2e91b4d6001 10.0.18.45 140.82.112.3 41332 443 6 64 40211 1787412000 1787412060 ACCEPT OK
2 111122223333 eni-0a7f3c2e91b4d6001 10.0.18.45 140.82.112.3 41334 443 6 64 40211 1787412000 1787412060 ACCEPT OK
`)
	stdout, stderr, code := run(t, "", append([]string{"whatif", "-o", "json", "--flows", log}, withGroups...)...)
	if code != ExitFindings {
		t.Fatalf("exit %d, want 1: %s", code, stderr)
	}
	var r struct {
		Broken []struct {
			Flows []struct {
				Records, Rejected int
				Example, First    string
			}
		}
		Counts map[string]struct{ Flows, Records int }
	}
	json.Unmarshal([]byte(stdout), &r)
	if len(r.Broken) != 1 || len(r.Broken[0].Flows) != 1 {
		t.Fatalf("broken = %+v", r.Broken)
	}
	f := r.Broken[0].Flows[0]
	if f.Records != 2 || f.Rejected != 0 || !strings.HasSuffix(f.First, "mixed.log:2") || f.Example != "10.0.18.45 -> 140.82.112.3:443" {
		t.Errorf("broken flow = %+v, want the 2 accepted records, first at line 2", f)
	}
	if c := r.Counts["denied today"]; c.Flows != 1 || c.Records != 1 {
		t.Errorf("denied today = %+v, want the REJECT record", c)
	}
}

// gzipFile writes content gzip-compressed, as S3 delivery does.
func gzipFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte(content))
	zw.Close()
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

const s3Header = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n"

// TestFlowsS3Layout reads a tree as VPC Flow Logs deliver it to S3: one
// header per file, gzip, a file with only NODATA, other files ignored;
// --since keeps the records of the second day; the summary counts files.
func TestFlowsS3Layout(t *testing.T) {
	root := filepath.Join(t.TempDir(), "AWSLogs")
	day := func(d string) string {
		return filepath.Join(root, "111122223333", "vpcflowlogs", "us-east-1", "2026", "08", d)
	}
	name := func(d, hm string) string {
		return "111122223333_vpcflowlogs_us-east-1_fl-0123456789abcdef0_202608" + d + "T" + hm + "Z_5a6b7c8d.log.gz"
	}
	// 2026-08-21 10:00 UTC is 1787306400; 2026-08-22 10:00 UTC 1787392800.
	gzipFile(t, filepath.Join(day("21"), name("21", "1000")), s3Header+
		"2 111122223333 eni-0a7f3c2e91b4d6001 10.0.18.45 140.82.112.3 41330 443 6 64 40211 1787306400 1787306460 ACCEPT OK\n")
	gzipFile(t, filepath.Join(day("22"), name("22", "1000")), s3Header+
		"2 111122223333 eni-0a7f3c2e91b4d6001 10.0.18.45 10.0.17.80 50212 8080 6 40 9120 1787392800 1787392860 ACCEPT OK\n"+
		"2 111122223333 eni-0c9f5e4ab3d6f8003 10.0.17.80 10.0.18.45 8080 50212 6 38 64012 1787392800 1787392860 ACCEPT OK\n")
	gzipFile(t, filepath.Join(day("22"), name("22", "1005")), s3Header+
		"2 111122223333 eni-0a7f3c2e91b4d6001 - - - - - - - 1787393100 1787393160 - NODATA\n")
	os.WriteFile(filepath.Join(root, "111122223333", "vpcflowlogs", "us-east-1", "README.txt"), []byte("not a log\n"), 0o644)

	stdout, stderr, code := run(t, "", append([]string{"whatif", "-o", "json", "--flows", root}, withGroups...)...)
	if code != ExitFindings {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	r := decodeReport(t, stdout)
	var files struct{ Files, Records int }
	json.Unmarshal([]byte(stdout), &files)
	if files.Files != 3 || files.Records != 3 || r.Replies != 1 || len(r.Broken) != 2 {
		t.Errorf("files %d, records %d, replies %d, broken %+v; want 3, 3, 1, two broken pairs", files.Files, files.Records, r.Replies, r.Broken)
	}
	text, _, _ := run(t, "", append([]string{"whatif", "--flows", root}, withGroups...)...)
	if !strings.Contains(text, "Read 3 records from "+root+" (3 files)") {
		t.Errorf("summary:\n%s", text)
	}
	stdout, stderr, code = run(t, "", append([]string{"whatif", "-o", "json", "--flows", root, "--since", "2026-08-22T00:00:00Z"}, withGroups...)...)
	if code != ExitFindings {
		t.Fatalf("--since: exit %d: %s", code, stderr)
	}
	got := brokenSet(t, stdout)
	if len(got) != 1 || !strings.Contains(got[0], "features/feature-api") {
		t.Errorf("--since kept %v, want only the 22nd's feature-API call", got)
	}
	if _, stderr, code := run(t, "", append([]string{"whatif", "--flows", root, "--until", "2026-08-01T00:00:00Z"}, withGroups...)...); code != ExitInput || !strings.Contains(stderr, "hold no flow records") || !strings.Contains(stderr, "outside --since/--until") {
		t.Errorf("--until before every record: exit %d %s", code, stderr)
	}
	// The same files concatenated on standard input (zcat *.log.gz):
	// every file's header line repeats.
	concat := s3Header + "2 111122223333 eni-0a7f3c2e91b4d6001 10.0.18.45 140.82.112.3 41330 443 6 64 40211 1787306400 1787306460 ACCEPT OK\n" +
		s3Header + "2 111122223333 eni-0a7f3c2e91b4d6001 10.0.18.45 10.0.17.80 50212 8080 6 40 9120 1787392800 1787392860 ACCEPT OK\n"
	stdout, stderr, code = run(t, concat, append([]string{"whatif", "-o", "json", "--flows", "-"}, withGroups...)...)
	if code != ExitFindings || len(brokenSet(t, stdout)) != 2 {
		t.Errorf("concatenated files on stdin: exit %d %s\n%v", code, stderr, brokenSet(t, stdout))
	}
}

// TestFlowsNoRecords: an input that holds no flows is bad input (exit 2),
// so a CI gate never passes on the wrong file; CloudWatch Logs JSON that
// holds records is read as what it is.
func TestFlowsNoRecords(t *testing.T) {
	control := writeFile(t, "control.json", `{"messageType":"CONTROL_MESSAGE","owner":"CloudwatchLogs","logGroup":"","logStream":"","subscriptionFilters":[],"logEvents":[{"id":"","timestamp":1432826855000,"message":"CWL CONTROL MESSAGE: Checking health of destination Firehose."}]}`)
	nodes := writeFile(t, "hubble.json", `{"node_status":{"state_change":"NODE_CONNECTED","node_names":["ip-10-0-18-201.ec2.internal"],"message":"Connected"},"node_name":"ip-10-0-18-201.ec2.internal","time":"2026-08-22T15:40:11Z"}`+"\n")
	nodata := writeFile(t, "nodata.log", "2 111122223333 eni-0a7f3c2e91b4d6001 - - - - - - - 1787393100 1787393160 - NODATA\n")
	for _, f := range []string{control, nodes, nodata} {
		if _, stderr, code := run(t, "", append([]string{"whatif", "--flows", f}, withGroups...)...); code != ExitInput || !strings.Contains(stderr, filepath.Base(f)) {
			t.Errorf("%s: exit %d %s, want 2 naming the file", filepath.Base(f), code, stderr)
		}
	}
	payload := writeFile(t, "payload.json", `{"messageType":"DATA_MESSAGE","owner":"111122223333","logGroup":"vpc-flow-logs","logStream":"eni-0a7f3c2e91b4d6001-all","subscriptionFilters":["to-firehose"],"logEvents":[`+
		`{"id":"31953106606966983378809025079804211143289615424298221568","timestamp":1787412000000,"message":"2 111122223333 eni-0a7f3c2e91b4d6001 10.0.18.45 140.82.112.3 41330 443 6 64 40211 1787412000 1787412060 ACCEPT OK"}]}`)
	stdout, stderr, code := run(t, "", append([]string{"whatif", "-o", "json", "--flows", payload}, withGroups...)...)
	if code != ExitFindings || len(brokenSet(t, stdout)) != 1 {
		t.Errorf("subscription payload: exit %d %s\n%s", code, stderr, stdout)
	}
	parquet := writeFile(t, "flows.log.parquet", "PAR1\x15\x04\x15\x10\x15\x14L")
	if _, stderr, code := run(t, "", append([]string{"whatif", "--flows", parquet}, withGroups...)...); code != ExitInput || !strings.Contains(stderr, "Parquet") {
		t.Errorf("parquet: exit %d %s", code, stderr)
	}
}

// manyAddressesLog generates a flow log of the training job's two roles
// calling hosts on the internet: the master 250 addresses of
// 198.51.100.0/24, the worker 120 of 203.0.113.0/24 and 101 of the
// master's, each call logged with its reply, some twice.
func manyAddressesLog() string {
	var b strings.Builder
	rec := func(src, dst string, sport, dport int) {
		fmt.Fprintf(&b, "2 111122223333 eni-0a7f3c2e91b4d6001 %s %s %d %d 6 12 4211 1787412000 1787412060 ACCEPT OK\n", src, dst, sport, dport)
		fmt.Fprintf(&b, "2 111122223333 eni-0a7f3c2e91b4d6001 %s %s %d %d 6 9 3120 1787412000 1787412060 ACCEPT OK\n", dst, src, dport, sport)
	}
	port := 33000
	for i := 1; i <= 250; i++ {
		for range 1 + i%2 {
			rec("10.0.18.45", fmt.Sprintf("198.51.100.%d", i), port, 443)
			port++
		}
	}
	for i := 1; i <= 120; i++ {
		rec("10.0.34.112", fmt.Sprintf("203.0.113.%d", i), port, 443)
		port++
	}
	for i := 100; i <= 200; i++ {
		rec("10.0.34.112", fmt.Sprintf("198.51.100.%d", i), port, 8443)
		port++
	}
	return b.String()
}

// TestLearnConverges is the learn -> whatif loop on a log with far more
// than 64 addresses per flow: after applying learn's additions, whatif on
// the same flows reports nothing broken. The roles share one set of
// ipBlocks, none wider than the widening budget, never 0.0.0.0/0.
func TestLearnConverges(t *testing.T) {
	log := writeFile(t, "many.log", manyAddressesLog())
	args := append([]string{"--flows", log}, withGroups...)
	before, stderr, code := run(t, "", append([]string{"whatif", "-o", "json"}, args...)...)
	if code != ExitFindings || len(brokenSet(t, before)) != 3 {
		t.Fatalf("whatif before learn: exit %d %s\n%v", code, stderr, brokenSet(t, before))
	}
	learned, stderr, code := run(t, "", append([]string{"learn"}, args...)...)
	if code != ExitOK {
		t.Fatalf("learn: exit %d: %s\n%s", code, stderr, learned)
	}
	blocks := strings.Count(learned, "ipBlock:")
	if blocks == 0 || blocks > 64 || strings.Contains(learned, "0.0.0.0/0") || strings.Count(learned, "kind: NetworkPolicy") != 1 || strings.Count(learned, "- ports:") != 1 {
		t.Errorf("learn proposes %d ipBlocks (want 1 to 64, one policy, one rule shared by both roles):\n%s", blocks, learned)
	}
	for _, c := range regexp.MustCompile(`cidr: \S+/(\d+)`).FindAllStringSubmatch(learned, -1) {
		if n, _ := strconv.Atoi(c[1]); n < 24 {
			t.Errorf("ipBlock %s is wider than the default budget (/24)", c[0])
		}
	}
	path := writeFile(t, "learned.yaml", learned)
	after, stderr, code := run(t, "", append([]string{"whatif", "-f", path}, args...)...)
	if code != ExitOK || !strings.Contains(after, "Nothing would break") {
		t.Errorf("whatif with learn's additions: exit %d %s\n%s", code, stderr, after)
	}
}

// TestLearnCannotConverge: addresses spread over 200 /24s do not fit in
// 64 ipBlocks of /24: learn says so and exits 1; a wider budget converges.
func TestLearnCannotConverge(t *testing.T) {
	var b strings.Builder
	for i := 0; i < 200; i++ {
		fmt.Fprintf(&b, "2 111122223333 eni-0a7f3c2e91b4d6001 10.0.18.45 198.%d.%d.7 %d 443 6 12 4211 1787412000 1787412060 ACCEPT OK\n", 18+i*2/256, i*2%256, 33000+i)
	}
	log := writeFile(t, "spread.log", b.String())
	args := append([]string{"learn", "--flows", log}, withGroups...)
	_, stderr, code := run(t, "", args...)
	if code != ExitFindings || !strings.Contains(stderr, "widening budget of 8 bits") {
		t.Errorf("learn: exit %d, %s; want 1 and the reason", code, stderr)
	}
	learned, stderr, code := run(t, "", append(args, "--widen-budget", "12")...)
	if code != ExitOK {
		t.Fatalf("learn --widen-budget 12: exit %d %s", code, stderr)
	}
	path := writeFile(t, "learned.yaml", learned)
	if after, stderr, code := run(t, "", "whatif", "-f", path, "--flows", log, "-f", "examples/ml-platform", "-f", "examples/flows/ml-platform/pods.yaml"); code != ExitOK {
		t.Errorf("whatif after learn --widen-budget 12: exit %d %s\n%s", code, stderr, after)
	}
	if _, stderr, code := run(t, "", append(args, "--widen-budget", "32")...); code != ExitInput || !strings.Contains(stderr, "0 to 16") {
		t.Errorf("--widen-budget 32: exit %d %s", code, stderr)
	}
}

// TestFlowsCloudWatchCustomFormat: records of a custom format delivered to
// CloudWatch Logs carry no header line; --flow-log-format gives the flow
// log's LogFormat (as describe-flow-logs shows it) and they are read.
func TestFlowsCloudWatchCustomFormat(t *testing.T) {
	format := "${version} ${vpc-id} ${subnet-id} ${instance-id} ${interface-id} ${account-id} ${type} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${pkt-srcaddr} ${pkt-dstaddr} ${protocol} ${bytes} ${packets} ${start} ${end} ${action} ${tcp-flags} ${log-status}"
	payload := writeFile(t, "custom.json", `{"messageType":"DATA_MESSAGE","owner":"111122223333","logGroup":"vpc-flow-logs","logStream":"eni-0a7f3c2e91b4d6001-all","subscriptionFilters":["to-firehose"],"logEvents":[`+
		`{"id":"31953106606966983378809025079804211143289615424298221568","timestamp":1787412000000,"message":"3 vpc-0a1b2c3d4e5f60001 subnet-0a1b2c3d4e5f60011 i-0a1b2c3d4e5f60021 eni-0a7f3c2e91b4d6001 111122223333 IPv4 10.0.18.45 140.82.112.3 41330 443 10.0.18.45 140.82.112.3 6 40211 64 1787412000 1787412060 ACCEPT 2 OK"},`+
		`{"id":"31953106606966983378809025079804211143289615424298221569","timestamp":1787412000000,"message":"3 vpc-0a1b2c3d4e5f60001 subnet-0a1b2c3d4e5f60011 i-0a1b2c3d4e5f60021 eni-0a7f3c2e91b4d6001 111122223333 IPv4 140.82.112.3 10.0.18.45 443 41330 140.82.112.3 10.0.18.45 6 3120 9 1787412000 1787412060 ACCEPT 18 OK"}]}`)
	if _, stderr, code := run(t, "", append([]string{"whatif", "--flows", payload}, withGroups...)...); code != ExitInput || !strings.Contains(stderr, "--flow-log-format") {
		t.Errorf("without the format: exit %d %s, want 2 and how to give it", code, stderr)
	}
	stdout, stderr, code := run(t, "", append([]string{"whatif", "-o", "json", "--flows", payload, "--flow-log-format", format}, withGroups...)...)
	if code != ExitFindings || len(brokenSet(t, stdout)) != 1 {
		t.Errorf("with the format: exit %d %s\n%s", code, stderr, stdout)
	}
	if !strings.Contains(stdout, "140.82.112.3") {
		t.Errorf("the call to 140.82.112.3 is not reported:\n%s", stdout)
	}
	if _, stderr, code := run(t, "", append([]string{"whatif", "--flows", payload, "--flow-log-format", "${version} ${account-id}"}, withGroups...)...); code != ExitInput || !strings.Contains(stderr, "srcaddr") {
		t.Errorf("a format without addresses: exit %d %s", code, stderr)
	}
}
