// Package faultline is the module root. It carries the crash scenarios as
// embedded files so that the one binary can build the demo workspace (and
// the editor demos) anywhere, without a checkout of this repository.
package faultline

import "embed"

// Scenarios holds testdata/scenarios: per scenario the commit archives,
// scenario.json, logs.jsonl, deploys.jsonl and expect.json. Load them with
// internal/scenario (LoadAll(Scenarios, "testdata/scenarios")).
//
//go:embed all:testdata/scenarios
var Scenarios embed.FS
