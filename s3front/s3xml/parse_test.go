package s3xml

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/sluice-io/sluice/s3front/s3err"
)

// parser is a Parse function with its result erased, so every parser can
// share the table and fuzz harness.
type parser func(io.Reader) (any, error)

func erase[T any](f func(io.Reader) (T, error)) parser {
	return func(r io.Reader) (any, error) { return f(r) }
}

var parsers = map[string]parser{
	"Delete":                    erase(ParseDelete),
	"CompleteMultipartUpload":   erase(ParseCompleteMultipartUpload),
	"ObjectTagging":             erase(ParseObjectTagging),
	"BucketTagging":             erase(ParseBucketTagging),
	"Versioning":                erase(ParseVersioningConfiguration),
	"CreateBucketConfiguration": erase(ParseCreateBucketConfiguration),
	"Notification":              erase(ParseNotificationConfiguration),
	"Replication":               erase(ParseReplicationConfiguration),
	"Lifecycle":                 erase(ParseLifecycleConfiguration),
}

type parseCase struct {
	name   string
	parser string
	body   string
	want   s3err.ErrorCode // "" means the document is valid
}

func repeat(s string, n int) string { return strings.Repeat(s, n) }

func tags(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "<Tag><Key>k%d</Key><Value>v</Value></Tag>", i)
	}
	return b.String()
}

const ns = `xmlns="http://s3.amazonaws.com/doc/2006-03-01/"`

// replRule builds a V2 replication rule with the given priority and body.
func replRule(id string, prio int, filter string) string {
	return fmt.Sprintf(`<Rule><ID>%s</ID><Priority>%d</Priority><Status>Enabled</Status>%s`+
		`<DeleteMarkerReplication><Status>Disabled</Status></DeleteMarkerReplication>`+
		`<Destination><Bucket>arn:aws:s3:::dst</Bucket></Destination></Rule>`, id, prio, filter)
}

func lcRule(inner string) string {
	return `<LifecycleConfiguration><Rule><ID>r</ID>` + inner + `</Rule></LifecycleConfiguration>`
}

