package engine

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/ringfence/ringfence/internal/model"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// enrichTiers adds to randomTiers' world what makes tier classes differ
// beyond surely matching selectors: pod labels set at run time (maybe
// subjects and peers), networks peers (what they may match of pods of
// unknown address), nodes peers (host-network pods) and named ports.
func enrichTiers(r *rand.Rand, w *model.World) {
	for _, wl := range w.Workloads {
		for _, t := range wl.Pods {
			switch r.IntN(3) {
			case 0:
				t.VaryingLabels = append(t.VaryingLabels, "pod")
			case 1:
				t.Labels = maps.Clone(t.Labels)
				if t.Labels == nil {
					t.Labels = map[string]string{}
				}
				t.Labels["pod"] = []string{"a", "b"}[r.IntN(2)]
			}
		}
	}
	for _, tp := range w.TierPolicies {
		for _, rules := range [][]model.TierRule{tp.Ingress, tp.Egress} {
			for i := range rules {
				tr := &rules[i]
				if r.IntN(3) == 0 {
					tr.Networks = append(tr.Networks, []string{"10.0.0.0/8", "0.0.0.0/0", "10.1.0.0/16"}[r.IntN(3)])
				}
				if r.IntN(4) == 0 {
					tr.Nodes = append(tr.Nodes, metav1.LabelSelector{})
				}
				if r.IntN(3) == 0 {
					tr.Selectors = append(tr.Selectors, model.TierSubject{Pods: &metav1.LabelSelector{MatchLabels: map[string]string{"app": []string{"a", "b"}[r.IntN(2)]}}})
				}
				if r.IntN(3) == 0 {
					port := intstr.FromString("http")
					tr.Ports = append(tr.Ports, networkingv1.NetworkPolicyPort{Port: &port})
				}
			}
		}
	}
}

// tierClassKeys are the subject and peer keys of one identity for a
// direction, written out in full as classify once built them: what the
// tier walk reads of each end.
func tierClassKeys(tc *tierConfig, x *identity, egress bool) (subj, peer string) {
	var b strings.Builder
	if x.hostNetwork {
		b.WriteByte('h')
	}
	b.WriteByte('|')
	for _, p := range tc.policies {
		rules := p.ingress
		if egress {
			rules = p.egress
		}
		for _, r := range rules {
			m, why := r.match(x, nil)
			b.WriteString(strconv.Itoa(int(m)))
			if m == Maybe {
				b.WriteString(strings.Join(why, "\x00"))
			}
			if egress && len(r.named) > 0 {
				b.WriteString(r.allowed(x).String())
			}
			b.WriteByte(',')
		}
	}
	peer = b.String()
	b.Reset()
	pols := x.tierIn
	if egress {
		pols = x.tierOut
	}
	fmt.Fprintf(&b, "%d|", npModeOf(x, egress))
	for _, p := range pols {
		fmt.Fprintf(&b, "%p%t", p, p.selects.has(x.index))
		if !egress {
			for _, r := range p.ingress {
				if len(r.named) > 0 {
					b.WriteString(r.allowed(x).String())
				}
				b.WriteByte(',')
			}
		}
		b.WriteByte(';')
	}
	return b.String(), peer
}

// TestTierClassesMatchKeys holds classify's classes, refined rule by rule,
// to the partition the full keys make: two identities share a class
// exactly when their keys are equal (a class too coarse would share a
// cached tier verdict between ends the tiers tell apart), on the oracle's
// random worlds.
func TestTierClassesMatchKeys(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 29))
	checked := 0
	for iter := 0; iter < 300; iter++ {
		profile := []model.TierProfile{model.ProfileUpstream, model.ProfileEKS}[iter%2]
		w, _ := randomWorld(r)
		randomTiers(r, w, profile)
		enrichTiers(r, w)
		a, err := Analyse(w, Options{Level: LevelWorkload, Tiers: TierOptions{Profile: profile}})
		if err != nil {
			t.Fatal(err)
		}
		var tc *tierConfig
		ids := a.g.identities
		for _, id := range ids {
			if id.tiers != nil {
				tc = id.tiers
			}
		}
		if tc == nil {
			continue
		}
		for dir, egress := range []bool{false, true} {
			for kind, classes := range [][]int32{tc.subj[dir], tc.peer[dir]} {
				for _, x := range ids {
					for _, y := range ids {
						xs, xp := tierClassKeys(tc, x, egress)
						ys, yp := tierClassKeys(tc, y, egress)
						same := xs == ys
						if kind == 1 {
							same = xp == yp
						}
						if same != (classes[x.index] == classes[y.index]) {
							t.Fatalf("iteration %d, egress %t, %s classes: %s and %s share a class %t, their keys are equal %t\n%s",
								iter, egress, []string{"subject", "peer"}[kind], x.key(), y.key(), !same, same, describe(w))
						}
						checked++
					}
				}
			}
		}
	}
	if checked == 0 {
		t.Fatal("no tiered world: the test checks nothing")
	}
}
