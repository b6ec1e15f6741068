package s3err

import "net/http"

// ErrorCode is an S3 error code as it appears in the <Code> element of an
// S3 error response, for example "NoSuchKey".
//
// Every code declared in this package knows its HTTP status (Status) and a
// default, client-safe message (Description). An ErrorCode is itself an
// error, so it can be returned directly and used as a sentinel:
// errors.Is(err, s3err.NoSuchKey) is true for any *Error carrying that code.
//
// A code that is not declared here (Known reports false) is treated as
// InternalError by Status, Description and WriteError.
type ErrorCode string

// Declared S3 error codes. Statuses follow the AWS S3 "List of error codes".
// Codes S3 has no equivalent for are not invented: an invalid encoding-type,
// for instance, is InvalidArgument, and a checksum mismatch is BadDigest
// (a malformed checksum header is InvalidRequest).
const (
	AccessDenied                                   ErrorCode = "AccessDenied"
	AccountProblem                                 ErrorCode = "AccountProblem"
	AuthorizationHeaderMalformed                   ErrorCode = "AuthorizationHeaderMalformed"
	AuthorizationQueryParametersError              ErrorCode = "AuthorizationQueryParametersError"
	BadDigest                                      ErrorCode = "BadDigest"
	BucketAlreadyExists                            ErrorCode = "BucketAlreadyExists"
	BucketAlreadyOwnedByYou                        ErrorCode = "BucketAlreadyOwnedByYou"
	BucketNotEmpty                                 ErrorCode = "BucketNotEmpty"
	ConditionalRequestConflict                     ErrorCode = "ConditionalRequestConflict"
	EntityTooLarge                                 ErrorCode = "EntityTooLarge"
	EntityTooSmall                                 ErrorCode = "EntityTooSmall"
	ExpiredToken                                   ErrorCode = "ExpiredToken"
	IllegalLocationConstraintException             ErrorCode = "IllegalLocationConstraintException"
	IllegalVersioningConfigurationException        ErrorCode = "IllegalVersioningConfigurationException"
	IncompleteBody                                 ErrorCode = "IncompleteBody"
	InternalError                                  ErrorCode = "InternalError"
	InvalidAccessKeyID                             ErrorCode = "InvalidAccessKeyId"
	InvalidArgument                                ErrorCode = "InvalidArgument"
	InvalidBucketName                              ErrorCode = "InvalidBucketName"
	InvalidBucketState                             ErrorCode = "InvalidBucketState"
	InvalidDigest                                  ErrorCode = "InvalidDigest"
	InvalidLocationConstraint                      ErrorCode = "InvalidLocationConstraint"
	InvalidObjectState                             ErrorCode = "InvalidObjectState"
	InvalidChunkSizeError                          ErrorCode = "InvalidChunkSizeError"
	InvalidToken                                   ErrorCode = "InvalidToken"
	RequestHeaderSectionTooLarge                   ErrorCode = "RequestHeaderSectionTooLarge"
	BadRequest                                     ErrorCode = "BadRequest"
	InvalidPartNumber                              ErrorCode = "InvalidPartNumber"
	MalformedTrailerError                          ErrorCode = "MalformedTrailerError"
	InvalidPart                                    ErrorCode = "InvalidPart"
	InvalidPartOrder                               ErrorCode = "InvalidPartOrder"
	InvalidRange                                   ErrorCode = "InvalidRange"
	InvalidRequest                                 ErrorCode = "InvalidRequest"
	InvalidStorageClass                            ErrorCode = "InvalidStorageClass"
	InvalidTag                                     ErrorCode = "InvalidTag"
	InvalidURI                                     ErrorCode = "InvalidURI"
	KeyTooLongError                                ErrorCode = "KeyTooLongError"
	MalformedPOSTRequest                           ErrorCode = "MalformedPOSTRequest"
	MalformedPolicy                                ErrorCode = "MalformedPolicy"
	MalformedXML                                   ErrorCode = "MalformedXML"
	MaxMessageLengthExceeded                       ErrorCode = "MaxMessageLengthExceeded"
	MetadataTooLarge                               ErrorCode = "MetadataTooLarge"
	MethodNotAllowed                               ErrorCode = "MethodNotAllowed"
	MissingContentLength                           ErrorCode = "MissingContentLength"
	MissingRequestBodyError                        ErrorCode = "MissingRequestBodyError"
	MissingSecurityHeader                          ErrorCode = "MissingSecurityHeader"
	NoSuchBucket                                   ErrorCode = "NoSuchBucket"
	NoSuchBucketPolicy                             ErrorCode = "NoSuchBucketPolicy"
	NoSuchCORSConfiguration                        ErrorCode = "NoSuchCORSConfiguration"
	NoSuchKey                                      ErrorCode = "NoSuchKey"
	NoSuchLifecycleConfiguration                   ErrorCode = "NoSuchLifecycleConfiguration"
	NoSuchPublicAccessBlockConfiguration           ErrorCode = "NoSuchPublicAccessBlockConfiguration"
	NoSuchTagSet                                   ErrorCode = "NoSuchTagSet"
	NoSuchUpload                                   ErrorCode = "NoSuchUpload"
	NoSuchVersion                                  ErrorCode = "NoSuchVersion"
	NoSuchWebsiteConfiguration                     ErrorCode = "NoSuchWebsiteConfiguration"
	NotImplemented                                 ErrorCode = "NotImplemented"
	NotModified                                    ErrorCode = "NotModified"
	ObjectLockConfigurationNotFoundError           ErrorCode = "ObjectLockConfigurationNotFoundError"
	ObjectNotInActiveTierError                     ErrorCode = "ObjectNotInActiveTierError"
	OperationAborted                               ErrorCode = "OperationAborted"
	OwnershipControlsNotFoundError                 ErrorCode = "OwnershipControlsNotFoundError"
	PreconditionFailed                             ErrorCode = "PreconditionFailed"
	ReplicationConfigurationNotFoundError          ErrorCode = "ReplicationConfigurationNotFoundError"
	RequestIsNotMultiPartContent                   ErrorCode = "RequestIsNotMultiPartContent"
	RequestTimeTooSkewed                           ErrorCode = "RequestTimeTooSkewed"
	RequestTimeout                                 ErrorCode = "RequestTimeout"
	RestoreAlreadyInProgress                       ErrorCode = "RestoreAlreadyInProgress"
	ServerSideEncryptionConfigurationNotFoundError ErrorCode = "ServerSideEncryptionConfigurationNotFoundError"
	ServiceUnavailable                             ErrorCode = "ServiceUnavailable"
	SignatureDoesNotMatch                          ErrorCode = "SignatureDoesNotMatch"
	SlowDown                                       ErrorCode = "SlowDown"
	TooManyBuckets                                 ErrorCode = "TooManyBuckets"
	UnexpectedContent                              ErrorCode = "UnexpectedContent"
	XAmzContentSHA256Mismatch                      ErrorCode = "XAmzContentSHA256Mismatch"
)

