package generate

import (
	"encoding/json"
	"fmt"
	"strings"
)

// AWSCLI is the plan as AWS CLI input: one --cli-input-json document per
// call, by the call to make.
type AWSCLI struct {
	AuthorizeEgress  []CLIInput `json:"authorizeSecurityGroupEgress,omitempty"`
	AuthorizeIngress []CLIInput `json:"authorizeSecurityGroupIngress,omitempty"`
	RevokeEgress     []CLIInput `json:"revokeSecurityGroupEgress,omitempty"`
	// ModifyMetadata are aws ec2 modify-instance-metadata-options inputs.
	ModifyMetadata []MetadataInput `json:"modifyInstanceMetadataOptions,omitempty"`
}

// MetadataInput is the input of aws ec2 modify-instance-metadata-options.
type MetadataInput struct {
	InstanceID              string `json:"InstanceId"`
	HTTPTokens              string `json:"HttpTokens"`
	HTTPPutResponseHopLimit int32  `json:"HttpPutResponseHopLimit"`
	HTTPEndpoint            string `json:"HttpEndpoint"`
}

// CLIInput is the input of aws ec2 authorize-security-group-egress (and
// its siblings).
type CLIInput struct {
	GroupID       string         `json:"GroupId"`
	IPPermissions []IPPermission `json:"IpPermissions"`
}

// IPPermission is EC2's IpPermission.
type IPPermission struct {
	IPProtocol       string        `json:"IpProtocol"`
	FromPort         *int32        `json:"FromPort,omitempty"`
	ToPort           *int32        `json:"ToPort,omitempty"`
	IPRanges         []cliCIDR     `json:"IpRanges,omitempty"`
	IPv6Ranges       []cliCIDRv6   `json:"Ipv6Ranges,omitempty"`
	PrefixListIDs    []cliList     `json:"PrefixListIds,omitempty"`
	UserIDGroupPairs []cliGroupRef `json:"UserIdGroupPairs,omitempty"`
}

type cliCIDR struct {
	CidrIP      string `json:"CidrIp"`
	Description string `json:"Description,omitempty"`
}

type cliCIDRv6 struct {
	CidrIPv6    string `json:"CidrIpv6"`
	Description string `json:"Description,omitempty"`
}

type cliList struct {
	PrefixListID string `json:"PrefixListId"`
	Description  string `json:"Description,omitempty"`
}

type cliGroupRef struct {
	GroupID     string `json:"GroupId"`
	Description string `json:"Description,omitempty"`
}

// CLI turns the plan into AWS CLI inputs. The CLI cannot look a prefix
// list up by name or create one in the same call, so rules through an
// AWS-managed list whose ID the inputs lack, or through a generated list,
// are written as the CIDRs they stand for; the notes say which.
func CLI(out *Output) (AWSCLI, []string) {
	var c AWSCLI
	var notes []string
	noted := map[string]bool{}
	for _, g := range out.SecurityGroups {
		for _, r := range g.Egress {
			if r.ManagedPrefixList != "" && !noted[r.ManagedPrefixList] {
				noted[r.ManagedPrefixList] = true
				notes = append(notes, fmt.Sprintf("the ID of the AWS-managed prefix list %s is not in the inputs, so the AWS CLI input allows its %d CIDRs one by one; add the output of aws ec2 describe-managed-prefix-lists with -f for a single rule", r.ManagedPrefixList, len(r.covers)))
			}
			if r.OwnPrefixList != "" && !noted[r.OwnPrefixList] {
				noted[r.OwnPrefixList] = true
				notes = append(notes, fmt.Sprintf("the AWS CLI input allows the CIDRs of %s one by one (-o terraform creates the prefix list)", r.OwnPrefixList))
			}
		}
		if ps := permissions(g.Egress); len(ps) > 0 {
			c.AuthorizeEgress = append(c.AuthorizeEgress, CLIInput{GroupID: g.GroupID, IPPermissions: ps})
		}
		if ps := permissions(g.Ingress); len(ps) > 0 {
			c.AuthorizeIngress = append(c.AuthorizeIngress, CLIInput{GroupID: g.GroupID, IPPermissions: ps})
		}
		if ps := permissions(g.Revoke); len(ps) > 0 {
			c.RevokeEgress = append(c.RevokeEgress, CLIInput{GroupID: g.GroupID, IPPermissions: ps})
		}
	}
	for _, m := range out.Metadata {
		c.ModifyMetadata = append(c.ModifyMetadata, MetadataInput{InstanceID: m.InstanceID, HTTPTokens: m.HTTPTokens, HTTPPutResponseHopLimit: m.HopLimit, HTTPEndpoint: "enabled"})
	}
	if len(out.Metadata) > 0 {
		notes = append(notes, "modifyInstanceMetadataOptions changes the running instances only: set the same metadata options in the node groups' launch template")
	}
	return c, notes
}

func permissions(rules []SGRule) []IPPermission {
	var out []IPPermission
	for _, r := range rules {
		p := IPPermission{IPProtocol: r.Protocol}
		if r.Protocol == "tcp" || r.Protocol == "udp" {
			from, to := r.FromPort, r.ToPort
			p.FromPort, p.ToPort = &from, &to
		}
		addCIDR := func(c string) {
			if strings.Contains(c, ":") {
				p.IPv6Ranges = append(p.IPv6Ranges, cliCIDRv6{CidrIPv6: c, Description: r.Description})
			} else {
				p.IPRanges = append(p.IPRanges, cliCIDR{CidrIP: c, Description: r.Description})
			}
		}
		switch {
		case r.CIDR != "":
			addCIDR(r.CIDR)
		case r.Group != "":
			p.UserIDGroupPairs = []cliGroupRef{{GroupID: r.Group, Description: r.Description}}
		case r.PrefixList != "":
			p.PrefixListIDs = []cliList{{PrefixListID: r.PrefixList, Description: r.Description}}
		default:
			for _, c := range r.covers {
				addCIDR(c.String())
			}
		}
		out = append(out, p)
	}
	return out
}

// permissionsJSON is one rule as the --ip-permissions JSON of the CLI.
func permissionsJSON(r SGRule) string {
	r.Description = ""
	b, _ := json.Marshal(permissions([]SGRule{r}))
	return string(b)
}
