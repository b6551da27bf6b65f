package generate

import (
	"encoding/json"
	"fmt"
	"strings"
)

// AWSCLI is the plan as AWS CLI input: one --cli-input-json document per
// call, by the call to make.
type AWSCLI struct {
	// CreateSecurityGroups come first: the groups generated for jobs
	// (aws ec2 create-security-group). Their GroupId elsewhere is their
	// name until the caller puts the ID AWS returns in its place.
	CreateSecurityGroups []CreateGroupInput `json:"createSecurityGroup,omitempty"`
	// CreatePrefixLists and ModifyPrefixLists come first: the rules
	// reference the lists (aws ec2 create-managed-prefix-list, then
	// modify-managed-prefix-list for the entries past the first 100).
	CreatePrefixLists []PrefixListInput       `json:"createManagedPrefixList,omitempty"`
	ModifyPrefixLists []PrefixListModifyInput `json:"modifyManagedPrefixList,omitempty"`
	AuthorizeEgress   []CLIInput              `json:"authorizeSecurityGroupEgress,omitempty"`
	AuthorizeIngress  []CLIInput              `json:"authorizeSecurityGroupIngress,omitempty"`
	RevokeEgress      []CLIInput              `json:"revokeSecurityGroupEgress,omitempty"`
	// ModifyMetadata are aws ec2 modify-instance-metadata-options inputs.
	ModifyMetadata []MetadataInput `json:"modifyInstanceMetadataOptions,omitempty"`
}

// CreateGroupInput is the input of aws ec2 create-security-group.
type CreateGroupInput struct {
	GroupName         string             `json:"GroupName"`
	Description       string             `json:"Description"`
	VpcID             string             `json:"VpcId"`
	TagSpecifications []TagSpecification `json:"TagSpecifications"`
}

// TagSpecification is EC2's TagSpecification.
type TagSpecification struct {
	ResourceType string `json:"ResourceType"`
	Tags         []Tag  `json:"Tags"`
}

// Tag is an EC2 tag.
type Tag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

// EntriesPerCall is the most entries one create- or
// modify-managed-prefix-list call takes.
const EntriesPerCall = 100

// PrefixListInput is the input of aws ec2 create-managed-prefix-list.
type PrefixListInput struct {
	PrefixListName string           `json:"PrefixListName"`
	AddressFamily  string           `json:"AddressFamily"`
	MaxEntries     int              `json:"MaxEntries"`
	Entries        []PrefixListItem `json:"Entries"`
}

// PrefixListModifyInput is the input of aws ec2
// modify-managed-prefix-list. PrefixListId holds the list's name until
// the caller puts the ID create-managed-prefix-list returned in its place
// (docs/generate.md shows how); CurrentVersion counts from the creation
// (version 1).
type PrefixListModifyInput struct {
	PrefixListID   string           `json:"PrefixListId"`
	CurrentVersion int64            `json:"CurrentVersion"`
	AddEntries     []PrefixListItem `json:"AddEntries"`
}

// PrefixListItem is one entry of a prefix list.
type PrefixListItem struct {
	CIDR        string `json:"Cidr"`
	Description string `json:"Description,omitempty"`
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
// list up by name, so rules through an AWS-managed list whose ID the
// inputs lack are written as the CIDRs they stand for (a note says so).
// The prefix lists generated to respect the rules quota are created
// (create-managed-prefix-list, then modify-managed-prefix-list 100 entries
// at a time), and the rules reference them by name, as a placeholder for
// the ID AWS gives them.
func CLI(out *Output) (AWSCLI, []string) {
	var c AWSCLI
	var notes []string
	noted := map[string]bool{}
	for _, pl := range out.PrefixLists {
		items := make([]PrefixListItem, len(pl.Entries))
		for i, e := range pl.Entries {
			items[i] = PrefixListItem{CIDR: e}
		}
		first := items[:min(len(items), EntriesPerCall)]
		c.CreatePrefixLists = append(c.CreatePrefixLists, PrefixListInput{PrefixListName: pl.Name, AddressFamily: pl.AddressFamily, MaxEntries: pl.MaxEntries, Entries: first})
		for i, version := EntriesPerCall, int64(1); i < len(items); i, version = i+EntriesPerCall, version+1 {
			c.ModifyPrefixLists = append(c.ModifyPrefixLists, PrefixListModifyInput{PrefixListID: pl.Name, CurrentVersion: version, AddEntries: items[i:min(len(items), i+EntriesPerCall)]})
		}
	}
	if len(out.PrefixLists) > 0 {
		notes = append(notes, "the PrefixListId of the prefix lists to create is their name: replace it with the ID aws ec2 create-managed-prefix-list returns (docs/generate.md), and wait for each list's state modify-complete before the next modify-managed-prefix-list call")
	}
	for _, j := range out.JobGroups {
		c.CreateSecurityGroups = append(c.CreateSecurityGroups, CreateGroupInput{GroupName: j.ID, Description: j.Description, VpcID: j.VPC,
			TagSpecifications: []TagSpecification{{ResourceType: "security-group", Tags: []Tag{{Key: "Name", Value: j.ID}, {Key: "ringfence.dev/job", Value: j.Job}}}}})
	}
	if len(out.JobGroups) > 0 {
		notes = append(notes, "the GroupId of the security groups to create (createSecurityGroup) is their name: replace it with the ID aws ec2 create-security-group returns, here and in the SecurityGroupPolicy of -o yaml (docs/generate.md)")
	}
	for _, g := range out.SecurityGroups {
		for _, r := range g.Egress {
			if r.ManagedPrefixList != "" && !noted[r.ManagedPrefixList] {
				noted[r.ManagedPrefixList] = true
				notes = append(notes, fmt.Sprintf("the ID of the AWS-managed prefix list %s is not in the inputs, so the AWS CLI input allows its %d CIDRs one by one; add the output of aws ec2 describe-managed-prefix-lists with -f for a single rule", r.ManagedPrefixList, len(r.covers)))
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
	for _, j := range out.JobGroups {
		// AWS gives a new group an egress rule open to all IPv4: the job's
		// group must not add one to its pods.
		all := SGRule{Protocol: "-1", FromPort: -1, ToPort: -1, CIDR: "0.0.0.0/0"}
		c.RevokeEgress = append(c.RevokeEgress, CLIInput{GroupID: j.ID, IPPermissions: permissions([]SGRule{all})})
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
		case r.OwnPrefixList != "":
			p.PrefixListIDs = []cliList{{PrefixListID: r.OwnPrefixList, Description: r.Description}}
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
