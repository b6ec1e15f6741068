package server_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/sluice-io/sluice/events/replication/rules"
	"github.com/sluice-io/sluice/s3front/s3err"
	"github.com/sluice-io/sluice/s3front/s3xml"
	"github.com/sluice-io/sluice/s3front/server"
)

func TestReplicationRules(t *testing.T) {
	isLoc := func(n string) bool { return n == "aws" || n == "gcp" || n == "bad.name" }
	prio := func(p int) *int { return &p }
	str := func(s string) *string { return &s }
	on := &s3xml.StatusElement{Status: s3xml.StatusEnabled}
	cases := []struct {
		name string
		rule s3xml.ReplicationRule
		want rules.Rule
		code s3err.ErrorCode
	}{
		{name: "storage class names the location",
			rule: s3xml.ReplicationRule{ID: "a", Priority: prio(3), Status: "Enabled", Filter: &s3xml.ReplicationFilter{Prefix: str("p/")},
				Destination: &s3xml.Destination{Bucket: "arn:aws:s3:::whatever", StorageClass: "aws"}, DeleteMarkerReplication: on},
			want: rules.Rule{ID: "a", Priority: 3, Status: "Enabled", Filter: rules.Filter{Prefix: "p/"},
				Destination: rules.Destination{Location: "aws"}, DeleteMarkerReplication: true}},
		{name: "bucket ARN names the location, legacy prefix, disabled",
			rule: s3xml.ReplicationRule{Status: "Disabled", Prefix: str("v1/"), Destination: &s3xml.Destination{Bucket: "arn:aws:s3:::gcp", StorageClass: "STANDARD"},
				ExistingObjectReplication: on},
			want: rules.Rule{Status: "Disabled", Filter: rules.Filter{Prefix: "v1/"}, Destination: rules.Destination{Location: "gcp"}, ExistingObjectReplication: true}},
		{name: "tag filter",
			rule: s3xml.ReplicationRule{Status: "Enabled", Filter: &s3xml.ReplicationFilter{Tag: &s3xml.Tag{Key: "k", Value: "v"}}, Destination: &s3xml.Destination{Bucket: "arn:aws:s3:::aws"}},
			want: rules.Rule{Status: "Enabled", Filter: rules.Filter{Tags: map[string]string{"k": "v"}}, Destination: rules.Destination{Location: "aws"}}},
		{name: "unknown location", rule: s3xml.ReplicationRule{Status: "Enabled", Destination: &s3xml.Destination{Bucket: "arn:aws:s3:::nowhere"}}, code: s3err.InvalidRequest},
		{name: "not an ARN", rule: s3xml.ReplicationRule{Status: "Enabled", Destination: &s3xml.Destination{Bucket: "aws"}}, code: s3err.InvalidArgument},
		{name: "location the replicator cannot name", rule: s3xml.ReplicationRule{Status: "Enabled", Destination: &s3xml.Destination{Bucket: "arn:aws:s3:::bad.name"}}, code: s3err.InvalidArgument},
		{name: "no destination", rule: s3xml.ReplicationRule{Status: "Enabled"}, code: s3err.MalformedXML},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := server.ReplicationRules(&s3xml.ReplicationConfiguration{Rules: []s3xml.ReplicationRule{tc.rule}}, isLoc)
			if tc.code != "" {
				var se *s3err.Error
				if !errors.As(err, &se) || se.Code != tc.code {
					t.Fatalf("err = %v, want %s", err, tc.code)
				}
				return
			}
			if err != nil || len(got) != 1 || !reflect.DeepEqual(got[0], tc.want) {
				t.Fatalf("ReplicationRules = %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}
