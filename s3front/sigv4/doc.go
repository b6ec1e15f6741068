// Package sigv4 verifies AWS Signature Version 4 on incoming S3 requests.
//
// It is the server side of SigV4 as Amazon S3 applies it:
//   - the Authorization header form ("AWS4-HMAC-SHA256 Credential=...,
//     SignedHeaders=..., Signature=...");
//   - presigned URLs (X-Amz-Algorithm, X-Amz-Credential, X-Amz-Date,
//     X-Amz-Expires, X-Amz-SignedHeaders, X-Amz-Signature);
//   - every payload mode of x-amz-content-sha256: a hex SHA-256 digest,
//     UNSIGNED-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD,
//     STREAMING-UNSIGNED-PAYLOAD-TRAILER and
//     STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER.
//
// Verifier.Verify checks the request and returns the request body already
// wrapped with the matching decoder: the caller reads plain object bytes,
// and a digest mismatch, a bad chunk signature or a malformed aws-chunked
// frame surfaces as a read error. Bodies are streamed, never buffered.
//
// Every error a client can cause is an *Error carrying the S3 error code it
// maps to (Code) and a client-safe message (Message). Messages never contain
// secrets, signatures or signing keys.
package sigv4
