package aws

import (
	"encoding/json"
	"fmt"
	"strings"

	tfjson "github.com/hashicorp/terraform-json"
	"github.com/ringfence/ringfence/internal/load/document"
	"github.com/ringfence/ringfence/internal/model"
)

// terraform reads the security groups of a `terraform show -json` plan
// (planned_values) or state (values): aws_security_group with inline
// rules, aws_security_group_rule, and aws_vpc_security_group_ingress_rule /
// _egress_rule. A group not created yet has no id: it is named by its
// resource address, and rules that reference it through the configuration
// are attached to it.
func (b *Builder) terraform(o *document.Object) error {
	var top struct {
		PlannedValues json.RawMessage `json:"planned_values"`
		Values        json.RawMessage `json:"values"`
	}
	if err := json.Unmarshal(o.JSON, &top); err != nil {
		return &document.Error{Source: o.Source, Msg: "invalid terraform show -json output: " + err.Error()}
	}
	var values *tfjson.StateValues
	var path []any
	var refs map[string][]string
	switch {
	case top.PlannedValues != nil:
		var plan tfjson.Plan
		if err := json.Unmarshal(o.JSON, &plan); err != nil {
			return &document.Error{Source: o.Source, Msg: "invalid terraform plan: " + err.Error()}
		}
		values, path = plan.PlannedValues, []any{"planned_values"}
		refs = configReferences(plan.Config)
	case top.Values != nil:
		var state tfjson.State
		if err := json.Unmarshal(o.JSON, &state); err != nil {
			return &document.Error{Source: o.Source, Msg: "invalid terraform state: " + err.Error()}
		}
		values, path = state.Values, []any{"values"}
	}
	if values == nil || values.RootModule == nil {
		return nil
	}
	t := &tfReader{b: b, o: o, refs: refs, byAddress: map[string]string{}}
	// Groups, ACLs and route tables first, so rules, routes and
	// associations in any module can find them by address.
	t.walk(values.RootModule, append(path, "root_module"), true)
	t.walk(values.RootModule, append(path, "root_module"), false)
	return t.err
}

type tfReader struct {
	b         *Builder
	o         *document.Object
	refs      map[string][]string
	byAddress map[string]string // resource address -> group id
	err       error
	// src is the position of the resource being read.
	src model.Source
}

func (t *tfReader) walk(m *tfjson.StateModule, path []any, groups bool) {
	for i, r := range m.Resources {
		if t.err != nil {
			return
		}
		src := t.o.Source.At(t.o.Line(append(append([]any(nil), path...), "resources", i)...))
		if groups == primary[r.Type] {
			t.src = src
			if !t.networkResource(r, src) {
				t.resource(r, src)
			}
		}
	}
	for i, c := range m.ChildModules {
		t.walk(c, append(append([]any(nil), path...), "child_modules", i), groups)
	}
}

func (t *tfReader) fail(src model.Source, address, format string, args ...any) {
	if t.err == nil {
		t.err = &document.Error{Source: src, Object: address, Msg: fmt.Sprintf(format, args...)}
	}
}

func (t *tfReader) resource(r *tfjson.StateResource, src model.Source) {
	v := r.AttributeValues
	switch r.Type {
	case "aws_security_group":
		id := str(v["id"])
		if id == "" {
			id = r.Address // not created yet
		}
		t.byAddress[r.Address] = id
		g := t.b.group(id, src)
		g.Name, g.Description, g.VPC = str(v["name"]), str(v["description"]), str(v["vpc_id"])
		for _, key := range []string{"ingress", "egress"} {
			blocks, _ := v[key].([]any)
			for _, blk := range blocks {
				m, _ := blk.(map[string]any)
				rule, ok := t.inlineRule(m, id, src, r.Address)
				if !ok {
					return
				}
				if key == "ingress" {
					g.Ingress = append(g.Ingress, rule)
				} else {
					g.Egress = append(g.Egress, rule)
				}
			}
		}
	case "aws_security_group_rule":
		gid := t.groupOf(r, "security_group_id", src)
		if gid == "" {
			return
		}
		m := map[string]any{}
		for k, val := range v {
			m[k] = val
		}
		if sg := str(v["source_security_group_id"]); sg != "" {
			m["security_groups"] = []any{sg}
		}
		rule, ok := t.inlineRule(m, gid, src, r.Address)
		if !ok {
			return
		}
		g := t.b.group(gid, src)
		if str(v["type"]) == "egress" {
			g.Egress = append(g.Egress, rule)
		} else {
			g.Ingress = append(g.Ingress, rule)
		}
	case "aws_vpc_security_group_ingress_rule", "aws_vpc_security_group_egress_rule":
		gid := t.groupOf(r, "security_group_id", src)
		if gid == "" {
			return
		}
		proto, err := protocol(str(v["ip_protocol"]))
		if err != nil {
			t.fail(src, r.Address, "%v", err)
			return
		}
		rule := model.SGRule{Protocol: proto, FromPort: num(v["from_port"]), ToPort: num(v["to_port"]), Description: str(v["description"]), Source: src}
		for _, k := range []string{"cidr_ipv4", "cidr_ipv6"} {
			if c := str(v[k]); c != "" {
				p, err := cidr(c)
				if err != nil {
					t.fail(src, r.Address, "%s: %v", k, err)
					return
				}
				rule.CIDRs = append(rule.CIDRs, p)
			}
		}
		if pl := str(v["prefix_list_id"]); pl != "" {
			rule.PrefixLists = []string{pl}
		}
		if ref := str(v["referenced_security_group_id"]); ref != "" {
			rule.Groups = []string{ref}
		}
		g := t.b.group(gid, src)
		if strings.HasSuffix(r.Type, "egress_rule") {
			g.Egress = append(g.Egress, rule)
		} else {
			g.Ingress = append(g.Ingress, rule)
		}
	}
}

