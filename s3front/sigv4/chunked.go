package sigv4

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"slices"
	"strings"
)

// Limits of the aws-chunked decoder. They bound its memory whatever the
// client sends.
const (
	// MaxChunkLine is the longest chunk header or trailer line, CRLF
	// included.
	MaxChunkLine = 4096
	// MinChunkSize is the smallest size of a data chunk that is not the
	// last one, as Amazon S3 enforces (InvalidChunkSizeError).
	MinChunkSize = 8192
	// maxTrailers is the most trailing header lines accepted.
	maxTrailers = 32
	// maxChunkSizeDigits bounds the hex size field (16^15 > 10^18 bytes).
	maxChunkSizeDigits   = 15
	chunkSignaturePrefix = "chunk-signature="
	trailerSignatureName = "x-amz-trailer-signature"
)

// chunkSigner computes the chained signatures of signed aws-chunked bodies.
type chunkSigner struct {
	key     []byte
	amzDate string
	scope   string
	prev    string // hex signature of the previous chunk (the seed first)
}

// chunkSignature is HMAC(key, "AWS4-HMAC-SHA256-PAYLOAD\n<date>\n<scope>\n
// <previous signature>\n<sha256("")>\n<hex sha256 of the chunk data>").
func (s *chunkSigner) chunkSignature(sum []byte) []byte {
	sts := algorithmPayload + "\n" + s.amzDate + "\n" + s.scope + "\n" + s.prev + "\n" +
		emptySHA256 + "\n" + hex.EncodeToString(sum)
	return hmacSHA256(s.key, sts)
}

// trailerSignature is HMAC(key, "AWS4-HMAC-SHA256-TRAILER\n<date>\n<scope>\n
// <previous signature>\n<hex sha256 of the canonical trailer>").
func (s *chunkSigner) trailerSignature(canonical string) []byte {
	sum := sha256.Sum256([]byte(canonical))
	sts := algorithmTrailer + "\n" + s.amzDate + "\n" + s.scope + "\n" + s.prev + "\n" + hex.EncodeToString(sum[:])
	return hmacSHA256(s.key, sts)
}

// verify compares got (the signature the client sent) with want in
// constant time and, on success, chains it.
func (s *chunkSigner) verify(want, got []byte) bool {
	if !hmac.Equal(want, got) {
		return false
	}
	s.prev = hex.EncodeToString(want)
	return true
}

// chunkedReader decodes an aws-chunked body as it is read:
//
//	<hex size>[;chunk-signature=<sig>]\r\n<data>\r\n ... 0[;chunk-signature=<sig>]\r\n
//
// followed by "\r\n", or, in trailer mode, by "name:value\r\n" lines
// (x-amz-trailer-signature:<sig> last when signed) and "\r\n".
//
// Memory is bounded by MaxChunkLine and maxTrailers whatever the chunk
// sizes. Data is handed out as it arrives, before its chunk signature is
// checked at the end of the chunk: a caller must discard everything unless
// Read returns io.EOF. Errors are sticky.
type chunkedReader struct {
	src    *bufio.Reader
	closer io.Closer
	signer *chunkSigner // nil: chunks carry no signatures (or they are ignored)

	trailerMode bool
	declared    []string // lower-case trailer names from x-amz-trailer; only these may come
	expect      int64    // x-amz-decoded-content-length, -1 when unknown

	chunks   int   // data chunks begun
	lastSize int64 // size of the last data chunk

	total   int64 // decoded bytes so far
	left    int64 // bytes left in the current chunk
	inChunk bool  // a data chunk is open: its CRLF is still to come
	sum     hash.Hash
	want    [sha256.Size]byte // signature sent for the current chunk

	trailer http.Header
	done    bool
	err     error
}

// newChunkedReader returns a decoder of body. signer is nil for
// STREAMING-UNSIGNED-PAYLOAD-TRAILER; expect is -1 when the decoded length
// is unknown.
func newChunkedReader(body io.Reader, signer *chunkSigner, trailerMode bool, declared []string, expect int64) *chunkedReader {
	c := &chunkedReader{
		src:         bufio.NewReaderSize(body, MaxChunkLine),
		signer:      signer,
		trailerMode: trailerMode,
		declared:    declared,
		expect:      expect,
	}
	if cl, ok := body.(io.Closer); ok {
		c.closer = cl
	}
	if signer != nil {
		c.sum = sha256.New()
	}
	return c
}

// malformedChunk returns a framing error: IncompleteBody with Amazon S3's
// message; detail is kept in the cause for logs.
func malformedChunk(detail string) *Error {
	return newError(CodeIncompleteBody, msgBodyTerminated, fmt.Errorf("%s: %w", detail, ErrMalformedChunk))
}

// lengthMismatch returns the error of a body whose decoded length differs
// from x-amz-decoded-content-length.
func lengthMismatch(detail string) *Error {
	return newError(CodeIncompleteBody, msgLengthMismatch, errors.New(detail))
}

