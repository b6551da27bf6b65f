// Package k8s turns Kubernetes objects (from files or a live cluster) into
// the model: it decodes each kind with the Kubernetes types, derives the pods
// every workload runs with the labels its controller adds, and finishes the
// world by synthesizing namespaces and resolving service accounts.
package k8s

import (
	"fmt"
	"hash/fnv"
	"reflect"
	"strings"

	"github.com/ringfence/ringfence/internal/load/document"
	"github.com/ringfence/ringfence/internal/load/strictjson"
	"github.com/ringfence/ringfence/internal/model"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kjson "sigs.k8s.io/json"
)

// Builder collects objects into a World. It is not safe for concurrent use.
type Builder struct {
	// DefaultNamespace is given to namespaced objects that have none
	// (kubectl's -n); "default" when empty.
	DefaultNamespace string
	Report           *document.Report

	// objects holds the model object of every reference; a later
	// definition replaces an earlier one, as a second kubectl apply would.
	objects map[model.Ref]any
	seen    map[model.Ref]model.Source
	owners  map[*model.Workload]ownerKey
	podAuto map[*model.PodTemplate]*bool
	pods    []livePod
	// unread are the kinds a live cluster refused to list.
	unread []model.Unread
	// rayMade and rayOperators decide, once every object is in, which
	// NetworkPolicies the KubeRay operator makes.
	rayMade      []*rayMade
	rayOperators []*rayOperator
}

// ownerKey is a controller owner reference, resolved once all objects are in.
type ownerKey struct {
	kind, namespace, name string
}

type livePod struct {
	workload *model.Workload
	owner    ownerKey
}

// NewBuilder returns a builder that records what it skips in report.
func NewBuilder(defaultNamespace string, report *document.Report) *Builder {
	if defaultNamespace == "" {
		defaultNamespace = "default"
	}
	return &Builder{
		DefaultNamespace: defaultNamespace,
		Report:           report,
		objects:          map[model.Ref]any{},
		seen:             map[model.Ref]model.Source{},
		owners:           map[*model.Workload]ownerKey{},
		podAuto:          map[*model.PodTemplate]*bool{},
	}
}

// kindDecoder reads one kind into a decoded object.
type kindDecoder func(d *decoded, o *document.Object, m model.Meta) error

// clusterScoped kinds have no namespace.
var clusterScoped = map[string]bool{"Namespace": true, "Node": true, "IngressClass": true, "ValidatingWebhookConfiguration": true, "MutatingWebhookConfiguration": true, "ENIConfig": true}

// podAuto is a pod template's automountServiceAccountToken, when set.
type podAuto struct {
	pt  *model.PodTemplate
	set *bool
}

// Decoded is one object turned into the model, not yet part of a world.
// Decoding needs nothing but the object, so it runs on every core; adding
// to the builder is cheap and keeps input order.
type Decoded = decoded

type decoded struct {
	ref   model.Ref
	src   model.Source
	obj   any
	owner *ownerKey
	live  *livePod
	// podAuto are the templates that set automountServiceAccountToken.
	podAuto  []podAuto
	warnings []document.Notice
	// unknown is set for objects of kinds ringfence does not read.
	unknown *document.Object
	// foreign are policies an operator makes from the object, which
	// ringfence does not model.
	foreign []*model.Meta
	// also are further model objects read from the object (a Prometheus's
	// monitor selectors beside its workload), by their own key.
	also map[model.Ref]any
	// ray is what a RayCluster's spec.networkPolicy makes; rayOperator a
	// KubeRay operator's flags.
	ray         *rayMade
	rayOperator *rayOperator
	// vpcCNI is what a VPC CNI pod spec (aws-node) says of custom
	// networking.
	vpcCNI *model.VPCCNI
	// slow skips the fast decoder (the differential tests' oracle).
	slow bool
	// pre is the object already decoded whole (preDecoders), which the
	// kind's decoder takes instead of decoding again (typed).
	pre any
}

