package server

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"hash"
	"hash/crc32"
	"hash/crc64"
	"io"
	"net/http"
	"strings"

	"github.com/cespare/xxhash/v2"
	"github.com/zeebo/xxh3"

	"github.com/sluice-io/sluice/s3front/s3err"
)

// Checksum algorithm names as S3 spells them in x-amz-checksum-algorithm.
const (
	algoCRC32     = "CRC32"
	algoCRC32C    = "CRC32C"
	algoCRC64NVME = "CRC64NVME"
	algoSHA1      = "SHA1"
	algoSHA256    = "SHA256"
	algoSHA512    = "SHA512"
	algoMD5       = "MD5"
	algoXXHASH64  = "XXHASH64"
	algoXXHASH3   = "XXHASH3"
	algoXXHASH128 = "XXHASH128"
)

// checksumAlgos lists the supported algorithms in a stable order: every
// algorithm S3 defines.
var checksumAlgos = []string{algoCRC32, algoCRC32C, algoCRC64NVME, algoSHA1, algoSHA256, algoSHA512, algoMD5,
	algoXXHASH64, algoXXHASH3, algoXXHASH128}

// defaultChecksumAlgo is computed for every object written without any
// checksum, as S3 does.
const defaultChecksumAlgo = algoCRC64NVME

var (
	castagnoli = crc32.MakeTable(crc32.Castagnoli)
	// crc64NVME is the CRC-64/NVME polynomial in reversed form; Go's crc64
	// applies the same initial and final inversion as the NVMe definition.
	crc64NVME = crc64.MakeTable(0x9a6c9329ac4bc9b5)
)

// errChecksumMismatch: a computed checksum differs from the one the client
// sent. Verify returns it inside a *checksumMismatch naming the algorithm.
var errChecksumMismatch = errors.New("checksum mismatch")

// errChecksumInvalid: a checksum header is not valid base64 of the right
// length for its algorithm. Handlers map it to InvalidRequest.
var errChecksumInvalid = errors.New("invalid checksum value")

// trailerChecksumInvalid is errChecksumInvalid for a trailing header,
// naming it as AWS does.
type trailerChecksumInvalid struct{ header string }

func (e *trailerChecksumInvalid) Error() string        { return "invalid trailing checksum " + e.header }
func (e *trailerChecksumInvalid) Is(target error) bool { return target == errChecksumInvalid }

// checksumMismatch names the algorithm whose value did not match.
type checksumMismatch struct{ algo string }

func (e *checksumMismatch) Error() string        { return "checksum mismatch: " + e.algo }
func (e *checksumMismatch) Is(target error) bool { return target == errChecksumMismatch }

// checksumError maps an error of newChecksumSet or Verify to the S3 error:
// BadDigest naming the algorithm for a mismatch, InvalidRequest otherwise.
func checksumError(err error) error {
	var m *checksumMismatch
	if errors.As(err, &m) {
		return s3err.Newf(s3err.BadDigest, "The %s you specified did not match the calculated checksum.", m.algo)
	}
	var se *s3err.Error
	if errors.As(err, &se) {
		return se
	}
	var tr *trailerChecksumInvalid
	if errors.As(err, &tr) {
		return s3err.Newf(s3err.InvalidRequest, "Value for %s trailing header is invalid.", tr.header)
	}
	return s3err.New(s3err.InvalidRequest, "Value for x-amz-checksum header is invalid.")
}

func newHash(algo string) hash.Hash {
	switch algo {
	case algoCRC32:
		return crc32.NewIEEE()
	case algoCRC32C:
		return crc32.New(castagnoli)
	case algoCRC64NVME:
		return crc64.New(crc64NVME)
	case algoSHA1:
		return sha1.New()
	case algoSHA256:
		return sha256.New()
	case algoSHA512:
		return sha512.New()
	case algoMD5:
		return md5.New()
	case algoXXHASH64:
		return xxhash.New()
	case algoXXHASH3:
		return xxh3.New()
	case algoXXHASH128:
		return xxh3.New128()
	}
	return nil
}

// checksumHeader returns the canonical header name of an algorithm's
// checksum: X-Amz-Checksum-Crc32, X-Amz-Checksum-Crc64nvme, ...
func checksumHeader(algo string) string {
	return http.CanonicalHeaderKey("X-Amz-Checksum-" + strings.ToLower(algo))
}

// checksumEntry is one algorithm being computed, with the value to verify
// when the client sent one (now, or later in a trailer).
type checksumEntry struct {
	algo     string
	h        hash.Hash
	want     string // base64; "" until known
	trailer  bool   // value arrives in the trailer
	implicit bool   // computed by default, not asked for by the client
}

// checksumSet computes every checksum a request declares while its body
// streams through Writer, then verifies them.
type checksumSet struct {
	entries []*checksumEntry
}

