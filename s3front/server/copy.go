package server

import (
	"errors"
	"maps"
	"net/http"
	"net/url"
	"strings"

	"github.com/sluice-io/sluice/events"
	"github.com/sluice-io/sluice/s3front/meta"
	"github.com/sluice-io/sluice/s3front/s3err"
	"github.com/sluice-io/sluice/s3front/s3xml"
)

// copySource is a parsed x-amz-copy-source header.
type copySource struct {
	Bucket, Key, VersionID string
}

// parseCopySource reads "[/]bucket/key[?versionId=id]" with the bucket and
// key URL-encoded. Errors: InvalidArgument.
func parseCopySource(h string) (copySource, error) {
	bad := func() (copySource, error) {
		return copySource{}, s3err.New(s3err.InvalidArgument, "Copy Source must mention the source bucket and key: sourcebucket/sourcekey").
			WithArgument("x-amz-copy-source", h)
	}
	path, query, _ := strings.Cut(h, "?")
	p, err := url.PathUnescape(path)
	if err != nil {
		return bad()
	}
	p = strings.TrimPrefix(p, "/")
	bucket, key, ok := strings.Cut(p, "/")
	if !ok || bucket == "" || key == "" {
		return bad()
	}
	cs := copySource{Bucket: bucket, Key: key}
	if query != "" {
		q, err := url.ParseQuery(query)
		if err != nil {
			return bad()
		}
		if vs, ok := q["versionId"]; ok {
			if vs[0] == "" {
				return copySource{}, s3err.New(s3err.InvalidArgument, "Version id cannot be the empty string").
					WithArgument("versionId", "")
			}
			cs.VersionID = vs[0]
		}
	}
	return cs, nil
}

// resolveCopySource parses x-amz-copy-source, checks that the caller owns
// the source bucket, reads the source version and applies the
// x-amz-copy-source-if-* conditions.
func (s *Server) resolveCopySource(rc *reqCtx) (copySource, meta.Bucket, meta.Object, error) {
	src, err := parseCopySource(rc.r.Header.Get("X-Amz-Copy-Source"))
	if err != nil {
		return src, meta.Bucket{}, meta.Object{}, err
	}
	sb, err := s.store.GetBucket(rc.ctx, src.Bucket)
	if err != nil {
		if errors.Is(err, meta.ErrNoSuchBucket) {
			return src, sb, meta.Object{}, s3err.New(s3err.NoSuchBucket, "").WithBucket(src.Bucket)
		}
		return src, sb, meta.Object{}, s.metaErr(rc, err)
	}
	if sb.Owner != rc.principal || !s.expectedOwner(rc, rc.r.Header.Get("X-Amz-Source-Expected-Bucket-Owner"), sb.Owner) {
		return src, sb, meta.Object{}, s3err.New(s3err.AccessDenied, "")
	}
	obj, err := s.store.GetObject(rc.ctx, src.Bucket, src.Key, src.VersionID)
	if err != nil {
		var dm *meta.DeleteMarkerError
		switch {
		case errors.As(err, &dm) && dm.Explicit:
			return src, sb, obj, s3err.New(s3err.InvalidRequest, "The source of a copy request may not specifically refer to a delete marker by version id.")
		case errors.Is(err, meta.ErrNoSuchKey):
			return src, sb, obj, s3err.New(s3err.NoSuchKey, "").WithKey(src.Key)
		case errors.Is(err, meta.ErrNoSuchVersion):
			return src, sb, obj, s3err.New(s3err.NoSuchVersion, "").WithKey(src.Key).WithVersionID(src.VersionID)
		}
		return src, sb, obj, s.metaErr(rc, err)
	}
	if copySourceConditions(rc.r.Header).evaluateCopy(obj.ETag, obj.LastModified) != condProceed {
		return src, sb, obj, s3err.New(s3err.PreconditionFailed, "At least one of the pre-conditions you specified did not hold")
	}
	return src, sb, obj, nil
}

// directive reads a COPY/REPLACE directive header (default COPY).
func directive(h http.Header, name string) (string, error) {
	v := strings.ToUpper(h.Get(name))
	switch v {
	case "", "COPY":
		return "COPY", nil
	case "REPLACE":
		return v, nil
	}
	what := strings.ToLower(strings.TrimPrefix(strings.TrimSuffix(name, "-Directive"), "X-Amz-"))
	return "", s3err.Newf(s3err.InvalidArgument, "Unknown %s directive.", what).WithArgument(strings.ToLower(name), h.Get(name))
}