func (d *decoded) warn(src model.Source, object, format string, args ...any) {
	d.warnings = append(d.warnings, document.Notice{Source: src, Object: object, Msg: fmt.Sprintf(format, args...)})
}

// Decode turns one object into the model. It is safe to call
// concurrently; defaultNamespace is given to namespaced objects without one.
func Decode(o *document.Object, defaultNamespace string) (*Decoded, error) {
	return decode(o, defaultNamespace, true)
}

// decode is Decode; fast=false decodes with sigs.k8s.io/json alone, the
// oracle the differential tests hold the fast decoder to.
func decode(o *document.Object, defaultNamespace string, fast bool) (*Decoded, error) {
	if defaultNamespace == "" {
		defaultNamespace = "default"
	}
	// The tables' key, built on the stack: lookups by string(key) make
	// no string (an allocation an object).
	var buf [64]byte
	key := append(append(append(buf[:0], o.APIVersion...), '/'), o.Kind...)
	dec, ok := decoders[string(key)]
	pre := preDecoders[string(key)]
	if scope, foreign := foreignPolicy(o.APIVersion, o.Kind); foreign {
		dec, ok, pre = decodeForeign(scope), true, nil
	}
	if legacy, isLegacy := legacyDecoders[string(key)]; isLegacy {
		dec, ok, pre = legacy, true, nil
	}
	if !ok {
		if r, gone := removedVersions[string(key)]; gone {
			// Counted with the unknown kinds, and said why.
			return &decoded{unknown: o, warnings: []document.Notice{removedNotice(o, o.Kind+"/"+o.Name(), r)}}, nil
		}
		if o.Kind == "" || o.APIVersion == "" {
			return nil, &document.Error{Source: o.Source, Msg: "object has no apiVersion or kind, and its shape is not one ringfence knows"}
		}
		return &decoded{unknown: o}, nil
	}
	// Only the metadata the model reads: decoding the whole ObjectMeta
	// (managedFields, ownerReferences, timestamps) cost a sixth of loading.
	// Decoders of evaluated kinds decode the whole object, ObjectMeta
	// included, so its type errors are still reported there.
	var meta modelMeta
	var typed any
	if fast && pre != nil {
		// The common kinds are decoded whole first: when that is exact
		// (no error, no warning), the metadata comes from the decoded
		// object instead of a second decode of the same member, which
		// would give the same values. Otherwise the object is decoded
		// as below, messages and all.
		var om *metav1.ObjectMeta
		if typed, om = pre(o); typed != nil {
			meta = modelMeta{Name: om.Name, GenerateName: om.GenerateName, Namespace: om.Namespace, Labels: om.Labels, Annotations: om.Annotations}
		}
	}
	if typed == nil {
		var err error
		if meta, err = readMeta(o, fast); err != nil {
			return nil, err
		}
	}
	m := model.Meta{
		Kind:        o.Kind,
		APIVersion:  o.APIVersion,
		Namespace:   meta.Namespace,
		Name:        meta.Name,
		Labels:      meta.Labels,
		Annotations: cleanAnnotations(meta.Annotations),
		Source:      o.Source,
	}
	var notes []document.Notice
	if m.Name == "" {
		if meta.GenerateName == "" {
			return nil, &document.Error{Source: o.Source, Object: o.Kind, Msg: "metadata.name is missing"}
		}
		m.Name, m.GenerateName = generatedName(meta.GenerateName, o), meta.GenerateName
		notes = append(notes, document.Notice{Category: document.GeneratedName, Source: o.Source, Object: o.Kind + "/" + m.Name,
			Msg: fmt.Sprintf("named from metadata.generateName %q: the API server adds a random suffix, shown as %q plus a hash of where the object is written", m.GenerateName, GeneratedNameMarker)})
	}
	if r, ok := removedVersions[string(key)]; ok {
		notes = append(notes, removedNotice(o, o.Kind+"/"+m.Name, r))
	}
	_, foreign := foreignPolicy(o.APIVersion, o.Kind)
	switch {
	case clusterScoped[o.Kind] || (foreign && foreignClusterScoped[o.Kind]) || isTiered(o.APIVersion, o.Kind):
		m.Namespace = ""
	case m.Namespace == "":
		m.Namespace = defaultNamespace
	}
	d := &decoded{ref: m.Ref(), src: o.Source, warnings: notes, slow: !fast, pre: typed}
	if err := dec(d, o, m); err != nil {
		return nil, err
	}
	return d, nil
}

