package server

import (
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/sluice-io/sluice/s3front/meta"
	"github.com/sluice-io/sluice/s3front/s3err"
	"github.com/sluice-io/sluice/s3front/s3xml"
)

// maxListKeys is the page size limit of every listing.
const maxListKeys = 1000

// listParams are the query parameters shared by the listings.
type listParams struct {
	prefix, delimiter string
	max               int
	encode            func(string) string
	encodingType      string
}

// parseListParams reads prefix, delimiter, encoding-type and the page size
// parameter maxName (max-keys, max-uploads, max-parts).
func parseListParams(rc *reqCtx, maxName string) (listParams, error) {
	p := listParams{
		prefix:    rc.query("prefix"),
		delimiter: rc.query("delimiter"),
		max:       maxListKeys,
		encode:    func(s string) string { return s },
	}
	if v := rc.query(maxName); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return p, s3err.New(s3err.InvalidArgument, "Provided "+maxName+" not an integer or within integer range").
				WithArgument(maxName, v)
		}
		p.max = min(n, maxListKeys)
	}
	switch et := rc.query("encoding-type"); et {
	case "":
	case s3xml.EncodingTypeURL:
		p.encodingType = et
		p.encode = urlEncode
	default:
		return p, s3err.New(s3err.InvalidArgument, "Invalid Encoding Method specified in Request").
			WithArgument("encoding-type", et)
	}
	return p, nil
}

// urlEncode encodes a key the way S3 does for encoding-type=url: form
// encoding with "/" kept.
func urlEncode(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "%2F", "/")
}

func (p listParams) prefixes(in []string) []s3xml.CommonPrefix {
	out := make([]s3xml.CommonPrefix, len(in))
	for i, cp := range in {
		out[i] = s3xml.CommonPrefix{Prefix: p.encode(cp)}
	}
	return out
}

func listEntry(o *meta.Object, enc func(string) string, owner bool) s3xml.Object {
	e := s3xml.Object{
		Key:          enc(o.Key),
		LastModified: s3xml.NewTime(o.LastModified),
		ETag:         quoteETag(o.ETag),
		Size:         o.Size,
		StorageClass: storageClassOf(o.StorageClass),
	}
	if owner {
		e.Owner = &s3xml.Owner{ID: o.Owner, DisplayName: o.Owner}
	}
	for _, algo := range checksumAlgos {
		if _, ok := o.Checksums[algo]; ok {
			e.ChecksumAlgorithm = append(e.ChecksumAlgorithm, algo)
		}
	}
	e.ChecksumType = checksumType(o.Checksums)
	return e
}

func storageClassOf(sc string) string {
	if sc == "" {
		return "STANDARD"
	}
	return sc
}

func (s *Server) listObjectsV1(rc *reqCtx) error {
	p, err := parseListParams(rc, "max-keys")
	if err != nil {
		return err
	}
	marker := rc.query("marker")
	res, err := s.store.ListObjects(rc.ctx, meta.ListObjectsInput{
		Bucket: rc.route.Bucket, Prefix: p.prefix, Delimiter: p.delimiter,
		StartAfter: marker, MaxKeys: p.max,
	})
	if err != nil {
		return s.metaErr(rc, err)
	}
	out := s3xml.ListBucketResult{
		Name:           rc.route.Bucket,
		Prefix:         p.encode(p.prefix),
		Marker:         p.encode(marker),
		MaxKeys:        p.max,
		Delimiter:      p.encode(p.delimiter),
		IsTruncated:    res.IsTruncated,
		CommonPrefixes: p.prefixes(res.CommonPrefixes),
		EncodingType:   p.encodingType,
	}
	if res.IsTruncated {
		out.NextMarker = p.encode(res.NextMarker)
	}
	for i := range res.Objects {
		out.Contents = append(out.Contents, listEntry(&res.Objects[i], p.encode, true))
	}
	return rc.writeXML(http.StatusOK, out)
}

