package s3xml

import (
	"encoding/xml"
	"io"
	"unicode"

	"github.com/sluice-io/sluice/s3front/s3err"
)

// ListAllMyBucketsResult is the ListBuckets response.
type ListAllMyBucketsResult struct {
	XMLName           xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListAllMyBucketsResult"`
	Owner             *Owner   `xml:"Owner,omitempty"`
	Buckets           []Bucket `xml:"Buckets>Bucket"`
	ContinuationToken string   `xml:"ContinuationToken,omitempty"`
	Prefix            string   `xml:"Prefix,omitempty"`
}

// Bucket is one bucket of a ListAllMyBucketsResult.
type Bucket struct {
	Name         string `xml:"Name"`
	CreationDate Time   `xml:"CreationDate"`
	BucketRegion string `xml:"BucketRegion,omitempty"`
}

// CreateBucketConfiguration is the optional CreateBucket request body. In
// Sluice, LocationConstraint names the bucket's primary location.
type CreateBucketConfiguration struct {
	XMLName            xml.Name `xml:"CreateBucketConfiguration"`
	LocationConstraint string   `xml:"LocationConstraint,omitempty"`
	// Tags, when present, become the bucket's tag set (as
	// PutBucketTagging would set it).
	Tags *TagSet `xml:"Tags,omitempty"`
}

// TagSet is a list of <Tag> elements.
type TagSet struct {
	Tags []Tag `xml:"Tag"`
}

// MarshalXML writes the document with the S3 namespace.
func (c CreateBucketConfiguration) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	type plain CreateBucketConfiguration
	return nsMarshal(e, start, "CreateBucketConfiguration", plain(c))
}

// MaxLocationConstraintLen bounds a LocationConstraint value.
const MaxLocationConstraintLen = 255

// Validate checks that LocationConstraint, if set, is at most
// MaxLocationConstraintLen bytes of printable characters without spaces.
// Whether the location exists is for the caller to decide.
// Errors: *s3err.Error InvalidLocationConstraint.
func (c *CreateBucketConfiguration) Validate() error {
	lc := c.LocationConstraint
	if len(lc) > MaxLocationConstraintLen {
		return s3err.New(s3err.InvalidLocationConstraint, "The specified location-constraint is too long.")
	}
	for _, r := range lc {
		if !unicode.IsPrint(r) || unicode.IsSpace(r) {
			return s3err.New(s3err.InvalidLocationConstraint, "The specified location-constraint is not valid.")
		}
	}
	if c.Tags != nil {
		t := Tagging{TagSet: c.Tags.Tags}
		if err := t.Validate(MaxBucketTags); err != nil {
			return err
		}
	}
	return nil
}

// ParseCreateBucketConfiguration reads a CreateBucket body of at most
// MaxSmallBody bytes. An empty body is valid (CreateBucket's body is
// optional) and yields a zero configuration.
// Errors (*s3err.Error): MaxMessageLengthExceeded, MalformedXML,
// InvalidLocationConstraint.
func ParseCreateBucketConfiguration(r io.Reader) (*CreateBucketConfiguration, error) {
	data, err := readLimited(r, MaxSmallBody)
	if err != nil {
		return nil, err
	}
	c := &CreateBucketConfiguration{}
	if isBlank(data) {
		return c, nil
	}
	if err := decodeBytes(data, "CreateBucketConfiguration", c); err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

func isBlank(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\r' && c != '\n' {
			return false
		}
	}
	return true
}

// LocationConstraint is the GetBucketLocation response. An empty Value
// means us-east-1, as in AWS.
type LocationConstraint struct {
	XMLName xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ LocationConstraint"`
	Value   string   `xml:",chardata"`
}

// VersioningConfiguration is the PutBucketVersioning request body and the
// GetBucketVersioning response. A bucket that was never versioned is
// reported with both fields empty.
type VersioningConfiguration struct {
	XMLName xml.Name `xml:"VersioningConfiguration"`
	// Status is Enabled or Suspended (empty only in responses).
	Status string `xml:"Status,omitempty"`
	// MfaDelete is Enabled or Disabled; Sluice supports only Disabled.
	MfaDelete string `xml:"MfaDelete,omitempty"`
}

// MarshalXML writes the document with the S3 namespace.
func (v VersioningConfiguration) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	type plain VersioningConfiguration
	return nsMarshal(e, start, "VersioningConfiguration", plain(v))
}

// Validate checks a PutBucketVersioning request: Status must be Enabled or
// Suspended, MfaDelete empty, Enabled or Disabled.
// Errors (*s3err.Error): IllegalVersioningConfigurationException for a
// missing or unknown Status or an unknown MfaDelete; NotImplemented for
// MfaDelete Enabled (Sluice has no MFA).
func (v *VersioningConfiguration) Validate() error {
	switch v.Status {
	case StatusEnabled, StatusSuspended:
	default:
		return s3err.New(s3err.IllegalVersioningConfigurationException, "The versioning Status must be Enabled or Suspended.")
	}
	switch v.MfaDelete {
	case "", StatusDisabled:
	case StatusEnabled:
		return s3err.New(s3err.NotImplemented, "MFA Delete is not supported.")
	default:
		return s3err.New(s3err.IllegalVersioningConfigurationException, "The MfaDelete value must be Enabled or Disabled.")
	}
	return nil
}

// ParseVersioningConfiguration reads a PutBucketVersioning body of at most
// MaxSmallBody bytes.
// Errors (*s3err.Error): MissingRequestBodyError, MaxMessageLengthExceeded,
// MalformedXML, and those of Validate.
func ParseVersioningConfiguration(r io.Reader) (*VersioningConfiguration, error) {
	v := &VersioningConfiguration{}
	if err := decode(r, MaxSmallBody, "VersioningConfiguration", v); err != nil {
		return nil, err
	}
	if err := v.Validate(); err != nil {
		return nil, err
	}
	return v, nil
}
