package s3xml

import (
	"encoding/xml"
	"fmt"
	"io"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/sluice-io/sluice/s3front/s3err"
)

// Tag limits, as in AWS.
const (
	MaxObjectTags  = 10  // tags per object
	MaxBucketTags  = 50  // tags per bucket
	MaxTagKeyLen   = 128 // Unicode characters
	MaxTagValueLen = 256 // Unicode characters
)

// Tag is one key/value tag.
type Tag struct {
	Key   string `xml:"Key"`
	Value string `xml:"Value"`
}

// Tagging is the Put/GetObjectTagging and Put/GetBucketTagging body.
type Tagging struct {
	XMLName xml.Name `xml:"Tagging"`
	TagSet  []Tag    `xml:"TagSet>Tag"`
}

// MarshalXML writes the document with the S3 namespace, always including
// the TagSet element (empty when there are no tags).
func (t Tagging) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	type tagSet struct {
		Tags []Tag `xml:"Tag"`
	}
	type plain struct {
		TagSet tagSet `xml:"TagSet"`
	}
	return nsMarshal(e, start, "Tagging", plain{TagSet: tagSet{Tags: t.TagSet}})
}

// Map returns the tags as a map.
func (t *Tagging) Map() map[string]string {
	m := make(map[string]string, len(t.TagSet))
	for _, tag := range t.TagSet {
		m[tag.Key] = tag.Value
	}
	return m
}

// Validate checks the tag set against maxTags (MaxObjectTags or
// MaxBucketTags) and ValidateTags.
// Errors (*s3err.Error): BadRequest for too many tags (as AWS), InvalidTag.
func (t *Tagging) Validate(maxTags int) error {
	if len(t.TagSet) > maxTags {
		return tooManyTags(maxTags)
	}
	return ValidateTags(t.TagSet)
}

// ValidateTags checks each tag and that keys are unique: a key is 1 to
// MaxTagKeyLen characters, a value at most MaxTagValueLen; both use only
// letters, digits, marks, spaces and + - = . _ : / @; keys must not start
// with the reserved "aws:" prefix.
// Errors (*s3err.Error): InvalidTag.
func ValidateTags(tags []Tag) error {
	seen := make(map[string]struct{}, len(tags))
	for _, tag := range tags {
		if err := ValidateTag(tag); err != nil {
			return err
		}
		if _, dup := seen[tag.Key]; dup {
			return s3err.New(s3err.InvalidTag, "Cannot provide multiple Tags with the same key").WithArgument("TagKey", tag.Key)
		}
		seen[tag.Key] = struct{}{}
	}
	return nil
}

// ValidateTag checks one tag (see ValidateTags).
// Errors (*s3err.Error): InvalidTag.
func ValidateTag(tag Tag) error {
	n := utf8.RuneCountInString(tag.Key)
	if n == 0 || n > MaxTagKeyLen || !validTagText(tag.Key) {
		return s3err.New(s3err.InvalidTag, "The TagKey you have provided is invalid")
	}
	if strings.HasPrefix(strings.ToLower(tag.Key), "aws:") {
		return s3err.New(s3err.InvalidTag, "Your TagKey cannot be prefixed with aws:")
	}
	if utf8.RuneCountInString(tag.Value) > MaxTagValueLen || !validTagText(tag.Value) {
		return s3err.New(s3err.InvalidTag, "The TagValue you have provided is invalid")
	}
	return nil
}

func validTagText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		switch {
		case unicode.IsLetter(r), unicode.IsDigit(r), unicode.IsNumber(r), unicode.IsMark(r):
		case r == ' ' || unicode.Is(unicode.Zs, r):
		case strings.ContainsRune("+-=._:/@", r):
		default:
			return false
		}
	}
	return true
}

// ParseObjectTagging reads a PutObjectTagging body of at most MaxSmallBody
// bytes, allowing MaxObjectTags tags.
// Errors (*s3err.Error): MissingRequestBodyError, MaxMessageLengthExceeded,
// MalformedXML, InvalidTag.
func ParseObjectTagging(r io.Reader) (*Tagging, error) {
	return parseTagging(r, MaxObjectTags)
}

// ParseBucketTagging reads a PutBucketTagging body of at most MaxSmallBody
// bytes, allowing MaxBucketTags tags.
// Errors (*s3err.Error): MissingRequestBodyError, MaxMessageLengthExceeded,
// MalformedXML, InvalidTag.
func ParseBucketTagging(r io.Reader) (*Tagging, error) {
	return parseTagging(r, MaxBucketTags)
}

func parseTagging(r io.Reader, maxTags int) (*Tagging, error) {
	t := &Tagging{}
	if err := decode(r, MaxSmallBody, "Tagging", t); err != nil {
		return nil, err
	}
	if err := t.Validate(maxTags); err != nil {
		return nil, err
	}
	return t, nil
}

// tooManyTags is AWS's answer to a tag set over the limit.
func tooManyTags(maxTags int) *s3err.Error {
	if maxTags == MaxBucketTags {
		return s3err.Newf(s3err.BadRequest, "Bucket tag count cannot be greater than %d", maxTags)
	}
	return s3err.Newf(s3err.BadRequest, "Object tags cannot be greater than %d", maxTags)
}

// ParseTaggingHeader reads the x-amz-tagging request header (URL query
// encoding, "k1=v1&k2=v2") of PutObject, CopyObject and
// CreateMultipartUpload. The order of tags is kept. An empty header yields
// no tags. It allows MaxObjectTags tags.
// Errors (*s3err.Error): InvalidArgument for bad encoding, an empty key or
// a key given twice (as AWS), BadRequest for too many tags, InvalidTag for
// invalid tags.
func ParseTaggingHeader(h string) ([]Tag, error) {
	if h == "" {
		return nil, nil
	}
	badHeader := func() error {
		return s3err.New(s3err.InvalidArgument, "The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded URL query parameters without tag name duplicates.").WithArgument("x-amz-tagging", "")
	}
	var tags []Tag
	seen := map[string]bool{}
	for part := range strings.SplitSeq(h, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		key, err1 := url.QueryUnescape(k)
		value, err2 := url.QueryUnescape(v)
		if err1 != nil || err2 != nil || key == "" || seen[key] {
			return nil, badHeader()
		}
		seen[key] = true
		tags = append(tags, Tag{Key: key, Value: value})
		if len(tags) > MaxObjectTags {
			return nil, tooManyTags(MaxObjectTags)
		}
	}
	if err := ValidateTags(tags); err != nil {
		return nil, err
	}
	return tags, nil
}

// TaggingHeader encodes tags in the x-amz-tagging header format, the
// inverse of ParseTaggingHeader.
func TaggingHeader(tags []Tag) string {
	var b strings.Builder
	for i, t := range tags {
		if i > 0 {
			b.WriteByte('&')
		}
		fmt.Fprintf(&b, "%s=%s", url.QueryEscape(t.Key), url.QueryEscape(t.Value))
	}
	return b.String()
}
