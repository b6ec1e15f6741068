package replicator

// The location drivers a destination may use register themselves here, so
// that the replicator opens any configured location on its own.
import (
	_ "github.com/sluice-io/sluice/services/location/azure" // "azure" locations
	_ "github.com/sluice-io/sluice/services/location/fs"    // "fs" locations
	_ "github.com/sluice-io/sluice/services/location/gcs"   // "gcs" locations
	_ "github.com/sluice-io/sluice/services/location/s3"    // "s3" locations
)
