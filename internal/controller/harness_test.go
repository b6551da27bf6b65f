package controller

import (
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/ringfence/ringfence/api/v1alpha1"
	"github.com/ringfence/ringfence/internal/feed"
	"github.com/ringfence/ringfence/internal/ranges"
	"github.com/ringfence/ringfence/internal/testenv"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
)

// The real publications of April 2026: two hours apart, the second adds
// five /22s to S3 in us-east-1.
var (
	april1 = filepath.Join("..", "ranges", "testdata", "ip-ranges-2026-04-13-20-07-05.json")
	april2 = filepath.Join("..", "ranges", "testdata", "ip-ranges-2026-04-13-22-07-05.json")
)

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// variant returns a publication derived from base: a later syncToken and
// createDate, and prefixes edited by edit (IPv4 entries as decoded JSON).
func variant(t testing.TB, base []byte, token int64, edit func([]any) []any) []byte {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(base, &doc); err != nil {
		t.Fatal(err)
	}
	doc["syncToken"] = strconv.FormatInt(token, 10)
	doc["createDate"] = time.Unix(token, 0).UTC().Format("2006-01-02-15-04-05")
	if edit != nil {
		doc["prefixes"] = edit(doc["prefixes"].([]any))
	}
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// without drops the IPv4 prefix p (for every service listing it).
func without(p string) func([]any) []any {
	return func(ps []any) []any {
		var out []any
		for _, x := range ps {
			if x.(map[string]any)["ip_prefix"] != p {
				out = append(out, x)
			}
		}
		return out
	}
}

// feedServer serves one publication at a time over TLS on 127.0.0.1, with
// an ETag so that clients can GET conditionally.
type feedServer struct {
	srv      *httptest.Server
	mu       sync.Mutex
	body     []byte
	requests atomic.Int64
	notMod   atomic.Int64
	// md5 overrides the Content-MD5 header (hex) when set; served is
	// called with each body served in full.
	md5    string
	served func([]byte)
}

func newFeedServer(t testing.TB, body []byte) *feedServer {
	f := &feedServer{body: body}
	f.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.requests.Add(1)
		f.mu.Lock()
		body, md5hex, served := f.body, f.md5, f.served
		f.mu.Unlock()
		sum := md5.Sum(body)
		etag := `"` + hex.EncodeToString(sum[:]) + `"`
		if r.Header.Get("If-None-Match") == etag {
			f.notMod.Add(1)
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", etag)
		if md5hex != "" {
			raw, _ := hex.DecodeString(md5hex)
			w.Header().Set("Content-MD5", base64.StdEncoding.EncodeToString(raw))
		}
		if served != nil {
			defer served(body)
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *feedServer) serve(body []byte) {
	f.mu.Lock()
	f.body, f.md5 = body, ""
	f.mu.Unlock()
}

// publish serves body with a Content-MD5 of md5hex ("" for none).
func (f *feedServer) publish(body []byte, md5hex string) {
	f.mu.Lock()
	f.body, f.md5 = body, md5hex
	f.mu.Unlock()
}

func (f *feedServer) source(t testing.TB) feed.Source {
	t.Helper()
	src, err := feed.NewHTTP(f.srv.URL+"/ip-ranges.json", f.srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// cluster is a control plane shared by the scenarios of one test.
type cluster struct {
	env *testenv.Env
	c   client.Client
}

func startCluster(t *testing.T) *cluster {
	t.Helper()
	return startClusterDirs(t, filepath.Join(testenv.RepoRoot(), "deploy", "ringfence-controller", "crds"))
}

// startClusterDirs starts the control plane with the CRDs of crdDirs.
func startClusterDirs(t *testing.T, crdDirs ...string) *cluster {
	t.Helper()
	// The controllers' logs go nowhere; failures are in the assertions.
	ctrllog.SetLogger(logr.Discard())
	env := testenv.Start(t, crdDirs...)
	scheme, err := NewScheme()
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(env.Config, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	return &cluster{env: env, c: c}
}

// running is one controller process.
type running struct {
	ctrl   *Controller
	reg    *prometheus.Registry
	cancel context.CancelFunc
	done   chan error
}

type runOptions struct {
	ns       string
	source   feed.Source
	rules    Rules
	election bool
	config   *rest.Config
	// log receives the controller's log lines when set.
	log *testenv.Buffer
}

// run starts a controller watching ns, with its ledger in ns.
func (cl *cluster) run(t *testing.T, o runOptions) *running {
	t.Helper()
	cfg := o.config
	if cfg == nil {
		cfg = rest.CopyConfig(cl.env.Config)
	}
	mo := ManagerOptions{Namespaces: []string{o.ns}, MetricsAddr: "0", ProbeAddr: "0", GracefulShutdown: 5 * time.Second}
	if o.log != nil {
		mo.Logger = funcr.New(func(prefix, args string) { fmt.Fprintln(o.log, prefix, args) }, funcr.Options{})
	}
	if o.election {
		mo.LeaderElection, mo.LeaderElectionNamespace, mo.LeaderElectionID = true, o.ns, "ringfence-controller"
		mo.LeaseDuration, mo.RenewDeadline, mo.RetryPeriod = 3*time.Second, 2*time.Second, 500*time.Millisecond
	}
	mgr, err := NewManager(cfg, mo)
	if err != nil {
		t.Fatal(err)
	}
	if o.rules == (Rules{}) {
		o.rules = Rules{Grace: DefaultGrace, MaxShrink: DefaultMaxShrink}
	}
	reg := prometheus.NewRegistry()
	c, err := Setup(mgr, Options{Source: o.source, Interval: 200 * time.Millisecond, Rules: o.rules, Namespace: o.ns, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{ctrl: c, reg: reg, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- mgr.Start(ctx) }()
	t.Cleanup(r.stop)
	return r
}

// stop shuts the controller down and waits for it.
func (r *running) stop() {
	if r.cancel == nil {
		return
	}
	r.cancel()
	r.cancel = nil
	<-r.done
}

// writes is the controller's count of writes to the API of kind (all
// kinds when empty).
func (r *running) writes(t testing.TB, kind string) float64 {
	t.Helper()
	return r.metric(t, "ringfence_api_writes_total", func(labels map[string]string) bool { return kind == "" || labels["kind"] == kind })
}

func (r *running) metric(t testing.TB, name string, match func(map[string]string) bool) float64 {
	t.Helper()
	mfs, err := r.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	total := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.Metric {
			labels := map[string]string{}
			for _, l := range m.Label {
				labels[l.GetName()] = l.GetValue()
			}
			if match != nil && !match(labels) {
				continue
			}
			total += value(m)
		}
	}
	return total
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	}
	return 0
}

// eventually polls cond every 100 ms for at most 45 s.
func eventually(t testing.TB, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(45 * time.Second)
	last := ""
	for time.Now().Before(deadline) {
		ok, msg := cond()
		if ok {
			return
		}
		last = msg
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s: %s", what, last)
}

func (cl *cluster) namespace(t *testing.T, name string) string {
	t.Helper()
	if err := cl.c.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}); err != nil {
		t.Fatal(err)
	}
	return name
}

// trainingFence fences app=trainer pods: S3 in us-east-1 and cluster DNS.
func (cl *cluster) trainingFence(t *testing.T, ns string) *v1alpha1.Fence {
	t.Helper()
	ctx := context.Background()
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "trainer-0", Namespace: ns, Labels: map[string]string{"app": "trainer"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Image: "pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime"}}}}
	if err := cl.c.Create(ctx, pod); err != nil {
		t.Fatal(err)
	}
	f := &v1alpha1.Fence{ObjectMeta: metav1.ObjectMeta{Name: "training", Namespace: ns}, Spec: v1alpha1.FenceSpec{
		Workloads: metav1.LabelSelector{MatchLabels: map[string]string{"app": "trainer"}},
		Egress:    []v1alpha1.EgressIntent{{AWS: &v1alpha1.AWSDestination{Service: "S3", Region: "us-east-1"}}, {DNS: &v1alpha1.DNSDestination{}}},
	}}
	if err := cl.c.Create(ctx, f); err != nil {
		t.Fatal(err)
	}
	return f
}

func (cl *cluster) policy(t testing.TB, ns, name string) *networkingv1.NetworkPolicy {
	t.Helper()
	var p networkingv1.NetworkPolicy
	if err := cl.c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, &p); err != nil {
		return nil
	}
	return &p
}

func (cl *cluster) fence(t testing.TB, ns, name string) *v1alpha1.Fence {
	t.Helper()
	var f v1alpha1.Fence
	if err := cl.c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, &f); err != nil {
		t.Fatal(err)
	}
	return &f
}

