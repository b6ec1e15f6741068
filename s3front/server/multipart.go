package server

import (
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/sluice-io/sluice/events"
	"github.com/sluice-io/sluice/s3front/meta"
	"github.com/sluice-io/sluice/s3front/s3err"
	"github.com/sluice-io/sluice/s3front/s3xml"
	"github.com/sluice-io/sluice/services/location"
)

func (s *Server) createMultipartUpload(rc *reqCtx) error {
	h := rc.r.Header
	attrs, err := parseObjectAttrs(h)
	if err != nil {
		return err
	}
	tags, err := parseTaggingHeader(h)
	if err != nil {
		return err
	}
	algo := strings.ToUpper(h.Get("X-Amz-Checksum-Algorithm"))
	if algo != "" && newHash(algo) == nil {
		return s3err.New(s3err.InvalidRequest, errUnsupportedAlgo)
	}
	ctype := strings.ToUpper(h.Get("X-Amz-Checksum-Type"))
	_, _, isCRC := crcSpec(algo)
	schema := func() error {
		return s3err.Newf(s3err.InvalidRequest, "The %s checksum type cannot be used with the %s checksum algorithm.", ctype, strings.ToLower(algo))
	}
	switch ctype {
	case "":
		switch {
		case algo == algoCRC64NVME:
			ctype = "FULL_OBJECT" // the only type CRC64NVME has
		case algo != "":
			ctype = "COMPOSITE"
		}
	case "COMPOSITE", "FULL_OBJECT":
		switch {
		case algo == "":
			return s3err.New(s3err.InvalidRequest, "The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header.")
		case ctype == "COMPOSITE" && algo == algoCRC64NVME, ctype == "FULL_OBJECT" && !isCRC:
			return schema()
		}
	default:
		return s3err.New(s3err.InvalidRequest, "Value for x-amz-checksum-type header is invalid.")
	}
	u, err := s.store.CreateUpload(rc.ctx, meta.Upload{
		Bucket:            rc.route.Bucket,
		Key:               rc.route.Key,
		Owner:             rc.principal,
		ContentType:       attrs.ContentType,
		Headers:           attrs.Headers,
		UserMetadata:      attrs.UserMetadata,
		Tags:              tags,
		ChecksumAlgorithm: algo,
		ChecksumType:      ctype,
		StorageClass:      attrs.StorageClass,
		Location:          rc.bucket.Location,
		Initiated:         s.now().UTC(),
	})
	if err != nil {
		return s.metaErr(rc, err)
	}
	if algo != "" {
		rc.w.Header().Set("x-amz-checksum-algorithm", algo)
		rc.w.Header().Set("x-amz-checksum-type", ctype)
	}
	return rc.writeXML(http.StatusOK, s3xml.InitiateMultipartUploadResult{
		Bucket: rc.route.Bucket, Key: rc.route.Key, UploadID: u.ID,
	})
}

// partTarget reads partNumber and uploadId and loads the upload.
func (s *Server) partTarget(rc *reqCtx) (meta.Upload, int, error) {
	pn := rc.query("partNumber")
	n, err := strconv.Atoi(pn)
	if err != nil || n < 1 || n > maxPartNumber {
		return meta.Upload{}, 0, s3err.New(s3err.InvalidArgument, "Part number must be an integer between 1 and 10000, inclusive").
			WithArgument("partNumber", pn)
	}
	u, err := s.store.GetUpload(rc.ctx, rc.route.Bucket, rc.route.Key, rc.query("uploadId"))
	if err != nil {
		return u, n, s.metaErr(rc, err)
	}
	return u, n, nil
}

