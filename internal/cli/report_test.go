package cli

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/ringfence/ringfence/internal/check"
	"github.com/ringfence/ringfence/internal/engine"
	"github.com/ringfence/ringfence/internal/gencluster"
	"github.com/ringfence/ringfence/internal/load"
	"github.com/ringfence/ringfence/internal/netset"
	"github.com/ringfence/ringfence/internal/ranges"
	"github.com/ringfence/ringfence/internal/report"
)

// reportModel runs `report -o json` on args.
func reportModel(t *testing.T, args ...string) *report.Report {
	t.Helper()
	stdout, stderr, code := run(t, "", append([]string{"report", "-o", "json"}, args...)...)
	if code != ExitOK {
		t.Fatalf("report -o json: exit %d: %s", code, stderr)
	}
	var r report.Report
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatal(err)
	}
	return &r
}

// The banner says, in words derived from the analysis, what the issue
// asks a reader to see at a glance on the example.
func TestReportHeadlines(t *testing.T) {
	r := reportModel(t, "-f", "examples/ml-platform")
	var training, inference bool
	for _, h := range r.Headlines {
		if strings.Contains(h.Text, "training job ml-workloads/text-embed-finetune") && strings.Contains(h.Text, "node security group ml-node-sg (sg-0a1b2c3d4e5f60001)") &&
			strings.Contains(h.Text, "reaches aws:S3:us-east-1 over the public endpoint (no VPC endpoint) at 52.216.0.0/16 on TCP 443") && !strings.Contains(h.Text, "internet at") && strings.Contains(h.Text, "It admits the whole internet") {
			training = true
		}
		if strings.Contains(h.Text, "inference service ml-workloads/model-server") && strings.Contains(h.Text, "is exposed to the internet. Path: internet → Service/ml-workloads/model-server →") {
			inference = true
		}
	}
	// The ingress controller's own internet-facing entry is its purpose,
	// not a headline.
	for _, h := range r.Headlines {
		if strings.Contains(h.Text, "ingress-nginx/ingress-nginx-controller (Deployment) is exposed to the internet") {
			t.Errorf("intended exposure in the banner: %s", h.Text)
		}
	}
	// Ordered by severity, each linked to a finding of its nodes no less
	// severe than itself.
	for i, h := range r.Headlines {
		if h.Finding < 0 || h.Finding >= len(r.Findings) || r.Findings[h.Finding].Severity.String() != h.Severity {
			t.Errorf("headline %d links finding %d: %+v", i, h.Finding, h)
		}
		if i > 0 {
			prev, _ := check.ParseSeverity(r.Headlines[i-1].Severity)
			if cur, _ := check.ParseSeverity(h.Severity); cur > prev {
				t.Errorf("headline %d (%s) after a %s one", i, h.Severity, r.Headlines[i-1].Severity)
			}
		}
	}
	if !training || !inference {
		t.Errorf("headlines miss the training job's internet reach (%v) or the inference exposure (%v):\n%+v", training, inference, r.Headlines)
	}
	// The fixed platform has neither.
	locked := reportModel(t, "-f", "examples/ml-platform-locked")
	for _, h := range locked.Headlines {
		if strings.Contains(h.Text, "text-embed-finetune") || strings.Contains(h.Text, "is exposed to the internet. Path: internet → Service/ml-workloads/model-server →") {
			t.Errorf("the locked example still says: %s", h.Text)
		}
	}
}

// Edges carry each layer's verdict.
func TestReportEdges(t *testing.T) {
	r := reportModel(t, "-f", "examples/ml-platform")
	want := map[[2]string]string{
		{report.WorkloadID("ml-workloads/text-embed-finetune"), report.DestinationID("aws:S3:us-east-1")}:     report.Allowed,
		{report.WorkloadID("ml-workloads/text-embed-finetune"), report.DestinationID("internet")}:             report.Allowed,
		{report.WorkloadID("ml-workloads/text-embed-finetune"), report.DestinationID("imds")}:                 report.OneLayer,
		{report.WorkloadID("ml-workloads/model-server"), report.DestinationID("internet")}:                    report.Allowed,
		{report.EntryID("Service/ml-workloads/model-server"), report.WorkloadID("ml-workloads/model-server")}: report.Allowed,
		{report.EntryID("Ingress/ml-workloads/model-server"), report.WorkloadID("ml-workloads/model-server")}: report.OneLayer,
	}
	got := map[[2]string]string{}
	for _, e := range r.Edges {
		got[[2]string{e.From, e.To}] = e.Verdict
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s -> %s: verdict %q, want %q", k[0], k[1], got[k], v)
		}
	}
	// Without the AWS layer, the edges say so rather than guess.
	dir := t.TempDir()
	copyTree(t, "examples/ml-platform", dir, "aws")
	np := reportModel(t, "-f", dir)
	if np.SecurityGroups {
		t.Error("securityGroups is true without security groups")
	}
	for _, e := range np.Edges {
		if e.From == report.WorkloadID("ml-workloads/text-embed-finetune") && e.To == report.DestinationID("imds") && (e.Verdict != report.Denied || e.Layers[1].Verdict != "unknown") {
			t.Errorf("without security groups, the training job's IMDS edge is %q (%+v), want denied by its NetworkPolicy, security groups unknown", e.Verdict, e.Layers)
		}
	}
}