func condition(f *v1alpha1.Fence, typ string) metav1.Condition {
	for _, c := range f.Status.Conditions {
		if c.Type == typ {
			return c
		}
	}
	return metav1.Condition{}
}

// s3 returns the aggregated S3 us-east-1 ranges of a publication.
func s3(t testing.TB, body []byte) []string {
	t.Helper()
	doc, err := ranges.Parse(strings.NewReader(string(body)), "test")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range ranges.Aggregate(doc.Select(ranges.Filter{Services: []string{"S3"}, Regions: []string{"us-east-1"}})) {
		out = append(out, p.String())
	}
	return out
}

// ruleCIDRs returns the ipBlock CIDRs of egress rule i.
func ruleCIDRs(p *networkingv1.NetworkPolicy, i int) []string {
	if p == nil || i >= len(p.Spec.Egress) {
		return nil
	}
	var out []string
	for _, peer := range p.Spec.Egress[i].To {
		if peer.IPBlock != nil {
			out = append(out, peer.IPBlock.CIDR)
		}
	}
	return out
}

func contains(cidrs []string, p string) bool {
	want := netip.MustParsePrefix(p)
	for _, c := range cidrs {
		if pp := netip.MustParsePrefix(c); pp.Bits() <= want.Bits() && pp.Contains(want.Addr()) {
			return true
		}
	}
	return false
}

// events returns the notes of the Events of ns with reason.
func (cl *cluster) events(t testing.TB, ns, reason string) []string {
	t.Helper()
	var list eventsv1.EventList
	if err := cl.c.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range list.Items {
		if e.Reason == reason {
			out = append(out, fmt.Sprintf("%s/%s: %s", e.Regarding.Kind, e.Regarding.Name, e.Note))
		}
	}
	return out
}

func parseDoc(t testing.TB, body []byte) *ranges.Document {
	t.Helper()
	doc, err := ranges.Parse(strings.NewReader(string(body)), "test")
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// withoutFor drops the IPv4 prefix p from service only (AMAZON and other
// services keep it).
func withoutFor(service, p string) func([]any) []any {
	return func(ps []any) []any {
		var out []any
		for _, x := range ps {
			if m := x.(map[string]any); m["ip_prefix"] != p || m["service"] != service {
				out = append(out, x)
			}
		}
		return out
	}
}
