// Package defaultcatalogue embeds the default life-situation catalogue: the
// content of CONTRACT.md section 2 as data.
package defaultcatalogue

import "embed"

// FS holds the catalogue files at its root.
//
//go:embed *.yaml
var FS embed.FS
