package generate

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ringfence/ringfence/api/v1alpha1"
	"github.com/ringfence/ringfence/internal/load"
	"github.com/ringfence/ringfence/internal/model"
	"github.com/ringfence/ringfence/internal/ranges"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func loadExample(t *testing.T, extra ...string) (*model.World, *ranges.Document) {
	t.Helper()
	files := append([]string{filepath.Join("..", "..", "examples", "ml-platform")}, extra...)
	res, err := load.Load(context.Background(), load.Options{Files: files})
	if err != nil {
		t.Fatal(err)
	}
	doc, err := ranges.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	return res.World, doc
}

func TestGenerateExample(t *testing.T) {
	w, doc := loadExample(t, filepath.Join("..", "..", "examples", "fences", "ml-platform.yaml"))
	out, err := Generate(w, doc, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range out.Policies {
		names = append(names, p.Namespace+"/"+p.Name)
		if p.Labels[ManagedByLabel] != ManagedBy || p.Annotations[SyncTokenAnnotation] != doc.SyncToken {
			t.Errorf("%s lacks the managed-by label or the syncToken annotation", p.Name)
		}
	}
	want := "ml-workloads/ringfence-default-deny ml-workloads/ringfence-inference ml-workloads/ringfence-training ml-workloads/ringfence-training-peers-text-embed-finetune"
	if strings.Join(names, " ") != want {
		t.Errorf("policies %v, want %s", names, want)
	}
	var training *networkingv1.NetworkPolicy
	for _, p := range out.Policies {
		if p.Name == "ringfence-training" {
			training = p
		}
	}
	s3 := ranges.Aggregate(doc.Select(ranges.Filter{Services: []string{"S3"}, Regions: []string{"us-east-1"}}))
	if got := len(training.Spec.Egress[0].To); got != len(s3) {
		t.Errorf("S3 rule has %d ipBlocks, want the %d aggregated prefixes", got, len(s3))
	}
	if len(out.Patches) != 1 || out.Patches[0].Value != "203.0.113.0/24" || out.Patches[0].Annotation != "nginx.ingress.kubernetes.io/whitelist-source-range" {
		t.Errorf("patches %+v", out.Patches)
	}
	// (The two quota warnings come from the nodes' needs: the region's
	// AMAZON ranges in prefix lists.)
	all := strings.Join(out.Warnings, "\n")
	for _, want := range []string{"requiring IMDSv2 with a hop limit of 1 on ip-10-0-17-24.ec2.internal, ip-10-0-18-201.ec2.internal", "huggingface.co:443 is a DNS name",
		"revoking the open egress of sg-0a1b2c3d4e5f60001 closes it for the workloads it also fences (features/Deployment/feature-api, ingress-nginx/Deployment/ingress-nginx-controller, kube-system/Deployment/coredns): their needs that no Fence names",
		"would need more than 60 IPv4 egress rules", "would need more than 60 IPv6 egress rules"} {
		if !strings.Contains(all, want) {
			t.Errorf("warnings lack %q: %v", want, out.Warnings)
		}
	}
	// (No warning that the job's ephemeral ports are cut on the shared
	// node group: the job gets a group of its own.)
	if len(out.Warnings) != 5 {
		t.Errorf("warnings %v", out.Warnings)
	}
	// The LoadBalancer in front of inference goes; the controller's load
	// balancer admits only the Fence's source ranges.
	if len(out.ServicePatches) != 2 ||
		out.ServicePatches[0].Name != "model-server" || out.ServicePatches[0].Type != "ClusterIP" ||
		out.ServicePatches[1].Name != "ingress-nginx-controller" || strings.Join(out.ServicePatches[1].SourceRanges, ",") != "203.0.113.0/24" {
		t.Errorf("service patches %+v", out.ServicePatches)
	}
	// Every node carries the rewritten group: all four get IMDSv2, hop 1.
	if len(out.Metadata) != 4 || out.Metadata[0].HTTPTokens != "required" || out.Metadata[0].HopLimit != 1 {
		t.Errorf("metadata %+v", out.Metadata)
	}
	// Applied, the instances carry the options and the Ingress its
	// allowlist; the inference load balancer's frontend group is gone, the
	// controller's admits only the Fence's ranges.
	next := Apply(w, out)
	for _, in := range next.Instances {
		if in.MetadataTokens != "required" || in.MetadataHopLimit != 1 {
			t.Errorf("applied instance %s: %s/%d", in.ID, in.MetadataTokens, in.MetadataHopLimit)
		}
	}
	for _, ing := range next.Ingresses {
		if ing.Annotations["nginx.ingress.kubernetes.io/whitelist-source-range"] != "203.0.113.0/24" {
			t.Errorf("applied Ingress %s: %v", ing.Name, ing.Annotations)
		}
	}
	frontends := map[string]string{}
	for _, g := range next.SecurityGroups {
		if g.Tags["service.k8s.aws/resource"] == "ManagedLBSecurityGroup" {
			var rules []string
			for _, r := range g.Ingress {
				rules = append(rules, fmt.Sprintf("%s/%d %v", r.Protocol, r.FromPort, r.CIDRs))
			}
			frontends[g.Tags["service.k8s.aws/stack"]] = strings.Join(rules, " ")
		}
	}
	if len(frontends) != 1 || frontends["ingress-nginx/ingress-nginx-controller"] != "tcp/80 [203.0.113.0/24] tcp/443 [203.0.113.0/24]" {
		t.Errorf("load balancer frontend groups after applying: %v", frontends)
	}
	problems, err := Verify(w, out, doc, Options{})
	if err != nil || len(problems) != 0 {
		t.Errorf("verification: %v %v", err, problems)
	}
}

// Verification finds what a broken output does wrong.
func TestVerifyCatchesMistakes(t *testing.T) {
	w, doc := loadExample(t, filepath.Join("..", "..", "examples", "fences", "ml-platform.yaml"))
	out, err := Generate(w, doc, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range out.Policies {
		if p.Name == "ringfence-training" {
			p.Spec.Egress = append(p.Spec.Egress[:1], p.Spec.Egress[2:]...) // drop DNS
			// The internet, without the private ranges: an ipBlock holding
			// the pods' addresses would admit DNS as well.
			p.Spec.Egress = append(p.Spec.Egress, networkingv1.NetworkPolicyEgressRule{To: []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: "0.0.0.0/0", Except: []string{"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10"}}}}})
		}
	}
	problems, err := Verify(w, out, doc, Options{})
	if err != nil {
		t.Fatal(err)
	}
	all := strings.Join(problems, "\n")
	for _, want := range []string{"cannot reach DNS", "can reach the internet", "can reach the instance metadata service", "audit after applying: RF004"} {
		if !strings.Contains(all, want) {
			t.Errorf("verification misses %q:\n%s", want, all)
		}
	}
}