// copyTree copies a directory, leaving out the subdirectory skip.
func copyTree(t *testing.T, from, to, skip string) {
	t.Helper()
	err := filepath.WalkDir(from, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, path)
		if d.IsDir() {
			if rel == skip {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(to, rel), 0o755)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestReportDOTGolden(t *testing.T) {
	for _, example := range []string{"ml-platform", "ml-platform-locked"} {
		stdout, stderr, code := run(t, "", "report", "-f", "examples/"+example, "-o", "dot")
		if code != ExitOK {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		golden(t, "report/"+example+".dot", stdout)
		// Graphviz reads it, where installed.
		if dot, err := exec.LookPath("dot"); err == nil {
			cmd := exec.Command(dot, "-Tsvg", "-o", os.DevNull)
			cmd.Stdin = strings.NewReader(stdout)
			if out, err := cmd.CombinedOutput(); err != nil || len(out) > 0 {
				t.Errorf("dot rejects the output: %v %s", err, out)
			}
		}
	}
	stdout, _, _ := run(t, "", "report", "-f", "examples/ml-platform", "-o", "json")
	golden(t, "report/ml-platform.json", stdout)
}

func TestReportBadInput(t *testing.T) {
	if _, stderr, code := run(t, "", "report", "-f", "examples/ml-platform", "-o", "pdf"); code != ExitInput || !strings.Contains(stderr, "html, dot, json") {
		t.Errorf("exit %d: %s", code, stderr)
	}
	if _, stderr, code := run(t, "", "report", "-f", "does-not-exist"); code != ExitInput || !strings.Contains(stderr, "does-not-exist") {
		t.Errorf("exit %d: %s", code, stderr)
	}
	if _, stderr, code := run(t, "", "report", "-f", "examples/ml-platform", "--rules", "RF999"); code != ExitInput || !strings.Contains(stderr, "RF999") {
		t.Errorf("exit %d: %s", code, stderr)
	}
}

// The example's report, in a real browser: it loads quietly, shows the
// counts and findings the audit computes, the banner, the graph; the
// filters change what is shown; it fetches nothing.
func TestReportHTMLInChromium(t *testing.T) {
	html, stderr, code := run(t, "", "report", "-f", "examples/ml-platform", "-o", "html")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, secret := range []string{"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "AKIAIOSFODNN7EXAMPLE"} {
		if strings.Contains(html, secret) {
			t.Errorf("the report prints the secret value %q", secret)
		}
	}
	model := reportModel(t, "-f", "examples/ml-platform")
	p := openPage(t, html)

	counts := eval[map[string]int](t, p, `Object.fromEntries([...document.querySelectorAll('.count')].map(b => [b.dataset.severity, Number(b.querySelector('.n').textContent)]))`)
	for _, c := range model.Summary.Severities {
		if counts[c.Severity] != c.Count {
			t.Errorf("%s: the page shows %d, the audit counts %d", c.Severity, counts[c.Severity], c.Count)
		}
	}
	if model.Summary.Severities[0].Count == 0 {
		t.Fatal("the example has no critical finding: the test would prove nothing")
	}
	findings := eval[[]string](t, p, `[...document.querySelectorAll('#findings .finding')].map(f => f.dataset.rule + ' ' + f.dataset.object)`)
	if len(findings) != model.Summary.Total {
		t.Errorf("%d findings shown, want %d", len(findings), model.Summary.Total)
	}
	for _, want := range []string{"RF009 Service/ml-workloads/model-server", "RF001 Deployment/ml-workloads/model-server", "RF005 PyTorchJob/ml-workloads/text-embed-finetune", "RF007 SecurityGroup/sg-0a1b2c3d4e5f60001"} {
		if !contains(findings, want) {
			t.Errorf("finding %q not shown (shown: %v)", want, findings)
		}
	}
	banner := eval[string](t, p, `document.getElementById('headlines').innerText`)
	// Each banner sentence links to its finding, and the link finds it.
	if n := eval[int](t, p, `document.querySelectorAll('#headlines button.to-finding').length`); n != len(model.Headlines) || n == 0 {
		t.Errorf("%d banner links to findings, want %d", n, len(model.Headlines))
	}
	if !eval[bool](t, p, `(() => { const b = document.querySelector('#headlines button.to-finding'); b.click(); return !!document.getElementById('finding-' + b.dataset.finding); })()`) {
		t.Error("the banner's first link does not lead to its finding")
	}
	for _, want := range []string{"training job ml-workloads/text-embed-finetune", "node security group ml-node-sg", "inference service ml-workloads/model-server (Deployment) is exposed to the internet"} {
		if !strings.Contains(banner, want) {
			t.Errorf("banner lacks %q:\n%s", want, banner)
		}
	}
	// The graph: every workload, the ingress path, the destinations, and
	// the edges with their verdicts.
	nodes := eval[[]string](t, p, `[...document.querySelectorAll('#graph .node')].map(n => n.dataset.id)`)
	for _, want := range []string{report.WorkloadID("ml-workloads/text-embed-finetune"), report.WorkloadID("ml-workloads/model-server"), report.EntryID("Service/ml-workloads/model-server"),
		report.InternetSourceID, report.DestinationID("internet"), report.DestinationID("aws:S3:us-east-1"), report.DestinationID("imds")} {
		if !contains(nodes, want) {
			t.Errorf("graph lacks node %s (has %v)", want, nodes)
		}
	}
	edges := eval[[]string](t, p, `[...document.querySelectorAll('#graph path.edge')].map(e => e.dataset.from + ' ' + e.dataset.to + ' ' + e.dataset.verdict)`)
	for _, want := range []string{
		report.WorkloadID("ml-workloads/text-embed-finetune") + " " + report.DestinationID("aws:S3:us-east-1") + " allowed",
		report.WorkloadID("ml-workloads/text-embed-finetune") + " " + report.DestinationID("internet") + " allowed",
		report.EntryID("Service/ml-workloads/model-server") + " " + report.WorkloadID("ml-workloads/model-server") + " allowed",
	} {
		if !contains(edges, want) {
			t.Errorf("graph lacks edge %q", want)
		}
	}
	shot := p.screenshot(t)
	if dir := os.Getenv("RINGFENCE_SCREENSHOTS"); dir != "" {
		full, err := chromedp.Run(p.ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "report.png"), shot, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "report-full.png"), full, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// Filter: leave the ml-workloads namespace out.
	p.click(t, `#ns-chips .chip[data-ns="ml-workloads"]`)
	after := eval[[]string](t, p, `[...document.querySelectorAll('#findings .finding')].map(f => f.dataset.rule + ' ' + f.dataset.object)`)
	if len(after) >= len(findings) || contains(after, "RF009 Service/ml-workloads/model-server") || contains(after, "RF005 PyTorchJob/ml-workloads/text-embed-finetune") {
		t.Errorf("after leaving ml-workloads out, the findings are %v", after)
	}
	nodesAfter := eval[[]string](t, p, `[...document.querySelectorAll('#graph .node.workload')].map(n => n.dataset.id)`)
	if contains(nodesAfter, report.WorkloadID("ml-workloads/model-server")) || len(nodesAfter) == 0 {
		t.Errorf("after leaving ml-workloads out, the graph shows %v", nodesAfter)
	}
	critical := eval[int](t, p, `Number(document.querySelector('.count[data-severity="critical"] .n').textContent)`)
	if critical >= counts["critical"] {
		t.Errorf("the critical count did not follow the namespace filter: %d", critical)
	}
	// Severity: critical alone.
	p.click(t, `#ns-all`)
	p.click(t, `.count[data-severity="critical"]`)
	sevs := eval[[]string](t, p, `[...new Set([...document.querySelectorAll('#findings .finding')].map(f => f.dataset.severity))]`)
	if len(sevs) != 1 || sevs[0] != "critical" {
		t.Errorf("after clicking critical, the severities shown are %v", sevs)
	}
	// Clicking a workload shows each layer's verdict.
	p.click(t, `.count[data-severity="critical"]`)
	p.click(t, `#graph .node[data-id="`+report.WorkloadID("ml-workloads/text-embed-finetune")+`"]`)
	details := eval[string](t, p, `document.getElementById('details').innerText`)
	for _, want := range []string{"aws:S3:us-east-1", "NetworkPolicy: partly allows", "security groups: allows"} {
		if !strings.Contains(details, want) {
			t.Errorf("details lack %q:\n%s", want, details)
		}
	}
	p.checkQuiet(t)
}

// 500 workloads stay readable: namespaces start folded, so what is drawn
// grows with the namespaces, not the workloads; unfolding one shows its
// workloads; the page stays quiet.
func TestReportHTMLLarge(t *testing.T) {
	dir := t.TempDir()
	if _, err := gencluster.Generate(gencluster.Config{Namespaces: 63, Workloads: 8, Policies: 5, SecurityGroups: 6, Seed: 1, Out: dir}); err != nil {
		t.Fatal(err)
	}
	model := reportModel(t, "-f", dir)
	workloads := 0
	for _, n := range model.Nodes {
		if n.Lane == report.LaneWorkload {
			workloads++
		}
	}
	if workloads < 500 {
		t.Fatalf("%d workloads generated, want 500 or more", workloads)
	}
	html, stderr, code := run(t, "", "report", "-f", dir, "-o", "html")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	p := openPage(t, html)
	namespaces, dests := 0, 0
	for _, n := range model.Nodes {
		if n.Lane == report.LaneDestination {
			dests++
		}
	}
	seen := map[string]bool{}
	for _, n := range model.Nodes {
		if n.Lane == report.LaneWorkload && !seen[n.Namespace] {
			seen[n.Namespace] = true
			namespaces++
		}
	}
	drawn := eval[map[string]int](t, p, `({rows: document.querySelectorAll('#graph .node.ns, #graph .node.workload').length, workloads: document.querySelectorAll('#graph .node.workload').length, edges: document.querySelectorAll('#graph path.edge').length})`)
	// A row per namespace, a few unfolded, an edge per row and destination
	// at most: it grows with namespaces and destinations, not workloads.
	if drawn["workloads"] > 40 || drawn["rows"] > namespaces+40 || drawn["edges"] > drawn["rows"]*dests {
		t.Errorf("too much drawn for %d workloads in %d namespaces: %v", workloads, namespaces, drawn)
	}
	total := eval[int](t, p, `Number(document.getElementById('shown-total').textContent)`)
	if total != model.Summary.Total {
		t.Errorf("%d findings counted, want %d", total, model.Summary.Total)
	}
	ns := eval[string](t, p, `document.querySelector('#graph .node.ns[data-collapsed="true"]').dataset.id`)
	p.click(t, `#graph .node.ns[data-id="`+ns+`"]`)
	unfolded := eval[int](t, p, `document.querySelectorAll('#graph .node.workload').length`)
	if unfolded <= drawn["workloads"] {
		t.Errorf("unfolding %s drew %d workloads, before %d", ns, unfolded, drawn["workloads"])
	}
	shot := p.screenshot(t)
	if dir := os.Getenv("RINGFENCE_SCREENSHOTS"); dir != "" {
		if err := os.WriteFile(filepath.Join(dir, "report-large.png"), shot, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p.checkQuiet(t)
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// A world with nothing to draw still makes a quiet page that says so.
func TestReportHTMLEmpty(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "ns.yaml"), []byte("apiVersion: v1\nkind: Namespace\nmetadata: {name: empty}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	html, stderr, code := run(t, "", "report", "-f", dir, "-o", "html")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	p := openPage(t, html)
	text := eval[string](t, p, `document.getElementById('findings').innerText + ' | ' + document.getElementById('headlines').innerText`)
	if !strings.Contains(text, "No findings") || !strings.Contains(text, "Nothing reaches the internet") {
		t.Errorf("the empty report says: %s", text)
	}
	p.checkQuiet(t)
}

// The report explains egress once per EgressKey: peers that share a key
// must get the same explanation, but for their names.
func TestEgressKeySharesExplanations(t *testing.T) {
	dir := t.TempDir()
	if _, err := gencluster.Generate(gencluster.Config{Namespaces: 12, Workloads: 8, Policies: 5, SecurityGroups: 6, Seed: 3, Out: dir}); err != nil {
		t.Fatal(err)
	}
	// examples/tiers/eks: tiered policies decide egress too (ml's pods
	// have S3's IPv4 addresses unknown, web's allowed).
	for _, input := range []string{dir, "examples/ml-platform", "examples/ml-platform-locked", "examples/tiers/eks"} {
		res, err := load.Load(context.Background(), load.Options{Files: []string{input}})
		if err != nil {
			t.Fatal(err)
		}
		a, err := engine.Analyse(res.World, engine.Options{Level: engine.LevelWorkload})
		if err != nil {
			t.Fatal(err)
		}
		doc, err := ranges.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		set, _, _ := ranges.Named(doc, "aws:S3:us-east-1")
		dst := engine.Destination{Name: "s3", Set: set}
		first := map[string]string{}
		shared := 0
		for _, p := range a.Peers() {
			if p.Workload == nil {
				continue
			}
			e, err := engine.ExplainDestination(a, p.ID, dst, netset.TCP, 0)
			if err != nil {
				t.Fatal(err)
			}
			e.From = ""
			b, _ := json.Marshal(e)
			if prev, ok := first[p.EgressKey()]; ok {
				shared++
				if prev != string(b) {
					t.Errorf("%s: %s shares an egress key with another peer but is explained differently:\n%s\n%s", input, p.ID, prev, b)
				}
			} else {
				first[p.EgressKey()] = string(b)
			}
		}
		if input == dir && shared == 0 {
			t.Errorf("no two peers share an egress key in %s: the test proves nothing", input)
		}
	}
}

// TestReportHTMLFirstPaint opens the report of a 1,000-namespace cluster
// (8,000 workloads, with security groups) in headless Chromium and checks,
// from the browser's own paint timing, that the first paint shows the
// banner within 2 s of navigation: the Element Timing API gives when the
// "At a glance" heading (it carries an elementtiming attribute) was first
// rendered, and it must be the first contentful paint; the headlines are
// written in the page ahead of the data, so they are there. It also checks
// the page stays under 5 MB. Skipped with -short: the report alone takes
// seconds of CPU.
func TestReportHTMLFirstPaint(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: a 1,000-namespace report")
	}
	chromiumPath(t)
	dir := t.TempDir()
	if _, err := gencluster.Generate(gencluster.Config{Namespaces: 1000, Workloads: 8, Policies: 5, SecurityGroups: 6, Seed: 1, Out: dir}); err != nil {
		t.Fatal(err)
	}
	html, stderr, code := run(t, "", "report", "-f", dir, "-o", "html")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if len(html) >= 5_000_000 {
		t.Errorf("the page is %d bytes, want under 5 MB", len(html))
	}
	banner := strings.Index(html, `elementtiming="banner"`)
	data := strings.Index(html, `id="report-data"`)
	headlines := strings.Count(html[:max(data, 0)], `<li class="headline sev-`)
	if banner < 0 || data < banner || headlines == 0 {
		t.Fatalf("the banner (at %d) and its %d headlines must come before the data block (at %d)", banner, headlines, data)
	}
	p := openPage(t, html)
	// The entries are buffered from the start; the observer hands them over
	// at once (a timer ends the wait should there be none).
	timing, err := chromedp.Run(p.ctx, chromedp.Evaluate[map[string]float64](`new Promise(function (done) {
	  var out = {banner: -1};
	  var fcp = performance.getEntriesByName('first-contentful-paint')[0];
	  out.fcp = fcp ? fcp.startTime : -1;
	  out.ready = performance.getEntriesByType('navigation')[0].loadEventEnd;
	  new PerformanceObserver(function (list) {
	    list.getEntries().forEach(function (e) {
	      if (e.identifier === 'banner') out.banner = e.renderTime;
	    });
	    done(out);
	  }).observe({type: 'element', buffered: true});
	  setTimeout(function () { done(out); }, 5000);
	})`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("first contentful paint %.0f ms, banner %.0f ms, load event end (the graph drawn) %.0f ms, page %d bytes",
		timing["fcp"], timing["banner"], timing["ready"], len(html))
	switch {
	case timing["banner"] <= 0 || timing["fcp"] <= 0:
		t.Fatalf("no paint timing for the banner: %v", timing)
	case timing["banner"] > 2000:
		t.Errorf("the banner was first painted %.0f ms after navigation, want under 2,000", timing["banner"])
	case timing["banner"] > timing["fcp"]+50:
		t.Errorf("the first paint (%.0f ms) came before the banner's (%.0f ms)", timing["fcp"], timing["banner"])
	}
	if n := eval[int](t, p, `document.querySelectorAll('#headlines .headline').length`); n != headlines {
		t.Errorf("%d headlines on the page, %d written", n, headlines)
	}
	p.checkQuiet(t)
}
