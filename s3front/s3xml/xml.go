// Package s3xml holds the XML documents of the S3 REST protocol that
// s3front reads and writes: Go structs with the exact S3 element names,
// Parse functions for every request body, and Marshal for responses.
//
// Guarantees:
//   - every ParseXxx function reads at most its documented size limit,
//     never panics, and on failure returns a non-nil error whose dynamic
//     type is *s3err.Error with a 4xx code: MalformedXML for syntactically
//     bad, wrong-root or schema-violating documents, and the code AWS uses
//     (InvalidArgument, InvalidRequest, InvalidTag, InvalidPartOrder, ...)
//     for semantically invalid ones;
//   - a document returned by a Parse function has passed its Validate
//     method;
//   - Marshal emits the XML declaration followed by the document, with the
//     S3 namespace (Namespace) on the root element of every response.
//
// Request documents are accepted with or without the S3 namespace, as AWS
// does. Unknown elements are ignored.
package s3xml

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"time"

	"github.com/sluice-io/sluice/s3front/s3err"
)

// Namespace is the XML namespace of S3 documents.
const Namespace = "http://s3.amazonaws.com/doc/2006-03-01/"

// TimeFormat is the layout S3 uses for timestamps in XML bodies: RFC 3339
// in UTC with exactly three fractional digits.
const TimeFormat = "2006-01-02T15:04:05.000Z"

// Size limits of request bodies, in bytes. A body larger than its limit is
// rejected with MaxMessageLengthExceeded without being read further.
const (
	// MaxSmallBody bounds small configuration documents: tagging,
	// versioning, CreateBucketConfiguration.
	MaxSmallBody = 64 << 10
	// MaxDeleteBody bounds a DeleteObjects (Delete) document: 1000 keys
	// of up to 1024 bytes each, with XML overhead.
	MaxDeleteBody = 2 << 20
	// MaxCompleteMultipartBody bounds a CompleteMultipartUpload document:
	// 10000 parts with ETags and checksums.
	MaxCompleteMultipartBody = 5 << 20
	// MaxConfigBody bounds notification, replication and lifecycle
	// configuration documents (up to 1000 rules each).
	MaxConfigBody = 2 << 20
)

// Time is a timestamp that reads and writes the S3 XML format. The zero
// Time is omitted when marshalled as an element.
type Time struct{ time.Time }

// NewTime returns t as a Time.
func NewTime(t time.Time) Time { return Time{t} }

// String returns t in TimeFormat (UTC, milliseconds).
func (t Time) String() string { return t.UTC().Format(TimeFormat) }

// MarshalXML writes t in TimeFormat, or nothing when t is zero.
func (t Time) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	if t.IsZero() {
		return nil
	}
	return e.EncodeElement(t.String(), start)
}

// UnmarshalXML reads an RFC 3339 timestamp (with or without fractional
// seconds) or an ISO 8601 date (2006-01-02, read as midnight UTC).
func (t *Time) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	var s string
	if err := d.DecodeElement(&s, &start); err != nil {
		return err
	}
	p, err := ParseTime(s)
	if err != nil {
		return err
	}
	t.Time = p
	return nil
}

// errBadTime is returned by ParseTime for text that is not a timestamp.
var errBadTime = errors.New("s3xml: not an ISO 8601 timestamp")

// ParseTime reads an RFC 3339 timestamp (with or without fractional
// seconds) or an ISO 8601 date (read as midnight UTC). The result is in
// UTC. It returns an error (never an *s3err.Error) for any other text.
func ParseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, errBadTime
}

// Marshal returns the XML declaration followed by v's XML encoding. The
// error, if any, comes from encoding/xml and means v is not encodable (a
// programming error); it is not an *s3err.Error.
func Marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(xml.Header)
	if err := xml.NewEncoder(&b).Encode(v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// decode reads at most limit bytes from r and decodes one document whose
// root element's local name is root into v. It does not validate. All
// errors are *s3err.Error.
//
// An empty body is MissingRequestBodyError; a body over limit is
// MaxMessageLengthExceeded; bad syntax, a different root element, a foreign
// namespace, or trailing elements are MalformedXML.
func decode(r io.Reader, limit int64, root string, v any) error {
	data, err := readLimited(r, limit)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return s3err.New(s3err.MissingRequestBodyError, "")
	}
	return decodeBytes(data, root, v)
}