// uploadPart streams one part to its own data key (ETag = MD5 of the part).
func (s *Server) uploadPart(rc *reqCtx) error {
	h := rc.r.Header
	md5sum, _, ok := parseContentMD5(h)
	if !ok {
		return s3err.New(s3err.InvalidDigest, "")
	}
	cs, err := newChecksumSet(h)
	if err != nil {
		return err
	}
	size := rc.bodySize()
	if size > maxObjectSize {
		return s3err.New(s3err.EntityTooLarge, "").WithField("MaxSizeAllowed", strconv.Itoa(maxObjectSize))
	}
	u, n, err := s.partTarget(rc)
	if err != nil {
		return err
	}
	if u.ChecksumAlgorithm != "" {
		sent := ""
		for _, e := range cs.entries {
			if e.want != "" || e.trailer || sent == "" {
				sent = e.algo
			}
		}
		switch {
		case sent != "" && sent != u.ChecksumAlgorithm:
			return s3err.Newf(s3err.InvalidRequest, "Checksum Type mismatch occurred, expected checksum Type: %s, actual checksum Type: %s",
				u.ChecksumAlgorithm, sent)
		case sent == "" && u.ChecksumType == "COMPOSITE":
			// A composite checksum is built from the parts' own checksums.
			return s3err.Newf(s3err.InvalidRequest, "Checksum Type mismatch occurred, expected checksum Type: %s, actual checksum Type: null",
				u.ChecksumAlgorithm)
		}
		cs.add(u.ChecksumAlgorithm)
	} else {
		cs.addDefault() // lets completion derive the default full-object CRC64NVME
	}
	w, err := s.writeData(rc, u.Location, rc.r.Body, size, md5sum, cs)
	if err != nil {
		return err
	}
	return s.recordPart(rc, u, n, w, cs.declared(w.Checksums))
}

// recordPart stores the part's metadata and answers with its ETag.
func (s *Server) recordPart(rc *reqCtx, u meta.Upload, n int, w written, shown map[string]string) error {
	replaced, err := s.store.PutPart(rc.ctx, rc.route.Bucket, rc.route.Key, u.ID, meta.Part{
		PartNumber:   n,
		Size:         w.Size,
		ETag:         w.ETag,
		Checksums:    w.Checksums,
		Location:     w.Location,
		DataKey:      w.Key,
		LastModified: s.now().UTC(),
	})
	if err != nil {
		s.deleteData(rc.ctx, []meta.DataRef{{Location: w.Location, Key: w.Key}})
		return s.metaErr(rc, err)
	}
	s.deleteData(rc.ctx, replaced)
	if rc.route.Op == OpUploadPartCopy {
		return rc.writeXML(http.StatusOK, s3xml.CopyPartResult{
			ETag:         quoteETag(w.ETag),
			LastModified: s3xml.NewTime(s.now()),
			Checksums:    xmlChecksums(shown),
		})
	}
	hdr := rc.w.Header()
	hdr.Set("ETag", quoteETag(w.ETag))
	for algo, v := range shown {
		hdr.Set(checksumHeader(algo), v)
	}
	return rc.noBody(http.StatusOK)
}

// uploadPartCopy copies a source object, or the x-amz-copy-source-range of
// it, into a part.
func (s *Server) uploadPartCopy(rc *reqCtx) error {
	if _, err := parseCopySource(rc.r.Header.Get("X-Amz-Copy-Source")); err != nil {
		return err
	}
	u, n, err := s.partTarget(rc)
	if err != nil {
		return err
	}
	_, _, sobj, err := s.resolveCopySource(rc)
	if err != nil {
		return err
	}
	var rng *byteRange
	size := sobj.Size
	if v := rc.r.Header.Get("X-Amz-Copy-Source-Range"); v != "" {
		r, ok := parseCopySourceRange(v, sobj.Size)
		if _, wellFormed := parseCopySourceRange(v, 1<<62); wellFormed && !ok {
			return s3err.Newf(s3err.InvalidArgument, "Range specified is not valid for source object of size: %d", sobj.Size).
				WithArgument("x-amz-copy-source-range", v)
		}
		if !ok {
			return s3err.New(s3err.InvalidArgument, "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy").
				WithArgument("x-amz-copy-source-range", v)
		}
		rng, size = &r, r.Length
	}
	if size > maxObjectSize {
		return s3err.New(s3err.EntityTooLarge, "")
	}
	cs := &checksumSet{}
	if u.ChecksumAlgorithm != "" {
		cs.add(u.ChecksumAlgorithm)
	} else {
		cs.addDefault()
	}
	body, err := s.openData(rc.ctx, &sobj, rng)
	if err != nil {
		return err
	}
	w, err := s.writeData(rc, u.Location, body, size, nil, cs)
	_ = body.Close()
	if err != nil {
		return err
	}
	if sobj.VersionID != meta.NullVersion {
		rc.w.Header().Set("x-amz-copy-source-version-id", sobj.VersionID)
	}
	return s.recordPart(rc, u, n, w, cs.declared(w.Checksums))
}

