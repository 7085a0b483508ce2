// Package faultline embeds the crash scenarios, so that the binary can build
// the demo workspace anywhere (`faultline check --demo`, `faultline demo`).
// The code lives in the subpackages; see ARCHITECTURE.md.
package faultline

import "embed"

// Scenarios holds testdata/scenarios: each scenario's commits, logs, deploy
// events and expectations (see internal/scenario).
//
//go:embed all:testdata/scenarios
var Scenarios embed.FS
