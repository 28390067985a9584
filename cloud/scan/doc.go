// Package scan turns the counted images of a scan into a map: the trees
// seen in several overlapping images are merged by position (non-maximum
// suppression in metres), so that each tree is counted once, and the trees
// per hectare are worked out over the union of the images' footprints.
// Images whose boxes could not be placed add their counts as they are.
//
// It also writes a scan's trees as GeoJSON (RFC 7946, through
// github.com/paulmach/orb) and CSV, and its photos' positions as
// OpenDroneMap's geo.txt. A Merger is used by one goroutine.
package scan
