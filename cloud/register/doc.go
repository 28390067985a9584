// Package register registers the overlapping photos of a scan to each
// other by their content, so that a tree seen in several photos is
// counted once (issue 22).
//
//   - Extract finds a photo's SIFT keypoints at matching size (a view of
//     at most Options.MatchSide pixels); Features encode to a compact
//     record, the per-photo cache a scan's later photos are matched
//     against. Match pairs two photos: nearest descriptors with Lowe's
//     ratio test, a RANSAC similarity as a guide, then guided matching
//     (each keypoint looks for its twin only near where the guide puts
//     it, which finds many more matches in the repeated texture of a
//     canopy) and a RANSAC affine map, checked (inliers, scale,
//     perspective, spread) or rejected with the reason.
//   - SelectPairs picks the pairs to match: GPS footprints that overlap,
//     else capture order, and every pair of a small scan; Predicted picks
//     those a registration so far says overlap, with their guide.
//   - Solve chains the registered pairs into blocks (a maximum spanning
//     tree by inliers) and adjusts one similarity per photo to every
//     correspondence at once, dropping pairs that disagree with the rest;
//     Place puts a block on the ground: by its photos' GPS positions, a
//     camera model, or a local map in metres from the GSD.
//   - Mosaic blends the registered photos into one bounded picture.
//
// Extract and Match need OpenCV (GoCV, build tag opencv); without it they
// return ErrUnavailable and scans are merged by position only. The rest
// is pure Go. Everything is safe for concurrent use; a Mosaic is used by
// one goroutine. The cloud workers run it (cloud/worker.Registrar).
package register