// Random Fences over the example: whatever the combination of intents,
// the output does what they say and nothing more.
func TestRandomFences(t *testing.T) {
	w, doc := loadExample(t)
	r := rand.New(rand.NewPCG(5, 8))
	regions := []string{"us-east-1", "eu-west-1", "us-west-2"}
	services := []string{"S3", "DYNAMODB", "EC2"}
	for i := 0; i < 25; i++ {
		f := &model.Fence{Meta: model.Meta{Kind: "Fence", Namespace: "ml-workloads", Name: "random"}}
		f.Spec.Workloads = metav1.LabelSelector{MatchLabels: map[string]string{"app": []string{"ml-training", "ml-inference"}[r.IntN(2)]}}
		if r.IntN(2) == 0 {
			f.Spec.Egress = append(f.Spec.Egress, v1alpha1.EgressIntent{AWS: &v1alpha1.AWSDestination{Service: services[r.IntN(3)], Region: regions[r.IntN(3)]}})
		}
		if r.IntN(2) == 0 {
			f.Spec.Egress = append(f.Spec.Egress, v1alpha1.EgressIntent{DNS: &v1alpha1.DNSDestination{}})
		}
		if r.IntN(2) == 0 {
			f.Spec.Egress = append(f.Spec.Egress, v1alpha1.EgressIntent{Service: &v1alpha1.ServiceDestination{Namespace: "features", Name: "feature-api", Port: intstr.FromString("http")}})
		}
		if r.IntN(2) == 0 {
			f.Spec.Egress = append(f.Spec.Egress, v1alpha1.EgressIntent{Peers: &v1alpha1.PeersDestination{SameJob: true}})
		}
		if r.IntN(2) == 0 {
			f.Spec.Ingress = append(f.Spec.Ingress, v1alpha1.IngressIntent{IngressController: &v1alpha1.ControllerSource{Namespace: "ingress-nginx"}})
		}
		world := *w
		world.Fences = []*model.Fence{f}
		out, err := Generate(&world, doc, Options{})
		if err != nil {
			t.Fatal(err)
		}
		problems, err := Verify(&world, out, doc, Options{})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range problems {
			t.Errorf("fence %d %+v: %s", i, f.Spec, p)
		}
	}
}

