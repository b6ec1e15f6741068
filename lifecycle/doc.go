// Package lifecycle applies bucket lifecycle rules: expirations and transitions between
// locations. It is filled in by the lifecycle issue.
package lifecycle
