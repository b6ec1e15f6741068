package s3xml

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"
)

// elementPaths lists the slash-joined path of every element of doc, in
// document order, with namespaces dropped.
func elementPaths(t *testing.T, doc []byte) []string {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(doc))
	var stack, out []string
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("bad XML: %v\n%s", err, doc)
		}
		switch e := tok.(type) {
		case xml.StartElement:
			stack = append(stack, e.Name.Local)
			out = append(out, strings.Join(stack, "/"))
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		}
	}
}

// rootNamespace returns the namespace of doc's root element.
func rootNamespace(t *testing.T, doc []byte) string {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(doc))
	for {
		tok, err := d.Token()
		if err != nil {
			t.Fatalf("no root element: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			return se.Name.Space
		}
	}
}

// awsExamples are response documents written with the element names and
// order of the AWS S3 API reference. Each is decoded into its Go type and
// marshalled again; the element structure must survive unchanged, which
// shows every element name and nesting in the structs is right.
var awsExamples = []struct {
	name string
	v    any // a pointer to the zero value of the document's type; never written
	doc  string
}{
	{"ListAllMyBucketsResult", &ListAllMyBucketsResult{}, `<ListAllMyBucketsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Owner><ID>bcaf1ffd86f461ca5fb16fd081034f</ID><DisplayName>webfile</DisplayName></Owner>
  <Buckets>
    <Bucket><Name>quotes</Name><CreationDate>2006-02-03T16:45:09.000Z</CreationDate><BucketRegion>us-east-1</BucketRegion></Bucket>
    <Bucket><Name>samples</Name><CreationDate>2006-02-03T16:41:58.000Z</CreationDate></Bucket>
  </Buckets>
  <ContinuationToken>tok</ContinuationToken><Prefix>s</Prefix>
</ListAllMyBucketsResult>`},
	{"ListBucketResult V1", &ListBucketResult{}, `<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>bucket</Name><Prefix></Prefix><Marker></Marker><NextMarker>sample.jpg</NextMarker><MaxKeys>1000</MaxKeys><Delimiter>/</Delimiter><IsTruncated>true</IsTruncated>
  <Contents><Key>my-image.jpg</Key><LastModified>2009-10-12T17:50:30.000Z</LastModified><ETag>"fba9dede5f27731c9771645a39863328"</ETag><Size>434234</Size><StorageClass>STANDARD</StorageClass>
    <Owner><ID>75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a</ID><DisplayName>mtd@amazon.com</DisplayName></Owner></Contents>
  <CommonPrefixes><Prefix>photos/</Prefix></CommonPrefixes>
  <EncodingType>url</EncodingType>
</ListBucketResult>`},
	{"ListBucketResult V2", &ListBucketResultV2{}, `<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>bucket</Name><Prefix>photos/</Prefix><ContinuationToken>1ueGcxLPRx1Tr</ContinuationToken><NextContinuationToken>2ueGcxLPRx1Tr</NextContinuationToken><StartAfter>ExampleGuide.pdf</StartAfter>
  <KeyCount>1</KeyCount><MaxKeys>1</MaxKeys><Delimiter>/</Delimiter><IsTruncated>true</IsTruncated>
  <Contents><Key>photos/2006/a.jpg</Key><LastModified>2011-02-26T01:56:20.000Z</LastModified><ETag>"bf1d737a4d46a19f3bced6905cc8b902"</ETag><Size>142863</Size><StorageClass>STANDARD</StorageClass>
    <ChecksumAlgorithm>CRC32</ChecksumAlgorithm><ChecksumType>FULL_OBJECT</ChecksumType></Contents>
  <CommonPrefixes><Prefix>photos/2006/February/</Prefix></CommonPrefixes>
  <CommonPrefixes><Prefix>photos/2006/January/</Prefix></CommonPrefixes>
</ListBucketResult>`},
	{"ListVersionsResult", &ListVersionsResult{}, `<ListVersionsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>bucket</Name><Prefix>my</Prefix><KeyMarker></KeyMarker><VersionIdMarker></VersionIdMarker><NextKeyMarker>my-second-image.jpg</NextKeyMarker><NextVersionIdMarker>03jpff543dhffds434rfdsFDN943fdsFkdmqnh892</NextVersionIdMarker>
  <MaxKeys>5</MaxKeys><IsTruncated>true</IsTruncated>
  <Version><Key>my-image.jpg</Key><VersionId>3/L4kqtJl40Nr8X8gdRQBpUMLUo</VersionId><IsLatest>true</IsLatest><LastModified>2009-10-12T17:50:30.000Z</LastModified>
    <ETag>"fba9dede5f27731c9771645a39863328"</ETag><Size>434234</Size><StorageClass>STANDARD</StorageClass><Owner><ID>75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a</ID></Owner></Version>
  <DeleteMarker><Key>my-second-image.jpg</Key><VersionId>03jpff543dhffds434rfdsFDN943fdsFkdmqnh892</VersionId><IsLatest>true</IsLatest><LastModified>2009-11-12T17:50:30.000Z</LastModified>
    <Owner><ID>75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a</ID><DisplayName>mtd@amazon.com</DisplayName></Owner></DeleteMarker>
  <CommonPrefixes><Prefix>my/</Prefix></CommonPrefixes>
</ListVersionsResult>`},
	{"DeleteResult", &DeleteResult{}, `<DeleteResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Deleted><Key>sample1.txt</Key></Deleted>
  <Deleted><Key>sample2.txt</Key><VersionId>v2</VersionId><DeleteMarker>true</DeleteMarker><DeleteMarkerVersionId>dm1</DeleteMarkerVersionId></Deleted>
  <Error><Key>sample3.txt</Key><VersionId>v3</VersionId><Code>AccessDenied</Code><Message>Access Denied</Message></Error>
</DeleteResult>`},
	{"CopyObjectResult", &CopyObjectResult{}, `<CopyObjectResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><ETag>"9b2cf535f27731c974343645a3985328"</ETag><LastModified>2009-10-28T22:32:00.000Z</LastModified><ChecksumType>FULL_OBJECT</ChecksumType><ChecksumCRC32>AAAAAA==</ChecksumCRC32></CopyObjectResult>`},
	{"CopyPartResult", &CopyPartResult{}, `<CopyPartResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><ETag>"b20b0f82e3f1e4b8"</ETag><LastModified>2011-04-11T20:34:56.000Z</LastModified><ChecksumSHA256>c2hh</ChecksumSHA256></CopyPartResult>`},
	{"InitiateMultipartUploadResult", &InitiateMultipartUploadResult{}, `<InitiateMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>example-bucket</Bucket><Key>example-object</Key><UploadId>VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA</UploadId></InitiateMultipartUploadResult>`},
	{"CompleteMultipartUploadResult", &CompleteMultipartUploadResult{}, `<CompleteMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Location>http://Example-Bucket.s3.region.amazonaws.com/Example-Object</Location><Bucket>Example-Bucket</Bucket><Key>Example-Object</Key><ETag>"3858f62230ac3c915f300c664312c11f-9"</ETag><ChecksumType>COMPOSITE</ChecksumType><ChecksumCRC32C>AAAAAA==</ChecksumCRC32C></CompleteMultipartUploadResult>`},
	{"ListPartsResult", &ListPartsResult{}, `<ListPartsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Bucket>example-bucket</Bucket><Key>example-object</Key><UploadId>XXBsb2FkIElEIGZvciBlbHZpbmcncyVcdS1tb3ZpZS5tMnRzEEEwbG9hZA</UploadId>
  <PartNumberMarker>1</PartNumberMarker><NextPartNumberMarker>3</NextPartNumberMarker><MaxParts>2</MaxParts><IsTruncated>true</IsTruncated>
  <Part><PartNumber>2</PartNumber><LastModified>2010-11-10T20:48:34.000Z</LastModified><ETag>"7778aef83f66abc1fa1e8477f296d394"</ETag><Size>10485760</Size></Part>
  <Part><PartNumber>3</PartNumber><LastModified>2010-11-10T20:48:33.000Z</LastModified><ETag>"aaaa18db4cc2f85cedef654fccc4a4x8"</ETag><Size>10485760</Size><ChecksumCRC32>AAAAAA==</ChecksumCRC32></Part>
  <Initiator><ID>arn:aws:iam::111122223333:user/some-user-11116a31-17b5-4fb7-9df5-b288870f11xx</ID><DisplayName>umat-user-11116a31-17b5-4fb7-9df5-b288870f11xx</DisplayName></Initiator>
  <Owner><ID>75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a</ID><DisplayName>someName</DisplayName></Owner>
  <StorageClass>STANDARD</StorageClass><ChecksumAlgorithm>CRC32</ChecksumAlgorithm><ChecksumType>COMPOSITE</ChecksumType>
</ListPartsResult>`},
	{"ListMultipartUploadsResult", &ListMultipartUploadsResult{}, `<ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Bucket>bucket</Bucket><KeyMarker></KeyMarker><UploadIdMarker></UploadIdMarker><NextKeyMarker>my-movie.m2ts</NextKeyMarker><NextUploadIdMarker>YW55IGlkZWEgd2h5IGVsdmluZydzIHVwbG9hZCBmYWlsZWQ</NextUploadIdMarker>
  <Prefix>my</Prefix><Delimiter>/</Delimiter><MaxUploads>3</MaxUploads><IsTruncated>true</IsTruncated>
  <Upload><Key>my-divisor</Key><UploadId>XMgbGlrZSBlbHZpbmcncyBub3QgaGF2aW5nIG11Y2ggbHVjaw</UploadId>
    <Initiator><ID>arn:aws:iam::111122223333:user/user1-11111a31-17b5-4fb7-9df5-b111111f13de</ID><DisplayName>user1</DisplayName></Initiator>
    <Owner><ID>75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a</ID><DisplayName>OwnerDisplayName</DisplayName></Owner>
    <StorageClass>STANDARD</StorageClass><Initiated>2010-11-10T20:48:33.000Z</Initiated><ChecksumAlgorithm>CRC32</ChecksumAlgorithm></Upload>
  <CommonPrefixes><Prefix>photos/</Prefix></CommonPrefixes>
  <EncodingType>url</EncodingType>
</ListMultipartUploadsResult>`},
	{"LocationConstraint", &LocationConstraint{}, `<LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/">EU</LocationConstraint>`},
	{"Tagging", &Tagging{}, `<Tagging xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><TagSet><Tag><Key>tag1</Key><Value>val1</Value></Tag><Tag><Key>tag2</Key><Value>val2</Value></Tag></TagSet></Tagging>`},
	{"VersioningConfiguration", &VersioningConfiguration{}, `<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>Enabled</Status><MfaDelete>Disabled</MfaDelete></VersioningConfiguration>`},
	{"CreateBucketConfiguration", &CreateBucketConfiguration{}, `<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>`},
	{"Delete", &Delete{}, `<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Quiet>true</Quiet><Object><Key>sample1.txt</Key></Object><Object><Key>sample2.txt</Key><VersionId>OYcLXagmS.WaD..oyH4KRguB95_YhLs7</VersionId></Object></Delete>`},
	{"CompleteMultipartUpload", &CompleteMultipartUpload{}, `<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Part><PartNumber>1</PartNumber><ETag>"a54357aff0632cce46d942af68356b38"</ETag></Part><Part><PartNumber>2</PartNumber><ETag>"0c78aef83f66abc1fa1e8477f296d394"</ETag><ChecksumCRC64NVME>AAAAAAAAAAA=</ChecksumCRC64NVME></Part></CompleteMultipartUpload>`},
	{"NotificationConfiguration", &NotificationConfiguration{}, `<NotificationConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <TopicConfiguration><Id>t</Id><Topic>arn:sluice:nats::s3.notification.topic2</Topic><Event>s3:ReducedRedundancyLostObject</Event></TopicConfiguration>
  <QueueConfiguration><Id>ObjectCreatedEvents</Id><Queue>arn:sluice:webhook::s3notificationqueue</Queue><Event>s3:ObjectCreated:*</Event>
    <Filter><S3Key><FilterRule><Name>prefix</Name><Value>images/</Value></FilterRule></S3Key><S3Tags><FilterRule><Name>team</Name><Value>ml</Value></FilterRule></S3Tags><S3Metadata><FilterRule><Name>x-amz-meta-a</Name><Value>b</Value></FilterRule></S3Metadata></Filter></QueueConfiguration>
  <CloudFunctionConfiguration><Id>f</Id><CloudFunction>arn:sluice:function::CreateThumbnail</CloudFunction><Event>s3:ObjectCreated:Put</Event></CloudFunctionConfiguration>
  <EventBridgeConfiguration></EventBridgeConfiguration>
</NotificationConfiguration>`},
	{"ReplicationConfiguration", &ReplicationConfiguration{}, `<ReplicationConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Role>arn:aws:iam::35667example:role/CrossRegionReplicationRoleForS3</Role>
  <Rule><ID>rule1</ID><Priority>1</Priority><Status>Enabled</Status>
    <Filter><And><Prefix>TaxDocs</Prefix><Tag><Key>t</Key><Value>v</Value></Tag></And></Filter>
    <Destination><Bucket>arn:aws:s3:::exampletargetbucket</Bucket><Account>1</Account><StorageClass>STANDARD_IA</StorageClass>
      <AccessControlTranslation><Owner>Destination</Owner></AccessControlTranslation>
      <EncryptionConfiguration><ReplicaKmsKeyID>arn:aws:kms:k</ReplicaKmsKeyID></EncryptionConfiguration>
      <ReplicationTime><Status>Enabled</Status><Time><Minutes>15</Minutes></Time></ReplicationTime>
      <Metrics><Status>Enabled</Status><EventThreshold><Minutes>15</Minutes></EventThreshold></Metrics></Destination>
    <DeleteMarkerReplication><Status>Disabled</Status></DeleteMarkerReplication>
    <ExistingObjectReplication><Status>Enabled</Status></ExistingObjectReplication>
    <SourceSelectionCriteria><SseKmsEncryptedObjects><Status>Enabled</Status></SseKmsEncryptedObjects><ReplicaModifications><Status>Enabled</Status></ReplicaModifications></SourceSelectionCriteria>
  </Rule>
  <Rule><ID>rule2</ID><Priority>2</Priority><Status>Enabled</Status><Filter><Prefix>old/</Prefix></Filter><Destination><Bucket>arn:aws:s3:::b</Bucket></Destination><DeleteMarkerReplication><Status>Enabled</Status></DeleteMarkerReplication></Rule>
  <Rule><ID>rule3</ID><Priority>3</Priority><Status>Enabled</Status><Filter></Filter><Destination><Bucket>arn:aws:s3:::c</Bucket></Destination><DeleteMarkerReplication><Status>Enabled</Status></DeleteMarkerReplication></Rule>
</ReplicationConfiguration>`},
	{"LifecycleConfiguration", &LifecycleConfiguration{}, `<LifecycleConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Rule><ID>id1</ID><Filter><And><Prefix>documents/</Prefix><ObjectSizeGreaterThan>1</ObjectSizeGreaterThan><ObjectSizeLessThan>9</ObjectSizeLessThan></And></Filter><Status>Enabled</Status>
    <Expiration><Days>3650</Days></Expiration>
    <Transition><Days>30</Days><StorageClass>STANDARD_IA</StorageClass></Transition>
    <Transition><Days>365</Days><StorageClass>GLACIER</StorageClass></Transition>
    <NoncurrentVersionExpiration><NoncurrentDays>40</NoncurrentDays><NewerNoncurrentVersions>2</NewerNoncurrentVersions></NoncurrentVersionExpiration>
    <NoncurrentVersionTransition><NoncurrentDays>10</NoncurrentDays><NewerNoncurrentVersions>1</NewerNoncurrentVersions><StorageClass>GLACIER</StorageClass></NoncurrentVersionTransition>
    <AbortIncompleteMultipartUpload><DaysAfterInitiation>7</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule>
  <Rule><ID>id2</ID><Filter><Prefix>logs/</Prefix></Filter><Status>Enabled</Status><Expiration><Date>2030-01-01T00:00:00.000Z</Date></Expiration></Rule>
  <Rule><ID>id3</ID><Filter><Tag><Key>k</Key><Value>v</Value></Tag></Filter><Status>Disabled</Status><Transition><Date>2030-01-01T00:00:00.000Z</Date><StorageClass>GLACIER</StorageClass></Transition></Rule>
  <Rule><ID>id4</ID><Prefix>tmp/</Prefix><Status>Enabled</Status><Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration></Rule>
  <Rule><ID>id5</ID><Filter><ObjectSizeLessThan>100</ObjectSizeLessThan></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>
</LifecycleConfiguration>`},
}

