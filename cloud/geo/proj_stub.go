//go:build !proj

package geo

import "fmt"

// PROJAvailable reports whether this build transforms CRSs with PROJ.
const PROJAvailable = false

func newToWGS84(crs string) (lonLater, string, error) {
	return nil, "", fmt.Errorf("%w: %s", ErrNoPROJ, shortCRS(crs))
}