// completeMultipartUpload validates the part list against the uploaded
// parts, assembles the data by concatenation (Composer when the location
// offers it, otherwise by streaming the parts into one new data key), and
// commits the object with an ObjectCreated:CompleteMultipartUpload event.
func (s *Server) completeMultipartUpload(rc *reqCtx) error {
	doc, err := s3xml.ParseCompleteMultipartUpload(rc.r.Body)
	if err != nil {
		return err
	}
	err = s.completeUpload(rc, doc)
	if err == nil || rc.w.wroteHeader {
		return err
	}
	// Completing an upload that a concurrent or earlier request completed
	// with the same parts succeeds, as in S3.
	if _, gerr := s.store.GetUpload(rc.ctx, rc.route.Bucket, rc.route.Key, rc.query("uploadId")); errors.Is(gerr, meta.ErrNoSuchUpload) {
		if out, ok := s.alreadyCompleted(rc, doc); ok {
			return rc.writeXML(http.StatusOK, out)
		}
	}
	return err
}

// alreadyCompleted reports whether the key's current version is the object
// doc describes (same multipart ETag) and returns the completion result.
func (s *Server) alreadyCompleted(rc *reqCtx, doc *s3xml.CompleteMultipartUpload) (s3xml.CompleteMultipartUploadResult, bool) {
	var out s3xml.CompleteMultipartUploadResult
	md5s := md5.New()
	for _, p := range doc.Parts {
		raw, err := hex.DecodeString(trimETag(p.ETag))
		if err != nil {
			return out, false
		}
		md5s.Write(raw)
	}
	etag := hex.EncodeToString(md5s.Sum(nil)) + "-" + strconv.Itoa(len(doc.Parts))
	obj, err := s.store.GetObject(rc.ctx, rc.route.Bucket, rc.route.Key, "")
	if err != nil || obj.ETag != etag {
		return out, false
	}
	if v := versionHeader(rc.bucket, obj.VersionID); v != "" {
		rc.w.Header().Set("x-amz-version-id", v)
	}
	return s3xml.CompleteMultipartUploadResult{
		Location:     rc.objectURL(rc.route.Key),
		Bucket:       rc.route.Bucket,
		Key:          rc.route.Key,
		ETag:         quoteETag(obj.ETag),
		Checksums:    xmlChecksums(obj.Checksums),
		ChecksumType: checksumType(obj.Checksums),
	}, true
}

