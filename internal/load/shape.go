package load

import (
	"encoding/json"

	"github.com/ringfence/ringfence/internal/load/document"
	"github.com/ringfence/ringfence/internal/model"
)

// Recognized is a document identified by its shape rather than a kind.
type Recognized struct {
	Shape  string       `json:"shape"`
	Source model.Source `json:"source"`
}

// Shapes of the AWS documents one environment directory may hold beside
// its manifests. They are told apart by their top-level keys, the only
// thing the AWS CLI and Terraform outputs have in common.
const (
	ShapeSecurityGroups     = "aws ec2 describe-security-groups"
	ShapeInstances          = "aws ec2 describe-instances"
	ShapePrefixLists        = "aws ec2 describe-managed-prefix-lists"
	ShapePrefixListEntries  = "aws ec2 get-managed-prefix-list-entries"
	ShapeTerraform          = "terraform show -json"
	ShapeIPRanges           = "AWS ip-ranges.json"
	ShapeSecurityGroupRules = "aws ec2 describe-security-group-rules"
)

func recognize(o *document.Object) string {
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
	}
	return ""
}
