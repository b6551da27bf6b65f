package engine

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// Endpoint policies are not an address fence: a gateway endpoint carries
// all of its service's traffic from the subnets whose route tables name
// it, and its policy then allows or refuses each request by principal,
// action and resource. ringfence shows the policy and judges only what
// decides cross-account use: the resources (bucket ARNs) and the
// aws:ResourceAccount / aws:PrincipalAccount conditions. It does not
// evaluate IAM.

// EndpointPolicy is the part of an endpoint policy that decides which
// accounts' resources the endpoint reaches.
type EndpointPolicy struct {
	// Default is set when no policy was given, or it is the full-access
	// default (AWS applies it to an endpoint created without one).
	Default bool `json:"default,omitempty"`
	// Resources are the resources the Allow statements name ("*" for
	// every one); Accounts the accounts their conditions limit them to.
	Resources []string `json:"resources,omitempty"`
	Accounts  []string `json:"accounts,omitempty"`
	// Denies counts Deny statements, which only take away.
	Denies int `json:"denies,omitempty"`
	// Error is set when the document cannot be read.
	Error string `json:"error,omitempty"`
}

// ReadEndpointPolicy reads the parts of an endpoint policy ringfence
// judges.
func ReadEndpointPolicy(doc string) EndpointPolicy {
	if strings.TrimSpace(doc) == "" {
		return EndpointPolicy{Default: true}
	}
	var p struct {
		Statement json.RawMessage
	}
	if err := json.Unmarshal([]byte(doc), &p); err != nil {
		return EndpointPolicy{Error: "not a JSON policy document: " + err.Error()}
	}
	var stmts []map[string]any
	if err := json.Unmarshal(p.Statement, &stmts); err != nil {
		var one map[string]any
		if err := json.Unmarshal(p.Statement, &one); err != nil {
			return EndpointPolicy{Error: "its Statement is neither a statement nor a list of them"}
		}
		stmts = []map[string]any{one}
	}
	var out EndpointPolicy
	res, accts := map[string]bool{}, map[string]bool{}
	full := false
	for _, s := range stmts {
		if s["Effect"] == "Deny" {
			out.Denies++
			continue
		}
		rs := strs(s["Resource"])
		for _, r := range rs {
			res[r] = true
		}
		cond, _ := s["Condition"].(map[string]any)
		for _, op := range cond {
			kv, _ := op.(map[string]any)
			for k, v := range kv {
				if strings.EqualFold(k, "aws:ResourceAccount") || strings.EqualFold(k, "aws:PrincipalAccount") {
					for _, a := range strs(v) {
						accts[k+"="+a] = true
					}
				}
			}
		}
		if len(cond) == 0 && contains(rs, "*") && contains(strs(s["Action"]), "*") && (s["Principal"] == "*" || contains(strs(principalAWS(s["Principal"])), "*")) {
			full = true
		}
	}
	out.Resources, out.Accounts = keys(res), keys(accts)
	out.Default = full && out.Denies == 0 && len(stmts) == 1
	return out
}

func principalAWS(p any) any {
	if m, ok := p.(map[string]any); ok {
		return m["AWS"]
	}
	return p
}

func strs(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// policySummary says in one line what an endpoint policy lets through.
func policySummary(doc string) string {
	p := ReadEndpointPolicy(doc)
	switch {
	case p.Error != "":
		return "unreadable (" + p.Error + ")"
	case p.Default:
		return "full access (the default): any bucket or table of any account"
	}
	var parts []string
	if contains(p.Resources, "*") {
		parts = append(parts, "any resource")
	} else if len(p.Resources) > 0 {
		parts = append(parts, "only "+strings.Join(p.Resources, ", "))
	} else {
		parts = append(parts, "no resource (no Allow statement)")
	}
	if len(p.Accounts) > 0 {
		parts = append(parts, "of "+strings.Join(p.Accounts, ", "))
	} else if !contains(p.Resources, "*") || len(p.Resources) == 0 {
		// Named resources bound the accounts already.
	} else {
		parts = append(parts, "of any account")
	}
	if p.Denies > 0 {
		parts = append(parts, fmt.Sprintf("less %d Deny statement(s)", p.Denies))
	}
	return strings.Join(parts, " ")
}