// groupOf finds the group a rule belongs to: its id when known, else the
// group its configuration refers to.
func (t *tfReader) groupOf(r *tfjson.StateResource, attr string, src model.Source) string {
	if id := str(r.AttributeValues[attr]); id != "" {
		return id
	}
	for _, ref := range t.refs[configAddress(r.Address)+"."+attr] {
		for addr, id := range t.byAddress {
			if configAddress(addr) == ref || strings.HasSuffix(addr, "."+ref) || addr == ref {
				return id
			}
		}
	}
	t.b.report.Warn(src, r.Address, "%s is not known (not created yet) and the configuration does not say which group it is: the rule is skipped", attr)
	return ""
}

// configAddress strips instance keys ([0], ["a"]) from an address.
func configAddress(addr string) string {
	for {
		i := strings.IndexByte(addr, '[')
		if i < 0 {
			return addr
		}
		j := strings.IndexByte(addr[i:], ']')
		if j < 0 {
			return addr
		}
		addr = addr[:i] + addr[i+j+1:]
	}
}

// configReferences maps "address.attribute" to the resources the
// attribute's expression refers to ("aws_security_group.lb").
func configReferences(c *tfjson.Config) map[string][]string {
	out := map[string][]string{}
	if c == nil || c.RootModule == nil {
		return out
	}
	var walk func(m *tfjson.ConfigModule, prefix string)
	walk = func(m *tfjson.ConfigModule, prefix string) {
		for _, r := range m.Resources {
			for attr, expr := range r.Expressions {
				if expr == nil || expr.ExpressionData == nil {
					continue
				}
				for _, ref := range expr.References {
					// "aws_security_group.lb.id" and "aws_security_group.lb"
					// both name the group.
					ref = strings.TrimSuffix(ref, ".id")
					out[prefix+r.Address+"."+attr] = append(out[prefix+r.Address+"."+attr], prefix+ref)
				}
			}
		}
		for name, call := range m.ModuleCalls {
			if call.Module != nil {
				walk(call.Module, prefix+"module."+name+".")
			}
		}
	}
	walk(c.RootModule, "")
	return out
}

// inlineRule reads a rule written with Terraform's aws_security_group
// block attributes.
func (t *tfReader) inlineRule(m map[string]any, groupID string, src model.Source, address string) (model.SGRule, bool) {
	proto, err := protocol(str(m["protocol"]))
	if err != nil {
		t.fail(src, address, "%v", err)
		return model.SGRule{}, false
	}
	r := model.SGRule{Protocol: proto, FromPort: num(m["from_port"]), ToPort: num(m["to_port"]), Description: str(m["description"]), Source: src}
	if proto == "-1" {
		// Terraform writes 0-0 for all ports of all protocols.
		r.FromPort, r.ToPort = -1, -1
	}
	for _, k := range []string{"cidr_blocks", "ipv6_cidr_blocks"} {
		for _, c := range strs(m[k]) {
			p, err := cidr(c)
			if err != nil {
				t.fail(src, address, "%s: %v", k, err)
				return r, false
			}
			r.CIDRs = append(r.CIDRs, p)
		}
	}
	r.PrefixLists = strs(m["prefix_list_ids"])
	r.Groups = strs(m["security_groups"])
	if self, _ := m["self"].(bool); self {
		r.Groups = append(r.Groups, groupID)
	}
	return r, true
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func num(v any) int32 {
	switch n := v.(type) {
	case float64:
		return int32(n)
	case json.Number:
		i, _ := n.Int64()
		return int32(i)
	}
	return -1
}

func strs(v any) []string {
	list, _ := v.([]any)
	var out []string
	for _, x := range list {
		if s, ok := x.(string); ok && s != "" {
			out = append(out, s)
		}
	}
	return out
}
