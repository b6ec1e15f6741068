package server

import (
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/sluice-io/sluice/s3front/s3err"
)

// Op names one S3 operation. Its string form is the AWS API name and is
// used as the "operation" label of the request metrics.
type Op string

// The S3 operations the router can select.
const (
	OpUnknown Op = "Unknown"

	OpListBuckets Op = "ListBuckets"

	OpCreateBucket                 Op = "CreateBucket"
	OpHeadBucket                   Op = "HeadBucket"
	OpDeleteBucket                 Op = "DeleteBucket"
	OpGetBucketLocation            Op = "GetBucketLocation"
	OpGetBucketVersioning          Op = "GetBucketVersioning"
	OpPutBucketVersioning          Op = "PutBucketVersioning"
	OpGetBucketTagging             Op = "GetBucketTagging"
	OpPutBucketTagging             Op = "PutBucketTagging"
	OpDeleteBucketTagging          Op = "DeleteBucketTagging"
	OpGetBucketNotification        Op = "GetBucketNotificationConfiguration"
	OpPutBucketNotification        Op = "PutBucketNotificationConfiguration"
	OpDeleteBucketNotification     Op = "DeleteBucketNotificationConfiguration"
	OpGetBucketReplication         Op = "GetBucketReplication"
	OpPutBucketReplication         Op = "PutBucketReplication"
	OpDeleteBucketReplication      Op = "DeleteBucketReplication"
	OpGetBucketLifecycle           Op = "GetBucketLifecycleConfiguration"
	OpPutBucketLifecycle           Op = "PutBucketLifecycleConfiguration"
	OpDeleteBucketLifecycle        Op = "DeleteBucketLifecycle"
	OpGetBucketAcl                 Op = "GetBucketAcl"
	OpPutBucketAcl                 Op = "PutBucketAcl"
	OpListObjects                  Op = "ListObjects"
	OpListObjectsV2                Op = "ListObjectsV2"
	OpListObjectVersions           Op = "ListObjectVersions"
	OpListMultipartUploads         Op = "ListMultipartUploads"
	OpDeleteObjects                Op = "DeleteObjects"
	OpGetBucketUnsupportedNotFound Op = "GetBucketUnsupported"
	OpDeleteBucketUnsupported      Op = "DeleteBucketUnsupported"

	OpPutObject               Op = "PutObject"
	OpCopyObject              Op = "CopyObject"
	OpGetObject               Op = "GetObject"
	OpHeadObject              Op = "HeadObject"
	OpDeleteObject            Op = "DeleteObject"
	OpGetObjectTagging        Op = "GetObjectTagging"
	OpPutObjectTagging        Op = "PutObjectTagging"
	OpDeleteObjectTagging     Op = "DeleteObjectTagging"
	OpGetObjectAcl            Op = "GetObjectAcl"
	OpPutObjectAcl            Op = "PutObjectAcl"
	OpCreateMultipartUpload   Op = "CreateMultipartUpload"
	OpUploadPart              Op = "UploadPart"
	OpUploadPartCopy          Op = "UploadPartCopy"
	OpCompleteMultipartUpload Op = "CompleteMultipartUpload"
	OpAbortMultipartUpload    Op = "AbortMultipartUpload"
	OpListParts               Op = "ListParts"
	OpPostObject              Op = "PostObject"
	OpSearchBucket            Op = "SearchBucket"
	OpCatalog                 Op = "Catalog"

	// OpNotImplemented is a recognised S3 sub-resource Sluice does not serve.
	OpNotImplemented Op = "NotImplemented"
	// OpMethodNotAllowed is a method the addressed resource does not accept.
	OpMethodNotAllowed Op = "MethodNotAllowed"
)

// route is the outcome of addressing and dispatch: which bucket and key a
// request names and which operation it asks for.
type route struct {
	Bucket string
	Key    string
	Op     Op
	// NotFoundCode is set for GETs of unsupported-but-recognised bucket
	// sub-resources whose AWS answer is a "not configured" error code.
	NotFoundCode string
	// VirtualHost reports that the bucket came from the Host header.
	VirtualHost bool
	// Err is a routing error (an invalid combination of method, resource
	// and sub-resources), answered before authentication as S3 does.
	Err error
}

// bucketNotFoundCodes maps the bucket sub-resources Sluice does not store to
// the error code AWS returns when the configuration is absent. A GET of one
// of them answers that code; PUT answers NotImplemented; DELETE succeeds.
var bucketNotFoundCodes = map[string]string{
	"cors":                "NoSuchCORSConfiguration",
	"policy":              "NoSuchBucketPolicy",
	"website":             "NoSuchWebsiteConfiguration",
	"object-lock":         "ObjectLockConfigurationNotFoundError",
	"encryption":          "ServerSideEncryptionConfigurationNotFoundError",
	"ownershipControls":   "OwnershipControlsNotFoundError",
	"publicAccessBlock":   "NoSuchPublicAccessBlockConfiguration",
	"policyStatus":        "NoSuchBucketPolicy",
	"intelligent-tiering": "",
	"analytics":           "",
	"metrics":             "",
	"inventory":           "",
	"logging":             "",
	"accelerate":          "",
	"requestPayment":      "",
	"metadataTable":       "",
}

