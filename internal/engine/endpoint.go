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

// OpenS3Statement is an Allow statement of an endpoint policy that lets
// the endpoint reach S3 buckets of accounts other than its own.
type OpenS3Statement struct {
	// Index is the statement's position (0 for a lone statement, or for
	// the default policy when none is given).
	Index int `json:"index"`
	// Resources are the resources that reach beyond the account.
	Resources []string `json:"resources"`
	Why       string   `json:"why"`
}

// resourceScopeKeys are the condition keys that keep requests to the
// resources of one account or organisation (IAM global condition keys).
var resourceScopeKeys = []string{"aws:resourceaccount", "aws:resourceorgid", "aws:resourceorgpaths"}

// OpenS3Statements judges an endpoint policy for cross-account S3 use, on
// the resources and conditions alone (no IAM evaluation): an Allow
// statement that may apply to S3 actions and names every resource ("*",
// or a bucket ARN with a wildcard in the bucket name), or an ARN of
// another account (access points, which carry one), with no
// aws:ResourceAccount, aws:ResourceOrgID or aws:ResourceOrgPaths
// condition. A Deny statement conditioned on one of those keys limits
// every Allow, and then nothing is reported. Bucket ARNs name no account
// (arn:aws:s3:::bucket): a bucket named in full is taken as chosen. An
// empty document is AWS's full-access default. owner is the endpoint's
// account, "" when not known.
func OpenS3Statements(doc, owner string) ([]OpenS3Statement, error) {
	if strings.TrimSpace(doc) == "" {
		return []OpenS3Statement{{Resources: []string{"*"}, Why: "no policy: AWS applies the full-access default, any bucket of any account"}}, nil
	}
	var p struct {
		Statement json.RawMessage
	}
	if err := json.Unmarshal([]byte(doc), &p); err != nil {
		return nil, fmt.Errorf("not a JSON policy document: %w", err)
	}
	var stmts []map[string]any
	if err := json.Unmarshal(p.Statement, &stmts); err != nil {
		var one map[string]any
		if err := json.Unmarshal(p.Statement, &one); err != nil {
			return nil, fmt.Errorf("its Statement is neither a statement nor a list of them")
		}
		stmts = []map[string]any{one}
	}
	for _, s := range stmts {
		if s["Effect"] == "Deny" && scoped(s) {
			return nil, nil
		}
	}
	var out []OpenS3Statement
	for i, s := range stmts {
		if s["Effect"] != "Allow" || !mayBeS3(s) || scoped(s) {
			continue
		}
		var open []string
		why := ""
		if _, ok := s["NotResource"]; ok {
			open, why = []string{"NotResource"}, "NotResource allows every resource but those listed"
		}
		for _, r := range strs(s["Resource"]) {
			if acct, any := s3ResourceAccount(r); any {
				open = append(open, r)
				why = "a resource that matches buckets of any account"
			} else if acct != "" && owner != "" && acct != owner {
				open = append(open, r)
				if why == "" {
					why = "a resource of account " + acct + ", not the endpoint's " + owner
				}
			}
		}
		if len(open) > 0 {
			out = append(out, OpenS3Statement{Index: i, Resources: open, Why: why + ", and no aws:ResourceAccount, aws:ResourceOrgID or aws:ResourceOrgPaths condition"})
		}
	}
	return out, nil
}

// scoped reports whether a statement has a condition on the resource's
// account or organisation.
func scoped(s map[string]any) bool {
	cond, _ := s["Condition"].(map[string]any)
	for _, op := range cond {
		kv, _ := op.(map[string]any)
		for k := range kv {
			if contains(resourceScopeKeys, strings.ToLower(k)) {
				return true
			}
		}
	}
	return false
}

// mayBeS3 reports whether a statement's actions may include S3's.
func mayBeS3(s map[string]any) bool {
	if _, ok := s["NotAction"]; ok {
		return true
	}
	for _, a := range strs(s["Action"]) {
		a = strings.ToLower(a)
		if a == "*" || strings.HasPrefix(a, "s3:") || strings.HasPrefix(a, "s3*") {
			return true
		}
	}
	return false
}

// s3ResourceAccount reads an S3 resource: the account its ARN names (an
// access point's), and whether it matches buckets of any account ("*",
// arn:aws:s3:::*, a wildcard in the bucket name).
func s3ResourceAccount(r string) (account string, anyAccount bool) {
	if r == "*" {
		return "", true
	}
	parts := strings.SplitN(r, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" {
		return "", false
	}
	service, acct, res := parts[2], parts[4], parts[5]
	if strings.ContainsAny(service, "*?") {
		return "", true
	}
	if service != "s3" {
		return "", false
	}
	if acct == "" {
		bucket, _, _ := strings.Cut(res, "/")
		return "", strings.ContainsAny(bucket, "*?")
	}
	if strings.ContainsAny(acct, "*?") {
		return "", true
	}
	return acct, false
}