// completeUpload does the work of completeMultipartUpload.
func (s *Server) completeUpload(rc *reqCtx, doc *s3xml.CompleteMultipartUpload) error {
	uploadID := rc.query("uploadId")
	u, err := s.store.GetUpload(rc.ctx, rc.route.Bucket, rc.route.Key, uploadID)
	if err != nil {
		return s.metaErr(rc, err)
	}
	sentChecksums := 0
	for _, algo := range checksumAlgos {
		if _, ok := rc.r.Header[checksumHeader(algo)]; ok {
			sentChecksums++
		}
	}
	if sentChecksums > 1 {
		return s3err.New(s3err.InvalidRequest, "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.")
	}
	if t, ok := rc.r.Header["X-Amz-Checksum-Type"]; ok {
		ct := strings.ToUpper(strings.Join(t, ""))
		switch {
		case ct != "COMPOSITE" && ct != "FULL_OBJECT":
			return s3err.New(s3err.InvalidRequest, "Value for x-amz-checksum-type header is invalid.")
		case ct != u.ChecksumType:
			return s3err.Newf(s3err.InvalidRequest, "The upload was created using the %s checksum mode. The complete request must use the same checksum mode.",
				orNull(u.ChecksumType))
		}
	}
	if err := s.checkWriteConditions(rc); err != nil {
		return err
	}
	listed, err := s.store.ListParts(rc.ctx, rc.route.Bucket, rc.route.Key, uploadID, 0, maxPartNumber)
	if err != nil {
		return s.metaErr(rc, err)
	}
	have := make(map[int]meta.Part, len(listed.Parts))
	for _, p := range listed.Parts {
		have[p.PartNumber] = p
	}
	parts := make([]meta.Part, 0, len(doc.Parts))
	md5s := md5.New()
	var total int64
	for _, cp := range doc.Parts {
		if err := checkPartChecksums(u, cp); err != nil {
			return err
		}
	}
	for _, cp := range doc.Parts {
		p, ok := have[cp.PartNumber]
		if !ok || trimETag(cp.ETag) != p.ETag || !partChecksumMatches(u, cp, p) {
			return s3err.New(s3err.InvalidPart, "One or more of the specified parts could not be found.  The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.").
				WithUploadID(uploadID).WithField("PartNumber", strconv.Itoa(cp.PartNumber)).WithField("ETag", cp.ETag)
		}
	}
	for i, cp := range doc.Parts {
		p := have[cp.PartNumber]
		if i < len(doc.Parts)-1 && p.Size < minPartSize {
			return s3err.New(s3err.EntityTooSmall, "").
				WithField("ProposedSize", strconv.FormatInt(p.Size, 10)).WithField("MinSizeAllowed", strconv.Itoa(minPartSize))
		}
		raw, err := hex.DecodeString(p.ETag)
		if err != nil {
			return s3err.Internal(fmt.Errorf("part %d has a non-MD5 ETag %q", p.PartNumber, p.ETag))
		}
		md5s.Write(raw)
		total += p.Size
		parts = append(parts, p)
	}
	if v := rc.r.Header.Get("X-Amz-Mp-Object-Size"); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n < 0 {
			return s3err.Newf(s3err.InvalidRequest, "Value for x-amz-mp-object-size header is less than zero: '%d'", n)
		} else if err != nil || n != total {
			return s3err.Newf(s3err.InvalidRequest, "The provided 'x-amz-mp-object-size' header value %s does not match what was computed: %d", v, total)
		}
	}
	etag := hex.EncodeToString(md5s.Sum(nil)) + "-" + strconv.Itoa(len(parts))
	checksums, err := multipartChecksums(u, parts)
	if err != nil {
		return err
	}
	if u.ChecksumAlgorithm != "" {
		for algo, v := range checksums {
			want, sent := rc.r.Header[checksumHeader(algo)]
			if !sent {
				continue
			}
			w := strings.Join(want, "")
			if !validChecksumValue(algo, strings.SplitN(w, "-", 2)[0]) {
				return s3err.Newf(s3err.InvalidRequest, "Value for %s header is invalid.", strings.ToLower(checksumHeader(algo)))
			}
			if w != v && w+"-"+strconv.Itoa(len(parts)) != v {
				return s3err.Newf(s3err.BadDigest, "The %s you specified did not match the calculated checksum.", algo)
			}
		}
	}

	dataKey, err := s.assemble(rc, u, parts, total)
	if err != nil {
		return err
	}
	obj := meta.Object{
		Bucket:       rc.route.Bucket,
		Key:          rc.route.Key,
		Size:         total,
		ETag:         etag,
		ContentType:  u.ContentType,
		Headers:      u.Headers,
		UserMetadata: u.UserMetadata,
		Tags:         u.Tags,
		Checksums:    checksums,
		StorageClass: u.StorageClass,
		Location:     u.Location,
		DataKey:      dataKey,
		Owner:        rc.principal,
		LastModified: s.now().UTC(),
		PartsCount:   len(parts),
		Parts:        parts,
	}
	if err := s.setReplication(rc, &obj); err != nil {
		s.deleteData(rc.ctx, []meta.DataRef{{Location: u.Location, Key: dataKey}})
		return err
	}
	res, err := s.store.CompleteUpload(rc.ctx, uploadID, obj, s.eventFor(rc, events.ObjectCreatedCompleteMultipartUpload))
	if err != nil {
		s.deleteData(rc.ctx, []meta.DataRef{{Location: u.Location, Key: dataKey}})
		return s.metaErr(rc, err)
	}
	s.committed(rc)
	// The parts' bytes now live in the assembled data key: drop them, and
	// whatever else the completion displaced.
	drop := res.Displaced
	for _, p := range parts {
		loc := p.Location
		if loc == "" {
			loc = u.Location
		}
		if p.DataKey != "" && p.DataKey != dataKey {
			drop = append(drop, meta.DataRef{Location: loc, Key: p.DataKey})
		}
	}
	s.deleteData(rc.ctx, drop)
	if v := versionHeader(rc.bucket, res.Object.VersionID); v != "" {
		rc.w.Header().Set("x-amz-version-id", v)
	}
	out := s3xml.CompleteMultipartUploadResult{
		Location:  rc.objectURL(rc.route.Key),
		Bucket:    rc.route.Bucket,
		Key:       rc.route.Key,
		ETag:      quoteETag(res.Object.ETag),
		Checksums: xmlChecksums(checksums),
	}
	out.ChecksumType = checksumType(checksums)
	return rc.writeXML(http.StatusOK, out)
}

