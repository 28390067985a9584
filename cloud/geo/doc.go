// Package geo places image pixels on the Earth and does the metric
// geometry of a scan.
//
//   - Plane is a local tangent plane (east, north in metres) around a
//     point, on the WGS 84 ellipsoid: what the camera model, merging by
//     position and areas work in.
//   - Nadir is the camera model of a photo taken straight down: a pixel's
//     ground position from the camera's GPS position, its ground sample
//     distance and the heading of the image's top edge, over flat ground.
//   - Raster maps the pixels of a georeferenced raster (a GeoTIFF's
//     transform and CRS) to longitude and latitude, through PROJ
//     (github.com/twpayne/go-proj, build tag proj). Without the tag only
//     rasters in WGS 84 degrees can be placed; others give ErrNoPROJ.
//   - UnionArea is the area covered by a set of footprints (polygons),
//     Coverage the same on a plane, with the area covered twice or more.
//
// Everything is safe for concurrent use.
package geo