// copyObject copies a source version into the addressed key, streaming
// location to location (the buckets may live in different locations), and
// commits it with an ObjectCreated:Copy event.
func (s *Server) copyObject(rc *reqCtx) error {
	h := rc.r.Header
	metaDir, err := directive(h, "X-Amz-Metadata-Directive")
	if err != nil {
		return err
	}
	tagDir, err := directive(h, "X-Amz-Tagging-Directive")
	if err != nil {
		return err
	}
	attrs, err := parseObjectAttrs(h) // validated whatever the directive
	if err != nil {
		return err
	}
	reqAlgo := strings.ToUpper(h.Get("X-Amz-Checksum-Algorithm"))
	if reqAlgo != "" && newHash(reqAlgo) == nil {
		return s3err.New(s3err.InvalidRequest, errUnsupportedAlgo)
	}
	src, _, sobj, err := s.resolveCopySource(rc)
	if err != nil {
		return err
	}
	if src.Bucket == rc.route.Bucket && src.Key == rc.route.Key && metaDir != "REPLACE" &&
		h.Get("X-Amz-Storage-Class") == "" && h.Get("X-Amz-Website-Redirect-Location") == "" {
		return s3err.New(s3err.InvalidRequest, "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.")
	}
	obj := meta.Object{
		Bucket:       rc.route.Bucket,
		Key:          rc.route.Key,
		ContentType:  sobj.ContentType,
		Headers:      sobj.Headers,
		UserMetadata: sobj.UserMetadata,
		Tags:         sobj.Tags,
		StorageClass: sobj.StorageClass,
		Owner:        rc.principal,
		LastModified: s.now().UTC(),
	}
	if metaDir == "REPLACE" {
		obj.ContentType, obj.Headers, obj.UserMetadata = attrs.ContentType, attrs.Headers, attrs.UserMetadata
		obj.StorageClass = attrs.StorageClass
	} else {
		// The website redirect belongs to the source object only.
		if _, ok := obj.Headers["X-Amz-Website-Redirect-Location"]; ok {
			hs := make(map[string]string, len(obj.Headers))
			for k, v := range obj.Headers {
				if k != "X-Amz-Website-Redirect-Location" {
					hs[k] = v
				}
			}
			obj.Headers = hs
		}
		if v := h.Get("X-Amz-Website-Redirect-Location"); v != "" {
			obj.Headers = maps.Clone(obj.Headers)
			if obj.Headers == nil {
				obj.Headers = map[string]string{}
			}
			obj.Headers["X-Amz-Website-Redirect-Location"] = v
		}
	}
	if sc := h.Get("X-Amz-Storage-Class"); sc != "" {
		if !storageClasses[sc] {
			return s3err.New(s3err.InvalidStorageClass, "")
		}
		obj.StorageClass = sc
		if sc == "STANDARD" {
			obj.StorageClass = ""
		}
	}
	if tagDir == "REPLACE" {
		if obj.Tags, err = parseTaggingHeader(h); err != nil {
			return err
		}
	}
	// Recompute the checksums the source had, plus any the request asks for.
	cs := &checksumSet{}
	if reqAlgo != "" {
		cs.add(reqAlgo)
	} else {
		for _, algo := range checksumAlgos {
			if _, ok := sobj.Checksums[algo]; ok {
				cs.add(algo)
			}
		}
	}
	cs.addDefault()
	body, err := s.openData(rc.ctx, &sobj, nil)
	if err != nil {
		return err
	}
	w, err := s.writeData(rc, rc.bucket.Location, body, sobj.Size, nil, cs)
	_ = body.Close()
	if err != nil {
		return err
	}
	obj.Size, obj.ETag, obj.Location, obj.DataKey, obj.Checksums = w.Size, w.ETag, w.Location, w.Key, w.Checksums
	if err := s.setReplication(rc, &obj); err != nil {
		s.deleteData(rc.ctx, []meta.DataRef{{Location: w.Location, Key: w.Key}})
		return err
	}
	res, err := s.store.PutObject(rc.ctx, obj, s.eventFor(rc, events.ObjectCreatedCopy))
	if err != nil {
		s.deleteData(rc.ctx, []meta.DataRef{{Location: w.Location, Key: w.Key}})
		return s.metaErr(rc, err)
	}
	s.committed(rc)
	s.deleteData(rc.ctx, res.Displaced)
	hdr := rc.w.Header()
	if v := versionHeader(rc.bucket, res.Object.VersionID); v != "" {
		hdr.Set("x-amz-version-id", v)
	}
	if src.VersionID != "" || sobj.VersionID != meta.NullVersion {
		hdr.Set("x-amz-copy-source-version-id", sobj.VersionID)
	}
	out := s3xml.CopyObjectResult{
		ETag:         quoteETag(res.Object.ETag),
		LastModified: s3xml.NewTime(res.Object.LastModified),
		Checksums:    xmlChecksums(res.Object.Checksums),
	}
	out.ChecksumType = checksumType(res.Object.Checksums)
	return rc.writeXML(http.StatusOK, out)
}

// xmlChecksums converts an algorithm → base64 map to the XML elements.
func xmlChecksums(m map[string]string) s3xml.Checksums {
	return s3xml.Checksums{
		ChecksumCRC32:     m[algoCRC32],
		ChecksumCRC32C:    m[algoCRC32C],
		ChecksumCRC64NVME: m[algoCRC64NVME],
		ChecksumSHA1:      m[algoSHA1],
		ChecksumSHA256:    m[algoSHA256],
		ChecksumSHA512:    m[algoSHA512],
		ChecksumMD5:       m[algoMD5],
		ChecksumXXHASH64:  m[algoXXHASH64],
		ChecksumXXHASH3:   m[algoXXHASH3],
		ChecksumXXHASH128: m[algoXXHASH128],
	}
}
