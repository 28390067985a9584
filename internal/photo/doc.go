// Package photo reads what a photo's own metadata says about where and how
// it was taken, and turns it into a ground sample distance (GSD, metres per
// pixel on the ground).
//
// Read takes the bytes of a JPEG or TIFF and returns a Meta: the EXIF capture
// time and GPS position, the camera (make, model, focal length and its 35 mm
// equivalent), the DJI XMP flight block (height above the take-off point,
// flight and gimbal yaw, gimbal pitch) and, for a GeoTIFF, its pixel-to-map
// transform and coordinate reference system. It never panics on corrupt
// input: what cannot be read is left out and described in Meta.Problems.
//
// Meta.GSD chooses the ground sample distance: a value set by hand, the
// GeoTIFF's pixel size, or the pinhole camera model (sensor width from a
// table of camera models, or from the 35 mm equivalent focal length, times
// the height above ground, over the focal length and the image width). When
// none applies it says why.
//
// Everything here is pure Go and safe for concurrent use.
package photo
