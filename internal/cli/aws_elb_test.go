package cli

import (
	"encoding/json"
	"strings"
	"testing"
)

const elbFixture = "internal/cli/testdata/aws-elb"

// elbExposures runs explain --from internet -o json on files (and flags,
// such as --aws) and returns the exposures by entry.
func elbExposures(t *testing.T, to string, files ...string) map[string]map[string]any {
	t.Helper()
	args := []string{"explain", "-o", "json", "--from", "internet", "--to", to}
	for _, f := range files {
		if strings.HasPrefix(f, "--") {
			args = append(args, f)
			continue
		}
		args = append(args, "-f", f)
	}
	stdout, stderr, code := run(t, "", args...)
	if code == ExitInput || code == ExitInternal {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var doc struct {
		Exposures []map[string]any `json:"exposures"`
	}
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	out := map[string]map[string]any{}
	for _, e := range doc.Exposures {
		out[e["entry"].(string)] = e
	}
	return out
}

func firstHop(t *testing.T, e map[string]any) map[string]any {
	t.Helper()
	if e == nil {
		t.Fatal("no such exposure")
	}
	return e["hops"].([]any)[0].(map[string]any)
}

// A Service whose load balancer is in describe-load-balancers is judged by
// that load balancer, not by its annotations: edge asks for an internal
// one but got an internet-facing NLB without security groups (open, its
// instance target group sends the clients' packets to the nodes, whose
// group admits only the VPC: blocked there); partner's group
// admits one public range on the listener port (restricted; the rule for
// 8443 is on another port); legacy matches no load balancer and says its
// verdict was inferred from the annotations.
func TestELBExposure(t *testing.T) {
	es := elbExposures(t, "shop/api", vpcFixture, elbFixture)
	edge := firstHop(t, es["Service/shop/edge"])
	if edge["verdict"] != "open" || es["Service/shop/edge"]["internet"] != false {
		t.Errorf("edge: %v", es["Service/shop/edge"])
	}
	for _, want := range []string{"loadbalancer/net/k8s-shop-edge-0a1b2c3d4e/0123456789abcdef", "internet-facing", "no security groups",
		"matched by its DNS name", "target group k8s-shop-edge-7e8f9a0b1c: instance targets"} {
		if !strings.Contains(edge["detail"].(string), want) {
			t.Errorf("edge detail lacks %q: %s", want, edge["detail"])
		}
	}
	if !strings.Contains(edge["source"].(string), elbFixture+"/load-balancers.json:3") {
		t.Errorf("edge source %v", edge["source"])
	}
	// Instance targets: the nodes' security groups are asked for the node
	// port, and as the NLB has no groups of its own they see the clients'
	// addresses: sg-node's rule for the VPC does not admit them.
	if b, _ := json.Marshal(es["Service/shop/edge"]["hops"]); !strings.Contains(string(b), `{"detail":"no rule admits TCP 30080 from outside","step":"security groups of shop/api","verdict":"blocked"}`) {
		t.Errorf("edge hops: %s", b)
	}
	partner := firstHop(t, es["Service/shop/partner"])
	if partner["verdict"] != "restricted" || !strings.Contains(partner["detail"].(string), "sg-lb-partner admit 81.2.69.0/24 on TCP 443") ||
		!strings.Contains(partner["source"].(string), "sg-lb-partner ingress rule 0") || strings.Contains(partner["source"].(string), "rule 1") {
		t.Errorf("partner: %v", partner)
	}
	// The ALB Ingress asks for internet-facing; its ALB is internal.
	alb := firstHop(t, es["Ingress/shop/shop"])
	if alb["verdict"] != "blocked" || !strings.Contains(alb["detail"].(string), "loadbalancer/app/k8s-shop-shop-3c4d5e6f7a/9f8e7d6c5b4a3921 (application") ||
		!strings.Contains(alb["detail"].(string), "internal, not reachable") || es["Ingress/shop/shop"]["internet"] != false {
		t.Errorf("alb: %v", es["Ingress/shop/shop"])
	}
	legacy := firstHop(t, es["Service/shop/legacy"])
	if !strings.HasPrefix(legacy["detail"].(string), "inferred from the annotations (no load balancer in the AWS inputs matches)") {
		t.Errorf("legacy: %v", legacy)
	}

	// Without the load balancers, edge falls back to its annotation:
	// internal, not reachable.
	es = elbExposures(t, "shop/api", vpcFixture, elbFixture+"/services.yaml")
	if h := firstHop(t, es["Service/shop/edge"]); h["verdict"] != "blocked" || !strings.HasPrefix(h["detail"].(string), "inferred from the annotations") {
		t.Errorf("edge without load balancers: %v", h)
	}
	if h := firstHop(t, es["Ingress/shop/shop"]); h["verdict"] != "open" || !strings.HasPrefix(h["detail"].(string), "inferred from the annotations") {
		t.Errorf("alb without load balancers: %v", h)
	}

	// Text output names the load balancer and where it was read.
	stdout, _, _ := run(t, "", "explain", "-f", vpcFixture, "-f", elbFixture, "--from", "internet", "--to", "shop/api")
	if !strings.Contains(stdout, "by "+elbFixture+"/load-balancers.json:3") {
		t.Errorf("text:\n%s", stdout)
	}
}

// The audit follows the real scheme: llm-public (annotated internal, an
// internet-facing NLB in fact) exposes the inference server; llm-office
// (annotated internet-facing, its group admits only private ranges) does
// not. Without the load balancer files the annotations give the opposite
// answer.
func TestELBAuditRealScheme(t *testing.T) {
	rf009 := func(files ...string) map[string]string {
		args := []string{"audit", "-o", "json"}
		for _, f := range files {
			args = append(args, "-f", f)
		}
		stdout, stderr, code := run(t, "", args...)
		if code != ExitOK && code != ExitFindings {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		var doc struct {
			Findings []struct {
				Rule    string   `json:"rule"`
				Message string   `json:"message"`
				Path    []string `json:"path"`
			} `json:"findings"`
		}
		if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
			t.Fatalf("%v\n%s", err, stdout)
		}
		out := map[string]string{}
		for _, f := range doc.Findings {
			if f.Rule == "RF009" {
				out[strings.Fields(f.Message)[0]] = strings.Join(f.Path, "\n")
			}
		}
		return out
	}
	got := rf009(vpcFixture, elbFixture)
	if _, ok := got["Service/shop/llm-office"]; ok {
		t.Errorf("llm-office's load balancer admits no public address, yet RF009: %v", got)
	}
	path, ok := got["Service/shop/llm-public"]
	if !ok || !strings.Contains(path, "loadbalancer/net/k8s-shop-llmpubli-9a8b7c6d5e/aaaabbbbccccdddd") || !strings.Contains(path, "internet-facing") {
		t.Errorf("llm-public: %v", got)
	}
	got = rf009(vpcFixture, elbFixture+"/services.yaml")
	if _, ok := got["Service/shop/llm-public"]; ok {
		t.Errorf("from annotations llm-public is internal: %v", got)
	}
	if p, ok := got["Service/shop/llm-office"]; !ok || !strings.Contains(p, "inferred from the annotations") {
		t.Errorf("from annotations llm-office is internet-facing: %v", got)
	}
}

// A load balancer from Terraform state carries the controller's tags: one
// tagged service.k8s.aws/stack=shop/llm-public is that Service's even
// without a status hostname (the Service's status names another DNS name
// that no input holds), and its internal scheme wins over nothing-known.
func TestELBMatchByTag(t *testing.T) {
	es := elbExposures(t, "shop/llm", vpcFixture, elbFixture+"/services.yaml", "internal/cli/testdata/aws-elb-tf")
	h := firstHop(t, es["Service/shop/llm-public"])
	if h["verdict"] != "blocked" || !strings.Contains(h["detail"].(string), "matched by its tag service.k8s.aws/stack=shop/llm-public") ||
		!strings.Contains(h["detail"].(string), "internal") {
		t.Errorf("llm-public by tag: %v", h)
	}
	// llm-office has no tagged load balancer: the annotations decide.
	if h := firstHop(t, es["Service/shop/llm-office"]); !strings.HasPrefix(h["detail"].(string), "inferred from the annotations") {
		t.Errorf("llm-office: %v", h)
	}
}

const elbSubnetsFixture = "internal/cli/testdata/aws-elb-subnets"

// hopOf is the hop of an exposure with the given step.
func hopOf(t *testing.T, e map[string]any, step string) map[string]any {
	t.Helper()
	if e == nil {
		t.Fatal("no such exposure")
	}
	for _, h := range e["hops"].([]any) {
		if h := h.(map[string]any); h["step"] == step {
			return h
		}
	}
	return nil
}

// An internet-facing load balancer answers a client through its subnet's
// route table, so the subnet must route the client to an internet gateway
// (AWS: "internet-facing load balancers must be in public subnets"); its
// network ACL, stateless, must admit the listener port in and the replies
// to the client's ephemeral ports (1024-65535) out. Truth table, written
// from the AWS VPC and ELB user guides:
//
//	subnet route 0.0.0.0/0   ACL in 443         ACL out 1024-65535   verdict
//	igw                      all                all                  open
//	nat                      all                all                  blocked
//	igw                      81.2.69.0/24 only  all                  restricted to 81.2.69.0/24
//	igw                      all                none (443 only)      blocked
//	table not given          ACL not given      -                    unknown
func TestELBSubnets(t *testing.T) {
	es := elbExposures(t, "web/web", elbSubnetsFixture)
	for _, c := range []struct{ entry, verdict, detail string }{
		{"Service/web/public-ok", "open", "subnet-pub: route table rtb-public sends 0.0.0.0/0 to igw-1: public; subnet-pub: network ACL acl-default admits TCP 443 in (rule 100 allow) and the replies out (rule 100 allow)"},
		{"Service/web/wrong-subnet", "blocked", "subnet-priv: route table rtb-private sends 0.0.0.0/0 to nat-1: private"},
		{"Service/web/acl-partner", "restricted", "81.2.69.0/24 from the internet reach load balancer k8s-web-acl-partner"},
		{"Service/web/no-reply", "blocked", "network ACL acl-noreply admits TCP 443 in (rule 100 allow) but denies the replies out to the clients' ephemeral ports (rule * deny)"},
		{"Service/web/unknown-table", "unknown", "subnet-other: no table of subnet-other in the inputs"},
	} {
		h := hopOf(t, es[c.entry], "load balancer subnets")
		if h == nil || h["verdict"] != c.verdict || !strings.Contains(h["detail"].(string), c.detail) {
			t.Errorf("%s: got %v, want %s with %q", c.entry, h, c.verdict, c.detail)
		}
		// The security groups alone admit the whole internet on 443.
		if lb := firstHop(t, es[c.entry]); lb["verdict"] != "open" || !strings.Contains(lb["detail"].(string), "on TCP 443 (its listeners TCP:443") {
			t.Errorf("%s: load balancer hop %v", c.entry, lb)
		}
	}
	// A blocked subnet blocks the exposure; an unknown one leaves it possible.
	for entry, want := range map[string]bool{"Service/web/wrong-subnet": false, "Service/web/no-reply": false} {
		if e := es[entry]; e["internet"] != want || e["possible"] == true {
			t.Errorf("%s: internet %v possible %v", entry, e["internet"], e["possible"])
		}
	}
	if e := es["Service/web/unknown-table"]; e["possible"] != true {
		t.Errorf("unknown-table: %v", e)
	}
	// Without the route tables and network ACLs the subnets are not judged.
	es = elbExposures(t, "web/web", elbSubnetsFixture+"/services.yaml", elbSubnetsFixture+"/load-balancers.json",
		elbSubnetsFixture+"/security-groups.json", elbSubnetsFixture+"/listeners.json")
	if h := hopOf(t, es["Service/web/wrong-subnet"], "load balancer subnets"); h != nil {
		t.Errorf("subnets judged without routes or ACLs: %v", h)
	}
}

// The listeners decide which security group rules count: the portal ALB's
// group admits the whole internet on 8080, on which it has no listener,
// and 81.2.69.0/24 on 443, its HTTPS listener. The Ingress has no status:
// describe-tags' ingress.k8s.aws/stack tag ties the ALB to it.
func TestELBListenersAndTags(t *testing.T) {
	es := elbExposures(t, "web/web", elbSubnetsFixture)
	h := firstHop(t, es["Ingress/web/portal"])
	if h["verdict"] != "restricted" || !strings.Contains(h["detail"].(string), "matched by its tag ingress.k8s.aws/stack=web/portal") ||
		!strings.Contains(h["detail"].(string), "admit 81.2.69.0/24 on TCP 443 (its listeners HTTPS:443 ("+elbSubnetsFixture+"/listeners.json:103))") {
		t.Errorf("portal: %v", h)
	}
	// The target group comes from the listener's forward action (the
	// target group names no load balancer).
	lb := firstHop(t, es["Service/web/public-ok"])
	if !strings.Contains(lb["detail"].(string), "target group k8s-web-public-ok: ip targets on TCP:8080, from listener TCP:443") {
		t.Errorf("public-ok: %v", lb)
	}
	// Without the listeners: every port of the ALB counts (8080 admits
	// the whole internet); without the tags: no load balancer matches.
	es = elbExposures(t, "web/web", elbSubnetsFixture+"/services.yaml", elbSubnetsFixture+"/load-balancers.json",
		elbSubnetsFixture+"/security-groups.json", elbSubnetsFixture+"/tags.json")
	if h := firstHop(t, es["Ingress/web/portal"]); h["verdict"] != "open" || !strings.Contains(h["detail"].(string), "on any port (its listeners are not in the inputs") {
		t.Errorf("portal without listeners: %v", h)
	}
	es = elbExposures(t, "web/web", elbSubnetsFixture+"/services.yaml", elbSubnetsFixture+"/load-balancers.json")
	if h := firstHop(t, es["Ingress/web/portal"]); !strings.HasPrefix(h["detail"].(string), "inferred from the annotations") {
		t.Errorf("portal without tags: %v", h)
	}
}
