package generate

import (
	"strings"
	"testing"

	"github.com/ringfence/ringfence/internal/model"
)

// The proposals for the example's ML workloads are what they are (S3 for
// credentials, peers for the job, the controller and allowlist for the
// model server behind an Ingress), and generating from them verifies.
func TestPropose(t *testing.T) {
	w, doc := loadExample(t)
	ps := Propose(w)
	var got []string
	for _, p := range ps {
		var parts []string
		for _, e := range p.Fence.Spec.Egress {
			switch {
			case e.AWS != nil:
				parts = append(parts, "aws:"+e.AWS.Service+":"+e.AWS.Region)
			case e.DNS != nil:
				parts = append(parts, "dns")
			case e.Peers != nil:
				parts = append(parts, "peers")
			}
		}
		for _, in := range p.Fence.Spec.Ingress {
			parts = append(parts, "ingress:"+in.IngressController.Namespace+":"+strings.Join(in.SourceRanges, ","))
		}
		got = append(got, p.Fence.Namespace+"/"+p.Fence.Name+"["+strings.Join(parts, " ")+"]")
	}
	want := "ml-workloads/model-server[aws:S3:us-east-1 dns ingress:ingress-nginx:10.0.0.0/8,192.168.1.0/24] ml-workloads/text-embed-finetune[aws:S3:us-east-1 dns peers]"
	if strings.Join(got, " ") != want {
		t.Errorf("proposals\n%s\nwant\n%s", strings.Join(got, " "), want)
	}
	world := *w
	for _, p := range ps {
		world.Fences = append(world.Fences, &model.Fence{Meta: model.Meta{Kind: "Fence", Namespace: p.Fence.Namespace, Name: p.Fence.Name}, Spec: p.Fence.Spec})
	}
	out, err := Generate(&world, doc, Options{})
	if err != nil {
		t.Fatal(err)
	}
	problems, err := Verify(&world, out, doc, Options{})
	if err != nil || len(problems) > 0 {
		t.Errorf("generating from the proposals: %v %v", err, problems)
	}
}
