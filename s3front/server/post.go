package server

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-io/sluice/events"
	"github.com/sluice-io/sluice/s3front/meta"
	"github.com/sluice-io/sluice/s3front/s3err"
	"github.com/sluice-io/sluice/s3front/s3xml"
	"github.com/sluice-io/sluice/s3front/sigv4"
)

// POST Object (browser-based uploads): an HTML form whose fields carry a
// base64 JSON policy signed with SigV4 (the signature is the HMAC of the
// policy text under the usual signing key), followed by the file. The
// request itself is not signed, so it bypasses the Authenticator and is
// verified here against Options.Credentials.

// maxPostFields bounds the bytes of all form fields before the file.
const maxPostFields = 64 << 10

// isPostForm reports whether r is a browser-based upload form.
func isPostForm(r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == "multipart/form-data"
}

// postForm is the parsed form: lower-case field names → values, and the
// file part, positioned at its content.
type postForm struct {
	fields   map[string]string
	names    []string // field names in form order (original spelling)
	file     *multipart.Part
	filename string
}

func malformedPost(msg string) error {
	return s3err.New(s3err.MalformedPOSTRequest, msg)
}

// readPostForm reads the fields up to the file part.
func readPostForm(r *http.Request) (*postForm, error) {
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, malformedPost("The body of your POST request is not well-formed multipart/form-data.")
	}
	f := &postForm{fields: map[string]string{}}
	budget := int64(maxPostFields)
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil, s3err.New(s3err.InvalidArgument, "POST requires exactly one file upload per request.").
				WithArgument("file", "0")
		}
		if err != nil {
			return nil, malformedPost("The body of your POST request is not well-formed multipart/form-data.")
		}
		name := p.FormName()
		if strings.EqualFold(name, "file") {
			f.file, f.filename = p, p.FileName()
			return f, nil
		}
		if name == "" {
			_ = p.Close()
			continue
		}
		v, err := io.ReadAll(io.LimitReader(p, budget+1))
		_ = p.Close()
		if err != nil {
			return nil, malformedPost("The body of your POST request is not well-formed multipart/form-data.")
		}
		budget -= int64(len(v))
		if budget < 0 {
			return nil, s3err.New(s3err.MaxMessageLengthExceeded, "The form fields of your POST request are too large.")
		}
		lname := strings.ToLower(name)
		if _, dup := f.fields[lname]; dup {
			return nil, s3err.New(s3err.InvalidArgument, "Form fields must not repeat.").WithArgument(name, "")
		}
		f.fields[lname] = string(v)
		f.names = append(f.names, name)
	}
}

// postPolicy is the decoded policy document.
type postPolicy struct {
	Expiration string `json:"expiration"`
	Conditions []any  `json:"conditions"`
}

