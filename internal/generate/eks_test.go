package generate

import (
	"slices"
	"testing"
)

// TestAmazonStandsFor: a rule to a region's AMAZON ranges is named for the
// services of the kept needs of its own Fence that wrote it (STS for IRSA,
// ECR for image pulls), never for another Fence's, a forgone need's, or
// another region's.
func TestAmazonStandsFor(t *testing.T) {
	needs := []Need{
		{fence: "ml/train", Kind: NeedCredentials, Status: NeedKept, toSet: STSDestination("us-east-1")},
		{fence: "ml/train", Kind: NeedRegistry, Status: NeedKept, toSet: "aws:AMAZON:us-east-1"},
		{fence: "ml/other", Kind: NeedCredentials, Status: NeedKept, toSet: STSDestination("us-east-1")},
		{fence: "ml/forgoes", Kind: NeedCredentials, Status: NeedForgone, toSet: STSDestination("us-east-1")},
		{fence: "ml/train", Kind: NeedCredentials, Status: NeedKept, toSet: STSDestination("eu-west-1")},
	}
	if got := amazonStandsFor(needs, "ml/train", "us-east-1"); !slices.Equal(got, []string{"ECR", "STS"}) {
		t.Errorf("ml/train: %v, want ECR and STS", got)
	}
	if got := amazonStandsFor(needs, "ml/forgoes", "us-east-1"); len(got) != 0 {
		t.Errorf("a forgone need names %v", got)
	}
	if got := amazonStandsFor(needs, "ml/none", "us-east-1"); len(got) != 0 {
		t.Errorf("a Fence without needs: %v", got)
	}
	want := []string{"api.ecr.us-east-1.amazonaws.com", "*.dkr.ecr.us-east-1.amazonaws.com"}
	if got := awsEndpointNames("ECR", "us-east-1"); !slices.Equal(got, want) {
		t.Errorf("ECR names %v, want %v", got, want)
	}
	if got := awsEndpointNames("STS", "eu-west-1"); !slices.Equal(got, []string{"sts.eu-west-1.amazonaws.com"}) {
		t.Errorf("STS names %v", got)
	}
}