var parseCases = []parseCase{
	// Shared decoding behaviour, exercised through Delete.
	{"empty body", "Delete", "", s3err.MissingRequestBodyError},
	{"blank body", "Delete", " \n\t", s3err.MissingRequestBodyError},
	{"not XML", "Delete", "hello", s3err.MalformedXML},
	{"truncated", "Delete", "<Delete><Object><Key>a</Key></Object>", s3err.MalformedXML},
	{"wrong root", "Delete", "<Deletes><Object><Key>a</Key></Object></Deletes>", s3err.MalformedXML},
	{"foreign namespace", "Delete", `<Delete xmlns="urn:other"><Object><Key>a</Key></Object></Delete>`, s3err.MalformedXML},
	{"trailing element", "Delete", "<Delete><Object><Key>a</Key></Object></Delete><Delete/>", s3err.MalformedXML},
	{"trailing text", "Delete", "<Delete><Object><Key>a</Key></Object></Delete>junk", s3err.MalformedXML},
	{"mismatched tags", "Delete", "<Delete><Object><Key>a</Object></Key></Delete>", s3err.MalformedXML},
	{"non-UTF-8 charset", "Delete", `<?xml version="1.0" encoding="ISO-8859-1"?><Delete><Object><Key>a</Key></Object></Delete>`, s3err.MalformedXML},
	{"bad bool", "Delete", "<Delete><Quiet>maybe</Quiet><Object><Key>a</Key></Object></Delete>", s3err.MalformedXML},
	{"too large", "Delete", "<Delete>" + repeat(" ", MaxDeleteBody) + "</Delete>", s3err.MaxMessageLengthExceeded},

	// Delete
	{"delete one", "Delete", "<Delete><Object><Key>a</Key></Object></Delete>", ""},
	{"delete with namespace and declaration", "Delete", `<?xml version="1.0" encoding="UTF-8"?>` + "\n<Delete " + ns + "><Quiet>true</Quiet><Object><Key>a</Key><VersionId>v1</VersionId></Object><Object><Key>b</Key></Object></Delete>\n", ""},
	{"delete 1000", "Delete", "<Delete>" + repeat("<Object><Key>k</Key></Object>", 1000) + "</Delete>", ""},
	{"delete none", "Delete", "<Delete><Quiet>true</Quiet></Delete>", s3err.MalformedXML},
	{"delete 1001", "Delete", "<Delete>" + repeat("<Object><Key>k</Key></Object>", 1001) + "</Delete>", s3err.MalformedXML},

	// CompleteMultipartUpload
	{"complete ok", "CompleteMultipartUpload", `<CompleteMultipartUpload ` + ns + `><Part><PartNumber>1</PartNumber><ETag>"a"</ETag><ChecksumCRC32>AAAAAA==</ChecksumCRC32></Part><Part><PartNumber>3</PartNumber><ETag>"b"</ETag></Part></CompleteMultipartUpload>`, ""},
	{"complete no parts", "CompleteMultipartUpload", `<CompleteMultipartUpload></CompleteMultipartUpload>`, s3err.MalformedXML},
	{"complete descending", "CompleteMultipartUpload", `<CompleteMultipartUpload><Part><PartNumber>2</PartNumber><ETag>a</ETag></Part><Part><PartNumber>1</PartNumber><ETag>b</ETag></Part></CompleteMultipartUpload>`, s3err.InvalidPartOrder},
	{"complete duplicate", "CompleteMultipartUpload", `<CompleteMultipartUpload><Part><PartNumber>2</PartNumber><ETag>a</ETag></Part><Part><PartNumber>2</PartNumber><ETag>b</ETag></Part></CompleteMultipartUpload>`, s3err.InvalidPartOrder},
	{"complete part zero", "CompleteMultipartUpload", `<CompleteMultipartUpload><Part><PartNumber>0</PartNumber><ETag>a</ETag></Part></CompleteMultipartUpload>`, s3err.MalformedXML},
	{"complete part missing", "CompleteMultipartUpload", `<CompleteMultipartUpload><Part><ETag>a</ETag></Part></CompleteMultipartUpload>`, s3err.MalformedXML},
	{"complete part negative", "CompleteMultipartUpload", `<CompleteMultipartUpload><Part><PartNumber>-4</PartNumber><ETag>a</ETag></Part></CompleteMultipartUpload>`, s3err.InvalidArgument},
	{"complete part 10001", "CompleteMultipartUpload", `<CompleteMultipartUpload><Part><PartNumber>10001</PartNumber><ETag>a</ETag></Part></CompleteMultipartUpload>`, s3err.InvalidArgument},
	{"complete missing etag", "CompleteMultipartUpload", `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber></Part></CompleteMultipartUpload>`, s3err.MalformedXML},
	{"complete bad number", "CompleteMultipartUpload", `<CompleteMultipartUpload><Part><PartNumber>one</PartNumber><ETag>a</ETag></Part></CompleteMultipartUpload>`, s3err.MalformedXML},
	{"complete wrong root", "CompleteMultipartUpload", `<Complete><Part><PartNumber>1</PartNumber><ETag>a</ETag></Part></Complete>`, s3err.MalformedXML},

	// Tagging
	{"object tags ok", "ObjectTagging", `<Tagging ` + ns + `><TagSet><Tag><Key>project</Key><Value>blue sky</Value></Tag><Tag><Key>a+b=c.d_e:f/g@h-i</Key><Value></Value></Tag></TagSet></Tagging>`, ""},
	{"object tags empty set", "ObjectTagging", `<Tagging><TagSet/></Tagging>`, ""},
	{"object tags 10", "ObjectTagging", `<Tagging><TagSet>` + tags(10) + `</TagSet></Tagging>`, ""},
	{"object tags 11", "ObjectTagging", `<Tagging><TagSet>` + tags(11) + `</TagSet></Tagging>`, s3err.BadRequest},
	{"bucket tags 50", "BucketTagging", `<Tagging><TagSet>` + tags(50) + `</TagSet></Tagging>`, ""},
	{"bucket tags 51", "BucketTagging", `<Tagging><TagSet>` + tags(51) + `</TagSet></Tagging>`, s3err.BadRequest},
	{"tags duplicate key", "ObjectTagging", `<Tagging><TagSet><Tag><Key>a</Key><Value>1</Value></Tag><Tag><Key>a</Key><Value>2</Value></Tag></TagSet></Tagging>`, s3err.InvalidTag},
	{"tag key 128 runes", "ObjectTagging", `<Tagging><TagSet><Tag><Key>` + repeat("é", 128) + `</Key><Value>v</Value></Tag></TagSet></Tagging>`, ""},
	{"tag key 129", "ObjectTagging", `<Tagging><TagSet><Tag><Key>` + repeat("k", 129) + `</Key><Value>v</Value></Tag></TagSet></Tagging>`, s3err.InvalidTag},
	{"tag value 256", "ObjectTagging", `<Tagging><TagSet><Tag><Key>k</Key><Value>` + repeat("v", 256) + `</Value></Tag></TagSet></Tagging>`, ""},
	{"tag value 257", "ObjectTagging", `<Tagging><TagSet><Tag><Key>k</Key><Value>` + repeat("v", 257) + `</Value></Tag></TagSet></Tagging>`, s3err.InvalidTag},
	{"tag empty key", "ObjectTagging", `<Tagging><TagSet><Tag><Key></Key><Value>v</Value></Tag></TagSet></Tagging>`, s3err.InvalidTag},
	{"tag aws prefix", "BucketTagging", `<Tagging><TagSet><Tag><Key>aws:created</Key><Value>v</Value></Tag></TagSet></Tagging>`, s3err.InvalidTag},
	{"tag bad char", "ObjectTagging", `<Tagging><TagSet><Tag><Key>a*b</Key><Value>v</Value></Tag></TagSet></Tagging>`, s3err.InvalidTag},
	{"tag bad value char", "ObjectTagging", `<Tagging><TagSet><Tag><Key>a</Key><Value>&lt;script&gt;</Value></Tag></TagSet></Tagging>`, s3err.InvalidTag},
	{"tagging wrong root", "ObjectTagging", `<TagSet><Tag><Key>a</Key><Value>v</Value></Tag></TagSet>`, s3err.MalformedXML},

	// Versioning
	{"versioning enabled", "Versioning", `<VersioningConfiguration ` + ns + `><Status>Enabled</Status></VersioningConfiguration>`, ""},
	{"versioning suspended mfa disabled", "Versioning", `<VersioningConfiguration><Status>Suspended</Status><MfaDelete>Disabled</MfaDelete></VersioningConfiguration>`, ""},
	{"versioning lowercase", "Versioning", `<VersioningConfiguration><Status>enabled</Status></VersioningConfiguration>`, s3err.IllegalVersioningConfigurationException},
	{"versioning no status", "Versioning", `<VersioningConfiguration></VersioningConfiguration>`, s3err.IllegalVersioningConfigurationException},
	{"versioning disabled", "Versioning", `<VersioningConfiguration><Status>Disabled</Status></VersioningConfiguration>`, s3err.IllegalVersioningConfigurationException},
	{"versioning mfa enabled", "Versioning", `<VersioningConfiguration><Status>Enabled</Status><MfaDelete>Enabled</MfaDelete></VersioningConfiguration>`, s3err.NotImplemented},
	{"versioning mfa bogus", "Versioning", `<VersioningConfiguration><Status>Enabled</Status><MfaDelete>Maybe</MfaDelete></VersioningConfiguration>`, s3err.IllegalVersioningConfigurationException},
	{"versioning empty body", "Versioning", ``, s3err.MissingRequestBodyError},

	// CreateBucketConfiguration
	{"create empty body", "CreateBucketConfiguration", ``, ""},
	{"create location", "CreateBucketConfiguration", `<CreateBucketConfiguration ` + ns + `><LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>`, ""},
	{"create empty location", "CreateBucketConfiguration", `<CreateBucketConfiguration><LocationConstraint/></CreateBucketConfiguration>`, ""},
	{"create location with space", "CreateBucketConfiguration", `<CreateBucketConfiguration><LocationConstraint>eu west</LocationConstraint></CreateBucketConfiguration>`, s3err.InvalidLocationConstraint},
	{"create with tags", "CreateBucketConfiguration", `<CreateBucketConfiguration><Tags><Tag><Key>a</Key><Value>b</Value></Tag></Tags></CreateBucketConfiguration>`, ""},
	{"create with a bad tag", "CreateBucketConfiguration", `<CreateBucketConfiguration><Tags><Tag><Key>a!</Key><Value>b</Value></Tag></Tags></CreateBucketConfiguration>`, s3err.InvalidTag},
	{"create with 51 tags", "CreateBucketConfiguration", `<CreateBucketConfiguration><Tags>` + tags(51) + `</Tags></CreateBucketConfiguration>`, s3err.BadRequest},
	{"create location too long", "CreateBucketConfiguration", `<CreateBucketConfiguration><LocationConstraint>` + repeat("a", 256) + `</LocationConstraint></CreateBucketConfiguration>`, s3err.InvalidLocationConstraint},
	{"create wrong root", "CreateBucketConfiguration", `<LocationConstraint>eu</LocationConstraint>`, s3err.MalformedXML},
	{"create not XML", "CreateBucketConfiguration", `eu-west-1`, s3err.MalformedXML},

	// Notification
	{"notification empty", "Notification", `<NotificationConfiguration ` + ns + `/>`, ""},
	{"notification full", "Notification", `<NotificationConfiguration>
  <TopicConfiguration><Id>t1</Id><Topic>arn:sluice:nats::jobs.images</Topic><Event>s3:ObjectCreated:*</Event><Event>s3:ObjectRemoved:Delete</Event>
    <Filter><S3Key><FilterRule><Name>prefix</Name><Value>images/</Value></FilterRule><FilterRule><Name>Suffix</Name><Value>.jpg</Value></FilterRule></S3Key></Filter></TopicConfiguration>
  <QueueConfiguration><Id>q1</Id><Queue>arn:sluice:webhook::thumbs</Queue><Event>s3:ObjectCreated:Put</Event>
    <Filter><S3Tags><FilterRule><Name>team</Name><Value>ml</Value></FilterRule></S3Tags><S3Metadata><FilterRule><Name>x-amz-meta-kind</Name><Value>raw</Value></FilterRule></S3Metadata></Filter></QueueConfiguration>
  <CloudFunctionConfiguration><CloudFunction>arn:sluice:function::f</CloudFunction><Event>s3:LifecycleExpiration:*</Event></CloudFunctionConfiguration>
  <EventBridgeConfiguration/>
</NotificationConfiguration>`, ""},
	{"notification unknown event", "Notification", `<NotificationConfiguration><QueueConfiguration><Queue>arn:sluice:webhook::q</Queue><Event>s3:ObjectCreated:Sideways</Event></QueueConfiguration></NotificationConfiguration>`, s3err.InvalidArgument},
	{"notification event without prefix", "Notification", `<NotificationConfiguration><QueueConfiguration><Queue>arn:sluice:webhook::q</Queue><Event>ObjectCreated:Put</Event></QueueConfiguration></NotificationConfiguration>`, s3err.InvalidArgument},
	{"notification no event", "Notification", `<NotificationConfiguration><QueueConfiguration><Queue>arn:sluice:webhook::q</Queue></QueueConfiguration></NotificationConfiguration>`, s3err.InvalidArgument},
	{"notification duplicate event", "Notification", `<NotificationConfiguration><QueueConfiguration><Queue>arn:sluice:webhook::q</Queue><Event>s3:ObjectCreated:*</Event><Event>s3:ObjectCreated:*</Event></QueueConfiguration></NotificationConfiguration>`, s3err.InvalidArgument},
	{"notification duplicate id", "Notification", `<NotificationConfiguration><QueueConfiguration><Id>a</Id><Queue>arn:sluice:webhook::q</Queue><Event>s3:ObjectCreated:*</Event></QueueConfiguration><TopicConfiguration><Id>a</Id><Topic>arn:sluice:nats::t.x</Topic><Event>s3:ObjectCreated:*</Event></TopicConfiguration></NotificationConfiguration>`, s3err.InvalidArgument},
	{"notification bad arn", "Notification", `<NotificationConfiguration><QueueConfiguration><Queue>my-queue</Queue><Event>s3:ObjectCreated:*</Event></QueueConfiguration></NotificationConfiguration>`, s3err.InvalidArgument},
	{"notification aws arn", "Notification", `<NotificationConfiguration><QueueConfiguration><Queue>arn:aws:sqs:us-east-1:123456789012:q</Queue><Event>s3:ObjectCreated:*</Event></QueueConfiguration></NotificationConfiguration>`, s3err.InvalidArgument},
	{"notification missing arn", "Notification", `<NotificationConfiguration><TopicConfiguration><Event>s3:ObjectCreated:*</Event></TopicConfiguration></NotificationConfiguration>`, s3err.InvalidArgument},
	{"notification bad rule name", "Notification", `<NotificationConfiguration><QueueConfiguration><Queue>arn:sluice:webhook::q</Queue><Event>s3:ObjectCreated:*</Event><Filter><S3Key><FilterRule><Name>contains</Name><Value>x</Value></FilterRule></S3Key></Filter></QueueConfiguration></NotificationConfiguration>`, s3err.InvalidArgument},
	{"notification prefix twice", "Notification", `<NotificationConfiguration><QueueConfiguration><Queue>arn:sluice:webhook::q</Queue><Event>s3:ObjectCreated:*</Event><Filter><S3Key><FilterRule><Name>prefix</Name><Value>a</Value></FilterRule><FilterRule><Name>Prefix</Name><Value>b</Value></FilterRule></S3Key></Filter></QueueConfiguration></NotificationConfiguration>`, s3err.InvalidArgument},
	{"notification tag rule no name", "Notification", `<NotificationConfiguration><QueueConfiguration><Queue>arn:sluice:webhook::q</Queue><Event>s3:ObjectCreated:*</Event><Filter><S3Tags><FilterRule><Name></Name><Value>a</Value></FilterRule></S3Tags></Filter></QueueConfiguration></NotificationConfiguration>`, s3err.InvalidArgument},
	{"notification metadata rule twice", "Notification", `<NotificationConfiguration><QueueConfiguration><Queue>arn:sluice:webhook::q</Queue><Event>s3:ObjectCreated:*</Event><Filter><S3Metadata><FilterRule><Name>m</Name><Value>a</Value></FilterRule><FilterRule><Name>m</Name><Value>b</Value></FilterRule></S3Metadata></Filter></QueueConfiguration></NotificationConfiguration>`, s3err.InvalidArgument},
	{"notification long id", "Notification", `<NotificationConfiguration><QueueConfiguration><Id>` + repeat("i", 256) + `</Id><Queue>arn:sluice:webhook::q</Queue><Event>s3:ObjectCreated:*</Event></QueueConfiguration></NotificationConfiguration>`, s3err.InvalidArgument},
	{"notification wrong root", "Notification", `<NotificationConfigurations/>`, s3err.MalformedXML},

	// Replication
	{"replication v2", "Replication", `<ReplicationConfiguration ` + ns + `><Role>arn:aws:iam::1:role/r</Role>` +
		replRule("a", 1, `<Filter><And><Prefix>logs/</Prefix><Tag><Key>k</Key><Value>v</Value></Tag></And></Filter>`) +
		replRule("b", 2, `<Filter><Prefix>img/</Prefix></Filter>`) +
		replRule("c", 3, `<Filter/>`) + `</ReplicationConfiguration>`, ""},
	{"replication v2 full destination", "Replication", `<ReplicationConfiguration><Rule><ID>x</ID><Priority>0</Priority><Status>Disabled</Status><Filter><Tag><Key>k</Key><Value>v</Value></Tag></Filter>
		<DeleteMarkerReplication><Status>Disabled</Status></DeleteMarkerReplication><ExistingObjectReplication><Status>Enabled</Status></ExistingObjectReplication>
		<SourceSelectionCriteria><ReplicaModifications><Status>Enabled</Status></ReplicaModifications></SourceSelectionCriteria>
		<Destination><Bucket>arn:aws:s3:::dst</Bucket><Account>1</Account><StorageClass>azure-archive</StorageClass><AccessControlTranslation><Owner>Destination</Owner></AccessControlTranslation>
		<ReplicationTime><Status>Enabled</Status><Time><Minutes>15</Minutes></Time></ReplicationTime><Metrics><Status>Enabled</Status><EventThreshold><Minutes>15</Minutes></EventThreshold></Metrics></Destination></Rule></ReplicationConfiguration>`, ""},
	{"replication v1 without role", "Replication", `<ReplicationConfiguration><Rule><ID>old</ID><Status>Enabled</Status><Prefix>docs/</Prefix><Destination><Bucket>arn:aws:s3:::dst</Bucket></Destination></Rule></ReplicationConfiguration>`, ""},
	{"replication no rules", "Replication", `<ReplicationConfiguration><Role>r</Role></ReplicationConfiguration>`, s3err.MalformedXML},
	{"replication 1001 rules", "Replication", `<ReplicationConfiguration>` + repeat(`<Rule><Status>Enabled</Status><Prefix></Prefix><Destination><Bucket>b</Bucket></Destination></Rule>`, 1001) + `</ReplicationConfiguration>`, s3err.InvalidRequest},
	{"replication bad status", "Replication", `<ReplicationConfiguration><Rule><Status>On</Status><Prefix></Prefix><Destination><Bucket>b</Bucket></Destination></Rule></ReplicationConfiguration>`, s3err.MalformedXML},
	{"replication filter and prefix", "Replication", `<ReplicationConfiguration><Rule><Priority>1</Priority><Status>Enabled</Status><Filter/><Prefix>a</Prefix><DeleteMarkerReplication><Status>Disabled</Status></DeleteMarkerReplication><Destination><Bucket>b</Bucket></Destination></Rule></ReplicationConfiguration>`, s3err.MalformedXML},
	{"replication filter two predicates", "Replication", `<ReplicationConfiguration>` + replRule("a", 1, `<Filter><Prefix>a</Prefix><Tag><Key>k</Key><Value>v</Value></Tag></Filter>`) + `</ReplicationConfiguration>`, s3err.MalformedXML},
	{"replication missing priority", "Replication", `<ReplicationConfiguration><Rule><Status>Enabled</Status><Filter/><DeleteMarkerReplication><Status>Disabled</Status></DeleteMarkerReplication><Destination><Bucket>b</Bucket></Destination></Rule></ReplicationConfiguration>`, s3err.InvalidRequest},
	{"replication negative priority", "Replication", `<ReplicationConfiguration>` + replRule("a", -1, `<Filter/>`) + `</ReplicationConfiguration>`, s3err.InvalidArgument},
	{"replication duplicate priority", "Replication", `<ReplicationConfiguration>` + replRule("a", 1, `<Filter/>`) + replRule("b", 1, `<Filter/>`) + `</ReplicationConfiguration>`, s3err.InvalidRequest},
	{"replication missing delete marker replication", "Replication", `<ReplicationConfiguration><Rule><Priority>1</Priority><Status>Enabled</Status><Filter/><Destination><Bucket>b</Bucket></Destination></Rule></ReplicationConfiguration>`, s3err.InvalidRequest},
	{"replication bad delete marker status", "Replication", `<ReplicationConfiguration><Rule><Priority>1</Priority><Status>Enabled</Status><Filter/><DeleteMarkerReplication><Status>Yes</Status></DeleteMarkerReplication><Destination><Bucket>b</Bucket></Destination></Rule></ReplicationConfiguration>`, s3err.MalformedXML},
	{"replication tag filter with delete markers", "Replication", `<ReplicationConfiguration><Rule><Priority>1</Priority><Status>Enabled</Status><Filter><Tag><Key>k</Key><Value>v</Value></Tag></Filter><DeleteMarkerReplication><Status>Enabled</Status></DeleteMarkerReplication><Destination><Bucket>b</Bucket></Destination></Rule></ReplicationConfiguration>`, s3err.InvalidRequest},
	{"replication mixed schemas", "Replication", `<ReplicationConfiguration>` + replRule("a", 1, `<Filter/>`) + `<Rule><ID>b</ID><Status>Enabled</Status><Prefix>x</Prefix><Destination><Bucket>b</Bucket></Destination></Rule></ReplicationConfiguration>`, s3err.InvalidRequest},
	{"replication no destination", "Replication", `<ReplicationConfiguration><Rule><Status>Enabled</Status><Prefix></Prefix></Rule></ReplicationConfiguration>`, s3err.MalformedXML},
	{"replication empty bucket", "Replication", `<ReplicationConfiguration><Rule><Status>Enabled</Status><Prefix></Prefix><Destination><StorageClass>x</StorageClass></Destination></Rule></ReplicationConfiguration>`, s3err.MalformedXML},
	{"replication duplicate id", "Replication", `<ReplicationConfiguration>` + replRule("a", 1, `<Filter/>`) + replRule("a", 2, `<Filter/>`) + `</ReplicationConfiguration>`, s3err.InvalidArgument},
	{"replication long id", "Replication", `<ReplicationConfiguration>` + replRule(repeat("i", 256), 1, `<Filter/>`) + `</ReplicationConfiguration>`, s3err.InvalidArgument},
	{"replication duplicate tag keys", "Replication", `<ReplicationConfiguration>` + replRule("a", 1, `<Filter><And><Tag><Key>k</Key><Value>1</Value></Tag><Tag><Key>k</Key><Value>2</Value></Tag></And></Filter>`) + `</ReplicationConfiguration>`, s3err.InvalidRequest},
	{"replication invalid tag", "Replication", `<ReplicationConfiguration>` + replRule("a", 1, `<Filter><Tag><Key></Key><Value>1</Value></Tag></Filter>`) + `</ReplicationConfiguration>`, s3err.InvalidTag},
	{"replication bad rtc minutes", "Replication", `<ReplicationConfiguration><Rule><Status>Enabled</Status><Prefix></Prefix><Destination><Bucket>b</Bucket><ReplicationTime><Status>Enabled</Status><Time><Minutes>0</Minutes></Time></ReplicationTime></Destination></Rule></ReplicationConfiguration>`, s3err.InvalidArgument},
	{"replication long prefix", "Replication", `<ReplicationConfiguration><Rule><Status>Enabled</Status><Prefix>` + repeat("p", 1025) + `</Prefix><Destination><Bucket>b</Bucket></Destination></Rule></ReplicationConfiguration>`, s3err.InvalidArgument},

	// Lifecycle
	{"lifecycle full", "Lifecycle", `<LifecycleConfiguration ` + ns + `>
  <Rule><ID>archive</ID><Filter><Prefix>logs/</Prefix></Filter><Status>Enabled</Status>
    <Transition><Days>30</Days><StorageClass>azure-cool</StorageClass></Transition>
    <Transition><Days>90</Days><StorageClass>gcs-archive</StorageClass></Transition>
    <Expiration><Days>365</Days></Expiration>
    <NoncurrentVersionTransition><NoncurrentDays>10</NoncurrentDays><StorageClass>azure-cool</StorageClass></NoncurrentVersionTransition>
    <NoncurrentVersionExpiration><NoncurrentDays>30</NoncurrentDays><NewerNoncurrentVersions>5</NewerNoncurrentVersions></NoncurrentVersionExpiration>
    <AbortIncompleteMultipartUpload><DaysAfterInitiation>7</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule>
  <Rule><ID>legacy</ID><Prefix>tmp/</Prefix><Status>Disabled</Status><Expiration><Date>2030-01-01T00:00:00.000Z</Date></Expiration></Rule>
  <Rule><ID>sizes</ID><Filter><And><Prefix>a/</Prefix><Tag><Key>k</Key><Value>v</Value></Tag><ObjectSizeGreaterThan>100</ObjectSizeGreaterThan><ObjectSizeLessThan>1000</ObjectSizeLessThan></And></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>
  <Rule><Filter/><Status>Enabled</Status><Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration></Rule>
  <Rule><ID>dates</ID><Filter><ObjectSizeGreaterThan>0</ObjectSizeGreaterThan></Filter><Status>Enabled</Status><Transition><Date>2030-01-01</Date><StorageClass>cold</StorageClass></Transition><Expiration><Date>2031-01-01T00:00:00Z</Date></Expiration></Rule>
</LifecycleConfiguration>`, ""},
	{"lifecycle transition day zero", "Lifecycle", lcRule(`<Filter/><Status>Enabled</Status><Transition><Days>0</Days><StorageClass>cold</StorageClass></Transition>`), ""},
	{"lifecycle no rules", "Lifecycle", `<LifecycleConfiguration/>`, s3err.MalformedXML},
	{"lifecycle 1001 rules", "Lifecycle", `<LifecycleConfiguration>` + repeat(`<Rule><Filter/><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>`, 1001) + `</LifecycleConfiguration>`, s3err.InvalidRequest},
	{"lifecycle bad status", "Lifecycle", lcRule(`<Filter/><Status>enabled</Status><Expiration><Days>1</Days></Expiration>`), s3err.MalformedXML},
	{"lifecycle no filter nor prefix", "Lifecycle", lcRule(`<Status>Enabled</Status><Expiration><Days>1</Days></Expiration>`), s3err.MalformedXML},
	{"lifecycle filter and prefix", "Lifecycle", lcRule(`<Filter/><Prefix>a</Prefix><Status>Enabled</Status><Expiration><Days>1</Days></Expiration>`), s3err.MalformedXML},
	{"lifecycle filter two predicates", "Lifecycle", lcRule(`<Filter><Prefix>a</Prefix><ObjectSizeLessThan>5</ObjectSizeLessThan></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration>`), s3err.MalformedXML},
	{"lifecycle no action", "Lifecycle", lcRule(`<Filter/><Status>Enabled</Status>`), s3err.InvalidRequest},
	{"lifecycle expiration days zero", "Lifecycle", lcRule(`<Filter/><Status>Enabled</Status><Expiration><Days>0</Days></Expiration>`), s3err.InvalidArgument},
	{"lifecycle expiration empty", "Lifecycle", lcRule(`<Filter/><Status>Enabled</Status><Expiration></Expiration>`), s3err.MalformedXML},
	{"lifecycle expiration days and date", "Lifecycle", lcRule(`<Filter/><Status>Enabled</Status><Expiration><Days>1</Days><Date>2030-01-01T00:00:00Z</Date></Expiration>`), s3err.MalformedXML},
	{"lifecycle date not midnight", "Lifecycle", lcRule(`<Filter/><Status>Enabled</Status><Expiration><Date>2030-01-01T12:00:00Z</Date></Expiration>`), s3err.InvalidArgument},
	{"lifecycle date offset", "Lifecycle", lcRule(`<Filter/><Status>Enabled</Status><Expiration><Date>2030-01-01T00:00:00+02:00</Date></Expiration>`), s3err.InvalidArgument},
	{"lifecycle bad date", "Lifecycle", lcRule(`<Filter/><Status>Enabled</Status><Expiration><Date>next tuesday</Date></Expiration>`), s3err.MalformedXML},
	{"lifecycle delete marker with tag", "Lifecycle", lcRule(`<Filter><Tag><Key>k</Key><Value>v</Value></Tag></Filter><Status>Enabled</Status><Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration>`), s3err.InvalidRequest},
	{"lifecycle transition no class", "Lifecycle", lcRule(`<Filter/><Status>Enabled</Status><Transition><Days>1</Days></Transition>`), s3err.MalformedXML},
	{"lifecycle transition no time", "Lifecycle", lcRule(`<Filter/><Status>Enabled</Status><Transition><StorageClass>c</StorageClass></Transition>`), s3err.MalformedXML},
	{"lifecycle transition negative", "Lifecycle", lcRule(`<Filter/><Status>Enabled</Status><Transition><Days>-1</Days><StorageClass>c</StorageClass></Transition>`), s3err.InvalidArgument},
	{"lifecycle transition same class", "Lifecycle", lcRule(`<Filter/><Status>Enabled</Status><Transition><Days>1</Days><StorageClass>c</StorageClass></Transition><Transition><Days>2</Days><StorageClass>c</StorageClass></Transition>`), s3err.InvalidArgument},
	{"lifecycle transition same day", "Lifecycle", lcRule(`<Filter/><Status>Enabled</Status><Transition><Days>1</Days><StorageClass>c</StorageClass></Transition><Transition><Days>1</Days><StorageClass>d</StorageClass></Transition>`), s3err.InvalidArgument},
	{"lifecycle transition mixed", "Lifecycle", lcRule(`<Filter/><Status>Enabled</Status><Transition><Days>1</Days><StorageClass>c</StorageClass></Transition><Transition><Date>2030-01-01</Date><StorageClass>d</StorageClass></Transition>`), s3err.InvalidRequest},
	{"lifecycle expiration before transition", "Lifecycle", lcRule(`<Filter/><Status>Enabled</Status><Transition><Days>30</Days><StorageClass>c</StorageClass></Transition><Expiration><Days>30</Days></Expiration>`), s3err.InvalidArgument},
	{"lifecycle expiration date before transition", "Lifecycle", lcRule(`<Filter/><Status>Enabled</Status><Transition><Date>2030-01-01</Date><StorageClass>c</StorageClass></Transition><Expiration><Date>2029-01-01</Date></Expiration>`), s3err.InvalidArgument},
	{"lifecycle noncurrent days zero", "Lifecycle", lcRule(`<Filter/><Status>Enabled</Status><NoncurrentVersionExpiration><NoncurrentDays>0</NoncurrentDays></NoncurrentVersionExpiration>`), s3err.InvalidArgument},
	{"lifecycle newer versions 101", "Lifecycle", lcRule(`<Filter/><Status>Enabled</Status><NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays><NewerNoncurrentVersions>101</NewerNoncurrentVersions></NoncurrentVersionExpiration>`), s3err.InvalidArgument},
	{"lifecycle noncurrent transition no class", "Lifecycle", lcRule(`<Filter/><Status>Enabled</Status><NoncurrentVersionTransition><NoncurrentDays>1</NoncurrentDays></NoncurrentVersionTransition>`), s3err.MalformedXML},
	{"lifecycle noncurrent expiration before transition", "Lifecycle", lcRule(`<Filter/><Status>Enabled</Status><NoncurrentVersionTransition><NoncurrentDays>10</NoncurrentDays><StorageClass>c</StorageClass></NoncurrentVersionTransition><NoncurrentVersionExpiration><NoncurrentDays>5</NoncurrentDays></NoncurrentVersionExpiration>`), s3err.InvalidArgument},
	{"lifecycle abort zero", "Lifecycle", lcRule(`<Filter/><Status>Enabled</Status><AbortIncompleteMultipartUpload><DaysAfterInitiation>0</DaysAfterInitiation></AbortIncompleteMultipartUpload>`), s3err.InvalidArgument},
	{"lifecycle abort with tags", "Lifecycle", lcRule(`<Filter><And><Tag><Key>k</Key><Value>v</Value></Tag></And></Filter><Status>Enabled</Status><AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload>`), s3err.InvalidRequest},
	{"lifecycle sizes inverted", "Lifecycle", lcRule(`<Filter><And><ObjectSizeGreaterThan>10</ObjectSizeGreaterThan><ObjectSizeLessThan>10</ObjectSizeLessThan></And></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration>`), s3err.InvalidArgument},
	{"lifecycle negative size", "Lifecycle", lcRule(`<Filter><ObjectSizeLessThan>-1</ObjectSizeLessThan></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration>`), s3err.InvalidArgument},
	{"lifecycle duplicate tag keys", "Lifecycle", lcRule(`<Filter><And><Tag><Key>k</Key><Value>1</Value></Tag><Tag><Key>k</Key><Value>2</Value></Tag></And></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration>`), s3err.InvalidRequest},
	{"lifecycle duplicate id", "Lifecycle", `<LifecycleConfiguration>` + repeat(`<Rule><ID>same</ID><Filter/><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>`, 2) + `</LifecycleConfiguration>`, s3err.InvalidArgument},
	{"lifecycle long id", "Lifecycle", `<LifecycleConfiguration><Rule><ID>` + repeat("i", 256) + `</ID><Filter/><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>`, s3err.InvalidArgument},
	{"lifecycle long prefix", "Lifecycle", lcRule(`<Filter><Prefix>` + repeat("p", 1025) + `</Prefix></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration>`), s3err.InvalidArgument},
	{"lifecycle bad days", "Lifecycle", lcRule(`<Filter/><Status>Enabled</Status><Expiration><Days>soon</Days></Expiration>`), s3err.MalformedXML},
}

