// Package remote holds what the remote location drivers (s3, azure, gcs)
// share: the BufferPool that bounds the memory their Puts hold, the Body
// that reads, hashes and checks a Put's data, the bounded concurrent
// part-upload loop (UploadParts), the parsing of location.Config.Options
// into their Config fields, metadata value encoding, and small HTTP
// helpers. Package remotetest holds their tests' shared scaffolding.
package remote