func chunkSignatureMismatch() *Error { return wrapSentinel(ErrChunkSignature, ErrChunkSignature.msg) }

// ioError maps an error of the underlying body met in the middle of a frame.
func ioError(err error) error {
	if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
		return newError(CodeIncompleteBody, msgBodyTerminated, fmt.Errorf("the aws-chunked body ended early: %w: %w", ErrMalformedChunk, err))
	}
	return fmt.Errorf("sigv4: reading aws-chunked body: %w", err)
}

// Read implements io.Reader, returning decoded object bytes.
func (c *chunkedReader) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	for c.left == 0 {
		if c.done {
			return 0, io.EOF
		}
		if err := c.next(); err != nil {
			c.err = err
			return 0, err
		}
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.src.Read(p)
	c.left -= int64(n)
	c.total += int64(n)
	if c.sum != nil {
		c.sum.Write(p[:n])
	}
	if err != nil && (c.left > 0 || err != io.EOF) {
		c.err = ioError(err)
	}
	if c.err == nil && c.left == 0 && c.signer != nil {
		var sum [sha256.Size]byte
		if !c.signer.verify(c.signer.chunkSignature(c.sum.Sum(sum[:0])), c.want[:]) {
			c.err = chunkSignatureMismatch()
		}
	}
	if c.err != nil && n == 0 {
		return 0, c.err
	}
	return n, c.err
}

// Close closes the underlying body.
func (c *chunkedReader) Close() error {
	if c.closer != nil {
		return c.closer.Close()
	}
	return nil
}

// Trailer returns the trailing headers once Read has returned io.EOF, nil
// before. x-amz-trailer-signature is not included.
func (c *chunkedReader) Trailer() http.Header {
	if !c.done || c.err != nil {
		return nil
	}
	return c.trailer
}

// readLine reads one CRLF-terminated line of at most MaxChunkLine bytes and
// returns it without the CRLF. The slice is valid until the next read.
func (c *chunkedReader) readLine(what string) ([]byte, error) {
	line, err := c.src.ReadSlice('\n')
	switch {
	case errors.Is(err, bufio.ErrBufferFull):
		return nil, malformedChunk(what + " line is too long")
	case err != nil:
		return nil, ioError(err)
	}
	if len(line) < 2 || line[len(line)-2] != '\r' {
		return nil, malformedChunk(what + " line is not terminated by CRLF")
	}
	return line[:len(line)-2], nil
}

// next finishes the current chunk and reads the next chunk header; on the
// final chunk it reads the end of the body and sets done.
func (c *chunkedReader) next() error {
	if c.inChunk {
		var crlf [2]byte
		if _, err := io.ReadFull(c.src, crlf[:]); err != nil {
			return ioError(err)
		}
		if crlf != [2]byte{'\r', '\n'} {
			return malformedChunk("chunk data is not followed by CRLF")
		}
		c.inChunk = false
	}
	line, err := c.readLine("chunk header")
	if err != nil {
		return err
	}
	size, err := c.parseHeader(line)
	if err != nil {
		return err
	}
	if size > 0 {
		if c.chunks > 0 && c.lastSize < MinChunkSize {
			return newError(CodeInvalidChunkSizeError, msgInvalidChunkSize, ErrInvalidChunkSize)
		}
		c.chunks++
		c.lastSize = size
		if c.expect >= 0 && size > c.expect-c.total {
			// Amazon S3 reports the framing first: a chunk that runs past
			// the declared length is IncompleteBody "terminated
			// unexpectedly" when its CRLF is missing, else a length
			// mismatch. Its bytes are never handed out.
			if _, err := io.CopyN(io.Discard, c.src, size); err != nil {
				return ioError(err)
			}
			var crlf [2]byte
			if _, err := io.ReadFull(c.src, crlf[:]); err != nil {
				return ioError(err)
			}
			if crlf != [2]byte{'\r', '\n'} {
				return malformedChunk("chunk data is not followed by CRLF")
			}
			return lengthMismatch("the chunk sizes add up to more than x-amz-decoded-content-length")
		}
		c.left = size
		c.inChunk = true
		if c.sum != nil {
			c.sum.Reset()
		}
		return nil
	}
	// Final chunk.
	if c.signer != nil {
		var sum [sha256.Size]byte
		empty := sha256.New().Sum(sum[:0])
		if !c.signer.verify(c.signer.chunkSignature(empty), c.want[:]) {
			return chunkSignatureMismatch()
		}
	}
	if c.expect >= 0 && c.total != c.expect {
		return lengthMismatch("the decoded body is shorter than x-amz-decoded-content-length")
	}
	if c.trailerMode {
		if err := c.readTrailers(); err != nil {
			return err
		}
	} else if err := c.readEnd(); err != nil {
		return err
	}
	c.done = true
	return nil
}