// checkParseErr fails unless err is an *s3err.Error (as the dynamic type,
// not merely in the chain) with code want.
func checkParseErr(t *testing.T, err error, want s3err.ErrorCode) {
	t.Helper()
	if want == "" {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("no error, want %s", want)
	}
	e, ok := err.(*s3err.Error)
	if !ok {
		t.Fatalf("error %T (%v) is not *s3err.Error", err, err)
	}
	if e.Code != want {
		t.Fatalf("code = %s (%v), want %s", e.Code, err, want)
	}
	if !errors.Is(err, want) {
		t.Fatalf("errors.Is(err, %s) = false", want)
	}
}

func TestParse(t *testing.T) {
	for _, tt := range parseCases {
		t.Run(tt.parser+"/"+tt.name, func(t *testing.T) {
			p, ok := parsers[tt.parser]
			if !ok {
				t.Fatalf("no parser %q", tt.parser)
			}
			v, err := p(strings.NewReader(tt.body))
			checkParseErr(t, err, tt.want)
			if tt.want == "" && v == nil {
				t.Fatal("nil document without error")
			}
			if len(tt.body) <= 64<<10 {
				// Reads of one byte at a time must give the same outcome.
				_, err = p(iotest.OneByteReader(strings.NewReader(tt.body)))
				checkParseErr(t, err, tt.want)
			}
		})
	}
}

