// Package ortho counts the trees of a georeferenced raster (an orthophoto
// GeoTIFF) window by window, never reading it whole: Count cuts the raster,
// as seen at the counter's ground sample distance, into overlapping
// windows, has GDAL (package raster) read each window already resampled to
// that GSD, counts it, maps its boxes back to the raster's pixels and
// merges them across windows (each window keeps the boxes centred in its
// core, then non-maximum suppression). Windows that are all transparent
// (alpha 0, the margins of an orthomosaic) are skipped.
//
// Memory is bounded by one window (Options.Window pixels square at the
// counter's GSD) and the boxes, whatever the raster's size. Overview reads
// the whole raster shrunk to a small size, for the annotated image.
package ortho
