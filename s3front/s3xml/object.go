package s3xml

import (
	"encoding/xml"
	"io"

	"github.com/sluice-io/sluice/s3front/s3err"
)

// MaxDeleteObjects is the most keys one DeleteObjects request may name.
const MaxDeleteObjects = 1000

// Delete is the DeleteObjects request body.
type Delete struct {
	XMLName xml.Name `xml:"Delete"`
	// Quiet asks for only the failed deletions in the DeleteResult.
	Quiet   bool             `xml:"Quiet,omitempty"`
	Objects []ObjectToDelete `xml:"Object"`
}

// MarshalXML writes the document with the S3 namespace.
func (d Delete) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	type plain Delete
	return nsMarshal(e, start, "Delete", plain(d))
}

// ObjectToDelete is one <Object> of a Delete request. ETag, LastModifiedTime
// and Size are the optional conditions of a conditional delete.
type ObjectToDelete struct {
	Key              string `xml:"Key"`
	VersionID        string `xml:"VersionId,omitempty"`
	ETag             string `xml:"ETag,omitempty"`
	LastModifiedTime Time   `xml:"LastModifiedTime"`
	Size             *int64 `xml:"Size,omitempty"`
}

// Validate checks that there are 1 to MaxDeleteObjects objects. Per-key
// problems (an empty or too long key) are not errors of the document: S3
// reports them per key in DeleteResult, and so should the server.
// Errors (*s3err.Error): MalformedXML.
func (d *Delete) Validate() error {
	if len(d.Objects) == 0 {
		return s3err.New(s3err.MalformedXML, "")
	}
	if len(d.Objects) > MaxDeleteObjects {
		return s3err.Newf(s3err.MalformedXML, "The request must contain no more than %d keys.", MaxDeleteObjects)
	}
	return nil
}

// ParseDelete reads a DeleteObjects body of at most MaxDeleteBody bytes.
// Errors (*s3err.Error): MissingRequestBodyError, MaxMessageLengthExceeded,
// MalformedXML.
func ParseDelete(r io.Reader) (*Delete, error) {
	d := &Delete{}
	if err := decode(r, MaxDeleteBody, "Delete", d); err != nil {
		return nil, err
	}
	if err := d.Validate(); err != nil {
		return nil, err
	}
	return d, nil
}

// DeleteResult is the DeleteObjects response.
type DeleteResult struct {
	XMLName xml.Name        `xml:"http://s3.amazonaws.com/doc/2006-03-01/ DeleteResult"`
	Deleted []DeletedObject `xml:"Deleted"`
	Errors  []DeleteError   `xml:"Error"`
}

// DeletedObject is one successful deletion in a DeleteResult.
type DeletedObject struct {
	Key                   string `xml:"Key"`
	VersionID             string `xml:"VersionId,omitempty"`
	DeleteMarker          bool   `xml:"DeleteMarker,omitempty"`
	DeleteMarkerVersionID string `xml:"DeleteMarkerVersionId,omitempty"`
}

// DeleteError is one failed deletion in a DeleteResult.
type DeleteError struct {
	Key       string `xml:"Key"`
	VersionID string `xml:"VersionId,omitempty"`
	Code      string `xml:"Code"`
	Message   string `xml:"Message"`
}

// DeleteErrorFrom builds a DeleteError for key and versionID from any
// error, with the code and client-safe message s3err.WriteError would send
// (unknown errors become InternalError; their text is not included).
func DeleteErrorFrom(key, versionID string, err error) DeleteError {
	e, _ := s3err.As(err)
	return DeleteError{Key: key, VersionID: versionID, Code: e.S3Code(), Message: e.ClientMessage()}
}

// CopyObjectResult is the CopyObject response.
type CopyObjectResult struct {
	XMLName      xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ CopyObjectResult"`
	ETag         string   `xml:"ETag"`
	LastModified Time     `xml:"LastModified"`
	ChecksumType string   `xml:"ChecksumType,omitempty"`
	Checksums
}

// CopyPartResult is the UploadPartCopy response.
type CopyPartResult struct {
	XMLName      xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ CopyPartResult"`
	ETag         string   `xml:"ETag"`
	LastModified Time     `xml:"LastModified"`
	Checksums
}
