package server

import (
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/sluice-io/sluice/s3front/meta"
	"github.com/sluice-io/sluice/s3front/s3err"
	"github.com/sluice-io/sluice/s3front/s3xml"
)

// maxUserMetadata is the S3 limit on user metadata: the UTF-8 bytes of
// every x-amz-meta-* name (without the prefix) and value.
const maxUserMetadata = 2 << 10

// maxObjectSize is the largest single PUT S3 accepts (5 GiB).
const maxObjectSize = 5 << 30

// minPartSize is the smallest part, except the last, of a multipart upload.
const minPartSize = 5 << 20

// maxPartNumber is the largest part number.
const maxPartNumber = 10000

// storedHeaders are the system headers kept with an object and returned by
// GET and HEAD, in canonical form.
var storedHeaders = []string{
	"Cache-Control",
	"Content-Disposition",
	"Content-Encoding",
	"Content-Language",
	"Expires",
	"X-Amz-Website-Redirect-Location",
}

// storageClasses are the x-amz-storage-class values S3 accepts.
var storageClasses = map[string]bool{
	"STANDARD": true, "REDUCED_REDUNDANCY": true, "STANDARD_IA": true, "ONEZONE_IA": true,
	"INTELLIGENT_TIERING": true, "GLACIER": true, "DEEP_ARCHIVE": true, "OUTPOSTS": true,
	"GLACIER_IR": true, "SNOW": true, "EXPRESS_ONEZONE": true,
}

// objectAttrs are the object attributes a PUT, a COPY with REPLACE, or a
// CreateMultipartUpload reads from request headers.
type objectAttrs struct {
	ContentType  string
	Headers      map[string]string
	UserMetadata map[string]string
	StorageClass string
}

// parseObjectAttrs reads content headers, x-amz-meta-* and the storage
// class. Errors: MetadataTooLarge, InvalidStorageClass.
func parseObjectAttrs(h http.Header) (objectAttrs, error) {
	a := objectAttrs{ContentType: h.Get("Content-Type")}
	for _, name := range storedHeaders {
		if v := h.Get(name); v != "" {
			if a.Headers == nil {
				a.Headers = make(map[string]string)
			}
			a.Headers[name] = v
		}
	}
	if ce, ok := a.Headers["Content-Encoding"]; ok {
		// aws-chunked is a transfer detail of SigV4 streaming, not the
		// object's encoding.
		var keep []string
		for p := range strings.SplitSeq(ce, ",") {
			if p = strings.TrimSpace(p); p != "" && !strings.EqualFold(p, "aws-chunked") {
				keep = append(keep, p)
			}
		}
		if len(keep) == 0 {
			delete(a.Headers, "Content-Encoding")
		} else {
			a.Headers["Content-Encoding"] = strings.Join(keep, ",")
		}
	}
	size := 0
	for name, vs := range h {
		lname := strings.ToLower(name)
		k, ok := strings.CutPrefix(lname, "x-amz-meta-")
		if !ok {
			continue
		}
		v := strings.Join(vs, ",")
		if a.UserMetadata == nil {
			a.UserMetadata = make(map[string]string)
		}
		a.UserMetadata[k] = v
		size += len(k) + len(v)
	}
	if size > maxUserMetadata {
		return a, s3err.New(s3err.MetadataTooLarge, "").
			WithField("Size", strconv.Itoa(size)).WithField("MaxSizeAllowed", strconv.Itoa(maxUserMetadata))
	}
	if sc := h.Get("X-Amz-Storage-Class"); sc != "" {
		if !storageClasses[sc] {
			return a, s3err.New(s3err.InvalidStorageClass, "")
		}
		if sc != "STANDARD" {
			a.StorageClass = sc
		}
	}
	return a, nil
}

// parseTaggingHeader reads x-amz-tagging into a map (nil when absent).
func parseTaggingHeader(h http.Header) (map[string]string, error) {
	v := h.Get("X-Amz-Tagging")
	if v == "" {
		return nil, nil
	}
	tags, err := s3xml.ParseTaggingHeader(v)
	if err != nil {
		return nil, err
	}
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		m[t.Key] = t.Value
	}
	return m, nil
}

// tagSet turns a tag map into a sorted tag list.
func tagSet(m map[string]string) []s3xml.Tag {
	out := make([]s3xml.Tag, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, s3xml.Tag{Key: k, Value: m[k]})
	}
	return out
}

// quoteETag returns the ETag as sent in headers and XML: in double quotes.
func quoteETag(etag string) string {
	if strings.HasPrefix(etag, "\"") {
		return etag
	}
	return "\"" + etag + "\""
}

// versionHeader returns the x-amz-version-id value for an object version
// in bucket b: empty for the null version of a never-versioned bucket.
func versionHeader(b meta.Bucket, versionID string) string {
	if versionID == "" {
		return ""
	}
	if versionID == meta.NullVersion && b.Versioning == meta.VersioningUnset {
		return ""
	}
	return versionID
}

// setObjectHeaders writes the headers GET and HEAD return for obj.
func setObjectHeaders(h http.Header, b meta.Bucket, obj *meta.Object, checksumMode bool) {
	h.Set("ETag", quoteETag(obj.ETag))
	h.Set("Last-Modified", obj.LastModified.UTC().Format(http.TimeFormat))
	h.Set("Accept-Ranges", "bytes")
	ct := obj.ContentType
	if ct == "" {
		ct = "binary/octet-stream"
	}
	h.Set("Content-Type", ct)
	for k, v := range obj.Headers {
		h.Set(k, v)
	}
	for k, v := range obj.UserMetadata {
		h["X-Amz-Meta-"+k] = []string{v}
	}
	if v := versionHeader(b, obj.VersionID); v != "" {
		h.Set("x-amz-version-id", v)
	}
	if len(obj.Tags) > 0 {
		h.Set("x-amz-tagging-count", strconv.Itoa(len(obj.Tags)))
	}
	h.Set("x-amz-storage-class", storageClassOf(obj.StorageClass))
	if obj.PartsCount > 0 {
		h.Set("x-amz-mp-parts-count", strconv.Itoa(obj.PartsCount))
	}
	if obj.ReplicationStatus != "" {
		h.Set("x-amz-replication-status", obj.ReplicationStatus)
	}
	if checksumMode {
		for algo, v := range obj.Checksums {
			h.Set(checksumHeader(algo), v)
		}
		if t := checksumType(obj.Checksums); t != "" {
			h.Set("x-amz-checksum-type", t)
		}
	}
}

// responseOverrides are the response-* query parameters of GetObject and
// the header each one sets.
var responseOverrides = map[string]string{
	"response-content-type":        "Content-Type",
	"response-content-language":    "Content-Language",
	"response-expires":             "Expires",
	"response-cache-control":       "Cache-Control",
	"response-content-disposition": "Content-Disposition",
	"response-content-encoding":    "Content-Encoding",
}

// checksumType names the type of stored checksums: COMPOSITE values carry
// a "-N" part count suffix, FULL_OBJECT values do not; "" when none.
func checksumType(m map[string]string) string {
	for _, v := range m {
		if strings.Contains(v, "-") {
			return "COMPOSITE"
		}
		return "FULL_OBJECT"
	}
	return ""
}
