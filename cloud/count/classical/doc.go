// Package classical counts tree crowns without a model: a vegetation mask
// (excess green, with dark shadows and bright bare ground left out),
// smoothing, local maxima of a crown-ness map (brightness times the
// distance to the mask's edge) at least a crown spacing apart, and a square
// box per maximum whose size follows the distance to the mask's edge,
// bounded in metres through the ground sample distance.
//
// It is the fallback when no trained detector is present, and is weak on
// dead (grey) crowns, grass, and closed canopy. It needs the build tag
// opencv (GoCV); without it New returns an error. A Counter holds no
// OpenCV state between calls and is safe for concurrent use.
package classical
