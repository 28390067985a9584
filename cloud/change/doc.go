// Package change compares two scans of one place tree by tree: which
// trees are gone, which are new, and how trees per hectare and forest
// cover changed over the area both scans cover.
//
// Compare takes each scan's trees (merged by position, package scan), its
// placed images' footprints and samples of its forest masks. It first
// estimates the offset between the two scans (GPS error of a whole
// survey) from the displacements between neighbouring trees, and takes it
// out; then it matches trees one to one, nearest pairs first, when their
// centres are closer than the larger of their crown radii. A tree of the
// base scan with no match inside the common area is lost, one of the
// other scan new; unmatched trees within a crown radius of the common
// area's edge are counted apart (a crown cut by an image's edge is seen
// differently by the two scans). Compare is a pure function, safe for
// concurrent use.
package change
