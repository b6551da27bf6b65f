// Package aws reads the AWS side of an environment into the model: the JSON
// of `aws ec2 describe-security-groups`, `describe-security-group-rules`,
// `describe-instances`, `describe-managed-prefix-lists` and
// `get-managed-prefix-list-entries`, and Terraform plans and state
// (`terraform show -json`). Documents are recognised by their shape, so one
// directory can hold a whole environment beside its manifests.
//
// The describe-* documents are decoded into small local structs rather than
// aws-sdk-go-v2's ec2 types: the SDK package is generated code two orders of
// magnitude larger than the handful of fields read here.
package aws

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/ringfence/ringfence/internal/load/document"
	"github.com/ringfence/ringfence/internal/model"
)

// Shape is a kind of AWS document, told by its top-level keys.
type Shape string

// The shapes ringfence recognises.
const (
	ShapeSecurityGroups     Shape = "aws ec2 describe-security-groups"
	ShapeSecurityGroupRules Shape = "aws ec2 describe-security-group-rules"
	ShapeInstances          Shape = "aws ec2 describe-instances"
	ShapePrefixLists        Shape = "aws ec2 describe-managed-prefix-lists"
	ShapePrefixListEntries  Shape = "aws ec2 get-managed-prefix-list-entries"
	ShapeTerraform          Shape = "terraform show -json"
	ShapeIPRanges           Shape = "AWS ip-ranges.json"
)

// Recognize returns the shape of a document without apiVersion and kind,
// or "".
func Recognize(o *document.Object) Shape {
	var top map[string]json.RawMessage
	if json.Unmarshal(o.JSON, &top) != nil {
		return ""
	}
	has := func(k string) bool { _, ok := top[k]; return ok }
	switch {
	case has("SecurityGroups"):
		return ShapeSecurityGroups
	case has("SecurityGroupRules"):
		return ShapeSecurityGroupRules
	case has("Reservations"):
		return ShapeInstances
	case has("PrefixLists"):
		return ShapePrefixLists
	case has("Entries"):
		return ShapePrefixListEntries
	case has("format_version") && (has("terraform_version") || has("values") || has("planned_values")):
		return ShapeTerraform
	case has("syncToken") && has("prefixes"):
		return ShapeIPRanges
	case has("Attributes") && keyValueList(top["Attributes"]):
		return ShapeTargetGroupAttributes
	}
	for _, k := range sortedKeys(top) {
		if s, ok := networkShapes[k]; ok {
			return s
		}
		if _, ok := unmodelledShapes[k]; ok {
			return ShapeUnmodelled
		}
	}
	return ""
}

// keyValueList reports whether raw is a list of {"Key", "Value"} objects,
// as ELBv2's describe-*-attributes print.
func keyValueList(raw json.RawMessage) bool {
	var list []map[string]json.RawMessage
	if json.Unmarshal(raw, &list) != nil {
		return false
	}
	for _, m := range list {
		if _, ok := m["Key"]; !ok {
			return false
		}
	}
	return true
}

// Builder collects AWS documents.
type Builder struct {
	report      *document.Report
	groups      map[string]*model.SecurityGroup
	instances   map[string]*model.Instance
	prefixLists map[string]*model.PrefixList
	net         network
}

// NewBuilder returns a builder that records warnings in report.
func NewBuilder(report *document.Report) *Builder {
	return &Builder{report: report, groups: map[string]*model.SecurityGroup{}, instances: map[string]*model.Instance{}, prefixLists: map[string]*model.PrefixList{}, net: newNetwork()}
}

// Add reads one recognised document. It reports whether the shape is one
// the AWS layer models (ip-ranges.json is read by `ringfence ranges`).
func (b *Builder) Add(o *document.Object, shape Shape) (bool, error) {
	switch shape {
	case ShapeSecurityGroups:
		return true, b.securityGroups(o)
	case ShapeSecurityGroupRules:
		return true, b.securityGroupRules(o)
	case ShapeInstances:
		return true, b.instancesDoc(o)
	case ShapePrefixLists:
		return true, b.prefixListsDoc(o)
	case ShapePrefixListEntries:
		return true, b.prefixListEntries(o)
	case ShapeTerraform:
		return true, b.terraform(o)
	case ShapeTargetGroupAttributes:
		return true, b.addNetwork(o, shape)
	case ShapeUnmodelled:
		b.report.Warn(o.Source, "", "%s: ringfence does not model this AWS output; it is not used", unmodelledName(o))
		return true, nil
	}
	if _, ok := networkShapes[networkKey(shape)]; ok {
		return true, b.addNetwork(o, shape)
	}
	return false, nil
}

