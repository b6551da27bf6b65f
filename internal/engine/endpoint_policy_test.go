package engine

import "testing"

// Endpoint policies judged for cross-account S3 use, on the policy shapes
// of the AWS PrivateLink guide ("Control access to VPC endpoints using
// endpoint policies", "Gateway endpoints for Amazon S3") and the
// aws:ResourceAccount / aws:ResourceOrgID condition keys of the IAM guide.
func TestOpenS3StatementsTruthTable(t *testing.T) {
	const owner = "111122223333"
	for _, c := range []struct {
		name, doc string
		open      int
	}{
		{"no policy: the full-access default", "", 1},
		{"the default written out", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}`, 1},
		{"named buckets only", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::shop-data","arn:aws:s3:::shop-data/*"]}]}`, 0},
		{"a wildcard bucket name", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::ml-*/*"}]}`, 1},
		{"every bucket by ARN", `{"Statement":{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::*"}}`, 1},
		{"Resource * kept to the account", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*","Condition":{"StringEquals":{"aws:ResourceAccount":"111122223333"}}}]}`, 0},
		{"Resource * kept to the organisation", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*","Condition":{"StringEquals":{"aws:ResourceOrgID":"o-abc"}}}]}`, 0},
		{"a Deny on other accounts limits every Allow", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"},{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*","Condition":{"StringNotEquals":{"aws:ResourceAccount":["111122223333"]}}}]}`, 0},
		{"a Deny on something else does not", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"},{"Effect":"Deny","Principal":"*","Action":"s3:DeleteBucket","Resource":"*"}]}`, 1},
		{"a condition on the principal's account is not the resource's", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalAccount":"111122223333"}}}]}`, 1},
		{"not S3 actions", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"dynamodb:*","Resource":"*"}]}`, 0},
		{"NotAction may include S3", `{"Statement":[{"Effect":"Allow","Principal":"*","NotAction":"dynamodb:*","Resource":"*"}]}`, 1},
		{"NotResource", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:*","NotResource":"arn:aws:s3:::secret/*"}]}`, 1},
		{"an access point of another account", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:us-east-1:444455556666:accesspoint/x/*"}]}`, 1},
		{"an access point of the account", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:us-east-1:111122223333:accesspoint/x/*"}]}`, 0},
		{"condition key case does not matter", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*","Condition":{"StringEquals":{"AWS:resourceaccount":"111122223333"}}}]}`, 0},
	} {
		got, err := OpenS3Statements(c.doc, owner)
		if err != nil || len(got) != c.open {
			t.Errorf("%s: %d open statements %+v, err %v; want %d", c.name, len(got), got, err, c.open)
		}
	}
	if _, err := OpenS3Statements("{not json", owner); err == nil {
		t.Error("an unreadable policy is an error")
	}
}
