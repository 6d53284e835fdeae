// Package docs carries the published JSON Schemas (2020-12) of tapdlp's
// native records, so that tests and tools validate against exactly the files
// users read. It holds data only: no code may depend on it at run time.
package docs

import "embed"

// Schemas holds schema/*.schema.json: flow, alert, volume and the shared
// common definitions.
//
//go:embed schema/*.schema.json
var Schemas embed.FS