// Finish puts the AWS layer into the world, sorted by ID, and warns about
// references to groups and prefix lists that were not given.
func (b *Builder) Finish(w *model.World) {
	for _, id := range sortedKeys(b.groups) {
		g := b.groups[id]
		w.SecurityGroups = append(w.SecurityGroups, g)
		for _, rules := range [][]model.SGRule{g.Ingress, g.Egress} {
			for _, r := range rules {
				for _, pl := range r.PrefixLists {
					if p, ok := b.prefixLists[pl]; !ok || p.Entries == nil {
						b.report.Warn(r.Source, "SecurityGroup/"+g.ID, "prefix list %s is referenced but its entries were not given (aws ec2 get-managed-prefix-list-entries --prefix-list-id %s > %s.json): the rule is unresolved", pl, pl, pl)
					}
				}
			}
		}
	}
	for _, id := range sortedKeys(b.instances) {
		w.Instances = append(w.Instances, b.instances[id])
	}
	for _, id := range sortedKeys(b.prefixLists) {
		w.PrefixLists = append(w.PrefixLists, b.prefixLists[id])
	}
	b.net.finish(w, b.report)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func (b *Builder) group(id string, src model.Source) *model.SecurityGroup {
	g, ok := b.groups[id]
	if !ok {
		g = &model.SecurityGroup{ID: id, Source: src}
		b.groups[id] = g
	}
	return g
}

// protocol normalises an IP protocol as AWS and Terraform write it.
func protocol(p string) (string, error) {
	switch strings.ToLower(p) {
	case "-1", "all":
		return "-1", nil
	case "tcp", "6":
		return "tcp", nil
	case "udp", "17":
		return "udp", nil
	case "icmp", "1":
		return "icmp", nil
	case "icmpv6", "58":
		return "icmpv6", nil
	}
	if n, err := strconv.Atoi(p); err == nil && n >= 0 && n <= 255 {
		return p, nil
	}
	return "", fmt.Errorf("unknown IP protocol %q", p)
}

func cidr(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not a CIDR", s)
	}
	return p.Masked(), nil
}

func port(p *int32) int32 {
	if p == nil {
		return -1
	}
	return *p
}

type wirePermission struct {
	IpProtocol string
	FromPort   *int32
	ToPort     *int32
	IpRanges   []struct{ CidrIp, Description string }
	Ipv6Ranges []struct{ CidrIpv6, Description string }
	// PrefixListIds and UserIdGroupPairs name other peers.
	PrefixListIds    []struct{ PrefixListId, Description string }
	UserIdGroupPairs []struct{ GroupId, UserId, Description string }
}

type wireTag struct{ Key, Value string }

func (b *Builder) securityGroups(o *document.Object) error {
	var doc struct {
		SecurityGroups []struct {
			GroupId, GroupName, Description, VpcId string
			Tags                                   []wireTag
			IpPermissions, IpPermissionsEgress     []wirePermission
		}
	}
	if err := json.Unmarshal(o.JSON, &doc); err != nil {
		return &document.Error{Source: o.Source, Msg: "invalid describe-security-groups output: " + err.Error()}
	}
	for i, sg := range doc.SecurityGroups {
		src := o.Source.At(o.Line("SecurityGroups", i))
		if sg.GroupId == "" {
			return &document.Error{Source: src, Msg: fmt.Sprintf("SecurityGroups[%d] has no GroupId", i)}
		}
		g := b.group(sg.GroupId, src)
		g.Source, g.Name, g.Description, g.VPC = src, sg.GroupName, sg.Description, sg.VpcId
		for _, t := range sg.Tags {
			if g.Tags == nil {
				g.Tags = map[string]string{}
			}
			g.Tags[t.Key] = t.Value
		}
		for _, dir := range []struct {
			field string
			perms []wirePermission
		}{{"IpPermissions", sg.IpPermissions}, {"IpPermissionsEgress", sg.IpPermissionsEgress}} {
			field := dir.field
			for j, p := range dir.perms {
				rsrc := o.Source.At(o.Line("SecurityGroups", i, field, j))
				r, err := permission(p, rsrc)
				if err != nil {
					return &document.Error{Source: rsrc, Object: "SecurityGroup/" + g.ID, Msg: err.Error()}
				}
				if field == "IpPermissions" {
					g.Ingress = append(g.Ingress, r)
				} else {
					g.Egress = append(g.Egress, r)
				}
			}
		}
	}
	return nil
}

