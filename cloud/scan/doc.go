// Package scan turns the counted images of a scan into a map: the trees
// seen in several overlapping images are merged (non-maximum suppression
// in metres), so that each tree is counted once, and the trees per
// hectare are worked out over the union of the images' footprints.
//
// Photos registered to each other by their content (package
// cloud/register, Merger.Register) are placed through their registration
// and merged in their block's frame: on the Earth when GPS placed the
// block, else on a local map in metres. The other images are merged by
// position (their GPS or GeoTIFF placement); images whose boxes could not
// be placed add their counts as they are.
//
// It also writes a scan's trees as GeoJSON (RFC 7946, through
// github.com/paulmach/orb) and CSV, and its photos' positions as
// OpenDroneMap's geo.txt. A Merger is used by one goroutine.
package scan
