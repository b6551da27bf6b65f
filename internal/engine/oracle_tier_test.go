package engine

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sort"
	"testing"

	"github.com/ringfence/ringfence/internal/model"
	"github.com/ringfence/ringfence/internal/netset"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// The tier oracle evaluates tiered policies literally, pod pair by pod pair
// and port by port, as docs/tiers.md states the two profiles; the engine
// must agree with it on every pair it decides.

// oracleNP is what NetworkPolicies alone decide for one direction of pod
// p's traffic with other: whether they isolate p, and whether they allow.
func oracleNP(w *model.World, p, other *oraclePod, egress bool, proto corev1.Protocol, n int32) (isolated, ok bool) {
	dst := other
	if !egress {
		dst = p
	}
	for _, pol := range w.Policies {
		if pol.Namespace != p.ns || !selects(&pol.Spec.PodSelector, p.labels) {
			continue
		}
		in, eg := oracleTypes(pol)
		if (egress && !eg) || (!egress && !in) {
			continue
		}
		isolated = true
		if egress {
			for _, r := range pol.Spec.Egress {
				ok = ok || (peerMatches(w, pol, r.To, other, netip.Addr{}) && portMatches(r.Ports, dst, proto, n))
			}
		} else {
			for _, r := range pol.Spec.Ingress {
				ok = ok || (peerMatches(w, pol, r.From, other, netip.Addr{}) && portMatches(r.Ports, dst, proto, n))
			}
		}
	}
	return isolated, ok
}

func tierSubjectMatches(w *model.World, s model.TierSubject, p *oraclePod) bool {
	if p.host || !selects(&s.Namespaces, nsLabels(w, p.ns)) {
		return false
	}
	return s.Pods == nil || selects(s.Pods, p.labels)
}

// oracleTierAction is a tier's action on the connection, "" when none.
func oracleTierAction(w *model.World, profile model.TierProfile, tier model.Tier, p, other *oraclePod, egress bool, proto corev1.Protocol, n int32) model.TierAction {
	dst := other
	if !egress {
		dst = p
	}
	var pols []*model.TierPolicy
	for _, tp := range w.TierPolicies {
		if tp.Tier == tier && tierSubjectMatches(w, tp.Subject, p) {
			pols = append(pols, tp)
		}
	}
	sort.SliceStable(pols, func(i, j int) bool { return pols[i].Priority < pols[j].Priority })
	matches := func(r model.TierRule) bool {
		peer := false
		for _, s := range r.Selectors {
			peer = peer || tierSubjectMatches(w, s, other)
		}
		return peer && portMatches(r.Ports, dst, proto, n)
	}
	for i := 0; i < len(pols); {
		j := i
		var seen []model.TierAction
		for j < len(pols) && pols[j].Priority == pols[i].Priority {
			rules := pols[j].Ingress
			if egress {
				rules = pols[j].Egress
			}
			for _, r := range rules {
				if matches(r) {
					seen = append(seen, r.Action)
					if profile == model.ProfileUpstream {
						break // the policy's first matching rule
					}
				}
			}
			j++
		}
		i = j
		if len(seen) == 0 {
			continue
		}
		for _, a := range []model.TierAction{model.ActionDeny, model.ActionAccept, model.ActionPass} {
			for _, s := range seen {
				if s == a {
					return a
				}
			}
		}
	}
	return ""
}

func oracleTierDir(w *model.World, profile model.TierProfile, p, other *oraclePod, egress bool, proto corev1.Protocol, n int32) bool {
	if p.host {
		return true
	}
	switch oracleTierAction(w, profile, model.TierAdmin, p, other, egress, proto, n) {
	case model.ActionAccept:
		return true
	case model.ActionDeny:
		return false
	}
	if isolated, ok := oracleNP(w, p, other, egress, proto, n); isolated {
		return ok
	}
	return oracleTierAction(w, profile, model.TierBaseline, p, other, egress, proto, n) != model.ActionDeny
}