// parseHeader parses "<hex size>[;chunk-signature=<64 hex>]". In signed
// mode the signature is required and stored in c.want; in unsigned mode
// chunk extensions are ignored.
func (c *chunkedReader) parseHeader(line []byte) (int64, error) {
	sizeField, ext, hasExt := bytes.Cut(line, []byte{';'})
	if len(sizeField) == 0 || len(sizeField) > maxChunkSizeDigits {
		return 0, malformedChunk("invalid chunk size")
	}
	var size int64
	for _, ch := range sizeField {
		d, ok := unhex(ch)
		if !ok {
			return 0, malformedChunk("invalid chunk size")
		}
		size = size<<4 | int64(d)
	}
	if c.signer == nil {
		return size, nil
	}
	if !hasExt || !bytes.HasPrefix(ext, []byte(chunkSignaturePrefix)) {
		return 0, malformedChunk("chunk header has no chunk-signature")
	}
	sig := ext[len(chunkSignaturePrefix):]
	if len(sig) != 2*sha256.Size {
		return 0, malformedChunk("invalid chunk-signature")
	}
	if _, err := hex.Decode(c.want[:], sig); err != nil {
		return 0, malformedChunk("invalid chunk-signature")
	}
	return size, nil
}

// readEnd reads the CRLF after the final chunk of a body without trailers.
// A body that simply ends there is accepted too.
func (c *chunkedReader) readEnd() error {
	line, err := c.src.ReadSlice('\n')
	if err == io.EOF && len(line) == 0 {
		return nil
	}
	if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
		return ioError(err)
	}
	if string(line) != "\r\n" {
		return malformedChunk("unexpected data after the final chunk")
	}
	return nil
}

type trailerField struct{ name, value string }

// readTrailers reads the trailing header lines up to the empty line (or the
// end of the body), verifies x-amz-trailer-signature in signed mode and
// checks the names against x-amz-trailer.
func (c *chunkedReader) readTrailers() error {
	var fields []trailerField
	var sig []byte
	for {
		line, err := c.src.ReadSlice('\n')
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			return malformedTrailer("trailer line is too long")
		case err != nil:
			return ioError(err)
		}
		if len(line) < 2 || line[len(line)-2] != '\r' {
			return malformedTrailer("trailer line is not terminated by CRLF")
		}
		line = line[:len(line)-2]
		if len(line) == 0 {
			break
		}
		if len(fields) >= maxTrailers {
			return malformedTrailer("too many trailing headers")
		}
		name, value, ok := bytes.Cut(line, []byte{':'})
		if !ok || !isToken(string(name)) {
			return malformedTrailer("trailer line is not a header")
		}
		n := strings.ToLower(string(name))
		v := strings.Trim(string(value), " \t")
		if n == trailerSignatureName {
			if sig != nil {
				return malformedChunk("x-amz-trailer-signature appears twice")
			}
			s, ok := parseSignature(v)
			if !ok {
				return malformedChunk("invalid x-amz-trailer-signature")
			}
			sig = s
			continue
		}
		for _, f := range fields {
			if f.name == n {
				return malformedTrailer("a trailing header appears twice")
			}
		}
		fields = append(fields, trailerField{n, v})
	}
	if c.signer != nil {
		if sig == nil {
			// Amazon S3 answers a trailer section that ends before any
			// header as malformed, and trailing headers without their
			// signature line as an incomplete body.
			if len(fields) == 0 {
				return malformedTrailer("the trailer section is empty")
			}
			return malformedChunk("x-amz-trailer-signature is missing")
		}
		sorted := slices.Clone(fields)
		slices.SortFunc(sorted, func(a, b trailerField) int { return strings.Compare(a.name, b.name) })
		var canon strings.Builder
		for _, f := range sorted {
			canon.WriteString(f.name)
			canon.WriteByte(':')
			canon.WriteString(f.value)
			canon.WriteByte('\n')
		}
		if !c.signer.verify(c.signer.trailerSignature(canon.String()), sig) {
			return newError(CodeSignatureDoesNotMatch,
				"The trailer signature we calculated does not match the signature you provided", ErrChunkSignature)
		}
	}
	{
		for _, d := range c.declared {
			if !slices.ContainsFunc(fields, func(f trailerField) bool { return f.name == d }) {
				return malformedTrailer("the trailing header " + truncateForMsg(d) + " declared in x-amz-trailer is missing")
			}
		}
		for _, f := range fields {
			if !slices.Contains(c.declared, f.name) {
				return malformedTrailer("the trailing header " + truncateForMsg(f.name) + " was not declared in x-amz-trailer")
			}
		}
	}
	c.trailer = make(http.Header, len(fields))
	for _, f := range fields {
		c.trailer.Set(f.name, f.value)
	}
	return nil
}

// malformedTrailer returns MalformedTrailerError with Amazon S3's message;
// detail is kept in the cause for logs.
func malformedTrailer(detail string) *Error {
	return newError(CodeMalformedTrailerError, msgMalformedTrailer, fmt.Errorf("%s: %w", detail, ErrMalformedTrailer))
}
