package s3xml

import (
	"encoding/xml"
	"io"
	"strconv"

	"github.com/sluice-io/sluice/s3front/s3err"
)

// Part number and count limits of multipart uploads.
const (
	MinPartNumber = 1
	MaxPartNumber = 10000
)

// InitiateMultipartUploadResult is the CreateMultipartUpload response.
type InitiateMultipartUploadResult struct {
	XMLName  xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ InitiateMultipartUploadResult"`
	Bucket   string   `xml:"Bucket"`
	Key      string   `xml:"Key"`
	UploadID string   `xml:"UploadId"`
}

// CompleteMultipartUpload is the CompleteMultipartUpload request body.
type CompleteMultipartUpload struct {
	XMLName xml.Name        `xml:"CompleteMultipartUpload"`
	Parts   []CompletedPart `xml:"Part"`
}

// MarshalXML writes the document with the S3 namespace.
func (c CompleteMultipartUpload) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	type plain CompleteMultipartUpload
	return nsMarshal(e, start, "CompleteMultipartUpload", plain(c))
}

// CompletedPart is one <Part> of a CompleteMultipartUpload request.
type CompletedPart struct {
	PartNumber int    `xml:"PartNumber"`
	ETag       string `xml:"ETag"`
	Checksums
}

// Validate checks that there is at least one part, that every part number
// is within MinPartNumber..MaxPartNumber, that numbers are strictly
// ascending, and that every part has an ETag. Whether the parts exist and
// their ETags match is for the caller (InvalidPart).
// Errors (*s3err.Error): MalformedXML (no parts, missing ETag),
// InvalidArgument (part number out of range), InvalidPartOrder.
func (c *CompleteMultipartUpload) Validate() error {
	if len(c.Parts) == 0 {
		return s3err.New(s3err.MalformedXML, "") // AWS sends the default message
	}
	prev := 0
	for _, p := range c.Parts {
		if p.PartNumber == 0 { // absent (AWS answers a missing PartNumber so)
			return s3err.New(s3err.MalformedXML, "")
		}
		if p.PartNumber < MinPartNumber {
			return s3err.New(s3err.InvalidArgument, "PartNumber must be >= 1").WithArgument("PartNumber", strconv.Itoa(p.PartNumber))
		}
		if p.PartNumber > MaxPartNumber {
			return s3err.Newf(s3err.InvalidArgument, "Part number must be an integer between %d and %d, inclusive.", MinPartNumber, MaxPartNumber).
				WithArgument("PartNumber", "")
		}
		if p.PartNumber <= prev {
			return s3err.New(s3err.InvalidPartOrder, "")
		}
		if p.ETag == "" {
			return s3err.New(s3err.MalformedXML, "")
		}
		prev = p.PartNumber
	}
	return nil
}

// ParseCompleteMultipartUpload reads a CompleteMultipartUpload body of at
// most MaxCompleteMultipartBody bytes.
// Errors (*s3err.Error): MissingRequestBodyError, MaxMessageLengthExceeded,
// MalformedXML, and those of Validate.
func ParseCompleteMultipartUpload(r io.Reader) (*CompleteMultipartUpload, error) {
	c := &CompleteMultipartUpload{}
	if err := decode(r, MaxCompleteMultipartBody, "CompleteMultipartUpload", c); err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// CompleteMultipartUploadResult is the CompleteMultipartUpload response.
type CompleteMultipartUploadResult struct {
	XMLName      xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ CompleteMultipartUploadResult"`
	Location     string   `xml:"Location"`
	Bucket       string   `xml:"Bucket"`
	Key          string   `xml:"Key"`
	ETag         string   `xml:"ETag"`
	ChecksumType string   `xml:"ChecksumType,omitempty"`
	Checksums
}

// Part is one <Part> of a ListParts response.
type Part struct {
	PartNumber   int    `xml:"PartNumber"`
	LastModified Time   `xml:"LastModified"`
	ETag         string `xml:"ETag"`
	Size         int64  `xml:"Size"`
	Checksums
}

// ListPartsResult is the ListParts response.
type ListPartsResult struct {
	XMLName              xml.Name   `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListPartsResult"`
	Bucket               string     `xml:"Bucket"`
	Key                  string     `xml:"Key"`
	UploadID             string     `xml:"UploadId"`
	PartNumberMarker     int        `xml:"PartNumberMarker"`
	NextPartNumberMarker int        `xml:"NextPartNumberMarker"`
	MaxParts             int        `xml:"MaxParts"`
	IsTruncated          bool       `xml:"IsTruncated"`
	Parts                []Part     `xml:"Part"`
	Initiator            *Initiator `xml:"Initiator,omitempty"`
	Owner                *Owner     `xml:"Owner,omitempty"`
	StorageClass         string     `xml:"StorageClass,omitempty"`
	ChecksumAlgorithm    string     `xml:"ChecksumAlgorithm,omitempty"`
	ChecksumType         string     `xml:"ChecksumType,omitempty"`
}

// Upload is one <Upload> of a ListMultipartUploads response.
type Upload struct {
	Key               string     `xml:"Key"`
	UploadID          string     `xml:"UploadId"`
	Initiator         *Initiator `xml:"Initiator,omitempty"`
	Owner             *Owner     `xml:"Owner,omitempty"`
	StorageClass      string     `xml:"StorageClass,omitempty"`
	Initiated         Time       `xml:"Initiated"`
	ChecksumAlgorithm string     `xml:"ChecksumAlgorithm,omitempty"`
	ChecksumType      string     `xml:"ChecksumType,omitempty"`
}

// ListMultipartUploadsResult is the ListMultipartUploads response.
type ListMultipartUploadsResult struct {
	XMLName            xml.Name       `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListMultipartUploadsResult"`
	Bucket             string         `xml:"Bucket"`
	KeyMarker          string         `xml:"KeyMarker"`
	UploadIDMarker     string         `xml:"UploadIdMarker"`
	NextKeyMarker      string         `xml:"NextKeyMarker,omitempty"`
	NextUploadIDMarker string         `xml:"NextUploadIdMarker,omitempty"`
	Prefix             string         `xml:"Prefix,omitempty"`
	Delimiter          string         `xml:"Delimiter,omitempty"`
	MaxUploads         int            `xml:"MaxUploads"`
	IsTruncated        bool           `xml:"IsTruncated"`
	Uploads            []Upload       `xml:"Upload"`
	CommonPrefixes     []CommonPrefix `xml:"CommonPrefixes"`
	EncodingType       string         `xml:"EncodingType,omitempty"`
}