// readLimited reads r fully, failing when it holds more than limit bytes.
func readLimited(r io.Reader, limit int64) ([]byte, error) {
	if r == nil {
		return nil, nil
	}
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, s3err.Wrap(s3err.IncompleteBody, err)
	}
	if int64(len(data)) > limit {
		return nil, s3err.Newf(s3err.MaxMessageLengthExceeded, "Your request was too big: the limit for this document is %d bytes.", limit)
	}
	return data, nil
}

func malformed(cause error) *s3err.Error {
	return s3err.Wrap(s3err.MalformedXML, cause)
}

func decodeBytes(data []byte, root string, v any) error {
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	var start xml.StartElement
	for {
		tok, err := d.Token()
		if err != nil {
			return malformed(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			start = t
		case xml.CharData:
			if len(bytes.TrimSpace(t)) != 0 {
				return malformed(errors.New("text before the root element"))
			}
			continue
		default: // ProcInst, Comment, Directive
			continue
		}
		break
	}
	if start.Name.Local != root || (start.Name.Space != "" && start.Name.Space != Namespace) {
		return malformed(errors.New("unexpected root element " + start.Name.Local))
	}
	if err := d.DecodeElement(v, &start); err != nil {
		return malformed(err)
	}
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return malformed(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			return malformed(errors.New("content after the root element"))
		case xml.CharData:
			if len(bytes.TrimSpace(t)) != 0 {
				return malformed(errors.New("text after the root element"))
			}
		}
	}
}

// nsMarshal encodes v (a plain alias of a document type) under root with
// the S3 namespace, for documents that are both parsed (with or without
// namespace) and written (always with it).
func nsMarshal(e *xml.Encoder, start xml.StartElement, root string, v any) error {
	start.Name = xml.Name{Space: Namespace, Local: root}
	start.Attr = nil
	return e.EncodeElement(v, start)
}

// Owner identifies the owner of a bucket, object or upload.
type Owner struct {
	ID          string `xml:"ID"`
	DisplayName string `xml:"DisplayName,omitempty"`
}

// Initiator identifies who initiated a multipart upload.
type Initiator struct {
	ID          string `xml:"ID"`
	DisplayName string `xml:"DisplayName,omitempty"`
}

// CommonPrefix is one <CommonPrefixes> entry of a listing.
type CommonPrefix struct {
	Prefix string `xml:"Prefix"`
}

// Checksums are the additional checksum elements S3 attaches to objects
// and parts, each base64 of the digest; empty ones are omitted.
type Checksums struct {
	ChecksumCRC32     string `xml:"ChecksumCRC32,omitempty"`
	ChecksumCRC32C    string `xml:"ChecksumCRC32C,omitempty"`
	ChecksumCRC64NVME string `xml:"ChecksumCRC64NVME,omitempty"`
	ChecksumSHA1      string `xml:"ChecksumSHA1,omitempty"`
	ChecksumSHA256    string `xml:"ChecksumSHA256,omitempty"`
	ChecksumSHA512    string `xml:"ChecksumSHA512,omitempty"`
	ChecksumMD5       string `xml:"ChecksumMD5,omitempty"`
	ChecksumXXHASH64  string `xml:"ChecksumXXHASH64,omitempty"`
	ChecksumXXHASH3   string `xml:"ChecksumXXHASH3,omitempty"`
	ChecksumXXHASH128 string `xml:"ChecksumXXHASH128,omitempty"`
}

// ByAlgorithm returns the checksums that are set, by algorithm name
// (CRC32, CRC32C, CRC64NVME, SHA1, SHA256, SHA512, MD5, XXHASH64,
// XXHASH3, XXHASH128), in that order.
func (c Checksums) ByAlgorithm() [][2]string {
	var out [][2]string
	for _, kv := range [][2]string{
		{"CRC32", c.ChecksumCRC32}, {"CRC32C", c.ChecksumCRC32C}, {"CRC64NVME", c.ChecksumCRC64NVME},
		{"SHA1", c.ChecksumSHA1}, {"SHA256", c.ChecksumSHA256}, {"SHA512", c.ChecksumSHA512},
		{"MD5", c.ChecksumMD5}, {"XXHASH64", c.ChecksumXXHASH64}, {"XXHASH3", c.ChecksumXXHASH3},
		{"XXHASH128", c.ChecksumXXHASH128},
	} {
		if kv[1] != "" {
			out = append(out, kv)
		}
	}
	return out
}

// Status values shared by several configuration documents.
const (
	StatusEnabled   = "Enabled"
	StatusDisabled  = "Disabled"
	StatusSuspended = "Suspended"
)