// encodeToken and decodeToken make the opaque V2 continuation token.
func encodeToken(key string) string {
	return base64.RawURLEncoding.EncodeToString([]byte("k:" + key))
}

func decodeToken(tok string) (string, bool) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return "", false
	}
	k, ok := strings.CutPrefix(string(b), "k:")
	return k, ok
}

func (s *Server) listObjectsV2(rc *reqCtx) error {
	p, err := parseListParams(rc, "max-keys")
	if err != nil {
		return err
	}
	startAfter := rc.query("start-after")
	after := startAfter
	token := rc.query("continuation-token")
	if rc.hasQuery("continuation-token") {
		k, ok := decodeToken(token)
		if !ok || token == "" {
			return s3err.New(s3err.InvalidArgument, "The continuation token provided is incorrect").
				WithArgument("continuation-token", token)
		}
		if k > after {
			after = k
		}
	}
	res, err := s.store.ListObjects(rc.ctx, meta.ListObjectsInput{
		Bucket: rc.route.Bucket, Prefix: p.prefix, Delimiter: p.delimiter,
		StartAfter: after, MaxKeys: p.max,
	})
	if err != nil {
		return s.metaErr(rc, err)
	}
	fetchOwner := rc.query("fetch-owner") == "true"
	out := s3xml.ListBucketResultV2{
		Name:              rc.route.Bucket,
		Prefix:            p.encode(p.prefix),
		ContinuationToken: token,
		StartAfter:        p.encode(startAfter),
		KeyCount:          len(res.Objects) + len(res.CommonPrefixes),
		MaxKeys:           p.max,
		Delimiter:         p.encode(p.delimiter),
		IsTruncated:       res.IsTruncated,
		CommonPrefixes:    p.prefixes(res.CommonPrefixes),
		EncodingType:      p.encodingType,
	}
	if res.IsTruncated {
		out.NextContinuationToken = encodeToken(res.NextMarker)
	}
	for i := range res.Objects {
		out.Contents = append(out.Contents, listEntry(&res.Objects[i], p.encode, fetchOwner))
	}
	return rc.writeXML(http.StatusOK, out)
}

func (s *Server) listObjectVersions(rc *reqCtx) error {
	p, err := parseListParams(rc, "max-keys")
	if err != nil {
		return err
	}
	keyMarker, vidMarker := rc.query("key-marker"), rc.query("version-id-marker")
	if vidMarker != "" && keyMarker == "" {
		return s3err.New(s3err.InvalidArgument, "A version-id marker cannot be specified without a key marker.").
			WithArgument("version-id-marker", vidMarker)
	}
	res, err := s.store.ListObjectVersions(rc.ctx, meta.ListVersionsInput{
		Bucket: rc.route.Bucket, Prefix: p.prefix, Delimiter: p.delimiter,
		KeyMarker: keyMarker, VersionIDMarker: vidMarker, MaxKeys: p.max,
	})
	if err != nil {
		return s.metaErr(rc, err)
	}
	out := s3xml.ListVersionsResult{
		Name:            rc.route.Bucket,
		Prefix:          p.encode(p.prefix),
		KeyMarker:       p.encode(keyMarker),
		VersionIDMarker: vidMarker,
		MaxKeys:         p.max,
		Delimiter:       p.encode(p.delimiter),
		IsTruncated:     res.IsTruncated,
		CommonPrefixes:  p.prefixes(res.CommonPrefixes),
		EncodingType:    p.encodingType,
	}
	if res.IsTruncated {
		out.NextKeyMarker = p.encode(res.NextKeyMarker)
		out.NextVersionIDMarker = res.NextVersionIDMarker
	}
	for i := range res.Versions {
		v := &res.Versions[i]
		owner := &s3xml.Owner{ID: v.Owner, DisplayName: v.Owner}
		if v.IsDeleteMarker {
			out.DeleteMarkers = append(out.DeleteMarkers, s3xml.DeleteMarkerEntry{
				Key: p.encode(v.Key), VersionID: v.VersionID, IsLatest: v.IsLatest,
				LastModified: s3xml.NewTime(v.LastModified), Owner: owner,
			})
			continue
		}
		e := listEntry(v, p.encode, true)
		out.Versions = append(out.Versions, s3xml.ObjectVersion{
			Key: e.Key, VersionID: v.VersionID, IsLatest: v.IsLatest, LastModified: e.LastModified,
			ETag: e.ETag, Size: e.Size, StorageClass: e.StorageClass, Owner: owner,
			ChecksumAlgorithm: e.ChecksumAlgorithm, ChecksumType: e.ChecksumType,
		})
	}
	return rc.writeXML(http.StatusOK, out)
}