func permission(p wirePermission, src model.Source) (model.SGRule, error) {
	proto, err := protocol(p.IpProtocol)
	if err != nil {
		return model.SGRule{}, err
	}
	r := model.SGRule{Protocol: proto, FromPort: port(p.FromPort), ToPort: port(p.ToPort), Source: src}
	var descs []string
	for _, c := range p.IpRanges {
		pfx, err := cidr(c.CidrIp)
		if err != nil {
			return r, err
		}
		r.CIDRs = append(r.CIDRs, pfx)
		descs = append(descs, c.Description)
	}
	for _, c := range p.Ipv6Ranges {
		pfx, err := cidr(c.CidrIpv6)
		if err != nil {
			return r, err
		}
		r.CIDRs = append(r.CIDRs, pfx)
		descs = append(descs, c.Description)
	}
	for _, pl := range p.PrefixListIds {
		r.PrefixLists = append(r.PrefixLists, pl.PrefixListId)
		descs = append(descs, pl.Description)
	}
	for _, g := range p.UserIdGroupPairs {
		r.Groups = append(r.Groups, g.GroupId)
		descs = append(descs, g.Description)
	}
	r.Description = joinNonEmpty(descs)
	return r, nil
}

func joinNonEmpty(ss []string) string {
	var out []string
	seen := map[string]bool{}
	for _, s := range ss {
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return strings.Join(out, "; ")
}

func (b *Builder) securityGroupRules(o *document.Object) error {
	var doc struct {
		SecurityGroupRules []struct {
			GroupId, IpProtocol, CidrIpv4, CidrIpv6, PrefixListId, Description string
			IsEgress                                                           bool
			FromPort, ToPort                                                   *int32
			ReferencedGroupInfo                                                *struct{ GroupId string }
		}
	}
	if err := json.Unmarshal(o.JSON, &doc); err != nil {
		return &document.Error{Source: o.Source, Msg: "invalid describe-security-group-rules output: " + err.Error()}
	}
	for i, sr := range doc.SecurityGroupRules {
		src := o.Source.At(o.Line("SecurityGroupRules", i))
		if sr.GroupId == "" {
			return &document.Error{Source: src, Msg: fmt.Sprintf("SecurityGroupRules[%d] has no GroupId", i)}
		}
		proto, err := protocol(sr.IpProtocol)
		if err != nil {
			return &document.Error{Source: src, Object: "SecurityGroup/" + sr.GroupId, Msg: err.Error()}
		}
		r := model.SGRule{Protocol: proto, FromPort: port(sr.FromPort), ToPort: port(sr.ToPort), Description: sr.Description, Source: src}
		for _, c := range []string{sr.CidrIpv4, sr.CidrIpv6} {
			if c != "" {
				pfx, err := cidr(c)
				if err != nil {
					return &document.Error{Source: src, Object: "SecurityGroup/" + sr.GroupId, Msg: err.Error()}
				}
				r.CIDRs = append(r.CIDRs, pfx)
			}
		}
		if sr.PrefixListId != "" {
			r.PrefixLists = []string{sr.PrefixListId}
		}
		if sr.ReferencedGroupInfo != nil && sr.ReferencedGroupInfo.GroupId != "" {
			r.Groups = []string{sr.ReferencedGroupInfo.GroupId}
		}
		g := b.group(sr.GroupId, src)
		if sr.IsEgress {
			g.Egress = append(g.Egress, r)
		} else {
			g.Ingress = append(g.Ingress, r)
		}
	}
	return nil
}

func (b *Builder) instancesDoc(o *document.Object) error {
	var doc struct {
		Reservations []struct {
			Instances []struct {
				InstanceId       string
				PrivateIpAddress string
				SubnetId         string
				Placement        struct{ AvailabilityZone string }
				SecurityGroups   []struct{ GroupId string }
				MetadataOptions  *struct {
					HttpTokens              string
					HttpPutResponseHopLimit int32
				}
				NetworkInterfaces []struct {
					Groups             []struct{ GroupId string }
					PrivateIpAddresses []struct{ PrivateIpAddress string }
				}
			}
		}
	}
	if err := json.Unmarshal(o.JSON, &doc); err != nil {
		return &document.Error{Source: o.Source, Msg: "invalid describe-instances output: " + err.Error()}
	}
	for i, res := range doc.Reservations {
		for j, in := range res.Instances {
			src := o.Source.At(o.Line("Reservations", i, "Instances", j))
			if in.InstanceId == "" {
				return &document.Error{Source: src, Msg: "instance without InstanceId"}
			}
			inst := &model.Instance{ID: in.InstanceId, Zone: in.Placement.AvailabilityZone, Subnet: in.SubnetId, Source: src}
			ips := map[netip.Addr]bool{}
			groups := map[string]bool{}
			addIP := func(s string) error {
				if s == "" {
					return nil
				}
				a, err := netip.ParseAddr(s)
				if err != nil {
					return &document.Error{Source: src, Object: "Instance/" + in.InstanceId, Msg: fmt.Sprintf("%q is not an IP address", s)}
				}
				ips[a] = true
				return nil
			}
			if err := addIP(in.PrivateIpAddress); err != nil {
				return err
			}
			for _, g := range in.SecurityGroups {
				groups[g.GroupId] = true
			}
			for _, eni := range in.NetworkInterfaces {
				for _, g := range eni.Groups {
					groups[g.GroupId] = true
				}
				for _, a := range eni.PrivateIpAddresses {
					if err := addIP(a.PrivateIpAddress); err != nil {
						return err
					}
				}
			}
			for a := range ips {
				inst.PrivateIPs = append(inst.PrivateIPs, a)
			}
			sort.Slice(inst.PrivateIPs, func(a, b int) bool { return inst.PrivateIPs[a].Less(inst.PrivateIPs[b]) })
			inst.Groups = sortedKeys(groups)
			if m := in.MetadataOptions; m != nil {
				inst.MetadataTokens, inst.MetadataHopLimit = m.HttpTokens, m.HttpPutResponseHopLimit
			}
			b.instances[inst.ID] = inst
		}
	}
	return nil
}

func (b *Builder) prefixListsDoc(o *document.Object) error {
	var doc struct {
		PrefixLists []struct{ PrefixListId, PrefixListName string }
	}
	if err := json.Unmarshal(o.JSON, &doc); err != nil {
		return &document.Error{Source: o.Source, Msg: "invalid describe-managed-prefix-lists output: " + err.Error()}
	}
	for i, pl := range doc.PrefixLists {
		src := o.Source.At(o.Line("PrefixLists", i))
		p, ok := b.prefixLists[pl.PrefixListId]
		if !ok {
			p = &model.PrefixList{ID: pl.PrefixListId, Source: src}
			b.prefixLists[p.ID] = p
		}
		p.Name = pl.PrefixListName
	}
	return nil
}

var prefixListID = regexp.MustCompile(`pl-[0-9a-f]+`)

// prefixListEntries reads get-managed-prefix-list-entries output, which
// does not name its list: the file must (pl-63a5400a.json), as the command
// is run once per list.
func (b *Builder) prefixListEntries(o *document.Object) error {
	id := prefixListID.FindString(filepath.Base(o.Source.File))
	if id == "" {
		return &document.Error{Source: o.Source, Msg: "get-managed-prefix-list-entries output does not say which prefix list it lists: name the file after the list (for example pl-63a5400a.json)"}
	}
	return b.AddPrefixListEntries(o, id)
}

// AddPrefixListEntries reads get-managed-prefix-list-entries output for
// the list id (the output itself does not name it).
func (b *Builder) AddPrefixListEntries(o *document.Object, id string) error {
	var doc struct {
		Entries []struct{ Cidr, Description string }
	}
	if err := json.Unmarshal(o.JSON, &doc); err != nil {
		return &document.Error{Source: o.Source, Msg: "invalid get-managed-prefix-list-entries output: " + err.Error()}
	}
	p, ok := b.prefixLists[id]
	if !ok {
		p = &model.PrefixList{ID: id, Source: o.Source}
		b.prefixLists[id] = p
	}
	p.Entries = []netip.Prefix{}
	for i, e := range doc.Entries {
		pfx, err := cidr(e.Cidr)
		if err != nil {
			return &document.Error{Source: o.Source.At(o.Line("Entries", i)), Object: "PrefixList/" + id, Msg: err.Error()}
		}
		p.Entries = append(p.Entries, pfx)
	}
	return nil
}