// verifyPostSignature checks the form's SigV4 policy signature and returns
// the principal of the signing key and the decoded policy.
func (s *Server) verifyPostSignature(ctx context.Context, f *postForm) (string, postPolicy, error) {
	var pol postPolicy
	if s.creds == nil {
		return "", pol, s3err.New(s3err.NotImplemented, "Browser-based POST uploads are not enabled.")
	}
	algo, cred, date, sig, policy := f.fields["x-amz-algorithm"], f.fields["x-amz-credential"],
		f.fields["x-amz-date"], f.fields["x-amz-signature"], f.fields["policy"]
	if policy == "" || sig == "" {
		return "", pol, s3err.New(s3err.AccessDenied, "Anonymous POST uploads are not allowed: a policy and its signature are required.")
	}
	if algo != "AWS4-HMAC-SHA256" {
		return "", pol, s3err.New(s3err.InvalidArgument, "Only AWS4-HMAC-SHA256 is supported").WithArgument("X-Amz-Algorithm", truncate(algo, 64))
	}
	parts := strings.Split(cred, "/")
	if len(parts) != 5 || parts[3] != "s3" || parts[4] != "aws4_request" {
		return "", pol, s3err.New(s3err.InvalidArgument, "The x-amz-credential form field is malformed.").WithArgument("x-amz-credential", cred)
	}
	accessKey, day, region := parts[0], parts[1], parts[2]
	if region != s.region {
		return "", pol, s3err.Newf(s3err.InvalidArgument, "The x-amz-credential region must be %s.", s.region).WithArgument("x-amz-credential", cred)
	}
	if !strings.HasPrefix(date, day) {
		return "", pol, s3err.New(s3err.InvalidArgument, "The x-amz-date form field does not match the credential date.").WithArgument("x-amz-date", date)
	}
	secret, principal, err := s.creds.Lookup(ctx, accessKey)
	if errors.Is(err, sigv4.ErrUnknownAccessKey) {
		return "", pol, s3err.New(s3err.InvalidAccessKeyID, "").WithField("AWSAccessKeyId", truncate(accessKey, 128))
	}
	if err != nil {
		return "", pol, s3err.Internal(err)
	}
	key := []byte("AWS4" + secret)
	for _, d := range []string{day, region, "s3", "aws4_request"} {
		key = hmacSHA256(key, d)
	}
	want := hex.EncodeToString(hmacSHA256(key, policy))
	if !hmac.Equal([]byte(want), []byte(strings.ToLower(sig))) {
		return "", pol, s3err.New(s3err.SignatureDoesNotMatch, "The request signature we calculated does not match the signature you provided.").
			WithField("AWSAccessKeyId", truncate(accessKey, 128)).WithField("StringToSign", policy).WithField("SignatureProvided", truncate(sig, 128)).
			WithField("StringToSignBytes", spacedHex(policy))
	}
	raw, err := base64.StdEncoding.DecodeString(policy)
	if err != nil {
		return "", pol, s3err.New(s3err.InvalidArgument, "Invalid Policy: Invalid 'base64' encoding.")
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if err := d.Decode(&pol); err != nil {
		return "", pol, s3err.New(s3err.InvalidArgument, "Invalid Policy: Invalid JSON.")
	}
	exp, err := time.Parse(time.RFC3339Nano, pol.Expiration)
	if err != nil {
		return "", pol, s3err.New(s3err.InvalidArgument, "Invalid Policy: Invalid 'expiration' value.")
	}
	if !s.now().Before(exp) {
		return "", pol, s3err.New(s3err.AccessDenied, "Invalid according to Policy: Policy expired.")
	}
	return principal, pol, nil
}

func hmacSHA256(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}

// policyLimits are the conditions checked after the file was read.
type policyLimits struct {
	minSize, maxSize int64
	hasRange         bool
}

// checkPolicy matches the form against the policy conditions: every
// condition must hold, and every field (except the signature, policy, file
// and x-ignore-* fields) must be covered by a condition.
func checkPolicy(pol postPolicy, bucket string, f *postForm) (policyLimits, error) {
	var lim policyLimits
	deny := func(msg string) error {
		return s3err.New(s3err.AccessDenied, "Invalid according to Policy: "+msg)
	}
	value := func(field string) string {
		if field == "bucket" {
			return bucket
		}
		return f.fields[field]
	}
	covered := map[string]bool{"bucket": true}
	for _, c := range pol.Conditions {
		switch c := c.(type) {
		case map[string]any:
			for k, v := range c {
				want, ok := v.(string)
				if !ok {
					return lim, s3err.New(s3err.InvalidArgument, "Invalid Policy: a condition value is not a string.")
				}
				field := strings.ToLower(k)
				covered[field] = true
				if value(field) != want {
					return lim, deny(fmt.Sprintf("Policy Condition failed: [\"eq\", \"$%s\", %q]", k, want))
				}
			}
		case []any:
			if len(c) != 3 {
				return lim, s3err.New(s3err.InvalidArgument, "Invalid Policy: a condition array must have 3 elements.")
			}
			op, _ := c[0].(string)
			switch strings.ToLower(op) {
			case "content-length-range":
				lo, err1 := jsonInt(c[1])
				hi, err2 := jsonInt(c[2])
				if err1 != nil || err2 != nil || lo < 0 || hi < lo {
					return lim, s3err.New(s3err.InvalidArgument, "Invalid Policy: Invalid content-length-range.")
				}
				lim = policyLimits{minSize: lo, maxSize: hi, hasRange: true}
			case "eq", "starts-with":
				name, _ := c[1].(string)
				want, ok := c[2].(string)
				if !strings.HasPrefix(name, "$") || !ok {
					return lim, s3err.New(s3err.InvalidArgument, "Invalid Policy: Invalid condition.")
				}
				field := strings.ToLower(name[1:])
				covered[field] = true
				got := value(field)
				if strings.EqualFold(op, "eq") && got != want {
					return lim, deny(fmt.Sprintf("Policy Condition failed: [\"eq\", %q, %q]", name, want))
				}
				if strings.EqualFold(op, "starts-with") && !startsWith(field, got, want) {
					return lim, deny(fmt.Sprintf("Policy Condition failed: [\"starts-with\", %q, %q]", name, want))
				}
			default:
				return lim, s3err.New(s3err.InvalidArgument, "Invalid Policy: Unknown condition "+op+".")
			}
		default:
			return lim, s3err.New(s3err.InvalidArgument, "Invalid Policy: Invalid condition.")
		}
	}
	for _, name := range f.names {
		l := strings.ToLower(name)
		switch {
		case l == "policy", l == "x-amz-signature", strings.HasPrefix(l, "x-ignore-"), covered[l]:
		default:
			return lim, deny("Extra input fields: " + name)
		}
	}
	return lim, nil
}

// startsWith applies a starts-with condition; Content-Type may hold a
// comma-separated list, each of which must match.
func startsWith(field, got, prefix string) bool {
	if field == "content-type" {
		for v := range strings.SplitSeq(got, ",") {
			if !strings.HasPrefix(strings.TrimSpace(v), prefix) {
				return false
			}
		}
		return true
	}
	return strings.HasPrefix(got, prefix)
}

func jsonInt(v any) (int64, error) {
	switch n := v.(type) {
	case json.Number:
		return n.Int64()
	case string:
		return strconv.ParseInt(n, 10, 64)
	}
	return 0, errors.New("not a number")
}

// postResponse is the 201 body of a POST upload.
type postResponse struct {
	XMLName  xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ PostResponse"`
	Location string   `xml:"Location"`
	Bucket   string   `xml:"Bucket"`
	Key      string   `xml:"Key"`
	ETag     string   `xml:"ETag"`
}

// postObject serves a browser-based upload with an ObjectCreated:Post event.
func (s *Server) postObject(rc *reqCtx) error {
	f, err := readPostForm(rc.r)
	if err != nil {
		return err
	}
	defer f.file.Close()
	principal, pol, err := s.verifyPostSignature(rc.ctx, f)
	if err != nil {
		return err
	}
	rc.principal = principal
	b, err := s.store.GetBucket(rc.ctx, rc.route.Bucket)
	if err != nil {
		return s.metaErr(rc, err)
	}
	if b.Owner != principal {
		return s3err.New(s3err.AccessDenied, "")
	}
	rc.bucket = b
	lim, err := checkPolicy(pol, rc.route.Bucket, f)
	if err != nil {
		return err
	}
	key := strings.ReplaceAll(f.fields["key"], "${filename}", f.filename)
	if key == "" {
		return s3err.New(s3err.InvalidArgument, "Bucket POST must contain a field named 'key'.").WithArgument("key", "")
	}
	if err := checkKey(key); err != nil {
		return err
	}
	rc.route.Key = key

	hdr := http.Header{}
	for name, v := range f.fields {
		hdr.Set(textproto.CanonicalMIMEHeaderKey(name), v)
	}
	attrs, err := parseObjectAttrs(hdr)
	if err != nil {
		return err
	}
	var tags map[string]string
	if t := f.fields["tagging"]; t != "" {
		tg, err := s3xml.ParseObjectTagging(strings.NewReader(t))
		if err != nil {
			return err
		}
		tags = tg.Map()
	}
	cs, err := newChecksumSet(hdr)
	if err != nil {
		return err
	}
	cs.addDefault()
	md5sum, _, ok := parseContentMD5(hdr)
	if !ok {
		return s3err.New(s3err.InvalidDigest, "")
	}
	body := io.Reader(f.file)
	if lim.hasRange {
		body = io.LimitReader(body, lim.maxSize+1)
	} else {
		body = io.LimitReader(body, maxObjectSize+1)
	}
	w, err := s.writeData(rc, b.Location, body, -1, md5sum, cs)
	if err != nil {
		return err
	}
	maxSize := int64(maxObjectSize)
	if lim.hasRange {
		maxSize = lim.maxSize
	}
	switch {
	case w.Size > maxSize:
		s.deleteData(rc.ctx, []meta.DataRef{{Location: w.Location, Key: w.Key}})
		return s3err.New(s3err.EntityTooLarge, "Your proposed upload exceeds the maximum allowed object size.").
			WithField("ProposedSize", strconv.FormatInt(w.Size, 10)).WithField("MaxSizeAllowed", strconv.FormatInt(maxSize, 10))
	case lim.hasRange && w.Size < lim.minSize:
		s.deleteData(rc.ctx, []meta.DataRef{{Location: w.Location, Key: w.Key}})
		return s3err.New(s3err.EntityTooSmall, "Your proposed upload is smaller than the minimum allowed size").
			WithField("ProposedSize", strconv.FormatInt(w.Size, 10)).WithField("MinSizeAllowed", strconv.FormatInt(lim.minSize, 10))
	}
	obj := meta.Object{
		Bucket: rc.route.Bucket, Key: key, Size: w.Size, ETag: w.ETag,
		ContentType: attrs.ContentType, Headers: attrs.Headers, UserMetadata: attrs.UserMetadata,
		Tags: tags, Checksums: w.Checksums, StorageClass: attrs.StorageClass,
		Location: w.Location, DataKey: w.Key, Owner: principal, LastModified: s.now().UTC(),
	}
	if err := s.setReplication(rc, &obj); err != nil {
		s.deleteData(rc.ctx, []meta.DataRef{{Location: w.Location, Key: w.Key}})
		return err
	}
	res, err := s.store.PutObject(rc.ctx, obj, s.eventFor(rc, events.ObjectCreatedPost))
	if err != nil {
		s.deleteData(rc.ctx, []meta.DataRef{{Location: w.Location, Key: w.Key}})
		return s.metaErr(rc, err)
	}
	s.committed(rc)
	s.deleteData(rc.ctx, res.Displaced)

	h := rc.w.Header()
	etag := quoteETag(res.Object.ETag)
	h.Set("ETag", etag)
	loc := rc.objectURL(key)
	h.Set("Location", loc)
	if v := versionHeader(rc.bucket, res.Object.VersionID); v != "" {
		h.Set("x-amz-version-id", v)
	}
	if redirect := f.fields["success_action_redirect"]; redirect != "" {
		if u, err := url.Parse(redirect); err == nil && (u.Scheme == "http" || u.Scheme == "https") {
			q := u.Query()
			q.Set("bucket", rc.route.Bucket)
			q.Set("key", key)
			q.Set("etag", etag)
			u.RawQuery = q.Encode()
			h.Set("Location", u.String())
			return rc.noBody(http.StatusSeeOther)
		}
	}
	switch f.fields["success_action_status"] {
	case "200":
		return rc.noBody(http.StatusOK)
	case "201":
		return rc.writeXML(http.StatusCreated, postResponse{Location: loc, Bucket: rc.route.Bucket, Key: key, ETag: etag})
	}
	return rc.noBody(http.StatusNoContent)
}

// truncate bounds a client-supplied value echoed in an error body.
func truncate(s string, n int) string {
	if len(s) > n {
		s = s[:n]
	}
	return strings.ToValidUTF8(s, "?")
}

// spacedHex is s as space-separated hex bytes, the form of AWS's
// StringToSignBytes error element.
func spacedHex(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%02x", s[i])
	}
	return b.String()
}