// objectUnsupported are object sub-resources answered with NotImplemented.
var objectUnsupported = []string{"retention", "legal-hold", "torrent", "restore", "select", "attributes", "renameObject"}

// splitAddress extracts bucket and key from r. When domain is non-empty and
// the Host is "<bucket>.<domain>", the request is virtual-host style and the
// whole path is the key; otherwise the first path segment is the bucket.
// The key is the percent-decoded path, so "%00" and "../" arrive verbatim.
func splitAddress(r *http.Request, domain string) (bucket, key string, vhost bool) {
	p := requestPath(r)
	if domain != "" {
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		host = strings.ToLower(strings.TrimSuffix(host, "."))
		d := strings.ToLower(strings.TrimSuffix(domain, "."))
		if strings.HasSuffix(host, "."+d) {
			b := strings.TrimSuffix(host, "."+d)
			if b != "" {
				return b, strings.TrimPrefix(p, "/"), true
			}
		}
	}
	p = strings.TrimPrefix(p, "/")
	if p == "" {
		return "", "", false
	}
	bucket, key, _ = strings.Cut(p, "/")
	return bucket, key, false
}

// requestPath returns the decoded request path. It decodes the raw escaped
// path itself so that an encoded slash and a literal slash mean the same
// thing, as in S3.
func requestPath(r *http.Request) string {
	raw := r.URL.EscapedPath()
	if p, err := url.PathUnescape(raw); err == nil {
		return p
	}
	return r.URL.Path
}

// resolve selects the operation for r. It never fails: unknown
// combinations become OpMethodNotAllowed or OpNotImplemented.
func resolve(r *http.Request, domain string) route {
	bucket, key, vhost := splitAddress(r, domain)
	rt := route{Bucket: bucket, Key: key, VirtualHost: vhost}
	q := r.URL.Query()
	has := func(k string) bool { _, ok := q[k]; return ok }
	m := r.Method

	switch {
	case bucket == "" && key != "":
		rt.Op = OpUnknown // "//key": a key without a bucket
		return rt
	case bucket == "":
		if m == http.MethodGet {
			rt.Op = OpListBuckets
		} else {
			rt.Op = OpMethodNotAllowed
		}
		return rt
	case key == "" && m == http.MethodGet && isCatalog(bucket, vhost, has):
		rt.Op = OpCatalog
		return rt
	case key == "":
		rt.Op = resolveBucket(m, has, q, &rt)
		if m != http.MethodPut && r.Header.Get("X-Amz-Copy-Source") != "" {
			rt.Err = s3err.New(s3err.InvalidArgument, "You can only specify a copy source header for copy requests.").
				WithArgument("x-amz-copy-source", r.Header.Get("X-Amz-Copy-Source"))
			return rt
		}
		if rt.Op == OpMethodNotAllowed && m == http.MethodPost && len(q) == 0 {
			switch {
			case isPostForm(r):
				rt.Op = OpPostObject
			case r.Header.Get("Content-Type") != "":
				rt.Err = s3err.New(s3err.PreconditionFailed, "Bucket POST must be of the enclosure-type multipart/form-data").
					WithField("Condition", "Bucket POST must be of the enclosure-type multipart/form-data")
			}
		}
		return rt
	default:
		rt.Op = resolveObject(m, has, r.Header)
		if rt.Op == OpMethodNotAllowed && m == http.MethodPost && len(q) == 0 && isPostForm(r) {
			// Form uploads posted to an object URL: the form's key field rules.
			rt.Op, rt.Key = OpPostObject, ""
		}
		rt.Err = objectRouteError(m, has, r.Header)
		return rt
	}
}