// randomTiers adds tiered policies drawn from a small vocabulary;
// upstream priorities are distinct (ties are unknown, tested apart).
func randomTiers(r *rand.Rand, w *model.World, profile model.TierProfile) {
	nsSel := func() metav1.LabelSelector {
		switch r.IntN(3) {
		case 0:
			return metav1.LabelSelector{}
		default:
			return metav1.LabelSelector{MatchLabels: map[string]string{model.NamespaceNameLabel: []string{"x", "y", "z"}[r.IntN(3)]}}
		}
	}
	subject := func() model.TierSubject {
		s := model.TierSubject{Namespaces: nsSel()}
		if r.IntN(2) == 0 {
			s.Pods = &metav1.LabelSelector{MatchLabels: map[string]string{"pod": []string{"a", "b"}[r.IntN(2)]}}
		}
		return s
	}
	actions := []model.TierAction{model.ActionAccept, model.ActionDeny, model.ActionPass}
	rule := func(tier model.Tier) model.TierRule {
		a := actions[r.IntN(3)]
		if tier == model.TierBaseline {
			a = actions[r.IntN(2)]
		}
		tr := model.TierRule{Action: a, Selectors: []model.TierSubject{subject()}}
		if r.IntN(2) == 0 {
			port := intstr.FromInt32([]int32{53, 80, 443}[r.IntN(3)])
			proto := corev1.ProtocolTCP
			tr.Ports = []networkingv1.NetworkPolicyPort{{Protocol: &proto, Port: &port}}
		}
		return tr
	}
	for i := r.IntN(5); i > 0; i-- {
		tier := model.TierAdmin
		if r.IntN(3) == 0 {
			tier = model.TierBaseline
		}
		prio := int32(r.IntN(3))
		if profile == model.ProfileUpstream {
			prio = int32(i)
		}
		tp := &model.TierPolicy{Meta: model.Meta{Kind: "ClusterNetworkPolicy", APIVersion: "policy.networking.k8s.io/v1alpha2", Name: fmt.Sprintf("t%d", i)}, Tier: tier, Priority: prio, Subject: subject()}
		for j := r.IntN(3); j > 0; j-- {
			tp.Ingress = append(tp.Ingress, rule(tier))
		}
		for j := r.IntN(3); j > 0; j-- {
			tp.Egress = append(tp.Egress, rule(tier))
		}
		w.TierPolicies = append(w.TierPolicies, tp)
	}
	sort.SliceStable(w.TierPolicies, func(i, j int) bool {
		a, b := w.TierPolicies[i], w.TierPolicies[j]
		if a.Tier != b.Tier {
			return a.Tier == model.TierAdmin
		}
		return a.Priority < b.Priority
	})
}

func TestTierEngineAgreesWithOracle(t *testing.T) {
	r := rand.New(rand.NewPCG(23, 5))
	for iter := 0; iter < 300; iter++ {
		profile := []model.TierProfile{model.ProfileUpstream, model.ProfileEKS}[iter%2]
		w, pods := randomWorld(r)
		randomTiers(r, w, profile)
		res, err := Reach(w, Options{Level: LevelWorkload, Tiers: TierOptions{Profile: profile}})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]Connection{}
		for _, c := range append(append([]Connection(nil), res.Connections...), res.Self...) {
			got[c.Src+" => "+c.Dst] = c
		}
		for _, s := range pods {
			for _, d := range pods {
				key := s.ns + "/" + s.name + " => " + d.ns + "/" + d.name
				c := got[key]
				for _, proto := range []corev1.Protocol{corev1.ProtocolTCP, corev1.ProtocolUDP} {
					np, _ := netset.ParseProtocol(proto)
					for _, n := range samplePorts {
						if c.Unknown.Contains(np, n) {
							// Unknown only where the inputs cannot decide:
							// host-network peers (own node, CNI-defined).
							if !s.host && !d.host {
								t.Fatalf("iteration %d (%s): %s %s/%d unknown: %v\n%s", iter, profile, key, proto, n, c.Reasons, describe(w))
							}
							continue
						}
						want := oracleTierDir(w, profile, s, d, true, proto, n) && oracleTierDir(w, profile, d, s, false, proto, n)
						if have := c.Allow.Contains(np, n); have != want && !s.host && !d.host {
							t.Fatalf("iteration %d (%s): %s %s/%d: engine %v, oracle %v\npolicies: %s\ntiers: %+v", iter, profile, key, proto, n, have, want, describe(w), w.TierPolicies)
						}
					}
				}
			}
		}
	}
}