// multipartChecksums computes the checksum of an upload that declared an
// algorithm: for COMPOSITE, the checksum of the concatenated part checksums
// suffixed with "-N"; for FULL_OBJECT, the parts' CRCs combined into the
// CRC of the whole object.
func multipartChecksums(u meta.Upload, parts []meta.Part) (map[string]string, error) {
	if u.ChecksumAlgorithm == "" {
		// No declared algorithm: the default full-object CRC64NVME, when
		// every part has one (parts written by this server do).
		crcs := make([]string, len(parts))
		sizes := make([]int64, len(parts))
		for i, p := range parts {
			crcs[i], sizes[i] = p.Checksums[defaultChecksumAlgo], p.Size
		}
		if v, err := combineCRCs(defaultChecksumAlgo, crcs, sizes); err == nil {
			return map[string]string{defaultChecksumAlgo: v}, nil
		}
		return nil, nil
	}
	missing := func() error {
		return s3err.New(s3err.InvalidPart, "A part has no "+u.ChecksumAlgorithm+" checksum.")
	}
	if u.ChecksumType == "FULL_OBJECT" {
		crcs := make([]string, len(parts))
		sizes := make([]int64, len(parts))
		for i, p := range parts {
			crcs[i], sizes[i] = p.Checksums[u.ChecksumAlgorithm], p.Size
		}
		v, err := combineCRCs(u.ChecksumAlgorithm, crcs, sizes)
		if err != nil {
			return nil, missing()
		}
		return map[string]string{u.ChecksumAlgorithm: v}, nil
	}
	h := newHash(u.ChecksumAlgorithm)
	if h == nil {
		return nil, nil
	}
	for _, p := range parts {
		raw, err := base64.StdEncoding.DecodeString(p.Checksums[u.ChecksumAlgorithm])
		if err != nil || len(raw) == 0 {
			return nil, missing()
		}
		h.Write(raw)
	}
	v := base64.StdEncoding.EncodeToString(h.Sum(nil)) + "-" + strconv.Itoa(len(parts))
	return map[string]string{u.ChecksumAlgorithm: v}, nil
}

// assemble concatenates the parts into one new data key.
func (s *Server) assemble(rc *reqCtx, u meta.Upload, parts []meta.Part, total int64) (string, error) {
	d, err := s.location(u.Location)
	if err != nil {
		return "", err
	}
	key := newDataKey(rc.route.Bucket)
	sameLoc := true
	srcs := make([]string, len(parts))
	for i, p := range parts {
		srcs[i] = p.DataKey
		if p.Location != "" && p.Location != u.Location {
			sameLoc = false
		}
	}
	if c, ok := d.(location.Composer); ok && sameLoc {
		if _, err := c.Compose(rc.ctx, key, srcs, location.ComposeOptions{ContentType: u.ContentType}); err != nil {
			return "", s.dataErr(err)
		}
		return key, nil
	}
	pr := &partsReader{s: s, ctx: rc.ctx, obj: &meta.Object{Location: u.Location, Parts: parts}, end: total}
	defer pr.Close()
	if _, err := d.Put(rc.ctx, key, io.Reader(pr), location.PutOptions{Size: total, ContentType: u.ContentType}); err != nil {
		return "", s.dataErr(err)
	}
	return key, nil
}

func (s *Server) abortMultipartUpload(rc *reqCtx) error {
	refs, err := s.store.AbortUpload(rc.ctx, rc.route.Bucket, rc.route.Key, rc.query("uploadId"))
	if err != nil {
		return s.metaErr(rc, err)
	}
	s.deleteData(rc.ctx, refs)
	return rc.noBody(http.StatusNoContent)
}