func TestParseEveryParserHasCases(t *testing.T) {
	valid := map[string]int{}
	invalid := map[string]int{}
	for _, tt := range parseCases {
		if tt.want == "" {
			valid[tt.parser]++
		} else {
			invalid[tt.parser]++
		}
	}
	for name := range parsers {
		if valid[name] == 0 || invalid[name] == 0 {
			t.Errorf("parser %s has %d valid and %d invalid cases; want both", name, valid[name], invalid[name])
		}
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

func TestParseReadError(t *testing.T) {
	for name, p := range parsers {
		t.Run(name, func(t *testing.T) {
			_, err := p(failingReader{})
			checkParseErr(t, err, s3err.IncompleteBody)
		})
	}
}

func TestParseNilReader(t *testing.T) {
	for name, p := range parsers {
		t.Run(name, func(t *testing.T) {
			_, err := p(nil)
			if name == "CreateBucketConfiguration" {
				checkParseErr(t, err, "")
				return
			}
			checkParseErr(t, err, s3err.MissingRequestBodyError)
		})
	}
}

func TestParseStopsReadingAtLimit(t *testing.T) {
	// An endless body must be rejected after reading just past the limit.
	r := &countingReader{}
	_, err := ParseObjectTagging(r)
	checkParseErr(t, err, s3err.MaxMessageLengthExceeded)
	if r.n > MaxSmallBody+64<<10 {
		t.Fatalf("read %d bytes, limit is %d", r.n, MaxSmallBody)
	}
}

type countingReader struct{ n int }

func (c *countingReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = ' '
	}
	c.n += len(p)
	return len(p), nil
}

func TestParsedValues(t *testing.T) {
	d, err := ParseDelete(strings.NewReader(`<Delete ` + ns + `><Quiet>true</Quiet><Object><Key>a&amp;b</Key><VersionId>v1</VersionId><ETag>"e"</ETag><LastModifiedTime>2024-05-06T07:08:09.000Z</LastModifiedTime><Size>12</Size></Object></Delete>`))
	if err != nil {
		t.Fatal(err)
	}
	o := d.Objects[0]
	if !d.Quiet || o.Key != "a&b" || o.VersionID != "v1" || o.ETag != `"e"` || o.Size == nil || *o.Size != 12 ||
		o.LastModifiedTime.String() != "2024-05-06T07:08:09.000Z" {
		t.Errorf("parsed %+v", d)
	}

	c, err := ParseCompleteMultipartUpload(strings.NewReader(`<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"a"</ETag><ChecksumSHA256>c2hh</ChecksumSHA256></Part></CompleteMultipartUpload>`))
	if err != nil {
		t.Fatal(err)
	}
	if c.Parts[0].ChecksumSHA256 != "c2hh" || c.Parts[0].ETag != `"a"` {
		t.Errorf("parsed %+v", c)
	}

	n, err := ParseNotificationConfiguration(strings.NewReader(parseCaseBody(t, "notification full")))
	if err != nil {
		t.Fatal(err)
	}
	targets := n.Targets()
	if len(targets) != 3 || targets[0].Kind != "Topic" || targets[1].ARN != "arn:sluice:webhook::thumbs" || n.EventBridgeConfiguration == nil {
		t.Errorf("targets %+v", targets)
	}
	if p, s := targets[0].Filter.KeyFilter(); p != "images/" || s != ".jpg" {
		t.Errorf("KeyFilter = %q %q", p, s)
	}
	if targets[1].Filter.S3Tags.Rules[0].Name != "team" || targets[1].Filter.S3Metadata.Rules[0].Value != "raw" {
		t.Errorf("ceph filters %+v", targets[1].Filter)
	}

	rc, err := ParseReplicationConfiguration(strings.NewReader(parseCaseBody(t, "replication v2")))
	if err != nil {
		t.Fatal(err)
	}
	if p, tg := rc.Rules[0].Selector(); p != "logs/" || len(tg) != 1 || tg[0].Key != "k" {
		t.Errorf("Selector = %q %v", p, tg)
	}
	if *rc.Rules[1].Priority != 2 || rc.Role != "arn:aws:iam::1:role/r" {
		t.Errorf("parsed %+v", rc)
	}

	lc, err := ParseLifecycleConfiguration(strings.NewReader(parseCaseBody(t, "lifecycle full")))
	if err != nil {
		t.Fatal(err)
	}
	r0 := lc.Rules[0]
	if len(r0.Transitions) != 2 || *r0.Transitions[1].Days != 90 || r0.Transitions[1].StorageClass != "gcs-archive" ||
		*r0.Expiration.Days != 365 || *r0.NoncurrentVersionExpiration.NewerNoncurrentVersions != 5 ||
		r0.AbortIncompleteMultipartUpload.DaysAfterInitiation != 7 {
		t.Errorf("rule 0 = %+v", r0)
	}
	if got := lc.Rules[1].Expiration.Date.String(); got != "2030-01-01T00:00:00.000Z" {
		t.Errorf("date = %s", got)
	}
	if p, tg, gt, lt := lc.Rules[2].Selector(); p != "a/" || len(tg) != 1 || *gt != 100 || *lt != 1000 {
		t.Errorf("Selector = %q %v %v %v", p, tg, gt, lt)
	}
	if !*lc.Rules[3].Expiration.ExpiredObjectDeleteMarker {
		t.Error("ExpiredObjectDeleteMarker not read")
	}
}

func parseCaseBody(t *testing.T, name string) string {
	t.Helper()
	for _, c := range parseCases {
		if c.name == name {
			return c.body
		}
	}
	t.Fatalf("no case %q", name)
	return ""
}

func TestParseTaggingHeader(t *testing.T) {
	tests := []struct {
		in   string
		want []Tag
		code s3err.ErrorCode
	}{
		{"", nil, ""},
		{"a=1", []Tag{{"a", "1"}}, ""},
		{"project=blue%20sky&team=a%2Bb&empty=", []Tag{{"project", "blue sky"}, {"team", "a+b"}, {"empty", ""}}, ""},
		{"novalue", []Tag{{"novalue", ""}}, ""},
		{"a=1&a=2", nil, s3err.InvalidArgument},
		{"a=1&b=%21", nil, s3err.InvalidTag},
		{"%zz=1", nil, s3err.InvalidArgument},
		{"=v", nil, s3err.InvalidArgument},
		{"=", nil, s3err.InvalidArgument},
		{"aws%3Ax=1", nil, s3err.InvalidTag},
		{strings.Repeat("k=v&", 0) + tagsHeader(11), nil, s3err.BadRequest},
		{tagsHeader(10), nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseTaggingHeader(tt.in)
			checkParseErr(t, err, tt.code)
			if tt.code != "" || tt.want == nil {
				return
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
			back, err := ParseTaggingHeader(TaggingHeader(got))
			if err != nil || fmt.Sprint(back) != fmt.Sprint(got) {
				t.Errorf("round trip: %v %v", back, err)
			}
		})
	}
}

func tagsHeader(n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = fmt.Sprintf("k%d=v", i)
	}
	return strings.Join(parts, "&")
}

