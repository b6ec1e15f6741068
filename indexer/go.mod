module github.com/sluice-io/sluice/indexer

go 1.26.0

require (
	github.com/sluice-io/sluice/events v0.0.0
	github.com/sluice-io/sluice/services v0.0.0
)

replace (
	github.com/sluice-io/sluice/events => ../events
	github.com/sluice-io/sluice/services => ../services
)