func (s *Server) listParts(rc *reqCtx) error {
	uploadID := rc.query("uploadId")
	maxParts := 1000
	if v := rc.query("max-parts"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return s3err.New(s3err.InvalidArgument, "Provided max-parts not an integer or within integer range").WithArgument("max-parts", v)
		}
		maxParts = min(n, 1000)
	}
	marker := 0
	if v := rc.query("part-number-marker"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return s3err.New(s3err.InvalidArgument, "Provided part-number-marker not an integer or within integer range").WithArgument("part-number-marker", v)
		}
		marker = n
	}
	u, err := s.store.GetUpload(rc.ctx, rc.route.Bucket, rc.route.Key, uploadID)
	if err != nil {
		return s.metaErr(rc, err)
	}
	res, err := s.store.ListParts(rc.ctx, rc.route.Bucket, rc.route.Key, uploadID, marker, maxParts)
	if err != nil {
		return s.metaErr(rc, err)
	}
	out := s3xml.ListPartsResult{
		Bucket:               rc.route.Bucket,
		Key:                  rc.route.Key,
		UploadID:             uploadID,
		PartNumberMarker:     marker,
		NextPartNumberMarker: res.NextPartNumberMarker,
		MaxParts:             maxParts,
		IsTruncated:          res.IsTruncated,
		Initiator:            &s3xml.Initiator{ID: u.Owner, DisplayName: u.Owner},
		Owner:                &s3xml.Owner{ID: u.Owner, DisplayName: u.Owner},
		StorageClass:         storageClassOf(u.StorageClass),
		ChecksumAlgorithm:    u.ChecksumAlgorithm,
		ChecksumType:         u.ChecksumType,
	}
	for _, p := range res.Parts {
		part := s3xml.Part{
			PartNumber:   p.PartNumber,
			LastModified: s3xml.NewTime(p.LastModified),
			ETag:         quoteETag(p.ETag),
			Size:         p.Size,
		}
		if u.ChecksumAlgorithm != "" { // the default CRC64NVME stays internal
			part.Checksums = xmlChecksums(map[string]string{u.ChecksumAlgorithm: p.Checksums[u.ChecksumAlgorithm]})
		}
		out.Parts = append(out.Parts, part)
	}
	return rc.writeXML(http.StatusOK, out)
}

// partChecksumMatches reports whether the checksum a completion request
// lists for a part (for the upload's algorithm) equals the stored one.
func partChecksumMatches(u meta.Upload, cp s3xml.CompletedPart, p meta.Part) bool {
	if u.ChecksumAlgorithm == "" {
		return true
	}
	for _, kv := range cp.Checksums.ByAlgorithm() {
		if kv[0] == u.ChecksumAlgorithm {
			return kv[1] == p.Checksums[u.ChecksumAlgorithm]
		}
	}
	return true
}

// checkPartChecksums checks the checksums a CompleteMultipartUpload part
// lists, as AWS does before looking the part up: at most one, valid
// base64 of its algorithm's size (InvalidArgument otherwise); of the
// upload's algorithm (BadDigest otherwise); and present when the upload
// has an algorithm (InvalidRequest otherwise).
func checkPartChecksums(u meta.Upload, cp s3xml.CompletedPart) error {
	var sent []struct{ algo, v string }
	for _, kv := range cp.Checksums.ByAlgorithm() {
		sent = append(sent, struct{ algo, v string }{kv[0], kv[1]})
	}
	invalid := func(value string) error {
		return s3err.New(s3err.InvalidArgument, "Invalid Base64 or multiple checksums present in request").WithArgument("Checksum", value)
	}
	switch {
	case len(sent) > 1:
		var b strings.Builder
		for _, c := range sent {
			b.WriteString(c.algo + ":" + c.v + ";")
		}
		return invalid(b.String())
	case len(sent) == 1 && !validChecksumValue(sent[0].algo, sent[0].v):
		return invalid(sent[0].v)
	case u.ChecksumAlgorithm == "":
		return nil
	case len(sent) == 0:
		return s3err.Newf(s3err.InvalidRequest, "The upload was created using a %s checksum. The complete request must include the checksum for each part. It was missing for part %d in the request.",
			strings.ToLower(u.ChecksumAlgorithm), cp.PartNumber)
	case sent[0].algo != u.ChecksumAlgorithm:
		return s3err.Newf(s3err.BadDigest, "The %s you specified for part %d did not match what we received.", strings.ToLower(sent[0].algo), cp.PartNumber)
	}
	return nil
}

func orNull(s string) string {
	if s == "" {
		return "null"
	}
	return s
}