// A Fence that allows the node role (a cidr intent naming IMDS) keeps
// IMDS as a need of its workloads: the node keeps a hop limit of 2 for
// its pods, and verification does not demand IMDS closed for them.
func TestNodeRoleNeed(t *testing.T) {
	w, doc := loadExample(t, filepath.Join("..", "..", "examples", "fences", "ml-platform.yaml"))
	world := *w
	world.Fences = nil
	for _, f := range w.Fences {
		if f.Name == "training" {
			c := *f
			c.Spec = *f.Spec.DeepCopy()
			c.Spec.Egress = append(c.Spec.Egress, v1alpha1.EgressIntent{CIDR: &v1alpha1.CIDRDestination{CIDRs: []string{"169.254.169.254/32"}, Ports: []v1alpha1.Port{{Port: 80}}}})
			f = &c
		}
		world.Fences = append(world.Fences, f)
	}
	out, err := Generate(&world, doc, Options{})
	if err != nil {
		t.Fatal(err)
	}
	problems, err := Verify(&world, out, doc, Options{})
	if err != nil || len(problems) > 0 {
		t.Fatalf("verification: %v %v", err, problems)
	}
	kept := false
	for _, n := range out.Needs {
		kept = kept || (n.Kind == NeedCredentials && n.Status == NeedKept && strings.Contains(n.What, "169.254.169.254") && strings.Contains(n.Of, "text-embed-finetune"))
	}
	if !kept {
		t.Errorf("the node role is not a kept need: %+v", out.Needs)
	}
	hops := map[string]int32{}
	for _, m := range out.Metadata {
		hops[m.Node] = m.HopLimit
	}
	// The GPU nodes run the training job; the CPU nodes only share the group.
	if hops["ip-10-0-18-201.ec2.internal"] != 2 || hops["ip-10-0-34-77.ec2.internal"] != 2 || hops["ip-10-0-17-24.ec2.internal"] != 1 {
		t.Errorf("hop limits %v", hops)
	}
}

// EKS Pod Identity: the SDK fetches credentials from the node's agent
// (169.254.170.23, fd00:ec2::23 on TCP 80); generate keeps it and
// verification proves both addresses reachable.
func TestPodIdentityNeed(t *testing.T) {
	w, doc := loadExample(t, filepath.Join("..", "..", "examples", "fences", "ml-platform.yaml"))
	world := *w
	world.Workloads = nil
	for _, wl := range w.Workloads {
		if wl.Name == "model-server" {
			c := *wl
			pt := *wl.Pods[0]
			pt.Credentials = []model.Credential{{Kind: model.CredPodIdentity, Cloud: "aws"}}
			c.Pods = []*model.PodTemplate{&pt}
			wl = &c
		}
		world.Workloads = append(world.Workloads, wl)
	}
	out, err := Generate(&world, doc, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if problems, err := Verify(&world, out, doc, Options{}); err != nil || len(problems) > 0 {
		t.Fatalf("verification: %v %v", err, problems)
	}
	var need *Need
	for i, n := range out.Needs {
		if n.Kind == NeedCredentials && strings.Contains(n.What, "Pod Identity") {
			need = &out.Needs[i]
		}
	}
	if need == nil || need.Status != NeedKept || !strings.Contains(need.What, "169.254.170.23/32, fd00:ec2::23/128") {
		t.Fatalf("pod identity need %+v", need)
	}
	// Dropping the agent from the generated policy cuts it.
	broken := *out
	broken.Policies = nil
	for _, p := range out.Policies {
		if p.Name == "ringfence-inference" {
			c := *p
			c.Spec = *p.Spec.DeepCopy()
			c.Spec.Egress = c.Spec.Egress[:len(c.Spec.Egress)-1]
			p = &c
		}
		broken.Policies = append(broken.Policies, p)
	}
	Verify(&world, &broken, doc, Options{})
	cut := false
	for _, n := range broken.Cut() {
		cut = cut || strings.Contains(n.What, "Pod Identity")
	}
	if !cut {
		t.Errorf("without the agent's rule the need is not cut: %+v", broken.Needs)
	}
}