// checkUploadIDMarker refuses, as AWS does, an upload-id-marker that is
// not an upload of the key marker when the key marker has uploads (an
// upload-id-marker without a key marker is ignored).
func (s *Server) checkUploadIDMarker(rc *reqCtx, keyMarker, idMarker string) error {
	_, err := s.store.GetUpload(rc.ctx, rc.route.Bucket, keyMarker, idMarker)
	if err == nil {
		return nil
	}
	if !errors.Is(err, meta.ErrNoSuchUpload) {
		return s.metaErr(rc, err)
	}
	res, err := s.store.ListUploads(rc.ctx, meta.ListUploadsInput{Bucket: rc.route.Bucket, Prefix: keyMarker, MaxUploads: 1})
	if err != nil {
		return s.metaErr(rc, err)
	}
	if len(res.Uploads) > 0 && res.Uploads[0].Key == keyMarker {
		return s3err.New(s3err.InvalidArgument, "Invalid uploadId marker").WithArgument("upload-id-marker", idMarker)
	}
	return nil
}

func (s *Server) listMultipartUploads(rc *reqCtx) error {
	p, err := parseListParams(rc, "max-uploads")
	if err != nil {
		return err
	}
	keyMarker, idMarker := rc.query("key-marker"), rc.query("upload-id-marker")
	if idMarker != "" && keyMarker != "" {
		if err := s.checkUploadIDMarker(rc, keyMarker, idMarker); err != nil {
			return err
		}
	}
	res, err := s.store.ListUploads(rc.ctx, meta.ListUploadsInput{
		Bucket: rc.route.Bucket, Prefix: p.prefix, Delimiter: p.delimiter,
		KeyMarker: keyMarker, UploadIDMarker: idMarker, MaxUploads: p.max,
	})
	if err != nil {
		return s.metaErr(rc, err)
	}
	out := s3xml.ListMultipartUploadsResult{
		Bucket:         rc.route.Bucket,
		KeyMarker:      p.encode(keyMarker),
		UploadIDMarker: idMarker,
		Prefix:         p.encode(p.prefix),
		Delimiter:      p.encode(p.delimiter),
		MaxUploads:     p.max,
		IsTruncated:    res.IsTruncated,
		CommonPrefixes: p.prefixes(res.CommonPrefixes),
		EncodingType:   p.encodingType,
	}
	if res.IsTruncated {
		out.NextKeyMarker = p.encode(res.NextKeyMarker)
		out.NextUploadIDMarker = res.NextUploadIDMarker
	}
	for _, u := range res.Uploads {
		out.Uploads = append(out.Uploads, s3xml.Upload{
			Key:               p.encode(u.Key),
			UploadID:          u.ID,
			Initiator:         &s3xml.Initiator{ID: u.Owner, DisplayName: u.Owner},
			Owner:             &s3xml.Owner{ID: u.Owner, DisplayName: u.Owner},
			StorageClass:      storageClassOf(u.StorageClass),
			Initiated:         s3xml.NewTime(u.Initiated),
			ChecksumAlgorithm: u.ChecksumAlgorithm,
			ChecksumType:      u.ChecksumType,
		})
	}
	return rc.writeXML(http.StatusOK, out)
}
