package catalogue

import (
	"sync"

	defaultcatalogue "lifesituations/domain/catalogue/default"
)

var loadDefault = sync.OnceValues(func() (*Catalogue, error) { return Load(defaultcatalogue.FS) })

// Default is the catalogue embedded in the binary (CONTRACT.md section 2),
// loaded once.
func Default() (*Catalogue, error) { return loadDefault() }