func TestAWSExamplesRoundTrip(t *testing.T) {
	for _, ex := range awsExamples {
		t.Run(ex.name, func(t *testing.T) {
			// A fresh value each run: decoding appends to slices.
			v := reflect.New(reflect.TypeOf(ex.v).Elem()).Interface()
			if err := xml.Unmarshal([]byte(ex.doc), v); err != nil {
				t.Fatalf("decode example: %v", err)
			}
			if val, ok := v.(interface{ Validate() error }); ok {
				if err := val.Validate(); err != nil {
					t.Fatalf("example does not validate: %v", err)
				}
			}
			out, err := Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(out, []byte(`<?xml version="1.0" encoding="UTF-8"?>`)) {
				t.Errorf("no XML declaration: %s", out)
			}
			if ns := rootNamespace(t, out); ns != Namespace {
				t.Errorf("root namespace = %q", ns)
			}
			want := elementPaths(t, []byte(ex.doc))
			got := elementPaths(t, out)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("element structure differs\n got: %v\nwant: %v\n%s", got, want, out)
			}
		})
	}
}

func TestGoldenListObjectsV2(t *testing.T) {
	v := ListBucketResultV2{
		Name: "bucket", KeyCount: 1, MaxKeys: 1000,
		Contents: []Object{{
			Key: "my-image.jpg", LastModified: NewTime(time.Date(2009, 10, 12, 17, 50, 30, 0, time.UTC)),
			ETag: `"fba9dede5f27731c9771645a39863328"`, Size: 434234, StorageClass: "STANDARD",
		}},
	}
	got, err := Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	want := `<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		`<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>bucket</Name><Prefix></Prefix>` +
		`<KeyCount>1</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>` +
		`<Contents><Key>my-image.jpg</Key><LastModified>2009-10-12T17:50:30.000Z</LastModified>` +
		`<ETag>&#34;fba9dede5f27731c9771645a39863328&#34;</ETag><Size>434234</Size><StorageClass>STANDARD</StorageClass></Contents>` +
		`</ListBucketResult>`
	if string(got) != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestGoldenDeleteResult(t *testing.T) {
	v := DeleteResult{
		Deleted: []DeletedObject{{Key: "a.txt"}, {Key: "b.txt", DeleteMarker: true, DeleteMarkerVersionID: "dm1"}},
		Errors:  []DeleteError{DeleteErrorFrom("c.txt", "v3", errors.New("secret internal detail"))},
	}
	got, err := Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	want := `<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		`<DeleteResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">` +
		`<Deleted><Key>a.txt</Key></Deleted>` +
		`<Deleted><Key>b.txt</Key><DeleteMarker>true</DeleteMarker><DeleteMarkerVersionId>dm1</DeleteMarkerVersionId></Deleted>` +
		`<Error><Key>c.txt</Key><VersionId>v3</VersionId><Code>InternalError</Code><Message>We encountered an internal error. Please try again.</Message></Error>` +
		`</DeleteResult>`
	if string(got) != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestGoldenEmptyDocuments(t *testing.T) {
	tests := []struct {
		v    any
		want string
	}{
		{Tagging{}, `<Tagging xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><TagSet></TagSet></Tagging>`},
		{VersioningConfiguration{}, `<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"></VersioningConfiguration>`},
		{NotificationConfiguration{}, `<NotificationConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"></NotificationConfiguration>`},
		{LocationConstraint{}, `<LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/"></LocationConstraint>`},
	}
	for _, tt := range tests {
		got, err := Marshal(tt.v)
		if err != nil {
			t.Fatal(err)
		}
		if want := xml.Header + tt.want; string(got) != want {
			t.Errorf("got\n%s\nwant\n%s", got, want)
		}
	}
}

// TestRequestRoundTrip builds request documents in Go, marshals them and
// parses them back with the Parse functions.
func TestRequestRoundTrip(t *testing.T) {
	days := func(n int) *int { return &n }
	str := func(s string) *string { return &s }
	tests := []struct {
		name  string
		v     any
		parse parser
	}{
		{"Delete", Delete{Quiet: true, Objects: []ObjectToDelete{{Key: "a<b>&c"}, {Key: "d", VersionID: "v"}}}, parsers["Delete"]},
		{"CompleteMultipartUpload", CompleteMultipartUpload{Parts: []CompletedPart{{PartNumber: 1, ETag: `"x"`}, {PartNumber: 2, ETag: `"y"`, Checksums: Checksums{ChecksumSHA1: "s"}}}}, parsers["CompleteMultipartUpload"]},
		{"Tagging", Tagging{TagSet: []Tag{{"k", "v"}, {"ü", ""}}}, parsers["ObjectTagging"]},
		{"Versioning", VersioningConfiguration{Status: StatusSuspended}, parsers["Versioning"]},
		{"CreateBucket", CreateBucketConfiguration{LocationConstraint: "local-fs"}, parsers["CreateBucketConfiguration"]},
		{"Notification", NotificationConfiguration{
			QueueConfigurations: []QueueConfiguration{{ID: "q", Queue: "arn:sluice:webhook::hook", Events: []string{"s3:ObjectCreated:*"},
				Filter: &NotificationFilter{S3Key: &FilterRules{Rules: []FilterRule{{"suffix", ".png"}}}}}},
			EventBridgeConfiguration: &EventBridgeConfiguration{},
		}, parsers["Notification"]},
		{"Replication", ReplicationConfiguration{Rules: []ReplicationRule{{
			ID: "r", Priority: days(0), Status: StatusEnabled, Filter: &ReplicationFilter{Prefix: str("")},
			DeleteMarkerReplication: &StatusElement{Status: StatusEnabled},
			Destination:             &Destination{Bucket: "arn:aws:s3:::dst", StorageClass: "gcs-eu"},
		}}}, parsers["Replication"]},
		{"Lifecycle", LifecycleConfiguration{Rules: []LifecycleRule{{
			ID: "r", Prefix: str(""), Status: StatusEnabled,
			Transitions: []Transition{{Date: NewTime(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)), StorageClass: "cold"}},
			Expiration:  &Expiration{Date: NewTime(time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC))},
		}}}, parsers["Lifecycle"]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := Marshal(tt.v)
			if err != nil {
				t.Fatal(err)
			}
			back, err := tt.parse(bytes.NewReader(out))
			if err != nil {
				t.Fatalf("parse: %v\n%s", err, out)
			}
			out2, err := Marshal(back)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out, out2) {
				t.Errorf("round trip changed the document\n%s\n%s", out, out2)
			}
		})
	}
}