// newChecksumSet reads the x-amz-checksum-* headers, the x-amz-trailer
// declaration and x-amz-sdk-checksum-algorithm / x-amz-checksum-algorithm
// (which ask the server to compute and store a checksum). At most one
// checksum value may be sent, and it must be for the declared algorithm.
// It returns *s3err.Error InvalidRequest for malformed values, several
// values, a value that contradicts the declared algorithm, or an
// unsupported algorithm.
func newChecksumSet(h http.Header) (*checksumSet, error) {
	cs := &checksumSet{}
	invalid := func(msg string) (*checksumSet, error) {
		return nil, s3err.New(s3err.InvalidRequest, msg)
	}
	var valued []string
	for _, algo := range checksumAlgos {
		if _, ok := h[checksumHeader(algo)]; ok { // an empty value counts
			valued = append(valued, algo)
		}
	}
	if len(valued) > 1 {
		return invalid("Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.")
	}
	for _, algo := range valued {
		v := h.Get(checksumHeader(algo))
		if !validChecksumValue(algo, v) {
			return invalid("Value for " + strings.ToLower(checksumHeader(algo)) + " header is invalid.")
		}
		cs.add(algo).want = v
	}
	for t := range strings.SplitSeq(h.Get("X-Amz-Trailer"), ",") {
		t = strings.TrimSpace(strings.ToLower(t))
		if t == "" {
			continue
		}
		name, ok := strings.CutPrefix(t, "x-amz-checksum-")
		if !ok {
			continue
		}
		algo := strings.ToUpper(name)
		if newHash(algo) == nil {
			return invalid("The algorithm in x-amz-trailer is not supported.")
		}
		cs.add(algo).trailer = true
		valued = append(valued, algo)
	}
	if len(valued) > 1 {
		return invalid("Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.")
	}
	for _, hdr := range []string{"X-Amz-Sdk-Checksum-Algorithm", "X-Amz-Checksum-Algorithm"} {
		v := strings.ToUpper(strings.TrimSpace(h.Get(hdr)))
		if v == "" {
			continue
		}
		if newHash(v) == nil {
			return invalid(errUnsupportedAlgo)
		}
		if len(valued) == 1 && valued[0] != v {
			return invalid("Value for " + strings.ToLower(hdr) + " header is invalid.")
		}
		cs.add(v)
	}
	return cs, nil
}

// add returns the entry of algo, creating it.
func (cs *checksumSet) add(algo string) *checksumEntry {
	for _, e := range cs.entries {
		if e.algo == algo {
			return e
		}
	}
	e := &checksumEntry{algo: algo, h: newHash(algo)}
	cs.entries = append(cs.entries, e)
	return e
}

// addDefault adds the default algorithm when no checksum was declared.
func (cs *checksumSet) addDefault() {
	if len(cs.entries) == 0 {
		cs.add(defaultChecksumAlgo).implicit = true
	}
}

// declared returns the computed values of the algorithms the client asked
// for (not the implicit default), for response headers.
func (cs *checksumSet) declared(all map[string]string) map[string]string {
	out := map[string]string{}
	for _, e := range cs.entries {
		if v, ok := all[e.algo]; ok && !e.implicit {
			out[e.algo] = v
		}
	}
	return out
}

// errUnsupportedAlgo is the message for an unknown checksum algorithm.
const errUnsupportedAlgo = "Checksum algorithm provided is unsupported. Please try again with any of the valid types: [CRC32, CRC32C, CRC64NVME, MD5, SHA1, SHA256, SHA512, XXHASH128, XXHASH3, XXHASH64]"

func validChecksumValue(algo, v string) bool {
	b, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		return false
	}
	return len(b) == newHash(algo).Size()
}

// Writer returns the writer that feeds every hash; nil when there is none.
func (cs *checksumSet) Writer() io.Writer {
	if len(cs.entries) == 0 {
		return nil
	}
	ws := make([]io.Writer, len(cs.entries))
	for i, e := range cs.entries {
		ws[i] = e.h
	}
	return io.MultiWriter(ws...)
}

// Wrap returns r teed into the hashes.
func (cs *checksumSet) Wrap(r io.Reader) io.Reader {
	if w := cs.Writer(); w != nil {
		return io.TeeReader(r, w)
	}
	return r
}

// Verify compares the computed values with the declared ones; trailer
// supplies the values of trailer-declared checksums (it may be nil). It
// returns errChecksumMismatch on any difference, and errChecksumInvalid
// when a declared trailer value is missing or malformed.
func (cs *checksumSet) Verify(trailer http.Header) error {
	for _, e := range cs.entries {
		want := e.want
		if e.trailer && want == "" {
			if trailer != nil {
				want = trailer.Get(checksumHeader(e.algo))
			}
			if want == "" || !validChecksumValue(e.algo, want) {
				return &trailerChecksumInvalid{header: strings.ToLower(checksumHeader(e.algo))}
			}
		}
		if want == "" {
			continue
		}
		if base64.StdEncoding.EncodeToString(e.h.Sum(nil)) != want {
			return &checksumMismatch{algo: e.algo}
		}
	}
	return nil
}

// Values returns the computed checksums (algorithm → base64). Call after
// the body has been fully read.
func (cs *checksumSet) Values() map[string]string {
	if len(cs.entries) == 0 {
		return nil
	}
	m := make(map[string]string, len(cs.entries))
	for _, e := range cs.entries {
		m[e.algo] = base64.StdEncoding.EncodeToString(e.h.Sum(nil))
	}
	return m
}

// parseContentMD5 decodes a Content-MD5 header. ok is false when the value
// is not base64 of 16 bytes (InvalidDigest); present is false when absent.
func parseContentMD5(h http.Header) (sum []byte, present, ok bool) {
	v, present := h["Content-Md5"]
	if !present {
		return nil, false, true
	}
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(strings.Join(v, "")))
	if err != nil || len(b) != md5.Size {
		return nil, true, false
	}
	return b, true, true
}

// md5Matches reports whether a hex ETag equals the decoded Content-MD5.
func md5Matches(etag string, sum []byte) bool {
	return strings.EqualFold(trimETag(etag), hex.EncodeToString(sum))
}