// readMeta decodes the metadata the model reads. The reader may have
// found the metadata member on the way: decode just it. On an error the
// whole object is decoded again, so the message names the field as it
// always did.
func readMeta(o *document.Object, fast bool) (modelMeta, error) {
	var meta modelMeta
	if o.Metadata != nil && unmarshalLoose(o.Metadata, &meta, fast) {
		return meta, nil
	}
	var whole struct {
		Metadata modelMeta `json:"metadata"`
	}
	if err := kjson.UnmarshalCaseSensitivePreserveInts(o.JSON, &whole); err != nil {
		return modelMeta{}, decodeError(o, model.Meta{Kind: o.Kind}, err)
	}
	return whole.Metadata, nil
}

// GeneratedNameMarker separates metadata.generateName from the hash that
// stands for the API server's random suffix in derived names. It cannot be
// part of a real name, so a derived name never collides with one.
const GeneratedNameMarker = "*"

// generatedName derives a stable name for an object with only
// generateName: the prefix, the marker and a short hash of where the
// object is written and what it holds. Two objects with the same
// generateName are two objects, as they are once created.
func generatedName(prefix string, o *document.Object) string {
	h := fnv.New32a()
	fmt.Fprintf(h, "%s:%d:", o.Source.File, o.Source.Line)
	h.Write(o.JSON)
	return fmt.Sprintf("%s%s%06x", prefix, GeneratedNameMarker, h.Sum32()&0xffffff)
}

// Add decodes one object into the world. Objects of unknown kinds are
// counted in the report; malformed objects are errors.
func (b *Builder) Add(o *document.Object) error {
	d, err := Decode(o, b.DefaultNamespace)
	if err != nil {
		return err
	}
	b.Register(d)
	return nil
}

// Grow makes room for n more objects, so registering them does not grow
// the builder's maps step by step (a tenth of the bytes loading allocated).
func (b *Builder) Grow(n int) {
	if len(b.objects) > 0 || n <= 0 {
		return
	}
	b.objects = make(map[model.Ref]any, n)
	b.seen = make(map[model.Ref]model.Source, n)
}

// Register adds a decoded object to the world. A later definition of the
// same object replaces an earlier one, as a second kubectl apply would.
func (b *Builder) Register(d *Decoded) {
	if d.unknown != nil {
		b.Report.AddUnknown(d.unknown)
		b.Report.Warnings = append(b.Report.Warnings, d.warnings...)
		return
	}
	if prev, dup := b.seen[d.ref]; dup {
		if prev.Cluster != "" && d.src.Cluster == "" {
			b.Report.Warn(d.src, d.ref.String(), "this file's copy is used over the live one in %s, as kubectl apply would replace it", prev)
		} else {
			b.Report.Note(document.Duplicate, d.src, d.ref.String(), "defined again (first at %s); this later definition is used, as kubectl apply would", prev)
		}
	}
	b.seen[d.ref] = d.src
	b.Report.Warnings = append(b.Report.Warnings, d.warnings...)
	for _, f := range d.foreign {
		b.objects[f.Ref()] = f
	}
	for r, x := range d.also {
		b.objects[r] = x
	}
	if d.ray != nil {
		b.rayMade = append(b.rayMade, d.ray)
	}
	if d.rayOperator != nil {
		b.rayOperators = append(b.rayOperators, d.rayOperator)
	}
	b.objects[d.ref] = d.obj
	if w, ok := d.obj.(*model.Workload); ok && d.vpcCNI != nil {
		c := *d.vpcCNI
		c.Meta = w.Meta
		b.objects[model.Ref{Kind: vpcCNIKind, Namespace: w.Namespace, Name: w.Kind + "/" + w.Name}] = &c
	}
	if w, ok := d.obj.(*model.Workload); ok && d.owner != nil {
		b.owners[w] = *d.owner
	}
	if d.live != nil {
		b.pods = append(b.pods, *d.live)
	}
	for _, a := range d.podAuto {
		b.podAuto[a.pt] = a.set
	}
}