type codeInfo struct {
	status  int
	message string
}

// codes is the registry of declared codes. It is never written after
// package initialisation, so concurrent reads are safe.
var codes = map[ErrorCode]codeInfo{
	AccessDenied:                            {http.StatusForbidden, "Access Denied"},
	AccountProblem:                          {http.StatusForbidden, "There is a problem with the account that prevents the operation from completing."},
	AuthorizationHeaderMalformed:            {http.StatusBadRequest, "The authorization header is malformed."},
	AuthorizationQueryParametersError:       {http.StatusBadRequest, "The authorization query parameters are malformed or incomplete."},
	BadDigest:                               {http.StatusBadRequest, "The Content-MD5 or checksum value you specified did not match what we received."},
	BucketAlreadyExists:                     {http.StatusConflict, "The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again."},
	BucketAlreadyOwnedByYou:                 {http.StatusConflict, "Your previous request to create the named bucket succeeded and you already own it."},
	BucketNotEmpty:                          {http.StatusConflict, "The bucket you tried to delete is not empty."},
	ConditionalRequestConflict:              {http.StatusConflict, "A conflicting operation occurred. If using PutObject you can retry the request."},
	EntityTooLarge:                          {http.StatusBadRequest, "Your proposed upload exceeds the maximum allowed object size."},
	EntityTooSmall:                          {http.StatusBadRequest, "Your proposed upload is smaller than the minimum allowed size"},
	ExpiredToken:                            {http.StatusBadRequest, "The provided token has expired."},
	IllegalLocationConstraintException:      {http.StatusBadRequest, "The specified location constraint cannot be used with this endpoint."},
	IllegalVersioningConfigurationException: {http.StatusBadRequest, "The versioning configuration specified in the request is invalid."},
	IncompleteBody:                          {http.StatusBadRequest, "You did not provide the number of bytes specified by the Content-Length HTTP header"},
	InternalError:                           {http.StatusInternalServerError, "We encountered an internal error. Please try again."},
	InvalidAccessKeyID:                      {http.StatusForbidden, "The AWS Access Key Id you provided does not exist in our records."},
	InvalidArgument:                         {http.StatusBadRequest, "Invalid Argument"},
	InvalidBucketName:                       {http.StatusBadRequest, "The specified bucket is not valid."},
	InvalidBucketState:                      {http.StatusConflict, "The request is not valid with the current state of the bucket."},
	InvalidDigest:                           {http.StatusBadRequest, "The Content-MD5 you specified is not valid."},
	InvalidLocationConstraint:               {http.StatusBadRequest, "The specified location constraint is not valid."},
	InvalidObjectState:                      {http.StatusForbidden, "The operation is not valid for the current state of the object."},
	BadRequest:                              {http.StatusBadRequest, "Bad Request"},
	InvalidToken:                            {http.StatusBadRequest, "The provided token is malformed or otherwise invalid."},
	RequestHeaderSectionTooLarge:            {http.StatusBadRequest, "Your request header section exceeds the maximum allowed size."},
	InvalidChunkSizeError:                   {http.StatusBadRequest, "Only the last chunk is allowed to have a size less than 8192 bytes"},
	InvalidPartNumber:                       {http.StatusRequestedRangeNotSatisfiable, "The requested partnumber is not satisfiable"},
	MalformedTrailerError:                   {http.StatusBadRequest, "The request contained trailing data that was not well-formed or did not conform to our published schema."},
	InvalidPart:                             {http.StatusBadRequest, "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag."},
	InvalidPartOrder:                        {http.StatusBadRequest, "The list of parts was not in ascending order. Parts must be ordered by part number."},
	InvalidRange:                            {http.StatusRequestedRangeNotSatisfiable, "The requested range is not satisfiable"},
	InvalidRequest:                          {http.StatusBadRequest, "Invalid Request"},
	InvalidStorageClass:                     {http.StatusBadRequest, "The storage class you specified is not valid."},
	InvalidTag:                              {http.StatusBadRequest, "The tag provided was not a valid tag."},
	InvalidURI:                              {http.StatusBadRequest, "Couldn't parse the specified URI."},
	KeyTooLongError:                         {http.StatusBadRequest, "Your key is too long."},
	MalformedPOSTRequest:                    {http.StatusBadRequest, "The body of your POST request is not well-formed multipart/form-data."},
	MalformedPolicy:                         {http.StatusBadRequest, "The policy document is malformed."},
	MalformedXML:                            {http.StatusBadRequest, "The XML you provided was not well-formed or did not validate against our published schema."},
	MaxMessageLengthExceeded:                {http.StatusBadRequest, "Your request was too big."},
	MetadataTooLarge:                        {http.StatusBadRequest, "Your metadata headers exceed the maximum allowed metadata size"},
	MethodNotAllowed:                        {http.StatusMethodNotAllowed, "The specified method is not allowed against this resource."},
	MissingContentLength:                    {http.StatusLengthRequired, "You must provide the Content-Length HTTP header."},
	MissingRequestBodyError:                 {http.StatusBadRequest, "Request Body is empty"},
	MissingSecurityHeader:                   {http.StatusBadRequest, "Your request is missing a required header."},
	NoSuchBucket:                            {http.StatusNotFound, "The specified bucket does not exist"},
	NoSuchBucketPolicy:                      {http.StatusNotFound, "The bucket policy does not exist"},
	NoSuchCORSConfiguration:                 {http.StatusNotFound, "The CORS configuration does not exist"},
	NoSuchKey:                               {http.StatusNotFound, "The specified key does not exist."},
	NoSuchLifecycleConfiguration:            {http.StatusNotFound, "The lifecycle configuration does not exist"},
	NoSuchPublicAccessBlockConfiguration:    {http.StatusNotFound, "The public access block configuration was not found"},
	NoSuchTagSet:                            {http.StatusNotFound, "The TagSet does not exist"},
	NoSuchUpload:                            {http.StatusNotFound, "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed."},
	NoSuchVersion:                           {http.StatusNotFound, "The specified version does not exist."},
	NoSuchWebsiteConfiguration:              {http.StatusNotFound, "The specified bucket does not have a website configuration"},
	NotImplemented:                          {http.StatusNotImplemented, "A header or query you provided implies functionality that is not implemented."},
	NotModified:                             {http.StatusNotModified, "Not Modified"},
	ObjectLockConfigurationNotFoundError:    {http.StatusNotFound, "Object Lock configuration does not exist for this bucket"},
	ObjectNotInActiveTierError:              {http.StatusForbidden, "The source object of the COPY operation is not in the active tier."},
	OperationAborted:                        {http.StatusConflict, "A conflicting conditional operation is currently in progress against this resource. Try again."},
	OwnershipControlsNotFoundError:          {http.StatusNotFound, "The bucket ownership controls were not found"},
	PreconditionFailed:                      {http.StatusPreconditionFailed, "At least one of the pre-conditions you specified did not hold"},
	ReplicationConfigurationNotFoundError:   {http.StatusNotFound, "The replication configuration was not found"},
	RequestIsNotMultiPartContent:            {http.StatusBadRequest, "Bucket POST must be of the enclosure-type multipart/form-data."},
	RequestTimeTooSkewed:                    {http.StatusForbidden, "The difference between the request time and the server's time is too large."},
	RequestTimeout:                          {http.StatusBadRequest, "Your socket connection to the server was not read from or written to within the timeout period."},
	RestoreAlreadyInProgress:                {http.StatusConflict, "Object restore is already in progress"},
	ServerSideEncryptionConfigurationNotFoundError: {http.StatusNotFound, "The server side encryption configuration was not found"},
	ServiceUnavailable:        {http.StatusServiceUnavailable, "Please reduce your request rate."},
	SignatureDoesNotMatch:     {http.StatusForbidden, "The request signature we calculated does not match the signature you provided. Check your key and signing method."},
	SlowDown:                  {http.StatusServiceUnavailable, "Please reduce your request rate."},
	TooManyBuckets:            {http.StatusBadRequest, "You have attempted to create more buckets than allowed"},
	UnexpectedContent:         {http.StatusBadRequest, "This request does not support content"},
	XAmzContentSHA256Mismatch: {http.StatusBadRequest, "The provided 'x-amz-content-sha256' header does not match what was computed."},
}