func resolveBucket(m string, has func(string) bool, q url.Values, rt *route) Op {
	for sub, code := range bucketNotFoundCodes {
		if !has(sub) {
			continue
		}
		switch m {
		case http.MethodGet:
			if code == "" {
				return OpNotImplemented
			}
			rt.NotFoundCode = code
			return OpGetBucketUnsupportedNotFound
		case http.MethodDelete:
			return OpDeleteBucketUnsupported
		default:
			return OpNotImplemented
		}
	}
	switch m {
	case http.MethodPut:
		switch {
		case has("versioning"):
			return OpPutBucketVersioning
		case has("tagging"):
			return OpPutBucketTagging
		case has("notification"):
			return OpPutBucketNotification
		case has("replication"):
			return OpPutBucketReplication
		case has("lifecycle"):
			return OpPutBucketLifecycle
		case has("acl"):
			return OpPutBucketAcl
		}
		return OpCreateBucket
	case http.MethodGet:
		switch {
		case has("versioning"):
			return OpGetBucketVersioning
		case has("tagging"):
			return OpGetBucketTagging
		case has("location"):
			return OpGetBucketLocation
		case has("notification"):
			return OpGetBucketNotification
		case has("replication"):
			return OpGetBucketReplication
		case has("lifecycle"):
			return OpGetBucketLifecycle
		case has("acl"):
			return OpGetBucketAcl
		case has("uploads"):
			return OpListMultipartUploads
		case has("versions"):
			return OpListObjectVersions
		case has("search"):
			return OpSearchBucket
		case q.Get("list-type") == "2":
			return OpListObjectsV2
		}
		return OpListObjects
	case http.MethodHead:
		return OpHeadBucket
	case http.MethodDelete:
		switch {
		case has("tagging"):
			return OpDeleteBucketTagging
		case has("notification"):
			return OpDeleteBucketNotification
		case has("replication"):
			return OpDeleteBucketReplication
		case has("lifecycle"):
			return OpDeleteBucketLifecycle
		}
		return OpDeleteBucket
	case http.MethodPost:
		if has("delete") {
			return OpDeleteObjects
		}
		return OpMethodNotAllowed
	}
	return OpMethodNotAllowed
}

func resolveObject(m string, has func(string) bool, h http.Header) Op {
	for _, sub := range objectUnsupported {
		if has(sub) {
			return OpNotImplemented
		}
	}
	switch m {
	case http.MethodPut:
		switch {
		case has("tagging"):
			return OpPutObjectTagging
		case has("acl"):
			return OpPutObjectAcl
		case has("uploadId") || has("partNumber"):
			if h.Get("X-Amz-Copy-Source") != "" {
				return OpUploadPartCopy
			}
			return OpUploadPart
		case h.Get("X-Amz-Copy-Source") != "":
			return OpCopyObject
		}
		return OpPutObject
	case http.MethodGet:
		switch {
		case has("tagging"):
			return OpGetObjectTagging
		case has("acl"):
			return OpGetObjectAcl
		case has("uploadId"):
			return OpListParts
		}
		return OpGetObject
	case http.MethodHead:
		return OpHeadObject
	case http.MethodDelete:
		switch {
		case has("tagging"):
			return OpDeleteObjectTagging
		case has("uploadId"):
			return OpAbortMultipartUpload
		}
		return OpDeleteObject
	case http.MethodPost:
		switch {
		case has("uploads"):
			return OpCreateMultipartUpload
		case has("uploadId"):
			return OpCompleteMultipartUpload
		}
		return OpMethodNotAllowed
	}
	return OpMethodNotAllowed
}

// objectRouteError rejects sub-resource combinations S3 refuses on keys.
func objectRouteError(m string, has func(string) bool, h http.Header) error {
	switch {
	case m == http.MethodPut && has("partNumber") && !has("uploadId"):
		return s3err.New(s3err.InvalidArgument, "This operation does not accept partNumber without uploadId").
			WithArgument("partNumber", "partNumber")
	case m == http.MethodPut && has("uploadId") && !has("partNumber"):
		return s3err.New(s3err.MethodNotAllowed, "The specified method is not allowed against this resource.").
			WithField("Method", m).WithField("ResourceType", "UPLOAD").WithHeader("Allow", "DELETE, POST, GET")
	case m == http.MethodGet && has("uploads"):
		return s3err.New(s3err.InvalidRequest, "Key is not expected for the GET method ?uploads subresource")
	case m == http.MethodGet && has("versions"):
		return s3err.New(s3err.InvalidRequest, "There is no such thing as the ?versions sub-resource for a key")
	case m != http.MethodPut && h.Get("X-Amz-Copy-Source") != "":
		return s3err.New(s3err.InvalidArgument, "You can only specify a copy source header for copy requests.").
			WithArgument("x-amz-copy-source", h.Get("X-Amz-Copy-Source"))
	}
	return nil
}

// validBucketName reports whether name follows the S3 bucket naming rules:
// 3-63 characters of lower-case letters, digits, dots and hyphens, starting
// and ending with a letter or digit, no two adjacent dots, not shaped like
// an IP address and without the reserved prefixes and suffixes.
func validBucketName(name string) bool {
	if len(name) < 3 || len(name) > 63 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c == '.' || c == '-':
			if i == 0 || i == len(name)-1 {
				return false
			}
		default:
			return false
		}
	}
	if strings.Contains(name, "..") || strings.Contains(name, ".-") || strings.Contains(name, "-.") {
		return false
	}
	if ip := net.ParseIP(name); ip != nil {
		return false
	}
	for _, p := range []string{"xn--", "sthree-", "amzn-s3-demo-"} {
		if strings.HasPrefix(name, p) {
			return false
		}
	}
	for _, s := range []string{"-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"} {
		if strings.HasSuffix(name, s) {
			return false
		}
	}
	return true
}