// lastApplied holds a full copy of the object, Secret values included; it is
// never kept.
const lastApplied = "kubectl.kubernetes.io/last-applied-configuration"

func cleanAnnotations(a map[string]string) map[string]string {
	if _, ok := a[lastApplied]; !ok {
		return a
	}
	out := make(map[string]string, len(a))
	for k, v := range a {
		if k != lastApplied {
			out[k] = v
		}
	}
	return out
}

// decode unmarshals the object like the API server does (case-sensitive
// field names) and warns about fields the server would reject: a typo such
// as "podselector" silently widens a policy.
func (d *decoded) decode(o *document.Object, m model.Meta, into any) error {
	// The fast decoder takes the objects sigs.k8s.io/json decodes without
	// an error or a warning, with the same result; for every other object
	// it steps aside and sigs.k8s.io/json gives the value and the messages.
	if !d.slow && strictjson.Unmarshal(o.JSON, into, strictjson.Strict) {
		return nil
	}
	reflect.ValueOf(into).Elem().SetZero()
	strict, err := kjson.UnmarshalStrict(o.JSON, into)
	if err != nil {
		return decodeError(o, m, err)
	}
	for _, s := range strict {
		// A field set twice (only JSON input gets here with one: YAML
		// duplicates are refused when read) is an error, as YAML's are.
		if f, dup := strings.CutPrefix(s.Error(), "duplicate field "); dup {
			return &document.Error{Source: o.Source, Object: m.Ref().String(), Msg: fmt.Sprintf("duplicate field %s is set twice in one object; the API server rejects this with field validation Strict (kubectl's default), a lenient reader keeps the last", f)}
		}
		d.warn(o.Source, m.Ref().String(), "%s (the API server rejects this with field validation Strict, kubectl's default)", s)
	}
	return nil
}

// unmarshalLoose decodes as sigs.k8s.io/json's
// UnmarshalCaseSensitivePreserveInts (unknown fields ignored), through
// the fast decoder when fast and it takes the input.
func unmarshalLoose(data []byte, into any, fast bool) bool {
	if fast && strictjson.Unmarshal(data, into, strictjson.Ignore) {
		return true
	}
	reflect.ValueOf(into).Elem().SetZero()
	return kjson.UnmarshalCaseSensitivePreserveInts(data, into) == nil
}

func decodeError(o *document.Object, m model.Meta, err error) error {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "json: ")
	if strings.Contains(msg, "cannot unmarshal bool into") && strings.HasSuffix(msg, "of type string") {
		msg += " (YAML reads unquoted y, n, yes, no, on and off as booleans: quote the value)"
	}
	obj := o.Kind
	if m.Name != "" {
		obj = m.Ref().String()
	}
	return &document.Error{Source: o.Source, Object: obj, Msg: fmt.Sprintf("invalid %s: %s", o.Kind, msg)}
}

// modelMeta is the part of metav1.ObjectMeta the model keeps, with its
// JSON names.
type modelMeta struct {
	Name         string            `json:"name,omitempty"`
	GenerateName string            `json:"generateName,omitempty"`
	Namespace    string            `json:"namespace,omitempty"`
	Labels       map[string]string `json:"labels,omitempty"`
	Annotations  map[string]string `json:"annotations,omitempty"`
}