func TestValidEventName(t *testing.T) {
	for _, ok := range []string{"s3:ObjectCreated:*", "s3:ObjectCreated:CompleteMultipartUpload", "s3:ObjectRemoved:DeleteMarkerCreated",
		"s3:ObjectTagging:Put", "s3:ObjectRestore:Completed", "s3:LifecycleTransition", "s3:Replication:OperationMissedThreshold",
		"s3:LifecycleExpiration:DeleteMarkerCreated"} {
		if !ValidEventName(ok) {
			t.Errorf("%q rejected", ok)
		}
	}
	for _, bad := range []string{"", "s3:*", "s3:ObjectCreated", "ObjectCreated:Put", "s3:objectcreated:put", "s3:ObjectCreated:Put "} {
		if ValidEventName(bad) {
			t.Errorf("%q accepted", bad)
		}
	}
	if len(EventNames()) != len(notificationEvents) {
		t.Error("EventNames incomplete")
	}
}

func TestParseTime(t *testing.T) {
	tests := []struct {
		in   string
		want string
		ok   bool
	}{
		{"2024-01-02T03:04:05.678Z", "2024-01-02T03:04:05.678Z", true},
		{"2024-01-02T03:04:05Z", "2024-01-02T03:04:05.000Z", true},
		{"2024-01-02T03:04:05+01:00", "2024-01-02T02:04:05.000Z", true},
		{"2024-01-02", "2024-01-02T00:00:00.000Z", true},
		{" 2024-01-02 ", "2024-01-02T00:00:00.000Z", true},
		{"yesterday", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		got, err := ParseTime(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("ParseTime(%q) error = %v", tt.in, err)
			continue
		}
		if tt.ok && NewTime(got).String() != tt.want {
			t.Errorf("ParseTime(%q) = %s, want %s", tt.in, NewTime(got), tt.want)
		}
	}
}

func BenchmarkParseDelete(b *testing.B) {
	body := "<Delete>" + repeat("<Object><Key>some/object/key.txt</Key></Object>", 1000) + "</Delete>"
	for b.Loop() {
		if _, err := ParseDelete(strings.NewReader(body)); err != nil {
			b.Fatal(err)
		}
	}
}
