// Package raster reads georeferenced rasters (GeoTIFF orthophotos as
// OpenDroneMap writes them: tiled, compressed, BigTIFF, larger than memory)
// window by window through GDAL's command-line tools: Inspect runs
// `gdalinfo -json` for the size, bands, transform and CRS, and ReadWindow
// runs `gdal_translate -srcwin ... -outsize ...` for one window, resampled
// to the size asked for, into a temporary raw file that it reads back. GDAL
// reads only the tiles (or overview levels) a window needs, so memory stays
// bounded by the window, whatever the raster's size.
//
// The tools come from Debian's gdal-bin; Available says whether they are
// installed. Every call runs the tools with a small block cache
// (GDAL_CACHEMAX 64 MB) and no side-car files. Safe for concurrent use.
package raster