// FromCode looks up an S3 code string such as "NoSuchKey". It reports
// false, and returns InternalError, when the code is not declared in this
// package; callers mapping foreign typed errors (for example the sigv4
// package's errors, which expose Code() string) rely on that fallback.
func FromCode(code string) (ErrorCode, bool) {
	c := ErrorCode(code)
	if _, ok := codes[c]; ok {
		return c, true
	}
	return InternalError, false
}

// Codes returns every declared code, in no particular order. The slice is
// freshly allocated; callers may modify it.
func Codes() []ErrorCode {
	out := make([]ErrorCode, 0, len(codes))
	for c := range codes {
		out = append(out, c)
	}
	return out
}

// Known reports whether c is declared in this package.
func (c ErrorCode) Known() bool {
	_, ok := codes[c]
	return ok
}

// Code returns the S3 code string, e.g. "NoSuchKey". An undeclared code
// returns "InternalError", which is what WriteError would send for it.
func (c ErrorCode) Code() string {
	if !c.Known() {
		return string(InternalError)
	}
	return string(c)
}

// Status returns the HTTP status S3 sends with c; undeclared codes get 500.
func (c ErrorCode) Status() int {
	if info, ok := codes[c]; ok {
		return info.status
	}
	return http.StatusInternalServerError
}

// Description returns the default client-safe message for c. Undeclared
// codes get InternalError's message.
func (c ErrorCode) Description() string {
	if info, ok := codes[c]; ok {
		return info.message
	}
	return codes[InternalError].message
}

// Error implements error: "<Code>: <default message>".
func (c ErrorCode) Error() string {
	return c.Code() + ": " + c.Description()
}

// HasBody reports whether a response with this code carries an XML body.
// Only NotModified (304) does not.
func (c ErrorCode) HasBody() bool {
	s := c.Status()
	return s != http.StatusNotModified && s >= 200 && s != http.StatusNoContent
}

// Client reports whether the code is a client error (4xx): the request
// should not be retried unchanged.
func (c ErrorCode) Client() bool {
	s := c.Status()
	return s >= 400 && s < 500
}
