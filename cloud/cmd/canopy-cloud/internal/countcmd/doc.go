// Package countcmd holds the commands of canopy-cloud that count trees in
// image files on this machine, with no deployment: count (each image at
// its own ground sample distance, GeoTIFFs window by window) and eval
// (scores against ground-truth boxes).
package countcmd
